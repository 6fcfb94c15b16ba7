#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Codecs
import DeviceKit
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

/// Key download (docs/terminal-management.md "Key download", docs/host-interface.md §13.5): a new DUKPT initial key
/// as a TR-31 block under the terminal's KBPK. The key store's checks and its one-write replacement, blocks made by
/// psec (PyPI) when `KEY_DOWNLOAD_PYTHON` names a Python with psec (Tests/scripts/key-download-crosscheck.sh), and
/// end to end over mutual TLS: the simulated host offers a key derived from its TEST BDK, the terminal loads it and
/// reports `00`, a PIN-online chip sale is approved under the new KSN and one under the old key is declined `55`.
@Suite(.serialized) struct KeyDownloadTests {
    static let kbpk = SecretBytes([UInt8](repeating: 0x5A, count: 16))
    static let firstKSN = try! TDESDUKPT.KeySerialNumber(Hex.decode("FFFF9876543210E00000")!)  // a valid literal

    /// A key store in `directory` holding `kbpk` and a PIN key at key version 01 (installed from a TR-31 block).
    static func keyStore(_ directory: String, kbpk: SecretBytes = kbpk) throws -> KeyStore {
        let store = try KeyStore(.init(directory: directory, deviceSecretPaths: [directory + "/device.secret"], mayProvision: true, environment: [:]))
        try store.storeSecret(TerminalKeys.keyBlockProtectionKey, kbpk, isTestKey: true)
        let block = try wrap(ipek: SecretBytes([UInt8](repeating: 0x11, count: 16)), ksn: firstKSN, version: "01", kbpk: kbpk)
        try store.installDUKPT(TerminalKeys.pinKey, keyBlock: block, kbpk: kbpk, isTestKey: true)
        return store
    }

    static func wrap(
        ipek: SecretBytes, ksn: TDESDUKPT.KeySerialNumber, version: String, kbpk: SecretBytes, usage: String = "B1", algorithm: Character = "T",
        mode: Character = "X", exportability: Character = "N"
    ) throws -> String {
        try TR31.wrap(
            key: ipek,
            header: TR31Header(
                version: .b, keyUsage: usage, algorithm: algorithm, modeOfUse: mode, keyVersionNumber: version, exportability: exportability,
                optionalBlocks: [TR31OptionalBlock(id: "KS", data: Hex.encode(ksn.bytes))]),
            kbpk: kbpk, random: SystemRandom())
    }

    /// The PIN block of `pin` for `pan` under the next key of the store's PIN key, decrypted with `ipek`: the key in
    /// force is the one expected.
    static func pinKeyIs(_ ipek: SecretBytes, in store: KeyStore) throws -> Bool {
        let pan = "4761739001010119"
        let clear = try PINBlock.encode(format: .format0, pin: SecretBytes(Array("1234".utf8)), pan: pan, random: SystemRandom())
        let (ksn, encrypted) = try store.encryptPINBlock(TerminalKeys.pinKey, clearBlock: clear)
        let key = try TDESDUKPT.transactionKey(initialKey: ipek, keySerialNumber: try TDESDUKPT.KeySerialNumber(ksn))
        let decrypted = try TDESDUKPT.decryptPINBlock(encrypted, transactionKey: key)
        return try PINBlock.decode(decrypted, pan: pan).pin == SecretBytes(Array("1234".utf8))
    }

    @Test func refusedBlocksLeaveTheOldKeyInForce() throws {
        let dir = try makeTemporaryDirectory("keydl")
        defer { removeTree(dir) }
        let store = try Self.keyStore(dir + "/keys")
        let oldIPEK = SecretBytes([UInt8](repeating: 0x11, count: 16))
        let newIPEK = SecretBytes([UInt8](repeating: 0x22, count: 16))
        let ksn = try TDESDUKPT.KeySerialNumber(Hex.decode("FFFF0000000001E00000")!)
        let good = try Self.wrap(ipek: newIPEK, ksn: ksn, version: "02", kbpk: Self.kbpk)
        var badMAC = Array(good.utf8)
        badMAC[badMAC.count - 1] = badMAC[badMAC.count - 1] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let cases: [(String, String, KeyStore.Refusal)] = [
            ("bad MAC", String(decoding: badMAC, as: UTF8.self), .notAuthentic),
            ("wrong KBPK", try Self.wrap(ipek: newIPEK, ksn: ksn, version: "02", kbpk: SecretBytes([UInt8](repeating: 0x33, count: 16))), .notAuthentic),
            ("usage B0", try Self.wrap(ipek: newIPEK, ksn: ksn, version: "02", kbpk: Self.kbpk, usage: "B0"), .wrongAttributes),
            ("usage P0", try Self.wrap(ipek: newIPEK, ksn: ksn, version: "02", kbpk: Self.kbpk, usage: "P0", mode: "E"), .wrongAttributes),
            ("exportable", try Self.wrap(ipek: newIPEK, ksn: ksn, version: "02", kbpk: Self.kbpk, exportability: "E"), .wrongAttributes),
            ("mode of use", try Self.wrap(ipek: newIPEK, ksn: ksn, version: "02", kbpk: Self.kbpk, mode: "B"), .wrongAttributes),
            ("AES for a TDES key", try TR31.wrap(
                key: SecretBytes([UInt8](repeating: 0x44, count: 16)),
                header: TR31Header(version: .d, keyUsage: "B1", algorithm: "A", modeOfUse: "X", keyVersionNumber: "02", exportability: "N",
                    optionalBlocks: [TR31OptionalBlock(id: "IK", data: "0102030405060708")]),
                kbpk: SecretBytes([UInt8](repeating: 0x5A, count: 32)), random: SystemRandom()), .notAuthentic),
            ("truncated", String(good.dropLast(8)), .malformed),
            ("not hex", String(good.prefix(good.count - 2)) + "ZZ", .malformed),
            ("empty", "", .malformed),
            ("older version", try Self.wrap(ipek: newIPEK, ksn: ksn, version: "00", kbpk: Self.kbpk), .notNewer),
            ("same version", try Self.wrap(ipek: newIPEK, ksn: ksn, version: "01", kbpk: Self.kbpk), .notNewer),
            ("version not digits", try Self.wrap(ipek: newIPEK, ksn: ksn, version: "c1", kbpk: Self.kbpk), .malformed),
        ]
        for (label, block, expected) in cases {
            let outcome = try store.replaceDUKPT(TerminalKeys.pinKey, keyBlock: block, protectionKey: TerminalKeys.keyBlockProtectionKey)
            guard case .refused(let refusal, let reason) = outcome else {
                Issue.record("\(label): \(outcome)")
                continue
            }
            #expect(refusal == expected, "\(label): \(refusal) \(reason)")
            #expect(!reason.contains(Hex.encode([UInt8](repeating: 0x22, count: 16))), "\(label): no key bytes in the reason")
            #expect(store.keyVersion(TerminalKeys.pinKey) == 1, "\(label)")
            #expect(try Self.pinKeyIs(oldIPEK, in: store), "\(label): the old key is in force")
        }
        // No KBPK: refused, old key kept.
        let bare = try KeyStore(.init(directory: dir + "/bare", deviceSecretPaths: [dir + "/bare/device.secret"], mayProvision: true, environment: [:]))
        try bare.installTDESDUKPT(TerminalKeys.pinKey, initialKey: oldIPEK, keySerialNumber: Self.firstKSN, isTestKey: true)
        guard case .refused(.wrongAttributes, _) = try bare.replaceDUKPT(TerminalKeys.pinKey, keyBlock: good, protectionKey: TerminalKeys.keyBlockProtectionKey) else {
            Issue.record("a terminal without a KBPK must refuse")
            return
        }
        #expect(try Self.pinKeyIs(oldIPEK, in: bare))
    }

    @Test func acceptedBlockReplacesTheKeyInOneWrite() throws {
        let dir = try makeTemporaryDirectory("keydl")
        defer { removeTree(dir) }
        let store = try Self.keyStore(dir + "/keys")
        let newIPEK = SecretBytes([UInt8](repeating: 0x22, count: 16))
        let ksn = try TDESDUKPT.KeySerialNumber(Hex.decode("FFFF0000000001E00000")!)
        let block = try Self.wrap(ipek: newIPEK, ksn: ksn, version: "02", kbpk: Self.kbpk)
        let before = try readBinary(dir + "/keys/keystore")
        let outcome = try store.replaceDUKPT(TerminalKeys.pinKey, keyBlock: block, protectionKey: TerminalKeys.keyBlockProtectionKey)
        #expect(outcome == .replaced(keyVersion: 2, initialKeySerialNumber: ksn.bytes))
        #expect(try store.nextKeySerialNumber(TerminalKeys.pinKey) == ksn.with(counter: 1).bytes)
        #expect(try Self.pinKeyIs(newIPEK, in: store))
        // The same block again: not newer.
        guard case .refused(.notNewer, _) = try store.replaceDUKPT(TerminalKeys.pinKey, keyBlock: block, protectionKey: TerminalKeys.keyBlockProtectionKey) else {
            Issue.record("a replayed block must be refused")
            return
        }
        // Reopened (a restart): the new key and its version are on disk.
        let reopened = try KeyStore(.init(directory: dir + "/keys", deviceSecretPaths: [dir + "/keys/device.secret"], mayProvision: true, environment: [:]))
        #expect(reopened.keyVersion(TerminalKeys.pinKey) == 2)
        #expect(try Self.pinKeyIs(newIPEK, in: reopened))
        // A power cut in the middle of the write leaves a partial temporary file beside the store: the store opens
        // with the key of the last completed write, and the next write replaces the leftover.
        let after = try readBinary(dir + "/keys/keystore")
        try writeBinary(dir + "/keys/keystore.tmp", Array(before.prefix(before.count / 2)))
        let afterCut = try KeyStore(.init(directory: dir + "/keys", deviceSecretPaths: [dir + "/keys/device.secret"], mayProvision: true, environment: [:]))
        #expect(afterCut.keyVersion(TerminalKeys.pinKey) == 2)
        #expect(try Self.pinKeyIs(newIPEK, in: afterCut))
        // A cut before the rename: the old file is whole and opens with the old key.
        try writeBinary(dir + "/keys/keystore", before)
        try writeBinary(dir + "/keys/keystore.tmp", Array(after.prefix(after.count - 7)))
        let beforeRename = try KeyStore(.init(directory: dir + "/keys", deviceSecretPaths: [dir + "/keys/device.secret"], mayProvision: true, environment: [:]))
        #expect(beforeRename.keyVersion(TerminalKeys.pinKey) == 1)
        #expect(try Self.pinKeyIs(SecretBytes([UInt8](repeating: 0x11, count: 16)), in: beforeRename))
        // The key bytes are nowhere in the file in clear.
        #expect(!contains(after, Array(Hex.encode([UInt8](repeating: 0x22, count: 16)).utf8)) && !contains(after, [UInt8](repeating: 0x22, count: 16)))
    }

    /// A terminal whose PIN key is AES DUKPT takes a version D block with algorithm `A` and an `IK` block, and refuses
    /// a TDES one.
    @Test func aesDUKPTKeyIsReplacedByAnAESBlock() throws {
        let dir = try makeTemporaryDirectory("keydl-aes")
        defer { removeTree(dir) }
        let kbpk = SecretBytes([UInt8](repeating: 0x6B, count: 32))
        let store = try KeyStore(.init(directory: dir, deviceSecretPaths: [dir + "/device.secret"], mayProvision: true, environment: [:]))
        try store.storeSecret(TerminalKeys.keyBlockProtectionKey, kbpk, isTestKey: true)
        func block(_ version: String, _ id: String, algorithm: Character = "A", optional: String = "IK") throws -> String {
            try TR31.wrap(
                key: SecretBytes([UInt8](repeating: 0x3C, count: 16)),
                header: TR31Header(version: .d, keyUsage: "B1", algorithm: algorithm, modeOfUse: "X", keyVersionNumber: version, exportability: "N",
                    optionalBlocks: [TR31OptionalBlock(id: optional, data: id)]),
                kbpk: kbpk, random: SystemRandom())
        }
        try store.installDUKPT(TerminalKeys.pinKey, keyBlock: try block("01", "0102030405060708"), kbpk: kbpk, isTestKey: true)
        let outcome = try store.replaceDUKPT(TerminalKeys.pinKey, keyBlock: try block("02", "1112131415161718"), protectionKey: TerminalKeys.keyBlockProtectionKey)
        #expect(outcome == .replaced(keyVersion: 2, initialKeySerialNumber: Hex.decode("1112131415161718")!))
        #expect(try Hex.encode(store.nextKeySerialNumber(TerminalKeys.pinKey)).hasPrefix("1112131415161718"))
        guard case .refused(.wrongAttributes, _) = try store.replaceDUKPT(
            TerminalKeys.pinKey, keyBlock: try block("03", "FFFF9876543210E00000", algorithm: "T", optional: "KS"), protectionKey: TerminalKeys.keyBlockProtectionKey)
        else {
            Issue.record("a TDES block for an AES DUKPT key must be refused")
            return
        }
        #expect(store.keyVersion(TerminalKeys.pinKey) == 2)
    }

    /// Blocks made by psec (PyPI, an implementation nobody here wrote): the good ones load and the key in force is
    /// psec's, the bad ones are refused for the right reason and leave the old key.
    @Test(.enabled(if: ProcessInfoLite.environment("KEY_DOWNLOAD_PYTHON") != nil))
    func psecBlocks() throws {
        let python = try #require(ProcessInfoLite.environment("KEY_DOWNLOAD_PYTHON"))
        let seed = fuzzSeed(default: 20261128)
        let result = try runProcess([python, repositoryRoot() + "/Tests/scripts/key_download_psec.py", "\(seed)"], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count >= 19)
        var passed = 0
        for line in lines {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 6, let kbpk = SecretBytes(hexEncoded: f[1]), let ipek = SecretBytes(hexEncoded: f[2]) else {
                Issue.record("bad line \(line)")
                continue
            }
            let dir = try makeTemporaryDirectory("keydl-psec")
            defer { removeTree(dir) }
            let store = try Self.keyStore(dir + "/keys", kbpk: kbpk)
            let outcome = try store.replaceDUKPT(TerminalKeys.pinKey, keyBlock: f[4], protectionKey: TerminalKeys.keyBlockProtectionKey)
            let label = f[0]
            switch (f[5], outcome) {
            case ("replaced", .replaced(let version, let serial)):
                #expect(Hex.encode(serial) == f[3], "\(label)")
                #expect(version == Int(f[4].dropFirst(9).prefix(2)), "\(label)")
                #expect(try Self.pinKeyIs(ipek, in: store), "\(label): psec's key is in force")
                passed += 1
            case ("not-authentic", .refused(.notAuthentic, _)), ("malformed", .refused(.malformed, _)),
                ("wrong-attributes", .refused(.wrongAttributes, _)), ("not-newer", .refused(.notNewer, _)):
                #expect(store.keyVersion(TerminalKeys.pinKey) == 1, "\(label)")
                #expect(try Self.pinKeyIs(SecretBytes([UInt8](repeating: 0x11, count: 16)), in: store), "\(label): the old key stays")
                passed += 1
            default:
                Issue.record("\(label): expected \(f[5]), got \(outcome)")
            }
        }
        print("key download psec cross-check: \(passed) of \(lines.count) blocks as expected (seed \(seed))")
    }

    // MARK: End to end

    final class Rig {
        let directory: String
        let tms: String
        let host: TerminalManagementHost
        let server: AcquirerServer
        let link: HostAcquirerLink
        let keys: Locked<KeyStore>
        let store: Locked<TerminalStore>
        let journal: Locked<TransactionJournal>
        let parameters: ActiveParameterSet
        let emv: TerminalParameters
        let stan = Locked(0)
        static let bdk = SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210")!  // X9.24-1's published TEST BDK

        init() throws {
            directory = try makeTemporaryDirectory("keydl-e2e")
            tms = directory + "/served"
            _ = mkdir(tms, 0o755)
            host = TerminalManagementHost(directory: tms, pinBaseDerivationKey: Self.bdk, keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey)
            let pki = try TLSTestCertificates.generate(clientName: "SIM00001")
            let issuer = IssuerHost(
                issuers: TestIssuers.builtIn, pinBaseDerivationKey: Self.bdk,
                expectedPIN: { pan in
                    VirtualCardProfile.allNames.contains { VirtualCardProfile.named($0)?.applications.contains { $0.pan == pan } == true }
                        ? VirtualCardProfile.testOnlyPIN : nil
                })
            var configuration = AcquirerServer.Configuration(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM)
            configuration.terminalManagement = host
            server = try AcquirerServer(configuration: configuration, issuer: issuer, ledger: try AcquirerLedger(path: directory + "/ledger.sqlite"))
            link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port, tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: "SIM00001", merchantID: "898310048990001", responseTimeout: .milliseconds(3000), keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "test"))
            // The simulator board's keys: X9.24-1's test KSN under the TEST BDK, and the TEST KBPK.
            let keyStore = try KeyStore(.init(directory: directory + "/keys", deviceSecretPaths: [directory + "/device.secret"], mayProvision: true, environment: [:]))
            try keyStore.storeSecret(TerminalKeys.keyBlockProtectionKey, TerminalManagementHost.testKeyBlockProtectionKey, isTestKey: true)
            let ksn = try TDESDUKPT.KeySerialNumber(Hex.decode("FFFF9876543210E00000")!)
            try keyStore.installTDESDUKPT(TerminalKeys.pinKey, initialKey: TDESDUKPT.initialKey(baseDerivationKey: Self.bdk, keySerialNumber: ksn), keySerialNumber: ksn, isTestKey: true)
            keys = Locked(keyStore)
            let path = directory + "/terminal.sqlite"
            store = Locked(try TerminalStore(path: path))
            journal = Locked(try TransactionJournal(
                store: try TerminalStore(path: path), dataKey: SecretBytes([UInt8](repeating: 0x42, count: 32)), random: SystemRandom(),
                clock: { Int64(time(nil)) }))
            let clock = FixedWallClock(text: "12:00")
            let now = clock.localDateTime()
            emv = try TerminalParameters.parse(
                try readTextFile(repositoryRoot() + "/board/sim/emv-parameters.toml"),
                today: EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 11, day: 27)!)
            parameters = ActiveParameterSet(ParameterSet(version: 0, emv: emv, settings: nil))
        }

        func service() -> TerminalManagementService {
            let stan = self.stan
            let client = TerminalManagementClient(
                transport: link, terminalID: "SIM00001", merchantID: "898310048990001",
                nextSTAN: { stan.withLock { value in value = value % 999_999 + 1; return value } },
                transmissionTime: { HostDateTime(month: 11, day: 28, hour: 9, minute: 30, second: 0) })
            return TerminalManagementService(
                configuration: .init(
                    directory: directory + "/downloads", keyring: nil, updateRoot: nil, board: "sim",
                    firmwareVersion: try! FirmwareVersion(parsing: "1.0.0"), storePath: directory + "/terminal.sqlite"),  // a valid literal
                client: client, store: store, journal: journal, parameters: parameters, connectivity: { .online(via: .wifi, interface: "lo") },
                today: { EMVDate(year: 2026, month: 11, day: 28)! }, now: { Int64(time(nil)) }, keys: keys, logger: Logger(label: "test"))
        }

        /// A PIN-online chip sale with the `unionpay-debit` virtual card, PIN 1234, through the real contact rail
        /// and the host link, the PIN encrypted under `keys`' PIN key.
        func sale(keys: Locked<KeyStore>, amount: Int) async throws -> TerminalFlow.PaymentResult {
            let clock = FixedWallClock(text: "12:00")
            nonisolated(unsafe) let card = try VirtualCard(profile: try #require(VirtualCardProfile.named("unionpay-debit")), random: SystemRandom())
            var configuration = EMVContactRail.Configuration(
                parameters: emv, currency: Currency(code: "CNY", numericCode: 156, exponent: 2, symbol: "¥"), merchantName: "Test",
                pinKeyName: TerminalKeys.pinKey, traceDirectory: nil)
            configuration.activeParameters = parameters
            let rail = EMVContactRail(
                configuration: configuration, connect: { _ in VirtualCardConnection(card: card) }, acquirer: link,
                journal: StoreRailJournal(journal: journal, settings: store, random: SystemRandom(), currencyCode: 156),
                keys: keys, clock: clock, random: SystemRandom(), logger: Logger(label: "test"))
            let (inputs, feed) = AsyncStream.makeStream(of: TerminalFlow.RailInput.self)
            for key in [Key.digit1, .digit2, .digit3, .digit4, .enter] { feed.yield(.key(key)) }
            let session = PaymentSession(show: { _ in }, inputs: inputs, print: { _ in })
            defer { feed.finish() }
            return await rail.pay(amount: amount, presentation: .inserted(name: "unionpay-debit"), session: session)
        }

        deinit {
            server.shutdown()
            removeTree(directory)
        }
    }

    @Test func downloadedKeyIsUsedForTheNextPINSale() async throws {
        let rig = try Rig()
        // Before: a sale under the factory key is approved.
        guard case .approved = try await rig.sale(keys: rig.keys, amount: 20_000) else {
            Issue.record("the sale under the factory key was not approved")
            return
        }
        // The old key, kept aside (what a terminal that missed the download would still use).
        let oldKeys = try KeyStore(.init(directory: rig.directory + "/old-keys", deviceSecretPaths: [rig.directory + "/device.secret"], mayProvision: true, environment: [:]))
        try oldKeys.installTDESDUKPT(
            TerminalKeys.pinKey, initialKey: TDESDUKPT.initialKey(baseDerivationKey: Rig.bdk, keySerialNumber: try TDESDUKPT.KeySerialNumber(Hex.decode("FFFF9876543210E00000")!)),
            keySerialNumber: try TDESDUKPT.KeySerialNumber(Hex.decode("FFFF9876543210E00007")!), isTestKey: true)
        // The host offers key version 3 for a new KSN.
        try writeTextFile(rig.tms + "/pin-key-3.ksn", "FFFF1111112222E00000\n")
        let report = await rig.service().synchronize()
        #expect(report.objects["pin-key-3.ksn"] == .applied(version: "3"), "\(report)")
        #expect(rig.host.reports.last?.name == "pin-key-3.ksn" && rig.host.reports.last?.result == .applied)
        #expect(try rig.keys.withLock { try $0.nextKeySerialNumber(TerminalKeys.pinKey) } == Hex.decode("FFFF1111112222E00001"))
        #expect(rig.keys.withLock { $0.keyVersion(TerminalKeys.pinKey) } == 3)
        #expect(access(rig.directory + "/downloads/pin-key-3.ksn", F_OK) != 0 && access(rig.directory + "/downloads/pin-key-3.ksn.part", F_OK) != 0,
            "the key block never lands on disk")
        // A second round: nothing new.
        #expect(await rig.service().synchronize().objects.isEmpty)
        // After: the new key approves; the old one is declined 55 (wrong PIN: it no longer decrypts).
        guard case .approved = try await rig.sale(keys: rig.keys, amount: 20_000) else {
            Issue.record("the sale under the downloaded key was not approved")
            return
        }
        guard case .declined(let lines) = try await rig.sale(keys: Locked(oldKeys), amount: 20_000) else {
            Issue.record("a sale under the old key must be declined")
            return
        }
        #expect("\(lines)".contains("55"), "\(lines)")
    }

    @Test func refusedDownloadIsReportedAndTheOldKeyStays() async throws {
        let rig = try Rig()
        // A block under another KBPK (not this terminal's), offered as a ready block.
        let block = try Self.wrap(
            ipek: SecretBytes([UInt8](repeating: 0x22, count: 16)), ksn: try TDESDUKPT.KeySerialNumber(Hex.decode("FFFF0000000001E00000")!),
            version: "04", kbpk: SecretBytes([UInt8](repeating: 0x77, count: 16)))
        try writeTextFile(rig.tms + "/pin-key-4.tr31", block)
        let report = await rig.service().synchronize()
        guard case .refused(.badSignature, _)? = report.objects["pin-key-4.tr31"] else {
            Issue.record("\(report)")
            return
        }
        #expect(rig.host.reports.last?.result == .badSignature)
        #expect(!(rig.host.reports.last?.reason.contains(block) ?? true), "the block is not echoed")
        #expect(try rig.keys.withLock { try $0.nextKeySerialNumber(TerminalKeys.pinKey) } == Hex.decode("FFFF9876543210E00001"))
        // A chip transaction in flight: the key waits, nothing is reported.
        try writeTextFile(rig.tms + "/pin-key-5.ksn", "FFFF1111112222E00000")
        _ = rig.parameters.beginTransaction()
        let waiting = await rig.service().synchronize()
        #expect(waiting.objects["pin-key-5.ksn"] == .waiting("a transaction is in flight"), "\(waiting)")
        rig.parameters.endTransaction()
        #expect(await rig.service().synchronize().objects["pin-key-5.ksn"] == .applied(version: "5"))
    }
}

extension KeyDownloadTests {
    /// The sim board end to end: its built-in acquirer (TERMINAL_TMS_DIR) offers key version 2, the terminal's
    /// poller loads it (the board's key store holds the TEST KBPK), the next PIN-online sale goes under the new KSN
    /// and is approved by the host, which knows (pin-keys.log) that the old key is retired.
    @Test func simBoardLoadsTheKeyAndSellsUnderIt() throws {
        let state = try makeTemporaryDirectory("keydl-board")
        defer { removeTree(state) }
        let served = state + "/served"
        _ = mkdir(served, 0o755)
        try writeTextFile(served + "/pin-key-2.ksn", "FFFF2222223333E00000\n")
        let environment = ["TERMINAL_TMS_DIR": served, "TERMINAL_TMS_INTERVAL_S": "1"]
        // The terminal idles until its poller has loaded the key and reported it.
        let board = try ChipSaleTests.board(in: state)
        let idle = try InteractiveProcess(
            [try builtProduct("terminal"), "run", "--board", board, "--headless", "--fixed-clock", "12:00", "--state-dir", state],
            environment: ["HOME": state].merging(environment) { $1 })
        var reports = ""
        for _ in 0..<200 where !reports.contains(" 00 ") {
            usleep(100_000)
            reports = (try? readTextFile(served + "/reports.log")) ?? ""
        }
        idle.closeInput()
        #expect(idle.wait(timeout: .seconds(20)) == 0, "\(idle.stderr.suffix(2000))")
        #expect(!idle.stderr.contains(TerminalManagementHost.testKeyBlockProtectionKey.withUnsafeBytes { Hex.encode(Array($0)) }))
        #expect(idle.stderr.contains("PIN key replaced"), "\(idle.stderr.suffix(2000))")
        // The run keeps its recent lines for a log upload (LogRing, attached by the runtime).
        #expect(((try? readTextFile(state + "/log/recent.log")) ?? "").contains("PIN key replaced"))
        #expect(reports.contains("pin-key-2.ksn 2 00 DUKPT initial key version 2 in force, initial KSN FFFF2222223333E00000"), "\(reports)")
        #expect(((try? readTextFile(served + "/pin-keys.log")) ?? "").contains("FFFF2222223333E00000"))
        let sale = try ChipSaleTests.sale("unionpay-debit", amount: 20_000, steps: ChipSaleTests.pin, state: state, board: board, environment: environment)
        #expect(sale.outcome.contains("APPROVED"), "\(sale.outcome)")
        let keys = try KeyStore(.init(
            directory: state + "/keys", deviceSecretPaths: KeyStore.defaultDeviceSecretPaths + [state + "/keys/device.secret"], mayProvision: false,
            environment: [:]))
        let next = try keys.nextKeySerialNumber(TerminalKeys.pinKey)
        #expect(Hex.encode(Array(next.prefix(7))) == "FFFF2222223333" && next[9] >= 2, "the sale used the new key: \(Hex.encode(next))")
    }
}

func readBinary(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TestKitError("cannot open \(path)") }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &chunk, chunk.count)
        guard n > 0 else { break }
        out += chunk[0..<n]
    }
    return out
}

func writeBinary(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw TestKitError("cannot create \(path)") }
    defer { close(fd) }
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<$0 + needle.count]) == needle }
}

enum ProcessInfoLite {
    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}
