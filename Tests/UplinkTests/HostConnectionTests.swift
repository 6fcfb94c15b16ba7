#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PaymentCrypto
import Synchronization
import Testing
import TestKit
@testable import Uplink

/// Mutual TLS over loopback with certificates generated for the run: the real libssl on both sides.
@Suite("Host link over mutual TLS")
struct HostConnectionTests {
    let pki: TLSTestCertificates
    let client: TLSContext
    let server: TLSContext

    init() throws {
        pki = try TLSTestCertificates.generate(clientName: "TID-00000042")
        client = try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM)
        server = try TLSContext.server(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM)
    }

    @Test("a mutual-TLS exchange carries framed requests and responses, TLS 1.3 by default")
    func exchange() throws {
        let host = try TestHostServer(context: server, behavior: .echo(prefix: [0x08, 0x10]))
        defer { host.stop() }
        let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client)
        defer { connection.close() }
        #expect(connection.protocolVersion == "TLSv1.3")
        let request: [UInt8] = [0x02, 0x00] + Array(repeating: 0x5A, count: 300)
        #expect(try connection.exchange(request, responseTimeout: .seconds(5)) == [0x08, 0x10] + request)
        // A second request on the same connection, and an empty one.
        #expect(try connection.exchange([1, 2, 3], responseTimeout: .seconds(5)) == [0x08, 0x10, 1, 2, 3])
        #expect(try connection.exchange([], responseTimeout: .seconds(5)) == [0x08, 0x10])
        connection.close()
        #expect(!connection.isOpen)
        #expect(throws: UplinkError(.closed, "")) { try connection.exchange([1], responseTimeout: .seconds(1)) }
        host.stop()
        #expect(host.peerName.withLock { $0 } == "TID-00000042")
    }

    @Test("a kept connection the host closed while idle is not usable (close_notify or a bare end of stream); session tickets do not count")
    func hostClosedWhileIdle() throws {
        for notify in [true, false] {
            let host = try TestHostServer(context: server, behavior: .echoOnceThenClose(notify: notify))
            defer { host.stop() }
            let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client)
            defer { connection.close() }
            // TLS 1.3: the server's session tickets arrive after the handshake, before any request; they are taken in.
            usleep(100_000)
            #expect(connection.isUsable, "notify \(notify): handshake records alone leave the connection usable")
            #expect(try connection.exchange([1, 2, 3], responseTimeout: .seconds(5)) == [1, 2, 3])
            host.stop()  // the server has closed its side
            #expect(!connection.isUsable, "notify \(notify): the host closed the connection")
            #expect(!connection.isOpen, "the check closes our side too")
        }
    }

    @Test("TLS 1.2 only still works (ECDHE-ECDSA AEAD suite), and a host name is verified against DNS SANs")
    func tls12AndHostName() throws {
        let tls12 = try TLSContext.client(
            identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM, minimumVersion: .tls12, maximumVersion: .tls12)
        let host = try TestHostServer(context: server, behavior: .echo(prefix: []))
        defer { host.stop() }
        let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: tls12, peerName: "localhost")
        defer { connection.close() }
        #expect(connection.protocolVersion == "TLSv1.2")
        #expect(try connection.exchange([9, 9], responseTimeout: .seconds(5)) == [9, 9])
    }

    @Test("a largest-size message (65 535 bytes) round-trips; one byte more is refused before sending")
    func messageSizes() throws {
        let host = try TestHostServer(context: server, behavior: .echo(prefix: []))
        defer { host.stop() }
        let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client)
        defer { connection.close() }
        let big = (0..<65_535).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(try connection.exchange(big, responseTimeout: .seconds(10)) == big)
        #expect(throws: UplinkError(.messageTooLong, "")) { try connection.exchange(big + [0], responseTimeout: .seconds(1)) }
    }

    @Test("one request in flight: a second caller fails fast and the first exchange is unharmed")
    func oneInFlight() throws {
        let host = try TestHostServer(context: server, behavior: .silent)
        defer { host.stop() }
        let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client)
        let first = Mutex<UplinkError.Code?>(nil)
        let worker = try UplinkThread.start(name: "first-exchange") {
            do {
                _ = try connection.exchange([1], responseTimeout: .milliseconds(600))
            } catch let error as UplinkError {
                first.withLock { $0 = error.code }
            } catch {}
        }
        usleep(150_000)
        let (elapsed, error) = timed { _ = try connection.exchange([2], responseTimeout: .seconds(5)) }
        #expect((error as? UplinkError)?.code == .requestInFlight)
        #expect(elapsed < .milliseconds(50))
        worker.join()
        #expect(first.withLock { $0 } == .timeout(.response))
    }

    @Test("the generated PKI verifies with the openssl command (an independent X.509 implementation)")
    func pkiVerifiesWithOpenSSLCommand() throws {
        guard access("/usr/bin/openssl", X_OK) == 0 else { return }
        let dir = try makeTemporaryDirectory("uplink-pki")
        defer { removeTree(dir) }
        try writePKI(pki, to: dir)
        try writeTextFile(dir + "/server.pem", String(decoding: pki.serverCertificatePEM, as: UTF8.self))
        let verify = try runProcess(
            ["/usr/bin/openssl", "verify", "-CAfile", dir + "/ca.pem", "-purpose", "sslserver", "-verify_ip", "127.0.0.1", dir + "/server.pem"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        let verifyClient = try runProcess(
            ["/usr/bin/openssl", "verify", "-CAfile", dir + "/ca.pem", "-purpose", "sslclient", dir + "/client.pem"])
        #expect(verifyClient.status == 0, "\(verifyClient.stdout) \(verifyClient.stderr)")
        let text = try runProcess(["/usr/bin/openssl", "x509", "-in", dir + "/server.pem", "-noout", "-text"])
        #expect(text.stdout.contains("DNS:localhost, IP Address:127.0.0.1"))
        #expect(text.stdout.contains("ASN1 OID: prime256v1"))
        // The key files are PKCS#8 PEM that openssl reads back as P-256 keys.
        let key = try runProcess(["/usr/bin/openssl", "pkey", "-in", dir + "/client.key", "-noout", "-text_pub"])
        #expect(key.status == 0 && key.stdout.contains("prime256v1"))
    }

    @Test("a server whose certificate comes from another CA is refused by the client")
    func wrongCA() throws {
        let other = try TLSTestCertificates.generate(caName: "Rogue CA")
        let rogue = try TLSContext.server(identity: other.serverIdentity, clientCAPEM: pki.caCertificatePEM)
        let host = try TestHostServer(context: rogue, behavior: .echo(prefix: []))
        defer { host.stop() }
        let error = #expect(throws: UplinkError.self) {
            try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client)
        }
        #expect(error?.code == .certificateRejected)
        #expect((error?.cause as? CryptoError)?.code == .tlsCertificateRejected)
    }

    @Test("a server certificate for another name is refused (IP SAN checked with X509_VERIFY_PARAM_set1_ip)")
    func wrongName() throws {
        let elsewhere = try TLSTestCertificates.generate(serverNames: ["acquirer.example", "10.9.8.7"])
        let clientOfIt = try TLSContext.client(identity: elsewhere.clientIdentity, trustedCAPEM: elsewhere.caCertificatePEM)
        let serverOfIt = try TLSContext.server(identity: elsewhere.serverIdentity, clientCAPEM: elsewhere.caCertificatePEM)
        let host = try TestHostServer(context: serverOfIt, behavior: .echo(prefix: []))
        defer { host.stop() }
        let error = #expect(throws: UplinkError.self) {
            try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: clientOfIt)
        }
        #expect(error?.code == .certificateRejected)
        // The same server is accepted under a name its certificate carries.
        let host2 = try TestHostServer(context: serverOfIt, behavior: .echo(prefix: []))
        defer { host2.stop() }
        let ok = try HostConnection.connect(host: "127.0.0.1", port: host2.port, tls: clientOfIt, peerName: "acquirer.example")
        #expect(try ok.exchange([1], responseTimeout: .seconds(5)) == [1])
        ok.close()
    }

    @Test("a client without a certificate is refused by the server (Python's ssl module as the client)")
    func clientWithoutCertificate() throws {
        guard pythonIsAvailable else { return }
        let dir = try makeTemporaryDirectory("uplink-tls")
        defer { removeTree(dir) }
        try writePKI(pki, to: dir)
        let script = repositoryRoot() + "/Tests/scripts/tls_client.py"

        // With its certificate the independent client completes an exchange with our server...
        let good = try TestHostServer(context: server, behavior: .echo(prefix: [0xAA]))
        let ok = try runProcess(
            ["/usr/bin/env", "python3", script, "127.0.0.1", String(good.port), dir + "/ca.pem", "0102", dir + "/client.pem", dir + "/client.key"],
            timeout: .seconds(30))
        good.stop()
        #expect(ok.stdout.hasSuffix("aa0102\n"), "python client: \(ok.stdout) \(ok.stderr)")

        // ...and without one the server fails the handshake with a certificate error.
        let strict = try TestHostServer(context: server, behavior: .echo(prefix: []))
        let refused = try runProcess(
            ["/usr/bin/env", "python3", script, "127.0.0.1", String(strict.port), dir + "/ca.pem", "0102"], timeout: .seconds(30))
        strict.stop()
        #expect(refused.stdout.hasPrefix("error:"), "python client: \(refused.stdout)")
        #expect(strict.serverError.withLock { $0?.code } == .tlsCertificateRejected)
    }

    @Test("a client with a certificate from another CA is refused by the server; our client learns it")
    func clientFromWrongCA() throws {
        let other = try TLSTestCertificates.generate(caName: "Rogue CA")
        let rogueClient = try TLSContext.client(identity: other.clientIdentity, trustedCAPEM: pki.caCertificatePEM)
        let host = try TestHostServer(context: server, behavior: .echo(prefix: []))
        defer { host.stop() }
        // TLS 1.3: the client's handshake may finish before the server has checked its certificate, so the refusal
        // arrives at the handshake or at the first exchange, as a certificate alert.
        let error = #expect(throws: UplinkError.self) {
            let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: rogueClient)
            defer { connection.close() }
            _ = try connection.exchange([1], responseTimeout: .seconds(5))
        }
        #expect(error?.code == .certificateRejected, "\(String(describing: error))")
        host.stop()
        #expect(host.serverError.withLock { $0?.code } == .tlsCertificateRejected)
    }

    @Test("a server that accepts the request but never answers: response timeout at the deadline (+150 ms tolerance on a shared machine)")
    func responseTimeout() throws {
        let host = try TestHostServer(context: server, behavior: .silent)
        defer { host.stop() }
        let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client)
        let (elapsed, error) = timed { _ = try connection.exchange([1, 2], responseTimeout: .milliseconds(400)) }
        #expect((error as? UplinkError)?.code == .timeout(.response))
        #expect(elapsed >= .milliseconds(400) && elapsed < .milliseconds(550), "took \(elapsed)")
        print("figure: response timeout 400 ms thrown after \(elapsed)")
        // A timed-out connection is closed: a late answer must never pass for the next response.
        #expect(!connection.isOpen)
    }

    @Test("a server that never completes the handshake: handshake timeout at the deadline (+150 ms tolerance)")
    func handshakeTimeout() throws {
        let host = try TestHostServer(context: server, behavior: .noHandshake)
        defer { host.stop() }
        let (elapsed, error) = timed {
            _ = try HostConnection.connect(
                host: "127.0.0.1", port: host.port, tls: client, connectTimeout: .seconds(2), handshakeTimeout: .milliseconds(300))
        }
        #expect((error as? UplinkError)?.code == .timeout(.handshake))
        #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(450), "took \(elapsed)")
        print("figure: handshake timeout 300 ms thrown after \(elapsed)")
    }

    @Test("connect timeout when the host's accept queue is full and SYNs are dropped")
    func connectTimeout() throws {
        let listener = try HostListener(host: "127.0.0.1", port: 0, backlog: 0)
        var held: [Int32] = []
        defer { held.forEach { _ = close($0) } }
        // Fill the accept queue; the first connect that cannot complete shows the timeout.
        var outcome: (Duration, (any Error)?) = (.zero, nil)
        for _ in 0..<8 {
            var fd: Int32 = -1
            outcome = timed { fd = try connectTCP(host: "127.0.0.1", port: listener.port, deadline: .now + .milliseconds(250)) }
            if fd >= 0 { held.append(fd) } else { break }
        }
        #expect((outcome.1 as? UplinkError)?.code == .timeout(.connect))
        #expect(outcome.0 >= .milliseconds(250) && outcome.0 < .milliseconds(400), "took \(outcome.0)")
        print("figure: connect timeout 250 ms thrown after \(outcome.0)")
    }

    @Test("nothing listening: connection refused")
    func refused() throws {
        let port = try HostListener(host: "127.0.0.1", port: 0).port  // bound, then closed at once
        let error = #expect(throws: UplinkError.self) {
            try HostConnection.connect(host: "127.0.0.1", port: port, tls: client, connectTimeout: .seconds(2))
        }
        #expect(error?.code == .connectionRefused)
    }

    @Test("the peer closes in the middle of a response: peerClosed")
    func closedMidMessage() throws {
        let host = try TestHostServer(context: server, behavior: .closeMidMessage)
        defer { host.stop() }
        let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client)
        let error = #expect(throws: UplinkError.self) { try connection.exchange([7], responseTimeout: .seconds(5)) }
        #expect(error?.code == .peerClosed)
        #expect(!connection.isOpen)
    }

    @Test("a server that answers with plain text instead of TLS: protocolViolation")
    func garbage() throws {
        let host = try TestHostServer(context: server, behavior: .garbage)
        defer { host.stop() }
        let error = #expect(throws: UplinkError.self) {
            try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client, handshakeTimeout: .seconds(5))
        }
        #expect(error?.code == .protocolViolation)
    }

    @Test("a client that sends plain text instead of TLS: the server side reports protocolViolation")
    func serverSeesGarbage() throws {
        let host = try TestHostServer(context: server, behavior: .echo(prefix: []))
        defer { host.stop() }
        let fd = try connectTCP(host: "127.0.0.1", port: host.port, deadline: .now + .seconds(2))
        defer { close(fd) }
        let text = Array("GET / HTTP/1.0\r\n\r\n".utf8)
        #expect(write(fd, text, text.count) == text.count)
        try waitForSocket(fd, events: Int16(POLLIN), deadline: .now + .seconds(5), phase: .response)
        host.stop()
        #expect(host.serverError.withLock { $0?.code } == .tlsProtocolViolation)
    }

    @Test("bad PEM input and a key that does not match its certificate are refused when the context is made")
    func badIdentity() throws {
        let other = try TLSTestCertificates.generate()
        let mismatched = TLSIdentity(certificateChainPEM: pki.clientCertificatePEM, privateKeyPEM: other.clientPrivateKeyPEM)
        #expect(throws: CryptoError(.invalidCertificate, "")) {
            try TLSContext.client(identity: mismatched, trustedCAPEM: pki.caCertificatePEM)
        }
        #expect(throws: CryptoError(.invalidCertificate, "")) {
            try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: Array("not a certificate".utf8))
        }
        let garbledKey = TLSIdentity(certificateChainPEM: pki.clientCertificatePEM, privateKeyPEM: SecretBytes(Array("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8)))
        #expect(throws: CryptoError(.invalidCertificate, "")) {
            try TLSContext.client(identity: garbledKey, trustedCAPEM: pki.caCertificatePEM)
        }
    }

    @Test("figure: mutual-TLS handshake time (P-256) and request/response round trip over loopback")
    func figure() throws {
        let connections = 20
        let host = try TestHostServer(context: server, behavior: .echo(prefix: []), connections: connections)
        defer { host.stop() }
        var handshakes: [Duration] = []
        var roundTrips: [Duration] = []
        let request = [UInt8](repeating: 0x30, count: 200)
        for _ in 0..<connections {
            let start = ContinuousClock.now
            let connection = try HostConnection.connect(host: "127.0.0.1", port: host.port, tls: client)
            handshakes.append(.now - start)
            for _ in 0..<10 {
                let t = ContinuousClock.now
                _ = try connection.exchange(request, responseTimeout: .seconds(5))
                roundTrips.append(.now - t)
            }
            connection.close()
        }
        func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
        print("figure: TLS 1.3 mutual handshake (P-256, connect included) median \(median(handshakes)) over \(connections); "
            + "200-byte request/response round trip median \(median(roundTrips)) over \(roundTrips.count)")
        #expect(median(handshakes) < .seconds(1))
    }
}
