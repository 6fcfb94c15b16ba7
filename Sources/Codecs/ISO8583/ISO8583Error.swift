/// A failure of the ISO 8583 codec (``ISO8583/pack(_:spec:)``, ``ISO8583/unpack(_:spec:)-([UInt8],_)``) or of a
/// dialect built on it.
///
/// Equality compares ``code`` only; tests assert on the code. An error names the field number and a byte offset,
/// never the field's bytes (they may be a PAN, track 2 data or a PIN block).
public struct ISO8583Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public enum Code: Sendable, Equatable, Hashable {
        /// The input ended inside the MTI, a bitmap, a length prefix or a field's data.
        case truncated
        /// The message type indicator is not four decimal digits (ISO 8583:1987 §4.1).
        case invalidMessageTypeIndicator
        /// A bitmap names a field the spec does not define (also: bit 65, the tertiary bitmap, which no spec here
        /// supports), or a message to pack carries such a field.
        case unknownField
        /// Bit 1 names a secondary bitmap that has no bit set (the packer never writes one, so it is not accepted).
        case emptySecondaryBitmap
        /// A nibble above 9 where a BCD digit must stand (a numeric field, a BCD length prefix or MTI), or a track 2
        /// nibble other than a digit or the separator `D`.
        case invalidBCDDigit
        /// The pad nibble of an odd-length BCD value is not the spec's pad nibble.
        case invalidPadding
        /// A length prefix is not a valid count (a non-digit in an ASCII prefix).
        case invalidLengthPrefix
        /// A variable field longer than its maximum length (its length prefix, or a value to pack).
        case fieldTooLong
        /// A fixed-length field to pack whose value is not exactly the fixed length.
        case lengthMismatch
        /// A character the field's content kind does not allow (a letter in a numeric field, a control character or
        /// a non-ASCII byte in an alphanumeric field).
        case invalidCharacter
        /// A BER-TLV field (ICC data, field 55) whose value is not a strict BER-TLV sequence.
        case invalidTLV
        /// A value of the wrong kind for the field (text for a binary field, bytes for a numeric field, ...).
        case valueKindMismatch
        /// Bytes follow the last field the bitmap names.
        case trailingBytes
        /// A field a message kind requires is absent (dialects: a typed reader or builder).
        case missingField
        /// A field whose content does not follow the dialect's layout (a private field's sub-elements, a date).
        case invalidFieldContent
        /// A message authentication code that does not verify. One opaque case: the codec never says which bytes
        /// differ.
        case macVerificationFailed
        /// A message of a type the reader does not accept here (an 0810 where an 0210 is expected).
        case unexpectedMessageType
        /// A length frame that is zero or larger than the dialect's maximum message size.
        case invalidFrame
    }

    /// What was wrong.
    public let code: Code
    /// The field number (2…128; 1 for the secondary bitmap), or `nil` for the MTI and the primary bitmap.
    public let field: Int?
    /// Where in the input, counted from its first byte, when the failure has a position.
    public let offset: Int?
    /// A human explanation (fixed text and numbers; never field bytes).
    public let reason: String
    /// The source file that detected the failure.
    public let file: String
    /// The source line that detected the failure.
    public let line: Int

    /// Creates an error.
    public init(
        _ code: Code, field: Int? = nil, offset: Int? = nil, reason: String, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.field = field
        self.offset = offset
        self.reason = reason
        self.file = file
        self.line = line
    }

    /// "ISO 8583 fieldTooLong in field 2 at offset 10: reason".
    public var description: String {
        var text = "ISO 8583 \(code)"
        if let field { text += " in field \(field)" }
        if let offset { text += " at offset \(offset)" }
        return text + ": " + reason
    }

    /// Compares ``code`` only.
    public static func == (lhs: ISO8583Error, rhs: ISO8583Error) -> Bool { lhs.code == rhs.code }
}
