#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Codecs
import Logging
import PaymentCrypto
import Store
import Synchronization
@testable import TerminalApp
import TestKit
import Testing
import Uplink
import VirtualCards

/// The MAC of docs/host-interface.md §11 between ``HostAcquirerLink`` and the real acquirer simulator over mutual
/// TLS on loopback: key exchange (0800 `101`, a TR-31 block under the TEST KBPK), MACed requests and answers, `A0`,
/// an answer with a flipped byte (reversal `4020` in the journal), a terminal without a KBPK, and the key kept out
/// of the log.
@Suite(.serialized) struct HostMACLinkTests {
    static let terminalID = "SIM00001"

    /// Every log line with its metadata, as text.
    final class LogCapture: Sendable {
        let lines = Mutex<[String]>([])
        var text: String { lines.withLock { $0.joined(separator: "\n") } }

        struct Handler: LogHandler {
            let capture: LogCapture
            var logLevel: Logger.Level = .trace
            var metadata: Logger.Metadata = [:]
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                let extra = (event.metadata ?? [:]).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
                capture.lines.withLock { $0.append("\(event.level) \(event.message) \(extra)") }
            }
        }
    }

    struct Rig {
        let directory: String
        let server: AcquirerServer
        let ledger: AcquirerLedger
        let link: HostAcquirerLink
        let log = LogCapture()
        let pki: TLSTestCertificates

        init(
            fault: AcquirerServer.Fault = .none, kbpk: SecretBytes? = TerminalManagementHost.testKeyBlockProtectionKey, idleTimeout: Duration? = nil
        ) throws {
            directory = try makeTemporaryDirectory("hostmac")
            pki = try TLSTestCertificates.generate(clientName: HostMACLinkTests.terminalID)
            ledger = try AcquirerLedger(path: directory + "/ledger.sqlite")
            let issuer = IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(zeros: 16), expectedPIN: { _ in nil })
            var configuration = AcquirerServer.Configuration(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM, fault: fault)
            configuration.idleTimeout = idleTimeout
            server = try AcquirerServer(configuration: configuration, issuer: issuer, ledger: ledger)
            let capture = log
            link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port, tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: HostMACLinkTests.terminalID, merchantID: "898310048990001", responseTimeout: .seconds(3),
                    keyBlockProtectionKey: kbpk),
                logger: Logger(label: "test") { _ in LogCapture.Handler(capture: capture) })
        }

        func close() {
            link.close()
            server.shutdown()
            removeTree(directory)
        }

        /// A raw connection of the same terminal (its client certificate), for messages the link would never send.
        func rawConnection() throws -> HostConnection {
            try HostConnection.connect(
                host: "127.0.0.1", port: server.port, tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM))
        }
    }

    static func request(_ reference: String, stan: Int) -> AuthorizationRequest {
        AuthorizationRequest(
            transactionReference: reference, stan: stan, amount: 2500, currencyCode: 156, pan: "4761739001010119",
            panSequenceNumber: nil, expiry: "2712", track2Equivalent: [], iccData: [], entryMode: "051", pinBlock: nil,
            keySerialNumber: nil, localDateTime: LocalDateTime(year: 2026, month: 11, day: 27, hour: 9, minute: 30, second: 0))
    }

    static func keyHex(_ server: AcquirerServer) -> String? {
        server.macKeys.key(for: terminalID).map { key in key.withUnsafeKeyBytes { Hex.encode(Array($0)) } }
    }

    /// The first request of the connection is preceded by a key exchange; request and answer carry MACs that verify
    /// (the issuer's decision comes back: field 55 is empty here, so `05`), the books hold it once, and the key is
    /// nowhere in the log.
    @Test func keyExchangeThenMACedRequestAndAnswer() async throws {
        let rig = try Rig()
        defer { rig.close() }
        #expect(!rig.link.hasMACKey)
        let reply = await rig.link.authorize(Self.request("00000000000D0001", stan: 11))
        guard case .answered(let response) = reply else {
            Issue.record("not answered: \(reply)")
            return
        }
        #expect(response.responseCode == "05", "the issuer's own decision, not A0")
        #expect(rig.link.hasMACKey)
        let entries = try rig.ledger.entries()
        #expect(entries.map(\.kind) == ["authorization"] && entries.first?.responseCode == "05")
        // A second request reuses the key: no new key exchange.
        let keyBefore = try #require(Self.keyHex(rig.server))
        guard case .answered = await rig.link.authorize(Self.request("00000000000D0002", stan: 12)) else {
            Issue.record("the second request was not answered")
            return
        }
        #expect(Self.keyHex(rig.server) == keyBefore)
        let log = rig.log.text
        #expect(log.components(separatedBy: "MAC working key loaded by key exchange").count == 2, "\(log)")
        #expect(!log.uppercased().contains(keyBefore.uppercased()), "the MAC key is in the log")
    }

    /// The host answers with one byte of a MACed field flipped: the MAC does not verify, the answer is unusable, the
    /// key is dropped. The journal makes the reversal due with reason 4020 (the 0400's field 62 `RR`), and once the
    /// host behaves the uploader sends it after a new key exchange; the books net to nothing.
    @Test func corruptedAnswerIsReversedWith4020() async throws {
        let rig = try Rig(fault: .corruptAnswer)
        defer { rig.close() }
        let store = try TerminalStore(path: rig.directory + "/journal.sqlite")
        let journal = Locked(try TransactionJournal(
            store: store, dataKey: SecretBytes([UInt8](repeating: 0x42, count: 32)), random: SystemRandom(),
            clock: { Int64(time(nil)) }))
        let reference = "00000000000E0001"
        let id = try journal.withLock {
            try $0.prepareOnline(TransactionDraft(
                rail: .emvContact, kind: .sale, amountMinor: 2500, currency: 156, entryMode: .chip,
                card: Store.CardData(pan: SecretBytes(Array("4761739001010119".utf8)), field55: SecretBytes([0x9F, 0x27, 0x01, 0x80])),
                txnRef: reference))
        }
        let reply = await rig.link.authorize(Self.request(reference, stan: id.stan))
        guard case .unusableResponse = reply else {
            Issue.record("a corrupted answer must be unusable: \(reply)")
            return
        }
        #expect(!rig.link.hasMACKey, "a MAC failure drops the key")
        #expect(rig.log.text.contains("fails MAC verification"))
        // What StoreRailJournal records for an unusable answer.
        _ = try journal.withLock { try $0.recordHostResponse(id, .unusableResponse) }
        let items = try journal.withLock { try $0.nextUploads(limit: 10) }
        #expect(items.count == 1 && items.first?.reversalReason == .unusableResponse)
        let configuration = StoreAndForwardUploader.Configuration(terminalID: Self.terminalID, merchantID: "898310048990001")
        let reversal = try StoreAndForwardUploader.message(for: try #require(items.first), configuration: configuration, now: Int64(time(nil)))
        #expect(reversal.mti == "0400")
        #expect(try PrivateTaggedData(encoded: reversal.text(62) ?? "")[.reversalReason] == "4020")

        rig.server.setFault(.none)
        let uploader = StoreAndForwardUploader(
            configuration: configuration, journal: journal, link: rig.link,
            connectivity: { .online(via: .wifi, interface: "lo") }, clock: { Int64(time(nil)) }, logger: Logger(label: "test"))
        let report = await uploader.drain()
        #expect(report.acknowledged == 1)
        #expect(try journal.withLock { try $0.unsentCounts() } == (0, 0))
        #expect(rig.link.hasMACKey, "a new key exchange before the reversal")
        let entries = try rig.ledger.entries()
        #expect(entries.map(\.kind) == ["authorization", "reversal"], "\(entries)")
        #expect(try rig.ledger.netCharged() == 0)
    }

    /// An advice and a due reversal whose answers fail MAC verification are not marked delivered: they stay queued and
    /// go again (as repeats) once the answers verify; the host, which booked them the first time, answers the
    /// repeats from its books, so each is booked once.
    @Test func adviceAndReversalWithUnverifiableAnswersStayQueued() async throws {
        let rig = try Rig(fault: .corruptAnswer)
        defer { rig.close() }
        let journal = Locked(try TransactionJournal(
            store: try TerminalStore(path: rig.directory + "/journal.sqlite"), dataKey: SecretBytes([UInt8](repeating: 0x42, count: 32)),
            random: SystemRandom(), clock: { Int64(time(nil)) }))
        let field55 = SecretBytes([0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x9F, 0x27, 0x01, 0x40])
        try journal.withLock { opened in
            let offline = try opened.begin(TransactionDraft(
                rail: .emvContact, kind: .sale, amountMinor: 1234, currency: 156, entryMode: .chip,
                card: Store.CardData(pan: SecretBytes(Array("4761739001010119".utf8)), field55: field55), txnRef: "0000000000110001"))
            try opened.recordOutcome(offline, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
            let online = try opened.prepareOnline(TransactionDraft(
                rail: .emvContact, kind: .sale, amountMinor: 5000, currency: 156, entryMode: .chip,
                card: Store.CardData(pan: SecretBytes(Array("4761739001010119".utf8)), field55: field55), txnRef: "0000000000110002"))
            _ = try opened.recordHostResponse(online, .noResponse)
        }
        let uploader = StoreAndForwardUploader(
            configuration: .init(terminalID: Self.terminalID, merchantID: "898310048990001"), journal: journal, link: rig.link,
            connectivity: { .online(via: .wifi, interface: "lo") }, clock: { Int64(time(nil)) }, logger: Logger(label: "test"))
        let first = await uploader.drain()
        #expect(first.acknowledged == 0)
        #expect(try journal.withLock { try $0.unsentCounts() } == (1, 1), "nothing marked delivered")

        rig.server.setFault(.none)
        let second = await uploader.drain()
        #expect(second.acknowledged == 2)
        #expect(try journal.withLock { try $0.unsentCounts() } == (0, 0))
        let entries = try rig.ledger.entries()
        #expect(entries.map(\.kind).sorted() == ["advice", "reversal"], "each booked once: \(entries)")
        // Booked on the first pass (only the answers were corrupted); the repeats were answered from the books.
        #expect(entries.map(\.mti).sorted() == ["0220", "0400"], "\(entries)")
    }

    /// A request with a wrong MAC, and one without any, are answered `A0` and booked nowhere. When the host's key is
    /// not the terminal's (another key exchange on the host's side), the terminal's request gets an `A0` it cannot
    /// verify: unusable (reversal 4020), the key is dropped; the next request re-keys and is answered normally.
    @Test func wrongMACIsAnsweredA0AndTheTerminalReKeys() async throws {
        let rig = try Rig()
        defer { rig.close() }
        guard case .answered = await rig.link.authorize(Self.request("00000000000F0001", stan: 21)) else {
            Issue.record("the first request was not answered")
            return
        }
        #expect(try rig.ledger.entries().count == 1)

        // A raw 0200 of the same terminal under a key that is not the host's, then one without MAC (the simulator
        // serves one connection at a time: the link's is closed first; its key stays).
        rig.link.close()
        let sale = try HostMessages.request(rig.link.transactionRequest(Self.request("00000000000F0002", stan: 22)))
        let raw = try rig.rawConnection()
        let wrongKey = try HostMACKey(.retailMAC, key: SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210")!)
        for packed in [try HostDialect.pack(sale, mac: wrongKey.authenticationCode), try HostDialect.pack(sale)] {
            let answer = try HostDialect.unpack(try raw.exchange(packed, responseTimeout: .seconds(3))[...], mac: nil)
            #expect(answer.mti == "0210" && answer.text(39) == "A0")
        }
        #expect(try rig.ledger.entries().count == 1, "an A0 books nothing")

        // The host's key changes under the terminal (a key exchange the terminal did not make).
        let exchange = HostMessages.networkManagement(
            .keyExchange, stan: 900, transmission: HostAcquirerLink.transmissionNow(), terminalID: Self.terminalID)
        let exchanged = try HostDialect.unpack(try raw.exchange(try HostDialect.pack(exchange), responseTimeout: .seconds(3))[...], mac: nil)
        #expect(exchanged.text(39) == "00" && exchanged.text(63)?.hasPrefix("B") == true)
        raw.close()
        let refused = await rig.link.authorize(Self.request("00000000000F0003", stan: 23))
        guard case .unusableResponse = refused else {
            Issue.record("an A0 under another key is unusable: \(refused)")
            return
        }
        #expect(!rig.link.hasMACKey)
        #expect(try rig.ledger.entries().count == 1, "the refused request is booked nowhere")

        let again = await rig.link.authorize(Self.request("00000000000F0004", stan: 24))
        guard case .answered(let response) = again else {
            Issue.record("the next request after the key exchange was not answered: \(again)")
            return
        }
        #expect(response.responseCode != "A0")
        #expect(try rig.ledger.entries().count == 2)
        #expect(rig.log.text.components(separatedBy: "MAC working key loaded by key exchange").count == 3)
    }

    /// The host closes the kept connection after the terminal has been idle a while (as real acquirer hosts do). The
    /// next sale must not be sent into the dead connection (a write the kernel accepts, then no answer: a false
    /// time-out, a reversal and a declined customer): the terminal notices the host's close and opens a new
    /// connection. The same holds for the key exchange when the key was dropped meanwhile.
    @Test func aConnectionTheHostClosedWhileIdleIsReplacedNotUsed() async throws {
        let rig = try Rig(idleTimeout: .milliseconds(200))
        defer { rig.close() }
        guard case .answered = await rig.link.authorize(Self.request("0000000000110001", stan: 41)) else {
            Issue.record("the first request was not answered")
            return
        }
        try await Task.sleep(for: .milliseconds(900))  // the host closes the idle connection
        let second = await rig.link.authorize(Self.request("0000000000110002", stan: 42))
        guard case .answered(let response) = second else {
            Issue.record("the sale after the host closed the idle connection was not answered: \(second)")
            return
        }
        #expect(response.responseCode != "A0")

        try await Task.sleep(for: .milliseconds(900))
        rig.link.dropMACKey()  // the next message starts with a key exchange, after the host closed the connection again
        let third = await rig.link.authorize(Self.request("0000000000110003", stan: 43))
        guard case .answered = third else {
            Issue.record("the key exchange after the host closed the idle connection failed: \(third)")
            return
        }
        let log = rig.log.text
        #expect(log.components(separatedBy: "MAC working key loaded by key exchange").count == 3, "\(log)")
        #expect(!log.contains("no answer from the acquirer"), "\(log)")
        #expect(try rig.ledger.entries().map(\.kind) == ["authorization", "authorization", "authorization"])
    }

    /// A terminal without a KBPK cannot load a MAC key: it sends nothing financial (the sale ends as with the host
    /// unreachable, an advice stays queued), says so in the log, and the host's books stay empty.
    @Test func noKBPKSendsNothingAndSaysSo() async throws {
        let rig = try Rig(kbpk: nil)
        defer { rig.close() }
        let reply = await rig.link.authorize(Self.request("0000000000100001", stan: 31))
        guard case .unreachable = reply else {
            Issue.record("without a KBPK the request must not leave: \(reply)")
            return
        }
        let advice = try HostMessages.offlineAdvice(
            rig.link.transactionRequest(Self.request("0000000000100002", stan: 32)), decision: .offlineApproved)
        guard case .notSent = await rig.link.deliver(advice, willSend: {}) else {
            Issue.record("without a KBPK the advice must not leave")
            return
        }
        #expect(try rig.ledger.entries().isEmpty)
        #expect(rig.log.text.contains("error no key block protection key (KBPK)"), "\(rig.log.text)")
    }

    /// The sim board end to end (terminal process, built-in acquirer simulator): a chip sale with online PIN is
    /// approved over MACed messages after a key exchange.
    @Test func headlessChipSaleIsApprovedOverMACs() throws {
        let state = try makeTemporaryDirectory("hostmac-sale")
        defer { removeTree(state) }
        let result = try AcquirerFaultTests.terminal(AcquirerFaultTests.sale(until: "交易成功"), state: state, environment: [:])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("交易成功"), "the sale is approved: \(result.stdout)")
        #expect(result.stderr.contains("MAC working key loaded by key exchange"), "\(result.stderr)")
        let entries = try AcquirerLedger(path: state + "/acquirer-ledger.sqlite").entries()
        #expect(entries.map(\.kind) == ["authorization"] && entries.first?.responseCode == "00", "\(entries)")
    }
}
