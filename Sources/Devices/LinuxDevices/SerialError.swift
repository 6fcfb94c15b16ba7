public import SystemPackage

/// The one error of the serial drivers (port, line framing, scanner, ESC/POS printer, character LCD).
///
/// It carries a ``Code``, the device path when there is one, and the `errno` of the failing system call. It never
/// carries data bytes: a scanned code or a receipt line may hold a PAN or an amount, so neither goes into an error.
/// Equality compares the ``code`` only; tests assert on codes, never on ``description``.
public struct SerialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable, Hashable {
        /// `open(2)` of the tty failed (no such device, permission denied, busy).
        case openFailed
        /// The path is not a terminal (`tcgetattr(3)` failed with `ENOTTY`).
        case notATerminal
        /// A termios call (`tcgetattr`, `tcsetattr`, `tcflush`, `TIOCEXCL`) failed.
        case configurationFailed
        /// The driver accepted `tcsetattr(3)` but reads back different settings (an unsupported speed or flag).
        case configurationRejected
        /// The device went away: `EIO`, `ENXIO`, `ENODEV`, `POLLHUP`, or end of file on a hung-up tty.
        case vanished
        /// `read(2)` or `poll(2)` failed for another reason.
        case readFailed
        /// `write(2)` failed for another reason.
        case writeFailed
        /// A write made no progress within its stall timeout (flow control held, printer offline).
        case timedOut
        /// A line exceeded the frame-size cap; the framer skips to the next suffix.
        case lineTooLong
        /// A line was not valid UTF-8; the framer drops it and continues.
        case invalidUTF8
        /// `iconv_open(3)` could not open the text converter (gconv module missing).
        case encoderUnavailable
        /// A QR payload is empty or longer than `GS ( k` can store (1 ... 7089 bytes).
        case qrPayloadOutOfRange
        /// The reader thread could not be started (`pthread_create`) or its stop signal created (`eventfd`).
        case threadFailed

        /// A short phrase for ``SerialError/description``.
        public var summary: String {
            switch self {
            case .openFailed: "cannot open serial device"
            case .notATerminal: "not a terminal device"
            case .configurationFailed: "cannot configure serial device"
            case .configurationRejected: "serial device rejected the configuration"
            case .vanished: "device vanished"
            case .readFailed: "read failed"
            case .writeFailed: "write failed"
            case .timedOut: "write timed out"
            case .lineTooLong: "line too long"
            case .invalidUTF8: "line is not valid UTF-8"
            case .encoderUnavailable: "text encoder unavailable"
            case .qrPayloadOutOfRange: "QR payload size out of range"
            case .threadFailed: "cannot start reader thread"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// The device path (as given to ``SerialPort``), `nil` for errors of pure code (framing, encoding).
    public let path: String?
    /// The `errno` of the failing system call, if one failed.
    public let errno: Errno?
    /// Where the error was raised (`#fileID`), for diagnostics.
    public let file: String
    /// Where the error was raised (`#line`), for diagnostics.
    public let line: Int

    /// Creates an error; prefer the static factories, which capture the source location.
    public init(
        _ code: Code, path: String? = nil, errno: Errno? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.path = path
        self.errno = errno
        self.file = file
        self.line = line
    }

    /// "device vanished: /dev/ttyUSB0 (errno 5)".
    public var description: String {
        var text = code.summary
        if let path { text += ": \(path)" }
        if let errno { text += " (errno \(errno.rawValue): \(errno))" }
        return text
    }

    /// Equality compares the code only (where an error was raised is not part of what it means).
    public static func == (lhs: SerialError, rhs: SerialError) -> Bool { lhs.code == rhs.code }

    /// The device went away.
    static func vanished(_ path: String, errno: Errno? = nil, file: String = #fileID, line: Int = #line) -> Self {
        SerialError(.vanished, path: path, errno: errno, file: file, line: line)
    }

    /// Whether an `errno` from read/write/ioctl means the device is gone rather than a transient failure:
    /// `EIO` (a hung-up tty, a USB adapter pulled out), `ENXIO` (no such device or address, a removed
    /// tty), `ENODEV` (the driver unbound), `EPIPE` (the other end of a pty closed).
    static func meansVanished(_ errno: Errno) -> Bool {
        errno == .ioError || errno == .noSuchAddressOrDevice || errno == .operationNotSupportedByDevice
            || errno == .brokenPipe
    }
}
