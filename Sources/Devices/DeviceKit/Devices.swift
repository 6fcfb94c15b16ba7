/// Protocols every device driver implements. The terminal application talks only to these; a board profile decides
/// which driver stands behind each one (libgpiod, evdev, a serial port, a framebuffer, the simulator, a test).
///
/// Input devices deliver events through an `AsyncThrowingStream`. A driver that must block in a system call does so
/// on a thread of its own (see `LinuxDevices.DeviceThread`), never on Swift's cooperative pool. The stream ends with
/// an error when the device fails (unplugged, refused) and plainly when it is closed.

/// A keypad: a GPIO matrix, an evdev input device, the simulator's keyboard mapping.
public protocol KeypadDevice: AnyObject, Sendable {
    /// Key presses and releases, until the device is closed or fails.
    func keyEvents() -> AsyncThrowingStream<KeyEvent, any Error>
}

/// A QR / barcode scanner: a serial line reader or an evdev keyboard wedge.
public protocol CodeScannerDevice: AnyObject, Sendable {
    /// Each scanned code, without its line suffix.
    func codes() -> AsyncThrowingStream<String, any Error>
}

/// What a display can show: a grid of character cells, or pixels.
///
/// The UI always lays screens out on a grid of cells; a pixel display draws each cell with an 8x16 bitmap font
/// (16x16 for wide CJK glyphs), scaled by ``scale``.
public enum DisplayGeometry: Sendable, Equatable {
    /// A character display such as a 20x4 LCD. `wideGlyphs` tells whether it can show CJK (double-width) glyphs.
    case text(columns: Int, rows: Int, wideGlyphs: Bool)
    /// A pixel display; `scale` multiplies each font pixel.
    case pixels(width: Int, height: Int, scale: Int)

    /// The character grid the UI lays out on.
    public var gridSize: (columns: Int, rows: Int) {
        switch self {
        case .text(let columns, let rows, _): (columns, rows)
        case .pixels(let width, let height, let scale): (width / (8 * scale), height / (16 * scale))
        }
    }

    /// Whether Chinese (wide) glyphs can be shown.
    public var canShowWideGlyphs: Bool {
        switch self {
        case .text(_, _, let wide): wide
        case .pixels: true
        }
    }
}

/// A display: the framebuffer, a serial character LCD, the ANSI terminal of the simulator, a PNG snapshot.
public protocol DisplayDevice: AnyObject {
    /// What the display can show; fixed for the life of the driver.
    var geometry: DisplayGeometry { get }
    /// Shows a whole frame. Throws when the device fails; the caller may retry with the next frame.
    func show(_ grid: CharacterGrid) throws
}

/// A receipt printer (ESC/POS over serial, or a text file on the sim board).
public protocol ReceiptPrinterDevice: AnyObject {
    /// Prints one document and cuts the paper.
    func print(_ document: PrintDocument) throws
}

/// One document for a receipt printer: lines with a style, and optional QR codes.
public struct PrintDocument: Sendable, Equatable {
    public enum Alignment: Sendable, Equatable { case left, center, right }
    public enum Element: Sendable, Equatable {
        /// A line of text. `emphasis` is bold; `doubleSize` doubles width and height.
        case text(String, alignment: Alignment = .left, emphasis: Bool = false, doubleSize: Bool = false)
        /// A QR code holding `payload` (printed with the printer's own QR command).
        case qrCode(String)
        /// Blank paper, in lines.
        case feed(Int)
    }
    public var elements: [Element]
    public init(_ elements: [Element] = []) { self.elements = elements }
}
