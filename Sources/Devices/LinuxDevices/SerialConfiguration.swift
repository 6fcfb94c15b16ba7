#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a serial line is set up: speed, character format and flow control (termios(3)).
///
/// A board profile names these values ("115200 8N1, RTS/CTS"); ``SerialPort`` turns them into a raw-mode
/// `struct termios`, applies it and reads it back.
public struct SerialConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// A line speed from the fixed set every Linux UART driver knows (`B1200` ... `B921600`, termios(3),
    /// `<bits/termios-baud.h>`). The raw value is bits per second.
    public enum BaudRate: Int, Sendable, CaseIterable {
        case b1200 = 1200, b2400 = 2400, b4800 = 4800, b9600 = 9600, b19200 = 19200, b38400 = 38400
        case b57600 = 57600, b115200 = 115_200, b230400 = 230_400, b460800 = 460_800, b921600 = 921_600

        /// The termios speed constant (`B9600` ...) for `cfsetispeed(3)` / `cfsetospeed(3)`.
        var speed: speed_t {
            switch self {
            case .b1200: speed_t(B1200)
            case .b2400: speed_t(B2400)
            case .b4800: speed_t(B4800)
            case .b9600: speed_t(B9600)
            case .b19200: speed_t(B19200)
            case .b38400: speed_t(B38400)
            case .b57600: speed_t(B57600)
            case .b115200: speed_t(B115200)
            case .b230400: speed_t(B230400)
            case .b460800: speed_t(B460800)
            case .b921600: speed_t(B921600)
            }
        }

        /// The rate a termios speed constant stands for, `nil` for speeds outside the set.
        init?(speed: speed_t) {
            guard let rate = Self.allCases.first(where: { $0.speed == speed }) else { return nil }
            self = rate
        }
    }

    /// Data bits per character (`CS7` / `CS8`).
    public enum DataBits: Int, Sendable, CaseIterable {
        case seven = 7, eight = 8
    }

    /// The parity bit (`PARENB`, `PARODD`).
    public enum Parity: Sendable, CaseIterable {
        case none, even, odd
    }

    /// Stop bits per character (`CSTOPB` set for two).
    public enum StopBits: Int, Sendable, CaseIterable {
        case one = 1, two = 2
    }

    /// Flow control: none, hardware (`CRTSCTS`), or software (`IXON | IXOFF`, which reserves bytes 0x11 / 0x13).
    public enum FlowControl: Sendable, CaseIterable {
        case none, rtsCts, xonXoff
    }

    /// Line speed.
    public var baudRate: BaudRate
    /// Data bits per character.
    public var dataBits: DataBits
    /// Parity.
    public var parity: Parity
    /// Stop bits.
    public var stopBits: StopBits
    /// Flow control.
    public var flowControl: FlowControl

    /// Creates a configuration; the defaults are 115200 8N1 without flow control.
    public init(
        baudRate: BaudRate = .b115200, dataBits: DataBits = .eight, parity: Parity = .none,
        stopBits: StopBits = .one, flowControl: FlowControl = .none
    ) {
        self.baudRate = baudRate
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
        self.flowControl = flowControl
    }

    /// "9600 8N1", "115200 7E2 RTS/CTS".
    public var description: String {
        let parityLetter = switch parity {
        case .none: "N"
        case .even: "E"
        case .odd: "O"
        }
        let flow = switch flowControl {
        case .none: ""
        case .rtsCts: " RTS/CTS"
        case .xonXoff: " XON/XOFF"
        }
        return "\(baudRate.rawValue) \(dataBits.rawValue)\(parityLetter)\(stopBits.rawValue)\(flow)"
    }

    // MARK: termios mapping

    // The flag constants import with mixed C types (Int32 / UInt32), so each is converted on its own.
    private static let cflagMask: tcflag_t =
        tcflag_t(CSIZE) | tcflag_t(PARENB) | tcflag_t(PARODD) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS)
        | tcflag_t(CLOCAL) | tcflag_t(CREAD)
    private static let iflagMask: tcflag_t = tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(IXANY) | tcflag_t(INPCK)

    /// Turns `attributes` (as read by `tcgetattr(3)`) into a raw-mode line with this configuration.
    ///
    /// `cfmakeraw(3)` clears `ICANON`, `ECHO`, `ISIG`, `OPOST`, `ICRNL`, `ISTRIP`... so every byte passes
    /// unchanged in both directions. `CLOCAL` ignores the modem-control lines (a scanner has no DCD), `CREAD`
    /// enables the receiver. `VMIN = 0`, `VTIME = 0`: reads never wait in the kernel; waiting is done by
    /// `poll(2)` with a timeout and a stop signal (termios(3), "MIN == 0, TIME == 0").
    func apply(to attributes: inout termios) {
        cfmakeraw(&attributes)
        attributes.c_cflag &= ~Self.cflagMask
        attributes.c_cflag |= tcflag_t(CLOCAL) | tcflag_t(CREAD)
        attributes.c_cflag |= dataBits == .seven ? tcflag_t(CS7) : tcflag_t(CS8)
        switch parity {
        case .none: break
        case .even: attributes.c_cflag |= tcflag_t(PARENB)
        case .odd: attributes.c_cflag |= tcflag_t(PARENB) | tcflag_t(PARODD)
        }
        if stopBits == .two { attributes.c_cflag |= tcflag_t(CSTOPB) }
        attributes.c_iflag &= ~Self.iflagMask
        // INPCK: check parity on input. Without IGNPAR/PARMRK a byte with a parity error reads as 0x00, which
        // the line framer then passes into a line that fails validation upstream instead of vanishing silently.
        if parity != .none { attributes.c_iflag |= tcflag_t(INPCK) }
        switch flowControl {
        case .none: break
        case .rtsCts: attributes.c_cflag |= tcflag_t(CRTSCTS)
        case .xonXoff: attributes.c_iflag |= tcflag_t(IXON) | tcflag_t(IXOFF)
        }
        withUnsafeMutableBytes(of: &attributes.c_cc) { cc in  // c_cc is a tuple in Swift
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        // cfset*speed only fail for a speed outside B0...B4000000; every BaudRate is inside.
        _ = cfsetispeed(&attributes, baudRate.speed)
        _ = cfsetospeed(&attributes, baudRate.speed)
    }

    /// Whether `actual` (read back after `tcsetattr(3)`) holds what ``apply(to:)`` asked for.
    ///
    /// `tcsetattr` returns success when *any* of the changes took effect (termios(3), RETURN VALUE), so
    /// the only way to know a driver took a speed or a flag is to read the settings back and compare.
    static func isApplied(in actual: termios, wanted: termios) -> Bool {
        var actual = actual
        var wanted = wanted
        guard cfgetispeed(&actual) == cfgetispeed(&wanted), cfgetospeed(&actual) == cfgetospeed(&wanted) else {
            return false
        }
        let rawLocal = tcflag_t(ICANON) | tcflag_t(ECHO) | tcflag_t(ISIG) | tcflag_t(IEXTEN)
        guard actual.c_cflag & Self.cflagMask == wanted.c_cflag & Self.cflagMask,
            actual.c_iflag & Self.iflagMask == wanted.c_iflag & Self.iflagMask,
            actual.c_lflag & rawLocal == 0,
            actual.c_oflag & tcflag_t(OPOST) == 0
        else { return false }
        let (vmin, vtime) = withUnsafeBytes(of: actual.c_cc) { ($0[Int(VMIN)], $0[Int(VTIME)]) }
        return vmin == 0 && vtime == 0
    }

    /// Reads a configuration back out of termios attributes; `nil` when they hold something this type cannot
    /// express (a speed outside the set, 5 or 6 data bits, different input and output speeds).
    init?(attributes: termios) {
        var attributes = attributes
        let input = cfgetispeed(&attributes)
        let output = cfgetospeed(&attributes)
        guard input == output, let rate = BaudRate(speed: output) else { return nil }
        let size = attributes.c_cflag & tcflag_t(CSIZE)
        let bits: DataBits
        switch size {
        case tcflag_t(CS7): bits = .seven
        case tcflag_t(CS8): bits = .eight
        default: return nil
        }
        let parity: Parity =
            attributes.c_cflag & tcflag_t(PARENB) == 0
            ? .none : (attributes.c_cflag & tcflag_t(PARODD) == 0 ? .even : .odd)
        let stop: StopBits = attributes.c_cflag & tcflag_t(CSTOPB) == 0 ? .one : .two
        let flow: FlowControl
        if attributes.c_cflag & tcflag_t(CRTSCTS) != 0 {
            flow = .rtsCts
        } else if attributes.c_iflag & (tcflag_t(IXON) | tcflag_t(IXOFF)) != 0 {
            flow = .xonXoff
        } else {
            flow = .none
        }
        self.init(baudRate: rate, dataBits: bits, parity: parity, stopBits: stop, flowControl: flow)
    }
}
