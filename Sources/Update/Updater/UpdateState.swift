import Codecs
public import UpdatePackage

/// A phase of the updater's state machine (docs/update-package.md, "States"). Persisted in `ROOT/update-state`
/// before the work of the phase starts, so that a start after a crash knows what was interrupted.
public enum UpdatePhase: String, Sendable, Equatable, CaseIterable {
    /// No update in progress.
    case idle
    /// Checking signature, compatibility, anti-rollback and payload hashes; nothing written yet.
    case verifying
    /// Writing the inactive slot.
    case writing
    /// Switching `current` to the new slot.
    case switching
    /// Switched; waiting for systemd to start the new version.
    case restarting
    /// The new version is running and must report healthy before the deadline.
    case healthCheck = "health-check"
    /// Healthy: making the new version the committed one.
    case committing
    /// Going back to the committed slot.
    case rollingBack = "rolling-back"
}

/// The persisted state of the updater: `ROOT/update-state`, a TOML file written whole with fsync (DurableFile).
public struct UpdateState: Sendable, Equatable {
    /// The phase.
    public var phase: UpdatePhase = .idle
    /// The committed slot ("a" or "b"), nil before the first install.
    public var committedSlot: String?
    /// The committed version.
    public var committedVersion: FirmwareVersion?
    /// The highest security counter committed; never decreases.
    public var securityCounter = 0
    /// The slot being installed.
    public var pendingSlot: String?
    /// The version being installed.
    public var pendingVersion: FirmwareVersion?
    /// The security counter of the version being installed.
    public var pendingSecurityCounter = 0
    /// Seconds since the epoch by which the new version must have committed.
    public var deadline = 0
    /// What happened last, for `terminal update status` and the operator.
    public var lastResult = ""

    /// An empty state (nothing installed).
    public init() {}

    /// Parses the state file.
    /// - Throws: ``UpdaterError`` ``UpdaterError/Code/corruptState``.
    public init(parsing text: String) throws(UpdaterError) {
        let table: TOML.Table
        do { table = try TOML.parse(text) } catch { throw UpdaterError(.corruptState, "update-state: \(error)") }
        func string(_ key: String) -> String? { if case .string(let s, _)? = table[key] { s } else { nil } }
        func integer(_ key: String) -> Int? { if case .integer(let n, _)? = table[key] { n } else { nil } }
        func version(_ key: String) throws(UpdaterError) -> FirmwareVersion? {
            guard let s = string(key) else { return nil }
            do { return try FirmwareVersion(parsing: s) } catch { throw UpdaterError(.corruptState, "update-state: \(key) is not a version") }
        }
        guard let phaseName = string("phase"), let phase = UpdatePhase(rawValue: phaseName) else {
            throw UpdaterError(.corruptState, "update-state: no valid 'phase'")
        }
        self.phase = phase
        committedSlot = string("committed-slot")
        committedVersion = try version("committed-version")
        securityCounter = integer("security-counter") ?? 0
        pendingSlot = string("pending-slot")
        pendingVersion = try version("pending-version")
        pendingSecurityCounter = integer("pending-security-counter") ?? 0
        deadline = integer("deadline") ?? 0
        lastResult = string("last-result") ?? ""
        for slot in [committedSlot, pendingSlot] where slot != nil && slot != "a" && slot != "b" {
            throw UpdaterError(.corruptState, "update-state: a slot is 'a' or 'b'")
        }
    }

    /// The file text.
    public func rendered() -> String {
        var text = "phase = \"\(phase.rawValue)\"\n"
        if let committedSlot { text += "committed-slot = \"\(committedSlot)\"\n" }
        if let committedVersion { text += "committed-version = \"\(committedVersion)\"\n" }
        text += "security-counter = \(securityCounter)\n"
        if let pendingSlot { text += "pending-slot = \"\(pendingSlot)\"\n" }
        if let pendingVersion { text += "pending-version = \"\(pendingVersion)\"\n" }
        text += "pending-security-counter = \(pendingSecurityCounter)\n"
        text += "deadline = \(deadline)\n"
        let safe = String(lastResult.unicodeScalars.map { $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F ? "'" : Character($0) })
        text += "last-result = \"\(safe)\"\n"
        return text
    }
}
