import Codecs
import Testing

/// Data object lists (EMV Book 3 §5.4). The CDOL and its data are openemv/emv-utils tests/emv_dol_test.c's test 1,
/// 6 and 7 vectors.
@Suite struct DOLTests {
    /// CDOL1: amount, other amount, country, TVR, currency, date, type, unpredictable number.
    static let cdol1 = bytes("9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704")
    static let terminalData: [TLVTag: [UInt8]] = [
        .transactionType: [0x09],
        .transactionDate: bytes("240217"),
        .transactionCurrencyCode: bytes("0978"),
        .amountAuthorisedNumeric: bytes("000123456789"),
        .amountOtherNumeric: bytes("000987654321"),
        .terminalCountryCode: bytes("0528"),
        .unpredictableNumber: bytes("DEADBEEF"),
        .terminalVerificationResults: bytes("1234554321"),
    ]

    @Test func parseAndRoundTrip() throws {
        let dol = try DataObjectList(dolEncoded: Self.cdol1)
        #expect(
            dol.entries.map(\.tag) == [
                .amountAuthorisedNumeric, .amountOtherNumeric, .terminalCountryCode, .terminalVerificationResults,
                .transactionCurrencyCode, .transactionDate, .transactionType, .unpredictableNumber,
            ])
        #expect(dol.entries.map(\.length) == [6, 6, 2, 5, 2, 3, 1, 4])
        #expect(dol.relatedDataLength == 29)
        #expect(dol.encoded == Self.cdol1)
        #expect(try DataObjectList(dolEncoded: []).entries.isEmpty)
        // Inside a larger buffer.
        let buffer = [0xEE] + Self.cdol1 + [0xEE]
        #expect(try DataObjectList(dolEncoded: buffer[1..<(buffer.count - 1)]) == dol)
    }

    @Test func prefixesFailUnlessTheyEndOnAnEntry() throws {
        let boundaries: Set<Int> = [0, 3, 6, 9, 11, 14, 16, 18, 21]
        for count in 0..<Self.cdol1.count {
            let code = codecErrorCode { _ = try DataObjectList(dolEncoded: Array(Self.cdol1.prefix(count))) }
            if boundaries.contains(count) {
                #expect(code == nil, "prefix of \(count) bytes ends on an entry")
            } else {
                #expect(code == .truncatedLength || code == .truncatedTag, "prefix of \(count) bytes")
            }
        }
    }

    @Test func malformedLists() {
        // openemv test 2 and 3: a last tag with no length.
        #expect(
            codecErrorCode { _ = try DataObjectList(dolEncoded: bytes("9F0206 9F0306 9F1A02 95")) } == .truncatedLength)
        #expect(codecErrorCode { _ = try DataObjectList(dolEncoded: bytes("9F0206 9F")) } == .truncatedTag)
        // openemv's "invalid PDOL length": 9F33 FF.
        #expect(codecErrorCode { _ = try DataObjectList(dolEncoded: bytes("9F33FF")) } == .invalidDataObjectList)
        #expect(codecErrorCode { _ = try DataObjectList(dolEncoded: bytes("9F3381 03")) } == .invalidDataObjectList)
        #expect(codecErrorCode { _ = try DataObjectList(dolEncoded: bytes("00 9F3303")) } == .invalidTag)
        #expect(codecErrorCode { _ = try DataObjectList(dolEncoded: bytes("9F818181 01")) } == .tagTooLong)
    }

    @Test func relatedDataWithExactLengths() throws {
        let data = try DataObjectList(dolEncoded: Self.cdol1).relatedData { Self.terminalData[$0] }
        #expect(data == bytes("000123456789 000987654321 0528 1234554321 0978 240217 09 DEADBEEF"))
    }

    @Test func relatedDataWithOtherLengths() throws {
        // openemv test 7: n values lose leftmost bytes / gain leading zeros; b values lose rightmost bytes / gain
        // trailing zeros; a zero length contributes nothing.
        let dol = try DataObjectList(dolEncoded: bytes("9F0203 9F0307 9F1A02 9506 5F2A02 9A00 9C03 9F3703"))
        let data = dol.relatedData { Self.terminalData[$0] }
        #expect(data == bytes("456789 00000987654321 0528 123455432100 0978 000009 DEADBE"))
        #expect(data.count == dol.relatedDataLength)
    }

    @Test func compressedNumericIsPaddedWithFAndCutOnTheRight() {
        // cn (Book 3 §4.3, §5.4): trailing FF padding, rightmost truncation.
        #expect(
            DataObjectList.fit(bytes("4761739001010119"), toLength: 10, format: .cn) == bytes("4761739001010119FFFF"))
        #expect(DataObjectList.fit(bytes("4761739001010119"), toLength: 4, format: .cn) == bytes("47617390"))
        #expect(DataObjectList.fit(bytes("0978"), toLength: 4, format: .n) == bytes("00000978"))
        #expect(DataObjectList.fit(bytes("000000010000"), toLength: 4, format: .n) == bytes("00010000"))
        #expect(DataObjectList.fit(Array("TEST".utf8), toLength: 6, format: .ans) == Array("TEST".utf8) + [0, 0])
        #expect(DataObjectList.fit(Array("TEST".utf8), toLength: 2, format: .an) == Array("TE".utf8))
        #expect(DataObjectList.fit([1, 2, 3], toLength: 3, format: .b) == [1, 2, 3])
    }

    @Test func missingUnknownAndConstructedTagsGiveZeros() throws {
        // 9F37 known but absent; DF8101 unknown to the terminal (no format) even with a value; 70 constructed;
        // 5A a cn value from the card, longer than asked for.
        let dol = try DataObjectList(dolEncoded: bytes("9F3704 DF810102 7003 5A05 9F3501"))
        let values: [TLVTag: [UInt8]] = [
            TLVTag(0xDF8101): [0xAA, 0xBB], .readRecordResponseMessageTemplate: [1, 2, 3],
            .applicationPrimaryAccountNumber: bytes("4761739001010119"), .terminalType: [0x22],
        ]
        let data = dol.relatedData { values[$0] }
        #expect(data == bytes("00000000 0000 000000 4761739001 22"))
        // A format table of one's own replaces the dictionary's.
        let custom = dol.relatedData(formats: { $0 == TLVTag(0xDF8101) ? .b : nil }, values: { values[$0] })
        #expect(custom == bytes("00000000 AABB 000000 0000000000 00"))
    }

    @Test func buildsTheGPOCommandOfThePublishedExample() throws {
        // openemv tests/emv_initiate_application_processing_test.c: PDOL 9F33 03 and terminal capabilities 60F0C8
        // give GPO 80 A8 00 00 05 83 03 60 F0 C8 00; no PDOL gives 80 A8 00 00 02 83 00 00.
        let pdol = try DataObjectList(dolEncoded: bytes("9F3303"))
        let related = pdol.relatedData { $0 == .terminalCapabilities ? bytes("60F0C8") : nil }
        #expect(
            try CommandAPDU.getProcessingOptions(pdolRelatedData: related).encoded == bytes("80A8000005830360F0C800"))
        #expect(try CommandAPDU.getProcessingOptions(pdolRelatedData: []).encoded == bytes("80A80000028300 00"))
    }
}
