import Codecs
import PaymentCrypto
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// TEST ONLY: how the RSA keys of `TestPKI.swift` were made, once. Runs only with `VCARD_GENERATE_PKI=<path>` and
/// writes the key constants (DER, hex) to that path, to be pasted into `TestPKI.swift`. Cards never generate RSA keys.
@Suite struct TestPKIGenerator {
    static let outputPath: String? = getenv("VCARD_GENERATE_PKI").map { String(cString: $0) }

    @Test(.enabled(if: outputPath != nil)) func generateTestOnlyKeys() throws {
        let keys: [(name: String, bits: Int, exponent: UInt)] = [
            ("testOnlyVisaCAKeyDER", 1408, 3),
            ("testOnlyMastercardCAKeyDER", 1408, 65537),
            ("testOnlyUnionPayCAKeyDER", 1408, 3),
            ("testOnlyVisaIssuerKeyDER", 1152, 3),
            ("testOnlyMastercardIssuerKeyDER", 1024, 65537),
            ("testOnlyUnionPayIssuerKeyDER", 1152, 65537),
            ("testOnlyVisaICCKeyDER", 768, 3),
            ("testOnlyMastercardICCKeyDER", 1024, 65537),
            ("testOnlyMastercardPINKeyDER", 768, 3),
            ("testOnlyUnionPayICCKeyDER", 896, 65537),
        ]
        var text = ""
        for key in keys {
            let der = try RSA.PrivateKey.generate(bits: key.bits, publicExponent: key.exponent).derRepresentation()
            let hex = der.withUnsafeBytes { Hex.encode($0) }
            text += "    /// TEST ONLY: \(key.bits)-bit RSA private key, exponent \(key.exponent) (PKCS#1 DER, hex).\n"
            text += "    static let \(key.name) = \"\(hex)\"\n"
        }
        guard let path = Self.outputPath, let file = fopen(path, "w") else { return }
        fputs(text, file)
        fclose(file)
    }
}
