import Codecs
import EMVKernel
import PaymentCrypto
import TestKit
import Testing

/// SDA: Signed Static Application Data '93' (Book 2 clause 5.4, Table 7).
@Suite struct ODASDATests {
    let f = ODAFixture.shared

    func verify(_ ssad: [UInt8], staticData: [UInt8] = ODAFixture.staticData) throws -> Result<[UInt8], ODAFailure> {
        OfflineDataAuthentication.verifySignedStaticApplicationData(ssad, issuerKey: try f.issuerKey(), staticData: staticData)
    }

    func ssad(_ edit: (inout SignedDataFields) -> Void = { _ in }) throws -> [UInt8] {
        var fields = SignedDataFields(format: 0x03, data: [0xDA, 0xC1], trailingHashData: ODAFixture.staticData)
        edit(&fields)
        return try fields.build(signer: f.issuerPrivate)
    }

    @Test func returnsTheDataAuthenticationCode() throws {
        #expect(try verify(try ssad()).get() == [0xDA, 0xC1])
    }

    @Test func everyRuleHasItsOwnReason() throws {
        func reason(_ r: Result<[UInt8], ODAFailure>) -> ODAFailure.Reason? {
            if case .failure(let e) = r { return e.reason }
            return nil
        }
        let good = try ssad()
        #expect(reason(try verify(Array(good.dropLast()))) == .signatureLength)
        #expect(reason(try verify(good + [0]))  == .signatureLength)
        #expect(reason(try verify([UInt8](repeating: 0xFF, count: 128))) == .signatureRecovery)
        #expect(reason(try verify(try ssad { $0.trailer = 0xBB })) == .signatureTrailer)
        #expect(reason(try verify(try ssad { $0.header = 0x6B })) == .signatureHeader)
        #expect(reason(try verify(try ssad { $0.format = 0x05 })) == .signatureFormat)
        #expect(reason(try verify(try ssad { $0.hashAlgorithm = 0x02 })) == .unsupportedHashAlgorithm)
        #expect(reason(try verify(try ssad { $0.corruptHash = true })) == .signatureHash)
        var changed = ODAFixture.staticData
        changed[3] ^= 0x01
        #expect(reason(try verify(good, staticData: changed)) == .signatureHash)
    }
}

/// DDA: Signed Dynamic Application Data from INTERNAL AUTHENTICATE (Book 2 clause 6.5, Table 17).
@Suite struct ODADDATests {
    let f = ODAFixture.shared
    static let ddolData: [UInt8] = [0x12, 0x34, 0x56, 0x78]

    func verify(_ sdad: [UInt8], terminal: [UInt8] = ddolData) throws -> ODAFailure.Reason? {
        let r = OfflineDataAuthentication.verifySignedDynamicApplicationData(sdad, iccKey: try f.iccKey(), terminalDynamicData: terminal)
        if case .failure(let e) = r { return e.reason }
        return nil
    }

    func sdad(number: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8], _ edit: (inout SignedDataFields) -> Void = { _ in }) throws -> [UInt8] {
        var fields = SignedDataFields(format: 0x05, data: SignedDataFields.ddaData(number: number), trailingHashData: Self.ddolData)
        edit(&fields)
        return try fields.build(signer: f.iccPrivate)
    }

    @Test func returnsTheICCDynamicNumber() throws {
        for number in [[0xAB, 0xCD], [1, 2, 3, 4, 5, 6, 7, 8]] as [[UInt8]] {
            let r = OfflineDataAuthentication.verifySignedDynamicApplicationData(
                try sdad(number: number), iccKey: try f.iccKey(), terminalDynamicData: Self.ddolData)
            #expect(try r.get() == number)
        }
    }

    @Test func everyRuleHasItsOwnReason() throws {
        let good = try sdad()
        #expect(try verify(Array(good.prefix(95))) == .signatureLength)
        #expect(try verify([UInt8](repeating: 0xFF, count: 96)) == .signatureRecovery)
        #expect(try verify(try sdad { $0.trailer = 0 }) == .signatureTrailer)
        #expect(try verify(try sdad { $0.header = 0 }) == .signatureHeader)
        #expect(try verify(try sdad { $0.format = 0x03 }) == .signatureFormat)
        #expect(try verify(try sdad { $0.hashAlgorithm = 0 }) == .unsupportedHashAlgorithm)
        #expect(try verify(try sdad { $0.corruptHash = true }) == .signatureHash)
        #expect(try verify(good, terminal: [0x12, 0x34, 0x56, 0x79]) == .signatureHash)
        // L_DD larger than N_IC - 25 (96 - 25 = 71).
        #expect(try verify(try sdad { $0.data[0] = 72 }) == .dynamicDataLength)
        #expect(try verify(try sdad { $0.data[0] = 71 }) == nil)
        // ICC Dynamic Number length outside 2...8 or past L_DD.
        #expect(try verify(try sdad(number: [1])) == .dynamicNumberLength)
        #expect(try verify(try sdad(number: [UInt8](repeating: 1, count: 9))) == .dynamicNumberLength)
        #expect(try verify(try sdad { $0.data[0] = 4 }) == .dynamicNumberLength)
        #expect(try verify(try sdad { $0.data[0] = 0 }) == .dynamicNumberLength)
    }
}

/// CDA: the signature returned by GENERATE AC (Book 2 clause 6.6.2, Tables 18/19).
@Suite struct ODACDATests {
    let f = ODAFixture.shared
    static let unpredictableNumber: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4]
    static let cid: UInt8 = 0x40
    static let cryptogram: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
    /// PDOL data || CDOL1 data || response TLVs other than '9F4B' (here '9F27' '9F36' '9F10').
    static let transactionData: [UInt8] = hex("000000010000 0156 261127 00 A1B2C3D4") + hex("9F270140 9F360200 2A 9F10 07 06010A03A00000")

    func signature(number: [UInt8] = [9, 8, 7, 6], cid: UInt8 = cid, transactionData: [UInt8] = transactionData,
                   _ edit: (inout SignedDataFields) -> Void = { _ in }) throws -> [UInt8] {
        let hash = try Insecure.SHA1.hash(transactionData)
        var fields = SignedDataFields(
            format: 0x05, data: SignedDataFields.cdaData(number: number, cid: cid, cryptogram: Self.cryptogram, transactionHash: hash),
            trailingHashData: Self.unpredictableNumber)
        edit(&fields)
        return try fields.build(signer: f.iccPrivate)
    }

    func verify(_ sdad: [UInt8], un: [UInt8] = unpredictableNumber, cid: UInt8 = cid, transactionData: [UInt8] = transactionData)
        throws -> Result<CombinedSignatureContents, ODAFailure>
    {
        OfflineDataAuthentication.verifyCombinedDynamicSignature(
            sdad, iccKey: try f.iccKey(), unpredictableNumber: un, cryptogramInformationData: cid,
            transactionDataHashInput: transactionData)
    }

    func reason(_ r: Result<CombinedSignatureContents, ODAFailure>) -> ODAFailure.Reason? {
        if case .failure(let e) = r { return e.reason }
        return nil
    }

    @Test func returnsNumberAndCryptogram() throws {
        let contents = try verify(try signature()).get()
        #expect(contents == CombinedSignatureContents(iccDynamicNumber: [9, 8, 7, 6], applicationCryptogram: Self.cryptogram))
    }

    @Test func everyRuleHasItsOwnReason() throws {
        let good = try signature()
        #expect(reason(try verify(good + [0])) == .signatureLength)
        #expect(reason(try verify([UInt8](repeating: 0xFF, count: 96))) == .signatureRecovery)
        #expect(reason(try verify(try signature { $0.trailer = 0xBB })) == .signatureTrailer)
        #expect(reason(try verify(try signature { $0.header = 0x6A ^ 0x10 })) == .signatureHeader)
        #expect(reason(try verify(try signature { $0.format = 0x03 })) == .signatureFormat)
        #expect(reason(try verify(try signature { $0.hashAlgorithm = 0x02 })) == .unsupportedHashAlgorithm)
        #expect(reason(try verify(try signature { $0.data[0] = 72 })) == .dynamicDataLength)
        #expect(reason(try verify(try signature(number: [1]))) == .dynamicNumberLength)
        // Shorter than Table 19 needs: drop the last byte of the hash code from L_DD.
        #expect(reason(try verify(try signature { $0.data[0] -= 1 })) == .dynamicDataLength)
        // The CID in the signature must be the CID of the response ('9F27'), checked before the hash.
        #expect(reason(try verify(good, cid: 0x80)) == .cryptogramInformationDataMismatch)
        #expect(reason(try verify(try signature(cid: 0x00))) == .cryptogramInformationDataMismatch)
        #expect(reason(try verify(try signature { $0.corruptHash = true })) == .signatureHash)
        #expect(reason(try verify(good, un: [0xA1, 0xB2, 0xC3, 0xD5])) == .signatureHash)
        var changed = Self.transactionData
        changed[changed.count - 1] ^= 1
        #expect(reason(try verify(good, transactionData: changed)) == .transactionDataHash)
        #expect(reason(try verify(good, un: [])) == .missingData)
    }
}

/// Offline PIN: the format 2 block and its encipherment (Book 2 clause 7.2).
@Suite struct ODAPINTests {
    let f = ODAFixture.shared

    func bytes(_ secret: SecretBytes) -> [UInt8] { secret.withUnsafeBytes { Array($0) } }

    @Test func plaintextBlockIsFormat2() throws {
        #expect(bytes(try OfflinePIN.plaintextPINBlock(digits: [1, 2, 3, 4])) == hex("241234FFFFFFFFFF"))
        #expect(bytes(try OfflinePIN.plaintextPINBlock(digits: [9, 8, 7, 6, 5])) == hex("2598765FFFFFFFFF"))
        #expect(bytes(try OfflinePIN.plaintextPINBlock(digits: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1][...])) == hex("2C012345678901FF"))
        #expect(throws: CryptoError(.invalidPIN, "")) { try OfflinePIN.plaintextPINBlock(digits: [1, 2, 3]) }
        #expect(throws: CryptoError(.invalidPIN, "")) { try OfflinePIN.plaintextPINBlock(digits: [UInt8](repeating: 1, count: 13)[...]) }
        #expect(throws: CryptoError(.invalidPIN, "")) { try OfflinePIN.plaintextPINBlock(digits: [1, 2, 3, 0x0A]) }
        // A slice that does not start at zero.
        let digits: [UInt8] = [7, 7, 1, 2, 3, 4]
        #expect(bytes(try OfflinePIN.plaintextPINBlock(digits: digits[2...])) == hex("241234FFFFFFFFFF"))
    }

    @Test func enciphersSoTheCardRecoversTheLayout() throws {
        let key = try f.iccKey()
        let block = try OfflinePIN.plaintextPINBlock(digits: [4, 3, 2, 1])
        let challenge: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        let enciphered = try OfflineDataAuthentication.encipherPIN(
            pinBlock: block, iccUnpredictableNumber: challenge, key: key, random: FixedRandom())
        #expect(enciphered.count == 96)
        // What the card does: the private operation gives back '7F' || block || challenge || padding.
        let clear = try f.iccPrivate.rawPrivateOperation(enciphered)
        var expected: [UInt8] = [0x7F]
        expected += hex("244321FFFFFFFFFF")
        expected += challenge
        expected += [UInt8](repeating: 0x5A, count: 96 - 17)
        #expect(clear == expected)
    }

    @Test func refusesWrongLengths() throws {
        let key = try f.iccKey()
        let block = try OfflinePIN.plaintextPINBlock(digits: [4, 3, 2, 1])
        #expect(throws: ODAFailure(.pinEncipherment)) {
            try OfflineDataAuthentication.encipherPIN(pinBlock: block, iccUnpredictableNumber: [1, 2, 3, 4], key: key, random: FixedRandom())
        }
        #expect(throws: ODAFailure(.pinEncipherment)) {
            try OfflineDataAuthentication.encipherPIN(pinBlock: SecretBytes(zeros: 7), iccUnpredictableNumber: [UInt8](repeating: 0, count: 8), key: key, random: FixedRandom())
        }
    }
}

/// Random signed data and certificates never trap: every outcome is a returned failure.
@Suite struct ODARandomInputTests {
    @Test func randomInputsAreFailuresNotTraps() throws {
        let f = ODAFixture.shared
        let issuerKey = try f.issuerKey()
        let iccKey = try f.iccKey()
        var rng = SplitMix(state: fuzzSeed(default: 0x5DA))
        for _ in 0..<300 {
            var data = rng.bytes(Int(rng.byte() % 4) == 0 ? Int(rng.byte()) : 96)
            if !data.isEmpty { data[0] &= 0x7F }
            let extra = rng.bytes(Int(rng.byte() % 32))
            if case .success = OfflineDataAuthentication.verifySignedDynamicApplicationData(data, iccKey: iccKey, terminalDynamicData: extra) {
                Issue.record("random DDA data verified")
            }
            if case .success = OfflineDataAuthentication.verifyCombinedDynamicSignature(
                data, iccKey: iccKey, unpredictableNumber: extra, cryptogramInformationData: rng.byte(), transactionDataHashInput: extra)
            {
                Issue.record("random CDA data verified")
            }
            var wide = rng.bytes(128)
            wide[0] &= 0x7F
            if case .success = OfflineDataAuthentication.verifySignedStaticApplicationData(wide, issuerKey: issuerKey, staticData: extra) {
                Issue.record("random SDA data verified")
            }
            if case .success = OfflineDataAuthentication.recoverICCPublicKey(
                certificate: wide, remainder: extra, exponent: [3], issuerKey: issuerKey, staticData: extra, pan: ODAFixture.pan,
                today: ODAFixture.today)
            {
                Issue.record("a random ICC certificate verified")
            }
        }
    }
}
