#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage
import Testing

/// Checks `systemd/terminal.service` with the systemd tools of the build host (systemd 252 on Debian 12).
///
/// `systemd-analyze verify` refuses a unit whose `ExecStart=` binary does not exist ("Command /usr/bin/terminal is
/// not executable"), and the firmware is not installed on the build host. So the tests check a temporary copy,
/// named `terminal.service`, in which only the path `/usr/bin/terminal` is replaced by `/usr/bin/true`; every other
/// byte is the real unit. `verify` exits 0 even for unknown keys (it only warns), so any output at all fails the
/// test, not just the exit status.
@Suite("systemd unit", .enabled(if: access(systemdAnalyze, X_OK) == 0, "needs systemd-analyze"))
struct SystemdUnitTests {
    @Test("systemd-analyze verify prints nothing and exits 0")
    func verify() throws {
        let unit = try UnitCopy()
        let result = try runProcess([systemdAnalyze, "verify", unit.path])
        #expect(result.status == 0)
        #expect(result.stdout == "")
        #expect(result.stderr == "")
    }

    @Test("the verify harness does see warnings (negative control)")
    func verifyCatchesUnknownKeys() throws {
        let unit = try UnitCopy(extraLine: "NoSuchSetting=yes")
        let result = try runProcess([systemdAnalyze, "verify", unit.path])
        #expect(result.stderr.contains("Unknown key"))
    }

    @Test("systemd-analyze security scores the unit at or below 2.0")
    func security() throws {
        let unit = try UnitCopy()
        let result = try runProcess([
            systemdAnalyze, "security", "--offline=true", "--threshold=20", "--no-pager", unit.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let marker = "Overall exposure level for terminal.service: "
        let summary = result.stdout.split(separator: "\n").first { $0.contains(marker) }
        // "→ Overall exposure level for terminal.service: 1.5 OK :-)" (the smiley depends on the locale).
        let score = summary.flatMap { line in
            line.firstRange(of: marker).flatMap { line[$0.upperBound...].split(separator: " ").first }
                .flatMap { Double($0) }
        }
        let value = try #require(score, "no score in \(result.stdout.utf8.count) bytes: \(result.stdout.suffix(300))")
        // systemd/README.md records the score: 1.5 with systemd 252.
        #expect(value <= 2.0)
    }

    @Test("the unit keeps the settings the code relies on")
    func requiredSettings() throws {
        let lines = try UnitCopy.original().split(separator: "\n").map(String.init)
        for required in [
            "Type=notify", "NotifyAccess=main", "WatchdogSec=10s", "Restart=on-failure", "KillSignal=SIGTERM",
            "KillMode=mixed", "User=terminal", "DevicePolicy=closed", "MemoryDenyWriteExecute=yes",
            "ExecStart=/usr/bin/terminal run --board ${BOARD}",
        ] {
            #expect(lines.contains(required), "missing \(required)")
        }
        // PrivateDevices= would hide /dev/gpiochip*, the serial lines and the framebuffer.
        #expect(!lines.contains { $0.hasPrefix("PrivateDevices=") })
        #expect(!lines.contains { $0.hasPrefix("DynamicUser=") })
    }

    @Test(
        "sysusers.d creates the service user and the device groups",
        .enabled(if: access("/usr/bin/systemd-sysusers", X_OK) == 0, "needs systemd-sysusers"))
    func sysusers() throws {
        let root = try TemporaryDirectory()
        try #require(mkdir(root.path + "/etc", 0o755) == 0)
        let result = try runProcess(["/usr/bin/systemd-sysusers", "--root=" + root.path, repositoryRoot + "/systemd/terminal.sysusers.conf"])
        #expect(result.status == 0, "\(result.stderr)")
        let passwd = try readFile(root.path + "/etc/passwd")
        let group = try readFile(root.path + "/etc/group")
        #expect(passwd.split(separator: "\n").contains { $0.hasPrefix("terminal:x:") && $0.hasSuffix(":/usr/sbin/nologin") })
        for name in ["terminal", "gpio", "dialout", "input", "video"] {
            #expect(group.split(separator: "\n").contains { $0.hasPrefix(name + ":x:") }, "no group \(name)")
        }
        for file in ["passwd", "group", "shadow", "gshadow", ".pwd.lock"] { unlink(root.path + "/etc/" + file) }
        rmdir(root.path + "/etc")
    }
}

private let systemdAnalyze = "/usr/bin/systemd-analyze"

/// The package root: this file is `<root>/Tests/TerminalAppTests/SystemdUnitTests.swift`.
private let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// A fresh `mkdtemp` directory, removed (when empty) on deinit.
private final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/terminal-unit-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: try #require(made, "mkdtemp failed: errno \(errno)"))
    }

    deinit { rmdir(path) }
}

/// `systemd/terminal.service` copied to `<tmp>/terminal.service` with `/usr/bin/terminal` → `/usr/bin/true`.
private final class UnitCopy {
    let directory: TemporaryDirectory
    var path: String { directory.path + "/terminal.service" }

    static func original() throws -> String {
        try readFile(repositoryRoot + "/systemd/terminal.service")
    }

    /// - Parameter extraLine: a line inserted right after `[Service]` (for the negative control).
    init(extraLine: String? = nil) throws {
        var text = try Self.original()
        let execStart = "ExecStart=/usr/bin/terminal "
        try #require(text.components(separatedBy: execStart).count == 2, "exactly one ExecStart=/usr/bin/terminal")
        text = text.components(separatedBy: execStart).joined(separator: "ExecStart=/usr/bin/true ")
        if let extraLine {
            text = text.components(separatedBy: "[Service]\n").joined(separator: "[Service]\n" + extraLine + "\n")
        }
        directory = try TemporaryDirectory()
        try writeFile(directory.path + "/terminal.service", text)
    }

    deinit { unlink(path) }
}

extension String {
    /// Splits on a literal separator (no Foundation).
    fileprivate func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}

private func readFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    try #require(fd >= 0, "open \(path): errno \(errno)")
    defer { close(fd) }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        try #require(count >= 0, "read \(path): errno \(errno)")
        if count == 0 { break }
        data += buffer[..<count]
    }
    return String(decoding: data, as: UTF8.self)
}

private func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    try #require(fd >= 0, "open \(path): errno \(errno)")
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let count = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        try #require(count > 0, "write \(path): errno \(errno)")
        offset += count
    }
}

/// Runs `argv` (absolute path first) with `posix_spawn`, stdin from `/dev/null`, stdout and stderr captured through
/// pipes, and kills it with SIGKILL if it has not finished within `timeout`.
private func runProcess(
    _ argv: [String], timeout: Duration = .seconds(30)
) throws -> (status: Int32, stdout: String, stderr: String) {
    // O_CLOEXEC: processes spawned concurrently by other tests must not inherit the write ends (no EOF otherwise).
    let stdoutPipe = try FileDescriptor.pipe(options: .closeOnExec)
    let stderrPipe = try FileDescriptor.pipe(options: .closeOnExec)
    let outPipe = [stdoutPipe.readEnd.rawValue, stdoutPipe.writeEnd.rawValue]
    let errPipe = [stderrPipe.readEnd.rawValue, stderrPipe.writeEnd.rawValue]

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

    // The tools' output must not depend on the caller's terminal or locale.
    var environment = ["SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0", "LC_ALL=C"]
    if let path = getenv("PATH") { environment.append("PATH=" + String(cString: path)) }
    let cArgv = argv.map { strdup($0) } + [nil]
    let cEnv = environment.map { strdup($0) } + [nil]
    defer {
        cArgv.forEach { free($0) }
        cEnv.forEach { free($0) }
    }

    var pid = pid_t()
    let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgv, cEnv)
    close(outPipe[1])
    close(errPipe[1])
    defer {
        close(outPipe[0])
        close(errPipe[0])
    }
    try #require(spawned == 0, "posix_spawn \(argv[0]): \(spawned)")

    var out: [UInt8] = []
    var err: [UInt8] = []
    var open: [Int32: Bool] = [outPipe[0]: true, errPipe[0]: true]
    let deadline = ContinuousClock.now + timeout
    var timedOut = false
    var buffer = [UInt8](repeating: 0, count: 16384)
    while open.values.contains(true) {
        let remaining = deadline - ContinuousClock.now
        if remaining <= .zero {
            timedOut = true
            kill(pid, SIGKILL)
            break
        }
        var fds = open.filter(\.value).keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let milliseconds = Int32(min(remaining.components.seconds * 1000 + 1, 1000))
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        if ready < 0, errno == EINTR { continue }
        try #require(ready >= 0, "poll: errno \(errno)")
        for pfd in fds where pfd.revents != 0 {
            let count = buffer.withUnsafeMutableBytes { read(pfd.fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 {
                open[pfd.fd] = false
            } else if pfd.fd == outPipe[0] {
                out += buffer[..<count]
            } else {
                err += buffer[..<count]
            }
        }
    }

    var status: Int32 = 0
    while true {
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid { break }
        if rc < 0, errno != EINTR { break }
        if ContinuousClock.now > deadline + .seconds(5) {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            break
        }
        usleep(1000)
        if ContinuousClock.now > deadline, !timedOut {
            timedOut = true
            kill(pid, SIGKILL)
        }
    }
    try #require(!timedOut, "\(argv[0]) timed out after \(timeout)")
    // wait(2) status: exited normally when the low 7 bits are 0; the exit code is in bits 8-15.
    let exitStatus: Int32 = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return (exitStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}
