/// Timing of a keypad matrix scan.
public struct MatrixScanTiming: Sendable, Equatable {
    /// Time between two scans while any key is down or a change waits for its debounce time.
    public var scanIntervalMilliseconds: Int
    /// How long a new reading must hold before it is reported (at least 20 ms for the usual dome and tact switches,
    /// whose bounce lasts up to about 10 ms).
    public var debounceMilliseconds: Int
    /// Pause between driving a row and reading the columns, for the lines to settle (the kernel's matrix-keypad
    /// driver calls it `col-scan-delay-us`, Documentation/devicetree/bindings/input/gpio-matrix-keypad.yaml).
    public var settleMicroseconds: Int

    /// 5 ms scans, 20 ms debounce, 10 µs settle time.
    public static let standard = MatrixScanTiming(scanIntervalMilliseconds: 5, debounceMilliseconds: 20, settleMicroseconds: 10)

    /// Creates a timing.
    /// - Parameters:
    ///   - scanIntervalMilliseconds: Time between scans while keys are active (at least 1).
    ///   - debounceMilliseconds: Debounce time (at least 0).
    ///   - settleMicroseconds: Settle time after driving a row (at least 0).
    public init(scanIntervalMilliseconds: Int, debounceMilliseconds: Int, settleMicroseconds: Int) {
        precondition(scanIntervalMilliseconds >= 1, "the scan interval must be at least 1 ms, got \(scanIntervalMilliseconds)")
        precondition(debounceMilliseconds >= 0 && settleMicroseconds >= 0, "debounce and settle times must not be negative")
        self.scanIntervalMilliseconds = scanIntervalMilliseconds
        self.debounceMilliseconds = debounceMilliseconds
        self.settleMicroseconds = settleMicroseconds
    }
}

/// Scans a keypad matrix through ``GPIOMatrixLines`` and reports debounced ``KeyEvent``s.
///
/// While idle, every row is driven low and the scanner blocks in
/// ``GPIOMatrixLines/waitForColumnEdge(timeoutMilliseconds:)``: an idle keypad costs no CPU. A column edge starts
/// scanning: each scan drives one row low at a time, waits ``MatrixScanTiming/settleMicroseconds``, and reads the
/// columns; scans repeat every ``MatrixScanTiming/scanIntervalMilliseconds`` until every key is up and every change
/// has been reported. ``MatrixDebouncer`` does the debouncing and ghost-key rejection: a held key gives one press and
/// one release (no auto-repeat), two keys held together are both reported, and three keys on the corners of a
/// rectangle give nothing until the ambiguity is gone.
public struct MatrixKeyScanner: Sendable {
    /// The keys at the crossings.
    public let keymap: MatrixKeymap
    /// Scan timing.
    public let timing: MatrixScanTiming
    private var debouncer: MatrixDebouncer

    /// Creates a scanner with every key up.
    /// - Parameters:
    ///   - keymap: The board's keymap; its size must match the lines the scanner runs on.
    ///   - timing: Scan timing.
    public init(keymap: MatrixKeymap, timing: MatrixScanTiming = .standard) {
        self.keymap = keymap
        self.timing = timing
        debouncer = MatrixDebouncer(rows: keymap.rows, columns: keymap.columns, debounceMilliseconds: timing.debounceMilliseconds)
    }

    /// Scans until `lines` asks to stop, calling `emit` for each key change.
    ///
    /// Crossings without a key (`nil` in the keymap) are scanned, and count for ghost detection, but are never
    /// reported.
    /// - Parameters:
    ///   - lines: The matrix lines; their row and column counts must match ``keymap``.
    ///   - clock: Time for debouncing and the pauses between scans.
    ///   - emit: Called on the scanning thread with each press and release, in order.
    /// - Throws: The first error of `lines`; the scan stops there.
    public mutating func run(lines: some GPIOMatrixLines, clock: some MatrixClock, emit: (KeyEvent) -> Void) throws {
        precondition(
            lines.rowCount == keymap.rows && lines.columnCount == keymap.columns,
            "the keymap is \(keymap.rows)x\(keymap.columns) but the lines are \(lines.rowCount)x\(lines.columnCount)")
        var scanning = false
        while !lines.isStopRequested {
            if !scanning {
                // Idle: all rows low, so any press pulls a column low. Edges raised by the last scan are stale; a
                // press that lands between the discard and the wait is caught by the read in between.
                try lines.driveRows(selecting: nil)
                try lines.discardColumnEdges()
                if try !lines.readColumns().contains(true) {
                    switch try lines.waitForColumnEdge(timeoutMilliseconds: nil) {
                    case .stopped: return
                    case .edge, .timedOut: break
                    }
                }
                scanning = true
            }
            let closed = try scan(lines: lines, clock: clock)
            for change in debouncer.process(closed, atMilliseconds: clock.monotonicMilliseconds) {
                guard let key = keymap[change.row, change.column] else { continue }
                emit(KeyEvent(key, change.pressed ? .pressed : .released))
            }
            if debouncer.isSettled {
                scanning = false
            } else {
                clock.sleep(microseconds: timing.scanIntervalMilliseconds * 1000)
            }
        }
    }

    /// One pass over the matrix: each row driven low alone, then the columns read.
    /// - Returns: `rows * columns` readings in row-major order, `true` where the switch reads closed.
    public func scan(lines: some GPIOMatrixLines, clock: some MatrixClock) throws -> [Bool] {
        var closed: [Bool] = []
        closed.reserveCapacity(keymap.rows * keymap.columns)
        for row in 0..<keymap.rows {
            try lines.driveRows(selecting: row)
            clock.sleep(microseconds: timing.settleMicroseconds)
            let columns = try lines.readColumns()
            precondition(columns.count == keymap.columns, "lines returned \(columns.count) columns, expected \(keymap.columns)")
            closed.append(contentsOf: columns)
        }
        return closed
    }
}
