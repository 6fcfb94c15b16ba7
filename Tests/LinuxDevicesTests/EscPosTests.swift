#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
import LinuxDevices
import TestKit
import Testing

func bytesFromHex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)  // test literals only
        index = next
    }
    return bytes
}

func hexDigits(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

@Suite struct EscPosTests {
    static let chineseKanjiMode = EscPosConfiguration(textEncoding: .gb18030, selectsKanjiMode: true)

    static let smallReceipt = PrintDocument([
        .text("收据", alignment: .center, emphasis: true, doubleSize: true),
        .text("Total 12.34"),
        .qrCode("HELLO"),
        .feed(2),
    ])

    /// The bytes of ``smallReceipt``, command by command (Epson ESC/POS Command Reference).
    static let smallReceiptBytes = bytesFromHex(
        """
        1B 40
        1C 26
        1B 61 01  1B 45 01  1D 21 11  CA D5 BE DD  0A
        1B 61 00  1B 45 00  1D 21 00  54 6F 74 61 6C 20 31 32 2E 33 34  0A
        1B 61 01
        1D 28 6B 04 00 31 41 32 00
        1D 28 6B 03 00 31 43 06
        1D 28 6B 03 00 31 45 31
        1D 28 6B 08 00 31 50 30  48 45 4C 4C 4F
        1D 28 6B 03 00 31 51 30
        1B 64 02
        1C 2E
        1D 56 42 00
        """)

    @Test func smallReceiptGoldenBytes() throws {
        let bytes = try EscPosRenderer(configuration: Self.chineseKanjiMode).render(Self.smallReceipt)
        #expect(hexDigits(bytes) == hexDigits(Self.smallReceiptBytes))
    }

    @Test func gb18030OfTheReceiptTitle() throws {
        // python3 -c 'print("收据".encode("gb18030").bytesFromHex())' -> cad5bedd
        let converter = try IconvConverter(targetEncoding: "GB18030")
        #expect(converter.convert("收据") == [0xCA, 0xD5, 0xBE, 0xDD])
        // Checked against Python's codec: "￥".encode("gb18030") is a3a4 (two bytes, in GBK); "¥" (U+00A5) and
        // "😀" (U+1F600) are outside GBK and take GB18030's four-byte form.
        #expect(converter.convert("Total ￥12.34") == Array("Total ".utf8) + [0xA3, 0xA4] + Array("12.34".utf8))
        #expect(converter.convert("¥") == [0x81, 0x30, 0x84, 0x36])
        #expect(converter.convert("😀") == [0x94, 0x39, 0xFC, 0x36])
        #expect(converter.convert("") == [])
    }

    @Test func longTextOverflowsTheConversionChunk() throws {
        // 600 characters -> 1200 bytes: several E2BIG rounds through the 256-byte output chunk.
        let converter = try IconvConverter(targetEncoding: "GB18030")
        let text = String(repeating: "收据", count: 300)
        let bytes = converter.convert(text)
        #expect(bytes.count == 1200)
        #expect(bytes == Array([[UInt8]](repeating: [0xCA, 0xD5, 0xBE, 0xDD], count: 300).joined()))
    }

    @Test func unencodableCharactersBecomeQuestionMarks() throws {
        let ascii = try IconvConverter(targetEncoding: "ASCII")
        #expect(ascii.convert("café 收据 ok") == Array("caf? ?? ok".utf8))
        let error = catchSerialError { _ = try IconvConverter(targetEncoding: "NO-SUCH-CHARSET-42") }
        #expect(error?.code == .encoderUnavailable)
    }

    @Test func asciiPrintersGetQuestionMarks() throws {
        let renderer = EscPosRenderer(configuration: EscPosConfiguration(textEncoding: .ascii))
        let bytes = try renderer.render(PrintDocument([.text("收据 OK")]))
        #expect(bytes == EscPosCommand.initialize + Array("?? OK\n".utf8) + EscPosCommand.partialCut())
    }

    @Test func withoutKanjiModeThereIsNoFSAndNothingRepeats() throws {
        let renderer = EscPosRenderer(configuration: EscPosConfiguration(selectsKanjiMode: false))
        let document = PrintDocument([
            .text("A", emphasis: true), .text("B", emphasis: true), .text("C", alignment: .right),
        ])
        let expected =
            bytesFromHex("1B40 1B4501") + Array("A\nB\n".utf8) + bytesFromHex("1B6102 1B4500") + Array("C\n".utf8)
            + bytesFromHex("1D564200")
        #expect(try renderer.render(document) == expected)
    }

    @Test func controlCharactersCannotInjectCommands() throws {
        let renderer = EscPosRenderer(configuration: EscPosConfiguration(textEncoding: .ascii))
        let document = PrintDocument([.text("A\u{1B}@B\u{1D}V\u{7F}\u{85}\tC\r\nD\rE")])
        let bytes = try renderer.render(document)
        #expect(bytes == EscPosCommand.initialize + Array("A?@B?V???C\nD?E\n".utf8) + EscPosCommand.partialCut())
    }

    @Test func qrLengthBytesFeedsAndLimits() throws {
        let payload = [UInt8](repeating: 0x41, count: 300)
        let qr = try EscPosCommand.qrCode(payload, moduleSize: 4, errorCorrection: .high)
        let store = bytesFromHex("1D 28 6B 2F 01 31 50 30")  // 300 + 3 = 0x012F
        #expect(Array(qr[25..<33]) == store)
        #expect(qr[16] == 4 && qr[24] == 51)  // function 167 module size, function 169 level H
        #expect(qr.count == 9 + 8 + 8 + 8 + 300 + 8)

        let tooLarge = catchSerialError {
            _ = try EscPosCommand.qrCode(
                [UInt8](repeating: 0x30, count: EscPosCommand.maxQRPayloadLength + 1), moduleSize: 6,
                errorCorrection: .medium)
        }
        #expect(tooLarge?.code == .qrPayloadOutOfRange)
        _ = try EscPosCommand.qrCode(
            [UInt8](repeating: 0x30, count: EscPosCommand.maxQRPayloadLength), moduleSize: 6, errorCorrection: .low)

        let renderer = EscPosRenderer(configuration: EscPosConfiguration(textEncoding: .ascii))
        let document = PrintDocument([.qrCode(""), .feed(300), .feed(-1), .feed(0)])
        #expect(try renderer.render(document) == bytesFromHex("1B40 1B64FF 1B642D 1D564200"))
    }

    @Test func theSameBytesArriveOverAPseudoTerminal() throws {
        let pty = try PseudoTerminal()
        let printer = EscPosPrinter(path: pty.slavePath, escPos: Self.chineseKanjiMode)
        try printer.print(Self.smallReceipt)
        #expect(try pty.receive(count: Self.smallReceiptBytes.count) == Self.smallReceiptBytes)
        try printer.print(PrintDocument([.text("2")]))
        let second = bytesFromHex("1B40 1C26") + Array("2\n".utf8) + bytesFromHex("1C2E 1D564200")
        #expect(try pty.receive(count: second.count) == second)
        #expect(try pty.receiveAvailable().isEmpty)
    }

    @Test func aVanishedPrinterIsReopenedOnTheNextPrint() throws {
        let link = try ReplugLink()
        let first = try PseudoTerminal()
        try link.point(to: first.slavePath)
        let printer = EscPosPrinter(path: link.path, escPos: EscPosConfiguration(textEncoding: .ascii))
        try printer.print(PrintDocument([.text("one")]))
        #expect(try first.receive(count: 10) == bytesFromHex("1B40") + Array("one\n".utf8) + bytesFromHex("1D564200"))

        first.closeMaster()  // printer unplugged
        let error = catchSerialError { try printer.print(PrintDocument([.text("two")])) }
        #expect(error?.code == .vanished)

        let second = try PseudoTerminal()  // plugged back in, the link now names the new tty
        try link.point(to: second.slavePath)
        try printer.print(PrintDocument([.text("two")]))
        #expect(try second.receive(count: 10) == bytesFromHex("1B40") + Array("two\n".utf8) + bytesFromHex("1D564200"))
    }

    // MARK: cross-check with python-escpos

    static let crossCheckScript: String = {
        var path = #filePath
        for _ in 0..<2 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path + "/scripts/escpos_crosscheck.py"
    }()

    static let pythonEscPosAvailable: Bool = {
        (try? runProcess(["/usr/bin/env", "python3", "-c", "import escpos.printer"]).status) == 0
    }()

    @Test(.enabled(if: pythonEscPosAvailable, "python-escpos is not installed (pip install python-escpos)"))
    func segmentsMatchPythonEscPos() throws {
        var lines: [String] = []
        func add(_ kind: String, _ argument: String, _ bytes: [UInt8]) {
            lines.append("\(kind) \(argument) \(hexDigits(bytes))")
        }
        add("init", "-", EscPosCommand.initialize)
        for (name, alignment) in [("left", PrintDocument.Alignment.left), ("center", .center), ("right", .right)] {
            add("align", name, EscPosCommand.justification(alignment))
        }
        add("bold", "1", EscPosCommand.emphasis(true))
        add("bold", "0", EscPosCommand.emphasis(false))
        add("size", "2", EscPosCommand.characterSize(doubled: true))
        add("size", "1", EscPosCommand.characterSize(doubled: false))
        let converter = try IconvConverter(targetEncoding: "GB18030")
        for text in ["收据", "合计 ¥12.34", "商户名称：测试商店"] {
            add("text", hexDigits(text.utf8), converter.convert(text))
        }
        let qrCases: [(String, Int, EscPosCommand.QRErrorCorrection)] = [
            ("HELLO", 6, .medium),
            (String(repeating: "0123456789", count: 30), 3, .low),
            ("00020101021229300012D156000000000510A93", 8, .high),
        ]
        for (payload, size, level) in qrCases {
            let letter = ["L", "M", "Q", "H"][Int(level.rawValue) - 48]
            add("qr", "\(hexDigits(payload.utf8)):\(size):\(letter)",
                try EscPosCommand.qrCode(Array(payload.utf8), moduleSize: size, errorCorrection: level))
        }
        add("feed", "3", EscPosCommand.printAndFeed(lines: 3))
        add("cut", "-", EscPosCommand.partialCut())

        let directory = try makeTemporaryDirectory("escpos")
        defer { removeTree(directory) }
        try writeTextFile(directory + "/cases.txt", lines.joined(separator: "\n") + "\n")
        let result = try runProcess(["/usr/bin/env", "python3", Self.crossCheckScript, directory + "/cases.txt"], timeout: .seconds(60))
        #expect(result.status == 0, "escpos_crosscheck.py: \(result.stdout)\(result.stderr)")
    }
}
