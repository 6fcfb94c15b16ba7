/// A Data Object List (EMV Book 3 §5.4): the card's list of the data it wants in a command, as tag and length
/// pairs. The PDOL (`9F38`), CDOL1 (`8C`), CDOL2 (`8D`), DDOL (`9F49`) and TDOL (`97`) all have this form.
///
/// ``relatedData(formats:values:)`` builds the concatenated data for the command (the "PDOL related data" and so on)
/// by the rules of §5.4.
public struct DataObjectList: Sendable, Hashable {
    /// One entry: a tag and the length the card wants its value in.
    public struct Entry: Sendable, Hashable {
        /// The data element's tag.
        public let tag: TLVTag
        /// The number of bytes the data takes in the command.
        public let length: Int

        /// Creates an entry; `length` must be 0…127 (a one-byte short-form length).
        public init(tag: TLVTag, length: Int) {
            precondition((0...0x7F).contains(length), "DOL entry length \(length) is outside 0...127")
            self.tag = tag
            self.length = length
        }
    }

    /// The entries, in order.
    public let entries: [Entry]

    /// A list of `entries`.
    public init(entries: [Entry]) { self.entries = entries }

    /// Parses a DOL: the value of a `9F38`, `8C`, `8D`, `9F49` or `97` object.
    ///
    /// Each entry is a BER-TLV tag followed by a one-byte length (Book 3 §5.4); no padding is allowed. A length of
    /// `80` or more is refused: it would be a BER long form, and no data element EMV defines is that long in a
    /// command.
    /// - Throws: ``EMVCodecError``: ``EMVCodecError/Code/invalidTag``, ``EMVCodecError/Code/truncatedTag``,
    ///   ``EMVCodecError/Code/tagTooLong``, ``EMVCodecError/Code/truncatedLength`` or
    ///   ``EMVCodecError/Code/invalidDataObjectList``.
    public init(dolEncoded bytes: ArraySlice<UInt8>) throws {
        let reader = TLVReader(origin: bytes.startIndex, rules: .strict)
        var rest = bytes
        var entries: [Entry] = []
        while let first = rest.first {
            if first == 0x00 || first == 0xFF {
                throw EMVCodecError(
                    .invalidTag, offset: reader.offset(rest.startIndex), reason: "00/FF is not the start of a tag")
            }
            let tag = try reader.readTag(&rest)
            let lengthIndex = rest.startIndex
            guard let length = rest.popFirst() else {
                throw EMVCodecError(
                    .truncatedLength, offset: reader.offset(lengthIndex), reason: "DOL entry without a length")
            }
            guard length < 0x80 else {
                throw EMVCodecError(
                    .invalidDataObjectList, offset: reader.offset(lengthIndex),
                    reason: "DOL entry length of 128 or more")
            }
            entries.append(Entry(tag: tag, length: Int(length)))
        }
        self.entries = entries
    }

    /// Parses a DOL from an array; see ``init(dolEncoded:)-(ArraySlice<UInt8>)``.
    public init(dolEncoded bytes: [UInt8]) throws { try self.init(dolEncoded: bytes[...]) }

    /// The DOL's encoding: each tag followed by its one-byte length.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            out.append(contentsOf: entry.tag.bytes)
            out.append(UInt8(entry.length))
        }
        return out
    }

    /// The length of the related data: the sum of the entries' lengths.
    public var relatedDataLength: Int { entries.reduce(0) { $0 + $1.length } }

    /// Builds the related data for the command: each entry's value fitted to the entry's length, concatenated
    /// (EMV Book 3 §5.4).
    ///
    /// - A tag that is constructed, unknown (no format), or has no value gets `length` bytes of `00`.
    /// - A value of another length is fitted by ``fit(_:toLength:format:)``.
    /// - Parameters:
    ///   - formats: The format of each tag; the ``EMVDataDictionary``'s by default.
    ///   - values: The value the terminal has for a tag (its own data, or the card's), or `nil`.
    /// - Returns: ``relatedDataLength`` bytes.
    public func relatedData(
        formats: (TLVTag) -> EMVDataFormat? = { EMVDataDictionary.element(for: $0)?.format },
        values: (TLVTag) -> [UInt8]?
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(relatedDataLength)
        for entry in entries {
            // §5.4: "If the tag of any data object identified in the DOL is unknown to the terminal or represents a
            // constructed data object, the terminal shall provide a data element with the length specified and a
            // value of all hexadecimal zeroes"; the same for data the terminal does not have.
            guard !entry.tag.isConstructed, let format = formats(entry.tag), format != .template,
                let value = values(entry.tag)
            else {
                out.append(contentsOf: repeatElement(0, count: entry.length))
                continue
            }
            out.append(contentsOf: DataObjectList.fit(value, toLength: entry.length, format: format))
        }
        return out
    }

    /// Fits `value` to `length` bytes by the rules of EMV Book 3 §5.4:
    /// - shorter than `length`: format `n` is padded with leading `00`; format `cn` with trailing `FF`; every other
    ///   format (`a`, `an`, `ans`, `b`) with trailing `00`;
    /// - longer than `length`: format `n` loses its leftmost bytes; every other format, `cn` included, its rightmost.
    public static func fit(_ value: some Collection<UInt8>, toLength length: Int, format: EMVDataFormat) -> [UInt8] {
        let bytes = Array(value)
        if bytes.count == length { return bytes }
        if bytes.count > length {
            return format == .n ? Array(bytes.suffix(length)) : Array(bytes.prefix(length))
        }
        let pad = length - bytes.count
        switch format {
        case .n: return Array(repeating: 0x00, count: pad) + bytes
        case .cn: return bytes + Array(repeating: 0xFF, count: pad)
        case .a, .an, .ans, .b, .template: return bytes + Array(repeating: 0x00, count: pad)
        }
    }
}
