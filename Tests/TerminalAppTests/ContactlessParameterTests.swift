#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Codecs
import DeviceKit
import ContactlessKernel
import EMVKernel
import Logging
import PaymentCrypto
import Store
@testable import TerminalApp
import TerminalUI
import TestKit
import Testing
import UpdatePackage
import Uplink
import VirtualCards

/// The contactless rail under the signed parameter set (docs/contactless.md, docs/terminal-management.md): the
/// reader limits come from the set's `[contactless]` table, and a tap holds its parameter snapshot to its end, so a
/// set or a PIN key that arrives during the tap waits for it. Real components: the acquirer simulator with its TMS
/// host over mutual TLS on loopback (its issuer checks every ARQC and the online PIN under the TEST BDK), a real
/// key store and store file, signed parameter packages, the virtual contactless cards through ``ContactlessRail``.
@Suite(.serialized) struct ContactlessParameterTests {
    static let today = EMVDate(year: 2026, month: 11, day: 27)!

    final class Rig {
        let directory: String
        let tms: String
        let host: TerminalManagementHost
        let server: AcquirerServer
        let ledger: AcquirerLedger
        let link: HostAcquirerLink
        let keys: Locked<KeyStore>
        let store: Locked<TerminalStore>
        let journal: Locked<TransactionJournal>
        let release: Ed25519.PrivateKey
        let keyring: Keyring
        let parameters: ActiveParameterSet
        let field = VirtualContactlessField()
        let stan = Locked(0)
        static let bdk = SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210")!  // X9.24-1's published TEST BDK
        static let firstKSN = "FFFF9876543210E0"

        init() throws {
            directory = try makeTemporaryDirectory("ctls-params")
            tms = directory + "/served"
            _ = mkdir(tms, 0o755)
            host = TerminalManagementHost(
                directory: tms, pinBaseDerivationKey: Self.bdk,
                keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey)
            let pki = try TLSTestCertificates.generate(clientName: "SIM00001")
            let issuer = IssuerHost(
                issuers: TestIssuers.builtIn, pinBaseDerivationKey: Self.bdk,
                expectedPIN: { VirtualContactlessField.isVirtualPAN($0) ? VirtualCardProfile.testOnlyPIN : nil })
            var configuration = AcquirerServer.Configuration(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM)
            configuration.terminalManagement = host
            ledger = try AcquirerLedger(path: directory + "/ledger.sqlite")
            server = try AcquirerServer(configuration: configuration, issuer: issuer, ledger: ledger)
            link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port,
                    tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: "SIM00001", merchantID: "898310048990001", responseTimeout: .milliseconds(3000), keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "test"))
            let keyStore = try KeyStore(
                .init(directory: directory + "/keys", deviceSecretPaths: [directory + "/device.secret"], mayProvision: true, environment: [:]))
            try keyStore.storeSecret(TerminalKeys.keyBlockProtectionKey, TerminalManagementHost.testKeyBlockProtectionKey, isTestKey: true)
            let ksn = try TDESDUKPT.KeySerialNumber(Hex.decode(Self.firstKSN + "0000")!)  // a valid literal
            try keyStore.installTDESDUKPT(
                TerminalKeys.pinKey, initialKey: TDESDUKPT.initialKey(baseDerivationKey: Self.bdk, keySerialNumber: ksn),
                keySerialNumber: ksn, isTestKey: true)
            keys = Locked(keyStore)
            let path = directory + "/terminal.sqlite"
            store = Locked(try TerminalStore(path: path))
            journal = Locked(
                try TransactionJournal(
                    store: try TerminalStore(path: path), dataKey: SecretBytes([UInt8](repeating: 0x42, count: 32)),
                    random: SystemRandom(), clock: { Int64(time(nil)) }))
            release = try Ed25519.PrivateKey()
            keyring = try Keyring(keys: [("release", .ed25519(try release.publicKey()))])
            let emv = try TerminalParameters.parse(try readTextFile(repositoryRoot() + "/board/sim/emv-parameters.toml"), today: ContactlessParameterTests.today)
            parameters = ActiveParameterSet(ParameterSet(version: 0, emv: emv, settings: nil))
        }

        func service() throws -> TerminalManagementService {
            let stan = self.stan
            let client = TerminalManagementClient(
                transport: link, terminalID: "SIM00001", merchantID: "898310048990001",
                nextSTAN: { stan.withLock { value in value = value % 999_999 + 1; return value } },
                transmissionTime: { HostDateTime(month: 11, day: 27, hour: 9, minute: 30, second: 0) })
            return TerminalManagementService(
                configuration: .init(
                    directory: directory + "/downloads", keyring: keyring, updateRoot: nil, board: "sim",
                    firmwareVersion: try FirmwareVersion(parsing: "1.0.0"), storePath: directory + "/terminal.sqlite"),
                client: client, store: store, journal: journal, parameters: parameters,
                connectivity: { .online(via: .wifi, interface: "lo") }, today: { ContactlessParameterTests.today },
                now: { Int64(time(nil)) }, keys: keys, logger: Logger(label: "test"))
        }

        /// Publishes parameter set `version`: the sim board's EMV parameters followed by `contactless` (TOML), signed
        /// by the release key; the terminal payload keeps the journal's offline caps out of the way.
        func publishParameters(version: Int, contactless: String, merchant: String = "Parameter Store") throws {
            let emv = Array((try readTextFile(repositoryRoot() + "/board/sim/emv-parameters.toml") + "\n" + contactless).utf8)
            let terminal = Array("merchant-name = \"\(merchant)\"\nlanguage = \"en\"\noffline-floor-limit = 100000\n".utf8)
            let key = release
            let package = try ParameterPackage.build(version: version, payloads: [("emv", emv), ("terminal", terminal)]) { manifest in
                [try ParameterPackage.ed25519Signature(manifest, key: key)]
            }
            let name = tms + "/parameters-\(version).tpar"
            try writeTextFile(name, "")
            let fd = open(name, O_WRONLY | O_TRUNC | O_CLOEXEC)
            defer { close(fd) }
            _ = package.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }

        struct Sale {
            var result: TerminalFlow.PaymentResult
            var askedPIN: Bool
            var approved: Bool { if case .approved = result { true } else { false } }
            var offline: Bool { "\(result)".contains("approvedOffline") }
        }

        /// One tap of `card` for `amount` through a ``ContactlessRail`` on the set in force; at the PIN screen
        /// `whilePIN` runs before PIN 1234 is typed.
        func tap(_ card: String, amount: Int, whilePIN: () async throws -> Void = {}) async throws -> Sale {
            let emv = try #require(parameters.current.emv)
            var configuration = ContactlessRail.Configuration(
                parameters: ContactlessParameters(
                    terminal: emv, combinations: ContactlessCombination.standard(limits: ContactlessRail.Configuration.simulatorLimits)),
                currency: Currency(code: "CNY", numericCode: 156, exponent: 2, symbol: "¥"), merchantName: "Test",
                pinKeyName: TerminalKeys.pinKey)
            configuration.activeParameters = parameters
            let field = self.field
            let rail = ContactlessRail(
                configuration: configuration, connect: { try field.present($0) }, acquirer: link,
                journal: StoreRailJournal(journal: journal, settings: store, random: SystemRandom(), currencyCode: 156),
                keys: keys, clock: FixedWallClock(text: "12:00"), random: SystemRandom(), logger: Logger(label: "test"),
                fallback: nil)
            let (inputs, feed) = AsyncStream.makeStream(of: TerminalFlow.RailInput.self)
            let (prompts, prompted) = AsyncStream.makeStream(of: Void.self)
            let session = PaymentSession(
                show: { screen in
                    if case .pinEntry(let entry) = screen, entry.digitCount == 0 { prompted.yield() }
                }, inputs: inputs)
            let payment = Task {
                let result = await rail.pay(amount: amount, presentation: .tapped(name: card), session: session)
                prompted.finish()
                return result
            }
            var askedPIN = false
            for await _ in prompts {
                askedPIN = true
                try await whilePIN()
                for key in [Key.digit1, .digit2, .digit3, .digit4, .enter] { feed.yield(.key(key)) }
                break
            }
            let result = await payment.value
            feed.finish()
            return Sale(result: result, askedPIN: askedPIN)
        }

        deinit {
            server.shutdown()
            removeTree(directory)
        }
    }

    @Test func lowerCVMLimitAsksForOnlinePIN() async throws {
        let rig = try Rig()
        let before = try await rig.tap("visa-paywave", amount: 10_000)
        #expect(before.approved && !before.askedPIN, "100.00 under the standard CVM limit 300.00: \(before.result)")

        try rig.publishParameters(version: 1, contactless: "[contactless.visa]\ncvm_limit = 8000\n")
        let report = try await rig.service().synchronize()
        #expect(report.objects["parameters-1.tpar"] == .applied(version: "1"), "\(report)")
        #expect(rig.parameters.current.emv?.contactlessLimits.visa.cvmRequiredLimit == 8000)

        let after = try await rig.tap("visa-paywave", amount: 10_000)
        #expect(after.approved && after.askedPIN, "100.00 at or above the set's CVM limit 80.00: online PIN; \(after.result)")
        // The set lowered Visa's limit only: Mastercard keeps the standard one.
        let mastercard = try await rig.tap("mastercard-paypass", amount: 10_000)
        #expect(mastercard.approved && !mastercard.askedPIN, "\(mastercard.result)")
        #expect(try rig.ledger.entries().filter { $0.responseCode == "00" && $0.amount == 10_000 }.count == 3)
    }

    @Test func lowerFloorLimitMovesAnOfflineApprovalOnline() async throws {
        let rig = try Rig()
        let before = try await rig.tap("visa-paywave", amount: 2_000)
        #expect(before.approved && before.offline, "20.00 under the standard floor limit 50.00: \(before.result)")
        #expect(try rig.ledger.entries().isEmpty)

        try rig.publishParameters(version: 1, contactless: "[contactless]\nfloor_limit = 1000\n")
        #expect(try await rig.service().synchronize().objects["parameters-1.tpar"] == .applied(version: "1"))

        let after = try await rig.tap("visa-paywave", amount: 2_000)
        #expect(after.approved && !after.offline && !after.askedPIN, "20.00 above the set's floor limit 10.00: online; \(after.result)")
        #expect(try rig.ledger.entries().filter { $0.responseCode == "00" && $0.amount == 2_000 }.count == 1)
    }

    @Test func setArrivingDuringATapWaitsForItsEnd() async throws {
        let rig = try Rig()
        var during: TerminalManagementService.Report?
        // 350.00 needs online PIN under set 0; set 1 raises Visa's CVM limit to 500.00.
        let sale = try await rig.tap("visa-paywave", amount: 35_000) {
            try rig.publishParameters(version: 1, contactless: "[contactless.visa]\ncvm_limit = 50000\n", merchant: "Later Store")
            during = try await rig.service().synchronize()
            #expect(rig.parameters.current.version == 0, "nothing switches under the tap")
            #expect(rig.parameters.newestVersion == 1)
        }
        #expect(during?.objects["parameters-1.tpar"] == .staged(version: "1"), "\(String(describing: during))")
        #expect(sale.approved && sale.askedPIN, "the tap completes under the set it started with: \(sale.result)")
        #expect(rig.host.reports.last?.reason == "applied after the transaction in flight")
        #expect(rig.parameters.current.version == 1 && rig.parameters.current.settings?.merchantName == "Later Store",
            "the set comes into force when the tap ends")
        #expect(!rig.parameters.isTransactionInFlight)
        let next = try await rig.tap("visa-paywave", amount: 35_000)
        #expect(next.approved && !next.askedPIN, "the next tap runs under set 1: \(next.result)")
    }

    @Test func keyDownloadWaitsBehindATap() async throws {
        let rig = try Rig()
        var during: TerminalManagementService.Report?
        try writeTextFile(rig.tms + "/pin-key-3.ksn", "FFFF1111112222E00000\n")
        let sale = try await rig.tap("visa-paywave", amount: 35_000) {
            during = try await rig.service().synchronize()
            #expect(rig.keys.withLock { $0.keyVersion(TerminalKeys.pinKey) } != 3, "the PIN key stays under the tap")
        }
        #expect(during?.objects["pin-key-3.ksn"] == .waiting("a transaction is in flight"), "\(String(describing: during))")
        #expect(sale.approved && sale.askedPIN, "\(sale.result)")
        // The tap's PIN went under the factory key: its next KSN still carries the factory serial number.
        #expect(Hex.encode(try rig.keys.withLock { try $0.nextKeySerialNumber(TerminalKeys.pinKey) }).hasPrefix(Rig.firstKSN))

        let after = try await rig.service().synchronize()
        #expect(after.objects["pin-key-3.ksn"] == .applied(version: "3"), "\(after)")
        #expect(try rig.keys.withLock { try $0.nextKeySerialNumber(TerminalKeys.pinKey) } == Hex.decode("FFFF1111112222E00001"))
        let next = try await rig.tap("visa-paywave", amount: 35_000)
        #expect(next.approved && next.askedPIN, "the next PIN tap under the downloaded key: \(next.result)")
    }

    @Test(arguments: [
        ("[contactless.mastercard]\nfloor_limit = 40000\n", "contactless.mastercard"),
        ("[contactless]\ncvm_limit = 200000\n", "contactless"),
        ("[contactless.unionpay]\ntransaction_limit = 2000000\n", "contactless.unionpay"),
        ("[contactless]\ncvm_limit = 1000000000000\n", "contactless.cvm_limit"),
        ("[contactless.visa]\ncvm_limt = 5000\n", "contactless.visa.cvm_limt"),
        ("[contactless.amex]\ncvm_limit = 5000\n", "contactless.amex"),
        ("[contactless]\nfloor_limit = \"5000\"\n", "contactless.floor_limit"),
    ])
    func invalidLimitsRefuseTheSet(contactless: String, field: String) async throws {
        let rig = try Rig()
        try rig.publishParameters(version: 1, contactless: contactless)
        let report = try await rig.service().synchronize()
        guard case .refused(.invalid, let reason)? = report.objects["parameters-1.tpar"] else {
            Issue.record("\(contactless): \(report)")
            return
        }
        #expect(reason.contains(field), "\(reason)")
        #expect(rig.host.reports.last?.result == .invalid && rig.host.reports.last?.reason == reason)
        #expect(rig.parameters.current.version == 0 && rig.parameters.newestVersion == 0)
        let sale = try await rig.tap("visa-paywave", amount: 10_000)
        #expect(sale.approved && !sale.askedPIN, "the standard limits stay in force: \(sale.result)")
    }
}

/// The `[contactless]` table of the parameters file on its own, and `termtool pkg params`.
@Suite struct ContactlessLimitFileTests {
    static func parse(_ contactless: String) throws -> TerminalParameters {
        try TerminalParameters.parse(
            try readTextFile(repositoryRoot() + "/board/sim/emv-parameters.toml") + "\n" + contactless,
            today: ContactlessParameterTests.today)
    }

    @Test func absentTableGivesTheStandardLimits() throws {
        let parameters = try Self.parse("")
        #expect(parameters.contactlessLimits == .standard)
        #expect(ContactlessReaderLimits(parameters.contactlessLimits.visa) == ContactlessRail.Configuration.simulatorLimits)
    }

    @Test func commonKeysThenPerKernelOverrides() throws {
        let table = try Self.parse(
            "[contactless]\nfloor_limit = 0\ncvm_limit = 20000\n[contactless.mastercard]\ncvm_limit = 25000\ncdcvm_transaction_limit = 500000\n"
        ).contactlessLimits
        #expect(table.visa == .init(transactionLimit: 100_000, onDeviceCVMTransactionLimit: 1_000_000, floorLimit: 0, cvmRequiredLimit: 20_000))
        #expect(table.unionPay == table.visa)
        #expect(table.mastercard == .init(transactionLimit: 100_000, onDeviceCVMTransactionLimit: 500_000, floorLimit: 0, cvmRequiredLimit: 25_000))
        // Applied to the combinations by kernel.
        let emv = try Self.parse("[contactless.unionpay]\ntransaction_limit = 80000\n")
        let applied = ContactlessParameters(terminal: emv, combinations: ContactlessCombination.standard(limits: .init(transactionLimit: nil, floorLimit: nil, cvmRequiredLimit: nil)))
            .applying(emv)
        #expect(applied.combinations.map { $0.limits.transactionLimit } == [100_000, 100_000, 80_000])
        #expect(applied.combinations.map(\.kernel) == [.visa, .mastercard, .unionPay])
    }

    @Test func outOfOrderLimitsAreRefusedWithTheKernel() throws {
        #expect(throws: ParametersFileError.self) { try Self.parse("[contactless.visa]\nfloor_limit = 30001\n") }
        do {
            _ = try Self.parse("[contactless]\ntransaction_limit = 20000\n")
            Issue.record("a transaction limit under the CVM limit must be refused")
        } catch let error as ParametersFileError {
            #expect(error.field == "contactless" && error.message.hasPrefix("visa: the limits must be in order"), "\(error)")
        }
    }

    /// `termtool pkg params` refuses the limits the terminal would refuse, before anything is signed.
    @Test func termtoolRefusesOutOfOrderLimits() throws {
        let directory = try makeTemporaryDirectory("ctls-pkg")
        defer { removeTree(directory) }
        let base = try readTextFile(repositoryRoot() + "/board/sim/emv-parameters.toml")
        try writeTextFile(directory + "/bad.toml", base + "\n[contactless.visa]\nfloor_limit = 40000\n")
        try writeTextFile(directory + "/good.toml", base + "\n[contactless.visa]\ncvm_limit = 20000\n")
        let termtool = try builtProduct("termtool")
        let bad = try runProcess([termtool, "pkg", "params", "--version", "2", "--emv", directory + "/bad.toml", "--out", directory + "/bad.tpar"])
        #expect(bad.status != 0 && (bad.stderr + bad.stdout).contains("contactless.visa"), "\(bad.stdout) \(bad.stderr)")
        #expect(access(directory + "/bad.tpar", F_OK) != 0)
        let good = try runProcess([termtool, "pkg", "params", "--version", "2", "--emv", directory + "/good.toml", "--out", directory + "/good.tpar"])
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
    }
}
