import Codecs
import Testing

/// Two dialects for the codec tests: one with BCD numerics and lengths (like our host's), one all-ASCII.
enum ISO8583TestSpecs {
    static let bcd = ISO8583.Spec(
        mtiEncoding: .bcd,
        fields: [
            .init(2, "PAN", .llvar, maxLength: 19, content: .numeric, padding: .right(nibble: 0xF), isSensitive: true),
            .init(3, "Processing code", .fixed, maxLength: 6, content: .numeric),
            .init(4, "Amount", .fixed, maxLength: 12, content: .numeric),
            .init(11, "STAN", .fixed, maxLength: 6, content: .numeric),
            .init(22, "POS entry mode", .fixed, maxLength: 3, content: .numeric),
            .init(32, "Acquirer id", .llvar, maxLength: 11, content: .numeric),
            .init(35, "Track 2", .llvar, maxLength: 37, content: .track2, padding: .right(nibble: 0xF)),
            .init(37, "RRN", .fixed, maxLength: 12, content: .alphanumeric),
            .init(41, "Terminal id", .fixed, maxLength: 8, content: .alphanumericSpecial),
            .init(52, "PIN block", .fixed, maxLength: 8, content: .binary),
            .init(53, "KSN", .llvar, maxLength: 12, content: .binary),
            .init(55, "ICC data", .lllvar, maxLength: 255, content: .berTLV),
            .init(62, "Private", .lllvar, maxLength: 999, content: .alphanumericSpecial),
            .init(64, "MAC", .fixed, maxLength: 8, content: .binary),
            .init(70, "Network code", .fixed, maxLength: 3, content: .numeric),
            .init(90, "Original data", .fixed, maxLength: 42, content: .numeric),
            .init(128, "MAC 2", .fixed, maxLength: 8, content: .binary),
        ])

    static let ascii = ISO8583.Spec(
        mtiEncoding: .ascii,
        fields: [
            .init(2, "PAN", .llvar, maxLength: 19, content: .numeric, encoding: .ascii, lengthEncoding: .ascii),
            .init(3, "Processing code", .fixed, maxLength: 6, content: .numeric, encoding: .ascii),
            .init(4, "Amount", .fixed, maxLength: 12, content: .numeric, encoding: .ascii),
            .init(35, "Track 2", .llvar, maxLength: 37, content: .track2, encoding: .ascii, lengthEncoding: .ascii),
            .init(39, "Response code", .fixed, maxLength: 2, content: .alphanumeric),
            .init(55, "ICC data", .lllvar, maxLength: 255, content: .berTLV, lengthEncoding: .ascii),
            .init(102, "Account", .llvar, maxLength: 28, content: .alphanumericSpecial, lengthEncoding: .ascii),
        ])
}

@Suite struct ISO8583CodecTests {
    static func bytes(_ hex: String) -> [UInt8] { Hex.decode(hex) ?? [] }

    static let icc = [TLVNode(tag: TLVTag(0x9F02), value: bytes("000000001000"))]

    /// A 0200 in the BCD dialect, and its encoding worked out by hand: MTI `0200`; bitmap `7020040020800200` (fields 2,
    /// 3, 4, 11, 22, 35, 41, 55); PAN LLVAR `16` + digits; `051` left-padded to `0051`; track 2 with `=` as `D`;
    /// field 55 LLLVAR `0009`.
    static let sale = ISO8583.Message(
        mti: "0200",
        fields: [
            2: .text("4761739001010119"), 3: .text("000000"), 4: .text("000000001000"), 11: .text("000123"),
            22: .text("051"), 35: .text("4761739001010119=22122011758928889"), 41: .text("TERM0001"), 55: .tlv(icc),
        ])
    static let saleHex =
        "0200" + "7020040020800200" + "164761739001010119" + "000000" + "000000001000" + "000123" + "0051"
        + "34" + "4761739001010119D22122011758928889" + Hex.encode(Array("TERM0001".utf8)) + "0009"
        + "9F0206000000001000"

    @Test func packsTheWorkedExample() throws {
        #expect(Hex.encode(try ISO8583.pack(Self.sale, spec: ISO8583TestSpecs.bcd)) == Self.saleHex)
        #expect(try ISO8583.unpack(Self.bytes(Self.saleHex), spec: ISO8583TestSpecs.bcd) == Self.sale)
    }

    @Test func oddDigitCountsArePaddedOnTheSpecsSide() throws {
        let message = ISO8583.Message(
            mti: "0100",
            fields: [
                2: .text("476173900101011"), 32: .text("12345"), 35: .text("1234=5"),
            ])
        let packed = try ISO8583.pack(message, spec: ISO8583TestSpecs.bcd)
        // PAN right-padded with F; field 32 (default padding) left-padded with 0; track 2 right-padded with F.
        #expect(Hex.encode(packed) == "0100" + "4000000120000000" + "15476173900101011F" + "05012345" + "061234D5")
        #expect(try ISO8583.unpack(packed, spec: ISO8583TestSpecs.bcd) == message)
    }

    @Test func secondaryBitmapWhenAFieldAbove64IsPresent() throws {
        let message = ISO8583.Message(
            mti: "0400",
            fields: [
                11: .text("000001"), 90: .text(String(repeating: "1", count: 42)),
                128: .binary([1, 2, 3, 4, 5, 6, 7, 8]),
            ])
        let packed = try ISO8583.pack(message, spec: ISO8583TestSpecs.bcd)
        #expect(Hex.encode(packed.prefix(18)) == "0400" + "8020000000000000" + "0000004000000001")
        #expect(try ISO8583.unpack(packed, spec: ISO8583TestSpecs.bcd) == message)
    }

    @Test func asciiDialect() throws {
        let message = ISO8583.Message(
            mti: "0210",
            fields: [
                2: .text("4761739001010119"), 3: .text("000000"), 4: .text("000000001000"),
                35: .text("4761739001010119=2212"), 39: .text("00"), 55: .tlv(Self.icc),
                102: .text("ACCOUNT #1"),
            ])
        let packed = try ISO8583.pack(message, spec: ISO8583TestSpecs.ascii)
        #expect(Array(packed.prefix(4)) == Array("0210".utf8))
        // MTI, primary and secondary bitmap (field 102), then field 2 with its ASCII length.
        #expect(Array(packed[20..<38]) == Array("164761739001010119".utf8))
        #expect(try ISO8583.unpack(packed, spec: ISO8583TestSpecs.ascii) == message)
    }

    @Test func everyStrictPrefixFailsAsTruncated() throws {
        let packed = Self.bytes(Self.saleHex)
        for count in 0..<packed.count {
            #expect(throws: ISO8583Error(.truncated, reason: "")) {
                try ISO8583.unpack(packed[..<count], spec: ISO8583TestSpecs.bcd)
            }
        }
    }

    @Test func unpacksFromASliceNotStartingAtZero() throws {
        let buffer = [0xEE, 0xEE] + Self.bytes(Self.saleHex)
        #expect(try ISO8583.unpack(buffer[2...], spec: ISO8583TestSpecs.bcd) == Self.sale)
    }

    /// Each malformation, on a copy of the worked example, and the code it must give.
    @Test(arguments: [
        // trailing byte
        (saleHex + "00", ISO8583Error.Code.trailingBytes),
        // bitmap names field 5, which the spec lacks
        ("0200" + "0800000000000000" + "000000000000", .unknownField),
        // bit 65 (tertiary bitmap) in the secondary bitmap
        ("0200" + "8000000000000000" + "8000000000000000", .unknownField),
        // bit 1 with an empty secondary bitmap
        ("0200" + "8000000000000000" + "0000000000000000", .emptySecondaryBitmap),
        // MTI with a nibble above 9
        ("02A0" + "0000000000000000", .invalidMessageTypeIndicator),
        // field 3 with a nibble above 9
        ("0200" + "2000000000000000" + "00A000", .invalidBCDDigit),
        // PAN length 20 over its maximum of 19
        ("0200" + "4000000000000000" + "20" + "47617390010101194761", .fieldTooLong),
        // PAN length prefix not BCD
        ("0200" + "4000000000000000" + "1A" + "4761739001010119", .invalidBCDDigit),
        // PAN odd length with a 0 pad nibble where F is required
        ("0200" + "4000000000000000" + "15" + "4761739001010110", .invalidPadding),
        // PAN with the separator nibble D (only track 2 may have it)
        ("0200" + "4000000000000000" + "16" + "476173900101D119", .invalidBCDDigit),
        // field 41 with a control character
        ("0200" + "0000000000800000" + "5445524D30300A31", .invalidCharacter),
        // field 55 that is not BER-TLV (length 4 with a 2-byte value)
        ("0200" + "0000000000000200" + "0004" + "9F0205AA", .invalidTLV),
        // field 55 length 256 over its maximum
        ("0200" + "0000000000000200" + "0256" + "00", .fieldTooLong),
    ])
    func malformedInputGivesItsCode(hex: String, code: ISO8583Error.Code) {
        do {
            _ = try ISO8583.unpack(Self.bytes(hex), spec: ISO8583TestSpecs.bcd)
            Issue.record("accepted \(hex)")
        } catch let error as ISO8583Error {
            #expect(error.code == code, "\(hex): \(error)")
        } catch {
            Issue.record("non-codec error \(error)")
        }
    }

    @Test func asciiLengthPrefixWithANonDigit() {
        let input = Array("0200".utf8) + Self.bytes("4000000000000000") + Array("1X4761739001010119".utf8)
        #expect(throws: ISO8583Error(.invalidLengthPrefix, reason: "")) {
            try ISO8583.unpack(input, spec: ISO8583TestSpecs.ascii)
        }
    }

    @Test(arguments: [
        (2, ISO8583.FieldValue.text("47617390010101194761"), ISO8583Error.Code.fieldTooLong),
        (3, .text("12345"), .lengthMismatch),
        (3, .text("12345A"), .invalidCharacter),
        (3, .binary([0, 0, 0]), .valueKindMismatch),
        (52, .text("12345678"), .valueKindMismatch),
        (37, .text("ABC-12345678"), .invalidCharacter),
        (41, .text("TERMÉ001"), .invalidCharacter),
        (35, .text("4761D2212"), .invalidCharacter),
        (55, .binary([0x9F, 0x02, 0x05]), .invalidTLV),
        (55, .text("9F02"), .valueKindMismatch),
        (5, .text("000000000000"), .unknownField),
    ])
    func packRejectsWhatTheSpecForbids(field: Int, value: ISO8583.FieldValue, code: ISO8583Error.Code) {
        var message = ISO8583.Message(mti: "0200")
        message[field] = value
        #expect(throws: ISO8583Error(code, reason: "")) { try ISO8583.pack(message, spec: ISO8583TestSpecs.bcd) }
    }

    @Test func packRejectsABadMTI() {
        for mti in ["200", "02000", "02A0", ""] {
            #expect(throws: ISO8583Error(.invalidMessageTypeIndicator, reason: "")) {
                try ISO8583.pack(ISO8583.Message(mti: mti), spec: ISO8583TestSpecs.bcd)
            }
        }
    }

    @Test func errorsNameTheFieldButNotItsBytes() {
        do {
            _ = try ISO8583.unpack(
                Self.bytes("0200" + "4000000000000000" + "15" + "4761739001010110"),
                spec: ISO8583TestSpecs.bcd)
        } catch let error as ISO8583Error {
            #expect(error.field == 2 && error.offset == 11)
            #expect(!error.description.contains("476173"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func descriptionMasksSensitiveFields() {
        var message = Self.sale
        message[52] = .binary([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0])
        let text = message.description
        #expect(text.contains("476173******0119"))
        #expect(!text.contains("4761739001010119"))
        #expect(!text.contains("22122011758928889"))
        #expect(!text.contains("123456789ABCDEF0"))
        #expect(text.contains("55 TLV 9F02"))
        #expect(!text.contains("000000001000\n") || text.contains("4 000000001000"))
    }
}
