import AcquirerSimulator
import TestKit
import Testing

/// Every fault mode of the acquirer simulator, end to end: a chip sale of 200.00 (over the offline caps, so it must go
/// online) meets a host that does not answer, answers too late, drops the connection mid-answer, answers garbage, or
/// answers with a byte flipped under the MAC.
/// Each time the terminal declines, keeps a reversal due in the journal, and — once the host behaves again — sends it,
/// so the acquirer's books net to nothing charged, each message booked once.
@Suite(.serialized) struct AcquirerFaultTests {
    static let root = repositoryRoot()
    /// A 200.00 chip sale (PIN 1234) that ends on a screen showing `outcome`, paced by the screens (UNTIL); the closing
    /// WAIT leaves a late answer time to arrive before the input ends.
    static func sale(until outcome: String = "交易失败") -> String {
        "2\n0\n0\n0\n0\nENTER\nUNTIL 请选择支付方式\nENTER\nUNTIL 请插卡\nINSERT visa-credit\nUNTIL 请输入密码\n1\n2\n3\n4\nENTER\n"
            + "UNTIL \(outcome)\nWAIT 3000\n"
    }

    static func terminal(_ input: String, state: String, environment: [String: String]) throws -> ProcessResult {
        let argv = [
            try builtProduct("terminal"), "run", "--board", root + "/board/sim/board.toml", "--headless", "--fixed-clock", "09:30",
            "--state-dir", state,
        ]
        let result = try runProcess(argv, stdin: Array(input.utf8), environment: ["HOME": state].merging(environment) { $1 }, timeout: .seconds(90))
        #expect(!result.timedOut, "terminal did not exit; stderr: \(result.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
        return result
    }

    static func inspect(_ state: String) throws -> String {
        try runProcess([try builtProduct("termtool"), "store", "inspect", "--state-dir", state], environment: ["HOME": state]).stdout
    }

    @Test(arguments: [AcquirerServer.Fault.noAnswer, .lateAnswer, .dropMidResponse, .garbage, .corruptAnswer])
    func faultEndsInAReversalSentOnce(_ fault: AcquirerServer.Fault) throws {
        let state = try makeTemporaryDirectory("acquirer-fault")
        defer { removeTree(state) }
        let faulty = try Self.terminal(Self.sale(), state: state, environment: [
            "TERMINAL_ACQUIRER_FAULT": fault.rawValue, "TERMINAL_RESPONSE_TIMEOUT_MS": "1000", "TERMINAL_ACQUIRER_LATE_MS": "2500",
        ])
        #expect(faulty.status == 0, "stderr: \(faulty.stderr)")
        #expect(faulty.stdout.contains("交易失败"), "\(fault): the sale is not approved without the host's answer")
        #expect(!faulty.stdout.contains("交易成功"))
        let queued = try Self.inspect(state)
        #expect(queued.contains("reversal due") || queued.contains("1 reversals due"), "\(fault): \(queued)")

        // The host is back: the next start sends the reversal (0400) before anything else.
        let healed = try Self.terminal("WAIT 4000\n", state: state, environment: ["TERMINAL_RESPONSE_TIMEOUT_MS": "3000"])
        #expect(healed.status == 0, "stderr: \(healed.stderr)")
        let after = try Self.inspect(state)
        #expect(after.contains("0 reversals due"), "\(fault): \(after)")

        let ledger = try AcquirerLedger(path: state + "/acquirer-ledger.sqlite")
        let entries = try ledger.entries()
        let reversals = entries.filter { $0.kind == "reversal" }
        #expect(reversals.count == 1, "\(fault): one reversal booked: \(entries)")
        #expect(try ledger.netCharged() == 0, "\(fault): nothing stays charged: \(entries)")
        // Each message class is booked once per idempotency key.
        let keys = entries.map { "\($0.idempotencyKey) \($0.kind)" }
        #expect(Set(keys).count == keys.count, "\(fault): duplicates in \(keys)")
    }

    /// An impostor host (a server certificate from a CA the terminal does not pin): the handshake is refused, so the
    /// request never leaves the terminal; the sale declines, no reversal is due and the host's books stay empty.
    @Test func impostorCertificateIsRefusedAndNothingIsSent() throws {
        let state = try makeTemporaryDirectory("acquirer-impostor")
        defer { removeTree(state) }
        let result = try Self.terminal(Self.sale(), state: state, environment: [
            "TERMINAL_ACQUIRER_FAULT": AcquirerServer.Fault.wrongCertificate.rawValue, "TERMINAL_RESPONSE_TIMEOUT_MS": "1000",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("交易失败"))
        #expect(!result.stdout.contains("交易成功"))
        #expect(result.stderr.contains("certificateRejected"), "the refusal is logged: \(result.stderr)")
        let queued = try Self.inspect(state)
        #expect(queued.contains("0 reversals due"), "\(queued)")
        let entries = try AcquirerLedger(path: state + "/acquirer-ledger.sqlite").entries()
        #expect(entries.isEmpty, "nothing reached the impostor's books: \(entries)")
    }
}
