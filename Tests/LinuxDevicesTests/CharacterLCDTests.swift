import DeviceKit
import LinuxDevices
import TestKit
import Testing

@Suite struct CharacterLCDTests {
    /// The setup LCDproc's MtxOrb driver would send, adapted: FE 58 clear, FE 44 wrap off, FE 52 scroll off,
    /// FE 4B underline cursor off, FE 54 block cursor off, FE 42 00 backlight on (no timeout).
    static let setup = bytesFromHex("FE58 FE44 FE52 FE4B FE54 FE4200")

    static func row(_ number: UInt8, _ text: String, width: Int = 20) -> [UInt8] {
        let padded = Array(text.utf8) + [UInt8](repeating: 0x20, count: width - text.utf8.count)
        return [0xFE, 0x47, 0x01, number] + padded
    }

    static func grid(_ lines: [String], columns: Int = 20, rows: Int = 4) -> CharacterGrid {
        var grid = CharacterGrid(columns: columns, rows: rows)
        for (index, line) in lines.enumerated() { grid.write(line, column: 0, row: index) }
        return grid
    }

    @Test func geometryIsATextGridWithoutWideGlyphs() {
        let lcd = SerialCharacterLCD(path: "/dev/null", columns: 16, rows: 2)
        #expect(lcd.geometry == .text(columns: 16, rows: 2, wideGlyphs: false))
        #expect(SerialCharacterLCD(path: "/dev/null").geometry.gridSize == (20, 4))
    }

    @Test func commandBytesMatchTheMatrixOrbitalSet() {
        #expect(MatrixOrbitalCommand.clearScreen == [0xFE, 0x58])
        #expect(MatrixOrbitalCommand.setCursor(column: 1, row: 4) == [0xFE, 0x47, 0x01, 0x04])
        #expect(MatrixOrbitalCommand.backlightOn() == [0xFE, 0x42, 0x00])
        #expect(MatrixOrbitalCommand.backlightOff == [0xFE, 0x46])
        #expect(MatrixOrbitalCommand.underlineCursorOff == [0xFE, 0x4B])
        #expect(MatrixOrbitalCommand.blockCursorOff == [0xFE, 0x54])
        #expect(MatrixOrbitalCommand.contrast(128) == [0xFE, 0x50, 0x80])
    }

    @Test func firstFrameSetsUpAndDrawsEveryRowThenOnlyChangedRows() throws {
        let pty = try PseudoTerminal()
        let lcd = SerialCharacterLCD(path: pty.slavePath)

        try lcd.show(Self.grid(["  PAYMENT TERMINAL", "Amount:", "", "Insert card"]))
        let first =
            Self.setup + Self.row(1, "  PAYMENT TERMINAL") + Self.row(2, "Amount:") + Self.row(3, "")
            + Self.row(4, "Insert card")
        #expect(hexDigits(try pty.receive(count: first.count)) == hexDigits(first))

        try lcd.show(Self.grid(["  PAYMENT TERMINAL", "Amount:     12.34", "", "Insert card"]))
        let second = Self.row(2, "Amount:     12.34")
        #expect(hexDigits(try pty.receive(count: second.count)) == hexDigits(second))

        try lcd.show(Self.grid(["  PAYMENT TERMINAL", "Amount:     12.34", "", "Insert card"]))
        #expect(try pty.receiveAvailable().isEmpty, "an unchanged frame sends nothing")
    }

    @Test func nonASCIIBecomesQuestionMarksAndInverseIsIgnored() throws {
        let pty = try PseudoTerminal()
        let lcd = SerialCharacterLCD(path: pty.slavePath, columns: 8, rows: 1, contrast: 128)
        var grid = CharacterGrid(columns: 8, rows: 1)
        grid.write("收据 é", column: 0, row: 0, inverse: true)
        try lcd.show(grid)
        let expected = bytesFromHex("FE58 FE44 FE52 FE4B FE54 FE5080 FE4200 FE470101") + Array("? ?  ?  ".utf8)
        #expect(hexDigits(try pty.receive(count: expected.count)) == hexDigits(expected))
    }

    @Test func aGridOfAnotherSizeIsClippedAndPadded() throws {
        let pty = try PseudoTerminal()
        let lcd = SerialCharacterLCD(path: pty.slavePath, columns: 4, rows: 2)
        try lcd.show(Self.grid(["ABCDEFG"], columns: 7, rows: 1))
        let expected = Self.setup + Self.row(1, "ABCD", width: 4) + Self.row(2, "", width: 4)
        #expect(hexDigits(try pty.receive(count: expected.count)) == hexDigits(expected))
    }

    @Test func afterAWriteFailureTheNextFrameRedrawsEverything() throws {
        let link = try ReplugLink()
        let first = try PseudoTerminal()
        try link.point(to: first.slavePath)
        let lcd = SerialCharacterLCD(path: link.path)
        let frame = Self.grid(["Ready", "", "", ""])
        try lcd.show(frame)
        let full = Self.setup + Self.row(1, "Ready") + Self.row(2, "") + Self.row(3, "") + Self.row(4, "")
        #expect(try first.receive(count: full.count) == full)

        first.closeMaster()  // display unplugged
        let error = catchSerialError { try lcd.show(Self.grid(["Ready", "Processing", "", ""])) }
        #expect(error?.code == .vanished)

        let second = try PseudoTerminal()  // replugged: the stable name points at a new tty
        try link.point(to: second.slavePath)
        try lcd.show(Self.grid(["Ready", "Processing", "", ""]))
        let redraw = Self.setup + Self.row(1, "Ready") + Self.row(2, "Processing") + Self.row(3, "") + Self.row(4, "")
        #expect(hexDigits(try second.receive(count: redraw.count)) == hexDigits(redraw))

        let openFailure = SerialCharacterLCD(path: "/dev/ttyDoesNotExist9")
        #expect(catchSerialError { try openFailure.show(frame) }?.code == .openFailed)
    }
}
