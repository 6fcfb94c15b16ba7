import DeviceKit
import TerminalUI

// The merchant menu's refund entry (退货 / Refund, docs/merchant-operations.md), the way a terminal vendor's EDC app
// asks for it: the original reference first (the retrieval reference number on the sale's receipt), then the amount,
// then the refund goes online. ENTER with nothing keyed opens the refund list instead (card sales of any batch, QR
// sales), where the sale can be picked by hand.

extension TerminalFlow {
    /// The longest original reference the merchant can key: a retrieval reference number, field 37 (an12).
    static let refundReferenceLength = 12

    func refundReferenceScreen(_ digits: String) -> Screen {
        .info(.init(title: .ui(.refundReferenceTitle), lines: [.raw(digits.isEmpty ? "_" : digits), .ui(.refundReferenceHint)]))
    }

    /// A key while the original reference is keyed.
    mutating func refundReferenceKey(_ key: Key, digits: String) -> [Action] {
        switch key {
        case .cancel:
            go(.merchant(.menu(selected: Self.merchantItems.firstIndex(of: .merchantRefund) ?? 0)))
        case .clear:
            go(.refundReference(digits: String(digits.dropLast())))
        case .enter:
            if digits.isEmpty {
                go(.refundLoading, timeout: nil)
                return [.listRefundableSales]
            }
            go(.refundSearching(reference: digits), timeout: nil)
            return [.findRefundableSale(reference: digits)]
        case .doubleZero:
            if digits.count + 2 <= Self.refundReferenceLength { go(.refundReference(digits: digits + "00")) }
        default:
            if let digit = key.digit, digits.count < Self.refundReferenceLength {
                go(.refundReference(digits: digits + String(digit)))
            }
        }
        return []
    }

    /// The sales found for a keyed reference: none → "original not found"; one → its refund amount (or "refunded in
    /// full already"); several (the same reference on sales of different cards) → the list to pick from.
    mutating func refundSearchAnswer(_ sales: [RefundableSale]) -> [Action] {
        switch sales.count {
        case 0:
            go(.info(.init(title: .ui(.merchantRefund), lines: [.ui(.refundOriginalNotFound)])), timeout: configuration.resultTimeout)
        case 1:
            if sales[0].refundable > 0 {
                go(.refundAmount(sales[0], amount: 0, overLimit: false))
            } else {
                go(.info(.init(title: .ui(.merchantRefund), lines: [.ui(.refundNothingLeft)])), timeout: configuration.resultTimeout)
            }
        default:
            go(.refundList(Array(sales.prefix(configuration.refundListLength)), selected: 0))
        }
        return []
    }
}
