public import SystemPackage

/// The one error type of the process-lifecycle layer (systemd notification, watchdog set-up, logging sink).
///
/// Equality compares ``code`` only, so tests and callers match on the code, never on ``reason`` text.
/// No error of this type ever carries card data, PINs or keys: the reasons name environment variables and
/// socket addresses only.
public struct LifecycleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// `NOTIFY_SOCKET` is set but is neither an absolute path nor an `@`-prefixed abstract name, or it does
        /// not fit `sockaddr_un.sun_path` (108 bytes, unix(7)).
        case invalidNotifySocket
        /// `socket(2)` for the notification datagram failed.
        case notifySocketFailed
        /// `sendto(2)` of the notification datagram failed (no listener, queue full, permission denied).
        case notifySendFailed
        /// `WATCHDOG_USEC` or `WATCHDOG_PID` is set but malformed (sd_watchdog_enabled(3) returns `-EINVAL`).
        case invalidWatchdogEnvironment
    }

    /// What went wrong, for switching.
    public let code: Code
    /// A human-readable explanation (no secrets; never assert on it).
    public let reason: String
    /// The `errno` of the failing system call, when there was one.
    public let errno: Errno?
    /// Where the error was created.
    public let file: String
    /// Where the error was created.
    public let line: Int

    init(code: Code, reason: String, errno: Errno? = nil, file: String, line: Int) {
        self.code = code
        self.reason = reason
        self.errno = errno
        self.file = file
        self.line = line
    }

    /// Compares codes only.
    public static func == (lhs: LifecycleError, rhs: LifecycleError) -> Bool { lhs.code == rhs.code }

    /// `"LifecycleError.code: reason (errno) at file:line"`.
    public var description: String {
        var text = "LifecycleError.\(code): \(reason)"
        if let errno { text += " (\(errno))" }
        return text + " at \(file):\(line)"
    }

    static func invalidNotifySocket(_ reason: String, file: String = #fileID, line: Int = #line) -> LifecycleError {
        LifecycleError(code: .invalidNotifySocket, reason: reason, file: file, line: line)
    }

    static func notifySocketFailed(_ errno: Errno, file: String = #fileID, line: Int = #line) -> LifecycleError {
        LifecycleError(
            code: .notifySocketFailed, reason: "socket(AF_UNIX, SOCK_DGRAM) failed", errno: errno, file: file,
            line: line)
    }

    static func notifySendFailed(_ errno: Errno, file: String = #fileID, line: Int = #line) -> LifecycleError {
        LifecycleError(
            code: .notifySendFailed, reason: "sendto(NOTIFY_SOCKET) failed", errno: errno, file: file, line: line)
    }

    static func invalidWatchdogEnvironment(
        _ reason: String, file: String = #fileID, line: Int = #line
    ) -> LifecycleError {
        LifecycleError(code: .invalidWatchdogEnvironment, reason: reason, file: file, line: line)
    }
}
