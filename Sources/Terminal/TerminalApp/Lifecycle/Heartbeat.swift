import Synchronization

/// Proof of life from the terminal's main loop, read by ``WatchdogService``.
///
/// The main loop calls ``beat()`` each time it handles an event and each time it wakes from idling, so a fresh
/// heartbeat means "the loop is turning". A loop stuck in a deadlock, an endless retry or a blocking call stops
/// beating; the watchdog then stops pinging systemd, which restarts the service after `WatchdogSec=`.
///
/// The heartbeat carries its clock so tests can inject one; production code uses ``init()``
/// (`ContinuousClock`, i.e. `CLOCK_BOOTTIME` on Linux, which keeps counting through suspend).
public final class Heartbeat<C: Clock>: Sendable where C.Duration == Duration {
    /// The clock beats are stamped with (and the watchdog sleeps on).
    public let clock: C
    private let last: Mutex<C.Instant>

    /// A heartbeat stamped by `clock`; it starts fresh (as if it had just beaten).
    /// - Parameter clock: the clock to read.
    public init(clock: C) {
        self.clock = clock
        self.last = Mutex(clock.now)
    }

    /// Records a beat now. Cheap (one uncontended lock); call it freely.
    public func beat() {
        beat(at: clock.now)
    }

    /// Records a beat at `instant`. A beat older than the latest one is ignored, so the heartbeat never ages
    /// backwards when several tasks beat.
    /// - Parameter instant: when the loop was last alive.
    public func beat(at instant: C.Instant) {
        last.withLock { if instant > $0 { $0 = instant } }
    }

    /// The instant of the latest beat.
    public var lastBeat: C.Instant { last.withLock { $0 } }

    /// How long ago the latest beat was, seen from `now` (zero if `now` is before it).
    /// - Parameter now: the current instant of ``clock``.
    /// - Returns: the age of the heartbeat.
    public func age(now: C.Instant) -> Duration {
        let age = lastBeat.duration(to: now)
        return age < .zero ? .zero : age
    }

    /// Whether the latest beat is at most `maxAge` old at `now`.
    /// - Parameters:
    ///   - now: the current instant of ``clock``.
    ///   - maxAge: the oldest beat that still counts as alive.
    /// - Returns: `true` while the main loop is considered responsive.
    public func isHealthy(now: C.Instant, maxAge: Duration) -> Bool {
        age(now: now) <= maxAge
    }
}

extension Heartbeat where C == ContinuousClock {
    /// A heartbeat on `ContinuousClock`, for production.
    public convenience init() {
        self.init(clock: ContinuousClock())
    }
}
