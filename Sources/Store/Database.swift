internal import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One SQLite database file, opened once for the life of the process (one writer; STYLE B10).
///
/// Every write runs in an explicit transaction (``write(durability:_:)``). Values are always bound as parameters.
public final class Database {
    /// How hard a commit waits for the disk.
    public enum Durability: Sendable {
        /// `synchronous=FULL`: the commit is on stable storage when `write` returns. For commits that gate an
        /// external effect (showing or printing APPROVED).
        case full
        /// `synchronous=NORMAL` in WAL mode: durable against a process crash, maybe not a power cut. For
        /// bookkeeping that is idempotent to redo (upload state).
        case normal
    }

    /// A value bound to or read from a statement.
    public enum Value: Sendable, Equatable {
        case null
        case integer(Int64)
        case text(String)
        case blob([UInt8])
    }

    private let handle: OpaquePointer
    public let path: String
    private var synchronous: Durability?

    /// Opens (creating if needed) the database at `path` in WAL mode with foreign keys on.
    public init(path: String) throws(StoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw StoreError(.open, "cannot open \(path): \(message)")
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 1)
        try execute("PRAGMA foreign_keys = ON")
        // Deleted rows (purged card data) are overwritten with zeros, not left in free pages.
        try execute("PRAGMA secure_delete = ON")
        let mode = try query("PRAGMA journal_mode = WAL").first?.first
        guard mode == .text("wal") else { throw StoreError(.open, "\(path): WAL mode refused (\(String(describing: mode)))") }
    }

    /// The SQLite library's version (`sqlite3_libversion`).
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    /// Whether SQLite opened the file read-only (a read-only file or file system): reads work, every write
    /// fails with ``StoreError/Code/readOnly`` (`sqlite3_db_readonly`).
    public var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    /// Rows changed by the last INSERT, UPDATE or DELETE (`sqlite3_changes`).
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Caps the file at `pages` pages (`PRAGMA max_page_count`): a write that needs more fails as
    /// ``StoreError/Code/diskFull``, exactly as on a full disk. For tests and the stress tool.
    package func limitPageCount(_ pages: Int) throws(StoreError) {
        try query("PRAGMA max_page_count = \(pages)")
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs SQL without results (several statements allowed, no parameters).
    public func execute(_ sql: String) throws(StoreError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, "execute") }
    }

    /// Runs one statement with parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [Value] = []) throws(StoreError) -> [[Value]] {
        var statement: OpaquePointer?
        var rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, "prepare") }
        defer { sqlite3_finalize(statement) }
        for (i, value) in parameters.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let n): rc = sqlite3_bind_int64(statement, index, n)
            case .text(let s): rc = sqlite3_bind_text(statement, index, s, -1, transientDestructor)
            case .blob(let b):
                rc = b.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), transientDestructor) }
            }
            guard rc == SQLITE_OK else { throw error(rc, "bind") }
        }
        var rows: [[Value]] = []
        while true {
            rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc, "step") }
            var row: [Value] = []
            for column in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_TEXT: row.append(.text(String(cString: sqlite3_column_text(statement, column))))
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    let bytes = sqlite3_column_blob(statement, column).map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
                    row.append(.blob(bytes))
                case SQLITE_NULL: row.append(.null)
                default: row.append(.text(String(cString: sqlite3_column_text(statement, column))))
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if it throws.
    @discardableResult
    public func write<R>(durability: Durability = .full, _ body: (Database) throws -> R) throws -> R {
        if synchronous != durability {
            try execute(durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            synchronous = durability
        }
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body(self)
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    private func error(_ rc: Int32, _ step: String) -> StoreError {
        let code: StoreError.Code
        switch rc & 0xFF {
        case SQLITE_CONSTRAINT: code = .constraint
        case SQLITE_FULL: code = .diskFull
        case SQLITE_READONLY: code = .readOnly
        case SQLITE_CORRUPT, SQLITE_NOTADB: code = .corrupt
        case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
        case SQLITE_IOERR: code = .io
        case SQLITE_CANTOPEN where access(path, W_OK) != 0 && access(path, F_OK) == 0: code = .readOnly
        default: code = .sqlite
        }
        // The message names the SQL step and SQLite's text; bound values are never part of it.
        return StoreError(code, "\(step): \(String(cString: sqlite3_errmsg(handle))) (\(rc))")
    }
}

/// SQLITE_TRANSIENT: SQLite copies the bound bytes before the bind call returns.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// An error of the store. It never carries a bound value (card data stays out of logs).
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case open, sqlite, constraint, diskFull, corrupt, busy, migration, io
        /// The file or its file system is read-only (`SQLITE_READONLY`): nothing new can be stored.
        case readOnly
        /// A sealed value does not open under the data key with its row's associated data: the record is marked
        /// `tampered = 1` and an audit entry written; its card data is never returned.
        case tampered
        /// The data key is not the key this database was sealed with (key check value mismatch).
        case wrongKey
        /// A value the caller gave breaks a rule of the journal (a PAN that is not 12–19 digits, an unknown
        /// transaction, a transition out of order).
        case invalid
    }
    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func == (a: StoreError, b: StoreError) -> Bool { a.code == b.code }
    public var description: String { "store error (\(code)): \(reason)" }
}
