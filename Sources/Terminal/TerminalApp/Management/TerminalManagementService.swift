#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
public import EMVKernel
public import Logging
import PaymentCrypto
public import Store
import Synchronization
public import UpdatePackage
import Updater
public import Uplink

/// Terminal management from the host (docs/terminal-management.md): one ``synchronize()`` asks what the host
/// offers and, for each object newer than what the terminal has, downloads it resumably, checks it and applies it,
/// then reports the result back:
///
/// - **parameter set** (signed, versioned): verified with the update keyring; refused (reason logged, shown and
///   reported) on a bad signature, a version not newer than the one in force, or a payload that does not parse;
///   otherwise recorded in the journal's `parameters` table (versions only go up) and applied through
///   ``ActiveParameterSet`` — at once between transactions, or when the transaction in flight ends;
/// - **catalogue**: stored with the host's stock levels (host authority);
/// - **update package**: downloaded only on an unmetered link unless the parameters allow metered downloads, then
///   handed to ``Installer/install(packagePath:preflight:restart:)``, which verifies everything before touching a
///   slot; never while a transaction is in flight or the offline queue cannot be persisted (``UpdatePreflight``).
///
/// Then the item sales not yet reported go up (`824`) and the host's stock levels come back.
public final class TerminalManagementService: Sendable {
    /// Where things go and what the terminal trusts.
    public struct Configuration: Sendable {
        /// Downloads go here (`STATE/tms`).
        public var directory: String
        /// The update keyring; it also verifies parameter sets. `nil`: parameter sets and updates are refused.
        public var keyring: Keyring?
        /// The install root of updates (slots, `current`); `nil`: updates are not taken over the uplink.
        public var updateRoot: String?
        /// The board name update packages must list.
        public var board: String
        /// The firmware version running now (updates must be newer).
        public var firmwareVersion: FirmwareVersion
        /// The store file (`terminal.sqlite`) the update preflight reads.
        public var storePath: String
        /// Bytes per chunk request.
        public var chunkSize: Int

        public init(
            directory: String, keyring: Keyring?, updateRoot: String?, board: String, firmwareVersion: FirmwareVersion, storePath: String,
            chunkSize: Int = TerminalManagement.maximumChunk
        ) {
            self.directory = directory
            self.keyring = keyring
            self.updateRoot = updateRoot
            self.board = board
            self.firmwareVersion = firmwareVersion
            self.storePath = storePath
            self.chunkSize = chunkSize
        }
    }

    /// What one object's turn ended in.
    public enum Outcome: Sendable, Equatable {
        /// Applied (parameters, catalogue) or installed, to commit once healthy (update).
        case applied(version: String)
        /// Applied but staged: the transaction in flight keeps the old set; it comes into force when it ends.
        case staged(version: String)
        /// Refused, with the result reported and the reason.
        case refused(TerminalManagement.Result, String)
        /// Not now (metered link, transaction in flight); tried again at the next synchronisation.
        case waiting(String)
        /// The download stopped (link); it resumes at the next synchronisation.
        case interrupted(String)
    }

    /// What ``synchronize()`` did.
    public struct Report: Sendable, Equatable {
        /// Per offered object (by name) that was newer than the terminal's.
        public var objects: [String: Outcome] = [:]
        /// The stock sync: `nil` when there was nothing to report and no catalogue; `true` when the host's levels came back.
        public var stockSynced: Bool?
        /// Set when the host could not be asked at all.
        public var failure: String?
    }

    /// What the screen shows about terminal management: a line or nothing.
    public struct Status: Sendable, Equatable {
        /// "Downloading update-1.2.0.tpkg 45%" while a download runs, the last result or refusal, or empty (ASCII: the
        /// display fonts carry the UI strings' glyphs only).
        public var line: String = ""
        /// When the last round asked the host (seconds since 1970); `nil` before the first.
        public var lastCheck: Int64?
        /// What the last round came to (ASCII): "nothing new", "host unreachable", or each object's outcome.
        public var lastRound = ""
        /// The update the host offers that is newer than the running firmware, and how much of it is downloaded.
        public var offeredUpdate: OfferedUpdate?
    }

    /// An update offered by the host, for the update screen.
    public struct OfferedUpdate: Sendable, Equatable {
        public var name: String
        public var version: String
        /// Bytes downloaded so far (the resumable part file's length after the last chunk).
        public var downloaded: Int
        public var size: Int
    }

    let configuration: Configuration
    let client: TerminalManagementClient
    let store: Locked<TerminalStore>
    let journal: Locked<TransactionJournal>
    let parameters: ActiveParameterSet
    let connectivity: @Sendable () -> ConnectivityState
    let today: @Sendable () -> EMVDate
    let now: @Sendable () -> Int64
    let restart: @Sendable () throws -> Void
    let logger: Logger
    /// The key store, for key downloads (`nil`: keys offered by the host are not taken).
    let keys: Locked<KeyStore>?
    /// The recent log lines an `L` request uploads.
    let logRing: LogRing
    private let statusBox = Mutex(Status())
    private let running = Mutex(false)
    private let saleCounter = Mutex(0)

    /// A service. `restart` runs after an update was switched in (systemd restart on a board; nothing in tests).
    public init(
        configuration: Configuration, client: TerminalManagementClient, store: Locked<TerminalStore>, journal: Locked<TransactionJournal>,
        parameters: ActiveParameterSet, connectivity: @escaping @Sendable () -> ConnectivityState, today: @escaping @Sendable () -> EMVDate,
        now: @escaping @Sendable () -> Int64, restart: @escaping @Sendable () throws -> Void = {}, keys: Locked<KeyStore>? = nil,
        logRing: LogRing = .process, logger: Logger
    ) {
        self.keys = keys
        self.logRing = logRing
        self.configuration = configuration
        self.client = client
        self.store = store
        self.journal = journal
        self.parameters = parameters
        self.connectivity = connectivity
        self.today = today
        self.now = now
        self.restart = restart
        self.logger = logger
        // Every set that comes into force, at once or when the transaction in flight ends, brings its settings.
        parameters.observeSwitches { [journal, store] set in
            if let settings = set.settings { Self.applySettings(settings, journal: journal, store: store) }
        }
    }

    /// The status line for the idle screen.
    public var status: Status { statusBox.withLock { $0 } }

    /// The parameter set version recorded in the journal (0: none downloaded yet).
    public func installedParameterVersion() -> Int {
        (try? journal.withLock { try $0.parameters(Self.parameterSetName)?.version }) ?? 0
    }

    /// The journal's name of the downloaded parameter set.
    public static let parameterSetName = "tms-parameter-set"

    /// Loads the parameter set recorded in the journal (after a restart), verifying it again.
    public func restoreParameterSet() {
        guard let keyring = configuration.keyring,
            let saved = try? journal.withLock({ try $0.parameters(Self.parameterSetName) }),
            case .verified(let verified)? = try? ParameterPackage.verify(saved.content, keyring: keyring),
            let set = try? ParameterSet(verified, today: today())
        else { return }
        parameters.apply(set)
        logger.info("parameter set restored", metadata: ["version": "\(set.version)"])
    }

    /// One round with the host. Runs one at a time (a second call while one runs returns at once with a failure).
    public func synchronize() async -> Report {
        guard running.withLock({ value in defer { value = true }; return !value }) else {
            return Report(failure: "a synchronisation is already running")
        }
        defer { running.withLock { $0 = false } }
        var report = Report()
        let offers: [TerminalManagement.Offer]
        do {
            offers = try await client.offers()
        } catch {
            logger.warning("terminal management: the host could not be asked", metadata: ["error": "\(error)"])
            report.failure = "\(error)"
            try? store.withLock { try $0.setStockStale(true) }
            let checked = now()
            statusBox.withLock { $0.lastCheck = checked; $0.lastRound = "host unreachable" }
            return report
        }
        for offer in offers {
            switch offer.kind {
            case .parameters:
                guard let version = Int(offer.version), version > parameters.newestVersion, version > installedParameterVersion() else { continue }
                report.objects[offer.name] = await takeParameters(offer)
            case .catalogue:
                guard let version = Int(offer.version), version > ((try? store.withLock { try $0.catalogueVersion() }) ?? nil ?? -1) else { continue }
                report.objects[offer.name] = await takeCatalogue(offer, version: version)
            case .update:
                guard configuration.updateRoot != nil, let version = try? FirmwareVersion(parsing: offer.version),
                    configuration.firmwareVersion < version
                else { continue }
                statusBox.withLock { status in
                    if status.offeredUpdate?.name != offer.name {
                        status.offeredUpdate = OfferedUpdate(name: offer.name, version: offer.version, downloaded: 0, size: offer.size)
                    }
                }
                report.objects[offer.name] = await takeUpdate(offer)
            case .key:
                guard let keys, let version = Int(offer.version),
                    version > keys.withLock({ $0.keyVersion(TerminalKeys.pinKey) })
                else { continue }
                report.objects[offer.name] = await takeKey(offer, keys: keys)
            case .log:
                report.objects[offer.name] = await uploadLog(offer)
            }
        }
        report.stockSynced = await synchronizeStock()
        let checked = now()
        let summary = report.objects.isEmpty
            ? "nothing new"
            : report.objects.sorted { $0.key < $1.key }.map { "\($0.key) \(Self.describe($0.value))" }.joined(separator: ", ")
        statusBox.withLock { $0.lastCheck = checked; $0.lastRound = summary }
        return report
    }

    /// An outcome in a few ASCII words, for the screen.
    static func describe(_ outcome: Outcome) -> String {
        switch outcome {
        case .applied(let version): "applied v\(version)"
        case .staged(let version): "v\(version) pending"
        case .refused(let result, _): "refused \(result.rawValue)"
        case .waiting: "waiting"
        case .interrupted: "interrupted"
        }
    }

    // MARK: Parameters

    func takeParameters(_ offer: TerminalManagement.Offer) async -> Outcome {
        let path: String
        switch await download(offer) {
        case .success(let downloaded): path = downloaded
        case .failure(let box): return box.outcome
        }
        defer { unlink(path) }
        guard let keyring = configuration.keyring else {
            return await refuse(offer, .badSignature, "the terminal has no keyring to verify parameter sets with")
        }
        let bytes: [UInt8]
        let verification: ParameterPackage.Verification
        do {
            bytes = try TerminalManagementClient.readFile(path)
            verification = try ParameterPackage.verify(bytes, keyring: keyring)
        } catch {
            return await refuse(offer, .invalid, "cannot read the parameter set: \(error)")
        }
        let verified: VerifiedParameterSet
        switch verification {
        case .rejected(let reason, let detail):
            return await refuse(offer, reason.isSignatureProblem ? .badSignature : reason == .payloadHashMismatch ? .hashMismatch : .invalid, "\(reason.rawValue): \(detail)")
        case .verified(let set): verified = set
        }
        // The signed version decides, not the directory's claim.
        let installed = max(installedParameterVersion(), parameters.newestVersion)
        guard verified.version > installed else {
            return await refuse(offer, .notNewer, "version \(verified.version) is not newer than \(installed)")
        }
        let set: ParameterSet
        do {
            set = try ParameterSet(verified, today: today())
        } catch {
            return await refuse(offer, .invalid, "\(error)")
        }
        do {
            try journal.withLock { try $0.installParameters(Self.parameterSetName, version: verified.version, content: bytes, actor: "tms") }
        } catch {
            return await refuse(offer, .notNewer, "the journal refused version \(verified.version): \(error)")
        }
        let now = parameters.apply(set)
        logger.info(
            "parameter set \(now ? "applied" : "staged until the transaction in flight ends")",
            metadata: ["version": "\(verified.version)", "signer": "\(verified.keyName)"])
        setStatus(now ? "Parameters v\(verified.version) applied" : "Parameters v\(verified.version) pending")
        await sendReport(offer, .applied, now ? "applied" : "applied after the transaction in flight")
        return now ? .applied(version: "\(verified.version)") : .staged(version: "\(verified.version)")
    }

    /// The terminal settings that live outside the rails: the offline caps of the journal, the merchant name and the
    /// metered-download permission. Runs each time a set comes into force (``ActiveParameterSet/observeSwitches(_:)``).
    static func applySettings(_ settings: TerminalSettingsParameters, journal: Locked<TransactionJournal>, store: Locked<TerminalStore>) {
        journal.withLock { $0.policy = settings.applied(to: $0.policy) }
        try? store.withLock { try $0.setSetting("tms.merchant-name", settings.merchantName) }
        try? store.withLock { try $0.setSetting("tms.allow-metered-downloads", settings.allowMeteredDownloads ? "1" : "0") }
    }

    // MARK: Catalogue

    func takeCatalogue(_ offer: TerminalManagement.Offer, version: Int) async -> Outcome {
        let path: String
        switch await download(offer) {
        case .success(let downloaded): path = downloaded
        case .failure(let box): return box.outcome
        }
        defer { unlink(path) }
        let catalogue: ItemCatalogue
        do {
            catalogue = try ItemCatalogue(parsing: try TerminalManagementClient.readFile(path))
        } catch {
            return await refuse(offer, .invalid, "\(error)")
        }
        do {
            try store.withLock { store in
                try store.installCatalogue(
                    version: catalogue.version,
                    items: catalogue.items.map {
                        TerminalStore.StockedItem(
                            code: $0.code, nameChinese: $0.nameChinese, nameEnglish: $0.nameEnglish, priceMinor: $0.priceMinor,
                            taxClass: $0.taxClass, hostStock: $0.stock, localStock: $0.stock)
                    })
            }
        } catch {
            return await refuse(offer, .invalid, "cannot store the catalogue: \(error)")
        }
        setStatus("Catalogue v\(catalogue.version): \(catalogue.items.count) items")
        logger.info("catalogue installed", metadata: ["version": "\(catalogue.version)", "items": "\(catalogue.items.count)"])
        await sendReport(offer, .applied, "\(catalogue.items.count) items")
        return .applied(version: "\(catalogue.version)")
    }

    /// Records the lines of an approved item sale against stock at once (the local view goes down, online or
    /// offline) and reports them to the host right away; when it cannot be reached they go with the next round.
    public func recordItemSale(_ lines: [(code: String, quantity: Int)]) async {
        // The basket belongs to the sale just approved (payments run one at a time): a void of it restocks the items.
        let counter = saleCounter.withLock { value in value += 1; return value }
        let reference = ((try? store.withLock { try $0.latestApprovedSaleReference() }) ?? nil) ?? "items-\(now())-\(counter)"
        do {
            try store.withLock { try $0.recordItemSale(txnRef: reference, lines: lines, now: now()) }
        } catch {
            logger.error("cannot record the items sold", metadata: ["error": "\(error)"])
            return
        }
        _ = await synchronizeStock()
    }

    /// Puts the items of voided item sales back on the shelf and tells the host (after a void from the merchant menu).
    public func restockAfterVoid() async {
        let added = (try? store.withLock { try $0.restockVoidedSales(now: now()) }) ?? 0
        if added > 0 { _ = await synchronizeStock() }
    }

    /// The catalogue for the item sale screen, and whether the stock view is stale.
    public func saleItems() -> (items: [SaleItem], stale: Bool) {
        let items = (try? store.withLock { try $0.catalogueItems() }) ?? []
        let stale = (try? store.withLock { try $0.isStockStale() }) ?? true
        return (items.map { SaleItem(code: $0.code, nameChinese: $0.nameChinese, nameEnglish: $0.nameEnglish, price: $0.priceMinor, stock: $0.localStock) }, stale)
    }

    /// Reports the item sales not reported yet and takes the host's levels (host authority). Marks the local view
    /// stale when the host cannot be reached.
    public func synchronizeStock() async -> Bool? {
        guard (try? store.withLock({ try $0.catalogueVersion() })) ?? nil != nil else { return nil }
        let pending = try? store.withLock { store in
            try store.restockVoidedSales(now: now())
            return try store.unreportedStockChanges()
        }
        // The reference: terminal id and the highest sale (and return) id reported, so a repeat is not applied twice
        // by the host.
        let returns = (pending?.returnsThroughID ?? 0) > 0 ? "-R\(pending?.returnsThroughID ?? 0)" : ""
        let reference = "\(client.terminalID)-\(pending?.salesThroughID ?? 0)" + returns
        do {
            let changes = pending?.changes.map { (code: $0.code, change: $0.change) } ?? []
            let levels = try await client.stockReport(reference: reference, changes: changes)
            try store.withLock { try $0.applyHostStock(levels, reported: pending) }
            return true
        } catch {
            logger.warning("stock not synchronised: the local view is stale", metadata: ["error": "\(error)"])
            try? store.withLock { try $0.setStockStale(true) }
            return false
        }
    }

    // MARK: Update

    func takeUpdate(_ offer: TerminalManagement.Offer) async -> Outcome {
        guard let root = configuration.updateRoot, let keyring = configuration.keyring else { return .waiting("no update root") }
        let link = connectivity()
        let allowMetered = ((try? store.withLock { try $0.setting("tms.allow-metered-downloads") }) ?? nil) == "1"
        if link.isMetered && !allowMetered {
            setStatus("Update waits for Wi-Fi")
            logger.info("update download waits for an unmetered link", metadata: ["update": "\(offer.name)"])
            return .waiting("metered link: the parameters do not allow update downloads on it")
        }
        let path: String
        switch await download(offer) {
        case .success(let downloaded): path = downloaded
        case .failure(let box): return box.outcome
        }
        if let busy = preflight(root: root) {
            setStatus("Update pending")
            logger.info("update downloaded; install waits", metadata: ["reason": "\(busy)"])
            return .waiting(busy)
        }
        // The installer reads, hashes, writes and syncs a whole slot and waits for the update lock: on a thread of
        // its own, never on the cooperative pool.
        let board = configuration.board
        let restart = self.restart
        let installed: Result<InstallOutcome, any Error> = await HostAcquirerLink.offThread {
            let installer = Installer(root: root, board: board, keyring: keyring)
            do {
                return .success(try installer.install(packagePath: path, preflight: { self.preflight(root: root) }, restart: restart))
            } catch {
                return .failure(error)
            }
        }
        let outcome: InstallOutcome
        switch installed {
        case .success(let result): outcome = result
        case .failure(let error): return await refuse(offer, .invalid, "install failed: \(error)")
        }
        unlink(path)
        switch outcome {
        case .switched(let version, let slot):
            statusBox.withLock { $0.offeredUpdate = nil }
            logger.info("update installed", metadata: ["version": "\(version)", "slot": "\(slot)"])
            setStatus("Update \(version) installed")
            await sendReport(offer, .applied, "installed in slot \(slot); commits once healthy")
            return .applied(version: "\(version)")
        case .rejected(let reason, let detail):
            if reason == .notNow || reason == .updateInProgress || reason == .noSpace {
                return .waiting("\(reason.rawValue): \(detail)")
            }
            let result: TerminalManagement.Result =
                switch reason {
                case .unsigned, .badSignature, .unknownKey, .revokedKey: .badSignature
                case .olderVersion, .sameVersion, .belowMinimumVersion, .lowerSecurityCounter: .notNewer
                case .payloadHashMismatch, .sizeMismatch: .hashMismatch
                case .notAPackage, .truncated, .invalidManifest, .unsafePath, .wrongProduct, .wrongBoard, .updateInProgress, .notNow, .noSpace: .invalid
                }
            return await refuse(offer, result, "\(reason.rawValue): \(detail)")
        }
    }

    /// Why an update may not be installed now: a transaction in flight (this process's, or the store's view), or a
    /// store that cannot persist the offline queue.
    func preflight(root: String) -> String? {
        if parameters.isTransactionInFlight { return "a transaction is in flight" }
        return UpdatePreflight.check(storePath: configuration.storePath, root: root)
    }

    // MARK: Key download

    /// A new DUKPT initial key (docs/host-interface.md §13.5): the TR-31 block is checked and the PIN key replaced by
    /// ``KeyStore/replaceDUKPT(_:keyBlock:protectionKey:)`` between transactions (``ActiveParameterSet/betweenTransactions(_:)``:
    /// no chip transaction starts meanwhile). The key block is fetched into memory only and never logged.
    func takeKey(_ offer: TerminalManagement.Offer, keys: Locked<KeyStore>) async -> Outcome {
        let fetched: SecretBytes?
        do {
            // In memory only: the key block never lands in the state directory (TR-31 length field: at most 9999).
            fetched = try await client.fetch(offer, limit: 9999, chunkSize: configuration.chunkSize)
        } catch let error as TerminalManagementError where error.code == .storage {
            return await refuse(offer, .invalid, error.reason)
        } catch {
            logger.warning("key download interrupted", metadata: ["object": "\(offer.name)", "error": "\(error)"])
            return .interrupted("\(error)")
        }
        guard let fetched else { return await refuse(offer, .hashMismatch, "the download does not have the offered SHA-256") }
        // The key block is ciphertext under the KBPK, yet it is still never logged or echoed.
        let block = fetched.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let attempt: Result<KeyStore.DUKPTKeyDownload, KeyStoreError>? = parameters.betweenTransactions {
            keys.withLock { store in
                do {
                    return .success(try store.replaceDUKPT(TerminalKeys.pinKey, keyBlock: block, protectionKey: TerminalKeys.keyBlockProtectionKey))
                } catch let error as KeyStoreError {
                    return .failure(error)
                } catch {
                    return .failure(KeyStoreError(.io, "\(error)"))
                }
            }
        }
        switch attempt {
        case nil:
            setStatus("PIN key pending")
            logger.info("PIN key downloaded; it is loaded between transactions", metadata: ["object": "\(offer.name)"])
            return .waiting("a transaction is in flight")
        case .failure(let error)?:
            return await refuse(offer, .invalid, "the key store could not take the key: \(error.reason)")
        case .success(.refused(let refusal, let reason))?:
            let result: TerminalManagement.Result =
                switch refusal {
                case .notAuthentic: .badSignature
                case .malformed: .invalid
                case .wrongAttributes: .keyRefused
                case .notNewer: .notNewer
                }
            return await refuse(offer, result, reason)
        case .success(.replaced(let version, let serial))?:
            // The KSN is not secret (it travels in field 53); the key is never logged.
            logger.info("PIN key replaced", metadata: ["key-version": "\(version)", "initial-ksn": "\(Hex.encode(serial))"])
            setStatus("PIN key v\(version) loaded")
            await sendReport(offer, .applied, "DUKPT initial key version \(version) in force, initial KSN \(Hex.encode(serial))")
            return .applied(version: "\(version)")
        }
    }

    // MARK: Log upload

    /// Uploads the recent log lines on the host's request (docs/host-interface.md §13.6): the ring's lines, checked
    /// again (``LogRing/uploadText(_:)``), the newest `offer.size` bytes at most. The text is frozen in
    /// `DIRECTORY/NAME.upload` at the first try, so a resumed upload sends the same bytes; it is removed once the host
    /// holds them all, and the result goes up with `823`.
    func uploadLog(_ offer: TerminalManagement.Offer) async -> Outcome {
        let path = configuration.directory + "/" + offer.name + ".upload"
        _ = mkdir(configuration.directory, 0o700)
        var text = (try? TerminalManagementClient.readFile(path)) ?? []
        if access(path, F_OK) != 0 {
            text = LogRing.uploadText(logRing.contents())
            if text.count > offer.size {
                var tail = text.suffix(offer.size)
                if let newline = tail.firstIndex(of: 0x0A) { tail = tail[(newline + 1)...] }
                text = Array(tail)
            }
            do { try DurableFile.store(path, text) } catch { return await refuse(offer, .invalid, "cannot keep the log to upload: \(error)") }
        }
        do {
            try await client.upload(name: offer.name, bytes: text, chunkSize: configuration.chunkSize)
        } catch {
            logger.warning("log upload interrupted; it resumes", metadata: ["request": "\(offer.name)", "error": "\(error)"])
            return .interrupted("\(error)")
        }
        unlink(path)
        logger.info("log uploaded", metadata: ["request": "\(offer.name)", "bytes": "\(text.count)"])
        await sendReport(offer, .applied, "uploaded \(text.count) bytes")
        return .applied(version: offer.version)
    }

    // MARK: Helpers

    /// The object downloaded to a path, or the outcome that stops its turn.
    func download(_ offer: TerminalManagement.Offer) async -> Result<String, OutcomeBox> {
        let start = now()
        let name = offer.name
        let result: TerminalManagementClient.DownloadResult
        do {
            result = try await client.download(
                offer, into: configuration.directory, store: store, chunkSize: configuration.chunkSize, now: now
            ) { done, total in
                let percent = total > 0 ? done * 100 / total : 100
                self.setStatus("Downloading \(name) \(percent)%")
                if offer.kind == .update {
                    self.statusBox.withLock { status in
                        if status.offeredUpdate?.name == name { status.offeredUpdate?.downloaded = done }
                    }
                }
            }
        } catch {
            logger.warning("download interrupted; it resumes", metadata: ["object": "\(name)", "error": "\(error)"])
            setStatus("Download paused: \(name)")
            return .failure(OutcomeBox(.interrupted("\(error)")))
        }
        switch result {
        case .complete(let path):
            logger.info("downloaded", metadata: ["object": "\(name)", "bytes": "\(offer.size)", "seconds": "\(now() - start)"])
            return .success(path)
        case .hashMismatch:
            return .failure(OutcomeBox(await refuse(offer, .hashMismatch, "the download does not have the offered SHA-256")))
        }
    }

    /// An outcome as an error (for ``Result``).
    struct OutcomeBox: Error {
        let outcome: Outcome
        init(_ outcome: Outcome) { self.outcome = outcome }
    }

    func refuse(_ offer: TerminalManagement.Offer, _ result: TerminalManagement.Result, _ reason: String) async -> Outcome {
        logger.error("terminal management object refused", metadata: ["object": "\(offer.name)", "result": "\(result.rawValue)", "reason": "\(reason)"])
        let what =
            switch offer.kind {
            case .parameters: "Parameters"
            case .update: "Update"
            case .catalogue: "Catalogue"
            case .key: "PIN key"
            case .log: "Log upload"
            }
        setStatus("\(what) refused: \(reason)")
        await sendReport(offer, result, reason)
        return .refused(result, reason)
    }

    func sendReport(_ offer: TerminalManagement.Offer, _ result: TerminalManagement.Result, _ reason: String) async {
        do {
            try await client.report(name: offer.name, version: offer.version, result: result, reason: reason)
        } catch {
            logger.warning("result report not delivered", metadata: ["object": "\(offer.name)", "error": "\(error)"])
        }
    }

    func setStatus(_ line: String) { statusBox.withLock { $0.line = line } }
}
