/// One glyph of a bitmap font: 16 rows of 8 or 16 pixels, as GNU Unifont draws them.
///
/// Each row is a `UInt16` whose bit 15 is the leftmost pixel, for both widths: an 8-pixel row uses the high byte only.
/// That is the digit order of a unifont.hex line (two hex digits a row for width 8, four for width 16), so a row
/// reads left to right as it is written.
///
/// The glyph is stored inline (four `UInt64`s), so looking one up allocates nothing.
public struct Glyph: Sendable, Equatable {
    /// Rows in every glyph.
    public static let height = 16

    /// Pixels in each row: 8 for a narrow (half-width) glyph, 16 for a wide one.
    public let width: Int

    /// Rows 0-3, 4-7, 8-11 and 12-15, four 16-bit rows to a word, row 0 in the top 16 bits.
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// A glyph from its 16 rows.
    ///
    /// - Parameters:
    ///   - width: 8 or 16.
    ///   - rows: exactly 16 rows, bit 15 the leftmost pixel. For width 8 the low byte of each row must be zero.
    /// - Precondition: the width and rows are as described (a caller's programming error otherwise).
    public init(width: Int, rows: [UInt16]) {
        precondition(width == 8 || width == 16, "a glyph is 8 or 16 pixels wide, got \(width)")
        precondition(rows.count == Self.height, "a glyph has \(Self.height) rows, got \(rows.count)")
        precondition(width == 16 || rows.allSatisfy { $0 & 0x00FF == 0 }, "an 8-pixel glyph uses the high byte only")
        func word(_ first: Int) -> UInt64 {
            rows[first..<first + 4].reduce(0) { $0 << 16 | UInt64($1) }
        }
        self.init(width: width, packedWords: (word(0), word(4), word(8), word(12)))
    }

    /// A glyph from the bitmap part of a unifont.hex line: 32 hex digits (8x16) or 64 (16x16), no separators.
    /// `nil` for any other length or a character that is not a hex digit.
    public init?(unifontHex digits: some StringProtocol) {
        let parsed = digits.utf8.withContiguousStorageIfAvailable { Self.parse(UnsafeRawBufferPointer($0)) }
            ?? Array(digits.utf8).withUnsafeBytes { Self.parse($0) }
        guard let parsed else { return nil }
        self.init(width: parsed.0, packedWords: parsed.1)
    }

    /// A glyph from rows already packed four to a word (see ``Glyph/parse(_:)``).
    init(width: Int, packedWords words: (UInt64, UInt64, UInt64, UInt64)) {
        self.width = width
        self.words = words
    }

    /// Row `y` (0 at the top), bit 15 the leftmost pixel.
    public func row(_ y: Int) -> UInt16 {
        precondition(y >= 0 && y < Self.height, "glyph row \(y) is outside 0..<\(Self.height)")
        let word: UInt64
        switch y >> 2 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return UInt16(truncatingIfNeeded: word >> UInt64(16 * (3 - (y & 3))))
    }

    /// All 16 rows, top first.
    public var rows: [UInt16] { (0..<Self.height).map(row) }

    /// Whether pixel (`x`, `y`) is set (drawn in the foreground colour). Pixels right of ``width`` are never set.
    public func isSet(x: Int, y: Int) -> Bool {
        guard x >= 0, x < width else { return false }
        return row(y) & (0x8000 >> UInt16(x)) != 0
    }

    /// The box drawn for a character the font has no glyph for: an outline with a diagonal cross, `width` pixels wide
    /// (8 or 16), so that a missing glyph is visible on screen instead of a blank or a wrong character.
    public static func replacement(width: Int) -> Glyph {
        precondition(width == 8 || width == 16, "a glyph is 8 or 16 pixels wide, got \(width)")
        let left = 1
        let right = width - 2
        let top = 1
        let bottom = 14
        var rows = [UInt16](repeating: 0, count: height)
        for y in top...bottom {
            var bits: UInt16 = 0
            func set(_ x: Int) { bits |= 0x8000 >> UInt16(x) }
            if y == top || y == bottom {
                for x in left...right { set(x) }
            } else {
                set(left)
                set(right)
                // The two diagonals, stretched from the box's height onto its width.
                let span = right - left
                let t = (y - top) * span / (bottom - top)
                set(left + t)
                set(right - t)
            }
            rows[y] = bits
        }
        return Glyph(width: width, rows: rows)
    }

    /// Parses 32 or 64 hex digits into a width and the packed rows.
    static func parse(_ digits: UnsafeRawBufferPointer) -> (Int, (UInt64, UInt64, UInt64, UInt64))? {
        let width: Int
        switch digits.count {
        case 32: width = 8
        case 64: width = 16
        default: return nil
        }
        let digitsPerRow = width / 4
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = digits.startIndex
        for quarter in 0..<4 {
            var word: UInt64 = 0
            for _ in 0..<4 {
                var row: UInt64 = 0
                for _ in 0..<digitsPerRow {
                    guard let nibble = hexValue(digits[index]) else { return nil }
                    row = row << 4 | UInt64(nibble)
                    index += 1
                }
                word = word << 16 | (width == 8 ? row << 8 : row)
            }
            switch quarter {
            case 0: words.0 = word
            case 1: words.1 = word
            case 2: words.2 = word
            default: words.3 = word
            }
        }
        return (width, words)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    public static func == (lhs: Glyph, rhs: Glyph) -> Bool {
        lhs.width == rhs.width && lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }
}

/// A bitmap font: a glyph, 8 or 16 pixels wide and 16 high, for each character it covers.
///
/// A pixel display draws each cell of a ``CharacterGrid`` with one glyph; a wide character's glyph spans two cells.
public protocol BitmapFont: Sendable {
    /// The glyph for `scalar`, or `nil` when the font does not cover it.
    func glyph(for scalar: Unicode.Scalar) -> Glyph?
}

extension BitmapFont {
    /// The glyph for `scalar`, or the ``Glyph/replacement(width:)`` box, as wide as the character's cells, when the
    /// font does not cover it.
    public func glyphOrReplacement(for scalar: Unicode.Scalar) -> Glyph {
        glyph(for: scalar) ?? .replacement(width: 8 * CharacterGrid.cellWidth(of: scalar))
    }
}

/// Fonts tried in order: the first that has a glyph for a character draws it.
///
/// The usual stack is the built-in ``UnifontSubset`` first, then a full ``HexFontFile`` loaded at run time for any
/// character the subset lacks.
public struct LayeredFont: BitmapFont {
    /// The fonts, highest priority first.
    public let layers: [any BitmapFont]

    /// A font that asks `layers` in order.
    public init(_ layers: [any BitmapFont]) {
        self.layers = layers
    }

    /// The first layer's glyph for `scalar`, or `nil` when no layer has one.
    public func glyph(for scalar: Unicode.Scalar) -> Glyph? {
        for layer in layers {
            if let glyph = layer.glyph(for: scalar) { return glyph }
        }
        return nil
    }
}
