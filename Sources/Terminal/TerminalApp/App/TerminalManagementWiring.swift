#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EMVKernel
import Logging
import ServiceLifecycle
import Store
import Synchronization
import UpdatePackage
import Updater
import Uplink

/// Terminal management in a run (docs/terminal-management.md): the service on the acquirer link, the parameter set
/// restored from the journal, and a poller that synchronises at start-up and then every
/// `TERMINAL_TMS_INTERVAL_S` seconds (900 by default; 0 turns it off) while the host is reachable.
///
/// The keyring is `TERMINAL_UPDATE_KEYRING`, else `TERMINAL_UPDATE_ROOT/keyring.toml`, else
/// `/opt/terminal/keyring.toml` on hardware boards and `STATE/keyring.toml` on the simulator; without one, parameter
/// sets and updates are refused (and reported). Updates over the uplink install into `TERMINAL_UPDATE_ROOT` (the
/// `terminal update --root`; `/opt/terminal` on hardware boards, none on the simulator).
struct TerminalManagementWiring {
    let service: TerminalManagementService?
    let services: [ServiceGroupConfiguration.ServiceConfiguration]

    static func start(
        profile: BoardProfile, payments: Payments, store: Locked<TerminalStore>, keys: Locked<KeyStore>, state: StateDirectory,
        connectivity: @escaping @Sendable () -> ConnectivityState, clock: any TerminalClock, version: String,
        environment: [String: String], logger: Logger
    ) -> TerminalManagementWiring {
        guard let link = payments.hostLink, let parameters = payments.activeParameters else {
            return TerminalManagementWiring(service: nil, services: [])
        }
        let simulator = profile.kind == .simulator
        let locations = UpdateLocations(profile: profile, state: state, environment: environment)
        let updateRoot = locations.root
        let keyringPath = locations.keyringPath
        let keyring = try? Installer.readKeyring(keyringPath)
        if keyring == nil {
            // Expected on the simulator (no keyring unless one is provisioned); a fault on a hardware board.
            logger.log(
                level: simulator ? .info : .warning, "no update keyring: parameter sets and updates from the host are refused",
                metadata: ["keyring": "\(keyringPath)"])
        }
        let stan = Mutex(Int(clock.unixTime() % 900_000) + 1)
        let client = TerminalManagementClient(
            transport: link, terminalID: payments.terminalID, merchantID: payments.merchantID,
            nextSTAN: { stan.withLock { value in value = value % 999_999 + 1; return value } },
            transmissionTime: { Self.utcNow() })
        let service = TerminalManagementService(
            configuration: .init(
                directory: state.path + "/tms", keyring: keyring, updateRoot: updateRoot, board: profile.name,
                firmwareVersion: (try? FirmwareVersion(parsing: version)) ?? (try! FirmwareVersion(parsing: "0.0.0")),  // "0.0.0" always parses
                storePath: state.storePath),
            client: client, store: store, journal: payments.journal, parameters: parameters, connectivity: connectivity,
            today: {
                let now = clock.localDateTime()
                return EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 1, day: 1)!  // a valid constant date
            },
            now: { clock.unixTime() },
            restart: restartService(simulator: simulator),
            keys: keys, logger: logger)
        service.restoreParameterSet()
        let interval = Int(environment["TERMINAL_TMS_INTERVAL_S"] ?? "") ?? 900
        guard interval > 0 else { return TerminalManagementWiring(service: service, services: []) }
        let poller = TerminalManagementPoller(service: service, interval: .seconds(interval), connectivity: connectivity)
        return TerminalManagementWiring(service: service, services: [.init(service: poller, successTerminationBehavior: .ignore)])
    }

    /// Restarts the terminal's unit after an update switched slots (not on the simulator).
    static func restartService(simulator: Bool) -> @Sendable () throws -> Void {
        {
            guard !simulator else { return }
            let status = system("systemctl restart --no-block terminal.service")
            guard status == 0 else { throw UpdaterError(.restartFailed, "systemctl restart exited with \(status)") }
        }
    }

    /// Field 7's date and time, UTC.
    static func utcNow() -> HostDateTime {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return HostDateTime(
            month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday), hour: Int(parts.tm_hour), minute: Int(parts.tm_min),
            second: min(59, Int(parts.tm_sec)))
    }
}

/// Runs ``TerminalManagementService/synchronize()`` at start and then every `interval` while online.
struct TerminalManagementPoller: Service {
    let service: TerminalManagementService
    let interval: Duration
    let connectivity: @Sendable () -> ConnectivityState

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            if connectivity().isOnline { _ = await service.synchronize() }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}

/// Where updates go, what verifies them and where "install from USB" looks, for terminal management and the update
/// screen alike.
struct UpdateLocations {
    /// `TERMINAL_UPDATE_ROOT`, else `/opt/terminal` on hardware boards; none on the simulator.
    let root: String?
    /// `TERMINAL_UPDATE_KEYRING`, else `ROOT/keyring.toml`, else `STATE/keyring.toml`.
    let keyringPath: String
    /// `TERMINAL_UPDATE_MEDIA`, else the profile's `storage.update_media`, else `/media/usb/terminal.tpkg` on hardware
    /// boards; none on the simulator.
    let mediaPath: String?

    init(profile: BoardProfile, state: StateDirectory, environment: [String: String]) {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        let simulator = profile.kind == .simulator
        root = value("TERMINAL_UPDATE_ROOT") ?? (simulator ? nil : "/opt/terminal")
        keyringPath = value("TERMINAL_UPDATE_KEYRING") ?? root.map { $0 + "/keyring.toml" } ?? state.path + "/keyring.toml"
        mediaPath = value("TERMINAL_UPDATE_MEDIA") ?? profile.storage.updateMedia ?? (simulator ? nil : "/media/usb/terminal.tpkg")
    }
}
