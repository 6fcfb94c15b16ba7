import ArgumentParser
import Logging
import TerminalApp

/// The firmware's command line.
@main
struct Terminal: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "terminal",
        abstract: "Payment-terminal firmware.",
        version: version,
        subcommands: [Run.self, CheckBoard.self, Update.self],
        defaultSubcommand: Run.self
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the terminal on a board.")

        @Option(help: "Board profile: a name under the board directories, or a path to a board.toml.")
        var board: String = "sim"

        @Flag(help: "Read events from stdin (one per line) and write each new screen to stdout, frames separated by ----.")
        var headless = false

        @Option(help: "Use this fixed time (HH:MM, or YYYY-MM-DD HH:MM; the date is 2026-11-27 otherwise) for screens, transactions and receipts, for reproducible headless transcripts.")
        var fixedClock: String?

        @Option(help: "Keep the store and keys here instead of the profile's state directory.")
        var stateDir: String?

        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: String = "info"

        @Option(help: "Also draw every screen into this PNG file (simulator boards), as a 320x240 panel would show it.")
        var snapshot: String?

        func run() async throws {
            let environment = ProcessEnvironment.current()
            // In the terminal window the screen is ours: log only warnings and worse unless asked.
            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingBootstrap.bootstrap(level: level, environment: environment)
            let logger = Logger(label: "terminal")
            let options = RunOptions(
                board: board, boardSearchPath: TerminalRuntime.defaultBoardSearchPath(environment: environment),
                headless: headless, fixedClock: fixedClock, stateDirectory: stateDir, environment: environment,
                version: Terminal.version, snapshotPath: snapshot)
            do {
                try await TerminalRuntime.run(options, logger: logger)
            } catch let error as RuntimeError {
                logger.critical("cannot run the terminal", metadata: ["reason": "\(error)"])
                switch error.code {
                case .boardProfile, .keys:
                    // EX_CONFIG: restarting cannot help (systemd's RestartPreventExitStatus=78 holds the unit).
                    throw ExitCode(78)
                case .device, .stateDirectory, .store, .headlessInput:
                    // EX_UNAVAILABLE: a device not there yet, a disk not mounted: systemd restarts with backoff.
                    throw ExitCode(69)
                }
            }
        }
    }

    struct CheckBoard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check-board", abstract: "Validate a board profile and print what it wires.")

        @Argument(help: "Board name or path to a board.toml.")
        var board: String

        func run() async throws {
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
                var stderr = StandardError()
                print("\(error)", to: &stderr)
                throw ExitCode(78)
            }
        }
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { writeToStandardError($0.baseAddress!, $0.count) }
    }
}
