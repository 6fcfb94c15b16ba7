import ArgumentParser

/// Developer tools for the firmware: benchmarks now; signing and inspection tools join as their features land.
@main
struct Termtool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "termtool",
        abstract: "Developer tools for the payment-terminal firmware (never shipped on a board).",
        subcommands: [Bench.self]
    )
}
