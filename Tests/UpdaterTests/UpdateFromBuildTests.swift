#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
import TestKit

/// The done criterion: `termtool pkg` builds and signs a package from the current build (the `terminal` binary of
/// this build, the shipped unit, the sim board profile), and `terminal update install` applies it on a test root;
/// the installed binary then runs. Prints the figures: install time and peak memory for a package the size of the
/// firmware binary, and the time from restart to committed (boot hook + commit, which re-hashes the slot).
@Suite("Update from the current build", .serialized)
struct UpdateFromBuildTests {
    @Test("termtool pkg keygen/build/sign/verify, terminal update install/boot/commit; figures")
    func fromCurrentBuild() throws {
        let terminal = try builtProduct("terminal"), termtool = try builtProduct("termtool")
        let repo = repositoryRoot()
        let work = try makeTemporaryDirectory("update-build")
        defer { removeTree(work) }
        let source = work + "/src", root = work + "/root"
        for directory in [source, source + "/bin", source + "/systemd", source + "/board", source + "/board/sim", root] {
            #expect(mkdir(directory, 0o755) == 0)
        }
        func sh(_ argv: [String], _ expected: Int32 = 0) throws -> ProcessResult {
            let result = try runProcess(argv, timeout: .seconds(300))
            #expect(result.status == expected, "\(argv.prefix(3)): \(result.stdout) \(result.stderr)")
            return result
        }
        _ = try sh(["/bin/cp", terminal, source + "/bin/terminal"])
        _ = try sh(["/bin/cp", repo + "/systemd/terminal.service", source + "/systemd/terminal.service"])
        _ = try sh(["/bin/cp", repo + "/board/sim/board.toml", source + "/board/sim/board.toml"])
        try writeTextFile(source + "/NOTES.txt", "No store migration in this version.\n")

        _ = try sh([termtool, "pkg", "keygen", "--name", "test-run", "--out", work + "/TEST-signing-key.toml", "--keyring", root + "/keyring.toml"])
        _ = try sh([termtool, "pkg", "keygen", "--algorithm", "ecdsa-p256", "--name", "other", "--out", work + "/other-key.toml", "--keyring", work + "/other-keyring.toml"])
        let package = work + "/terminal-0.1.0.tpkg"
        _ = try sh([termtool, "pkg", "build", "--template", repo + "/docs/update-package-template.toml", "--from", source, "--out", package])
        _ = try sh([termtool, "pkg", "verify", package, "--keyring", root + "/keyring.toml"], 1)
        _ = try sh([termtool, "pkg", "sign", package, "--key", work + "/TEST-signing-key.toml"])
        #expect(try sh([termtool, "pkg", "verify", package, "--keyring", root + "/keyring.toml"]).stdout.hasPrefix("VALID: payment-terminal 0.1.0"))
        _ = try sh([termtool, "pkg", "verify", package, "--keyring", work + "/other-keyring.toml"], 1)
        #expect(try sh([termtool, "pkg", "inspect", package]).stdout.contains("path = \"bin/terminal\""))

        let install = try sh(["/usr/bin/time", "-f", "FIGURES %e %M", terminal, "update", "install", package, "--root", root, "--board", "sim", "--no-restart", "--state-dir", work])
        let started = monotonicSeconds()
        _ = try sh([terminal, "update", "boot", "--root", root, "--board", "sim"])
        #expect(try sh([terminal, "update", "commit", "--root", root, "--board", "sim"]).stdout.contains("committed 0.1.0"))
        let restartToCommit = monotonicSeconds() - started
        #expect(try sh([root + "/current/bin/terminal", "--version"]).stdout == "0.1.0\n")
        #expect(try sh([terminal, "update", "status", "--root", root]).stdout.contains("committed-version = \"0.1.0\""))

        var info = stat()
        _ = stat(terminal, &info)
        let figures = install.stderr.split(separator: "\n").first { $0.hasPrefix("FIGURES") }?.split(separator: " ") ?? []
        print("update figures: package \(info.st_size / 1_048_576) MiB firmware; install \(figures.count > 1 ? figures[1] : "?") s, peak RSS \(figures.count > 2 ? figures[2] : "?") KiB; boot hook + commit (restart to committed, without the terminal's own start) \(Int(restartToCommit * 1000)) ms")
    }
}

private func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
