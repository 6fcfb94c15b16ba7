public import Codecs

/// The electronic-purse sub-elements of field 62 (docs/host-interface.md §14 "Prepaid electronic purse"): the card's
/// load and purchase data the host needs to check MAC1, compute MAC2 and verify TACs. Values are upper-case hex of
/// the binary fields, so they stay printable ASCII.
public enum PrepaidHostData {
    /// `PL` purse load (0200 `280000`): old balance (4) ‖ online counter (2) ‖ card random (4) ‖ MAC1 (4) ‖ terminal
    /// number (6) ‖ date-time (7), 27 bytes.
    public static let loadTag = "PL"
    /// `PM` MAC2 of an approved load (0210 `280000`), 4 bytes.
    public static let mac2Tag = "PM"
    /// `PP` purse purchase (0220 `000000`): balance before (4) ‖ offline counter (2) ‖ terminal sequence number (4) ‖
    /// terminal number (6) ‖ date-time (7) ‖ TAC (4), 27 bytes.
    public static let purchaseTag = "PP"
    /// `PT` load confirmation (0220 `280000` / `200000`): new balance (4) ‖ online counter before the load (2) ‖
    /// terminal number (6) ‖ date-time (7) ‖ TAC (4), 23 bytes.
    public static let loadConfirmationTag = "PT"
    /// `PX` card expiry `YYYYMMDD` (0200 `720000` activation).
    public static let expiryTag = "PX"

    /// Adds (or replaces) a sub-element of field 62 holding `bytes` as hex.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` when field 62 is malformed.
    public static func set(_ tag: String, bytes: [UInt8], in message: inout ISO8583.Message) throws {
        try set(tag, text: Hex.encode(bytes), in: &message)
    }

    /// Adds (or replaces) a text sub-element of field 62.
    public static func set(_ tag: String, text: String, in message: inout ISO8583.Message) throws {
        var tagged = try PrivateTaggedData(encoded: message.text(62) ?? "")
        tagged.elements.removeAll { $0.tag == tag }
        tagged.elements.append((tag, text))
        message[62] = .text(tagged.encoded)
    }

    /// The bytes of a hex sub-element of field 62, or nil when absent or not hex.
    public static func bytes(_ tag: String, in tagged: PrivateTaggedData) -> [UInt8]? {
        tagged.elements.first { $0.tag == tag }.flatMap { Hex.decode($0.value) }
    }

    /// The text of a sub-element of field 62.
    public static func text(_ tag: String, in tagged: PrivateTaggedData) -> String? {
        tagged.elements.first { $0.tag == tag }?.value
    }
}
