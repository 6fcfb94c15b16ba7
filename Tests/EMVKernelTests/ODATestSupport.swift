import Codecs
import EMVKernel
import PaymentCrypto

/// A certification authority, issuer and card made in the test with 1024-bit (CA, issuer) and 768-bit (ICC) RSA
/// keys, and builders for Book 2 certificates and signed data whose every field can be bent to hit one rule.
struct ODAFixture: Sendable {
    let caPrivate: RSA.PrivateKey
    let caKey: CAPublicKey
    let issuerPrivate: RSA.PrivateKey
    let issuerModulus: [UInt8]
    let iccPrivate: RSA.PrivateKey
    let iccModulus: [UInt8]

    static let rid: [UInt8] = [0xA0, 0x00, 0x00, 0x03, 0x33]
    static let caIndex: UInt8 = 0xF1
    /// PAN 6212345678901234567 (19 digits), as '5A' gives it: F-padded to 10 bytes.
    static let pan: [UInt8] = [0x62, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x7F]
    static let issuerIdentifier: [UInt8] = [0x62, 0x12, 0x34, 0xFF]
    static let today = EMVDate(year: 2026, month: 11, day: 27)!
    static let staticData: [UInt8] = Array("5A0A6212345678901234567F5F24032812319F0702FF00".utf8) + [0x7C, 0x00]

    static let shared: ODAFixture = {
        do {
            let ca = try RSA.PrivateKey.generate(bits: 1024, publicExponent: 3)
            let caModulus = try ca.publicKey.modulus()
            let caExponent = try ca.publicKey.exponent()
            let checksum = try Insecure.SHA1.hash(rid + [caIndex] + caModulus + caExponent)
            let caKey = try CAPublicKey(
                rid: rid, index: caIndex, modulus: caModulus, exponent: caExponent,
                expiry: EMVDate(year: 2030, month: 12, day: 31)!, checksum: checksum)
            let issuer = try RSA.PrivateKey.generate(bits: 1024, publicExponent: 3)
            let icc = try RSA.PrivateKey.generate(bits: 768, publicExponent: 65537)
            return ODAFixture(
                caPrivate: ca, caKey: caKey, issuerPrivate: issuer, issuerModulus: try issuer.publicKey.modulus(),
                iccPrivate: icc, iccModulus: try icc.publicKey.modulus())
        } catch {
            fatalError("ODA fixture: \(error)")
        }
    }()

    /// The issuer certificate of this fixture, as a card would carry it.
    func issuerCertificate(_ edit: (inout CertificateFields) -> Void = { _ in }) throws -> CertificateFields.Built {
        var fields = CertificateFields(
            format: 0x02, identifier: Self.issuerIdentifier, expiry: [0x12, 0x28], serialNumber: [0x00, 0x12, 0x34],
            modulus: issuerModulus, exponent: [0x03])
        edit(&fields)
        return try fields.build(signer: caPrivate)
    }

    func issuerKey() throws -> RecoveredPublicKey {
        let c = try issuerCertificate()
        return try OfflineDataAuthentication.recoverIssuerPublicKey(
            certificate: c.certificate, remainder: c.remainder, exponent: c.exponent, caKey: caKey, pan: Self.pan,
            today: Self.today, revocations: .init()
        ).get()
    }

    func iccCertificate(_ edit: (inout CertificateFields) -> Void = { _ in }) throws -> CertificateFields.Built {
        var fields = CertificateFields(
            format: 0x04, identifier: Self.pan, expiry: [0x12, 0x28], serialNumber: [0x00, 0x00, 0x01],
            modulus: iccModulus, exponent: [0x01, 0x00, 0x01], extraHashData: Self.staticData)
        edit(&fields)
        return try fields.build(signer: issuerPrivate)
    }

    func iccKey() throws -> RecoveredPublicKey {
        let c = try iccCertificate()
        return try OfflineDataAuthentication.recoverICCPublicKey(
            certificate: c.certificate, remainder: c.remainder, exponent: c.exponent, issuerKey: try issuerKey(),
            staticData: Self.staticData, pan: Self.pan, today: Self.today
        ).get()
    }
}

/// The fields of an issuer (Table 6) or ICC (Table 14) public key certificate, before signing.
struct CertificateFields {
    var header: UInt8 = 0x6A
    var format: UInt8
    var identifier: [UInt8]
    var expiry: [UInt8]
    var serialNumber: [UInt8]
    var hashAlgorithm: UInt8 = 0x01
    var publicKeyAlgorithm: UInt8 = 0x01
    var modulus: [UInt8]
    var exponent: [UInt8]
    var extraHashData: [UInt8] = []
    var trailer: UInt8 = 0xBC
    /// Overrides of the length bytes; `nil` writes the true lengths.
    var keyLength: UInt8?
    var exponentLength: UInt8?
    /// Flips a bit of the hash result after computing it.
    var corruptHash = false

    struct Built {
        var certificate: [UInt8]
        var remainder: [UInt8]
        var exponent: [UInt8]
    }

    func build(signer: RSA.PrivateKey) throws -> Built {
        let n = signer.publicKey.modulusByteCount
        let fieldLength = n - 32 - identifier.count
        let leftmost = Array(modulus.prefix(fieldLength)) + [UInt8](repeating: 0xBB, count: max(0, fieldLength - modulus.count))
        let remainder = Array(modulus.dropFirst(fieldLength))
        let lengths: [UInt8] = [keyLength ?? UInt8(modulus.count), exponentLength ?? UInt8(exponent.count)]
        var body: [UInt8] = [format]
        body += identifier
        body += expiry
        body += serialNumber
        body += [hashAlgorithm, publicKeyAlgorithm]
        body += lengths
        body += leftmost
        var hashed = body
        hashed += remainder
        hashed += exponent
        hashed += extraHashData
        var hash = try Insecure.SHA1.hash(hashed)
        if corruptHash { hash[0] ^= 0x01 }
        var plain: [UInt8] = [header]
        plain += body
        plain += hash
        plain.append(trailer)
        precondition(plain.count == n, "certificate layout")
        return Built(certificate: try signer.rawPrivateOperation(plain), remainder: remainder, exponent: exponent)
    }
}

/// Signed data of format '03' (Table 7) or '05' (Tables 17 and 19), before signing.
struct SignedDataFields {
    var header: UInt8 = 0x6A
    var format: UInt8
    var hashAlgorithm: UInt8 = 0x01
    /// For format '03': the Data Authentication Code. For format '05': L_DD and the ICC Dynamic Data.
    var data: [UInt8]
    var trailingHashData: [UInt8]
    var trailer: UInt8 = 0xBC
    var corruptHash = false

    func build(signer: RSA.PrivateKey) throws -> [UInt8] {
        let n = signer.publicKey.modulusByteCount
        let body: [UInt8] = [format, hashAlgorithm] + data
        let padded = body + [UInt8](repeating: 0xBB, count: n - 22 - body.count)
        var hash = try Insecure.SHA1.hash(padded + trailingHashData)
        if corruptHash { hash[0] ^= 0x01 }
        return try signer.rawPrivateOperation([header] + padded + hash + [trailer])
    }

    /// ICC Dynamic Data for DDA: the ICC Dynamic Number with its length, preceded by L_DD.
    static func ddaData(number: [UInt8]) -> [UInt8] { [UInt8(number.count + 1), UInt8(number.count)] + number }

    /// ICC Dynamic Data for CDA (Table 19), preceded by L_DD.
    static func cdaData(number: [UInt8], cid: UInt8, cryptogram: [UInt8], transactionHash: [UInt8]) -> [UInt8] {
        let dynamic = [UInt8(number.count)] + number + [cid] + cryptogram + transactionHash
        return [UInt8(dynamic.count)] + dynamic
    }
}

/// A random source that returns a fixed byte, so enciphered PIN data is reproducible.
struct FixedRandom: RandomSource {
    var byte: UInt8 = 0x5A
    func bytes(_ count: Int) throws -> [UInt8] { [UInt8](repeating: byte, count: count) }
}

/// Hex test data; traps on a typo in the test itself.
func hex(_ text: String) -> [UInt8] {
    guard let bytes = Hex.decode(text) else { fatalError("bad hex in a test: \(text.prefix(16))") }
    return bytes
}
