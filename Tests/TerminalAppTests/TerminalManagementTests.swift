#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Codecs
import EMVKernel
import Logging
import PaymentCrypto
import Store
@testable import TerminalApp
import TestKit
import Testing
import UpdatePackage
import Updater
import Uplink
import VirtualCards

/// Terminal management against the real acquirer simulator over mutual TLS on loopback: its TMS service serving a
/// directory, a real store file, real signatures. docs/terminal-management.md.
@Suite(.serialized) struct TerminalManagementTests {
    static let root = repositoryRoot()
    static let today = EMVDate(year: 2026, month: 11, day: 27)!

    final class Rig {
        let directory: String
        let tmsDirectory: String
        let host: TerminalManagementHost
        let pki: TLSTestCertificates
        var server: AcquirerServer
        var link: HostAcquirerLink
        let store: Locked<TerminalStore>
        let journal: Locked<TransactionJournal>
        let release: Ed25519.PrivateKey
        let stranger: Ed25519.PrivateKey
        let keyring: Keyring
        let parameters: ActiveParameterSet
        let stan = Locked(0)
        var connectivity = Locked(ConnectivityState.online(via: .wifi, interface: "lo"))
        let updateRoot: String

        init() throws {
            directory = try makeTemporaryDirectory("tms")
            tmsDirectory = directory + "/served"
            updateRoot = directory + "/root"
            _ = mkdir(tmsDirectory, 0o755)
            _ = mkdir(updateRoot, 0o755)
            host = TerminalManagementHost(directory: tmsDirectory)
            pki = try TLSTestCertificates.generate(clientName: "SIM00001")
            (server, link) = try Self.start(host: host, pki: pki, directory: directory)
            let path = directory + "/terminal.sqlite"
            store = Locked(try TerminalStore(path: path))
            journal = Locked(try TransactionJournal(
                store: try TerminalStore(path: path), dataKey: SecretBytes([UInt8](repeating: 0x42, count: 32)), random: SystemRandom(),
                clock: { Int64(time(nil)) }))
            release = try Ed25519.PrivateKey()
            stranger = try Ed25519.PrivateKey()
            keyring = try Keyring(keys: [("release", .ed25519(try release.publicKey()))])
            try writeTextFile(updateRoot + "/keyring.toml", keyring.rendered())
            let emv = try TerminalParameters.parse(try readTextFile(TerminalManagementTests.root + "/board/sim/emv-parameters.toml"), today: TerminalManagementTests.today)
            parameters = ActiveParameterSet(ParameterSet(version: 0, emv: emv, settings: nil))
        }

        static func start(host: TerminalManagementHost, pki: TLSTestCertificates, directory: String) throws -> (AcquirerServer, HostAcquirerLink) {
            let issuer = IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(zeros: 16), expectedPIN: { _ in nil })
            var configuration = AcquirerServer.Configuration(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM)
            configuration.terminalManagement = host
            let server = try AcquirerServer(configuration: configuration, issuer: issuer, ledger: try AcquirerLedger(path: directory + "/ledger.sqlite"))
            let link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port, tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: "SIM00001", merchantID: "898310048990001", responseTimeout: .milliseconds(2000), keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "test"))
            return (server, link)
        }

        /// The host goes away and comes back on a new port (the same TMS state, as a restarted host).
        func restartHost() throws {
            server.shutdown()
            (server, link) = try Self.start(host: host, pki: pki, directory: directory)
        }

        var client: TerminalManagementClient {
            let stan = self.stan
            return TerminalManagementClient(
                transport: link, terminalID: "SIM00001", merchantID: "898310048990001",
                nextSTAN: { stan.withLock { value in value = value % 999_999 + 1; return value } },
                transmissionTime: { HostDateTime(month: 11, day: 27, hour: 9, minute: 30, second: 0) })
        }

        func service(firmware: String = "1.0.0", chunkSize: Int = TerminalManagement.maximumChunk) throws -> TerminalManagementService {
            let connectivity = self.connectivity
            return TerminalManagementService(
                configuration: .init(
                    directory: directory + "/downloads", keyring: keyring, updateRoot: updateRoot, board: "sim",
                    firmwareVersion: try FirmwareVersion(parsing: firmware), storePath: directory + "/terminal.sqlite", chunkSize: chunkSize),
                client: client, store: store, journal: journal, parameters: parameters, connectivity: { connectivity.withLock { $0 } },
                today: { TerminalManagementTests.today }, now: { Int64(time(nil)) }, logger: Logger(label: "test"))
        }

        func publish(_ name: String, _ bytes: [UInt8]) throws {
            try writeTextFile(tmsDirectory + "/" + name, "")
            let fd = open(tmsDirectory + "/" + name, O_WRONLY | O_TRUNC | O_CLOEXEC)
            defer { close(fd) }
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }

        func unpublish(_ name: String) { unlink(tmsDirectory + "/" + name) }

        /// A parameter set signed by `signer` (release by default).
        func parameterSet(version: Int, merchant: String, floorLimit: Int = 2000, signer: Ed25519.PrivateKey? = nil, allowMetered: Bool = false) throws -> [UInt8] {
            let emv = Array(try readTextFile(TerminalManagementTests.root + "/board/sim/emv-parameters.toml").utf8)
            let terminal = Array("merchant-name = \"\(merchant)\"\nlanguage = \"en\"\noffline-floor-limit = \(floorLimit)\nallow-metered-downloads = \(allowMetered)\n".utf8)
            let key = signer ?? release
            return try ParameterPackage.build(version: version, payloads: [("emv", emv), ("terminal", terminal)]) { manifest in
                [try ParameterPackage.ed25519Signature(manifest, key: key)]
            }
        }

        deinit {
            server.shutdown()
            removeTree(directory)
        }
    }

    @Test func parameterSetAppliedMidDayWithoutDisturbingATransactionInFlight() async throws {
        let rig = try Rig()
        try rig.publish("parameters-1.tpar", try rig.parameterSet(version: 1, merchant: "Morning Store", floorLimit: 1000))
        let first = try await rig.service().synchronize()
        #expect(first.objects["parameters-1.tpar"] == .applied(version: "1"), "\(first)")
        #expect(rig.parameters.current.settings?.merchantName == "Morning Store")
        #expect(rig.journal.withLock { $0.policy.floorLimitMinor } == 1000)

        // Mid-day: a transaction is in flight with set 1 when set 2 arrives.
        let snapshot = rig.parameters.beginTransaction()
        try rig.publish("parameters-2.tpar", try rig.parameterSet(version: 2, merchant: "Afternoon Store", floorLimit: 3000))
        let second = try await rig.service().synchronize()
        #expect(second.objects["parameters-2.tpar"] == .staged(version: "2"), "\(second)")
        #expect(snapshot.version == 1 && snapshot.settings?.merchantName == "Morning Store", "the transaction keeps its set")
        #expect(rig.parameters.current.version == 1, "nothing switches under a transaction")
        #expect(rig.parameters.beginTransaction().version == 1, "a transaction starting now still gets the set in force")
        rig.parameters.endTransaction()
        #expect(rig.parameters.current.version == 1)
        rig.parameters.endTransaction()
        #expect(rig.parameters.current.version == 2, "the set comes into force when the last transaction ends")
        #expect(rig.parameters.current.settings?.merchantName == "Afternoon Store")
        #expect(rig.journal.withLock { $0.policy.floorLimitMinor } == 3000, "a staged set's settings come with it")
        #expect(try rig.journal.withLock { try $0.parameters(TerminalManagementService.parameterSetName)?.version } == 2)

        // Reported back, and not downloaded again.
        #expect(rig.host.reports.map(\.result) == [.applied, .applied])
        #expect(rig.host.reports.map(\.name) == ["parameters-1.tpar", "parameters-2.tpar"])
        let third = try await rig.service().synchronize()
        #expect(third.objects.isEmpty, "\(third)")

        // After a restart the set in force is read back from the journal and verified again.
        let restarted = ActiveParameterSet(ParameterSet(version: 0, emv: nil, settings: nil))
        let service = TerminalManagementService(
            configuration: .init(
                directory: rig.directory + "/downloads", keyring: rig.keyring, updateRoot: nil, board: "sim",
                firmwareVersion: try FirmwareVersion(parsing: "1.0.0"), storePath: rig.directory + "/terminal.sqlite"),
            client: rig.client, store: rig.store, journal: rig.journal, parameters: restarted, connectivity: { .offline },
            today: { Self.today }, now: { 0 }, logger: Logger(label: "test"))
        service.restoreParameterSet()
        #expect(restarted.current.version == 2 && restarted.current.emv != nil)
    }

    @Test func badSignatureIsRefusedReportedAndShown() async throws {
        let rig = try Rig()
        try rig.publish("parameters-5.tpar", try rig.parameterSet(version: 5, merchant: "Forged", signer: rig.stranger))
        let service = try rig.service()
        let report = await service.synchronize()
        guard case .refused(.badSignature, let reason)? = report.objects["parameters-5.tpar"] else {
            Issue.record("not refused for its signature: \(report)")
            return
        }
        #expect(reason.contains("unknownKey"))
        #expect(rig.parameters.current.version == 0 && rig.parameters.current.settings == nil)
        #expect(try rig.journal.withLock { try $0.parameters(TerminalManagementService.parameterSetName) } == nil)
        #expect(rig.host.reports.last?.result == .badSignature && rig.host.reports.last?.version == "5")
        #expect(service.status.line.contains("refused"), "\(service.status.line)")

        // A correctly signed package whose bytes were altered after signing: the signature no longer covers them.
        var tampered = try rig.parameterSet(version: 6, merchant: "Tampered")
        let header = try UnverifiedUpdatePackage(header: tampered[...])
        tampered[header.headerLength - 70] ^= 0x01  // inside the signature
        rig.unpublish("parameters-5.tpar")
        try rig.publish("parameters-6.tpar", tampered)
        let second = await service.synchronize()
        guard case .refused(.badSignature, _)? = second.objects["parameters-6.tpar"] else {
            Issue.record("a broken signature was not refused: \(second)")
            return
        }
        #expect(rig.parameters.current.version == 0)
    }

    @Test func olderVersionIsRefused() async throws {
        let rig = try Rig()
        try rig.publish("parameters-3.tpar", try rig.parameterSet(version: 3, merchant: "Three"))
        #expect(try await rig.service().synchronize().objects["parameters-3.tpar"] == .applied(version: "3"))
        // The directory claims 4, the signed set inside is 2 (a replayed old set): refused by its signed version.
        rig.unpublish("parameters-3.tpar")
        try rig.publish("parameters-4.tpar", try rig.parameterSet(version: 2, merchant: "Two"))
        let report = try await rig.service().synchronize()
        guard case .refused(.notNewer, _)? = report.objects["parameters-4.tpar"] else {
            Issue.record("an older signed version was not refused: \(report)")
            return
        }
        #expect(rig.parameters.current.version == 3 && rig.parameters.current.settings?.merchantName == "Three")
        #expect(rig.host.reports.last?.result == .notNewer)
        // A directory offering an older version is not even downloaded.
        rig.unpublish("parameters-4.tpar")
        try rig.publish("parameters-1.tpar", try rig.parameterSet(version: 1, merchant: "One"))
        let quiet = try await rig.service().synchronize()
        #expect(quiet.objects.isEmpty)
    }

    @Test func downloadResumesAfterADroppedConnection() async throws {
        let rig = try Rig()
        var object = [UInt8](repeating: 0, count: 20_000)
        var random = SplitMix(state: 7)
        for index in object.indices { object[index] = UInt8(truncatingIfNeeded: random.next()) }
        try rig.publish("update-1.1.0.tpkg", object)
        let offers = try await rig.client.offers()
        let offer = try #require(offers.first { $0.kind == .update })
        let digest = try SHA256.hash(object)
        #expect(offer.size == 20_000 && offer.sha256 == digest)

        // The host drops the connection mid-answer after a few chunks.
        let server = rig.server
        let counter = Locked(0)
        await #expect(throws: TerminalManagementError.self) {
            _ = try await rig.client.download(offer, into: rig.directory + "/downloads", store: rig.store, chunkSize: 500, now: { 0 }) { done, _ in
                if counter.withLock({ value in value += 1; return value }) == 6 { server.setFault(.dropMidResponse) }
                _ = done
            }
        }
        let saved = try #require(try rig.store.withLock { try $0.downloadProgress(offer.name) })
        #expect(saved.bytesDone == 2_500, "five chunks of 500 synced before the drop: \(saved.bytesDone)")

        // "Reboot": a new store connection and client; the download resumes from the saved progress.
        rig.server.setFault(.none)
        let reopened = Locked(try TerminalStore(path: rig.directory + "/terminal.sqlite"))
        let firstOffset = Locked(-1)
        let result = try await rig.client.download(offer, into: rig.directory + "/downloads", store: reopened, chunkSize: 500, now: { 0 }) { done, _ in
            firstOffset.withLock { if $0 < 0 { $0 = done } }
        }
        #expect(firstOffset.withLock { $0 } == 2_500)
        #expect(result == .complete(path: rig.directory + "/downloads/update-1.1.0.tpkg"))
        #expect(try DurableFile.readAll(rig.directory + "/downloads/update-1.1.0.tpkg", limit: 1 << 20) == object)
        #expect(try reopened.withLock { try $0.downloadProgress(offer.name) } == nil)

        // An object whose bytes do not have the offered SHA-256 is thrown away.
        var lying = offer
        lying.name = "update-1.1.1.tpkg"
        lying.sha256 = try SHA256.hash([1, 2, 3])
        try rig.publish("update-1.1.1.tpkg", object)
        let mismatch = try await rig.client.download(lying, into: rig.directory + "/downloads", store: reopened, chunkSize: 960, now: { 0 })
        #expect(mismatch == .hashMismatch)
        #expect(access(rig.directory + "/downloads/update-1.1.1.tpkg", F_OK) != 0)
    }

    @Test func updateOfferedDownloadedAndInstalledOnATestRoot() async throws {
        let rig = try Rig()
        // An installer holds the update lock for its life (one per process): each step takes its own.
        func installer() -> Installer { Installer(root: rig.updateRoot, board: "sim", keyring: rig.keyring, healthDeadlineSeconds: 120) }
        // The device runs 1.0.0.
        try rig.publish("v1.tpkg", try Self.updatePackage(version: "1.0.0", key: rig.release))
        do {
            let provisioning = installer()
            guard case .switched = try provisioning.install(packagePath: rig.tmsDirectory + "/v1.tpkg") else { throw TestKitError("provisioning failed") }
            _ = try provisioning.boot()
            guard case .committed = try provisioning.commit() else { throw TestKitError("provisioning did not commit") }
        }
        rig.unpublish("v1.tpkg")

        try rig.publish("update-1.1.0.tpkg", try Self.updatePackage(version: "1.1.0", key: rig.release))
        // On a metered link, without the parameters' permission, nothing is fetched.
        rig.connectivity.withLock { $0 = .online(via: .cellular, metered: true, interface: "wwan0") }
        let service = try rig.service()
        let waiting = await service.synchronize()
        guard case .waiting? = waiting.objects["update-1.1.0.tpkg"] else {
            Issue.record("downloaded on a metered link: \(waiting)")
            return
        }
        #expect(try rig.store.withLock { try $0.downloadProgress("update-1.1.0.tpkg") } == nil)

        // While a transaction is in flight it downloads but does not install.
        rig.connectivity.withLock { $0 = .online(via: .wifi, interface: "wlan0") }
        _ = rig.parameters.beginTransaction()
        let busy = await service.synchronize()
        guard case .waiting(let why)? = busy.objects["update-1.1.0.tpkg"] else {
            Issue.record("installed during a transaction: \(busy)")
            return
        }
        #expect(why.contains("in flight"))
        rig.parameters.endTransaction()

        let installed = await service.synchronize()
        #expect(installed.objects["update-1.1.0.tpkg"] == .applied(version: "1.1.0"), "\(installed)")
        let state = try installer().status()
        #expect(state.rendered().contains("1.1.0"), "\(state.rendered())")
        #expect(rig.host.reports.last?.result == .applied && rig.host.reports.last?.name == "update-1.1.0.tpkg")

        // The restart runs 1.1.0, which reports healthy and commits.
        do {
            let restarted = installer()
            _ = try restarted.boot()
            guard case .committed(let version) = try restarted.commit(), version == (try FirmwareVersion(parsing: "1.1.0")) else { throw TestKitError("1.1.0 did not commit") }
        }

        // A forged update is refused before anything is written, and reported.
        try rig.publish("update-1.2.0.tpkg", try Self.updatePackage(version: "1.2.0", key: rig.stranger))
        let forged = try await rig.service(firmware: "1.1.0").synchronize()
        guard case .refused(.badSignature, _)? = forged.objects["update-1.2.0.tpkg"] else {
            Issue.record("a forged update was not refused: \(forged)")
            return
        }
        #expect(rig.host.reports.last?.result == .badSignature)

        // A parameter set that allows metered downloads lets the next update come over cellular.
        rig.unpublish("update-1.2.0.tpkg")
        try rig.publish("update-1.3.0.tpkg", try Self.updatePackage(version: "1.3.0", key: rig.release))
        try rig.publish("parameters-1.tpar", try rig.parameterSet(version: 1, merchant: "Cellular", allowMetered: true))
        rig.connectivity.withLock { $0 = .online(via: .cellular, metered: true, interface: "wwan0") }
        let metered = try await rig.service(firmware: "1.1.0").synchronize()
        #expect(metered.objects["parameters-1.tpar"] == .applied(version: "1"))
        #expect(metered.objects["update-1.3.0.tpkg"] == .applied(version: "1.3.0"), "\(metered)")
    }

    @Test func stockAfterOfflineSalesAndResync() async throws {
        let rig = try Rig()
        let catalogue = ItemCatalogue(version: 1, items: [
            .init(code: "A001", nameChinese: "矿泉水", nameEnglish: "Water", priceMinor: 250, taxClass: "A", stock: 10),
            .init(code: "B002", nameChinese: "面包", nameEnglish: "Bread", priceMinor: 800, taxClass: "B", stock: 5),
        ])
        try rig.publish("catalogue-1.toml", Array(catalogue.rendered().utf8))
        let first = try await rig.service().synchronize()
        #expect(first.objects["catalogue-1.toml"] == .applied(version: "1") && first.stockSynced == true, "\(first)")
        #expect(try rig.store.withLock { try $0.catalogueItems() }.map(\.localStock) == [10, 5])
        #expect(try rig.store.withLock { try $0.isStockStale() } == false)

        // Offline: two sales; stock goes down locally at once, the view is stale.
        rig.server.shutdown()
        try rig.store.withLock { try $0.recordItemSale(txnRef: "T1", lines: [("A001", 3)], now: 1) }
        try rig.store.withLock { try $0.recordItemSale(txnRef: "T2", lines: [("A001", 1), ("B002", 1)], now: 2) }
        let offline = try await rig.service().synchronize()
        #expect(offline.failure != nil)
        #expect(try rig.store.withLock { try $0.isStockStale() } == true)
        #expect(try rig.store.withLock { try $0.catalogueItems() }.map(\.localStock) == [6, 4])

        // Meanwhile the back office booked a delivery of bread: the host's count wins.
        rig.host.setStock("B002", 20)
        try rig.restartHost()
        let back = try await rig.service().synchronize()
        #expect(back.stockSynced == true, "\(back)")
        let items = try rig.store.withLock { try $0.catalogueItems() }
        #expect(items.map(\.hostStock) == [6, 19], "the host applied the sales: \(items)")
        #expect(items.map(\.localStock) == [6, 19])
        #expect(try rig.store.withLock { try $0.isStockStale() } == false)
        #expect(rig.host.stockLevels == ["A001": 6, "B002": 19])

        // Synchronising again changes nothing (sales are reported once).
        _ = try await rig.service().synchronize()
        #expect(rig.host.stockLevels == ["A001": 6, "B002": 19])
        #expect(try rig.store.withLock { try $0.catalogueItems() }.map(\.localStock) == [6, 19])
    }

    /// On the sim board, end to end: the built-in host offers a signed parameter set and a catalogue; the merchant
    /// sells two loaves from the item sale screen with a chip card; the stock goes down and the host learns it.
    @Test func itemSaleOnTheSimBoard() throws {
        let directory = try makeTemporaryDirectory("tms-sim")
        defer { removeTree(directory) }
        let served = directory + "/served", state = directory + "/state"
        _ = mkdir(served, 0o755)
        _ = mkdir(state, 0o700)
        let release = try Ed25519.PrivateKey()
        try writeTextFile(state + "/keyring.toml", try Keyring(keys: [("release", .ed25519(try release.publicKey()))]).rendered())
        let terminalSettings = Array("merchant-name = \"Item Shop\"\nlanguage = \"zh-CN\"\n".utf8)
        let set = try ParameterPackage.build(version: 2, payloads: [("terminal", terminalSettings)]) { [try ParameterPackage.ed25519Signature($0, key: release)] }
        let catalogue = ItemCatalogue(version: 1, items: [
            .init(code: "A001", nameChinese: "矿泉水", nameEnglish: "Water", priceMinor: 250, taxClass: "A", stock: 10),
            .init(code: "B002", nameChinese: "面包", nameEnglish: "Bread", priceMinor: 800, taxClass: "B", stock: 5),
        ])
        try writeTextFile(served + "/catalogue-1.toml", catalogue.rendered())
        let fd = open(served + "/parameters-2.tpar", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        _ = set.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        // Once the catalogue is in (the idle screen says so), the main menu, the item sale (6th entry on the sim
        // board, after the merchant and prepaid menus), DOWN to the bread, quantity 2, pay by card with PIN. Paced by
        // the screens (UNTIL), not by sleeps.
        let input = [
            "UNTIL Catalogue v1", "MENU", "UNTIL 主菜单", "6", "UNTIL 面包 ¥8.00 [5]", "DOWN", "2", "UNTIL 面包 ¥8.00 x2 [5]",
            "ENTER", "UNTIL 请选择支付方式", "1", "UNTIL 请插卡", "INSERT visa-credit", "UNTIL 请输入密码", "1", "2", "3", "4", "ENTER",
            "UNTIL 交易成功", "CANCEL", "UNTIL 欢迎光临",
            "MENU", "UNTIL 主菜单", "6", "UNTIL 面包 ¥8.00 [3]", "CANCEL",  // the stock after the sale
        ].joined(separator: "\n") + "\n"
        let result = try runProcess(
            [try builtProduct("terminal"), "run", "--board", Self.root + "/board/sim/board.toml", "--headless", "--fixed-clock", "09:30", "--state-dir", state],
            stdin: Array(input.utf8), environment: ["HOME": state, "TERMINAL_TMS_DIR": served], timeout: .seconds(90))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
        #expect(result.stdout.contains("面包 ¥8.00 x2 [5]"), "the basket before paying")
        #expect(result.stdout.contains("交易成功"), "the sale is approved")
        #expect(result.stdout.contains("面包 ¥8.00 [3]"), "the stock after the sale")
        let reports = try readTextFile(served + "/reports.log")
        #expect(reports.contains("parameters-2.tpar 2 00") && reports.contains("catalogue-1.toml 1 00"), "\(reports)")
        let store = try TerminalStore(path: state + "/terminal.sqlite")
        #expect(try store.catalogueItems().map(\.hostStock) == [10, 3], "the host took the sale")
        #expect(try store.isStockStale() == false)
        #expect(try store.unreportedStockChanges() == nil)
    }

    /// On the sim board: two loaves sold from the item sale screen with WeChat Pay, then the sale voided from the
    /// refund menu: the loaves go back on the shelf and the host hears of the return once.
    @Test func voidedItemSaleGoesBackOnTheShelf() throws {
        let directory = try makeTemporaryDirectory("tms-void")
        defer { removeTree(directory) }
        let served = directory + "/served", state = directory + "/state"
        _ = mkdir(served, 0o755)
        _ = mkdir(state, 0o700)
        let catalogue = ItemCatalogue(version: 1, items: [
            .init(code: "A001", nameChinese: "矿泉水", nameEnglish: "Water", priceMinor: 250, taxClass: "A", stock: 10),
            .init(code: "B002", nameChinese: "面包", nameEnglish: "Bread", priceMinor: 800, taxClass: "B", stock: 5),
        ])
        try writeTextFile(served + "/catalogue-1.toml", catalogue.rendered())
        // Paced by the screens (UNTIL), not by sleeps; the catalogue is in once the idle screen says so.
        let input = [
            "UNTIL Catalogue v1", "MENU", "UNTIL 主菜单", "6", "UNTIL 面包 ¥8.00 [5]", "DOWN", "2", "UNTIL 面包 ¥8.00 x2 [5]",  // two loaves
            "ENTER", "UNTIL 请选择支付方式", "2", "UNTIL 请出示付款码", "SCAN 134567890123456789", "UNTIL 交易成功", "ENTER",  // paid with WeChat Pay
            "UNTIL 欢迎光临", "MENU", "UNTIL 主菜单", "6", "UNTIL 面包 ¥8.00 [3]", "CANCEL",  // the stock after the sale
            // refund list → the sale → void (it takes about 12 s on the sim board)
            "UNTIL 欢迎光临", "MENU", "UNTIL 主菜单", "3", "UNTIL >1 微信支付", "ENTER", "UNTIL 撤销(当日全额)", "ENTER", "UNTIL 60000ms 交易成功",
            "ENTER", "UNTIL 欢迎光临", "MENU", "UNTIL 主菜单", "6", "UNTIL 面包 ¥8.00 [5]", "CANCEL",  // the stock after the void
        ].joined(separator: "\n") + "\n"
        let result = try runProcess(
            [try builtProduct("terminal"), "run", "--board", Self.root + "/board/sim/board.toml", "--headless", "--fixed-clock", "09:30", "--state-dir", state],
            stdin: Array(input.utf8), environment: ["HOME": state, "TERMINAL_TMS_DIR": served], timeout: .seconds(90))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
        #expect(result.stdout.contains("面包 ¥8.00 [3]"), "the stock after the sale")
        let afterVoid = try #require(result.stdout.split(separator: "撤销").last.map(String.init))
        #expect(afterVoid.contains("面包 ¥8.00 [5]"), "the stock after the void: \(result.stdout)")
        let store = try TerminalStore(path: state + "/terminal.sqlite")
        #expect(try store.catalogueItems().map(\.hostStock) == [10, 5], "the host took the sale and the return")
        #expect(try store.unreportedStockChanges() == nil)
        #expect(try store.restockVoidedSales(now: 0) == 0, "a void restocks once")
    }

    /// An update package of a firmware script, signed by `key`.
    static func updatePackage(version: String, key: Ed25519.PrivateKey) throws -> [UInt8] {
        let files: [(String, UpdateManifest.Role, [UInt8])] = [("bin/terminal", .firmware, Array("#!/bin/sh\necho terminal \(version)\n".utf8))]
        let manifest = UpdateManifest(
            product: Installer.product, boards: ["sim"], version: try FirmwareVersion(parsing: version),
            minimumVersion: try FirmwareVersion(parsing: "0.0.0"), securityCounter: 1,
            payloads: try files.enumerated().map { index, file in
                UpdateManifest.Payload(name: "f\(index)", path: file.0, role: file.1, size: file.2.count, sha256: try SHA256.hash(file.2))
            })
        let manifestBytes = Array(manifest.rendered().utf8)
        var bytes = UnverifiedUpdatePackage.header(manifest: manifestBytes, signatures: [try ParameterPackage.ed25519Signature(manifestBytes, key: key)])
        for file in files { bytes += file.2 }
        return bytes
    }
}
