/// The terminal's store: settings and the transaction journal every payment rail writes to.
///
/// This is the part the runtime needs (settings, the count of transactions waiting for upload); the encrypted
/// journal with store-and-forward (``TransactionJournal``) builds on the same file and migrations.
public final class TerminalStore {
    public let database: Database

    /// The schema, in order. Append only.
    public static let migrations: [Migration] = [
        Migration(
            "0001-settings",
            """
            CREATE TABLE settings (
                key TEXT PRIMARY KEY NOT NULL CHECK (length(key) > 0),
                value TEXT NOT NULL
            ) STRICT;
            """,
            compatibility: .additive
        ),
        Migration(
            "0002-transactions",
            """
            CREATE TABLE transactions (
                id INTEGER PRIMARY KEY,
                -- The idempotency key the host uses to drop duplicates; unique for the life of the terminal.
                txn_ref TEXT NOT NULL UNIQUE CHECK (length(txn_ref) BETWEEN 8 AND 64),
                rail TEXT NOT NULL CHECK (rail IN ('emv-contact', 'emv-contactless', 'qr', 'prepaid')),
                kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund', 'void', 'balance', 'topup', 'issue')),
                amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
                currency INTEGER NOT NULL CHECK (currency BETWEEN 1 AND 999),
                status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'offline-approved', 'declined', 'reversed', 'failed')),
                upload_state TEXT NOT NULL CHECK (upload_state IN ('none', 'queued', 'sent', 'acknowledged')),
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX transactions_upload ON transactions (upload_state) WHERE upload_state IN ('queued', 'sent');
            """,
            compatibility: .additive
        ),
        journalMigration,
        terminalManagementMigration,
        itemReturnsMigration,
        reversalUnusableResponseMigration,
    ]

    /// Migrations held until the running firmware is committed (``init(path:holdingBreakingMigrations:)``).
    public private(set) var heldMigrations: [String] = []

    /// Opens the store at `path` and brings its schema up to date. With `holdingBreakingMigrations` (the running
    /// firmware is in its health check and may still be rolled back) breaking migrations wait in
    /// ``heldMigrations`` until ``applyHeldMigrations()``; the previous firmware can still open the store meanwhile.
    public init(path: String, holdingBreakingMigrations: Bool = false) throws {
        database = try Database(path: path)
        heldMigrations = try database.migrate(Self.migrations, holdingBreaking: holdingBreakingMigrations)
    }

    /// Applies the migrations held at opening, once the running firmware is committed.
    public func applyHeldMigrations() throws {
        heldMigrations = try database.migrate(Self.migrations)
    }

    /// A setting, or `nil` when unset.
    public func setting(_ key: String) throws -> String? {
        guard case .text(let value)? = try database.query("SELECT value FROM settings WHERE key = ?", [.text(key)]).first?.first else { return nil }
        return value
    }

    /// Saves a setting.
    public func setSetting(_ key: String, _ value: String) throws {
        try database.write(durability: .full) { db in
            try db.query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [.text(key), .text(value)])
        }
    }

    /// Transactions the host has not acknowledged yet (offline approvals waiting for upload, advices in flight).
    public func unsentCount() throws -> Int {
        guard case .integer(let n)? = try database.query("SELECT count(*) FROM transactions WHERE upload_state IN ('queued', 'sent')").first?.first else { return 0 }
        return Int(n)
    }
}
