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

    static func run(_ input: String, state: String, arguments: [String] = []) throws -> Run {
        let terminal = try builtProduct("terminal")
        let argv = [terminal, "run", "--board", root + "/board/sim/board.toml", "--headless", "--fixed-clock", "09:30", "--state-dir", state] + arguments
        let result = try runProcess(argv, stdin: Array(input.utf8), environment: ["HOME": state], timeout: .seconds(60))
        #expect(!result.timedOut, "terminal did not exit; stderr: \(result.stderr)")
        return Run(result: result)
    }

    @Test func saleWalkthroughInChinese() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        let run = try Self.run("1\n2\n3\n4\nENTER\n2\nSCAN 134567890123456789\nWAIT 300\nENTER\n", state: state)
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
}
