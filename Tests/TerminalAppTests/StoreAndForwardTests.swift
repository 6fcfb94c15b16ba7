#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Logging
import PaymentCrypto
import Store
@testable import TerminalApp
import TestKit
import Testing
import Uplink
import VirtualCards

/// The store-and-forward uploader against the real acquirer simulator: a real journal file, mutual TLS on loopback,
/// the simulator's SQLite books. "Exactly once" is read from the books: one entry per idempotency key and kind.
@Suite(.serialized) struct StoreAndForwardTests {
    static let root = repositoryRoot()

    /// A journal with `advices` offline approvals and one due reversal, the acquirer simulator and an uploader.
    struct Rig {
        let directory: String
        let journal: Locked<TransactionJournal>
        let server: AcquirerServer
        let ledger: AcquirerLedger
        let uploader: StoreAndForwardUploader
        let link: HostAcquirerLink
        private(set) var adviceAmounts: [Int64] = []
        private(set) var references: [String] = []

        init(advices: Int, fault: AcquirerServer.Fault) throws {
            directory = try makeTemporaryDirectory("saf")
            let store = try TerminalStore(path: directory + "/journal.sqlite")
            let opened = try TransactionJournal(
                store: store, dataKey: SecretBytes([UInt8](repeating: 0x42, count: 32)), random: SystemRandom(),
                clock: { Int64(time(nil)) })
            let field55 = SecretBytes([0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x9F, 0x27, 0x01, 0x40])
            for index in 0..<advices {
                let reference = String(format16: UInt64(0xA000 + index))
                let id = try opened.begin(TransactionDraft(
                    rail: .emvContact, kind: .sale, amountMinor: Int64(1000 + index), currency: 156, entryMode: .chip,
                    card: Store.CardData(pan: SecretBytes(Array("4761739001010119".utf8)), field55: field55), txnRef: reference))
                try opened.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
                adviceAmounts.append(Int64(1000 + index))
                references.append(reference)
            }
            let online = try opened.prepareOnline(TransactionDraft(
                rail: .emvContact, kind: .sale, amountMinor: 5000, currency: 156, entryMode: .chip,
                card: Store.CardData(pan: SecretBytes(Array("5413330089020011".utf8)), field55: field55), txnRef: "00000000000B0001"))
            _ = try opened.recordHostResponse(online, .noResponse)
            journal = Locked(opened)

            let pki = try TLSTestCertificates.generate(clientName: "SIM00001")
            ledger = try AcquirerLedger(path: directory + "/ledger.sqlite")
            let issuer = IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(zeros: 16), expectedPIN: { _ in nil })
            server = try AcquirerServer(
                configuration: .init(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM, fault: fault), issuer: issuer, ledger: ledger)
            link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port, tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: "SIM00001", merchantID: "898310048990001", responseTimeout: .milliseconds(300), keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "test"))
            uploader = StoreAndForwardUploader(
                configuration: .init(terminalID: "SIM00001", merchantID: "898310048990001"), journal: journal, link: link,
                connectivity: { .online(via: .wifi, interface: "lo") }, clock: { Int64(time(nil)) }, logger: Logger(label: "test"))
        }

        func unsent() throws -> (advices: Int, reversals: Int) { try journal.withLock { try $0.unsentCounts() } }
    }

    @Test func unansweredItemsStayQueuedAndRepeatsAreAppliedOnce() async throws {
        let rig = try Rig(advices: 5, fault: .noAnswer)
        defer {
            rig.server.shutdown()
            removeTree(rig.directory)
        }
        #expect(try rig.unsent() == (5, 1))
        // The host reads (and books) the first message but never answers: nothing leaves the queue.
        let first = await rig.uploader.drain()
        #expect(first.acknowledged == 0 && first.failure != nil)
        #expect(try rig.unsent() == (5, 1))
        let pending = try rig.journal.withLock { try $0.nextUploads(limit: 10) }
        #expect(pending.first?.kind == .reversal, "reversals go first")
        #expect(pending.first?.previousAttempts == 1, "the unanswered reversal is sent again as a repeat")
        #expect(try StoreAndForwardUploader.message(for: #require(pending.first), configuration: rig.uploader.configuration, now: 0).mti == "0401")

        rig.server.setFault(.none)
        let second = await rig.uploader.drain()
        #expect(second.acknowledged == 6 && second.failure == nil, "\(second)")
        #expect(try rig.unsent() == (0, 0))
        let third = await rig.uploader.drain()
        #expect(third.acknowledged == 0, "an empty queue sends nothing")

        let entries = try rig.ledger.entries()
        let advices = entries.filter { $0.kind == "advice" }
        #expect(advices.count == 5, "each advice booked exactly once: \(entries)")
        #expect(Set(advices.map(\.idempotencyKey)).count == 5)
        for reference in rig.references {
            #expect(advices.filter { $0.idempotencyKey.hasSuffix(reference) }.count == 1, "the key carries the record's reference \(reference)")
        }
        #expect(advices.allSatisfy { $0.mti == "0220" && $0.responseCode == "Y1" && $0.maskedPAN == "476173******0119" })
        let reversals = entries.filter { $0.kind == "reversal" }
        #expect(reversals.count == 1 && reversals.first?.mti == "0400" && reversals.first?.idempotencyKey.hasSuffix("00000000000B0001") == true)
        #expect(try rig.ledger.netCharged() == Int(rig.adviceAmounts.reduce(0, +)))
    }

    @Test func dueReversalsGoBeforeAPaymentsRequest() async throws {
        let rig = try Rig(advices: 2, fault: .none)
        defer {
            rig.server.shutdown()
            removeTree(rig.directory)
        }
        let uploader = rig.uploader
        rig.link.setBeforeAuthorization { await uploader.deliverDueReversals() }
        let reply = await rig.link.authorize(AuthorizationRequest(
            transactionReference: "00000000000C0001", stan: 77, amount: 2500, currencyCode: 156, pan: "4761739001010119",
            panSequenceNumber: nil, expiry: "2712", track2Equivalent: [], iccData: [], entryMode: "051", pinBlock: nil,
            keySerialNumber: nil, localDateTime: LocalDateTime(year: 2026, month: 11, day: 27, hour: 9, minute: 30, second: 0)))
        guard case .answered = reply else {
            Issue.record("the authorisation was not answered: \(reply)")
            return
        }
        #expect(try rig.unsent() == (2, 0), "the reversal went, the advices wait for the background pass")
        let kinds = try rig.ledger.entries().map(\.kind)
        #expect(kinds == ["reversal", "authorization"], "the reversal went first: \(kinds)")
    }

    @Test func meteredLinkCarriesTheQueueButNoBulk() async throws {
        let rig = try Rig(advices: 2, fault: .none)
        defer {
            rig.server.shutdown()
            removeTree(rig.directory)
        }
        #expect(!StoreAndForward.permits(.advice, over: .offline))
        #expect(StoreAndForward.permits(.advice, over: .online(via: .cellular, metered: true, interface: "wwan0")))
        #expect(!StoreAndForward.permits(.bulk, over: .online(via: .cellular, metered: true, interface: "wwan0")))
        #expect(try rig.ledger.entries().isEmpty)
        let report = await rig.uploader.drain()
        #expect(report.acknowledged == 3)
        #expect(try rig.unsent() == (0, 0))
    }

    // MARK: The terminal process with an external acquirer (`termtool acquirer`)

    /// A `termtool acquirer` process and a copy of the sim board profile that points the terminal at it.
    final class ExternalAcquirer {
        let directory: String
        var process: SpawnedProcess?
        var port = 0
        var board: String { directory + "/board.toml" }
        var ledgerPath: String { directory + "/ledger.sqlite" }

        init() throws {
            directory = try makeTemporaryDirectory("saf-ext")
            try start()
            stop()  // the port is known; the first sales find the acquirer down
            let profile = try readTextFile(StoreAndForwardTests.root + "/board/sim/board.toml")
                .replacingFirst(#"acquirer = "builtin""#, with: #"acquirer = "127.0.0.1:\#(port)""#)
                .replacingFirst(#"emv_parameters = "emv-parameters.toml""#, with: #"emv_parameters = "\#(StoreAndForwardTests.root)/board/sim/emv-parameters.toml""#)
            try writeTextFile(board, profile)
        }

        func start(answerDelayMilliseconds: Int = 0, fault: String = "none") throws {
            let termtool = try builtProduct("termtool")
            let spawned = try SpawnedProcess(
                [termtool, "acquirer", "--port", String(port), "--pki-dir", directory + "/pki", "--ledger", ledgerPath,
                 "--answer-delay-ms", String(answerDelayMilliseconds), "--fault", fault], environment: [:])
            process = spawned
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if let line = spawned.stdout.split(separator: "\n").first(where: { $0.contains("listening on") }),
                    let number = line.split(separator: ":").last.flatMap({ Int($0) })
                {
                    port = number
                    return
                }
                usleep(20_000)
            }
            throw TestKitError("termtool acquirer did not start: \(spawned.stderr)")
        }

        func stop() {
            process?.signal(SIGTERM)
            _ = process?.wait(timeout: .seconds(10))
            process = nil
        }

        /// Runs the terminal headless on this board; SIGKILLed after `timeout`.
        func terminal(_ input: String, state: String, timeout: Duration = .seconds(60), responseTimeoutMilliseconds: Int = 3000) throws -> ProcessResult {
            let result = try runProcess(
                try argv(state: state), stdin: Array(input.utf8),
                environment: environment(state: state, responseTimeoutMilliseconds: responseTimeoutMilliseconds), timeout: timeout)
            HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
            return result
        }

        /// Starts the terminal headless on this board, its stdin open for the test to pace by the screens.
        func interactive(state: String, responseTimeoutMilliseconds: Int = 3000) throws -> InteractiveProcess {
            try InteractiveProcess(try argv(state: state), environment: environment(state: state, responseTimeoutMilliseconds: responseTimeoutMilliseconds))
        }

        private func argv(state: String) throws -> [String] {
            [try builtProduct("terminal"), "run", "--board", board, "--headless", "--fixed-clock", "09:30", "--state-dir", state]
        }

        private func environment(state: String, responseTimeoutMilliseconds: Int) -> [String: String] {
            ["HOME": state, "TERMINAL_ACQUIRER_PKI_DIR": directory + "/pki", "TERMINAL_RESPONSE_TIMEOUT_MS": String(responseTimeoutMilliseconds)]
        }

        deinit {
            stop()
            removeTree(directory)
        }
    }

    /// Chip sales with PIN 1234, alternating two virtual cards, each ending on a screen that shows `outcome`
    /// (offline approval: below the floor limit, with the acquirer down). Paced by the screens (UNTIL), not by sleeps.
    static func sales(_ amounts: [String], outcome: String = "脱机批准") -> String {
        amounts.enumerated().map { index, amount in
            let card = index % 2 == 0 ? "visa-credit" : "mastercard-debit"
            let lines = ["ENTER", "UNTIL 请选择支付方式", "1", "UNTIL 请插卡", "INSERT \(card)", "UNTIL 请输入密码", "1", "2", "3", "4", "ENTER",
                         "UNTIL \(outcome)", "ENTER", "UNTIL 欢迎光临"]
            return amount.map { "\($0)\n" }.joined() + lines.map { $0 + "\n" }.joined()
        }.joined()
    }

    /// Waits until the latest screen the process printed satisfies `predicate`; returns it, or `nil` on timeout or exit.
    static func waitForScreen(_ process: InteractiveProcess, timeout: Duration = .seconds(60), where predicate: (String) -> Bool) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let latest = process.stdout.split(separator: "----\n", omittingEmptySubsequences: false).dropLast().last, predicate(String(latest)) {
                return String(latest)
            }
            if process.wait(timeout: .milliseconds(1)) != nil { return nil }
            usleep(20_000)
        }
        return nil
    }

    /// Waits until the process logged `text` on stderr (bounded by `timeout`).
    static func waitForLog(_ process: InteractiveProcess, _ text: String, timeout: Duration = .seconds(60)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if process.stderr.contains(text) { return true }
            usleep(20_000)
        }
        return process.stderr.contains(text)
    }

    /// Paces a run that drains the queue: waits for an idle screen counting it, then for one without the count (the
    /// queue is empty), then ends the input; returns the exit status.
    static func drain(_ terminal: InteractiveProcess) -> Int32? {
        #expect(terminal.waitForOutput("待上送", timeout: .seconds(60)) != nil, "the queue is counted first: \(terminal.stdout)")
        let drained = waitForScreen(terminal) { $0.contains("欢迎光临") && !$0.contains("待上送") }
        #expect(drained != nil, "the idle screen stops counting the queue: \(terminal.stdout)")
        terminal.closeInput()
        return terminal.wait(timeout: .seconds(60))
    }

    static func longestDigitRun(_ text: String) -> Int {
        var longest = 0
        var run = 0
        for byte in text.utf8 {
            run = (0x30...0x39).contains(byte) ? run + 1 : 0
            longest = max(longest, run)
        }
        return longest
    }

    static func lastIdle(_ stdout: String) -> String {
        stdout.split(separator: "----\n").last { $0.contains("欢迎光临") }.map(String.init) ?? ""
    }

    @Test func offlineSalesQueuedThenDrainedExactlyOnce() throws {
        let acquirer = try ExternalAcquirer()
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // The acquirer is down: the sales approve offline and wait in the queue.
        // The script waits for the queue's count (UNTIL); the input ends once the uploader has tried the host too.
        let offline = try acquirer.interactive(state: state)
        offline.send(Self.sales(["1234", "56", "789"]) + "UNTIL 待上送3笔\n")
        #expect(Self.waitForLog(offline, "store and forward: delivery failed"), "\(offline.stderr)")
        offline.closeInput()
        let offlineStatus = offline.wait(timeout: .seconds(60))
        #expect(offlineStatus == 0, "stderr: \(offline.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(offline.stderr)
        #expect(offline.stderr.split(separator: "decision=approvedOffline", omittingEmptySubsequences: false).count - 1 == 3, "\(offline.stderr)")
        #expect(Self.lastIdle(offline.stdout).contains("待上送3笔"), "\(Self.lastIdle(offline.stdout))")
        #expect(offline.stderr.contains("store and forward: delivery failed"))

        try acquirer.start()
        let online = try acquirer.interactive(state: state)
        let status = Self.drain(online)
        acquirer.stop()
        #expect(status == 0, "stderr: \(online.stderr)")
        #expect(online.stdout.contains("待上送3笔"), "the first screen still counts the queue")
        #expect(!Self.lastIdle(online.stdout).contains("待上送"), "the count falls to nothing: \(Self.lastIdle(online.stdout))")
        #expect(online.stderr.contains("store and forward: delivered"))

        let ledger = try AcquirerLedger(path: acquirer.ledgerPath)
        let advices = try ledger.entries().filter { $0.kind == "advice" }
        #expect(advices.count == 3 && Set(advices.map(\.idempotencyKey)).count == 3, "\(advices)")
        #expect(try ledger.netCharged() == 1234 + 56 + 789)
        #expect(Self.longestDigitRun(online.stderr) < 16, "no clear PAN in the log")
    }

    @Test func unansweredSaleIsReversedOnceAfterTheHostComesBack() throws {
        let acquirer = try ExternalAcquirer()
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        // A host that books requests and never answers: the 150.00 sale (above the floor limit) goes online, times
        // out and is declined; its reversal is due, sent (0400, booked, unanswered) and stays in the queue.
        try acquirer.start(fault: "no-answer")
        let first = try acquirer.terminal(Self.sales(["15000"], outcome: "交易失败") + "WAIT 2500\n", state: state, responseTimeoutMilliseconds: 1000)
        acquirer.stop()
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(Self.lastIdle(first.stdout).contains("待上送1笔"), "the due reversal is counted: \(Self.lastIdle(first.stdout))")
        let ledger = try AcquirerLedger(path: acquirer.ledgerPath)
        let before = try ledger.entries()
        #expect(before.filter { $0.kind == "authorization" }.count == 1, "\(before)")
        #expect(before.filter { $0.kind == "reversal" }.count <= 1, "the unanswered 0400 may be booked already: \(before)")

        // The host answers again: the repeat (0401) is answered from its books, the queue empties, nothing is
        // charged, and the reversal is booked once.
        try acquirer.start()
        let second = try acquirer.terminal("WAIT 4000\n", state: state)
        acquirer.stop()
        #expect(second.status == 0, "stderr: \(second.stderr)")
        #expect(!Self.lastIdle(second.stdout).contains("待上送"), "\(Self.lastIdle(second.stdout))")
        let after = try ledger.entries()
        #expect(after.filter { $0.kind == "reversal" }.count == 1, "\(after)")
        #expect(after.filter { $0.kind == "authorization" }.count == 1)
        #expect(try ledger.netCharged() == 0)
    }

    @Test func killedMidDrainResumesWithoutLossOrDoubleCharge() throws {
        let acquirer = try ExternalAcquirer()
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        let amounts = ["1234", "56", "789", "321", "456"]
        let offline = try acquirer.terminal(Self.sales(amounts) + "UNTIL 待上送5笔\n", state: state)
        #expect(offline.status == 0, "stderr: \(offline.stderr)")
        #expect(Self.lastIdle(offline.stdout).contains("待上送5笔"), "\(Self.lastIdle(offline.stdout))")

        // A slow host: each answer takes 400 ms, and the host books a message before it answers. SIGKILL lands
        // while the drain is under way, with a message booked by the host and not yet acknowledged in the journal:
        // once the terminal is up counting its queue and the host has booked the first advice (paced by the screen
        // and the host's books, not by a sleep).
        try acquirer.start(answerDelayMilliseconds: 400)
        let ledger = try AcquirerLedger(path: acquirer.ledgerPath)
        func bookedAdvices() throws -> Int { try ledger.entries().filter { $0.kind == "advice" }.count }
        let killed = try acquirer.interactive(state: state)
        #expect(killed.waitForOutput("待上送5笔", timeout: .seconds(60)) != nil, "\(killed.stdout)")
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? bookedAdvices()) ?? 0 == 0, ContinuousClock.now < deadline { usleep(5_000) }  // a busy database reads as none yet
        kill(killed.pid, SIGKILL)
        #expect(killed.wait(timeout: .seconds(30)) == 128 + SIGKILL, "the terminal was killed mid-drain: \(killed.stderr)")
        let booked = try bookedAdvices()
        #expect((1..<amounts.count).contains(booked), "killed mid-drain: \(booked) of \(amounts.count) booked")

        let resumed = try acquirer.interactive(state: state)
        let status = Self.drain(resumed)
        acquirer.stop()
        #expect(status == 0, "stderr: \(resumed.stderr)")
        #expect(!Self.lastIdle(resumed.stdout).contains("待上送"), "\(Self.lastIdle(resumed.stdout))")
        let advices = try ledger.entries().filter { $0.kind == "advice" }
        #expect(advices.count == amounts.count, "no loss, no double booking: \(advices)")
        #expect(Set(advices.map(\.idempotencyKey)).count == amounts.count)
        #expect(try ledger.netCharged() == amounts.compactMap { Int($0) }.reduce(0, +))
    }
}

extension String {
    /// 16 upper-case hex digits.
    init(format16 value: UInt64) {
        let hex = String(value, radix: 16, uppercase: true)
        self = String(repeating: "0", count: 16 - hex.count) + hex
    }
}
