public import Logging
public import ServiceLifecycle
import Synchronization

/// Tells systemd when the terminal is up and when it starts going down (`Type=notify`).
///
/// - The app calls ``markReady(status:)`` once, after the store is open and the devices are up. systemd then
///   marks the unit active (and the boot can be confirmed, see `systemd/README.md`) and starts the watchdog.
/// - As a `Service`, it waits for graceful shutdown and then sends `STOPPING=1`. Put it **last** in the
///   `ServiceGroup`: the group shuts services down in reverse order, so this one hears about the shutdown first
///   and systemd learns at once that the stop is deliberate.
///
/// Notification failures are logged, never thrown: a terminal that cannot reach systemd still serves customers
/// (and systemd's start timeout reports the problem).
public final class ReadinessGate: Service, Sendable {
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let ready = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)

    /// - Parameters:
    ///   - notifier: where the notifications go.
    ///   - logger: where notification errors are reported.
    public init(notifier: SystemdNotifier, logger: Logger) {
        self.notifier = notifier
        self.logger = logger
    }

    /// Whether ``markReady(status:)`` has run.
    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// Sends `READY=1` with `STATUS=status` in one datagram; later calls do nothing.
    /// - Parameter status: the one-line status for `systemctl status`.
    /// - Returns: `true` on the first call.
    @discardableResult
    public func markReady(status: String) -> Bool {
        guard !ready.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        send([.ready, .status(status)])
        return true
    }

    /// Sends `STATUS=status`.
    /// - Parameter status: the one-line status for `systemctl status`.
    public func updateStatus(_ status: String) {
        send([.status(status)])
    }

    /// Sends `STOPPING=1` with `STATUS=status`; later calls do nothing.
    /// - Parameter status: the one-line status for `systemctl status`.
    /// - Returns: `true` on the first call.
    @discardableResult
    public func markStopping(status: String = "Shutting down") -> Bool {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        send([.stopping, .status(status)])
        return true
    }

    /// Waits for graceful shutdown, then sends `STOPPING=1`. On cancellation (a hard stop) it returns without
    /// notifying. Never throws.
    public func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        markStopping()
    }

    private func send(_ messages: [NotifyMessage]) {
        do {
            try notifier.notify(messages)
        } catch {
            logger.error("systemd notification failed", metadata: ["error": "\(error)"])
        }
    }
}
