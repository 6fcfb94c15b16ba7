#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
import PaymentCrypto
import Store
public import UpdatePackage

/// A fault to inject at one phase (tests of the failure matrix; `TERMINAL_UPDATE_FAULT=PHASE:error|kill`).
public struct UpdateFaults: Sendable, Equatable {
    /// What happens when the updater reaches the phase's fault point.
    public enum Kind: String, Sendable { case error, kill }
    /// Where.
    public var phase: UpdatePhase
    /// What.
    public var kind: Kind

    /// Makes a fault.
    public init(phase: UpdatePhase, kind: Kind) {
        self.phase = phase
        self.kind = kind
    }

    /// Parses `PHASE:error` or `PHASE:kill`; nil for anything else.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let phase = UpdatePhase(rawValue: String(parts[0])), let kind = Kind(rawValue: String(parts[1])) else { return nil }
        self.init(phase: phase, kind: kind)
    }
}

/// Why a package was refused. Every refusal happens before the inactive slot is touched.
public enum RejectionReason: String, Sendable, Equatable {
    case notAPackage = "not-a-package"
    case truncated
    case unsigned
    case badSignature = "bad-signature"
    case unknownKey = "unknown-key"
    case revokedKey = "revoked-key"
    case invalidManifest = "invalid-manifest"
    case unsafePath = "unsafe-path"
    case wrongProduct = "wrong-product"
    case wrongBoard = "wrong-board"
    case olderVersion = "older-version"
    case sameVersion = "same-version"
    case belowMinimumVersion = "below-minimum-version"
    case lowerSecurityCounter = "lower-security-counter"
    case sizeMismatch = "size-mismatch"
    case payloadHashMismatch = "payload-hash-mismatch"
    case updateInProgress = "update-in-progress"
    case notNow = "not-now"
    case noSpace = "no-space"
}

/// What `install` did.
public enum InstallOutcome: Sendable, Equatable {
    /// Verified, written to `slot`, switched and restarted: the new version must now report healthy.
    case switched(version: FirmwareVersion, slot: String)
    /// Refused before anything was written.
    case rejected(RejectionReason, String)
}

/// What `boot` (run before every start of the service) did.
public enum BootOutcome: Sendable, Equatable {
    /// No update pending: start the committed version.
    case nothingPending
    /// The new version starts for the first time; it must commit before the deadline (seconds since the epoch).
    case healthCheckStarted(version: FirmwareVersion, deadline: Int)
    /// An interrupted install was cleaned up; the committed version starts.
    case cleanedUp(String)
    /// Went back to the committed slot, for the reason given.
    case rolledBack(String)
    /// An interrupted commit was finished (the new version had already proved healthy).
    case committed(FirmwareVersion)
}

/// What `commit` did.
public enum CommitOutcome: Sendable, Equatable {
    /// The new version is the committed one.
    case committed(FirmwareVersion)
    /// The new version failed its health check (or missed the deadline) and the committed slot is current again.
    case rolledBack(String)
    /// No update was waiting for a commit (an ordinary start).
    case nothingToCommit
}

/// The A/B installer (docs/update-package.md). Layout under `root`:
///
/// ```
/// ROOT/slots/a/, ROOT/slots/b/   the two slots: payload files + .manifest (the signed manifest bytes)
/// ROOT/current -> slots/a        the running slot; switched with symlink + rename(2)
/// ROOT/update-state              the state machine's persisted state (UpdateState)
/// ROOT/update.lock               flock(2): one updater at a time
/// ```
///
/// The store and keys live in the terminal's state directory, outside ROOT: no update or rollback touches them.
public final class Installer {
    /// The product name packages must carry.
    public static let product = "payment-terminal"

    public let root: String
    public let board: String
    public let keyring: Keyring
    /// Seconds the new version has, from its first start, to commit.
    public let healthDeadlineSeconds: Int
    let faults: UpdateFaults?
    let now: () -> Int
    private var lockFD: Int32 = -1

    /// An installer for the test or device root `root` on board `board`.
    public init(root: String, board: String, keyring: Keyring, healthDeadlineSeconds: Int = 120, faults: UpdateFaults? = nil, now: (() -> Int)? = nil) {
        self.root = root
        self.board = board
        self.keyring = keyring
        self.healthDeadlineSeconds = healthDeadlineSeconds
        self.faults = faults
        self.now = now ?? { Int(time(nil)) }
    }

    deinit { if lockFD >= 0 { close(lockFD) } }

    var statePath: String { root + "/update-state" }
    var currentPath: String { root + "/current" }
    func slotPath(_ slot: String) -> String { root + "/slots/" + slot }

    // MARK: - State

    /// The persisted state (an empty one before the first install). A root provisioned by an image, with
    /// `current` pointing at a slot but no state file yet, is adopted: that slot, with the version and security
    /// counter of its `.manifest`, is the committed one, so the first update never overwrites the running slot.
    public func status() throws(UpdaterError) -> UpdateState {
        guard SlotFiles.exists(statePath) else {
            var state = UpdateState()
            if let target = SlotFiles.linkTarget(currentPath), target == "slots/a" || target == "slots/b" {
                let slot = String(target.dropFirst("slots/".count))
                state.committedSlot = slot
                if let bytes = try? DurableFile.readAll(slotPath(slot) + "/.manifest", limit: UnverifiedUpdatePackage.maximumManifestLength),
                   let manifest = try? UpdateManifest(parsing: bytes) {
                    state.committedVersion = manifest.version
                    state.securityCounter = manifest.securityCounter
                }
                state.lastResult = "adopted slot \(slot) as committed"
            }
            return state
        }
        let bytes: [UInt8]
        do { bytes = try DurableFile.readAll(statePath, limit: 64 * 1024) } catch { throw UpdaterError(.io, "\(error)") }
        return try UpdateState(parsing: String(decoding: bytes, as: UTF8.self))
    }

    func save(_ state: UpdateState) throws(UpdaterError) {
        do { try DurableFile.store(statePath, Array(state.rendered().utf8), mode: 0o644) } catch { throw UpdaterError(.io, "\(error)") }
    }

    /// The fault point of `phase`: a test's injected error or SIGKILL.
    func reach(_ phase: UpdatePhase) throws(UpdaterError) {
        guard let faults, faults.phase == phase else { return }
        switch faults.kind {
        case .kill: _ = kill(getpid(), SIGKILL)
        case .error: throw UpdaterError(.injectedFault, "fault injected in \(phase.rawValue)")
        }
    }

    func lock() throws(UpdaterError) {
        if lockFD >= 0 { return }
        try SlotFiles.makeDirectory(root)
        let fd = open(root + "/update.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SlotFiles.failure("cannot open the update lock") }
        guard flock(fd, LOCK_EX) == 0 else {
            close(fd)
            throw SlotFiles.failure("cannot take the update lock")
        }
        lockFD = fd
    }

    // MARK: - Install

    /// Verifies the package at `packagePath` completely (signature, product, board, anti-rollback, sizes, every
    /// payload hash), then writes the inactive slot, switches `current` to it and calls `restart`.
    /// `preflight` returns why an update may not start now (a transaction in flight, the offline queue not
    /// persistable), or nil.
    /// - Throws: ``UpdaterError`` when the environment fails; the state file then says what was undone.
    public func install(packagePath: String, preflight: () -> String? = { nil }, restart: () throws -> Void = {}) throws(UpdaterError) -> InstallOutcome {
        try lock()
        var state = try status()
        guard state.phase == .idle else {
            return .rejected(.updateInProgress, "an update is in phase \(state.phase.rawValue); start the service (or `terminal update boot`) to finish it")
        }
        if let blocker = preflight() { return .rejected(.notNow, blocker) }

        state.phase = .verifying
        state.lastResult = "verifying \(packagePath)"
        try save(state)
        let verified: (manifest: UpdateManifest, ranges: [Range<Int>], manifestBytes: [UInt8], reader: SlotFiles.Reader)
        do throws(UpdaterError) {
            switch try verify(packagePath: packagePath, state: state) {
            case .success(let v): verified = v
            case .failure(let rejection):
                state.phase = .idle
                state.lastResult = "rejected \(rejection.reason.rawValue): \(rejection.detail)"
                try save(state)
                return .rejected(rejection.reason, rejection.detail)
            }
        } catch {
            state.phase = .idle
            state.lastResult = "verification failed: \(error.reason)"
            try save(state)
            throw error
        }

        let slot = state.committedSlot == "a" ? "b" : "a"
        let total = verified.manifest.payloads.reduce(0) { $0 + $1.size }
        if let free = SlotFiles.freeBytes(root), free < total + (1 << 20) {
            state.phase = .idle
            state.lastResult = "rejected no-space: \(total) bytes needed, \(free) free"
            try save(state)
            return .rejected(.noSpace, "the slot needs \(total) bytes, \(free) are free")
        }

        state.phase = .writing
        state.pendingSlot = slot
        state.pendingVersion = verified.manifest.version
        state.pendingSecurityCounter = verified.manifest.securityCounter
        state.lastResult = "writing \(verified.manifest.version) to slot \(slot)"
        try save(state)
        do throws(UpdaterError) {
            try writeSlot(slot, verified.manifest, verified.ranges, verified.manifestBytes, verified.reader)
        } catch {
            try? SlotFiles.removeTree(slotPath(slot))
            state.phase = .idle
            state.pendingSlot = nil
            state.pendingVersion = nil
            state.lastResult = "writing slot \(slot) failed, slot cleared: \(error.reason)"
            try save(state)
            throw error
        }

        state.phase = .switching
        state.lastResult = "switching to slot \(slot)"
        try save(state)
        do throws(UpdaterError) {
            try SlotFiles.switchLink(currentPath, to: "slots/" + slot, directory: root)
            try reach(.switching)
            state.phase = .restarting
            state.lastResult = "restarting into \(verified.manifest.version)"
            try save(state)
            try reach(.restarting)
            do { try restart() } catch let error as UpdaterError { throw error } catch { throw UpdaterError(.restartFailed, "\(error)") }
        } catch {
            try rollBack(&state, reason: "\(state.phase.rawValue) failed: \(error.reason)")
            throw error
        }
        return .switched(version: verified.manifest.version, slot: slot)
    }

    struct Rejection: Error {
        let reason: RejectionReason
        let detail: String
    }

    /// Everything checked before a byte is written. The returned reader stays open for the write pass, which hashes
    /// again, so a package changed between the passes is caught.
    func verify(packagePath: String, state: UpdateState) throws(UpdaterError) -> Result<(manifest: UpdateManifest, ranges: [Range<Int>], manifestBytes: [UInt8], reader: SlotFiles.Reader), Rejection> {
        let reader = try SlotFiles.Reader(path: packagePath)
        let head = try reader.read(at: 0, count: min(reader.length, UnverifiedUpdatePackage.maximumHeaderLength))
        let package: UnverifiedUpdatePackage
        do throws(UpdatePackageError) { package = try UnverifiedUpdatePackage(header: head[...]) } catch {
            switch error.code {
            case .truncated: return .failure(Rejection(reason: .truncated, detail: error.reason))
            case .notAPackage: return .failure(Rejection(reason: .notAPackage, detail: error.reason))
            default: return .failure(Rejection(reason: .sizeMismatch, detail: error.reason))
            }
        }
        let verdict: Keyring.Verdict
        do { verdict = try keyring.verify(package) } catch { throw UpdaterError(.io, "signature check: \(error)") }
        switch verdict {
        case .trusted: break
        case .unsigned: return .failure(Rejection(reason: .unsigned, detail: "the package is not signed"))
        case .unknownKey: return .failure(Rejection(reason: .unknownKey, detail: "no signature is by a key in the keyring"))
        case .revokedKey: return .failure(Rejection(reason: .revokedKey, detail: "the package is signed by a revoked key"))
        case .badSignature: return .failure(Rejection(reason: .badSignature, detail: "the signature does not verify"))
        }
        let manifest: UpdateManifest
        do throws(UpdatePackageError) { manifest = try UpdateManifest(parsing: package.manifestBytes) } catch {
            return .failure(Rejection(reason: error.code == .unsafePath ? .unsafePath : .invalidManifest, detail: error.reason))
        }
        guard manifest.product == Self.product else { return .failure(Rejection(reason: .wrongProduct, detail: "the package is for \(manifest.product)")) }
        guard manifest.boards.contains(board) else {
            return .failure(Rejection(reason: .wrongBoard, detail: "the package is for \(manifest.boards.joined(separator: ", ")), not \(board)"))
        }
        if let installed = state.committedVersion {
            if manifest.version < installed { return .failure(Rejection(reason: .olderVersion, detail: "\(manifest.version) is older than the installed \(installed)")) }
            if manifest.version == installed { return .failure(Rejection(reason: .sameVersion, detail: "\(installed) is already installed")) }
            if installed < manifest.minimumVersion {
                return .failure(Rejection(reason: .belowMinimumVersion, detail: "\(manifest.version) may replace \(manifest.minimumVersion) or later, not \(installed)"))
            }
        }
        guard manifest.securityCounter >= state.securityCounter else {
            return .failure(Rejection(reason: .lowerSecurityCounter, detail: "security counter \(manifest.securityCounter) is below the committed \(state.securityCounter)"))
        }
        let ranges: [Range<Int>]
        do throws(UpdatePackageError) { ranges = try package.checkPayloadLayout(sizes: manifest.payloads.map(\.size), packageLength: reader.length) } catch {
            return .failure(Rejection(reason: error.code == .truncated ? .truncated : .sizeMismatch, detail: error.reason))
        }
        for (payload, range) in zip(manifest.payloads, ranges) {
            let digest = try reader.stream(range) { (_: [UInt8]) throws(UpdaterError) in }
            guard constantTimeEquals(digest, payload.sha256) else {
                return .failure(Rejection(reason: .payloadHashMismatch, detail: "\(payload.path) does not match its SHA-256"))
            }
            try reach(.verifying)
        }
        return .success((manifest, ranges, package.manifestBytes, reader))
    }

    func writeSlot(_ slot: String, _ manifest: UpdateManifest, _ ranges: [Range<Int>], _ manifestBytes: [UInt8], _ reader: SlotFiles.Reader) throws(UpdaterError) {
        let directory = slotPath(slot)
        try SlotFiles.makeDirectory(root + "/slots")
        try SlotFiles.removeTree(directory)
        try SlotFiles.makeDirectory(directory)
        var directories: Set<String> = [directory]
        var first = true
        for (payload, range) in zip(manifest.payloads, ranges) {
            var parent = directory
            for component in payload.path.split(separator: "/").dropLast() {
                parent += "/" + component
                try SlotFiles.makeDirectory(parent)
                directories.insert(parent)
            }
            let writer = try SlotFiles.Writer(path: directory + "/" + payload.path, mode: 0o600)
            let digest = try reader.stream(range) { (chunk: [UInt8]) throws(UpdaterError) in
                try writer.write(chunk)
                if first {
                    first = false
                    try reach(.writing)
                }
            }
            guard constantTimeEquals(digest, payload.sha256) else {
                throw UpdaterError(.io, "\(payload.path) changed after it was verified")
            }
            try writer.finish(mode: payload.role == .firmware ? 0o755 : 0o644)
        }
        let manifestWriter = try SlotFiles.Writer(path: directory + "/.manifest", mode: 0o644)
        try manifestWriter.write(manifestBytes)
        try manifestWriter.finish(mode: 0o644)
        for path in directories.sorted(by: { $0.count > $1.count }) { SlotFiles.syncDirectory(path) }
        SlotFiles.syncDirectory(root + "/slots")
    }

    // MARK: - Start and commit

    /// Run before every start of the service (`ExecStartPre=`): finishes or undoes whatever an interrupted update
    /// left, and arms the health check of a freshly switched version.
    public func boot() throws(UpdaterError) -> BootOutcome {
        try lock()
        var state = try status()
        switch state.phase {
        case .idle:
            if let slot = state.committedSlot, SlotFiles.linkTarget(currentPath) != "slots/" + slot {
                try SlotFiles.switchLink(currentPath, to: "slots/" + slot, directory: root)
                state.lastResult = "current pointed elsewhere; reset to the committed slot \(slot)"
                try save(state)
                return .cleanedUp(state.lastResult)
            }
            return .nothingPending
        case .verifying:
            return try clearPending(&state, "interrupted while verifying \(state.pendingVersion.map { "\($0)" } ?? "a package"); nothing was written")
        case .writing:
            if let slot = state.pendingSlot { try SlotFiles.removeTree(slotPath(slot)) }
            return try clearPending(&state, "interrupted while writing slot \(state.pendingSlot ?? "?"); the slot was cleared")
        case .switching:
            return .rolledBack(try rollBack(&state, reason: "interrupted while switching"))
        case .restarting:
            state.phase = .healthCheck
            state.deadline = now() + healthDeadlineSeconds
            state.lastResult = "health check of \(state.pendingVersion.map { "\($0)" } ?? "?") until \(state.deadline)"
            try save(state)
            return .healthCheckStarted(version: state.pendingVersion ?? FirmwareVersion(major: 0, minor: 0, patch: 0), deadline: state.deadline)
        case .healthCheck:
            return .rolledBack(try rollBack(&state, reason: "\(state.pendingVersion.map { "\($0)" } ?? "the new version") restarted before it reported healthy (crash, watchdog or start timeout)"))
        case .committing:
            return .committed(try finishCommit(&state))
        case .rollingBack:
            return .rolledBack(try rollBack(&state, reason: state.lastResult))
        }
    }

    /// Run once the new version is healthy (`ExecStartPost=`, after READY=1, which the terminal sends only once the
    /// store is open and migrated): checks the deadline, self-tests the slot (every file against the signed
    /// manifest, plus `selfTest`), then commits. A failed check rolls back at once.
    public func commit(selfTest: () -> String? = { nil }) throws(UpdaterError) -> CommitOutcome {
        try lock()
        var state = try status()
        guard state.phase == .healthCheck else {
            if state.phase == .idle { return .nothingToCommit }
            throw UpdaterError(.wrongPhase, "no version is in its health check (phase \(state.phase.rawValue))")
        }
        let version = state.pendingVersion.map { "\($0)" } ?? "?"
        guard now() <= state.deadline else {
            return .rolledBack(try rollBack(&state, reason: "\(version) did not report healthy within \(healthDeadlineSeconds) s"))
        }
        do throws(UpdaterError) {
            try reach(.healthCheck)
            if let failure = try slotSelfTest(state.pendingSlot ?? "") ?? selfTest() {
                return .rolledBack(try rollBack(&state, reason: "\(version) failed its self-test: \(failure)"))
            }
        } catch {
            return .rolledBack(try rollBack(&state, reason: "\(version) health check failed: \(error.reason)"))
        }
        state.phase = .committing
        state.lastResult = "committing \(version)"
        try save(state)
        do throws(UpdaterError) { try reach(.committing) } catch {
            return .rolledBack(try rollBack(&state, reason: "committing \(version) failed: \(error.reason)"))
        }
        return .committed(try finishCommit(&state))
    }

    /// Every payload of `slot` against the signed manifest stored with it; nil when all match.
    func slotSelfTest(_ slot: String) throws(UpdaterError) -> String? {
        let directory = slotPath(slot)
        guard let bytes = try? DurableFile.readAll(directory + "/.manifest", limit: UnverifiedUpdatePackage.maximumManifestLength),
              let manifest = try? UpdateManifest(parsing: bytes)
        else { return "slot \(slot) has no readable manifest" }
        for payload in manifest.payloads {
            guard let reader = try? SlotFiles.Reader(path: directory + "/" + payload.path), reader.length == payload.size else {
                return "\(payload.path) is missing or has the wrong size"
            }
            let digest = try reader.stream(0..<reader.length) { (_: [UInt8]) throws(UpdaterError) in }
            guard digest == payload.sha256 else { return "\(payload.path) does not match the manifest" }
        }
        return nil
    }

    func finishCommit(_ state: inout UpdateState) throws(UpdaterError) -> FirmwareVersion {
        let version = state.pendingVersion ?? FirmwareVersion(major: 0, minor: 0, patch: 0)
        state.committedSlot = state.pendingSlot
        state.committedVersion = version
        state.securityCounter = max(state.securityCounter, state.pendingSecurityCounter)
        state.pendingSlot = nil
        state.pendingVersion = nil
        state.pendingSecurityCounter = 0
        state.deadline = 0
        state.phase = .idle
        state.lastResult = "committed \(version)"
        try save(state)
        return version
    }

    func clearPending(_ state: inout UpdateState, _ reason: String) throws(UpdaterError) -> BootOutcome {
        state.phase = .idle
        state.pendingSlot = nil
        state.pendingVersion = nil
        state.pendingSecurityCounter = 0
        state.lastResult = reason
        try save(state)
        return .cleanedUp(reason)
    }

    /// Back to the committed slot (or no `current` at all before the first commit); idempotent, so an interrupted
    /// rollback is simply run again by the next `boot`.
    @discardableResult
    func rollBack(_ state: inout UpdateState, reason: String) throws(UpdaterError) -> String {
        state.phase = .rollingBack
        state.lastResult = reason
        try save(state)
        try reach(.rollingBack)
        if let slot = state.committedSlot {
            try SlotFiles.switchLink(currentPath, to: "slots/" + slot, directory: root)
        } else if SlotFiles.exists(currentPath) {
            unlink(currentPath)
            SlotFiles.syncDirectory(root)
        }
        let message = "rolled back \(state.pendingVersion.map { "from \($0) " } ?? "")to \(state.committedVersion.map { "\($0)" } ?? "nothing"): \(reason)"
        state.phase = .idle
        state.pendingSlot = nil
        state.pendingVersion = nil
        state.pendingSecurityCounter = 0
        state.deadline = 0
        state.lastResult = message
        try save(state)
        return message
    }
}

extension Installer {
    /// Reads the keyring file at `path` (at most 64 KiB).
    /// - Throws: ``UpdaterError`` `io` when it cannot be read, or the keyring's ``UpdatePackageError``.
    public static func readKeyring(_ path: String) throws -> Keyring {
        let bytes: [UInt8]
        do { bytes = try DurableFile.readAll(path, limit: 64 * 1024) } catch { throw UpdaterError(.io, "keyring: \(error)") }
        return try Keyring(parsing: String(decoding: bytes, as: UTF8.self))
    }
}
