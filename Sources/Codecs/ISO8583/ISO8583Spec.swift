/// ISO 8583 financial transaction card originated messages (ISO 8583:1987): a message type indicator, a binary
/// bitmap and the data elements it names, each encoded as a field spec table says.
///
/// The codec is generic: a dialect (an acquirer's host protocol) is a ``Spec``, a table of ``FieldSpec``s saying how
/// each field's length and content are encoded. ``pack(_:spec:)`` and ``unpack(_:spec:)-([UInt8],_)`` convert
/// between a ``Message`` and bytes; both are strict and report every malformation as an ``ISO8583Error``.
public enum ISO8583 {}

extension ISO8583 {
    /// How a field's content or length is written: packed BCD (two decimal digits a byte) or ASCII characters.
    public enum Encoding: Sendable, Hashable {
        /// Binary-coded decimal, two digits a byte, high nibble first.
        case bcd
        /// One ASCII character a digit.
        case ascii
    }

    /// How a field's length is known (ISO 8583:1987 §4.2.2.3).
    public enum LengthKind: Sendable, Hashable {
        /// Always ``FieldSpec/maxLength`` long; no length prefix.
        case fixed
        /// A two-digit length prefix (0…99) before the data.
        case llvar
        /// A three-digit length prefix (0…999) before the data.
        case lllvar

        /// The largest length the prefix can state.
        var prefixLimit: Int {
            switch self {
            case .fixed: Int.max
            case .llvar: 99
            case .lllvar: 999
            }
        }
    }

    /// What a field holds (the attribute column of ISO 8583:1987 §4.3), which fixes its value kind and its unit of
    /// length.
    public enum ContentKind: Sendable, Hashable {
        /// `n`: decimal digits; the length counts digits. Written in the spec's ``FieldSpec/encoding``.
        case numeric
        /// `an`: letters, digits and space (space for the padding of fixed fields); the length counts characters.
        case alphanumeric
        /// `ans`: printable ASCII (0x20…0x7E); the length counts characters.
        case alphanumericSpecial
        /// `b`: bytes; the length counts bytes.
        case binary
        /// `z`: track 2 data (ISO/IEC 7813): digits and the separator `=`; the length counts characters. In BCD the
        /// separator is the nibble `D`.
        case track2
        /// `b` holding a BER-TLV sequence (ICC system related data, field 55); the length counts bytes.
        case berTLV

        /// Whether the value is text (``FieldValue/text(_:)``); otherwise bytes or TLV nodes.
        var isText: Bool {
            switch self {
            case .numeric, .alphanumeric, .alphanumericSpecial, .track2: true
            case .binary, .berTLV: false
            }
        }
    }

    /// Which side of an odd number of digits the pad nibble of a BCD value goes, and what it is.
    public enum Padding: Sendable, Hashable {
        /// The pad nibble comes first (right-justified value): `0` for amounts and codes.
        case left(nibble: UInt8)
        /// The pad nibble comes last (left-justified value): `F` for PANs and track 2 in many dialects.
        case right(nibble: UInt8)

        /// The pad nibble.
        public var nibble: UInt8 {
            switch self {
            case .left(let nibble), .right(let nibble): nibble
            }
        }
    }

    /// How one data element is encoded: a row of a dialect's field table.
    public struct FieldSpec: Sendable, Hashable {
        /// The field number, 2…128 (1 is the secondary bitmap, 65 the tertiary bitmap bit; neither is a field here).
        public let number: Int
        /// The data element's name, for listings ("Primary account number").
        public let name: String
        /// Fixed, LLVAR or LLLVAR.
        public let lengthKind: LengthKind
        /// The fixed length, or the maximum of a variable field, in the unit of ``content``: digits for numeric and
        /// track 2, characters for text, bytes for binary and BER-TLV.
        public let maxLength: Int
        /// What the field holds.
        public let content: ContentKind
        /// How numeric and track 2 content is written: BCD or ASCII. Text is always ASCII, binary always raw.
        public let encoding: Encoding
        /// How the length prefix of a variable field is written: BCD (one byte for LLVAR, two for LLLVAR) or ASCII
        /// (two or three characters).
        public let lengthEncoding: Encoding
        /// The pad nibble of an odd number of BCD digits.
        public let padding: Padding
        /// Whether the value is sensitive (a PAN, track data, a PIN block, ICC data): listings mask or omit it.
        public let isSensitive: Bool

        /// Creates a field spec. Traps on a number outside 2…128 (or 65), a length the prefix cannot state, or a pad
        /// nibble above `F`: a field table is a constant, so these are programming errors.
        public init(
            _ number: Int, _ name: String, _ lengthKind: LengthKind, maxLength: Int, content: ContentKind,
            encoding: Encoding = .bcd, lengthEncoding: Encoding = .bcd, padding: Padding = .left(nibble: 0),
            isSensitive: Bool = false
        ) {
            precondition((2...128).contains(number) && number != 65, "ISO 8583 field number \(number) outside 2…128")
            precondition(maxLength >= 1 && maxLength <= lengthKind.prefixLimit, "field \(number): bad maxLength")
            precondition(padding.nibble <= 0x0F, "field \(number): pad nibble above F")
            self.number = number
            self.name = name
            self.lengthKind = lengthKind
            self.maxLength = maxLength
            self.content = content
            self.encoding = encoding
            self.lengthEncoding = lengthEncoding
            self.padding = padding
            self.isSensitive = isSensitive
        }

        /// Whether the content is written as BCD nibbles (numeric or track 2 in a BCD field).
        var isBCD: Bool { encoding == .bcd && (content == .numeric || content == .track2) }
    }

    /// A dialect: how the MTI is written and the table of fields 2…128. The bitmap is binary (eight bytes, a
    /// secondary bitmap when bit 1 is set).
    public struct Spec: Sendable {
        /// How the message type indicator is written: two BCD bytes or four ASCII digits.
        public let mtiEncoding: Encoding
        /// The rules field 55 and other ``ContentKind/berTLV`` fields are parsed with.
        public let tlvRules: TLVRules
        /// Field specs by number (index 0 and 1 unused).
        let table: [FieldSpec?]

        /// Creates a spec from its field table. Traps on a field number given twice.
        public init(mtiEncoding: Encoding, fields: [FieldSpec], tlvRules: TLVRules = .strict) {
            var table = [FieldSpec?](repeating: nil, count: 129)
            for field in fields {
                precondition(table[field.number] == nil, "ISO 8583 field \(field.number) defined twice")
                table[field.number] = field
            }
            self.mtiEncoding = mtiEncoding
            self.tlvRules = tlvRules
            self.table = table
        }

        /// The spec of field `number`, or `nil` when the dialect does not define it.
        public func field(_ number: Int) -> FieldSpec? {
            number >= 0 && number < table.count ? table[number] : nil
        }

        /// Every defined field, by number.
        public var fields: [FieldSpec] { table.compactMap { $0 } }
    }
}
