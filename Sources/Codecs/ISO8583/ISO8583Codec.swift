extension ISO8583 {
    /// Encodes `message` as `spec` says: MTI, primary bitmap, secondary bitmap when a field above 64 is present,
    /// then each field in ascending order (ISO 8583:1987 §4.1).
    ///
    /// - Parameters:
    ///   - message: The MTI and field values.
    ///   - spec: The dialect.
    /// - Returns: The message bytes, without any transport framing.
    /// - Throws: ``ISO8583Error`` with ``ISO8583Error/Code/unknownField`` for a field the spec lacks,
    ///   ``ISO8583Error/Code/valueKindMismatch``, ``ISO8583Error/Code/invalidCharacter``,
    ///   ``ISO8583Error/Code/lengthMismatch`` (fixed field), ``ISO8583Error/Code/fieldTooLong`` (variable field), or
    ///   ``ISO8583Error/Code/invalidMessageTypeIndicator``.
    public static func pack(_ message: Message, spec: Spec) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try writeMTI(message.mti, encoding: spec.mtiEncoding, into: &out)
        let numbers = message.fieldNumbers
        var bitmap = [UInt8](repeating: 0, count: numbers.contains { $0 > 64 } ? 16 : 8)
        if bitmap.count == 16 { bitmap[0] |= 0x80 }
        for number in numbers {
            guard spec.field(number) != nil else {
                throw ISO8583Error(.unknownField, field: number, reason: "the spec defines no field \(number)")
            }
            bitmap[(number - 1) / 8] |= 0x80 >> UInt8((number - 1) % 8)
        }
        out += bitmap
        for number in numbers {
            // Both looked up above; a nil here cannot happen.
            guard let field = spec.field(number), let value = message[number] else { continue }
            try writeField(value, field, tlvRules: spec.tlvRules, into: &out)
        }
        return out
    }

    /// Decodes one message that fills `bytes` exactly.
    ///
    /// - Parameters:
    ///   - bytes: The message without transport framing; indexing starts at its `startIndex`.
    ///   - spec: The dialect.
    /// - Returns: The message. BER-TLV fields hold nodes whose slices point into `bytes`.
    /// - Throws: ``ISO8583Error``: ``ISO8583Error/Code/truncated`` when a length runs past the end,
    ///   ``ISO8583Error/Code/unknownField`` for a bitmap bit the spec lacks, ``ISO8583Error/Code/invalidBCDDigit``,
    ///   ``ISO8583Error/Code/invalidPadding``, ``ISO8583Error/Code/invalidLengthPrefix``,
    ///   ``ISO8583Error/Code/fieldTooLong``, ``ISO8583Error/Code/invalidCharacter``,
    ///   ``ISO8583Error/Code/invalidTLV``, ``ISO8583Error/Code/emptySecondaryBitmap`` or
    ///   ``ISO8583Error/Code/trailingBytes``.
    public static func unpack(_ bytes: ArraySlice<UInt8>, spec: Spec) throws -> Message {
        var reader = Reader(rest: bytes, origin: bytes.startIndex)
        let mti = try reader.readMTI(spec.mtiEncoding)
        var message = Message(mti: mti)
        var bitmap = try reader.take(8, field: nil, what: "primary bitmap")
        if let first = bitmap.first, first & 0x80 != 0 {
            let secondary = try reader.take(8, field: 1, what: "secondary bitmap")
            guard secondary.contains(where: { $0 != 0 }) else {
                throw ISO8583Error(
                    .emptySecondaryBitmap, field: 1, offset: reader.offset - 8, reason: "bit 1 set, no field above 64")
            }
            bitmap += secondary
        }
        for number in 2...(bitmap.count * 8)
        where bitmap[bitmap.startIndex + (number - 1) / 8] & (0x80 >> UInt8((number - 1) % 8)) != 0 {
            guard let field = spec.field(number) else {
                throw ISO8583Error(
                    .unknownField, field: number, offset: reader.origin,
                    reason: "the bitmap names field \(number), which the spec does not define")
            }
            message[number] = try reader.readField(field, tlvRules: spec.tlvRules)
        }
        guard reader.rest.isEmpty else {
            throw ISO8583Error(
                .trailingBytes, offset: reader.offset, reason: "\(reader.rest.count) bytes after the last field")
        }
        return message
    }

    /// Decodes one message from an array; see ``unpack(_:spec:)-(ArraySlice<UInt8>,_)``.
    public static func unpack(_ bytes: [UInt8], spec: Spec) throws -> Message {
        try unpack(bytes[...], spec: spec)
    }

    // MARK: Writing

    static func writeMTI(_ mti: String, encoding: Encoding, into out: inout [UInt8]) throws {
        let digits = Array(mti.utf8)
        guard digits.count == 4, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw ISO8583Error(.invalidMessageTypeIndicator, reason: "an MTI is four decimal digits")
        }
        switch encoding {
        case .ascii: out += digits
        case .bcd:
            out.append((digits[0] - 0x30) << 4 | (digits[1] - 0x30))
            out.append((digits[2] - 0x30) << 4 | (digits[3] - 0x30))
        }
    }

    static func writeField(_ value: FieldValue, _ field: FieldSpec, tlvRules: TLVRules, into out: inout [UInt8]) throws
    {
        let number = field.number
        // The content bytes before encoding: characters for text, bytes for binary and TLV.
        let content: [UInt8]
        switch (field.content, value) {
        case (.binary, .binary(let bytes)), (.berTLV, .binary(let bytes)):
            if field.content == .berTLV {
                do { _ = try TLVNode.sequence(tlvEncoded: bytes, rules: tlvRules) } catch {
                    throw ISO8583Error(.invalidTLV, field: number, reason: "the value is not a BER-TLV sequence")
                }
            }
            content = bytes
        case (.berTLV, .tlv(let nodes)):
            content = TLVNode.serialize(nodes)
        case (.numeric, .text(let text)), (.alphanumeric, .text(let text)),
            (.alphanumericSpecial, .text(let text)), (.track2, .text(let text)):
            content = Array(text.utf8)
            try checkCharacters(content, field)
        default:
            throw ISO8583Error(
                .valueKindMismatch, field: number, reason: "a \(value.kindName) value for a \(field.content) field")
        }
        let length = content.count
        switch field.lengthKind {
        case .fixed:
            guard length == field.maxLength else {
                throw ISO8583Error(
                    .lengthMismatch, field: number, reason: "\(length) long; the field is fixed at \(field.maxLength)")
            }
        case .llvar, .lllvar:
            guard length <= field.maxLength else {
                throw ISO8583Error(
                    .fieldTooLong, field: number, reason: "\(length) long; the maximum is \(field.maxLength)")
            }
            writeLength(length, field, into: &out)
        }
        if field.isBCD {
            writeBCD(content, padding: field.padding, into: &out)
        } else {
            out += content
        }
    }

    static func checkCharacters(_ characters: [UInt8], _ field: FieldSpec) throws {
        let allowed: (UInt8) -> Bool
        switch field.content {
        case .numeric: allowed = { $0 >= 0x30 && $0 <= 0x39 }
        case .track2: allowed = { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "=") }
        case .alphanumeric:
            allowed = { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x20
            }
        case .alphanumericSpecial: allowed = { $0 >= 0x20 && $0 <= 0x7E }
        case .binary, .berTLV: allowed = { _ in true }
        }
        if let at = characters.firstIndex(where: { !allowed($0) }) {
            throw ISO8583Error(
                .invalidCharacter, field: field.number,
                reason: "character \(at + 1) is not allowed in a \(field.content) field")
        }
    }

    static func writeLength(_ length: Int, _ field: FieldSpec, into out: inout [UInt8]) {
        let digitCount = field.lengthKind == .llvar ? 2 : 3
        switch field.lengthEncoding {
        case .ascii:
            var digits: [UInt8] = []
            var rest = length
            for _ in 0..<digitCount {
                digits.append(UInt8(rest % 10) + 0x30)
                rest /= 10
            }
            out += digits.reversed()
        case .bcd:
            if digitCount == 3 { out.append(UInt8(length / 100)) }
            out.append(UInt8(length / 10 % 10) << 4 | UInt8(length % 10))
        }
    }

    /// Packs digit characters (and `=` for track 2, as nibble D) two a byte, padding an odd count.
    static func writeBCD(_ characters: [UInt8], padding: Padding, into out: inout [UInt8]) {
        func nibble(_ c: UInt8) -> UInt8 { c == UInt8(ascii: "=") ? 0x0D : c &- 0x30 }
        var index = 0
        if characters.count % 2 == 1, case .left(let pad) = padding {
            out.append(pad << 4 | nibble(characters[0]))
            index = 1
        }
        while index + 1 < characters.count {
            out.append(nibble(characters[index]) << 4 | nibble(characters[index + 1]))
            index += 2
        }
        if index < characters.count {
            out.append(nibble(characters[index]) << 4 | padding.nibble)
        }
    }

    // MARK: Reading

    /// Consumes a message from the front of ``rest``.
    struct Reader {
        var rest: ArraySlice<UInt8>
        let origin: Int

        var offset: Int { rest.startIndex - origin }

        mutating func take(_ count: Int, field: Int?, what: StaticString) throws -> ArraySlice<UInt8> {
            guard rest.count >= count else {
                throw ISO8583Error(
                    .truncated, field: field, offset: offset,
                    reason: "\(what): \(count) bytes needed, \(rest.count) left")
            }
            let taken = rest.prefix(count)
            rest = rest.dropFirst(count)
            return taken
        }

        mutating func readMTI(_ encoding: Encoding) throws -> String {
            let raw = try take(encoding == .bcd ? 2 : 4, field: nil, what: "MTI")
            var digits: [UInt8] = []
            if encoding == .bcd {
                for byte in raw { digits += [byte >> 4, byte & 0x0F] }
                guard digits.allSatisfy({ $0 <= 9 }) else {
                    throw ISO8583Error(.invalidMessageTypeIndicator, offset: 0, reason: "the MTI is not BCD")
                }
                digits = digits.map { $0 + 0x30 }
            } else {
                digits = Array(raw)
                guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    throw ISO8583Error(.invalidMessageTypeIndicator, offset: 0, reason: "the MTI is not four digits")
                }
            }
            return String(decoding: digits, as: UTF8.self)
        }

        mutating func readLength(_ field: FieldSpec) throws -> Int {
            let start = offset
            let length: Int
            switch (field.lengthEncoding, field.lengthKind) {
            case (_, .fixed):
                return field.maxLength
            case (.ascii, _):
                let raw = try take(field.lengthKind == .llvar ? 2 : 3, field: field.number, what: "length prefix")
                var value = 0
                for c in raw {
                    guard c >= 0x30 && c <= 0x39 else {
                        throw ISO8583Error(
                            .invalidLengthPrefix, field: field.number, offset: start,
                            reason: "an ASCII length prefix holds a non-digit")
                    }
                    value = value * 10 + Int(c - 0x30)
                }
                length = value
            case (.bcd, _):
                let raw = try take(field.lengthKind == .llvar ? 1 : 2, field: field.number, what: "length prefix")
                var value = 0
                for byte in raw {
                    guard byte >> 4 <= 9, byte & 0x0F <= 9 else {
                        throw ISO8583Error(
                            .invalidBCDDigit, field: field.number, offset: start,
                            reason: "a BCD length prefix holds a nibble above 9")
                    }
                    value = value * 100 + Int(byte >> 4) * 10 + Int(byte & 0x0F)
                }
                length = value
            }
            guard length <= field.maxLength else {
                throw ISO8583Error(
                    .fieldTooLong, field: field.number, offset: start,
                    reason: "length \(length) over the maximum \(field.maxLength)")
            }
            return length
        }

        mutating func readField(_ field: FieldSpec, tlvRules: TLVRules) throws -> FieldValue {
            let length = try readLength(field)
            let start = offset
            if field.isBCD {
                let raw = try take((length + 1) / 2, field: field.number, what: "BCD data")
                return .text(try Self.decodeBCD(raw, count: length, field: field, offset: start))
            }
            let raw = try take(length, field: field.number, what: "data")
            switch field.content {
            case .binary:
                return .binary(Array(raw))
            case .berTLV:
                do {
                    return .tlv(try TLVNode.sequence(tlvEncoded: raw, rules: tlvRules))
                } catch {
                    throw ISO8583Error(
                        .invalidTLV, field: field.number, offset: start, reason: "the value is not a BER-TLV sequence")
                }
            case .numeric, .alphanumeric, .alphanumericSpecial, .track2:
                let characters = Array(raw)
                do { try checkCharacters(characters, field) } catch let error as ISO8583Error {
                    throw ISO8583Error(error.code, field: field.number, offset: start, reason: error.reason)
                }
                return .text(String(decoding: characters, as: UTF8.self))
            }
        }

        static func decodeBCD(_ raw: ArraySlice<UInt8>, count: Int, field: FieldSpec, offset: Int) throws -> String {
            var nibbles: [UInt8] = []
            nibbles.reserveCapacity(raw.count * 2)
            for byte in raw { nibbles += [byte >> 4, byte & 0x0F] }
            var digits = nibbles[...]
            if nibbles.count > count {
                // One pad nibble, on the side the spec says, with the spec's value.
                let pad: UInt8?
                switch field.padding {
                case .left: pad = digits.popFirst()
                case .right: pad = digits.popLast()
                }
                guard pad == field.padding.nibble else {
                    throw ISO8583Error(
                        .invalidPadding, field: field.number, offset: offset, reason: "the pad nibble is not the spec's"
                    )
                }
            }
            var characters: [UInt8] = []
            characters.reserveCapacity(count)
            for nibble in digits {
                if nibble <= 9 {
                    characters.append(nibble + 0x30)
                } else if nibble == 0x0D && field.content == .track2 {
                    characters.append(UInt8(ascii: "="))
                } else {
                    throw ISO8583Error(
                        .invalidBCDDigit, field: field.number, offset: offset, reason: "a nibble above 9 in BCD data")
                }
            }
            return String(decoding: characters, as: UTF8.self)
        }
    }
}

extension ISO8583.FieldValue {
    /// "text", "binary" or "TLV", for errors.
    var kindName: String {
        switch self {
        case .text: "text"
        case .binary: "binary"
        case .tlv: "TLV"
        }
    }
}
