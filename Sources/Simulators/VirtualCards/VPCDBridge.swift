#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A virtual card attached to a real pcscd through vsmartcard-vpcd: a TCP client of vpcd (the only I/O of the
/// module).
///
/// vpcd listens on loopback (port 35963 for the first reader of Debian's `/etc/reader.conf.d/vpcd`); the card
/// connects to it, and pcscd reports a card present while the link is up. Every message in either direction is a
/// 2-byte big-endian length and a payload. A 1-byte payload from vpcd is a control command: `00` power off, `01`
/// power on, `02` reset (each resets the card's transient state) and `04` get ATR (answered with the ATR); any other
/// payload is a command APDU, answered with one response APDU in a single write.
///
/// vpcd writes the length and the APDU in two writes without `TCP_NODELAY`: with Nagle on its side and a delayed
/// ACK on ours every APDU would cost ~40 ms, so `TCP_QUICKACK` is re-armed before every read (it is not sticky on
/// Linux), and our own socket has `TCP_NODELAY`.

/// A contactless card served through vpcd: a PC/SC contactless reader presents its card through the same interface.
extension VirtualContactlessCard: VirtualSmartCard {
    /// A contactless ATR as a PC/SC reader builds it (PC/SC part 3): T=1, no historical bytes.
    public var answerToReset: [UInt8] { [0x3B, 0x80, 0x80, 0x01, 0x01] }
}

public final class VPCDCardClient {
    /// What one wait for a message gave.
    public enum Step: Sendable, Equatable {
        /// Nothing arrived within the timeout.
        case idle
        /// A control command or an APDU was handled.
        case served
        /// The link is closed: vpcd went away, or the card left the reader (its "pulled" fault).
        case closed
    }

    /// The card card.
    public let card: any VirtualSmartCard
    /// vpcd's address (IPv4 dotted quad).
    public let host: String
    /// vpcd's port.
    public let port: Int
    private var descriptor: Int32 = -1

    /// A client for `card`; nothing is opened until ``connect()``.
    public init(card: any VirtualSmartCard, host: String = "127.0.0.1", port: Int = 35963) {
        self.card = card
        self.host = host
        self.port = port
    }

    deinit { close() }

    /// Whether the link is up.
    public var isConnected: Bool { descriptor >= 0 }

    /// Connects to vpcd (one attempt): the card is "inserted".
    /// - Throws: ``VirtualCardError`` ``VirtualCardError/Code/vpcdLink`` with the failing call and errno.
    public func connect() throws {
        close()
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        guard let port = UInt16(exactly: port) else { throw VirtualCardError(.vpcdLink, "port \(port) out of range") }
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw VirtualCardError(.vpcdLink, "'\(host)' is not an IPv4 address")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw VirtualCardError(.vpcdLink, "socket: errno \(errno)") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw VirtualCardError(.vpcdLink, "connect to \(host):\(port): errno \(code)")
        }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        descriptor = fd
        card.reset()
    }

    /// Closes the link: the card is "removed".
    public func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    /// Waits up to `timeoutMilliseconds` for one message from vpcd and handles it.
    /// - Throws: ``VirtualCardError`` ``VirtualCardError/Code/vpcdLink`` or ``VirtualCardError/Code/vpcdProtocol``.
    public func serveNext(timeoutMilliseconds: Int32) throws -> Step {
        guard descriptor >= 0 else { return .closed }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, timeoutMilliseconds)
        if ready < 0 {
            if errno == EINTR { return .idle }
            throw VirtualCardError(.vpcdLink, "poll: errno \(errno)")
        }
        if ready == 0 { return .idle }
        guard let header = try readExactly(2) else { return linkClosed() }
        let length = Int(header[0]) << 8 | Int(header[1])
        guard length > 0 else { throw VirtualCardError(.vpcdProtocol, "vpcd sent an empty message") }
        guard let message = try readExactly(length) else { return linkClosed() }
        if message.count == 1 {
            switch message[0] {
            case 0x00, 0x01, 0x02: card.reset()
            case 0x04: try send(card.answerToReset)
            default: break
            }
            return .served
        }
        let response = card.process(message)
        if card.isRemoved { return linkClosed() }
        try send(response)
        return .served
    }

    private func linkClosed() -> Step {
        close()
        return .closed
    }

    private func readExactly(_ count: Int) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            var one: Int32 = 1
            _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
            // `count` > 0 (vpcd lengths are checked non-zero, the header is 2), so the buffer has a base address.
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress! + filled, count - filled, 0) }
            if n == 0 { return nil }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { return nil }
                throw VirtualCardError(.vpcdLink, "recv: errno \(errno)")
            }
            filled += n
        }
        return buffer
    }

    private func send(_ payload: [UInt8]) throws {
        guard payload.count <= 0xFFFF else { throw VirtualCardError(.vpcdProtocol, "a response longer than 65535") }
        let frame = [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
        var sent = 0
        while sent < frame.count {
            // The frame holds at least its 2-byte length, so it has a base address.
            let n = frame.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + sent, frame.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw VirtualCardError(.vpcdLink, "send: errno \(errno)")
            }
            sent += n
        }
    }
}

@available(*, unavailable)
extension VPCDCardClient: Sendable {}

/// Serves `card` to vpcd at `host`:`port` until `stop()` says so, vpcd closes the link or the card leaves the
/// reader: connects (retrying every 50 ms while vpcd is not listening yet), then answers vpcd's messages, checking
/// `stop` at least every 100 ms.
/// - Throws: ``VirtualCardError`` ``VirtualCardError/Code/vpcdLink`` or ``VirtualCardError/Code/vpcdProtocol``.
public func serve(card: any VirtualSmartCard, host: String = "127.0.0.1", port: Int = 35963, stop: () -> Bool) throws {
    let client = VPCDCardClient(card: card, host: host, port: port)
    defer { client.close() }
    while !client.isConnected {
        if stop() { return }
        do {
            try client.connect()
        } catch let error as VirtualCardError where error.code == .vpcdLink {
            var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            _ = nanosleep(&pause, nil)
        }
    }
    while !stop() {
        if try client.serveNext(timeoutMilliseconds: 100) == .closed { return }
    }
}
