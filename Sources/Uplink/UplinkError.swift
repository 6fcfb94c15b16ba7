/// The one error of the Uplink module: the host link (``HostConnection``, ``HostListener``) and the connectivity
/// monitor.
///
/// Match on ``code``; ``reason`` is for logs and never holds message bytes (requests carry card data). ``cause``
/// keeps the lower layer's error (a `CryptoError` of the TLS wrapper) for the log. Two errors are equal when their
/// codes are equal.
public struct UplinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which step of a host exchange ran out of time.
    public enum Phase: String, Sendable, Hashable {
        /// The TCP connection (SYN to established).
        case connect
        /// The TLS handshake, including certificate verification.
        case handshake
        /// Sending the request.
        case request
        /// Waiting for and reading the whole response.
        case response
    }

    /// What went wrong.
    public enum Code: Sendable, Hashable {
        /// The host name does not resolve (getaddrinfo failed) or the port is out of range.
        case addressNotResolved
        /// The host answered the connection attempt with a reset (ECONNREFUSED): nothing listens there.
        case connectionRefused
        /// No route to the host (ENETUNREACH, EHOSTUNREACH): the link is down.
        case unreachable
        /// A step did not finish in time.
        case timeout(Phase)
        /// The TLS handshake failed (no common version or cipher, a handshake alert).
        case handshakeFailure
        /// A certificate was refused: the server's chain is not from the pinned CA or names another host, or the
        /// server refused ours.
        case certificateRejected
        /// The peer closed the connection before the whole message arrived (or before any of it).
        case peerClosed
        /// The peer sent bytes that are not TLS (garbage, another protocol).
        case protocolViolation
        /// A request longer than the 2-byte length header can describe (65 535 bytes).
        case messageTooLong
        /// ``HostConnection/exchange(_:responseTimeout:)`` was called while another exchange was in flight.
        case requestInFlight
        /// The connection was closed (by ``HostConnection/close()`` or after an earlier failure).
        case closed
        /// A socket or netlink system call failed; ``UplinkError/reason`` names it and the errno.
        case system
    }

    /// What went wrong; compare this, never ``reason``.
    public let code: Code
    /// A sentence for humans. Never contains message bytes, keys or card data.
    public let reason: String
    /// The lower layer's error, if this one wraps it (for logs).
    public let cause: (any Error & Sendable)?
    /// Where the error was made (`#fileID`).
    public let file: String
    /// Where the error was made (`#line`).
    public let line: Int

    /// Makes an error; `reason` must not contain message bytes or secrets.
    public init(_ code: Code, _ reason: String, cause: (any Error & Sendable)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String {
        "uplink error (\(code)): \(reason)" + (cause.map { " [cause: \($0)]" } ?? "")
    }

    public static func == (lhs: UplinkError, rhs: UplinkError) -> Bool { lhs.code == rhs.code }
}
