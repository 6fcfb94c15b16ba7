import Codecs
import QRGatewaySimulator
import Testing

@Suite("Wallet gateway simulator: every state, delay and rule")
struct QRGatewaySimulatorTests {
    let wechat = "134567890123456789"
    let alipay = "284567890123456789"

    @Test("Success at once; a retried pay with the same order ID charges nothing more")
    func successAndIdempotency() {
        var gateway = QRGatewaySimulator()
        #expect(gateway.pay(orderID: "O1", wallet: .weChatPay, credential: wechat, amount: 1000, currencyCode: 156, now: 0) == .success(transactionID: "SIM100000001"))
        #expect(gateway.pay(orderID: "O1", wallet: .weChatPay, credential: wechat, amount: 1000, currencyCode: 156, now: 500) == .success(transactionID: "SIM100000001"))
        #expect(gateway.pay(orderID: "O1", wallet: .weChatPay, credential: wechat, amount: 999, currencyCode: 156, now: 600) == .rejected(code: "ORDER_MISMATCH", message: "order ID reused with another amount"))
        #expect(gateway.orders.count == 1)
        #expect(gateway.ledger.contains { $0.event.contains("duplicate") })
        // The ledger shows the code masked, never whole.
        #expect(!gateway.ledgerText.contains(wechat) && gateway.ledgerText.contains("134567********6789"))
    }

    @Test("Failures at once: .51 insufficient balance, .52 code expired")
    func immediateFailures() {
        var gateway = QRGatewaySimulator()
        #expect(gateway.pay(orderID: "A", wallet: .alipay, credential: alipay, amount: 151, currencyCode: 156, now: 0) == .failed(code: "NOTENOUGH", message: "insufficient balance"))
        #expect(gateway.pay(orderID: "B", wallet: .alipay, credential: alipay, amount: 152, currencyCode: 156, now: 0) == .failed(code: "AUTHCODEEXPIRE", message: "payment code expired"))
    }

    @Test("User paying, then success after the configured delay")
    func userPayingThenSuccess() {
        var configuration = QRGatewaySimulator.Configuration()
        configuration.userPayingMilliseconds = 7_000
        var gateway = QRGatewaySimulator(configuration: configuration)
        #expect(gateway.pay(orderID: "P", wallet: .weChatPay, credential: wechat, amount: 161, currencyCode: 156, now: 1_000) == .userPaying)
        #expect(gateway.query(orderID: "P", now: 7_999) == .userPaying)
        #expect(gateway.query(orderID: "P", now: 8_000) == .success(transactionID: "SIM100000001"))
    }

    @Test("User paying, then failure (customer cancelled on the phone)")
    func userPayingThenFail() {
        var gateway = QRGatewaySimulator()
        #expect(gateway.pay(orderID: "P", wallet: .alipay, credential: alipay, amount: 163, currencyCode: 156, now: 0) == .userPaying)
        #expect(gateway.query(orderID: "P", now: 12_000) == .failed(code: "USERCANCELLED", message: "customer cancelled on the phone"))
    }

    @Test("User paying forever: WeChat refuses to cancel before 15 s, then closes")
    func cancelTooEarlyThenClosed() {
        var gateway = QRGatewaySimulator()
        #expect(gateway.pay(orderID: "P", wallet: .weChatPay, credential: wechat, amount: 162, currencyCode: 156, now: 10_000) == .userPaying)
        #expect(gateway.query(orderID: "P", now: 100_000) == .userPaying)
        var early = QRGatewaySimulator()
        _ = early.pay(orderID: "Q", wallet: .weChatPay, credential: wechat, amount: 162, currencyCode: 156, now: 0)
        #expect(early.cancel(orderID: "Q", now: 5_000) == .cancelTooEarly(retryAfterMilliseconds: 10_000))
        #expect(early.cancel(orderID: "Q", now: 15_000) == .closed)
        #expect(early.query(orderID: "Q", now: 16_000) == .closed)
        #expect(early.cancel(orderID: "Q", now: 17_000) == .closed)
        // Alipay has no such wait.
        _ = early.pay(orderID: "R", wallet: .alipay, credential: alipay, amount: 162, currencyCode: 156, now: 0)
        #expect(early.cancel(orderID: "R", now: 1) == .closed)
    }

    @Test("Cancelling a paid order reverses it (refund in full, closed); unknown orders are not found")
    func reversal() {
        var gateway = QRGatewaySimulator()
        _ = gateway.pay(orderID: "P", wallet: .alipay, credential: alipay, amount: 500, currencyCode: 156, now: 0)
        #expect(gateway.cancel(orderID: "P", now: 100) == .closed)
        #expect(gateway.orders["P"]?.refundedAmount == 500)
        #expect(gateway.ledger.contains { $0.orderID == "P" && $0.event.hasPrefix("REVERSED") })
        #expect(gateway.cancel(orderID: "nope", now: 0) == .orderNotFound)
        #expect(gateway.query(orderID: "nope", now: 0) == .orderNotFound)
    }

    @Test("Refunds: partial, full, idempotent per refund ID, never over the paid amount or of an unpaid order")
    func refunds() {
        var gateway = QRGatewaySimulator()
        _ = gateway.pay(orderID: "P", wallet: .alipay, credential: alipay, amount: 1000, currencyCode: 156, now: 0)
        #expect(gateway.refund(orderID: "P", refundID: "R1", amount: 400, now: 1) == .refunded(refundID: "R1", total: 400))
        #expect(gateway.refund(orderID: "P", refundID: "R1", amount: 400, now: 2) == .refunded(refundID: "R1", total: 400))
        #expect(gateway.refund(orderID: "P", refundID: "R2", amount: 700, now: 3) == .rejected(code: "REFUND_AMOUNT_ERROR", message: "refund exceeds the paid amount"))
        #expect(gateway.refund(orderID: "P", refundID: "R3", amount: 600, now: 4) == .refunded(refundID: "R3", total: 1000))
        #expect(gateway.orders["P"]?.state == .refunded)
        _ = gateway.pay(orderID: "F", wallet: .alipay, credential: alipay, amount: 151, currencyCode: 156, now: 0)
        #expect(gateway.refund(orderID: "F", refundID: "R4", amount: 1, now: 5) == .rejected(code: "TRADE_STATE_ERROR", message: "only a paid order can be refunded"))
        #expect(gateway.refund(orderID: "X", refundID: "R5", amount: 1, now: 5) == .orderNotFound)
    }

    @Test("Merchant-presented: waiting, scanned and paid after the delay; amount rules apply after the scan")
    func merchantPresented() {
        var configuration = QRGatewaySimulator.Configuration()
        configuration.merchantPresentedPayMilliseconds = 4_000
        var gateway = QRGatewaySimulator(configuration: configuration)
        #expect(gateway.createMerchantOrder(orderID: "M", amount: 2372, currencyCode: 156, payload: "000201", now: 0) == .waiting)
        #expect(gateway.query(orderID: "M", now: 3_999) == .waiting)
        #expect(gateway.query(orderID: "M", now: 4_000) == .success(transactionID: "SIM100000001"))
        #expect(gateway.createMerchantOrder(orderID: "N", amount: 161, currencyCode: 156, payload: "000201", now: 0) == .waiting)
        #expect(gateway.query(orderID: "N", now: 5_000) == .userPaying)
        #expect(gateway.query(orderID: "N", now: 16_000) == .success(transactionID: "SIM100000002"))
        #expect(gateway.createMerchantOrder(orderID: "W", amount: 100, currencyCode: 156, payload: "000201", now: 0) == .waiting)
        #expect(gateway.cancel(orderID: "W", now: 1_000) == .closed)
        #expect(gateway.query(orderID: "W", now: 9_000) == .closed)
    }

    @Test("Custom rules: by credential prefix and by wallet, first match wins")
    func customRules() {
        var configuration = QRGatewaySimulator.Configuration()
        configuration.rules = [
            .init(.credentialPrefix("2899"), .fail(code: "RISK", message: "risk control")),
            .init(.wallet(.unionPay), .userPayingForever),
        ] + QRGatewaySimulator.Rule.defaults
        var gateway = QRGatewaySimulator(configuration: configuration)
        #expect(gateway.pay(orderID: "A", wallet: .alipay, credential: "289912345678901234", amount: 100, currencyCode: 156, now: 0) == .failed(code: "RISK", message: "risk control"))
        #expect(gateway.pay(orderID: "U", wallet: .unionPay, credential: "6212345678901234567", amount: 100, currencyCode: 156, now: 0) == .userPaying)
        #expect(gateway.query(orderID: "U", now: 1_000_000) == .userPaying)
    }
}
