public import Codecs

/// The terminal's side of the wallet gateway for QR payments, whatever carries it: the ISO 8583 host link
/// (``HostQRGatewayLink``, docs/host-interface.md §4.10) on every board, the sim board's too (to its built-in acquirer
/// simulator); the in-process ``SimulatedQRGatewayLink`` in the rail's unit tests. Every call names the order by its ID, which the rail derives from the journal's idempotency key, so a
/// call repeated after a lost answer or a reboot acts once at the gateway.
public protocol QRGatewayLink: Sendable {
    /// Customer-presented: charge the scanned payment code.
    func pay(_ request: QRPaymentRequest) async -> QRGatewayReply
    /// Merchant-presented: register the order behind the code the terminal shows (answers ``QRGatewayReply/waiting``).
    func createOrder(_ request: QROrderRequest) async -> QRGatewayReply
    /// The order's state now.
    func query(orderID: String) async -> QRGatewayReply
    /// Cancels (revokes, reverses) the order: closes an unpaid one, refunds and closes a paid one.
    func cancel(orderID: String) async -> QRGatewayReply
    /// Refunds (part of) a paid order; `refundID` makes a repeated request act once.
    func refund(_ request: QRRefundRequest) async -> QRGatewayReply
}

/// A customer-presented payment.
public struct QRPaymentRequest: Sendable, Equatable {
    /// The merchant's order ID (WeChat `out_trade_no`, Alipay `out_trade_no`): unique, and the same on every retry.
    public var orderID: String
    /// System trace audit number of the journal entry (field 11 on the ISO 8583 link).
    public var stan: Int
    public var amount: Int
    /// ISO 4217 numeric currency.
    public var currencyCode: Int
    public var wallet: QRWallet
    /// The payment code (auth code digits, or the CPM Base64 text): a bearer credential, never logged.
    public var credential: String

    /// The journal's key of the transaction (``RailTicket/transactionReference``, 16 hex digits): the host link's
    /// idempotency key is made from it, so a reversal the store sends later names the same payment.
    public var transactionReference: String?

    public init(
        orderID: String, stan: Int, amount: Int, currencyCode: Int, wallet: QRWallet, credential: String,
        transactionReference: String? = nil
    ) {
        self.transactionReference = transactionReference
        self.orderID = orderID
        self.stan = stan
        self.amount = amount
        self.currencyCode = currencyCode
        self.wallet = wallet
        self.credential = credential
    }
}

/// A merchant-presented order.
public struct QROrderRequest: Sendable, Equatable {
    public var orderID: String
    public var stan: Int
    public var amount: Int
    public var currencyCode: Int
    /// The EMVCo MPM payload the terminal shows.
    public var payload: String
    /// The journal's key of the transaction (as in ``QRPaymentRequest/transactionReference``).
    public var transactionReference: String?

    public init(orderID: String, stan: Int, amount: Int, currencyCode: Int, payload: String, transactionReference: String? = nil) {
        self.transactionReference = transactionReference
        self.orderID = orderID
        self.stan = stan
        self.amount = amount
        self.currencyCode = currencyCode
        self.payload = payload
    }
}

/// A refund of a paid order.
public struct QRRefundRequest: Sendable, Equatable {
    public var orderID: String
    /// The refund's own ID (WeChat `out_refund_no`): the same on every retry.
    public var refundID: String
    public var amount: Int
    public var currencyCode: Int
    /// The refund's journal entry: its STAN (field 11) and key (the idempotency key), when the rail has them.
    public var stan: Int
    public var transactionReference: String?

    public init(orderID: String, refundID: String, amount: Int, currencyCode: Int, stan: Int = 0, transactionReference: String? = nil) {
        self.stan = stan
        self.transactionReference = transactionReference
        self.orderID = orderID
        self.refundID = refundID
        self.amount = amount
        self.currencyCode = currencyCode
    }
}

/// What the gateway answered, or why there was no answer.
public enum QRGatewayReply: Sendable, Equatable {
    /// Paid; `transactionID` is the wallet's transaction number.
    case paid(transactionID: String)
    /// The customer is confirming on the phone (password); query again.
    case userPaying
    /// Merchant-presented: not scanned yet.
    case waiting
    /// Declined by the wallet, with its code and message.
    case failed(code: String, message: String)
    /// Cancelled / reversed: nothing charged.
    case closed
    /// Refunded; `total` is everything refunded on the order so far.
    case refunded(refundID: String, total: Int)
    case orderNotFound
    /// The wallet refuses to cancel this soon (WeChat: 15 s after creation); retry after the delay.
    case cancelTooEarly(retryAfterMilliseconds: Int64)
    /// The request contradicts the order (another amount under its ID, a refund over the paid amount).
    case rejected(code: String, message: String)
    /// Nothing reached the gateway.
    case unreachable(String)
    /// The request left and no answer came: the order's state is unknown until queried.
    case timedOut
}
