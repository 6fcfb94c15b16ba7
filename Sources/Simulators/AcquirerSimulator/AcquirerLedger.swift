public import Store

/// The acquirer simulator's books, in SQLite: every message it answered (by idempotency key and message class, so a
/// repeat gets the first answer and is never applied twice) and every financial effect (a charge, its reversal, an
/// offline advice), so tests can assert "charged once".
public final class AcquirerLedger {
    public let database: Database

    static let migrations: [Migration] = [
        Migration(
            "0001-ledger",
            """
            CREATE TABLE answered (
                idempotency_key TEXT NOT NULL,
                message_class TEXT NOT NULL CHECK (length(message_class) = 3),
                response BLOB NOT NULL,
                PRIMARY KEY (idempotency_key, message_class)
            ) STRICT;
            CREATE TABLE entries (
                id INTEGER PRIMARY KEY,
                idempotency_key TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('authorization', 'advice', 'reversal', 'settlement', 'network')),
                mti TEXT NOT NULL,
                amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
                currency TEXT NOT NULL,
                masked_pan TEXT,
                response_code TEXT NOT NULL,
                authorization_code TEXT,
                reason TEXT NOT NULL,
                reversed INTEGER NOT NULL DEFAULT 0 CHECK (reversed IN (0, 1))
            ) STRICT;
            CREATE INDEX entries_key ON entries (idempotency_key);
            """
        ),
        qrMigration,
        Migration("0003-settlement", AcquirerLedger.settlementSchema),
    ] + PrepaidLedger.migrations

    /// Opens (or creates) the ledger at `path` (`:memory:` for a throw-away one).
    public init(path: String) throws {
        database = try Database(path: path)
        try database.migrate(Self.migrations)
    }

    /// The answer already given to this key and message class, if any.
    public func answered(key: String, messageClass: String) throws -> [UInt8]? {
        let rows = try database.query(
            "SELECT response FROM answered WHERE idempotency_key = ? AND message_class = ?", [.text(key), .text(messageClass)])
        guard case .blob(let bytes)? = rows.first?.first else { return nil }
        return bytes
    }

    /// Records an answer that has no effect of its own (a duplicate under another class of the same transaction).
    public func recordAnswer(key: String, messageClass: String, response: [UInt8]) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                "INSERT INTO answered (idempotency_key, message_class, response) VALUES (?, ?, ?)",
                [.text(key), .text(messageClass), .blob(response)])
        }
    }

    /// Records an answer and its effect in one transaction.
    public func record(
        key: String, messageClass: String, response: [UInt8], kind: String, mti: String, amount: Int, currency: String,
        maskedPAN: String?, responseCode: String, authorizationCode: String?, reason: String,
        processingCode: String? = nil, terminalID: String? = nil, batch: Int? = nil
    ) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                "INSERT INTO answered (idempotency_key, message_class, response) VALUES (?, ?, ?)",
                [.text(key), .text(messageClass), .blob(response)])
            if kind == "reversal" {
                try db.query("UPDATE entries SET reversed = 1 WHERE idempotency_key = ? AND kind IN ('authorization', 'advice')", [.text(key)])
            }
            try db.query(
                """
                INSERT INTO entries (idempotency_key, kind, mti, amount_minor, currency, masked_pan, response_code, authorization_code, reason,
                    processing_code, terminal_id, batch)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(key), .text(kind), .text(mti), .integer(Int64(amount)), .text(currency), maskedPAN.map { .text($0) } ?? .null,
                 .text(responseCode), authorizationCode.map { .text($0) } ?? .null, .text(reason),
                 processingCode.map { .text($0) } ?? .null, terminalID.map { .text($0) } ?? .null, batch.map { .integer(Int64($0)) } ?? .null])
        }
    }

    /// One line of the books.
    public struct Entry: Sendable, Equatable {
        public var idempotencyKey: String
        public var kind: String
        public var mti: String
        public var amount: Int
        public var maskedPAN: String?
        public var responseCode: String
        public var reversed: Bool
    }

    public func entries() throws -> [Entry] {
        try database.query("SELECT idempotency_key, kind, mti, amount_minor, masked_pan, response_code, reversed FROM entries ORDER BY id").map { row in
            func text(_ i: Int) -> String? { if case .text(let t) = row[i] { return t } else { return nil } }
            func int(_ i: Int) -> Int { if case .integer(let n) = row[i] { return Int(n) } else { return 0 } }
            return Entry(
                idempotencyKey: text(0) ?? "", kind: text(1) ?? "", mti: text(2) ?? "", amount: int(3), maskedPAN: text(4),
                responseCode: text(5) ?? "", reversed: int(6) != 0)
        }
    }

    /// The net charge of the books: approved authorisations and advices (QR payments too) not reversed, less QR
    /// refunds and card refunds (booked with the reason "refund of …"), in minor units.
    public func netCharged() throws -> Int {
        let rows = try database.query(
            "SELECT coalesce(sum(CASE WHEN reason LIKE 'refund of %' THEN -amount_minor ELSE amount_minor END), 0) - (SELECT coalesce(sum(amount_minor), 0) FROM qr_refunds) FROM entries WHERE kind IN ('authorization', 'advice') AND response_code IN ('00', 'Y1', 'Y3') AND reversed = 0")
        if case .integer(let n)? = rows.first?.first { return Int(n) }
        return 0
    }
}
