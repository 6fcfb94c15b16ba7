/// The one error of the Updater module: the environment failed (I/O, a full disk, a fault injected by a test).
/// Refusals of a package are not errors: they are ``InstallOutcome/rejected(_:_:)`` values.
public struct UpdaterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed.
    public enum Code: Sendable, Equatable, Hashable {
        /// A file operation failed (`reason` names the path and errno).
        case io
        /// The state file does not parse.
        case corruptState
        /// The command does not apply in the current phase (a commit with no update pending).
        case wrongPhase
        /// A fault injected through ``UpdateFaults`` (tests only).
        case injectedFault
        /// The restart command failed.
        case restartFailed
    }

    /// What failed; compare this.
    public let code: Code
    /// A sentence for logs.
    public let reason: String

    /// Makes an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func == (lhs: UpdaterError, rhs: UpdaterError) -> Bool { lhs.code == rhs.code }
    public var description: String { "updater error (\(code)): \(reason)" }
}
