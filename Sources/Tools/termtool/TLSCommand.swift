#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Codecs
import PaymentCrypto
import Uplink

/// `termtool tls-pki --out DIR`: a throw-away PKI for the acquirer simulator and tests (never for a real host).
struct TLSPKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls-pki",
        abstract: "Write a TEST PKI: ca.pem, server.pem/.key, client.pem/.key (EC P-256).",
        discussion: """
            For the acquirer simulator and tests only. The keys are unencrypted PKCS#8 PEM files of mode 0600; \
            their contents are never printed.

            Example:
              termtool tls-pki --out /tmp/pki --server-name localhost --server-name 127.0.0.1 --client-name TID-0042
            """)

    @Option(help: "The directory to write into (created if missing).")
    var out: String

    @Option(name: .customLong("server-name"), help: "A subjectAltName of the server certificate (DNS name or IP); repeatable.")
    var serverNames: [String] = ["localhost", "127.0.0.1"]

    @Option(help: "The client certificate's commonName (the terminal id).")
    var clientName = "test-terminal"

    @Option(help: "Validity in days.")
    var days = 30

    func run() throws {
        let pki = try TLSTestCertificates.generate(serverNames: serverNames, clientName: clientName, validityDays: days)
        _ = mkdir(out, 0o700)
        try TLSFiles.write(out + "/ca.pem", pki.caCertificatePEM)
        try TLSFiles.write(out + "/server.pem", pki.serverCertificatePEM)
        try TLSFiles.write(out + "/server.key", pki.serverPrivateKeyPEM)
        try TLSFiles.write(out + "/client.pem", pki.clientCertificatePEM)
        try TLSFiles.write(out + "/client.key", pki.clientPrivateKeyPEM)
        print("wrote \(out)/ca.pem, server.pem, server.key, client.pem, client.key (TEST PKI; server names: \(serverNames.joined(separator: ", ")))")
    }
}

/// `termtool tls-echo-server`: a mutual-TLS host that answers each framed request with the same bytes, for link
/// tests (the network-namespace script runs one inside a namespace).
struct TLSEchoServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls-echo-server",
        abstract: "Serve mutual TLS with 2-byte length framing, echoing each request (tests).")

    @Option(help: "A directory written by `termtool tls-pki`.")
    var pki: String

    @Option(help: "The IPv4 address to listen on.")
    var address = "127.0.0.1"

    @Option(help: "The port (0: any free one; the chosen one is printed).")
    var port = 0

    @Option(help: "Stop after this many connections (0: never).")
    var connections = 0

    func run() throws {
        let identity = TLSIdentity(certificateChainPEM: try TLSFiles.read(pki + "/server.pem"), privateKeyPEM: try TLSFiles.readSecret(pki + "/server.key"))
        let context = try TLSContext.server(identity: identity, clientCAPEM: try TLSFiles.read(pki + "/ca.pem"))
        let listener = try HostListener(host: address, port: port)
        TLSFiles.say("listening on \(address):\(listener.port)")
        var served = 0
        while connections == 0 || served < connections {
            guard let fd = try? listener.accept(deadline: .now + .seconds(3600)) else { continue }
            served += 1
            do {
                let session = try TLSSession(context: context, takingSocket: fd, peerName: nil)
                defer { session.close() }
                try session.handshake(deadline: .now + .seconds(10))
                let channel = HostFrameChannel(session: session)
                while let request = try? channel.receive(deadline: .now + .seconds(60)) {
                    try channel.send(request, deadline: .now + .seconds(10))
                }
            } catch {
                TLSFiles.say("connection \(served): \(error)")
            }
        }
    }
}

/// `termtool tls-exchange`: one framed request over mutual TLS, printing the response or the error code.
struct TLSExchangeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls-exchange",
        abstract: "Connect with mutual TLS, send one framed request, print the response (tests).",
        discussion: "Prints `ok VERSION HEX` and exits 0, or `error CODE` (`unreachable`, `timeout-connect`, `certificateRejected`, ...) and exits 1.")

    @Option(help: "A directory written by `termtool tls-pki`.")
    var pki: String

    @Option(help: "The host address.")
    var host: String

    @Option(help: "The port.")
    var port: Int

    @Option(help: "The request in hex.")
    var message = "0800"

    @Option(help: "Connect, handshake and response timeouts, each, in milliseconds.")
    var timeoutMs = 3000

    func run() throws {
        let identity = TLSIdentity(certificateChainPEM: try TLSFiles.read(pki + "/client.pem"), privateKeyPEM: try TLSFiles.readSecret(pki + "/client.key"))
        let context = try TLSContext.client(identity: identity, trustedCAPEM: try TLSFiles.read(pki + "/ca.pem"))
        guard let request = Hex.decode(message) else { throw ValidationError("--message is not hex") }
        let timeout = Duration.milliseconds(timeoutMs)
        do {
            let connection = try HostConnection.connect(host: host, port: port, tls: context, connectTimeout: timeout, handshakeTimeout: timeout)
            defer { connection.close() }
            let response = try connection.exchange(request, responseTimeout: timeout)
            print("ok \(connection.protocolVersion) \(Hex.encode(response))")
        } catch let error as UplinkError {
            switch error.code {
            case .timeout(let phase): print("error timeout-\(phase.rawValue)")
            default: print("error \(error.code)")
            }
            throw ExitCode(1)
        }
    }
}

/// File input and output of the TLS commands, without Foundation; keys go straight between files and SecretBytes.
enum TLSFiles {
    /// Writes `bytes` to `path` (mode 0600 for secrets, 0644 otherwise), replacing it.
    static func write(_ path: String, _ bytes: some CryptoBytes) throws {
        let mode: mode_t = bytes is SecretBytes ? 0o600 : 0o644
        _ = unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ValidationError("cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)  // non-empty: count > offset
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw ValidationError("cannot write \(path): errno \(errno)") }
                offset += n
            }
        }
    }

    /// A whole (small) file.
    static func read(_ path: String) throws -> [UInt8] {
        var result: [UInt8] = []
        try withFile(path) { fd, size in
            result = [UInt8](repeating: 0, count: size)
            try result.withUnsafeMutableBytes { try fill($0, fd, path) }
        }
        return result
    }

    /// A whole key file, read straight into secret storage.
    static func readSecret(_ path: String) throws -> SecretBytes {
        var secret = SecretBytes(zeros: 0)
        try withFile(path) { fd, size in
            secret = try SecretBytes(count: size) { try fill($0, fd, path) }
        }
        return secret
    }

    private static func withFile(_ path: String, _ body: (Int32, Int) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("cannot open \(path): errno \(errno)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= 0, info.st_size < 1 << 20 else {
            throw ValidationError("\(path) is not a small regular file")
        }
        try body(fd, Int(info.st_size))
    }

    private static func fill(_ buffer: UnsafeMutableRawBufferPointer, _ fd: Int32, _ path: String) throws {
        var offset = 0
        while offset < buffer.count, let base = buffer.baseAddress {
            let n = Glibc.read(fd, base + offset, buffer.count - offset)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw ValidationError("cannot read \(path): errno \(errno)") }
            offset += n
        }
    }

    /// One line on stdout, written at once (stdout is a pipe under the test scripts).
    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }
}
