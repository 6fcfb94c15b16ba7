import Codecs
import PaymentCrypto
import PrepaidPurse
import Testing

/// The published worked examples of the PBOC purse (purchase and load with PurchKey = LoadKey =
/// 11223344556677888877665544332211, random 11223344, terminal 001122334455), recomputed independently in
/// Tests/scripts/prepaid_crosscheck.py as well.
@Suite struct PurseCryptoVectorTests {
    let key = SecretBytes(hexEncoded: "11223344556677888877665544332211")!
    let terminal = try! PurseTerminalID(hex("001122334455"))

    @Test func purchaseSessionKeyMAC1MAC2() throws {
        let session = try PurseCrypto.purchaseSessionKey(
            purchaseKey: key, random: [0x11, 0x22, 0x33, 0x44], offlineCounter: 0, terminalSequenceNumber: 1)
        #expect(session.constantTimeEquals(hex("003238ABC57659DD")))
        let dateTime = try PurseDateTime(bytes: hex("20120229135100"))
        let mac1 = try PurseCrypto.mac(
            PurseCrypto.purchaseMAC1Input(amount: 0x1000, type: .pursePurchase, terminalID: terminal,
                                          dateTime: dateTime), key: session)
        #expect(mac1 == hex("F15CAB75"))
        #expect(try PurseCrypto.mac(PurseCrypto.purchaseMAC2Input(amount: 0x1000), key: session)
            == hex("56988A13"))
    }

    @Test func loadSessionKeyMAC1MAC2() throws {
        let session = try PurseCrypto.loadSessionKey(loadKey: key, random: [0x11, 0x22, 0x33, 0x44], onlineCounter: 0)
        #expect(session.constantTimeEquals(hex("9B1D924E05595603")))
        // The published example is an electronic deposit load (type 01).
        #expect(try PurseCrypto.mac(
            PurseCrypto.loadMAC1Input(balance: 0, amount: 0x1000, type: .depositLoad, terminalID: terminal),
            key: session) == hex("2988AE5A"))
        let dateTime = try PurseDateTime(bytes: hex("20111221214822"))
        #expect(try PurseCrypto.mac(
            PurseCrypto.loadMAC2Input(amount: 0x1000, type: .depositLoad, terminalID: terminal, dateTime: dateTime),
            key: session) == hex("3A845BF0"))
    }

    @Test func tacKeyIsTheXorOfTheHalves() throws {
        let tac = try PurseCrypto.tacKey(transactionKey: key)
        #expect(tac.constantTimeEquals(hex("9955551111555599")))
    }

    @Test func diversificationUsesTheComplementForTheRightHalf() throws {
        let x: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x17]
        let card = try PurseCrypto.diversify(masterKey: key, diversificationData: x)
        let left = try Insecure.TDES.ECB.encrypt(x, key: key)
        let right = try Insecure.TDES.ECB.encrypt(x.map { ~$0 }, key: key)
        #expect(card.constantTimeEquals(left + right))
    }
}

@Suite struct PurseCommandTests {
    let terminal = try! PurseTerminalID([0, 0, 0, 0, 0, 1])

    @Test func commandEncodings() throws {
        #expect(try PurseCommand.getBalance().encoded == hex("805C000204"))
        #expect(try PurseCommand.initializeForLoad(keyIndex: 1, amount: 1000, terminalID: terminal).encoded
            == hex("805000020B01000003E800000000000110"))
        #expect(try PurseCommand.initializeForPurchase(keyIndex: 1, amount: 1000, terminalID: terminal).encoded
            == hex("805001020B01000003E80000000000010F"))
        let dateTime = try PurseDateTime(year: 2026, month: 11, day: 27, hour: 12, minute: 0, second: 5)
        #expect(dateTime.bytes == hex("20261127120005"))
        #expect(try PurseCommand.creditForLoad(dateTime: dateTime, mac2: [1, 2, 3, 4]).encoded
            == hex("805200000B2026112712000501020304" + "04"))
        #expect(try PurseCommand.debitForPurchase(terminalSequenceNumber: 9, dateTime: dateTime, mac1: [1, 2, 3, 4])
            .encoded == hex("805401000F000000092026112712000501020304" + "08"))
        #expect(try PurseCommand.getTransactionProve(type: .pursePurchase, counter: 5).encoded
            == hex("805A000602000508"))
        #expect(try PurseCommand.readApplicationData().encoded == hex("00B095001E"))
    }

    @Test func responsesRoundTrip() throws {
        let load = InitializeForLoadResponse(balance: 500, onlineCounter: 3, keyVersion: 1, algorithmIdentifier: 0,
                                             random: [1, 2, 3, 4], mac1: [5, 6, 7, 8])
        #expect(try InitializeForLoadResponse(responseData: load.encoded[...]) == load)
        let purchase = InitializeForPurchaseResponse(balance: 500, offlineCounter: 7, keyVersion: 1,
                                                     algorithmIdentifier: 0, random: [1, 2, 3, 4])
        #expect(purchase.encoded.count == 15)
        #expect(try InitializeForPurchaseResponse(responseData: purchase.encoded[...]) == purchase)
        #expect(throws: PurseError(.malformedResponse, "")) {
            try InitializeForPurchaseResponse(responseData: purchase.encoded.dropLast())
        }
        let data = try PurseApplicationData(
            issuerIdentifier: [1, 2, 3, 4, 5, 6, 7, 8], applicationSerialNumber: hex("10000000000000000017"),
            startDate: [0x20, 0x26, 0x01, 0x01], expiryDate: [0x20, 0x30, 0x12, 0x31])
        let parsed = try PurseApplicationData(fileContent: data.encoded[...])
        #expect(parsed == data)
        #expect(parsed.cardNumber == "10000000000000000017")
        #expect(parsed.expiryDateNumber == 20301231)
        #expect(parsed.diversificationData == hex("0000000000000017"))
    }
}

@Suite struct SoftwareSAMTests {
    @Test func mac1VerifiesWithTheCardsOwnDerivationAndMAC2AndTACCheck() throws {
        let masters = PurseMasterKeys.testOnly()
        let terminal = try PurseTerminalID([0, 0, 0, 0, 0, 1])
        let sam = SoftwareSAM(masterKeys: masters, terminalID: terminal, firstSequenceNumber: 41)
        let x: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x17]
        let initialize = InitializeForPurchaseResponse(balance: 5000, offlineCounter: 2, keyVersion: 1,
                                                       algorithmIdentifier: 0, random: [9, 8, 7, 6])
        let dateTime = try PurseDateTime(year: 2026, month: 11, day: 27, hour: 9, minute: 30, second: 0)
        let session = try sam.beginPurchase(PurseSAMPurchaseRequest(
            diversificationData: x, initialize: initialize, amount: 1200, dateTime: dateTime))
        #expect(session.terminalSequenceNumber == 41)
        #expect(sam.nextTerminalSequenceNumber == 42)
        // The card side, from the diversified key.
        let keys = try PurseCardKeys(masterKeys: masters, diversificationData: x)
        let cardSession = try PurseCrypto.purchaseSessionKey(purchaseKey: keys.purchase, random: [9, 8, 7, 6],
                                                             offlineCounter: 2, terminalSequenceNumber: 41)
        #expect(try PurseCrypto.mac(PurseCrypto.purchaseMAC1Input(amount: 1200, type: .pursePurchase,
                                                                  terminalID: terminal, dateTime: dateTime),
                                    key: cardSession) == session.mac1)
        let mac2 = try PurseCrypto.mac(PurseCrypto.purchaseMAC2Input(amount: 1200), key: cardSession)
        #expect(try sam.verifyPurchaseMAC2(session, amount: 1200, mac2: mac2))
        #expect(try !sam.verifyPurchaseMAC2(session, amount: 1200, mac2: mac2.map { $0 ^ 1 }))
        let tacInput = PurseCrypto.purchaseTACInput(amount: 1200, type: .pursePurchase, terminalID: terminal,
                                                    terminalSequenceNumber: 41, dateTime: dateTime)
        let tac = try PurseCrypto.mac(tacInput, key: try PurseCrypto.tacKey(transactionKey: keys.transaction))
        #expect(try sam.verifyTAC(diversificationData: x, tacInput: tacInput, tac: tac))
        #expect(try !sam.verifyTAC(diversificationData: [0, 0, 0, 0, 0, 0, 0, 0x18], tacInput: tacInput, tac: tac))
    }
}

/// Hex text to bytes for fixed test vectors (empty for malformed text, which fails the test's comparison).
func hex(_ text: String) -> [UInt8] { Hex.decode(text) ?? [] }
