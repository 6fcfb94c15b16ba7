/// A failure of the EMV byte codecs: BER-TLV (``TLVNode``), data object lists (``DataObjectList``) and APDUs
/// (``CommandAPDU``, ``ResponseAPDU``, ``APDUExchange``).
///
/// Equality compares ``code`` only; tests assert on the code. An error never carries the bytes it was parsing (they
/// may be card data: PAN, track 2, PIN blocks), only an ``offset`` into them and a fixed ``reason``.
public struct EMVCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public enum Code: Sendable, Equatable, Hashable {
        // MARK: BER-TLV (EMV Book 3 Annex B, ISO/IEC 8825-1 §8.1)
        /// The input ended inside a tag field.
        case truncatedTag
        /// A tag has more than four bytes (our cap; EMV uses at most three, Book 3 Annex B1).
        case tagTooLong
        /// A tag's first byte is `00` or `FF` (invalid per ISO/IEC 7816-4 §5.2.2.1) where no padding is allowed.
        case invalidTag
        /// The input ended inside a length field.
        case truncatedLength
        /// The indefinite length form `80` (ISO/IEC 8825-1 §8.1.3.6), which EMV does not use.
        case indefiniteLength
        /// A long-form length with more than four subsequent bytes (`85`…`FF`).
        case lengthFieldTooLong
        /// A long-form length that a shorter form could encode, under rules that forbid it.
        case nonMinimalLength
        /// The length does not fit this platform's `Int` (a four-byte length on a 32-bit board).
        case lengthTooLarge
        /// The value is shorter than its length field says.
        case truncatedValue
        /// Templates nest deeper than ``TLVRules/maximumDepth``.
        case excessiveDepth
        /// Bytes follow the object(s) where none may.
        case trailingBytes
        /// Padding bytes (`00`/`FF`) where the rules do not allow them.
        case paddingNotAllowed
        /// No object where one was required (an empty input, or only padding).
        case missingObject

        // MARK: Data object lists (EMV Book 3 §5.4)
        /// A DOL entry names a tag with no length, or its length is larger than one command can carry.
        case invalidDataObjectList

        // MARK: APDUs (ISO/IEC 7816-4 §5.1, EMV Book 1 §9.3 and Annex A)
        /// A command APDU shorter than its four header bytes, or whose body is none of cases 1–4.
        case malformedCommandAPDU
        /// An extended-length command APDU (ISO/IEC 7816-4 §5.1): not supported here.
        case extendedLengthUnsupported
        /// A command's data field is longer than 255 bytes (short Lc).
        case commandDataTooLong
        /// An expected response length (Ne) outside 1…256.
        case invalidExpectedLength
        /// A response shorter than the two status bytes SW1 SW2 (PC/SC can report success with an empty answer when a
        /// card is pulled).
        case responseTooShort
        /// A response (or the data gathered over `61xx` GET RESPONSE rounds) longer than the limit.
        case responseTooLong
        /// More command/response exchanges for one command than the limit (a card looping `61xx` / `6Cxx`).
        case tooManyExchanges
    }

    /// What was wrong.
    public let code: Code
    /// Where in the input, counted from its first byte, when the failure has a position.
    public let offset: Int?
    /// A human explanation (fixed text; never input bytes).
    public let reason: String
    /// The source file that detected the failure.
    public let file: String
    /// The source line that detected the failure.
    public let line: Int

    /// Creates an error; the static factory functions below are the usual way.
    public init(_ code: Code, offset: Int? = nil, reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.offset = offset
        self.reason = reason
        self.file = file
        self.line = line
    }

    /// "TLV truncatedValue at offset 12: reason".
    public var description: String {
        var text = "EMV codec \(code)"
        if let offset { text += " at offset \(offset)" }
        return text + ": " + reason
    }

    /// Compares ``code`` only.
    public static func == (lhs: EMVCodecError, rhs: EMVCodecError) -> Bool { lhs.code == rhs.code }
}
