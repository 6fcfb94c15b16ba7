/// Turns raw matrix scans into debounced, ghost-free key changes. Pure: no I/O, no clock reads; the caller passes
/// each scan with its time.
///
/// **Debounce.** Each crossing is debounced on its own: a switch that reads differently from what was last reported
/// is reported only once it has read the same for `debounceMilliseconds` (time since the scan that first saw the
/// new reading). Contact bounce (a few toggles within 5–10 ms) is thereby absorbed, a held key is reported once,
/// and a pulse shorter than the debounce time is never reported.
///
/// **Ghost keys.** A matrix without a diode per switch cannot tell three keys at the corners of a rectangle from
/// four: with (r1,c1), (r1,c2) and (r2,c1) closed, column c2 is pulled low through the other three switches while
/// row r2 is scanned, so (r2,c2) reads closed too. Whenever a reading holds three or more closed crossings on the
/// corners of a rectangle (a closed crossing that shares its row with another closed crossing and its column with a
/// third), nothing is reported at all until the ambiguity is gone. Two keys alone are never ambiguous.
public struct MatrixDebouncer: Sendable {
    /// One reported change of a crossing.
    public struct Change: Sendable, Equatable {
        /// Row line of the crossing.
        public var row: Int
        /// Column line of the crossing.
        public var column: Int
        /// `true` when the switch closed (key pressed), `false` when it opened.
        public var pressed: Bool

        /// Creates a change.
        public init(row: Int, column: Int, pressed: Bool) {
            self.row = row
            self.column = column
            self.pressed = pressed
        }
    }

    /// Number of row lines.
    public let rows: Int
    /// Number of column lines.
    public let columns: Int
    /// How long a new reading must hold before it is reported.
    public let debounceMilliseconds: Int64

    private var raw: [Bool]
    private var rawSince: [Int64]
    private var reported: [Bool]

    /// Whether the last scan held an ambiguous rectangle (reports are held back while it does).
    public private(set) var isGhosting = false

    /// Whether the matrix is at rest: no switch reads closed and no change waits for its debounce time. The scanner
    /// stops scanning and waits for an edge once this is true.
    public private(set) var isSettled = true

    /// Creates a debouncer with every switch open.
    /// - Parameters:
    ///   - rows: Number of row lines (at least 1).
    ///   - columns: Number of column lines (at least 1).
    ///   - debounceMilliseconds: How long a reading must hold before it is reported (at least 0).
    public init(rows: Int, columns: Int, debounceMilliseconds: Int) {
        precondition(rows > 0 && columns > 0, "a key matrix needs at least one row and one column, got \(rows)x\(columns)")
        precondition(debounceMilliseconds >= 0, "debounce time must not be negative, got \(debounceMilliseconds)")
        self.rows = rows
        self.columns = columns
        self.debounceMilliseconds = Int64(debounceMilliseconds)
        raw = Array(repeating: false, count: rows * columns)
        rawSince = Array(repeating: 0, count: rows * columns)
        reported = raw
    }

    /// Whether the crossing was last reported pressed.
    public func isPressed(row: Int, column: Int) -> Bool { reported[row * columns + column] }

    /// Takes one scan and returns the changes to report, releases first, each group in row-major order.
    /// - Parameters:
    ///   - closed: `rows * columns` readings in row-major order, `true` where the switch reads closed.
    ///   - now: The time of the scan, in monotonic milliseconds (never earlier than the previous scan's).
    /// - Returns: The crossings whose debounced state changed; empty while the reading is ambiguous.
    public mutating func process(_ closed: [Bool], atMilliseconds now: Int64) -> [Change] {
        precondition(closed.count == raw.count, "a scan of a \(rows)x\(columns) matrix has \(raw.count) readings, got \(closed.count)")
        for index in closed.indices where closed[index] != raw[index] {
            raw[index] = closed[index]
            rawSince[index] = now
        }
        defer { isSettled = !raw.contains(true) && raw == reported }

        // Ghost-key rejection: hold every report while the raw reading is ambiguous.
        isGhosting = Self.hasAmbiguousRectangle(raw, rows: rows, columns: columns)
        if isGhosting { return [] }

        var next = reported
        for index in raw.indices where raw[index] != reported[index] && now - rawSince[index] >= debounceMilliseconds {
            next[index] = raw[index]
        }
        // The debounced state mixes old and new readings; it must not be ambiguous either.
        if next == reported || Self.hasAmbiguousRectangle(next, rows: rows, columns: columns) { return [] }

        var releases: [Change] = []
        var presses: [Change] = []
        for index in next.indices where next[index] != reported[index] {
            let change = Change(row: index / columns, column: index % columns, pressed: next[index])
            if change.pressed { presses.append(change) } else { releases.append(change) }
        }
        reported = next
        return releases + presses
    }

    /// Whether three or more closed crossings sit on the corners of a rectangle: some closed crossing shares its
    /// row with another closed crossing and its column with a third. In a matrix without diodes the fourth corner
    /// then reads closed whether or not its switch is, so no reading of that rectangle can be trusted.
    /// - Parameters:
    ///   - closed: `rows * columns` readings in row-major order.
    ///   - rows: Number of row lines.
    ///   - columns: Number of column lines.
    public static func hasAmbiguousRectangle(_ closed: [Bool], rows: Int, columns: Int) -> Bool {
        var perRow = Array(repeating: 0, count: rows)
        var perColumn = Array(repeating: 0, count: columns)
        for index in closed.indices where closed[index] {
            perRow[index / columns] += 1
            perColumn[index % columns] += 1
        }
        for index in closed.indices where closed[index] {
            if perRow[index / columns] >= 2 && perColumn[index % columns] >= 2 { return true }
        }
        return false
    }
}
