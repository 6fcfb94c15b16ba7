public import DeviceKit

/// The Matrix Orbital command set of serial character LCDs (LCD/LKD/VFD/VKD series and the many HD44780
/// backpacks that copy it), as exact byte sequences.
///
/// Every command is 0xFE followed by a letter, as in the Matrix Orbital LK204-25 manual and as LCDproc's
/// `MtxOrb` driver sends them (lcdproc `server/drivers/MtxOrb.c`: `MtxOrb_hardware_clear`, `MtxOrb_cursor_goto`,
/// `MtxOrb_linewrap`, `MtxOrb_autoscroll`, `MtxOrb_cursorblink`, `MtxOrb_cursor`, `MtxOrb_backlight`,
/// `MtxOrb_set_contrast`). Any byte that is not 0xFE is a character written at the cursor.
public enum MatrixOrbitalCommand {
    /// The command prefix; never sent as text (LCDproc replaces it with a space in `MtxOrb_flush`).
    public static let prefix: UInt8 = 0xFE

    /// FE 58 ("X"): clear the screen and home the cursor.
    public static let clearScreen: [UInt8] = [0xFE, 0x58]

    /// FE 47 col row ("G"): move the cursor; column and row are 1-based (1 ... width, 1 ... height).
    public static func setCursor(column: Int, row: Int) -> [UInt8] {
        precondition((1...255).contains(column) && (1...255).contains(row), "cursor (\(column), \(row)) out of range")
        return [0xFE, 0x47, UInt8(column), UInt8(row)]
    }

    /// FE 42 n ("B"): backlight on; it stays on for n minutes, 0 = forever.
    public static func backlightOn(minutes: UInt8 = 0) -> [UInt8] { [0xFE, 0x42, minutes] }

    /// FE 46 ("F"): backlight off.
    public static let backlightOff: [UInt8] = [0xFE, 0x46]

    /// FE 50 n ("P"): contrast, 0 ... 255 (LCD types; a VFD ignores it).
    public static func contrast(_ value: UInt8) -> [UInt8] { [0xFE, 0x50, value] }

    /// FE 4A ("J"): underline cursor on.
    public static let underlineCursorOn: [UInt8] = [0xFE, 0x4A]

    /// FE 4B ("K"): underline cursor off.
    public static let underlineCursorOff: [UInt8] = [0xFE, 0x4B]

    /// FE 53 ("S"): blinking block cursor on.
    public static let blockCursorOn: [UInt8] = [0xFE, 0x53]

    /// FE 54 ("T"): blinking block cursor off.
    public static let blockCursorOff: [UInt8] = [0xFE, 0x54]

    /// FE 43 ("C"): automatic line wrap on.
    public static let lineWrapOn: [UInt8] = [0xFE, 0x43]

    /// FE 44 ("D"): automatic line wrap off.
    public static let lineWrapOff: [UInt8] = [0xFE, 0x44]

    /// FE 51 ("Q"): automatic scrolling on (writing past the last cell scrolls the screen up).
    public static let autoScrollOn: [UInt8] = [0xFE, 0x51]

    /// FE 52 ("R"): automatic scrolling off.
    public static let autoScrollOff: [UInt8] = [0xFE, 0x52]
}

/// A serial character LCD (20x4 by default) speaking the Matrix Orbital command set.
///
/// On (re)open the display is set up with: clear screen, line wrap off, auto-scroll off (every row is placed
/// with its own cursor command, and the last cell of the last row must not scroll the screen), underline and
/// block cursor off, optional contrast, backlight on. ``show(_:)`` then sends, for every row that differs from the
/// last frame shown, FE 47 01 row followed by the whole row.
///
/// Limits of the hardware, by design:
/// - The HD44780 character ROM holds ASCII (and some katakana), no CJK: every character outside printable ASCII
///   (0x20 ... 0x7E) is sent as `?`, and the right half of a wide character as a space. ``geometry`` reports
///   `wideGlyphs: false`, so the UI should not lay out Chinese text for this display.
/// - There is no inverse video: cells marked ``CharacterGrid/Cell/inverse`` are shown as plain characters.
///
/// On a write failure the driver closes the port and forgets what the display shows, so the next frame reopens the
/// device (replugged, or back from a power cut that blanked it) and redraws every row.
public final class SerialCharacterLCD: DisplayDevice {
    /// The device path.
    public let path: String
    /// The line settings (LCDproc's MtxOrb default: 19200 8N1).
    public let serialConfiguration: SerialConfiguration
    /// Columns of the display.
    public let columns: Int
    /// Rows of the display.
    public let rows: Int
    /// Contrast sent at setup, `nil` to leave the display's stored value.
    public let contrast: UInt8?
    /// How long a write may wait for room before failing.
    public let stallTimeoutMilliseconds: Int32

    private var port: SerialPort?
    /// The rows on the display, as sent; `nil` when unknown (before the first frame, after an error).
    private var shownRows: [[UInt8]]?

    /// Creates a display driver; nothing is opened until the first frame.
    ///
    /// - Parameters:
    ///   - path: the tty.
    ///   - serialConfiguration: the line settings.
    ///   - columns: display width in characters, 1 ... 255.
    ///   - rows: display height in characters, 1 ... 255.
    ///   - contrast: contrast to set at setup, or `nil`.
    ///   - stallTimeoutMilliseconds: see ``stallTimeoutMilliseconds``.
    public init(
        path: String, serialConfiguration: SerialConfiguration = SerialConfiguration(baudRate: .b19200),
        columns: Int = 20, rows: Int = 4, contrast: UInt8? = nil, stallTimeoutMilliseconds: Int32 = 2000
    ) {
        precondition(
            (1...255).contains(columns) && (1...255).contains(rows), "LCD size \(columns)x\(rows) out of range")
        self.path = path
        self.serialConfiguration = serialConfiguration
        self.columns = columns
        self.rows = rows
        self.contrast = contrast
        self.stallTimeoutMilliseconds = stallTimeoutMilliseconds
    }

    /// A character grid of ``columns`` x ``rows`` without wide glyphs.
    public var geometry: DisplayGeometry { .text(columns: columns, rows: rows, wideGlyphs: false) }

    /// The bytes sent when the port is (re)opened, before the first frame.
    public var setupSequence: [UInt8] {
        var bytes = MatrixOrbitalCommand.clearScreen
        bytes += MatrixOrbitalCommand.lineWrapOff
        bytes += MatrixOrbitalCommand.autoScrollOff
        bytes += MatrixOrbitalCommand.underlineCursorOff
        bytes += MatrixOrbitalCommand.blockCursorOff
        if let contrast { bytes += MatrixOrbitalCommand.contrast(contrast) }
        bytes += MatrixOrbitalCommand.backlightOn(minutes: 0)
        return bytes
    }

    /// Shows `grid`, sending only the rows that changed since the last frame.
    ///
    /// A grid of another size is clipped or padded with blanks to the display.
    ///
    /// - Throws: ``SerialError`` (open or write errors). The next call redraws everything.
    public func show(_ grid: CharacterGrid) throws {
        let frame = (0..<rows).map { Self.rowBytes(of: grid, row: $0, columns: columns) }
        do {
            var bytes: [UInt8] = []
            if port == nil {
                port = try SerialPort(path: path, configuration: serialConfiguration)
                shownRows = nil
                bytes += setupSequence
            }
            for row in 0..<rows where shownRows?[row] != frame[row] {
                bytes += MatrixOrbitalCommand.setCursor(column: 1, row: row + 1)
                bytes += frame[row]
            }
            if !bytes.isEmpty {
                // Force-unwrap: opened above if it was nil.
                try port!.writeAll(bytes, stallTimeoutMilliseconds: stallTimeoutMilliseconds)
            }
            shownRows = frame
        } catch {
            port = nil
            shownRows = nil
            throw error
        }
    }

    /// Closes the port; the next frame reopens it and redraws everything.
    public func close() {
        port = nil
        shownRows = nil
    }

    /// One display row as bytes: printable ASCII as itself, anything else as `?`, the right half of a wide
    /// character and cells outside the grid as a space. 0xFE (the command prefix) can therefore never be sent.
    static func rowBytes(of grid: CharacterGrid, row: Int, columns: Int) -> [UInt8] {
        (0..<columns).map { column in
            guard row < grid.rows, column < grid.columns else { return 0x20 }
            guard let scalar = grid[column, row].scalar else { return 0x20 }
            return (0x20...0x7E).contains(scalar.value) ? UInt8(scalar.value) : 0x3F
        }
    }
}

@available(*, unavailable, message: "a SerialCharacterLCD owns its port and is used from one thread")
extension SerialCharacterLCD: Sendable {}
