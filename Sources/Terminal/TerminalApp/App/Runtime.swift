#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
public import Logging
import LinuxDevices
import PaymentCrypto
import ServiceLifecycle
import Store
import SystemPackage
import TerminalUI
import Updater
import Uplink

/// How `terminal run` was asked to run.
public struct RunOptions: Sendable {
    /// A board name (looked up in ``boardSearchPath``) or a path to a board.toml.
    public var board: String
    public var boardSearchPath: [String]
    /// Drive the terminal from stdin / stdout instead of devices or the terminal window.
    public var headless: Bool
    /// A fixed "HH:MM" for the idle screen (reproducible headless transcripts).
    public var fixedClock: String?
    /// Overrides the profile's state directory.
    public var stateDirectory: String?
    public var environment: [String: String]
    public var version: String
    /// A PNG file that mirrors every screen (simulator and headless runs).
    public var snapshotPath: String?

    public init(board: String, boardSearchPath: [String], headless: Bool, fixedClock: String?, stateDirectory: String?, environment: [String: String], version: String, snapshotPath: String? = nil) {
        self.snapshotPath = snapshotPath
        self.board = board
        self.boardSearchPath = boardSearchPath
        self.headless = headless
        self.fixedClock = fixedClock
        self.stateDirectory = stateDirectory
        self.environment = environment
        self.version = version
    }
}

/// Starts the terminal from a board profile and runs it until shutdown.
public enum TerminalRuntime {
    /// Where board profiles are looked for, in order: `$TERMINAL_BOARD_DIR`, ./board (a source checkout),
    /// /etc/terminal/board (local overrides), /usr/share/terminal/board (the firmware image).
    public static func defaultBoardSearchPath(environment: [String: String]) -> [String] {
        var path: [String] = []
        if let dir = environment["TERMINAL_BOARD_DIR"], !dir.isEmpty { path.append(dir) }
        path += ["board", "/etc/terminal/board", "/usr/share/terminal/board"]
        return path
    }

    /// Finds, reads and validates a board profile.
    public static func loadProfile(_ board: String, searchPath: [String]) throws(RuntimeError) -> BoardProfile {
        let candidates = board.contains("/") ? [board] : searchPath.map { "\($0)/\(board)/board.toml" }
        guard let file = candidates.first(where: { access($0, R_OK) == 0 }) else {
            throw RuntimeError(.boardProfile, "no board profile '\(board)'; looked for \(candidates.joined(separator: ", "))")
        }
        let text = try readTextFile(file)
        do {
            return try BoardProfile.parse(text, file: file)
        } catch {
            throw RuntimeError(.boardProfile, "\(error)")
        }
    }

    static func readTextFile(_ path: String) throws(RuntimeError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError(.boardProfile, "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw RuntimeError(.boardProfile, "\(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= 1 << 20 else { throw RuntimeError(.boardProfile, "\(path): larger than 1 MiB; not a board profile") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw RuntimeError(.boardProfile, "\(path): not valid UTF-8") }
        return text
    }

    /// Runs the terminal. Returns when it has shut down (SIGTERM, `q` on the simulator, or the end of headless input).
    public static func run(_ options: RunOptions, logger: Logger) async throws {
        let profile = try loadProfile(options.board, searchPath: options.boardSearchPath)
        var storageProfile = profile
        if let dir = options.stateDirectory { storageProfile.storage.stateDirectory = dir }
        let state = try StateDirectory(profile: storageProfile, environment: options.environment)
        // In the simulator's window the screen belongs to the display: logs go to a file in the state directory.
        let windowLog = !options.headless && profile.kind == .simulator && isatty(STDERR_FILENO) == 1 ? state.path + "/terminal.log" : nil
        if let windowLog {
            let fd = open(windowLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0, dup2(fd, STDERR_FILENO) >= 0 else { throw RuntimeError(.stateDirectory, "cannot open the log \(windowLog): \(String(cString: strerror(errno)))") }
            close(fd)
        }
        defer { if let windowLog { print("terminal: the simulator's log is in \(windowLog)") } }
        // The recent lines kept for a log upload on the host's request (docs/terminal-management.md).
        try StateDirectory.makeDirectories(state.path + "/log")
        LogRing.process.attach(path: state.path + "/log/recent.log")
        let (keyStore, testKeys) = try TerminalKeys.prepare(state, profile: profile, environment: options.environment, random: SystemRandom())
        // Held for the life of the run: the payment rails take their PIN and data keys from it.
        let keys = Locked(keyStore)
        if testKeys { logger.warning("running with TEST KEYS generated by the simulator", metadata: ["directory": "\(state.keyDirectory)"]) }

        // A version in its health check may still be rolled back: breaking store migrations wait for the commit.
        let healthCheckGate = UpdateLocations(profile: profile, state: state, environment: options.environment).root.map { HealthCheckGate(root: $0) }
        let healthCheck = healthCheckGate?.pendingHealthCheck()
        let store: Locked<TerminalStore>
        do {
            store = Locked(try TerminalStore(path: state.storePath, holdingBreakingMigrations: healthCheck != nil))
        } catch {
            throw RuntimeError(.store, "cannot open the store \(state.storePath): \(error)")
        }
        let savedLanguage = store.withLock { (try? $0.setting("ui.language")).flatMap { Language(rawValue: $0) } }
        let language = savedLanguage ?? profile.language

        let bus = EventBus()
        let heartbeat = Heartbeat()
        let clock: any TerminalClock = options.fixedClock.map { FixedWallClock(text: $0) } ?? SystemClock()

        // Devices.
        let devices = try DeviceSet.open(profile: profile, options: options, state: state, bus: bus, logger: logger)
        let spooler = devices.spooler
        defer { devices.close() }

        // Payments: the journal, the acquirer (the built-in simulator on the sim board) and the rails.
        let payments = try Payments.open(
            profile: profile, state: state, keys: keys, settings: store, cardReader: devices.cardReader, clock: clock,
            environment: options.environment, logger: logger)
        defer { payments.shutdown() }
        if let healthCheckGate, let healthCheck, let held = store.withLock({ $0.heldMigrations.isEmpty ? nil : $0.heldMigrations }) {
            try await awaitCommit(gate: healthCheckGate, slot: healthCheck.slot, deadline: healthCheck.deadline, held: held, store: store, options: options, logger: logger)
        }
        // --- Host link (issue 6): connectivity from rtnetlink on hardware boards, the store-and-forward uploader.
        let uplink = HostUplinkWiring.start(profile: profile, payments: payments, clock: clock, logger: logger)
        defer { uplink.stop() }
        let management = TerminalManagementWiring.start(
            profile: profile, payments: payments, store: store, keys: keys, state: state,
            connectivity: { uplink.connectivity?.state ?? .online(via: .wifi, metered: false, interface: "unknown") }, clock: clock,
            version: options.version, environment: options.environment, logger: logger)
        // With the connectivity monitor the TCP probe of the acquirer is not needed (and would cost on a metered link).
        let probe = uplink.connectivity == nil ? HostProbe(host: payments.acquirerHost, port: payments.acquirerPort) : nil
        // --- end host link

        let links = LinkMonitor(interfaces: InterfaceStateReader(), wifi: profile.network.wifi, cellular: profile.network.cellular, probe: probe)
        links.refresh()  // the first screen already shows the real link state
        let linkThread = try links.start()
        defer { links.stop(linkThread) }
        let currentStatus: @Sendable () -> TerminalFlow.Status = {
            var current = status(links: links, uplink: uplink, journal: payments.journal, clock: clock)
            current.management = management.service?.status.line
            return current
        }

        var configuration = TerminalFlow.Configuration(
            merchantName: profile.merchant.name, currency: profile.merchant.currency, maximumAmount: profile.merchant.maximumAmount,
            methods: profile.payments.methods, boardName: profile.name, version: options.version)
        let refunds = MerchantOperations.refunds(profile: profile, payments: payments, clock: clock, logger: logger)
        configuration.refundMenu = refunds != nil
        let merchant = MerchantOperations.wire(profile: profile, payments: payments, uploader: uplink.uploader, spooler: spooler, clock: clock, logger: logger)
        configuration.merchantMenu = merchant != nil
        configuration.prepaidMenu = payments.prepaid != nil
        configuration.infoRows = max(1, devices.gridSize.rows - 2)
        // A downloaded parameter set's merchant name replaces the board's (and later ones at once; docs/terminal-management.md).
        if let name = payments.activeParameters?.current.settings?.merchantName { configuration.merchantName = name }
        configuration.itemSaleMenu = management.service != nil
        // The merchant's own choice of language wins over the parameter set's, which wins over the board's.
        configuration.merchantChoseLanguage = savedLanguage != nil
        var flow = TerminalFlow(configuration: configuration, language: savedLanguage ?? payments.activeParameters?.current.settings?.language ?? language)
        // A parameter set that comes into force later changes the idle screen's merchant name and the language at once.
        payments.activeParameters?.observeSwitches { set in
            guard let settings = set.settings else { return }
            bus.send(.flow(.parametersChanged(merchantName: settings.merchantName, language: settings.language)))
        }
        let locations = UpdateLocations(profile: profile, state: state, environment: options.environment)
        let panels = ManagementPanels(
            configuration: .init(
                version: options.version, board: profile.name, currency: profile.merchant.currency, updateRoot: locations.root,
                keyringPath: locations.keyringPath, mediaPath: locations.mediaPath, storePath: state.storePath,
                restarts: profile.kind != .simulator),
            parameters: payments.activeParameters, management: management.service,
            time: { unix in unix.map(ManagementPanels.localTime) ?? clock.localDateTime().text },
            restart: TerminalManagementWiring.restartService(simulator: profile.kind == .simulator))
        _ = flow.handle(.tick(now: clock.monotonicMilliseconds()))
        _ = flow.handle(.status(currentStatus()))

        let display = devices.display
        let controller = TerminalController(
            flow: flow, bus: bus,
            dependencies: .init(
                display: { grid in try display.withLock { try $0.show(grid) } },
                gridSize: devices.gridSize,
                rails: payments.rails,
                saveLanguage: { language in
                    store.withLock { store in
                        do { try store.setSetting("ui.language", language.rawValue) } catch { logger.error("cannot save the language", metadata: ["error": "\(error)"]) }
                    }
                },
                beat: { heartbeat.beat() },
                clock: clock,
                print: { document, completion in spooler.print(document, completion: completion) },
                refunds: refunds, merchant: merchant,
                management: management.service, prepaid: payments.prepaid, panels: panels),
            logger: logger)

        let notifier = SystemdNotifier(environment: options.environment)
        let readiness = ReadinessGate(notifier: notifier, logger: logger)
        let watchdog = WatchdogService(notifier: notifier, heartbeat: heartbeat, environment: options.environment, logger: logger)
        let mainLoop = MainLoopService(controller: controller, bus: bus)
        let ticker = TickerService(bus: bus, clock: clock, status: currentStatus)
        let inputs = InputService(devices: devices.inputs, bus: bus, logger: logger)

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ticker, successTerminationBehavior: .ignore),
                    .init(service: inputs, successTerminationBehavior: .ignore),
                    .init(service: watchdog, successTerminationBehavior: .ignore),
                    .init(service: mainLoop, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: readiness, successTerminationBehavior: .ignore),
                ] + uplink.services + management.services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        readiness.markReady(status: "\(profile.name): idle, \(testKeys ? "TEST KEYS" : "keys loaded")")
        logger.info("terminal ready", metadata: ["board": "\(profile.name)", "language": "\(language.rawValue)"])
        try await group.run()
    }

    /// The health check of a version whose store migrations are held (docs/update-package.md, "Store migrations and
    /// rollback"): the profile, keys, store (migrated as far as the committed version can still read), devices and
    /// payments are up, so READY goes out now and `terminal update commit` (ExecStartPost) runs. The terminal takes
    /// no transaction meanwhile; it pings the watchdog, waits for the verdict and then applies the held migrations.
    /// A rollback (or no verdict by the deadline) ends the run: systemd starts the committed version, which still
    /// opens the store.
    static func awaitCommit(
        gate: HealthCheckGate, slot: String, deadline: Int, held: [String], store: Locked<TerminalStore>, options: RunOptions, logger: Logger
    ) async throws {
        let notifier = SystemdNotifier(environment: options.environment)
        logger.notice("store migrations held until this version is committed", metadata: ["migrations": "\(held.joined(separator: ","))", "slot": "\(slot)"])
        _ = try? notifier.notify([.ready, .status("health check: \(held.count) store migration(s) wait for the commit")])
        let verdict = await gate.waitForVerdict(slot: slot, deadline: deadline, beat: { _ = try? notifier.notify(.watchdog) })
        guard verdict == .committed else {
            let why = if case .rolledBack(let reason) = verdict { "rolled back (\(reason))" } else { "no verdict by the deadline" }
            throw RuntimeError(.store, "held store migrations not applied: the update was \(why)")
        }
        do {
            try store.withLock { try $0.applyHeldMigrations() }
        } catch {
            throw RuntimeError(.store, "cannot apply the held store migrations after the commit: \(error)")
        }
        logger.notice("held store migrations applied after the commit", metadata: ["migrations": "\(held.joined(separator: ","))"])
    }

    /// The status line data: links from the monitor thread (on hardware boards the host reachability and route from
    /// the connectivity monitor), the unsent count (advices and reversals) from the journal, the time.
    static func status(links: LinkMonitor, uplink: HostUplinkWiring, journal: Locked<TransactionJournal>, clock: any TerminalClock) -> TerminalFlow.Status {
        let link = links.latest
        let unsent = journal.withLock { (try? $0.unsentCounts()).map { $0.advices + $0.reversals } ?? 0 }
        var status = TerminalFlow.Status(time: clock.wallClockText(), wifi: link.wifi, cellular: link.cellular, hostReachable: link.host, unsentCount: unsent)
        if let connectivity = uplink.connectivity?.state {
            status.hostReachable = connectivity.isOnline
            if case .online(let via, _, _) = connectivity { status.onlineRoute = via == .wifi ? .wifi : .cellularMetered }
        }
        return status
    }
}

/// Runs the controller as a service; graceful shutdown becomes a ``TerminalEvent/shutdown`` so the payment in
/// flight can finish.
struct MainLoopService: Service {
    let controller: TerminalController
    let bus: EventBus

    func run() async throws {
        await withGracefulShutdownHandler {
            await controller.run()
        } onGracefulShutdown: {
            bus.send(.shutdown)
        }
    }
}

/// Sends a tick every second (deadlines) and the status when it changed (clock, links, unsent count).
struct TickerService: Service {
    let bus: EventBus
    let clock: any TerminalClock
    let status: @Sendable () -> TerminalFlow.Status

    func run() async throws {
        var last: TerminalFlow.Status?
        while !Task.isShuttingDownGracefully {
            bus.send(.flow(.tick(now: clock.monotonicMilliseconds())))
            let current = status()
            if current != last {
                bus.send(.flow(.status(current)))
                last = current
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            } catch {
                return
            }
        }
    }
}

/// Watches the Wi-Fi and cellular interfaces and probes the acquirer host, on a thread of its own every 5 s
/// (a probe may block for its timeout).
final class LinkMonitor: Sendable {
    struct Snapshot: Sendable, Equatable {
        var wifi: Screen.LinkState = .absent
        var cellular: Screen.LinkState = .absent
        var host = false
    }

    private let interfaces: InterfaceStateReader
    private let wifi: String?
    private let cellular: String?
    /// `nil`: no probe (the connectivity monitor says whether the host is reachable).
    private let probe: HostProbe?
    private let state = Locked(Snapshot())
    private let stopSignal: StopSignal?

    init(interfaces: InterfaceStateReader, wifi: String?, cellular: String?, probe: HostProbe?) {
        self.interfaces = interfaces
        self.wifi = wifi
        self.cellular = cellular
        self.probe = probe
        self.stopSignal = try? StopSignal()
    }

    var latest: Snapshot { state.withLock { $0 } }

    func refresh() {
        func link(_ name: String?) -> Screen.LinkState {
            guard let name else { return .absent }
            switch interfaces.state(of: name) {
            case .up: return .up
            case .down: return .down
            case .absent: return .absent
            }
        }
        let snapshot = Snapshot(wifi: link(wifi), cellular: link(cellular), host: probe?.isReachable() ?? false)
        state.withLock { $0 = snapshot }
    }

    func start() throws -> DeviceThread {
        try DeviceThread.start(name: "link-monitor") { [self] in
            while true {
                if let stopSignal {
                    guard (try? pollReadable(stopSignal.descriptor, stop: nil, timeoutMilliseconds: 5000)) == .timedOut else { return }
                } else {
                    sleep(5)
                }
                refresh()
            }
        }
    }

    func stop(_ thread: DeviceThread) {
        stopSignal?.fire()
        thread.join()
    }
}
