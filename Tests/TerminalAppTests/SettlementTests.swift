#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Logging
import PaymentCrypto
@testable import Store
@testable import TerminalApp
import TestKit
import Testing
import Uplink
import DeviceKit
import TerminalUI
import Synchronization
import VirtualCards
import Codecs

/// Settlement (0500/0510, 0320/0330) against the real acquirer simulator: a real journal file, mutual TLS on loopback,
/// the simulator's SQLite books. The host's totals come from what it booked; a mismatch is made by booking at the
/// host a sale the terminal does not have.
@Suite(.serialized) struct SettlementTests {
    static let terminalID = "SIM00001"

    struct Rig {
        let directory: String
        let journal: Locked<TransactionJournal>
        let server: AcquirerServer
        let ledger: AcquirerLedger
        let uploader: StoreAndForwardUploader
        let link: HostAcquirerLink
        let service: SettlementService
        private(set) var amounts: [Int64] = []

        /// A journal with `sales` offline-approved chip sales of batch 1 (queued as advices), and optionally one due
        /// reversal.
        init(sales: Int, dueReversal: Bool = false, fault: AcquirerServer.Fault = .none) throws {
            directory = try makeTemporaryDirectory("settle")
            let store = try TerminalStore(path: directory + "/journal.sqlite")
            let opened = try TransactionJournal(
                store: store, dataKey: SecretBytes([UInt8](repeating: 0x42, count: 32)), random: SystemRandom(),
                clock: { Int64(time(nil)) })
            let field55 = SecretBytes([0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x9F, 0x27, 0x01, 0x40])
            for index in 0..<sales {
                let id = try opened.begin(TransactionDraft(
                    rail: .emvContact, kind: .sale, amountMinor: Int64(1000 + 100 * index), currency: 156, entryMode: .chip,
                    card: Store.CardData(pan: SecretBytes(Array("4761739001010119".utf8)), field55: field55),
                    txnRef: String(format16: UInt64(0x5E_0000 + index))))
                try opened.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
                amounts.append(Int64(1000 + 100 * index))
            }
            if dueReversal {
                let online = try opened.prepareOnline(TransactionDraft(
                    rail: .emvContact, kind: .sale, amountMinor: 5000, currency: 156, entryMode: .chip,
                    card: Store.CardData(pan: SecretBytes(Array("5413330089020011".utf8)), field55: field55), txnRef: "00000000005EB001"))
                _ = try opened.recordHostResponse(online, .noResponse)
            }
            journal = Locked(opened)
            let pki = try TLSTestCertificates.generate(clientName: Self.terminalIDForPKI)
            ledger = try AcquirerLedger(path: directory + "/ledger.sqlite")
            let issuer = IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(zeros: 16), expectedPIN: { _ in nil })
            server = try AcquirerServer(
                configuration: .init(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM, fault: fault), issuer: issuer, ledger: ledger)
            link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port, tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: SettlementTests.terminalID, merchantID: "898310048990001", responseTimeout: .milliseconds(500), keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "test"))
            uploader = StoreAndForwardUploader(
                configuration: .init(terminalID: SettlementTests.terminalID, merchantID: "898310048990001"), journal: journal, link: link,
                connectivity: { .online(via: .wifi, interface: "lo") }, clock: { Int64(time(nil)) }, logger: Logger(label: "test"))
            service = SettlementService(
                configuration: .init(terminalID: SettlementTests.terminalID, merchantID: "898310048990001"), journal: journal, link: link,
                uploader: uploader, clock: { Int64(time(nil)) }, logger: Logger(label: "test"))
        }

        static let terminalIDForPKI = "SIM00001"

        func openBatch() throws -> Int { try journal.withLock { try $0.openBatch() } }

        func close() {
            server.shutdown()
            removeTree(directory)
        }
    }

    @Test func matchingTotalsCloseTheBatchWithoutUpload() async throws {
        let rig = try Rig(sales: 3)
        defer { rig.close() }
        let outcome = await rig.service.settle()
        guard case .settled(let report) = outcome else {
            Issue.record("not settled: \(outcome)")
            return
        }
        let expected = SettlementTotals(saleCount: 3, saleAmount: 3300, refundCount: 0, refundAmount: 0, currencyCode: "156")
        #expect(report.batch == 1 && report.nextBatch == 2 && report.balanced && report.uploaded == 0)
        #expect(report.terminalTotals == [expected])
        #expect(report.hostTotals == [expected], "the host's totals come from the advices it booked")
        #expect(try rig.openBatch() == 2)
        #expect(try rig.ledger.settlements().map { [$0.processingCode, $0.responseCode] } == [["920000", "00"]])
        #expect(try rig.ledger.uploadCount(terminalID: Self.terminalID, batch: 1) == 0)
        #expect(try rig.journal.withLock { try $0.unsentCounts() } == (0, 0), "the queue was drained before the 0500")
        let audit = try rig.journal.withLock { try $0.auditLog() }
        #expect(audit.contains { $0.action == "batch-settle" && $0.detail.contains("batch 1 settled (balanced)") })
        // The new batch is empty and settles on its own.
        guard case .settled(let second) = await rig.service.settle() else {
            Issue.record("the empty batch did not settle")
            return
        }
        #expect(second.batch == 2 && second.nextBatch == 3 && second.terminalTotals.first?.saleCount == 0)
    }

    @Test func mismatchUploadsEveryTransactionThenCloses() async throws {
        let rig = try Rig(sales: 4)
        defer { rig.close() }
        // The host holds a sale of this terminal's batch 1 that the terminal does not have.
        try rig.ledger.record(
            key: Self.terminalID + "000001" + "009999" + "00000000DEADBEEF", messageClass: "020", response: [0x00], kind: "authorization",
            mti: "0200", amount: 777, currency: "156", maskedPAN: nil, responseCode: "00", authorizationCode: "A1", reason: "test",
            processingCode: "000000", terminalID: Self.terminalID, batch: 1)
        let outcome = await rig.service.settle()
        guard case .settled(let report) = outcome else {
            Issue.record("not settled: \(outcome)")
            return
        }
        #expect(report.uploaded == 4 && report.balanced, "after the upload the host balances with the terminal")
        #expect(report.hostTotals == [SettlementTotals(saleCount: 5, saleAmount: 1000 + 1100 + 1200 + 1300 + 777, refundCount: 0, refundAmount: 0, currencyCode: "156")])
        #expect(try rig.ledger.settlements().map { [$0.processingCode, $0.responseCode] } == [["920000", "95"], ["960000", "00"]])
        #expect(try rig.ledger.uploadCount(terminalID: Self.terminalID, batch: 1) == 4)
        #expect(try rig.ledger.uploadedTotals(terminalID: Self.terminalID, batch: 1) == report.terminalTotals)
        #expect(try rig.openBatch() == 2, "the batch number advances after the closing 0500")
    }

    @Test func unsentReversalRefusesAndKeepsTheBatch() async throws {
        let rig = try Rig(sales: 1, dueReversal: true, fault: .noAnswer)
        defer { rig.close() }
        let outcome = await rig.service.settle()
        #expect(outcome == .refused(.reversalsUnsent(1)))
        #expect(try rig.openBatch() == 1)
        #expect(try rig.ledger.settlements().isEmpty, "no 0500 left")
    }

    @Test func reversalDeliveredFirstThenSettles() async throws {
        let rig = try Rig(sales: 2, dueReversal: true)
        defer { rig.close() }
        let outcome = await rig.service.settle()
        guard case .settled(let report) = outcome else {
            Issue.record("not settled: \(outcome)")
            return
        }
        #expect(report.balanced && report.terminalTotals.first?.saleCount == 2)
        #expect(try rig.ledger.entries().map(\.kind) == ["reversal", "advice", "advice"])
    }

    @Test func unreachableHostLeavesTheBatchOpen() async throws {
        let rig = try Rig(sales: 0)
        defer { rig.close() }
        rig.server.shutdown()
        let outcome = await rig.service.settle()
        guard case .failed = outcome else {
            Issue.record("expected a failure: \(outcome)")
            return
        }
        #expect(try rig.openBatch() == 1)
    }

    @Test func cardVoidIsApprovedOnceAndTakenOutOfBothTotals() async throws {
        let rig = try Rig(sales: 3)
        defer { rig.close() }
        let voids = CardVoidService(
            journal: rig.journal, link: rig.link, configuration: .init(terminalID: Self.terminalID, merchantID: "898310048990001"),
            currency: Currency(code: "CNY")!, header: Receipts.Header(merchantName: "Shop", terminalID: Self.terminalID, merchantID: "898310048990001"),
            clock: { Int64(time(nil)) }, logger: Logger(label: "test"))
        #expect(voids.refundableSales(limit: 9).isEmpty, "offline sales whose advices are unsent cannot be voided yet")
        _ = await rig.uploader.drain()
        let listed = voids.refundableSales(limit: 9)
        #expect(listed.map(\.amount) == [1200, 1100, 1000], "newest first")
        #expect(listed.allSatisfy { $0.voidable && $0.refundable == $0.amount && $0.maskedReference == "476173******0119" })
        let printed = Mutex<[PrintDocument]>([])
        let session = PaymentSession(show: { _ in }, inputs: AsyncStream { $0.finish() }, print: { doc in printed.withLock { $0.append(doc) } })
        let result = await voids.run(.void, sale: listed[1], amount: listed[1].amount, session: session)
        guard case .approved = result else {
            Issue.record("void not approved: \(result)")
            return
        }
        #expect(printed.withLock { $0.count } == 2, "merchant and customer copies")
        #expect(voids.refundableSales(limit: 9).map(\.amount) == [1200, 1000], "a voided sale is not listed again")
        // The same sale again (a stale list): the host finds nothing left to void.
        let again = await voids.run(.void, sale: listed[1], amount: listed[1].amount, session: session)
        #expect(again == .declined(lines: [.raw("25")]))
        guard case .settled(let report) = await rig.service.settle() else {
            Issue.record("not settled")
            return
        }
        #expect(report.balanced && report.uploaded == 0)
        #expect(report.terminalTotals == [SettlementTotals(saleCount: 2, saleAmount: 2200, refundCount: 0, refundAmount: 0, currencyCode: "156")])
        #expect(report.hostTotals == report.terminalTotals)
    }

    @Test func voidsAndRefundsInTheTotals() throws {
        func record(_ kind: Store.TransactionKind, _ amount: Int64, currency: Int = 156) -> TransactionRecord {
            TransactionRecord(
                id: TransactionID(txnRef: "T0000000\(amount)", stan: 1, batch: 1), rail: .emvContact, kind: kind, amountMinor: amount,
                currency: currency, status: .approved, uploadState: .none, entryMode: .chip, maskedPAN: nil, panLast4: nil, aid: nil,
                applicationLabel: nil, authorizationCode: nil, responseCode: "00", retrievalReferenceNumber: nil, signatureRequired: false,
                offline: false, tampered: false, originalTxnRef: nil, reversal: nil, createdAt: 0, updatedAt: 0)
        }
        let totals = SettlementService.settlementTotals(
            [record(.sale, 1000), record(.sale, 2500), record(.void, 2500), record(.refund, 300), record(.sale, 900, currency: 978),
             record(.balance, 0)], currencyCode: 156)
        #expect(totals == [
            SettlementTotals(saleCount: 1, saleAmount: 1000, refundCount: 1, refundAmount: 300, currencyCode: "156"),
            SettlementTotals(saleCount: 1, saleAmount: 900, refundCount: 0, refundAmount: 0, currencyCode: "978"),
        ])
        let field = SettlementTotals.encodedList(totals)
        #expect(field == "00010000000010000001000000000300156" + "00010000000009000000000000000000978")
        #expect(try SettlementTotals.list(encoded: field) == totals)
        #expect(throws: ISO8583Error.self) { try SettlementTotals.list(encoded: String(field.dropLast())) }
        #expect(throws: ISO8583Error.self) { try SettlementTotals.list(encoded: String(field.prefix(35)) + String(field.prefix(35))) }
        #expect(SettlementTotals.balance(totals, totals.reversed()))
    }
}
