/// How a switch contact bounces before it settles: the instants, after the nominal press or release, at which the
/// contact toggles. The contact takes its new state at the nominal instant, toggles at each offset, and ends in the
/// new state (so the count of offsets is even).
public struct ContactBounce: Sendable, Equatable {
    /// Offsets in microseconds after the nominal instant, increasing.
    public let toggleOffsetsMicroseconds: [Int64]

    /// Creates a bounce pattern.
    /// - Parameter toggleOffsetsMicroseconds: Increasing positive offsets, an even number of them.
    public init(toggleOffsetsMicroseconds: [Int64]) {
        precondition(toggleOffsetsMicroseconds.count % 2 == 0, "a bounce must end in the new state: give an even number of toggles")
        precondition(
            zip(toggleOffsetsMicroseconds, toggleOffsetsMicroseconds.dropFirst()).allSatisfy { $0 < $1 }
                && (toggleOffsetsMicroseconds.first ?? 1) > 0,
            "bounce offsets must be positive and increasing")
        self.toggleOffsetsMicroseconds = toggleOffsetsMicroseconds
    }

    /// A clean contact.
    public static let none = ContactBounce(toggleOffsetsMicroseconds: [])

    /// A typical tact switch: four toggles, settled 8 ms after the nominal instant.
    public static let typical = ContactBounce(toggleOffsetsMicroseconds: [1_500, 3_000, 5_000, 8_000])
}

/// A modelled keypad matrix behind the ``GPIOMatrixLines`` protocol, in virtual time: the test double for the GPIO
/// hardware (no GPIO chip exists on the build hosts, and gpio-sim cannot be loaded there).
///
/// The test scripts presses and releases of crossings at virtual instants, optionally with ``ContactBounce``. Column
/// readings follow the physics of a matrix without diodes: the columns are pulled up, and a column reads low when
/// closed switches connect it, through any path of rows and columns, to a row that is driven low. Three closed
/// switches on the corners of a rectangle therefore make the fourth corner read closed, as on real hardware.
/// (A path that joins a low row to a high row counts as low: that models open-drain rows, and push-pull rows where
/// the low side wins.)
///
/// Time is a ``SimulatedMatrixClock``: ``waitForColumnEdge(timeoutMilliseconds:)`` moves it to the next instant a
/// column changes level, and the scanner's sleeps move it too. Once the clock reaches ``stopAtMilliseconds`` (or
/// nothing is left to happen), the chip reports ``GPIOWaitOutcome/stopped`` and ``isStopRequested``.
public final class SimulatedGPIOChip: GPIOMatrixLines {
    /// Number of row lines.
    public let rowCount: Int
    /// Number of column lines.
    public let columnCount: Int
    /// The virtual clock the chip moves while waiting; give the scanner the same clock.
    public let clock: SimulatedMatrixClock
    /// The virtual instant at which the owner stops the scanner; `nil` runs until nothing is left to happen.
    public var stopAtMilliseconds: Int64?

    /// The rows driven low: `nil` for all rows, else the one selected row.
    public private(set) var selectedRow: Int?
    /// How many times the columns were read (a measure of scanning work).
    public private(set) var columnReads = 0
    /// How many times the scanner waited for an edge.
    public private(set) var edgeWaits = 0

    /// Per crossing, row-major: (virtual µs, closed) transitions in time order.
    private var transitions: [[(time: Int64, closed: Bool)]]
    /// Column levels (`true` = low) at `evaluatedUntil` under the current drive.
    private var levels: [Bool]
    private var evaluatedUntil: Int64
    private var pendingEdge = false

    /// Creates a matrix with every switch open and every row driven low.
    /// - Parameters:
    ///   - rows: Number of row lines (at least 1).
    ///   - columns: Number of column lines (at least 1).
    ///   - clock: The virtual clock.
    public init(rows: Int, columns: Int, clock: SimulatedMatrixClock) {
        precondition(rows > 0 && columns > 0, "a key matrix needs at least one row and one column, got \(rows)x\(columns)")
        rowCount = rows
        columnCount = columns
        self.clock = clock
        transitions = Array(repeating: [], count: rows * columns)
        levels = Array(repeating: false, count: columns)
        evaluatedUntil = clock.monotonicMicroseconds
    }

    // MARK: Scripting

    /// Closes the switch at (`row`, `column`) at `atMilliseconds`, bouncing as `bounce` says.
    public func press(row: Int, column: Int, atMilliseconds: Int64, bounce: ContactBounce = .none) {
        schedule(row: row, column: column, closed: true, atMicroseconds: atMilliseconds * 1000, bounce: bounce)
    }

    /// Opens the switch at (`row`, `column`) at `atMilliseconds`, bouncing as `bounce` says.
    public func release(row: Int, column: Int, atMilliseconds: Int64, bounce: ContactBounce = .none) {
        schedule(row: row, column: column, closed: false, atMicroseconds: atMilliseconds * 1000, bounce: bounce)
    }

    /// Whether the switch at (`row`, `column`) is closed at virtual instant `microseconds`.
    public func isClosed(row: Int, column: Int, atMicroseconds microseconds: Int64) -> Bool {
        precondition(row >= 0 && row < rowCount && column >= 0 && column < columnCount, "no crossing (\(row), \(column))")
        return transitions[row * columnCount + column].last { $0.time <= microseconds }?.closed ?? false
    }

    private func schedule(row: Int, column: Int, closed: Bool, atMicroseconds start: Int64, bounce: ContactBounce) {
        precondition(row >= 0 && row < rowCount && column >= 0 && column < columnCount, "no crossing (\(row), \(column))")
        precondition(start > evaluatedUntil, "script only the future: \(start) µs is not after \(evaluatedUntil) µs")
        var state = closed
        var added = [(time: start, closed: state)]
        for offset in bounce.toggleOffsetsMicroseconds {
            state.toggle()
            added.append((start + offset, state))
        }
        let index = row * columnCount + column
        // A stable sort keeps scripted order for transitions at the same instant.
        let merged = transitions[index] + added
        transitions[index] = merged.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            .map(\.element)
    }

    // MARK: GPIOMatrixLines

    /// Whether the clock has reached ``stopAtMilliseconds``.
    public var isStopRequested: Bool {
        guard let stop = stopAtMilliseconds else { return false }
        return clock.monotonicMicroseconds >= stop * 1000
    }

    /// Drives all rows low (`nil`) or only `row`.
    public func driveRows(selecting row: Int?) throws {
        precondition(row.map { $0 >= 0 && $0 < rowCount } ?? true, "no row \(row ?? -1) in a matrix of \(rowCount) rows")
        catchUp()
        selectedRow = row
        note(columnLevels(atMicroseconds: evaluatedUntil))
    }

    /// The column levels now (`true` = low).
    public func readColumns() throws -> [Bool] {
        catchUp()
        columnReads += 1
        return levels
    }

    /// Forgets the edges seen so far.
    public func discardColumnEdges() throws {
        catchUp()
        pendingEdge = false
    }

    /// Moves virtual time to the next column edge, the timeout or ``stopAtMilliseconds``, whichever comes first.
    public func waitForColumnEdge(timeoutMilliseconds: Int?) throws -> GPIOWaitOutcome {
        edgeWaits += 1
        catchUp()
        if pendingEdge { return .edge }
        let now = evaluatedUntil
        let stop = stopAtMilliseconds.map { $0 * 1000 }
        let deadline = timeoutMilliseconds.map { now + Int64($0) * 1000 }
        if let edge = nextEdge(after: now), stop.map({ edge < $0 }) ?? true, deadline.map({ edge <= $0 }) ?? true {
            clock.advance(toMicroseconds: edge)
            catchUp()
            return .edge
        }
        if let deadline, stop.map({ deadline < $0 }) ?? true {
            clock.advance(toMicroseconds: deadline)
            catchUp()
            return .timedOut
        }
        if let stop { clock.advance(toMicroseconds: stop) }
        catchUp()
        return .stopped
    }

    // MARK: Physics

    /// Replays every switch transition between the last evaluation and now, flagging column edges.
    private func catchUp() {
        let now = clock.monotonicMicroseconds
        guard now > evaluatedUntil else { return }
        for time in transitionTimes(in: (evaluatedUntil + 1)...now) {
            note(columnLevels(atMicroseconds: time))
        }
        evaluatedUntil = now
    }

    private func note(_ newLevels: [Bool]) {
        if newLevels != levels {
            pendingEdge = true
            levels = newLevels
        }
    }

    private func transitionTimes(in range: ClosedRange<Int64>) -> [Int64] {
        Set(transitions.joined().map(\.time).filter { range.contains($0) }).sorted()
    }

    /// The first instant after `now` at which a column changes level under the current drive.
    private func nextEdge(after now: Int64) -> Int64? {
        guard now < Int64.max else { return nil }
        var current = levels
        for time in transitionTimes(in: (now + 1)...Int64.max) {
            let next = columnLevels(atMicroseconds: time)
            if next != current { return time }
            current = next
        }
        return nil
    }

    /// Column levels at an instant under the current drive: union-find over rows (nodes `0..<rows`) and columns
    /// (nodes `rows..<rows+columns`) joined by closed switches; a column is low when its group holds a low row.
    private func columnLevels(atMicroseconds time: Int64) -> [Bool] {
        var parent = Array(0..<(rowCount + columnCount))
        func root(_ node: Int) -> Int {
            var node = node
            while parent[node] != node {
                parent[node] = parent[parent[node]]
                node = parent[node]
            }
            return node
        }
        for row in 0..<rowCount {
            for column in 0..<columnCount where isClosed(row: row, column: column, atMicroseconds: time) {
                let (a, b) = (root(row), root(rowCount + column))
                if a != b { parent[a] = b }
            }
        }
        var lowGroups = Set<Int>()
        for row in 0..<rowCount where selectedRow == nil || selectedRow == row { lowGroups.insert(root(row)) }
        return (0..<columnCount).map { lowGroups.contains(root(rowCount + $0)) }
    }
}
