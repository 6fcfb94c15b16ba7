import ArgumentParser

extension Termtool {
    /// The entry point: ArgumentParser's own, except that a command-line error never repeats what was typed.
    ///
    /// ArgumentParser quotes offending values in its errors (`Unexpected argument '…'`, `The value '…' is invalid`);
    /// with the crypto subcommands such a value can be a key or a PIN (a key split by a space, a misspelt
    /// `--kye=…`). Every quoted command-line value of four characters or more is replaced by `'<value>'` before the
    /// message is printed. Help and clean exits print as usual; errors from `run()` are the commands' own (they
    /// never hold values either).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            CryptoTool.writeStandardError(redacting(fullMessage(for: error), values: arguments) + "\n")
            exit(withError: code)
        }
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    /// `message` with every `'value'` of `arguments` (and the value part of `--option=value`) replaced.
    static func redacting(_ message: String, values arguments: [String]) -> String {
        var values: [String] = []
        for argument in arguments {
            if argument.hasPrefix("-") {
                if let equals = argument.firstIndex(of: "=") {
                    values.append(String(argument[argument.index(after: equals)...]))
                    values.append(argument)
                }
            } else {
                values.append(argument)
            }
        }
        var text = message
        // Longest first, so a value that contains another is replaced whole.
        for value in values.filter({ $0.count >= 4 }).sorted(by: { $0.count > $1.count }) {
            text = text.replacingAll("'" + value + "'", with: "'<value>'")
        }
        return text
    }
}

extension String {
    /// This string with every non-overlapping occurrence of `target` replaced (no Foundation here).
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
