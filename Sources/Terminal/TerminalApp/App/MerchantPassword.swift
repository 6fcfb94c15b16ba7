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

    /// Stores a new password (4 to 12 digits) as a fresh salted hash and clears the failures. FULL commits, audited.
    /// - Throws: ``StoreError`` `.invalid` for a password that is not 4 to 12 digits; store or crypto errors.
    public func set(_ password: SecretBytes) throws {
        let valid = password.withUnsafeBytes { bytes in (4...12).contains(bytes.count) && bytes.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard valid else { throw StoreError(.invalid, "a merchant password is 4 to 12 digits") }
        let salt = try random.bytes(16)
        let hash = try PBKDF2.sha256(password: password, salt: salt, iterations: iterations, outputByteCount: 32)
        let encoded = "pbkdf2-sha256$\(iterations)$\(Hex.encode(salt))$" + hash.withUnsafeBytes { Hex.encode($0) }
        try journal.withLock { journal in
            try journal.store.setSetting(Self.hashKey, encoded)
            try journal.store.setSetting(Self.failuresKey, "0")
            try journal.store.setSetting(Self.lockedUntilKey, "0")
            try journal.audit(actor: "merchant", action: "merchant-password", detail: "merchant password set")
        }
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
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]), let salt = Hex.decode(parts[2]),
            let expected = Hex.decode(parts[3]), expected.count == 32
        else { throw StoreError(.corrupt, "the stored merchant password hash is malformed") }
        let hash = try PBKDF2.sha256(password: attempt, salt: salt, iterations: rounds, outputByteCount: 32)
        if hash.constantTimeEquals(expected) {
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
