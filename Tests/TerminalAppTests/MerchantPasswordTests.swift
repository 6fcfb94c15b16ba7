#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PaymentCrypto
import Store
@testable import TerminalApp
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
}
