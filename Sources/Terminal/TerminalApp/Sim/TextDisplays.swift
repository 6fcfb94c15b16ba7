#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import DeviceKit

/// Writes all of `bytes` to a file descriptor, retrying EINTR and partial writes.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(RuntimeError) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            throw RuntimeError(.device, "write to fd \(fd) failed: \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}

/// Headless mode's display: each new screen as plain text on stdout, followed by a line holding only `----`.
/// Each screen printed is also recorded in `screens`, where headless input's `UNTIL <text>` looks for it.
public final class HeadlessDisplay: DisplayDevice {
    public let geometry: DisplayGeometry
    private let fd: Int32
    private let screens: HeadlessScreens?
    private var last: CharacterGrid?

    public init(geometry: DisplayGeometry, fd: Int32 = 1, screens: HeadlessScreens? = nil) {
        self.geometry = geometry
        self.fd = fd
        self.screens = screens
    }

    public func show(_ grid: CharacterGrid) throws {
        guard grid != last else { return }
        last = grid
        let text = grid.plainText
        try writeAll(fd, Array((text + "\n----\n").utf8))
        screens?.record(text)
    }
}

/// The simulator's display in a terminal window: the board display's exact cell geometry in a frame, inverse cells
/// in reverse video, and a status area below it (what the function keys present, the link, hints).
public final class AnsiDisplay: DisplayDevice {
    public let geometry: DisplayGeometry
    private let fd: Int32
    private var lastGrid: CharacterGrid?
    /// Lines shown under the display (simulator help and selection).
    public var statusLines: [String] = [] {
        didSet { if statusLines != oldValue, let grid = lastGrid { try? draw(grid) } }
    }

    public init(geometry: DisplayGeometry, fd: Int32 = 1) {
        self.geometry = geometry
        self.fd = fd
    }

    /// Switches the window to the alternate screen and hides the cursor.
    public func begin() throws {
        try writeAll(fd, Array("\u{1B}[?1049h\u{1B}[?25l\u{1B}[2J".utf8))
    }

    /// Restores the window.
    public func end() {
        try? writeAll(fd, Array("\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l".utf8))
    }

    public func show(_ grid: CharacterGrid) throws {
        guard grid != lastGrid else { return }
        lastGrid = grid
        try draw(grid)
    }

    private func draw(_ grid: CharacterGrid) throws {
        var out = "\u{1B}[H"
        let border = String(repeating: "─", count: grid.columns)
        out += "┌" + border + "┐\u{1B}[K\r\n"
        for row in 0..<grid.rows {
            out += "│"
            var inverse = false
            for column in 0..<grid.columns {
                let cell = grid[column, row]
                guard let scalar = cell.scalar else { continue }  // right half of a wide character
                if cell.inverse != inverse {
                    out += cell.inverse ? "\u{1B}[7m" : "\u{1B}[27m"
                    inverse = cell.inverse
                }
                out.unicodeScalars.append(scalar.value < 0x20 ? " " : scalar)
            }
            if inverse { out += "\u{1B}[27m" }
            out += "│\u{1B}[K\r\n"
        }
        out += "└" + border + "┘\u{1B}[K\r\n"
        if let overlay = grid.qrOverlay {
            // The QR code below the frame at one character a module across and two down (half blocks), bright
            // white on black whatever the window's colours, so a phone camera reads it off the screen.
            for line in overlay.matrix.halfBlockLines(quietZone: 2) {
                out += "\u{1B}[97;40m" + line + "\u{1B}[0m\u{1B}[K\r\n"
            }
        }
        for line in statusLines { out += line + "\u{1B}[K\r\n" }
        out += "\u{1B}[J"
        try writeAll(fd, Array(out.utf8))
    }
}

/// Puts a terminal into raw mode (no echo, no line buffering, no signals from keys) and restores it.
public final class RawTerminalMode {
    private let fd: Int32
    private var saved = termios()
    private var active = false

    public init(fd: Int32 = 0) throws(RuntimeError) {
        self.fd = fd
        guard isatty(fd) == 1 else {
            throw RuntimeError(.device, "the simulator needs a terminal window on standard input; use --headless to drive it from a pipe")
        }
        guard tcgetattr(fd, &saved) == 0 else { throw RuntimeError(.device, "tcgetattr: \(String(cString: strerror(errno)))") }
        var raw = saved
        cfmakeraw(&raw)
        raw.c_oflag |= tcflag_t(OPOST)  // keep "\n" handling for anything that prints
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else { throw RuntimeError(.device, "tcsetattr: \(String(cString: strerror(errno)))") }
        active = true
    }

    public func restore() {
        guard active else { return }
        active = false
        tcsetattr(fd, TCSANOW, &saved)
    }

    deinit { restore() }
}
