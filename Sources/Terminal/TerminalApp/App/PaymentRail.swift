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
    /// The keys pressed while the rail runs.
    public let keys: AsyncStream<Key>

    public init(show: @escaping @Sendable (Screen) -> Void, keys: AsyncStream<Key>) {
        self.show = show
        self.keys = keys
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
