#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import DeviceKit

/// The system's monotonic clock for the keypad scanner: `clock_gettime(CLOCK_MONOTONIC)` and `nanosleep`.
public struct MonotonicMatrixClock: MatrixClock {
    /// Creates the clock.
    public init() {}

    /// `CLOCK_MONOTONIC` in milliseconds (clock_gettime(2); it cannot fail for this clock id).
    public var monotonicMilliseconds: Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Sleeps with `nanosleep`, resuming with the remaining time after a signal (EINTR).
    public func sleep(microseconds: Int) {
        guard microseconds > 0 else { return }
        var request = timespec(tv_sec: microseconds / 1_000_000, tv_nsec: (microseconds % 1_000_000) * 1000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}
