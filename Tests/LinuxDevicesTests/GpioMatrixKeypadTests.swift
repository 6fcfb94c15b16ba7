#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
import LinuxDevices
import Testing

/// The simulated chip behind ``StopAwareMatrixLines``. The chip stops through its virtual stop time, not a
/// StopSignal: its waits never block in real time.
private final class StopAwareSimulatedChip: StopAwareMatrixLines {
    let chip: SimulatedGPIOChip
    var stopSignal: StopSignal?

    init(_ chip: SimulatedGPIOChip) { self.chip = chip }

    var rowCount: Int { chip.rowCount }
    var columnCount: Int { chip.columnCount }
    var isStopRequested: Bool { chip.isStopRequested }
    func driveRows(selecting row: Int?) throws { try chip.driveRows(selecting: row) }
    func readColumns() throws -> [Bool] { try chip.readColumns() }
    func discardColumnEdges() throws { try chip.discardColumnEdges() }
    func waitForColumnEdge(timeoutMilliseconds: Int?) throws -> GPIOWaitOutcome {
        try chip.waitForColumnEdge(timeoutMilliseconds: timeoutMilliseconds)
    }
}

private struct GpioTestTimedOut: Error {}

private let keymap2x2 = try! MatrixKeymap([[.digit1, .digit2], [.enter, .cancel]])  // try!: a constant, valid keymap

/// Collects every element of `stream` until it ends, failing after `timeoutMilliseconds`.
private func gpioCollectAll<Element: Sendable>(
    _ stream: AsyncThrowingStream<Element, any Error>, timeoutMilliseconds: Int = 3000
) async throws -> [Element] {
    try await withThrowingTaskGroup(of: [Element].self) { group in
        group.addTask {
            var elements: [Element] = []
            for try await element in stream { elements.append(element) }
            return elements
        }
        group.addTask {
            try await Task.sleep(for: .milliseconds(timeoutMilliseconds))
            throw GpioTestTimedOut()
        }
        defer { group.cancelAll() }
        // Force-unwrap: the group has two child tasks, so next() returns at least once.
        return try await group.next()!
    }
}

@Suite struct GpioMatrixKeypadTests {
    @Test func missingChipIsAClearErrorNamingThePath() {
        let path = "/dev/gpiochip-does-not-exist-\(getpid())"
        do {
            _ = try GpiodMatrixLines(chipPath: path, rowOffsets: [0, 1], columnOffsets: [2, 3])
            Issue.record("opening a missing chip succeeded")
        } catch {
            #expect(error.code == .openChip)
            #expect(error.errno == .noSuchFileOrDirectory)
            #expect(error.chipPath == path)
            #expect(error.description.contains(path))
        }
    }

    @Test func fileThatIsNoGPIOChipIsRefused() throws {
        var template = Array("/tmp/not-a-gpiochip-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        close(fd)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }  // !: a non-empty array
        defer { unlink(path) }
        #expect(throws: GpiodError(.openChip, chipPath: path, reason: "")) {
            try GpiodMatrixLines(chipPath: path, rowOffsets: [0], columnOffsets: [1])
        }
    }

    @Test func offsetsAreCheckedBeforeTheChipIsOpened() {
        do {
            _ = try GpiodMatrixLines(chipPath: "/dev/gpiochip0", rowOffsets: [4, 5], columnOffsets: [6, 5])
            Issue.record("a repeated offset was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.offset == 5)
        }
        #expect(throws: GpiodError(.invalidConfiguration, chipPath: "", reason: "")) {
            try GpiodMatrixLines(chipPath: "/dev/gpiochip0", rowOffsets: [], columnOffsets: [1])
        }
    }

    @Test func keymapMustMatchTheWiredLines() {
        let configuration = GpioMatrixKeypad.Configuration(
            chipPath: "/dev/gpiochip0", rowOffsets: [0, 1, 2], columnOffsets: [3, 4], keymap: keymap2x2)
        #expect(throws: GpiodError(.invalidConfiguration, chipPath: "", reason: "")) {
            try GpioMatrixKeypad(configuration: configuration)
        }
    }

    @Test func shimWasBuiltAgainstALibgpiodAPI() {
        #expect([1, 2].contains(GpiodMatrixLines.libgpiodAPIMajor))
    }

    @Test func monotonicClockSleepsAtLeastTheRequestedTime() {
        let clock = MonotonicMatrixClock()
        let start = clock.monotonicMilliseconds
        clock.sleep(microseconds: 15_000)
        let elapsed = clock.monotonicMilliseconds - start
        #expect(elapsed >= 14 && elapsed < 1_000, "\(elapsed) ms")  // 14: both readings are rounded down
    }

    @Test func keypadStreamsScannedKeysFromItsDeviceThread() async throws {
        let chip = SimulatedGPIOChip(rows: 2, columns: 2, clock: SimulatedMatrixClock())
        chip.stopAtMilliseconds = 3_000
        chip.press(row: 0, column: 1, atMilliseconds: 100, bounce: .typical)
        chip.release(row: 0, column: 1, atMilliseconds: 400, bounce: .typical)
        chip.press(row: 1, column: 0, atMilliseconds: 1_000)
        chip.release(row: 1, column: 0, atMilliseconds: 2_500)
        let clock = chip.clock
        let keypad = GpioMatrixKeypad(lines: StopAwareSimulatedChip(chip), clock: clock, keymap: keymap2x2)
        let events = try await gpioCollectAll(keypad.keyEvents())
        withExtendedLifetime(keypad) {}
        #expect(
            events == [
                KeyEvent(.digit2, .pressed), KeyEvent(.digit2, .released),
                KeyEvent(.enter, .pressed), KeyEvent(.enter, .released),
            ])
    }
}
