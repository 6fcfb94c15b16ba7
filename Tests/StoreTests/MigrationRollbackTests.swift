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

/// Item returns by void (docs/terminal-management.md, "Catalogue and stock"), on the real store: a void puts the
/// original sale's items back once, and the stock report carries sales and returns as one net change per item.
@Suite struct ItemReturnTests {
    @Test func aVoidRestocksOnceAndTheReportNetsSalesAndReturns() throws {
        let dir = try makeTemporaryDirectory("item-returns")
        defer { removeTree(dir) }
        let store = try TerminalStore(path: dir + "/terminal.sqlite")
        try store.installCatalogue(version: 1, items: [
            .init(code: "A001", nameChinese: "矿泉水", nameEnglish: "Water", priceMinor: 250, taxClass: "A", hostStock: 10, localStock: 10),
            .init(code: "B002", nameChinese: "面包", nameEnglish: "Bread", priceMinor: 800, taxClass: "B", hostStock: 5, localStock: 5),
        ])
        let insert = """
            INSERT INTO transactions (txn_ref, rail, kind, amount_minor, currency, status, upload_state, stan, batch, business_day,
                entry_mode, created_at, updated_at, original_txn_ref)
            VALUES (?, 'qr', ?, ?, 156, ?, 'none', ?, 1, 0, 'qr', 0, 0, ?)
            """
        try store.database.write { db in
            try db.query(insert, [.text("SALE-0000001"), .text("sale"), .integer(1850), .text("approved"), .integer(1), .null])
        }
        #expect(try store.latestApprovedSaleReference() == "SALE-0000001")
        try store.recordItemSale(txnRef: "SALE-0000001", lines: [("A001", 1), ("B002", 2)], now: 1)
        try store.recordItemSale(txnRef: "SALE-0000002", lines: [("A001", 3)], now: 2)
        #expect(try store.catalogueItems().map(\.localStock) == [6, 3])
        // No void yet: nothing to restock.
        #expect(try store.restockVoidedSales(now: 3) == 0)
        // A declined void restocks nothing; an approved one puts the first sale's items back, once.
        try store.database.write { db in
            try db.query(insert, [.text("VOID-0000001"), .text("void"), .integer(1850), .text("declined"), .integer(2), .text("SALE-0000001")])
            try db.query(insert, [.text("VOID-0000002"), .text("void"), .integer(1850), .text("approved"), .integer(3), .text("SALE-0000001")])
        }
        #expect(try store.restockVoidedSales(now: 4) == 2)
        #expect(try store.restockVoidedSales(now: 5) == 0)
        #expect(try store.catalogueItems().map(\.localStock) == [7, 5])
        let changes = try #require(try store.unreportedStockChanges())
        #expect(changes.changes == [.init(code: "A001", change: -3)], "water: 4 sold, 1 back; bread: 2 sold, 2 back (left out)")
        // The host's answer marks both reported; its levels win.
        try store.applyHostStock([("A001", 7), ("B002", 5)], reported: changes)
        #expect(try store.unreportedStockChanges() == nil)
        #expect(try store.catalogueItems().map(\.localStock) == [7, 5])
    }
}
