public import DeviceKit
public import PaymentCrypto
public import TerminalUI

/// The terminal's screens and navigation as a pure state machine: inputs in (keys, presentations, time, status),
/// actions out (start a payment, save a setting). It does no I/O; ``TerminalController`` drives it.
///
/// Every screen but idle has a deadline; when it passes the terminal goes back to idle. While a payment rail runs,
/// the rail owns the screen (``Input/railScreen(_:)``) and keys go to it.
public struct TerminalFlow: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var merchantName: String
        public var currency: Currency
        public var maximumAmount: Int
        public var methods: [PaymentMethod]
        public var boardName: String
        public var version: String
        /// How long a screen waits for input before going back to idle, in milliseconds.
        public var inputTimeout: Int64 = 60_000
        /// How long a result stays up, in milliseconds.
        public var resultTimeout: Int64 = 10_000
        /// The main menu offers "退款/撤销 Refund/Void" (the driver has a ``RefundService``).
        public var refundMenu = false
        /// How many recent sales the refund list shows.
        public var refundListLength = 9
        /// The main menu offers "商户管理 Merchant", behind the merchant password (the driver has a ``MerchantService``).
        public var merchantMenu = false
        /// The main menu offers the item sale screen (the catalogue from the host, ``ItemSaleFlow``).
        public var itemSaleMenu = false
        /// The main menu offers "预付卡 Prepaid card" (issue, top-up, balance; the driver has a ``PrepaidService``).
        public var prepaidMenu = false
        /// The merchant chose the UI language in settings: a parameter set's language does not replace it.
        public var merchantChoseLanguage = false
        /// How many lines of an information screen the display shows at once (its rows less the title and the hint
        /// rows: 2 on a 20x4 LCD); longer screens scroll with UP and DOWN.
        public var infoRows = 2

        public init(merchantName: String, currency: Currency, maximumAmount: Int, methods: [PaymentMethod], boardName: String, version: String) {
            self.merchantName = merchantName
            self.currency = currency
            self.maximumAmount = maximumAmount
            self.methods = methods
            self.boardName = boardName
            self.version = version
        }
    }

    /// Link and queue state shown on idle and in network status.
    public struct Status: Sendable, Equatable {
        public var time: String
        public var wifi: Screen.LinkState
        public var cellular: Screen.LinkState
        public var hostReachable: Bool
        public var unsentCount: Int
        /// The link in use when online (hardware boards' connectivity monitor); `nil` when unknown.
        public var onlineRoute: Screen.OnlineRoute?
        /// Terminal management's line for the idle screen (docs/terminal-management.md), or `nil`.
        public var management: String?
        public init(time: String = "--:--", wifi: Screen.LinkState = .absent, cellular: Screen.LinkState = .absent, hostReachable: Bool = false, unsentCount: Int = 0, onlineRoute: Screen.OnlineRoute? = nil) {
            self.onlineRoute = onlineRoute
            self.time = time
            self.wifi = wifi
            self.cellular = cellular
            self.hostReachable = hostReachable
            self.unsentCount = unsentCount
        }
    }

    /// How a payment ended, as a rail reports it.
    public enum PaymentResult: Sendable, Equatable {
        case approved(lines: [Screen.Text])
        case declined(lines: [Screen.Text])
        case cancelled
        /// No rail takes this presentation on this terminal.
        case notAvailable
    }

    public enum Input: Sendable, Equatable {
        case key(Key)
        case presentation(Presentation)
        /// Monotonic time in milliseconds; drives deadlines.
        case tick(now: Int64)
        case status(Status)
        /// A running rail shows this screen.
        case railScreen(Screen)
        /// The running rail finished.
        case paymentFinished(PaymentResult)
        /// SIGTERM: take no new payment.
        case shutdown
        /// The printer test page was printed (`nil`) or failed (why, for the screen).
        case printFinished(PrintResult)
        /// The answer to ``Action/listRefundableSales``: the recent sales, newest first.
        case refundableSales([RefundableSale])
        /// The answer to ``Action/verifyMerchantPassword(_:)``.
        case merchantVerdict(MerchantPassword.Verdict)
        /// A merchant task ended (``Action/runMerchantTask(_:)``): the lines to show.
        case merchantFinished([Screen.Text])
        /// The answer to ``Action/changeMerchantPassword(_:)`` (MerchantPasswordChange.swift).
        case merchantPasswordChanged(MerchantPassword.ChangeOutcome)
        /// The answer to ``Action/listCatalogue``: the items and whether the stock view is stale.
        case catalogue([SaleItem], stale: Bool)
        /// The answer to ``Action/readPanel(_:)`` (Flow/PanelFlow.swift).
        case panelLines(Panel, [Screen.Text])
        /// A panel's action ended (``Action/runPanelAction(_:)``): the lines to show.
        case panelFinished(Panel, [Screen.Text])
        /// A parameter set came into force: its merchant name and language (`nil`: the set carries none) take effect
        /// now; the language only when the merchant did not choose one.
        case parametersChanged(merchantName: String?, language: Language?)
    }

    /// What a running rail hears while it owns the screen.
    public enum RailInput: Sendable, Equatable {
        /// A key (PIN entry, cancel, confirmations).
        case key(Key)
        /// Another presentation, e.g. the card pulled out of the slot mid-transaction.
        case presentation(Presentation)
        /// Monotonic time in milliseconds, about once a second (for the rail's own deadlines).
        case tick(now: Int64)
    }

    public enum Action: Sendable, Equatable {
        /// Start a payment of `amount` minor units with what the customer presented.
        case startPayment(amount: Int, method: PaymentMethod?, presentation: Presentation)
        /// Forward an input to the running rail.
        case forwardToRail(RailInput)
        /// Persist the UI language.
        case saveLanguage(Language)
        /// Print the printer test page; answer with ``Input/printFinished(_:)``.
        case printTestPage
        /// List the recent sales that can be refunded or voided (at most ``Configuration/refundListLength``); answer
        /// with ``Input/refundableSales(_:)``.
        case listRefundableSales
        /// Find the sales whose retrieval reference number is `reference` (CardRefundFlow.swift); answer with
        /// ``Input/refundableSales(_:)``.
        case findRefundableSale(reference: String)
        /// Refund `amount` of `sale` or void it, online; answered, like a payment, with
        /// ``Input/paymentFinished(_:)`` (the refund's screens come as ``Input/railScreen(_:)``).
        case startRefund(RefundableSale, kind: RefundKind, amount: Int)
        /// Check a merchant password attempt (ASCII digits); answer with ``Input/merchantVerdict(_:)``.
        case verifyMerchantPassword(SecretBytes)
        /// Run a merchant task; answer with ``Input/merchantFinished(_:)``.
        case runMerchantTask(MerchantTask)
        /// Check the merchant password in force before a change (ASCII digits); answer with
        /// ``Input/merchantVerdict(_:)``. A failure counts toward the lockout.
        case verifyCurrentMerchantPassword(SecretBytes)
        /// Replace the merchant password (ASCII digits, typed twice); answer with ``Input/merchantPasswordChanged(_:)``.
        case changeMerchantPassword(SecretBytes)
        /// Read the catalogue; answer with ``Input/catalogue(_:stale:)``.
        case listCatalogue
        /// The item sale's payment was approved: take these lines off the stock.
        case recordItemSale([ItemSaleFlow.BasketLine])
        /// Run a prepaid card operation (PrepaidMenu.swift); its result comes back as ``Input/paymentFinished(_:)``.
        case startPrepaid(PrepaidOperation, amount: Int, presentation: Presentation)
        /// Read what a panel shows; answer with ``Input/panelLines(_:_:)``.
        case readPanel(Panel)
        /// Run a panel's action; answer with ``Input/panelFinished(_:_:)``.
        case runPanelAction(Panel)
    }

    /// How a print job ended.
    public enum PrintResult: Sendable, Equatable {
        case printed
        case noPrinter
        case failed
    }

    enum MenuKind: Sendable, Equatable { case main, settings }

    enum State: Sendable, Equatable {
        case idle
        case menu(MenuKind, selected: Int)
        case amount(Int, overLimit: Bool)
        case method(amount: Int, selected: Int)
        case present(amount: Int, method: PaymentMethod?)
        /// A rail is running; it shows `screen`.
        case paying(amount: Int, screen: Screen)
        case outcome(Screen.Outcome)
        case info(Screen.Info)
        /// The printer test page is being printed.
        case printing
        case shuttingDown
        /// The refund list is being read.
        case refundLoading
        case refundList([RefundableSale], selected: Int)
        /// Void or refund of the chosen sale.
        case refundKind(RefundableSale, selected: Int)
        case refundAmount(RefundableSale, amount: Int, overLimit: Bool)
        /// The merchant keys the original reference of the sale to refund (CardRefundFlow.swift).
        case refundReference(digits: String)
        /// The sale with that reference is being looked up.
        case refundSearching(reference: String)
        /// The merchant menu (Flow/MerchantFlow.swift).
        case merchant(MerchantState)
        /// The catalogue is being read; then the item sale screen.
        case itemLoading
        case itemSale(ItemSaleFlow)
        /// The prepaid sub-menu (PrepaidMenu.swift).
        case prepaid(PrepaidMenu)
        /// Settings → Parameters, merchant menu → Update (PanelFlow.swift).
        case panel(PanelState)
    }

    /// The basket of the item sale being paid, recorded against stock when the payment is approved.
    private var basket: [ItemSaleFlow.BasketLine]?

    public internal(set) var configuration: Configuration
    public internal(set) var language: Language
    public private(set) var status = Status()
    var state: State = .idle
    private var now: Int64 = 0
    private var deadline: Int64?

    public init(configuration: Configuration, language: Language) {
        self.configuration = configuration
        self.language = language
    }

    /// Whether the terminal is on its idle screen with nothing in flight.
    public var isIdle: Bool { state == .idle }

    /// Whether a payment is running (graceful shutdown waits for it).
    public var isPaying: Bool {
        if case .paying = state { return true }
        return false
    }

    /// The screen to show now.
    public var screen: Screen {
        switch state {
        case .idle:
            var idle = Screen.Idle(merchantName: configuration.merchantName, time: status.time, wifi: status.wifi, cellular: status.cellular, hostReachable: status.hostReachable, unsentCount: status.unsentCount, onlineRoute: status.onlineRoute)
            idle.management = status.management
            return .idle(idle)
        case .menu(let kind, let selected):
            return .menu(.init(title: .ui(kind == .main ? .menuTitle : .settingsTitle), items: menuItems(kind), selected: selected))
        case .amount(let amount, let overLimit):
            return .amountEntry(.init(title: .ui(.amountTitle), amount: amount, currency: configuration.currency, notice: overLimit ? .ui(.amountLimit) : nil))
        case .method(let amount, let selected):
            return .methodChoice(.init(amount: amount, currency: configuration.currency, methods: configuration.methods, selected: selected))
        case .present(let amount, let method):
            return .present(.init(amount: amount, currency: configuration.currency, method: method))
        case .paying(_, let screen):
            return screen
        case .outcome(let outcome):
            return .outcome(outcome)
        case .info(let info):
            return .info(info)
        case .printing:
            return .processing(.init(message: .ui(.printing)))
        case .shuttingDown:
            return .shuttingDown
        case .refundLoading, .refundSearching:
            return .processing(.init())
        case .refundReference(let digits):
            return refundReferenceScreen(digits)
        case .refundList(let sales, let selected):
            return .menu(.init(title: .ui(.refundTitle), items: sales.map { .raw(describe($0)) }, selected: selected))
        case .refundKind(let sale, let selected):
            return .menu(.init(title: .raw(describe(sale)), items: refundKinds(sale).map { .ui($0 == .void ? .refundVoid : .refundRefund) }, selected: selected))
        case .merchant(let merchant):
            return merchantScreen(merchant)
        case .itemLoading:
            return .processing(.init())
        case .itemSale(let sale):
            return sale.screen(currency: configuration.currency, language: language)
        case .refundAmount(let sale, let amount, let overLimit):
            let left = configuration.currency.display(minorUnits: sale.refundable, language: language)
            return .amountEntry(.init(
                title: .ui(.refundAmountTitle), amount: amount, currency: configuration.currency,
                notice: overLimit ? .ui(.amountLimit) : .ui(.refundLeft(left))))
        case .prepaid(let menu):
            return menu.screen(configuration)
        case .panel(let panel):
            return panelScreen(panel)
        }
    }

    /// A sale in the refund list: wallet, amount, masked reference.
    func describe(_ sale: RefundableSale) -> String {
        sale.label.resolve(language) + " " + configuration.currency.display(minorUnits: sale.amount, language: language) + " " + sale.maskedReference
            + (sale.date.isEmpty ? "" : " " + sale.date) + (sale.retrievalReference.isEmpty ? "" : " " + sale.retrievalReference)
    }

    /// What can be done with a sale: a void only while ``RefundableSale/voidable``, a refund while something is left.
    private func refundKinds(_ sale: RefundableSale) -> [RefundKind] {
        (sale.voidable ? [.void] : []) + (sale.refundable > 0 ? [.refund] : [])
    }

    /// The main menu's entry for the item sale screen.
    static func itemSaleEntry(_ language: Language) -> Screen.Text { .raw(language == .en ? "Item sale" : "商品销售") }

    private func menuItems(_ kind: MenuKind) -> [Screen.Text] {
        switch kind {
        case .main:
            [.ui(.menuSale), .ui(.menuSettings)] + (configuration.refundMenu ? [.ui(.menuRefund)] : [])
                + (configuration.merchantMenu ? [.ui(.menuMerchant)] : [])
                + (configuration.prepaidMenu ? [.ui(.prepaidTitle)] : [])
                + (configuration.itemSaleMenu ? [Self.itemSaleEntry(language)] : [])
        case .settings:
            [.raw(UIString.settingsLanguage.text(language) + ": " + UIString.languageName(language).text(language)), .ui(.settingsNetwork), .ui(.printerTest), .ui(.settingsAbout), .ui(.settingsParameters)]
        }
    }

    /// Feeds one input; returns what the driver must do.
    public mutating func handle(_ input: Input) -> [Action] {
        switch input {
        case .tick(let time):
            now = time
            if isPaying { return [.forwardToRail(.tick(now: time))] }
            if let deadline, time >= deadline { go(.idle) }
            return []
        case .status(let s):
            status = s
            return panelInput(input)
        case .shutdown:
            if !isPaying { go(.shuttingDown) }
            return []
        case .printFinished(let result):
            guard state == .printing else { return [] }
            let line: UIString = switch result {
            case .printed: .printed
            case .noPrinter: .noPrinter
            case .failed: .printerFault
            }
            go(.info(.init(title: .ui(.printerTest), lines: [.ui(line)])), timeout: configuration.resultTimeout)
            return []
        case .refundableSales(let sales):
            if case .refundSearching = state { return refundSearchAnswer(sales) }
            guard state == .refundLoading else { return [] }
            let shown = Array(sales.prefix(configuration.refundListLength))
            if shown.isEmpty {
                go(.info(.init(title: .ui(.refundTitle), lines: [.ui(.refundNoSales)])), timeout: configuration.resultTimeout)
            } else {
                go(.refundList(shown, selected: 0))
            }
            return []
        case .merchantVerdict, .merchantFinished, .merchantPasswordChanged:
            return merchantInput(input)
        case .panelLines, .panelFinished, .parametersChanged:
            return panelInput(input)
        case .catalogue(let items, let stale):
            guard state == .itemLoading else { return [] }
            guard !items.isEmpty else {
                let english = language == .en
                go(.info(.init(title: .raw(english ? "Item sale" : "商品销售"), lines: [.raw(english ? "No catalogue yet" : "尚无商品目录")])), timeout: configuration.resultTimeout)
                return []
            }
            go(.itemSale(ItemSaleFlow(items: items, stale: stale, maximumAmount: configuration.maximumAmount)))
            return []
        case .railScreen(let screen):
            if case .paying(let amount, _) = state { state = .paying(amount: amount, screen: screen) }
            return []
        case .paymentFinished(let result):
            guard case .paying(let amount, _) = state else { return [] }
            let outcome: Screen.Outcome
            switch result {
            case .approved(let lines): outcome = .init(approved: true, amount: amount, currency: configuration.currency, lines: lines)
            case .declined(let lines): outcome = .init(approved: false, amount: amount, currency: configuration.currency, lines: lines)
            case .cancelled: outcome = .init(approved: false, amount: amount, currency: configuration.currency, lines: [.ui(.cancelled)])
            case .notAvailable: outcome = .init(approved: false, amount: amount, currency: configuration.currency, lines: [.ui(.notAvailable)])
            }
            go(.outcome(outcome), timeout: configuration.resultTimeout)
            defer { basket = nil }
            if case .approved = result, let basket { return [.recordItemSale(basket)] }
            return []
        case .presentation(let presentation):
            if isPaying { return [.forwardToRail(.presentation(presentation))] }
            if case .prepaid(let menu) = state, case .start(let operation, let amount, _)? = menu.presented(presentation) {
                go(.paying(amount: amount, screen: .processing(.init())), timeout: nil)
                return [.startPrepaid(operation, amount: amount, presentation: presentation)]
            }
            guard case .present(let amount, let method) = state, presentation != .removed else { return [] }
            go(.paying(amount: amount, screen: .processing(.init())), timeout: nil)
            return [.startPayment(amount: amount, method: method, presentation: presentation)]
        case .key(let key):
            return handleKey(key)
        }
    }

    mutating func go(_ next: State, timeout: Int64?? = .some(nil)) {
        state = next
        switch next {
        case .idle, .amount: basket = nil  // left, or typing an amount of its own: no items go with it
        default: break
        }
        switch next {
        case .idle, .shuttingDown, .paying, .printing, .merchant(.checking), .merchant(.working), .panel(.working): deadline = nil
        case .merchant(.changePassword(let change)) where change.awaitsDriver: deadline = nil
        default: deadline = now + ((timeout ?? nil) ?? configuration.inputTimeout)
        }
    }

    private mutating func handleKey(_ key: Key) -> [Action] {
        switch state {
        case .shuttingDown, .printing:
            return []
        case .itemLoading:
            if key == .cancel { go(.idle) }
            return []
        case .itemSale(var sale):
            switch sale.handle(key) {
            case .choosing: go(.itemSale(sale))
            case .cancelled: go(.idle)
            case .checkout(let amount, let lines):
                basket = lines
                if configuration.methods.count == 1 {
                    go(.present(amount: amount, method: configuration.methods[0]))
                } else {
                    go(.method(amount: amount, selected: 0))
                }
            }
            return []
        case .paying:
            return [.forwardToRail(.key(key))]
        case .idle:
            if let digit = key.digit, digit > 0 {
                go(.amount(digit, overLimit: false))
            } else if key == .enter {
                go(.amount(0, overLimit: false))
            } else if key == .menu || key == .f1 {
                go(.menu(.main, selected: 0))
            }
            return []
        case .menu(let kind, let selected):
            let count = menuItems(kind).count
            switch key {
            case .up: go(.menu(kind, selected: (selected + count - 1) % count))
            case .down: go(.menu(kind, selected: (selected + 1) % count))
            case .cancel: go(kind == .main ? .idle : .menu(.main, selected: 1))
            case .enter: return choose(kind, selected)
            default:
                if let digit = key.digit, digit >= 1, digit <= count { return choose(kind, digit - 1) }
            }
            return []
        case .amount(let amount, _):
            return amountKey(key, amount)
        case .method(let amount, let selected):
            let count = configuration.methods.count
            switch key {
            case .up: go(.method(amount: amount, selected: (selected + count - 1) % count))
            case .down: go(.method(amount: amount, selected: (selected + 1) % count))
            case .cancel: go(.amount(amount, overLimit: false))
            case .enter: go(.present(amount: amount, method: configuration.methods[selected]))
            default:
                if let digit = key.digit, digit >= 1, digit <= count {
                    go(.present(amount: amount, method: configuration.methods[digit - 1]))
                }
            }
            return []
        case .present(let amount, let method):
            if key == .cancel { go(.idle) }
            // ENTER on the QR screen: show the merchant-presented code instead of waiting for the customer's.
            if key == .enter, method == .qr {
                go(.paying(amount: amount, screen: .processing(.init())), timeout: nil)
                return [.startPayment(amount: amount, method: method, presentation: .merchantPresentedQRRequest)]
            }
            return []
        case .info(var info):
            if let top = scrolled(info.top, lineCount: info.lines.count, key: key) {
                info.top = top
                go(.info(info))
            } else if key == .enter || key == .cancel || key == .clear {
                go(.idle)
            }
            return []
        case .outcome:
            if key == .enter || key == .cancel || key == .clear { go(.idle) }
            return []
        case .refundLoading, .refundSearching:
            if key == .cancel { go(.idle) }
            return []
        case .refundReference(let digits):
            return refundReferenceKey(key, digits: digits)
        case .refundList(let sales, let selected):
            let count = sales.count
            switch key {
            case .up: go(.refundList(sales, selected: (selected + count - 1) % count))
            case .down: go(.refundList(sales, selected: (selected + 1) % count))
            case .cancel: go(.menu(.main, selected: 2))
            case .enter: chooseSale(sales[selected])
            default:
                if let digit = key.digit, digit >= 1, digit <= count { chooseSale(sales[digit - 1]) }
            }
            return []
        case .refundKind(let sale, let selected):
            let kinds = refundKinds(sale)
            var chosen: RefundKind?
            switch key {
            case .up: go(.refundKind(sale, selected: (selected + kinds.count - 1) % kinds.count))
            case .down: go(.refundKind(sale, selected: (selected + 1) % kinds.count))
            case .cancel:
                go(.refundLoading, timeout: nil)
                return [.listRefundableSales]
            case .enter: chosen = kinds[selected]
            default:
                if let digit = key.digit, digit >= 1, digit <= kinds.count { chosen = kinds[digit - 1] }
            }
            switch chosen {
            case .void:
                go(.paying(amount: sale.amount, screen: .processing(.init())), timeout: nil)
                return [.startRefund(sale, kind: .void, amount: sale.amount)]
            case .refund:
                go(.refundAmount(sale, amount: 0, overLimit: false))
            case nil:
                break
            }
            return []
        case .refundAmount(let sale, let amount, _):
            return refundAmountKey(key, sale: sale, amount: amount)
        case .merchant(let merchant):
            return merchantKey(key, merchant)
        case .panel(let panel):
            return panelKey(key, panel)
        case .prepaid(let menu):
            switch menu.handle(key, maximumAmount: configuration.maximumAmount) {
            case .stay(let next): go(.prepaid(next))
            case .exit: go(.menu(.main, selected: menuItems(.main).firstIndex(of: .ui(.prepaidTitle)) ?? 0))
            case .start: break
            case .verify(let next, let digits):
                go(.prepaid(next))
                return [.verifyMerchantPassword(digits)]
            }
            return []
        }
    }

    /// A sale picked from the refund list: its void/refund choice (a sale with nothing left stays in the list).
    private mutating func chooseSale(_ sale: RefundableSale) {
        if !refundKinds(sale).isEmpty { go(.refundKind(sale, selected: 0)) }
    }

    /// Refund amount entry: as ``amountKey(_:_:)``, up to what is left of the sale.
    private mutating func refundAmountKey(_ key: Key, sale: RefundableSale, amount: Int) -> [Action] {
        func shifted(_ digits: [Int]) -> Int? {
            var value = amount
            for d in digits {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(d)
                guard !o1, !o2, s <= sale.refundable else { return nil }
                value = s
            }
            return value
        }
        switch key {
        case .cancel:
            go(.refundKind(sale, selected: 0))
        case .clear:
            go(.refundAmount(sale, amount: amount / 10, overLimit: false))
        case .enter:
            guard amount > 0, amount <= sale.refundable else { return [] }
            go(.paying(amount: amount, screen: .processing(.init())), timeout: nil)
            return [.startRefund(sale, kind: .refund, amount: amount)]
        case .doubleZero:
            go(.refundAmount(sale, amount: shifted([0, 0]) ?? amount, overLimit: shifted([0, 0]) == nil))
        default:
            if let digit = key.digit {
                go(.refundAmount(sale, amount: shifted([digit]) ?? amount, overLimit: shifted([digit]) == nil))
            }
        }
        return []
    }

    /// Amount entry in minor units: digits shift in from the right (typing 1 2 3 4 shows 12.34 in CNY).
    /// "00" adds two zeros; "." is ignored (the amount is always in minor units); CLEAR deletes the last digit.
    private mutating func amountKey(_ key: Key, _ amount: Int) -> [Action] {
        func shifted(_ digits: [Int]) -> Int? {
            var value = amount
            for d in digits {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(d)
                guard !o1, !o2, s <= configuration.maximumAmount else { return nil }
                value = s
            }
            return value
        }
        switch key {
        case .cancel:
            go(.idle)
        case .clear:
            go(.amount(amount / 10, overLimit: false))
        case .enter:
            guard amount > 0 else { return [] }
            if configuration.methods.count == 1 {
                go(.present(amount: amount, method: configuration.methods[0]))
            } else {
                go(.method(amount: amount, selected: 0))
            }
        case .doubleZero:
            if let v = shifted([0, 0]) { go(.amount(v, overLimit: false)) } else { go(.amount(amount, overLimit: true)) }
        default:
            if let digit = key.digit {
                if let v = shifted([digit]) { go(.amount(v, overLimit: false)) } else { go(.amount(amount, overLimit: true)) }
            }
        }
        return []
    }

    private mutating func choose(_ kind: MenuKind, _ index: Int) -> [Action] {
        switch (kind, index) {
        case (.main, 0):
            go(.amount(0, overLimit: false))
        case (.main, 1):
            go(.menu(.settings, selected: 0))
        case (.main, _) where menuItems(.main)[index] == .ui(.menuMerchant):
            go(.merchant(.password(digits: SecretBytes(zeros: 0), notice: nil)))
        case (.main, _) where configuration.itemSaleMenu && menuItems(.main)[index] == Self.itemSaleEntry(language):
            go(.itemLoading, timeout: nil)
            return [.listCatalogue]
        case (.main, _) where configuration.prepaidMenu && menuItems(.main)[index] == .ui(.prepaidTitle):
            go(.prepaid(PrepaidMenu()))
        case (.main, _):
            go(.refundLoading, timeout: nil)
            return [.listRefundableSales]
        case (.settings, 0):
            let all = Language.allCases
            language = all[(all.firstIndex(of: language)! + 1) % all.count]  // language is always one of allCases
            configuration.merchantChoseLanguage = true
            go(.menu(.settings, selected: 0))
            return [.saveLanguage(language)]
        case (.settings, 1):
            func state(_ s: Screen.LinkState) -> UIString {
                switch s {
                case .up: .linkUp
                case .down: .linkDown
                case .absent: .linkAbsent
                }
            }
            go(.info(.init(title: .ui(.settingsNetwork), lines: [
                .raw(UIString.wifi.text(language) + ": " + state(status.wifi).text(language)),
                .raw(UIString.cellular.text(language) + ": " + state(status.cellular).text(language)),
                .raw(UIString.host.text(language) + ": " + (status.hostReachable ? UIString.linkUp : .linkDown).text(language)),
                .ui(.unsent(status.unsentCount)),
            ])))
        case (.settings, 2):
            go(.printing, timeout: nil)
            return [.printTestPage]
        case (.settings, 4):
            return openPanel(.parameters)
        case (.settings, _):
            go(.info(.init(title: .ui(.settingsAbout), lines: [
                .raw(UIString.version.text(language) + ": " + configuration.version),
                .raw(UIString.board.text(language) + ": " + configuration.boardName),
            ])))
        }
        return []
    }
}
