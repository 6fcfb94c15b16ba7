#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Time for the runtime: a monotonic clock for deadlines and the local wall-clock time for the idle screen.
public protocol TerminalClock: Sendable {
    /// Milliseconds on a monotonic clock (CLOCK_MONOTONIC).
    func monotonicMilliseconds() -> Int64
    /// Local time of day as "HH:MM".
    func wallClockText() -> String
    /// Local date and time, for transaction records and the EMV kernel ('9A', '9F21').
    func localDateTime() -> LocalDateTime
    /// Seconds since the Unix epoch (UTC), for records.
    func unixTime() -> Int64
}

/// A local calendar date and time of day.
public struct LocalDateTime: Sendable, Equatable {
    public var year: Int, month: Int, day: Int
    public var hour: Int, minute: Int, second: Int
    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    /// "YYYY-MM-DD HH:MM:SS".
    public var text: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute)):\(two(second))"
    }
}

/// The system's clocks.
public struct SystemClock: TerminalClock {
    public init() {}

    public func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func wallClockText() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return two(parts.tm_hour) + ":" + two(parts.tm_min)
    }

    public func localDateTime() -> LocalDateTime {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return LocalDateTime(
            year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday), hour: Int(parts.tm_hour),
            minute: Int(parts.tm_min), second: Int(parts.tm_sec))
    }

    public func unixTime() -> Int64 { Int64(time(nil)) }
}

/// A system monotonic clock with a fixed wall-clock text, for reproducible headless runs: the date is fixed too
/// (2026-11-27, or the one given as "YYYY-MM-DD HH:MM"), and the seconds are zero.
public struct FixedWallClock: TerminalClock {
    public var text: String
    private var date = (year: 2026, month: 11, day: 27)

    /// `text` is "HH:MM" or "YYYY-MM-DD HH:MM".
    public init(text: String) {
        let parts = text.split(separator: " ")
        if parts.count == 2 {
            let ymd = parts[0].split(separator: "-").compactMap { Int($0) }
            if ymd.count == 3 { date = (ymd[0], ymd[1], ymd[2]) }
            self.text = String(parts[1])
        } else {
            self.text = text
        }
    }

    public func monotonicMilliseconds() -> Int64 { SystemClock().monotonicMilliseconds() }
    public func wallClockText() -> String { text }

    public func localDateTime() -> LocalDateTime {
        let hm = text.split(separator: ":").compactMap { Int($0) }
        return LocalDateTime(year: date.year, month: date.month, day: date.day, hour: hm.first ?? 12, minute: hm.count > 1 ? hm[1] : 0, second: 0)
    }

    public func unixTime() -> Int64 { SystemClock().unixTime() }
}
