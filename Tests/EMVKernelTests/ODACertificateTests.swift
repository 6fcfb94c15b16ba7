import Codecs
import EMVKernel
import PaymentCrypto
import TestKit
import Testing

/// The CA public key checksum (Book 2 Annex B2.1) against the schemes' published TEST keys, and key refusal.
@Suite struct ODACAKeyTests {
    /// Published test CA keys (Visa VSDC test keys 92/94/95, Mastercard test keys EF/F1/F3/FA, UnionPay test keys
    /// 08/09/0A/0B): RID, index, modulus, SHA-1 checksum; exponent 3 for all of them. The same keys are in
    /// board/sim/emv-parameters.toml; ParametersFileTests checks that file separately.
    static let published: [(rid: String, index: UInt8, modulus: String, checksum: String)] = [
        ("A000000003", 0x92, "996AF56F569187D09293C14810450ED8EE3357397B18A2458EFAA92DA3B6DF6514EC060195318FD43BE9B8F0CC669E3F844057CBDDF8BDA191BB64473BC8DC9A730DB8F6B4EDE3924186FFD9B8C7735789C23A36BA0B8AF65372EB57EA5D89E7D14E9C7B6B557460F10885DA16AC923F15AF3758F0F03EBD3C5C2C949CBA306DB44E6A2C076C5F67E281D7EF56785DC4D75945E491F01918800A9E2DC66F60080566CE0DAF8D17EAD46AD8E30A247C9F", "429C954A3859CEF91295F663C963E582ED6EB253"),
        ("A000000003", 0x94, "ACD2B12302EE644F3F835ABD1FC7A6F62CCE48FFEC622AA8EF062BEF6FB8BA8BC68BBF6AB5870EED579BC3973E121303D34841A796D6DCBC41DBF9E52C4609795C0CCF7EE86FA1D5CB041071ED2C51D2202F63F1156C58A92D38BC60BDF424E1776E2BC9648078A03B36FB554375FC53D57C73F5160EA59F3AFC5398EC7B67758D65C9BFF7828B6B82D4BE124A416AB7301914311EA462C19F771F31B3B57336000DFF732D3B83DE07052D730354D297BEC72871DCCF0E193F171ABA27EE464C6A97690943D59BDABB2A27EB71CEEBDAFA1176046478FD62FEC452D5CA393296530AA3F41927ADFE434A2DF2AE3054F8840657A26E0FC617", "C4A3C43CCF87327D136B804160E47D43B60E6E0F"),
        ("A000000003", 0x95, "BE9E1FA5E9A803852999C4AB432DB28600DCD9DAB76DFAAA47355A0FE37B1508AC6BF38860D3C6C2E5B12A3CAAF2A7005A7241EBAA7771112C74CF9A0634652FBCA0E5980C54A64761EA101A114E0F0B5572ADD57D010B7C9C887E104CA4EE1272DA66D997B9A90B5A6D624AB6C57E73C8F919000EB5F684898EF8C3DBEFB330C62660BED88EA78E909AFF05F6DA627B", "EE1511CEC71020A9B90443B37B1D5F6E703030F6"),
        ("A000000004", 0xEF, "A191CB87473F29349B5D60A88B3EAEE0973AA6F1A082F358D849FDDFF9C091F899EDA9792CAF09EF28F5D22404B88A2293EEBBC1949C43BEA4D60CFD879A1539544E09E0F09F60F065B2BF2A13ECC705F3D468B9D33AE77AD9D3F19CA40F23DCF5EB7C04DC8F69EBA565B1EBCB4686CD274785530FF6F6E9EE43AA43FDB02CE00DAEC15C7B8FD6A9B394BABA419D3F6DC85E16569BE8E76989688EFEA2DF22FF7D35C043338DEAA982A02B866DE5328519EBBCD6F03CDD686673847F84DB651AB86C28CF1462562C577B853564A290C8556D818531268D25CC98A4CC6A0BDFFFDA2DCCA3A94C998559E307FDDF915006D9A987B07DDAEB3B", "21766EBB0EE122AFB65D7845B73DB46BAB65427A"),
        ("A000000004", 0xF1, "A0DCF4BDE19C3546B4B6F0414D174DDE294AABBB828C5A834D73AAE27C99B0B053A90278007239B6459FF0BBCD7B4B9C6C50AC02CE91368DA1BD21AAEADBC65347337D89B68F5C99A09D05BE02DD1F8C5BA20E2F13FB2A27C41D3F85CAD5CF6668E75851EC66EDBF98851FD4E42C44C1D59F5984703B27D5B9F21B8FA0D93279FBBF69E090642909C9EA27F898959541AA6757F5F624104F6E1D3A9532F2A6E51515AEAD1B43B3D7835088A2FAFA7BE7", "D8E68DA167AB5A85D8C3D55ECB9B0517A1A5B4BB"),
        ("A000000004", 0xF3, "98F0C770F23864C2E766DF02D1E833DFF4FFE92D696E1642F0A88C5694C6479D16DB1537BFE29E4FDC6E6E8AFD1B0EB7EA0124723C333179BF19E93F10658B2F776E829E87DAEDA9C94A8B3382199A350C077977C97AFF08FD11310AC950A72C3CA5002EF513FCCC286E646E3C5387535D509514B3B326E1234F9CB48C36DDD44B416D23654034A66F403BA511C5EFA3", "A69AC7603DAF566E972DEDC2CB433E07E8B01A9A"),
        ("A000000004", 0xFA, "A90FCD55AA2D5D9963E35ED0F440177699832F49C6BAB15CDAE5794BE93F934D4462D5D12762E48C38BA83D8445DEAA74195A301A102B2F114EADA0D180EE5E7A5C73E0C4E11F67A43DDAB5D55683B1474CC0627F44B8D3088A492FFAADAD4F42422D0E7013536C3C49AD3D0FAE96459B0F6B1B6056538A3D6D44640F94467B108867DEC40FAAECD740C00E2B7A8852D", "5BED4068D96EA16D2D77E03D6036FC7A160EA99C"),
        ("A000000333", 0x08, "B61645EDFD5498FB246444037A0FA18C0F101EBD8EFA54573CE6E6A7FBF63ED21D66340852B0211CF5EEF6A1CD989F66AF21A8EB19DBD8DBC3706D135363A0D683D046304F5A836BC1BC632821AFE7A2F75DA3C50AC74C545A754562204137169663CFCC0B06E67E2109EBA41BC67FF20CC8AC80D7B6EE1A95465B3B2657533EA56D92D539E5064360EA4850FED2D1BF", "EE23B616C95C02652AD18860E48787C079E8E85A"),
        ("A000000333", 0x09, "EB374DFC5A96B71D2863875EDA2EAFB96B1B439D3ECE0B1826A2672EEEFA7990286776F8BD989A15141A75C384DFC14FEF9243AAB32707659BE9E4797A247C2F0B6D99372F384AF62FE23BC54BCDC57A9ACD1D5585C303F201EF4E8B806AFB809DB1A3DB1CD112AC884F164A67B99C7D6E5A8A6DF1D3CAE6D7ED3D5BE725B2DE4ADE23FA679BF4EB15A93D8A6E29C7FFA1A70DE2E54F593D908A3BF9EBBD760BBFDC8DB8B54497E6C5BE0E4A4DAC29E5", "A075306EAB0045BAF72CDD33B3B678779DE1F527"),
        ("A000000333", 0x0A, "B2AB1B6E9AC55A75ADFD5BBC34490E53C4C3381F34E60E7FAC21CC2B26DD34462B64A6FAE2495ED1DD383B8138BEA100FF9B7A111817E7B9869A9742B19E5C9DAC56F8B8827F11B05A08ECCF9E8D5E85B0F7CFA644EFF3E9B796688F38E006DEB21E101C01028903A06023AC5AAB8635F8E307A53AC742BDCE6A283F585F48EF", "C88BE6B2417C4F941C9371EA35A377158767E4E3"),
        ("A000000333", 0x0B, "CF9FDF46B356378E9AF311B0F981B21A1F22F250FB11F55C958709E3C7241918293483289EAE688A094C02C344E2999F315A72841F489E24B1BA0056CFAB3B479D0E826452375DCDBB67E97EC2AA66F4601D774FEAEF775ACCC621BFEB65FB0053FC5F392AA5E1D4C41A4DE9FFDFDF1327C4BB874F1F63A599EE3902FE95E729FD78D4234DC7E6CF1ABABAA3F6DB29B7F05D1D901D2E76A606A8CBFFFFECBD918FA2D278BDB43B0434F5D45134BE1C2781D157D501FF43E5F1C470967CD57CE53B64D82974C8275937C5D8502A1252A8A5D6088A259B694F98648D9AF2CB0EFD9D943C69F896D49FA39702162ACB5AF29B90BADE005BC157", "BD331F9996A490B33C13441066A09AD3FEB5F66C"),
    ]
    static let expiry = EMVDate(year: 2049, month: 12, day: 31)!

    @Test func publishedTestKeysHaveGoodChecksums() throws {
        for k in Self.published {
            let key = try CAPublicKey(
                rid: hex(k.rid), index: k.index, modulus: hex(k.modulus), exponent: [3], expiry: Self.expiry,
                checksum: hex(k.checksum))
            #expect(key.checksum == hex(k.checksum))
        }
    }

    @Test func everyChangedByteFailsTheChecksum() throws {
        for k in Self.published {
            var checksum = hex(k.checksum)
            checksum[19] ^= 0x01
            #expect(throws: ODAFailure(.caKeyChecksum)) {
                try CAPublicKey(rid: hex(k.rid), index: k.index, modulus: hex(k.modulus), exponent: [3], expiry: Self.expiry, checksum: checksum)
            }
            var modulus = hex(k.modulus)
            modulus[modulus.count / 2] ^= 0x80
            #expect(throws: ODAFailure(.caKeyChecksum)) {
                try CAPublicKey(rid: hex(k.rid), index: k.index, modulus: modulus, exponent: [3], expiry: Self.expiry, checksum: hex(k.checksum))
            }
            #expect(throws: ODAFailure(.caKeyChecksum)) {
                try CAPublicKey(rid: hex(k.rid), index: k.index ^ 1, modulus: hex(k.modulus), exponent: [3], expiry: Self.expiry, checksum: hex(k.checksum))
            }
            #expect(throws: ODAFailure(.caKeyChecksum)) {
                try CAPublicKey(rid: hex(k.rid), index: k.index, modulus: hex(k.modulus), exponent: [1, 0, 1], expiry: Self.expiry, checksum: hex(k.checksum))
            }
        }
    }

    @Test func refusesKeysBook2DoesNotAllow() throws {
        let k = Self.published[0]
        #expect(throws: ODAFailure(.caKeyFormat)) {
            try CAPublicKey(rid: [0xA0, 0, 0, 3], index: k.index, modulus: hex(k.modulus), exponent: [3], expiry: Self.expiry, checksum: hex(k.checksum))
        }
        let long = [UInt8](repeating: 0xC5, count: 249)
        #expect(throws: ODAFailure(.caKeyModulusLength)) {
            try CAPublicKey(rid: hex(k.rid), index: 1, modulus: long, exponent: [3], expiry: Self.expiry, checksum: try Insecure.SHA1.hash(hex(k.rid) + [1] + long + [3]))
        }
        #expect(throws: ODAFailure(.caKeyModulusLength)) {
            try CAPublicKey(rid: hex(k.rid), index: 1, modulus: [0] + hex(k.modulus), exponent: [3], expiry: Self.expiry, checksum: hex(k.checksum))
        }
        #expect(throws: ODAFailure(.caKeyExponent)) {
            try CAPublicKey(rid: hex(k.rid), index: k.index, modulus: hex(k.modulus), exponent: [5], expiry: Self.expiry, checksum: hex(k.checksum))
        }
    }
}

/// Issuer public key recovery (Book 2 clause 5.3, Table 6) with a CA, issuer and card made in the test.
@Suite struct ODAIssuerCertificateTests {
    let f = ODAFixture.shared

    func recover(
        _ built: CertificateFields.Built, caKey: CAPublicKey? = nil, pan: [UInt8] = ODAFixture.pan,
        today: EMVDate = ODAFixture.today, revocations: CertificateRevocationList = .init()
    ) -> Result<RecoveredPublicKey, ODAFailure> {
        OfflineDataAuthentication.recoverIssuerPublicKey(
            certificate: built.certificate, remainder: built.remainder, exponent: built.exponent, caKey: caKey ?? f.caKey,
            pan: pan, today: today, revocations: revocations)
    }

    func reason(_ result: Result<RecoveredPublicKey, ODAFailure>) -> ODAFailure.Reason? {
        if case .failure(let failure) = result { return failure.reason }
        return nil
    }

    @Test func recoversTheIssuerKeyWithARemainder() throws {
        let built = try f.issuerCertificate()
        #expect(built.remainder.count == 128 - (128 - 36))  // N_I = N_CA = 128: 36 bytes do not fit
        let key = try recover(built).get()
        #expect(key.modulus == f.issuerModulus)
        #expect(key.exponent == [3])
        #expect(key.serialNumber == [0x00, 0x12, 0x34])
        #expect(key.expiry == EMVDate(year: 2028, month: 12, day: 31))
    }

    @Test func recoversAShortKeyWithoutRemainder() throws {
        // A 704-bit (88-byte) issuer key fits in a 1024-bit certificate (92 bytes of digits): no remainder, 'BB' padding after the modulus.
        let short = try RSA.PrivateKey.generate(bits: 704, publicExponent: 3)
        let modulus = try short.publicKey.modulus()
        let built = try f.issuerCertificate { $0.modulus = modulus }
        #expect(built.remainder.isEmpty)
        #expect(try recover(built).get().modulus == modulus)
    }

    @Test func issuerIdentifierMatchesThreeToEightDigits() throws {
        for (id, ok) in [([0x62, 0x1F, 0xFF, 0xFF], true), ([0x62, 0x12, 0x34, 0x56], true), ([0x62, 0xFF, 0xFF, 0xFF], false),
                         ([0x62, 0x13, 0xFF, 0xFF], false), ([0x62, 0x1F, 0x3F, 0xFF], false), ([0x62, 0x1A, 0xFF, 0xFF], false)] as [([UInt8], Bool)] {
            let built = try f.issuerCertificate { $0.identifier = id }
            if ok { #expect(throws: Never.self) { try recover(built).get() } } else { #expect(reason(recover(built)) == .issuerIdentifierMismatch) }
        }
        // The PAN as read may be shorter and F-padded; '5A' with a bad nibble never matches.
        #expect(reason(recover(try f.issuerCertificate(), pan: [0x62, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F])) == nil)
        #expect(reason(recover(try f.issuerCertificate(), pan: [0x62, 0x1C, 0x34])) == .issuerIdentifierMismatch)
    }

    @Test func everyRuleHasItsOwnReason() throws {
        let good = try f.issuerCertificate()
        var short = good
        short.certificate.removeLast()
        #expect(reason(recover(short)) == .certificateLength)
        var tooBig = good
        tooBig.certificate = [UInt8](repeating: 0xFF, count: 128)
        #expect(reason(recover(tooBig)) == .certificateRecovery)
        #expect(reason(recover(try f.issuerCertificate { $0.trailer = 0xBD })) == .certificateTrailer)
        #expect(reason(recover(try f.issuerCertificate { $0.header = 0x6B })) == .certificateHeader)
        #expect(reason(recover(try f.issuerCertificate { $0.format = 0x04 })) == .certificateFormat)
        #expect(reason(recover(try f.issuerCertificate { $0.hashAlgorithm = 0x02 })) == .unsupportedHashAlgorithm)
        #expect(reason(recover(try f.issuerCertificate { $0.corruptHash = true })) == .certificateHash)
        var otherRemainder = good
        otherRemainder.remainder[0] ^= 1
        #expect(reason(recover(otherRemainder)) == .certificateHash)
        var otherExponent = good
        otherExponent.exponent = [1, 0, 1]
        #expect(reason(recover(otherExponent)) == .certificateHash)
        var noExponent = good
        noExponent.exponent = []
        #expect(reason(recover(noExponent)) == .missingData)
        #expect(reason(recover(try f.issuerCertificate { $0.expiry = [0x13, 0x28] })) == .certificateDate)
        #expect(reason(recover(try f.issuerCertificate { $0.expiry = [0x10, 0x26] })) == .certificateExpired)
        // Month granularity: a certificate expiring 11/26 is still good on 27 November 2026, not on 1 December.
        let november = try f.issuerCertificate { $0.expiry = [0x11, 0x26] }
        #expect(reason(recover(november)) == nil)
        #expect(reason(recover(november, today: EMVDate(year: 2026, month: 12, day: 1)!)) == .certificateExpired)
        let revoked = CertificateRevocationList([.init(rid: ODAFixture.rid, caIndex: ODAFixture.caIndex, serialNumber: [0x00, 0x12, 0x34])])
        #expect(reason(recover(good, revocations: revoked)) == .certificateRevoked)
        let otherSerial = CertificateRevocationList([.init(rid: ODAFixture.rid, caIndex: ODAFixture.caIndex, serialNumber: [0x00, 0x12, 0x35])])
        #expect(reason(recover(good, revocations: otherSerial)) == nil)
        #expect(reason(recover(try f.issuerCertificate { $0.publicKeyAlgorithm = 0x02 })) == .unsupportedAlgorithm)
        #expect(reason(recover(try f.issuerCertificate { $0.keyLength = 129 })) == .publicKeyLength)
        #expect(reason(recover(try f.issuerCertificate { $0.keyLength = 0 })) == .publicKeyLength)
        #expect(reason(recover(try f.issuerCertificate { $0.exponentLength = 2 })) == .publicKeyExponentLength)
        #expect(reason(recover(try f.issuerCertificate { $0.exponent = [1, 0, 3] })) == .publicKeyExponent)
        // The certificate hashed without the remainder (as a card that lost it would carry) then asks for it.
        let lost = try f.issuerCertificate { $0.modulus = Array(f.issuerModulus.prefix(92)); $0.keyLength = 128 }
        #expect(reason(recover(lost)) == .missingData)
        let wrongRemainder = try f.issuerCertificate { $0.modulus = Array(f.issuerModulus.prefix(100)); $0.keyLength = 128 }
        #expect(reason(recover(wrongRemainder)) == .remainderLength)
        #expect(reason(recover(good, today: EMVDate(year: 2031, month: 1, day: 1)!)) == .caKeyExpired)
    }

    @Test func failuresNeverTrapOnRandomCertificates() throws {
        var rng = SplitMix(state: fuzzSeed(default: 0x0DA))
        for _ in 0..<200 {
            var certificate = rng.bytes(128)
            certificate[0] &= 0x7F
            let result = OfflineDataAuthentication.recoverIssuerPublicKey(
                certificate: certificate, remainder: rng.bytes(Int(rng.byte() % 40)), exponent: [3], caKey: f.caKey,
                pan: ODAFixture.pan, today: ODAFixture.today, revocations: .init())
            #expect(reason(result) != nil)
        }
    }
}

/// ICC public key recovery (Book 2 clause 6.4, Table 14).
@Suite struct ODAICCCertificateTests {
    let f = ODAFixture.shared

    func recover(_ built: CertificateFields.Built, staticData: [UInt8] = ODAFixture.staticData, pan: [UInt8] = ODAFixture.pan)
        throws -> ODAFailure.Reason?
    {
        let result = OfflineDataAuthentication.recoverICCPublicKey(
            certificate: built.certificate, remainder: built.remainder, exponent: built.exponent, issuerKey: try f.issuerKey(),
            staticData: staticData, pan: pan, today: ODAFixture.today)
        if case .failure(let failure) = result { return failure.reason }
        return nil
    }

    @Test func recoversTheICCKey() throws {
        let key = try f.iccKey()
        #expect(key.modulus == f.iccModulus)
        #expect(key.exponent == [1, 0, 1])
        #expect(key.serialNumber.isEmpty)
        // The ICC PIN encipherment key certificate hashes no static data.
        let pinCertificate = try f.iccCertificate { $0.extraHashData = [] }
        #expect(try recover(pinCertificate, staticData: []) == nil)
    }

    @Test func everyRuleHasItsOwnReason() throws {
        let good = try f.iccCertificate()
        #expect(try recover(good, staticData: ODAFixture.staticData + [0]) == .certificateHash)
        var short = good
        short.certificate.removeFirst()
        #expect(try recover(short) == .certificateLength)
        #expect(try recover(try f.iccCertificate { $0.trailer = 0 }) == .certificateTrailer)
        #expect(try recover(try f.iccCertificate { $0.header = 0 }) == .certificateHeader)
        #expect(try recover(try f.iccCertificate { $0.format = 0x02 }) == .certificateFormat)
        #expect(try recover(try f.iccCertificate { $0.hashAlgorithm = 0 }) == .unsupportedHashAlgorithm)
        #expect(try recover(try f.iccCertificate { $0.corruptHash = true }) == .certificateHash)
        // The PAN: every digit counts, F padding is only padding.
        #expect(try recover(good, pan: [0x62, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x77]) == .panMismatch)
        #expect(try recover(good, pan: [0x62, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56]) == .panMismatch)
        let shortPAN: [UInt8] = [0x62, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34]
        let sixteen = try f.iccCertificate { $0.identifier = shortPAN + [0xFF, 0xFF] }
        #expect(try recover(sixteen, pan: shortPAN) == nil)
        #expect(try recover(sixteen, pan: shortPAN + [0xFF]) == nil)
        #expect(try recover(try f.iccCertificate { $0.expiry = [0x00, 0x28] }) == .certificateDate)
        #expect(try recover(try f.iccCertificate { $0.expiry = [0x10, 0x26] }) == .certificateExpired)
        #expect(try recover(try f.iccCertificate { $0.publicKeyAlgorithm = 3 }) == .unsupportedAlgorithm)
        #expect(try recover(try f.iccCertificate { $0.keyLength = 129 }) == .publicKeyLength)
        #expect(try recover(try f.iccCertificate { $0.exponentLength = 1 }) == .publicKeyExponentLength)
        // A key shorter than RSA allows (32 bytes) recovers its fields but is not a usable key.
        #expect(try recover(try f.iccCertificate { $0.modulus = Array(f.iccModulus.prefix(32)) }) == .publicKeyLength)
    }
}

extension SplitMix {
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }
}
