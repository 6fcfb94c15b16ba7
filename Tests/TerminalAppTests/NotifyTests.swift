#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage
import Testing
import TerminalApp

/// A real `AF_UNIX`/`SOCK_DGRAM` socket standing in for systemd's notification socket, bound either to a path in a
/// fresh temporary directory or to a Linux abstract name. Non-blocking; reads wait with bounded polls.
final class NotifyTestSocket: Sendable {
    /// The value for `NOTIFY_SOCKET`.
    let notifySocket: String
    private let fd: Int32
    private let directory: String?

    private init(fd: Int32, notifySocket: String, directory: String?) {
        self.fd = fd
        self.notifySocket = notifySocket
        self.directory = directory
    }

    deinit {
        close(fd)
        if let directory {
            unlink(directory + "/notify")
            rmdir(directory)
        }
    }

    /// The environment a systemd-started service would see.
    var environment: [String: String] { ["NOTIFY_SOCKET": notifySocket] }

    /// A socket bound to `<mkdtemp dir>/notify`.
    static func path() throws -> NotifyTestSocket {
        var template = Array("/tmp/notify-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let directory = String(cString: try #require(made, "mkdtemp failed: errno \(errno)"))
        let fd = try bound(pathBytes: Array((directory + "/notify").utf8) + [0])
        return NotifyTestSocket(fd: fd, notifySocket: directory + "/notify", directory: directory)
    }

    /// A socket bound to a unique abstract name.
    static func abstract() throws -> NotifyTestSocket {
        let name = "terminal-notify-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = try bound(pathBytes: [0] + Array(name.utf8))
        return NotifyTestSocket(fd: fd, notifySocket: "@" + name, directory: nil)
    }

    private static func bound(pathBytes: [UInt8]) throws -> Int32 {
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = socket(AF_UNIX, type, 0)
        try #require(fd >= 0, "socket failed: errno \(errno)")
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        if rc != 0 {
            let error = errno
            close(fd)
            try #require(rc == 0, "bind failed: errno \(error)")
        }
        return fd
    }

    /// One pending datagram, if any, without waiting.
    func tryReceive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Waits (blocking, in `poll`) up to `timeoutMilliseconds` for one datagram.
    func receive(timeoutMilliseconds: Int32 = 2000) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeoutMilliseconds) == 1 else { return nil }
        return tryReceive()
    }

    /// Waits (without blocking a thread) until a datagram arrives or `timeout` passes.
    func next(timeout: Duration = .seconds(5)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let datagram = tryReceive() { return datagram }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// Every datagram that arrived so far.
    func drain() -> [String] {
        var all: [String] = []
        while let datagram = tryReceive() { all.append(datagram) }
        return all
    }
}

@Suite("systemd notification socket")
struct NotifyTests {
    @Test("sends exact datagrams to a filesystem socket")
    func pathSocket() throws {
        let socket = try NotifyTestSocket.path()
        let notifier = SystemdNotifier(environment: socket.environment)
        #expect(notifier.destination == .path(socket.notifySocket))
        #expect(try notifier.notify(.ready))
        #expect(socket.receive() == "READY=1")
        try notifier.notify([.ready, .status("Ready: 2 devices")])
        #expect(socket.receive() == "READY=1\nSTATUS=Ready: 2 devices")
        try notifier.notify(.watchdog)
        #expect(socket.receive() == "WATCHDOG=1")
        try notifier.notify(.watchdogTrigger)
        #expect(socket.receive() == "WATCHDOG=trigger")
        try notifier.notify([.stopping, .status("Shutting down")])
        #expect(socket.receive() == "STOPPING=1\nSTATUS=Shutting down")
        try notifier.notify(.mainPID(4242))
        #expect(socket.receive() == "MAINPID=4242")
        #expect(socket.drain().isEmpty)
    }

    @Test("sends exact datagrams to an abstract socket")
    func abstractSocket() throws {
        let socket = try NotifyTestSocket.abstract()
        let notifier = SystemdNotifier(environment: socket.environment)
        #expect(notifier.destination == .abstract(String(socket.notifySocket.dropFirst())))
        try notifier.notify([.ready, .status("up")])
        #expect(socket.receive() == "READY=1\nSTATUS=up")
        try notifier.notify(.watchdog)
        #expect(socket.receive() == "WATCHDOG=1")
    }

    @Test("a STATUS with newlines cannot inject another assignment")
    func statusIsOneLine() throws {
        let socket = try NotifyTestSocket.abstract()
        let notifier = SystemdNotifier(environment: socket.environment)
        try notifier.notify(.status("bad\nREADY=1\u{0}x"))
        #expect(socket.receive() == "STATUS=bad READY=1 x")
    }

    @Test("without NOTIFY_SOCKET every call is a no-op")
    func disabled() throws {
        for environment in [[:], ["NOTIFY_SOCKET": ""]] as [[String: String]] {
            let notifier = SystemdNotifier(environment: environment)
            #expect(notifier.destination == .none)
            #expect(!notifier.isEnabled)
            #expect(try notifier.notify([.ready, .status("x")]) == false)
        }
    }

    @Test(
        "an unusable NOTIFY_SOCKET is reported, not fatal",
        arguments: ["relative/socket", "@", "/" + String(repeating: "x", count: 200), "vsock:2:1234"])
    func invalidSocket(value: String) throws {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": value])
        #expect(notifier.isEnabled)
        let error = #expect(throws: LifecycleError.self) { try notifier.notify(.ready) }
        #expect(error?.code == .invalidNotifySocket)
    }

    @Test("a socket nobody listens on is reported with errno")
    func noListener() throws {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent-dir-for-notify-test/notify"])
        let error = #expect(throws: LifecycleError.self) { try notifier.notify(.watchdog) }
        #expect(error?.code == .notifySendFailed)
        #expect(error?.errno == .noSuchFileOrDirectory)
        let abstract = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@terminal-nobody-\(getpid())-listens"])
        let refused = #expect(throws: LifecycleError.self) { try abstract.notify(.watchdog) }
        #expect(refused?.code == .notifySendFailed)
        #expect(refused?.errno == .connectionRefused)
    }

    @Test("WATCHDOG_USEC and WATCHDOG_PID follow sd_watchdog_enabled(3)")
    func watchdogEnvironment() throws {
        let me = getpid()
        #expect(try SystemdNotifier.watchdogInterval(environment: [:]) == nil)
        #expect(try SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "10000000"]) == .seconds(10))
        #expect(
            try SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "250000", "WATCHDOG_PID": "\(me)"])
                == .milliseconds(250))
        // Meant for another process (e.g. a parent that forked us): not ours.
        #expect(
            try SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "250000", "WATCHDOG_PID": "\(me + 1)"])
                == nil)
        #expect(
            try SystemdNotifier.watchdogInterval(
                environment: ["WATCHDOG_USEC": "250000", "WATCHDOG_PID": "77"], pid: 77) == .milliseconds(250))
        for bad in [
            ["WATCHDOG_USEC": "0"], ["WATCHDOG_USEC": ""], ["WATCHDOG_USEC": "-5"], ["WATCHDOG_USEC": "+5"],
            ["WATCHDOG_USEC": "10s"], ["WATCHDOG_USEC": "18446744073709551615"],
            ["WATCHDOG_USEC": "99999999999999999999999"], ["WATCHDOG_USEC": "1000", "WATCHDOG_PID": "abc"],
            ["WATCHDOG_USEC": "1000", "WATCHDOG_PID": "0"],
        ] {
            let error = #expect(throws: LifecycleError.self, "\(bad)") {
                try SystemdNotifier.watchdogInterval(environment: bad)
            }
            #expect(error?.code == .invalidWatchdogEnvironment)
        }
    }

    @Test("the environment snapshot matches getenv")
    func environmentSnapshot() {
        let environment = ProcessEnvironment.current()
        for name in ["PATH", "HOME"] {
            let value = getenv(name).map { String(cString: $0) }
            #expect(environment[name] == value)
        }
    }
}
