/// The firmware's own command-line reader: `--name value`, `--name=value`, `--flag`, positionals, `--` ends options.
///
/// Hand-written on purpose: swift-argument-parser links FoundationEssentials (~3.4 MB of the 20 MB aarch64 budget,
/// docs/dependencies.md) into the image for a dozen options. `termtool`, which never ships, keeps ArgumentParser.
struct CommandLineOptions {
    /// A command line that does not fit the command (exit status 64, EX_USAGE).
    struct UsageError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    private(set) var positionals: [String] = []
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    /// Reads `arguments` for a command that takes the options `valued` (each followed by a value) and `switches`.
    init(_ arguments: ArraySlice<String>, valued: Set<String>, switches: Set<String> = []) throws(UsageError) {
        var rest = arguments
        var optionsEnded = false
        while let argument = rest.popFirst() {
            if optionsEnded || !argument.hasPrefix("--") || argument == "--" {
                if argument == "--", !optionsEnded {
                    optionsEnded = true
                } else {
                    positionals.append(argument)
                }
                continue
            }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if switches.contains(name) {
                guard inline == nil else { throw UsageError(message: "--\(name) takes no value") }
                flags.insert(name)
            } else if valued.contains(name) {
                guard let value = inline ?? rest.popFirst() else { throw UsageError(message: "--\(name) needs a value") }
                guard values[name] == nil else { throw UsageError(message: "--\(name) is given twice") }
                values[name] = value
            } else {
                let known = (valued.map { "--\($0) VALUE" } + switches.map { "--\($0)" }).sorted().joined(separator: ", ")
                throw UsageError(message: "unknown option --\(name)" + (known.isEmpty ? "" : "; expected \(known)"))
            }
        }
    }

    subscript(_ name: String) -> String? { values[name] }
    func has(_ name: String) -> Bool { flags.contains(name) }

    /// The value of an integer option, or `defaultValue`.
    func integer(_ name: String, default defaultValue: Int) throws(UsageError) -> Int {
        guard let text = values[name] else { return defaultValue }
        guard let value = Int(text) else { throw UsageError(message: "--\(name) expects a whole number") }
        return value
    }

    /// Exactly `count` positionals, named in the message when they are missing or too many.
    func requirePositionals(_ names: [String]) throws(UsageError) -> [String] {
        guard positionals.count == names.count else {
            if positionals.count < names.count {
                throw UsageError(message: "missing \(names[positionals.count])")
            }
            throw UsageError(message: "unexpected argument '\(positionals[names.count])'")
        }
        return positionals
    }
}
