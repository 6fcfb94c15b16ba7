#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import AcquirerSimulator
import Codecs
import DeviceKit
import Logging
import PaymentCrypto
@testable import Store
import Synchronization
@testable import TerminalApp
import TerminalUI
import TestKit
import Testing
import Uplink

/// Card refunds by original reference (docs/host-interface.md §4.2, docs/merchant-operations.md) against the real
/// acquirer simulator: a real journal file, mutual TLS on loopback, the simulator's SQLite books.
@Suite(.serialized) struct CardRefundTests {
    static let terminalID = SettlementTests.terminalID
    static let pan = "4761739001010119"

    static func service(_ rig: SettlementTests.Rig) -> CardVoidService {
        CardVoidService(
            journal: rig.journal, link: rig.link, configuration: .init(terminalID: terminalID, merchantID: "898310048990001"),
            currency: Currency(code: "CNY")!,
            header: Receipts.Header(merchantName: "Shop", terminalID: terminalID, merchantID: "898310048990001"),
            clock: { Int64(time(nil)) }, logger: Logger(label: "test"))
    }

    /// An online chip sale of batch 1 approved by the host: journalled as the rails do, booked in the host's ledger
    /// under its idempotency key, with the host's RRN on the terminal's record. Returns the RRN and the key.
    static func onlineSale(_ rig: SettlementTests.Rig, amount: Int64, txnRef: UInt64, book: Bool = true, pan: String = CardRefundTests.pan) throws -> (rrn: String, key: String) {
        let (id, request) = try rig.journal.withLock { journal -> (TransactionID, ISO8583.Message) in
            let id = try journal.prepareOnline(TransactionDraft(
                rail: .emvContact, kind: .sale, amountMinor: amount, currency: 156, entryMode: .chip,
                card: Store.CardData(pan: SecretBytes(Array(pan.utf8))), aid: "A0000000031010", applicationLabel: "VISA",
                txnRef: String(format16: txnRef)))
            let record = try journal.record(id)
            let request = StoreAndForwardUploader.transactionRequest(
                UploadItem(kind: .advice, record: record, card: Store.CardData(pan: SecretBytes(Array(pan.utf8)))),
                configuration: .init(terminalID: terminalID, merchantID: "898310048990001"), now: Int64(time(nil)))
            return (id, try HostMessages.request(request))
        }
        let key = try #require((try PrivateTaggedData(encoded: request.text(62) ?? ""))[.idempotencyKey])
        let rrn = AcquirerServer.Worker.retrievalReference(key)
        if book {
            try rig.ledger.record(
                key: key, messageClass: "020", response: [0], kind: "authorization", mti: "0200", amount: Int(amount), currency: "156",
                maskedPAN: EMVDataDictionary.maskedPAN(pan), responseCode: "00", authorizationCode: String(rrn.suffix(6)),
                reason: "approved", processingCode: "000000", terminalID: terminalID, batch: 1)
        }
        _ = try rig.journal.withLock { try $0.recordHostResponse(id, .approved(authorizationCode: String(rrn.suffix(6)), responseCode: "00", retrievalReferenceNumber: rrn)) }
        return (rrn, key)
    }

    /// The receipts a session printed.
    final class Printed: Sendable {
        let documents = Mutex<[PrintDocument]>([])
    }

    static let approved = TerminalFlow.PaymentResult.approved(lines: [Screen.Text.raw("476173******0119")])

    static func declined(_ string: UIString) -> TerminalFlow.PaymentResult { .declined(lines: [Screen.Text.ui(string)]) }

    static func session(language: Language = .zhCN, printed: Printed) -> PaymentSession {
        PaymentSession(show: { _ in }, inputs: AsyncStream { $0.finish() }, print: { doc in printed.documents.withLock { $0.append(doc) } }, language: language)
    }

    @Test(arguments: [Language.zhCN, .en])
    func refundByReferenceApprovedWithReceipts(language: Language) async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let refunds = Self.service(rig)
        let (rrn, _) = try Self.onlineSale(rig, amount: 10_000, txnRef: 0x7A_0001)
        #expect(refunds.refundableSales(reference: "999999999999").isEmpty, "unknown reference")
        let found = refunds.refundableSales(reference: rrn)
        try #require(found.count == 1)
        #expect(found[0].refundable == 10_000 && found[0].voidable && found[0].maskedReference == "476173******0119")
        #expect(found[0].retrievalReference == rrn && found[0].date.count == 4)
        let printed = Printed()
        let result = await refunds.run(.refund, sale: found[0], amount: 3_000, session: Self.session(language: language, printed: printed))
        #expect(result == Self.approved)
        let documents = printed.documents.withLock { $0 }
        try #require(documents.count == 2, "merchant and customer copies")
        let merchant = TextFilePrinter.render(documents[0])
        let customer = TextFilePrinter.render(documents[1])
        #expect(merchant.contains("退货 REFUND") && merchant.contains("商户存根 MERCHANT COPY"))
        #expect(customer.contains("退货 REFUND") && customer.contains("持卡人存根 CUSTOMER COPY"))
        let label = language == .en ? "ORIG REF NO" : "原参考号"
        #expect(merchant.contains(label) && merchant.contains(rrn), "\(merchant)")
        #expect(merchant.filter { $0 != " " }.contains(language == .en ? "CNY-30.00" : "¥-30.00"), "the amount negative, double size: \(merchant)")
        #expect(!merchant.contains(Self.pan) && !customer.contains(Self.pan), "the PAN is masked")
        let after = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(after.refundable == 7_000 && !after.voidable, "a refunded sale can no longer be voided")
        // The journal's refund record, and the host's booking.
        let record = try #require(try rig.journal.withLock { try $0.records(limit: 1).first })
        #expect(record.kind == .refund && record.status == .approved && record.amountMinor == 3_000 && record.maskedPAN != Self.pan)
        #expect(try rig.ledger.batchTotals(terminalID: Self.terminalID, batch: 1)
            == [SettlementTotals(saleCount: 1, saleAmount: 10_000, refundCount: 1, refundAmount: 3_000, currencyCode: "156")])
        #expect(try rig.ledger.netCharged() == 7_000)
    }

    @Test func partialRefundsUpToTheLimitThenRefused() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let refunds = Self.service(rig)
        let (rrn, key) = try Self.onlineSale(rig, amount: 10_000, txnRef: 0x7A_0002)
        let printed = Printed()
        let session = Self.session(printed: printed)
        var sale = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(await refunds.run(.refund, sale: sale, amount: 4_000, session: session) == Self.approved)
        sale = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(sale.refundable == 6_000)
        // Over what is left: refused locally, nothing sent.
        #expect(await refunds.run(.refund, sale: sale, amount: 6_001, session: session) == Self.declined(.refundOverLimit))
        #expect(await refunds.run(.refund, sale: sale, amount: 6_000, session: session) == Self.approved)
        sale = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(sale.refundable == 0)
        #expect(!refunds.refundableSales(limit: 9).contains { $0.reference == sale.reference }, "nothing left: not in the list")
        #expect(await refunds.run(.refund, sale: sale, amount: 1, session: session) == Self.declined(.refundOverLimit))
        // The host checks too: a second sale, of which the host booked a refund the terminal does not know.
        let (rrn2, key2) = try Self.onlineSale(rig, amount: 5_000, txnRef: 0x7A_0003)
        try rig.ledger.record(
            key: "SIM00001" + "000001" + "009998" + "00000000DEADBEEF", messageClass: "020", response: [0], kind: "authorization",
            mti: "0200", amount: 2_000, currency: "156", maskedPAN: EMVDataDictionary.maskedPAN(Self.pan), responseCode: "00",
            authorizationCode: "X1", reason: AcquirerLedger.refundReason(of: key2), processingCode: "200000", terminalID: Self.terminalID, batch: 1)
        let second = try #require(refunds.refundableSales(reference: rrn2).first)
        #expect(await refunds.run(.refund, sale: second, amount: 4_000, session: session) == Self.declined(.refundOverLimit))
        let declined = try #require(try rig.journal.withLock { try $0.records(limit: 1).first })
        #expect(declined.kind == .refund && declined.status == .declined && declined.responseCode == "13")
        #expect(await refunds.run(.refund, sale: second, amount: 3_000, session: session) == Self.approved)
        #expect(try rig.ledger.batchTotals(terminalID: Self.terminalID, batch: 1)
            == [SettlementTotals(saleCount: 2, saleAmount: 15_000, refundCount: 4, refundAmount: 15_000, currencyCode: "156")])
        _ = key
    }

    @Test func unknownOriginalAndVoidedOriginalAreRefusedByTheHost() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let refunds = Self.service(rig)
        let printed = Printed()
        let session = Self.session(printed: printed)
        // A sale the host never booked: 25.
        let (rrn, _) = try Self.onlineSale(rig, amount: 2_000, txnRef: 0x7A_0004, book: false)
        let unknown = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(await refunds.run(.refund, sale: unknown, amount: 1_000, session: session) == Self.declined(.refundOriginalNotFound))
        // A sale the host knows as voided: 12.
        let (rrn2, key2) = try Self.onlineSale(rig, amount: 2_000, txnRef: 0x7A_0005)
        try rig.ledger.record(
            key: "SIM00001" + "000001" + "009997" + "00000000DEADBEEF", messageClass: "020", response: [0], kind: "authorization",
            mti: "0200", amount: 2_000, currency: "156", maskedPAN: nil, responseCode: "00", authorizationCode: "X1",
            reason: "void of " + key2, processingCode: "220000", terminalID: Self.terminalID, batch: 1)
        let voided = try #require(refunds.refundableSales(reference: rrn2).first)
        #expect(await refunds.run(.refund, sale: voided, amount: 1_000, session: session) == Self.declined(.refundOriginalVoided))
        #expect(printed.documents.withLock { $0.isEmpty }, "no receipt for a refused refund")
    }

    @Test func aRepeatedRefundIsBookedOnce() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let refunds = Self.service(rig)
        let (rrn, _) = try Self.onlineSale(rig, amount: 8_000, txnRef: 0x7A_0006)
        let printed = Printed()
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(await refunds.run(.refund, sale: sale, amount: 8_000, session: Self.session(printed: printed)) == Self.approved)
        // The same 0200 again (a retransmission): answered from the books, not refunded twice.
        let message = try rig.journal.withLock { journal -> ISO8583.Message in
            let refund = try #require(try journal.records(limit: 1).first)
            let original = try journal.record(txnRef: try #require(refund.originalTxnRef))
            var request = StoreAndForwardUploader.transactionRequest(
                UploadItem(kind: .advice, record: refund, card: Store.CardData(pan: SecretBytes(Array(Self.pan.utf8)))),
                configuration: .init(terminalID: Self.terminalID, merchantID: "898310048990001"), now: Int64(time(nil)))
            request.original = OriginalTransaction(
                batchNumber: original.id.batch, stan: original.id.stan, localDate: "0101",
                retrievalReference: original.retrievalReferenceNumber ?? "", authorizationCode: original.authorizationCode ?? "")
            return try HostMessages.request(request)
        }
        guard case .answered(let again) = await rig.link.deliver(message, willSend: {}) else {
            Issue.record("the repeat was not answered")
            return
        }
        #expect(again.responseCode == .approved)
        #expect(try rig.ledger.batchTotals(terminalID: Self.terminalID, batch: 1)
            == [SettlementTotals(saleCount: 1, saleAmount: 8_000, refundCount: 1, refundAmount: 8_000, currencyCode: "156")])
    }

    @Test func noAnswerReversesTheRefund() async throws {
        let rig = try SettlementTests.Rig(sales: 0, fault: .noAnswer)
        defer { rig.close() }
        let refunds = Self.service(rig)
        let (rrn, _) = try Self.onlineSale(rig, amount: 5_000, txnRef: 0x7A_0007)
        let printed = Printed()
        let session = Self.session(printed: printed)
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        // Sent and never answered: the refund's reversal is due, for the store-and-forward uploader.
        #expect(await refunds.run(.refund, sale: sale, amount: 1_000, session: session) == Self.declined(.refundNoAnswer))
        let timedOut = try #require(try rig.journal.withLock { try $0.records(limit: 1).first })
        #expect(timedOut.kind == .refund && timedOut.status == .failed)
        #expect(try rig.journal.withLock { try $0.unsentCounts().reversals } == 1)
        #expect(try #require(refunds.refundableSales(reference: rrn).first).refundable == 5_000)
        // The host answers again: the uploader delivers the 0400, the host marks the refund reversed and the whole
        // sale is refundable there again.
        rig.server.setFault(.none)
        _ = await rig.uploader.drain()
        #expect(try rig.journal.withLock { try $0.unsentCounts().reversals } == 0)
        let booked = try rig.ledger.entries().filter { $0.kind == "authorization" && $0.amount == 1_000 }
        #expect(booked.count == 1 && booked.allSatisfy(\.reversed), "the timed-out refund, reversed at the host")
        #expect(await refunds.run(.refund, sale: sale, amount: 5_000, session: session) == Self.approved)
        #expect(printed.documents.withLock { $0.count } == 2, "only the approved refund printed")
    }

    @Test func hostUnreachableRefusesWithoutAReversal() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        rig.server.shutdown()
        let refunds = Self.service(rig)
        let (rrn, _) = try Self.onlineSale(rig, amount: 3_000, txnRef: 0x7A_0009, book: false)
        let printed = Printed()
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(await refunds.run(.refund, sale: sale, amount: 1_000, session: Self.session(printed: printed)) == Self.declined(.refundNeedsHost))
        let notSent = try #require(try rig.journal.withLock { try $0.records(limit: 1).first })
        #expect(notSent.kind == .refund && notSent.status == .declined)
        #expect(try rig.journal.withLock { try $0.unsentCounts().reversals } == 0, "no reversal for what never left")
        #expect(try #require(refunds.refundableSales(reference: rrn).first).refundable == 3_000)
        #expect(printed.documents.withLock { $0.isEmpty })
    }

    @Test func settlementAfterARefundBalances() async throws {
        let rig = try SettlementTests.Rig(sales: 2)
        defer { rig.close() }
        _ = await rig.uploader.drain()
        let refunds = Self.service(rig)
        let (rrn, _) = try Self.onlineSale(rig, amount: 10_000, txnRef: 0x7A_0008)
        let printed = Printed()
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(await refunds.run(.refund, sale: sale, amount: 2_500, session: Self.session(printed: printed)) == Self.approved)
        // An offline sale (no RRN; its advice acknowledged) from the list, refunded in full.
        let offline = try #require(refunds.refundableSales(limit: 9).first { $0.amount == 1_000 })
        #expect(offline.retrievalReference.isEmpty && offline.refundable == 1_000)
        #expect(await refunds.run(.refund, sale: offline, amount: 1_000, session: Self.session(printed: printed)) == Self.approved)
        guard case .settled(let report) = await rig.service.settle() else {
            Issue.record("not settled")
            return
        }
        #expect(report.balanced && report.uploaded == 0)
        #expect(report.terminalTotals == [SettlementTotals(saleCount: 3, saleAmount: 12_100, refundCount: 2, refundAmount: 3_500, currencyCode: "156")])
        #expect(report.hostTotals == report.terminalTotals)
        // A sale of a settled batch can still be refunded (any batch), but no longer voided.
        let later = try #require(refunds.refundableSales(reference: rrn).first)
        #expect(later.refundable == 7_500 && !later.voidable)
        #expect(await refunds.run(.refund, sale: later, amount: 500, session: Self.session(printed: printed)) == Self.approved)
        #expect(try rig.ledger.batchTotals(terminalID: Self.terminalID, batch: 2)
            == [SettlementTotals(saleCount: 0, saleAmount: 0, refundCount: 1, refundAmount: 500, currencyCode: "156")])
    }
}
