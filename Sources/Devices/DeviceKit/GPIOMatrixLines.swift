/// The GPIO lines of a keypad matrix, as ``MatrixKeyScanner`` sees them.
///
/// A keypad matrix has row lines and column lines, with one switch at every crossing. The scanner drives the rows
/// (outputs, active low) and reads the columns (inputs with pull-up resistors): while a row is driven low, a closed
/// switch on that row pulls its column low, and a column reads high otherwise. While the keypad is idle every row is
/// driven low, so any key press pulls some column low and raises an edge that wakes the scanner; the scanner never
/// polls an idle keypad.
///
/// Implementations: `LinuxDevices.GpiodMatrixLines` over libgpiod, and ``SimulatedGPIOChip`` (a modelled matrix in
/// virtual time for tests and the simulator). Calls come from one thread at a time (the scanner's); an
/// implementation need not be `Sendable`.
public protocol GPIOMatrixLines: AnyObject {
    /// How many row lines (outputs) the matrix has.
    var rowCount: Int { get }

    /// How many column lines (inputs) the matrix has.
    var columnCount: Int { get }

    /// Drives the rows: `nil` drives every row low (idle, so that any key press pulls a column low); a row index
    /// drives that row low and the others high (or releases them, for open-drain rows), to scan that one row.
    /// - Parameter row: The row to select, in `0..<rowCount`, or `nil` for all rows.
    /// - Throws: When the lines cannot be set (the driver's own error type).
    func driveRows(selecting row: Int?) throws

    /// Reads the column lines.
    /// - Returns: `columnCount` values, `true` where the column reads **low**: a closed switch connects it to a row
    ///   that is driven low.
    /// - Throws: When the lines cannot be read.
    func readColumns() throws -> [Bool]

    /// Discards the column edges seen so far (the scan itself toggles the columns of held keys), so that the next
    /// ``waitForColumnEdge(timeoutMilliseconds:)`` waits for a new edge.
    /// - Throws: When pending edge events cannot be read.
    func discardColumnEdges() throws

    /// Blocks until a column line changes level, the timeout passes, or the owner asks the scanner to stop.
    ///
    /// Returns at once with ``GPIOWaitOutcome/edge`` when an edge is already pending. The wait must cost no CPU
    /// (poll on the event descriptor, never a loop of short sleeps).
    /// - Parameter timeoutMilliseconds: How long to wait at most; `nil` waits without limit.
    /// - Returns: What ended the wait.
    /// - Throws: When waiting fails.
    func waitForColumnEdge(timeoutMilliseconds: Int?) throws -> GPIOWaitOutcome

    /// Whether the owner asked the scanner to stop; checked between scans while keys are held, when the scanner
    /// does not wait for edges.
    var isStopRequested: Bool { get }
}

/// What ended ``GPIOMatrixLines/waitForColumnEdge(timeoutMilliseconds:)``.
public enum GPIOWaitOutcome: Sendable, Equatable {
    /// A column line changed level (or an edge was already pending).
    case edge
    /// The timeout passed with no edge.
    case timedOut
    /// The owner asked the scanner to stop.
    case stopped
}
