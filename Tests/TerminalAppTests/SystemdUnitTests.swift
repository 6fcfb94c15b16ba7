#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage
import TestKit
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
        let result = try runProcess(["/usr/bin/systemd-sysusers", "--root=" + root.path, repositoryRoot() + "/systemd/terminal.sysusers.conf"])
        #expect(result.status == 0, "\(result.stderr)")
        let passwd = try readTextFile(root.path + "/etc/passwd")
        let group = try readTextFile(root.path + "/etc/group")
        #expect(passwd.split(separator: "\n").contains { $0.hasPrefix("terminal:x:") && $0.hasSuffix(":/usr/sbin/nologin") })
        for name in ["terminal", "gpio", "dialout", "input", "video"] {
            #expect(group.split(separator: "\n").contains { $0.hasPrefix(name + ":x:") }, "no group \(name)")
        }
        for file in ["passwd", "group", "shadow", "gshadow", ".pwd.lock"] { unlink(root.path + "/etc/" + file) }
        rmdir(root.path + "/etc")
    }
}

private let systemdAnalyze = "/usr/bin/systemd-analyze"

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
        try readTextFile(repositoryRoot() + "/systemd/terminal.service")
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
        try writeTextFile(directory.path + "/terminal.service", text)
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

/// Runs a systemd tool with its output independent of the caller's terminal and locale.
private func runProcess(_ argv: [String], timeout: Duration = .seconds(30)) throws -> (status: Int32, stdout: String, stderr: String) {
    let result = try TestKit.runProcess(argv, environment: ["SYSTEMD_PAGER": "cat", "SYSTEMD_COLORS": "0", "LC_ALL": "C"], timeout: timeout)
    try #require(!result.timedOut, "\(argv[0]) timed out after \(timeout)")
    return (result.status, result.stdout, result.stderr)
}
