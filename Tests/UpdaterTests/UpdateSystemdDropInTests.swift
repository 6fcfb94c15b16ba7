#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
import TestKit

/// `systemd/terminal.service.d/ab-update.conf` with the shipped unit: `systemd-analyze verify` loads the drop-in
/// (SYSTEMD_UNIT_PATH points at the copy) and must print nothing; a bogus key in the drop-in must be reported, which
/// proves the drop-in was read. As in SystemdUnitTests, the binaries are replaced by /usr/bin/true in the copy.
@Suite("A/B update drop-in", .enabled(if: access("/usr/bin/systemd-analyze", X_OK) == 0, "needs systemd-analyze"))
struct UpdateSystemdDropInTests {
    func verify(extra: String) throws -> ProcessResult {
        let repo = repositoryRoot()
        let work = try makeTemporaryDirectory("update-unit")
        defer { removeTree(work) }
        #expect(mkdir(work + "/terminal.service.d", 0o755) == 0)
        let unit = try readTextFile(repo + "/systemd/terminal.service").replacing("ExecStart=/usr/bin/terminal ", with: "ExecStart=/usr/bin/true ")
        let dropIn = try readTextFile(repo + "/systemd/terminal.service.d/ab-update.conf")
            .replacing("/opt/terminal/current/bin/terminal", with: "/usr/bin/true").replacing("/usr/bin/terminal", with: "/usr/bin/true")
        #expect(dropIn.contains("ExecStartPre=+/usr/bin/true update boot") && dropIn.contains("ExecStartPost=+/usr/bin/true update commit"))
        try writeTextFile(work + "/terminal.service", unit)
        try writeTextFile(work + "/terminal.service.d/ab-update.conf", dropIn + extra)
        return try runProcess(["/usr/bin/env", "SYSTEMD_UNIT_PATH=\(work):", "/usr/bin/systemd-analyze", "verify", work + "/terminal.service"], timeout: .seconds(60))
    }

    @Test("systemd-analyze verify accepts the unit with the drop-in and prints nothing")
    func verifies() throws {
        let result = try verify(extra: "")
        #expect(result.status == 0 && result.stdout.isEmpty && result.stderr.isEmpty, "\(result.stdout)\(result.stderr)")
    }

    @Test("the drop-in resets RestartPreventExitStatus=, so a new version exiting EX_CONFIG (78) is restarted and rolled back")
    func restartsExConfig() throws {
        let repo = repositoryRoot()
        // systemd applies the unit, then the drop-in: the last assignment wins, and an empty one resets the list.
        let lines = (try readTextFile(repo + "/systemd/terminal.service") + "\n" + readTextFile(repo + "/systemd/terminal.service.d/ab-update.conf"))
            .split(separator: "\n").filter { $0.hasPrefix("RestartPreventExitStatus=") }
        #expect(lines.first == "RestartPreventExitStatus=78" && lines.last == "RestartPreventExitStatus=", "\(lines)")
    }

    @Test("negative control: a bogus key in the drop-in is reported")
    func readsDropIn() throws {
        #expect(try verify(extra: "Bogus=1\n").stderr.contains("Unknown key 'Bogus'"))
    }
}
