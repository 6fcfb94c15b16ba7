/// A frame for a display: a grid of character cells, laid out by the UI and drawn by a display driver.
///
/// A wide (East Asian) character takes two cells: the first holds the character, the second holds
/// ``Cell/continuation``. Text that does not fit is clipped, never wrapped into the next row.
public struct CharacterGrid: Sendable, Equatable {
    /// One cell of the grid.
    public struct Cell: Sendable, Equatable {
        /// The character, or `nil` for the right half of a wide character.
        public var scalar: Unicode.Scalar?
        /// Drawn with foreground and background swapped (selection, title bar).
        public var inverse: Bool

        public static let blank = Cell(scalar: " ", inverse: false)
        public static let continuation = Cell(scalar: nil, inverse: false)

        public init(scalar: Unicode.Scalar?, inverse: Bool = false) {
            self.scalar = scalar
            self.inverse = inverse
        }
    }

    public let columns: Int
    public let rows: Int
    public private(set) var cells: [Cell]
    /// A QR code the display draws over a band of rows at its own resolution (pixels on a pixel display, block
    /// characters beside the frame in the simulator's window); `nil` on most screens. Displays that cannot draw
    /// one show the cells underneath.
    public var qrOverlay: QROverlay?

    public init(columns: Int, rows: Int) {
        precondition(columns > 0 && rows > 0, "a character grid needs at least one cell, got \(columns)x\(rows)")
        self.columns = columns
        self.rows = rows
        self.cells = Array(repeating: .blank, count: columns * rows)
    }

    public subscript(column: Int, row: Int) -> Cell {
        get { cells[row * columns + column] }
        set { cells[row * columns + column] = newValue }
    }

    /// How many cells a character takes: 2 for East Asian wide and fullwidth characters, else 1.
    public static func cellWidth(of scalar: Unicode.Scalar) -> Int {
        isWide(scalar) ? 2 : 1
    }

    /// How many cells a string takes.
    public static func cellWidth(of text: some StringProtocol) -> Int {
        text.unicodeScalars.reduce(0) { $0 + cellWidth(of: $1) }
    }

    /// Writes `text` starting at (`column`, `row`), clipping at the right edge. A wide character that would be cut in
    /// half is replaced by a blank. Returns the column after the last cell written.
    @discardableResult
    public mutating func write(_ text: some StringProtocol, column: Int, row: Int, inverse: Bool = false) -> Int {
        guard row >= 0, row < rows else { return column }
        var x = column
        for scalar in text.unicodeScalars {
            let width = Self.cellWidth(of: scalar)
            if x + width > columns {
                if x < columns { self[x, row] = Cell(scalar: " ", inverse: inverse) }
                return columns
            }
            if x >= 0 {
                clearHalfOfWide(at: x, row: row)
                self[x, row] = Cell(scalar: scalar, inverse: inverse)
                if width == 2 {
                    clearHalfOfWide(at: x + 1, row: row)
                    self[x + 1, row] = Cell(scalar: nil, inverse: inverse)
                }
            }
            x += width
        }
        return x
    }

    /// Fills a whole row with blanks (optionally inverse).
    public mutating func clearRow(_ row: Int, inverse: Bool = false) {
        guard row >= 0, row < rows else { return }
        for x in 0..<columns { self[x, row] = Cell(scalar: " ", inverse: inverse) }
    }

    /// The text of one row, wide characters once each, trailing blanks kept.
    public func text(ofRow row: Int) -> String {
        var out = String.UnicodeScalarView()
        for x in 0..<columns {
            if let scalar = self[x, row].scalar { out.append(scalar) }
        }
        return String(out)
    }

    /// The grid as plain text, one line a row with trailing blanks removed (headless mode, logs of screens).
    public var plainText: String {
        (0..<rows).map { row in
            var line = text(ofRow: row)
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }

    /// Overwriting one half of a wide character leaves the other half as a blank, never half a glyph.
    private mutating func clearHalfOfWide(at x: Int, row: Int) {
        guard x >= 0, x < columns else { return }
        let cell = self[x, row]
        if cell.scalar == nil, x > 0 {
            self[x - 1, row] = Cell(scalar: " ", inverse: self[x - 1, row].inverse)
        } else if let scalar = cell.scalar, Self.isWide(scalar), x + 1 < columns {
            self[x + 1, row] = Cell(scalar: " ", inverse: self[x + 1, row].inverse)
        }
    }

    /// East Asian Width W or F (Unicode Standard Annex #11), for the ranges a terminal's text can hold:
    /// CJK ideographs and symbols, Hangul, kana, fullwidth forms.
    static func isWide(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            true
        default:
            false
        }
    }
}

/// A QR code placed over rows of a ``CharacterGrid``: the display centres the symbol, with a light quiet zone, in
/// the band `rows` spans across the whole width, at the largest whole number of pixels a module that fits.
public struct QROverlay: Sendable, Equatable {
    public var matrix: QRMatrix
    /// The grid rows the symbol covers.
    public var rows: Range<Int>
    public init(matrix: QRMatrix, rows: Range<Int>) {
        self.matrix = matrix
        self.rows = rows
    }
}
