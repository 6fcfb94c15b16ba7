#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// One state assignment of the `sd_notify(3)` protocol.
///
/// Several messages sent together travel in one datagram, newline-separated, so systemd applies them atomically
/// (for example `READY=1` with its `STATUS=`).
public enum NotifyMessage: Sendable, Equatable {
    /// `READY=1`: start-up is finished; a `Type=notify` unit becomes active and its watchdog starts.
    case ready
    /// `STATUS=…`: a one-line human-readable status shown by `systemctl status`.
    /// Control characters (including newlines, which would inject further assignments) become spaces.
    case status(String)
    /// `WATCHDOG=1`: keep-alive ping, due at least once per `WatchdogSec=`.
    case watchdog
    /// `WATCHDOG=trigger`: ask systemd to act as if the watchdog timed out, at once.
    case watchdogTrigger
    /// `STOPPING=1`: the service began its shutdown.
    case stopping
    /// `MAINPID=…`: the main process of the service is now this pid.
    case mainPID(Int32)

    /// The `NAME=value` text of the assignment, as sd_notify(3) spells it.
    public var assignment: String {
        switch self {
        case .ready: "READY=1"
        case .status(let text): "STATUS=" + Self.singleLine(text)
        case .watchdog: "WATCHDOG=1"
        case .watchdogTrigger: "WATCHDOG=trigger"
        case .stopping: "STOPPING=1"
        case .mainPID(let pid): "MAINPID=\(pid)"
        }
    }

    /// The datagram for several assignments: each one on its own line, no trailing newline (as `systemd-notify(1)`).
    public static func datagram(_ messages: [NotifyMessage]) -> String {
        messages.map(\.assignment).joined(separator: "\n")
    }

    private static func singleLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            // C0 controls and DEL: a newline would start a new assignment in the datagram (sd_notify(3):
            // "newline-separated list of variable assignments"), a NUL would end it.
            scalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
        }
        return String(scalars)
    }
}

/// `sd_notify(3)` without libsystemd: sends state datagrams to the socket systemd names in `NOTIFY_SOCKET`.
///
/// - `NOTIFY_SOCKET` unset or empty: every call is a no-op returning `false` (not started by systemd, or
///   `Type=simple`).
/// - An absolute path: a filesystem `AF_UNIX` socket.
/// - A name starting with `@`: a Linux abstract socket; the `@` becomes the leading NUL byte (unix(7),
///   "abstract"), and the address length covers exactly the name, with no trailing NUL.
///
/// Each call opens a fresh `AF_UNIX`/`SOCK_DGRAM` socket with `SOCK_CLOEXEC` (so a spawned helper never inherits it),
/// sends one datagram with `MSG_NOSIGNAL | MSG_DONTWAIT` and closes it, as libsystemd's `sd_pid_notify_with_fds`
/// does. `MSG_DONTWAIT` keeps a full receive queue in PID 1 from ever blocking the caller (a cooperative-pool
/// thread): the datagram is dropped and the error reported instead. Failures throw ``LifecycleError``; nothing here
/// traps.
///
/// With `NotifyAccess=main` systemd accepts these messages only from the service's main process, which is us.
public struct SystemdNotifier: Sendable {
    /// Where the notifications go.
    public enum Destination: Sendable, Equatable {
        /// `NOTIFY_SOCKET` unset or empty: notifications are no-ops.
        case none
        /// A filesystem socket path.
        case path(String)
        /// A Linux abstract socket name, without the leading `@`.
        case abstract(String)
        /// `NOTIFY_SOCKET` is set but unusable; every notification throws ``LifecycleError/Code/invalidNotifySocket``.
        case invalid(String)
    }

    /// The destination parsed from `NOTIFY_SOCKET`.
    public let destination: Destination

    /// Reads `NOTIFY_SOCKET` from `environment` (usually ``ProcessEnvironment/current()``).
    /// - Parameter environment: the process environment; only `NOTIFY_SOCKET` is read.
    public init(environment: [String: String]) {
        self.destination = Self.parse(environment["NOTIFY_SOCKET"])
    }

    /// A notifier for an explicit destination.
    /// - Parameter destination: where to send.
    public init(destination: Destination) {
        self.destination = destination
    }

    /// Whether notifications are sent at all (`NOTIFY_SOCKET` is set, valid or not).
    public var isEnabled: Bool { destination != .none }

    /// Sends one assignment in a datagram of its own.
    /// - Parameter message: the assignment.
    /// - Returns: `true` if a datagram was sent, `false` when `NOTIFY_SOCKET` is unset.
    /// - Throws: ``LifecycleError`` with ``LifecycleError/Code/invalidNotifySocket``,
    ///   ``LifecycleError/Code/notifySocketFailed`` or ``LifecycleError/Code/notifySendFailed``.
    @discardableResult
    public func notify(_ message: NotifyMessage) throws -> Bool {
        try notify([message])
    }

    /// Sends several assignments in one datagram.
    /// - Parameter messages: the assignments, in order.
    /// - Returns: `true` if a datagram was sent, `false` when `NOTIFY_SOCKET` is unset.
    /// - Throws: ``LifecycleError`` with ``LifecycleError/Code/invalidNotifySocket``,
    ///   ``LifecycleError/Code/notifySocketFailed`` or ``LifecycleError/Code/notifySendFailed``.
    @discardableResult
    public func notify(_ messages: [NotifyMessage]) throws -> Bool {
        let pathBytes: [UInt8]
        switch destination {
        case .none:
            return false
        case .invalid(let reason):
            throw LifecycleError.invalidNotifySocket(reason)
        case .path(let path):
            pathBytes = Array(path.utf8) + [0]
        case .abstract(let name):
            pathBytes = [0] + Array(name.utf8)
        }
        try Self.send(Array(NotifyMessage.datagram(messages).utf8), to: pathBytes)
        return true
    }

    /// The watchdog interval systemd asks for, following `sd_watchdog_enabled(3)`.
    ///
    /// `WATCHDOG_USEC` holds the `WatchdogSec=` value in microseconds. If `WATCHDOG_PID` is set too, the
    /// watchdog is meant for that process only: any other pid gets `nil`. Nothing is unset from the environment.
    /// - Parameters:
    ///   - environment: the process environment; `WATCHDOG_USEC` and `WATCHDOG_PID` are read.
    ///   - pid: our pid (`nil`: `getpid()`).
    /// - Returns: the interval, or `nil` when the watchdog is off or meant for another process.
    /// - Throws: ``LifecycleError/Code/invalidWatchdogEnvironment`` when a variable is set but malformed
    ///   (sd_watchdog_enabled(3) returns `-EINVAL` there).
    public static func watchdogInterval(environment: [String: String], pid: Int32? = nil) throws -> Duration? {
        guard let usecText = environment["WATCHDOG_USEC"] else { return nil }
        // sd_watchdog_enabled(3): "WATCHDOG_USEC … set to the watchdog timeout in µs"; 0 and USEC_INFINITY
        // (UINT64_MAX) are rejected with -EINVAL, as is anything that is not a plain decimal number.
        guard let usec = parseDecimal(usecText), usec > 0, usec < UInt64.max else {
            throw LifecycleError.invalidWatchdogEnvironment("WATCHDOG_USEC is not a positive decimal")
        }
        guard usec <= UInt64(Int64.max) else {
            throw LifecycleError.invalidWatchdogEnvironment("WATCHDOG_USEC is out of range")
        }
        if let pidText = environment["WATCHDOG_PID"] {
            // sd_watchdog_enabled(3): "If WATCHDOG_PID is set, it must match the PID of the process calling";
            // a pid that does not parse is -EINVAL, a different pid means "not for us" (returns 0).
            guard let watchdogPID = parseDecimal(pidText), watchdogPID > 0, watchdogPID <= UInt64(Int32.max) else {
                throw LifecycleError.invalidWatchdogEnvironment("WATCHDOG_PID is not a pid")
            }
            guard Int32(watchdogPID) == pid ?? getpid() else { return nil }
        }
        return .microseconds(Int64(usec))
    }

    // MARK: - Internals

    static func parse(_ value: String?) -> Destination {
        guard let value, !value.isEmpty else { return .none }
        // sockaddr_un.sun_path is 108 bytes (unix(7)); a path needs its NUL, an abstract name its leading NUL.
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        if value.hasPrefix("@") {
            let name = String(value.dropFirst())
            guard !name.isEmpty else { return .invalid("NOTIFY_SOCKET names an empty abstract socket") }
            guard name.utf8.count + 1 <= capacity else { return .invalid("NOTIFY_SOCKET is longer than sun_path") }
            return .abstract(name)
        }
        guard value.hasPrefix("/") else {
            // libsystemd also knows "vsock:" addresses (systemd ≥ 254, for VMs); a terminal never runs that way.
            return .invalid("NOTIFY_SOCKET is neither an absolute path nor an abstract socket")
        }
        guard value.utf8.count + 1 <= capacity else { return .invalid("NOTIFY_SOCKET is longer than sun_path") }
        guard !value.utf8.contains(0) else { return .invalid("NOTIFY_SOCKET contains a NUL byte") }
        return .path(value)
    }

    private static func parseDecimal(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20,
            text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(text)
    }

    /// socket(2) + sendto(2) + close(2) for one datagram to `sun_path` bytes `pathBytes`.
    private static func send(_ payload: [UInt8], to pathBytes: [UInt8]) throws {
        let fd = socket(AF_UNIX, notifySocketType, 0)
        guard fd >= 0 else { throw LifecycleError.notifySocketFailed(Errno(rawValue: errno)) }
        // close(2) is not retried on EINTR: on Linux the descriptor is released either way.
        defer { _ = close(fd) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        // unix(7): the address length is offsetof(sun_path) + the bytes used, so an abstract name is exactly its
        // bytes (trailing NULs would become part of the name).
        guard let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) else {
            // Why: `sun_path` is a stored property of an imported C struct, so the offset always exists.
            fatalError("sockaddr_un.sun_path has no offset")
        }
        let length = socklen_t(pathOffset + pathBytes.count)

        while true {
            let sent = withUnsafePointer(to: &address) { pointer in
                // Rebinding sockaddr_un to sockaddr is the sockets API contract (unix(7), bind(2)): the kernel
                // reads `length` bytes through the generic header type.
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                    payload.withUnsafeBytes { bytes in
                        sendto(fd, bytes.baseAddress, bytes.count, notifySendFlags, generic, length)
                    }
                }
            }
            if sent >= 0 { return }
            let error = Errno(rawValue: errno)
            if error == .interrupted { continue }
            throw LifecycleError.notifySendFailed(error)
        }
    }
}

#if canImport(Glibc)
/// `SOCK_DGRAM | SOCK_CLOEXEC` (Glibc imports both as `__socket_type` enum cases).
private let notifySocketType = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
/// `MSG_NOSIGNAL | MSG_DONTWAIT`.
private let notifySendFlags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
#else
private let notifySocketType = SOCK_DGRAM | SOCK_CLOEXEC
private let notifySendFlags = MSG_NOSIGNAL | MSG_DONTWAIT
#endif
