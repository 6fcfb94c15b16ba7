import PaymentCrypto
import Testing

/// Known-answer tests of the OpenSSL wrapper, each against a published vector.
@Suite struct PrimitiveVectorTests {
    // FIPS 197 Appendix C.1-C.3.
    @Test(arguments: [
        ("000102030405060708090a0b0c0d0e0f", "69C4E0D86A7B0430D8CDB78070B4C55A"),
        ("000102030405060708090a0b0c0d0e0f1011121314151617", "DDA97CA4864CDFE06EAF70A0EC0D7191"),
        ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8EA2B7CA516745BFEAFC49904B496089"),
    ])
    func aesFIPS197(key: String, ciphertext: String) throws {
        let plaintext = bytes("00112233445566778899aabbccddeeff")
        #expect(hex(try AES.ECB.encrypt(plaintext, key: secret(key))) == ciphertext)
        #expect(try AES.ECB.decrypt(bytes(ciphertext), key: secret(key)) == SecretBytes(plaintext))
    }

    static let sp80038AKey = "2b7e151628aed2a6abf7158809cf4f3c"
    static let sp80038APlaintext =
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

    // NIST SP 800-38A F.1.1 (ECB-AES128) and F.2.1/F.2.2 (CBC-AES128).
    @Test func aesSP80038A() throws {
        let key = secret(Self.sp80038AKey)
        let pt = bytes(Self.sp80038APlaintext)
        #expect(hex(try AES.ECB.encrypt(Array(pt.prefix(16)), key: key)) == "3AD77BB40D7A3660A89ECAF32466EF97")
        let iv = bytes("000102030405060708090a0b0c0d0e0f")
        let ct = try AES.CBC.encrypt(pt, key: key, iv: iv)
        #expect(hex(ct) == "7649ABAC8119B246CEE98E9B12E9197D5086CB9B507219EE95DB113A917678B273BED6B8E3C1743B7116E69E222295163FF1CAA1681FAC09120ECA307586E1A7")
        #expect(try AES.CBC.decrypt(ct, key: key, iv: iv) == SecretBytes(pt))
    }

    // NIST SP 800-38B D.1 (AES-128 CMAC), examples 1-4.
    @Test(arguments: [
        (0, "BB1D6929E95937287FA37D129B756746"), (16, "070A16B46B4D4144F79BDD9DD04A287C"),
        (40, "DFA66747DE9AE63030CA32611497C827"), (64, "51F0BEBF7E3B9D92FC49741779363CFE"),
    ])
    func aesCMAC(length: Int, mac: String) throws {
        let message = Array(bytes(Self.sp80038APlaintext).prefix(length))
        #expect(hex(try AES.CMAC.authenticationCode(for: message, key: secret(Self.sp80038AKey))) == mac)
    }

    // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 2 and 4.
    @Test func aesGCM() throws {
        let box2 = try AES.GCM.seal([UInt8](repeating: 0, count: 16), key: SecretBytes(zeros: 16), nonce: [UInt8](repeating: 0, count: 12))
        #expect(hex(box2.ciphertext) == "0388DACE60B6A392F328C2B971B2FE78")
        #expect(hex(box2.tag) == "AB6E47D42CEC13BDF53A67B21257BDDF")

        let key = secret("feffe9928665731c6d6a8f9467308308")
        let nonce = bytes("cafebabefacedbaddecaf888")
        let aad = bytes("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let pt = bytes("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
        let box = try AES.GCM.seal(pt, key: key, nonce: nonce, authenticating: aad)
        #expect(hex(box.ciphertext) == "42831EC2217774244B7221B784D0D49CE3AA212F2C02A4E035C17E2329ACA12E21D514B25466931C7D8F6A5AAC84AA051BA30B396A0AAC973D58E091")
        #expect(hex(box.tag) == "5BC94FBC3221A5DB94FAE95AE7121A47")
        #expect(try AES.GCM.open(box, key: key, nonce: nonce, authenticating: aad) == SecretBytes(pt))

        var tampered = box
        tampered.tag[0] ^= 1
        #expect(throws: CryptoError(.authenticationFailure, "")) {
            try AES.GCM.open(tampered, key: key, nonce: nonce, authenticating: aad)
        }
        #expect(throws: CryptoError(.authenticationFailure, "")) {
            try AES.GCM.open(box, key: key, nonce: nonce, authenticating: [UInt8]())
        }
    }

    // NIST SP 800-67 Rev. 2 Appendix B (3TDEA ECB example, "The qufck brown fox jump").
    @Test func tdesSP80067() throws {
        let key = secret("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123")
        let pt = Array("The qufck brown fox jump".utf8)
        let ct = try Insecure.TDES.ECB.encrypt(pt, key: key)
        #expect(hex(ct) == "A826FD8CE53B855FCCE21C8112256FE668D5C05DD9B6B900")
        #expect(try Insecure.TDES.ECB.decrypt(ct, key: key) == SecretBytes(pt))
    }

    // FIPS 113 / ANSI X9.9 DES CBC-MAC example and FIPS 81 CBC example ("Now is the time for all ").
    @Test func singleDES() throws {
        let key = secret("0123456789ABCDEF")
        let mac = try ISO9797MAC.algorithm1(Array("7654321 Now is the time for ".utf8), key: key, padding: .method1)
        #expect(hex(mac) == "F1D30F6849312CA4")
        // FIPS 81 Table C1 (CBC): IV 1234567890ABCDEF.
        let cbc = try Insecure.DES.CBC.encrypt(
            Array("Now is the time for all ".utf8), key: key, iv: bytes("1234567890ABCDEF"))
        #expect(hex(cbc) == "E5C7CDDE872BF27C43E934008C389C0F683788499A7C05F6")
        // 2TDEA with K1 = K2 is single DES.
        #expect(try Insecure.TDES.ECB.encrypt(Array(cbc.prefix(8)), key: secret("0123456789ABCDEF0123456789ABCDEF"))
                == Insecure.DES.ECB.encrypt(Array(cbc.prefix(8)), key: key))
    }

    // FIPS 180-4 examples ("abc").
    @Test func hashes() throws {
        #expect(hex(try Insecure.SHA1.hash(Array("abc".utf8))) == "A9993E364706816ABA3E25717850C26C9CD0D89D")
        #expect(hex(try SHA256.hash(Array("abc".utf8))) == "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
        #expect(hex(try SHA256.hash([UInt8]())) == "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")
    }

    // RFC 4231 test cases 1-4, 6, 7 (and 5, truncated to 128 bits).
    @Test(arguments: [
        (String(repeating: "0b", count: 20), hex(Array("Hi There".utf8)), "B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7"),
        (hex(Array("Jefe".utf8)), hex(Array("what do ya want for nothing?".utf8)), "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"),
        (String(repeating: "aa", count: 20), String(repeating: "dd", count: 50), "773EA91E36800E46854DB8EBD09181A72959098B3EF8C122D9635514CED565FE"),
        ("0102030405060708090a0b0c0d0e0f10111213141516171819", String(repeating: "cd", count: 50), "82558A389A443C0EA4CC819899F2083A85F0FAA3E578F8077A2E3FF46729665B"),
        (String(repeating: "aa", count: 131), hex(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)), "60E431591EE0B67F0D8A26AACBF5B77F8E0BC6213728C5140546040F0EE37F54"),
        (String(repeating: "aa", count: 131), hex(Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8)), "9B09FFA71B942FCB27635FBCD5B0E944BFDC63644F0713938A7F51535C3A35E2"),
    ])
    func hmacRFC4231(key: String, data: String, mac: String) throws {
        #expect(hex(try HMAC.sha256(bytes(data), key: secret(key))) == mac)
        #expect(try HMAC.isValidSHA256(bytes(mac), for: bytes(data), key: secret(key)))
    }

    @Test func hmacTruncatedRFC4231Case5() throws {
        let key = secret(String(repeating: "0c", count: 20))
        let tag = bytes("A3B6167473100EE06E0C796C2955552B")
        #expect(try HMAC.isValidSHA256(tag, for: Array("Test With Truncation".utf8), key: key))
        #expect(try !HMAC.isValidSHA256(Array(tag.reversed()), for: Array("Test With Truncation".utf8), key: key))
    }

    // RFC 5869 A.1.
    @Test func hkdfRFC5869() throws {
        let okm = try HKDF.sha256(
            inputKeyMaterial: secret(String(repeating: "0b", count: 22)), salt: bytes("000102030405060708090a0b0c"),
            info: bytes("f0f1f2f3f4f5f6f7f8f9"), outputByteCount: 42)
        #expect(hex(okm) == "3CB25F25FAACD57A90434F64D0362F2A2D2D0A90CF1A5A4C5DB02D56ECC4C5BF34007208D5B887185865")
    }

    // RFC 8032 clause 7.1, tests 1-3.
    @Test(arguments: [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ])
    func ed25519RFC8032(secretKey: String, publicKey: String, message: String, signature: String) throws {
        let key = try Ed25519.PrivateKey(rawRepresentation: secret(secretKey))
        let pub = try key.publicKey()
        #expect(hex(pub.rawRepresentation) == publicKey.uppercased())
        let sig = try key.signature(for: bytes(message))
        #expect(hex(sig) == signature.uppercased())
        #expect(try pub.isValidSignature(sig, for: bytes(message)))
        #expect(try !pub.isValidSignature(sig, for: bytes(message) + [0]))
        var bad = sig
        bad[0] ^= 0x80
        #expect(try !pub.isValidSignature(bad, for: bytes(message)))
    }

    // RFC 6979 A.2.5: P-256 key, SHA-256, message "sample" (verification of the published signature).
    @Test func ecdsaP256RFC6979() throws {
        let pub = try P256.PublicKey(x963Representation: bytes(
            "04" + "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
                + "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"))
        let sig = try P256.Signature(rawRepresentation: bytes(
            "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
                + "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"))
        #expect(try pub.isValidSignature(sig, for: Array("sample".utf8)))
        #expect(try !pub.isValidSignature(sig, for: Array("test".utf8)))
        // DER round trip.
        let der = try sig.derRepresentation()
        #expect(try P256.Signature(derRepresentation: der) == sig)
    }

    @Test func ecdsaP256SignVerifyAndDER() throws {
        let key = try P256.PrivateKey()
        let message = Array("terminal update".utf8)
        let sig = try key.signature(for: message)
        let pub = try key.publicKey()
        #expect(try pub.isValidSignature(sig, for: message))
        #expect(try !pub.isValidSignature(sig, for: message + [1]))
        let restored = try P256.PrivateKey(derRepresentation: key.derRepresentation())
        #expect(try restored.publicKey() == pub)
        #expect(throws: CryptoError.self) { try P256.Signature(derRepresentation: [0x30, 0x02, 0x01]) }
    }

    /// RSA raw operations: a generated EMV-size key (1984 bits, exponent 3) recovers what its private key made,
    /// and a key imported from modulus and exponent gives the same result.
    @Test func rsaRawRoundTrip() throws {
        let key = try RSA.PrivateKey.generate(bits: 1024, publicExponent: 3)
        let pub = key.publicKey
        #expect(pub.modulusByteCount == 128)
        #expect(try pub.exponent() == [3])
        // An EMV-formatted block: header 6A, body, trailer BC (smaller than the modulus since it starts with 6A).
        var block = [UInt8](repeating: 0xBB, count: 128)
        block[0] = 0x6A
        block[127] = 0xBC
        let signed = try key.rawPrivateOperation(block)
        #expect(try pub.rawPublicOperation(signed) == block)
        let imported = try RSA.PublicKey(modulus: pub.modulus(), exponent: [0x03])
        #expect(try imported.rawPublicOperation(signed) == block)
        let restored = try RSA.PrivateKey(derRepresentation: key.derRepresentation())
        #expect(try restored.rawPrivateOperation(block) == signed)
        // The input must be exactly as long as the modulus.
        #expect(throws: CryptoError(.invalidInputLength, "")) { try pub.rawPublicOperation(Array(block.dropLast())) }
    }

    /// Raw RSA against a key and message whose result is known by arithmetic: with n = p·q and e = 3,
    /// 2^e mod n = 8.
    @Test func rsaPublicOperationSmallValue() throws {
        let key = try RSA.PrivateKey.generate(bits: 1984, publicExponent: 3)
        let pub = key.publicKey
        #expect(pub.modulusByteCount == 248)
        var two = [UInt8](repeating: 0, count: 248)
        two[247] = 2
        var eight = [UInt8](repeating: 0, count: 248)
        eight[247] = 8
        #expect(try pub.rawPublicOperation(two) == eight)
    }
}
