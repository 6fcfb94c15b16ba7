import TestKit
import Testing

/// A QR sale voided after the terminal restarted: the built `terminal` binary headless on the sim board, two runs on
/// one state directory (the pattern of ``HeadlessTests``).
@Suite(.serialized) struct QRVoidAfterRestartTests {
    @Test func weChatSaleVoidedFromTheMenuAfterARestart() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // Run 1: a WeChat Pay sale of ¥10.00; the input ends, the terminal exits.
        let sale = ["1", "0", "0", "0", "ENTER", "2", "SCAN 134567890123456789", "UNTIL 交易成功", "ENTER"]
        let first = try HeadlessTests.run(sale.joined(separator: "\n") + "\n", state: state)
        #expect(first.result.status == 0, "stderr: \(first.result.stderr)")
        #expect(first.frames.contains { $0.contains("交易成功") && $0.contains("微信支付") }, "\(first.result.stdout)")
        let (_, ledgerAfterSale) = try HeadlessTests.receiptsAndLedger(state)
        let paid = try #require(ledgerAfterSale.first { $0.contains(" pay wechat ") }, "\(ledgerAfterSale)")
        let orderID = String(paid.split(separator: " ")[1])
        let masked = HeadlessTests.masked(orderID)

        // Run 2, same state: refund menu → the sale → void. A WeChat order is revoked only 15 s after it was made, so
        // the void waits for the wallet's window (the gateway answers "too early", the rail waits and asks again):
        // the script waits for the outcome (UNTIL, up to 45 s). CANCEL leaves it; then the list again.
        let void = [
            "MENU", "UNTIL 主菜单", "3", "UNTIL >1 微信支付", "ENTER", "UNTIL >1 撤销(当日全额)", "ENTER", "UNTIL 45000ms 交易成功",
            "CANCEL", "UNTIL 欢迎光临", "MENU", "UNTIL 主菜单", "3", "UNTIL 没有可退款的扫码交易", "ENTER",
        ]
        let second = try HeadlessTests.run(void.joined(separator: "\n") + "\n", state: state)
        #expect(second.result.status == 0, "stderr: \(second.result.stderr)")
        let frames = second.frames
        let list = try #require(frames.first { $0.contains("扫码退款/撤销") }, "\(second.result.stdout)")
        #expect(list.contains(">1 微信支付 ¥10.00 " + masked), "the sale of the first run is listed: \(list)")
        #expect(frames.contains { $0.contains(">1 撤销(当日全额)") })
        let outcomes = frames.filter { $0.contains("交易成功") }
        #expect(outcomes.count == 1 && outcomes.first?.contains("订单 " + masked) == true, "\(second.result.stdout)")
        #expect(frames.last { $0.contains("扫码退款/撤销") }?.contains("没有可退款的扫码交易") == true, "voided: no longer listed")

        // The gateway reversed it once; the void receipt printed.
        let (receipts, ledger) = try HeadlessTests.receiptsAndLedger(state)
        let reversals = ledger.filter { $0.contains(orderID) && $0.contains("REVERSED") }
        #expect(reversals.count == 1, "\(ledger)")
        // Not before the wallet's 15 s (times are the terminal's monotonic milliseconds, across both runs).
        let paidAt = Int64(paid.split(separator: " ")[0]) ?? 0
        let reversedAt = reversals.first.flatMap { Int64($0.split(separator: " ")[0]) } ?? 0
        #expect(reversedAt - paidAt >= 15_000, "\(ledger)")
        let voidReceipt = try #require(receipts.split(separator: "cut").first { $0.contains("扫码撤销") }, "\(receipts)")
        #expect(voidReceipt.contains("微信支付") && voidReceipt.contains("订单 " + masked) && voidReceipt.contains("交易成功"))
        #expect(!receipts.contains(orderID) && !receipts.contains("134567890123456789"))
    }
}
