#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The state of one network interface, as the kernel reports it.
public enum InterfaceState: Sendable, Equatable {
    /// Operationally up (RFC 2863 `up`) or, for interfaces without carrier reporting, `unknown` with the link up flag.
    case up
    /// Present but down, dormant or without carrier.
    case down
    /// No such interface (a USB modem unplugged, a Wi-Fi chip not probed).
    case absent
}

/// Reads interface state from sysfs (`/sys/class/net/IFACE/operstate`, Documentation/ABI/testing/sysfs-class-net).
/// The root is a parameter so tests point it at a directory they build.
public struct InterfaceStateReader: Sendable {
    public var sysfsRoot: String

    public init(sysfsRoot: String = "/sys/class/net") { self.sysfsRoot = sysfsRoot }

    public func state(of interface: String) -> InterfaceState {
        // An interface name is at most IFNAMSIZ-1 bytes and never contains '/'.
        guard !interface.isEmpty, interface.utf8.count < 16, !interface.contains("/") else { return .absent }
        guard let operstate = readSmallFile("\(sysfsRoot)/\(interface)/operstate") else { return .absent }
        switch operstate {
        case "up": return .up
        case "unknown":
            // Drivers without operstate support (some cellular modems, tun) say "unknown": use the IFF_UP flag.
            guard let flags = readSmallFile("\(sysfsRoot)/\(interface)/flags"), let value = Int(flags.dropFirst(2), radix: 16) else { return .down }
            return value & Int(IFF_UP) != 0 ? .up : .down
        default: return .down
        }
    }

    private func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        var text = String(decoding: buffer[0..<n], as: UTF8.self)
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }
}

/// Checks that the acquirer host accepts a TCP connection within a timeout. This is the link check of the runtime;
/// the host protocol itself runs over the same address.
public struct HostProbe: Sendable {
    public var host: String
    public var port: Int
    public var timeoutMilliseconds: Int32

    public init(host: String, port: Int, timeoutMilliseconds: Int32 = 2000) {
        self.host = host
        self.port = port
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Whether a connection was accepted. Blocking (up to the timeout): call it off the cooperative pool.
    public func isReachable() -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(result) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let ai = entry {
            if connect(ai.pointee) { return true }
            entry = ai.pointee.ai_next
        }
        return false
    }

    private func connect(_ ai: addrinfo) -> Bool {
        let fd = socket(ai.ai_family, ai.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), ai.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if Glibc.connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&p, 1, timeoutMilliseconds) == 1 else { return false }
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0 else { return false }
        return soError == 0
    }
}
