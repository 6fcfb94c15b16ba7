import Logging
import ServiceLifecycle
import Synchronization
import Testing
import TerminalApp

/// Records log records in memory (level + message) for assertions.
final class LifecycleLogCapture: Sendable {
    private let records = Mutex<[(Logger.Level, String)]>([])

    var logger: Logger {
        Logger(label: "lifecycle-test") { _ in Handler(capture: self) }
    }

    /// Every record as "level: message", for failure reports.
    var all: [String] {
        records.withLock { $0.map { "\($0.0): \($0.1)" } }
    }

    func messages(at level: Logger.Level) -> [String] {
        records.withLock { $0.filter { $0.0 == level }.map(\.1) }
    }

    struct Handler: LogHandler {
        let capture: LifecycleLogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.records.withLock { $0.append((event.level, event.message.description)) }
        }
    }
}

/// Runs `body` with `group` running beside it, then shuts the group down gracefully and waits (bounded) for it.
private func withRunningGroup(
    _ group: ServiceGroup, _ body: @Sendable () async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body()
        } catch {
            tasks.cancelAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        // Bound the shutdown: if the group has not ended in 5 s the test fails instead of hanging.
        tasks.addTask {
            try await Task.sleep(for: .seconds(5))
            throw ShutdownTimedOut()
        }
        try await tasks.next()
        tasks.cancelAll()
    }
}

private struct ShutdownTimedOut: Error {}

/// A shared on/off switch.
final class LifecycleFlag: Sendable {
    private let value = Atomic<Bool>(true)
    var isSet: Bool {
        get { value.load(ordering: .acquiring) }
        set { value.store(newValue, ordering: .releasing) }
    }
}

@Suite("watchdog and readiness")
struct LifecycleTests {
    @Test("pings while the heartbeat is fresh, stops once when stale, resumes, ends on graceful shutdown")
    func pingsFollowHeartbeat() async throws {
        let socket = try NotifyTestSocket.abstract()
        let capture = LifecycleLogCapture()
        let heartbeat = Heartbeat()
        let watchdog = WatchdogService(
            notifier: SystemdNotifier(environment: socket.environment), heartbeat: heartbeat,
            interval: .milliseconds(100), configuration: .init(maxHeartbeatAge: .milliseconds(600)),
            logger: capture.logger)
        #expect(watchdog.pingPeriod == .milliseconds(50))
        let beating = LifecycleFlag()
        let group = ServiceGroup(services: [watchdog], logger: capture.logger)

        try await withRunningGroup(group) {
            try await withThrowingTaskGroup(of: Void.self) { beats in
                beats.addTask {
                    while !Task.isCancelled {
                        if beating.isSet { heartbeat.beat() }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                defer { beats.cancelAll() }

                // Fresh: several WATCHDOG=1.
                for _ in 0..<3 {
                    #expect(await socket.next() == "WATCHDOG=1")
                }

                // Stale: pings stop within maxAge + one period; one critical log.
                beating.isSet = false
                #expect(await quietWindow(socket, length: .milliseconds(400), within: .seconds(5)))
                #expect(socket.drain().isEmpty)
                try await Task.sleep(for: .milliseconds(200))
                #expect(capture.messages(at: .critical).count == 1)

                // Recovered: pings again, and the recovery is logged once.
                beating.isSet = true
                #expect(await socket.next() == "WATCHDOG=1")
                #expect(capture.messages(at: .notice).count == 1)
            }
        }
        #expect(capture.messages(at: .critical).count == 1)
    }

    @Test("with the trigger policy a stale heartbeat sends WATCHDOG=trigger once")
    func stalePolicyTrigger() async throws {
        let socket = try NotifyTestSocket.abstract()
        let capture = LifecycleLogCapture()
        let watchdog = WatchdogService(
            notifier: SystemdNotifier(environment: socket.environment), heartbeat: Heartbeat(),
            interval: .milliseconds(60), configuration: .init(maxHeartbeatAge: .milliseconds(30), stalePolicy: .trigger),
            logger: capture.logger)
        let group = ServiceGroup(services: [watchdog], logger: capture.logger)
        try await withRunningGroup(group) {
            var seen: [String] = []
            while let datagram = await socket.next() {
                seen.append(datagram)
                if datagram == "WATCHDOG=trigger" { break }
            }
            #expect(seen.last == "WATCHDOG=trigger")
            #expect(seen.dropLast().allSatisfy { $0 == "WATCHDOG=1" })
            #expect(await quietWindow(socket, length: .milliseconds(200), within: .seconds(2)))
        }
        #expect(capture.messages(at: .critical).count == 1)
    }

    @Test("takes its interval from WATCHDOG_USEC, and without it sends nothing and waits for shutdown")
    func environmentDriven() async throws {
        let socket = try NotifyTestSocket.abstract()
        let capture = LifecycleLogCapture()
        var environment = socket.environment
        environment["WATCHDOG_USEC"] = "80000"
        let on = WatchdogService(
            notifier: SystemdNotifier(environment: environment), heartbeat: Heartbeat(), environment: environment,
            logger: capture.logger)
        #expect(on.pingPeriod == .milliseconds(40))

        let off = WatchdogService(
            notifier: SystemdNotifier(environment: socket.environment), heartbeat: Heartbeat(),
            environment: socket.environment, logger: capture.logger)
        #expect(off.pingPeriod == nil)
        let group = ServiceGroup(services: [off], logger: capture.logger)
        try await withRunningGroup(group) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(socket.drain().isEmpty)

        var malformed = socket.environment
        malformed["WATCHDOG_USEC"] = "soon"
        let broken = WatchdogService(
            notifier: SystemdNotifier(environment: malformed), heartbeat: Heartbeat(), environment: malformed,
            logger: capture.logger)
        #expect(broken.pingPeriod == nil)
        #expect(capture.messages(at: .error).count == 1)
    }

    @Test("notification failures are logged once per failure streak, never thrown")
    func sendFailuresAreReported() async throws {
        let capture = LifecycleLogCapture()
        let watchdog = WatchdogService(
            notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": "@terminal-test-nobody-\(UInt64.random(in: 0...UInt64.max))"]),
            heartbeat: Heartbeat(), interval: .milliseconds(40), configuration: .init(maxHeartbeatAge: .seconds(60)),
            logger: capture.logger)
        let group = ServiceGroup(services: [watchdog], logger: capture.logger)
        try await withRunningGroup(group) {
            let deadline = ContinuousClock.now + .seconds(5)
            while capture.messages(at: .error).isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(200))  // five more failing pings
        }
        #expect(capture.messages(at: .error) == ["systemd notification failed"], "\(capture.all)")
    }

    @Test("READY=1 once with its STATUS; STOPPING=1 when graceful shutdown starts")
    func readinessAndStopping() async throws {
        let socket = try NotifyTestSocket.path()
        let capture = LifecycleLogCapture()
        let notifier = SystemdNotifier(environment: socket.environment)
        let gate = ReadinessGate(notifier: notifier, logger: capture.logger)
        let watchdog = WatchdogService(
            notifier: notifier, heartbeat: Heartbeat(), interval: .seconds(60), logger: capture.logger)
        // Dependencies first: the watchdog; the gate last, so it hears about the shutdown first.
        let group = ServiceGroup(services: [watchdog, gate], logger: capture.logger)

        try await withRunningGroup(group) {
            #expect(await socket.next() == "WATCHDOG=1")  // the first ping is immediate
            #expect(!gate.isReady)
            #expect(gate.markReady(status: "Ready: store open, 3 devices"))
            #expect(gate.isReady)
            #expect(await socket.next() == "READY=1\nSTATUS=Ready: store open, 3 devices")
            #expect(!gate.markReady(status: "again"))
            gate.updateStatus("Idle")
            #expect(await socket.next() == "STATUS=Idle")
        }
        #expect(socket.drain() == ["STOPPING=1\nSTATUS=Shutting down"])
        #expect(!gate.markStopping())
        #expect(capture.messages(at: .error).isEmpty)
    }

    @Test("the heartbeat ages on its clock and never goes backwards")
    func heartbeatAge() {
        let heartbeat = Heartbeat()
        let start = heartbeat.lastBeat
        #expect(heartbeat.isHealthy(now: start.advanced(by: .milliseconds(500)), maxAge: .milliseconds(500)))
        #expect(!heartbeat.isHealthy(now: start.advanced(by: .milliseconds(501)), maxAge: .milliseconds(500)))
        #expect(heartbeat.age(now: start.advanced(by: .seconds(-1))) == .zero)
        heartbeat.beat(at: start.advanced(by: .seconds(2)))
        heartbeat.beat(at: start.advanced(by: .seconds(1)))  // older: ignored
        #expect(heartbeat.lastBeat == start.advanced(by: .seconds(2)))
    }
}

/// Waits until `length` passes with no datagram arriving; `false` if that never happens within `within`.
private func quietWindow(_ socket: NotifyTestSocket, length: Duration, within: Duration) async -> Bool {
    let deadline = ContinuousClock.now + within
    var quietSince = ContinuousClock.now
    while ContinuousClock.now < deadline {
        if socket.tryReceive() != nil { quietSince = ContinuousClock.now }
        if ContinuousClock.now - quietSince >= length { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return false
}
