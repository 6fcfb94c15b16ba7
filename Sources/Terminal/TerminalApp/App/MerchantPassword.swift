import Codecs
public import PaymentCrypto
public import Store

/// The merchant password that guards the merchant menu (docs/merchant-operations.md): stored in the settings table as
/// a salted PBKDF2-HMAC-SHA256 hash, never in clear; repeated failures lock the menu for a while, and the failure count
/// and the end of the lockout are stored too, so a restart does not reset them.
///
/// Settings keys: `merchant.password` (`pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`),
/// `merchant.failures` (failed attempts since the last success), `merchant.locked-until` (seconds since 1970).
public final class MerchantPassword: Sendable {
    /// How an attempt went.
    public enum Verdict: Sendable, Equatable {
        case accepted
        /// Wrong; `attemptsLeft` more before the lockout.
        case rejected(attemptsLeft: Int)
        /// Too many failures: no attempt is checked for `secondsLeft` more seconds.
        case lockedOut(secondsLeft: Int64)
        /// No password was ever set: the menu stays closed (a hardware board must be provisioned).
        case notSet
    }

    /// Failures before the lockout.
    public let maximumFailures: Int
    /// How long the lockout lasts, in seconds.
    public let lockoutSeconds: Int64
    /// PBKDF2 rounds for a new hash (a stored hash keeps its own count).
    public let iterations: Int
    /// The sim board's password when none is set: **TEST ONLY**, never on a hardware board.
    public static let simulatorDefault = "123456"

    private let journal: Locked<TransactionJournal>
    private let random: any RandomSource
    private let clock: @Sendable () -> Int64

    /// - Parameters:
    ///   - journal: the process's journal; the settings live in its store.
    ///   - clock: seconds since 1970 (UTC).
    public init(
        journal: Locked<TransactionJournal>, random: any RandomSource, clock: @escaping @Sendable () -> Int64,
        maximumFailures: Int = 5, lockoutSeconds: Int64 = 300, iterations: Int = 50_000
    ) {
        self.journal = journal
        self.random = random
        self.clock = clock
        self.maximumFailures = maximumFailures
        self.lockoutSeconds = lockoutSeconds
        self.iterations = iterations
    }

    static let hashKey = "merchant.password"
    static let failuresKey = "merchant.failures"
    static let lockedUntilKey = "merchant.locked-until"

    /// Whether a password is stored.
    public var isSet: Bool { ((try? journal.withLock { try $0.store.setting(Self.hashKey) }) ?? nil) != nil }

    /// Stores a new password (4 to 12 digits) as a fresh salted hash and clears the failures, with an audit entry, in
    /// one FULL commit. This is provisioning (`termtool merchant-password`, the sim board's default); a change from the
    /// merchant menu goes through ``change(to:)`` and its stricter rules.
    /// - Throws: ``StoreError`` `.invalid` for a password that is not 4 to 12 digits; store or crypto errors.
    public func set(_ password: SecretBytes) throws {
        let valid = password.withUnsafeBytes { bytes in (4...12).contains(bytes.count) && bytes.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard valid else { throw StoreError(.invalid, "a merchant password is 4 to 12 digits") }
        try save(password, detail: "merchant password set")
    }

    /// Why a new password from the merchant menu is refused (docs/merchant-operations.md, "Changing the password").
    public enum Weakness: Sendable, Equatable {
        /// Not 6 to 12 digits.
        case format
        /// The digits move by one step all along, modulo 10: all the same (`111111`), up or down (`123456`,
        /// `654321`, `890123`), every other digit (`135791`).
        case sequence
        /// A shorter block typed again and again (`121212`, `123123`, `10201020`).
        case repeated
        /// The password in force now.
        case unchanged
    }

    /// How a change from the merchant menu went.
    public enum ChangeOutcome: Sendable, Equatable {
        /// Saved; the old password no longer opens the menu.
        case changed
        /// Refused by a rule; nothing changed.
        case refused(Weakness)
        /// The store could not save it; the old password stays.
        case failed
    }

    /// The shortest and longest password the merchant menu accepts as a new one.
    public static let changeLengths = 6...12

    /// The rules a new password from the merchant menu must meet, on every board (the sim board's TEST ONLY
    /// ``simulatorDefault`` breaks them, which is why it cannot be chosen again): 6 to 12 ASCII digits, not a
    /// ``Weakness/sequence``, not a ``Weakness/repeated`` block. Pure; the digits are read in place, never copied.
    /// - Returns: the first rule `password` breaks, or `nil`.
    public static func weakness(of password: SecretBytes) -> Weakness? {
        password.withUnsafeBytes { digits -> Weakness? in
            guard changeLengths.contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return .format }
            let first = digits[digits.startIndex]
            let step = (Int(digits[digits.startIndex + 1]) - Int(first) + 10) % 10
            let steady = (1..<digits.count).allSatisfy { i in
                (Int(digits[digits.startIndex + i]) - Int(digits[digits.startIndex + i - 1]) + 10) % 10 == step
            }
            if steady { return .sequence }
            for period in 2...(digits.count / 2)
            where (period..<digits.count).allSatisfy({ digits[digits.startIndex + $0] == digits[digits.startIndex + $0 - period] }) {
                return .repeated
            }
            return nil
        }
    }

    /// Replaces the password from the merchant menu: the caller has just checked the password in force with
    /// ``verify(_:)``. The new one must meet ``weakness(of:)``'s rules and differ from the one in force; it is stored
    /// under a fresh salt with the failures cleared and an audit entry ("merchant password changed", never the
    /// digits), in one FULL commit.
    /// - Returns: ``ChangeOutcome/changed`` or ``ChangeOutcome/refused(_:)``.
    /// - Throws: store or crypto errors (nothing was changed).
    public func change(to password: SecretBytes) throws -> ChangeOutcome {
        if let weakness = Self.weakness(of: password) { return .refused(weakness) }
        if let stored = try journal.withLock({ try $0.store.setting(Self.hashKey) }) {
            let current = try Self.parse(stored)
            let hash = try PBKDF2.sha256(password: password, salt: current.salt, iterations: current.rounds, outputByteCount: 32)
            if hash.constantTimeEquals(current.hash) { return .refused(.unchanged) }
        }
        try save(password, detail: "merchant password changed")
        return .changed
    }

    /// Hashes `password` under a fresh salt and saves it with the failures and lockout cleared and an audit entry, in
    /// one FULL transaction.
    private func save(_ password: SecretBytes, detail: String) throws {
        let salt = try random.bytes(16)
        let hash = try PBKDF2.sha256(password: password, salt: salt, iterations: iterations, outputByteCount: 32)
        let encoded = "pbkdf2-sha256$\(iterations)$\(Hex.encode(salt))$" + hash.withUnsafeBytes { Hex.encode($0) }
        try journal.withLock { journal in
            try journal.saveSettings(
                [Self.hashKey: encoded, Self.failuresKey: "0", Self.lockedUntilKey: "0"],
                auditActor: "merchant", action: "merchant-password", detail: detail)
        }
    }

    /// A stored hash's parts.
    private static func parse(_ stored: String) throws -> (rounds: Int, salt: [UInt8], hash: [UInt8]) {
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]), let salt = Hex.decode(parts[2]),
            let expected = Hex.decode(parts[3]), expected.count == 32
        else { throw StoreError(.corrupt, "the stored merchant password hash is malformed") }
        return (rounds, salt, expected)
    }

    /// Sets `password` only when none is stored (the sim board's ``simulatorDefault``).
    public func provisionIfUnset(_ password: String) throws {
        if !isSet { try set(SecretBytes(Array(password.utf8))) }
    }

    /// Checks an attempt. A failure is counted (FULL commit) before the verdict is returned; reaching
    /// ``maximumFailures`` starts the lockout; a success clears the count.
    public func verify(_ attempt: SecretBytes) throws -> Verdict {
        let now = clock()
        let (stored, failures, lockedUntil) = try journal.withLock { journal in
            (try journal.store.setting(Self.hashKey), Int(try journal.store.setting(Self.failuresKey) ?? "0") ?? 0,
             Int64(try journal.store.setting(Self.lockedUntilKey) ?? "0") ?? 0)
        }
        guard let stored else { return .notSet }
        if lockedUntil > now { return .lockedOut(secondsLeft: lockedUntil - now) }
        let previous = lockedUntil > 0 ? 0 : failures  // a lockout that has run out starts a fresh count
        let current = try Self.parse(stored)
        let hash = try PBKDF2.sha256(password: attempt, salt: current.salt, iterations: current.rounds, outputByteCount: 32)
        if hash.constantTimeEquals(current.hash) {
            try journal.withLock { journal in
                try journal.store.setSetting(Self.failuresKey, "0")
                try journal.store.setSetting(Self.lockedUntilKey, "0")
            }
            return .accepted
        }
        let count = previous + 1
        let locked = count >= maximumFailures
        try journal.withLock { journal in
            try journal.store.setSetting(Self.failuresKey, String(count))
            try journal.store.setSetting(Self.lockedUntilKey, locked ? String(now + lockoutSeconds) : "0")
            if locked { try journal.audit(actor: "merchant", action: "merchant-lockout", detail: "\(count) wrong passwords") }
        }
        return locked ? .lockedOut(secondsLeft: lockoutSeconds) : .rejected(attemptsLeft: maximumFailures - count)
    }
}
