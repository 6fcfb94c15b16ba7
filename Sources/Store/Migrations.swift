/// Named, append-only schema migrations (STYLE B10). A migration that has shipped is never edited; a change is a
/// new migration at the end. A database that knows a migration this build does not is refused: it was written by a
/// newer firmware, and a rollback must not run on it blindly.
public struct Migration: Sendable {
    public var name: String
    public var sql: String
    public init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}

extension Database {
    /// Applies the migrations not applied yet, each in its own transaction, in order.
    public func migrate(_ migrations: [Migration]) throws {
        try execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)")
        let applied = try query("SELECT name FROM schema_migrations").compactMap { row -> String? in
            if case .text(let name) = row.first { return name }
            return nil
        }
        let known = Set(migrations.map(\.name))
        if let unknown = applied.first(where: { !known.contains($0) }) {
            throw StoreError(.migration, "the database has migration '\(unknown)', which this firmware does not know: it was written by a newer version")
        }
        for migration in migrations where !applied.contains(migration.name) {
            try write(durability: .full) { db in
                try db.execute(migration.sql)
                try db.query("INSERT INTO schema_migrations (name, applied_at) VALUES (?, strftime('%s','now'))", [.text(migration.name)])
            }
        }
    }
}
