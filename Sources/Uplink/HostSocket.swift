#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// TCP connect with a deadline: getaddrinfo, then a non-blocking `connect` per address, waiting in poll for the
/// rest of the time. Returns the connected descriptor (non-blocking, close-on-exec), owned by the caller.
///
/// Name resolution is not bounded by the deadline (getaddrinfo blocks); the acquirer address of a board profile is
/// an IP literal or a name in /etc/hosts, which resolve at once.
func connectTCP(host: String, port: Int, deadline: ContinuousClock.Instant) throws -> Int32 {
    guard (1...65535).contains(port) else { throw UplinkError(.addressNotResolved, "port \(port) is out of range") }
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_family = AF_UNSPEC
    hints.ai_flags = AI_NUMERICSERV
    var result: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, String(port), &hints, &result)
    guard rc == 0, let first = result else {
        throw UplinkError(.addressNotResolved, "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
    }
    defer { freeaddrinfo(result) }
    var lastError = UplinkError(.addressNotResolved, "no address for \(host)")
    var entry: UnsafeMutablePointer<addrinfo>? = first
    while let ai = entry {
        do {
            return try connectOne(ai.pointee, host: host, port: port, deadline: deadline)
        } catch let error as UplinkError {
            // A timeout uses up the whole budget: don't try the next address.
            if case .timeout = error.code { throw error }
            lastError = error
        }
        entry = ai.pointee.ai_next
    }
    throw lastError
}

private func connectOne(_ ai: addrinfo, host: String, port: Int, deadline: ContinuousClock.Instant) throws -> Int32 {
    let fd = socket(ai.ai_family, ai.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), ai.ai_protocol)
    guard fd >= 0 else { throw UplinkError(.system, "socket failed: errno \(errno)") }
    var keep = false
    defer { if !keep { close(fd) } }
    var one: Int32 = 1
    // Requests are small and latency-bound: no Nagle delay.
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var status: Int32 = 0
    if connect(fd, ai.ai_addr, ai.ai_addrlen) != 0 {
        guard errno == EINPROGRESS else { throw connectError(errno, host: host, port: port) }
        try waitForSocket(fd, events: Int16(POLLOUT), deadline: deadline, phase: .connect)
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &status, &length) == 0 else {
            throw UplinkError(.system, "getsockopt(SO_ERROR) failed: errno \(errno)")
        }
        guard status == 0 else { throw connectError(status, host: host, port: port) }
    }
    keep = true
    return fd
}

private func connectError(_ code: Int32, host: String, port: Int) -> UplinkError {
    switch code {
    case ECONNREFUSED: return UplinkError(.connectionRefused, "\(host):\(port) refused the connection")
    case ENETUNREACH, EHOSTUNREACH, ENETDOWN, EHOSTDOWN, EADDRNOTAVAIL:
        return UplinkError(.unreachable, "\(host):\(port) is unreachable (errno \(code))")
    case ETIMEDOUT: return UplinkError(.timeout(.connect), "the kernel gave up connecting to \(host):\(port)")
    default: return UplinkError(.system, "connect to \(host):\(port) failed: errno \(code)")
    }
}

/// Waits in poll until `fd` is ready for `events` or `deadline` passes (EINTR retried).
func waitForSocket(_ fd: Int32, events: Int16, deadline: ContinuousClock.Instant, phase: UplinkError.Phase) throws {
    while true {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw UplinkError(.timeout(phase), "the \(phase.rawValue) did not finish in time") }
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        let rc = poll(&pfd, 1, pollMilliseconds(remaining))
        if rc < 0 {
            if errno == EINTR { continue }
            throw UplinkError(.system, "poll failed: errno \(errno)")
        }
        if rc > 0 { return }
    }
}

/// A poll(2) timeout for `duration`, rounded up to whole milliseconds so a wait never ends early.
func pollMilliseconds(_ duration: Duration) -> Int32 {
    guard duration > .zero else { return 0 }
    let (seconds, attoseconds) = duration.components
    let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int32(clamping: ms)
}

/// A listening TCP socket, for the acquirer simulator and tests: binds `host:port` (port 0 picks a free one) and
/// accepts connections with a deadline. The descriptors ``accept(deadline:)`` returns belong to the caller (hand
/// them to a server `TLSSession`).
public final class HostListener: Sendable {
    /// The listening descriptor; owned by this object and closed in `deinit`.
    public let descriptor: Int32
    /// The port actually bound (the kernel's choice when 0 was asked for).
    public let port: Int

    /// Binds and listens (SO_REUSEADDR, non-blocking so an accept after poll never blocks).
    ///
    /// - Parameters:
    ///   - host: an IPv4 literal to bind ("127.0.0.1" for loopback, "0.0.0.0" for every address).
    ///   - port: the port, or 0 for any free port.
    ///   - backlog: the listen(2) backlog.
    /// - Throws: ``UplinkError`` with ``UplinkError/Code/addressNotResolved`` for a host that is not an IPv4
    ///   literal, ``UplinkError/Code/system`` when bind or listen fails.
    public init(host: String = "127.0.0.1", port: Int = 0, backlog: Int32 = 16) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
        guard (0...65535).contains(port), inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw UplinkError(.addressNotResolved, "\(host):\(port) is not an IPv4 address and port")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw UplinkError(.system, "socket failed: errno \(errno)") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let e = errno
            close(fd)
            throw UplinkError(.system, "bind/listen on \(host):\(port) failed: errno \(e)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit { close(descriptor) }

    /// Accepts one connection, waiting until `deadline`. Returns the connected descriptor (close-on-exec), which the
    /// caller owns.
    ///
    /// - Throws: ``UplinkError`` with ``UplinkError/Code/timeout(_:)`` (phase `.connect`) when nobody connects in
    ///   time, ``UplinkError/Code/system`` when accept fails.
    public func accept(deadline: ContinuousClock.Instant) throws -> Int32 {
        while true {
            try waitForSocket(descriptor, events: Int16(POLLIN), deadline: deadline, phase: .connect)
            let fd = clinux_accept_cloexec(descriptor)
            if fd >= 0 {
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            // The client may have gone between poll and accept (ECONNABORTED), or a signal arrived: wait again.
            if errno == EINTR || errno == EAGAIN || errno == ECONNABORTED { continue }
            throw UplinkError(.system, "accept failed: errno \(errno)")
        }
    }
}
