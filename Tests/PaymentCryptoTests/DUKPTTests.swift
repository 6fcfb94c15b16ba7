import PaymentCrypto
import Testing

/// ANSI X9.24-1:2009 Annex A.4 vectors (as reproduced in openemv/dukpt `test/dukpt_tdes_test.c`), run through both
/// the host-side derivation and the terminal-side originator.
@Suite struct TDESDUKPTTests {
    static let bdk = "0123456789ABCDEFFEDCBA9876543210"
    static let initialKSN = "FFFF9876543210E00000"
    static let clearPINBlock = "041274EDCBA9876F"  // ISO 9564 format 0, PIN 1234, PAN 4012345678909

    /// A.4.2 initial sequence: counters 1-21 with transaction keys and encrypted PIN blocks.
    static let initialSequence: [(UInt32, String, String)] = [
        (0x01, "042666B49184CFA368DE9628D0397BC9", "1B9C1845EB993A7A"),
        (0x02, "C46551CEF9FD24B0AA9AD834130D3BC7", "10A01C8D02C69107"),
        (0x03, "0DF3D9422ACA56E547676D07AD6BADFA", "18DC07B94797B466"),
        (0x04, "279C0F6AEED0BE652B2C733E1383AE91", "0BC79509D5645DF7"),
        (0x05, "5F8DC6D2C845C125508DDC048093B83F", "5BC0AF22AD87B327"),
        (0x06, "5E415CB0BAF9F03CD0C14B63FB62FF43", "A16DF70AE36158D8"),
        (0x07, "0C8F780B7C8B49D0AE84A9EB2A6CE660", "27711C16CB257F8E"),
        (0x08, "27F66D5244FF62E1AA6F6120EDEB4280", "50E55547A5027551"),
        (0x09, "27E31064FDC565698900E2057F658E7E", "536CF7F678ACFC8D"),
        (0x0A, "6CF2500A22507C7CC776CEADC1E33014", "EDABBA23221833FE"),
        (0x0B, "3E8260BA04B2D620C01482B3819A18B7", "2328981C57B4BDBA"),
        (0x0C, "B716E1E11CF53D80726CAEE75C3A624F", "038D03CC926CF286"),
        (0x0D, "E072EDF95340535FB6C581C58FBF2533", "6C8AA97088B62C68"),
        (0x0E, "A80046087F5B8F245AAD95E18429084F", "F17C9E1D72CD4950"),
        (0x0F, "93DD5B956C4878472E453AAEFD32A5AA", "B170F6E7F7F2F64A"),
        (0x10, "59598DCBD9BD94C094165CE453585F57", "D5D9638559EF53D6"),
        (0x11, "2B5F01F4F0CC05EA639D523231BF1BA2", "D544F8CDD292C863"),
        (0x12, "9CF640F279C2AEE615F725EEEAC2CBAF", "7A21BD10F36DC41D"),
        (0x13, "C3DF489FDF1153B4F03DE97C27DC4C2F", "78649BD17D0DFA60"),
        (0x14, "658488507721B3F14737FA93F923CBD2", "7E7E16EA0C31AD56"),
        (0x15, "E161D1956A61F6D2F37AFD7F9CC3699A", "72105C22EBC791E6"),
    ]

    /// A.4.3 roll-over sequence: counters EFF800 … F00000 (21-bit counters 0FF800 … 100000) with keys and PIN blocks.
    static let rolloverSequence: [(UInt32, String, String)] = [
        (0x0F_F800, "F9CDFEBF4F5B1D9EB3EC12454527E176", "33365F5CC6F23C35"),
        (0x0F_F801, "5BEE92627E97825C911BF619DF72CA3B", "3A86BF003F835C9D"),
        (0x0F_F802, "64CA2F8AB93F61B01620B00BF77C7301", "3DB977D05C36DF3F"),
        (0x0F_F804, "35A168695B3BA83307E871C42021DD37", "BA83243305712099"),
        (0x0F_F808, "12C380FCB72ED3C26FC6079AF63F4787", "B0DA04AC90A36D85"),
        (0x0F_F810, "D8007C833A1E3C49C6889B97A68C54FF", "2CF02BD9C309EEDA"),
        (0x0F_F820, "A9C9FF9B735FDD49591F296B0BF0FD70", "9D1E2F77AEEE81C6"),
        (0x0F_F840, "0E3E221062CB5E03A384602783A004FA", "40870B0F8BA2011C"),
        (0x0F_F880, "CA8225C587124DFBB87F279C0BE29727", "22E340D6ABB40981"),
        (0x0F_F900, "906AAC1751D4971A144D52C76C6E1F97", "1A4C10AFBA03A430"),
        (0x0F_FA00, "2B9E2CE7C2750337E10B54D2989EA6AF", "849763B43E5F9CFF"),
        (0x0F_FC00, "F9430DF975082491C77BE4EF4FDB91EE", "DEFC6F09F8927B71"),
        (0x10_0000, "AA4D58DB653EC74A48C75F2F047DD2B5", "73EC88AD0AC5830E"),
    ]

    static func ksn(_ counter: UInt32) throws -> TDESDUKPT.KeySerialNumber {
        try TDESDUKPT.KeySerialNumber(bytes(initialKSN)).with(counter: counter)
    }

    @Test func initialKeyA6() throws {
        let ik = try TDESDUKPT.initialKey(baseDerivationKey: secret(Self.bdk), keySerialNumber: Self.ksn(0))
        #expect(hex(ik) == "6AC292FAA1315B4D858AB3A3D7D5933A")
        #expect(Self.initialSequence.count == 21 && Self.rolloverSequence.count == 13)
    }

    @Test func hostDerivationMatchesEveryAnnexAVector() throws {
        let ik = secret("6AC292FAA1315B4D858AB3A3D7D5933A")
        for (counter, key, block) in Self.initialSequence + Self.rolloverSequence {
            let txn = try TDESDUKPT.transactionKey(initialKey: ik, keySerialNumber: Self.ksn(counter))
            #expect(hex(txn) == key, "counter \(counter)")
            let encrypted = try TDESDUKPT.encryptPINBlock(secret(Self.clearPINBlock), transactionKey: txn)
            #expect(hex(encrypted) == block, "counter \(counter)")
            #expect(try TDESDUKPT.decryptPINBlock(encrypted, transactionKey: txn) == secret(Self.clearPINBlock))
        }
    }

    /// The terminal side walks the counter itself: 1…21 in order, and from 0FF800 on it skips counters with more
    /// than ten one bits exactly as the A.4.3 KSN list does.
    @Test func originatorProducesTheAnnexASequences() throws {
        var terminal = try TDESDUKPTOriginator(initialKey: secret("6AC292FAA1315B4D858AB3A3D7D5933A"),
                                               initialKeySerialNumber: Self.ksn(0))
        for (counter, key, block) in Self.initialSequence {
            #expect(terminal.keySerialNumber == (try Self.ksn(counter)))
            let (ksn, encrypted) = try terminal.encryptPINBlock(secret(Self.clearPINBlock))
            #expect(ksn.counter == counter)
            #expect(hex(encrypted) == block)
            _ = key
        }

        // Walk to 0FF800 through the snapshot (as the key store would restore it): derive the registers a terminal
        // holds at that counter from the host side and continue from there.
        let ik = secret("6AC292FAA1315B4D858AB3A3D7D5933A")
        let start: UInt32 = 0x0F_F800
        let registers = try registersAt(start, width: 21) { counter in
            TDESDUKPT.isUsableCounter(counter)
                ? try TDESDUKPT.transactionKey(initialKey: ik, keySerialNumber: Self.ksn(counter)) : nil
        }
        var restored = try TDESDUKPTOriginator(snapshot: .init(keySerialNumber: Self.ksn(start), futureKeys: registers))
        for (counter, key, block) in Self.rolloverSequence {
            let (ksn, txn) = try restored.nextTransaction()
            #expect(ksn.counter == counter)
            #expect(hex(txn) == key)
            #expect(hex(try TDESDUKPT.encryptPINBlock(secret(Self.clearPINBlock), transactionKey: txn)) == block)
        }
    }

    /// End of life: counter 1FF800 is the last one; the next request is a typed error, not a crash.
    @Test func exhaustionAfter1FF800() throws {
        let ik = secret("6AC292FAA1315B4D858AB3A3D7D5933A")
        let last = TDESDUKPT.lastCounter
        var registers = [SecretBytes?](repeating: nil, count: 21)
        registers[11] = try TDESDUKPT.transactionKey(initialKey: ik, keySerialNumber: Self.ksn(last))
        var terminal = try TDESDUKPTOriginator(snapshot: .init(keySerialNumber: Self.ksn(last), futureKeys: registers))
        let (ksn, _) = try terminal.nextTransaction()
        #expect(ksn.counter == 0x1F_F800)
        #expect(terminal.isExhausted)
        #expect(throws: CryptoError(.dukptExhausted, "")) { try terminal.nextTransaction() }
        #expect(throws: CryptoError(.dukptExhausted, "")) { try terminal.encryptPINBlock(secret(Self.clearPINBlock)) }
        // The host refuses counters the originator never uses.
        #expect(throws: CryptoError(.invalidKeySerialNumber, "")) {
            try TDESDUKPT.transactionKey(initialKey: ik, keySerialNumber: Self.ksn(0x0F_F803))
        }
    }

    /// Working-key variants for counter 8 (transaction key 27F66D52…), including the data variants' extra
    /// encryption step; values as published with the X9.24-1 test keys (e.g. C39B2778… for the data request key).
    @Test func variants() throws {
        let txn = secret("27F66D5244FF62E1AA6F6120EDEB4280")
        #expect(hex(try TDESDUKPT.workingKey(.pinEncryption, transactionKey: txn)) == "27F66D5244FF621EAA6F6120EDEB427F")
        #expect(hex(try TDESDUKPT.workingKey(.macRequest, transactionKey: txn)) == "27F66D5244FF9DE1AA6F6120EDEBBD80")
        #expect(hex(try TDESDUKPT.workingKey(.macResponse, transactionKey: txn)) == "27F66D52BBFF62E1AA6F612012EB4280")
        #expect(hex(try TDESDUKPT.workingKey(.dataRequest, transactionKey: txn)) == "C39B2778B058AC376FB18DC906F75CBA")
        #expect(hex(try TDESDUKPT.workingKey(.dataResponse, transactionKey: txn)) == "846E267CB822197406DA2B161191C6E4")
    }

    /// Every counter of a fresh device up to 0x1000 is either used in order or skipped for having more than ten
    /// one bits, and the originator's keys equal the host derivation.
    @Test func originatorAgreesWithHostOverManyCounters() throws {
        let ik = secret("6AC292FAA1315B4D858AB3A3D7D5933A")
        var terminal = try TDESDUKPTOriginator(initialKey: ik, initialKeySerialNumber: Self.ksn(0))
        var expected: UInt32 = 1
        for _ in 0..<300 {
            while !TDESDUKPT.isUsableCounter(expected) { expected += 1 }
            let (ksn, key) = try terminal.nextTransaction()
            #expect(ksn.counter == expected)
            #expect(key == (try TDESDUKPT.transactionKey(initialKey: ik, keySerialNumber: ksn)))
            expected += 1
        }
    }
}

/// ANSI X9.24-3-2017 supplement vectors (BDK FEDCBA9876543210F1F1F1F1F1F1F1F1, initial key ID 1234567890123456), as
/// reproduced in openemv/dukpt `test/dukpt_aes128_test.c` / `dukpt_aes256_test.c` and, for working keys, in
/// independent public test suites (two or more agreeing sources each).
@Suite struct AESDUKPTTests {
    static let bdk128 = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
    static let bdk256 = "FEDCBA9876543210F1F1F1F1F1F1F1F1FEDCBA9876543210F1F1F1F1F1F1F1F1"
    static let ikid = bytes("1234567890123456")

    static func ksn(_ counter: UInt32) throws -> AESDUKPT.KeySerialNumber {
        try AESDUKPT.KeySerialNumber(initialKeyID: ikid, counter: counter)
    }

    @Test func initialKeys() throws {
        #expect(hex(try AESDUKPT.initialKey(baseDerivationKey: secret(Self.bdk128), initialKeyID: Self.ikid))
                == "1273671EA26AC29AFA4D1084127652A1")
        #expect(hex(try AESDUKPT.initialKey(baseDerivationKey: secret(Self.bdk256), initialKeyID: Self.ikid))
                == "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F")
    }

    static let derivation128: [(UInt32, String)] = [
        (1, "4F21B565BAD9835E112B6465635EAE44"), (2, "2F34D68DE10F68D38091A73B9E7C437C"),
        (3, "031504E530365CF81264238540518318"), (4, "0EEFC7ADA628BA68878DA9165A8A1887"),
        (5, "C2A7AC328A5DA2D6002D62465BFC028B"), (6, "D30F7D9351DA58448A2F5E92B4EE3B7D"),
        (7, "A8253CEED9AC042C54F75D35C8352278"), (8, "718EE6CF0B27E53D5F7AF99C4D8146A2"),
        (0x1FFFE, "E21E8C8D347F8561A2BE752DAA85A111"), (0x20000, "F7AE9025468A25D37B7249CFFED224C8"),
        (0x20001, "692C8EA4013645135B36497131DF9D2C"), (0xFFFE_2000, "48E585B694EB0B18D5C35443E163C0BA"),
        (0xFFFE_4000, "396C2C7CA1EA701C03B86B7D41F0C562"), (0xFFFE_8000, "0387625F189B58AE03EF0E8CCA41105E"),
        (0xFFFF_0000, "F6BA59389BD14A9855BE9727E7C52E3C"),
    ]

    static let derivation256: [(UInt32, String)] = [
        (1, "54AC2B32B145EA4A554CB8BC44B17467063A799856B1CCC2A138D36E8DBF78B3"),
        (2, "5DD5A0253842BBBE1D7C0DA27021412C6F1FAB53FB928DEAE56DA06090A9DE97"),
        (3, "8EEEF7C464AE415BB1D73FAED21993CD669F7999092A579EC6DD3CC680C65171"),
        (4, "C18CBED570B3B89ECADA7CEC9C224CD5A86ECF3DE377D3EFAB720F8C4D76B9D0"),
        (5, "6B3C3C93307151C25DC2309456F01C5C3108DAD571C321899A9B7E0C009FD2EB"),
        (6, "B8BB61AE3E2D5CD8C699E0C578FB2C7B89B0C0CF02DBAB60864D8049C986C844"),
        (7, "88D0ACA287B3066F5DE0C93396337D4C2DA8D92C1F720A576D62CEB4C979E01E"),
        (8, "20A796D5077D51B8E7613893A4F095B134E02917DC84BD391F3661D0873FF308"),
        (0x1FFFE, "A289508CBF1228452CD86AB77B15CB35577AC828C18BB66681E5A16D6C9CCED3"),
        (0x20000, "D62DDA94A47D7DA5D763443B4ECB15EA8DD62E0E4F915958BA459591F8312E37"),
        (0x20001, "44110A1102748D4A3AC326F53D8CAC650212590CA7126D54546DDE0F20E89CEE"),
        (0xFFFE_2000, "4625EB06E4886D4AFCC9AE37ED4F4E4E1653C9E60E3F24742A87A26AA96AB7A6"),
        (0xFFFE_4000, "FF20E1BB575539ACCB44E3111BE8757F83AE8549A2DD71B441A4A424F7FFD4B1"),
        (0xFFFE_8000, "630535C9C53E1EC6524016930B56F6728909C45403536B419AEBCB25B7351C07"),
        (0xFFFF_0000, "6D6DB7AAAE8B3EA90E57A39E4BBA71E173B21B446B30A78D64BFC6A8806C55EE"),
    ]

    @Test(arguments: [("1273671EA26AC29AFA4D1084127652A1", 128), ("CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F", 256)])
    func intermediateDerivationKeys(initialKey: String, bits: Int) throws {
        let table = bits == 128 ? Self.derivation128 : Self.derivation256
        for (counter, key) in table {
            #expect(hex(try AESDUKPT.derivationKey(initialKey: secret(initialKey), keySerialNumber: Self.ksn(counter))) == key,
                    "counter \(counter)")
        }
    }

    /// Working keys: counter 1 for every usage (AES-128), several counters for PIN/MAC/data, AES-256 working keys
    /// from the AES-256 BDK, AES-128 working keys from the AES-256 BDK, and 2TDEA/3TDEA working keys.
    @Test func workingKeys() throws {
        let ik128 = secret("1273671EA26AC29AFA4D1084127652A1")
        let ik256 = secret("CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F")
        func work(_ ik: SecretBytes, _ counter: UInt32, _ usage: AESDUKPT.KeyUsage, _ type: AESDUKPT.KeyType) throws -> String {
            let k = try Self.ksn(counter)
            return hex(try AESDUKPT.workingKey(
                usage: usage, keyType: type, derivationKey: AESDUKPT.derivationKey(initialKey: ik, keySerialNumber: k),
                keySerialNumber: k))
        }
        let usages: [(AESDUKPT.KeyUsage, String)] = [
            (.keyEncryptionKey, "36A724B7BEFA5A25F5E7B5782A4554A2"), (.pinEncryption, "AF8CB133A78F8DC2D1359F18527593FB"),
            (.macGeneration, "A2DC23DE6FDE0824A2BC321E08E4B8B7"), (.macVerification, "DBB463945B286C07CD3AD82EE96FD9C9"),
            (.macBothWays, "85675439D18D7F1158BD8E3EAA3D502B"), (.dataEncryptionEncrypt, "A35C412EFD41FDB98B69797C02DCD08F"),
            (.dataEncryptionDecrypt, "16292C6EA8F64C5420A0584BFBC577BE"), (.dataEncryptionBothWays, "A308E080DD15A1B741F1721BF67DE11C"),
        ]
        for (usage, key) in usages { #expect(try work(ik128, 1, usage, .aes128) == key, "\(usage)") }

        let pinKeys: [(UInt32, String, String)] = [
            (2, "D30BDC73EC9714B000BEC66BDB7B6D09", "3583D6CD02FC38822CC71A8D7678E04F4A8556335E6CC66863D3DADC5AEE2C62"),
            (3, "7D69F01F3B45449F62C7816ECE723268", "96A1AB5D37CB7CF81DDE64F66C46E0389B833E7AD5F4E44C791F04FAFDA6DA0E"),
            (0xFFFE_4000, "6239A27F572DEDB17BCA1AC413EF9FE9", "F388FF9FB1D66E8812BC67CA5B85CE5554063E09A2440EC1AF4EB433CCFBAF35"),
            (0xFFFE_8000, "F10C1404137A80718FCCE8BD90FF9F67", "FAC4E05A67AB1522505CF0E94E5977B99D0E5B116D76ABB6B8A64F0D785FF6DF"),
            (0xFFFF_0000, "27EFAC1D158632588F4AC69E45C247C4", "88B82556AEF4A681E0687F443A4C4F305AF9203B114470DFC77C7F08BC43F9DA"),
        ]
        for (counter, key128, key256) in pinKeys {
            #expect(try work(ik128, counter, .pinEncryption, .aes128) == key128)
            #expect(try work(ik256, counter, .pinEncryption, .aes256) == key256)
        }
        let macData: [(UInt32, String, String)] = [
            (2, "484C3B06E8562704528CD5B46FB12FB6", "D639514AA33AC43AD9229E433D6D4E5B"),
            (4, "E6E4679647D8A9057C1FC15537CB4C4E", "B3BD44C08BB6BA27C3BB4711D7D70387"),
            (5, "0588185FE1FF8C7E22FAD78C1C61F065", "CA02DF6F30B39E14BD0B4A30E460920F"),
            (8, "6FD572E5D59E618875F193484F9178FB", "650F34204ABD4E57764D61AC3D266FB1"),
            (0x1FFFE, "6D7623AD652734B8FAE1B6E093EACE3D", "8E4E5D5E0F01C54F01F4ACA1C8F8EDCE"),
            (0x20000, "0B59D3D7D93028D97135FB895CACE24E", "13361208975755318FE7AE28C9616014"),
        ]
        for (counter, mac, data) in macData {
            #expect(try work(ik128, counter, .macGeneration, .aes128) == mac)
            #expect(try work(ik128, counter, .dataEncryptionEncrypt, .aes128) == data)
        }
        // AES-256 initial key: AES-256 and AES-128 working keys.
        #expect(try work(ik256, 1, .pinEncryption, .aes256) == "8C1AB7BEE973829E30242E0BBBDD4946D540C98FC1B5BDCF94790001A23FD502")
        #expect(try work(ik256, 1, .macGeneration, .aes256) == "61DABDF4B340CF461EE860B1D1AB55357142BD2D6977306859CF49AEFE8F1549")
        #expect(try work(ik256, 1, .dataEncryptionEncrypt, .aes256) == "71EB36C9A6B7F801D1D1700C29741FC5A5C4E9B45D742DA7AF6992B8AA29AF58")
        #expect(try work(ik256, 1, .pinEncryption, .aes128) == "09C9C432966811D6B2C3336BAC1B1202")
        #expect(try work(ik256, 1, .macGeneration, .aes128) == "F04A1FABD4176E15490CEC82E217A96D")
        #expect(try work(ik256, 1, .dataEncryptionEncrypt, .aes128) == "616D59AE91F8CC7016F89FDA29605FA4")
        // TDES working keys from the AES-128 initial key.
        #expect(try work(ik128, 1, .pinEncryption, .tdes2) == "630C706D9546E47D4449313F61C4D4AB")
        #expect(try work(ik128, 1, .pinEncryption, .tdes3) == "EA8B3F37EB9B15831167EF2977FD8762D9B5913F35766F6A")
        // A working key stronger than the derivation key is refused (clause 6.3.2).
        #expect(throws: CryptoError(.invalidParameter, "")) { try work(ik128, 1, .pinEncryption, .aes256) }
    }

    /// X9.24-3-2017 supplement "Calculation of AES PIN Block Format 4": PIN 1234, PAN 4111111111111111, random
    /// 2F69ADDE2E9E7ACE, PIN key of counter 1 → A912150391AB65A67E52883D81CE2D15.
    @Test func format4PINBlockWithDUKPTKey() throws {
        var terminal = try AESDUKPTOriginator(initialKey: secret("1273671EA26AC29AFA4D1084127652A1"), initialKeyID: Self.ikid)
        let (ksn, block) = try terminal.encipherPIN(
            digits("1234"), pan: "4111111111111111", keyType: .aes128, random: FixedRandom(bytes("2F69ADDE2E9E7ACE")))
        #expect(ksn.description == "123456789012345600000001")
        #expect(hex(block) == "A912150391AB65A67E52883D81CE2D15")
        let pin = try PINBlock.decipherFormat4(block, pan: "4111111111111111", key: secret("AF8CB133A78F8DC2D1359F18527593FB"))
        #expect(text(pin) == "1234")
    }

    /// The originator walks counters 1…8, and from 1FFFE skips 1FFFF (17 one bits) to 20000; after FFFF0000 the
    /// device is exhausted.
    @Test func originatorSequenceAndExhaustion() throws {
        let ik = secret("1273671EA26AC29AFA4D1084127652A1")
        var terminal = try AESDUKPTOriginator(initialKey: ik, initialKeyID: Self.ikid)
        for (counter, key) in Self.derivation128.prefix(8) {
            let (ksn, derivation) = try terminal.nextTransaction()
            #expect(ksn.counter == counter)
            #expect(hex(derivation) == key)
        }
        func restore(at start: UInt32) throws -> AESDUKPTOriginator {
            let registers = try registersAt(start, width: 32) { counter in
                AESDUKPT.isUsableCounter(counter)
                    ? try AESDUKPT.derivationKey(initialKey: ik, keySerialNumber: Self.ksn(counter)) : nil
            }
            return try AESDUKPTOriginator(snapshot: .init(keySerialNumber: Self.ksn(start), keyType: .aes128, registers: registers))
        }
        var rollover = try restore(at: 0x1FFFE)
        for expected: UInt32 in [0x1FFFE, 0x20000, 0x20001] {
            let (ksn, derivation) = try rollover.nextTransaction()
            #expect(ksn.counter == expected)
            #expect(derivation == (try AESDUKPT.derivationKey(initialKey: ik, keySerialNumber: ksn)))
        }
        var end = try restore(at: 0xFFFE_2000)
        for expected: UInt32 in [0xFFFE_2000, 0xFFFE_4000, 0xFFFE_8000, 0xFFFF_0000] {
            let (ksn, derivation) = try end.nextTransaction()
            #expect(ksn.counter == expected)
            #expect(hex(derivation) == Self.derivation128.first { $0.0 == expected }?.1)
        }
        #expect(end.isExhausted)
        #expect(throws: CryptoError(.dukptExhausted, "")) { try end.nextTransaction() }
    }

    /// AES-256 originator from the AES-256 initial key matches the supplement's first derivation keys.
    @Test func originatorAES256() throws {
        var terminal = try AESDUKPTOriginator(
            initialKey: secret("CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F"), initialKeyID: Self.ikid)
        #expect(terminal.initialKeyType == .aes256)
        for (counter, key) in Self.derivation256.prefix(8) {
            let (ksn, derivation) = try terminal.nextTransaction()
            #expect(ksn.counter == counter)
            #expect(hex(derivation) == key)
        }
    }
}

/// The registers a DUKPT originator holds when its next counter is `start`: the key of `start` itself in the register
/// of its lowest one bit, and, for every higher bit that is zero in `start`, the key of the counter that sets that
/// bit and clears the bits below it (the future keys the device made earlier). Lower registers are made from the
/// current key at the transaction.
func registersAt(_ start: UInt32, width: Int, key: (UInt32) throws -> SecretBytes?) rethrows -> [SecretBytes?] {
    var registers = [SecretBytes?](repeating: nil, count: width)
    let low = start.trailingZeroBitCount
    for bit in low..<width where bit == low || start & (1 << UInt32(bit)) == 0 {
        let below = UInt32(truncatingIfNeeded: (UInt64(1) << UInt64(bit + 1)) - 1)
        registers[bit] = try key((start & ~below) | (1 << UInt32(bit)))
    }
    return registers
}
