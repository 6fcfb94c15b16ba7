import Codecs
import EMVKernel
import TestKit
import Testing

/// The terminal parameters file (docs/emv-parameters.md): the simulator's example file, and every mistake reported
/// with its line and field.
@Suite struct ParametersFileTests {
    static let today = EMVDate(year: 2026, month: 11, day: 27)!

    @Test func parsesTheSimulatorFile() throws {
        let text = try readTextFile(repositoryRoot() + "/board/sim/emv-parameters.toml")
        let p = try TerminalParameters.parse(text, today: Self.today)
        #expect(p.terminal.terminalType == 0x22)
        #expect(p.terminal.capabilities == [0xE0, 0xF8, 0xC8])
        #expect(p.terminal.additionalCapabilities == [0x60, 0x00, 0xF0, 0xA0, 0x01])
        #expect(p.terminal.countryCode == 156 && p.terminal.currencyCode == 156 && p.terminal.currencyExponent == 2)
        #expect(p.terminal.merchantCategoryCode == 5411)
        #expect(p.terminal.terminalIdentification.utf8.count == 8 && p.terminal.interfaceDeviceSerialNumber.utf8.count == 8)
        #expect(p.applications.map { Hex.encode($0.aid) } == ["A0000000031010", "A0000000041010", "A000000333010101", "A000000333010102", "A0000000032010"])
        let visa = p.applications[0]
        #expect(visa.applicationVersions == [[0x00, 0x96], [0x00, 0x8C]])
        #expect(visa.tacDenial == [0x00, 0x10, 0x00, 0x00, 0x00])
        #expect(visa.tacOnline == [0xDC, 0x40, 0x04, 0xF8, 0x00])
        #expect(visa.tacDefault == [0xDC, 0x40, 0x00, 0xA8, 0x00])
        #expect(visa.floorLimit == 10000 && visa.randomSelectionThreshold == 5000)
        #expect(visa.randomSelectionTargetPercentage == 20 && visa.randomSelectionMaximumTargetPercentage == 50)
        #expect(visa.defaultDDOL == [0x9F, 0x37, 0x04])
        #expect(p.applications[1].defaultTDOL.isEmpty)
        // Every published test key of ODACAKeyTests is in the file, with its checksum verified on loading.
        // ... and the virtual cards' three TEST CA keys (Visa FB, Mastercard FC, UnionPay FD).
        #expect(p.caKeys.count == ODACAKeyTests.published.count + 3)
        for (rid, index) in [("A000000003", UInt8(0xFB)), ("A000000004", 0xFC), ("A000000333", 0xFD)] {
            #expect(p.caKey(rid: hex(rid), index: index) != nil)
        }
        for k in ODACAKeyTests.published {
            let key = try #require(p.caKey(rid: hex(k.rid), index: k.index))
            #expect(key.modulus == hex(k.modulus))
            #expect(key.checksum == hex(k.checksum))
        }
        #expect(p.revocations.contains(rid: hex("A000000003"), caIndex: 0xFB, serialNumber: [0x5E, 0x0B, 0xAD]))
        #expect(p.revocations.entries.count == 1 && p.exceptionFile.isEmpty)
        #expect(text.contains("BEGIN simulator test CA keys") && text.contains("END simulator test CA keys"))
    }

    @Test func theDocumentedExampleParses() throws {
        let doc = try readTextFile(repositoryRoot() + "/docs/emv-parameters.md")
        let start = try #require(doc.firstRange(of: "```toml\n"))
        let rest = doc[start.upperBound...]
        let end = try #require(rest.firstRange(of: "```"))
        let p = try TerminalParameters.parse(String(rest[..<end.lowerBound]), today: Self.today)
        #expect(p.applications.count == 1 && p.caKeys.count == 1)
        #expect(p.contactlessLimits.visa.cvmRequiredLimit == 50_000 && p.contactlessLimits.mastercard.cvmRequiredLimit == 30_000)
        #expect([p.contactlessLimits.visa, p.contactlessLimits.mastercard, p.contactlessLimits.unionPay].allSatisfy { $0.floorLimit == 0 })
    }

    /// A small valid file; the mistakes below each change one line of it.
    static let minimal = """
        [terminal]
        type = "22"
        capabilities = "E0F8C8"
        additional_capabilities = "6000F0A001"
        country = 156
        currency = "156"
        exponent = 2
        mcc = "0742"
        terminal_id = "TERM0001"
        merchant_id = "MERCHANT1"
        merchant_name = "SHOP"
        ifd_serial = "IFD00001"

        [aid.visa]
        aid = "A0000000031010"
        name = "VISA"
        versions = ["0096", "008C"]
        tac_denial = "0010000000"
        tac_online = "DC4004F800"
        tac_default = "DC4000A800"
        floor_limit = 10000
        random_threshold = 5000
        random_target = 20
        random_max_target = 50
        ddol = "9F3704"

        [capk."A000000003-95"]
        rid = "A000000003"
        index = "95"
        exponent = "03"
        expiry = "491231"
        modulus = ["BE9E1FA5E9A803852999C4AB432DB28600DCD9DAB76DFAAA47355A0FE37B1508AC6BF38860D3C6C2E5B12A3CAAF2A7005A7241EBAA7771112C74CF9A0634652FBCA0E598", "0C54A64761EA101A114E0F0B5572ADD57D010B7C9C887E104CA4EE1272DA66D997B9A90B5A6D624AB6C57E73C8F919000EB5F684898EF8C3DBEFB330C62660BED88EA78E909AFF05F6DA627B"]
        checksum = "EE1511CEC71020A9B90443B37B1D5F6E703030F6"

        [revoked]
        certificates = ["A000000003-95-00ABCD"]

        [exceptions]
        pans = ["4761739001010010"]
        """

    /// `minimal` with line `line` (1-based) replaced by `text` (several lines allowed) or removed (`nil`).
    static func edited(_ line: Int, _ text: String?) -> String {
        var lines = minimal.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let text { lines[line - 1] = text } else { lines.remove(at: line - 1) }
        return lines.joined(separator: "\n")
    }

    func error(_ text: String, today: EMVDate = today) -> ParametersFileError? {
        do {
            _ = try TerminalParameters.parse(text, today: today)
            return nil
        } catch let e as ParametersFileError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func parsesTheMinimalFile() throws {
        let p = try TerminalParameters.parse(Self.minimal, today: Self.today)
        #expect(p.terminal.merchantCategoryCode == 742 && p.terminal.currencyCode == 156)
        #expect(p.applications[0].allowsPartialSelection && p.applications[0].defaultTDOL.isEmpty)
        #expect(p.caKeys.first?.expiry == EMVDate(year: 2049, month: 12, day: 31))
        #expect(p.revocations.contains(rid: hex("A000000003"), caIndex: 0x95, serialNumber: [0x00, 0xAB, 0xCD]))
        #expect(p.exceptionFile == ["4761739001010010"])
    }

    @Test(arguments: [
        // (line, replacement, expected line, expected field, words in the message)
        (2, "type = \"27\"", 2, "terminal.type", "terminal type"),
        (2, "type = 22", 0, "", ""),
        (3, "capabilities = \"E0F8\"", 3, "terminal.capabilities", "3 bytes"),
        (3, "capabilities = \"E0F8CG\"", 3, "terminal.capabilities", "hex"),
        (3, "capabilities = 0xE0F8C8", 3, "terminal.capabilities", "found integer"),
        (4, "additional_capabilities = \"6000F0A0\"", 4, "terminal.additional_capabilities", "5 bytes"),
        (5, "country = 1560", 5, "terminal.country", "digits"),
        (6, "currency = \"15\"", 6, "terminal.currency", "3 decimal digits"),
        (7, "exponent = 7", 7, "terminal.exponent", "outside"),
        (8, "mcc = true", 8, "terminal.mcc", "found boolean"),
        (9, "terminal_id = \"TERM001\"", 9, "terminal.terminal_id", "8 printable"),
        (10, "merchant_id = \"MERCHANT12345678\"", 10, "terminal.merchant_id", "1 to 15"),
        (11, "merchant_name = \"商店\"", 11, "terminal.merchant_name", "ASCII"),
        (12, "serial = \"IFD00001\"", 12, "terminal.serial", "unknown key"),
        (12, nil, 1, "terminal.ifd_serial", "missing"),
        (15, "aid = \"A00000\"", 15, "aid.visa.aid", "5 to 16 bytes"),
        (16, "name = \"\"", 16, "aid.visa.name", "1 to 32"),
        (17, "versions = []", 17, "aid.visa.versions", "at least one"),
        (17, "versions = [\"96\"]", 17, "aid.visa.versions", "4 hex digits"),
        (17, "versions = [\n\"0096\",\n0x8C]", 19, "aid.visa.versions", "strings"),
        (18, "tac_denial = \"001000000\"", 18, "aid.visa.tac_denial", "hex digits in pairs"),
        (19, "tac_online = \"DC4004F80000\"", 19, "aid.visa.tac_online", "5 bytes"),
        (20, "tac_default = 5", 20, "aid.visa.tac_default", "found integer"),
        (21, "floor_limit = -1", 21, "aid.visa.floor_limit", "outside"),
        (22, "random_threshold = 10000", 22, "aid.visa.random_threshold", "below floor_limit"),
        (23, "random_target = 100", 23, "aid.visa.random_target", "outside"),
        (24, "random_max_target = 10", 24, "aid.visa.random_max_target", "at least random_target"),
        (25, "ddol = \"9F37\"", 25, "aid.visa.ddol", "data object list"),
        (25, "partial = \"yes\"", 25, "aid.visa.partial", "true or false"),
        (27, "[capk.\"A000000003-95\".extra]", 27, "capk.A000000003-95.extra", "unknown key"),
        (28, "rid = \"A0000000\"", 28, "capk.A000000003-95.rid", "5 bytes"),
        (29, "index = \"9\"", 29, "capk.A000000003-95.index", "hex"),
        (30, "exponent = \"05\"", 30, "capk.A000000003-95.exponent", "03 or 010001"),
        (31, "expiry = \"2049-13-31\"", 31, "capk.A000000003-95.expiry", "not a date"),
        (32, "modulus = \"BE9E\"", 32, "capk.A000000003-95.modulus", "64 to 248 bytes"),
        (33, "checksum = \"EE1511CEC71020A9B90443B37B1D5F6E703030F7\"", 33, "capk.A000000003-95.checksum",
         "CA public key RID A000000003 index 95"),
        (36, "certificates = [\"A000000003-95-ABCD\"]", 36, "revoked.certificates", "RID-INDEX-SERIAL"),
        (39, "pans = [\"47617390010100AB\"]", 39, "exceptions.pans", "8 to 19 decimal digits"),
        (38, "[exception]", 38, "exception", "unknown table"),
        (1, "[terminal", 1, "", "']'"),
        (14, "[aid]", 15, "aid.aid", "expected a table"),
    ] as [(Int, String?, Int, String, String)])
    func reportsLineAndField(_ edit: (Int, String?, Int, String, String)) throws {
        let (line, replacement, expectedLine, field, words) = edit
        let e = error(Self.edited(line, replacement))
        if expectedLine == 0 {
            #expect(e == nil)
            return
        }
        let found = try #require(e, "no error for line \(line) -> \(replacement ?? "(removed)")")
        #expect(found.line == expectedLine, "\(found)")
        #expect(found.field == field, "\(found)")
        #expect(found.message.contains(words), "\(found)")
    }

    @Test func refusesABadChecksumNamingTheKey() throws {
        let e = try #require(error(Self.edited(33, "checksum = \"0000000000000000000000000000000000000000\"")))
        #expect(e.line == 33)
        #expect(e.message.contains("CA public key RID A000000003 index 95") && e.message.contains("refused"))
        #expect(e.message.contains("checksum does not match"))
        #expect(e.message.contains("EE1511CEC71020A9B90443B37B1D5F6E703030F6"))
        // A changed modulus byte is caught the same way.
        let flipped = Self.minimal.replacingFirst("BE9E1FA5", with: "BE9E1FA6")
        #expect(error(flipped)?.field == "capk.A000000003-95.checksum")
    }

    @Test func refusesAnExpiredKeyNamingIt() throws {
        let e = try #require(error(Self.edited(31, "expiry = \"2026-11-26\"")))
        #expect(e.line == 31 && e.field == "capk.A000000003-95.expiry")
        #expect(e.message.contains("CA public key RID A000000003 index 95") && e.message.contains("expired on 2026-11-26"))
        // The last day is still good.
        #expect(error(Self.edited(31, "expiry = \"261127\"")) == nil)
    }

    @Test func refusesDuplicates() throws {
        let twoVisa = Self.minimal.replacingFirst("[capk.", with: "[aid.visa2]\naid = \"A0000000031010\"\nname = \"V\"\nversions = [\"0096\"]\ntac_denial = \"0000000000\"\ntac_online = \"0000000000\"\ntac_default = \"0000000000\"\nfloor_limit = 0\nrandom_threshold = 0\nrandom_target = 0\nrandom_max_target = 0\n\n[capk.")
        let e = try #require(error(twoVisa))
        #expect(e.field == "aid.visa2.aid" && e.message.contains("already listed as 'VISA'"))
        let twoKeys = Self.minimal.replacingFirst("[revoked]", with: """
            [capk.again]
            rid = "A000000003"
            index = "95"
            exponent = "03"
            expiry = "491231"
            modulus = "BE9E1FA5E9A803852999C4AB432DB28600DCD9DAB76DFAAA47355A0FE37B1508AC6BF38860D3C6C2E5B12A3CAAF2A7005A7241EBAA7771112C74CF9A0634652FBCA0E5980C54A64761EA101A114E0F0B5572ADD57D010B7C9C887E104CA4EE1272DA66D997B9A90B5A6D624AB6C57E73C8F919000EB5F684898EF8C3DBEFB330C62660BED88EA78E909AFF05F6DA627B"
            checksum = "EE1511CEC71020A9B90443B37B1D5F6E703030F6"

            [revoked]
            """)
        #expect(try #require(error(twoKeys)).message.contains("listed twice"))
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        replacing(target, with: replacement, maxReplacements: 1)
    }
}
