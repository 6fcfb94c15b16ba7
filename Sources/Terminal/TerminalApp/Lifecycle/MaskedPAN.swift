/// A primary account number in its loggable form: the first six and last four digits with the middle masked,
/// `476173******0119` (PCI DSS 4.0 requirement 3.4.1: at most BIN and last four may be displayed).
///
/// Only the masked text is stored, so a `MaskedPAN` kept in a log record, a metadata value or a crash dump never
/// holds the full number. Use it whenever code logs a PAN on purpose:
///
/// ```swift
/// logger.info("card read", metadata: ["card.pan": "\(MaskedPAN(panDigits))"])
/// ```
///
/// Inputs that are not 13–19 digits long (ISO/IEC 7812-1 PAN length) are masked entirely, one `*` per digit.
public struct MaskedPAN: Sendable, Hashable, CustomStringConvertible {
    /// The masked text.
    public let description: String

    /// Masks the decimal digits of `pan`; spaces, dashes and any other non-digit characters are ignored.
    /// - Parameter pan: the account number as text (`"4761 7390 0101 0119"` works too).
    public init(_ pan: some StringProtocol) {
        let digits = pan.utf8.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        self.description = Self.mask(digits)
    }

    /// Masks a PAN held as EMV `cn` (compressed numeric) bytes, as in tag `5A`: two BCD digits per byte,
    /// right-padded with `F` nibbles (EMV Book 3, section 4.3, "Format cn"). Decoding stops at the first `F`
    /// nibble; other non-decimal nibbles are skipped.
    /// - Parameter compressedNumeric: the value bytes of the data element.
    public init(compressedNumeric: some Sequence<UInt8>) {
        var digits: [UInt8] = []
        decoding: for byte in compressedNumeric {
            for nibble in [byte >> 4, byte & 0x0F] {
                if nibble == 0x0F { break decoding }
                if nibble <= 9 { digits.append(UInt8(ascii: "0") + nibble) }
            }
        }
        self.description = Self.mask(digits)
    }

    /// `first6 + "*"… + last4` for 13–19 ASCII digits, else one `*` per digit.
    static func mask(_ digits: [UInt8]) -> String {
        guard (13...19).contains(digits.count) else {
            return String(repeating: "*", count: digits.count)
        }
        var out = digits.prefix(6) + Array(repeating: UInt8(ascii: "*"), count: digits.count - 10)
        out += digits.suffix(4)
        return String(decoding: out, as: UTF8.self)
    }
}
