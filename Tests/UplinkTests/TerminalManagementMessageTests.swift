import Codecs
import Testing
import Uplink

/// The terminal management texts and messages of docs/host-interface.md §13: round trips through the real codec, and
/// refusal of what does not follow the format.
@Suite struct TerminalManagementMessageTests {
    static let digest = [UInt8](repeating: 0xAB, count: 32)

    @Test func directoryRoundTripsAndRefusesMalformedEntries() throws {
        let offers = [
            TerminalManagement.Offer(kind: .parameters, name: "parameters-12.tpar", version: "12", size: 13_184, sha256: Self.digest),
            TerminalManagement.Offer(kind: .update, name: "update-1.2.0.tpkg", version: "1.2.0", size: 9_000_000, sha256: Self.digest),
        ]
        let text = offers.map(\.encoded).joined(separator: ";")
        #expect(try TerminalManagement.Offer.list(encoded: text) == offers)
        #expect(try TerminalManagement.Offer.list(encoded: nil).isEmpty)
        let hex = String(repeating: "ab", count: 32)
        for bad in [
            "X,name,1,10,\(hex)",  // unknown kind
            "P,../etc,1,10,\(hex)",  // a name with a slash
            "P,name,1.x,10,\(hex)",  // a version outside [0-9.]
            "P,name,1,-10,\(hex)",  // a signed size
            "P,name,1,10,\(hex.dropLast(2))",  // a short digest
            "P,name,1,10",  // missing parts
            "P,name,1,1234567890123,\(hex)",  // a size over 12 digits
        ] {
            #expect(throws: ISO8583Error.self, "\(bad)") { try TerminalManagement.Offer.list(encoded: bad) }
        }
    }

    @Test func chunkRequestHeaderReportAndStock() throws {
        let request = TerminalManagement.chunkRequest(name: "update-1.2.0.tpkg", offset: 960, length: 960)
        #expect(try TerminalManagement.parseChunkRequest(request) == ("update-1.2.0.tpkg", 960, 960))
        for bad in ["n,0,0", "n,0,961", "n,-1,10", "n,0", "n/x,0,10", "n,0,10,1"] {
            #expect(throws: ISO8583Error.self, "\(bad)") { try TerminalManagement.parseChunkRequest(bad) }
        }
        let header = TerminalManagement.ChunkHeader(name: "n", offset: 0, total: 100, crc32: 0x0000_BEEF)
        #expect(header.encoded == "n,0,100,0000BEEF")
        #expect(try TerminalManagement.ChunkHeader(encoded: header.encoded) == header)
        #expect(throws: ISO8583Error.self) { try TerminalManagement.ChunkHeader(encoded: "n,0,100,BEEF") }

        let report = TerminalManagement.report(name: "p.tpar", version: "3", result: .badSignature, reason: "unknownKey, no key\u{7}")
        let parsed = try TerminalManagement.parseReport(report)
        #expect(parsed.result == .badSignature && parsed.reason == "unknownKey, no key?" && parsed.version == "3")
        #expect(TerminalManagement.report(name: "p", version: "1", result: .applied, reason: String(repeating: "x", count: 2000)).utf8.count == 999)

        let stock = TerminalManagement.stock([("A001", -3), ("B002", 19)])
        #expect(stock == "A001:-3;B002:19")
        #expect(try TerminalManagement.parseStock(stock).map { "\($0.code)=\($0.count)" } == ["A001=-3", "B002=19"])
        #expect(throws: ISO8583Error.self) { try TerminalManagement.parseStock("A001=3") }
    }

    @Test func chunkAnswerTravelsThroughTheCodec() throws {
        let request = TerminalManagement.request(
            .fileTransfer, text: "update-1.2.0.tpkg,0,960", stan: 42, transmission: HostDateTime(month: 11, day: 27, hour: 9, minute: 30, second: 0),
            terminalID: "SIM00001", merchantID: "898310048990001")
        let packedRequest = try HostDialect.pack(request)
        #expect(try HostDialect.unpack(packedRequest[...], mac: nil) == request)
        let chunk = (0..<960).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let answer = try HostMessages.response(to: request, responseCode: .approved, fields: [
            63: .text(TerminalManagement.ChunkHeader(name: "update-1.2.0.tpkg", offset: 0, total: 5000, crc32: CRC32.checksum(chunk)).encoded),
            72: .binary(chunk),
        ])
        let packed = try HostDialect.pack(answer)
        #expect(packed.count <= HostDialect.maximumMessageSize)
        let read = try HostDialect.unpack(packed[...], mac: nil)
        #expect(read.bytes(72) == chunk && read.text(70) == "822" && read.text(11) == "000042")
        // A chunk over 999 bytes cannot be packed.
        var tooLong = answer
        tooLong[72] = .binary([UInt8](repeating: 0, count: 1000))
        #expect(throws: ISO8583Error.self) { try HostDialect.pack(tooLong) }
    }

    @Test func catalogueRoundTripsAndRefusesUnknownKeys() throws {
        let catalogue = ItemCatalogue(version: 3, items: [
            .init(code: "A001", nameChinese: "矿泉水", nameEnglish: "Water", priceMinor: 250, taxClass: "A", stock: 40),
        ])
        #expect(try ItemCatalogue(parsing: Array(catalogue.rendered().utf8)) == catalogue)
        for bad in [
            "version = 1\n[item.A001]\nname-zh = \"水\"\nname-en = \"W\"\nprice = 1\ntax = \"A\"\nstock = 1\ncolour = \"red\"\n",
            "version = 1\n[item.A001]\nname-zh = \"水\"\nname-en = \"W\"\nprice = -1\ntax = \"A\"\nstock = 1\n",
            "version = 1\n[item.A001]\nname-zh = \"水\"\nname-en = \"水\"\nprice = 1\ntax = \"A\"\nstock = 1\n",
            "version = 1\nowner = \"x\"\n",
        ] {
            #expect(throws: ISO8583Error.self, "\(bad)") { try ItemCatalogue(parsing: Array(bad.utf8)) }
        }
    }
}
