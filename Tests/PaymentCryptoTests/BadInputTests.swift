import PaymentCrypto
import Testing

/// Bad input gives a typed error, never a crash, and the error text never holds the secret or the card data.
@Suite struct BadInputTests {
    /// Checks the code and that none of `secrets` (hex or text) appears in the error's description.
    func expectError(
        _ code: CryptoError.Code, hiding secrets: [String] = [], sourceLocation location: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected \(code)", sourceLocation: location)
        } catch let error as CryptoError {
            #expect(error.code == code, sourceLocation: location)
            for s in secrets where !s.isEmpty {
                #expect(!String(describing: error).uppercased().contains(s.uppercased()), "the error shows a secret")
            }
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func wrongKeyLengths() {
        let key15 = SecretBytes([UInt8](repeating: 0x42, count: 15))
        expectError(.invalidKeyLength) { _ = try AES.ECB.encrypt([UInt8](repeating: 0, count: 16), key: key15) }
        expectError(.invalidKeyLength) { _ = try Insecure.TDES.ECB.encrypt([UInt8](repeating: 0, count: 8), key: key15) }
        expectError(.invalidKeyLength) { _ = try Insecure.DES.ECB.encrypt([UInt8](repeating: 0, count: 8), key: key15) }
        expectError(.invalidKeyLength) { _ = try AES.CMAC.authenticationCode(for: [UInt8](), key: key15) }
        expectError(.invalidKeyLength) { _ = try AES.GCM.seal([UInt8](), key: key15, nonce: [UInt8](repeating: 0, count: 12)) }
        expectError(.invalidKeyLength) { _ = try ISO9797MAC.algorithm3([1, 2, 3], key: key15, padding: .method1) }
        expectError(.invalidKeyLength) { _ = try EMV.commonSessionKey(iccMasterKey: key15, atc: 1) }
        expectError(.invalidKeyLength) {
            _ = try TDESDUKPT.initialKey(baseDerivationKey: key15, keySerialNumber: TDESDUKPT.KeySerialNumber(bytes("FFFF9876543210E00000")))
        }
        expectError(.invalidKeyLength) { _ = try AESDUKPT.initialKey(baseDerivationKey: key15, initialKeyID: bytes("1234567890123456")) }
        expectError(.invalidKeyLength) { _ = try TR31.unwrap("B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E", kbpk: key15) }
        expectError(.invalidKeyLength) { _ = try Ed25519.PrivateKey(rawRepresentation: key15) }
        expectError(.invalidInputLength) { _ = try AES.ECB.encrypt([UInt8](repeating: 0, count: 15), key: SecretBytes(zeros: 16)) }
        expectError(.invalidInputLength) { _ = try AES.CBC.encrypt([UInt8](repeating: 0, count: 16), key: SecretBytes(zeros: 16), iv: [0]) }
    }

    @Test func badPINs() {
        let pan = "4012345678909"
        for pin in ["123", "1234567890123", "12a4", ""] {
            expectError(.invalidPIN, hiding: [pin]) {
                _ = try PINBlock.encode(format: .format0, pin: digits(pin), pan: pan, random: SystemRandom())
            }
            expectError(.invalidPIN, hiding: [pin]) {
                _ = try PINBlock.encipherFormat4(pin: digits(pin), pan: pan, key: SecretBytes(zeros: 16), random: SystemRandom())
            }
        }
    }

    @Test func badPANs() {
        for pan in ["40123456789O9", "4012 3456 7890", "", "12345678901234567890", "-4012345678909"] {
            expectError(.invalidPAN, hiding: [pan]) {
                _ = try PINBlock.encode(format: .format0, pin: digits("1234"), pan: pan, random: SystemRandom())
            }
            expectError(.invalidPAN, hiding: [pan]) { _ = try PINBlock.format4PANField(pan: pan) }
            expectError(.invalidPAN, hiding: [pan]) {
                _ = try EMV.iccMasterKeyOptionA(issuerMasterKey: SecretBytes(zeros: 16), pan: pan, panSequenceNumber: nil)
            }
        }
        expectError(.invalidPAN) { _ = try PINBlock.encode(format: .format3, pin: digits("1234"), pan: nil, random: SystemRandom()) }
    }

    @Test func badPINBlocks() {
        // Wrong fill (format 0 needs F), wrong control field, PIN length 3 and 13, non-decimal PIN digit.
        for block in ["041274EDCBA9876E", "241274EDCBA9876F", "031274EDCBA9876F", "0D1274EDCBA9876F", "04127AEDCBA9876F"] {
            expectError(.invalidPINBlock, hiding: ["1234"]) { _ = try PINBlock.decode(secret(block), pan: "4012345678909") }
        }
        expectError(.invalidPINBlock) { _ = try PINBlock.decode(secret("0412"), pan: "4012345678909") }
        expectError(.invalidPINBlock) { _ = try PINBlock.decipherFormat4([1, 2, 3], pan: "4012345678909", key: SecretBytes(zeros: 16)) }
    }

    @Test func badKeyBlocks() {
        let kbpk = secret("DD7515F2BFC17F85CE48F3CA25CB21F6")
        let good = "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E"
        // Every strict prefix is rejected as malformed (truncation), never accepted.
        for n in 0..<good.count {
            do {
                _ = try TR31.unwrap(String(good.prefix(n)), kbpk: kbpk)
                Issue.record("a \(n)-character prefix was accepted")
            } catch let error as CryptoError {
                #expect(error.code == .malformedKeyBlock, "prefix \(n): \(error.code)")
            } catch { Issue.record("unexpected \(error)") }
        }
        // A bad MAC, a wrong KBPK, non-hex, a wrong length field, trailing garbage, unsupported versions.
        expectError(.authenticationFailure, hiding: ["3F419E1CB7079442AA37474C2EFBF8B8"]) {
            _ = try TR31.unwrap(String(good.dropLast()) + "F", kbpk: kbpk)
        }
        // (A KBPK differing only in a DES parity bit is the same key, so the wrong KBPK differs in a key bit.)
        expectError(.authenticationFailure, hiding: ["3F419E1CB7079442AA37474C2EFBF8B8"]) {
            _ = try TR31.unwrap(good, kbpk: secret("DD7515F2BFC17F85CE48F3CA25CB21E6"))
        }
        expectError(.malformedKeyBlock) { _ = try TR31.unwrap(String(good.dropLast()) + "G", kbpk: kbpk) }
        expectError(.malformedKeyBlock) { _ = try TR31.unwrap("B0081" + good.dropFirst(5), kbpk: kbpk) }
        expectError(.malformedKeyBlock) { _ = try TR31.unwrap(good + "00000000", kbpk: kbpk) }
        expectError(.malformedKeyBlock) { _ = try TR31.unwrap("B0064M3TC00E0000BBBBBBBBBBBBBBBBBBBBBBBBBBBB\u{1}BBBFFFFFFFF9AA5BBA6", kbpk: kbpk) }
        expectError(.unsupported) {
            _ = try TR31.unwrap("A0072P0TE00E0000F5161ED902807AF26F1D62263644BD24192FDB3193C730301CEE8701", kbpk: kbpk)
        }
        expectError(.unsupported) {
            _ = try TR31.unwrap("C0096B0TX12S0100KS1800604B120F9292800000BFB9B689CB567E66FC3FEE5AD5F52161FC6545B9D60989015D02155C", kbpk: kbpk)
        }
        // psec's crafted blocks: key length 0 bits and a length longer than the data (KBPK "E" * 16).
        let e16 = SecretBytes([UInt8](repeating: 0x45, count: 16))
        expectError(.malformedKeyBlock) { _ = try TR31.unwrap("B0064M3TC00E000013F1B06566ECAE897A6DF8C7AA651FCEF9480447EEEC9933", kbpk: e16) }
        expectError(.malformedKeyBlock) { _ = try TR31.unwrap("B0064M3TC00E00000398DC96A5DDB0EF61E26F8935173BD478DF9484050A672A", kbpk: e16) }
    }

    @Test func badKSNs() {
        expectError(.invalidKeySerialNumber) { _ = try TDESDUKPT.KeySerialNumber([1, 2, 3]) }
        expectError(.invalidKeySerialNumber) { _ = try AESDUKPT.KeySerialNumber(initialKeyID: [1, 2, 3], counter: 1) }
        expectError(.invalidKeySerialNumber) {
            _ = try TDESDUKPT.transactionKey(initialKey: SecretBytes(zeros: 16), keySerialNumber: TDESDUKPT.KeySerialNumber(bytes("FFFF9876543210E00000")))
        }
    }

    @Test func badEMVInputs() {
        let sk = SecretBytes(zeros: 16)
        expectError(.invalidInputLength) { _ = try EMV.arpcMethod1(sessionKey: sk, arqc: [1, 2, 3], authorisationResponseCode: [0, 0]) }
        expectError(.invalidInputLength) { _ = try EMV.arpcMethod2(sessionKey: sk, arqc: [UInt8](repeating: 0, count: 8), cardStatusUpdate: [0]) }
        expectError(.invalidInputLength) { _ = try EMV.mastercardSessionKey(iccMasterKey: sk, atc: 1, unpredictableNumber: [1]) }
        expectError(.invalidParameter) { _ = try EMV.iccMasterKeyOptionA(issuerMasterKey: sk, pan: "4012345678909", panSequenceNumber: 0x1A) }
    }
}

/// The secret type itself.
@Suite struct SecretBytesTests {
    @Test func equalityAndOperations() {
        let a = secret("00112233")
        #expect(a == secret("00112233"))
        #expect(a != secret("00112234"))
        #expect(a != secret("001122"))
        #expect(hex(a.slice(1..<3)) == "1122")
        #expect(hex(a.appending(secret("44"))) == "0011223344")
        #expect(hex(a.xor([0xFF, 0xFF, 0, 0])) == "FFEE2233")
        #expect(a.constantTimeEquals([0x00, 0x11, 0x22, 0x33]))
        #expect(SecretBytes(hexEncoded: "0") == nil && SecretBytes(hexEncoded: "zz") == nil)
        #expect(SecretBytes(hexEncoded: "00 11")?.count == 2)
    }

    /// Printing, interpolating or dumping a secret shows none of its bytes.
    @Test func noDescription() {
        let s = secret("DEADBEEFCAFEBABE")
        var dumped = ""
        dump(s, to: &dumped)
        for rendering in ["\(s)", String(describing: s), String(reflecting: s), dumped] {
            #expect(!rendering.uppercased().contains("DEADBEEF"))
            #expect(!rendering.contains("222") && !rendering.contains("173"))  // 0xDE, 0xAD in decimal
        }
    }
}
