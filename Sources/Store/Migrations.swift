/// Named, append-only schema migrations (STYLE B10). A migration that has shipped is never edited; a change is a
/// new migration at the end.
///
/// A firmware update may be rolled back (docs/update-package.md), so the previous version must still open the store
/// the new one migrated, or the migration must wait until the new version is committed. Every migration says which:
/// - ``Compatibility/additive`` — a new table, index or nullable column that older firmware simply does not use.
///   It is applied at once; an older firmware that finds it in `schema_migrations` opens the store anyway.
/// - ``Compatibility/breaking`` — anything older firmware could misread (a rewritten or dropped column, a changed
///   meaning, a new constraint on old data). While the running version is in its health check it is **held**: it
///   and every migration after it wait until the commit (``Database/migrate(_:holdingBreaking:)``). An older firmware
///   refuses a store that has it: it was written by a newer version.
public struct Migration: Sendable {
    /// Whether a firmware that does not know this migration may still open a store that has it.
    public enum Compatibility: Sendable, Equatable {
        /// Older firmware may open the store: only new tables, indexes or nullable columns.
        case additive
        /// Older firmware must not open the store; held until the running version is committed.
        case breaking
    }

    public var name: String
    public var sql: String
    public var compatibility: Compatibility

    /// A migration; `compatibility` defaults to `.breaking`, the safe side (held during a health check, refused by
    /// older firmware). Say `.additive` only for what older firmware can ignore.
    public init(_ name: String, _ sql: String, compatibility: Compatibility = .breaking) {
        self.name = name
        self.sql = sql
        self.compatibility = compatibility
    }
}

extension Database {
    /// Applies the migrations not applied yet, each in its own transaction, in order, and returns the names of those
    /// held back. With `holdingBreaking` (the running firmware is not committed yet) the first ``Migration/Compatibility/breaking``
    /// migration not applied yet, and every one after it, is held: the schema must stay one the committed firmware
    /// opens. They are applied by a later call without `holdingBreaking`, once the version is committed. A new store
    /// (no migration applied yet) holds nothing.
    /// - Throws: ``StoreError`` `.migration` when the store has a breaking migration this firmware does not know (it
    ///   was written by a newer version), or a migration fails (its transaction is rolled back).
    @discardableResult
    public func migrate(_ migrations: [Migration], holdingBreaking: Bool = false) throws -> [String] {
        try execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL, older_versions_may_open INTEGER NOT NULL DEFAULT 0)")
        // Stores created before the column existed get it, with 0 (breaking) for the rows they have.
        let columns = try query("PRAGMA table_info(schema_migrations)").compactMap { row -> String? in
            if row.count > 1, case .text(let name) = row[1] { return name }
            return nil
        }
        if !columns.contains("older_versions_may_open") {
            try write(durability: .full) { db in
                try db.execute("ALTER TABLE schema_migrations ADD COLUMN older_versions_may_open INTEGER NOT NULL DEFAULT 0")
            }
        }
        var applied: Set<String> = []
        var unknownBreaking: [String] = []
        let known = Set(migrations.map(\.name))
        for row in try query("SELECT name, older_versions_may_open FROM schema_migrations ORDER BY name") {
            guard case .text(let name)? = row.first else { continue }
            applied.insert(name)
            if !known.contains(name), case .integer(let mayOpen)? = row.dropFirst().first, mayOpen == 0 { unknownBreaking.append(name) }
        }
        if let unknown = unknownBreaking.first {
            throw StoreError(.migration, "the database has migration '\(unknown)', which this firmware does not know and cannot safely ignore: it was written by a newer version")
        }
        // A new store holds nothing an older firmware wrote: there is nothing to protect, and holding its first
        // migrations would leave the running firmware without a schema.
        let hold = holdingBreaking && !applied.isEmpty
        var held: [String] = []
        for migration in migrations where !applied.contains(migration.name) {
            if hold, !held.isEmpty || migration.compatibility == .breaking {
                held.append(migration.name)
                continue
            }
            try write(durability: .full) { db in
                try db.execute(migration.sql)
                try db.query(
                    "INSERT INTO schema_migrations (name, applied_at, older_versions_may_open) VALUES (?, strftime('%s','now'), ?)",
                    [.text(migration.name), .integer(migration.compatibility == .additive ? 1 : 0)])
            }
        }
        return held
    }
}
