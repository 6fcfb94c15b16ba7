import Codecs
import Synchronization
import Uplink

/// ``QRGatewayLink`` over our host protocol (docs/host-interface.md §4.10): the QR messages go to the acquirer on the
/// ``HostAcquirerLink``'s connection (mutual TLS, one request in flight), which plays or fronts the wallet gateway.
///
/// | call | message | answer → reply |
/// |---|---|---|
/// | ``pay(_:)`` | 0200 `900000`, 62 `QR` (the code, never logged) and `QO` (the order ID) | `00` paid (62 `TN`), `09` user paying, a decline `failed` (62 `WR`) |
/// | ``createOrder(_:)`` | 0200 `930000`, 62 `QR` = the MPM payload (percent-encoded, ``HostQRPayload``), `QO` | `09` waiting (`QS` `NOTPAY`), then as a payment |
/// | ``query(orderID:)`` | 0200 `910000`, 62 `QO` | as a payment; `25` order not found |
/// | ``cancel(orderID:)`` | 0400 reversal of the payment (0401 when an earlier one went unanswered), 62 `QO`, `RR` | `00` closed, `09` + 62 `RA` too early, `25` not found |
/// | ``refund(_:)`` | 0200 `200000`, entry mode `031`, 62 `QO`, `RF` | `00` refunded (62 `RT` total), `12` rejected (62 `WR`), `25` not found |
///
/// The idempotency key of a payment is made from the journal's key of its transaction, as the store-and-forward
/// uploader makes it, so a reversal the store sends after a reboot names the same payment at the host. Cancellations
/// and queries of an order made by this process carry its payment's key; others (after a reboot) a key hashed from
/// the order ID, and the host finds the order by 62 `QO`.
public final class HostQRGatewayLink: QRGatewayLink {
    let link: HostAcquirerLink
    private let now: @Sendable () -> Int64
    private let utcOffsetSeconds: Int64
    /// The requests that made this process's orders, by order ID, and whether a cancellation went unanswered.
    private let orders = Mutex<[String: Order]>([:])

    struct Order: Sendable {
        var request: TransactionRequest
        var paid = false
        var cancelUnanswered = false
    }

    /// - Parameters:
    ///   - link: the acquirer link whose connection, terminal ID, merchant ID and batch the messages use.
    ///   - now: the time, seconds since 1970 (UTC), for fields 7, 12 and 13.
    ///   - utcOffsetSeconds: the terminal's local time zone (fields 12 and 13).
    public init(link: HostAcquirerLink, now: @escaping @Sendable () -> Int64, utcOffsetSeconds: Int64 = 0) {
        self.link = link
        self.now = now
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    public func pay(_ request: QRPaymentRequest) async -> QRGatewayReply {
        var message = transaction(
            .qrPayment, orderID: request.orderID, stan: request.stan, amount: request.amount,
            currencyCode: request.currencyCode, reference: request.transactionReference)
        message.qrCode = request.credential
        return await start(message, orderID: request.orderID)
    }

    public func createOrder(_ request: QROrderRequest) async -> QRGatewayReply {
        var message = transaction(
            .qrOrder, orderID: request.orderID, stan: request.stan, amount: request.amount,
            currencyCode: request.currencyCode, reference: request.transactionReference)
        message.qrCode = HostQRPayload.encoded(request.payload)
        return await start(message, orderID: request.orderID)
    }

    public func query(orderID: String) async -> QRGatewayReply {
        var query = orders.withLock { $0[orderID]?.request } ?? fallback(orderID)
        query.kind = .qrQuery
        query.qrCode = nil
        query.transmission = Self.dateTime(now())
        let reply = await exchange(query, sendDueReversalsFirst: false)
        note(orderID, reply)
        return reply
    }

    public func cancel(orderID: String) async -> QRGatewayReply {
        let known = orders.withLock { $0[orderID] }
        let original = known?.request ?? fallback(orderID)
        let message: ISO8583.Message
        do {
            message = try HostMessages.reversal(
                of: original, reason: known?.paid == true ? .customerCancellation : .timeout,
                isRepeat: known?.cancelUnanswered == true)
        } catch {
            return .unreachable("reversal not built: \(error)")
        }
        switch await link.exchangeForPayment(message, sendDueReversalsFirst: false) {
        case .notSent(let why):
            return .unreachable(why)
        case .unanswered:
            orders.withLock { $0[orderID]?.cancelUnanswered = true }
            return .timedOut
        case .answered(let response):
            orders.withLock { $0[orderID]?.cancelUnanswered = false }
            let tagged = response.privateData
            switch response.responseCode {
            case .approved: return .closed
            case .originalNotFound: return .orderNotFound
            case .requestInProgress:
                return .cancelTooEarly(retryAfterMilliseconds: tagged[.qrRetryAfter].flatMap { Int64($0) } ?? 5_000)
            default:
                let (code, text) = Self.walletResult(tagged, response.responseCode)
                return .rejected(code: code, message: text)
            }
        }
    }

    public func refund(_ request: QRRefundRequest) async -> QRGatewayReply {
        var message = transaction(
            .refund, orderID: request.orderID, stan: request.stan, amount: request.amount,
            currencyCode: request.currencyCode, reference: request.transactionReference ?? request.refundID)
        message.qrRefundID = request.refundID
        let reply = await exchange(message, sendDueReversalsFirst: false)
        if case .paid = reply { return .refunded(refundID: request.refundID, total: request.amount) }
        return reply
    }

    // MARK: - Messages

    /// A QR transaction of this terminal: entry mode `031`, no card data, the order ID in 62 `QO`.
    func transaction(
        _ kind: TransactionKind, orderID: String, stan: Int, amount: Int, currencyCode: Int, reference: String?
    ) -> TransactionRequest {
        let seconds = now()
        let currency = String(currencyCode)
        var request = TransactionRequest(
            kind: kind, amount: UInt64(max(0, amount)),
            currencyCode: String(repeating: "0", count: max(0, 3 - currency.count)) + currency, stan: stan,
            transmission: Self.dateTime(seconds), local: Self.dateTime(seconds + utcOffsetSeconds),
            terminalID: link.configuration.terminalID, merchantID: link.configuration.merchantID,
            batchNumber: link.configuration.batchNumber(),
            transactionReference: StoreAndForwardUploader.referenceNumber(reference ?? orderID), entryMode: .qrCode)
        request.qrOrderReference = orderID
        return request
    }

    /// An order this process did not make (a refund or void after a reboot): its key hashed from the order ID.
    func fallback(_ orderID: String) -> TransactionRequest {
        transaction(.qrPayment, orderID: orderID, stan: 0, amount: 0, currencyCode: 0, reference: nil)
    }

    private func start(_ request: TransactionRequest, orderID: String) async -> QRGatewayReply {
        orders.withLock { $0[orderID] = Order(request: request) }
        let reply = await exchange(request, sendDueReversalsFirst: true)
        note(orderID, reply)
        return reply
    }

    private func note(_ orderID: String, _ reply: QRGatewayReply) {
        if case .paid = reply { orders.withLock { $0[orderID]?.paid = true } }
    }

    private func exchange(_ request: TransactionRequest, sendDueReversalsFirst: Bool) async -> QRGatewayReply {
        let message: ISO8583.Message
        do {
            message = try HostMessages.request(request)
        } catch {
            return .unreachable("request not built: \(error)")
        }
        switch await link.exchangeForPayment(message, sendDueReversalsFirst: sendDueReversalsFirst) {
        case .notSent(let why): return .unreachable(why)
        case .unanswered: return .timedOut
        case .answered(let response): return Self.reply(response)
        }
    }

    /// The reply for the host's answer to a payment, order, query or refund (docs/host-interface.md §4.10).
    static func reply(_ response: HostResponse) -> QRGatewayReply {
        let tagged = response.privateData
        let state = tagged[.qrOrderState]
        switch response.responseCode {
        case .approved:
            switch state {
            case "CLOSED", "REVOKED": return .closed
            case "REFUND":
                return .refunded(
                    refundID: tagged[.qrRefundID] ?? "", total: tagged[.qrRefundedTotal].flatMap { Int($0) } ?? 0)
            default:
                return .paid(transactionID: tagged[.qrTransactionNumber] ?? response.retrievalReference ?? "")
            }
        case .requestInProgress:
            return state == "NOTPAY" ? .waiting : .userPaying
        case .originalNotFound:
            return .orderNotFound
        case .customerCancellation where state == "CLOSED" || state == "REVOKED":
            return .closed
        default:
            let (code, text) = walletResult(tagged, response.responseCode)
            return state == "REJECTED" ? .rejected(code: code, message: text) : .failed(code: code, message: text)
        }
    }

    /// 62 `WR` as (code, message), else field 39 and its meaning.
    static func walletResult(_ tagged: PrivateTaggedData, _ code: HostResponseCode) -> (String, String) {
        if let result = tagged[.qrWalletResult] {
            let parts = result.split(separator: " ", maxSplits: 1)
            return (String(parts.first ?? ""), parts.count > 1 ? String(parts[1]) : "")
        }
        return (code.rawValue, code.description)
    }

    static func dateTime(_ seconds: Int64) -> HostDateTime { StoreAndForwardUploader.hostDateTime(seconds) }
}
