public import DeviceKit
public import TerminalUI

/// A payment rail: EMV contact, contactless, QR, prepaid. Each rail is added to the terminal by its own module and
/// registered in ``RailRegistry``; the runtime offers it the presentations that arrive while the terminal waits for
/// one, and the first rail that accepts runs the payment.
public protocol PaymentRail: Sendable {
    /// A short name for logs ("emv-contact").
    var name: String { get }
    /// Whether this rail takes `presentation` for a payment chosen as `method` (`nil`: any method).
    func accepts(_ presentation: Presentation, method: PaymentMethod?) -> Bool
    /// Runs the payment. The rail shows its screens and reads keys (PIN entry, cancel) through `session`, writes
    /// the transaction to the store before it reports the outcome, and returns that outcome.
    func pay(amount: Int, presentation: Presentation, session: PaymentSession) async -> TerminalFlow.PaymentResult
}

/// What a running rail can do with the terminal's UI.
public struct PaymentSession: Sendable {
    /// Shows a screen (processing, PIN entry, "remove card", ...).
    public let show: @Sendable (Screen) -> Void
    /// Keys, presentations (card removed) and ticks while the rail runs.
    public let inputs: AsyncStream<TerminalFlow.RailInput>
    /// Queues a receipt on the board's printer (or the simulator's receipt files); returns at once.
    public let print: @Sendable (PrintDocument) -> Void
    /// The UI language when the run started: the receipts' labels follow it (their headers are bilingual).
    public let language: Language
    /// The merchant name on the idle screen when the run started (a parameter set's, live): receipts print it.
    /// `nil`: the rail's configured name.
    public let merchantName: String?

    public init(
        show: @escaping @Sendable (Screen) -> Void, inputs: AsyncStream<TerminalFlow.RailInput>,
        print: @escaping @Sendable (PrintDocument) -> Void = { _ in }, language: Language = .zhCN, merchantName: String? = nil
    ) {
        self.language = language
        self.merchantName = merchantName
        self.show = show
        self.inputs = inputs
        self.print = print
    }

    /// How PIN entry ended.
    public enum PinOutcome<Result> {
        /// The cardholder pressed ENTER after 4 to 12 digits; `Result` is what `use` made of them.
        case entered(Result)
        case cancelled
        case timedOut
        /// The card left the reader during entry.
        case cardRemoved
    }

    /// Runs PIN entry on the terminal's keypad: the PIN screen (digits masked), CLEAR erases, CANCEL aborts, no key
    /// for `timeout` aborts. The digits (values 0-9) go to `use` once and are erased afterwards: build the
    /// enciphered PIN block (or the VERIFY command) inside it, never keep the digits.
    public func enterPIN<Result>(
        amount: Int, currency: Currency, timeoutMilliseconds: Int64 = 30_000, notice: Screen.Text? = nil,
        use: (ArraySlice<UInt8>) throws -> Result
    ) async rethrows -> PinOutcome<Result> {
        var pad = PinPad()
        var deadline: Int64?
        show(.pinEntry(.init(amount: amount, currency: currency, digitCount: 0, notice: notice)))
        for await input in inputs {
            switch input {
            case .tick(let now):
                guard let limit = deadline else {
                    deadline = now + timeoutMilliseconds
                    continue
                }
                if now >= limit { return .timedOut }
            case .presentation(.removed):
                return .cardRemoved
            case .presentation:
                continue
            case .key(let key):
                deadline = nil  // restarted by the next tick: the timeout counts from the last key
                switch pad.press(key) {
                case .typing(let digits):
                    show(.pinEntry(.init(amount: amount, currency: currency, digitCount: digits, notice: notice)))
                case .cancelled:
                    return .cancelled
                case .complete:
                    return .entered(try pad.finish(use))
                }
            }
        }
        return .cancelled  // the terminal is shutting down
    }
}

/// The rails this build of the terminal has, in the order they are offered a presentation.
public struct RailRegistry: Sendable {
    public private(set) var rails: [any PaymentRail] = []

    public init(_ rails: [any PaymentRail] = []) { self.rails = rails }

    public mutating func register(_ rail: any PaymentRail) { rails.append(rail) }

    /// The first rail that accepts `presentation`.
    public func rail(for presentation: Presentation, method: PaymentMethod?) -> (any PaymentRail)? {
        rails.first { $0.accepts(presentation, method: method) }
    }
}
