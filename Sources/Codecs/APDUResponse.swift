/// The status bytes SW1 SW2 that end every response APDU (ISO/IEC 7816-4 §5.1.3, EMV Book 3 §6.3.5).
public struct StatusWord: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// SW1 and SW2 as one number, e.g. `0x9000`.
    public let rawValue: UInt16

    /// A status word from its number.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// A status word from its two bytes.
    public init(sw1: UInt8, sw2: UInt8) { rawValue = UInt16(sw1) << 8 | UInt16(sw2) }

    /// The first status byte.
    public var sw1: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 8) }
    /// The second status byte.
    public var sw2: UInt8 { UInt8(truncatingIfNeeded: rawValue) }

    /// `9000`: normal processing.
    public static let normalProcessing = StatusWord(rawValue: 0x9000)
    /// `6283`: selected file invalidated (a blocked application answering SELECT, EMV Book 1 §12.4).
    public static let selectedFileInvalidated = StatusWord(rawValue: 0x6283)
    /// `6700`: wrong length.
    public static let wrongLength = StatusWord(rawValue: 0x6700)
    /// `6982`: security status not satisfied.
    public static let securityStatusNotSatisfied = StatusWord(rawValue: 0x6982)
    /// `6983`: authentication method blocked (PIN try limit exceeded).
    public static let authenticationMethodBlocked = StatusWord(rawValue: 0x6983)
    /// `6984`: referenced data invalidated.
    public static let referencedDataInvalidated = StatusWord(rawValue: 0x6984)
    /// `6985`: conditions of use not satisfied.
    public static let conditionsOfUseNotSatisfied = StatusWord(rawValue: 0x6985)
    /// `6A81`: function not supported (a blocked card or application answering SELECT).
    public static let functionNotSupported = StatusWord(rawValue: 0x6A81)
    /// `6A82`: file or application not found.
    public static let fileNotFound = StatusWord(rawValue: 0x6A82)
    /// `6A83`: record not found.
    public static let recordNotFound = StatusWord(rawValue: 0x6A83)
    /// `6A88`: referenced data (data object) not found.
    public static let referencedDataNotFound = StatusWord(rawValue: 0x6A88)
    /// `6D00`: instruction code not supported or invalid.
    public static let instructionNotSupported = StatusWord(rawValue: 0x6D00)
    /// `6E00`: class not supported.
    public static let classNotSupported = StatusWord(rawValue: 0x6E00)

    /// `9000`.
    public var isNormalProcessing: Bool { rawValue == 0x9000 }
    /// `62xx` or `63xx`: a warning (ISO/IEC 7816-4 §5.1.3, table 5); the command was processed.
    public var isWarning: Bool { sw1 == 0x62 || sw1 == 0x63 }
    /// `61xx`: more response bytes are waiting for GET RESPONSE; SW2 says how many (`00` = 256 or more).
    public var hasResponseBytesAvailable: Bool { sw1 == 0x61 }
    /// `6Cxx`: wrong Le; SW2 is the number of bytes available (`00` = 256).
    public var isWrongExpectedLength: Bool { sw1 == 0x6C }
    /// `63Cx`: verification failed, `x` tries left (EMV Book 3 §6.5.12 for VERIFY); `nil` for other status words.
    public var remainingTries: Int? { sw1 == 0x63 && sw2 & 0xF0 == 0xC0 ? Int(sw2 & 0x0F) : nil }

    /// "9000".
    public var description: String { Hex.encode([sw1, sw2]) }
}

/// A response APDU (ISO/IEC 7816-4 §5.1): an optional data field and the status word.
///
/// ``description`` shows the data length and the status word but never the data.
public struct ResponseAPDU: Sendable, Hashable, CustomStringConvertible {
    /// The data field.
    public let data: [UInt8]
    /// The status bytes SW1 SW2.
    public let statusWord: StatusWord

    /// The largest response accepted: 65 536 data bytes (an extended Ne) and the status word.
    public static let maximumEncodedCount = 65_538

    /// A response from its parts.
    public init(data: [UInt8] = [], statusWord: StatusWord) {
        self.data = data
        self.statusWord = statusWord
    }

    /// Parses a response as a transport delivers it: the data, then SW1 SW2.
    /// - Throws: ``EMVCodecError/Code/responseTooShort`` for fewer than two bytes (PC/SC can report success with an
    ///   empty answer when the card is pulled; an empty answer is never a valid one),
    ///   ``EMVCodecError/Code/responseTooLong`` above ``maximumEncodedCount``.
    public init(apduEncoded bytes: some Collection<UInt8>) throws {
        let count = bytes.count
        guard count >= 2 else {
            throw EMVCodecError(.responseTooShort, offset: count, reason: "response without the status bytes SW1 SW2")
        }
        guard count <= ResponseAPDU.maximumEncodedCount else {
            throw EMVCodecError(.responseTooLong, reason: "response longer than 65538 bytes")
        }
        let all = Array(bytes)
        data = Array(all[..<(count - 2)])
        statusWord = StatusWord(sw1: all[count - 2], sw2: all[count - 1])
    }

    /// The encoding: data then SW1 SW2.
    public var encoded: [UInt8] { data + [statusWord.sw1, statusWord.sw2] }

    /// "52 bytes SW=9000": never the data.
    public var description: String { "\(data.count) bytes SW=\(statusWord)" }
}
