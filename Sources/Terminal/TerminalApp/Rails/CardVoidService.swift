import Codecs
public import Logging
public import Store
public import TerminalUI
import Uplink

/// Voids of card sales of the open batch (docs/host-interface.md §5: an 0200 with processing code `220000`, field 61
/// naming the sale, the sale's amount), for the merchant menu's void entry. The card need not be present: the PAN
/// comes from the sale's sealed record. Like any online request the void is journalled with its reversal armed
/// before it leaves; no answer makes the reversal due (the uploader sends the 0400 of the void). Card refunds are
/// not offered (refundable 0).
public final class CardVoidService: RefundService {
    let journal: Locked<TransactionJournal>
    let link: HostAcquirerLink
    let configuration: StoreAndForwardUploader.Configuration
    let currency: Currency
    let header: Receipts.Header
    let clock: @Sendable () -> Int64
    let logger: Logger

    /// The prefix of the references this service lists (``TerminalFlow/RefundableSale/reference``).
    public static let referencePrefix = "card:"

    public init(
        journal: Locked<TransactionJournal>, link: HostAcquirerLink, configuration: StoreAndForwardUploader.Configuration,
        currency: Currency, header: Receipts.Header, clock: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.journal = journal
        self.link = link
        self.configuration = configuration
        self.currency = currency
        self.header = header
        self.clock = clock
        self.logger = logger
    }

    /// Card sales of the open batch, newest first, that are approved, not voided, and known to the host (an offline
    /// approval only once its advice was acknowledged).
    public func refundableSales(limit: Int) -> [TerminalFlow.RefundableSale] {
        let records = (try? journal.withLock { journal -> [TransactionRecord] in
            try journal.approvedRecords(batch: try journal.openBatch())
        }) ?? []
        let voided = Set(records.filter { $0.kind == .void }.compactMap(\.originalTxnRef))
        return records.reversed().filter { record in
            [.emvContact, .emvContactless].contains(record.rail) && record.kind == .sale && !voided.contains(record.id.txnRef)
                && ![.queued, .sent].contains(record.uploadState)
        }.prefix(limit).map { record in
            TerminalFlow.RefundableSale(
                reference: Self.referencePrefix + record.id.txnRef, label: .raw(record.applicationLabel ?? "CARD"),
                maskedReference: record.maskedPAN.map { Receipts.masked($0) } ?? "", amount: Int(record.amountMinor), refundable: 0,
                voidable: true)
        }
    }

    public func run(
        _ kind: TerminalFlow.RefundKind, sale: TerminalFlow.RefundableSale, amount: Int, session: PaymentSession
    ) async -> TerminalFlow.PaymentResult {
        guard kind == .void, sale.reference.hasPrefix(Self.referencePrefix) else { return .notAvailable }
        let txnRef = String(sale.reference.dropFirst(Self.referencePrefix.count))
        session.show(.processing(.init()))
        let message: ISO8583.Message
        let id: TransactionID
        do {
            (id, message) = try journal.withLock { journal -> (TransactionID, ISO8583.Message) in
                let original = try journal.record(txnRef: txnRef)
                let card = try journal.cardData(original.id)
                let id = try journal.prepareOnline(TransactionDraft(
                    rail: original.rail, kind: .void, amountMinor: original.amountMinor, currency: original.currency,
                    entryMode: original.entryMode, card: Store.CardData(pan: card.pan), aid: original.aid,
                    applicationLabel: original.applicationLabel, originalTxnRef: original.id.txnRef))
                let record = try journal.record(id)
                var request = StoreAndForwardUploader.transactionRequest(
                    UploadItem(kind: .advice, record: record, card: Store.CardData(pan: card.pan)), configuration: configuration, now: clock())
                let local = StoreAndForwardUploader.hostDateTime(original.createdAt + configuration.utcOffsetSeconds)
                request.original = OriginalTransaction(
                    batchNumber: original.id.batch, stan: original.id.stan, localDate: local.dateField,
                    retrievalReference: original.retrievalReferenceNumber ?? "", authorizationCode: original.authorizationCode ?? "")
                return (id, try HostMessages.request(request))
            }
        } catch {
            logger.error("void not started", metadata: ["error": "\(error)"])
            return .declined(lines: [.ui(.notAvailable)])
        }
        let answer: Store.HostResponse
        switch await link.deliver(message, willSend: {}) {
        case .answered(let response):
            let code = response.responseCode.rawValue
            answer = response.responseCode == .approved
                ? .approved(authorizationCode: response.authorizationCode ?? "000000", responseCode: code, retrievalReferenceNumber: response.retrievalReference)
                : .declined(responseCode: code, retrievalReferenceNumber: response.retrievalReference)
        case .notSent:
            answer = .declined(responseCode: "91", retrievalReferenceNumber: nil)
        case .unanswered:
            answer = .noResponse
        }
        do {
            let record = try journal.withLock { try $0.recordHostResponse(id, answer) }
            logger.info("void", metadata: ["ref": "\(id.txnRef)", "status": "\(record.status.rawValue)", "code": "\(record.responseCode ?? "-")"])
            let transaction = Receipts.Transaction(record: record, card: nil, currency: currency, localTime: MerchantOperations.localTime(record.createdAt), reprint: false)
            if record.status == .approved {
                for copy in Receipts.Copy.allCases {
                    session.print(Receipts.receipt(transaction, header: header, copy: copy, language: session.language))
                }
                return .approved(lines: [.raw(sale.maskedReference)])
            }
            return .declined(lines: [.raw(record.responseCode ?? "--")])
        } catch {
            logger.error("void not recorded", metadata: ["error": "\(error)"])
            return .declined(lines: [.ui(.notAvailable)])
        }
    }
}

/// Several refund services behind the one merchant-menu list: the card voids (references ``CardVoidService/referencePrefix``)
/// and the QR rail's refunds and voids.
public struct CombinedRefundService: RefundService {
    let card: CardVoidService
    let other: (any RefundService)?

    public init(card: CardVoidService, other: (any RefundService)?) {
        self.card = card
        self.other = other
    }

    public func refundableSales(limit: Int) -> [TerminalFlow.RefundableSale] {
        Array((card.refundableSales(limit: limit) + (other?.refundableSales(limit: limit) ?? [])).prefix(limit))
    }

    public func run(
        _ kind: TerminalFlow.RefundKind, sale: TerminalFlow.RefundableSale, amount: Int, session: PaymentSession
    ) async -> TerminalFlow.PaymentResult {
        if sale.reference.hasPrefix(CardVoidService.referencePrefix) { return await card.run(kind, sale: sale, amount: amount, session: session) }
        return await other?.run(kind, sale: sale, amount: amount, session: session) ?? .notAvailable
    }
}
