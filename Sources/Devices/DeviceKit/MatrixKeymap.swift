/// Which ``Key`` sits at each crossing of a keypad matrix, as the board profile lists it: one array per row line,
/// one entry per column line, `nil` where the crossing has no switch.
public struct MatrixKeymap: Sendable, Equatable {
    /// Why a keymap was refused.
    public enum ValidationError: Error, Sendable, Equatable {
        /// The keymap has no rows or no columns.
        case empty
        /// Row `row` has `columns` entries where the first row has `expected`.
        case ragged(row: Int, columns: Int, expected: Int)
        /// More rows or columns than one libgpiod request can hold (64 lines, `GPIO_V2_LINES_MAX`).
        case tooLarge(rows: Int, columns: Int)
    }

    /// The most rows, and the most columns, a keymap may have: one libgpiod line request holds at most 64 lines
    /// (`GPIO_V2_LINES_MAX` in linux/gpio.h, `GPIOD_LINE_BULK_MAX_LINES` in libgpiod 1.x).
    public static let maximumLines = 64

    /// Number of row lines.
    public let rows: Int
    /// Number of column lines.
    public let columns: Int
    private let keys: [Key?]

    /// Checks and stores a keymap.
    /// - Parameter keys: One array per row, each with one entry per column.
    /// - Throws: ``ValidationError`` when the keymap is empty, ragged or too large.
    public init(_ keys: [[Key?]]) throws(ValidationError) {
        guard let first = keys.first, !first.isEmpty else { throw .empty }
        for (row, entries) in keys.enumerated() where entries.count != first.count {
            throw .ragged(row: row, columns: entries.count, expected: first.count)
        }
        guard keys.count <= Self.maximumLines, first.count <= Self.maximumLines else {
            throw .tooLarge(rows: keys.count, columns: first.count)
        }
        rows = keys.count
        columns = first.count
        self.keys = keys.flatMap { $0 }
    }

    /// The key at a crossing, `nil` where there is none (or the position is outside the matrix).
    public subscript(row: Int, column: Int) -> Key? {
        guard row >= 0, row < rows, column >= 0, column < columns else { return nil }
        return keys[row * columns + column]
    }

    /// The crossing of `key` (the first one, in row-major order, when the board wires a key twice).
    /// - Parameter key: The key to find.
    /// - Returns: Its row and column, or `nil` when the matrix does not have it.
    public func position(of key: Key) -> (row: Int, column: Int)? {
        guard let index = keys.firstIndex(of: key) else { return nil }
        return (index / columns, index % columns)
    }
}
