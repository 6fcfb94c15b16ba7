public import PaymentCrypto
import Synchronization

/// A mutual-TLS connection to the acquirer host that carries one request/response exchange at a time.
///
/// ``connect(host:port:tls:peerName:connectTimeout:handshakeTimeout:)`` opens TCP (with a connect timeout), runs the
/// TLS handshake (with a handshake timeout, verifying the server against the pinned CA and its name) and returns
/// the connection; ``exchange(_:responseTimeout:)`` sends one length-framed request and waits for one framed
/// response. Every call blocks its thread (up to its timeout): call it from a thread of its own, never from
/// Swift's cooperative pool.
///
/// After any failed exchange the connection is closed (a late response would be mistaken for the next one):
/// reconnect with ``ReconnectBackoff`` pacing the attempts.
public final class HostConnection: Sendable {
    /// The host this connection goes to, as given.
    public let host: String
    /// The TCP port.
    public let port: Int
    /// The negotiated TLS version ("TLSv1.2" or "TLSv1.3").
    public let protocolVersion: String

    /// The framed TLS channel; `nil` once closed. The mutex also serialises exchanges.
    private let channel: Mutex<HostFrameChannel?>
    /// Set while an exchange runs, so a second caller fails fast instead of queueing behind it.
    private let inFlight = Atomic<Bool>(false)

    private init(host: String, port: Int, channel: consuming sending HostFrameChannel, protocolVersion: String) {
        self.host = host
        self.port = port
        self.protocolVersion = protocolVersion
        self.channel = Mutex(Optional(channel))
    }

    /// Connects to `host:port` and completes the TLS handshake.
    ///
    /// - Parameters:
    ///   - host: an IP literal or host name of the acquirer.
    ///   - port: the TCP port.
    ///   - tls: a client ``TLSContext`` (our certificate and the pinned acquirer CA).
    ///   - peerName: the name the server certificate must carry (an IP literal is matched against iPAddress SANs,
    ///     a host name against DNS SANs); `nil` uses `host`.
    ///   - connectTimeout: the time allowed for the TCP connection.
    ///   - handshakeTimeout: the time allowed for the TLS handshake, counted after the connection is made.
    /// - Throws: ``UplinkError`` with ``UplinkError/Code/addressNotResolved``, ``UplinkError/Code/connectionRefused``,
    ///   ``UplinkError/Code/unreachable``, ``UplinkError/Code/timeout(_:)`` (`.connect` or `.handshake`),
    ///   ``UplinkError/Code/certificateRejected``, ``UplinkError/Code/handshakeFailure``,
    ///   ``UplinkError/Code/protocolViolation`` (the server does not speak TLS), ``UplinkError/Code/peerClosed``.
    public static func connect(
        host: String, port: Int, tls: TLSContext, peerName: String? = nil,
        connectTimeout: Duration = .seconds(10), handshakeTimeout: Duration = .seconds(15)
    ) throws -> HostConnection {
        precondition(tls.role == .client, "HostConnection.connect needs a client TLSContext")
        let fd = try connectTCP(host: host, port: port, deadline: .now + connectTimeout)
        let session = try mapTLSErrors(timeoutPhase: .handshake, context: "setting up the session") {
            try TLSSession(context: tls, takingSocket: fd, peerName: peerName ?? host)
        }
        try mapTLSErrors(timeoutPhase: .handshake, context: "in the handshake with \(host):\(port)") {
            try session.handshake(deadline: .now + handshakeTimeout)
        }
        let version = session.protocolVersion
        return HostConnection(host: host, port: port, channel: HostFrameChannel(session: session), protocolVersion: version)
    }

    /// Sends `request` (framed with its 2-byte length) and returns the next framed message from the host.
    ///
    /// - Parameters:
    ///   - request: the message, at most 65 535 bytes.
    ///   - responseTimeout: the time allowed from the start of the call until the whole response has arrived.
    /// - Returns: the response message, without its length header.
    /// - Throws: ``UplinkError`` with ``UplinkError/Code/requestInFlight`` when another exchange is running (the
    ///   connection stays open), ``UplinkError/Code/closed`` after ``close()`` or an earlier failure,
    ///   ``UplinkError/Code/messageTooLong``, ``UplinkError/Code/timeout(_:)`` (`.request` or `.response`),
    ///   ``UplinkError/Code/peerClosed``, ``UplinkError/Code/certificateRejected`` (a TLS 1.3 server that refuses
    ///   our certificate says so after the handshake), ``UplinkError/Code/protocolViolation``. Every error but the
    ///   first two closes the connection.
    public func exchange(_ request: [UInt8], responseTimeout: Duration) throws -> [UInt8] {
        let deadline = ContinuousClock.now + responseTimeout
        guard !inFlight.exchange(true, ordering: .acquiringAndReleasing) else {
            throw UplinkError(.requestInFlight, "an exchange is already in flight on this connection")
        }
        defer { inFlight.store(false, ordering: .releasing) }
        let framed = try HostFrameChannel.frame(request)
        return try channel.withLock { (channel: inout sending HostFrameChannel?) throws -> [UInt8] in
            guard let open = channel else { throw UplinkError(.closed, "the connection to \(host):\(port) is closed") }
            do {
                try mapTLSErrors(timeoutPhase: .request, context: "sending the request") {
                    try open.session.write(framed, deadline: deadline)
                }
                return try open.receive(deadline: deadline, timeoutPhase: .response)
            } catch {
                open.session.close()
                channel = nil
                throw error
            }
        }
    }

    /// Whether the connection is still open (not closed and no exchange has failed). Waits for an exchange in flight.
    public var isOpen: Bool { channel.withLock { $0 != nil } }

    /// Whether a new exchange can start on this connection, checked without waiting: it is open and the host has
    /// not closed its side meanwhile (hosts close idle connections). A connection that fails the check is closed.
    /// Use it before reusing a kept connection: a request written into a connection the host has closed is
    /// accepted by the kernel and never answered.
    public var isUsable: Bool {
        channel.withLock { channel in
            guard let open = channel else { return false }
            if open.session.isReusable() { return true }
            open.session.close()
            channel = nil
            return false
        }
    }

    /// Sends close_notify and closes the socket. Waits for an exchange in flight to end first. Idempotent.
    public func close() {
        channel.withLock { channel in
            channel?.session.close()
            channel = nil
        }
    }
}
