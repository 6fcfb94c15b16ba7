public import SystemPackage

/// A failure of an evdev input driver (``EvdevKeypad``, ``EvdevCodeScanner``), naming the device.
///
/// Equality compares ``code`` only. No scanned content is ever put in an error.
public struct EvdevError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed.
    public enum Code: Sendable, Equatable {
        /// The device node could not be opened.
        case open
        /// `EVIOCGRAB` failed on an evdev node (another process holds the grab: `EBUSY`).
        case grab
        /// Waiting for or reading events failed.
        case read
        /// The device went away: `read` returned `ENODEV`, `EIO` or end of file (unplugged, driver unbound).
        case deviceVanished
        /// A scanned line reached the length cap with no Enter (a scanner stuck or misconfigured); the rest of that
        /// line is dropped.
        case codeTooLong
    }

    /// What failed.
    public let code: Code
    /// The device's path, or the name given with a descriptor.
    public let device: String
    /// The system error, when there is one.
    public let errno: Errno?
    /// A human explanation of the failure.
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, device: String, errno: Errno? = nil, reason: String) {
        self.code = code
        self.device = device
        self.errno = errno
        self.reason = reason
    }

    /// "input device /dev/input/event2: reason (errno text)".
    public var description: String {
        var text = "input device \(device): \(reason)"
        if let errno { text += " (\(errno))" }
        return text
    }

    /// Compares ``code`` only.
    public static func == (lhs: EvdevError, rhs: EvdevError) -> Bool { lhs.code == rhs.code }
}
