#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
public import QRGatewaySimulator
import Synchronization
import Uplink

/// The wallet gateway behind the acquirer simulator: the QR messages of our host protocol (docs/host-interface.md
/// §4.10) answered by a ``QRGatewaySimulator``, booked in the ``AcquirerLedger``.
///
/// | request | processing code | gateway call |
/// |---|---|---|
/// | 0200 QR payment | `900000` | `pay` (62 `QR` the customer's code, `QO` the order ID) |
/// | 0200 QR query | `910000` | `query` (never booked, never answered from the books: it changes nothing) |
/// | 0200 merchant-presented order | `930000` | `createMerchantOrder` (62 `QR` the MPM payload) |
/// | 0200 QR refund | `200000`, entry mode `031` | `refund` (62 `QO`, `RF`) |
/// | 0400/0401/0420/0421 of `900000`/`930000` | — | `cancel` (the order by 62 `QO`, else by the payment's key) |
///
/// Time is the simulator's `now` (monotonic milliseconds), so the sim board can run it on the terminal's clock.
public final class QRGatewayHost: Sendable {
    let simulator: Mutex<QRGatewaySimulator>
    let now: @Sendable () -> Int64
    private let onLedger: (@Sendable ([QRGatewaySimulator.LedgerEntry]) -> Void)?

    /// - Parameters:
    ///   - configuration: the gateway's rules and delays (``QRGatewaySimulator`` documents the defaults).
    ///   - now: monotonic milliseconds; the system's monotonic clock by default.
    ///   - onLedger: called with the gateway's new ledger lines after each request (the sim board appends them to
    ///     `STATE/qr-gateway-ledger.txt`).
    public init(
        configuration: QRGatewaySimulator.Configuration = .init(), now: (@Sendable () -> Int64)? = nil,
        onLedger: (@Sendable ([QRGatewaySimulator.LedgerEntry]) -> Void)? = nil
    ) {
        simulator = Mutex(QRGatewaySimulator(configuration: configuration))
        self.now = now ?? Self.monotonicMilliseconds
        self.onLedger = onLedger
    }

    /// The gateway's ledger so far.
    public var ledger: [QRGatewaySimulator.LedgerEntry] { simulator.withLock { $0.ledger } }

    /// An order as the gateway holds it.
    public func order(_ orderID: String) -> QRGatewaySimulator.Order? { simulator.withLock { $0.orders[orderID] } }

    static let monotonicMilliseconds: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// What a QR message is.
    enum Request {
        case pay, query, merchantOrder, refund, cancel
    }

    static func classify(_ message: ISO8583.Message) -> Request? {
        let code = message.text(3) ?? ""
        switch message.mti {
        case "0200", "0201":
            switch code {
            case TransactionKind.qrPayment.processingCode: return .pay
            case TransactionKind.qrQuery.processingCode: return .query
            case TransactionKind.qrOrder.processingCode: return .merchantOrder
            case TransactionKind.refund.processingCode where message.text(22) == POSEntryMode.qrCode.rawValue: return .refund
            default: return nil
            }
        case "0400", "0401", "0420", "0421":
            let qr = [TransactionKind.qrPayment.processingCode, TransactionKind.qrOrder.processingCode]
            return qr.contains(code) ? .cancel : nil
        default:
            return nil
        }
    }

    /// The packed answer to `message` when it is a QR message of ours, else `nil` (the card paths answer it).
    func respond(to message: ISO8583.Message, ledger: AcquirerLedger) -> [UInt8]? {
        guard let request = Self.classify(message) else { return nil }
        let tagged = (try? PrivateTaggedData(encoded: message.text(62) ?? "")) ?? PrivateTaggedData()
        guard let key = tagged[.idempotencyKey] else { return Self.answer(message, .formatError) }
        let messageClass = String(message.mti.prefix(3))
        if request != .query, let earlier = try? ledger.answered(key: key, messageClass: messageClass) { return earlier }
        let amount = Int(message.text(4) ?? "0") ?? 0
        let currency = message.text(49) ?? ""
        // An order of an earlier run of the sim board is taken back from the books first (QRGatewayRestore.swift).
        if let orderID = tagged[.qrOrderReference] ?? (request == .cancel ? (try? ledger.qrOrder(key: key))?.orderID : nil) {
            restoreIfForgotten(orderID, ledger: ledger)
        }
        switch request {
        case .pay, .merchantOrder:
            guard let code = tagged[.qrCode], let orderID = tagged[.qrOrderReference] else {
                return Self.answer(message, .formatError)
            }
            let walletAnswer: QRGatewaySimulator.Answer
            let wallet: QRWallet
            if request == .pay {
                guard case .payment(let customer) = CustomerPresentedCode.classify(code) else {
                    var extra = PrivateTaggedData()
                    extra[.qrOrderState] = "PAYERROR"
                    extra[.qrWalletResult] = "AUTH_CODE_INVALID not a payment code"
                    return Self.answer(message, .invalidCardNumber, extra)
                }
                wallet = customer.wallet
                walletAnswer = run { $0.pay(orderID: orderID, wallet: wallet, credential: customer.credential, amount: amount, currencyCode: Int(currency) ?? 0, now: $1) }
            } else {
                wallet = .emvco
                let payload = HostQRPayload.decoded(code) ?? code
                walletAnswer = run { $0.createMerchantOrder(orderID: orderID, amount: amount, currencyCode: Int(currency) ?? 0, payload: payload, now: $1) }
            }
            let (responseCode, extra) = Self.fields(walletAnswer, orderID: orderID)
            guard let packed = Self.answer(message, responseCode, extra, retrievalReference: key) else { return nil }
            if (try? ledger.qrOrder(orderID: orderID)) != nil {
                // The order exists (a payment repeated under another key): answered, never charged again.
                try? ledger.recordAnswer(key: key, messageClass: messageClass, response: packed)
                record(ledger)
                return packed
            }
            try? ledger.recordQRPayment(
                key: key, messageClass: messageClass, response: packed, mti: message.mti, orderID: orderID,
                wallet: wallet.rawValue, amount: amount, currency: currency,
                maskedCode: request == .pay ? CustomerPresentedCode.masked(code) : "MPM", responseCode: responseCode.rawValue,
                reason: "QR \(wallet.rawValue) \(extra[.qrOrderState] ?? "")")
            record(ledger)
            return packed
        case .query:
            guard let orderID = tagged[.qrOrderReference] else { return Self.answer(message, .formatError) }
            let walletAnswer = run { $0.query(orderID: orderID, now: $1) }
            let (responseCode, extra) = Self.fields(walletAnswer, orderID: orderID)
            if responseCode != .requestInProgress, responseCode != .originalNotFound,
                let order = try? ledger.qrOrder(orderID: orderID)
            {
                try? ledger.settleQRPayment(
                    key: order.idempotencyKey, responseCode: responseCode.rawValue,
                    reason: "QR \(order.wallet) \(extra[.qrOrderState] ?? "") (seen by a query)")
            }
            record(ledger)
            return Self.answer(message, responseCode, extra, retrievalReference: key)
        case .refund:
            guard let orderID = tagged[.qrOrderReference], let refundID = tagged[.qrRefundID] else {
                return Self.answer(message, .formatError)
            }
            let walletAnswer = run { $0.refund(orderID: orderID, refundID: refundID, amount: amount, now: $1) }
            var (responseCode, extra) = Self.fields(walletAnswer, orderID: orderID)
            if case .orderNotFound = walletAnswer { responseCode = .originalNotFound }
            guard let packed = Self.answer(message, responseCode, extra, retrievalReference: key) else { return nil }
            var refunded: String?
            if case .refunded = walletAnswer { refunded = refundID }
            try? ledger.recordQRRefund(
                key: key, messageClass: messageClass, response: packed, refundID: refunded, orderID: orderID, amount: amount)
            record(ledger)
            return packed
        case .cancel:
            // A reversal request and a reversal advice undo the same order: the second is acknowledged, not re-booked.
            let other = messageClass == "040" ? "042" : "040"
            if (try? ledger.answered(key: key, messageClass: other)) != nil,
                let packed = Self.answer(message, .approved)
            {
                try? ledger.recordAnswer(key: key, messageClass: messageClass, response: packed)
                return packed
            }
            let order = tagged[.qrOrderReference].flatMap { try? ledger.qrOrder(orderID: $0) } ?? (try? ledger.qrOrder(key: key))
            guard let orderID = tagged[.qrOrderReference] ?? order?.orderID else {
                // Never saw the payment: nothing to reverse.
                guard let packed = Self.answer(message, .originalNotFound) else { return nil }
                try? ledger.recordAnswer(key: key, messageClass: messageClass, response: packed)
                return packed
            }
            let walletAnswer = run { $0.cancel(orderID: orderID, now: $1) }
            var extra = PrivateTaggedData()
            extra[.qrOrderReference] = orderID
            switch walletAnswer {
            case .cancelTooEarly(let wait):
                // Not final: not booked, so the repeat (0401) is decided afresh.
                extra[.qrOrderState] = "USERPAYING"
                extra[.qrRetryAfter] = String(wait)
                record(ledger)
                return Self.answer(message, .requestInProgress, extra)
            case .orderNotFound:
                guard let packed = Self.answer(message, .originalNotFound, extra) else { return nil }
                try? ledger.recordAnswer(key: key, messageClass: messageClass, response: packed)
                record(ledger)
                return packed
            default:
                extra[.qrOrderState] = "CLOSED"
                guard let packed = Self.answer(message, .approved, extra) else { return nil }
                try? ledger.recordQRReversal(
                    key: key, messageClass: messageClass, response: packed, mti: message.mti,
                    paymentKey: order?.idempotencyKey ?? key, amount: order?.amount ?? amount,
                    currency: currency, responseCode: "00", reason: "QR order \(orderID) cancelled (\(tagged[.reversalReason] ?? "-"))")
                record(ledger)
                return packed
            }
        }
    }

    /// Runs one gateway call at `now`, and hands its new ledger lines to `onLedger`.
    private func run(_ body: (inout QRGatewaySimulator, Int64) -> QRGatewaySimulator.Answer) -> QRGatewaySimulator.Answer {
        let time = now()
        let (answer, added) = simulator.withLock { sim -> (QRGatewaySimulator.Answer, [QRGatewaySimulator.LedgerEntry]) in
            let before = sim.ledger.count
            let answer = body(&sim, time)
            return (answer, Array(sim.ledger[before...]))
        }
        pending.withLock { $0 += added }
        if let onLedger, !added.isEmpty { onLedger(added) }
        return answer
    }

    /// Gateway ledger lines not yet written to the SQLite books.
    private let pending = Mutex<[QRGatewaySimulator.LedgerEntry]>([])

    private func record(_ ledger: AcquirerLedger) {
        let lines = pending.withLock { lines -> [QRGatewaySimulator.LedgerEntry] in
            defer { lines = [] }
            return lines
        }
        try? ledger.recordQREvents(lines.map { ($0.time, $0.orderID, $0.event, $0.amount) })
    }

    /// Field 39 and the tagged fields for a gateway answer (docs/host-interface.md §4.10).
    static func fields(_ answer: QRGatewaySimulator.Answer, orderID: String) -> (HostResponseCode, PrivateTaggedData) {
        var extra = PrivateTaggedData()
        extra[.qrOrderReference] = orderID
        switch answer {
        case .success(let transactionID):
            extra[.qrOrderState] = "SUCCESS"
            extra[.qrTransactionNumber] = transactionID
            return (.approved, extra)
        case .userPaying:
            extra[.qrOrderState] = "USERPAYING"
            return (.requestInProgress, extra)
        case .waiting:
            extra[.qrOrderState] = "NOTPAY"
            return (.requestInProgress, extra)
        case .failed(let code, let message):
            extra[.qrOrderState] = "PAYERROR"
            extra[.qrWalletResult] = code + " " + message
            return (responseCode(forWalletCode: code), extra)
        case .closed:
            extra[.qrOrderState] = "CLOSED"
            return (.customerCancellation, extra)
        case .refunded(let refundID, let total):
            extra[.qrOrderState] = "REFUND"
            if !refundID.isEmpty { extra[.qrRefundID] = refundID }
            extra[.qrRefundedTotal] = String(total)
            return (.approved, extra)
        case .orderNotFound:
            return (.originalNotFound, extra)
        case .cancelTooEarly(let wait):
            extra[.qrOrderState] = "USERPAYING"
            extra[.qrRetryAfter] = String(wait)
            return (.requestInProgress, extra)
        case .rejected(let code, let message):
            extra[.qrOrderState] = "REJECTED"
            extra[.qrWalletResult] = code + " " + message
            return (.invalidTransaction, extra)
        }
    }

    /// Field 39 for a wallet's failure code.
    static func responseCode(forWalletCode code: String) -> HostResponseCode {
        switch code {
        case "NOTENOUGH": .insufficientFunds
        case "AUTHCODEEXPIRE", "AUTH_CODE_INVALID": .expiredCard
        case "USERCANCELLED": .customerCancellation
        default: .doNotHonour
        }
    }

    /// The packed response: field 39, 62 with the echoed `IK` and `extra`, 37 derived from the key when given.
    static func answer(
        _ request: ISO8583.Message, _ code: HostResponseCode, _ extra: PrivateTaggedData = PrivateTaggedData(), retrievalReference key: String? = nil
    ) -> [UInt8]? {
        guard var response = try? HostMessages.response(to: request, responseCode: code) else { return nil }
        var tagged = (try? PrivateTaggedData(encoded: response.text(62) ?? "")) ?? PrivateTaggedData()
        for element in extra.elements { tagged.elements.append(element) }
        response[62] = .text(tagged.encoded)
        if let key, code == .approved { response[37] = .text(AcquirerServer.Worker.retrievalReference(key)) }
        return try? HostDialect.pack(response)
    }
}
