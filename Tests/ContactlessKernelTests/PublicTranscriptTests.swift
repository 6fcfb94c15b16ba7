import Codecs
import ContactlessKernel
import EMVKernel
import PaymentCrypto
import Testing

/// A public contactless transcript replayed: a real Visa qVSDC card read by an Android NFC app and published with
/// its APDUs (MichaelsPlayground/TalkToYourCreditCardPart7, docs/"talk comd b Visa credit.html", an expired card).
/// The PAN is replaced by the test PAN 4000000000000002 in '57' and '5A' (the only two places it occurs); every
/// other byte is as published. The card's CA key index '09' is a live Visa key the test reader does not hold, so
/// only the online path can be checked: the card answered an ARQC.
///
/// The Mastercard PPSE response of the same author's log (logfile.md) checks the directory parsing.
@Suite struct PublicTranscriptTests {
    static let ppse = h(
        "6F3E840E325041592E5359532E4444463031A52CBF0C2961274F07A0000000031010500E636F6D6469726563742056697361"
            + "8701019F0A0800010502000000009000")
    static let select = h(
        "6F698407A0000000031010A55E500E636F6D64697265637420566973619F120E636F6D64697265637420566973619F110101"
            + "8701015F2D046465656E9F380F9F66049F02069F37045F2A029F1A02BF0C1A9F0A0800010502000000009F5A053109780276"
            + "BF6304DF2001809000")
    static let gpo = h(
        "7781C68202200094041001030057134000000000000002D25062011381541400000F9F1007060D1103A020009F26082F94A2"
            + "91FB5FA4259F2701809F3602002E9F4B81806B5530E9EDBBF0BD830F3C021C0E133C7D96F79CAB9127A164B4A1FF4A625EC2"
            + "6A94BCAEAA6D84D192241CC0CB9686276AC0E059B81ACE323CCDB60E1C443AA71D1EA445D1466BE93846CF293BE5AA12EBCA"
            + "B683FEADC57F2ED81017D2F06F71E2F1D736C36084B29CFA9C77FDD18B29E75307582D3839CE731D56FA31458BE39F6C0238"
            + "009000")
    static let record1 = h(
        "700B8F01099F3201035F3401009000")
    static let record2 = h(
        "7081FB9081F813C71BACD2BF1458CE45CCC93ECE9B47C0E1843F68ABDD6F2051F89D73285E13510242DF7AD51E94059B4A58"
            + "9BBCB46910B4945A0F0BB193C78086FE7E5FB9F52CE91F7ED9551F0E1277618839DB0828D9098C5E3ACDF226E6610663FA34"
            + "1E82710A75BD73357FCCA528CED1AA698A5E8DB36D8EBE28A6087F8AAE0956AD6DEAC4348DBDFF83C7D732C8DD4671EF2294"
            + "2B7A1E7C599EF522C2058892F686890DC0F34C3B047D46A97E2887850A9C5ACDF49DCF20ABE55B36806D36FC76BA08AF799B"
            + "8E6B6F1140E25ACA4ACC1BC8178EACD9DE5E4FC5CCA1BF10E4F654A1A5A7F5E114E0EE8B049E81115EAB40136E9A553405E0"
            + "23713E0C9000")
    static let record3 = h(
        "7081E79F4701039F4681B04EEAEB38BE423B4BC781ECEB83755A26476BB43F98492FE49DF28E1380B2B97579D0ABC9609903"
            + "1BAEB7E4620DCC1AF54B67C4F876206D506FA641A3A06F4A8BF8B8F0C3AA9EDC61562DD511A5EFD4F7FD2FBE50020EF5BCDA"
            + "441D735BE43CBCD08E9ABBBAE156C53811FE86F15201C1E84A8A7D70D9BE856269B81110E230182EEDF46A00A3223800CD76"
            + "F0F9259D11A7D2D50EE20A5CAA1B09CC77F76BC6C8B2EEB5E93C58962FA1B7A004C7B28CC25A0840000000000000029F6907"
            + "01AF211C3B38005F24032506309F0702FFC05F280202769F4A01829F6E04207000009000")
    static let mastercardPPSE = h(
        "6F3C840E325041592E5359532E4444463031A52ABF0C2761254F07A000000004101050104465626974204D61737465724361"
            + "72648701019F0A04000101019000")

    @Test func visaQVSDCTranscriptGoesOnline() throws {
        var ep = ContactlessEntryPoint(
            parameters: try Reader.parameters(), transaction: Reader.transaction(1_000), random: SystemRandom())
        var answers: [[UInt8]] = [Self.ppse, Self.select, Self.gpo, Self.record1, Self.record2, Self.record3]
        var sent: [CommandAPDU] = []
        let outcome = ep.run(transmit: { command in
            sent.append(command)
            guard !answers.isEmpty, let r = try? ResponseAPDU(apduEncoded: answers.removeFirst()) else {
                return .cardRemoved
            }
            return .response(r)
        })
        #expect(sent.map(\.ins) == [0xA4, 0xA4, 0xA8, 0xB2, 0xB2, 0xB2])
        // GPO data: '83' 12 + TTQ (4) 9F02 (6) 9F37 (4) 5F2A (2) 9F1A (2), as the card's PDOL asks.
        #expect(sent[2].data.count == 2 + 18 && sent[2].data.prefix(2) == [0x83, 0x12])
        #expect(Array(sent[2].data[2..<6]) == [0x36, 0x00, 0x40, 0x00])
        // AFL 10 01 03 00: SFI 2 records 1-3.
        #expect(sent[3...].map(\.p2) == [0x14, 0x14, 0x14] && sent[3...].map(\.p1) == [1, 2, 3])
        #expect(outcome.status == .onlineRequest)
        #expect(outcome.cvm == .noCVM)
        let request = try #require(outcome.onlineRequest)
        #expect(request.pan == "4000000000000002")
        #expect(request.expiry == EMVDate(year: 2025, month: 6, day: 30))
        let card = try #require(outcome.cardData)
        #expect(card.atc == [0x00, 0x2E] && card.cryptogram == h("2F94A291FB5FA425") && card.cid == 0x80)
        #expect(card.label == "comdirect Visa")
    }

    @Test func mastercardPPSEEntry() throws {
        let entries = try PPSEDirectory.parse(fci: Array(Self.mastercardPPSE.dropLast(2)))
        #expect(entries.count == 1)
        #expect(
            entries[0].adfName == h("A0000000041010") && entries[0].label == "Debit MasterCard"
                && entries[0].priority == 1)
        #expect(PPSEDirectory.kernel(of: entries[0]) == .mastercard)
    }
}
