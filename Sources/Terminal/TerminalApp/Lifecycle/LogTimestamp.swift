#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A wall-clock instant for log lines, formatted as UTC ISO 8601 without Foundation.
public struct LogTimestamp: Sendable, Equatable {
    /// Seconds since the Unix epoch.
    public var seconds: Int64
    /// Nanoseconds within the second, `0..<1_000_000_000`.
    public var nanoseconds: Int32

    /// - Parameters:
    ///   - seconds: seconds since the Unix epoch.
    ///   - nanoseconds: nanoseconds within the second.
    public init(seconds: Int64, nanoseconds: Int32) {
        precondition((0..<1_000_000_000).contains(nanoseconds), "nanoseconds out of range: \(nanoseconds)")
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The current time from `clock_gettime(CLOCK_REALTIME)` (clock_gettime(2)).
    public static func now() -> LogTimestamp {
        var spec = timespec()
        // clock_gettime(CLOCK_REALTIME) cannot fail with a valid pointer and clock id (clock_gettime(2), ERRORS).
        _ = clock_gettime(CLOCK_REALTIME, &spec)
        return LogTimestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int32(spec.tv_nsec))
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (RFC 3339 / ISO 8601, UTC, milliseconds), broken down with `gmtime_r(3)`.
    public var iso8601: String {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else {
            // gmtime_r fails only on year overflow (EOVERFLOW); say so rather than print a wrong date.
            return "\(seconds).\(Self.padded(Int(nanoseconds / 1_000_000), width: 3))Z"
        }
        var text = Self.padded(Int(parts.tm_year) + 1900, width: 4)
        text += "-" + Self.padded(Int(parts.tm_mon) + 1, width: 2)
        text += "-" + Self.padded(Int(parts.tm_mday), width: 2)
        text += "T" + Self.padded(Int(parts.tm_hour), width: 2)
        text += ":" + Self.padded(Int(parts.tm_min), width: 2)
        text += ":" + Self.padded(Int(parts.tm_sec), width: 2)
        text += "." + Self.padded(Int(nanoseconds / 1_000_000), width: 3) + "Z"
        return text
    }

    private static func padded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
