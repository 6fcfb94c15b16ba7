import Codecs
import Testing

@Suite struct APDUTraceTests {
    static let record = Hex.decode("7023" + "5A084761739001010010" + "57114761739001010010D25122011234567890" + "5F2403251231" + "9000")!

    @Test func redactsCardDataInPlaceAndKeepsStructure() throws {
        let redacted = APDUTrace.redact(response: Self.record)
        #expect(redacted.count == Self.record.count)
        let text = Hex.encode(redacted)
        #expect(!text.contains("4761739001010010"))
        #expect(text.contains("4761730000000010"))  // first 6 / last 4 kept, the rest zero
        #expect(!text.contains("1234567890"))
        let nodes = try TLVNode.sequence(tlvEncoded: Array(redacted.dropLast(2)))
        #expect(nodes.first?.children.count == 3)
        #expect(redacted.suffix(2) == [0x90, 0x00])
    }

    @Test func zeroesPINCommandsAndOpaqueLongData() {
        let verify = Hex.decode("0020008008241234FFFFFFFFFF")!
        #expect(APDUTrace.redact(command: verify).suffix(8).allSatisfy { $0 == 0 })
        #expect(APDUTrace.redact(command: verify).prefix(5) == verify.prefix(5))
        let challenge = Hex.decode("01020304050607089000")!
        #expect(APDUTrace.redact(response: challenge) == challenge)
        let opaque = [UInt8](repeating: 0x41, count: 20) + [0x90, 0x00]
        #expect(APDUTrace.redact(response: opaque).prefix(20).allSatisfy { $0 == 0 })
    }

    @Test func writesParsesAndRenders() throws {
        let trace = APDUTrace.header + "\n"
            + APDUTrace.line(.command, Hex.decode("00B2010C00")!, time: "17:02:11.042") + "\n"
            + APDUTrace.line(.response, Self.record, time: "17:02:11.049") + "\n"
            + APDUTrace.line(.command, Hex.decode("0020008008241234FFFFFFFFFF")!) + "\n"
            + APDUTrace.line(.response, [0x63, 0xC2]) + "\n"
        let entries = try APDUTrace.parse(trace)
        #expect(entries.count == 4)
        #expect(entries[0].time == "17:02:11.042")
        let text = APDUTrace.render(entries)
        #expect(text.contains("READ RECORD 1 SFI 1"))
        #expect(text.contains("476173******0010"))
        #expect(text.contains("<masked, 17 bytes>"))
        #expect(text.contains("VERIFY (plaintext PIN)"))
        #expect(text.contains("2 tries left"))
        #expect(!text.contains("241234"))
    }

    @Test func refusesMalformedLinesWithTheirNumber() {
        #expect(throws: APDUTrace.FormatError(line: 2, message: "not hexadecimal")) {
            try APDUTrace.parse("# x\n> 00ZZ\n")
        }
        #expect(throws: APDUTrace.FormatError.self) { try APDUTrace.parse("< 90\n") }
        #expect(throws: APDUTrace.FormatError.self) { try APDUTrace.parse("hello world again\n") }
    }
}
