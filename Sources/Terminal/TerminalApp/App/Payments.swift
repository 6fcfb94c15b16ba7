#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Codecs
import ContactlessKernel
import DeviceKit
import EMVKernel
import Logging
import PaymentCrypto
import Store
import Synchronization
import Uplink
import VirtualCards

/// The payment side of a run: the journal every rail writes to, the acquirer link, and the rails of the board.
///
/// On the simulator board the acquirer is the built-in simulator (``AcquirerServer``): our host protocol over mutual
/// TLS on 127.0.0.1 with a test PKI made at start-up, the virtual cards' issuers behind it, its ledger in the state
/// directory. Chip cards are the virtual cards named in the board profile, presented by name.
///
/// With `[network] acquirer = "host:port"` (any board) the acquirer is external: ``HostAcquirerLink`` with the client
/// certificate, key and pinned CA from `$TERMINAL_ACQUIRER_PKI_DIR` or `STATE/acquirer-pki` (ca.pem, client.pem,
/// client.key; board/README.md); without them ``UnprovisionedAcquirerLink``. ``makeUploader(connectivity:clock:logger:)``
/// builds the store-and-forward uploader on the same link. The QR rail runs on ``HostQRGatewayLink`` over the same
/// link (on the sim board to the built-in simulator's wallet gateway, ``QRGatewayHost``); fields 41 and 42 come from the
/// profile's `[payments]`, field 60 from the journal's open batch.
struct Payments {
    let rails: RailRegistry
    let journal: Locked<TransactionJournal>
    /// The acquirer the link monitor probes.
    let acquirerHost: String
    let acquirerPort: Int
    /// The acquirer over our host protocol, when there is one (not on a hardware board without credentials).
    let hostLink: HostAcquirerLink?
    let terminalID: String
    let merchantID: String
    let shutdown: @Sendable () -> Void
    /// Refunds and voids for the merchant menu (the QR rail's, on the sim board), or `nil`.
    var refunds: (any RefundService)? = nil
    /// The parameter set in force for the card rails; terminal management switches it between transactions.
    var activeParameters: ActiveParameterSet? = nil
    /// Prepaid card operations (issue, top-up, balance) for the merchant menu, or `nil`.
    var prepaid: PrepaidService? = nil
    /// The card-present step of card refunds (the card slot and the EMV parameters in force), when the board takes cards.
    var refundCardReader: CardRefundReader? = nil

    /// The store-and-forward uploader on ``hostLink`` (nil without one).
    /// - Parameter connectivity: the link state now; the sim board's built-in acquirer is always reachable.
    func makeUploader(connectivity: @escaping @Sendable () -> ConnectivityState, clock: any TerminalClock, logger: Logger) -> StoreAndForwardUploader? {
        guard let hostLink else { return nil }
        let uploader = StoreAndForwardUploader(
            configuration: .init(terminalID: terminalID, merchantID: merchantID, utcOffsetSeconds: Self.utcOffset()),
            journal: journal, link: hostLink, connectivity: connectivity, clock: { clock.unixTime() }, logger: logger)
        hostLink.setBeforeAuthorization { [weak uploader] in await uploader?.deliverDueReversals() }
        return uploader
    }

    static func open(
        profile: BoardProfile, state: StateDirectory, keys: Locked<KeyStore>, settings: Locked<TerminalStore>, cardReader: (any CardReaderDevice)?,
        clock: any TerminalClock, environment: [String: String], logger: Logger
    ) throws -> Payments {
        let random = SystemRandom()
        // The journal has a connection of its own to the store file (SQLite serialises the writers).
        let journal: Locked<TransactionJournal>
        do {
            let dataKey = try keys.withLock { try $0.secret(TerminalKeys.dataKey) }
            let store = try TerminalStore(path: state.storePath)
            let opened = try TransactionJournal(store: store, dataKey: dataKey, random: random, clock: { clock.unixTime() }, utcOffsetSeconds: Self.utcOffset())
            let report = try opened.recoverAfterRestart()
            if report.reversalsDue > 0 || report.failedPending > 0 {
                logger.warning("recovered after a restart", metadata: ["reversalsDue": "\(report.reversalsDue)", "failedPending": "\(report.failedPending)"])
            }
            journal = Locked(opened)
        } catch {
            throw RuntimeError(.store, "cannot open the transaction journal: \(error)")
        }

        // The acquirer.
        let link: any AcquirerLink
        var hostLink: HostAcquirerLink?
        let host: String
        let port: Int
        var stop: @Sendable () -> Void = {}
        // Fields 41 and 42 (and the idempotency keys), from the board profile's [payments] section.
        let terminalID = profile.payments.terminalID
        let merchantID = profile.payments.merchantID
        // Field 60 and the idempotency keys carry the journal's open batch.
        let openBatch: @Sendable () -> Int = { (try? journal.withLock { try $0.openBatch() }) ?? 1 }
        // The KBPK the MAC working keys arrive under (docs/host-interface.md §11); none: no financial message leaves.
        let kbpk = keys.withLock { store in
            store.names.contains(TerminalKeys.keyBlockProtectionKey) ? try? store.secret(TerminalKeys.keyBlockProtectionKey) : nil
        }
        if kbpk == nil {
            logger.error("no key block protection key (KBPK) in the key store: no MAC key, so no financial message will be sent to the acquirer")
        }
        if profile.network.acquirer == "builtin" {
            let pki: TLSTestCertificates
            let server: AcquirerServer
            do {
                pki = try TLSTestCertificates.generate(caName: "Simulator Acquirer TEST CA", clientName: terminalID)
                let issuers = try Self.testIssuers(profile: profile)
                let issuer = IssuerHost(
                    issuers: issuers, pinBaseDerivationKey: SecretBytes(hexEncoded: TerminalKeys.testBDK)!,
                    expectedPIN: { pan in VirtualCardProfile.allNames.contains { VirtualCardProfile.named($0)?.applications.contains { $0.pan == pan } == true } || VirtualContactlessField.isVirtualPAN(pan) ? VirtualCardProfile.testOnlyPIN : nil },
                    scriptedPANPrefixes: VirtualCardProfile.named("issuer-script")?.applications.map(\.pan) ?? [])
                let ledger = try AcquirerLedger(path: state.path + "/acquirer-ledger.sqlite")
                // The wallets' gateway behind the QR messages, on the terminal's clock; its ledger lines are appended
                // to STATE/qr-gateway-ledger.txt as well as booked in the SQLite ledger.
                let qrGateway = QRGatewayHost(
                    now: { clock.monotonicMilliseconds() },
                    onLedger: SimulatedQRGatewayLink.appendingLedger(to: state.path + "/qr-gateway-ledger.txt"))
                var serverConfiguration = AcquirerServer.Configuration(
                    identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM,
                    fault: AcquirerServer.Fault(rawValue: environment["TERMINAL_ACQUIRER_FAULT"] ?? "none") ?? .none,
                    lateAnswerDelay: .milliseconds(Int64(environment["TERMINAL_ACQUIRER_LATE_MS"].flatMap { Int($0) } ?? 20_000)))
                // Terminal management objects the simulated host offers (docs/terminal-management.md).
                serverConfiguration.terminalManagement = environment["TERMINAL_TMS_DIR"].flatMap { $0.isEmpty ? nil : TerminalManagementHost(
                    directory: $0, pinBaseDerivationKey: SecretBytes(hexEncoded: TerminalKeys.testBDK), keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey) }
                server = try AcquirerServer(configuration: serverConfiguration, issuer: issuer, ledger: ledger, qrGateway: qrGateway)
            } catch {
                throw RuntimeError(.device, "cannot start the acquirer simulator: \(error)")
            }
            let tls: TLSContext
            do {
                tls = try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM)
            } catch {
                throw RuntimeError(.device, "cannot set up TLS to the acquirer simulator: \(error)")
            }
            host = "127.0.0.1"
            port = server.port
            let builtin = HostAcquirerLink(
                configuration: .init(host: host, port: port, tls: tls, terminalID: terminalID, merchantID: merchantID,
                                     responseTimeout: .milliseconds(Int64(environment["TERMINAL_RESPONSE_TIMEOUT_MS"].flatMap { Int($0) } ?? 15_000)),
                                     batchNumber: openBatch, keyBlockProtectionKey: kbpk),
                logger: logger)
            link = builtin
            hostLink = builtin
            stop = { server.shutdown() }
            logger.info("acquirer simulator listening (mutual TLS)", metadata: ["address": "127.0.0.1:\(server.port)"])
        } else {
            let parts = profile.network.acquirer.split(separator: ":")
            host = String(parts[0])
            port = Int(parts[1]) ?? 0
            // An external acquirer: the client certificate, its key and the pinned CA (docs/host-interface.md §1.1).
            let directory = environment["TERMINAL_ACQUIRER_PKI_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? state.path + "/acquirer-pki"
            let files = [directory + "/ca.pem", directory + "/client.pem", directory + "/client.key"]
            if files.allSatisfy({ access($0, R_OK) == 0 }) {
                do {
                    let tls = try TLSContext.client(
                        identity: TLSIdentity(certificateChainPEM: try readCredentialFile(files[1]), privateKeyPEM: SecretBytes(try readCredentialFile(files[2]))),
                        trustedCAPEM: try readCredentialFile(files[0]))
                    let external = HostAcquirerLink(
                        configuration: .init(
                            host: host, port: port, tls: tls, terminalID: terminalID, merchantID: merchantID,
                            connectTimeout: .milliseconds(Int64(environment["TERMINAL_CONNECT_TIMEOUT_MS"].flatMap { Int($0) } ?? 5_000)),
                            responseTimeout: .milliseconds(Int64(environment["TERMINAL_RESPONSE_TIMEOUT_MS"].flatMap { Int($0) } ?? 15_000)),
                            peerName: environment["TERMINAL_ACQUIRER_PEER_NAME"].flatMap { $0.isEmpty ? nil : $0 },
                            batchNumber: openBatch, keyBlockProtectionKey: kbpk),
                        logger: logger)
                    link = external
                    hostLink = external
                    logger.info("acquirer over mutual TLS", metadata: ["address": "\(host):\(port)", "credentials": "\(directory)"])
                } catch {
                    throw RuntimeError(.device, "cannot set up TLS to the acquirer with \(directory): \(error)")
                }
            } else {
                logger.warning("acquirer link not provisioned: sales decide offline", metadata: ["credentials": "\(directory)"])
                link = UnprovisionedAcquirerLink()
            }
        }

        var rails = RailRegistry()
        var refunds: (any RefundService)?
        var activeParameters: ActiveParameterSet?
        var refundCardReader: CardRefundReader?
        if profile.payments.methods.contains(.card), let file = profile.payments.emvParameters {
            let parameters = try Self.loadParameters(file, clock: clock)
            activeParameters = ActiveParameterSet(ParameterSet(version: 0, emv: parameters, settings: nil))
            let connect: @Sendable (Presentation) throws -> any CardConnection
            if let reader = cardReader {
                connect = { _ in try reader.connect(.contact) }
            } else if profile.kind == .simulator {
                let cards = VirtualCardSet()
                connect = { presentation in
                    guard case .inserted(let name) = presentation else { throw RuntimeError(.device, "not a card insertion") }
                    return try cards.connect(name)
                }
            } else {
                connect = { _ in throw RuntimeError(.device, "this board has no card reader") }
            }
            let journalSeam = StoreRailJournal(journal: journal, settings: settings, random: random, currencyCode: profile.merchant.currency.numericCode)
            var railConfiguration = EMVContactRail.Configuration(
                parameters: parameters, currency: profile.merchant.currency, merchantName: profile.merchant.name,
                pinKeyName: TerminalKeys.pinKey, traceDirectory: profile.kind == .simulator ? state.path + "/apdu-trace" : nil)
            railConfiguration.activeParameters = activeParameters
            let contact = EMVContactRail(
                configuration: railConfiguration,
                connect: connect, acquirer: link, journal: journalSeam, keys: keys, clock: clock, random: random, logger: logger)
            rails.register(contact)
            // Contactless (docs/contactless.md): the reader's field, or the sim's virtual cards and phones.
            let field: @Sendable (String) throws -> ContactlessFieldPresence
            if let reader = cardReader {
                // A PC/SC reader serves one slot; a contactless reader presents its card like a contact one (PC/SC
                // part 3), so a reader configured for the other slot is asked for that one.
                field = { _ in
                    let connection: any CardConnection
                    do { connection = try reader.connect(.contactless) } catch { connection = try reader.connect(.contact) }
                    return .card(connection, modelledMicroseconds: nil)
                }
            } else {
                let virtualField = VirtualContactlessField()
                field = { try virtualField.present($0) }
            }
            var contactlessConfiguration = ContactlessRail.Configuration(
                parameters: ContactlessParameters(terminal: parameters, combinations: ContactlessCombination.standard(limits: ContactlessRail.Configuration.simulatorLimits)),
                currency: profile.merchant.currency, merchantName: profile.merchant.name, pinKeyName: TerminalKeys.pinKey)
            contactlessConfiguration.activeParameters = activeParameters
            var refundReader = CardRefundReader(
                connect: connect, parameters: { [activeParameters] in activeParameters?.current.emv ?? parameters },
                clock: clock, random: random, logger: logger)
            refundReader.sequenceCounter = TransactionSequenceCounter(store: settings)
            refundReader.contactless = .init(present: field, combinations: ContactlessCombination.standard(limits: ContactlessRail.Configuration.simulatorLimits))
            refundCardReader = refundReader
            rails.register(ContactlessRail(
                configuration: contactlessConfiguration,
                connect: field, acquirer: link, journal: journalSeam, keys: keys, clock: clock, random: random, logger: logger,
                fallback: contact))
        }
        if profile.payments.methods.contains(.qr) {
            let journalSeam = StoreRailJournal(journal: journal, settings: settings, random: random, currencyCode: profile.merchant.currency.numericCode)
            let lookup = StoreQRTransactionLookup(journal: journal, utcOffsetSeconds: Self.utcOffset())
            // QR payments go online over the host link (docs/host-interface.md §4.10): on the sim board to the built-in
            // acquirer simulator's wallet gateway, elsewhere to the external acquirer. No link, no QR rail (there is no
            // offline QR payment).
            if let hostLink {
                let simulator = profile.kind == .simulator
                let rail = QRRail.standard(
                    journal: journalSeam, currency: profile.merchant.currency, merchantName: profile.merchant.name,
                    merchantCity: profile.merchant.city, merchantNameChinese: simulator ? "模拟商户" : nil,
                    merchantCityChinese: simulator ? "上海" : nil, terminalLabel: terminalID,
                    gateway: HostQRGatewayLink(link: hostLink, now: { clock.unixTime() }, utcOffsetSeconds: Self.utcOffset()),
                    lookup: lookup)
                rails.register(rail)
                refunds = QRRefundService(rail: rail, lookup: lookup)
            }
        }
        var prepaid: PrepaidService?
        if profile.payments.methods.contains(.prepaid) {
            prepaid = try PrepaidService.open(
                profile: profile, keys: keys, settings: settings, journal: journal, link: hostLink, cardReader: cardReader,
                terminalID: terminalID, merchantID: merchantID, clock: clock, logger: logger, activeParameters: activeParameters)
            if let prepaid { rails.register(PrepaidRail(service: prepaid, simulatorNames: profile.kind == .simulator)) }
        }
        return Payments(
            rails: rails, journal: journal, acquirerHost: host, acquirerPort: port, hostLink: hostLink, terminalID: terminalID,
            merchantID: merchantID, shutdown: stop, refunds: refunds, activeParameters: activeParameters, prepaid: prepaid,
            refundCardReader: refundCardReader)
    }


    /// The EMV parameters file; a file that does not load stops the start (exit 78: configuration).
    static func loadParameters(_ file: String, clock: any TerminalClock) throws -> TerminalParameters {
        let text = try TerminalRuntime.readTextFile(file)
        let now = clock.localDateTime()
        let today = EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 1, day: 1)!
        do {
            return try TerminalParameters.parse(text, today: today)
        } catch {
            throw RuntimeError(.boardProfile, "\(file): \(error)")
        }
    }

    /// The issuers the simulator knows: `test-issuers.toml` beside the board profile, else the built-in copy.
    static func testIssuers(profile: BoardProfile) throws -> TestIssuers {
        if let parameters = profile.payments.emvParameters, let slash = parameters.lastIndex(of: "/") {
            let file = String(parameters[..<slash]) + "/test-issuers.toml"
            if access(file, R_OK) == 0 { return try TestIssuers.parse(try TerminalRuntime.readTextFile(file)) }
        }
        return TestIssuers.builtIn
    }

    /// Seconds east of UTC of the local time zone now.
    static func utcOffset() -> Int64 {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return Int64(parts.tm_gmtoff)
    }
}

/// The virtual cards of a simulator run, by name: each card keeps its state (ATC, PIN tries, blocked) across
/// insertions for the life of the run.
final class VirtualCardSet: @unchecked Sendable {
    // Guarded by `lock`; the cards themselves are used by one payment at a time.
    private var cards: [String: VirtualCard] = [:]
    private let lock = Mutex(())

    func connect(_ name: String) throws -> any CardConnection {
        var found: VirtualCard?
        var failure: (any Error)?
        lock.withLock { _ in
            if let card = cards[name] {
                card.reset()
                found = card
                return
            }
            guard let profile = VirtualCardProfile.named(name) else {
                failure = RuntimeError(.device, "no virtual card '\(name)'; the sim knows \(VirtualCardProfile.allNames.joined(separator: ", "))")
                return
            }
            do {
                let card = try VirtualCard(profile: profile, random: SystemRandom())
                cards[name] = card
                found = card
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        guard let card = found else { throw RuntimeError(.device, "virtual card '\(name)' unavailable") }
        return VirtualCardConnection(card: card)
    }
}

/// A hardware board's acquirer before its host link is provisioned: every authorisation is "unreachable", so chip
/// sales decide offline within the caps.
struct UnprovisionedAcquirerLink: AcquirerLink {
    func authorize(_ request: AuthorizationRequest) async -> AuthorizationReply { .unreachable("acquirer link not provisioned") }
}

/// A small file's bytes (PEM credentials).
private func readCredentialFile(_ path: String) throws -> [UInt8] {
    do { return try DurableFile.readAll(path) } catch { throw RuntimeError(.device, "\(path): \(error.reason)") }
}
