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
@testable import TerminalApp
import TestKit
import Testing
import Uplink
import VirtualCards

/// How long the uploader takes to drain a full queue over loopback TLS to the acquirer simulator, and where the time
/// goes. `SAF_BENCH_COUNT` sets the queue length (default 500; the figure in docs/host-interface.md is 10 000).
/// Prints its table; asserts only that everything was delivered once.
@Suite(.serialized) struct StoreAndForwardBench {
    static var count: Int { getenv("SAF_BENCH_COUNT").flatMap { Int(String(cString: $0)) } ?? 500 }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// A journal on disk with `count` offline approvals queued.
    static func filledJournal(_ path: String, count: Int) throws -> TransactionJournal {
        let journal = try TransactionJournal(
            store: try TerminalStore(path: path), dataKey: SecretBytes([UInt8](repeating: 7, count: 32)), random: SystemRandom(),
            clock: { Int64(time(nil)) })
        // A chip sale's field 55 as the rails store it (the tags of docs/host-interface.md §7, 87 bytes).
        let field55: [UInt8] = [
            0x9F, 0x26, 0x08, 0x1D, 0x0E, 0x9A, 0xC4, 0xA3, 0xC5, 0xB1, 0xF7, 0x9F, 0x27, 0x01, 0x40, 0x9F, 0x10, 0x07, 0x06, 0x01,
            0x0A, 0x03, 0xA0, 0x00, 0x00, 0x9F, 0x37, 0x04, 0x9A, 0x1B, 0x2C, 0x3D, 0x9F, 0x36, 0x02, 0x00, 0x27, 0x95, 0x05, 0x00,
            0x00, 0x00, 0x80, 0x00, 0x9A, 0x03, 0x26, 0x11, 0x27, 0x9C, 0x01, 0x00, 0x9F, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x12,
            0x50, 0x5F, 0x2A, 0x02, 0x01, 0x56, 0x82, 0x02, 0x38, 0x00, 0x9F, 0x1A, 0x02, 0x01, 0x56, 0x9F, 0x33, 0x03, 0xE0, 0xF8,
            0xC8, 0x9F, 0x34, 0x03, 0x42, 0x03, 0x00,
        ]
        for index in 0..<count {
            let id = try journal.begin(TransactionDraft(
                rail: .emvContact, kind: .sale, amountMinor: Int64(100 + index % 5000), currency: 156, entryMode: .chip,
                card: Store.CardData(pan: SecretBytes(Array("4761739001010119".utf8)), field55: SecretBytes(field55)),
                txnRef: String(format16: UInt64(0x10_0000 + index))))
            try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
        }
        return journal
    }

    struct Host {
        let server: AcquirerServer
        let ledger: AcquirerLedger
        let link: HostAcquirerLink

        init(directory: String, name: String) throws {
            let pki = try TLSTestCertificates.generate(clientName: "SIM00001")
            ledger = try AcquirerLedger(path: directory + "/\(name)-ledger.sqlite")
            server = try AcquirerServer(
                configuration: .init(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM),
                issuer: IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(zeros: 16), expectedPIN: { _ in nil }),
                ledger: ledger)
            link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port, tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: "SIM00001", merchantID: "898310048990001", keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "bench"))
        }
    }

    @Test func drainQueuedAdvices() async throws {
        let count = Self.count
        let directory = try makeTemporaryDirectory("saf-bench")
        defer { removeTree(directory) }
        let configuration = StoreAndForwardUploader.Configuration(terminalID: "SIM00001", merchantID: "898310048990001")

        // 1. The uploader as the terminal runs it.
        var start = Self.now()
        let journal = Locked(try Self.filledJournal(directory + "/a.sqlite", count: count))
        let fill = Self.now() - start
        let host = try Host(directory: directory, name: "a")
        defer { host.server.shutdown() }
        let uploader = StoreAndForwardUploader(
            configuration: configuration, journal: journal, link: host.link, connectivity: { .online(via: .wifi, interface: "lo") },
            clock: { Int64(time(nil)) }, logger: Logger(label: "bench"))
        start = Self.now()
        var delivered = 0
        while delivered < count {
            let pass = await uploader.drain()
            delivered += pass.acknowledged
            if pass.acknowledged == 0 { break }
        }
        let drain = Self.now() - start
        #expect(delivered == count)
        #expect(try journal.withLock { try $0.unsentCounts() } == (0, 0))
        let entries = try host.ledger.entries()
        #expect(entries.count == count && Set(entries.map(\.idempotencyKey)).count == count, "each advice booked once")

        // 2. The same steps, timed one by one, on a second queue.
        let sample = min(count, 2000)
        let second = try Self.filledJournal(directory + "/b.sqlite", count: sample)
        let host2 = try Host(directory: directory, name: "b")
        defer { host2.server.shutdown() }
        var read = 0.0, build = 0.0, markSent = 0.0, exchange = 0.0, acknowledge = 0.0
        var packed: [[UInt8]] = []
        var messages: [ISO8583.Message] = []
        while true {
            var t = Self.now()
            let items = try second.nextUploads(limit: 32)
            read += Self.now() - t
            if items.isEmpty { break }
            for item in items {
                t = Self.now()
                let message = try StoreAndForwardUploader.message(for: item, configuration: configuration, now: Int64(time(nil)))
                packed.append(try HostDialect.pack(message))
                messages.append(message)
                build += Self.now() - t
                t = Self.now()
                try second.markSent(item)
                markSent += Self.now() - t
                t = Self.now()
                let delivery = await host2.link.deliver(message) {}
                exchange += Self.now() - t
                guard case .answered = delivery else { Issue.record("not answered: \(delivery)"); return }
                t = Self.now()
                try second.markAcknowledged(item)
                acknowledge += Self.now() - t
            }
        }
        // The bare round trip: the same messages again on one HostConnection from this thread (no thread hop, no
        // lock); the host answers them from its books (a lookup, no booking).
        let tls = host2.link.configuration.tls
        host2.link.close()  // the simulator serves one connection at a time
        let raw = try HostConnection.connect(host: "127.0.0.1", port: host2.server.port, tls: tls)
        // MACed under the key the link exchanged, so the host answers from its books rather than with A0.
        let key = try #require(host2.server.macKeys.key(for: "SIM00001"))
        packed = try messages.map { try HostDialect.pack($0, mac: key.authenticationCode) }
        var t = Self.now()
        for message in packed {
            let answer = try raw.exchange(message, responseTimeout: .seconds(5))
            #expect(try HostDialect.unpack(answer[...], mac: key.authenticationCode).text(39) == "00")
        }
        let bare = Self.now() - t
        raw.close()
        // The thread hop every blocking exchange takes (a new thread, then back to the cooperative pool).
        t = Self.now()
        for _ in 0..<sample { _ = await HostAcquirerLink.offThread { 0 } }
        let hop = Self.now() - t
        // 3. The host's share of an exchange: booking one answer in its SQLite ledger.
        let scratch = try AcquirerLedger(path: directory + "/scratch-ledger.sqlite")
        let response = [UInt8](repeating: 0x30, count: 120)
        do {
            t = Self.now()
            for index in 0..<sample {
                try scratch.record(
                    key: "K\(index)", messageClass: "022", response: response, kind: "advice", mti: "0220", amount: 100, currency: "156",
                    maskedPAN: "476173******0119", responseCode: "Y1", authorizationCode: nil, reason: "bench")
            }
            let booking = Self.now() - t
            func ms(_ seconds: Double, _ n: Int) -> String {
                let value = (seconds / Double(n) * 1e6).rounded() / 1000
                return "\(value) ms"
            }
            print("""
                store-and-forward bench: \(count) queued offline advices, loopback mutual TLS (\(host.link.configuration.host)), one connection
                  fill the journal (begin + recordOutcome, FULL commits): \((fill * 10).rounded() / 10) s
                  drain with the uploader: \((drain * 100).rounded() / 100) s = \(ms(drain, count)) per advice, \(Int(Double(count) / drain)) advices/s
                  per advice, timed step by step over \(sample):
                    nextUploads (read + unseal, batches of 32): \(ms(read, sample))
                    build + pack the 0220:                      \(ms(build, sample))
                    markSent (NORMAL commit):                   \(ms(markSent, sample))
                    exchange (TLS write, host, TLS read):       \(ms(exchange, sample))
                      bare round trip, answered from the books: \(ms(bare, sample))
                      the host's ledger booking (SQLite):       \(ms(booking, sample))
                      the thread hop (pthread + resume):        \(ms(hop, sample))
                    markAcknowledged (NORMAL commit):           \(ms(acknowledge, sample))
                """)
        }
    }
}
