#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PaymentCrypto
import Synchronization
import TestKit
@testable import Uplink

/// A one-connection host on loopback, on a thread of its own, behaving as a test asks (answers, stays silent,
/// never handshakes, closes mid-message, speaks garbage). It records how its side ended.
final class TestHostServer: Sendable {
    enum Behavior: Sendable {
        /// Handshake, then answer every request with `prefix + request` until the client closes.
        case echo(prefix: [UInt8])
        /// Handshake, read one request, never answer.
        case silent
        /// Accept TCP, never send a byte.
        case noHandshake
        /// Handshake, read one request, send a header announcing 100 bytes, 10 of them, and close.
        case closeMidMessage
        /// Accept TCP, wait for the ClientHello, answer with plain text, then close.
        case garbage
        /// Handshake, answer one request as `.echo` does, then close: with close_notify, or (`notify` false) by
        /// shutting the socket down under TLS, as a host whose process died.
        case echoOnceThenClose(notify: Bool)
    }

    let listener: HostListener
    var port: Int { listener.port }
    /// The server side's error, if its handshake or exchange failed.
    let serverError = Mutex<CryptoError?>(nil)
    /// The client's certificate commonName as the server saw it.
    let peerName = Mutex<String?>(nil)
    private let release = UplinkStopSignal2()
    private let thread: Mutex<UplinkThread?> = Mutex(nil)

    init(context: TLSContext, behavior: Behavior, connections: Int = 1) throws {
        listener = try HostListener(host: "127.0.0.1", port: 0)
        let listener = self.listener
        let release = self.release
        let started = try UplinkThread.start(name: "test-host") { [self] in
            for _ in 0..<connections {
                guard let fd = try? listener.accept(deadline: .now + .seconds(20)) else { return }
                self.serve(fd: fd, context: context, behavior: behavior, release: release)
            }
        }
        thread.withLock { $0 = started }
    }

    private func serve(fd: Int32, context: TLSContext, behavior: Behavior, release: UplinkStopSignal2) {
        let deadline = ContinuousClock.now + .seconds(20)
        switch behavior {
        case .noHandshake:
            release.wait(until: deadline)
            close(fd)
            return
        case .garbage:
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, 5000)
            var scratch = [UInt8](repeating: 0, count: 4096)
            _ = read(fd, &scratch, scratch.count)
            let text = Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8)
            _ = write(fd, text, text.count)
            release.wait(until: .now + .milliseconds(500))
            close(fd)
            return
        default:
            break
        }
        do {
            let session = try TLSSession(context: context, takingSocket: fd, peerName: nil)
            defer { session.close() }
            try session.handshake(deadline: deadline)
            peerName.withLock { $0 = session.peerCommonName }
            let channel = HostFrameChannel(session: session)
            switch behavior {
            case .echo(let prefix):
                while true {
                    guard let request = try? channel.receive(deadline: deadline) else { return }
                    try channel.send(prefix + request, deadline: deadline)
                }
            case .silent:
                _ = try channel.receive(deadline: deadline)
                release.wait(until: deadline)
            case .closeMidMessage:
                _ = try channel.receive(deadline: deadline)
                try session.write([0, 100] + [UInt8](repeating: 0x41, count: 10), deadline: deadline)
            case .echoOnceThenClose(let notify):
                try channel.send(try channel.receive(deadline: deadline), deadline: deadline)
                if !notify { shutdown(fd, Int32(SHUT_RDWR)) }
            case .noHandshake, .garbage:
                break
            }
        } catch let error as CryptoError {
            serverError.withLock { $0 = error }
        } catch {}
    }

    /// Lets a silent or stalled server end, and waits for its thread.
    func stop() {
        release.fire()
        let t = thread.withLock { t -> UplinkThread? in
            defer { t = nil }
            return t
        }
        t?.join()
    }

    deinit { release.fire() }
}

/// A release signal the server thread waits on (poll on an eventfd via the module's stop signal).
final class UplinkStopSignal2: Sendable {
    private let signal: UplinkStopSignal
    init() { signal = try! UplinkStopSignal() }  // test set-up: an eventfd always opens here
    func fire() { signal.fire() }
    func wait(until deadline: ContinuousClock.Instant) {
        var pfd = pollfd(fd: signal.descriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, pollMilliseconds(deadline - .now))
    }
}

/// The PEM bytes of a test PKI written to files, for the Python peer.
func writePKI(_ pki: TLSTestCertificates, to directory: String) throws {
    try writeTextFile(directory + "/ca.pem", String(decoding: pki.caCertificatePEM, as: UTF8.self))
    try writeTextFile(directory + "/client.pem", String(decoding: pki.clientCertificatePEM, as: UTF8.self))
    try writeTextFile(directory + "/client.key", pki.clientPrivateKeyPEM.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
}

/// Elapsed time of `body` and its error (if any).
func timed(_ body: () throws -> Void) -> (Duration, (any Error)?) {
    let start = ContinuousClock.now
    do {
        try body()
        return (.now - start, nil)
    } catch {
        return (.now - start, error)
    }
}
