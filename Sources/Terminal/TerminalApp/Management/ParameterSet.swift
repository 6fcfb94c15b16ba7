import Codecs
public import EMVKernel
public import Store
import Synchronization
public import TerminalUI
public import UpdatePackage

/// The terminal settings of a parameter set (its `terminal` payload, docs/terminal-management.md):
///
/// ```toml
/// merchant-name = "Demo Store Shanghai"
/// language = "zh-CN"                     # or "en"
/// offline-floor-limit = 5000             # minor units; OfflinePolicy.floorLimitMinor
/// offline-maximum-unsent-amount = 50000
/// offline-maximum-unsent-count = 1000
/// allow-metered-downloads = false        # update packages over cellular
/// ```
///
/// `merchant-name` and `language` are required, the rest keep the terminal's defaults when absent. Unknown keys are
/// refused.
public struct TerminalSettingsParameters: Sendable, Equatable {
    public var merchantName: String
    public var language: Language
    public var offlineFloorLimitMinor: Int64?
    public var offlineMaximumUnsentAmountMinor: Int64?
    public var offlineMaximumUnsentCount: Int?
    public var allowMeteredDownloads: Bool

    /// Parses the `terminal` payload.
    /// - Throws: a ``ParametersFileError`` naming the key.
    public init(parsing bytes: [UInt8]) throws {
        func bad(_ field: String, _ message: String, line: Int = 0) -> ParametersFileError {
            ParametersFileError(line: line, field: field, message: message)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("terminal", "not UTF-8") }
        let table: TOML.Table
        do { table = try TOML.parse(text) } catch { throw bad("terminal", "\(error)") }
        let known = ["merchant-name", "language", "offline-floor-limit", "offline-maximum-unsent-amount", "offline-maximum-unsent-count", "allow-metered-downloads"]
        for key in table.keys where !known.contains(key) { throw bad(key, "unknown key", line: table[key]?.line ?? 0) }
        guard case .string(let name, _)? = table["merchant-name"], (1...40).contains(name.utf8.count),
            name.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E })
        else { throw bad("merchant-name", "1 to 40 printable ASCII characters") }
        guard case .string(let code, _)? = table["language"], let language = Language(rawValue: code) else {
            throw bad("language", "\"zh-CN\" or \"en\"")
        }
        func amount(_ key: String) throws -> Int64? {
            guard let value = table[key] else { return nil }
            guard case .integer(let n, _) = value, (0...999_999_999_999).contains(n) else { throw bad(key, "an amount 0…999999999999", line: value.line) }
            return Int64(n)
        }
        merchantName = name
        self.language = language
        offlineFloorLimitMinor = try amount("offline-floor-limit")
        offlineMaximumUnsentAmountMinor = try amount("offline-maximum-unsent-amount")
        offlineMaximumUnsentCount = try amount("offline-maximum-unsent-count").map { Int($0) }
        if let value = table["allow-metered-downloads"] {
            guard case .boolean(let allowed, _) = value else { throw bad("allow-metered-downloads", "true or false", line: value.line) }
            allowMeteredDownloads = allowed
        } else {
            allowMeteredDownloads = false
        }
    }

    /// `policy` with this set's offline caps applied.
    public func applied(to policy: OfflinePolicy) -> OfflinePolicy {
        var policy = policy
        if let limit = offlineFloorLimitMinor { policy.floorLimitMinor = limit }
        if let cap = offlineMaximumUnsentAmountMinor { policy.maximumUnsentAmountMinor = cap }
        if let cap = offlineMaximumUnsentCount { policy.maximumUnsentCount = cap }
        return policy
    }
}

/// The closed-loop prepaid parameters of a parameter set (its `prepaid` payload, docs/terminal-management.md): the
/// host's lost-card list.
///
/// ```toml
/// lost-cards = [
///   "10000000000000000099",   # the purse's application serial number, 20 hex digits (as PurseTerminal reads it)
/// ]
/// ```
///
/// The list replaces the previous set's; the cards the host declined with `41` since (PrepaidService's own list)
/// stay refused as well. Unknown keys are refused.
public struct PrepaidParameters: Sendable, Equatable {
    /// The card numbers on the host's lost-card list, upper-case hex.
    public var lostCards: Set<String>

    /// The most entries a list may have (a parameter set is read into memory whole).
    public static let maximumLostCards = 100_000

    /// A list.
    public init(lostCards: Set<String>) {
        self.lostCards = lostCards
    }

    /// Parses the `prepaid` payload.
    /// - Throws: a ``ParametersFileError`` naming the key and the line.
    public init(parsing bytes: [UInt8]) throws {
        func bad(_ field: String, _ message: String, line: Int = 0) -> ParametersFileError {
            ParametersFileError(line: line, field: field, message: message)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("prepaid", "not UTF-8") }
        let table: TOML.Table
        do { table = try TOML.parse(text) } catch { throw bad("prepaid", "\(error)") }
        for key in table.keys where key != "lost-cards" { throw bad(key, "unknown key", line: table[key]?.line ?? 0) }
        var cards = Set<String>()
        if let value = table["lost-cards"] {
            guard case .array(let entries, let line) = value else { throw bad("lost-cards", "an array of card numbers", line: value.line) }
            guard entries.count <= Self.maximumLostCards else {
                throw bad("lost-cards", "more than \(Self.maximumLostCards) entries", line: line)
            }
            for entry in entries {
                guard case .string(let number, _) = entry, number.utf8.count == 20, Hex.decode(number) != nil else {
                    throw bad("lost-cards", "each entry is a card number of 20 hex digits", line: entry.line)
                }
                cards.insert(number.uppercased())
            }
        }
        lostCards = cards
    }
}

/// A parameter set ready to use: its version, the EMV parameters and the terminal settings it carries.
public struct ParameterSet: Sendable {
    /// The signed version (0: the board's own files, before any download).
    public var version: Int
    /// The EMV parameters (AIDs, CA public keys, revocations, exceptions), when the set carries them.
    public var emv: TerminalParameters?
    /// The terminal settings, when the set carries them.
    public var settings: TerminalSettingsParameters?
    /// The closed-loop prepaid parameters (the lost-card list), when the set carries them.
    public var prepaid: PrepaidParameters?

    /// Makes a set.
    public init(version: Int, emv: TerminalParameters?, settings: TerminalSettingsParameters?, prepaid: PrepaidParameters? = nil) {
        self.version = version
        self.emv = emv
        self.settings = settings
        self.prepaid = prepaid
    }

    /// Reads the payloads of a verified package.
    /// - Throws: ``ParametersFileError`` for a payload that does not parse (an expired or mistyped CA key refuses the
    ///   whole set).
    public init(_ verified: VerifiedParameterSet, today: EMVDate) throws {
        version = verified.version
        emv = try verified.payloads["emv"].map { bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ParametersFileError(line: 0, field: "emv", message: "not UTF-8")
            }
            return try TerminalParameters.parse(text, today: today)
        }
        settings = try verified.payloads["terminal"].map { try TerminalSettingsParameters(parsing: $0) }
        prepaid = try verified.payloads["prepaid"].map { try PrepaidParameters(parsing: $0) }
    }
}

/// The parameter set in force, switched atomically between transactions.
///
/// A transaction takes its set with ``beginTransaction()`` and gives it back with ``endTransaction()``: it uses that
/// snapshot from start to end whatever is applied meanwhile. ``apply(_:)`` switches at once when no transaction is
/// in flight, and otherwise stages the set: the last transaction to end switches it in the same critical section,
/// so no transaction ever starts on a half-applied set.
public final class ActiveParameterSet: Sendable {
    private struct State {
        var current: ParameterSet
        var staged: ParameterSet?
        var inFlight = 0
    }

    private let state: Mutex<State>
    private let onSwitch: @Sendable (ParameterSet) -> Void
    private let observers = Mutex<[@Sendable (ParameterSet) -> Void]>([])

    /// Starts with `initial`; `onSwitch` runs (inside the switch, keep it short) each time a set comes into force.
    public init(_ initial: ParameterSet, onSwitch: @escaping @Sendable (ParameterSet) -> Void = { _ in }) {
        state = Mutex(State(current: initial))
        self.onSwitch = onSwitch
    }

    /// Adds a handler that runs after each switch, outside the lock (the terminal's screen takes the merchant name
    /// and language of the set from it: docs/terminal-management.md).
    public func observeSwitches(_ handler: @escaping @Sendable (ParameterSet) -> Void) {
        observers.withLock { $0.append(handler) }
    }

    private func switched(to set: ParameterSet) {
        onSwitch(set)
        for observer in observers.withLock({ $0 }) { observer(set) }
    }

    /// The set in force now.
    public var current: ParameterSet { state.withLock { $0.current } }

    /// The version in force, or staged to come into force.
    public var newestVersion: Int { state.withLock { ($0.staged ?? $0.current).version } }

    /// Whether a transaction holds a snapshot.
    public var isTransactionInFlight: Bool { state.withLock { $0.inFlight > 0 } }

    /// A transaction starts: its snapshot.
    public func beginTransaction() -> ParameterSet {
        state.withLock { state in
            state.inFlight += 1
            return state.current
        }
    }

    /// A transaction ended; a staged set comes into force when it was the last.
    public func endTransaction() {
        let switched: ParameterSet? = state.withLock { state in
            state.inFlight = max(0, state.inFlight - 1)
            guard state.inFlight == 0, let staged = state.staged else { return nil }
            state.current = staged
            state.staged = nil
            return staged
        }
        if let switched { self.switched(to: switched) }
    }

    /// Runs `body` when no transaction is in flight, inside the critical section that ``beginTransaction()`` takes, so
    /// no transaction starts while it runs (a downloaded PIN key is switched this way); `nil` when one is in flight.
    /// `body` must be short and must not begin or end a transaction.
    public func betweenTransactions<R: Sendable>(_ body: () throws -> R) rethrows -> R? {
        try state.withLock { state in state.inFlight == 0 ? try body() : nil }
    }

    /// Brings `set` into force now (no transaction in flight: returns `true`) or when the transactions in flight
    /// have ended (returns `false`).
    @discardableResult
    public func apply(_ set: ParameterSet) -> Bool {
        let now: Bool = state.withLock { state in
            if state.inFlight == 0 {
                state.current = set
                state.staged = nil
                return true
            }
            state.staged = set
            return false
        }
        if now { switched(to: set) }
        return now
    }
}
