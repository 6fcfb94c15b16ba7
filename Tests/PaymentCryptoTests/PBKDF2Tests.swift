import PaymentCrypto
import Testing

/// PBKDF2-HMAC-SHA256 against published vectors (RFC 7914 §11, the PBKDF2-HMAC-SHA256 test vectors of the scrypt RFC)
/// and a value computed with Python's hashlib (an implementation nobody here wrote).
@Suite struct PBKDF2Tests {
    @Test func rfc7914Vectors() throws {
        let one = try PBKDF2.sha256(password: SecretBytes(Array("passwd".utf8)), salt: Array("salt".utf8), iterations: 1, outputByteCount: 64)
        #expect(one.withUnsafeBytes { hex(Array($0)) } ==
            "55AC046E56E3089FEC1691C22544B605F94185216DDE0465E68B9D57C20DACBC49CA9CCCF179B645991664B39D77EF317C71B845B1E30BD509112041D3A19783")
        let many = try PBKDF2.sha256(
            password: SecretBytes(Array("Password".utf8)), salt: Array("NaCl".utf8), iterations: 80_000, outputByteCount: 64)
        #expect(many.withUnsafeBytes { hex(Array($0)) } ==
            "4DDCD8F60B98BE21830CEE5EF22701F9641A4418D04C0414AEFF08876B34AB56A1D425A1225833549ADB841B51C9B3176A272BDEBBA1D078478F62B397F33C8D")
    }

    /// `hashlib.pbkdf2_hmac('sha256', b'123456', bytes(range(16)), 50000, 32)`.
    @Test func matchesHashlib() throws {
        let key = try PBKDF2.sha256(
            password: SecretBytes(Array("123456".utf8)), salt: (0..<16).map { UInt8($0) }, iterations: 50_000, outputByteCount: 32)
        #expect(key.withUnsafeBytes { hex(Array($0)) } == "B267230E12D7F71C03DAEB69FD1ECA98026C42077455EF9E25E31E7F6A2293F8")
    }

    @Test func rejectsImpossibleParameters() {
        #expect(throws: CryptoError.self) { try PBKDF2.sha256(password: SecretBytes([1]), salt: [UInt8](), iterations: 0, outputByteCount: 32) }
        #expect(throws: CryptoError.self) { try PBKDF2.sha256(password: SecretBytes([1]), salt: [UInt8](), iterations: 1, outputByteCount: 65) }
    }
}
