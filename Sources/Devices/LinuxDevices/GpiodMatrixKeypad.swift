public import DeviceKit

/// Matrix lines whose edge wait can also be woken by a ``StopSignal``; ``GpioMatrixKeypad`` hands each stream's
/// signal to its lines. ``GpiodMatrixLines`` polls the signal beside its edge event descriptor.
public protocol StopAwareMatrixLines: GPIOMatrixLines {
    /// The signal that ends ``GPIOMatrixLines/waitForColumnEdge(timeoutMilliseconds:)`` with
    /// ``GPIOWaitOutcome/stopped`` and makes ``GPIOMatrixLines/isStopRequested`` true once fired.
    var stopSignal: StopSignal? { get set }
}

/// A keypad wired as a GPIO matrix: `MatrixKeyScanner` over ``GpiodMatrixLines``, on a ``DeviceThread`` of its
/// own.
///
/// While no key is down the thread sleeps in `poll` on the column edge events and the stream's stop signal: an
/// idle keypad costs no CPU and ends at once when the stream ends. While keys are down it scans every 5 ms.
public final class GpioMatrixKeypad: KeypadDevice {
    /// What the board profile says about the keypad.
    public struct Configuration: Sendable, Equatable {
        /// The chip's character device, such as `/dev/gpiochip0`.
        public var chipPath: String
        /// Row line offsets, row 0 first; as many as the keymap has rows.
        public var rowOffsets: [UInt32]
        /// Column line offsets, column 0 first; as many as the keymap has columns.
        public var columnOffsets: [UInt32]
        /// The key at each crossing.
        public var keymap: MatrixKeymap
        /// The consumer name the kernel shows for the lines.
        public var consumer: String
        /// Push-pull or open-drain rows.
        public var rowDrive: GpiodMatrixLines.RowDrive
        /// Scan timing.
        public var timing: MatrixScanTiming

        /// Creates a configuration.
        public init(
            chipPath: String, rowOffsets: [UInt32], columnOffsets: [UInt32], keymap: MatrixKeymap,
            consumer: String = "terminal-keypad", rowDrive: GpiodMatrixLines.RowDrive = .pushPull,
            timing: MatrixScanTiming = .standard
        ) {
            self.chipPath = chipPath
            self.rowOffsets = rowOffsets
            self.columnOffsets = columnOffsets
            self.keymap = keymap
            self.consumer = consumer
            self.rowDrive = rowDrive
            self.timing = timing
        }
    }

    /// Scanner state, handed from one stream's device thread to the next.
    ///
    /// `@unchecked Sendable`: the lines are not thread-safe. Only the body of a ``DeviceThreadStreamRunner`` loop
    /// touches them, and the runner joins a loop's thread before it starts the next, so one thread at a time uses
    /// them; `inUse` checks that at run time.
    private final class ScanState: @unchecked Sendable {
        let lines: any StopAwareMatrixLines
        let clock: any MatrixClock
        let keymap: MatrixKeymap
        let timing: MatrixScanTiming
        private var inUse = false

        init(lines: any StopAwareMatrixLines, clock: any MatrixClock, keymap: MatrixKeymap, timing: MatrixScanTiming) {
            self.lines = lines
            self.clock = clock
            self.keymap = keymap
            self.timing = timing
        }

        func run(stop: StopSignal, emit: (KeyEvent) -> Void) throws {
            precondition(!inUse, "two threads scan one keypad matrix")
            inUse = true
            defer {
                lines.stopSignal = nil
                inUse = false
            }
            lines.stopSignal = stop
            // A fresh scanner per stream: a key still held from an earlier stream is reported as a new press.
            var scanner = MatrixKeyScanner(keymap: keymap, timing: timing)
            try scanner.run(lines: lines, clock: clock, emit: emit)
        }
    }

    private let state: ScanState
    private let runner = DeviceThreadStreamRunner<KeyEvent>(threadName: "keypad-gpio", bufferLimit: 256)

    /// Opens the chip and requests the lines of `configuration`.
    /// - Throws: ``GpiodError``: ``GpiodError/Code/invalidConfiguration`` when the offsets do not match the
    ///   keymap, and the errors of ``GpiodMatrixLines/init(chipPath:rowOffsets:columnOffsets:consumer:rowDrive:)``.
    public convenience init(configuration: Configuration) throws(GpiodError) {
        let keymap = configuration.keymap
        guard configuration.rowOffsets.count == keymap.rows, configuration.columnOffsets.count == keymap.columns else {
            throw GpiodError(
                .invalidConfiguration, chipPath: configuration.chipPath,
                reason: "the keymap is \(keymap.rows)x\(keymap.columns) but \(configuration.rowOffsets.count) rows and "
                    + "\(configuration.columnOffsets.count) columns are wired")
        }
        let lines = try GpiodMatrixLines(
            chipPath: configuration.chipPath, rowOffsets: configuration.rowOffsets,
            columnOffsets: configuration.columnOffsets, consumer: configuration.consumer,
            rowDrive: configuration.rowDrive)
        self.init(lines: lines, clock: MonotonicMatrixClock(), keymap: keymap, timing: configuration.timing)
    }

    /// Runs the scanner over any stop-aware matrix lines (the simulated chip in tests).
    /// - Parameters:
    ///   - lines: The lines; the keypad takes them over, nothing else may use them afterwards.
    ///   - clock: The scanner's clock.
    ///   - keymap: The key at each crossing; its size must match the lines.
    ///   - timing: Scan timing.
    public init(
        lines: sending some StopAwareMatrixLines, clock: some MatrixClock, keymap: MatrixKeymap,
        timing: MatrixScanTiming = .standard
    ) {
        precondition(
            lines.rowCount == keymap.rows && lines.columnCount == keymap.columns,
            "the keymap is \(keymap.rows)x\(keymap.columns) but the lines are \(lines.rowCount)x\(lines.columnCount)")
        state = ScanState(lines: lines, clock: clock, keymap: keymap, timing: timing)
    }

    /// Key presses and releases, scanned on a thread of the keypad's own until the stream ends (the consuming task
    /// is cancelled) or the lines fail (a ``GpiodError``). A new call ends the previous stream first. Keep the
    /// keypad alive while the stream is read: releasing it stops the thread and finishes the stream.
    public func keyEvents() -> AsyncThrowingStream<KeyEvent, any Error> {
        let state = self.state
        return runner.start { stop, yield in
            try state.run(stop: stop, emit: yield)
        }
    }

    /// Ends the current stream, if any, and waits for its thread to end (the stream finishes plainly). The keypad
    /// stays open: a later call of ``keyEvents()`` starts reading again.
    public func stop() { runner.stop() }
}
