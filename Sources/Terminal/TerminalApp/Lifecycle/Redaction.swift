public import Logging

/// How a metadata value was tagged at the call site (swift-log metadata value attributes, SLG-0004).
///
/// The tag travels with the value to ``RedactingLogHandler``, which never prints a `secret` and prints a `pan`
/// only as a ``MaskedPAN``, whatever the metadata key is called:
///
/// ```swift
/// logger.debug("key loaded", metadata: ["slot": "\(slot)", "material": "\(keyHex, sensitivity: .secret)"])
/// ```
public enum LogSensitivity: Int64, Logger.MetadataValueAttributes.Attribute, Sendable {
    /// Never printed: replaced by ``Redaction/placeholder``.
    case secret = 1
    /// A card number: printed only as ``MaskedPAN``.
    case pan = 2
}

extension Logger.MetadataValue.StringInterpolation {
    /// Interpolates `value` and tags the whole metadata value with `sensitivity`.
    /// - Parameters:
    ///   - value: the value to log.
    ///   - sensitivity: how the handler must treat it.
    public mutating func appendInterpolation(_ value: some CustomStringConvertible, sensitivity: LogSensitivity) {
        appendInterpolation(value, attributes: { $0[LogSensitivity.self] = sensitivity })
    }
}

/// The redaction rules of the terminal's log handler: what counts as card data or a secret, and how it is masked.
///
/// **Caught**
/// - *PANs in free text* (messages, metadata values, error descriptions): a run of 13–19 decimal digits, optionally
///   grouped by single spaces or dashes (`4761 7390 0101 0119`, `4761-7390-0101-0119`), that passes the Luhn check
///   (ISO/IEC 7812-1 Annex B) becomes ``MaskedPAN`` text, `476173******0119`. Where digit groups follow each other
///   (`4761739001010119 1225`), the longest Luhn-valid 13–19 digit span starting at each group is masked.
/// - *Track 2 and track 2 equivalent data*: 12 or more digits, then `=` (magnetic track 2) or `D` (EMV tag `57`,
///   hex), then at least four digits (YYMM): the whole token, including the hex discretionary data and `F` padding
///   that follow, becomes ``trackPlaceholder``. In a hex dump the digits before the PAN (tag, length) go too.
/// - *Track 1*: `B`, 12–19 digits, `^`: through the name field, the following data and an end sentinel `?`.
/// - *Secret metadata keys*: the last dot-separated component of the key, lower-cased without `_`/`-`, equal to
///   `pin`, `pinblock`, `track1`, `track2`, `track2equivalent`, `track1data`, `track2data`, `key`, `cvv`, `cvv2`, `cvc`,
///   `cvc2`, `password`, `passphrase`, `secret`, `authcode`, or ending in `key`, `keys`, `pin`, `pinblock`,
///   `password` or `secret` (`sessionKey`, `crypto.dataKey`, `online_pin`): the value, whatever its shape, becomes
///   ``placeholder``. `kcv` (and keys ending in `kcv`) may be logged: a key check value is public.
/// - *PAN metadata keys* (`pan`, `cardnumber`, `primaryaccountnumber`): the value is always shown as ``MaskedPAN``,
///   even when it fails the Luhn check.
/// - Values tagged with ``LogSensitivity``.
///
/// **Not caught** (log such data only through ``MaskedPAN`` or a ``LogSensitivity`` tag, or not at all)
/// - A PAN that fails the Luhn check (mistyped or corrupted), unless logged under a PAN key.
/// - A PAN inside a longer digit run (more than 19 digits, or glued to other digits), or split by other separators
///   (`4761.7390…`, `4761  7390`, newlines), or hex-encoded as ASCII (track 1 data in tag `56` as `4234…`),
///   or inside BCD hex next to other hex digits (tag `5A` in a TLV dump: `5A084761739001010119…`).
/// - PINs, keys, cryptograms and CVVs in **message text** or under keys with other names: they have no pattern;
///   the key-name rule and the tag are the only guards.
/// - Track data whose separator is not `=`/`D`, or with fewer than 12 digits before it.
/// - Digits other than ASCII `0`–`9` (fullwidth `４７６１…`, Arabic-Indic digits).
///
/// **Over-redaction** (accepted): any Luhn-valid 13–19 digit number is masked, e.g. one in ten 13-digit
/// millisecond timestamps and some lists of small numbers separated by spaces.
public enum Redaction {
    /// What a secret becomes.
    public static let placeholder = "[REDACTED]"
    /// What track data becomes.
    public static let trackPlaceholder = "[REDACTED-TRACK]"

    /// How the handler treats the value under a metadata key.
    public enum KeyKind: Sendable, Equatable {
        /// Scanned for PANs and track data like any text.
        case plain
        /// Never printed.
        case secret
        /// Printed as a ``MaskedPAN``.
        case pan
    }

    /// Masks PANs and redacts track data in free text (see the rules above).
    /// - Parameter text: a log message, metadata value or error description.
    /// - Returns: the text with card data masked; `text` itself when nothing matched.
    public static func redact(_ text: String) -> String {
        var scanner = Scanner(Array(text.utf8))
        guard scanner.bytes.contains(where: isDigit) else { return text }
        return scanner.run() ? String(decoding: scanner.output, as: UTF8.self) : text
    }

    /// The Luhn (mod 10) check of ISO/IEC 7812-1 Annex B: doubling every second digit from the right, the digit
    /// sum must be a multiple of 10.
    /// - Parameter digits: decimal digits as text; any non-digit character fails the check.
    /// - Returns: `true` for a non-empty all-digit string that passes.
    public static func isLuhnValid(_ digits: some StringProtocol) -> Bool {
        let bytes = Array(digits.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy(isDigit) else { return false }
        return luhn(bytes[...])
    }

    /// Classifies a metadata key (see the rules above).
    /// - Parameter key: the metadata key, dotted or not.
    /// - Returns: how its value is treated.
    public static func kind(ofKey key: String) -> KeyKind {
        let component = key.split(separator: ".", omittingEmptySubsequences: false).last ?? key[...]
        let normalized = String(component.lowercased().filter { $0 != "_" && $0 != "-" })
        if secretNames.contains(normalized) { return .secret }
        if panNames.contains(normalized) { return .pan }
        if normalized.hasSuffix("kcv") { return .plain }
        if secretSuffixes.contains(where: { normalized.hasSuffix($0) }) { return .secret }
        return .plain
    }

    /// Redacts one metadata value according to its key, its ``LogSensitivity`` tag and its text.
    /// - Parameters:
    ///   - value: the value.
    ///   - key: its metadata key.
    /// - Returns: the value safe to print.
    public static func redact(_ value: Logger.MetadataValue, key: String) -> Logger.MetadataValue {
        redact(value, kind: kind(ofKey: key))
    }

    /// Redacts every value of `metadata` (nested dictionaries by their own keys).
    /// - Parameter metadata: the metadata of a record.
    /// - Returns: the metadata safe to print.
    public static func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result = Logger.Metadata()
        result.reserveCapacity(metadata.count)
        for (key, value) in metadata {
            result[key] = redact(value, key: key)
        }
        return result
    }

    // MARK: - Internals

    private static let secretNames: Set<String> = [
        "pin", "pinblock", "track1", "track2", "track2equivalent", "track1data", "track2data", "key", "cvv", "cvv2",
        "cvc", "cvc2", "password", "passphrase", "secret", "authcode",
    ]
    private static let secretSuffixes = ["key", "keys", "pin", "pinblock", "password", "secret"]
    private static let panNames: Set<String> = ["pan", "cardnumber", "primaryaccountnumber"]

    private static func redact(_ value: Logger.MetadataValue, kind: KeyKind) -> Logger.MetadataValue {
        var kind = kind
        switch value.attributes[LogSensitivity.self] {
        case .secret: kind = .secret
        case .pan where kind != .secret: kind = .pan
        default: break
        }
        switch value {
        case .string(let text):
            return .string(redact(text: text, kind: kind))
        case .stringConvertible(let convertible):
            // A MaskedPAN's description is already masked; rescanning it is harmless (it has `*` in the middle).
            return .string(redact(text: convertible.description, kind: kind))
        case .array(let elements):
            return kind == .secret ? .string(placeholder) : .array(elements.map { redact($0, kind: kind) })
        case .dictionary(let dictionary):
            return kind == .secret ? .string(placeholder) : .dictionary(redact(dictionary))
        }
    }

    private static func redact(text: String, kind: KeyKind) -> String {
        switch kind {
        case .secret: placeholder
        case .pan: MaskedPAN(text).description
        case .plain: redact(text)
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
    }

    /// Luhn over ASCII digits (ISO/IEC 7812-1 Annex B).
    private static func luhn(_ digits: ArraySlice<UInt8>) -> Bool {
        var sum = 0
        for (position, byte) in digits.reversed().enumerated() {
            let digit = Int(byte - UInt8(ascii: "0"))
            if position % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }

    /// One left-to-right pass over the bytes of a text.
    private struct Scanner {
        let bytes: [UInt8]
        var output: [UInt8] = []

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            output.reserveCapacity(bytes.count)
        }

        /// Scans everything; returns whether anything was replaced.
        mutating func run() -> Bool {
            var changed = false
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                let previous: UInt8? = index > 0 ? bytes[index - 1] : nil
                if byte | 0x20 == UInt8(ascii: "b"), !(previous.map(isAlphanumeric) ?? false),
                    let end = trackOneEnd(from: index)
                {
                    output += Redaction.trackPlaceholder.utf8
                    index = end
                    changed = true
                    continue
                }
                guard isDigit(byte), !(previous.map(isDigit) ?? false) else {
                    output.append(byte)
                    index += 1
                    continue
                }
                // `index` starts a digit run.
                if let end = trackTwoEnd(from: index) {
                    output += Redaction.trackPlaceholder.utf8
                    index = end
                    changed = true
                } else if let (end, masked) = panMatch(from: index) {
                    output += masked.utf8
                    index = end
                    changed = true
                } else {
                    // Copy the whole group: a PAN never starts inside a digit run.
                    let end = digitsEnd(from: index)
                    output += bytes[index..<end]
                    index = end
                }
            }
            return changed
        }

        func digitsEnd(from start: Int) -> Int {
            var end = start
            while end < bytes.count, isDigit(bytes[end]) { end += 1 }
            return end
        }

        /// Track 2 (ISO/IEC 7813) or track 2 equivalent data (EMV tag 57, hex with `D` as field separator):
        /// `PAN (=|D) YYMM …` — returns the end of the whole token.
        func trackTwoEnd(from start: Int) -> Int? {
            var index = digitsEnd(from: start)
            guard index - start >= 12, index < bytes.count else { return nil }
            let separator = bytes[index]
            guard separator == UInt8(ascii: "=") || separator | 0x20 == UInt8(ascii: "d") else { return nil }
            index += 1
            guard digitsEnd(from: index) - index >= 4 else { return nil }  // expiry date YYMM
            while index < bytes.count,
                isHexDigit(bytes[index]) || bytes[index] == UInt8(ascii: "=") || bytes[index] == UInt8(ascii: "?")
            {
                index += 1
            }
            return index
        }

        /// Track 1 (ISO/IEC 7813 format B): `B PAN ^ NAME ^ YYMM service-code discretionary ?`.
        func trackOneEnd(from start: Int) -> Int? {
            var index = digitsEnd(from: start + 1)
            guard (12...19).contains(index - start - 1), index < bytes.count, bytes[index] == UInt8(ascii: "^")
            else { return nil }
            index += 1
            // The name field is at most 26 characters (ISO/IEC 7813).
            let nameLimit = min(bytes.count, index + 27)
            if let second = bytes[index..<nameLimit].firstIndex(of: UInt8(ascii: "^")) {
                index = second + 1
                while index < bytes.count, isAlphanumeric(bytes[index]) { index += 1 }
                if index < bytes.count, bytes[index] == UInt8(ascii: "?") { index += 1 }
            } else {
                while index < bytes.count, bytes[index] != UInt8(ascii: " "), bytes[index] != UInt8(ascii: "\n") {
                    index += 1
                }
            }
            return index
        }

        /// The longest run of digit groups from `start` (joined by single spaces or dashes) holding 13–19 digits
        /// that passes Luhn: its end and its masked text.
        func panMatch(from start: Int) -> (Int, String)? {
            var groupEnds: [Int] = []
            var digits: [UInt8] = []
            var digitCounts: [Int] = []
            var index = start
            while true {
                let end = digitsEnd(from: index)
                digits += bytes[index..<end]
                groupEnds.append(end)
                digitCounts.append(digits.count)
                guard digits.count < 19, end + 1 < bytes.count,
                    bytes[end] == UInt8(ascii: " ") || bytes[end] == UInt8(ascii: "-"), isDigit(bytes[end + 1])
                else { break }
                index = end + 1
            }
            for group in groupEnds.indices.reversed() {
                let count = digitCounts[group]
                if (13...19).contains(count), luhn(digits[0..<count]) {
                    return (groupEnds[group], MaskedPAN.mask(Array(digits[0..<count])))
                }
            }
            return nil
        }
    }
}
