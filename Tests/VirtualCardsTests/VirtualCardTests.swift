import Codecs
import DeviceKit
import PaymentCrypto
import TestKit
import Testing
import VirtualCards

@Suite struct VirtualCardProfileTests {
    @Test func everyProfileIsNamedPersonalisesAndHasItsOwnLuhnValidPANs() throws {
        var pans = Set<String>()
        #expect(VirtualCardProfile.allNames.count == 16)
        for name in VirtualCardProfile.allNames {
            let profile = try #require(VirtualCardProfile.named(name))
            #expect(profile.name == name)
            _ = try VirtualCard(profile: profile, random: CountingRandom())
            for app in profile.applications {
                #expect(luhnValid(app.pan), "\(name)")
                #expect(pans.insert(app.pan).inserted, "\(name): PAN shared with another profile")
                #expect(TestIssuers.builtIn.issuer(forPAN: app.pan)?.id == app.issuerID)
            }
        }
        #expect(VirtualCardProfile.named("no-such-card") == nil)
    }

    func luhnValid(_ pan: String) -> Bool {
        var sum = 0
        for (i, c) in pan.utf8.reversed().enumerated() {
            var d = Int(c) - 48
            if i % 2 == 1 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
        }
        return sum % 10 == 0
    }
}

@Suite struct TestIssuersTests {
    @Test func theCommittedFileIsTheBuiltInText() throws {
        let file = try readTextFile(repositoryRoot() + "/board/sim/test-issuers.toml")
        #expect(file == TestIssuers.builtInText)
        let parsed = try TestIssuers.parse(file)
        #expect(parsed.issuers.map(\.id) == ["visa-test", "mastercard-test", "unionpay-test"])
        #expect(parsed.issuer(forPAN: "4761731000000010")?.id == "visa-test")
        #expect(parsed.issuer(forPAN: "6230121000000013")?.id == "unionpay-test")
        #expect(parsed.issuer(forPAN: "4000000000000002") == nil)
        let visa = try #require(parsed.issuer(id: "visa-test"))
        #expect(visa.masterKeyAC == SecretBytes(hexEncoded: "FBA81FCAA659AE814025392540C4E77A")!)
        #expect(visa.arpcMethod == .method1 && visa.cryptogramPadding == .method1)
    }

    @Test func malformedFilesAreRefusedWithTheirCode() {
        for text in [
            "[issuers.a]\nname = \"x\"\n",
            "nothing = 1\n",
            "[issuers.a]\nname = \"x\"\npan_prefixes = [\"47\"]\nimk_ac = \"00\"\nimk_smi = \"00\"\nimk_smc = \"00\"\narpc_method = 1\ncryptogram_padding = \"method1\"\n",
            "[issuers.a\n",
        ] {
            #expect(throws: VirtualCardError(.malformedIssuerFile, "")) { try TestIssuers.parse(text) }
        }
    }
}

@Suite struct TestPKITests {
    @Test func caKeysAreDistinct1408BitKeysWithBookTwoChecksums() throws {
        let cas = TestPKI.testOnlyCertificationAuthorities
        #expect(Set(cas.map { Hex.encode($0.rid + [$0.index]) }).count == 3)
        #expect(Set(cas.map(\.exponent)) == [[0x03], [0x01, 0x00, 0x01]])
        for ca in cas {
            #expect(ca.modulus.count == 176 && ca.modulus[0] & 0x80 != 0)
            #expect(ca.index >= 0xF0)
            #expect(ca.checksum == (try Insecure.SHA1.hash(ca.rid + [ca.index] + ca.modulus + ca.exponent)))
        }
        #expect(TestPKI.testOnlyRevocationList == [
            .init(rid: [0xA0, 0, 0, 0, 3], index: 0xFB, certificateSerialNumber: [0x5E, 0x0B, 0xAD])
        ])
    }
}

@Suite struct VirtualCardFlowTests {
    static let visaAID: [UInt8] = [0xA0, 0, 0, 0, 0x03, 0x10, 0x10]
    static let mastercardAID: [UInt8] = [0xA0, 0, 0, 0, 0x04, 0x10, 0x10]
    static let unionPayAID: [UInt8] = [0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01]

    @Test func pseDirectoryListsTheApplications() throws {
        let t = try TestTerminal("visa-credit")
        let pse = try t.send(.select(name: Array("1PAY.SYS.DDF01".utf8)))
        #expect(pse.sw == 0x9000)
        let fci = try TLVNode(tlvEncoded: pse.data)
        #expect(fci.tag == TLVTag(0x6F))
        #expect(fci.firstDescendant(TLVTag(0x88))?.value.elementsEqual([1]) == true)
        #expect(fci.firstDescendant(TLVTag(0x5F2D))?.value.elementsEqual(Array("enzh".utf8)) == true)
        let record = try t.send(.readRecord(1, shortFileIdentifier: 1))
        #expect(record.sw == 0x9000)
        let directory = try TLVNode(tlvEncoded: record.data)
        let entry = try #require(directory.child(TLVTag(0x61)))
        #expect(entry.child(TLVTag(0x4F))?.value.elementsEqual(Self.visaAID) == true)
        #expect(entry.child(TLVTag(0x50))?.value.elementsEqual(Array("VISA CREDIT".utf8)) == true)
        #expect(entry.child(TLVTag(0x87))?.value.elementsEqual([0x01]) == true)
        #expect(try t.send(.readRecord(2, shortFileIdentifier: 1)).sw == 0x6A83)
        // Unknown application, wrong P1, unknown instruction and class.
        #expect(try t.send(.select(name: [0xA0, 0, 0, 0, 0x99, 0x10, 0x10])).sw == 0x6A82)
        #expect(try t.send([0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00]).sw == 0x6A86)
        #expect(try t.send([0x00, 0x10, 0x00, 0x00]).sw == 0x6D00)
        #expect(try t.send([0x90, 0xA4, 0x04, 0x00]).sw == 0x6E00)
    }

    @Test func multiAppPSEAndPartialSelectionWithNext() throws {
        let t = try TestTerminal("multi-app")
        _ = try t.send(.select(name: Array("1PAY.SYS.DDF01".utf8)))
        let directory = try TLVNode(tlvEncoded: try t.send(.readRecord(1, shortFileIdentifier: 1)).data)
        let entries = directory.children.filter { $0.tag == TLVTag(0x61) }
        #expect(entries.count == 2)
        let priorities = entries.compactMap { $0.child(TLVTag(0x87))?.value.first }
        #expect(priorities == [0x82, 0x81])
        #expect(priorities.allSatisfy { $0 & 0x80 != 0 }, "cardholder confirmation required")
        let partial: [UInt8] = [0xA0, 0, 0, 0, 0x03]
        let first = try t.send(.select(name: partial))
        #expect(try TLVNode(tlvEncoded: first.data).child(TLVTag(0x84))?.value.elementsEqual(Self.visaAID) == true)
        let next = try t.send(.select(name: partial, next: true))
        #expect(next.sw == 0x9000)
        #expect(
            try TLVNode(tlvEncoded: next.data).child(TLVTag(0x84))?.value.elementsEqual([0xA0, 0, 0, 0, 3, 0x20, 0x10])
                == true)
        #expect(try t.send(.select(name: partial, next: true)).sw == 0x6A82)
    }

    @Test func visaCreditOfflineDDAPlaintextPINAndTC() throws {
        var t = try TestTerminal("visa-credit")
        let fci = try TLVNode(tlvEncoded: try t.send(.select(name: Self.visaAID)).data)
        let proprietary = try #require(fci.child(TLVTag(0xA5)))
        #expect(proprietary.child(TLVTag(0x50))?.value.elementsEqual(Array("VISA CREDIT".utf8)) == true)
        #expect(proprietary.child(TLVTag(0x87)) != nil && proprietary.child(TLVTag(0xBF0C)) != nil)
        // GPO format 1 ('80'), ATC 1.
        let gpo = try t.send(.getProcessingOptions(pdolRelatedData: []))
        #expect(gpo.data.first == 0x80)
        let aip = Array(gpo.data[2..<4])
        let afl = Array(gpo.data[4...])
        #expect(aip == [0x3C, 0x00])
        try t.readRecords(afl: afl)
        for tag: UInt32 in [0x5A, 0x5F24, 0x5F25, 0x5F34, 0x57, 0x5F20, 0x8C, 0x8D, 0x8E, 0x9F07, 0x9F08, 0x9F0D,
                            0x9F0E, 0x9F0F, 0x5F28, 0x9F42, 0x9F14, 0x9F23, 0x8F, 0x90, 0x9F32, 0x9F46, 0x9F47,
                            0x9F49, 0x9F4A] {
            #expect(t.cardData[tag] != nil, "tag \(String(tag, radix: 16))")
        }
        #expect(try t.send(.getData(TLVTag(0x9F36))).data == [0x9F, 0x36, 0x02, 0x00, 0x01])
        #expect(try t.send(.getData(TLVTag(0x9F17))).data == [0x9F, 0x17, 0x01, 0x03])
        #expect(try t.send(.getData(TLVTag(0x9F13))).data == [0x9F, 0x13, 0x02, 0x00, 0x00])
        #expect(try t.send(.getData(TLVTag(0x9F4F))).sw == 0x6A88)

        // DDA: issuer and ICC certificates recovered independently, then INTERNAL AUTHENTICATE.
        let icc = try verifyCertificates(t, ca: TestPKI.testOnlyVisaCA, aip: aip)
        let ddol: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        let auth = try t.send(.internalAuthenticate(ddolRelatedData: ddol))
        #expect(auth.sw == 0x9000)
        let sdad = Array(try TLVNode(tlvEncoded: auth.data).value)
        let dynamic = try Recovery.dynamicData(sdad, icc: icc, terminalData: ddol)
        #expect(dynamic.hashMatches)
        #expect(dynamic.data.first == 8 && dynamic.data.count == 9)

        // Plaintext PIN: wrong then right (ISO 9564 format 2 blocks).
        #expect(try t.send([0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x99, 0x99, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).sw == 0x63C2)
        #expect(try t.send(.getData(TLVTag(0x9F17))).data.last == 0x02)
        #expect(try t.send([0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).sw == 0x9000)
        #expect(t.card.pinTryCounterValue == 3)

        // TC requested, TC returned; the cryptogram checks with PaymentCrypto from the issuer file's IMK.
        let cdol1 = try #require(t.cardData[0x8C])
        let answer = try t.generateAC(0x40, cdol: cdol1)
        #expect(answer.cid == 0x40)
        #expect(answer.atcValue == 1)
        let cvr = try #require(CardVerificationResults(issuerApplicationData: answer.iad))
        #expect(cvr.contains(.firstGenerateACTC) && cvr.contains(.offlinePINVerificationPerformed))
        #expect(cvr.contains(.dynamicDataAuthenticationPerformed) && !cvr.contains(.offlinePINVerificationFailed))
        try expectValidCryptogram(t, answer, cdol1: cdol1, aip: aip)
        // The transaction is over: no second GENERATE AC.
        #expect(try t.send(.generateApplicationCryptogram(referenceControl: 0x40, cdolRelatedData: [0])).sw == 0x6985)
    }

    @Test func visaOnlineWithExternalAuthenticateAndTheATCCounting() throws {
        var t = try TestTerminal("visa-credit")
        for expected in 1...2 {
            let (aip, afl) = try t.start(aid: Self.visaAID)
            try t.readRecords(afl: afl)
            let cdol1 = try #require(t.cardData[0x8C])
            let cdol2 = try #require(t.cardData[0x8D])
            let arqc = try t.generateAC(0x80, cdol: cdol1)
            #expect(arqc.cid == 0x80 && arqc.atcValue == UInt16(expected))
            try expectValidCryptogram(t, arqc, cdol1: cdol1, aip: aip)
            let (sk, _) = try sessionKeyAC(pan: panDigits(t.cardData[0x5A]!), psn: 0x01, atc: arqc.atcValue)
            let arc = Array("00".utf8)
            var arpc = try EMV.arpcMethod1(sessionKey: sk, arqc: try #require(arqc.cryptogram), authorisationResponseCode: arc)
            if expected == 2 { arpc[0] ^= 1 }
            let external = try t.send(.externalAuthenticate(issuerAuthenticationData: arpc + arc))
            #expect(external.sw == (expected == 1 ? 0x9000 : 0x6300))
            let second = try t.generateAC(0x40, cdol: cdol2)
            #expect(second.cid == (expected == 1 ? 0x40 : 0x00))
            let cvr = try #require(CardVerificationResults(issuerApplicationData: second.iad))
            #expect(cvr.contains(.issuerAuthenticationFailed) == (expected == 2))
            #expect(cvr.contains(.secondGenerateACTC) == (expected == 1))
            let input = try cryptogramInput(
                cdol1: cdol1, cdol1Data: arqc.cdolData, cdol2: cdol2, cdol2Data: second.cdolData, aip: aip,
                atc: second.atc, iad: second.iad)
            let (sk2, padding) = try sessionKeyAC(pan: panDigits(t.cardData[0x5A]!), psn: 0x01, atc: second.atcValue)
            #expect(try EMV.isValidApplicationCryptogram(
                try #require(second.cryptogram), sessionKey: sk2, data: input, padding: padding))
        }
        #expect(t.card.applicationTransactionCounter() == 2)
        #expect(t.card.lastOnlineATC() == 1)
        #expect(try t.send(.getData(TLVTag(0x9F13))).data == [0x9F, 0x13, 0x02, 0x00, 0x01])
    }

    @Test func mastercardCDAEncipheredPINAndARPCInCDOL2() throws {
        var t = try TestTerminal("mastercard-debit")
        #expect(try TLVNode(tlvEncoded: try t.send(.select(name: Array("1PAY.SYS.DDF01".utf8))).data).tag == TLVTag(0x6F))
        let (aip, afl) = try t.start(aid: Self.mastercardAID)
        #expect(aip == [0x39, 0x00])
        try t.readRecords(afl: afl)
        let icc = try verifyCertificates(t, ca: TestPKI.testOnlyMastercardCA, aip: aip)

        // Enciphered PIN under the ICC PIN encipherment key recovered from '9F2D'.
        let issuer = try issuerKey(t, ca: TestPKI.testOnlyMastercardCA)
        let pinCert = try Recovery.certifiedKey(
            try #require(t.cardData[0x9F2D]), signer: issuer, format: 0x04, remainder: t.cardData[0x9F2F] ?? [],
            exponent: try #require(t.cardData[0x9F2E]))
        #expect(pinCert.hashMatches)
        for (pin, expected) in [([UInt8](arrayLiteral: 0x24, 0x43, 0x21), UInt16(0x63C2)), ([0x24, 0x12, 0x34], 0x9000)] {
            let challenge = try t.send(.getChallenge())
            #expect(challenge.sw == 0x9000 && challenge.data.count == 8)
            let block = pin + [UInt8](repeating: 0xFF, count: 5)
            var plain = [0x7F] + block + challenge.data
            plain += [UInt8](repeating: 0x55, count: pinCert.key.modulus.count - plain.count)
            let enciphered = try RSA.PublicKey(modulus: pinCert.key.modulus, exponent: pinCert.key.exponent)
                .rawPublicOperation(plain)
            #expect(try t.send([0x00, 0x20, 0x00, 0x88, UInt8(enciphered.count)] + enciphered).sw == expected)
        }
        // A replayed block (the challenge is used up) is refused without touching the counter.
        #expect(t.card.pinTryCounterValue == 3)

        // CDA: ARQC with a signature over the transaction data hash.
        let cdol1 = try #require(t.cardData[0x8C])
        let cdol2 = try #require(t.cardData[0x8D])
        let first = try t.generateAC(0x90, cdol: cdol1)
        #expect(first.cid == 0x80 && first.cryptogram == nil)
        let sdad = try #require(first.sdad)
        let dynamic = try Recovery.dynamicData(sdad, icc: icc, terminalData: TestTerminal.terminalValues[0x9F37]!)
        #expect(dynamic.hashMatches)
        #expect(dynamic.data[0] == 8 && dynamic.data[9] == 0x80)
        let arqc = Array(dynamic.data[10..<18])
        let hashCode = Array(dynamic.data[18..<38])
        #expect(hashCode == (try Insecure.SHA1.hash(t.pdolData + first.cdolData + first.objectsButSDAD)))
        var ac = first
        ac.cryptogram = arqc
        try expectValidCryptogram(t, ac, cdol1: cdol1, aip: aip)

        // Online approval: the ARPC travels in CDOL2 ('91'); TC with CDA again.
        let (sk, _) = try sessionKeyAC(pan: panDigits(t.cardData[0x5A]!), psn: 0x00, atc: first.atcValue)
        let arc = Array("00".utf8)
        let arpc = try EMV.arpcMethod1(sessionKey: sk, arqc: arqc, authorisationResponseCode: arc)
        let second = try t.generateAC(0x50, cdol: cdol2, overrides: [0x91: arpc + arc])
        #expect(second.cid == 0x40)
        let dynamic2 = try Recovery.dynamicData(try #require(second.sdad), icc: icc, terminalData: TestTerminal.terminalValues[0x9F37]!)
        #expect(dynamic2.hashMatches)
        #expect(Array(dynamic2.data[18..<38]) == (try Insecure.SHA1.hash(
            t.pdolData + first.cdolData + second.cdolData + second.objectsButSDAD)))
    }

    @Test func unionPayPDOLNewCardOnlineAndChineseName() throws {
        var t = try TestTerminal("unionpay-debit")
        let select = try t.send(.select(name: Self.unionPayAID))
        let fci = try TLVNode(tlvEncoded: select.data)
        #expect(fci.firstDescendant(TLVTag(0x5F2D))?.value.elementsEqual(Array("zh".utf8)) == true)
        #expect(fci.firstDescendant(TLVTag(0x50))?.value.elementsEqual(Array("UnionPay Debit".utf8)) == true)
        #expect(fci.firstDescendant(TLVTag(0x9F12)).map { String(decoding: $0.value, as: UTF8.self) } == "银联借记")
        // A GPO without the PDOL data is refused.
        #expect(try t.send(.getProcessingOptions(pdolRelatedData: [])).sw == 0x6700)
        let (aip, afl) = try t.start(aid: Self.unionPayAID)
        try t.readRecords(afl: afl)
        #expect(t.pdolData.count == 10)
        _ = try verifyCertificates(t, ca: TestPKI.testOnlyUnionPayCA, aip: aip)
        let cdol1 = try #require(t.cardData[0x8C])
        let answer = try t.generateAC(0x40, cdol: cdol1)
        #expect(answer.cid == 0x80, "a new card goes online")
        #expect(CardVerificationResults(issuerApplicationData: answer.iad)?.contains(.newCard) == true)
        try expectValidCryptogram(t, answer, cdol1: cdol1, aip: aip)
    }

    @Test func visaSDASignedStaticData() throws {
        var t = try TestTerminal("visa-sda")
        let (aip, afl) = try t.start(aid: Self.visaAID)
        #expect(aip[0] & 0x40 != 0)
        try t.readRecords(afl: afl)
        let issuer = try issuerKey(t, ca: TestPKI.testOnlyVisaCA)
        let r = try Recovery.open(try #require(t.cardData[0x93]), issuer, format: 0x03)
        #expect(Array(r[3..<5]) == [0xDA, 0xC1])
        let hash = Array(r[(r.count - 21)..<(r.count - 1)])
        #expect(hash == (try Insecure.SHA1.hash(Array(r[1..<(r.count - 21)]) + t.staticData + aip)))
        #expect(t.cardData[0x9F46] == nil)
        #expect(try t.send(.internalAuthenticate(ddolRelatedData: [1, 2, 3, 4])).sw == 0x6A81)
    }

    @Test func faultyCertificatesAreDetectableByTheTerminal() throws {
        var expired = try TestTerminal("visa-expired-cert")
        try expired.readRecords(afl: try expired.start(aid: Self.visaAID).afl)
        #expect(try issuerKey(expired, ca: TestPKI.testOnlyVisaCA).certificateExpiry == [0x12, 0x20])

        var revoked = try TestTerminal("visa-revoked")
        try revoked.readRecords(afl: try revoked.start(aid: Self.visaAID).afl)
        let serial = try issuerKey(revoked, ca: TestPKI.testOnlyVisaCA).serial
        #expect(TestPKI.testOnlyRevocationList.contains { $0.certificateSerialNumber == serial && $0.index == 0xFB })

        var tampered = try TestTerminal("mastercard-tampered")
        let (aip, afl) = try tampered.start(aid: Self.mastercardAID)
        try tampered.readRecords(afl: afl)
        let issuer = try issuerKey(tampered, ca: TestPKI.testOnlyMastercardCA)
        let icc = try Recovery.certifiedKey(
            try #require(tampered.cardData[0x9F46]), signer: issuer, format: 0x04,
            remainder: tampered.cardData[0x9F48] ?? [], exponent: try #require(tampered.cardData[0x9F47]),
            extraHashData: tampered.staticData + aip)
        #expect(!icc.hashMatches, "the static data was altered after signing")
    }

    @Test func blockedApplicationsAndCards() throws {
        let blocked = try TestTerminal("blocked-app")
        let answer = try blocked.send(.select(name: Self.visaAID))
        #expect(answer.sw == 0x6283 && !answer.data.isEmpty)
        #expect(try blocked.send(.getProcessingOptions(pdolRelatedData: [])).sw == 0x6985)
        let dead = try TestTerminal("blocked-app-6a81")
        #expect(try dead.send(.select(name: Array("1PAY.SYS.DDF01".utf8))) == ([], 0x6A81))
        #expect(try dead.send(.select(name: Self.visaAID)) == ([], 0x6A81))
    }

    @Test func pinBlockedCardRefusesVerify() throws {
        var t = try TestTerminal("pin-blocked")
        _ = try t.start(aid: Self.visaAID)
        #expect(try t.send(.getData(TLVTag(0x9F17))).data == [0x9F, 0x17, 0x01, 0x00])
        #expect(try t.send([0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).sw == 0x6983)
    }

    @Test func pinTryCounterRunsOutAndPersists() throws {
        var t = try TestTerminal("visa-credit")
        _ = try t.start(aid: Self.visaAID)
        let wrong: [UInt8] = [0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x99, 0x99, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(try t.send(wrong).sw == 0x63C2)
        #expect(try t.send(wrong).sw == 0x63C1)
        t.card.reset()
        _ = try t.start(aid: Self.visaAID)
        #expect(try t.send(wrong).sw == 0x63C0)
        #expect(try t.send(wrong).sw == 0x6983)
        #expect(try t.send([0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).sw == 0x6983)
        // A malformed block is refused without counting.
        #expect(t.card.pinTryCounterValue == 0)
    }

    @Test func pulledCardThrowsAtTheFirstGenerateAC() throws {
        var t = try TestTerminal("pulled")
        let (_, afl) = try t.start(aid: Self.visaAID)
        try t.readRecords(afl: afl)
        let data = try TestTerminal.dolData(try #require(t.cardData[0x8C]))
        #expect(throws: VirtualCardError(.cardRemoved, "")) {
            _ = try t.connection.transmit(CommandAPDU.generateApplicationCryptogram(referenceControl: 0x40, cdolRelatedData: data).encoded)
        }
        #expect(throws: VirtualCardError(.cardRemoved, "")) { _ = try t.connection.transmit([0x00, 0x84, 0x00, 0x00, 0x00]) }
        let other = try TestTerminal("visa-credit")
        other.connection.disconnect()
        #expect(throws: VirtualCardError(.connectionClosed, "")) { _ = try other.connection.transmit([0x00, 0x84, 0x00, 0x00, 0x00]) }
        #expect(other.connection.slot == .contact)
    }

    @Test func malformedRecordRunsPastItsEnd() throws {
        var t = try TestTerminal("malformed-tlv")
        _ = try t.start(aid: Self.visaAID)
        let record = try t.send(.readRecord(1, shortFileIdentifier: 1))
        #expect(record.sw == 0x9000)
        #expect(throws: EMVCodecError.self) { try TLVNode(tlvEncoded: record.data) }
    }

    @Test func declineCardAndOnlineOnlyCard() throws {
        var decline = try TestTerminal("decline-card")
        try decline.readRecords(afl: try decline.start(aid: Self.visaAID).afl)
        #expect(decline.cardData[0x9F0E] == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try decline.generateAC(0x40, cdol: decline.cardData[0x8C]!).cid == 0x00)

        var online = try TestTerminal("online-only")
        let (aip, afl) = try online.start(aid: Self.visaAID)
        try online.readRecords(afl: afl)
        let answer = try online.generateAC(0x40, cdol: online.cardData[0x8C]!)
        #expect(answer.cid == 0x80)
        try expectValidCryptogram(online, answer, cdol1: online.cardData[0x8C]!, aip: aip)
        // Unable to go online (Z3): AAC.
        let second = try online.generateAC(0x40, cdol: online.cardData[0x8D]!, overrides: [0x8A: Array("Z3".utf8)])
        #expect(second.cid == 0x00)
        #expect(CardVerificationResults(issuerApplicationData: second.iad)?.contains(.unableToGoOnline) == true)
    }

    @Test func consecutiveOfflineLimitSendsTheCardOnline() throws {
        var t = try TestTerminal("visa-credit")
        var cids: [UInt8] = []
        for _ in 0..<4 {
            t.card.reset()
            let (_, afl) = try t.start(aid: Self.visaAID)
            try t.readRecords(afl: afl)
            cids.append(try t.generateAC(0x40, cdol: t.cardData[0x8C]!).cid)
        }
        #expect(cids == [0x40, 0x40, 0x40, 0x80], "LCOL 3")
    }

    // MARK: - Helpers

    func issuerKey(_ t: TestTerminal, ca: TestPKI.TestOnlyCertificationAuthorityKey) throws -> Recovery.Key {
        #expect(t.cardData[0x8F] == [ca.index])
        let recovered = try Recovery.certifiedKey(
            try #require(t.cardData[0x90]), signer: Recovery.caKey(ca), format: 0x02, remainder: t.cardData[0x92] ?? [],
            exponent: try #require(t.cardData[0x9F32]))
        #expect(recovered.hashMatches)
        return recovered.key
    }

    /// Book 2 5.3 and 6.4: issuer then ICC certificate, with the static data and the '9F4A' tags in the hash.
    func verifyCertificates(_ t: TestTerminal, ca: TestPKI.TestOnlyCertificationAuthorityKey, aip: [UInt8]) throws
        -> Recovery.Key
    {
        let issuer = try issuerKey(t, ca: ca)
        #expect(issuer.certificateExpiry == [0x12, 0x30])
        #expect(t.cardData[0x9F4A] == [0x82])
        let icc = try Recovery.certifiedKey(
            try #require(t.cardData[0x9F46]), signer: issuer, format: 0x04, remainder: t.cardData[0x9F48] ?? [],
            exponent: try #require(t.cardData[0x9F47]), extraHashData: t.staticData + aip)
        #expect(icc.hashMatches)
        return icc.key
    }

    func expectValidCryptogram(_ t: TestTerminal, _ answer: GenerateACAnswer, cdol1: [UInt8], aip: [UInt8]) throws {
        let pan = panDigits(try #require(t.cardData[0x5A]))
        let psn = try #require(t.cardData[0x5F34]?.first)
        let (sk, padding) = try sessionKeyAC(pan: pan, psn: psn, atc: answer.atcValue)
        let input = try cryptogramInput(cdol1: cdol1, cdol1Data: answer.cdolData, aip: aip, atc: answer.atc, iad: answer.iad)
        #expect(try EMV.isValidApplicationCryptogram(
            try #require(answer.cryptogram), sessionKey: sk, data: input, padding: padding))
    }
}
