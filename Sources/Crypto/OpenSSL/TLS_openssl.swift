#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import COpenSSL

// The libssl side of the TLS wrapper: one owning class per C object (SSL_CTX, SSL, X509, BIO), PEM loading from
// memory, and the non-blocking handshake / read / write loop over poll(2) with deadlines. The Swift-facing API is
// TLS/TLS.swift.

/// Owns one `SSL_CTX`, freed by `SSL_CTX_free`.
final class SSLContextHandle: @unchecked Sendable {
    // @unchecked Sendable: the SSL_CTX is fully configured in `OpenSSLTLS.makeContext` before the handle is shared,
    // and never changed afterwards; libssl allows `SSL_new` on one SSL_CTX from many threads (openssl-threads(7)).
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { SSL_CTX_free(pointer) }
}

/// Owns one `X509`, freed by `X509_free`.
final class X509Handle {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { X509_free(pointer) }
}

/// Owns one `BIO`, freed by `BIO_free`.
final class BIOHandle {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { BIO_free(pointer) }

    /// A read-only memory BIO over `bytes` (`BIO_new_mem_buf`), which does not copy: `body` must finish with it.
    static func withMemoryBuffer<R>(_ bytes: UnsafeRawBufferPointer, _ body: (BIOHandle) throws -> R) throws -> R {
        guard bytes.count > 0, let base = bytes.baseAddress, bytes.count <= Int(Int32.max) else {
            throw CryptoError(.invalidCertificate, "empty PEM input")
        }
        guard let bio = BIO_new_mem_buf(base, Int32(bytes.count)) else { throw CryptoError.openSSL(function: "BIO_new_mem_buf") }
        return try body(BIOHandle(taking: bio))
    }

    /// A writable memory BIO (`BIO_s_mem`), or one over OpenSSL's secure heap that is cleansed when freed
    /// (`BIO_s_secmem`) for private keys.
    static func makeMemory(secure: Bool) throws -> BIOHandle {
        guard let bio = BIO_new(secure ? BIO_s_secmem() : BIO_s_mem()) else { throw CryptoError.openSSL(function: "BIO_new") }
        return BIOHandle(taking: bio)
    }

    /// The bytes written so far into a memory BIO (`BIO_get_mem_data`), passed to `body` without a copy.
    func withContents<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var data: UnsafePointer<UInt8>?
        let length = pcshim_BIO_get_mem_data(pointer, &data)
        guard length > 0, let data else { throw CryptoError(.openSSL, "BIO_get_mem_data returned no data") }
        return try body(UnsafeRawBufferPointer(start: data, count: length))
    }
}

/// A version of the TLS protocol as libssl numbers it (`TLS1_2_VERSION`, `TLS1_3_VERSION`).
enum OpenSSLProtocolVersion {
    static func value(_ version: TLSVersion) -> Int32 {
        switch version {
        case .tls12: return TLS1_2_VERSION
        case .tls13: return TLS1_3_VERSION
        }
    }
}

/// PEM loading and `SSL_CTX` set-up.
enum OpenSSLTLS {
    /// TLS 1.2 suites: ECDHE key exchange and AEAD ciphers only (forward secrecy, no CBC, no RSA key transport).
    /// TLS 1.3 suites are libssl's defaults, which are all AEAD.
    static let tls12CipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
        + "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"

    /// Ignore SIGPIPE once for the process: libssl writes to the socket with write(2), which raises SIGPIPE when
    /// the peer has gone; with the signal ignored the write fails with EPIPE and becomes ``CryptoError/Code/tlsPeerClosed``.
    static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Every certificate in a PEM text (`PEM_read_bio_X509` until the input ends), in order.
    static func readCertificates(pem: some CryptoBytes) throws -> [X509Handle] {
        try pem.withUnsafeBytes { raw in
            try BIOHandle.withMemoryBuffer(raw) { bio in
                var certificates: [X509Handle] = []
                while let x509 = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
                    certificates.append(X509Handle(taking: x509))
                }
                // The loop ends on "no start line" at the end of the input: not an error once a certificate was read.
                ERR_clear_error()
                guard !certificates.isEmpty else { throw CryptoError(.invalidCertificate, "no PEM certificate in the input") }
                return certificates
            }
        }
    }

    /// The private key of a PEM text (`PEM_read_bio_PrivateKey`, PKCS#8 or traditional). Encrypted keys are refused
    /// (the passphrase callback returns no passphrase, so libssl never prompts on a terminal).
    static func readPrivateKey(pem: SecretBytes) throws -> PKey {
        try pem.withUnsafeBytes { raw in
            try BIOHandle.withMemoryBuffer(raw) { bio in
                guard let key = PEM_read_bio_PrivateKey(bio.pointer, nil, { _, _, _, _ in 0 }, nil) else {
                    ERR_clear_error()
                    throw CryptoError(.invalidCertificate, "no readable PEM private key in the input")
                }
                return PKey(taking: key)
            }
        }
    }

    /// Builds a configured `SSL_CTX`: protocol versions, AEAD suites, our certificate chain and key, the pinned CA
    /// as the only trust anchor, and peer verification (`SSL_VERIFY_PEER`, plus `SSL_VERIFY_FAIL_IF_NO_PEER_CERT`
    /// on a server, so a client certificate is required).
    static func makeContext(
        server: Bool, certificateChainPEM: [UInt8], privateKeyPEM: SecretBytes, trustedCAPEM: [UInt8],
        minimumVersion: TLSVersion, maximumVersion: TLSVersion
    ) throws -> SSLContextHandle {
        _ = ignoreSIGPIPE
        guard OpenSSLProtocolVersion.value(minimumVersion) <= OpenSSLProtocolVersion.value(maximumVersion) else {
            throw CryptoError(.invalidParameter, "the minimum TLS version is above the maximum")
        }
        guard let made = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw CryptoError.openSSL(function: "SSL_CTX_new")
        }
        let context = SSLContextHandle(taking: made)
        let ctx = context.pointer
        try check(pcshim_SSL_CTX_set_min_proto_version(ctx, OpenSSLProtocolVersion.value(minimumVersion)), "SSL_CTX_set_min_proto_version")
        try check(pcshim_SSL_CTX_set_max_proto_version(ctx, OpenSSLProtocolVersion.value(maximumVersion)), "SSL_CTX_set_max_proto_version")
        try check(SSL_CTX_set_cipher_list(ctx, tls12CipherList), "SSL_CTX_set_cipher_list")
        _ = SSL_CTX_set_options(ctx, pcshim_SSL_OP_NO_RENEGOTIATION | pcshim_SSL_OP_NO_COMPRESSION | pcshim_SSL_OP_NO_TICKET)
        // Partial writes and a moving buffer: the write loop retries with the rest of the caller's bytes.
        _ = pcshim_SSL_CTX_set_mode(ctx, pcshim_SSL_MODE_ENABLE_PARTIAL_WRITE | pcshim_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)

        // Our identity: the leaf first, then any intermediates; the key must match the leaf.
        let chain = try readCertificates(pem: certificateChainPEM)
        guard SSL_CTX_use_certificate(ctx, chain[0].pointer) == 1 else {
            throw CryptoError.openSSL(function: "SSL_CTX_use_certificate")
        }
        for intermediate in chain.dropFirst() {
            try check(pcshim_SSL_CTX_add1_chain_cert(ctx, intermediate.pointer), "SSL_CTX_add1_chain_cert")
        }
        let key = try readPrivateKey(pem: privateKeyPEM)
        // SSL_CTX_use_PrivateKey already refuses a key of another certificate ("key values mismatch").
        guard SSL_CTX_use_PrivateKey(ctx, key.pointer) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
            ERR_clear_error()
            throw CryptoError(.invalidCertificate, "the private key does not match the certificate")
        }

        // The pinned CA: a fresh store holding only it (the system's default paths are never loaded).
        let anchors = try readCertificates(pem: trustedCAPEM)
        guard let store = X509_STORE_new() else { throw CryptoError.openSSL(function: "X509_STORE_new") }
        // SSL_CTX_set_cert_store takes over the store (freed with the context).
        SSL_CTX_set_cert_store(ctx, store)
        for anchor in anchors {
            try check(X509_STORE_add_cert(store, anchor.pointer), "X509_STORE_add_cert")
            // A server names the acceptable CAs in its CertificateRequest.
            if server { try check(SSL_CTX_add_client_CA(ctx, anchor.pointer), "SSL_CTX_add_client_CA") }
        }
        SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, nil)
        return context
    }
}

/// Owns one `SSL` (freed by `SSL_free`) and the connected socket under it (closed in `deinit`), and drives it with
/// non-blocking I/O: every operation loops over `SSL_get_error`, waiting in poll(2) for `SSL_ERROR_WANT_READ` /
/// `SSL_ERROR_WANT_WRITE` until its deadline.
final class SSLConnection {
    let ssl: OpaquePointer
    let socket: Int32
    private var closed = false

    /// Takes `socket` (a connected stream socket), makes it non-blocking and wraps it in a new `SSL` of `context`.
    /// `peerName` (client side) is checked against the server certificate: an IP address literal with
    /// `X509_VERIFY_PARAM_set1_ip` (against an iPAddress SAN), a host name with `X509_VERIFY_PARAM_set1_host`
    /// (against DNS SANs), which is also sent as SNI.
    init(context: SSLContextHandle, takingSocket socket: Int32, server: Bool, peerName: String?) throws {
        self.socket = socket
        guard let ssl = SSL_new(context.pointer) else {
            closeDescriptor(socket)
            throw CryptoError.openSSL(function: "SSL_new")
        }
        self.ssl = ssl
        let flags = fcntl(socket, F_GETFL)
        guard flags >= 0, fcntl(socket, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw CryptoError(.tlsSocket, "fcntl(O_NONBLOCK) failed: errno \(errno)")
        }
        try check(SSL_set_fd(ssl, socket), "SSL_set_fd")
        if server {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let peerName { try Self.setExpectedPeer(ssl, peerName) }
        }
    }

    deinit {
        SSL_free(ssl)
        if !closed { closeDescriptor(socket) }
    }

    private static func setExpectedPeer(_ ssl: OpaquePointer, _ name: String) throws {
        guard let param = SSL_get0_param(ssl) else { throw CryptoError.openSSL(function: "SSL_get0_param") }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            try withUnsafeBytes(of: &v4) { raw in
                try check(X509_VERIFY_PARAM_set1_ip(param, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count),
                          "X509_VERIFY_PARAM_set1_ip")
            }
        } else if inet_pton(AF_INET6, name, &v6) == 1 {
            try withUnsafeBytes(of: &v6) { raw in
                try check(X509_VERIFY_PARAM_set1_ip(param, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count),
                          "X509_VERIFY_PARAM_set1_ip")
            }
        } else {
            guard !name.isEmpty, !name.utf8.contains(0) else { throw CryptoError(.invalidParameter, "empty or invalid peer name") }
            X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            try check(X509_VERIFY_PARAM_set1_host(param, name, 0), "X509_VERIFY_PARAM_set1_host")
            try check(pcshim_SSL_set_tlsext_host_name(ssl, name), "SSL_set_tlsext_host_name")
        }
    }

    /// What an operation is doing, for timeout and failure reasons.
    enum Phase: String {
        case handshake, read, write
    }

    /// Runs the handshake (`SSL_do_handshake`) until it completes or `deadline` passes.
    func handshake(deadline: ContinuousClock.Instant) throws {
        _ = try drive(.handshake, deadline: deadline) { SSL_do_handshake(ssl) }
    }

    /// Reads up to `buffer.count` bytes (`SSL_read`); at least one unless it throws.
    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant) throws -> Int {
        guard buffer.count > 0, let base = buffer.baseAddress else { return 0 }
        let want = Int32(clamping: buffer.count)
        return Int(try drive(.read, deadline: deadline) { SSL_read(ssl, base, want) })
    }

    /// Writes all of `bytes` (`SSL_write`, partial writes continued).
    ///
    /// When the peer has closed, the reason it sent may already wait in the receive buffer: a TLS 1.3 server checks
    /// the client certificate after the client's handshake has finished, then sends an alert and closes, and our
    /// write meets the reset. One non-waiting `SSL_read` picks that alert up, so the error says why.
    func write(_ bytes: UnsafeRawBufferPointer, deadline: ContinuousClock.Instant) throws {
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let chunk = Int32(clamping: bytes.count - offset)
            do {
                offset += Int(try drive(.write, deadline: deadline) { SSL_write(ssl, base + offset, chunk) })
            } catch let error as CryptoError where error.code == .tlsPeerClosed {
                throw pendingAlert() ?? error
            }
        }
    }

    /// The certificate or handshake error of an alert already received, read without waiting.
    private func pendingAlert() -> CryptoError? {
        ERR_clear_error()
        var byte: UInt8 = 0
        let rc = SSL_read(ssl, &byte, 1)
        guard rc <= 0, SSL_get_error(ssl, rc) == SSL_ERROR_SSL else {
            ERR_clear_error()
            return nil
        }
        let error = classify(.read)
        ERR_clear_error()
        return error.code == .tlsCertificateRejected || error.code == .tlsHandshakeFailure ? error : nil
    }

    /// Whether the session can carry a new exchange, checked without waiting: nothing has arrived since the last
    /// read, or only handshake records (a TLS 1.3 session ticket, a key update), which libssl takes in. `false` once
    /// the peer has closed (close_notify, end of stream, reset) or has sent data nobody asked for.
    func isReusable() -> Bool {
        guard !closed, SSL_pending(ssl) == 0 else { return false }
        var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        var ready = poll(&pfd, 1, 0)
        while ready < 0, errno == EINTR { ready = poll(&pfd, 1, 0) }
        guard ready > 0 else { return ready == 0 }
        ERR_clear_error()
        var byte: UInt8 = 0
        let rc = SSL_read(ssl, &byte, 1)
        let kind = SSL_get_error(ssl, rc)
        ERR_clear_error()
        return rc <= 0 && (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE)
    }

    /// Sends close_notify once without waiting for the peer's (`SSL_shutdown`), then closes the socket.
    func close() {
        guard !closed else { return }
        ERR_clear_error()
        if SSL_is_init_finished(ssl) == 1 { _ = SSL_shutdown(ssl) }
        ERR_clear_error()
        closed = true
        closeDescriptor(socket)
    }

    /// The negotiated protocol (`SSL_get_version`: "TLSv1.2", "TLSv1.3").
    var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The commonName of the peer's verified certificate (`SSL_get0_peer_certificate`, `X509_NAME_get_text_by_NID`).
    var peerCommonName: String? {
        guard let cert = SSL_get0_peer_certificate(ssl), let name = X509_get_subject_name(cert) else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        let n = X509_NAME_get_text_by_NID(name, NID_commonName, &buffer, Int32(buffer.count))
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Calls `operation` until it returns a positive value, waiting in poll for what libssl wants, and turns
    /// failures into ``CryptoError`` codes.
    private func drive(_ phase: Phase, deadline: ContinuousClock.Instant, _ operation: () -> Int32) throws -> Int32 {
        guard !closed else { throw CryptoError(.tlsPeerClosed, "the TLS session is closed") }
        while true {
            ERR_clear_error()
            let rc = operation()
            let savedErrno = errno
            if rc > 0 { return rc }
            let kind = SSL_get_error(ssl, rc)
            switch kind {
            case SSL_ERROR_WANT_READ:
                try wait(for: Int16(POLLIN), phase: phase, deadline: deadline)
            case SSL_ERROR_WANT_WRITE:
                try wait(for: Int16(POLLOUT), phase: phase, deadline: deadline)
            case SSL_ERROR_ZERO_RETURN:
                throw CryptoError(.tlsPeerClosed, "the peer closed the TLS session (close_notify) during the \(phase.rawValue)")
            case SSL_ERROR_SYSCALL:
                if ERR_peek_error() != 0 { throw classify(phase) }
                switch savedErrno {
                case 0, ECONNRESET, EPIPE:
                    throw CryptoError(.tlsPeerClosed, "the peer closed the connection during the \(phase.rawValue) (errno \(savedErrno))")
                default:
                    throw CryptoError(.tlsSocket, "socket error during the \(phase.rawValue): errno \(savedErrno)")
                }
            default:
                throw classify(phase)
            }
        }
    }

    /// Waits until the socket is ready for `events` or the deadline passes (retrying EINTR).
    private func wait(for events: Int16, phase: Phase, deadline: ContinuousClock.Instant) throws {
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw CryptoError(.tlsTimeout, "the TLS \(phase.rawValue) did not finish before its deadline")
            }
            // Round up so the wait never ends before the deadline; the check above ends the loop.
            let (seconds, attoseconds) = remaining.components
            let milliseconds = min(Int64(Int32.max), seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            var pfd = pollfd(fd: socket, events: events, revents: 0)
            let rc = poll(&pfd, 1, Int32(milliseconds))
            if rc < 0 {
                if errno == EINTR { continue }
                throw CryptoError(.tlsSocket, "poll failed during the \(phase.rawValue): errno \(errno)")
            }
            // Readable, writable, error or hang-up: the next libssl call reports which.
            if rc > 0 { return }
        }
    }

    /// Reasons (ERR_GET_REASON of libssl errors, openssl/sslerr.h) that mean the peer's certificate was refused here
    /// or ours was refused by the peer (a certificate alert).
    private static let certificateReasons: Set<Int32> = [
        SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
        SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN, SSL_R_TLSV1_ALERT_UNKNOWN_CA,
        SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
        SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, SSL_R_TLSV1_ALERT_ACCESS_DENIED,
    ]

    /// Reasons that mean the bytes received are not TLS records (or not well-formed ones).
    private static let garbageReasons: Set<Int32> = [
        SSL_R_WRONG_VERSION_NUMBER, SSL_R_UNKNOWN_PROTOCOL, SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_HTTP_REQUEST,
        SSL_R_HTTPS_PROXY_REQUEST, SSL_R_RECORD_LENGTH_MISMATCH, SSL_R_BAD_PACKET_LENGTH, SSL_R_BAD_RECORD_TYPE,
        SSL_R_UNEXPECTED_MESSAGE, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC, SSL_R_LENGTH_MISMATCH, SSL_R_BAD_PACKET,
        SSL_R_UNEXPECTED_RECORD, SSL_R_BAD_LENGTH, SSL_R_ENCRYPTED_LENGTH_TOO_LONG, SSL_R_DATA_LENGTH_TOO_LONG,
    ]

    /// Turns the error queue after an `SSL_ERROR_SSL` (or a syscall error with a queued reason) into a code.
    private func classify(_ phase: Phase) -> CryptoError {
        let first = ERR_peek_error()
        let reason = ERR_GET_LIB(first) == ERR_LIB_SSL ? ERR_GET_REASON(first) : 0
        let verify = SSL_get_verify_result(ssl)
        if reason == SSL_R_CERTIFICATE_VERIFY_FAILED, verify != X509_V_OK {
            ERR_clear_error()
            let why = String(cString: X509_verify_cert_error_string(verify))
            return CryptoError(.tlsCertificateRejected, "the peer's certificate was refused: \(why) (X509_V_ERR \(verify))")
        }
        if Self.certificateReasons.contains(reason) {
            return CryptoError.openSSL(function: "TLS \(phase.rawValue)").recoded(.tlsCertificateRejected)
        }
        // OpenSSL 3 queues a socket error as a system-library entry (reason = errno): a reset or a broken pipe is the
        // peer closing, as it is when SSL_ERROR_SYSCALL leaves the queue empty.
        if ERR_GET_LIB(first) == ERR_LIB_SYS, [ECONNRESET, EPIPE].contains(ERR_GET_REASON(first)) {
            ERR_clear_error()
            return CryptoError(.tlsPeerClosed, "the peer reset the connection during the \(phase.rawValue)")
        }
        if reason == SSL_R_UNEXPECTED_EOF_WHILE_READING {
            ERR_clear_error()
            return CryptoError(.tlsPeerClosed, "the peer closed the connection without close_notify during the \(phase.rawValue)")
        }
        if Self.garbageReasons.contains(reason) {
            return CryptoError.openSSL(function: "TLS \(phase.rawValue)").recoded(.tlsProtocolViolation)
        }
        let code: CryptoError.Code = phase == .handshake ? .tlsHandshakeFailure : .tlsProtocolViolation
        return CryptoError.openSSL(function: "TLS \(phase.rawValue)").recoded(code)
    }
}

/// close(2) of a socket this file owns (a free function: inside `SSLConnection`, `close` names the method).
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

extension CryptoError {
    /// The same reason and place under another code.
    fileprivate func recoded(_ code: Code) -> CryptoError { CryptoError(code, reason, file: file, line: line) }
}
