import Codecs
import Testing

/// The code of the ``EMVCodecError`` `body` throws, or `nil` when it throws nothing (records an issue for any other
/// error).
func codecErrorCode(_ body: () throws -> Void) -> EMVCodecError.Code? {
    do {
        try body()
        return nil
    } catch let error as EMVCodecError {
        return error.code
    } catch {
        Issue.record("expected an EMVCodecError, got \(error)")
        return nil
    }
}

/// Hex to bytes for test vectors (traps on a typo in the test).
func bytes(_ hex: String) -> [UInt8] {
    guard let decoded = Hex.decode(hex) else { preconditionFailure("bad hex in a test vector: \(hex)") }
    return decoded
}

/// Published vectors.
enum Vectors {
    /// A READ RECORD response (SFI 1, record 2) of a Visa test card, from openemv/emv-utils
    /// tests/emv_read_application_data_test.c ("test5"/"test8" record): 70 { 57 track 2, 5F20 "EXPIRED/CARD",
    /// 9F1F track 1 discretionary data }.
    static let visaRecord = bytes(
        "7033 5711 4761739001010119D22122011758928889 5F200C 455850495245442F43415244"
            + " 9F1F0E 3137353839303936303030303030")
    /// The same record with two FF bytes after the template (openemv's "additional data after record template").
    static let visaRecordPadded = visaRecord + [0xFF, 0xFF]
    /// The same record with 9F1F's length one too large (openemv's "malformed EMV data").
    static let visaRecordMalformed = bytes(
        "7033 5711 4761739001010119D22122011758928889 5F200C 455850495245442F43415244"
            + " 9F1F0F 3137353839303936303030303030")
    /// A record with the PAN, PAN sequence number and expiry date (openemv, SFI 2 record 1).
    static let panRecord = bytes("7014 5A08 4761739001010119 5F340101 5F2403221231")
    /// A record with CA public key index, an empty issuer public key remainder, exponents and a DDOL (openemv).
    static let keyRecord = bytes("7013 8F0194 9200 9F320103 9F470103 9F49039F3704")
    /// GET PROCESSING OPTIONS responses, from openemv/emv-utils tests/emv_initiate_application_processing_test.c:
    /// format 1 (tag 80: AIP 7800, AFL 08020200 10010400 18010201) and format 2 (tag 77: AIP 3900, AFL).
    static let gpoFormat1 = bytes("800E 7800 080202001001040018010201")
    static let gpoFormat2 = bytes("770E 82023900 9408 1801020120020400")
    /// The PSE FCI of the EMV Contact Interface Specification Annex A4 example (as in openemv's
    /// tests/emv_ttl_pcsc_test.c): 6F { 84 "1PAY.SYS.DDF01", A5 { 88 SFI 1, 5F2D "enesfrde", 9F11 01 } }.
    static let pseFCI = bytes("6F24 840E315041592E5359532E4444463031 A512 880101 5F2D08656E657366726465 9F110101")
}

@Suite struct TLVTagTests {
    @Test func encodings() {
        #expect(TLVTag(0x5A).bytes == [0x5A])
        #expect(TLVTag(0x9F02).bytes == [0x9F, 0x02])
        #expect(TLVTag(0xBF0C).byteCount == 2)
        #expect(TLVTag(0xDF8101).bytes == [0xDF, 0x81, 0x01])
        #expect(TLVTag(0x9F81_8101).byteCount == 4)
        #expect(TLVTag(rawValue: 0x9F) == nil, "1F in the first byte needs a subsequent byte")
        #expect(TLVTag(rawValue: 0x5A01) == nil, "a short-form first byte cannot have subsequent bytes")
        #expect(TLVTag(rawValue: 0x9F81) == nil, "the last byte must have bit 8 clear")
        #expect(TLVTag(rawValue: 0x00) == nil)
        #expect(TLVTag(rawValue: 0xFF01) == nil, "FF is not a first tag byte (ISO/IEC 7816-4 §5.2.2.1)")
        #expect(TLVTag(bytes: [0x9F, 0x81, 0x81, 0x81]) == nil, "five bytes would be needed")
        #expect(TLVTag(bytes: [0x9F, 0x36]) == TLVTag.applicationTransactionCounter)
        #expect(TLVTag(bytes: []) == nil)
        #expect("\(TLVTag.applicationPrimaryAccountNumber)" == "5A")
        #expect("\(TLVTag(0xDF8101))" == "DF8101")
    }

    @Test func classAndConstruction() {
        #expect(TLVTag.readRecordResponseMessageTemplate.isConstructed)
        #expect(TLVTag.readRecordResponseMessageTemplate.tagClass == .application)
        #expect(!TLVTag.amountAuthorisedNumeric.isConstructed)
        #expect(TLVTag.amountAuthorisedNumeric.tagClass == .contextSpecific)
        #expect(TLVTag.fileControlInformationIssuerDiscretionaryData.isConstructed)
        #expect(TLVTag(0xDF01).tagClass == .private)
        #expect(TLVTag.responseMessageTemplateFormat1.isConstructed == false)
        #expect(TLVTag(0x5A) < TLVTag(0x5F20) && TLVTag(0x5F20) < TLVTag(0x9F02))
    }
}

@Suite struct TLVTests {
    /// Canonical encodings (minimal lengths, no padding): strict parsing accepts them and serializing gives them back.
    static let canonical: [[UInt8]] = [
        Vectors.visaRecord, Vectors.panRecord, Vectors.keyRecord, Vectors.gpoFormat1, Vectors.gpoFormat2,
        Vectors.pseFCI,
        bytes("5A00"),  // empty value
        bytes("7000"),  // empty template
        bytes("DF810103AABBCC"),  // proprietary three-byte tag
        bytes("9F81810102ABCD"),  // four-byte tag
        bytes("9F1081") + [0x80] + Array(repeating: 0x11, count: 128),  // 81 xx long form
        bytes("86820100") + Array(repeating: 0x22, count: 256),  // 82 xx xx long form
        bytes("E108 C10101 C2030000FF"),  // private constructed and primitive tags
    ]

    @Test(arguments: canonical)
    func roundTripStrict(_ encoding: [UInt8]) throws {
        let node = try TLVNode(tlvEncoded: encoding, rules: .strict)
        #expect(Array(node.encodedBytes) == encoding)
        #expect(TLVNode.serialize([node]) == encoding)
        #expect(try TLVNode(tlvEncoded: encoding, rules: .emv) == node)
    }

    @Test(arguments: canonical)
    func everyStrictPrefixFails(_ encoding: [UInt8]) throws {
        for count in 0..<encoding.count {
            let prefix = Array(encoding.prefix(count))
            for rules in [TLVRules.strict, .emv] {
                let code = codecErrorCode { _ = try TLVNode(tlvEncoded: prefix, rules: rules) }
                #expect(code != nil, "prefix of \(count) bytes parsed")
                #expect(try TLVNode.frameLength(in: prefix[...], rules: rules) == nil)
            }
        }
    }

    @Test(arguments: canonical)
    func trailingGarbageFails(_ encoding: [UInt8]) {
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: encoding + [0x01], rules: .emv) } == .trailingBytes)
        #expect(
            codecErrorCode { _ = try TLVNode(tlvEncoded: encoding + bytes("5A0111"), rules: .strict) } == .trailingBytes
        )
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: encoding + [0x00], rules: .strict) } == .trailingBytes)
        // As a sequence, a trailing object is fine and a lone byte is not.
        #expect((try? TLVNode.sequence(tlvEncoded: encoding + bytes("5A0111")))?.count == 2)
        #expect(codecErrorCode { _ = try TLVNode.sequence(tlvEncoded: encoding + [0x01]) } == .truncatedLength)
    }

    @Test(arguments: canonical)
    func splitAndByteByByteInput(_ encoding: [UInt8]) throws {
        // Inside a larger buffer: the slice's indices do not start at 0.
        let buffer = [0xAB, 0xCD, 0xEF] + encoding + [0x01, 0x02]
        let slice = buffer[3..<(3 + encoding.count)]
        let fromSlice = try TLVNode(tlvEncoded: slice, rules: .strict)
        #expect(fromSlice == (try TLVNode(tlvEncoded: encoding, rules: .strict)))
        #expect(fromSlice.encodedBytes.startIndex == 3)
        // Byte by byte: the framer needs more until the last byte, then frames exactly the object.
        var stream: [UInt8] = []
        for (index, byte) in encoding.enumerated() {
            stream.append(byte)
            let framed = try TLVNode.frameLength(in: stream[...], rules: .strict)
            #expect(framed == (index == encoding.count - 1 ? encoding.count : nil))
        }
        // Coalesced with the next object: the framer frames the first only.
        #expect(try TLVNode.frameLength(in: (encoding + bytes("5A0111"))[...]) == encoding.count)
        // readNext walks a stream of objects.
        var rest = (encoding + bytes("00FF5A0111FF"))[...]
        #expect(try TLVNode.readNext(from: &rest) == fromSlice)
        #expect(try TLVNode.readNext(from: &rest)?.tag == .applicationPrimaryAccountNumber)
        #expect(try TLVNode.readNext(from: &rest) == nil)
    }

    @Test func publishedReadRecordResponse() throws {
        let record = try TLVNode(tlvEncoded: Vectors.visaRecord)
        #expect(record.tag == .readRecordResponseMessageTemplate)
        #expect(record.children.map(\.tag) == [.track2EquivalentData, .cardholderName, .track1DiscretionaryData])
        #expect(String(decoding: record.child(.cardholderName)!.value, as: UTF8.self) == "EXPIRED/CARD")
        #expect(Array(record.child(.track2EquivalentData)!.value.prefix(8)) == bytes("4761739001010119"))
        // The value slice is the exact bytes after the header: what SDA/DDA hash (EMV Book 2 §5.4).
        #expect(Array(record.value) == Array(Vectors.visaRecord.dropFirst(2)))
        #expect(record.value.startIndex == 2)

        let keys = try TLVNode(tlvEncoded: Vectors.keyRecord)
        #expect(keys.child(.issuerPublicKeyRemainder)?.value.isEmpty == true)
        #expect(
            try DataObjectList(dolEncoded: Array(keys.child(.dynamicDataAuthenticationDataObjectList)!.value)).entries
                == [DataObjectList.Entry(tag: .unpredictableNumber, length: 4)])
    }

    @Test func publishedGPOResponses() throws {
        let format1 = try TLVNode(tlvEncoded: Vectors.gpoFormat1)
        #expect(format1.tag == .responseMessageTemplateFormat1 && format1.children.isEmpty)
        #expect(Array(format1.value.prefix(2)) == [0x78, 0x00], "AIP")
        #expect(Array(format1.value.dropFirst(2)) == bytes("080202001001040018010201"), "AFL")
        let format2 = try TLVNode(tlvEncoded: Vectors.gpoFormat2)
        #expect(Array(format2.child(.applicationInterchangeProfile)!.value) == [0x39, 0x00])
        #expect(Array(format2.child(.applicationFileLocator)!.value) == bytes("1801020120020400"))
        let fci = try TLVNode(tlvEncoded: Vectors.pseFCI)
        #expect(String(decoding: fci.firstDescendant(.dedicatedFileName)!.value, as: UTF8.self) == "1PAY.SYS.DDF01")
        #expect(String(decoding: fci.firstDescendant(.languagePreference)!.value, as: UTF8.self) == "enesfrde")
    }

    @Test func paddingLeniency() throws {
        // openemv's record with FF FF after the template: padding under EMV rules, an error under strict ones.
        let padded = try TLVNode(tlvEncoded: Vectors.visaRecordPadded, rules: .emv)
        #expect(Array(padded.encodedBytes) == Vectors.visaRecord)
        #expect(
            codecErrorCode { _ = try TLVNode(tlvEncoded: Vectors.visaRecordPadded, rules: .strict) } == .trailingBytes)
        #expect(
            codecErrorCode { _ = try TLVNode.sequence(tlvEncoded: Vectors.visaRecordPadded, rules: .strict) }
                == .paddingNotAllowed)

        let mixed = bytes("00 5A0111 FFFF 70 07 00 9F3602 0001 FF 00")
        let nodes = try TLVNode.sequence(tlvEncoded: mixed, rules: .emv)
        #expect(nodes.map(\.tag) == [.applicationPrimaryAccountNumber, .readRecordResponseMessageTemplate])
        #expect(nodes[1].children.map(\.tag) == [.applicationTransactionCounter])
        #expect(TLVNode.serialize(nodes) == bytes("5A0111 7005 9F36020001"))
        let error = #expect(throws: EMVCodecError.self) { try TLVNode.sequence(tlvEncoded: mixed, rules: .strict) }
        #expect(error?.code == .paddingNotAllowed && error?.offset == 0)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("FFFF")) } == .missingObject)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: []) } == .missingObject)
        #expect(try TLVNode.sequence(tlvEncoded: bytes("00FF00")).isEmpty)
    }

    @Test func lengthForms() throws {
        // Non-minimal long forms: BER accepts them and keeps the original bytes; strict refuses.
        let long = bytes("5A81051122334455")
        let node = try TLVNode(tlvEncoded: long, rules: .emv)
        #expect(Array(node.encodedBytes) == long)
        #expect(TLVNode.serialize([node]) == bytes("5A051122334455"))
        #expect(node == (try TLVNode(tlvEncoded: bytes("5A051122334455"))))
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: long, rules: .strict) } == .nonMinimalLength)
        #expect(
            codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("5A82000111"), rules: .strict) } == .nonMinimalLength)
        #expect(try TLVNode(tlvEncoded: bytes("5A82000111")).value.count == 1)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("70800000")) } == .indefiniteLength)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("5A850000000001AA")) } == .lengthFieldTooLong)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("5A8201")) } == .truncatedLength)
        // A four-byte length: more than the input (64-bit), or more than Int holds (32-bit boards).
        let huge = codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("5A84FFFFFFFF00")) }
        #expect(huge == .truncatedValue || huge == .lengthTooLarge)
        let truncated = #expect(throws: EMVCodecError.self) { try TLVNode(tlvEncoded: bytes("70045A031122")) }
        #expect(truncated?.code == .truncatedValue)
        #expect(truncated?.offset == 4, "the value of 5A starts at offset 4")
    }

    @Test func tagLimits() {
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("9F8181810100")) } == .tagTooLong)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("9F")) } == .truncatedTag)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: bytes("9F81")) } == .truncatedTag)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: Vectors.visaRecordMalformed) } == .truncatedValue)
    }

    @Test func depthLimit() throws {
        func nested(_ depth: Int) -> [UInt8] {
            var node = TLVNode(tag: .applicationTransactionCounter, value: [0x00, 0x01])
            for _ in 1..<depth { node = TLVNode(tag: TLVTag(0xE1), children: [node]) }
            return Array(node.encodedBytes)
        }
        #expect(try TLVNode(tlvEncoded: nested(10)).firstDescendant(.applicationTransactionCounter) != nil)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: nested(11)) } == .excessiveDepth)
        let shallow = TLVRules(allowsPadding: true, allowsNonMinimalLengths: true, maximumDepth: 3)
        #expect(try TLVNode(tlvEncoded: nested(3), rules: shallow).children.count == 1)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: nested(4), rules: shallow) } == .excessiveDepth)
        // A cap above 64 is held at 64, so a hostile nesting cannot exhaust the stack.
        let deep = TLVRules(allowsPadding: false, allowsNonMinimalLengths: false, maximumDepth: 1000)
        #expect(codecErrorCode { _ = try TLVNode(tlvEncoded: nested(65), rules: deep) } == .excessiveDepth)
        #expect(try TLVNode(tlvEncoded: nested(64), rules: deep).tag == TLVTag(0xE1))
    }

    @Test func unknownAndProprietaryTagsRoundTripUnchanged() throws {
        let encoding = bytes("7013 DF810103AABBCC C10100 9F7F02BEEF 5F570100")
        let template = try TLVNode(tlvEncoded: encoding, rules: .strict)
        #expect(template.children.map(\.tag) == [TLVTag(0xDF8101), TLVTag(0xC1), TLVTag(0x9F7F), TLVTag(0x5F57)])
        #expect(Array(template.child(TLVTag(0xDF8101))!.value) == [0xAA, 0xBB, 0xCC])
        #expect(TLVNode.serialize([template]) == encoding)
        // Rebuilt from the parsed children (as a kernel copies them into a new template): still the same bytes.
        #expect(
            Array(TLVNode(tag: .readRecordResponseMessageTemplate, children: template.children).encodedBytes)
                == encoding)
    }

    @Test func serializerBackFillsLongLengths() {
        var serializer = TLVSerializer()
        serializer.appendConstructed(tag: .issuerScriptTemplate1) { inner in
            inner.appendPrimitive(tag: .issuerScriptIdentifier, value: [1, 2, 3, 4])
            inner.appendPrimitive(tag: .issuerScriptCommand, value: Array(repeating: 0x84, count: 200))
        }
        let out = serializer.serializedBytes
        #expect(Array(out.prefix(3)) == [0x71, 0x81, 0xD2], "7 + 3 + 200 = 210 = D2 content bytes")
        #expect(out.count == 3 + 0xD2)
        let parsed = try? TLVNode(tlvEncoded: out, rules: .strict)
        #expect(parsed?.children.count == 2)
        #expect(
            TLVNode(tag: .applicationTransactionCounter, value: [0, 1]).encodedBytes.elementsEqual([
                0x9F, 0x36, 0x02, 0, 1,
            ]))
    }
}
