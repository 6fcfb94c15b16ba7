public import Codecs

/// The wallet gateway's side of QR payments, simulated (WeChat Pay, Alipay, UnionPay QR and EMVCo wallets behind one
/// acquirer gateway), for the sim board and the tests. Pure: the caller passes the time (`now`, monotonic
/// milliseconds) into every call; states move only when asked.
///
/// An order is created by ``pay(orderID:wallet:credential:amount:currencyCode:now:)`` (customer-presented: the
/// terminal scanned the customer's code) or ``createMerchantOrder(orderID:amount:currencyCode:payload:now:)``
/// (merchant-presented: the terminal shows a code; a simulated phone pays it after
/// ``Configuration/merchantPresentedPayMilliseconds``). Its states:
///
/// ```
/// waitingForScan ──(phone pays)──┐
///                                v
///  pay ──> userPaying ──(delay)──> success ──refund──> refunded
///     │         │                    │
///     │         └──(delay)──> failed └──cancel──> closed (reversed)
///     └──> success / failed at once      cancel of waiting/paying/failed ──> closed
/// ```
///
/// What happens to a payment is decided by the first matching ``Rule``; the defaults (``Rule/defaults``) key on the
/// amount's last two digits (the fen of a CNY amount):
///
/// | amount ends | outcome |
/// |---|---|
/// | .51 | failed at once: NOTENOUGH "insufficient balance" |
/// | .52 | failed at once: AUTHCODEEXPIRE "payment code expired" |
/// | .61 | user paying, then success after ``Configuration/userPayingMilliseconds`` |
/// | .62 | user paying and never finishing (the terminal must cancel) |
/// | .63 | user paying, then failed: USERCANCELLED "customer cancelled on the phone" |
/// | anything else | success at once |
///
/// Every request and state change goes into the ``ledger``.
public struct QRGatewaySimulator: Sendable {
    /// What a matching rule does with a payment.
    public enum Behaviour: Sendable, Equatable {
        case succeed
        case fail(code: String, message: String)
        /// "User paying" (the customer types the wallet password), then success after the configured delay.
        case userPayingThenSucceed
        /// "User paying", then failure after the configured delay.
        case userPayingThenFail(code: String, message: String)
        /// "User paying" until the terminal gives up.
        case userPayingForever
    }

    /// Which payments a rule applies to.
    public enum Match: Sendable, Equatable {
        /// `amount % 100 == cents`.
        case amountEndsWith(cents: Int)
        /// The customer's credential (auth code digits, CPM Base64) starts with this.
        case credentialPrefix(String)
        /// Payments through this wallet.
        case wallet(QRWallet)
        case always
    }

    public struct Rule: Sendable, Equatable {
        public var match: Match
        public var behaviour: Behaviour
        public init(_ match: Match, _ behaviour: Behaviour) {
            self.match = match
            self.behaviour = behaviour
        }

        /// The amount rules of the table above.
        public static let defaults: [Rule] = [
            Rule(.amountEndsWith(cents: 51), .fail(code: "NOTENOUGH", message: "insufficient balance")),
            Rule(.amountEndsWith(cents: 52), .fail(code: "AUTHCODEEXPIRE", message: "payment code expired")),
            Rule(.amountEndsWith(cents: 61), .userPayingThenSucceed),
            Rule(.amountEndsWith(cents: 62), .userPayingForever),
            Rule(.amountEndsWith(cents: 63), .userPayingThenFail(code: "USERCANCELLED", message: "customer cancelled on the phone")),
        ]
    }

    public struct Configuration: Sendable, Equatable {
        /// How long "user paying" lasts before the rule's final state (WeChat's password entry).
        public var userPayingMilliseconds: Int64 = 12_000
        /// How long after a merchant-presented order is created the simulated phone scans and pays it.
        public var merchantPresentedPayMilliseconds: Int64 = 5_000
        /// How soon after creation an order may be cancelled, per wallet (WeChat Pay revokes only after 15 s).
        public var cancelNotBeforeMilliseconds: [QRWallet: Int64] = [.weChatPay: 15_000]
        /// Rules in order; the first match decides. No match: success at once.
        public var rules: [Rule] = Rule.defaults
        public init() {}
    }

    /// An order's state at the gateway.
    public enum OrderState: Sendable, Equatable {
        /// Merchant-presented: shown, not scanned yet.
        case waitingForScan
        case userPaying
        case success
        case failed(code: String, message: String)
        /// Cancelled, revoked or reversed: nothing charged (a paid order was refunded in full).
        case closed
        /// Refunded in full.
        case refunded
    }

    public struct Order: Sendable, Equatable {
        public var orderID: String
        public var wallet: QRWallet
        public var amount: Int
        public var currencyCode: Int
        public var createdAt: Int64
        public var state: OrderState
        /// When a ``OrderState/userPaying`` or ``OrderState/waitingForScan`` order moves on (`nil`: never).
        public var settlesAt: Int64?
        /// The gateway's transaction number once paid.
        public var transactionID: String?
        public var refundedAmount: Int
        /// The credential masked (first 6, last 4), for the ledger.
        public var maskedCredential: String
        var credentialForRules: String
        var behaviour: Behaviour
        var refundIDs: Set<String>
    }

    /// One line of the ledger.
    public struct LedgerEntry: Sendable, Equatable, CustomStringConvertible {
        public var time: Int64
        public var orderID: String
        public var event: String
        public var amount: Int
        public var description: String { "\(time) \(orderID) \(event) \(amount)" }
    }

    /// What the gateway answers.
    public enum Answer: Sendable, Equatable {
        case success(transactionID: String)
        case userPaying
        /// Merchant-presented order registered, waiting for the customer's scan.
        case waiting
        case failed(code: String, message: String)
        case closed
        case refunded(refundID: String, total: Int)
        case orderNotFound
        /// A cancel came too early (WeChat: 15 s after creation); retry after `retryAfterMilliseconds`.
        case cancelTooEarly(retryAfterMilliseconds: Int64)
        /// The request contradicts the order (another amount under the same order ID, refund over the paid amount).
        case rejected(code: String, message: String)
    }

    public var configuration: Configuration
    public private(set) var orders: [String: Order] = [:]
    public private(set) var ledger: [LedgerEntry] = []
    private var nextTransaction = 1

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Customer-presented payment. Idempotent per `orderID`: a retry with the same amount answers the order's
    /// current state and charges nothing more.
    public mutating func pay(
        orderID: String, wallet: QRWallet, credential: String, amount: Int, currencyCode: Int, now: Int64
    ) -> Answer {
        if orders[orderID] != nil {
            guard let existing = orders[orderID], existing.amount == amount else {
                return reject(orderID, "ORDER_MISMATCH", "order ID reused with another amount", now: now)
            }
            log(now, orderID, "pay retried (duplicate, no charge)", amount)
            return query(orderID: orderID, now: now)
        }
        let behaviour = self.behaviour(wallet: wallet, credential: credential, amount: amount)
        var order = Order(
            orderID: orderID, wallet: wallet, amount: amount, currencyCode: currencyCode, createdAt: now,
            state: .userPaying, settlesAt: nil, transactionID: nil, refundedAmount: 0,
            maskedCredential: CustomerPresentedCode.masked(credential), credentialForRules: credential,
            behaviour: behaviour, refundIDs: [])
        log(now, orderID, "pay \(wallet.rawValue) code \(order.maskedCredential)", amount)
        start(&order, now: now)
        orders[orderID] = order
        return answer(for: order)
    }

    /// Merchant-presented order: the terminal shows `payload`; the simulated phone pays it after
    /// ``Configuration/merchantPresentedPayMilliseconds`` and the amount rules then apply. Idempotent per `orderID`.
    public mutating func createMerchantOrder(orderID: String, amount: Int, currencyCode: Int, payload: String, now: Int64) -> Answer {
        if let existing = orders[orderID] {
            guard existing.amount == amount else {
                return reject(orderID, "ORDER_MISMATCH", "order ID reused with another amount", now: now)
            }
            return query(orderID: orderID, now: now)
        }
        let order = Order(
            orderID: orderID, wallet: .emvco, amount: amount, currencyCode: currencyCode, createdAt: now,
            state: .waitingForScan, settlesAt: now + configuration.merchantPresentedPayMilliseconds, transactionID: nil,
            refundedAmount: 0, maskedCredential: "MPM", credentialForRules: payload,
            behaviour: behaviour(wallet: .emvco, credential: payload, amount: amount), refundIDs: [])
        orders[orderID] = order
        log(now, orderID, "merchant-presented order created", amount)
        return answer(for: order)
    }

    /// The order's state now.
    public mutating func query(orderID: String, now: Int64) -> Answer {
        guard var order = orders[orderID] else {
            log(now, orderID, "query: no such order", 0)
            return .orderNotFound
        }
        advance(&order, now: now)
        orders[orderID] = order
        log(now, orderID, "query: \(Self.name(order.state))", order.amount)
        return answer(for: order)
    }

    /// Cancels (revokes, reverses) an order: one not finished is closed; a paid one is refunded in full and closed.
    /// Idempotent. WeChat Pay orders answer ``Answer/cancelTooEarly(retryAfterMilliseconds:)`` in their first 15 s.
    public mutating func cancel(orderID: String, now: Int64) -> Answer {
        guard var order = orders[orderID] else {
            log(now, orderID, "cancel: no such order (nothing to reverse)", 0)
            return .orderNotFound
        }
        let notBefore = order.createdAt + (configuration.cancelNotBeforeMilliseconds[order.wallet] ?? 0)
        if now < notBefore, order.state != .closed {
            log(now, orderID, "cancel refused: too early", order.amount)
            return .cancelTooEarly(retryAfterMilliseconds: notBefore - now)
        }
        advance(&order, now: now)
        switch order.state {
        case .waitingForScan, .userPaying, .failed:
            order.state = .closed
            order.settlesAt = nil
            log(now, orderID, "closed by cancel", order.amount)
        case .success:
            order.state = .closed
            log(now, orderID, "REVERSED: paid order refunded in full and closed", order.amount - order.refundedAmount)
            order.refundedAmount = order.amount
        case .closed:
            log(now, orderID, "cancel repeated (already closed)", order.amount)
        case .refunded:
            log(now, orderID, "cancel of a refunded order (already closed)", order.amount)
            order.state = .closed
        }
        orders[orderID] = order
        return .closed
    }

    /// Refunds `amount` of a paid order. Idempotent per `refundID`.
    public mutating func refund(orderID: String, refundID: String, amount: Int, now: Int64) -> Answer {
        guard var order = orders[orderID] else { return .orderNotFound }
        advance(&order, now: now)
        if order.refundIDs.contains(refundID) {
            orders[orderID] = order
            log(now, orderID, "refund \(refundID) retried (duplicate)", amount)
            return .refunded(refundID: refundID, total: order.refundedAmount)
        }
        guard order.state == .success else {
            orders[orderID] = order
            return reject(orderID, "TRADE_STATE_ERROR", "only a paid order can be refunded", now: now)
        }
        guard amount > 0, order.refundedAmount + amount <= order.amount else {
            orders[orderID] = order
            return reject(orderID, "REFUND_AMOUNT_ERROR", "refund exceeds the paid amount", now: now)
        }
        order.refundIDs.insert(refundID)
        order.refundedAmount += amount
        if order.refundedAmount == order.amount { order.state = .refunded }
        orders[orderID] = order
        log(now, orderID, "refund \(refundID)", amount)
        return .refunded(refundID: refundID, total: order.refundedAmount)
    }

    /// The ledger as text, one entry a line.
    public var ledgerText: String { ledger.map(\.description).joined(separator: "\n") }

    /// Takes back an order from the books of an earlier run: a real gateway keeps its orders, but this simulator's
    /// memory starts empty when the sim board restarts (its acquirer simulator keeps the orders in SQLite, and
    /// ``QRGatewayHost`` hands them back here before it answers for one). An order still held is left alone; nothing
    /// goes into the ledger.
    ///
    /// - Parameters:
    ///   - createdAt: when it was made (monotonic milliseconds, as `now`); a time after `now` (the machine restarted
    ///     since) counts as long ago, so a cancel is not held back by the wallet's waiting time.
    ///   - state: as it was left. An unfinished one (``OrderState/userPaying``, ``OrderState/waitingForScan``) goes
    ///     on as its amount rules say, timed from `createdAt`.
    ///   - refunds: the refunds made on it (ID, amount); the order is ``OrderState/refunded`` when they add up to the
    ///     amount.
    ///   - maskedCredential: the customer's code masked, as the ledger wrote it (`MPM` for a merchant-presented order).
    public mutating func restore(
        orderID: String, wallet: QRWallet, amount: Int, currencyCode: Int, createdAt: Int64, state: OrderState,
        transactionID: String?, refunds: [(refundID: String, amount: Int)], maskedCredential: String, now: Int64
    ) {
        guard orders[orderID] == nil else { return }
        let created = createdAt > now ? now - (configuration.cancelNotBeforeMilliseconds.values.max() ?? 0) : createdAt
        let behaviour = self.behaviour(wallet: wallet, credential: maskedCredential, amount: amount)
        var order = Order(
            orderID: orderID, wallet: wallet, amount: amount, currencyCode: currencyCode, createdAt: created, state: state,
            settlesAt: nil, transactionID: transactionID, refundedAmount: refunds.reduce(0) { $0 + $1.amount },
            maskedCredential: maskedCredential, credentialForRules: maskedCredential, behaviour: behaviour,
            refundIDs: Set(refunds.map(\.refundID)))
        switch state {
        case .waitingForScan:
            order.settlesAt = created + configuration.merchantPresentedPayMilliseconds
        case .userPaying:
            switch behaviour {
            case .userPayingThenSucceed, .userPayingThenFail: order.settlesAt = created + configuration.userPayingMilliseconds
            case .succeed, .fail, .userPayingForever: order.settlesAt = nil
            }
        case .success:
            if order.refundedAmount >= amount { order.state = .refunded }
        case .failed, .closed, .refunded:
            break
        }
        orders[orderID] = order
    }

    // MARK: - Private

    private func behaviour(wallet: QRWallet, credential: String, amount: Int) -> Behaviour {
        for rule in configuration.rules {
            let matches: Bool
            switch rule.match {
            case .amountEndsWith(let cents): matches = amount % 100 == cents
            case .credentialPrefix(let prefix): matches = credential.hasPrefix(prefix)
            case .wallet(let w): matches = w == wallet
            case .always: matches = true
            }
            if matches { return rule.behaviour }
        }
        return .succeed
    }

    /// A paid (scanned) order takes its rule's first step.
    private mutating func start(_ order: inout Order, now: Int64) {
        switch order.behaviour {
        case .succeed:
            settle(&order, .success, now: now)
        case .fail(let code, let message):
            settle(&order, .failed(code: code, message: message), now: now)
        case .userPayingThenSucceed, .userPayingThenFail:
            order.state = .userPaying
            order.settlesAt = now + configuration.userPayingMilliseconds
            log(now, order.orderID, "user paying", order.amount)
        case .userPayingForever:
            order.state = .userPaying
            order.settlesAt = nil
            log(now, order.orderID, "user paying", order.amount)
        }
    }

    private mutating func advance(_ order: inout Order, now: Int64) {
        guard let at = order.settlesAt, now >= at else { return }
        switch order.state {
        case .waitingForScan:
            log(at, order.orderID, "scanned and paid by the simulated wallet", order.amount)
            start(&order, now: at)
            advance(&order, now: now)
        case .userPaying:
            switch order.behaviour {
            case .userPayingThenFail(let code, let message):
                settle(&order, .failed(code: code, message: message), now: at)
            default:
                settle(&order, .success, now: at)
            }
        case .success, .failed, .closed, .refunded:
            order.settlesAt = nil
        }
    }

    private mutating func settle(_ order: inout Order, _ state: OrderState, now: Int64) {
        order.state = state
        order.settlesAt = nil
        if state == .success {
            order.transactionID = "SIM" + String(nextTransaction + 100_000_000)
            nextTransaction += 1
        }
        log(now, order.orderID, Self.name(state), order.amount)
    }

    private func answer(for order: Order) -> Answer {
        switch order.state {
        case .waitingForScan: .waiting
        case .userPaying: .userPaying
        case .success: .success(transactionID: order.transactionID ?? "")
        case .failed(let code, let message): .failed(code: code, message: message)
        case .closed: .closed
        case .refunded: .refunded(refundID: "", total: order.refundedAmount)
        }
    }

    private mutating func reject(_ orderID: String, _ code: String, _ message: String, now: Int64) -> Answer {
        log(now, orderID, "rejected \(code)", 0)
        return .rejected(code: code, message: message)
    }

    private mutating func log(_ time: Int64, _ orderID: String, _ event: String, _ amount: Int) {
        ledger.append(LedgerEntry(time: time, orderID: orderID, event: event, amount: amount))
    }

    static func name(_ state: OrderState) -> String {
        switch state {
        case .waitingForScan: "waiting for scan"
        case .userPaying: "user paying"
        case .success: "success"
        case .failed(let code, _): "failed \(code)"
        case .closed: "closed"
        case .refunded: "refunded"
        }
    }
}
