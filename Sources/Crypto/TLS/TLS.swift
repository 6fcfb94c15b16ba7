/// A version of the TLS protocol. Only TLS 1.2 (RFC 5246) and TLS 1.3 (RFC 8446) are ever negotiated.
public enum TLSVersion: Sendable, Equatable, Comparable {
    /// TLS 1.2 (RFC 5246), with ECDHE and AEAD suites only.
    case tls12
    /// TLS 1.3 (RFC 8446).
    case tls13
}

/// A certificate chain and its private key, for the side of a mutual-TLS connection that proves who it is.
///
/// The key stays in ``SecretBytes`` (PEM text, PKCS#8 or traditional, unencrypted); it is parsed straight from that
/// storage into libssl and never copied into an array or a string.
public struct TLSIdentity: Sendable {
    /// The leaf certificate first, then any intermediates, as PEM.
    public var certificateChainPEM: [UInt8]
    /// The leaf's private key as PEM.
    public var privateKeyPEM: SecretBytes

    /// An identity from PEM bytes.
    public init(certificateChainPEM: [UInt8], privateKeyPEM: SecretBytes) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// A configured TLS endpoint (an `SSL_CTX`): our identity, the one pinned CA, the protocol versions and the peer
/// verification policy. Make one per configuration and start any number of ``TLSSession``s from it, from any thread.
///
/// Both sides authenticate (mutual TLS):
/// - a **client** context verifies the server's chain against the pinned CA only (the system trust store is never
///   loaded) and the server's name per session (``TLSSession/init(context:takingSocket:peerName:)``);
/// - a **server** context requires a client certificate that chains to the pinned CA, and fails the handshake
///   without one (`SSL_VERIFY_FAIL_IF_NO_PEER_CERT`).
public final class TLSContext: Sendable {
    /// Which side of the handshake the context plays.
    public enum Role: Sendable, Equatable {
        case client
        case server
    }

    /// Which side of the handshake the context plays.
    public let role: Role
    let handle: SSLContextHandle

    private init(role: Role, handle: SSLContextHandle) {
        self.role = role
        self.handle = handle
    }

    /// A client context: presents `identity` and trusts only the CA certificate(s) in `trustedCAPEM`.
    ///
    /// - Parameters:
    ///   - identity: the terminal's certificate chain and key.
    ///   - trustedCAPEM: the acquirer's CA certificate (PEM); the only trust anchor.
    ///   - minimumVersion: the lowest version offered (TLS 1.2 by default).
    ///   - maximumVersion: the highest version offered (TLS 1.3 by default).
    /// - Throws: ``CryptoError`` with ``CryptoError/Code/invalidCertificate`` when a PEM does not parse or the key
    ///   does not match the certificate; ``CryptoError/Code/openSSL`` when libssl fails.
    public static func client(
        identity: TLSIdentity, trustedCAPEM: [UInt8], minimumVersion: TLSVersion = .tls12, maximumVersion: TLSVersion = .tls13
    ) throws -> TLSContext {
        TLSContext(role: .client, handle: try OpenSSLTLS.makeContext(
            server: false, certificateChainPEM: identity.certificateChainPEM, privateKeyPEM: identity.privateKeyPEM,
            trustedCAPEM: trustedCAPEM, minimumVersion: minimumVersion, maximumVersion: maximumVersion))
    }

    /// A server context: presents `identity` and requires a client certificate issued under `clientCAPEM`.
    ///
    /// - Parameters:
    ///   - identity: the server's certificate chain and key.
    ///   - clientCAPEM: the CA certificate(s) client certificates must chain to (PEM); also named to clients in the
    ///     CertificateRequest.
    ///   - minimumVersion: the lowest version accepted (TLS 1.2 by default).
    ///   - maximumVersion: the highest version accepted (TLS 1.3 by default).
    /// - Throws: as ``client(identity:trustedCAPEM:minimumVersion:maximumVersion:)``.
    public static func server(
        identity: TLSIdentity, clientCAPEM: [UInt8], minimumVersion: TLSVersion = .tls12, maximumVersion: TLSVersion = .tls13
    ) throws -> TLSContext {
        TLSContext(role: .server, handle: try OpenSSLTLS.makeContext(
            server: true, certificateChainPEM: identity.certificateChainPEM, privateKeyPEM: identity.privateKeyPEM,
            trustedCAPEM: clientCAPEM, minimumVersion: minimumVersion, maximumVersion: maximumVersion))
    }
}

/// One TLS connection over a connected stream socket (an `SSL`), with non-blocking I/O and a deadline on every
/// operation.
///
/// The session owns the socket from ``init(context:takingSocket:peerName:)`` on and closes it in ``close()`` or
/// when released. It is used by one thread at a time: it is not `Sendable`.
///
/// Errors are ``CryptoError``s with these codes: ``CryptoError/Code/tlsTimeout`` (the deadline passed; the reason
/// names the phase), ``CryptoError/Code/tlsCertificateRejected``, ``CryptoError/Code/tlsHandshakeFailure``,
/// ``CryptoError/Code/tlsPeerClosed``, ``CryptoError/Code/tlsProtocolViolation`` (not TLS) and
/// ``CryptoError/Code/tlsSocket``. After an error other than a timeout the session is unusable; close it.
public final class TLSSession {
    let connection: SSLConnection

    /// Wraps a connected socket, which the session now owns (it is set non-blocking and closed with the session,
    /// even when this initializer throws).
    ///
    /// - Parameters:
    ///   - context: a client or server ``TLSContext``; it decides which side of the handshake this session plays.
    ///   - socket: a connected `SOCK_STREAM` descriptor.
    ///   - peerName: client side: the name the server's certificate must carry: an IPv4/IPv6 literal is matched
    ///     against iPAddress SANs (`X509_VERIFY_PARAM_set1_ip`), anything else against DNS SANs
    ///     (`X509_VERIFY_PARAM_set1_host`, also sent as SNI). `nil` checks the chain only. Ignored by a server.
    public init(context: TLSContext, takingSocket socket: Int32, peerName: String?) throws {
        connection = try SSLConnection(
            context: context.handle, takingSocket: socket, server: context.role == .server, peerName: peerName)
    }

    /// Runs the TLS handshake, including the verification of the peer's certificate, until `deadline`.
    public func handshake(deadline: ContinuousClock.Instant) throws {
        try connection.handshake(deadline: deadline)
    }

    /// Reads what has arrived, at most `maximumCount` bytes, waiting until `deadline` for at least one.
    public func read(upTo maximumCount: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(1, maximumCount))
        let n = try buffer.withUnsafeMutableBytes { try connection.read(into: $0, deadline: deadline) }
        buffer.removeSubrange(n...)
        return buffer
    }

    /// Reads exactly `count` bytes, or throws: ``CryptoError/Code/tlsTimeout`` when `deadline` passes first,
    /// ``CryptoError/Code/tlsPeerClosed`` when the peer closes first.
    public func read(exactly count: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        try buffer.withUnsafeMutableBytes { raw in
            while filled < count {
                filled += try connection.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]), deadline: deadline)
            }
        }
        return buffer
    }

    /// Writes all of `bytes` before `deadline`.
    public func write(_ bytes: some CryptoBytes, deadline: ContinuousClock.Instant) throws {
        try bytes.withUnsafeBytes { try connection.write($0, deadline: deadline) }
    }

    /// Sends close_notify (without waiting for the peer's) and closes the socket. Idempotent.
    public func close() { connection.close() }

    /// Whether the session can carry a new request, checked without waiting: `false` once the peer has closed it
    /// (close_notify, end of stream, reset) or has sent application data nobody asked for. Handshake records that
    /// arrived meanwhile (a TLS 1.3 session ticket) are taken in and do not count. Call it between exchanges, on an
    /// idle session: a server that closes idle connections leaves the client a socket its next write still succeeds
    /// on, and the request would be lost.
    public func isReusable() -> Bool { connection.isReusable() }

    /// The negotiated protocol version as libssl names it ("TLSv1.2", "TLSv1.3"), after the handshake.
    public var protocolVersion: String { connection.protocolVersion }

    /// The commonName of the peer's verified certificate, after the handshake (a server reads the terminal's
    /// identity here).
    public var peerCommonName: String? { connection.peerCommonName }
}

@available(*, unavailable)
extension TLSSession: Sendable {}
