/// Why a font could not be loaded.
///
/// Equality compares ``code`` only; tests assert on the code, never on ``reason``.
public struct FontError: Error, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// The font file could not be opened or read; ``FontError/errno`` says why.
        case fileUnreadable
        /// A line is not `XXXX:` followed by 32 or 64 hex digits; ``FontError/line`` says which.
        case malformedLine
        /// The file is larger than ``HexFontFile/maximumFileSize``.
        case fileTooLarge
    }

    /// What went wrong.
    public let code: Code
    /// The C `errno` for ``Code/fileUnreadable``.
    public let errno: Int32?
    /// The 1-based line number for ``Code/malformedLine``.
    public let line: Int?
    /// A human-readable explanation (for logs; never matched on).
    public let reason: String
    /// Where the error was raised.
    public let sourceLocation: (fileID: String, line: Int)

    private init(code: Code, errno: Int32? = nil, line: Int? = nil, reason: String, fileID: String, sourceLine: Int) {
        self.code = code
        self.errno = errno
        self.line = line
        self.reason = reason
        self.sourceLocation = (fileID, sourceLine)
    }

    package static func fileUnreadable(
        _ path: String, errno: Int32, fileID: String = #fileID, sourceLine: Int = #line
    ) -> FontError {
        FontError(
            code: .fileUnreadable, errno: errno, reason: "cannot read font file \(path) (errno \(errno))",
            fileID: fileID, sourceLine: sourceLine)
    }

    static func malformedLine(_ line: Int, fileID: String = #fileID, sourceLine: Int = #line) -> FontError {
        FontError(
            code: .malformedLine, line: line, reason: "font line \(line) is not XXXX: and 32 or 64 hex digits",
            fileID: fileID, sourceLine: sourceLine)
    }

    package static func fileTooLarge(_ path: String, fileID: String = #fileID, sourceLine: Int = #line) -> FontError {
        FontError(
            code: .fileTooLarge, reason: "font file \(path) is larger than \(HexFontFile.maximumFileSize) bytes",
            fileID: fileID, sourceLine: sourceLine)
    }

    /// The reason, with the code.
    public var description: String { "FontError(\(code)): \(reason)" }

    public static func == (lhs: FontError, rhs: FontError) -> Bool { lhs.code == rhs.code }
}

/// Glyphs parsed from unifont.hex text, sorted by code point for binary search.
struct HexGlyphTable: Sendable {
    /// Code points, ascending, no duplicates.
    private(set) var scalars: [UInt32] = []
    /// `glyphs[i]` draws `scalars[i]`.
    private var glyphs: [Glyph] = []

    /// Parses unifont.hex text: one glyph a line, `XXXX:` (4 to 6 hex digits of a Unicode scalar value) then 32 hex
    /// digits (8x16) or 64 (16x16), the format of GNU Unifont's `font/plane00/*.hex` sources. Blank lines are skipped,
    /// `\r\n` line ends accepted. When a code point appears twice the later line wins.
    init(parsing text: UnsafeRawBufferPointer) throws(FontError) {
        var entries: [(scalar: UInt32, glyph: Glyph)] = []
        entries.reserveCapacity(text.count / 40)
        var lineNumber = 0
        var start = 0
        let count = text.count
        while start < count {
            lineNumber += 1
            var end = start
            while end < count, text[end] != UInt8(ascii: "\n") { end += 1 }
            var last = end
            if last > start, text[last - 1] == UInt8(ascii: "\r") { last -= 1 }
            if last > start {
                guard let entry = Self.parseLine(UnsafeRawBufferPointer(rebasing: text[start..<last])) else {
                    throw .malformedLine(lineNumber)
                }
                entries.append(entry)
            }
            start = end + 1
        }
        // Stable sort keeps file order among duplicates, so keeping the last of each run lets the later line win.
        let sorted = entries.enumerated().sorted {
            ($0.element.scalar, $0.offset) < ($1.element.scalar, $1.offset)
        }
        scalars.reserveCapacity(sorted.count)
        glyphs.reserveCapacity(sorted.count)
        for (_, entry) in sorted {
            if scalars.last == entry.scalar {
                glyphs[glyphs.count - 1] = entry.glyph
            } else {
                scalars.append(entry.scalar)
                glyphs.append(entry.glyph)
            }
        }
    }

    /// How many glyphs the table holds.
    var count: Int { scalars.count }

    /// The glyph for `value`, by binary search.
    func glyph(for value: UInt32) -> Glyph? {
        var low = 0
        var high = scalars.count
        while low < high {
            let mid = (low + high) / 2
            if scalars[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low < scalars.count && scalars[low] == value ? glyphs[low] : nil
    }

    private static func parseLine(_ line: UnsafeRawBufferPointer) -> (UInt32, Glyph)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), (4...6).contains(colon) else { return nil }
        var value: UInt32 = 0
        for c in line[0..<colon] {
            guard let nibble = Glyph.hexValue(c) else { return nil }
            value = value << 4 | UInt32(nibble)
        }
        guard Unicode.Scalar(value) != nil,
            let glyph = Glyph(rawHexDigits: UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
        else { return nil }
        return (value, glyph)
    }
}

extension Glyph {
    /// A glyph from 32 or 64 ASCII hex digits in memory; `nil` when they are not.
    init?(rawHexDigits digits: UnsafeRawBufferPointer) {
        guard let parsed = Self.parse(digits) else { return nil }
        self.init(width: parsed.0, packedWords: parsed.1)
    }
}

/// A full GNU Unifont (or any font in its unifont.hex format) read at run time, for characters the built-in
/// ``UnifontSubset`` lacks.
///
/// The board profile names the file, normally `/usr/share/unifont/unifont.hex` from Debian's `unifont` package
/// (about 57 000 glyphs, 3.7 MB of text, about 2.5 MB once parsed). Stack it under the subset with ``LayeredFont``.
public struct HexFontFile: BitmapFont {
    /// The largest file accepted (the whole of Unifont plane 0 is under 4 MB).
    public static let maximumFileSize = 64 << 20

    private let table: HexGlyphTable

    /// Parses unifont.hex text already in memory.
    ///
    /// - Parameter text: lines of `XXXX:` and 32 or 64 hex digits.
    /// - Throws: ``FontError`` with code ``FontError/Code/malformedLine`` naming the first bad line.
    public init(parsing text: some StringProtocol) throws(FontError) {
        table = try Self.parse(Array(text.utf8))
    }

    /// Parses the bytes of a unifont.hex file (reading the file is the driver layer's job: see
    /// `HexFontFile(contentsOfFile:)` in LinuxDevices).
    package init(parsingBytes bytes: [UInt8]) throws(FontError) {
        table = try Self.parse(bytes)
    }

    /// How many glyphs the file holds.
    public var glyphCount: Int { table.count }

    /// The file's glyph for `scalar`, or `nil`.
    public func glyph(for scalar: Unicode.Scalar) -> Glyph? {
        table.glyph(for: scalar.value)
    }

    private static func parse(_ bytes: [UInt8]) throws(FontError) -> HexGlyphTable {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(FontError) in try HexGlyphTable(parsing: raw) }
        }
        return try result.get()
    }
}
