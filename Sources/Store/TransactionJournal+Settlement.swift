// What settlement needs from the journal (docs/host-interface.md §4.7, docs/merchant-operations.md): the records of a
// batch, a STAN for messages that are not transactions (0500), and the batch's close once the host has settled it.

extension TransactionJournal {
    /// A fresh system trace audit number (field 11) for a message that is not a transaction of its own (the 0500
    /// settlement request). NORMAL commit: a STAN lost to a power cut is only skipped.
    public func nextSTAN() throws -> Int {
        Int(try store.database.write(durability: .normal) { db in
            try Self.integer(db.query("UPDATE counters SET value = value % 999999 + 1 WHERE name = 'stan' RETURNING value").first?.first)
        })
    }

    /// The approved (online or offline) records of `batch`, oldest first: what a batch upload (0320) sends and the
    /// totals count.
    public func approvedRecords(batch: Int) throws -> [TransactionRecord] {
        try store.database.query(
            Self.recordSelect + " WHERE t.batch = ? AND t.status IN ('approved', 'offline-approved') ORDER BY t.id", [.integer(Int64(batch))]
        ).map(Self.decodeRecord)
    }

    /// Closes `batch` after the host settled it, in one FULL commit: the batch becomes `settled`, the next one opens
    /// (999999 wraps to 1), the batch's acknowledged and online records become `settled`, and an audit entry names
    /// how it was settled. Nothing happens when `batch` is not the open batch (a settlement repeated after a crash).
    /// - Returns: the number of the open batch afterwards.
    @discardableResult
    public func settleBatch(_ batch: Int, actor: String, detail: String, now: Int64) throws -> Int {
        try store.database.write(durability: .full) { db in
            let open = Int(try Self.integer(db.query("SELECT number FROM batches WHERE state = 'open'").first?.first))
            guard open == batch else { return open }
            let next = batch % 999_999 + 1
            try db.query("UPDATE batches SET state = 'settled', closed_at = ? WHERE number = ?", [.integer(now), .integer(Int64(batch))])
            try db.query("INSERT INTO batches (number, state, opened_at) VALUES (?, 'open', ?)", [.integer(Int64(next)), .integer(now)])
            try db.query(
                "UPDATE transactions SET upload_state = 'settled', updated_at = ? WHERE batch = ? AND upload_state IN ('acknowledged', 'none') AND status <> 'pending'",
                [.integer(now), .integer(Int64(batch))])
            try db.query("INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                         [.integer(now), .text(actor), .text("batch-settle"), .text("batch \(batch) settled (\(detail)), batch \(next) opened")])
            return next
        }
    }
}

extension UploadItem {
    /// An item for a message about `record` outside the queue (a batch upload, 0320).
    public init(kind: Kind, record: TransactionRecord, card: CardData) {
        self.init(kind: kind, record: record, card: card, previousAttempts: 0, reversalReason: nil)
    }
}
