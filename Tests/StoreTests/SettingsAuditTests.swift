import PaymentCrypto
import Store
import TestKit
import Testing

/// ``TransactionJournal/saveSettings(_:auditActor:action:detail:)``: settings and their audit entry in one FULL
/// transaction, on a real SQLite file.
@Suite struct SettingsAuditTests {
    @Test func settingsAndTheirAuditEntryAreSavedTogetherOrNotAtAll() throws {
        let rig = try JournalRig()
        try rig.journal.saveSettings(["a": "1", "b": "2"], auditActor: "merchant", action: "test", detail: "two settings")
        try rig.reopen()
        #expect(try rig.journal.store.setting("a") == "1" && rig.journal.store.setting("b") == "2")
        #expect(try rig.journal.auditLog().map { [$0.actor, $0.action, $0.detail] } == [["merchant", "test", "two settings"]])
        // The audit insert fails after the settings were written: both roll back.
        try rig.journal.store.database.execute(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'refused'); END")
        #expect(throws: StoreError.self) {
            try rig.journal.saveSettings(["a": "3", "c": "4"], auditActor: "merchant", action: "test", detail: "refused")
        }
        try rig.reopen()
        #expect(try rig.journal.store.setting("a") == "1" && rig.journal.store.setting("c") == nil)
        #expect(try rig.journal.auditLog().count == 1)
    }
}
