/// The one error of the VirtualCards module.
///
/// Compare ``code``; ``reason`` is a sentence for humans and never holds PANs, PINs, keys or cryptograms. The card
/// itself never throws for what a terminal sends it: a bad command is answered with a status word, as a real card
/// does. Errors are for the environment around the card: a card that was pulled, a profile whose personalization
/// fails, an issuer file that does not parse, the vpcd link.
public struct VirtualCardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable, Hashable {
        /// The card left the reader (the "pulled" profile, or ``VirtualCardConnection/pull()``): the command was
        /// not answered. The DeviceKit ``CardConnection`` contract: "throws when the card is gone".
        case cardRemoved
        /// The session was ended with ``VirtualCardConnection/disconnect()``.
        case connectionClosed
        /// A profile could not be personalised (its keys or certificates failed to build).
        case personalizationFailed
        /// The issuer keys file (`test-issuers.toml`) is malformed; ``VirtualCardError/reason`` names the line.
        case malformedIssuerFile
        /// A socket call to vpcd failed; ``VirtualCardError/reason`` names the call and errno.
        case vpcdLink
        /// vpcd sent a message that breaks its protocol (a zero or oversized length).
        case vpcdProtocol
    }

    /// What went wrong; compare this, never ``reason``.
    public let code: Code
    /// A sentence for humans, without card data or keys.
    public let reason: String
    /// Where the error was made (`#fileID`).
    public let file: String
    /// Where the error was made (`#line`).
    public let line: Int

    /// Makes an error.
    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { "virtual card error (\(code)): \(reason)" }

    public static func == (lhs: VirtualCardError, rhs: VirtualCardError) -> Bool { lhs.code == rhs.code }
}
