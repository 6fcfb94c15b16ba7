#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
import Logging
import PaymentCrypto
import Store
@testable import TerminalApp
import TerminalUI
import TestKit
import Testing
import Synchronization

/// The merchant password on a real journal file: salted hash in the settings table, lockout after five failures,
/// the count and the lockout surviving a reopen.
@Suite struct MerchantPasswordTests {
    final class FakeClock: Sendable {
        let now = Atomic<Int64>(1_800_000_000)
        func advance(_ seconds: Int64) { now.add(seconds, ordering: .relaxed) }
    }

    static func open(_ path: String) throws -> Locked<TransactionJournal> {
        Locked(try TransactionJournal(
            store: try TerminalStore(path: path), dataKey: SecretBytes([UInt8](repeating: 7, count: 32)), random: SystemRandom(),
            clock: { 1_800_000_000 }))
    }

    static func digits(_ text: String) -> SecretBytes { SecretBytes(Array(text.utf8)) }

    @Test func hashIsSaltedAndLockoutPersists() throws {
        let directory = try makeTemporaryDirectory("merchant-pw")
        defer { removeTree(directory) }
        let clock = FakeClock()
        var journal = try Self.open(directory + "/journal.sqlite")
        var password = MerchantPassword(journal: journal, random: SystemRandom(), clock: { clock.now.load(ordering: .relaxed) }, iterations: 1000)
        #expect(try password.verify(Self.digits("123456")) == .notSet)
        try password.provisionIfUnset(MerchantPassword.simulatorDefault)
        let stored = try journal.withLock { try $0.store.setting("merchant.password") } ?? ""
        #expect(stored.hasPrefix("pbkdf2-sha256$1000$") && !stored.contains("123456"))
        try password.set(Self.digits("123456"))
        let again = try journal.withLock { try $0.store.setting("merchant.password") } ?? ""
        #expect(again != stored, "a new salt every time")
        #expect(try password.verify(Self.digits("123456")) == .accepted)
        for left in [4, 3, 2, 1] { #expect(try password.verify(Self.digits("000000")) == .rejected(attemptsLeft: left)) }
        // Reopen: the count survives.
        journal = try Self.open(directory + "/journal.sqlite")
        password = MerchantPassword(journal: journal, random: SystemRandom(), clock: { clock.now.load(ordering: .relaxed) }, iterations: 1000)
        #expect(try password.verify(Self.digits("999999")) == .lockedOut(secondsLeft: 300))
        clock.advance(100)
        #expect(try password.verify(Self.digits("123456")) == .lockedOut(secondsLeft: 200), "even the right password waits")
        clock.advance(200)
        #expect(try password.verify(Self.digits("000000")) == .rejected(attemptsLeft: 4), "a fresh count after the lockout")
        #expect(try password.verify(Self.digits("123456")) == .accepted)
        #expect(throws: StoreError.self) { try password.set(Self.digits("12a4")) }
        let audit = try journal.withLock { try $0.auditLog() }.map(\.action)
        #expect(audit.contains("merchant-lockout") && audit.contains("merchant-password"))
    }

    /// The merchant operations of a terminal on `journal`, as the runtime wires them (no printer, no acquirer).
    static func operations(_ journal: Locked<TransactionJournal>, _ clock: FakeClock) -> MerchantOperations {
        let password = MerchantPassword(journal: journal, random: SystemRandom(), clock: { clock.now.load(ordering: .relaxed) }, iterations: 1000)
        return MerchantOperations(
            password: password, journal: journal, settlement: nil,
            header: Receipts.Header(merchantName: "Shop", terminalID: "T0000001", merchantID: "M00000000000001"),
            currency: Currency(code: "CNY")!, clock: SystemClock(), print: { _ in .noPrinter }, logger: Logger(label: "test"))
    }

    /// Types `keys` (one character a key: digits, E = ENTER, M = MENU, C = CANCEL) and runs the password actions
    /// against `merchant` as ``TerminalController`` does (at once, on the flow's task).
    static func drive(_ f: inout TerminalFlow, _ merchant: MerchantOperations, _ keys: String) {
        for character in keys {
            let key: Key = switch character {
            case "E": .enter
            case "M": .menu
            case "C": .cancel
            default: Key(rawValue: String(character)) ?? .clear
            }
            var pending = f.handle(.key(key))
            while !pending.isEmpty {
                switch pending.removeFirst() {
                case .verifyMerchantPassword(let password): pending += f.handle(.merchantVerdict(merchant.verifyLogin(password)))
                case .verifyCurrentMerchantPassword(let password): pending += f.handle(.merchantVerdict(merchant.verifyPassword(password)))
                case .changeMerchantPassword(let password): pending += f.handle(.merchantPasswordChanged(merchant.changePassword(to: password)))
                case let action: Issue.record("unexpected action \(action)")
                }
            }
        }
    }

    static func shown(_ f: TerminalFlow) -> [String] {
        switch f.screen {
        case .info(let info): [info.title.resolve(.en)] + info.lines.map { $0.resolve(.en) }
        case .menu(let menu): [menu.title.resolve(.en)]
        default: ["\(f.screen)"]
        }
    }

    @Test func changedFromTheMenuOnTheRealStore() throws {
        let directory = try makeTemporaryDirectory("merchant-pw-change")
        defer { removeTree(directory) }
        let clock = FakeClock()
        let path = directory + "/journal.sqlite"
        let journal = try Self.open(path)
        let merchant = Self.operations(journal, clock)
        try merchant.password.provisionIfUnset(MerchantPassword.simulatorDefault)
        let before = try journal.withLock { try $0.store.setting("merchant.password") } ?? ""
        var configuration = TerminalFlow.Configuration(
            merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 99_999, methods: [.card], boardName: "test", version: "0")
        configuration.merchantMenu = true
        var f = TerminalFlow(configuration: configuration, language: .en)
        _ = f.handle(.tick(now: 0))

        // Login, the entry, a wrong current password (a failure like any other), then the right one.
        Self.drive(&f, merchant, "M3123456E8000000E")
        #expect(Self.shown(f) == ["Change password", "Current password", "", "Wrong password, 4 tries left"])
        #expect(try journal.withLock { try $0.store.setting("merchant.failures") } == "1")
        Self.drive(&f, merchant, "123456E")
        #expect(try journal.withLock { try $0.store.setting("merchant.failures") } == "0")
        // The default again, then a run: refused in the flow; the new one twice.
        Self.drive(&f, merchant, "123456E")
        #expect(Self.shown(f).last == "No runs like 123456, 111111")
        Self.drive(&f, merchant, "480275E480275E")
        #expect(Self.shown(f) == ["Change password", "Password changed"])
        let after = try journal.withLock { try $0.store.setting("merchant.password") } ?? ""
        #expect(after.hasPrefix("pbkdf2-sha256$1000$") && after != before)
        #expect(after.split(separator: "$")[2] != before.split(separator: "$")[2], "a fresh salt")
        #expect(!after.contains("480275"))
        let audit = try journal.withLock { try $0.auditLog() }
        #expect(audit.last.map { [$0.actor, $0.action, $0.detail] } == ["merchant", "merchant-password", "merchant password changed"])
        #expect(!audit.contains { $0.detail.contains("480275") || $0.detail.contains("123456") })

        // Back to the menu; change again to the one in force: refused by the store side.
        Self.drive(&f, merchant, "E8480275E135792E135792E")
        #expect(Self.shown(f) == ["Change password", "Password changed"])
        Self.drive(&f, merchant, "E8135792E135792E135792E")
        #expect(Self.shown(f).last == "Same as the current one")
        Self.drive(&f, merchant, "CC")
        #expect(f.isIdle)

        // On a reopened store: the old passwords are refused, the new one opens the menu.
        let reopened = Self.operations(try Self.open(path), clock)
        #expect(reopened.verifyLogin(SecretBytes(Array("123456".utf8))) == .rejected(attemptsLeft: 4))
        #expect(reopened.verifyLogin(SecretBytes(Array("480275".utf8))) == .rejected(attemptsLeft: 3))
        #expect(reopened.verifyLogin(SecretBytes(Array("135792".utf8))) == .accepted)
        #expect(try reopened.password.change(to: Self.digits("111111")) == .refused(.sequence))
    }

    @Test func wrongCurrentPasswordCountsTowardTheLockout() throws {
        let directory = try makeTemporaryDirectory("merchant-pw-lock")
        defer { removeTree(directory) }
        let clock = FakeClock()
        let journal = try Self.open(directory + "/journal.sqlite")
        let merchant = Self.operations(journal, clock)
        try merchant.password.set(Self.digits("480275"))
        var configuration = TerminalFlow.Configuration(
            merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 99_999, methods: [.card], boardName: "test", version: "0")
        configuration.merchantMenu = true
        var f = TerminalFlow(configuration: configuration, language: .en)
        _ = f.handle(.tick(now: 0))
        // Three wrong logins, the right one (the count starts again), then five wrong current passwords.
        Self.drive(&f, merchant, "M3111E222E333E480275E8")
        Self.drive(&f, merchant, "1E2E3E4E")
        #expect(Self.shown(f).last == "Wrong password, 1 tries left")
        Self.drive(&f, merchant, "5E")
        #expect(Self.shown(f) == ["Merchant menu", "Locked, try again in 300 s"])
        #expect(merchant.verifyLogin(SecretBytes(Array("480275".utf8))) == .lockedOut(secondsLeft: 300), "even the right one waits")
        let audit = try journal.withLock { try $0.auditLog() }.map(\.action)
        #expect(audit.last == "merchant-lockout")
        clock.advance(300)
        #expect(merchant.verifyLogin(SecretBytes(Array("480275".utf8))) == .accepted, "the password did not change")
    }

    @Test func aChangeIsOneTransaction() throws {
        // A store that fails half-way through the change: nothing changes, the old password still opens the menu.
        let directory = try makeTemporaryDirectory("merchant-pw-atomic")
        defer { removeTree(directory) }
        let clock = FakeClock()
        let path = directory + "/journal.sqlite"
        let journal = try Self.open(path)
        let password = MerchantPassword(journal: journal, random: SystemRandom(), clock: { clock.now.load(ordering: .relaxed) }, iterations: 1000)
        try password.set(Self.digits("480275"))
        let stored = try journal.withLock { try $0.store.setting("merchant.password") }
        let entries = try journal.withLock { try $0.auditLog() }.count
        // A trigger makes the audit insert fail after the settings were written in the same transaction.
        try journal.withLock { try $0.store.database.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'refused'); END") }
        #expect(throws: StoreError.self) { try password.change(to: Self.digits("135792")) }
        #expect(try journal.withLock { try $0.store.setting("merchant.password") } == stored, "the hash was rolled back with the audit entry")
        try journal.withLock { try $0.store.database.execute("DROP TRIGGER refuse") }
        #expect(try journal.withLock { try $0.auditLog() }.count == entries)
        #expect(try password.verify(Self.digits("480275")) == .accepted)
    }
}
