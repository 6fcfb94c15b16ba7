import Codecs
import Testing

@Suite struct EMVDictionaryTests {
    @Test func entriesAreConsistent() {
        let elements = EMVDataDictionary.elements
        #expect(Set(elements.map(\.tag)).count == elements.count, "one entry per tag")
        for element in elements {
            #expect(!element.name.isEmpty)
            #expect(element.length.lowerBound >= 0 && element.length.upperBound <= 261)
            // A template format exactly for constructed tags, and the other way round.
            #expect((element.format == .template) == element.tag.isConstructed, "\(element.tag)")
            #expect(EMVDataDictionary.element(for: element.tag) == element)
        }
        #expect(EMVDataDictionary.element(for: .amountAuthorisedNumeric)?.format == .n)
        #expect(EMVDataDictionary.element(for: .amountAuthorisedNumeric)?.length == 6...6)
        #expect(EMVDataDictionary.element(for: .applicationPrimaryAccountNumber)?.format == .cn)
        #expect(EMVDataDictionary.element(for: .issuerAuthenticationData)?.source == .issuer)
        #expect(EMVDataDictionary.element(for: .terminalVerificationResults)?.source == .terminal)
        #expect(EMVDataDictionary.element(for: .applicationIdentifier)?.accepts(length: 4) == false)
        #expect(EMVDataDictionary.element(for: .applicationIdentifier)?.accepts(length: 7) == true)
        #expect(EMVDataDictionary.element(for: TLVTag(0xDF8101)) == nil)
    }

    @Test func sensitiveElementsAreClassified() {
        let masked: [TLVTag] = [
            .track2EquivalentData, .track1Data, .cardholderName, .cardholderNameExtended, .track1DiscretionaryData,
            .track2DiscretionaryData, .applicationExpirationDate,
        ]
        for tag in masked { #expect(EMVDataDictionary.sensitivity(of: tag) == .masked, "\(tag)") }
        #expect(EMVDataDictionary.sensitivity(of: .applicationPrimaryAccountNumber) == .pan)
        #expect(EMVDataDictionary.sensitivity(of: .transactionPINData) == .dropped)
        #expect(EMVDataDictionary.sensitivity(of: .applicationLabel) == .none)
        #expect(EMVDataDictionary.sensitivity(of: TLVTag(0xDF8101)) == .masked, "unknown tags are masked")
    }

    @Test func maskedPANs() {
        #expect(EMVDataDictionary.maskedPAN("4761739001010119") == "476173******0119")
        #expect(EMVDataDictionary.maskedPAN("6250946000000016001") == "625094*********6001")
        #expect(EMVDataDictionary.maskedPAN("4761739001010") == "476173***1010")
        #expect(EMVDataDictionary.maskedPAN("476173900101") == "************")
        #expect(EMVDataDictionary.maskedPAN("") == "")
    }

    @Test func renderingMasksCardData() throws {
        let nodes = try TLVNode.sequence(
            tlvEncoded: Vectors.visaRecord + Vectors.panRecord + bytes("99 08 241234FFFFFFFFFF"))
        let text = EMVDataDictionary.render(nodes)
        #expect(
            text == """
                70 READ RECORD Response Message Template
                  57 Track 2 Equivalent Data: <masked, 17 bytes>
                  5F20 Cardholder Name: <masked, 12 bytes>
                  9F1F Track 1 Discretionary Data: <masked, 14 bytes>
                70 READ RECORD Response Message Template
                  5A Application Primary Account Number (PAN): 476173******0119
                  5F34 Application Primary Account Number (PAN) Sequence Number: 01
                  5F24 Application Expiration Date: <masked, 3 bytes>
                99 Transaction Personal Identification Number (PIN) Data: <dropped>

                """)
        for secret in ["4761739001010119", "EXPIRED", "1758928889", "241234", "221231"] {
            #expect(!text.contains(secret), "\(secret) leaked")
        }
    }

    @Test func renderingShowsPublicDataReadably() throws {
        let text = EMVDataDictionary.render(tlvEncoded: Vectors.pseFCI + Vectors.gpoFormat2)
        #expect(
            text == """
                6F File Control Information (FCI) Template
                  84 Dedicated File (DF) Name: 315041592E5359532E4444463031
                  A5 File Control Information (FCI) Proprietary Template
                    88 Short File Identifier (SFI): 01
                    5F2D Language Preference: "enesfrde"
                    9F11 Issuer Code Table Index: 01
                77 Response Message Template Format 2
                  82 Application Interchange Profile (AIP): 3900
                  94 Application File Locator (AFL): 1801020120020400

                """)
    }

    @Test func renderingUnknownTagsAndMalformedInput() {
        let unknown = bytes("DF810103AABBCC 9F7F02BEEF E103 C10100")
        #expect(
            EMVDataDictionary.render(tlvEncoded: unknown) == """
                DF8101 proprietary: <masked, 3 bytes>
                9F7F unknown: <masked, 2 bytes>
                E1 proprietary
                  C1 proprietary: <masked, 1 byte>

                """)
        #expect(
            EMVDataDictionary.render(tlvEncoded: unknown, revealingUnknownValues: true).contains(
                "DF8101 proprietary: AABBCC"))
        // A malformed PAN (not BCD) is masked whole; a malformed input names the error, not the bytes.
        #expect(
            EMVDataDictionary.render(tlvEncoded: bytes("5A02 4A11"))
                == "5A Application Primary Account Number (PAN): <masked, 2 bytes>\n")
        #expect(
            EMVDataDictionary.render(tlvEncoded: Vectors.visaRecordMalformed)
                == "malformed TLV: truncatedValue at offset 39\n")
    }
}
