import DeviceKit
import LinuxDevices
import TerminalApp
import TestKit
import Testing

@Suite struct PrinterTests {
    static let page = TestPage.document(merchant: "模拟商户", board: "sim", version: "1.0", time: "09:30")

    @Test func textFilePrinterLaysOutA58mmRoll() {
        let text = TextFilePrinter.render(Self.page)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.contains("打 印 测 试") == true, "double size doubles the width")
        #expect(lines.contains { $0.trimmingCharacters() == "PRINTER TEST" })
        #expect(text.contains("[QR PRINTER TEST sim 1.0]"))
        #expect(lines.allSatisfy { CharacterGrid.cellWidth(of: $0) <= TextFilePrinter.columns || $0.hasPrefix("[QR") })
        #expect(text.hasSuffix(" cut\n"))
    }

    @Test func testPageAsEscPosBytes() throws {
        let bytes = try EscPosRenderer(configuration: EscPosConfiguration()).render(Self.page)
        #expect(bytes.starts(with: [0x1B, 0x40]), "ESC @ first")
        #expect(bytes.firstRange(of: [0xB4, 0xF2, 0xD3, 0xA1, 0xB2, 0xE2, 0xCA, 0xD4]) != nil, "打印测试 in GB18030")
        #expect(bytes.firstRange(of: [0x1D, 0x28, 0x6B]) != nil, "GS ( k: the QR code")
        #expect(Array(bytes.suffix(4)) == [0x1D, 0x56, 0x42, 0x00], "partial cut last")
    }

    @Test func headlessPrinterTestWritesAReceipt() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        let terminal = try builtProduct("terminal")
        let result = try runProcess(
            [terminal, "run", "--board", repositoryRoot() + "/board/sim/board.toml", "--headless", "--state-dir", state],
            stdin: Array("MENU\n2\n3\nUNTIL 打印完成\nENTER\n".utf8), environment: ["HOME": state])
        #expect(result.status == 0, "\(result.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
        #expect(result.stdout.contains("打印完成"), "\(result.stdout)")
        let listing = try runProcess(["/bin/ls", state + "/receipts"])
        let file = try #require(listing.stdout.split(separator: "\n").first { $0.hasPrefix("receipt-") })
        #expect(try readTextFile(state + "/receipts/" + file).contains("PRINTER TEST"))
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
