extension ISO8583 {
    /// A PAN for listings: its first six and last four digits with `*` between (PCI DSS 3.4.1); a value of ten
    /// digits or fewer becomes its digit count only.
    public static func maskedPAN(_ pan: String) -> String {
        let digits = Array(pan)
        guard digits.count > 10 else { return "[\(digits.count) digits]" }
        return String(digits.prefix(6)) + String(repeating: "*", count: digits.count - 10) + String(digits.suffix(4))
    }

    /// The value of one data element.
    public enum FieldValue: Sendable, Hashable {
        /// Numeric, alphanumeric or track 2 content, as characters (track 2 with `=` as the separator).
        case text(String)
        /// Binary content (a PIN block, a MAC, a KSN).
        case binary([UInt8])
        /// A BER-TLV sequence (ICC data, field 55).
        case tlv([TLVNode])

        /// The text, when this is a text value.
        public var text: String? {
            if case .text(let text) = self { return text }
            return nil
        }

        /// The bytes of a binary value, or the serialized sequence of a TLV value.
        public var bytes: [UInt8]? {
            switch self {
            case .text: nil
            case .binary(let bytes): bytes
            case .tlv(let nodes): TLVNode.serialize(nodes)
            }
        }

        /// The nodes, when this is a TLV value.
        public var tlvNodes: [TLVNode]? {
            if case .tlv(let nodes) = self { return nodes }
            return nil
        }
    }

    /// One ISO 8583 message: a message type indicator and the data elements 2…128 that are present.
    ///
    /// The bitmap is not stored: ``pack(_:spec:)`` writes it from the fields present. The description masks a PAN to
    /// its first six and last four digits and omits track data, PIN blocks, expiry dates and ICC data values.
    public struct Message: Sendable, Hashable, CustomStringConvertible {
        /// The message type indicator, four digits ("0200").
        public var mti: String
        /// Field values by number (index 0 and 1 unused).
        private var values: [FieldValue?]

        /// A message with no fields.
        public init(mti: String) {
            self.mti = mti
            self.values = [FieldValue?](repeating: nil, count: 129)
        }

        /// A message with `fields`.
        public init(mti: String, fields: [Int: FieldValue]) {
            self.init(mti: mti)
            for (number, value) in fields { self[number] = value }
        }

        /// The value of field `number` (2…128); setting `nil` removes it. Traps on a number outside 2…128.
        public subscript(number: Int) -> FieldValue? {
            get { number >= 2 && number <= 128 ? values[number] : nil }
            set {
                precondition(number >= 2 && number <= 128, "ISO 8583 field number \(number) outside 2…128")
                values[number] = newValue
            }
        }

        /// The text of field `number`, when present and text.
        public func text(_ number: Int) -> String? { self[number]?.text }

        /// The bytes of field `number`, when present and binary or TLV.
        public func bytes(_ number: Int) -> [UInt8]? { self[number]?.bytes }

        /// The numbers of the fields present, ascending.
        public var fieldNumbers: [Int] { (2...128).filter { values[$0] != nil } }

        /// The MTI and each field, one a line, with sensitive fields (ISO 8583:1987 fields 2, 14, 34, 35, 36, 45, 52
        /// and 55) masked or reduced to their length and tags.
        public var description: String {
            var lines = ["MTI \(mti)"]
            for number in fieldNumbers {
                guard let value = values[number] else { continue }
                lines.append(String(number) + " " + Self.masked(number, value))
            }
            return lines.joined(separator: "\n")
        }

        /// A listing-safe rendering of one value.
        static func masked(_ number: Int, _ value: FieldValue) -> String {
            switch (number, value) {
            case (2, .text(let pan)), (34, .text(let pan)):
                return ISO8583.maskedPAN(pan)
            case (14, _), (35, _), (36, _), (45, _), (52, _):
                return "[redacted]"
            case (_, .tlv(let nodes)):
                return "TLV " + nodes.map { "\($0.tag)" }.joined(separator: " ")
            case (55, _):
                return "[redacted]"
            case (_, .text(let text)):
                return text
            case (_, .binary(let bytes)):
                return Hex.encode(bytes)
            }
        }
    }
}
