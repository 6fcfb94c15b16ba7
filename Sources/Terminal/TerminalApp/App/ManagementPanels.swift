#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import TerminalUI
import UpdatePackage
import Updater

/// What the settings' Parameters screen and the merchant menu's Update screen need from the terminal
/// (``TerminalController`` calls it for ``TerminalFlow/Action/readPanel(_:)`` and
/// ``TerminalFlow/Action/runPanelAction(_:)``).
public protocol ManagementPanelService: Sendable {
    /// What `panel` shows now (read at once, on the main loop: no I/O that can block for long).
    func lines(_ panel: TerminalFlow.Panel, language: Language) -> [Screen.Text]
    /// Runs `panel`'s action (a terminal management round; an install from the USB stick) and returns the result.
    func run(_ panel: TerminalFlow.Panel, language: Language) async -> [Screen.Text]
}

/// The terminal's panels (docs/terminal-management.md "On the terminal"):
///
/// - **Parameters:** the parameter set in force (``ActiveParameterSet``: version, merchant name, language, offline
///   caps, metered permission, when it came into force; "defaults" before any download) and the last terminal
///   management round; its action runs a round now (``TerminalManagementService/synchronize()``).
/// - **Update:** the running version, the update root's committed version and an update in flight
///   (``Installer/status()``; "not available on this board" without an update root), the update the host offers with
///   the bytes downloaded; its action installs the package file at ``Configuration/mediaPath`` through the same
///   ``Installer/install(packagePath:preflight:restart:)`` and preflight as `terminal update install`.
public final class ManagementPanels: ManagementPanelService {
    public struct Configuration: Sendable {
        /// The running firmware version.
        public var version: String
        /// The board name update packages must list.
        public var board: String
        public var currency: Currency
        /// The update root (slots, `current`, `update-state`); `nil`: no updates on this board.
        public var updateRoot: String?
        /// The update keyring.
        public var keyringPath: String
        /// The package file "install from USB" takes; `nil`: none configured.
        public var mediaPath: String?
        /// The store file the update preflight reads (`terminal.sqlite`).
        public var storePath: String
        /// Whether an install restarts the terminal (a hardware board under systemd).
        public var restarts: Bool

        public init(
            version: String, board: String, currency: Currency, updateRoot: String?, keyringPath: String, mediaPath: String?,
            storePath: String, restarts: Bool
        ) {
            self.version = version
            self.board = board
            self.currency = currency
            self.updateRoot = updateRoot
            self.keyringPath = keyringPath
            self.mediaPath = mediaPath
            self.storePath = storePath
            self.restarts = restarts
        }
    }

    let configuration: Configuration
    let parameters: ActiveParameterSet?
    let management: TerminalManagementService?
    let time: @Sendable (Int64?) -> String
    let restart: @Sendable () throws -> Void
    /// When the set in force came into force (local time text), since this start.
    private let appliedAt = Locked<String?>(nil)

    /// - Parameters:
    ///   - parameters: the parameter set in force (`nil`: the terminal has none: "defaults").
    ///   - management: the terminal management service (`nil`: management is off).
    ///   - time: local time as text, of a Unix time (`nil`: now).
    ///   - restart: runs after an install switched slots (`systemctl restart` on a board; nothing on the simulator).
    public init(
        configuration: Configuration, parameters: ActiveParameterSet?, management: TerminalManagementService?,
        time: @escaping @Sendable (Int64?) -> String, restart: @escaping @Sendable () throws -> Void = {}
    ) {
        self.configuration = configuration
        self.parameters = parameters
        self.management = management
        self.time = time
        self.restart = restart
        if (parameters?.current.version ?? 0) > 0 { appliedAt.withLock { $0 = time(nil) } }
        parameters?.observeSwitches { [appliedAt] _ in appliedAt.withLock { $0 = time(nil) } }
    }

    public func lines(_ panel: TerminalFlow.Panel, language: Language) -> [Screen.Text] {
        switch panel {
        case .parameters: parameterLines(language)
        case .update: updateLines()
        }
    }

    public func run(_ panel: TerminalFlow.Panel, language: Language) async -> [Screen.Text] {
        switch panel {
        case .parameters:
            guard let management else { return [.ui(.managementOff)] }
            _ = await management.synchronize()
            return managementLines()
        case .update:
            return await installFromMedia()
        }
    }

    /// A Unix time as local "YYYY-MM-DD HH:MM:SS".
    public static func localTime(_ unix: Int64) -> String {
        var seconds = time_t(unix)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    // MARK: Parameters

    func parameterLines(_ language: Language) -> [Screen.Text] {
        var lines: [Screen.Text] = []
        let set = parameters?.current
        if let set, set.version > 0 {
            lines.append(.ui(.parametersVersion(set.version)))
            if let applied = appliedAt.withLock({ $0 }) { lines.append(.ui(.parametersApplied(applied))) }
        } else {
            lines.append(.ui(.parametersDefaults))
        }
        if let settings = set?.settings {
            lines.append(.ui(.parametersMerchant(settings.merchantName)))
            lines.append(.raw(UIString.settingsLanguage.text(language) + ": " + UIString.languageName(settings.language).text(language)))
            if let limit = settings.offlineFloorLimitMinor {
                lines.append(.ui(.parametersFloorLimit(configuration.currency.display(minorUnits: Int(limit), language: language))))
            }
            if let amount = settings.offlineMaximumUnsentAmountMinor, let count = settings.offlineMaximumUnsentCount {
                lines.append(.ui(.parametersUnsentCaps(configuration.currency.display(minorUnits: Int(amount), language: language), count)))
            }
            lines.append(.ui(.parametersMetered(settings.allowMeteredDownloads)))
        }
        return lines + managementLines()
    }

    func managementLines() -> [Screen.Text] {
        guard let management else { return [.ui(.managementOff)] }
        let status = management.status
        guard let checked = status.lastCheck else { return [.ui(.managementNeverChecked)] }
        return [.ui(.managementLastCheck(time(checked))), .ui(.managementResult(status.lastRound))]
    }

    // MARK: Update

    func updateLines() -> [Screen.Text] {
        var lines: [Screen.Text] = [.ui(.updateRunning(configuration.version))]
        if let root = configuration.updateRoot, let keyring = try? Installer.readKeyring(configuration.keyringPath),
            let state = try? Installer(root: root, board: configuration.board, keyring: keyring).status()
        {
            lines.append(.ui(.updateCommitted(state.committedVersion.map { "\($0)" } ?? "-")))
            if state.phase != .idle || state.pendingVersion != nil {
                lines.append(.ui(.updatePending(state.pendingVersion.map { "\($0)" } ?? "-", state.phase.rawValue)))
            }
            if !state.lastResult.isEmpty { lines.append(.raw(state.lastResult)) }
        } else if configuration.updateRoot != nil {
            lines.append(.ui(.updateRejected("no keyring at \(configuration.keyringPath)")))
        } else {
            lines.append(.ui(.updateNotAvailable))
        }
        if let status = management?.status, let offered = status.offeredUpdate {
            let percent = offered.size > 0 ? offered.downloaded * 100 / offered.size : 100
            lines.append(.raw("\(offered.name) \(percent)%"))
            // Why it waits or how it ended ("Update waits for Wi-Fi", "Update refused: ..."), from the idle line.
            if status.line.hasPrefix("Update") { lines.append(.raw(status.line)) }
        }
        return lines
    }

    /// Installs the package at the media path, refused while a transaction is in flight (this process's, or the
    /// store's view) or when the offline queue could not be persisted: the preflight of `terminal update install`.
    func installFromMedia() async -> [Screen.Text] {
        guard let root = configuration.updateRoot else { return [.ui(.updateNotAvailable)] }
        guard let path = configuration.mediaPath, access(path, R_OK) == 0 else {
            return [.ui(.updateNoPackage(configuration.mediaPath ?? "-"))]
        }
        let keyring: Keyring
        do {
            keyring = try Installer.readKeyring(configuration.keyringPath)
        } catch {
            return [.ui(.updateRejected("no keyring")), .raw("\(error)")]
        }
        let configuration = self.configuration
        let parameters = self.parameters
        let restart: @Sendable () throws -> Void = configuration.restarts ? self.restart : { @Sendable in }
        // Reading, hashing and writing a whole slot blocks: on a thread of its own, never on the cooperative pool.
        let result: Result<InstallOutcome, UpdaterError> = await HostAcquirerLink.offThread {
            let installer = Installer(root: root, board: configuration.board, keyring: keyring)
            do throws(UpdaterError) {
                return .success(try installer.install(
                    packagePath: path,
                    preflight: {
                        if parameters?.isTransactionInFlight ?? false { return "a transaction is in flight" }
                        return UpdatePreflight.check(storePath: configuration.storePath, root: root)
                    },
                    restart: { try restart() }))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(.switched(let version, _)):
            return [.ui(.updateInstalled("\(version)", restarting: configuration.restarts))]
        case .success(.rejected(let reason, let detail)):
            return [.ui(.updateRejected(reason.rawValue)), .raw(detail)]
        case .failure(let error):
            return [.ui(.updateRejected("\(error.code)")), .raw(error.reason)]
        }
    }
}
