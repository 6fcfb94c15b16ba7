import Store
import TestKit
import Testing

/// Store migrations against a firmware rollback (docs/update-package.md, "Store migrations and rollback"): the
/// previous firmware still opens a store the new one migrated additively, and breaking migrations wait until the new
/// version is committed. Two firmware versions are two migration lists over the same real SQLite file.
@Suite struct MigrationRollbackTests {
    static let oldFirmware = [
        Migration("0001-items", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;", compatibility: .additive),
        Migration("0002-orders", "CREATE TABLE orders (id INTEGER PRIMARY KEY, item INTEGER NOT NULL) STRICT;", compatibility: .additive),
    ]
    static let newFirmware = oldFirmware + [
        Migration("0003-notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT) STRICT;", compatibility: .additive),
        // Rewrites a table the old firmware reads: it must not run until the new version is committed.
        Migration(
            "0004-items-split",
            """
            ALTER TABLE items RENAME TO items_0001;
            CREATE TABLE items (id INTEGER PRIMARY KEY, name_zh TEXT NOT NULL, name_en TEXT NOT NULL) STRICT;
            INSERT INTO items (id, name_zh, name_en) SELECT id, name, name FROM items_0001;
            DROP TABLE items_0001;
            """),
        Migration("0005-tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY) STRICT;", compatibility: .additive),
    ]

    func withDatabase(_ body: (String) throws -> Void) throws {
        let dir = try makeTemporaryDirectory("migration-rollback")
        defer { removeTree(dir) }
        try body(dir + "/terminal.sqlite")
    }

    func names(_ database: Database) throws -> [String] {
        try database.query("SELECT name FROM schema_migrations ORDER BY name").compactMap {
            if case .text(let name)? = $0.first { name } else { nil }
        }
    }

    @Test("held in the health check, the old firmware still opens the store; applied after the commit")
    func breakingMigrationWaitsForTheCommit() throws {
        try withDatabase { path in
            do {
                let old = try Database(path: path)
                #expect(try old.migrate(Self.oldFirmware).isEmpty)
                try old.write { db in try db.query("INSERT INTO items (id, name) VALUES (1, 'tea')") }
            }
            // The new version in its health check: the additive 0003 runs, 0004 and everything after it wait.
            do {
                let new = try Database(path: path)
                #expect(try new.migrate(Self.newFirmware, holdingBreaking: true) == ["0004-items-split", "0005-tags"])
                #expect(try names(new) == ["0001-items", "0002-orders", "0003-notes"])
            }
            // Rolled back: the old firmware opens the store (0003 is additive) and reads its rows as before.
            do {
                let old = try Database(path: path)
                #expect(try old.migrate(Self.oldFirmware).isEmpty)
                #expect(try old.query("SELECT name FROM items WHERE id = 1").first?.first == .text("tea"))
            }
            // Updated again and committed: the held migrations run, the data carried over.
            do {
                let new = try Database(path: path)
                #expect(try new.migrate(Self.newFirmware, holdingBreaking: true) == ["0004-items-split", "0005-tags"])
                #expect(try new.migrate(Self.newFirmware).isEmpty)
                #expect(try names(new) == Self.newFirmware.map(\.name))
                #expect(try new.query("SELECT name_zh, name_en FROM items WHERE id = 1").first == [.text("tea"), .text("tea")])
            }
            // After the commit the old firmware refuses the store, with the migration named.
            do {
                let old = try Database(path: path)
                #expect {
                    try old.migrate(Self.oldFirmware)
                } throws: { error in
                    guard let error = error as? StoreError else { return false }
                    return error == StoreError(.migration, "") && "\(error)".contains("0004-items-split")
                }
            }
        }
    }

    @Test("without a health check every migration runs at once")
    func committedVersionMigratesEverything() throws {
        try withDatabase { path in
            let old = try Database(path: path)
            try old.migrate(Self.oldFirmware)
            #expect(try old.migrate(Self.newFirmware).isEmpty)
            #expect(try names(old) == Self.newFirmware.map(\.name))
        }
    }

    @Test("a new store holds nothing, even in a health check")
    func newStoreHoldsNothing() throws {
        try withDatabase { path in
            let new = try Database(path: path)
            #expect(try new.migrate(Self.newFirmware, holdingBreaking: true).isEmpty)
            #expect(try names(new) == Self.newFirmware.map(\.name))
        }
    }

    @Test("a store from before the compatibility column gets it; its migrations count as breaking")
    func storeFromBeforeTheColumn() throws {
        try withDatabase { path in
            do {
                let legacy = try Database(path: path)
                try legacy.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)")
                try legacy.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT")
                try legacy.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('0001-items', 0), ('0099-unknown', 0)")
            }
            let new = try Database(path: path)
            // 0099 is unknown and recorded before compatibility was: refused as written by a newer version.
            #expect(throws: StoreError(.migration, "")) { try new.migrate(Self.newFirmware) }
            try new.execute("DELETE FROM schema_migrations WHERE name = '0099-unknown'")
            #expect(try new.migrate(Self.newFirmware).isEmpty)
            #expect(try new.query("SELECT older_versions_may_open FROM schema_migrations WHERE name = '0001-items'").first?.first == .integer(0))
            #expect(try new.query("SELECT older_versions_may_open FROM schema_migrations WHERE name = '0003-notes'").first?.first == .integer(1))
        }
    }

    @Test("the terminal's store: a health-check open of a migrated store holds nothing today")
    func terminalStoreHoldsOnlyWhatItMust() throws {
        try withDatabase { path in
            _ = try TerminalStore(path: path)
            let reopened = try TerminalStore(path: path, holdingBreakingMigrations: true)
            #expect(reopened.heldMigrations.isEmpty)
            try reopened.applyHeldMigrations()
            #expect(try names(reopened.database) == TerminalStore.migrations.map(\.name))
        }
    }
}
