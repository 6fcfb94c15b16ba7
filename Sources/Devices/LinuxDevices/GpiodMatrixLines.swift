public import DeviceKit
import CGPIOD
import SystemPackage

/// The lines of a keypad matrix on a GPIO chip, through libgpiod (the CGPIOD shim, which builds against libgpiod
/// 1.6 and 2.x alike).
///
/// Rows are outputs, driven low to select (all low while idle); columns are inputs with the pull-up bias and
/// both-edge detection, so a key press on an idle keypad wakes ``waitForColumnEdge(timeoutMilliseconds:)`` through
/// the kernel's edge event queue: `poll` on the event descriptor beside ``stopSignal``, no timer while idle.
/// Run it with `MatrixKeyScanner`, normally through ``GpioMatrixKeypad``.
public final class GpiodMatrixLines: GPIOMatrixLines, StopAwareMatrixLines {
    /// How the row outputs drive their lines.
    public enum RowDrive: Sendable, Equatable {
        /// Rows drive both levels: the selected row low, the others high.
        case pushPull
        /// Rows only pull low; unselected rows float. Choose this on a matrix without diodes: two keys in one
        /// column on two rows then never short a high row to a low one.
        case openDrain
    }

    /// The chip's path, as configured.
    public let chipPath: String
    /// Offsets of the row lines, row 0 first.
    public let rowOffsets: [UInt32]
    /// Offsets of the column lines, column 0 first.
    public let columnOffsets: [UInt32]
    /// Fired to end ``waitForColumnEdge(timeoutMilliseconds:)`` and the scan (``GpioMatrixKeypad`` sets it for each
    /// stream).
    public var stopSignal: StopSignal?

    private let rows: GpiodLineRequest
    private let columns: GpiodLineRequest
    private let events: FileDescriptor
    private var selected: Int??

    /// Opens the chip and requests the lines.
    /// - Parameters:
    ///   - chipPath: The chip's character device, such as `/dev/gpiochip0`.
    ///   - rowOffsets: The row lines' offsets on the chip.
    ///   - columnOffsets: The column lines' offsets on the chip.
    ///   - consumer: The consumer name the kernel shows for the lines (`gpioinfo`).
    ///   - rowDrive: Push-pull or open-drain rows.
    /// - Throws: ``GpiodError`` with ``GpiodError/Code/invalidConfiguration`` for empty, repeated or too many
    ///   offsets, ``GpiodError/Code/openChip`` when the chip cannot be opened, and
    ///   ``GpiodError/Code/requestLines`` when a line cannot be requested (naming its offset when known, such as a
    ///   line used by another consumer, `EBUSY`).
    public init(
        chipPath: String, rowOffsets: [UInt32], columnOffsets: [UInt32], consumer: String = "terminal-keypad",
        rowDrive: RowDrive = .pushPull
    ) throws(GpiodError) {
        try Self.validate(chipPath: chipPath, rowOffsets: rowOffsets, columnOffsets: columnOffsets)
        let chip = try GpiodChip(path: chipPath)
        self.chipPath = chipPath
        self.rowOffsets = rowOffsets
        self.columnOffsets = columnOffsets
        columns = try chip.requestInputsPulledUpWithEdges(columnOffsets, consumer: consumer)
        rows = try chip.requestOutputs(
            rowOffsets, initialValues: Array(repeating: 0, count: rowOffsets.count),
            drive: rowDrive == .openDrain ? CGPIOD_DRIVE_OPEN_DRAIN : CGPIOD_DRIVE_PUSH_PULL, consumer: consumer)
        events = try columns.eventDescriptor()
        selected = .some(nil)
    }

    /// The libgpiod API this build was compiled against (1 or 2), `cgpiod_api_major`.
    public static var libgpiodAPIMajor: Int { Int(cgpiod_api_major()) }

    /// Checks offsets before any system call.
    static func validate(chipPath: String, rowOffsets: [UInt32], columnOffsets: [UInt32]) throws(GpiodError) {
        let limit = Int(CGPIOD_MAX_LINES)
        guard !rowOffsets.isEmpty, !columnOffsets.isEmpty, rowOffsets.count <= limit, columnOffsets.count <= limit else {
            throw GpiodError(
                .invalidConfiguration, chipPath: chipPath,
                reason: "a keypad matrix needs 1 to \(limit) rows and columns, got \(rowOffsets.count)x\(columnOffsets.count)")
        }
        var seen = Set<UInt32>()
        for offset in rowOffsets + columnOffsets where !seen.insert(offset).inserted {
            throw GpiodError(
                .invalidConfiguration, chipPath: chipPath, offset: offset,
                reason: "the line is listed twice among the keypad's rows and columns")
        }
    }

    /// Number of row lines.
    public var rowCount: Int { rowOffsets.count }
    /// Number of column lines.
    public var columnCount: Int { columnOffsets.count }
    /// Whether ``stopSignal`` fired.
    public var isStopRequested: Bool { stopSignal?.isFired ?? false }

    /// Drives all rows low (`nil`) or only `row` low and the others high; skips the ioctl when nothing changes.
    public func driveRows(selecting row: Int?) throws {
        precondition(row.map { $0 >= 0 && $0 < rowCount } ?? true, "no row \(row ?? -1) in a matrix of \(rowCount) rows")
        if selected == .some(row) { return }
        selected = nil  // unknown until the set succeeds
        try rows.set((0..<rowCount).map { row != nil && $0 != row })
        selected = .some(row)
    }

    /// Reads the columns; `true` where a column reads low.
    public func readColumns() throws -> [Bool] {
        try columns.get().map { !$0 }
    }

    /// Reads and drops every pending column edge event.
    public func discardColumnEdges() throws {
        try columns.drainEdges()
    }

    /// Polls the edge event descriptor and ``stopSignal``.
    public func waitForColumnEdge(timeoutMilliseconds: Int?) throws -> GPIOWaitOutcome {
        let timeout = timeoutMilliseconds.map { Int32(clamping: max(0, $0)) } ?? -1
        do {
            switch try pollReadable(events, stop: stopSignal, timeoutMilliseconds: timeout) {
            case .readable: return .edge
            case .timedOut: return .timedOut
            case .stopped: return .stopped
            }
        } catch {
            throw GpiodError(.edgeEvents, chipPath: chipPath, errno: error, reason: "cannot wait for column edges")
        }
    }
}

@available(*, unavailable)
extension GpiodMatrixLines: Sendable {}
