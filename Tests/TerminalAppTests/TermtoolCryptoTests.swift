#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TestKit
import Testing

/// The payment-crypto subcommands of the built `termtool` binary, run as a support engineer runs them, against
/// published vectors (the same ones Tests/PaymentCryptoTests asserts on the library): ANSI X9.24-1:2009 Annex A,
/// the X9.24-3-2017 supplement, ISO 9564 / psec / ep2 PIN blocks, ISO/IEC 9797-1 Annex B and NIST SP 800-38B MACs,
/// pyemv's EMV examples and TR-31:2018 Annex A key blocks. Then the error contract (one line, exit 2, no secret
/// echoed) and `bench-crypto` with a stand-in `openssl`.
@Suite struct TermtoolCryptoTests {
    static func termtool(_ arguments: String...) throws -> ProcessResult {
        try run(arguments)
    }

    static func run(_ arguments: [String]) throws -> ProcessResult {
        let result = try runProcess([try builtProduct("termtool")] + arguments, timeout: .seconds(60))
        #expect(!result.timedOut, "termtool \(arguments.first ?? "") did not finish")
        return result
    }

    /// The value of the text field `label` (the line `label  value`, without a `[SECRET]` marker), or nil.
    static func field(_ output: String, _ label: String) -> String? {
        for line in output.split(separator: "\n") where line.hasPrefix(label + "  ") {
            var value = line.dropFirst(label.count).drop { $0 == " " }
            if value.hasSuffix("  [SECRET]") { value = value.dropLast("  [SECRET]".count) }
            return String(value)
        }
        return nil
    }

    /// Whether the text field `label` carries the `[SECRET]` marker.
    static func isMarkedSecret(_ output: String, _ label: String) -> Bool {
        output.split(separator: "\n").contains { $0.hasPrefix(label + "  ") && $0.hasSuffix("  [SECRET]") }
    }

    /// A member of the flat JSON object the tool prints: a string's contents, or a number/literal as written.
    static func json(_ output: String, _ key: String) -> String? {
        guard let start = output.firstRange(of: "\"\(key)\":") else { return nil }
        let rest = output[start.upperBound...]
        if rest.first == "\"" {
            return String(rest.dropFirst().prefix { $0 != "\"" })
        }
        return String(rest.prefix { $0 != "," && $0 != "}" })
    }

    // MARK: pinblock

    /// ISO 9564 format 0, PIN 1234, PAN 4012345678909: the clear block of the X9.24-1 Annex A examples, and the
    /// block enciphered under the PIN key of the first Annex A transaction (A.4.2, counter 1: 1B9C1845EB993A7A).
    @Test func pinBlockFormat0() throws {
        let encoded = try Self.termtool("pinblock", "encode", "--format", "0", "--pin", "1234", "--pan", "4012345678909")
        #expect(encoded.status == 0, "\(encoded.stderr)")
        #expect(Self.field(encoded.stdout, "clear PIN block") == "041274EDCBA9876F")
        #expect(Self.isMarkedSecret(encoded.stdout, "clear PIN block"))

        let pinKey = "042666B49184CF5C68DE9628D0397B36"
        let enciphered = try Self.termtool(
            "pinblock", "encode", "--format", "0", "--pin", "1234", "--pan", "4012345678909", "--key", pinKey)
        #expect(Self.field(enciphered.stdout, "enciphered PIN block") == "1B9C1845EB993A7A")

        let decoded = try Self.termtool("pinblock", "decode", "--block", "1B9C1845EB993A7A", "--pan", "4012345678909", "--key", pinKey)
        #expect(decoded.status == 0, "\(decoded.stderr)")
        #expect(Self.field(decoded.stdout, "format") == "0")
        #expect(Self.field(decoded.stdout, "clear PIN block") == "041274EDCBA9876F")
        #expect(Self.field(decoded.stdout, "PIN") == "1234" && Self.isMarkedSecret(decoded.stdout, "PIN"))

        let json = try Self.termtool("pinblock", "decode", "--block", "041274EDCBA9876F", "--pan", "4012345678909", "--json")
        #expect(Self.json(json.stdout, "pin") == "1234")
        #expect(Self.json(json.stdout, "format") == "0")
        #expect(json.stdout.contains("\"secretFields\":[\"pin\"]"))
    }

    /// psec's decode vectors for formats 0 and 3 (PAN 5555555551234567), and format 1 with pinned fill
    /// (openemv/pinblock's 1512345EDCBA9876).
    @Test func pinBlockFormats1And3() throws {
        let three = try Self.termtool("pinblock", "decode", "--format", "3", "--block", "3C1261032D8226A9", "--pan", "5555555551234567")
        #expect(Self.field(three.stdout, "format") == "3" && Self.field(three.stdout, "PIN") == "123456789012")
        let zero = try Self.termtool("pinblock", "decode", "--block", "091261032D8DCBA9", "--pan", "5555555551234567")
        #expect(Self.field(zero.stdout, "format") == "0" && Self.field(zero.stdout, "PIN") == "123456789")
        let one = try Self.termtool("pinblock", "encode", "--format", "1", "--pin", "12345", "--random", "0E0D0C0B0A09080706")
        #expect(Self.field(one.stdout, "clear PIN block") == "1512345EDCBA9876")
        // Fresh random fill decodes to the same PIN.
        let random = try Self.termtool("pinblock", "encode", "--format", "3", "--pin", "987654", "--pan", "5555555551234567", "--json")
        let block = try #require(Self.json(random.stdout, "clearBlock"))
        let back = try Self.termtool("pinblock", "decode", "--block", block, "--pan", "5555555551234567", "--json")
        #expect(Self.json(back.stdout, "pin") == "987654" && Self.json(back.stdout, "format") == "3")
    }

    /// Format 4: psec's deterministic vector (random half FF…FF) both ways, and the ep2 Security Specification 8.0.0
    /// §8.4 block.
    @Test func pinBlockFormat4() throws {
        let key = "00112233445566778899AABBCCDDEEFF"
        let encoded = try Self.termtool(
            "pinblock", "encode", "--format", "4", "--pin", "1234", "--pan", "1234567890123456789", "--key", key, "--random", "FF")
        #expect(encoded.status == 0, "\(encoded.stderr)")
        #expect(Self.field(encoded.stdout, "plain PIN field") == "441234AAAAAAAAAAFFFFFFFFFFFFFFFF")
        #expect(Self.isMarkedSecret(encoded.stdout, "plain PIN field"))
        #expect(Self.field(encoded.stdout, "plain PAN field") == "71234567890123456789000000000000")
        #expect(Self.field(encoded.stdout, "enciphered PIN block") == "28B41FDDD29B743E93124BD8E32D921E")

        let decoded = try Self.termtool(
            "pinblock", "decode", "--format", "4", "--block", "28B41FDDD29B743E93124BD8E32D921E", "--pan", "1234567890123456789", "--key", key)
        #expect(Self.field(decoded.stdout, "PIN") == "1234")
        let ep2 = try Self.termtool(
            "pinblock", "decode", "--block", "CC17F65586BFD0953010226C4FC5B3CA", "--pan", "432198765432109870",
            "--key", "C1D0F8FB4958670DBA40AB1F3752EF0D", "--json")
        #expect(Self.json(ep2.stdout, "format") == "4" && Self.json(ep2.stdout, "pin") == "1234")
        // Format 4 without its key is an input error.
        let noKey = try Self.termtool("pinblock", "encode", "--format", "4", "--pin", "1234", "--pan", "1234567890123456789")
        #expect(noKey.status == 2)
    }

    // MARK: dukpt

    /// X9.24-1:2009 Annex A: BDK 0123…3210, KSN FFFF9876543210E00001 → IPEK, transaction key and PIN key; counter 8
    /// with every variant (from the initial key); a roll-over KSN (A.4.3, counter 0FF800).
    @Test func tdesDUKPT() throws {
        let first = try Self.termtool("dukpt", "--bdk", "0123456789ABCDEFFEDCBA9876543210", "--ksn", "FFFF9876543210E00001")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Self.field(first.stdout, "IPEK (initial key)") == "6AC292FAA1315B4D858AB3A3D7D5933A")
        #expect(Self.field(first.stdout, "transaction key") == "042666B49184CFA368DE9628D0397BC9")
        #expect(Self.field(first.stdout, "PIN key") == "042666B49184CF5C68DE9628D0397B36")
        for label in ["IPEK (initial key)", "transaction key", "PIN key", "MAC key (request)", "data key (response)"] {
            #expect(Self.isMarkedSecret(first.stdout, label), "\(label)")
        }

        let eighth = try Self.termtool(
            "dukpt", "--initial-key", "6AC292FAA1315B4D858AB3A3D7D5933A", "--ksn", "FFFF9876543210E00008", "--json")
        #expect(Self.json(eighth.stdout, "transactionKey") == "27F66D5244FF62E1AA6F6120EDEB4280")
        #expect(Self.json(eighth.stdout, "pinKey") == "27F66D5244FF621EAA6F6120EDEB427F")
        #expect(Self.json(eighth.stdout, "macRequestKey") == "27F66D5244FF9DE1AA6F6120EDEBBD80")
        #expect(Self.json(eighth.stdout, "macResponseKey") == "27F66D52BBFF62E1AA6F612012EB4280")
        #expect(Self.json(eighth.stdout, "dataRequestKey") == "C39B2778B058AC376FB18DC906F75CBA")
        #expect(Self.json(eighth.stdout, "dataResponseKey") == "846E267CB822197406DA2B161191C6E4")
        #expect(eighth.stdout.contains("\"secretFields\":[\"ipek\",\"transactionKey\",\"pinKey\""))

        let rollover = try Self.termtool("dukpt", "--bdk", "0123456789ABCDEFFEDCBA9876543210", "--ksn", "FFFF9876543210EFF800")
        #expect(Self.field(rollover.stdout, "counter") == "0FF800")
        #expect(Self.field(rollover.stdout, "transaction key") == "F9CDFEBF4F5B1D9EB3EC12454527E176")
        // A counter with eleven one bits is never used by a device: refused, not derived.
        let skipped = try Self.termtool("dukpt", "--bdk", "0123456789ABCDEFFEDCBA9876543210", "--ksn", "FFFF9876543210EFF803")
        #expect(skipped.status == 2)
    }

    /// X9.24-3-2017 supplement: BDK FEDCBA9876543210F1F1F1F1F1F1F1F1, initial key ID 1234567890123456, counter 1.
    @Test func aesDUKPT() throws {
        let bdk = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
        let ksn = "123456789012345600000001"
        let pin = try Self.termtool("dukpt", "--aes", "--bdk", bdk, "--ksn", ksn, "--usage", "pin", "--key-type", "aes128")
        #expect(pin.status == 0, "\(pin.stderr)")
        #expect(Self.field(pin.stdout, "initial key") == "1273671EA26AC29AFA4D1084127652A1")
        #expect(Self.field(pin.stdout, "derivation key") == "4F21B565BAD9835E112B6465635EAE44")
        #expect(Self.field(pin.stdout, "working key") == "AF8CB133A78F8DC2D1359F18527593FB")
        #expect(Self.isMarkedSecret(pin.stdout, "working key"))
        let expected: [(String, String, String)] = [
            ("mac-gen", "aes128", "A2DC23DE6FDE0824A2BC321E08E4B8B7"), ("mac-verify", "aes128", "DBB463945B286C07CD3AD82EE96FD9C9"),
            ("mac-both", "aes128", "85675439D18D7F1158BD8E3EAA3D502B"), ("data-encrypt", "aes128", "A35C412EFD41FDB98B69797C02DCD08F"),
            ("data-decrypt", "aes128", "16292C6EA8F64C5420A0584BFBC577BE"), ("data-both", "aes128", "A308E080DD15A1B741F1721BF67DE11C"),
            ("pin", "2tdea", "630C706D9546E47D4449313F61C4D4AB"), ("pin", "3tdea", "EA8B3F37EB9B15831167EF2977FD8762D9B5913F35766F6A"),
        ]
        for (usage, type, key) in expected {
            let result = try Self.termtool("dukpt", "--aes", "--initial-key", "1273671EA26AC29AFA4D1084127652A1", "--ksn", ksn,
                                           "--usage", usage, "--key-type", type, "--json")
            #expect(Self.json(result.stdout, "workingKey") == key, "\(usage) \(type)")
        }
        let aes256 = try Self.termtool(
            "dukpt", "--aes", "--bdk", bdk + bdk, "--ksn", ksn, "--key-type", "aes256", "--json")
        #expect(Self.json(aes256.stdout, "initialKey") == "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F")
        #expect(Self.json(aes256.stdout, "workingKey") == "8C1AB7BEE973829E30242E0BBBDD4946D540C98FC1B5BDCF94790001A23FD502")
        // An AES-256 working key from an AES-128 initial key is refused (X9.24-3-2017 6.3.2).
        let tooStrong = try Self.termtool("dukpt", "--aes", "--bdk", bdk, "--ksn", ksn, "--key-type", "aes256")
        #expect(tooStrong.status == 2)
    }

    // MARK: mac

    /// ISO/IEC 9797-1 Annex B retail MAC ("Now is the time for all "), FIPS 113 CBC-MAC, NIST SP 800-38B examples.
    @Test func macs() throws {
        let key = "0123456789ABCDEFFEDCBA9876543210"
        let message = "4E6F77206973207468652074696D6520666F7220616C6C20"
        let cases: [([String], String)] = [
            (["--algorithm", "3", "--key", key, "--data", message], "A1C72E74EA3FA9B6"),
            (["--algorithm", "3", "--key", key, "--data", message, "--padding", "2"], "E9086230CA3BE796"),
            (["--algorithm", "3", "--key", key, "--data", message, "--length", "4"], "A1C72E74"),
            // FIPS 113: "7654321 Now is the time for " under single DES 0123456789ABCDEF.
            (["--algorithm", "1", "--key", "0123456789ABCDEF", "--data", "37363534333231204E6F77206973207468652074696D6520666F7220"],
             "F1D30F6849312CA4"),
            // SP 800-38B D.1 example 2 (AES-128), D.2 example 1 (three-key TDES, empty message).
            (["--algorithm", "cmac-aes", "--key", "2B7E151628AED2A6ABF7158809CF4F3C", "--data", "6BC1BEE22E409F96E93D7E117393172A"],
             "070A16B46B4D4144F79BDD9DD04A287C"),
            (["--algorithm", "cmac-tdes", "--key", "8AA83BF8CBDA10620BC1BF19FBB6CD58BC313D4A371CA8B5", "--data", ""], "B7A688E122FFAF95"),
        ]
        for (arguments, mac) in cases {
            let result = try Self.run(["mac"] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(Self.field(result.stdout, "MAC") == mac, "\(arguments)")
        }
        let json = try Self.termtool("mac", "--algorithm", "3", "--key", key, "--data", message, "--json")
        #expect(Self.json(json.stdout, "mac") == "A1C72E74EA3FA9B6" && json.stdout.contains("\"secretFields\":[]"))
    }

    // MARK: arqc / arpc

    /// pyemv's documented examples: option A ICC master key, the AC over its sample data, and the whole chain IMK →
    /// ICC MK → session key → ARQC that the cross-check suite compares with pyemv.
    @Test func arqc() throws {
        let chain = try Self.termtool(
            "arqc", "generate", "--imk", "0123456789ABCDEFFEDCBA9876543210", "--pan", "5413330089020011", "--psn", "00",
            "--atc", "001C", "--data", "0000000010000000000000000840000000000008402511270052BF45855800001C03A4A082")
        #expect(chain.status == 0, "\(chain.stderr)")
        #expect(Self.field(chain.stdout, "ARQC") == "134B0D19C9945566")
        #expect(Self.isMarkedSecret(chain.stdout, "ICC master key") && Self.isMarkedSecret(chain.stdout, "session key"))

        let optionA = try Self.termtool(
            "arqc", "generate", "--imk", "0123456789ABCDEFFEDCBA9876543210", "--pan", "12345678901234567", "--psn", "01",
            "--atc", "001C", "--data", "00", "--json")
        #expect(Self.json(optionA.stdout, "iccMasterKey") == "73AD54688CEF2934B0979857E3C719F1")
        let session = try Self.termtool(
            "arqc", "generate", "--icc-mk", "0123456789ABCDEFFEDCBA9876543210", "--atc", "001C", "--data", "00", "--json")
        #expect(Self.json(session.stdout, "sessionKey") == "E9FB384AF807B940FEDCEA613461B0C4")

        let data = "000000002000000000000000012400000080000124110309003804823E58000001"
        let ac = try Self.termtool("arqc", "generate", "--session-key", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "--data", data)
        #expect(Self.field(ac.stdout, "ARQC") == "3B76CF10FECD8789")
        let ac2 = try Self.termtool(
            "arqc", "generate", "--session-key", "29B33180E567CE38EA4CBC9D753B0E61", "--data", "0123456789ABCDEF0123456789ABCDEF", "--json")
        #expect(Self.json(ac2.stdout, "arqc") == "FA624250B008B59A")

        let valid = try Self.termtool(
            "arqc", "verify", "--session-key", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "--data", data, "--arqc", "3B76CF10FECD8789")
        #expect(valid.status == 0 && valid.stdout.hasSuffix("\nVALID\n"), "\(valid.stdout)")
        let invalid = try Self.termtool(
            "arqc", "verify", "--session-key", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "--data", data, "--arqc", "3B76CF10FECD8788")
        #expect(invalid.status == 1 && invalid.stdout.hasSuffix("\nINVALID\n"), "\(invalid.stdout)")
        let wrongPadding = try Self.termtool(
            "arqc", "verify", "--session-key", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "--data", data, "--arqc", "3B76CF10FECD8789",
            "--padding", "1", "--json")
        #expect(wrongPadding.status == 1 && Self.json(wrongPadding.stdout, "valid") == "false")
        // Mastercard SKD needs the unpredictable number.
        let noUN = try Self.termtool("arqc", "generate", "--icc-mk", "0123456789ABCDEFFEDCBA9876543210", "--atc", "001C",
                                     "--scheme", "mastercard", "--data", "00")
        #expect(noUN.status == 2)
    }

    /// pyemv's ARPC examples, methods 1 and 2.
    @Test func arpc() throws {
        let cases: [([String], String)] = [
            (["--method", "1", "--session-key", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "--arqc", "1234567890ABCDEF", "--arc", "0000"], "F5E6F44147E2F1B0"),
            (["--method", "2", "--session-key", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "--arqc", "1234567890ABCDEF", "--csu", "00000000"], "9308BEBC"),
            (["--method", "1", "--session-key", "29B33180E567CE38EA4CBC9D753B0E61", "--arqc", "FA624250B008B59A", "--arc", "0000"], "45D4255EEF10C920"),
            (["--method", "2", "--session-key", "29B33180E567CE38EA4CBC9D753B0E61", "--arqc", "FA624250B008B59A", "--csu", "00000000"], "CB56FA40"),
        ]
        for (arguments, expected) in cases {
            let result = try Self.run(["arpc"] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(Self.field(result.stdout, "ARPC") == expected)
        }
        let mixed = try Self.termtool("arpc", "--method", "1", "--session-key", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB",
                                      "--arqc", "1234567890ABCDEF", "--csu", "00000000")
        #expect(mixed.status == 2)
    }

    // MARK: tr31

    /// TR-31:2018 A.7.2.2 (version B), A.7.3.2 (a BDK with optional block KS), A.7.4 (version D, AES-256 KBPK), and
    /// B1 blocks made with psec 1.3.0 (an independent implementation) that load DUKPT initial keys.
    @Test func tr31Unwrap() throws {
        let b = try Self.termtool(
            "tr31", "unwrap", "--kbpk", "DD7515F2BFC17F85CE48F3CA25CB21F6",
            "--block", "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E")
        #expect(b.status == 0, "\(b.stderr)")
        #expect(Self.field(b.stdout, "version")?.hasPrefix("B") == true)
        #expect(Self.field(b.stdout, "key usage") == "P0 (PIN encryption)")
        #expect(Self.field(b.stdout, "algorithm")?.hasPrefix("T") == true)
        #expect(Self.field(b.stdout, "mode of use")?.hasPrefix("E") == true)
        #expect(Self.field(b.stdout, "key") == "3F419E1CB7079442AA37474C2EFBF8B8" && Self.isMarkedSecret(b.stdout, "key"))
        // KCV: TDES-ECB of a zero block (checked with `openssl enc -des-ede`).
        #expect(Self.field(b.stdout, "KCV") == "57C409")

        let ks = try Self.termtool(
            "tr31", "unwrap", "--kbpk", "1D22BF32387C600AD97F9B97A51311AC", "--json",
            "--block", "B0104B0TX12S0100KS1800604B120F9292800000BB68BE8680A400D9191AD4ECE45B6E6C0D21C4738A52190E248719E24B433627")
        #expect(Self.json(ks.stdout, "key") == "E8BC63E5479455E26577F715D587FE68")
        #expect(ks.stdout.contains("\"optionalBlocks\":[{\"id\":\"KS\",\"data\":\"00604B120F9292800000\"}]"))
        #expect(Self.json(ks.stdout, "keyVersionNumber") == "12")

        let d = try Self.termtool(
            "tr31", "unwrap", "--kbpk", "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6", "--json",
            "--block", "D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA05F7425509593D03A457DC34")
        #expect(Self.json(d.stdout, "key") == "3F419E1CB7079442AA37474C2EFBF8B8")
        // KCV: AES-CMAC of a zero block (checked with `openssl mac -cipher AES-128-CBC CMAC`).
        #expect(Self.json(d.stdout, "kcv") == "08793E25AB")

        let tdesDUKPT = try Self.termtool(
            "tr31", "unwrap", "--kbpk", "89E88CF7931444F334BD7547FC3F380C",
            "--block", "B0120B1TX00N0100KS18FFFF9876543210E00000FE22A4602BDD23E47EDF4700743C627B0CF0A0DFF8C5675943C473B13570C3A850501C716284428E")
        #expect(Self.field(tdesDUKPT.stdout, "key") == "6AC292FAA1315B4D858AB3A3D7D5933A")
        #expect(Self.field(tdesDUKPT.stdout, "DUKPT initial KSN") == "FFFF9876543210E00000")

        let aesDUKPT = try Self.termtool(
            "tr31", "unwrap", "--kbpk", String(repeating: "A5", count: 32), "--json",
            "--block", "D0176B1AX00N0200IK141234567890123456PB0C00000000C6D9BBBCB5233F33CDC6D40B6FEA05087B426D1F2DC25576D5DBB68DBC8F2A381BFE34E6D04B29D4F380A9A389C2237BA904DEE93F7B67334B3362C3E6180C14")
        #expect(Self.json(aesDUKPT.stdout, "key") == "1273671EA26AC29AFA4D1084127652A1")
        #expect(Self.json(aesDUKPT.stdout, "dukptInitialKeyID") == "1234567890123456")
    }

    // MARK: Errors

    /// Bad input: one line on stderr, exit status 2, nothing on stdout, and neither the key nor the PIN repeated.
    @Test(arguments: [
        // A wrong-length key (15 bytes), a BDK that is not hex, a MAC key with an odd digit count.
        (["dukpt", "--bdk", "0123456789ABCDEFFEDCBA98765432", "--ksn", "FFFF9876543210E00001"], "0123456789ABCDEFFEDCBA98765432"),
        (["dukpt", "--bdk", "0123456789ABCDEFFEDCBA987654321Z", "--ksn", "FFFF9876543210E00001"], "0123456789ABCDEFFEDCBA987654321Z"),
        (["mac", "--algorithm", "3", "--key", "0123456789ABCDEFFEDCBA987654321", "--data", "00"], "0123456789ABCDEFFEDCBA987654321"),
        (["arpc", "--method", "1", "--session-key", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBB", "--arqc", "1234567890ABCDEF", "--arc", "0000"],
         "AAAAAAAAAAAAAAAABBBBBBBBBBBBBB"),
        (["pinblock", "encode", "--format", "4", "--pin", "1234", "--pan", "4111111111111111", "--key", "00112233445566778899AABBCCDDEE"],
         "00112233445566778899AABBCCDDEE"),
        // PINs of 3 and 13 digits.
        (["pinblock", "encode", "--format", "0", "--pin", "739", "--pan", "4012345678909"], "739"),
        (["pinblock", "encode", "--format", "3", "--pin", "7391827364510", "--pan", "4012345678909"], "7391827364510"),
        // A PAN that is not digits.
        (["pinblock", "encode", "--format", "0", "--pin", "1234", "--pan", "40123456789X9"], "40123456789X9"),
        // A TR-31 block with a changed MAC digit, one under the wrong KBPK, a truncated one.
        (["tr31", "unwrap", "--kbpk", "DD7515F2BFC17F85CE48F3CA25CB21F6",
          "--block", "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248F"], "DD7515F2BFC17F85CE48F3CA25CB21F6"),
        (["tr31", "unwrap", "--kbpk", "DD7515F2BFC17F85CE48F3CA25CB2106",
          "--block", "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E"], "DD7515F2BFC17F85CE48F3CA25CB2106"),
        (["tr31", "unwrap", "--kbpk", "DD7515F2BFC17F85CE48F3CA25CB21F6",
          "--block", "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A2"], "DD7515F2BFC17F85CE48F3CA25CB21F6"),
        // A PIN block that decodes to nothing under the wrong key.
        (["pinblock", "decode", "--block", "1B9C1845EB993A7A", "--pan", "4012345678909", "--key", "142666B49184CF5C68DE9628D0397B36"],
         "142666B49184CF5C68DE9628D0397B36"),
    ])
    func badInputIsOneLineAndExitTwo(arguments: [String], secret: String) throws {
        let result = try Self.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.hasPrefix("termtool: error: ") == true, "\(result.stderr)")
        #expect(!result.stderr.contains(secret), "the error repeats the input: \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
    }

    /// The TR-31 MAC failure names what failed (the library keeps that error opaque).
    @Test func tr31MACFailureMessage() throws {
        let result = try Self.termtool(
            "tr31", "unwrap", "--kbpk", "DD7515F2BFC17F85CE48F3CA25CB2106",
            "--block", "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E")
        #expect(result.status == 2 && result.stderr.contains("MAC does not verify"))
    }

    /// A malformed command line is ArgumentParser's usage error (64), and it never quotes a key back.
    @Test func commandLineErrorsDoNotQuoteValues() throws {
        // A key split by a space: the second half is an "unexpected argument".
        let split = try Self.termtool("mac", "--algorithm", "3", "--key", "0123456789ABCDEF", "FEDCBA9876543210", "--data", "00")
        #expect(split.status == 64)
        #expect(!split.stderr.contains("FEDCBA9876543210") && split.stderr.contains("'<value>'"), "\(split.stderr)")
        let misspelt = try Self.termtool("mac", "--algorithm", "3", "--kye=0123456789ABCDEFFEDCBA9876543210", "--data", "00")
        #expect(misspelt.status == 64 && !misspelt.stderr.contains("0123456789ABCDEF"), "\(misspelt.stderr)")
    }

    /// Every crypto subcommand documents itself with an example.
    @Test(arguments: [
        ["pinblock", "encode"], ["pinblock", "decode"], ["dukpt"], ["mac"], ["arqc", "generate"], ["arqc", "verify"], ["arpc"],
        ["tr31", "unwrap"], ["bench-crypto"],
    ])
    func helpHasAnExample(command: [String]) throws {
        let result = try Self.run(command + ["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Example") && result.stdout.contains("$ termtool " + command.joined(separator: " ")), "\(result.stdout)")
    }

    // MARK: bench-crypto

    /// The benchmark runs every row and parses `openssl speed`'s tables: here from a stand-in `openssl` that prints
    /// OpenSSL 3.0's table layout with known numbers (the real one takes seconds per case).
    @Test func benchCryptoParsesOpenSSLSpeed() throws {
        let directory = try makeTemporaryDirectory("termtool-bench")
        defer { removeTree(directory) }
        let fake = directory + "/openssl"
        try writeTextFile(fake, """
            #!/bin/sh
            case "$*" in
              version) echo "OpenSSL 3.0.99 (stand-in)" ;;
              *des-ede3*) printf 'The '"'"'numbers'"'"' are in 1000s of bytes per second processed.\\ntype             16 bytes\\nDES-EDE3-ECB     31036.20k\\n' ;;
              *aes-128-ecb*) printf 'type             16 bytes\\nAES-128-ECB    1000000.00k\\n' ;;
              *rsa2048*) printf '                  sign    verify    sign/s verify/s\\nrsa 2048 bits 0.000241s 0.000017s   4141.0  59936.0\\n' ;;
              *) exit 1 ;;
            esac

            """)
        #expect(chmod(fake, 0o755) == 0)
        let result = try Self.termtool("bench-crypto", "--seconds", "0.02", "--openssl", fake, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(Self.json(out, "opensslVersion") == "OpenSSL 3.0.99 (stand-in)")
        for name in ["PIN, TDES", "PIN, AES", "ARQC: session key", "ARQC from IMK", "RSA-1984 recover, e=3, key loaded",
                     "RSA-1984 recover, e=65537, key built per cert"] {
            #expect(out.contains("\"operation\":\"" + name), "\(name)")
        }
        // 31036.20 thousand bytes/s over 16-byte buffers; 1 000 000 k / 16; the verify/s column.
        #expect(out.contains("\"opensslOpsPerSecond\":1939762.5"))
        #expect(out.contains("\"opensslOpsPerSecond\":62500000.0"))
        #expect(out.contains("\"opensslOpsPerSecond\":59936.0"))
        // Every row measured something.
        #expect(!out.contains("\"operations\":0,"))

        let text = try Self.termtool("bench-crypto", "--seconds", "0.02", "--no-openssl")
        #expect(text.status == 0)
        #expect(text.stdout.split(separator: "\n").filter { $0.hasPrefix("RSA-1984") }.count == 4)
    }
}
