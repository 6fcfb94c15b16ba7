import Codecs
import EMVKernel
import PaymentCrypto
import Testing

/// A certificate chain read from an American Express test card and published with the test data of the GitHub
/// project shham12/nfc_emv_adaptor (ICCPublicKeyDecoderTest): the Amex TEST CA key C9 (1408 bits), the card's
/// Issuer Public Key Certificate '90' with remainder '92', the PAN '5A' 374245002751005 and the ICC Public Key
/// Certificate '9F46'. The records needed for the ICC certificate's static data are not published, so the ICC
/// certificate can only be taken as far as its hash.
@Suite struct ODAPublishedChainTests {
    static let caModulus = hex("""
        B362DB5733C15B8797B8ECEE55CB1A371F760E0BEDD3715BB270424FD4EA26062C38C3F4AAA3732A83D36EA8E9602F6683EECC6BAFF63D
        D2D49014BDE4D6D603CD744206B05B4BAD0C64C63AB3976B5C8CAAF8539549F5921C0B700D5B0F83C4E7E946068BAAAB5463544DB18C6380
        1118F2182EFCC8A1E85E53C2A7AE839A5C6A3CABE73762B70D170AB64AFC6CA482944902611FB0061E09A67ACB77E493D998A0CCF93D81
        A4F6C0DC6B7DF22E62DB
        """)
    static let issuerCertificate = hex("""
        20DF7FF4B9968169B50DABED606B2FA12A0A26ED0A9791F5FE16965AC3A3AC60924BA722A7EA668D40C79A7A8F519949A2E7059CCD4685
        C16465084A47AA71192ABEF7D45AAE2513501D81BA150A6C533B02026C275888DA3E2D62C1554ED49BC9BECABF24387B1BDE7A06E9861B
        6CC0F0DACCC001393D4E4CB976EBB3C2FC0165D4A32C0CB99BD8549B8295026620D028204524ACED3379558490450D21B6A062204FAF51
        60FE24CF5AC5F2D9B20533
        """)
    static let issuerRemainder = hex("8FC44EE8B5ECB266790274EEF50A9F6BD598C58C444508E6DF9AB7A5028DE7DEB5DA6BDB")
    static let iccCertificate = hex("""
        5F9CAF135C826BE612AFE7FE141E3D41E1E7A2AF8BB5EDE18745225954ABEA5362C94BBBF13C3CAD1F08BD1D6BD9C424EF0EF6DEDE36BD
        292E12DA7C24459E2FBEC191C625032F59B7F61E045DC6E536F0E53D0ACB0E8E342DC79F2384C37E346C7B56326898DEDB7766603FAC80
        691ABAE30593E909F4B5E39236D0EB4508214E2BD0344B72CBD1048B294A592B84BA01E646760ED07B5AF0034FB3EA9D78409CFE45E3BD
        F916DA1789C924F2379AE6
        """)
    static let pan = hex("374245002751005F")

    static func caKey() throws -> CAPublicKey {
        try CAPublicKey(
            rid: hex("A000000025"), index: 0xC9, modulus: caModulus, exponent: [3],
            expiry: EMVDate(year: 2049, month: 12, day: 31)!, checksum: hex("8E8DFF443D78CD91DE88821D70C98F0638E51E49"))
    }

    func issuer(today: EMVDate, revocations: CertificateRevocationList = .init()) throws -> Result<RecoveredPublicKey, ODAFailure> {
        OfflineDataAuthentication.recoverIssuerPublicKey(
            certificate: Self.issuerCertificate, remainder: Self.issuerRemainder, exponent: [3], caKey: try Self.caKey(),
            pan: Self.pan, today: today, revocations: revocations)
    }

    @Test func recoversThePublishedIssuerKey() throws {
        // The certificate expires at the end of December 2024 (MMYY 1224), serial number 010007, N_I = 176.
        let key = try issuer(today: EMVDate(year: 2024, month: 12, day: 31)!).get()
        #expect(key.modulus.count == 176 && key.exponent == [3])
        #expect(key.serialNumber == [0x01, 0x00, 0x07])
        #expect(key.expiry == EMVDate(year: 2024, month: 12, day: 31))
        #expect(key.modulus.suffix(36) == Self.issuerRemainder[...])
        // On the next day it has expired; revoked, it fails the revocation check.
        guard case .failure(let expired) = try issuer(today: EMVDate(year: 2025, month: 1, day: 1)!) else {
            Issue.record("an expired certificate verified")
            return
        }
        #expect(expired.reason == .certificateExpired)
        let list = CertificateRevocationList([.init(rid: hex("A000000025"), caIndex: 0xC9, serialNumber: [0x01, 0x00, 0x07])])
        guard case .failure(let revoked) = try issuer(today: EMVDate(year: 2024, month: 6, day: 1)!, revocations: list) else {
            Issue.record("a revoked certificate verified")
            return
        }
        #expect(revoked.reason == .certificateRevoked)
    }

    @Test func takesThePublishedICCCertificateAsFarAsItsHash() throws {
        let issuerKey = try issuer(today: EMVDate(year: 2024, month: 12, day: 1)!).get()
        // Length, trailer, header and format '04' pass with the recovered issuer key; the hash needs the card's
        // records, which are not published.
        let result = OfflineDataAuthentication.recoverICCPublicKey(
            certificate: Self.iccCertificate, remainder: [], exponent: [3], issuerKey: issuerKey, staticData: [],
            pan: Self.pan, today: EMVDate(year: 2024, month: 12, day: 1)!)
        guard case .failure(let failure) = result else {
            Issue.record("verified without the static data")
            return
        }
        #expect(failure.reason == .certificateHash)
    }
}
