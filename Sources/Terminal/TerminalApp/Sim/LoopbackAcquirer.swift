#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LinuxDevices
import SystemPackage

/// The simulator board's built-in acquirer: a TCP listener on 127.0.0.1 that the terminal's host link reaches.
/// Each connection is served on the listener's thread: framed requests (2-byte big-endian length, then the
/// message) are answered by `respond`; a connection that only opens and closes is a link probe.
public final class LoopbackAcquirer: Sendable {
    /// The port the listener got (an ephemeral one when 0 was asked).
    public let port: Int
    private let listener: Int32
    private let stop: StopSignal
    private let thread: DeviceThread

    /// Starts listening on 127.0.0.1:`port` (0 = any free port).
    public init(port: Int = 0, respond: @escaping @Sendable ([UInt8]) -> [UInt8]) throws(RuntimeError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError(.device, "acquirer simulator: socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RuntimeError(.device, "acquirer simulator: cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = fd
        do {
            let stop = try StopSignal()
            self.stop = stop
            self.thread = try DeviceThread.start(name: "acquirer-sim") { Self.serve(fd, stop: stop, respond: respond) }
        } catch {
            close(fd)
            throw RuntimeError(.device, "acquirer simulator: cannot start: \(error)")
        }
    }

    /// Stops listening and waits for the thread.
    public func shutdown() {
        stop.fire()
        thread.join()
    }

    deinit {
        shutdown()
        close(listener)
    }

    private static func serve(_ listener: Int32, stop: StopSignal, respond: @Sendable ([UInt8]) -> [UInt8]) {
        let fd = FileDescriptor(rawValue: listener)
        while !stop.isFired {
            guard (try? pollReadable(fd, stop: stop, timeoutMilliseconds: -1)) == .readable else { return }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            serveConnection(client, stop: stop, respond: respond)
            close(client)
        }
    }

    /// Reads framed requests until the peer closes, answering each; gives up on a connection idle for 5 s.
    private static func serveConnection(_ client: Int32, stop: StopSignal, respond: @Sendable ([UInt8]) -> [UInt8]) {
        let fd = FileDescriptor(rawValue: client)
        var buffer: [UInt8] = []
        while true {
            guard (try? pollReadable(fd, stop: stop, timeoutMilliseconds: 5000)) == .readable else { return }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(client, &chunk, chunk.count)
            guard n > 0 else { return }
            buffer += chunk[0..<n]
            while buffer.count >= 2 {
                let length = Int(buffer[0]) << 8 | Int(buffer[1])
                guard buffer.count >= 2 + length else { break }
                let reply = respond(Array(buffer[2..<2 + length]))
                buffer.removeFirst(2 + length)
                let framed = [UInt8(reply.count >> 8 & 0xFF), UInt8(reply.count & 0xFF)] + reply
                guard (try? writeAll(client, framed)) != nil else { return }
            }
        }
    }
}
