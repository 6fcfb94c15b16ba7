#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import UpdatePackage
import Updater

/// `terminal update`: install a signed package into the inactive slot, and the two hooks systemd runs around
/// every start (docs/update-package.md, systemd/README.md "Updates").
enum UpdateCommand {
    static let locationOptions: Set<String> = ["root", "keyring", "board", "health-deadline"]

    static func run(_ arguments: ArraySlice<String>) throws {
        var rest = arguments
        guard let verb = rest.popFirst() else { throw CommandLineOptions.UsageError(message: "update needs install, boot, commit or status") }
        switch verb {
        case "install":
            let options = try CommandLineOptions(
                rest, valued: locationOptions.union(["restart-command", "state-dir"]), switches: ["no-restart"])
            let file = try options.requirePositionals(["the package file"])[0]
            try install(file: file, options: options)
        case "boot":
            let options = try CommandLineOptions(rest, valued: locationOptions)
            _ = try options.requirePositionals([])
            try boot(options)
        case "commit":
            let options = try CommandLineOptions(rest, valued: locationOptions)
            _ = try options.requirePositionals([])
            try commit(options)
        case "status":
            let options = try CommandLineOptions(rest, valued: ["root"])
            _ = try options.requirePositionals([])
            status(root: options["root"] ?? "/opt/terminal")
        default:
            throw CommandLineOptions.UsageError(message: "unknown update command '\(verb)'; expected install, boot, commit or status")
        }
    }

    /// The installer of the options every update command takes: --root (the install root: slots/, current,
    /// update-state; /opt/terminal), --keyring (ROOT/keyring.toml, which survives every update), --board (the board
    /// packages must list: $BOARD, else sim), --health-deadline (seconds the new version has to commit; 120).
    static func installer(_ options: CommandLineOptions) throws -> Installer {
        let root = options["root"] ?? "/opt/terminal"
        let keyringPath = options["keyring"] ?? root + "/keyring.toml"
        let keys: Keyring
        do { keys = try Installer.readKeyring(keyringPath) } catch {
            fail("cannot read the keyring \(keyringPath): \(error)", status: 78)
        }
        let boardName = options["board"] ?? getenv("BOARD").map { String(cString: $0) } ?? "sim"
        // Test hook of the failure matrix: TERMINAL_UPDATE_FAULT=PHASE:error|kill.
        let faults = getenv("TERMINAL_UPDATE_FAULT").flatMap { UpdateFaults(parsing: String(cString: $0)) }
        return Installer(
            root: root, board: boardName, keyring: keys, healthDeadlineSeconds: try options.integer("health-deadline", default: 120),
            faults: faults)
    }

    /// Verify a package completely, write the inactive slot, switch and restart (--restart-command, default
    /// `systemctl restart --no-block terminal.service`; --no-restart for a test root). No update while the store in
    /// --state-dir (/var/lib/terminal) has a transaction in flight.
    static func install(file: String, options: CommandLineOptions) throws {
        let installer = try installer(options)
        let root = options["root"] ?? "/opt/terminal"
        let stateDir = options["state-dir"] ?? "/var/lib/terminal"
        let restartCommand = options["restart-command"] ?? "systemctl restart --no-block terminal.service"
        let noRestart = options.has("no-restart")
        let outcome: InstallOutcome
        do {
            outcome = try installer.install(packagePath: file, preflight: { UpdatePreflight.check(storePath: stateDir + "/terminal.sqlite", root: root) }) {
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

    /// Before every start (ExecStartPre=+): finish or undo an interrupted update, arm the health check.
    static func boot(_ options: CommandLineOptions) throws {
        let installer = try installer(options)
        do {
            switch try installer.boot() {
            case .nothingPending: print("update: nothing pending")
            case .healthCheckStarted(let version, let deadline): print("update: health check of \(version) until \(deadline)")
            case .cleanedUp(let why): print("update: cleaned up: \(why)")
            case .rolledBack(let why): print("update: \(why)")
            case .committed(let version): print("update: committed \(version)")
            }
        } catch { fail("update boot failed: \(error)", status: 74) }
    }

    /// After READY=1 (ExecStartPost=+): self-test and commit the new version, or roll back.
    static func commit(_ options: CommandLineOptions) throws {
        let installer = try installer(options)
        do {
            switch try installer.commit() {
            case .nothingToCommit: print("update: nothing to commit")
            case .committed(let version): print("update: committed \(version)")
            case .rolledBack(let why): fail("update: \(why)", status: 1)
            }
        } catch { fail("update commit failed: \(error)", status: 74) }
    }

    /// Print the update state.
    static func status(root: String) {
        do {
            let installer = Installer(root: root, board: "", keyring: try Keyring(keys: []))
            print(try installer.status().rendered(), terminator: "")
        } catch { fail("\(error)", status: 74) }
    }
}
