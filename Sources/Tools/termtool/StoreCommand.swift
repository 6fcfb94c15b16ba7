#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Codecs
import PaymentCrypto
import Store

/// The transaction journal from the outside: a support engineer's view of a terminal's store, and the child process
/// the crash-safety harness kills (docs/store.md, "Crash safety").
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect a terminal's transaction journal, or run the crash-test child.",
        subcommands: [Inspect.self, Stress.self]
    )

    /// The data key of `store stress`: a fixed test key (bytes 00…1F), so the harness can open what the child
    /// wrote. Never a terminal's key.
    static var stressKey: SecretBytes { SecretBytes(Array(0..<32)) }

    /// Writes a line to stdout with one `write(2)`, unbuffered: a line the parent reads was written before the
    /// next statement ran.
    /// The journal of a terminal's state directory, opened with the key store's data key the way the terminal opens
    /// it (never provisioning a new key); `testKeys` when that data key is a TEST key.
    static func openJournal(stateDir: String, credentials: String?, deviceSecret: String?) throws -> (journal: TransactionJournal, testKeys: Bool) {
        var environment: [String: String] = [:]
        if let credentials { environment["CREDENTIALS_DIRECTORY"] = credentials }
        let keyDirectory = stateDir + "/keys"
        let keys = try KeyStore(.init(
            directory: keyDirectory,
            deviceSecretPaths: deviceSecret.map { [$0] } ?? (KeyStore.defaultDeviceSecretPaths + [keyDirectory + "/device.secret"]),
            mayProvision: false, environment: environment))
        let journal = try TransactionJournal(
            store: try TerminalStore(path: stateDir + "/terminal.sqlite"), dataKey: try keys.secret("data-key"), random: SystemRandom(),
            clock: { Int64(time(nil)) })
        return (journal, keys.isTestKey("data-key"))
    }

    static func emit(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a terminal's journal: records (PAN masked), queue state, batch totals, audit log.",
            discussion: """
                Opens the key store of the state directory the way the terminal does (KEK from --credentials or \
                derived from the device secret) and the journal with its data key. --show-pan prints full PANs: \
                it prints a warning and writes an audit entry.

                Example: termtool store inspect --state-dir ~/.local/state/terminal-sim
                """)

        @Option(help: "The terminal's state directory (terminal.sqlite and keys/).")
        var stateDir: String

        @Option(help: "A directory holding the 32-byte KEK as 'terminal-kek' (systemd credentials).")
        var credentials: String?

        @Option(help: "The device-unique secret the KEK is derived from (default: as the terminal looks for it).")
        var deviceSecret: String?

        @Option(help: "How many records to list, newest first.")
        var limit: Int = 50

        @Flag(help: "Print full PANs (cardholder data: a warning is printed and the action audited).")
        var showPan = false

        func run() throws {
            let (journal, testKeys) = try StoreCommand.openJournal(stateDir: stateDir, credentials: credentials, deviceSecret: deviceSecret)
            if showPan {
                CryptoTool.writeStandardError("WARNING: --show-pan prints full card numbers (PCI DSS cardholder data). Do not copy, paste or keep this output; the action is recorded in the terminal's audit log.\n")
                try journal.audit(actor: "termtool", action: "show-pan", detail: "store inspect printed full PANs")
            }
            print("journal \(stateDir)/terminal.sqlite\(testKeys ? " [TEST KEYS]" : "")")
            print("records (newest first):")
            for record in try journal.records(limit: limit) {
                var pan = record.maskedPAN ?? "-"
                if showPan, record.maskedPAN != nil {
                    if let clear = try? journal.cardData(record.id).pan {
                        pan = clear.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                    } else {
                        pan += " (TAMPERED: not released)"
                    }
                }
                var flags: [String] = []
                if record.offline { flags.append("offline") }
                if record.signatureRequired { flags.append("signature") }
                if record.tampered { flags.append("TAMPERED") }
                print("  \(record.id.txnRef) stan \(record.id.stan) batch \(record.id.batch) \(record.rail.rawValue) \(record.kind.rawValue) \(record.amountMinor) \(record.currency) \(record.status.rawValue) upload \(record.uploadState.rawValue)\(record.reversal.map { " reversal \($0.rawValue)" } ?? "") \(record.entryMode.rawValue) pan \(pan)\(record.authorizationCode.map { " auth \($0)" } ?? "")\(record.responseCode.map { " rc \($0)" } ?? "")\(flags.isEmpty ? "" : " [" + flags.joined(separator: ",") + "]")")
            }
            let unsent = try journal.unsentCounts()
            print("queue: \(unsent.advices) advices unsent, \(unsent.reversals) reversals due, \(try journal.tamperedRecords().count) tampered")
            let totals = try journal.totals()
            print("open batch \(totals.batch) totals:")
            for line in totals.lines { print("  \(line.rail.rawValue) \(line.kind.rawValue) \(line.currency): \(line.count) for \(line.amountMinor)") }
            print("audit log (last 20):")
            for entry in try journal.auditLog(limit: 20) { print("  \(entry.at) \(entry.actor) \(entry.action): \(entry.detail)") }
        }
    }

    struct Stress: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Crash-test child: runs sales, offline sales and uploads until killed (or --operations).",
            discussion: """
                Prints "APPROVED <txn_ref> online|offline" only after the durable commit returned. Uploads go to a \
                fake host whose ledger is a second SQLite file (idempotent by txn_ref and kind). The data key is a \
                fixed test key. Driven by the kill harness (Tests/StoreTests/StoreCrashTests.swift).
                """)

        @Option(help: "The journal database.")
        var db: String

        @Option(help: "The fake host's ledger database.")
        var hostLedger: String

        @Option(help: "Seed of the operation mix.")
        var seed: UInt64 = 1

        @Option(help: "Stop after this many operations (0: run until killed).")
        var operations: Int = 0

        @Option(help: "Also run offline prepaid purchases on a virtual purse card whose memory is this file (PrepaidStress.swift).")
        var prepaidCard: String?

        func run() throws {
            let journal = try TransactionJournal(
                store: try TerminalStore(path: db), dataKey: StoreCommand.stressKey, random: SystemRandom(), clock: { Int64(time(nil)) },
                policy: OfflinePolicy(floorLimitMinor: 1_000_000, maximumUnsentAmountMinor: Int64.max / 2, maximumUnsentCount: 1_000_000))
            let recovered = try journal.recoverAfterRestart()
            StoreCommand.emit("RECOVERED reversals \(recovered.reversalsDue) pending \(recovered.failedPending) requeued \(recovered.requeued)")
            let ledger = try Database(path: hostLedger)
            try ledger.execute("CREATE TABLE IF NOT EXISTS ledger (txn_ref TEXT NOT NULL, kind TEXT NOT NULL, deliveries INTEGER NOT NULL, PRIMARY KEY (txn_ref, kind)) STRICT")
            var rng = StressRandom(state: seed)
            let purse = try prepaidCard.map { try PrepaidStress(cardFile: $0, journal: journal, seed: seed) }
            try purse?.recoverTornPurchases()
            var done = 0
            while operations == 0 || done < operations {
                done += 1
                if let purse, rng.next() % 2 == 0 {
                    try purse.purchase(amount: UInt32(1 + rng.next() % 300))
                    continue
                }
                let pan = "47617390010101" + String(10 + rng.next() % 90)
                let card = CardData(pan: SecretBytes(Array(pan.utf8)), track2Equivalent: SecretBytes(Array((pan + "D2212201").utf8)), field55: SecretBytes([0x9F, 0x26, 0x08] + Array(repeating: UInt8(rng.next() & 0xFF), count: 8)))
                let amount = Int64(1 + rng.next() % 5_000)
                switch rng.next() % 10 {
                case 0...3:
                    let id = try journal.prepareOnline(TransactionDraft(rail: .emvContact, kind: .sale, amountMinor: amount, currency: 978, entryMode: .chip, card: card))
                    if rng.next() % 8 == 0 {
                        _ = try journal.recordHostResponse(id, .noResponse)
                    } else {
                        _ = try journal.recordHostResponse(id, .approved(authorizationCode: "A\(id.stan % 100_000)", responseCode: "00", retrievalReferenceNumber: String(id.stan)))
                        StoreCommand.emit("APPROVED \(id.txnRef) online")
                    }
                case 4...6:
                    guard try journal.offlineCheck(amountMinor: amount, currency: 978, rail: .emvContactless, kind: .sale) == .allowed else { continue }
                    let id = try journal.begin(TransactionDraft(rail: .emvContactless, kind: .sale, amountMinor: amount, currency: 978, entryMode: .contactless, card: card))
                    try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
                    StoreCommand.emit("APPROVED \(id.txnRef) offline")
                case 7...8:
                    for item in try journal.nextUploads(limit: 3) {
                        try journal.markSent(item)
                        // The host: applies the message once per (txn_ref, kind) and counts deliveries.
                        try ledger.write(durability: .full) { db in
                            try db.query("INSERT INTO ledger (txn_ref, kind, deliveries) VALUES (?, ?, 1) ON CONFLICT (txn_ref, kind) DO UPDATE SET deliveries = deliveries + 1",
                                         [.text(item.id.txnRef), .text(item.kind.rawValue)])
                        }
                        try journal.markAcknowledged(item)
                    }
                default:
                    if rng.next() % 20 == 0 { try journal.closeBatch(actor: "stress") }
                }
            }
        }
    }
}

/// SplitMix64 (the stress child's operation mix; TestKit is not linked into tools).
struct StressRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
