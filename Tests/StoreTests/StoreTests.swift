import Store
import TestKit
import Testing

@Suite struct StoreTests {
    func withStore(_ body: (String) throws -> Void) throws {
        let dir = try makeTemporaryDirectory("store-test")
        defer { removeTree(dir) }
        try body(dir + "/terminal.sqlite")
    }

    @Test func migratesFromEmptyAndKeepsSettings() throws {
        try withStore { path in
            do {
                let store = try TerminalStore(path: path)
                #expect(try store.setting("ui.language") == nil)
                try store.setSetting("ui.language", "en")
                try store.setSetting("ui.language", "zh-CN")
                #expect(try store.unsentCount() == 0)
            }
            let reopened = try TerminalStore(path: path)
            #expect(try reopened.setting("ui.language") == "zh-CN")
            let names = try reopened.database.query("SELECT name FROM schema_migrations ORDER BY name").map { $0.first }
            #expect(names == TerminalStore.migrations.map { .text($0.name) })
        }
    }

    @Test func walModeAndForeignKeys() throws {
        try withStore { path in
            let store = try TerminalStore(path: path)
            #expect(try store.database.query("PRAGMA journal_mode").first?.first == .text("wal"))
            #expect(try store.database.query("PRAGMA foreign_keys").first?.first == .integer(1))
        }
    }

    @Test func schemaRefusesBadRows() throws {
        try withStore { path in
            let store = try TerminalStore(path: path)
            let insert = "INSERT INTO transactions (txn_ref, rail, kind, amount_minor, currency, status, upload_state, stan, batch, business_day, entry_mode, created_at, updated_at) VALUES (?, ?, 'sale', ?, 156, 'approved', ?, 1, 1, 0, 'qr', 0, 0)"
            try store.database.write { db in
                try db.query(insert, [.text("REF-00000001"), .text("qr"), .integer(100), .text("queued")])
            }
            #expect(try store.unsentCount() == 1)
            for bad: [Database.Value] in [
                [.text("REF-00000002"), .text("cash"), .integer(1), .text("queued")],  // unknown rail
                [.text("REF-00000003"), .text("qr"), .integer(-1), .text("queued")],  // negative amount
                [.text("REF-00000001"), .text("qr"), .integer(1), .text("queued")],  // duplicate idempotency key
                [.text("SHORT"), .text("qr"), .integer(1), .text("queued")],
            ] {
                #expect(throws: StoreError(.constraint, "")) {
                    try store.database.write { db in try db.query(insert, bad) }
                }
            }
            #expect(try store.unsentCount() == 1, "a failed write leaves nothing behind")
        }
    }

    @Test func aDatabaseFromANewerFirmwareIsRefused() throws {
        try withStore { path in
            do {
                let store = try TerminalStore(path: path)
                try store.database.write { db in
                    try db.query("INSERT INTO schema_migrations (name, applied_at) VALUES ('9999-from-the-future', 0)")
                }
            }
            #expect(throws: StoreError(.migration, "")) { try TerminalStore(path: path) }
        }
    }

    @Test func notADatabaseIsAClearError() throws {
        try withStore { path in
            try writeTextFile(path, String(repeating: "this is not sqlite ", count: 100))
            #expect(throws: StoreError.self) { try TerminalStore(path: path) }
        }
    }
}
