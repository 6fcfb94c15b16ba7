import Codecs
import TestKit
import Testing

@Suite("termtool qr decode / mpm")
struct QRTermtoolTests {
    func termtool(_ arguments: [String]) throws -> ProcessResult {
        try runProcess([try builtProduct("termtool")] + arguments, timeout: .seconds(60))
    }

    @Test("decode prints the MPM sample's tree with names and the valid CRC")
    func decodeMPM() throws {
        let result = try termtool(["qr", "decode", emvcoSample])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "EMVCo MPM (merchant-presented), CRC A13A valid")
        #expect(lines.contains("64 Merchant Information—Language Template"))
        #expect(lines.contains("  01 Merchant Name—Alternate Language: \"最佳运输\""))
        #expect(lines.contains("  07 Terminal Label: \"A6008667\""))
        #expect(lines.last == "63 CRC: \"A13A\"")
    }

    @Test("decode fails on a wrong CRC and says which CRC was expected")
    func decodeBadCRC() throws {
        let damaged = String(emvcoSample.dropLast(4)) + "A13B"
        let result = try termtool(["qr", "decode", damaged])
        #expect(result.status == 1)
        #expect(result.stdout.hasPrefix("EMVCo MPM (merchant-presented), CRC A13B INVALID, computed A13A"))
    }

    @Test("decode prints a CPM tree with the PAN masked and the track 2 data hidden")
    func decodeCPM() throws {
        let result = try termtool(["qr", "decode", cpmExample])
        #expect(result.status == 0)
        #expect(result.stdout.contains("85 Payload Format Indicator: \"CPV01\""))
        #expect(result.stdout.contains("  5A Application Primary Account Number (PAN): 123456******3458"))
        #expect(!result.stdout.contains("1234567890123458"))
        let track2 = try termtool(["qr", "decode", cpmTrack2Example])
        #expect(track2.stdout.contains("57 Track 2 Equivalent Data: <masked, 15 bytes>"))
    }

    @Test("mpm builds from flags the payload the builder makes")
    func buildFromFlags() throws {
        let result = try termtool([
            "qr", "mpm", "--amount", "23.72", "--merchant", "BEST TRANSPORT", "--city", "BEIJING", "--merchant-zh", "最佳运输",
            "--city-zh", "北京", "--reference", "ORDER0001", "--terminal", "T1",
        ])
        #expect(result.status == 0)
        #expect(result.stdout == "00020101021226430020CN.COM.EXAMPLE.QRSIM0115123456789012345520458125303156540523.725802CN5914BEST TRANSPORT6007BEIJING62190509ORDER00010702T164200002ZH0104最佳运输0202北京63045CE2\n")
        let refused = try termtool(["qr", "mpm", "--amount", "1", "--merchant", String(repeating: "M", count: 26), "--city", "X"])
        #expect(refused.status != 0)
    }
}
