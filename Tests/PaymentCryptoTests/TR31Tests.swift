import PaymentCrypto
import Testing

/// TR-31 key blocks: published vectors (TR-31:2018 Annex A.7, ANSI X9.143:2021 clause 8, HSM-made blocks collected in
/// openemv/tr31 `test/tr31_decrypt_test.c` and psec's `test_kb_known_values`).
@Suite struct TR31Tests {
    @Test(arguments: [
        // TR-31:2018 A.7.2.2
        ("DD7515F2BFC17F85CE48F3CA25CB21F6", "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E", "3F419E1CB7079442AA37474C2EFBF8B8"),
        // TR-31:2018 A.7.3.2 (optional block KS)
        ("1D22BF32387C600AD97F9B97A51311AC", "B0104B0TX12S0100KS1800604B120F9292800000BB68BE8680A400D9191AD4ECE45B6E6C0D21C4738A52190E248719E24B433627", "E8BC63E5479455E26577F715D587FE68"),
        // ANSI X9.143:2021 8.4.2
        ("1D22BF32387C600AD97F9B97A51311AC", "B0120B0TX12S0100KS1800604B120F929280000015CEB14B76D551F21EC43A75390FA118A98C6CB049E3B9E864A5F4A8B9A5108A6DB5635C95B042D7", "E8BC63E5479455E26577F715D587FE68"),
        // Thales payShield 10k
        ("EFE0853B256B583D868F251CE99EA1D9", "B0080K0TN00N00001C414014375212C24995E405B5EE052CB92B67F455EA2680F6751088F9F1C228", "5DB50B454F8389ADCE573BE50861F2BF"),
        // psec known values (2TDEA and 3TDEA KBPK)
        ("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "B0096M3TC00E0000B6CD513680EF255FC0DC590726FD0129A7CF6602E7F271631AB4EE7350642F11181AF4CC12F12FD9", "EEEEEEEEEEEEEEEE"),
        ("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCC", "B0096M3TC00E0000C7C6FE86A5DE769C20DCA238C52341378B484D544A9764D43963C3B2824AE56C2D07A565DD3AB342", "CCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"),
        ("89E88CF7931444F334BD7547FC3F380C", "B0120P0TE12E0100KS1800604B120F9292800000E6E28F097CB0350B2EB2DF520947F779FA34D9759CEE7E0DEEACF8353DB778D47FA4EC20DA3A9754", "F039121BEC83D26B169BDCD5B22AAF8F"),
        // TR-31:2018 A.7.4 (AES-256 KBPK)
        ("88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6", "D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA05F7425509593D03A457DC34", "3F419E1CB7079442AA37474C2EFBF8B8"),
        // ANSI X9.143:2021 8.1
        ("88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6", "D0144P0AE00E00002C77FA3F4A553BED6E88AE5C172A4166E3D4ACA8E2AC71C158A476FAC12C13C3829DE55D3AB54C48F4C4FEF7AC75E90FC47F1B77E7B19A73ED46E64410082557", "3F419E1CB7079442AA37474C2EFBF8B8"),
        // Thales payShield 10k (AES-256 KBPK, TDES and AES-256 keys)
        (String(repeating: "41", count: 32), "D0112B0TN00N000037DB9B046B7B0048785690759580ABC3B9842AB4BB7717B49E92528E575785D8123559376A2553B27BE94F054F4E971C", "1FA1F7CEC798D91545DA8AE0C7796BD9"),
        (String(repeating: "41", count: 32), "D0144D0AN00N0000127862F945C2DED04530FAF7CDBC8B0BA10C7AA79BD5E0C2C5D6AC173BF588E4B19ACF1357178D50EA0AB193228E13958304FC6149632DFDCADF3A5B3D57E814", "BE19E6A07A760F10EF8E83A226B63AAD141F463FDDD4F47DB244B4023EC3CACC"),
    ])
    func unwrapKnownBlocks(kbpk: String, block: String, key: String) throws {
        let (header, unwrapped) = try TR31.unwrap(block, kbpk: secret(kbpk))
        #expect(hex(unwrapped) == key)
        #expect(header.version.rawValue == block.first)
        // Any single changed character of the encrypted part or MAC fails the MAC check (or the hex check).
        var chars = Array(block)
        let i = chars.count - 5
        chars[i] = chars[i] == "0" ? "1" : "0"
        #expect(throws: CryptoError(.authenticationFailure, "")) { try TR31.unwrap(String(chars), kbpk: secret(kbpk)) }
    }

    @Test func headerAndOptionalBlocks() throws {
        let (header, _) = try TR31.unwrap(
            "B0104B0TX12S0100KS1800604B120F9292800000BB68BE8680A400D9191AD4ECE45B6E6C0D21C4738A52190E248719E24B433627",
            kbpk: secret("1D22BF32387C600AD97F9B97A51311AC"))
        #expect(header.keyUsage == "B0" && header.algorithm == "T" && header.modeOfUse == "X")
        #expect(header.keyVersionNumber == "12" && header.exportability == "S")
        #expect(header.optionalBlocks == [TR31OptionalBlock(id: "KS", data: "00604B120F9292800000")])
    }

    /// TR-31:2018 A.7.4 wrapped byte for byte: padding 1C2965473CE206BB855B01533782 and no key length masking.
    @Test func wrapReproducesA74() throws {
        let header = TR31Header(version: .d, keyUsage: "P0", algorithm: "A", modeOfUse: "E", exportability: "E")
        let block = try TR31.wrap(
            key: secret("3F419E1CB7079442AA37474C2EFBF8B8"), header: header,
            kbpk: secret("88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6"),
            random: FixedRandom(bytes("1C2965473CE206BB855B01533782")), maskedKeyLength: 16)
        #expect(block == "D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA05F7425509593D03A457DC34")
    }

    /// Loading DUKPT initial keys from B1 blocks (wrapped here with test keys) and refusing a BDK.
    @Test func dukptInitialKeyLoad() throws {
        let kbpkB = secret("89E88CF7931444F334BD7547FC3F380C")
        let ipek = secret("6AC292FAA1315B4D858AB3A3D7D5933A")
        let tdes = try TR31.wrap(
            key: ipek,
            header: TR31Header(version: .b, keyUsage: "B1", algorithm: "T", modeOfUse: "X", exportability: "N",
                               optionalBlocks: [TR31OptionalBlock(id: "KS", data: "FFFF9876543210E00000")]),
            kbpk: kbpkB, random: SystemRandom())
        guard case .tdes(let key, let ksn) = try TR31.unwrapDUKPTInitialKey(tdes, kbpk: kbpkB) else {
            Issue.record("not a TDES DUKPT key")
            return
        }
        #expect(key == ipek)
        var terminal = try TDESDUKPTOriginator(initialKey: key, initialKeySerialNumber: ksn)
        let (_, encrypted) = try terminal.encryptPINBlock(secret("041274EDCBA9876F"))
        #expect(hex(encrypted) == "1B9C1845EB993A7A")

        let kbpkD = secret(String(repeating: "A5", count: 32))
        let aes = try TR31.wrap(
            key: secret("1273671EA26AC29AFA4D1084127652A1"),
            header: TR31Header(version: .d, keyUsage: "B1", algorithm: "A", modeOfUse: "X", exportability: "N",
                               optionalBlocks: [TR31OptionalBlock(id: "IK", data: "1234567890123456")]),
            kbpk: kbpkD, random: SystemRandom())
        #expect(aes.count % 16 == 0)
        guard case .aes(let ik, let id) = try TR31.unwrapDUKPTInitialKey(aes, kbpk: kbpkD) else {
            Issue.record("not an AES DUKPT key")
            return
        }
        var aesTerminal = try AESDUKPTOriginator(initialKey: ik, initialKeyID: id)
        #expect(hex(try aesTerminal.nextTransaction().derivationKey) == "4F21B565BAD9835E112B6465635EAE44")

        let bdkBlock = try TR31.wrap(
            key: secret("0123456789ABCDEFFEDCBA9876543210"),
            header: TR31Header(version: .b, keyUsage: "B0", algorithm: "T", modeOfUse: "X", exportability: "N"),
            kbpk: kbpkB, random: SystemRandom())
        #expect(throws: CryptoError(.invalidParameter, "")) { try TR31.unwrapDUKPTInitialKey(bdkBlock, kbpk: kbpkB) }
        let noKSN = try TR31.wrap(
            key: ipek, header: TR31Header(version: .b, keyUsage: "B1", algorithm: "T", modeOfUse: "X", exportability: "N"),
            kbpk: kbpkB, random: SystemRandom())
        #expect(throws: CryptoError(.malformedKeyBlock, "")) { try TR31.unwrapDUKPTInitialKey(noKSN, kbpk: kbpkB) }
    }

    @Test func wrapUnwrapRoundTrips() throws {
        for (version, kbpkLength) in [(TR31Header.Version.b, 16), (.b, 24), (.d, 16), (.d, 24), (.d, 32)] {
            for keyLength in [8, 16, 24, 32] {
                let kbpk = try SecretBytes(SystemRandom().bytes(kbpkLength))
                let key = try SecretBytes(SystemRandom().bytes(keyLength))
                let header = TR31Header(
                    version: version, keyUsage: "K0", algorithm: version == .b ? "T" : "A", modeOfUse: "B", exportability: "E",
                    optionalBlocks: [TR31OptionalBlock(id: "KV", data: "00")])
                let block = try TR31.wrap(key: key, header: header, kbpk: kbpk, random: SystemRandom())
                let (h, k) = try TR31.unwrap(block, kbpk: kbpk)
                #expect(k == key)
                #expect(h.optionalBlocks.first == TR31OptionalBlock(id: "KV", data: "00"))
            }
        }
    }
}
