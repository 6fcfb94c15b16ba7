#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Store
import TestKit
import Testing

/// The store kill harness extended to prepaid debits (docs/prepaid.md §4.3): `termtool store stress --prepaid-card`
/// also runs offline purchases on a virtual purse card whose memory is a file, committed after every DEBIT, and
/// recovers torn purchases at start. SIGKILL lands anywhere, including between the card's debit and the journal's
/// record. After every kill the store's invariants hold (StoreCrashTests.check) and no purchase is recorded that the
/// card did not make; after a last child has recovered, every debit on the card is recorded exactly once: the
/// card's total debit equals the journal's approved prepaid purchases, and their count equals the card's offline
/// counter (no lost and no double debit).
///
/// CI runs 60 kills; more with `PREPAID_KILLS=500`.
@Suite(.serialized) struct PrepaidCrashTests {
    static let initialBalance: Int64 = 1_000_000

    @Test func sigkillDuringPrepaidDebitsLosesNoDebitAndRecordsNoneTwice() throws {
        let kills = Int(getenv("PREPAID_KILLS").map { String(cString: $0) } ?? "") ?? 60
        let seed = fuzzSeed(default: 20_261_128)
        let termtool = try builtProduct("termtool")
        let dir = try makeTemporaryDirectory("prepaid-kill")
        defer { removeTree(dir) }
        let db = dir + "/journal.sqlite", ledger = dir + "/host-ledger.sqlite", card = dir + "/card.bin"
        func child(_ seed: UInt64, operations: Int = 0) throws -> SpawnedProcess {
            try SpawnedProcess([termtool, "store", "stress", "--db", db, "--host-ledger", ledger, "--prepaid-card", card,
                                "--seed", String(seed), "--operations", String(operations)], environment: [:])
        }
        // The kill window: as long as 40 operations take on this machine (qemu-user is far slower than native).
        let start = ContinuousClock.now
        let probe = try SpawnedProcess([termtool, "store", "stress", "--db", dir + "/probe.sqlite", "--host-ledger",
                                        dir + "/probe-ledger.sqlite", "--prepaid-card", dir + "/probe-card.bin",
                                        "--seed", String(seed), "--operations", "40"], environment: [:])
        try #require(probe.wait(timeout: .seconds(120)) == 0, "\(probe.stderr.suffix(300))")
        let elapsed = ContinuousClock.now - start
        let window = max(400_000, Int(elapsed.components.seconds) * 1_200_000 + Int(elapsed.components.attoseconds / 833_333_333_333))
        var rng = SplitMix(state: seed)
        var approved: [String: String] = [:]
        var failures: [String] = []
        var recovered = 0
        for kill in 0..<kills {
            let process = try child(seed &+ UInt64(kill))
            usleep(UInt32(20_000 + Int(rng.next() % UInt64(window))))
            process.signal(SIGKILL)
            let status = process.wait(timeout: .seconds(10))
            guard status == 128 + SIGKILL else {
                failures.append("kill \(kill): the child ended by itself (\(String(describing: status))): \(process.stderr.suffix(300))")
                continue
            }
            for line in process.stdout.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count == 3, fields[0] == "APPROVED" { approved[String(fields[1])] = String(fields[2]) }
                if fields.first == "RECOVERED-PREPAID" { recovered += 1 }
            }
            var problems = try StoreCrashTests.check(db: db, ledger: ledger, approved: approved)
            // No phantom: the journal never holds more prepaid purchases than the card made.
            if let state = try Self.state(db: db, card: card), state.journalTotal > state.cardDebited || state.journalCount > state.cardCounter {
                problems.append("journal \(state.journalCount) purchases \(state.journalTotal), card \(state.cardCounter) debits \(state.cardDebited)")
            }
            if !problems.isEmpty { failures.append("kill \(kill): " + problems.joined(separator: "; ")) }
        }
        // A last child recovers what the kills tore, runs one operation and ends.
        let last = try child(seed &+ 99_999, operations: 1)
        try #require(last.wait(timeout: .seconds(60)) == 0, "\(last.stderr.suffix(300))")
        recovered += last.stdout.split(separator: "\n").filter { $0.hasPrefix("RECOVERED-PREPAID") }.count
        let state = try #require(try Self.state(db: db, card: card))
        print("prepaid-kill: \(kills) kills, \(failures.count) failed; card \(state.cardCounter) debits \(state.cardDebited), journal \(state.journalCount) purchases \(state.journalTotal), \(recovered) torn purchases recovered (seed \(seed))")
        for failure in failures.prefix(10) { Issue.record("\(failure)") }
        #expect(failures.isEmpty)
        #expect(state.cardCounter > 0, "the children got far enough to pay")
        #expect(state.journalTotal == state.cardDebited, "every debit recorded, none twice")
        #expect(state.journalCount == state.cardCounter)
    }

    struct State {
        var cardDebited: Int64
        var cardCounter: Int64
        var journalTotal: Int64
        var journalCount: Int64
    }

    /// The card's memory file (balance bytes 1…4, offline counter 7…8) and the journal's approved prepaid purchases.
    static func state(db: String, card: String) throws -> State? {
        guard let bytes = try? DurableFile.readAll(card), bytes.count >= 12 else { return nil }
        let balance = bytes[1..<5].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let counter = Int64(bytes[7]) << 8 | Int64(bytes[8])
        let database = try Database(path: db)
        guard !(try database.query("SELECT name FROM sqlite_master WHERE name = 'transactions'").isEmpty) else {
            return State(cardDebited: initialBalance - balance, cardCounter: counter, journalTotal: 0, journalCount: 0)
        }
        let row = try database.query(
            "SELECT coalesce(sum(amount_minor), 0), count(*) FROM transactions WHERE rail = 'prepaid' AND kind = 'sale' AND status = 'offline-approved'"
        ).first ?? []
        func integer(_ value: Database.Value?) -> Int64 { if case .integer(let n)? = value { return n } else { return 0 } }
        return State(cardDebited: initialBalance - balance, cardCounter: counter, journalTotal: integer(row.first),
                     journalCount: integer(row.last))
    }
}
