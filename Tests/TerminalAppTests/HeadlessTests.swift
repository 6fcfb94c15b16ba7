import TestKit
import Testing

/// The whole terminal, driven through headless mode as support engineers and external checks drive it: the built
/// `terminal` binary on the sim board, a fresh state directory each time.
@Suite(.serialized) struct HeadlessTests {
    static let root = repositoryRoot()

    struct Run {
        var result: ProcessResult
        var frames: [String] {
            result.stdout.split(separator: "----\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    /// Expects that no `UNTIL` of a headless script timed out: every screen the script waited for came.
    static func expectEveryAwaitedScreenCame(_ stderr: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!stderr.contains("UNTIL timed out"), "a screen the script waits for did not come: \(stderr)", sourceLocation: sourceLocation)
    }

    static func run(_ input: String, state: String, arguments: [String] = []) throws -> Run {
        let terminal = try builtProduct("terminal")
        let argv = [terminal, "run", "--board", root + "/board/sim/board.toml", "--headless", "--fixed-clock", "09:30", "--state-dir", state] + arguments
        let result = try runProcess(argv, stdin: Array(input.utf8), environment: ["HOME": state], timeout: .seconds(60))
        #expect(!result.timedOut, "terminal did not exit; stderr: \(result.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
        return Run(result: result)
    }

    @Test func saleWalkthroughInChinese() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        let run = try Self.run("1\n2\n3\n4\nENTER\n2\nSCAN 134567890123456789\nUNTIL 交易成功\nENTER\n", state: state)
        #expect(run.result.status == 0, "stderr: \(run.result.stderr)")
        let frames = run.frames
        try #require(frames.count >= 8, "\(run.result.stdout)")
        #expect(frames[0].contains("模拟商户 Demo Shop") && frames[0].contains("09:30") && frames[0].contains("欢迎光临"))
        #expect(frames[0].contains("联机"), "the built-in acquirer is reachable: \(frames[0])")
        #expect(frames[4].contains("¥12.34"))
        #expect(frames[5].contains("请选择支付方式") && frames[5].contains(">1 银行卡/手机支付"))
        #expect(frames[6].contains("请出示付款码"))
        // The QR rail pays the WeChat Pay code at the simulated wallet gateway.
        let outcome = try #require(frames.first { $0.contains("交易成功") }, "\(run.result.stdout)")
        #expect(outcome.contains("微信支付") && outcome.contains("¥12.34"))
        #expect(frames.last!.contains("欢迎光临"), "exits once idle again")
        // Each frame is the display's 40x15 cells (trailing blanks trimmed).
        #expect(frames[0].split(separator: "\n", omittingEmptySubsequences: false).count == 15 + 1, "15 lines, each ending in a newline")
        // The scanned payment code is never logged.
        #expect(!run.result.stderr.contains("134567890123456789"))
    }

    @Test func languageSwitchIsSavedAcrossRestarts() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        let first = try Self.run("MENU\n2\n1\nCANCEL\nCANCEL\n", state: state)
        #expect(first.result.status == 0, "stderr: \(first.result.stderr)")
        #expect(first.frames.last!.contains("Welcome"))
        let second = try Self.run("", state: state)
        #expect(second.frames.first!.contains("Welcome") && second.frames.first!.contains("Online"))
        // Test keys were generated on first start and marked.
        let marker = try readTextFile(state + "/keys/TEST-KEYS-NOT-FOR-PRODUCTION")
        #expect(marker.contains("TEST KEYS"))
    }

    @Test func unknownInputIsReportedAndSkipped() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        let run = try Self.run("BOGUS\nWAIT x\n5\nCANCEL\n", state: state)
        #expect(run.result.status == 0, "stderr: \(run.result.stderr)")
        #expect(run.result.stderr.contains("line 1: unknown key or action 'BOGUS'"))
        #expect(run.result.stderr.contains("line 2: WAIT needs milliseconds"))
        #expect(run.frames.contains { $0.contains("¥0.05") })
    }

    @Test func timeoutReturnsToIdleBeforeExit() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // Input ends on the amount screen: the terminal exits only after the screen times out back to idle.
        // (The timeout is a minute; the test only checks that it exits cleanly when told CANCEL.)
        let run = try Self.run("7\nWAIT 1200\nCANCEL\n", state: state)
        #expect(run.result.status == 0, "stderr: \(run.result.stderr)")
        #expect(run.frames.last!.contains("欢迎光临"))
    }

    @Test func badBoardProfileIsRefusedWithFileAndField() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        let profile = try readTextFile(Self.root + "/board/sim/board.toml").replacingFirst(#"kind = "ansi""#, with: #"kind = "vga""#)
        try writeTextFile(state + "/board.toml", profile)
        let terminal = try builtProduct("terminal")
        let result = try runProcess([terminal, "run", "--board", state + "/board.toml", "--headless", "--state-dir", state], stdin: [], environment: ["HOME": state])
        #expect(result.status == 78)
        #expect(result.stderr.contains(state + "/board.toml:"))
        #expect(result.stderr.contains("display.kind"))
        #expect(result.stderr.contains("unknown device kind \\\"vga\\\"") || result.stderr.contains("unknown device kind \"vga\""))
    }

    /// The receipts printed to STATE/receipts, in order, and the simulated wallet gateway's ledger.
    static func receiptsAndLedger(_ state: String) throws -> (receipts: String, ledger: [String]) {
        let receipts = try runProcess(["/bin/sh", "-c", "cat \"$0\"/receipts/*", state])
        let ledger = try readTextFile(state + "/qr-gateway-ledger.txt").split(separator: "\n").map(String.init)
        return (receipts.stdout, ledger)
    }

    /// First 6 and last 4, as screens and receipts show an order ID.
    static func masked(_ orderID: String) -> String {
        String(orderID.prefix(6)) + String(repeating: "*", count: orderID.count - 10) + String(orderID.suffix(4))
    }

    @Test func weChatSaleRefundedFromTheMenuOnce() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // Paced by the screens (UNTIL), not by sleeps: the same script holds under emulation and on a loaded machine.
        let input = [
            "1", "0", "0", "0", "ENTER", "UNTIL 请选择支付方式", "2", "UNTIL 请出示付款码",  // pay ¥10.00
            "SCAN 134567890123456789", "UNTIL 交易成功", "ENTER", "UNTIL 欢迎光临",
            "MENU", "UNTIL 主菜单", "3", "UNTIL >1 微信支付", "ENTER", "UNTIL 撤销(当日全额)",  // refund list → the sale
            "2", "UNTIL 请输入退款金额",  // → refund
            "1", "0", "0", "0", "1", "UNTIL 金额超过上限",  // ¥100.01: more than the sale, the last digit is refused
            "ENTER", "UNTIL 交易成功", "ENTER", "UNTIL 欢迎光临",  // ¥10.00 refunded
            "MENU", "UNTIL 主菜单", "3", "UNTIL 没有可退款的扫码交易", "ENTER",  // nothing left to refund
        ].joined(separator: "\n") + "\n"
        let run = try Self.run(input, state: state)
        #expect(run.result.status == 0, "stderr: \(run.result.stderr)")
        let (receipts, ledger) = try Self.receiptsAndLedger(state)
        let sale = try #require(ledger.first { $0.contains(" pay wechat ") })
        let orderID = String(sale.split(separator: " ")[1])
        let masked = Self.masked(orderID)
        let frames = run.frames
        let list = try #require(frames.first { $0.contains("扫码退款/撤销") }, "\(run.result.stdout)")
        #expect(list.contains(">1 微信支付 ¥10.00 " + masked))
        #expect(frames.contains { $0.contains("请输入退款金额") && $0.contains("¥10.00") && $0.contains("金额超过上限") })
        let outcomes = frames.filter { $0.contains("交易成功") }
        #expect(outcomes.count >= 2 && outcomes.allSatisfy { $0.contains("微信支付") && $0.contains("订单 " + masked) && $0.contains("¥10.00") })
        #expect(frames.last { $0.contains("扫码退款/撤销") }?.contains("没有可退款的扫码交易") == true, "a second refund is refused")
        // The refund receipt: kind, wallet, masked order ID, never the whole ID or the payment code.
        let refundReceipt = try #require(receipts.split(separator: "cut").first { $0.contains("扫码退货") }, "\(receipts)")
        #expect(refundReceipt.contains("微信支付") && refundReceipt.contains("订单 " + masked) && refundReceipt.contains("交易成功"))
        #expect(!receipts.contains(orderID) && !receipts.contains("134567890123456789"))
        // The gateway refunded it once, in full.
        let refunds = ledger.filter { $0.contains(" refund ") }
        #expect(refunds.count == 1 && refunds.first?.contains(orderID) == true && refunds.first?.hasSuffix(" 1000") == true, "\(ledger)")
        #expect(!run.result.stderr.contains("134567890123456789"))
    }

    @Test func merchantPresentedSaleVoidedFromTheMenu() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // Paced by the screens (UNTIL): under qemu on a loaded machine a fixed WAIT let the void's keys run ahead.
        let input = [
            "2", "0", "0", "0", "ENTER", "UNTIL 请选择支付方式", "2", "UNTIL 请出示付款码",  // ¥20.00, QR
            "ENTER", "UNTIL 交易成功",  // show the merchant-presented code; the simulated phone pays after 5 s, the rail queries every 3 s
            "ENTER", "UNTIL 欢迎光临",
            "MENU", "UNTIL 主菜单", "3", "UNTIL >1 EMV二维码", "ENTER", "UNTIL >1 撤销(当日全额)",  // refund list → the sale
            "ENTER", "UNTIL 交易成功", "ENTER", "UNTIL 欢迎光临",  // → void
        ].joined(separator: "\n") + "\n"
        let run = try Self.run(input, state: state)
        #expect(run.result.status == 0, "stderr: \(run.result.stderr)")
        let (receipts, ledger) = try Self.receiptsAndLedger(state)
        let created = try #require(ledger.first { $0.contains("merchant-presented order created") }, "\(ledger)")
        let orderID = String(created.split(separator: " ")[1])
        let masked = Self.masked(orderID)
        #expect(ledger.contains { $0.contains(orderID) && $0.contains("scanned and paid") })
        #expect(ledger.filter { $0.contains(orderID) && $0.contains("REVERSED") }.count == 1, "\(ledger)")
        #expect(run.frames.contains { $0.contains(">1 撤销(当日全额)") })
        let outcomes = run.frames.filter { $0.contains("交易成功") }
        #expect(outcomes.count >= 2 && outcomes.allSatisfy { $0.contains("EMV二维码") && $0.contains("订单 " + masked) })
        let voidReceipt = try #require(receipts.split(separator: "cut").first { $0.contains("扫码撤销") }, "\(receipts)")
        #expect(voidReceipt.contains("EMV二维码") && voidReceipt.contains("订单 " + masked) && voidReceipt.contains("¥ 2 0 . 0 0"))
    }
}
