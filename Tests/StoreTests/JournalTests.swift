#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
import PaymentCrypto
import Store
import TestKit
import Testing

/// A journal on a real SQLite file in a fresh directory, with a clock the test moves.
final class JournalRig {
    let directory: String
    var path: String { directory + "/terminal.sqlite" }
    let key: SecretBytes
    var now: Int64 = 1_790_000_000
    var policy = OfflinePolicy()
    private(set) var journal: TransactionJournal!

    init(key: SecretBytes? = nil) throws {
        directory = try makeTemporaryDirectory("journal")
        self.key = try key ?? SecretBytes(SystemRandom().bytes(32))
        try reopen()
    }

    deinit { removeTree(directory) }

    /// Drops the journal and its connection and opens both again, as a restart does.
    func reopen() throws {
        journal = nil
        journal = try TransactionJournal(store: try TerminalStore(path: path), dataKey: key, random: SystemRandom(), clock: { [unowned self] in self.now }, policy: policy)
    }

    static let pan = "4761739001010119"
    static let otherPAN = "5413330089010434"
    /// Track 2 equivalent data (tag '57') of the test card, as the card sends it (BCD, 'D' separator).
    static let track2 = Hex.decode("4761739001010119D22122011143804400000F")!
    static let holder = "VISA ACQUIRER TEST/CARD 01"
    static let field55 = Hex.decode("9F2608C0A1B2C3D4E5F6079F2701809F10120110A00003220000000000000000000000FF9F3704A1B2C3D4")!

    static func card(_ pan: String = JournalRig.pan) -> CardData {
        CardData(pan: SecretBytes(Array(pan.utf8)), track2Equivalent: SecretBytes(track2), cardholderName: SecretBytes(Array(holder.utf8)), field55: SecretBytes(field55))
    }

    static func sale(_ amount: Int64, rail: Rail = .emvContact, kind: TransactionKind = .sale, pan: String = JournalRig.pan, currency: Int = 978) -> TransactionDraft {
        TransactionDraft(rail: rail, kind: kind, amountMinor: amount, currency: currency, entryMode: rail == .emvContactless ? .contactless : .chip,
                         card: card(pan), aid: "A0000000031010", applicationLabel: "VISA CREDIT", signatureRequired: false)
    }

    @discardableResult
    func offlineSale(_ amount: Int64, pan: String = JournalRig.pan) throws -> TransactionID {
        let id = try journal.begin(Self.sale(amount, pan: pan))
        try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
        return id
    }

    @discardableResult
    func onlineSale(_ amount: Int64, pan: String = JournalRig.pan) throws -> TransactionID {
        let id = try journal.prepareOnline(Self.sale(amount, pan: pan))
        _ = try journal.recordHostResponse(id, .approved(authorizationCode: "123456", responseCode: "00", retrievalReferenceNumber: "000000000001"))
        return id
    }

    func fileBytes(_ suffix: String = "") -> [UInt8] {
        let fd = open(path + suffix, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first, Array(haystack[i..<i + needle.count]) == needle { return true }
        i += 1
    }
    return false
}

@Suite struct JournalTests {
    @Test func noCardDataInClearInTheDatabaseOrTheWAL() throws {
        let rig = try JournalRig()
        for i in 0..<20 { try rig.offlineSale(100 + Int64(i)) }
        let qr = try rig.journal.begin(TransactionDraft(rail: .qr, kind: .sale, amountMinor: 500, currency: 156, entryMode: .qr,
                                                        card: CardData(qrAuthCode: SecretBytes(Array("281234567890123456".utf8)))))
        try rig.journal.recordOutcome(qr, .approved(authorizationCode: nil))
        let needles: [(String, [UInt8])] = [
            ("PAN", Array(JournalRig.pan.utf8)), ("track 2 (binary)", JournalRig.track2), ("track 2 (text)", Array("4761739001010119D2212".utf8)),
            ("cardholder name", Array(JournalRig.holder.utf8)), ("field 55", Array(JournalRig.field55.prefix(12))),
            ("PAN middle digits", Array("739001".utf8)), ("QR auth code", Array("281234567890123456".utf8)),
        ]
        let wal = rig.fileBytes("-wal")
        #expect(wal.count > 0, "the records are in the WAL before a checkpoint")
        for (name, needle) in needles {
            #expect(!contains(rig.fileBytes(), needle), "\(name) in the database file")
            #expect(!contains(wal, needle), "\(name) in the WAL")
        }
        try rig.journal.store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for (name, needle) in needles { #expect(!contains(rig.fileBytes(), needle), "\(name) in the database file after a checkpoint") }
        #expect(try rig.journal.store.database.query("PRAGMA secure_delete").first?.first == .integer(1))
        // What is kept in clear: masked PAN and last four.
        let record = try rig.journal.record(qr)
        #expect(record.maskedPAN == nil)
        let sale = try #require(try rig.journal.records(limit: 2).last)
        #expect(sale.maskedPAN == "476173******0119" && sale.panLast4 == "0119")
    }

    @Test func cardDataRoundTripsAndRecordsCarryTheirFields() throws {
        let rig = try JournalRig()
        let id = try rig.onlineSale(1234)
        let card = try rig.journal.cardData(id)
        #expect(card.pan == SecretBytes(Array(JournalRig.pan.utf8)))
        #expect(card.track2Equivalent == SecretBytes(JournalRig.track2))
        #expect(card.field55 == SecretBytes(JournalRig.field55))
        #expect(card.qrAuthCode == nil)
        let record = try rig.journal.record(id)
        #expect(record.status == .approved && record.authorizationCode == "123456" && record.responseCode == "00")
        #expect(record.reversal == .disarmed && record.uploadState == UploadState.none && !record.offline)
        #expect(record.id.stan == 1 && record.id.batch == 1 && record.aid == "A0000000031010")
        let second = try rig.onlineSale(1)
        #expect(second.stan == 2, "STAN counts up")
    }

    @Test func aValueMovedToAnotherRowDoesNotOpen() throws {
        let rig = try JournalRig()
        let a = try rig.offlineSale(100, pan: JournalRig.pan)
        let b = try rig.offlineSale(200, pan: JournalRig.otherPAN)
        let db = rig.journal.store.database
        // An attacker with the file swaps the sealed PANs (and their clear companions) of the two rows.
        let columns = "pan_sealed, pan_hash, pan_masked, pan_last4"
        let rowA = try #require(try db.query("SELECT \(columns) FROM transactions WHERE txn_ref = ?", [.text(a.txnRef)]).first)
        let rowB = try #require(try db.query("SELECT \(columns) FROM transactions WHERE txn_ref = ?", [.text(b.txnRef)]).first)
        try db.write { db in
            for (values, ref) in [(rowB, a.txnRef), (rowA, b.txnRef)] {
                try db.query("UPDATE transactions SET pan_sealed = ?, pan_hash = ?, pan_masked = ?, pan_last4 = ? WHERE txn_ref = ?", values + [.text(ref)])
            }
        }
        #expect(throws: StoreError(.tampered, "")) { try rig.journal.cardData(a) }
        #expect(try rig.journal.record(a).tampered)
        #expect(throws: StoreError(.tampered, "")) { try rig.journal.cardData(b) }
        #expect(try rig.journal.tamperedRecords().count == 2)
        #expect(try rig.journal.auditLog().filter { $0.action == "tamper-detected" }.count == 2)
        // Moving a value to another column of the same row fails too.
        let c = try rig.offlineSale(300)
        try db.write { db in try db.query("UPDATE transactions SET holder_sealed = track2_sealed WHERE txn_ref = ?", [.text(c.txnRef)]) }
        #expect(throws: StoreError(.tampered, "")) { try rig.journal.cardData(c) }
    }

    @Test func aTamperedValueRaisesTheAlarmAndIsNeverUploaded() throws {
        let rig = try JournalRig()
        let good = try rig.offlineSale(100)
        let bad = try rig.offlineSale(200)
        let db = rig.journal.store.database
        guard case .blob(var sealed)? = try db.query("SELECT field55_sealed FROM transactions WHERE txn_ref = ?", [.text(bad.txnRef)]).first?.first else {
            Issue.record("no sealed field 55")
            return
        }
        sealed[20] ^= 0x01
        try db.write { db in try db.query("UPDATE transactions SET field55_sealed = ? WHERE txn_ref = ?", [.blob(sealed), .text(bad.txnRef)]) }
        let uploads = try rig.journal.nextUploads(limit: 10)
        #expect(uploads.map(\.id.txnRef) == [good.txnRef], "the tampered record is left out")
        #expect(try rig.journal.record(bad).tampered)
        #expect(try rig.journal.auditLog().contains { $0.action == "tamper-detected" && $0.detail.hasPrefix(bad.txnRef) })
        #expect(try rig.journal.offlineCheck(amountMinor: 100, currency: 978, rail: .emvContact, kind: .sale) == .refused(.tamperedRecords(count: 1)))
        #expect(throws: StoreError(.tampered, "")) { try rig.journal.cardData(bad) }
        // Still counted as unsent: nothing is dropped.
        #expect(try rig.journal.unsentCounts().advices == 2)
        // The audit log is append-only.
        #expect(throws: StoreError(.constraint, "")) { try db.write { db in try db.execute("DELETE FROM audit_log") } }
    }

    @Test func aWrongDataKeyIsRefusedAtOpen() throws {
        let rig = try JournalRig()
        try rig.offlineSale(100)
        #expect(throws: StoreError(.wrongKey, "")) {
            try TransactionJournal(store: try TerminalStore(path: rig.path), dataKey: SecretBytes(try SystemRandom().bytes(32)), random: SystemRandom(), clock: { 0 })
        }
    }

    @Test func offlinePolicyCapsAndTheirReasonsSurviveARestart() throws {
        let rig = try JournalRig()
        rig.policy = OfflinePolicy(floorLimitMinor: 1_000, maximumUnsentAmountMinor: 2_500, maximumUnsentCount: 3, maximumUnsentAgeSeconds: 3_600)
        try rig.reopen()
        func check(_ amount: Int64, _ rail: Rail = .emvContact, _ kind: TransactionKind = .sale) throws -> OfflineDecision {
            try rig.journal.offlineCheck(amountMinor: amount, currency: 978, rail: rail, kind: kind)
        }
        #expect(try check(100, .emvContact, .refund) == .refused(.kindNeverOffline(.refund)))
        #expect(try check(100, .qr) == .refused(.notAllowed(.qr, .sale)))
        #expect(try check(1_001) == .refused(.aboveFloorLimit(limitMinor: 1_000)))
        #expect(try check(1_000) == .allowed)
        try rig.offlineSale(1_000)
        try rig.offlineSale(1_000)
        #expect(try check(600) == .refused(.unsentAmountCapReached(capMinor: 2_500, unsentMinor: 2_000)))
        #expect(try rig.journal.offlineCheck(amountMinor: 600, currency: 840, rail: .emvContact, kind: .sale) == .allowed, "caps are per currency")
        try rig.offlineSale(100)
        #expect(try check(1) == .refused(.unsentCountCapReached(cap: 3)))
        try rig.reopen()
        #expect(try check(1) == .refused(.unsentCountCapReached(cap: 3)), "counters come from the database")
        // Upload one: room again, until the oldest unsent record is too old.
        let item = try #require(try rig.journal.nextUploads(limit: 1).first)
        try rig.journal.markSent(item)
        try rig.journal.markAcknowledged(item)
        #expect(try check(1) == .allowed)
        rig.now += 3_601
        #expect(try check(1) == .refused(.oldestUnsentTooOld(ageSeconds: 3_601, maximumSeconds: 3_600)))
    }

    @Test func theReversalIsArmedBeforeTheRequestAndSurvivesARestart() throws {
        let rig = try JournalRig()
        let id = try rig.journal.prepareOnline(JournalRig.sale(4_200))
        let db = rig.journal.store.database
        #expect(try db.query("SELECT state FROM reversals").first?.first == .text("armed"))
        try rig.reopen()  // the power went while the request was in flight
        #expect(try rig.journal.record(id).reversal == .armed)
        let report = try rig.journal.recoverAfterRestart()
        #expect(report.reversalsDue == 1)
        let record = try rig.journal.record(id)
        #expect(record.status == .failed && record.reversal == .due)
        let items = try rig.journal.nextUploads(limit: 5)
        #expect(items.map(\.kind) == [.reversal] && items.first?.card.pan == SecretBytes(Array(JournalRig.pan.utf8)))
        try rig.journal.markSent(items[0])
        try rig.journal.markUploadFailed(items[0])
        #expect(try rig.journal.record(id).reversal == .due)
        try rig.journal.markSent(items[0])
        try rig.journal.markAcknowledged(items[0])
        try rig.journal.markAcknowledged(items[0])  // idempotent
        #expect(try rig.journal.record(id).reversal == .acknowledged)
        #expect(try rig.journal.nextUploads(limit: 5).isEmpty)
    }

    @Test func hostResponsesDisarmOrKeepTheReversal() throws {
        let rig = try JournalRig()
        let declined = try rig.journal.prepareOnline(JournalRig.sale(100))
        #expect(try rig.journal.recordHostResponse(declined, .declined(responseCode: "05", retrievalReferenceNumber: nil)).reversal == .disarmed)
        let silent = try rig.journal.prepareOnline(JournalRig.sale(100))
        let s = try rig.journal.recordHostResponse(silent, .noResponse)
        #expect(s.status == .failed && s.reversal == .due)
        let cancelled = try rig.journal.prepareOnline(JournalRig.sale(100))
        let c = try rig.journal.recordHostResponse(cancelled, .approvedThenCancelled(authorizationCode: "A1", responseCode: "00", retrievalReferenceNumber: nil, reason: .cardDeclinedAfterApproval))
        #expect(c.status == .reversed && c.reversal == .due)
        let later = try rig.onlineSale(100)
        try rig.journal.requireReversal(later, reason: .cancelled)
        #expect(try rig.journal.record(later).reversal == .due && rig.journal.record(later).status == .reversed)
        #expect(throws: StoreError(.invalid, "")) { try rig.journal.recordOutcome(declined, .failed) }
        #expect(try rig.journal.unsentCounts().reversals == 3)
    }

    @Test func queueTransitionsFromQueuedToPurged() throws {
        let rig = try JournalRig()
        let id = try rig.offlineSale(700)
        #expect(try rig.journal.record(id).uploadState == .queued)
        let item = try #require(try rig.journal.nextUploads(limit: 10).first)
        #expect(item.kind == .advice && item.card.field55 == SecretBytes(JournalRig.field55))
        try rig.journal.markSent(item)
        #expect(try rig.journal.record(id).uploadState == .sent)
        #expect(try rig.journal.nextUploads(limit: 10).isEmpty, "a sent item is not handed out twice")
        try rig.reopen()
        #expect(try rig.journal.recoverAfterRestart().requeued == 1, "sent without an acknowledgement: queued again")
        try rig.journal.markSent(item)
        try rig.journal.markAcknowledged(item)
        #expect(try rig.journal.record(id).uploadState == .acknowledged)
        // Out of order is refused by the schema.
        let db = rig.journal.store.database
        #expect(throws: StoreError(.constraint, "")) { try db.write { db in try db.query("UPDATE transactions SET upload_state = 'queued'") } }
        #expect(throws: StoreError(.constraint, "")) { try db.write { db in try db.query("UPDATE transactions SET status = 'pending'") } }
        #expect(throws: StoreError(.constraint, "")) { try db.write { db in try db.query("UPDATE transactions SET amount_minor = 1") } }
        let totals = try rig.journal.closeBatch()
        #expect(totals.batch == 1 && totals.lines == [.init(rail: .emvContact, kind: .sale, currency: 978, count: 1, amountMinor: 700)])
        #expect(try rig.journal.openBatch() == 2)
        try rig.journal.markSettled(batch: 1)
        #expect(try rig.journal.record(id).uploadState == .settled)
        #expect(try rig.journal.purge() == 0, "kept for the retention period")
        rig.now += rig.policy.retentionSeconds + 1
        #expect(try rig.journal.purge() == 1)
        #expect(throws: StoreError(.invalid, "")) { try rig.journal.record(id) }
        #expect(try rig.journal.auditLog().map(\.action) == ["batch-close", "purge"])
    }

    @Test func transactionLogTotalSumsTodaysApprovedSalesOfOnePAN() throws {
        let rig = try JournalRig()
        try rig.onlineSale(1_000)
        try rig.offlineSale(250)
        try rig.offlineSale(999, pan: JournalRig.otherPAN)
        let declined = try rig.journal.begin(JournalRig.sale(5_000))
        try rig.journal.recordOutcome(declined, .declined(responseCode: "Z1"))
        let pan = SecretBytes(Array(JournalRig.pan.utf8))
        #expect(try rig.journal.transactionLogTotal(pan: pan, currency: 978) == 1_250)
        #expect(try rig.journal.transactionLogTotal(pan: pan, currency: 840) == 0)
        rig.now += 86_400
        #expect(try rig.journal.transactionLogTotal(pan: pan, currency: 978) == 0, "a new day")
        #expect(try rig.journal.transactionLogTotal(pan: pan, currency: 978, day: rig.journal.today() - 1) == 1_250)
    }

    @Test func totalsPerRailAndKind() throws {
        let rig = try JournalRig()
        try rig.onlineSale(100)
        try rig.offlineSale(200)
        let refund = try rig.journal.prepareOnline(JournalRig.sale(50, kind: .refund))
        _ = try rig.journal.recordHostResponse(refund, .approved(authorizationCode: "R1", responseCode: "00", retrievalReferenceNumber: nil))
        let prepaid = try rig.journal.begin(TransactionDraft(rail: .prepaid, kind: .topup, amountMinor: 1_000, currency: 978, entryMode: .prepaidCard,
                                                             card: CardData(prepaidCardID: SecretBytes(Array("PP-0001-0002".utf8)))))
        try rig.journal.recordOutcome(prepaid, .approved(authorizationCode: nil))
        let t = try rig.journal.totals()
        #expect(t.lines == [
            .init(rail: .emvContact, kind: .refund, currency: 978, count: 1, amountMinor: 50),
            .init(rail: .emvContact, kind: .sale, currency: 978, count: 2, amountMinor: 300),
            .init(rail: .prepaid, kind: .topup, currency: 978, count: 1, amountMinor: 1_000),
        ])
    }

    @Test func parametersAreVersionedBlobs() throws {
        let rig = try JournalRig()
        try rig.journal.installParameters("emv-aids", version: 1, content: [1, 2, 3], actor: "tms")
        try rig.journal.installParameters("emv-aids", version: 2, content: [4], actor: "tms")
        #expect(throws: StoreError(.invalid, "")) { try rig.journal.installParameters("emv-aids", version: 2, content: [5], actor: "tms") }
        #expect(try rig.journal.parameters("emv-aids")?.version == 2 && rig.journal.parameters("emv-aids")?.content == [4])
        #expect(try rig.journal.parameters("none") == nil)
    }

    @Test func migrationsApplyOnAnExisting0002Database() throws {
        let dir = try makeTemporaryDirectory("journal-migrate")
        defer { removeTree(dir) }
        let path = dir + "/terminal.sqlite"
        do {
            let db = try Database(path: path)
            try db.migrate(Array(TerminalStore.migrations.prefix(2)))
            try db.write { db in
                try db.query("INSERT INTO settings (key, value) VALUES ('ui.language', 'zh-CN')")
                try db.query("INSERT INTO transactions (txn_ref, rail, kind, amount_minor, currency, status, upload_state, created_at, updated_at) VALUES ('REF-00000001', 'qr', 'sale', 100, 156, 'offline-approved', 'queued', 86400, 86400)")
            }
        }
        let store = try TerminalStore(path: path)
        #expect(try store.setting("ui.language") == "zh-CN")
        #expect(try store.unsentCount() == 1)
        let journal = try TransactionJournal(store: store, dataKey: SecretBytes(zeros: 32), random: SystemRandom(), clock: { 90_000 })
        let old = try journal.record(txnRef: "REF-00000001")
        #expect(old.status == .offlineApproved && old.id.stan == 1 && old.entryMode == .qr && old.offline)
        let next = try journal.begin(JournalRig.sale(1))
        #expect(next.stan == 2, "the STAN counter continues after the migrated rows")
        #expect(try store.database.query("PRAGMA foreign_key_check").isEmpty)
        #expect(try store.database.query("PRAGMA integrity_check").first?.first == .text("ok"))
    }

    @Test func aFullDiskRefusesNewSalesAndLosesNothing() throws {
        let rig = try JournalRig()
        var stored: [TransactionID] = []
        for _ in 0..<5 { stored.append(try rig.offlineSale(100)) }
        let pages = try JournalRig.integer(rig.journal.store.database.query("PRAGMA page_count").first?.first)
        try rig.journal.store.database.limitPageCount(Int(pages) + 2)
        var failure: StoreError?
        for _ in 0..<500 {
            do { stored.append(try rig.offlineSale(100)) } catch let error as StoreError {
                failure = error
                break
            }
        }
        #expect(failure?.code == .diskFull)
        try rig.reopen()
        for id in stored { #expect(try rig.journal.record(id).status == .offlineApproved) }
        #expect(try rig.journal.records(limit: 1000).filter { $0.status == .pending }.isEmpty, "the refused sale left nothing behind")
        #expect(try rig.journal.store.database.query("PRAGMA integrity_check").first?.first == .text("ok"))
    }

    @Test func aReadOnlyFileRefusesNewSalesAndKeepsTheOldOnes() throws {
        let rig = try JournalRig()
        let stored = try rig.offlineSale(100)
        let key = rig.key
        var readOnly = rig.directory + "/ro"
        mkdir(readOnly, 0o700)
        var mounted = false
        if getuid() == 0 {
            // root ignores file modes: a read-only bind mount is a read-only file system.
            mounted = (try? runProcess(["/bin/mount", "--bind", rig.directory, readOnly]).status) == 0
                && (try? runProcess(["/bin/mount", "-o", "remount,bind,ro", readOnly]).status) == 0
        }
        defer { if mounted { _ = try? runProcess(["/bin/umount", readOnly]) } }
        if !mounted {
            if getuid() == 0 {
                Issue.record("cannot make a read-only mount here")
                return
            }
            readOnly = rig.directory
            chmod(rig.path, 0o444)
            chmod(rig.directory, 0o555)
        }
        defer { chmod(rig.directory, 0o700) }
        do {
            let journal = try TransactionJournal(store: try TerminalStore(path: readOnly + "/terminal.sqlite"), dataKey: key, random: SystemRandom(), clock: { 1_790_000_000 })
            #expect(journal.store.database.isReadOnly)
            #expect(try journal.record(stored).status == .offlineApproved, "what is stored can be read")
            #expect(throws: StoreError(.readOnly, "")) { try journal.begin(JournalRig.sale(1)) }
        } catch let error as StoreError {
            #expect(error.code == .readOnly, "opening a read-only store fails as readOnly, not \(error.code)")
        }
        if mounted { _ = try? runProcess(["/bin/umount", readOnly]) }
        mounted = false
        chmod(rig.path, 0o644)
        chmod(rig.directory, 0o700)
        try rig.reopen()
        #expect(try rig.journal.record(stored).status == .offlineApproved)
    }
}

extension JournalRig {
    static func integer(_ value: Database.Value?) throws -> Int64 {
        guard case .integer(let n)? = value else { throw TestKitError("not an integer") }
        return n
    }
}

@Suite struct StoreInspectTests {
    @Test func inspectMasksPANsUnlessAskedAndAuditsWhenAsked() throws {
        let state = try makeTemporaryDirectory("store-inspect")
        defer { removeTree(state) }
        // A state directory as the simulator board leaves it: the key store with a data key, the journal beside it.
        let keys = try KeyStore(.init(directory: state + "/keys", deviceSecretPaths: KeyStore.defaultDeviceSecretPaths + [state + "/keys/device.secret"],
                                      mayProvision: true, environment: [:]))
        try keys.storeSecret("data-key", SecretBytes(try SystemRandom().bytes(32)), isTestKey: true)
        do {
            let journal = try TransactionJournal(store: try TerminalStore(path: state + "/terminal.sqlite"), dataKey: try keys.secret("data-key"),
                                                 random: SystemRandom(), clock: { 1_790_000_000 })
            let id = try journal.begin(JournalRig.sale(4_321))
            try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
        }
        let termtool = try builtProduct("termtool")
        let masked = try runProcess([termtool, "store", "inspect", "--state-dir", state])
        #expect(masked.status == 0, "\(masked.stderr)")
        #expect(masked.stdout.contains("476173******0119") && masked.stdout.contains("offline-approved") && masked.stdout.contains("1 advices unsent"))
        #expect(!masked.stdout.contains(JournalRig.pan))
        let shown = try runProcess([termtool, "store", "inspect", "--state-dir", state, "--show-pan"])
        #expect(shown.status == 0 && shown.stdout.contains(JournalRig.pan) && shown.stderr.contains("WARNING"))
        #expect(shown.stdout.contains("show-pan"), "the audit log lists the disclosure")
    }
}
