public import Logging
public import ServiceLifecycle

/// Keeps systemd's service watchdog (`WatchdogSec=`) fed while the terminal's main loop is alive.
///
/// Every half of the watchdog interval, as sd_watchdog_enabled(3) recommends, it checks the ``Heartbeat``: if the
/// main loop beat within ``Configuration/maxHeartbeatAge`` it sends `WATCHDOG=1`; if not, it stops pinging and
/// logs once at `critical`, so systemd kills and (with `Restart=on-failure`) restarts the terminal at most
/// `WatchdogSec=` later. If the loop recovers before that, pinging resumes and the recovery is logged once.
/// With ``StalePolicy/trigger`` it sends `WATCHDOG=trigger` instead of waiting out the timeout
/// (balena-os/healthdog-rs#16).
///
/// Put it **first** in the `ServiceGroup`: the group shuts services down in reverse order, so the watchdog keeps
/// pinging while the other services drain, and ends last. It ends on graceful shutdown (through
/// `cancelWhenGracefulShutdown`) and on cancellation; it never throws.
///
/// The heartbeat's age counts from the later of its last beat and the start of ``run()``, so a slow start-up
/// before the group runs is not taken for a stall.
///
/// When `WATCHDOG_USEC` is unset (not run by systemd, or no `WatchdogSec=`), it sends nothing and simply waits for
/// graceful shutdown, so that its early return does not end the whole group.
public struct WatchdogService<C: Clock>: Service where C.Duration == Duration {
    /// What to do when the heartbeat goes stale.
    public enum StalePolicy: Sendable, Equatable {
        /// Stop pinging; systemd acts when `WatchdogSec=` runs out. Tolerates a stall shorter than that.
        case stopPinging
        /// Stop pinging and send `WATCHDOG=trigger`, so systemd acts at once.
        case trigger
    }

    /// Tuning for the watchdog.
    public struct Configuration: Sendable {
        /// The oldest heartbeat that still counts as alive; `nil` means the watchdog interval itself.
        /// The main loop must beat (idle ticks included) more often than this.
        public var maxHeartbeatAge: Duration?
        /// What to do when the heartbeat goes stale.
        public var stalePolicy: StalePolicy

        /// - Parameters:
        ///   - maxHeartbeatAge: the staleness limit (`nil`: the watchdog interval).
        ///   - stalePolicy: the reaction to a stale heartbeat.
        public init(maxHeartbeatAge: Duration? = nil, stalePolicy: StalePolicy = .stopPinging) {
            self.maxHeartbeatAge = maxHeartbeatAge
            self.stalePolicy = stalePolicy
        }
    }

    private let notifier: SystemdNotifier
    private let heartbeat: Heartbeat<C>
    private let interval: Duration?
    private let configuration: Configuration
    private let logger: Logger

    /// A watchdog with an explicit interval.
    /// - Parameters:
    ///   - notifier: where the pings go.
    ///   - heartbeat: the main loop's heartbeat; its clock paces the pings.
    ///   - interval: the systemd watchdog timeout, or `nil` when the watchdog is off.
    ///   - configuration: staleness limit and policy.
    ///   - logger: where stalls, recoveries and notification errors are reported.
    public init(
        notifier: SystemdNotifier, heartbeat: Heartbeat<C>, interval: Duration?,
        configuration: Configuration = Configuration(), logger: Logger
    ) {
        precondition(interval.map { $0 > .zero } ?? true, "watchdog interval must be positive, got \(String(describing: interval))")
        self.notifier = notifier
        self.heartbeat = heartbeat
        self.interval = interval
        self.configuration = configuration
        self.logger = logger
    }

    /// A watchdog whose interval comes from `WATCHDOG_USEC` / `WATCHDOG_PID` in `environment`
    /// (``SystemdNotifier/watchdogInterval(environment:pid:)``). A malformed value is logged and the watchdog stays
    /// off; systemd then restarts us after `WatchdogSec=`, which makes the misconfiguration visible.
    /// - Parameters:
    ///   - notifier: where the pings go.
    ///   - heartbeat: the main loop's heartbeat.
    ///   - environment: the process environment.
    ///   - configuration: staleness limit and policy.
    ///   - logger: where stalls, recoveries and errors are reported.
    public init(
        notifier: SystemdNotifier, heartbeat: Heartbeat<C>, environment: [String: String],
        configuration: Configuration = Configuration(), logger: Logger
    ) {
        var interval: Duration? = nil
        do {
            interval = try SystemdNotifier.watchdogInterval(environment: environment)
        } catch {
            logger.error("systemd watchdog environment is malformed; not pinging", metadata: ["error": "\(error)"])
        }
        self.init(
            notifier: notifier, heartbeat: heartbeat, interval: interval, configuration: configuration,
            logger: logger)
    }

    /// How often a ping is due: half the watchdog interval, or `nil` when the watchdog is off.
    public var pingPeriod: Duration? { interval.map { $0 / 2 } }

    /// Pings until graceful shutdown or cancellation. Never throws.
    public func run() async throws {
        guard let interval, let period = pingPeriod else {
            logger.debug("systemd watchdog is off (no WATCHDOG_USEC)")
            // Returning early would make the ServiceGroup cancel everything: wait for the end instead.
            // CancellationError just means the group is going down.
            try? await gracefulShutdown()
            return
        }
        let maxAge = configuration.maxHeartbeatAge ?? interval
        // Starting counts as a beat: a long start-up (store, devices) before the group runs is not a stall.
        heartbeat.beat()
        logger.info(
            "systemd watchdog on",
            metadata: ["watchdog.interval": "\(interval)", "watchdog.period": "\(period)", "watchdog.maxAge": "\(maxAge)"])
        await cancelWhenGracefulShutdown {
            await self.pingLoop(period: period, maxAge: maxAge)
        }
        logger.debug("systemd watchdog stopped")
    }

    private func pingLoop(period: Duration, maxAge: Duration) async {
        let clock = heartbeat.clock
        var stale = false
        var sendFailing = false
        var deadline = clock.now
        while !Task.isCancelled {
            let now = clock.now
            if heartbeat.isHealthy(now: now, maxAge: maxAge) {
                if stale {
                    stale = false
                    logger.notice("main loop responsive again; resuming watchdog pings")
                }
                send(.watchdog, failing: &sendFailing)
            } else if !stale {
                stale = true
                logger.critical(
                    "main loop stuck; stopping watchdog pings so systemd restarts the terminal",
                    metadata: ["watchdog.heartbeatAge": "\(heartbeat.age(now: now))", "watchdog.maxAge": "\(maxAge)"])
                if configuration.stalePolicy == .trigger {
                    send(.watchdogTrigger, failing: &sendFailing)
                }
            }
            // Pace on absolute deadlines so pings do not drift; after a long pause (SIGSTOP, suspend) restart the
            // schedule from now instead of sending a burst.
            deadline = deadline.advanced(by: period)
            if deadline < now { deadline = now.advanced(by: period) }
            do {
                try await clock.sleep(until: deadline, tolerance: nil)
            } catch {
                return  // cancelled: graceful shutdown or the group's cancellation
            }
        }
    }

    /// Sends `message`; reports the first failure of a run of failures (and the recovery), not every ping.
    private func send(_ message: NotifyMessage, failing: inout Bool) {
        do {
            try notifier.notify(message)
            if failing {
                failing = false
                logger.notice("systemd notification works again")
            }
        } catch {
            if !failing {
                failing = true
                logger.error("systemd notification failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
