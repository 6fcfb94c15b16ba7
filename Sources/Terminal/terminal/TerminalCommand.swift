#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import TerminalApp

/// The firmware's command line: `terminal [run] [options]`, `terminal check-board NAME`, `terminal update …`.
@main
enum Terminal {
    static let version = "0.1.0"

    static let usage = """
        USAGE: terminal [run] [--board NAME] [--headless] [--fixed-clock TIME] [--state-dir DIR] [--log-level LEVEL] [--snapshot FILE]
               terminal check-board NAME
               terminal update install FILE [--root DIR] [--keyring FILE] [--board NAME] [--health-deadline S]
                                            [--state-dir DIR] [--restart-command CMD] [--no-restart]
               terminal update boot|commit [--root DIR] [--keyring FILE] [--board NAME] [--health-deadline S]
               terminal update status [--root DIR]
               terminal --version | --help

        run (the default)   Run the terminal on a board.
          --board NAME        Board profile: a name under the board directories, or a path to a board.toml (sim).
          --headless          Read events from stdin (one per line) and write each new screen to stdout, frames
                              separated by ----.
          --fixed-clock TIME  Use this fixed time (HH:MM, or YYYY-MM-DD HH:MM; the date is 2026-11-27 otherwise) for
                              screens, transactions and receipts, for reproducible headless transcripts.
          --state-dir DIR     Keep the store and keys here instead of the profile's state directory.
          --log-level LEVEL   trace, debug, info (default), notice, warning, error, critical.
          --snapshot FILE     Also draw every screen into this PNG file, as a 320x240 panel would show it.
        check-board NAME    Validate a board profile and print what it wires.
        update              Signed field updates: install a package into the inactive slot, the start (boot) and
                            commit hooks systemd runs, status (docs/update-package.md).

        Exit status: 0 done; 64 usage; 65 update package rejected; 69 a device or the disk is unavailable (systemd
        retries); 74 I/O; 78 configuration or keys (systemd does not restart).
        """

    static func main() async {
        var arguments = CommandLine.arguments.dropFirst()
        do {
            switch arguments.first {
            case "--version":
                print(version)
            case "--help", "-h", "help":
                print(usage)
            case "check-board":
                arguments.removeFirst()
                checkBoard(try CommandLineOptions(arguments, valued: []).requirePositionals(["the board name"])[0])
            case "update":
                arguments.removeFirst()
                try UpdateCommand.run(arguments)
            case "run":
                arguments.removeFirst()
                await run(try CommandLineOptions(arguments, valued: runOptions, switches: ["headless"]))
            default:
                await run(try CommandLineOptions(arguments, valued: runOptions, switches: ["headless"]))
            }
        } catch {
            fail("terminal: \(error)\n\(usage)", status: 64)
        }
    }

    static let runOptions: Set<String> = ["board", "fixed-clock", "state-dir", "log-level", "snapshot"]

    static func run(_ options: CommandLineOptions) async {
        if let extra = options.positionals.first { fail("terminal: unexpected argument '\(extra)'\n\(usage)", status: 64) }
        let environment = ProcessEnvironment.current()
        let level = Logger.Level(rawValue: options["log-level"] ?? "info") ?? .info
        LoggingBootstrap.bootstrap(level: level, environment: environment)
        let logger = Logger(label: "terminal")
        let runOptions = RunOptions(
            board: options["board"] ?? "sim", boardSearchPath: TerminalRuntime.defaultBoardSearchPath(environment: environment),
            headless: options.has("headless"), fixedClock: options["fixed-clock"], stateDirectory: options["state-dir"],
            environment: environment, version: version, snapshotPath: options["snapshot"])
        do {
            try await TerminalRuntime.run(runOptions, logger: logger)
        } catch let error as RuntimeError {
            logger.critical("cannot run the terminal", metadata: ["reason": "\(error)"])
            switch error.code {
            case .boardProfile, .keys:
                // EX_CONFIG: restarting cannot help (systemd's RestartPreventExitStatus=78 holds the unit).
                exit(78)
            case .device, .stateDirectory, .store, .headlessInput:
                // EX_UNAVAILABLE: a device not there yet, a disk not mounted: systemd restarts with backoff.
                exit(69)
            }
        } catch {
            logger.critical("cannot run the terminal", metadata: ["reason": "\(error)"])
            exit(69)
        }
    }

    static func checkBoard(_ board: String) {
        let environment = ProcessEnvironment.current()
        do {
            let profile = try TerminalRuntime.loadProfile(board, searchPath: TerminalRuntime.defaultBoardSearchPath(environment: environment))
            print("board \(profile.name) (\(profile.kind.rawValue)): OK")
            print("  language: \(profile.language.rawValue), currency: \(profile.merchant.currency.code)")
            print("  keypad: \(profile.keypad)")
            print("  display: \(profile.display)")
            print("  card reader: \(profile.cardReader)")
            print("  scanner: \(profile.scanner)")
            print("  printer: \(profile.printer)")
            print("  network: wifi \(profile.network.wifi ?? "-"), cellular \(profile.network.cellular ?? "-"), acquirer \(profile.network.acquirer)")
        } catch {
            fail("\(error)", status: 78)
        }
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { writeToStandardError($0.baseAddress!, $0.count) }
    }
}

/// Prints `message` on stderr and exits with `status`.
func fail(_ message: String, status: Int32) -> Never {
    var stderr = StandardError()
    print(message, to: &stderr)
    exit(status)
}
