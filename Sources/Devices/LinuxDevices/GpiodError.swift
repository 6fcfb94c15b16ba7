public import SystemPackage

/// A failure of the libgpiod keypad driver, naming the chip and, where one is at fault, the line offset.
///
/// Equality compares ``code`` only, so tests match on what failed, not on message text.
public struct GpiodError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed.
    public enum Code: Sendable, Equatable {
        /// The board profile's matrix does not fit the lines (counts differ, an offset repeats, too many lines).
        case invalidConfiguration
        /// `gpiod_chip_open` failed: no such chip, no permission, not a GPIO character device.
        case openChip
        /// Requesting lines failed: an offset beyond the chip, or a line in use by another consumer (`EBUSY`).
        case requestLines
        /// Setting the row outputs failed.
        case setValues
        /// Reading the column inputs failed.
        case getValues
        /// Waiting for or reading edge events failed.
        case edgeEvents
    }

    /// What failed.
    public let code: Code
    /// The chip's path, as configured.
    public let chipPath: String
    /// The line offset at fault, when one is known.
    public let offset: UInt32?
    /// The system error, when there is one.
    public let errno: Errno?
    /// A human explanation of the failure.
    public let reason: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: What failed.
    ///   - chipPath: The chip's path.
    ///   - offset: The line at fault, if known.
    ///   - errno: The system error, if any.
    ///   - reason: A human explanation.
    public init(_ code: Code, chipPath: String, offset: UInt32? = nil, errno: Errno? = nil, reason: String) {
        self.code = code
        self.chipPath = chipPath
        self.offset = offset
        self.errno = errno
        self.reason = reason
    }

    /// "GPIO chip /dev/gpiochip0, line 5: reason (errno text)".
    public var description: String {
        var text = "GPIO chip \(chipPath)"
        if let offset { text += ", line \(offset)" }
        text += ": \(reason)"
        if let errno { text += " (\(errno))" }
        return text
    }

    /// Compares ``code`` only.
    public static func == (lhs: GpiodError, rhs: GpiodError) -> Bool { lhs.code == rhs.code }
}
