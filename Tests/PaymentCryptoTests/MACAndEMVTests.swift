import PaymentCrypto
import Testing

/// ISO/IEC 9797-1 MACs and EMV cryptograms.
@Suite struct MACAndEMVTests {
    /// ISO/IEC 9797-1 Annex B / ANSI X9.19 retail MAC examples.
    @Test func retailMAC() throws {
        let key = secret("0123456789ABCDEFFEDCBA9876543210")
        let message = Array("Now is the time for all ".utf8)
        #expect(hex(try ISO9797MAC.algorithm3(message, key: key, padding: .method1)) == "A1C72E74EA3FA9B6")
        #expect(hex(try ISO9797MAC.algorithm3(message, key: key, padding: .method2)) == "E9086230CA3BE796")
        #expect(hex(try ISO9797MAC.algorithm3(Array("Now is the time for it".utf8), key: key, padding: .method1)) == "2E2B1428CC78254F")
        #expect(hex(try ISO9797MAC.algorithm3(message, key: key, padding: .method1, length: 4)) == "A1C72E74")
    }

    /// MAC algorithm 1 with single DES is the FIPS 113 example; with 2TDEA K = K′ it equals single DES.
    @Test func algorithm1() throws {
        let message = Array("7654321 Now is the time for ".utf8)
        #expect(hex(try ISO9797MAC.algorithm1(message, key: secret("0123456789ABCDEF"), padding: .method1)) == "F1D30F6849312CA4")
        #expect(hex(try ISO9797MAC.algorithm1(message, key: secret("0123456789ABCDEF0123456789ABCDEF"), padding: .method1))
                == "F1D30F6849312CA4")
    }

    /// pyemv 1.5.0 documented examples (EMV Book 2 A1.4.1 option A, A1.3.1 common session key, A1.2 AC, 8.2 ARPC).
    @Test func emvKeyDerivation() throws {
        let imk = secret("0123456789ABCDEFFEDCBA9876543210")
        #expect(hex(try EMV.iccMasterKeyOptionA(issuerMasterKey: imk, pan: "12345678901234567", panSequenceNumber: 0x01))
                == "73AD54688CEF2934B0979857E3C719F1")
        #expect(hex(try EMV.commonSessionKey(iccMasterKey: imk, diversification: bytes("001C000000000000")))
                == "E9FB384AF807B940FEDCEA613461B0C4")
        #expect(hex(try EMV.commonSessionKey(iccMasterKey: imk, atc: 0x001C)) == "E9FB384AF807B940FEDCEA613461B0C4")
        // Mastercard SKD is the common derivation with R = ATC || 0000 || UN.
        #expect(try EMV.mastercardSessionKey(iccMasterKey: imk, atc: 0x001C, unpredictableNumber: bytes("A1B2C3D4"))
                == EMV.commonSessionKey(iccMasterKey: imk, diversification: bytes("001C0000A1B2C3D4")))
    }

    @Test func applicationCryptogramsAndARPC() throws {
        let sk = secret("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
        let data = bytes("000000002000" + "000000000000" + "0124" + "0000008000" + "0124" + "110309" + "00" + "3804823E" + "5800" + "0001")
        let arqc = try EMV.applicationCryptogram(sessionKey: sk, data: data, padding: .method2)
        #expect(hex(arqc) == "3B76CF10FECD8789")
        #expect(try EMV.isValidApplicationCryptogram(arqc, sessionKey: sk, data: data, padding: .method2))
        #expect(try !EMV.isValidApplicationCryptogram(arqc, sessionKey: sk, data: data + [0], padding: .method2))
        #expect(try !EMV.isValidApplicationCryptogram(arqc, sessionKey: sk, data: data, padding: .method1))
        #expect(hex(try EMV.arpcMethod1(sessionKey: sk, arqc: bytes("1234567890ABCDEF"), authorisationResponseCode: bytes("0000"))) == "F5E6F44147E2F1B0")
        #expect(hex(try EMV.arpcMethod2(sessionKey: sk, arqc: bytes("1234567890ABCDEF"), cardStatusUpdate: bytes("00000000"))) == "9308BEBC")

        let sk2 = secret("29B33180E567CE38EA4CBC9D753B0E61")
        let arqc2 = try EMV.applicationCryptogram(sessionKey: sk2, data: bytes("0123456789ABCDEF0123456789ABCDEF"), padding: .method2)
        #expect(hex(arqc2) == "FA624250B008B59A")
        #expect(hex(try EMV.arpcMethod1(sessionKey: sk2, arqc: arqc2, authorisationResponseCode: bytes("0000"))) == "45D4255EEF10C920")
        #expect(hex(try EMV.arpcMethod2(sessionKey: sk2, arqc: arqc2, cardStatusUpdate: bytes("00000000"))) == "CB56FA40")
    }

    /// The whole chain of the test-rig example: IMK → ICC MK (option A) → session key → ARQC → ARPC 1 and 2.
    @Test func emvChain() throws {
        let mk = try EMV.iccMasterKeyOptionA(
            issuerMasterKey: secret("0123456789ABCDEFFEDCBA9876543210"), pan: "5413330089020011", panSequenceNumber: 0x00)
        let sk = try EMV.commonSessionKey(iccMasterKey: mk, atc: 0x001C)
        let arqc = try EMV.applicationCryptogram(
            sessionKey: sk, data: bytes("0000000010000000000000000840000000000008402511270052BF45855800001C03A4A082"), padding: .method2)
        #expect(hex(arqc) == "134B0D19C9945566")
        #expect(hex(try EMV.arpcMethod1(sessionKey: sk, arqc: arqc, authorisationResponseCode: Array("00".utf8))) == "05D3686838F148A5")
        #expect(hex(try EMV.arpcMethod2(sessionKey: sk, arqc: arqc, cardStatusUpdate: [0, 0, 0, 0])) == "22E04710")
    }
}
