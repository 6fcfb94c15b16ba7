import AcquirerSimulator
import TestKit
import Testing

/// Issue 10's "done when" on the sim board, headless, through the one QR code path: the QR rail on
/// `HostQRGatewayLink`, over mutual TLS to the built-in acquirer simulator's wallet gateway, booked in
/// `STATE/acquirer-ledger.sqlite`. Real time: "user paying" lasts 12 s, the wallets' polling runs as documented.
@Suite(.serialized) struct HeadlessQROnlineTests {
    @Test func paidAfterUserPayingPolling() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // ¥12.61: the simulated wallet says "user paying" for 12 s; WeChat Pay is queried every 10 s.
        let run = try HeadlessTests.run("1\n2\n6\n1\nENTER\n2\nSCAN 134567890123456789\nUNTIL 45000ms 交易成功\nENTER\n", state: state)
        #expect(run.result.status == 0, "stderr: \(run.result.stderr)")
        #expect(run.frames.contains { $0.contains("交易成功") && $0.contains("¥12.61") }, "\(run.result.stdout)")
        let ledger = try AcquirerLedger(path: state + "/acquirer-ledger.sqlite")
        let entries = try ledger.entries()
        #expect(entries.count == 1 && entries.first?.responseCode == "00" && entries.first?.amount == 1261, "\(entries)")
        #expect(try ledger.netCharged() == 1261)
        let events = try ledger.qrEvents()
        #expect(events.contains { $0.contains("user paying") } && events.contains { $0.contains("query: user paying") })
        #expect(events.contains { $0.hasSuffix(" success 1261") }, "\(events)")
        #expect(!run.result.stderr.contains("134567890123456789"))
    }

    @Test func cancelledOnTimeoutWithTheReversalInTheLedger() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // ¥12.62: "user paying" forever; Alipay is queried every 5 s for 30 s, then the order is cancelled.
        let run = try HeadlessTests.run("1\n2\n6\n2\nENTER\n2\nSCAN 284567890123456789\nUNTIL 50000ms 支付超时\nENTER\n", state: state)
        #expect(run.result.status == 0, "stderr: \(run.result.stderr)")
        #expect(run.frames.contains { $0.contains("交易失败") && $0.contains("¥12.62") && $0.contains("支付超时，订单已撤销") }, "\(run.result.stdout)")
        let ledger = try AcquirerLedger(path: state + "/acquirer-ledger.sqlite")
        let entries = try ledger.entries()
        let payment = try #require(entries.first { $0.kind == "authorization" }, "\(entries)")
        #expect(payment.amount == 1262 && payment.reversed, "\(entries)")
        #expect(entries.filter { $0.kind == "reversal" }.count == 1, "\(entries)")
        #expect(try ledger.netCharged() == 0)
        #expect(try ledger.qrEvents().contains { $0.contains("closed by cancel") })
    }
}
