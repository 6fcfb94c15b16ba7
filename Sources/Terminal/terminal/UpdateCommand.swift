#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import UpdatePackage
import Updater

/// `terminal update`: install a signed package into the inactive slot, and the two hooks systemd runs around
/// every start (docs/update-package.md, systemd/README.md "Updates").
struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Signed field updates: install, the start/commit hooks, status.",
        subcommands: [Install.self, Boot.self, Commit.self, Status.self]
    )

    /// Options every update command takes.
    struct Location: ParsableArguments {
        @Option(help: "The install root (slots/, current, update-state).")
        var root: String = "/opt/terminal"

        @Option(help: "The trusted update keys (default: ROOT/keyring.toml, which survives every update).")
        var keyring: String?

        @Option(help: "The board name packages must list (default: $BOARD, else sim).")
        var board: String?

        @Option(help: "Seconds the new version has, from its first start, to commit.")
        var healthDeadline: Int = 120

        func installer() throws -> Installer {
            let keyringPath = keyring ?? root + "/keyring.toml"
            let keys: Keyring
            do { keys = try Installer.readKeyring(keyringPath) } catch {
                fail("cannot read the keyring \(keyringPath): \(error)", status: 78)
            }
            let boardName = board ?? getenv("BOARD").map { String(cString: $0) } ?? "sim"
            // Test hook of the failure matrix: TERMINAL_UPDATE_FAULT=PHASE:error|kill.
            let faults = getenv("TERMINAL_UPDATE_FAULT").flatMap { UpdateFaults(parsing: String(cString: $0)) }
            return Installer(root: root, board: boardName, keyring: keys, healthDeadlineSeconds: healthDeadline, faults: faults)
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify a package completely, write the inactive slot, switch and restart.")

        @Argument(help: "The package file (for instance on a USB stick).")
        var file: String

        @OptionGroup var location: Location

        @Option(help: "Run after the switch to start the new version.")
        var restartCommand: String = "systemctl restart --no-block terminal.service"

        @Flag(help: "Do not restart (a test root; the next start of the service picks the new slot up).")
        var noRestart = false

        @Option(help: "The terminal's state directory: no update while its store has a transaction in flight.")
        var stateDir: String = "/var/lib/terminal"

        func run() throws {
            let installer = try location.installer()
            let outcome: InstallOutcome
            do {
                outcome = try installer.install(packagePath: file, preflight: { UpdatePreflight.check(storePath: stateDir + "/terminal.sqlite", root: location.root) }) {
                    guard !noRestart else { return }
                    let status = system(restartCommand)
                    guard status == 0 else { throw UpdaterError(.restartFailed, "`\(restartCommand)` exited with \(status)") }
                }
            } catch { fail("update failed: \(error)", status: 74) }
            switch outcome {
            case .switched(let version, let slot):
                print("installed \(version) in slot \(slot); it commits once healthy\(noRestart ? " (start the service to run it)" : "")")
            case .rejected(let reason, let detail):
                fail("package rejected (\(reason.rawValue)): \(detail)", status: 65)
            }
        }
    }

    struct Boot: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Before every start (ExecStartPre=+): finish or undo an interrupted update, arm the health check.")

        @OptionGroup var location: Location

        func run() throws {
            do {
                switch try location.installer().boot() {
                case .nothingPending: print("update: nothing pending")
                case .healthCheckStarted(let version, let deadline): print("update: health check of \(version) until \(deadline)")
                case .cleanedUp(let why): print("update: cleaned up: \(why)")
                case .rolledBack(let why): print("update: \(why)")
                case .committed(let version): print("update: committed \(version)")
                }
            } catch { fail("update boot failed: \(error)", status: 74) }
        }
    }

    struct Commit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "After READY=1 (ExecStartPost=+): self-test and commit the new version, or roll back.")

        @OptionGroup var location: Location

        func run() throws {
            do {
                switch try location.installer().commit() {
                case .nothingToCommit: print("update: nothing to commit")
                case .committed(let version): print("update: committed \(version)")
                case .rolledBack(let why): fail("update: \(why)", status: 1)
                }
            } catch { fail("update commit failed: \(error)", status: 74) }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the update state.")

        @Option(help: "The install root.")
        var root: String = "/opt/terminal"

        func run() throws {
            let installer = Installer(root: root, board: "", keyring: try Keyring(keys: []))
            do {
                print(try installer.status().rendered(), terminator: "")
            } catch { fail("\(error)", status: 74) }
        }
    }
}

private func fail(_ message: String, status: Int32) -> Never {
    var stderr = StandardError()
    print(message, to: &stderr)
    exit(status)
}
