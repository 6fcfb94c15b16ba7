#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
public import QRGatewaySimulator

/// The wallet gateway simulator in process, as a ``QRGatewayLink``, for the QR rail's unit tests (the sim board
/// reaches the same simulator through its built-in acquirer and ``HostQRGatewayLink``). Time comes from `now`
/// (monotonic milliseconds), so tests move it by hand.
public final class SimulatedQRGatewayLink: QRGatewayLink {
    private let simulator: Locked<QRGatewaySimulator>
    private let now: @Sendable () -> Int64
    private let onLedger: (@Sendable ([QRGatewaySimulator.LedgerEntry]) -> Void)?

    /// - Parameters:
    ///   - configuration: rules and delays (``QRGatewaySimulator`` documents the defaults).
    ///   - now: the clock, monotonic milliseconds.
    ///   - onLedger: called with the new ledger entries after each request (the sim board appends them to a file).
    public init(
        configuration: QRGatewaySimulator.Configuration = .init(), now: @escaping @Sendable () -> Int64,
        onLedger: (@Sendable ([QRGatewaySimulator.LedgerEntry]) -> Void)? = nil
    ) {
        self.simulator = Locked(QRGatewaySimulator(configuration: configuration))
        self.now = now
        self.onLedger = onLedger
    }

    /// The simulator's ledger so far.
    public var ledger: [QRGatewaySimulator.LedgerEntry] { simulator.withLock { $0.ledger } }

    /// An order as the gateway holds it.
    public func order(_ orderID: String) -> QRGatewaySimulator.Order? { simulator.withLock { $0.orders[orderID] } }

    public func pay(_ request: QRPaymentRequest) async -> QRGatewayReply {
        run {
            $0.pay(
                orderID: request.orderID, wallet: request.wallet, credential: request.credential,
                amount: request.amount, currencyCode: request.currencyCode, now: $1)
        }
    }

    public func createOrder(_ request: QROrderRequest) async -> QRGatewayReply {
        run {
            $0.createMerchantOrder(
                orderID: request.orderID, amount: request.amount, currencyCode: request.currencyCode,
                payload: request.payload, now: $1)
        }
    }

    public func query(orderID: String) async -> QRGatewayReply { run { $0.query(orderID: orderID, now: $1) } }

    public func cancel(orderID: String) async -> QRGatewayReply { run { $0.cancel(orderID: orderID, now: $1) } }

    public func refund(_ request: QRRefundRequest) async -> QRGatewayReply {
        run { $0.refund(orderID: request.orderID, refundID: request.refundID, amount: request.amount, now: $1) }
    }

    private func run(_ body: (inout QRGatewaySimulator, Int64) -> QRGatewaySimulator.Answer) -> QRGatewayReply {
        let time = now()
        let (answer, added) = simulator.withLock { sim -> (QRGatewaySimulator.Answer, [QRGatewaySimulator.LedgerEntry]) in
            let before = sim.ledger.count
            let answer = body(&sim, time)
            return (answer, Array(sim.ledger[before...]))
        }
        if let onLedger, !added.isEmpty { onLedger(added) }
        return Self.reply(answer)
    }

    static func reply(_ answer: QRGatewaySimulator.Answer) -> QRGatewayReply {
        switch answer {
        case .success(let id): .paid(transactionID: id)
        case .userPaying: .userPaying
        case .waiting: .waiting
        case .failed(let code, let message): .failed(code: code, message: message)
        case .closed: .closed
        case .refunded(let id, let total): .refunded(refundID: id, total: total)
        case .orderNotFound: .orderNotFound
        case .cancelTooEarly(let ms): .cancelTooEarly(retryAfterMilliseconds: ms)
        case .rejected(let code, let message): .rejected(code: code, message: message)
        }
    }

    /// An `onLedger` that appends each entry as a line to the file at `path` (created 0600), so the sim board's
    /// ledger can be watched with `tail -f` while payments run. Write failures are ignored: the ledger is a view.
    public static func appendingLedger(to path: String) -> @Sendable ([QRGatewaySimulator.LedgerEntry]) -> Void {
        { entries in
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            defer { close(fd) }
            let bytes = Array(entries.map { $0.description + "\n" }.joined().utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }
}
