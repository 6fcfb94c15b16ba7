extension TLVNode {
    /// Parses exactly one object: the whole of `bytes` (padding around it aside, when the rules allow padding).
    ///
    /// Constructed objects are parsed recursively to ``TLVRules/maximumDepth``; the node's slices point into
    /// `bytes`.
    /// - Parameters:
    ///   - bytes: The encoding; it may be a slice of a larger buffer (indexing starts at its `startIndex`).
    ///   - rules: Leniencies and limits; ``TLVRules/emv`` by default.
    /// - Throws: ``EMVCodecError`` with ``EMVCodecError/Code/missingObject`` for an empty input,
    ///   ``EMVCodecError/Code/trailingBytes`` when anything follows the object, or the code of the malformation.
    public init(tlvEncoded bytes: ArraySlice<UInt8>, rules: TLVRules = .emv) throws {
        let reader = TLVReader(origin: bytes.startIndex, rules: rules)
        var rest = bytes
        reader.skipPadding(&rest)
        guard !rest.isEmpty else {
            throw EMVCodecError(.missingObject, offset: reader.offset(rest.startIndex), reason: "no TLV object")
        }
        self = try reader.readNode(&rest, depth: 1)
        reader.skipPadding(&rest)
        guard rest.isEmpty else {
            throw EMVCodecError(
                .trailingBytes, offset: reader.offset(rest.startIndex), reason: "bytes after the TLV object")
        }
    }

    /// Parses exactly one object from an array; see ``init(tlvEncoded:rules:)-(ArraySlice<UInt8>,_)``.
    public init(tlvEncoded bytes: [UInt8], rules: TLVRules = .emv) throws {
        try self.init(tlvEncoded: bytes[...], rules: rules)
    }

    /// Parses a sequence of zero or more objects that fills `bytes` (a response data field, a record, the value of a
    /// template).
    /// - Throws: ``EMVCodecError`` naming the malformation.
    public static func sequence(tlvEncoded bytes: ArraySlice<UInt8>, rules: TLVRules = .emv) throws -> [TLVNode] {
        try TLVReader(origin: bytes.startIndex, rules: rules).readSequence(bytes, depth: 1)
    }

    /// Parses a sequence of objects from an array; see ``sequence(tlvEncoded:rules:)-(ArraySlice<UInt8>,_)``.
    public static func sequence(tlvEncoded bytes: [UInt8], rules: TLVRules = .emv) throws -> [TLVNode] {
        try sequence(tlvEncoded: bytes[...], rules: rules)
    }

    /// Reads the next object from the front of `bytes`, skipping padding before it when the rules allow; returns
    /// `nil` when nothing but padding is left. On success `bytes` starts after the object.
    /// - Throws: ``EMVCodecError`` naming the malformation; `bytes` is then left unspecified.
    public static func readNext(from bytes: inout ArraySlice<UInt8>, rules: TLVRules = .emv) throws -> TLVNode? {
        let reader = TLVReader(origin: bytes.startIndex, rules: rules)
        reader.skipPadding(&bytes)
        if bytes.isEmpty { return nil }
        return try reader.readNode(&bytes, depth: 1)
    }

    /// For input that arrives in pieces: how many bytes from the front of `bytes` make up the first complete object
    /// (with any padding before it), or `nil` when more bytes are needed to tell.
    ///
    /// Only the outer tag and length are checked here; parse the framed bytes with ``init(tlvEncoded:rules:)`` to
    /// check the rest.
    /// - Throws: ``EMVCodecError`` when the tag or length is malformed, whatever follows.
    public static func frameLength(in bytes: ArraySlice<UInt8>, rules: TLVRules = .emv) throws -> Int? {
        let reader = TLVReader(origin: bytes.startIndex, rules: rules)
        var rest = bytes
        reader.skipPadding(&rest)
        if rest.isEmpty { return nil }
        let length: Int
        do {
            _ = try reader.readTag(&rest)
            length = try reader.readLength(&rest)
        } catch let error as EMVCodecError where error.code == .truncatedTag || error.code == .truncatedLength {
            return nil
        }
        guard rest.count >= length else { return nil }
        return rest.startIndex + length - bytes.startIndex
    }
}

/// The BER-TLV decoder: EMV Book 3 Annex B over ISO/IEC 8825-1 §8.1, with the limits of ``TLVRules``.
struct TLVReader {
    /// The `startIndex` of the caller's input: error offsets count from it.
    let origin: Int
    let rules: TLVRules

    /// The depth cap's own cap: a cap beyond this could overflow the stack on a hostile input.
    static let depthLimit = 64

    func offset(_ index: Int) -> Int { index - origin }

    /// Drops `00` / `FF` filler from the front when the rules allow padding (EMV Book 3 Annex B).
    func skipPadding(_ input: inout ArraySlice<UInt8>) {
        guard rules.allowsPadding else { return }
        while let first = input.first, first == 0x00 || first == 0xFF { input.removeFirst() }
    }

    /// Reads a tag field (EMV Book 3 Annex B1, tables B-1 and B-2).
    func readTag(_ input: inout ArraySlice<UInt8>) throws -> TLVTag {
        let whole = input
        let start = input.startIndex
        guard let first = input.popFirst() else {
            throw EMVCodecError(.truncatedTag, offset: offset(start), reason: "input ends where a tag starts")
        }
        // ISO/IEC 7816-4 §5.2.2.1: '00' and 'FF' are invalid first bytes of a tag; EMV uses them only as padding.
        guard first != 0x00, first != 0xFF else {
            throw EMVCodecError(
                .paddingNotAllowed, offset: offset(start), reason: "00/FF filler byte where the rules allow no padding")
        }
        if first & 0x1F == 0x1F {
            // Subsequent bytes follow while bit 8 is set (table B-2); we cap the tag at four bytes.
            var count = 1
            while true {
                guard let byte = input.popFirst() else {
                    throw EMVCodecError(.truncatedTag, offset: offset(start), reason: "input ends inside a tag")
                }
                count += 1
                if byte & 0x80 == 0 { break }
                guard count < TLVTag.maximumByteCount else {
                    throw EMVCodecError(.tagTooLong, offset: offset(start), reason: "tag longer than four bytes")
                }
            }
        }
        return TLVTag(validatedBytes: whole[start..<input.startIndex])
    }

    /// Reads a length field (ISO/IEC 8825-1 §8.1.3; EMV Book 3 Annex B2): short form `00`–`7F`, long form `81`–`84`
    /// with one to four subsequent bytes. The indefinite form `80` and longer length fields are refused.
    func readLength(_ input: inout ArraySlice<UInt8>) throws -> Int {
        let start = input.startIndex
        guard let first = input.popFirst() else {
            throw EMVCodecError(.truncatedLength, offset: offset(start), reason: "input ends where a length starts")
        }
        if first < 0x80 { return Int(first) }
        // §8.1.3.6: '80' is the indefinite form, for constructed encodings only; EMV never uses it.
        guard first != 0x80 else {
            throw EMVCodecError(.indefiniteLength, offset: offset(start), reason: "indefinite length form 80")
        }
        let count = Int(first & 0x7F)
        guard count <= 4 else {
            throw EMVCodecError(
                .lengthFieldTooLong, offset: offset(start), reason: "length field of more than four bytes")
        }
        guard input.count >= count else {
            throw EMVCodecError(.truncatedLength, offset: offset(start), reason: "input ends inside a length")
        }
        var value: UInt32 = 0
        for byte in input.prefix(count) { value = value << 8 | UInt32(byte) }
        input.removeFirst(count)
        if !rules.allowsNonMinimalLengths, count != TLVSerializer.lengthFieldCount(UInt32(value)) - 1 || value < 0x80 {
            // DER (X.690 §10.1): the length in the fewest bytes, short form below 128.
            throw EMVCodecError(.nonMinimalLength, offset: offset(start), reason: "length not in its shortest form")
        }
        // Int(exactly:): a four-byte length does not fit a 32-bit board's Int.
        guard let length = Int(exactly: value) else {
            throw EMVCodecError(.lengthTooLarge, offset: offset(start), reason: "length does not fit in Int")
        }
        return length
    }

    /// Reads one object at nesting `depth` (1 for the top level), recursing into constructed values.
    func readNode(_ input: inout ArraySlice<UInt8>, depth: Int) throws -> TLVNode {
        let start = input.startIndex
        guard depth <= min(rules.maximumDepth, TLVReader.depthLimit) else {
            throw EMVCodecError(.excessiveDepth, offset: offset(start), reason: "templates nested too deeply")
        }
        let whole = input
        let tag = try readTag(&input)
        let length = try readLength(&input)
        guard input.count >= length else {
            throw EMVCodecError(
                .truncatedValue, offset: offset(input.startIndex), reason: "value shorter than its length field")
        }
        let value = input.prefix(length)
        input.removeFirst(length)
        let children = tag.isConstructed ? try readSequence(value, depth: depth + 1) : []
        return TLVNode(tag: tag, encodedBytes: whole[start..<value.endIndex], value: value, children: children)
    }

    /// Reads the objects that fill `bytes`, at nesting `depth`.
    func readSequence(_ bytes: ArraySlice<UInt8>, depth: Int) throws -> [TLVNode] {
        var rest = bytes
        var nodes: [TLVNode] = []
        while true {
            skipPadding(&rest)
            if rest.isEmpty { return nodes }
            nodes.append(try readNode(&rest, depth: depth))
        }
    }
}
