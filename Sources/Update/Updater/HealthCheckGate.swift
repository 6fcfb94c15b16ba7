#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Store

/// What a starting terminal learns from the updater's state about itself, so that store migrations the previous
/// version could not open wait until this version is committed (docs/update-package.md, "Store migrations and
/// rollback").
///
/// The terminal reads `ROOT/update-state` without taking the update lock: the file is replaced whole (write, fsync,
/// rename), so a read sees one state or the next, never a mixture.
public struct HealthCheckGate: Sendable {
    /// The update root (`/opt/terminal` on a board).
    public let root: String

    public init(root: String) { self.root = root }

    /// How the health check of a slot ended.
    public enum Verdict: Sendable, Equatable {
        /// Still running (or committing).
        case undecided
        /// The slot is the committed one now.
        case committed
        /// The updater went back to the previous slot; the reason it recorded.
        case rolledBack(String)
    }

    /// The persisted state, or nil when the root has none (no update was ever installed, or no update root).
    public func state() -> UpdateState? {
        guard let bytes = try? DurableFile.readAll(root + "/update-state", limit: 64 * 1024) else { return nil }
        return try? UpdateState(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// The slot in its health check and the deadline for its commit; nil when the running version is committed.
    public func pendingHealthCheck() -> (slot: String, deadline: Int)? {
        guard let state = state(), state.phase == .healthCheck, let slot = state.pendingSlot else { return nil }
        return (slot, state.deadline)
    }

    /// Where the health check of `slot` stands.
    public func verdict(slot: String) -> Verdict {
        guard let state = state() else { return .rolledBack("the update state is gone or unreadable") }
        switch state.phase {
        case .healthCheck, .committing:
            return state.pendingSlot == slot ? .undecided : .rolledBack(state.lastResult)
        case .idle where state.committedSlot == slot:
            return .committed
        default:
            return .rolledBack(state.lastResult)
        }
    }

    /// Polls every `interval` until the health check of `slot` is decided, or until `graceSeconds` after `deadline`
    /// (then `.undecided`: the updater never answered, and the next start rolls back). `beat` runs on every poll
    /// (the caller's watchdog); `now` is the wall clock in seconds.
    public func waitForVerdict(
        slot: String, deadline: Int, graceSeconds: Int = 10, interval: Duration = .milliseconds(200),
        now: (() -> Int)? = nil, beat: () -> Void = {}
    ) async -> Verdict {
        let now = now ?? { Int(time(nil)) }
        while true {
            beat()
            let verdict = verdict(slot: slot)
            if verdict != .undecided { return verdict }
            if now() > deadline + graceSeconds { return .undecided }
            do { try await Task.sleep(for: interval) } catch { return .undecided }
        }
    }
}
