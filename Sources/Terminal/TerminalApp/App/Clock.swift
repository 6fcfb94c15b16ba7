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
}

/// A system monotonic clock with a fixed wall-clock text, for reproducible headless runs.
public struct FixedWallClock: TerminalClock {
    public var text: String
    public init(text: String) { self.text = text }
    public func monotonicMilliseconds() -> Int64 { SystemClock().monotonicMilliseconds() }
    public func wallClockText() -> String { text }
}
