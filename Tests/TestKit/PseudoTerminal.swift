#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#endif
public import Synchronization

/// A pseudo-terminal pair owned by one test: the master plays the serial device (scanner, printer, LCD), the slave
/// path is what the driver under test opens. Both ends start in raw mode; the master is non-blocking and every
/// wait on it has a timeout, so a test can never hang.
public final class PseudoTerminal {
    /// Held while a test creates a descriptor and marks it close-on-exec, while it closes a pty master, and while
    /// it spawns a process. openpty(3) and mkstemp(3) have no close-on-exec flag, and a child holds a copy of every
    /// descriptor until it execs: either way a spawned child could keep an "unplugged" device alive.
    public static let descriptorLock = Mutex<Void>(())

    public struct Failure: Error, CustomStringConvertible {
        public let call: String
        public let errno: CInt
        public init(call: String, errno: CInt) {
            self.call = call
            self.errno = errno
        }
        public var description: String { "\(call) failed: errno \(errno)" }
    }

    /// The master side (the simulated device); -1 once closed.
    public private(set) var master: CInt
    /// The test's own descriptor of the slave, kept so the pty stays usable; -1 once closed.
    public private(set) var slave: CInt
    /// The slave's path, e.g. /dev/pts/3.
    public let slavePath: String

    public init() throws {
        var master: CInt = -1
        var slave: CInt = -1
        var name = [CChar](repeating: 0, count: 4096)
        let failed = PseudoTerminal.descriptorLock.withLock { _ -> CInt? in
            guard openpty(&master, &slave, &name, nil, nil) == 0 else { return errno }
            for fd in [master, slave] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return nil
        }
        if let failed { throw Failure(call: "openpty", errno: failed) }
        self.master = master
        self.slave = slave
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for fd in [master, slave] {
            var attributes = termios()
            guard tcgetattr(fd, &attributes) == 0 else { throw Failure(call: "tcgetattr", errno: errno) }
            cfmakeraw(&attributes)
            guard tcsetattr(fd, TCSANOW, &attributes) == 0 else { throw Failure(call: "tcsetattr", errno: errno) }
        }
        let flags = fcntl(master, F_GETFL)
        guard flags >= 0, fcntl(master, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw Failure(call: "fcntl", errno: errno)
        }
    }

    deinit {
        closeMaster()
        closeSlave()
    }

    /// Closes the master: the device "unplugged". Under the lock: a child being spawned holds a copy of every
    /// descriptor until it execs, which would delay the hang-up past this call.
    public func closeMaster() {
        PseudoTerminal.descriptorLock.withLock { _ in
            if master >= 0 { close(master) }
        }
        master = -1
    }

    /// Closes the test's slave descriptor.
    public func closeSlave() {
        if slave >= 0 { close(slave) }
        slave = -1
    }

    /// The slave's termios, read through the test's own descriptor (independent of the driver's).
    public func slaveAttributes() throws -> termios {
        var attributes = termios()
        guard tcgetattr(slave, &attributes) == 0 else { throw Failure(call: "tcgetattr", errno: errno) }
        return attributes
    }

    /// Writes all of `bytes` to the master (as the device sending), waiting up to 2 s for room.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(master, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 {
                offset += n
                continue
            }
            guard errno == EAGAIN || errno == EINTR else { throw Failure(call: "write", errno: errno) }
            var fds = pollfd(fd: master, events: Int16(POLLOUT), revents: 0)
            guard poll(&fds, 1, 2000) > 0 else { throw Failure(call: "poll(POLLOUT)", errno: ETIMEDOUT) }
        }
    }

    /// Sends the UTF-8 of `text`.
    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads from the master (what the driver sent) until `count` bytes arrived or `timeoutMilliseconds` passed.
    public func receive(count: Int, timeoutMilliseconds: Int = 2000) throws -> [UInt8] {
        var out: [UInt8] = []
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(timeoutMilliseconds))
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < count {
            let left = clock.now.duration(to: deadline)
            guard left > .zero else { break }
            var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            let ms = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            let rc = poll(&fds, 1, ms)
            if rc < 0, errno == EINTR { continue }
            guard rc > 0 else { break }
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, min($0.count, count - out.count)) }
            if n > 0 {
                out += buffer[..<n]
            } else if n < 0, errno == EAGAIN || errno == EINTR {
                continue
            } else {
                throw Failure(call: "read", errno: n == 0 ? 0 : errno)
            }
        }
        return out
    }

    /// Whatever the driver sends within `timeoutMilliseconds` (for "nothing more was sent" checks).
    public func receiveAvailable(timeoutMilliseconds: Int = 50) throws -> [UInt8] {
        try receive(count: Int.max, timeoutMilliseconds: timeoutMilliseconds)
    }
}

/// A symlink standing for a stable device name (`/dev/serial/by-id/...`) that can be pointed at a new pty, as
/// udev does when a USB device is replugged.
public final class ReplugLink {
    public let directory: String
    public let path: String

    public init() throws {
        var template = Array("/tmp/serial-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PseudoTerminal.Failure(call: "mkdtemp", errno: errno) }
        directory = String(cString: made)
        path = directory + "/device"
    }

    deinit {
        unlink(path)
        rmdir(directory)
    }

    /// Points the link at `target`.
    public func point(to target: String) throws {
        unlink(path)
        guard symlink(target, path) == 0 else { throw PseudoTerminal.Failure(call: "symlink", errno: errno) }
    }
}
