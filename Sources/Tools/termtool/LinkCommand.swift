#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Synchronization
import Uplink

/// `termtool link …`: the connectivity monitor on this machine.
struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Watch the board's links as the terminal sees them (rtnetlink).",
        subcommands: [Watch.self])

    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the connectivity state, then each change, one line each.",
            discussion: """
                Lines read `online via wifi (wlan0)`, `online via cellular (wwan0, metered)` or `offline`.

                Example:
                  termtool link watch --wifi wlan0 --cellular wwan0 --count 4 --timeout 30
                """)

        @Option(help: "The Wi-Fi interface.")
        var wifi: String?

        @Option(help: "The cellular interface.")
        var cellular: String?

        @Option(help: "Stop after this many lines (the first state counts; 0: never).")
        var count = 0

        @Option(help: "Give up after this many seconds (exit 1; 0: never).")
        var timeout = 0

        func run() throws {
            let printed = Atomic<Int>(0)
            let monitor = try ConnectivityMonitor.start(wifi: wifi, cellular: cellular) { state in
                TLSFiles.say(state.description)
                printed.add(1, ordering: .releasing)
            }
            defer { monitor.stop() }
            let deadline = ContinuousClock.now + .seconds(timeout)
            while count == 0 || printed.load(ordering: .acquiring) < count {
                if timeout > 0, ContinuousClock.now >= deadline {
                    TLSFiles.say("timeout after \(printed.load(ordering: .acquiring)) of \(count) lines")
                    throw ExitCode(1)
                }
                usleep(20_000)
            }
        }
    }
}
