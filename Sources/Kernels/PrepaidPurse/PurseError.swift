/// The one error of the PrepaidPurse module: environmental failures around a purse transaction (a malformed card
/// answer, a crypto failure, a SAM that cannot answer). Domain outcomes (MAC mismatch, insufficient balance, an
/// expired or blocked card) are returned as ``PurseOutcome`` values, never thrown.
///
/// Compare ``code``; ``reason`` never holds keys, MACs or card numbers.
public struct PurseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable, Hashable {
        /// A card response has the wrong length or layout for its command.
        case malformedResponse
        /// An argument is outside what the command can carry (amount, terminal number, date).
        case invalidParameter
        /// A key has the wrong length or the crypto library failed.
        case crypto
        /// The SAM could not answer (no session, no key for the card, a hardware SAM failure).
        case sam
    }

    /// What went wrong; compare this, never ``reason``.
    public let code: Code
    /// A sentence for humans, with no secret in it.
    public let reason: String
    /// Where the error was made.
    public let file: String
    /// Where the error was made.
    public let line: Int

    /// An error with `code` and a human `reason`.
    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    /// "purse error (code): reason".
    public var description: String { "purse error (\(code)): \(reason)" }

    /// Equality by code only.
    public static func == (lhs: PurseError, rhs: PurseError) -> Bool { lhs.code == rhs.code }
}
