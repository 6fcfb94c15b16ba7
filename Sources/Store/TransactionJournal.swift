public import PaymentCrypto

/// The journal every payment rail writes to: transactions with their sealed card data, reversals armed before an
/// online request leaves, the store-and-forward queue, batch totals, the EMV transaction log, terminal parameters
/// and the audit log. One instance per process, on the one connection of ``TerminalStore`` (not thread-safe: the
/// owner serialises calls, as the runtime does with its `Locked<TerminalStore>`).
///
/// Durability: every commit that gates something outside the terminal (an approval shown or printed, an online
/// request sent, an advice obligation) runs with `synchronous=FULL` and has reached the disk when the call
/// returns. Upload bookkeeping (sent, acknowledged, failed) runs with `synchronous=NORMAL`: losing it to a power cut
/// only means an upload is repeated, and the host drops duplicates by `txn_ref`.
///
/// The flows (docs/store.md, "Using the journal"):
/// - online: ``prepareOnline(_:)`` → send → ``recordHostResponse(_:_:)`` → show the result;
/// - offline or local: ``offlineCheck(amountMinor:currency:rail:kind:)`` → ``begin(_:)`` → the card decides →
///   ``recordOutcome(_:_:)`` → show the result;
/// - uplink: ``nextUploads(limit:)`` → ``markSent(_:)`` → send → ``markAcknowledged(_:)`` or ``markUploadFailed(_:)``;
/// - start-up: ``recoverAfterRestart()`` before the first payment.
public final class TransactionJournal {
    public let store: TerminalStore
    /// The offline policy ``offlineCheck(amountMinor:currency:rail:kind:)`` and ``purge()`` apply.
    public var policy: OfflinePolicy
    private let sealer: RecordSealer
    private let random: any RandomSource
    private let clock: () -> Int64
    private let utcOffsetSeconds: Int64
    private var database: Database { store.database }

    /// Opens the journal on `store`.
    /// - Parameters:
    ///   - dataKey: the key store's `data-key` (32 bytes); the journal derives its keys from it (``RecordSealer``).
    ///   - random: nonces and transaction references.
    ///   - clock: seconds since 1970-01-01 UTC.
    ///   - utcOffsetSeconds: the terminal's time zone, for the business day of the EMV transaction log.
    /// - Throws: ``StoreError`` `.wrongKey` when the database was sealed under another data key.
    public init(
        store: TerminalStore, dataKey: SecretBytes, random: any RandomSource, clock: @escaping () -> Int64,
        policy: OfflinePolicy = OfflinePolicy(), utcOffsetSeconds: Int64 = 0
    ) throws {
        self.store = store
        self.policy = policy
        self.random = random
        self.clock = clock
        self.utcOffsetSeconds = utcOffsetSeconds
        sealer = try RecordSealer(dataKey: dataKey, random: random)
        let sealer = sealer
        let now = clock()
        let stored = try store.database.query("SELECT check_value FROM journal_key WHERE id = 1").first?.first
        if case .blob(let value)? = stored {
            guard constantTimeEquals(value, sealer.checkValue) else {
                throw StoreError(.wrongKey, "\(store.database.path) was sealed under another data key")
            }
        } else {
            try store.database.write(durability: .full) { db in
                try db.query("INSERT INTO journal_key (id, check_value, created_at) VALUES (1, ?, ?)", [.blob(sealer.checkValue), .integer(now)])
            }
        }
    }

    // MARK: Recording transactions

    /// Records a transaction that is about to go online, together with its reversal, armed, in one FULL commit.
    /// Call it before the request leaves: if the power goes while the request is in flight, the reversal is due
    /// after the restart (``recoverAfterRestart()``).
    /// - Returns: the transaction's identity (txn_ref, STAN and batch for the request).
    /// - Throws: ``StoreError``: `.invalid` for a bad draft, `.diskFull` or `.readOnly` when nothing new can be
    ///   stored (the sale must be refused), `.constraint` for a duplicate txn_ref.
    public func prepareOnline(_ draft: TransactionDraft) throws -> TransactionID {
        try insert(draft, armReversal: true)
    }

    /// Records a transaction decided without the host (offline EMV, prepaid, local kinds): pending until
    /// ``recordOutcome(_:_:)``. One FULL commit. Check ``offlineCheck(amountMinor:currency:rail:kind:)`` first.
    public func begin(_ draft: TransactionDraft) throws -> TransactionID {
        try insert(draft, armReversal: false)
    }

    /// Records the host's answer to a request prepared with ``prepareOnline(_:)``: disarms the reversal (approved,
    /// declined) or makes it due (no response, approved then cancelled). One FULL commit: show or print the result
    /// only after this returns.
    /// - Returns: the updated record.
    public func recordHostResponse(_ id: TransactionID, _ response: HostResponse) throws -> TransactionRecord {
        let now = clock()
        try database.write(durability: .full) { db in
            let row = try Self.pendingRow(db, id)
            switch response {
            case .approved(let auth, let rc, let rrn):
                try Self.checkCodes(auth: auth, rc: rc, rrn: rrn)
                try db.query("UPDATE transactions SET status = 'approved', auth_code = ?, response_code = ?, rrn = ?, updated_at = ? WHERE id = ?",
                             [.text(auth), .text(rc), Self.text(rrn), .integer(now), .integer(row)])
                try db.query("UPDATE reversals SET state = 'disarmed', updated_at = ? WHERE txn_id = ? AND state = 'armed'", [.integer(now), .integer(row)])
            case .declined(let rc, let rrn):
                try Self.checkCodes(auth: nil, rc: rc, rrn: rrn)
                try db.query("UPDATE transactions SET status = 'declined', response_code = ?, rrn = ?, updated_at = ? WHERE id = ?",
                             [.text(rc), Self.text(rrn), .integer(now), .integer(row)])
                try db.query("UPDATE reversals SET state = 'disarmed', updated_at = ? WHERE txn_id = ? AND state = 'armed'", [.integer(now), .integer(row)])
            case .noResponse, .unusableResponse:
                try db.query("UPDATE transactions SET status = 'failed', updated_at = ? WHERE id = ?", [.integer(now), .integer(row)])
                try Self.makeReversalDue(db, row, response == .noResponse ? .noResponse : .unusableResponse, now)
            case .approvedThenCancelled(let auth, let rc, let rrn, let reason):
                try Self.checkCodes(auth: auth, rc: rc, rrn: rrn)
                try db.query("UPDATE transactions SET status = 'reversed', auth_code = ?, response_code = ?, rrn = ?, updated_at = ? WHERE id = ?",
                             [.text(auth), .text(rc), Self.text(rrn), .integer(now), .integer(row)])
                try Self.makeReversalDue(db, row, reason, now)
            }
        }
        return try record(id)
    }

    /// Records the decision on a transaction recorded with ``begin(_:)``. An offline approval is queued as an
    /// advice in the same FULL commit: show or print APPROVED only after this returns.
    /// - Throws: ``StoreError`` `.invalid` when the transaction is not pending or has an online request armed
    ///   (use ``recordHostResponse(_:_:)``).
    @discardableResult
    public func recordOutcome(_ id: TransactionID, _ outcome: LocalOutcome) throws -> TransactionRecord {
        let now = clock()
        try database.write(durability: .full) { db in
            let row = try Self.pendingRow(db, id)
            guard try db.query("SELECT 1 FROM reversals WHERE txn_id = ?", [.integer(row)]).isEmpty else {
                throw StoreError(.invalid, "\(id) went online: record the host's response instead")
            }
            switch outcome {
            case .offlineApproved(let arc, let auth):
                try Self.checkCodes(auth: auth, rc: arc, rrn: nil)
                try db.query("UPDATE transactions SET status = 'offline-approved', offline = 1, response_code = ?, auth_code = ?, upload_state = 'queued', updated_at = ? WHERE id = ?",
                             [.text(arc), Self.text(auth), .integer(now), .integer(row)])
            case .approved(let auth):
                try Self.checkCodes(auth: auth, rc: nil, rrn: nil)
                try db.query("UPDATE transactions SET status = 'approved', auth_code = ?, updated_at = ? WHERE id = ?", [Self.text(auth), .integer(now), .integer(row)])
            case .declined(let rc):
                try Self.checkCodes(auth: nil, rc: rc, rrn: nil)
                try db.query("UPDATE transactions SET status = 'declined', response_code = ?, updated_at = ? WHERE id = ?", [Self.text(rc), .integer(now), .integer(row)])
            case .failed:
                try db.query("UPDATE transactions SET status = 'failed', updated_at = ? WHERE id = ?", [.integer(now), .integer(row)])
            }
        }
        return try record(id)
    }

    /// Makes a reversal due for a transaction the host approved that must not stand (cancelled after approval,
    /// card declined the completion): the transaction becomes `reversed`. One FULL commit.
    public func requireReversal(_ id: TransactionID, reason: ReversalReason) throws {
        let now = clock()
        try database.write(durability: .full) { db in
            let row = try Self.rowID(db, id)
            try db.query("UPDATE transactions SET status = 'reversed', updated_at = ? WHERE id = ? AND status IN ('pending', 'approved', 'offline-approved')",
                         [.integer(now), .integer(row)])
            try Self.makeReversalDue(db, row, reason, now)
        }
    }

    /// Replaces the sealed ICC data (field 55) of a transaction with the card's final word: after an online
    /// approval the second GENERATE AC's cryptogram and the issuer script results ('9F5B') are what the advice or TC
    /// upload must carry, not the request's ARQC data. One FULL commit.
    public func recordCompletionICCData(_ id: TransactionID, field55: SecretBytes) throws {
        let sealed = try sealer.seal(field55, rowKey: id.txnRef, column: "field55_sealed")
        let now = clock()
        try database.write(durability: .full) { db in
            let row = try Self.rowID(db, id)
            try db.query("UPDATE transactions SET field55_sealed = ?, updated_at = ? WHERE id = ?", [.blob(sealed), .integer(now), .integer(row)])
        }
    }

    /// Queues an approved transaction for upload (an advice, a TC upload of an online approval, a prepaid
    /// redemption). Offline approvals are queued by ``recordOutcome(_:_:)`` already. One FULL commit.
    public func queueAdvice(_ id: TransactionID) throws {
        let now = clock()
        try database.write(durability: .full) { db in
            let row = try Self.rowID(db, id)
            try db.query("UPDATE transactions SET upload_state = 'queued', updated_at = ? WHERE id = ? AND upload_state = 'none'", [.integer(now), .integer(row)])
        }
    }

    /// Brings the journal back after a restart; call once before the first payment. Online requests that were in
    /// flight get their reversals due (`power-failure`) and are `failed`; other pending transactions are
    /// `failed`; uploads sent without an acknowledgement are queued again. One FULL commit.
    @discardableResult
    public func recoverAfterRestart() throws -> RecoveryReport {
        let now = clock()
        return try database.write(durability: .full) { db in
            let armed = try db.query("SELECT r.txn_id FROM reversals r JOIN transactions t ON t.id = r.txn_id WHERE r.state = 'armed' AND t.status = 'pending'")
            for row in armed {
                guard case .integer(let id)? = row.first else { continue }
                try db.query("UPDATE transactions SET status = 'failed', updated_at = ? WHERE id = ?", [.integer(now), .integer(id)])
                try Self.makeReversalDue(db, id, .powerFailure, now)
            }
            let failed = try db.query("UPDATE transactions SET status = 'failed', updated_at = ? WHERE status = 'pending' RETURNING id", [.integer(now)]).count
            let requeued = try db.query("UPDATE transactions SET upload_state = 'queued', updated_at = ? WHERE upload_state = 'sent' RETURNING id", [.integer(now)]).count
                + (try db.query("UPDATE reversals SET state = 'due', updated_at = ? WHERE state = 'sent' RETURNING id", [.integer(now)]).count)
            let report = RecoveryReport(reversalsDue: armed.count, failedPending: failed, requeued: requeued)
            if armed.count + failed > 0 {
                try Self.appendAudit(db, now, "journal", "recovery", "reversals due \(armed.count), pending failed \(failed), uploads requeued \(requeued)")
            }
            return report
        }
    }

    // MARK: Reading

    /// A record without its card data.
    /// - Throws: ``StoreError`` `.invalid` for an unknown transaction.
    public func record(_ id: TransactionID) throws -> TransactionRecord {
        try record(txnRef: id.txnRef)
    }

    /// A record by its txn_ref.
    public func record(txnRef: String) throws -> TransactionRecord {
        guard let row = try database.query(Self.recordSelect + " WHERE t.txn_ref = ?", [.text(txnRef)]).first else {
            throw StoreError(.invalid, "no transaction \(txnRef)")
        }
        return try Self.decodeRecord(row)
    }

    /// The most recent records, newest first.
    public func records(limit: Int = 100) throws -> [TransactionRecord] {
        try database.query(Self.recordSelect + " ORDER BY t.id DESC LIMIT ?", [.integer(Int64(limit))]).map(Self.decodeRecord)
    }

    /// Records whose sealed values failed to open (``StoreError/Code/tampered``).
    public func tamperedRecords() throws -> [TransactionRecord] {
        try database.query(Self.recordSelect + " WHERE t.tampered = 1 ORDER BY t.id").map(Self.decodeRecord)
    }

    /// Unseals a record's card data.
    /// - Throws: ``StoreError`` `.tampered` when a value does not open: the record is marked `tampered = 1` and an
    ///   audit entry written (FULL) before the error is thrown, and nothing of the record's card data is returned.
    public func cardData(_ id: TransactionID) throws -> CardData {
        guard let row = try database.query(Self.sealedSelect + " WHERE txn_ref = ?", [.text(id.txnRef)]).first else {
            throw StoreError(.invalid, "no transaction \(id.txnRef)")
        }
        return try unsealRow(row)
    }

    // MARK: Store and forward

    /// What the uplink must deliver next: due reversals first (a scheme wants them before any new request), then
    /// queued advices, oldest first, at most `limit` in all, with their card data unsealed. Records that fail to
    /// unseal are marked tampered (with an audit entry), left out of the uploads and listed by
    /// ``tamperedRecords()``; while any exists, ``offlineCheck(amountMinor:currency:rail:kind:)`` refuses.
    public func nextUploads(limit: Int) throws -> [UploadItem] {
        var items: [UploadItem] = []
        let reversals = try database.query(
            "SELECT t.txn_ref, r.attempts, r.reason, EXISTS (SELECT 1 FROM reversal_unusable_responses u WHERE u.txn_id = r.txn_id) FROM reversals r JOIN transactions t ON t.id = r.txn_id WHERE r.state = 'due' AND t.tampered = 0 ORDER BY r.id LIMIT ?",
            [.integer(Int64(limit))])
        let advices = try database.query(
            "SELECT txn_ref, upload_attempts FROM transactions WHERE upload_state = 'queued' AND tampered = 0 ORDER BY id LIMIT ?", [.integer(Int64(limit))])
        for (kind, rows) in [(UploadItem.Kind.reversal, reversals), (.advice, advices)] {
            for row in rows where items.count < limit {
                guard case .text(let ref)? = row.first else { continue }
                let record = try record(txnRef: ref)
                var attempts = 0
                if row.count > 1, case .integer(let n) = row[1] { attempts = Int(n) }
                var reason: ReversalReason?
                if row.count > 2, case .text(let text) = row[2] { reason = ReversalReason(rawValue: text) }
                if row.count > 3, row[3] == .integer(1) { reason = .unusableResponse }
                do {
                    items.append(UploadItem(kind: kind, record: record, card: try cardData(record.id), previousAttempts: attempts, reversalReason: reason))
                } catch let error as StoreError where error.code == .tampered {
                    continue  // marked and audited by cardData; the alarm is the tampered list and the offline refusal
                }
            }
        }
        return items
    }

    /// Notes that an item is about to be sent (NORMAL commit). Call it before sending.
    public func markSent(_ item: UploadItem) throws {
        let now = clock()
        try database.write(durability: .normal) { db in
            let row = try Self.rowID(db, item.id)
            switch item.kind {
            case .reversal:
                try db.query("UPDATE reversals SET state = 'sent', attempts = attempts + 1, updated_at = ? WHERE txn_id = ? AND state = 'due'", [.integer(now), .integer(row)])
            case .advice:
                try db.query("UPDATE transactions SET upload_state = 'sent', upload_attempts = upload_attempts + 1, sent_at = ?, updated_at = ? WHERE id = ? AND upload_state = 'queued'",
                             [.integer(now), .integer(now), .integer(row)])
            }
        }
    }

    /// Records the host's acknowledgement of an item (NORMAL commit). Idempotent: an acknowledgement that arrives
    /// twice, or after a restart re-queued the item, is accepted.
    public func markAcknowledged(_ item: UploadItem) throws {
        let now = clock()
        try database.write(durability: .normal) { db in
            let row = try Self.rowID(db, item.id)
            switch item.kind {
            case .reversal:
                try db.query("UPDATE reversals SET state = 'sent', updated_at = ? WHERE txn_id = ? AND state = 'due'", [.integer(now), .integer(row)])
                try db.query("UPDATE reversals SET state = 'acknowledged', updated_at = ? WHERE txn_id = ? AND state = 'sent'", [.integer(now), .integer(row)])
            case .advice:
                try db.query("UPDATE transactions SET upload_state = 'sent', sent_at = ?, updated_at = ? WHERE id = ? AND upload_state = 'queued'", [.integer(now), .integer(now), .integer(row)])
                try db.query("UPDATE transactions SET upload_state = 'acknowledged', acknowledged_at = ?, updated_at = ? WHERE id = ? AND upload_state = 'sent'",
                             [.integer(now), .integer(now), .integer(row)])
            }
        }
    }

    /// Puts a sent item back in the queue after a failed delivery (NORMAL commit).
    public func markUploadFailed(_ item: UploadItem) throws {
        let now = clock()
        try database.write(durability: .normal) { db in
            let row = try Self.rowID(db, item.id)
            switch item.kind {
            case .reversal:
                try db.query("UPDATE reversals SET state = 'due', updated_at = ? WHERE txn_id = ? AND state = 'sent'", [.integer(now), .integer(row)])
            case .advice:
                try db.query("UPDATE transactions SET upload_state = 'queued', updated_at = ? WHERE id = ? AND upload_state = 'sent'", [.integer(now), .integer(row)])
            }
        }
    }

    /// Offline records waiting for upload (queued or sent) and due or sent reversals.
    public func unsentCounts() throws -> (advices: Int, reversals: Int) {
        let advices = try Self.integer(database.query("SELECT count(*) FROM transactions WHERE upload_state IN ('queued', 'sent')").first?.first)
        let reversals = try Self.integer(database.query("SELECT count(*) FROM reversals WHERE state IN ('due', 'sent')").first?.first)
        return (Int(advices), Int(reversals))
    }

    // MARK: Offline policy and the EMV transaction log

    /// Whether a transaction may be approved offline now, under ``policy`` and the journal's counters.
    public func offlineCheck(amountMinor: Int64, currency: Int, rail: Rail, kind: TransactionKind) throws -> OfflineDecision {
        if [.refund, .void, .topup, .issue].contains(kind) { return .refused(.kindNeverOffline(kind)) }
        guard policy.allowed.contains(.init(rail, kind)) else { return .refused(.notAllowed(rail, kind)) }
        let tampered = try Self.integer(database.query("SELECT count(*) FROM transactions WHERE tampered = 1").first?.first)
        if tampered > 0 { return .refused(.tamperedRecords(count: Int(tampered))) }
        if amountMinor > policy.floorLimitMinor { return .refused(.aboveFloorLimit(limitMinor: policy.floorLimitMinor)) }
        let unsent = try database.query(
            "SELECT count(*), min(created_at) FROM transactions WHERE offline = 1 AND upload_state IN ('queued', 'sent')").first ?? []
        let count = try Self.integer(unsent.first)
        if count >= Int64(policy.maximumUnsentCount) { return .refused(.unsentCountCapReached(cap: policy.maximumUnsentCount)) }
        if case .integer(let oldest)? = unsent.dropFirst().first {
            let age = clock() - oldest
            if age > policy.maximumUnsentAgeSeconds { return .refused(.oldestUnsentTooOld(ageSeconds: age, maximumSeconds: policy.maximumUnsentAgeSeconds)) }
        }
        let amount = try Self.integer(database.query(
            "SELECT coalesce(sum(amount_minor), 0) FROM transactions WHERE offline = 1 AND upload_state IN ('queued', 'sent') AND currency = ?",
            [.integer(Int64(currency))]).first?.first)
        if amount + amountMinor > policy.maximumUnsentAmountMinor {
            return .refused(.unsentAmountCapReached(capMinor: policy.maximumUnsentAmountMinor, unsentMinor: amount))
        }
        return .allowed
    }

    /// The sum of approved (online or offline) sales today with this PAN, in minor units of `currency`: the EMV
    /// transaction log the kernel adds to the amount for floor-limit checking and split-sale detection (EMV Book 3,
    /// 10.6.1). Looked up by the keyed PAN hash; the clear PAN is never compared.
    /// - Parameters:
    ///   - pan: the PAN as ASCII digits.
    ///   - day: days since 1970-01-01 in the terminal's time zone; today when `nil`.
    public func transactionLogTotal(pan: SecretBytes, currency: Int, day: Int64? = nil) throws -> Int64 {
        let hash = try sealer.panHash(pan)
        return try Self.integer(database.query(
            "SELECT coalesce(sum(amount_minor), 0) FROM transactions WHERE pan_hash = ? AND business_day = ? AND currency = ? AND kind = 'sale' AND status IN ('approved', 'offline-approved')",
            [.blob(hash), .integer(day ?? today()), .integer(Int64(currency))]).first?.first)
    }

    /// Today in the terminal's time zone, as days since 1970-01-01.
    public func today() -> Int64 {
        let local = clock() + utcOffsetSeconds
        return local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
    }

    // MARK: Batches

    /// The number of the open batch.
    public func openBatch() throws -> Int {
        Int(try Self.integer(database.query("SELECT number FROM batches WHERE state = 'open'").first?.first))
    }

    /// Totals of `batch` (the open batch when `nil`) per rail, kind and currency.
    public func totals(batch: Int? = nil) throws -> BatchTotals {
        let number = try batch ?? openBatch()
        let rows = try database.query(
            """
            SELECT rail, kind, currency, count(*), sum(amount_minor) FROM transactions
            WHERE batch = ? AND status IN ('approved', 'offline-approved') GROUP BY rail, kind, currency ORDER BY rail, kind, currency
            """, [.integer(Int64(number))])
        let lines = try rows.map { row -> BatchTotals.Line in
            guard row.count == 5, case .text(let r) = row[0], let rail = Rail(rawValue: r), case .text(let k) = row[1],
                let kind = TransactionKind(rawValue: k)
            else { throw StoreError(.corrupt, "a totals row is malformed") }
            return .init(rail: rail, kind: kind, currency: Int(try Self.integer(row[2])), count: Int(try Self.integer(row[3])), amountMinor: try Self.integer(row[4]))
        }
        return BatchTotals(batch: number, lines: lines)
    }

    /// Closes the open batch and opens the next one in one FULL commit (with an audit entry).
    /// - Returns: the totals of the closed batch.
    @discardableResult
    public func closeBatch(actor: String = "terminal") throws -> BatchTotals {
        let now = clock()
        let closed = try database.write(durability: .full) { db -> Int in
            let number = Int(try Self.integer(db.query("SELECT number FROM batches WHERE state = 'open'").first?.first))
            try db.query("UPDATE batches SET state = 'closed', closed_at = ? WHERE number = ?", [.integer(now), .integer(Int64(number))])
            let next = number % 999_999 + 1
            try db.query("INSERT INTO batches (number, state, opened_at) VALUES (?, 'open', ?)", [.integer(Int64(next)), .integer(now)])
            try Self.appendAudit(db, now, actor, "batch-close", "batch \(number) closed, batch \(next) opened")
            return number
        }
        return try totals(batch: closed)
    }

    /// Records that the host settled a closed batch: its acknowledged and online records become `settled` (and
    /// purgeable after the retention period).
    public func markSettled(batch: Int) throws {
        let now = clock()
        try database.write(durability: .full) { db in
            let state = try db.query("SELECT state FROM batches WHERE number = ?", [.integer(Int64(batch))]).first?.first
            guard state == .text("closed") || state == .text("settled") else { throw StoreError(.invalid, "batch \(batch) is not closed") }
            try db.query("UPDATE batches SET state = 'settled' WHERE number = ?", [.integer(Int64(batch))])
            try db.query("UPDATE transactions SET upload_state = 'settled', updated_at = ? WHERE batch = ? AND upload_state IN ('acknowledged', 'none') AND status <> 'pending'",
                         [.integer(now), .integer(Int64(batch))])
        }
    }

    /// Deletes records older than ``OfflinePolicy/retentionSeconds`` that are settled, or declined or failed
    /// with nothing left to send; never an unsent record, a record with an open reversal, or a tampered one.
    /// `secure_delete` overwrites the freed bytes. One FULL commit with an audit entry.
    /// - Returns: how many records were deleted.
    @discardableResult
    public func purge(actor: String = "terminal") throws -> Int {
        let now = clock()
        let cutoff = now - policy.retentionSeconds
        return try database.write(durability: .full) { db in
            let deleted = try db.query(
                """
                DELETE FROM transactions WHERE created_at < ? AND tampered = 0
                AND (upload_state = 'settled' OR (upload_state = 'none' AND status IN ('declined', 'failed')))
                AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.txn_id = transactions.id AND r.state IN ('armed', 'due', 'sent'))
                RETURNING id
                """, [.integer(cutoff)]).count
            if deleted > 0 { try Self.appendAudit(db, now, actor, "purge", "\(deleted) records older than \(policy.retentionSeconds) s") }
            return deleted
        }
    }

    // MARK: Parameters and audit

    /// Installs a version of a parameter set (EMV tables, host settings); versions only go up. FULL, audited.
    public func installParameters(_ name: String, version: Int, content: [UInt8], actor: String) throws {
        let now = clock()
        try database.write(durability: .full) { db in
            let current = try db.query("SELECT max(version) FROM parameters WHERE name = ?", [.text(name)]).first?.first
            if case .integer(let v)? = current, v >= Int64(version) {
                throw StoreError(.invalid, "parameters '\(name)' version \(version) is not newer than \(v)")
            }
            try db.query("INSERT INTO parameters (name, version, content, installed_at) VALUES (?, ?, ?, ?)",
                         [.text(name), .integer(Int64(version)), .blob(content), .integer(now)])
            try Self.appendAudit(db, now, actor, "parameters", "\(name) version \(version) installed (\(content.count) bytes)")
        }
    }

    /// The newest version of a parameter set, or `nil`.
    public func parameters(_ name: String) throws -> (version: Int, content: [UInt8])? {
        let row = try database.query("SELECT version, content FROM parameters WHERE name = ? ORDER BY version DESC LIMIT 1", [.text(name)]).first
        guard let row, row.count == 2, case .integer(let version) = row[0], case .blob(let content) = row[1] else { return nil }
        return (Int(version), content)
    }

    /// One entry of the audit log.
    public struct AuditEntry: Sendable, Equatable {
        public var at: Int64
        public var actor: String
        public var action: String
        public var detail: String
    }

    /// Appends an administrative action to the audit log (FULL). `detail` must not hold card data or keys.
    public func audit(actor: String, action: String, detail: String) throws {
        let now = clock()
        try database.write(durability: .full) { db in try Self.appendAudit(db, now, actor, action, detail) }
    }

    /// Saves `settings` (key, value) and appends one audit entry, in one FULL transaction: after a crash either all of
    /// it is on disk or none (the merchant password's hash, salt and failure count change together with their audit
    /// entry). `detail` must not hold secrets, card data or keys.
    /// - Throws: ``StoreError`` when the transaction fails (nothing was saved).
    public func saveSettings(_ settings: KeyValuePairs<String, String>, auditActor actor: String, action: String, detail: String) throws {
        let now = clock()
        try database.write(durability: .full) { db in
            for (key, value) in settings {
                try db.query(
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [.text(key), .text(value)])
            }
            try Self.appendAudit(db, now, actor, action, detail)
        }
    }

    /// The newest audit entries, oldest first.
    public func auditLog(limit: Int = 100) throws -> [AuditEntry] {
        try database.query("SELECT at, actor, action, detail FROM (SELECT * FROM audit_log ORDER BY id DESC LIMIT ?) ORDER BY id", [.integer(Int64(limit))]).map { row in
            guard row.count == 4, case .integer(let at) = row[0], case .text(let actor) = row[1], case .text(let action) = row[2], case .text(let detail) = row[3] else {
                throw StoreError(.corrupt, "an audit row is malformed")
            }
            return AuditEntry(at: at, actor: actor, action: action, detail: detail)
        }
    }

    // MARK: Internals

    /// The sealed columns, in the order of ``sealedSelect``.
    static let sealedColumns = ["pan_sealed", "track2_sealed", "holder_sealed", "field55_sealed", "qr_code_sealed", "card_id_sealed"]
    static let sealedSelect = "SELECT id, txn_ref, tampered, " + sealedColumns.joined(separator: ", ") + " FROM transactions"

    private func insert(_ draft: TransactionDraft, armReversal: Bool) throws -> TransactionID {
        guard draft.amountMinor >= 0, (1...999).contains(draft.currency) else { throw StoreError(.invalid, "amount or currency out of range") }
        let ref = try draft.txnRef ?? newReference()
        guard (8...64).contains(ref.utf8.count), ref.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw StoreError(.invalid, "a txn_ref is 8 to 64 printable ASCII characters")
        }
        var panColumns: [Database.Value] = [.null, .null, .null]
        if let pan = draft.card.pan {
            guard let view = PANView(pan) else { throw StoreError(.invalid, "a PAN is 12 to 19 digits") }
            panColumns = [.text(view.masked), .text(view.last4), .blob(try sealer.panHash(pan))]
        }
        let card = draft.card
        var sealed: [Database.Value] = []
        for (column, value) in zip(Self.sealedColumns, [card.pan, card.track2Equivalent, card.cardholderName, card.field55, card.qrAuthCode, card.prepaidCardID]) {
            sealed.append(try value.map { .blob(try sealer.seal($0, rowKey: ref, column: column)) } ?? .null)
        }
        let now = clock()
        let day = today()
        return try database.write(durability: .full) { db in
            let stan = try Self.integer(db.query("UPDATE counters SET value = value % 999999 + 1 WHERE name = 'stan' RETURNING value").first?.first)
            let batch = try Self.integer(db.query("SELECT number FROM batches WHERE state = 'open'").first?.first)
            let row = try db.query(
                """
                INSERT INTO transactions (txn_ref, rail, kind, amount_minor, currency, status, upload_state, stan, batch, business_day,
                    original_txn_ref, pan_masked, pan_last4, pan_hash, pan_sealed, track2_sealed, holder_sealed, field55_sealed,
                    qr_code_sealed, card_id_sealed, aid, app_label, entry_mode, signature_required, offline, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'pending', 'none', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [.text(ref), .text(draft.rail.rawValue), .text(draft.kind.rawValue), .integer(draft.amountMinor), .integer(Int64(draft.currency)),
                 .integer(stan), .integer(batch), .integer(day), Self.text(draft.originalTxnRef)] + panColumns + sealed
                    + [Self.text(draft.aid), Self.text(draft.applicationLabel), .text(draft.entryMode.rawValue),
                       .integer(draft.signatureRequired ? 1 : 0), .integer(armReversal ? 0 : 1), .integer(now), .integer(now)])
            if armReversal {
                try db.query("INSERT INTO reversals (txn_id, state, created_at, updated_at) VALUES (?, 'armed', ?, ?)",
                             [.integer(try Self.integer(row.first?.first)), .integer(now), .integer(now)])
            }
            return TransactionID(txnRef: ref, stan: Int(stan), batch: Int(batch))
        }
    }

    /// A fresh txn_ref: "T" and 24 hex digits of randomness (96 bits: no collision in a terminal's life).
    private func newReference() throws -> String {
        let bytes = try random.bytes(12)
        let digits = Array("0123456789ABCDEF")
        return "T" + String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    private func unsealRow(_ row: [Database.Value]) throws -> CardData {
        guard row.count == 3 + Self.sealedColumns.count, case .integer(let id) = row[0], case .text(let ref) = row[1] else {
            throw StoreError(.corrupt, "a transaction row is malformed")
        }
        if row[2] == .integer(1) { throw StoreError(.tampered, "\(ref) is marked tampered: its card data is not released") }
        var values: [SecretBytes?] = []
        for (index, column) in Self.sealedColumns.enumerated() {
            switch row[3 + index] {
            case .null: values.append(nil)
            case .blob(let sealed):
                guard let value = sealer.open(sealed, rowKey: ref, column: column) else {
                    try markTampered(id, ref, column)
                    throw StoreError(.tampered, "\(ref): \(column) failed its integrity check; the record is marked tampered")
                }
                values.append(value)
            default:
                try markTampered(id, ref, column)
                throw StoreError(.tampered, "\(ref): \(column) is not a sealed value; the record is marked tampered")
            }
        }
        return CardData(pan: values[0], track2Equivalent: values[1], cardholderName: values[2], field55: values[3], qrAuthCode: values[4], prepaidCardID: values[5])
    }

    private func markTampered(_ id: Int64, _ ref: String, _ column: String) throws {
        let now = clock()
        try database.write(durability: .full) { db in
            try db.query("UPDATE transactions SET tampered = 1, updated_at = ? WHERE id = ?", [.integer(now), .integer(id)])
            try Self.appendAudit(db, now, "journal", "tamper-detected", "\(ref) \(column)")
        }
    }

    static let recordSelect = """
        SELECT t.txn_ref, t.stan, t.batch, t.rail, t.kind, t.amount_minor, t.currency, t.status, t.upload_state, t.entry_mode,
               t.pan_masked, t.pan_last4, t.aid, t.app_label, t.auth_code, t.response_code, t.rrn, t.signature_required,
               t.offline, t.tampered, t.original_txn_ref, r.state, t.created_at, t.updated_at
        FROM transactions t LEFT JOIN reversals r ON r.txn_id = t.id
        """

    static func decodeRecord(_ row: [Database.Value]) throws -> TransactionRecord {
        func text(_ i: Int) -> String? { if case .text(let s) = row[i] { return s } else { return nil } }
        func int(_ i: Int) -> Int64? { if case .integer(let n) = row[i] { return n } else { return nil } }
        guard row.count == 24, let ref = text(0), let stan = int(1), let batch = int(2), let rail = text(3).flatMap(Rail.init),
            let kind = text(4).flatMap(TransactionKind.init), let amount = int(5), let currency = int(6),
            let status = text(7).flatMap(TransactionStatus.init), let upload = text(8).flatMap(UploadState.init),
            let entry = text(9).flatMap(EntryMode.init), let created = int(22), let updated = int(23)
        else { throw StoreError(.corrupt, "a transaction row is malformed") }
        return TransactionRecord(
            id: TransactionID(txnRef: ref, stan: Int(stan), batch: Int(batch)), rail: rail, kind: kind, amountMinor: amount,
            currency: Int(currency), status: status, uploadState: upload, entryMode: entry, maskedPAN: text(10), panLast4: text(11),
            aid: text(12), applicationLabel: text(13), authorizationCode: text(14), responseCode: text(15), retrievalReferenceNumber: text(16),
            signatureRequired: int(17) == 1, offline: int(18) == 1, tampered: int(19) == 1, originalTxnRef: text(20),
            reversal: text(21).flatMap(ReversalState.init), createdAt: created, updatedAt: updated)
    }

    private static func rowID(_ db: Database, _ id: TransactionID) throws -> Int64 {
        guard case .integer(let row)? = try db.query("SELECT id FROM transactions WHERE txn_ref = ?", [.text(id.txnRef)]).first?.first else {
            throw StoreError(.invalid, "no transaction \(id.txnRef)")
        }
        return row
    }

    private static func pendingRow(_ db: Database, _ id: TransactionID) throws -> Int64 {
        let row = try db.query("SELECT id, status FROM transactions WHERE txn_ref = ?", [.text(id.txnRef)]).first
        guard let row, row.count == 2, case .integer(let rowID) = row[0] else { throw StoreError(.invalid, "no transaction \(id.txnRef)") }
        guard row[1] == .text("pending") else { throw StoreError(.invalid, "\(id.txnRef) is not pending") }
        return rowID
    }

    private static func makeReversalDue(_ db: Database, _ row: Int64, _ reason: ReversalReason, _ now: Int64) throws {
        // `unusable-response` is not in the reversals table's CHECK: it is kept as `no-response` and a row of
        // `reversal_unusable_responses` (migration 0006) says which message reason the reversal gives.
        let stored = reason == .unusableResponse ? ReversalReason.noResponse : reason
        let state = try db.query("SELECT state FROM reversals WHERE txn_id = ?", [.integer(row)]).first?.first
        switch state {
        case nil:
            try db.query("INSERT INTO reversals (txn_id, state, reason, created_at, updated_at) VALUES (?, 'due', ?, ?, ?)",
                         [.integer(row), .text(stored.rawValue), .integer(now), .integer(now)])
        case .text("armed")?:
            try db.query("UPDATE reversals SET state = 'due', reason = ?, updated_at = ? WHERE txn_id = ?", [.text(stored.rawValue), .integer(now), .integer(row)])
        case .text("disarmed")?:
            // An approval cancelled later: a fresh reversal replaces the disarmed one.
            try db.query("DELETE FROM reversals WHERE txn_id = ?", [.integer(row)])
            try db.query("INSERT INTO reversals (txn_id, state, reason, created_at, updated_at) VALUES (?, 'due', ?, ?, ?)",
                         [.integer(row), .text(stored.rawValue), .integer(now), .integer(now)])
        default:
            return  // already due, sent or acknowledged
        }
        if reason == .unusableResponse {
            try db.query("INSERT OR IGNORE INTO reversal_unusable_responses (txn_id) VALUES (?)", [.integer(row)])
        } else {
            try db.query("DELETE FROM reversal_unusable_responses WHERE txn_id = ?", [.integer(row)])
        }
    }

    private static func appendAudit(_ db: Database, _ now: Int64, _ actor: String, _ action: String, _ detail: String) throws {
        try db.query("INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)", [.integer(now), .text(actor), .text(action), .text(detail)])
    }

    private static func checkCodes(auth: String?, rc: String?, rrn: String?) throws {
        if let auth, !(1...6).contains(auth.utf8.count) { throw StoreError(.invalid, "an authorization code is 1 to 6 characters") }
        if let rc, rc.utf8.count != 2 { throw StoreError(.invalid, "a response code is 2 characters") }
        if let rrn, !(1...12).contains(rrn.utf8.count) { throw StoreError(.invalid, "an RRN is 1 to 12 characters") }
    }

    private static func text(_ value: String?) -> Database.Value { value.map { .text($0) } ?? .null }

    static func integer(_ value: Database.Value?) throws -> Int64 {
        guard case .integer(let n)? = value else { throw StoreError(.corrupt, "an integer was expected") }
        return n
    }
}

@available(*, unavailable)
extension TransactionJournal: Sendable {}
