public import DeviceKit
public import Logging
import Store
public import TerminalUI

/// An event for the terminal's main loop. Every producer (keypad, scanner, simulator, timers, link monitor, a
/// running rail, signals) sends into one ``EventBus``; one task consumes it, so the flow has exactly one owner.
public enum TerminalEvent: Sendable {
    case flow(TerminalFlow.Input)
    /// Headless input ended: exit once the terminal is idle.
    case endOfInput
    /// Leave now (simulator `q`), as a graceful shutdown.
    case quit
    /// SIGTERM: no new payment; the one in flight finishes.
    case shutdown
    /// A device failed; the message names it. The terminal keeps running on what it has.
    case deviceFault(String)
}

/// The main loop's inbox.
public struct EventBus: Sendable {
    public let events: AsyncStream<TerminalEvent>
    private let continuation: AsyncStream<TerminalEvent>.Continuation

    public init() {
        (events, continuation) = AsyncStream.makeStream(of: TerminalEvent.self, bufferingPolicy: .unbounded)
    }

    public func send(_ event: TerminalEvent) { continuation.yield(event) }
    public func finish() { continuation.finish() }
}

/// Drives ``TerminalFlow``: feeds it events, shows its screens, runs payment rails and persists settings.
public final class TerminalController: Sendable {
    public struct Dependencies: Sendable {
        public var display: @Sendable (CharacterGrid) throws -> Void
        public var gridSize: (columns: Int, rows: Int)
        public var rails: RailRegistry
        public var saveLanguage: @Sendable (Language) -> Void
        public var beat: @Sendable () -> Void
        public var clock: any TerminalClock
        /// Queues a document on the receipt printer; the completion runs when it printed or failed.
        public var print: @Sendable (PrintDocument, @escaping @Sendable (TerminalFlow.PrintResult) -> Void) -> Void
        /// Refunds and voids from the merchant menu (`nil`: the menu has none to offer).
        public var refunds: (any RefundService)?
        /// The merchant menu's password and tasks (`nil`: no merchant menu).
        public var merchant: (any MerchantService)?
        /// The catalogue for the item sale screen, and whether its stock view is stale (terminal management).
        public var catalogue: (@Sendable () -> (items: [SaleItem], stale: Bool))?
        /// Records an approved item sale against stock (and lets the host know).
        public var recordItemSale: (@Sendable ([ItemSaleFlow.BasketLine]) -> Void)?
        /// Puts the items of a voided item sale back on the shelf (and lets the host know).
        public var restockAfterVoid: (@Sendable () async -> Void)?
        /// Prepaid card operations from the merchant menu (`nil`: no prepaid sub-menu).
        public var prepaid: PrepaidService?
        /// The Parameters and Update screens (`nil`: they show "not available").
        public var panels: (any ManagementPanelService)?

        public init(
            display: @escaping @Sendable (CharacterGrid) throws -> Void, gridSize: (columns: Int, rows: Int), rails: RailRegistry,
            saveLanguage: @escaping @Sendable (Language) -> Void, beat: @escaping @Sendable () -> Void, clock: any TerminalClock,
            print: @escaping @Sendable (PrintDocument, @escaping @Sendable (TerminalFlow.PrintResult) -> Void) -> Void = { $1(.noPrinter) },
            refunds: (any RefundService)? = nil, merchant: (any MerchantService)? = nil, management: TerminalManagementService? = nil,
            prepaid: PrepaidService? = nil, panels: (any ManagementPanelService)? = nil
        ) {
            self.panels = panels
            self.merchant = merchant
            self.prepaid = prepaid
            if let management {
                catalogue = { management.saleItems() }
                recordItemSale = { lines in Task { await management.recordItemSale(lines.map { ($0.code, $0.quantity) }) } }
                restockAfterVoid = { await management.restockAfterVoid() }
            }
            self.print = print
            self.refunds = refunds
            self.display = display
            self.gridSize = gridSize
            self.rails = rails
            self.saveLanguage = saveLanguage
            self.beat = beat
            self.clock = clock
        }
    }

    private let bus: EventBus
    private let dependencies: Dependencies
    private let initialFlow: TerminalFlow
    private let logger: Logger

    public init(flow: TerminalFlow, bus: EventBus, dependencies: Dependencies, logger: Logger) {
        self.initialFlow = flow
        self.bus = bus
        self.dependencies = dependencies
        self.logger = logger
    }

    /// Runs until a shutdown or quit has been handled and no payment is in flight, or until headless input ended
    /// and the terminal is idle again.
    public func run() async {
        var flow = initialFlow
        let renderer = ScreenRenderer(columns: dependencies.gridSize.columns, rows: dependencies.gridSize.rows)
        var lastGrid: CharacterGrid?
        var inputEnded = false
        var stopping = false
        var railInputs: AsyncStream<TerminalFlow.RailInput>.Continuation?

        func show() {
            let grid = renderer.render(flow.screen, language: flow.language)
            guard grid != lastGrid else { return }
            do {
                try dependencies.display(grid)
                lastGrid = grid
            } catch {
                // The next frame tries again; a display that came back (replugged) is redrawn whole.
                logger.error("display failed", metadata: ["error": "\(error)"])
                lastGrid = nil
            }
        }

        await withTaskGroup(of: Void.self) { payments in
            // A session for a rail run (payment, refund): its screens and the forwarded inputs.
            func makeSession() -> (PaymentSession, AsyncStream<TerminalFlow.RailInput>.Continuation) {
                let (inputs, inputsIn) = AsyncStream.makeStream(of: TerminalFlow.RailInput.self)
                let bus = self.bus
                let printer = dependencies.print
                let log = logger
                let session = PaymentSession(
                    show: { bus.send(.flow(.railScreen($0))) }, inputs: inputs,
                    print: { document in
                        printer(document) { result in
                            if result != .printed { log.warning("receipt not printed", metadata: ["result": "\(result)"]) }
                        }
                    }, language: flow.language, merchantName: flow.configuration.merchantName)
                return (session, inputsIn)
            }
            show()
            for await event in bus.events {
                dependencies.beat()
                switch event {
                case .flow(let input):
                    for action in flow.handle(input) {
                        switch action {
                        case .saveLanguage(let language):
                            dependencies.saveLanguage(language)
                        case .forwardToRail(let input):
                            railInputs?.yield(input)
                        case .printTestPage:
                            let bus = self.bus
                            let page = TestPage.document(
                                merchant: flow.configuration.merchantName, board: flow.configuration.boardName,
                                version: flow.configuration.version, time: dependencies.clock.wallClockText())
                            dependencies.print(page) { bus.send(.flow(.printFinished($0))) }
                        case .startPayment(let amount, let method, let presentation):
                            guard let rail = dependencies.rails.rail(for: presentation, method: method) else {
                                logger.info("no payment rail takes this presentation", metadata: ["presentation": "\(Self.describe(presentation))"])
                                bus.send(.flow(.paymentFinished(.notAvailable)))
                                continue
                            }
                            let (session, inputsIn) = makeSession()
                            railInputs = inputsIn
                            let bus = self.bus
                            logger.info("payment started", metadata: ["rail": "\(rail.name)", "amount": "\(amount)"])
                            payments.addTask {
                                let result = await rail.pay(amount: amount, presentation: presentation, session: session)
                                inputsIn.finish()
                                bus.send(.flow(.paymentFinished(result)))
                            }
                        case .listCatalogue:
                            let catalogue = dependencies.catalogue?() ?? (items: [], stale: false)
                            _ = flow.handle(.catalogue(catalogue.items, stale: catalogue.stale))
                        case .recordItemSale(let lines):
                            dependencies.recordItemSale?(lines)
                        case .startPrepaid(let operation, let amount, let presentation):
                            guard let prepaid = dependencies.prepaid else {
                                bus.send(.flow(.paymentFinished(.notAvailable)))
                                continue
                            }
                            let (session, inputsIn) = makeSession()
                            railInputs = inputsIn
                            let bus = self.bus
                            let rails = dependencies.rails
                            let currency = flow.configuration.currency
                            logger.info("prepaid \(operation.rawValue) started", metadata: ["amount": "\(amount)"])
                            payments.addTask {
                                let result = await prepaid.run(
                                    operation, amount: amount, presentation: presentation, rails: rails, session: session,
                                    currency: currency)
                                inputsIn.finish()
                                bus.send(.flow(.paymentFinished(result)))
                            }
                        case .listRefundableSales:
                            // Answered at once, so keys typed ahead reach the list.
                            let sales = dependencies.refunds?.refundableSales(limit: flow.configuration.refundListLength) ?? []
                            _ = flow.handle(.refundableSales(sales))
                        case .findRefundableSale(let reference):
                            _ = flow.handle(.refundableSales(dependencies.refunds?.refundableSales(reference: reference) ?? []))
                        case .verifyMerchantPassword(let password):
                            _ = flow.handle(.merchantVerdict(dependencies.merchant?.verifyLogin(password) ?? .notSet))
                        case .verifyCurrentMerchantPassword(let password):
                            _ = flow.handle(.merchantVerdict(dependencies.merchant?.verifyPassword(password) ?? .notSet))
                        case .changeMerchantPassword(let password):
                            _ = flow.handle(.merchantPasswordChanged(dependencies.merchant?.changePassword(to: password) ?? .failed))
                        case .runMerchantTask(let task):
                            let bus = self.bus
                            let language = flow.language
                            let merchant = dependencies.merchant
                            payments.addTask {
                                let lines = await merchant?.run(task, language: language) ?? [.ui(.notAvailable)]
                                bus.send(.flow(.merchantFinished(lines)))
                            }
                        case .readPanel(let panel):
                            let lines = dependencies.panels?.lines(panel, language: flow.language) ?? [.ui(.notAvailable)]
                            _ = flow.handle(.panelLines(panel, lines))
                        case .runPanelAction(let panel):
                            let bus = self.bus
                            let language = flow.language
                            let panels = dependencies.panels
                            payments.addTask {
                                let lines = await panels?.run(panel, language: language) ?? [.ui(.notAvailable)]
                                bus.send(.flow(.panelFinished(panel, lines)))
                            }
                        case .startRefund(let sale, let kind, let amount):
                            guard let refunds = dependencies.refunds else {
                                bus.send(.flow(.paymentFinished(.notAvailable)))
                                continue
                            }
                            let (session, inputsIn) = makeSession()
                            railInputs = inputsIn
                            let bus = self.bus
                            logger.info("\(kind.rawValue) started", metadata: ["sale": "\(sale.maskedReference)", "amount": "\(amount)"])
                            let restock = dependencies.restockAfterVoid
                            payments.addTask {
                                let result = await refunds.run(kind, sale: sale, amount: amount, session: session)
                                inputsIn.finish()
                                bus.send(.flow(.paymentFinished(result)))
                                if kind == .void, case .approved = result { await restock?() }
                            }
                        }
                    }
                    if case .paymentFinished = input {
                        railInputs = nil
                    }
                case .endOfInput:
                    inputEnded = true
                case .quit, .shutdown:
                    stopping = true
                    _ = flow.handle(.shutdown)
                case .deviceFault(let message):
                    logger.error("device fault", metadata: ["device": "\(message)"])
                }
                show()
                if stopping && !flow.isPaying {
                    _ = flow.handle(.shutdown)
                    show()
                    break
                }
                if inputEnded && flow.isIdle { break }
            }
        }
    }

    /// A presentation for logs: names of virtual cards are fine, scanned codes are not logged (a payment code is
    /// as good as a card number for its lifetime).
    static func describe(_ presentation: Presentation) -> String {
        switch presentation {
        case .inserted(let name): "inserted \(name)"
        case .tapped(let name): "tapped \(name)"
        case .scanned(let code): "scanned \(code.count) characters"
        case .removed: "removed"
        }
    }
}
