import TestKit
import Testing

/// The prepaid merchant menu and the Prepaid payment method through the built `terminal` binary in headless mode
/// on the sim board (docs/prepaid.md §7): issue a blank virtual card with an opening deposit, top it up with cash,
/// check the balance, pay twice offline, and the torn-debit card recovered on its next presentation.
@Suite(.serialized) struct PrepaidHeadlessTests {
    static let root = repositoryRoot()

    static func run(_ input: String, state: String) throws -> (ProcessResult, [String]) {
        let terminal = try builtProduct("terminal")
        let argv = [terminal, "run", "--board", root + "/board/sim/board.toml", "--headless", "--fixed-clock", "09:30",
                    "--state-dir", state]
        let result = try runProcess(argv, stdin: Array(input.utf8), environment: ["HOME": state], timeout: .seconds(90))
        #expect(!result.timedOut, "terminal did not exit; stderr: \(result.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
        let frames = result.stdout.split(separator: "----\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        return (result, frames)
    }

    @Test func issueTopUpBalanceAndPayTwice() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // Main menu: 1 sale, 2 settings, 3 refund (the sim's QR refunds), 4 merchant, 5 prepaid card.
        // Issue and top-up ask for the merchant password (the sim board's TEST ONLY 123456); the balance does not.
        // Paced by the screens (UNTIL), not by sleeps: the same script holds under emulation and on a loaded machine.
        let script = """
            MENU
            UNTIL 主菜单
            5
            UNTIL >1 发卡
            1
            UNTIL 请输入商户密码
            1
            2
            3
            4
            5
            6
            UNTIL ******
            ENTER
            UNTIL 请输入开卡存入金额
            5
            0
            0
            0
            ENTER
            UNTIL 请插入预付卡
            INSERT prepaid-blank
            UNTIL Balance 50.00
            ENTER
            UNTIL 欢迎光临
            MENU
            UNTIL 主菜单
            5
            UNTIL >1 发卡
            2
            UNTIL 请输入商户密码
            1
            2
            3
            4
            5
            6
            UNTIL ******
            ENTER
            UNTIL 请输入充值金额
            2
            0
            0
            0
            ENTER
            UNTIL 请插入预付卡
            INSERT prepaid-blank
            UNTIL Balance 70.00
            ENTER
            UNTIL 欢迎光临
            MENU
            UNTIL 主菜单
            5
            UNTIL >1 发卡
            4
            UNTIL 请插入预付卡
            INSERT prepaid-blank
            UNTIL Balance 70.00
            ENTER
            UNTIL 欢迎光临
            1
            2
            5
            0
            ENTER
            UNTIL 请选择支付方式
            3
            UNTIL 请插入预付卡
            INSERT prepaid-blank
            UNTIL Balance 57.50
            ENTER
            UNTIL 欢迎光临
            7
            5
            0
            ENTER
            UNTIL 请选择支付方式
            3
            UNTIL 请插入预付卡
            INSERT prepaid-blank
            UNTIL Balance 50.00
            ENTER

            """
        let (result, frames) = try Self.run(script, state: state)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(frames.contains { $0.contains("预付卡") && $0.contains("发卡") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("请输入商户密码") && $0.contains("******") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Issued") && $0.contains("Balance 50.00") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Top-up 20.00") && $0.contains("Balance 70.00") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Balance 57.50") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Balance 50.00") && $0.contains("¥7.50") }, "\(result.stdout)")
        #expect(frames.last!.contains("欢迎光临"))
    }

    @Test func topUpPaidByChipCard() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // The merchant password (TEST ONLY 123456), 20.00 on visa-credit (offline PIN 1234), then the prepaid card is
        // loaded.
        let script = "MENU\n5\n3\n1\n2\n3\n4\n5\n6\nENTER\n2\n0\n0\n0\nENTER\nINSERT visa-credit\nUNTIL 请输入密码\n1\n2\n3\n4\n"
            + "ENTER\nUNTIL 请插入预付卡\nINSERT prepaid-good\nUNTIL Balance 120.00\nENTER\n"
        let (result, frames) = try Self.run(script, state: state)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(frames.contains { $0.contains("充值(银行卡)") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("请插入预付卡") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Top-up 20.00") && $0.contains("Balance 120.00") && $0.contains("Paid by card") },
                "\(result.stdout)")
    }

    @Test func faultCardsEndSafely() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // Paced by the screens (UNTIL), not by sleeps. Each fault card: ¥0.01 by prepaid card, declined.
        var script = ""
        for card in ["prepaid-expired", "prepaid-blocked", "prepaid-wrong-mac"] {
            script += "1\nENTER\nUNTIL 请选择支付方式\n3\nUNTIL 请插入预付卡\nINSERT \(card)\nUNTIL 交易失败\nENTER\nUNTIL 欢迎光临\n"
        }
        // The torn card: the first sale is torn, the balance check recovers it (7.00 taken once).
        script += "7\n0\n0\nENTER\nUNTIL 请选择支付方式\n3\nUNTIL 请插入预付卡\nINSERT prepaid-torn\nUNTIL Present the card again\nENTER\nUNTIL 欢迎光临\n"
        script += "MENU\nUNTIL 主菜单\n5\nUNTIL >1 发卡\n4\nUNTIL 请插入预付卡\nINSERT prepaid-torn\nUNTIL Balance\nENTER\n"
        let (result, frames) = try Self.run(script, state: state)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(frames.contains { $0.contains("Card expired") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Card blocked") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Card MAC invalid") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Present the card again") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Balance 93.00") }, "\(result.stdout)")
        #expect(frames.last!.contains("欢迎光临"))
    }
}
