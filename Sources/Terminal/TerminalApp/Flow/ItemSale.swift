public import DeviceKit
public import TerminalUI

/// An item of the catalogue as the item sale screen shows it (docs/terminal-management.md).
public struct SaleItem: Sendable, Equatable {
    public var code: String
    public var nameChinese: String
    public var nameEnglish: String
    /// Minor units.
    public var price: Int
    /// The local stock view (host level less the sales not reported yet).
    public var stock: Int

    public init(code: String, nameChinese: String, nameEnglish: String, price: Int, stock: Int) {
        (self.code, self.nameChinese, self.nameEnglish, self.price, self.stock) = (code, nameChinese, nameEnglish, price, stock)
    }
}

/// The item sale screen as a pure sub-state machine of ``TerminalFlow``: the catalogue as a list, UP/DOWN to pick an
/// item, digits to type its quantity (CLEAR sets it back to 0), F1 or ENTER on an empty basket to add one, ENTER to
/// pay the total, CANCEL to leave. The total becomes the sale amount; the basket's lines go with the payment and
/// are recorded against stock when it is approved.
public struct ItemSaleFlow: Sendable, Equatable {
    /// What a key did.
    public enum Outcome: Sendable, Equatable {
        /// Still choosing.
        case choosing
        /// The merchant left the screen.
        case cancelled
        /// Pay `amount` for `lines` (code, quantity).
        case checkout(amount: Int, lines: [BasketLine])
    }

    /// One line of the basket.
    public struct BasketLine: Sendable, Equatable {
        public var code: String
        public var quantity: Int
        public init(code: String, quantity: Int) {
            self.code = code
            self.quantity = quantity
        }
    }

    public let items: [SaleItem]
    /// The local stock view is stale (the host was not reachable at the last sync).
    public let stale: Bool
    let maximumAmount: Int
    public private(set) var selected = 0
    public private(set) var quantities: [Int]
    /// Whether digits typed since the selection moved replace the quantity (the first digit) or extend it.
    private var typing = false
    /// The last key would have taken the total over the maximum amount.
    public private(set) var overLimit = false

    public init(items: [SaleItem], stale: Bool, maximumAmount: Int) {
        self.items = items
        self.stale = stale
        self.maximumAmount = maximumAmount
        quantities = Array(repeating: 0, count: items.count)
    }

    /// The basket's total, minor units.
    public var total: Int { zip(items, quantities).reduce(0) { $0 + $1.0.price * $1.1 } }

    /// The basket's lines, in catalogue order.
    public var lines: [BasketLine] {
        zip(items, quantities).filter { $0.1 > 0 }.map { BasketLine(code: $0.0.code, quantity: $0.1) }
    }

    /// Handles a key.
    public mutating func handle(_ key: Key) -> Outcome {
        guard !items.isEmpty else { return key == .enter || key == .cancel ? .cancelled : .choosing }
        overLimit = false
        switch key {
        case .up:
            selected = (selected + items.count - 1) % items.count
            typing = false
        case .down:
            selected = (selected + 1) % items.count
            typing = false
        case .clear:
            quantities[selected] = 0
            typing = false
        case .cancel:
            return .cancelled
        case .f1:
            setQuantity(quantities[selected] + 1)
        case .enter:
            if total == 0 {
                setQuantity(1)
                return .choosing
            }
            return .checkout(amount: total, lines: lines)
        default:
            guard let digit = key.digit else { return .choosing }
            let typed = typing ? quantities[selected] * 10 + digit : digit
            guard typed <= 999 else { return .choosing }
            setQuantity(typed)
            typing = true
        }
        return .choosing
    }

    private mutating func setQuantity(_ quantity: Int) {
        let previous = quantities[selected]
        quantities[selected] = quantity
        if total > maximumAmount {
            quantities[selected] = previous
            overLimit = true
        }
    }

    /// The screen: a list of `name ×quantity`, the total in the title.
    public func screen(currency: Currency, language: Language) -> Screen {
        let english = language == .en
        let title = (english ? "Items " : "商品 ") + currency.display(minorUnits: total, language: language)
            + (stale ? (english ? " (stock stale)" : " (库存未同步)") : "") + (overLimit ? " !" : "")
        let rows = zip(items, quantities).map { item, quantity in
            Screen.Text.raw(
                (english ? item.nameEnglish : item.nameChinese) + " " + currency.display(minorUnits: item.price, language: language)
                    + (quantity > 0 ? " x\(quantity)" : "") + " [\(item.stock)]")
        }
        return .menu(.init(title: .raw(title), items: rows, selected: selected))
    }
}
