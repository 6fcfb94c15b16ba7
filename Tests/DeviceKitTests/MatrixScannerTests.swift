import DeviceKit
import Testing

/// A 4x3 phone-style keypad: 1 2 3 / 4 5 6 / 7 8 9 / CANCEL 0 ENTER.
private let phoneKeymap = try! MatrixKeymap([  // try!: a constant, valid keymap
    [.digit1, .digit2, .digit3],
    [.digit4, .digit5, .digit6],
    [.digit7, .digit8, .digit9],
    [.cancel, .digit0, .enter],
])

/// A reported event and the virtual time it was reported at.
private struct Reported: Equatable, CustomStringConvertible {
    var event: KeyEvent
    var atMilliseconds: Int64
    var description: String { "\(event.key.rawValue) \(event.kind) @\(atMilliseconds)" }
}

/// A simulated 4x3 matrix that stops the scanner at `stopAtMilliseconds` of virtual time.
private func makeChip(stopAtMilliseconds: Int64 = 2_000) -> SimulatedGPIOChip {
    let chip = SimulatedGPIOChip(rows: 4, columns: 3, clock: SimulatedMatrixClock())
    chip.stopAtMilliseconds = stopAtMilliseconds
    return chip
}

/// Runs the scanner over the chip until the chip's stop time; every event with its virtual time.
private func scan(_ chip: SimulatedGPIOChip, keymap: MatrixKeymap = phoneKeymap) throws -> [Reported] {
    var scanner = MatrixKeyScanner(keymap: keymap)
    var reported: [Reported] = []
    try scanner.run(lines: chip, clock: chip.clock) { event in
        reported.append(Reported(event: event, atMilliseconds: chip.clock.monotonicMilliseconds))
    }
    return reported
}

private func events(_ reported: [Reported]) -> [KeyEvent] { reported.map(\.event) }

@Suite struct MatrixScannerTests {
    @Test func onePressAndReleaseAreReportedAfterTheDebounceTime() throws {
        let chip = makeChip()
        chip.press(row: 1, column: 1, atMilliseconds: 100)
        chip.release(row: 1, column: 1, atMilliseconds: 300)
        let reported = try scan(chip)
        #expect(events(reported) == [KeyEvent(.digit5, .pressed), KeyEvent(.digit5, .released)])
        // Debounce >= 20 ms, scans every 5 ms: reported 20 to 25 ms after the contact settled.
        #expect((120...126).contains(reported[0].atMilliseconds), "\(reported)")
        #expect((320...326).contains(reported[1].atMilliseconds), "\(reported)")
    }

    @Test func bouncedPressAndReleaseAreReportedOnce() throws {
        let chip = makeChip()
        chip.press(row: 0, column: 2, atMilliseconds: 100, bounce: .typical)
        chip.release(row: 0, column: 2, atMilliseconds: 400, bounce: .typical)
        let reported = try scan(chip)
        #expect(events(reported) == [KeyEvent(.digit3, .pressed), KeyEvent(.digit3, .released)])
        // The typical bounce settles 8 ms after the nominal instant; nothing is reported while it bounces.
        #expect(reported[0].atMilliseconds >= 100 + 20, "\(reported)")
        #expect(reported[1].atMilliseconds >= 400 + 20, "\(reported)")
    }

    @Test func heavilyBouncingContactIsReportedOnceWhenItSettles() throws {
        let chip = makeChip()
        // Toggles at 1, 2, 6, 7.5, 9 ms and 10 ms after the press: settled closed at 110 ms.
        let bounce = ContactBounce(toggleOffsetsMicroseconds: [1_000, 2_000, 6_000, 7_500, 9_000, 10_000])
        chip.press(row: 3, column: 2, atMilliseconds: 100, bounce: bounce)
        chip.release(row: 3, column: 2, atMilliseconds: 500, bounce: bounce)
        let reported = try scan(chip)
        #expect(events(reported) == [KeyEvent(.enter, .pressed), KeyEvent(.enter, .released)])
    }

    @Test func heldKeyGivesOnePressAndOneReleaseWithoutRepeat() throws {
        let chip = makeChip(stopAtMilliseconds: 10_000)
        chip.press(row: 2, column: 0, atMilliseconds: 50, bounce: .typical)
        chip.release(row: 2, column: 0, atMilliseconds: 8_050, bounce: .typical)
        let reported = try scan(chip)
        #expect(events(reported) == [KeyEvent(.digit7, .pressed), KeyEvent(.digit7, .released)])
        #expect(reported[1].atMilliseconds >= 8_070)
    }

    @Test func twoKeysOnDifferentRowsAndColumnsAreBothReported() throws {
        let chip = makeChip()
        chip.press(row: 0, column: 0, atMilliseconds: 100)
        chip.press(row: 1, column: 1, atMilliseconds: 100)
        chip.release(row: 0, column: 0, atMilliseconds: 400)
        chip.release(row: 1, column: 1, atMilliseconds: 400)
        let reported = try scan(chip)
        #expect(
            events(reported) == [
                KeyEvent(.digit1, .pressed), KeyEvent(.digit5, .pressed),
                KeyEvent(.digit1, .released), KeyEvent(.digit5, .released),
            ])
    }

    @Test func twoKeysOnOneRowAndOnOneColumnAreBothReported() throws {
        let chip = makeChip()
        chip.press(row: 3, column: 0, atMilliseconds: 100)  // CANCEL
        chip.press(row: 3, column: 2, atMilliseconds: 150, bounce: .typical)  // ENTER, same row
        chip.release(row: 3, column: 0, atMilliseconds: 400)
        chip.release(row: 3, column: 2, atMilliseconds: 400)
        chip.press(row: 0, column: 1, atMilliseconds: 600)  // 2
        chip.press(row: 3, column: 1, atMilliseconds: 600)  // 0, same column
        chip.release(row: 0, column: 1, atMilliseconds: 900)
        chip.release(row: 3, column: 1, atMilliseconds: 950)
        let reported = try scan(chip)
        #expect(
            events(reported) == [
                KeyEvent(.cancel, .pressed), KeyEvent(.enter, .pressed),
                KeyEvent(.cancel, .released), KeyEvent(.enter, .released),
                KeyEvent(.digit2, .pressed), KeyEvent(.digit0, .pressed),
                KeyEvent(.digit2, .released), KeyEvent(.digit0, .released),
            ])
    }

    @Test func thirdKeyOfARectangleAndItsGhostAreNeverReported() throws {
        let chip = makeChip()
        chip.press(row: 0, column: 0, atMilliseconds: 100)  // 1
        chip.press(row: 0, column: 1, atMilliseconds: 200)  // 2
        chip.press(row: 1, column: 0, atMilliseconds: 300, bounce: .typical)  // 4: now 5 reads pressed too (ghost)
        chip.release(row: 1, column: 0, atMilliseconds: 600)
        chip.release(row: 0, column: 0, atMilliseconds: 800)
        chip.release(row: 0, column: 1, atMilliseconds: 800)
        let reported = try scan(chip)
        #expect(
            events(reported) == [
                KeyEvent(.digit1, .pressed), KeyEvent(.digit2, .pressed),
                KeyEvent(.digit1, .released), KeyEvent(.digit2, .released),
            ], "\(reported)")
    }

    @Test func threeKeysPressedTogetherInARectangleReportNothing() throws {
        let chip = makeChip()
        for (row, column) in [(1, 1), (1, 2), (2, 1)] {
            chip.press(row: row, column: column, atMilliseconds: 100)
            chip.release(row: row, column: column, atMilliseconds: 500)
        }
        #expect(try scan(chip).isEmpty)
    }

    @Test func shortOpeningWhileHeldIsNoReleaseAndReleaseWaitsForTheDebounceTime() throws {
        let chip = makeChip()
        chip.press(row: 1, column: 2, atMilliseconds: 100)
        chip.release(row: 1, column: 2, atMilliseconds: 300)  // opens for 12 ms only
        chip.press(row: 1, column: 2, atMilliseconds: 312)
        chip.release(row: 1, column: 2, atMilliseconds: 600)
        let reported = try scan(chip)
        #expect(events(reported) == [KeyEvent(.digit6, .pressed), KeyEvent(.digit6, .released)])
        #expect(reported[1].atMilliseconds >= 620, "\(reported)")
    }

    @Test func pulseShorterThanTheDebounceTimeIsIgnored() throws {
        let chip = makeChip()
        chip.press(row: 0, column: 0, atMilliseconds: 100)
        chip.release(row: 0, column: 0, atMilliseconds: 112)
        #expect(try scan(chip).isEmpty)
    }

    @Test func crossingWithoutAKeyIsScannedButNeverReported() throws {
        let keymap = try MatrixKeymap([[.digit1, nil], [.digit4, .digit5]])
        let chip = SimulatedGPIOChip(rows: 2, columns: 2, clock: SimulatedMatrixClock())
        chip.stopAtMilliseconds = 1_000
        chip.press(row: 0, column: 1, atMilliseconds: 100)
        chip.release(row: 0, column: 1, atMilliseconds: 200)
        chip.press(row: 1, column: 1, atMilliseconds: 300)
        chip.release(row: 1, column: 1, atMilliseconds: 400)
        #expect(events(try scan(chip, keymap: keymap)) == [KeyEvent(.digit5, .pressed), KeyEvent(.digit5, .released)])
    }

    @Test func idleKeypadWaitsForEdgesInsteadOfScanning() throws {
        // One minute of virtual time with one short key press: the scanner scans only around the press.
        let chip = makeChip(stopAtMilliseconds: 60_000)
        chip.press(row: 1, column: 0, atMilliseconds: 30_000, bounce: .typical)
        chip.release(row: 1, column: 0, atMilliseconds: 30_200, bounce: .typical)
        let reported = try scan(chip)
        #expect(events(reported) == [KeyEvent(.digit4, .pressed), KeyEvent(.digit4, .released)])
        // About 250 ms of scanning at 5 ms intervals, 4 rows each, plus the idle checks: far below one minute's worth.
        #expect(chip.columnReads < 300, "\(chip.columnReads) column reads")
        #expect(chip.edgeWaits <= 4, "\(chip.edgeWaits) waits")
        #expect(chip.clock.monotonicMilliseconds == 60_000)
    }
}

@Suite struct MatrixDebouncerTests {
    private func matrix(_ rows: Int, _ columns: Int, closed: [(Int, Int)]) -> [Bool] {
        var cells = Array(repeating: false, count: rows * columns)
        for (row, column) in closed { cells[row * columns + column] = true }
        return cells
    }

    @Test func ambiguousRectangleNeedsThreeCorners() {
        #expect(!MatrixDebouncer.hasAmbiguousRectangle(matrix(4, 3, closed: [(0, 0), (1, 1)]), rows: 4, columns: 3))
        #expect(!MatrixDebouncer.hasAmbiguousRectangle(matrix(4, 3, closed: [(0, 0), (0, 1), (0, 2)]), rows: 4, columns: 3))
        #expect(!MatrixDebouncer.hasAmbiguousRectangle(matrix(4, 3, closed: [(0, 1), (2, 1), (3, 1)]), rows: 4, columns: 3))
        #expect(!MatrixDebouncer.hasAmbiguousRectangle(matrix(4, 3, closed: [(0, 0), (0, 1), (2, 2)]), rows: 4, columns: 3))
        #expect(MatrixDebouncer.hasAmbiguousRectangle(matrix(4, 3, closed: [(0, 0), (0, 2), (3, 0)]), rows: 4, columns: 3))
        #expect(MatrixDebouncer.hasAmbiguousRectangle(matrix(4, 3, closed: [(1, 1), (1, 2), (2, 1), (2, 2)]), rows: 4, columns: 3))
    }

    @Test func changeIsReportedOnlyAfterHoldingForTheDebounceTime() {
        var debouncer = MatrixDebouncer(rows: 1, columns: 2, debounceMilliseconds: 20)
        #expect(debouncer.process([true, false], atMilliseconds: 0).isEmpty)
        #expect(!debouncer.isSettled)
        #expect(debouncer.process([true, false], atMilliseconds: 19).isEmpty)
        #expect(debouncer.process([true, false], atMilliseconds: 20) == [.init(row: 0, column: 0, pressed: true)])
        #expect(debouncer.isPressed(row: 0, column: 0))
        #expect(debouncer.process([false, false], atMilliseconds: 25).isEmpty)
        #expect(debouncer.process([true, false], atMilliseconds: 30).isEmpty)  // bounce back: nothing changes
        #expect(debouncer.process([false, false], atMilliseconds: 35).isEmpty)
        #expect(debouncer.process([false, false], atMilliseconds: 55) == [.init(row: 0, column: 0, pressed: false)])
        #expect(debouncer.isSettled)
    }

    @Test func reportsAreHeldWhileTheReadingIsAmbiguous() {
        var debouncer = MatrixDebouncer(rows: 2, columns: 2, debounceMilliseconds: 0)
        #expect(debouncer.process([true, true, false, false], atMilliseconds: 0).count == 2)
        #expect(debouncer.process([true, true, true, true], atMilliseconds: 5).isEmpty)
        #expect(debouncer.isGhosting)
        #expect(debouncer.process([false, true, false, false], atMilliseconds: 10) == [.init(row: 0, column: 0, pressed: false)])
        #expect(!debouncer.isGhosting)
    }
}

@Suite struct MatrixKeymapTests {
    @Test func refusesEmptyRaggedAndOversizedKeymaps() {
        #expect(throws: MatrixKeymap.ValidationError.empty) { try MatrixKeymap([]) }
        #expect(throws: MatrixKeymap.ValidationError.empty) { try MatrixKeymap([[]]) }
        #expect(throws: MatrixKeymap.ValidationError.ragged(row: 1, columns: 1, expected: 2)) {
            try MatrixKeymap([[.digit1, .digit2], [.digit3]])
        }
        #expect(throws: MatrixKeymap.ValidationError.tooLarge(rows: 65, columns: 1)) {
            try MatrixKeymap(Array(repeating: [Key.digit1], count: 65))
        }
    }

    @Test func looksUpKeysAndPositions() {
        #expect(phoneKeymap.rows == 4 && phoneKeymap.columns == 3)
        #expect(phoneKeymap[3, 2] == .enter)
        #expect(phoneKeymap[4, 0] == nil)
        #expect(phoneKeymap.position(of: .digit0).map { [$0.row, $0.column] } == [3, 1])
        #expect(phoneKeymap.position(of: .f1) == nil)
    }
}

@Suite struct SimulatedGPIOChipTests {
    @Test func columnReadsFollowTheDrivenRowAndShowGhosts() throws {
        let chip = SimulatedGPIOChip(rows: 2, columns: 2, clock: SimulatedMatrixClock())
        chip.press(row: 0, column: 0, atMilliseconds: 1)
        chip.press(row: 0, column: 1, atMilliseconds: 1)
        chip.clock.sleep(microseconds: 2_000)
        try chip.driveRows(selecting: 1)
        #expect(try chip.readColumns() == [false, false])
        try chip.driveRows(selecting: 0)
        #expect(try chip.readColumns() == [true, true])
        chip.press(row: 1, column: 0, atMilliseconds: 3)
        chip.clock.sleep(microseconds: 2_000)
        try chip.driveRows(selecting: 1)
        #expect(try chip.readColumns() == [true, true], "(1,1) reads closed through the other three switches")
        try chip.driveRows(selecting: nil)
        #expect(try chip.readColumns() == [true, true])
    }

    @Test func waitMovesTimeToTheNextEdgeOrTimeout() throws {
        let chip = SimulatedGPIOChip(rows: 1, columns: 1, clock: SimulatedMatrixClock())
        chip.press(row: 0, column: 0, atMilliseconds: 50, bounce: .typical)
        #expect(try chip.waitForColumnEdge(timeoutMilliseconds: 10) == .timedOut)
        #expect(chip.clock.monotonicMilliseconds == 10)
        #expect(try chip.waitForColumnEdge(timeoutMilliseconds: nil) == .edge)
        #expect(chip.clock.monotonicMilliseconds == 50)
        #expect(try chip.waitForColumnEdge(timeoutMilliseconds: nil) == .edge, "pending until discarded")
        try chip.discardColumnEdges()
        #expect(try chip.waitForColumnEdge(timeoutMilliseconds: nil) == .edge)
        #expect(chip.clock.monotonicMicroseconds == 51_500, "the first bounce")
        #expect(!chip.isClosed(row: 0, column: 0, atMicroseconds: 51_500))
        #expect(chip.isClosed(row: 0, column: 0, atMicroseconds: 58_000))
        chip.stopAtMilliseconds = 100
        try chip.discardColumnEdges()
        chip.clock.sleep(microseconds: 10_000)
        try chip.discardColumnEdges()
        #expect(try chip.waitForColumnEdge(timeoutMilliseconds: nil) == .stopped)
        #expect(chip.isStopRequested)
    }
}
