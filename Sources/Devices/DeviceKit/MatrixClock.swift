import Synchronization

/// The clock a ``MatrixKeyScanner`` runs on: monotonic time and a blocking sleep, injected so that tests pin time.
///
/// `LinuxDevices.MonotonicMatrixClock` reads `CLOCK_MONOTONIC` and sleeps with `nanosleep`;
/// ``SimulatedMatrixClock`` keeps virtual time that only moves when the scanner sleeps or a simulated chip waits.
public protocol MatrixClock: Sendable {
    /// Milliseconds since an arbitrary fixed point; never goes backwards.
    var monotonicMilliseconds: Int64 { get }

    /// Blocks the calling thread for at least `microseconds`.
    /// - Parameter microseconds: How long to sleep; zero or less returns at once.
    func sleep(microseconds: Int)
}

/// Virtual time for tests and the simulator: it starts at a fixed instant and moves only through
/// ``sleep(microseconds:)`` and ``advance(toMicroseconds:)``, never by itself.
///
/// A scanner driven by this clock and a ``SimulatedGPIOChip`` runs seconds of keypad activity in microseconds of
/// real time, with exactly reproducible timing.
public final class SimulatedMatrixClock: MatrixClock {
    private let now: Atomic<Int64>

    /// Creates a clock reading `startMilliseconds`.
    /// - Parameter startMilliseconds: The first reading.
    public init(startMilliseconds: Int64 = 0) {
        now = Atomic(startMilliseconds * 1000)
    }

    /// The current virtual time in microseconds.
    public var monotonicMicroseconds: Int64 { now.load(ordering: .acquiring) }

    /// The current virtual time in milliseconds (rounded down).
    public var monotonicMilliseconds: Int64 { monotonicMicroseconds / 1000 }

    /// Moves virtual time forward by `microseconds`; returns at once in real time.
    /// - Parameter microseconds: How far to move; zero or less does nothing.
    public func sleep(microseconds: Int) {
        guard microseconds > 0 else { return }
        now.add(Int64(microseconds), ordering: .acquiringAndReleasing)
    }

    /// Moves virtual time forward to `microseconds`; an earlier instant leaves the clock where it is.
    /// - Parameter microseconds: The instant to move to.
    public func advance(toMicroseconds microseconds: Int64) {
        var current = now.load(ordering: .acquiring)
        while current < microseconds {
            let (exchanged, original) = now.compareExchange(
                expected: current, desired: microseconds, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }
}
