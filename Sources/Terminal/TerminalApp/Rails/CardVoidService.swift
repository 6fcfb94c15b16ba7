import Codecs
public import Logging
import PaymentCrypto
public import Store
public import TerminalUI
import Uplink

/// Voids and refunds of card sales for the merchant menu (docs/host-interface.md §5): a void is an 0200 `220000` of a
/// sale of the open batch, the sale's amount; a refund an 0200 `200000` of part or all of what is left of a sale of
/// any batch. Both carry field 61 naming the sale (§3.3). A refund is card-present by default (``CardPresence``): the
/// terminal reads the cardholder's card (``CardRefundReader``), refuses a card that is not the sale's before anything
/// is sent, and sends the card's PAN, expiry, PAN sequence number, field 55 and entry mode; where the board profile
/// allows it (`[payments] refund_card_not_present = true`) the PAN comes from the sale's sealed record instead. A void
/// takes the sale's sealed PAN (card not present). Like any online request the void or
/// refund is journalled with its reversal armed before it leaves; no answer makes the reversal due (the uploader sends
/// its 0400, §10). Nothing is done offline: an unreachable host refuses the refund.
public final class CardVoidService: RefundService {
    let journal: Locked<TransactionJournal>
    let link: HostAcquirerLink
    let configuration: StoreAndForwardUploader.Configuration
    let currency: Currency
    let header: Receipts.Header
    let clock: @Sendable () -> Int64
    let logger: Logger
    let presence: CardPresence

    /// Whether a refund reads the cardholder's card.
    public enum CardPresence: Sendable {
        /// The PAN comes from the sale's sealed record (the board profile's `refund_card_not_present = true`).
        case notPresent
        /// The card is read and must be the sale's (the default on every board); `nil`: the board reads no card,
        /// and refunds are refused.
        case present(CardRefundReader?)
    }

    /// The prefix of the references this service lists (``TerminalFlow/RefundableSale/reference``).
    public static let referencePrefix = "card:"

    /// How many journal records (newest first) the list and the search by reference look through.
    static let searchDepth = 2000

    public init(
        journal: Locked<TransactionJournal>, link: HostAcquirerLink, configuration: StoreAndForwardUploader.Configuration,
        currency: Currency, header: Receipts.Header, clock: @escaping @Sendable () -> Int64, logger: Logger,
        presence: CardPresence = .notPresent
    ) {
        self.presence = presence
        self.journal = journal
        self.link = link
        self.configuration = configuration
        self.currency = currency
        self.header = header
        self.clock = clock
        self.logger = logger
    }

    /// Card sales of any batch, newest first, that are approved, not voided, and known to the host (an offline
    /// approval only once its advice was acknowledged): voidable while in the open batch with nothing refunded,
    /// refundable while anything is left.
    public func refundableSales(limit: Int) -> [TerminalFlow.RefundableSale] {
        Array(cardSales().filter { $0.voidable || $0.refundable > 0 }.prefix(limit))
    }

    /// The card sales whose retrieval reference number (field 37 of the sale's answer, on its receipt) is
    /// `reference`, whatever is left of them (a sale refunded in full is found and has nothing refundable).
    public func refundableSales(reference: String) -> [TerminalFlow.RefundableSale] {
        guard !reference.isEmpty else { return [] }
        return cardSales().filter { $0.retrievalReference == reference }
    }

    /// What was refunded of each sale: approved refunds naming it (a refund whose reversal is due is not approved).
    static func refunded(_ records: [TransactionRecord]) -> [String: Int64] {
        var refunded: [String: Int64] = [:]
        for record in records where record.kind == .refund && record.status == .approved {
            if let original = record.originalTxnRef { refunded[original, default: 0] += record.amountMinor }
        }
        return refunded
    }

    private func cardSales() -> [TerminalFlow.RefundableSale] {
        let (records, openBatch) = (try? journal.withLock { journal -> ([TransactionRecord], Int) in
            (try journal.records(limit: Self.searchDepth), try journal.openBatch())
        }) ?? ([], 0)
        let voided = Set(records.filter { $0.kind == .void && $0.status == .approved }.compactMap(\.originalTxnRef))
        let refunded = Self.refunded(records)
        return records.filter { record in
            [.emvContact, .emvContactless].contains(record.rail) && record.kind == .sale
                && [.approved, .offlineApproved].contains(record.status) && !voided.contains(record.id.txnRef)
                && ![.queued, .sent].contains(record.uploadState) && !record.tampered
        }.map { record in
            let left = record.amountMinor - (refunded[record.id.txnRef] ?? 0)
            var sale = TerminalFlow.RefundableSale(
                reference: Self.referencePrefix + record.id.txnRef, label: .raw(record.applicationLabel ?? "CARD"),
                maskedReference: record.maskedPAN.map { Receipts.masked($0) } ?? "", amount: Int(record.amountMinor),
                refundable: Int(max(0, left)), voidable: record.id.batch == openBatch && left == record.amountMinor)
            sale.retrievalReference = record.retrievalReferenceNumber ?? ""
            sale.date = StoreAndForwardUploader.hostDateTime(record.createdAt + configuration.utcOffsetSeconds).dateField
            return sale
        }
    }

    /// Why a refund was refused before anything was sent.
    enum Refusal: Error { case voided, overLimit }

    /// The local checks of a refund (not voided, `amount` within what is left), against the journal as it is now (the
    /// list may be stale; the host checks again); returns the original sale.
    static func checkRefund(_ journal: TransactionJournal, txnRef: String, amount: Int) throws -> TransactionRecord {
        let original = try journal.record(txnRef: txnRef)
        let records = try journal.records(limit: Self.searchDepth)
        if records.contains(where: { $0.kind == .void && $0.status == .approved && $0.originalTxnRef == txnRef }) {
            throw Refusal.voided
        }
        let left = original.amountMinor - (Self.refunded(records)[txnRef] ?? 0)
        guard amount > 0, Int64(amount) <= left else { throw Refusal.overLimit }
        return original
    }

    /// The card-present step of a refund: the card read, or the result that ends the refund with nothing sent (a
    /// different card, removed, CANCEL, timeout). `nil` card: card not present.
    func presentedCard(txnRef: String, amount: Int, session: PaymentSession) async -> Result<CardRefundReader.RefundCard?, Ended> {
        guard case .present(let reader) = presence else { return .success(nil) }
        guard let reader else { return .failure(Ended(result: .declined(lines: [.ui(.notAvailable)]))) }
        let original: TransactionRecord
        let sealed: SecretBytes?
        do {
            (original, sealed) = try journal.withLock { journal -> (TransactionRecord, SecretBytes?) in
                let original = try Self.checkRefund(journal, txnRef: txnRef, amount: amount)
                return (original, try journal.cardData(original.id).pan)
            }
        } catch Refusal.voided {
            return .failure(Ended(result: .declined(lines: [.ui(.refundOriginalVoided)])))
        } catch Refusal.overLimit {
            return .failure(Ended(result: .declined(lines: [.ui(.refundOverLimit)])))
        } catch {
            logger.error("refund not started", metadata: ["error": "\(error)"])
            return .failure(Ended(result: .declined(lines: [.ui(.notAvailable)])))
        }
        switch await reader.read(amount: amount, currency: currency, preferredAID: original.aid, session: session) {
        case .card(let card):
            // The PAN read against the sale's sealed PAN: the digits compared in constant time, never logged.
            guard let sealed, card.pan.constantTimeEquals(sealed) else {
                logger.info("refund refused: not the original card", metadata: ["ref": "\(txnRef)"])
                return .failure(Ended(result: .declined(lines: [.ui(.refundCardMismatch)])))
            }
            return .success(card)
        case .cancelled:
            return .failure(Ended(result: .cancelled))
        case .timedOut:
            return .failure(Ended(result: .declined(lines: [.ui(.timedOut)])))
        case .cardRemoved:
            return .failure(Ended(result: .declined(lines: [.ui(.cardRemoved)])))
        case .cardError(let line):
            return .failure(Ended(result: .declined(lines: [line])))
        }
    }

    /// A refund that ended before anything was sent.
    struct Ended: Error {
        var result: TerminalFlow.PaymentResult
    }

    public func run(
        _ kind: TerminalFlow.RefundKind, sale: TerminalFlow.RefundableSale, amount: Int, session: PaymentSession
    ) async -> TerminalFlow.PaymentResult {
        guard sale.reference.hasPrefix(Self.referencePrefix) else { return .notAvailable }
        let txnRef = String(sale.reference.dropFirst(Self.referencePrefix.count))
        var presented: CardRefundReader.RefundCard?
        if kind == .refund {
            switch await presentedCard(txnRef: txnRef, amount: amount, session: session) {
            case .success(let card): presented = card
            case .failure(let ended): return ended.result
            }
        }
        session.show(.processing(.init()))
        let message: ISO8583.Message
        let id: TransactionID
        let original: TransactionRecord
        do {
            (id, message, original) = try journal.withLock { journal -> (TransactionID, ISO8583.Message, TransactionRecord) in
                // Checked (again, for a card-present refund) against the journal as it is now.
                let original = kind == .refund
                    ? try Self.checkRefund(journal, txnRef: txnRef, amount: amount) : try journal.record(txnRef: txnRef)
                // Card present: what the card gave (field 55 of its AAC); else the sale's sealed PAN.
                let card = try presented.map { Store.CardData(pan: $0.pan, field55: SecretBytes($0.iccData)) }
                    ?? Store.CardData(pan: journal.cardData(original.id).pan)
                let id = try journal.prepareOnline(TransactionDraft(
                    rail: original.rail, kind: kind == .void ? .void : .refund,
                    amountMinor: kind == .void ? original.amountMinor : Int64(amount), currency: original.currency,
                    entryMode: presented?.entryMode ?? original.entryMode, card: card, aid: original.aid,
                    applicationLabel: original.applicationLabel, originalTxnRef: original.id.txnRef))
                let record = try journal.record(id)
                var request = StoreAndForwardUploader.transactionRequest(
                    UploadItem(kind: .advice, record: record, card: card), configuration: configuration, now: clock())
                if let presented {
                    request.card.expiry = presented.expiry
                    request.card.panSequenceNumber = presented.panSequenceNumber
                }
                let local = StoreAndForwardUploader.hostDateTime(original.createdAt + configuration.utcOffsetSeconds)
                request.original = OriginalTransaction(
                    batchNumber: original.id.batch, stan: original.id.stan, localDate: local.dateField,
                    retrievalReference: original.retrievalReferenceNumber ?? "", authorizationCode: original.authorizationCode ?? "")
                return (id, try HostMessages.request(request), original)
            }
        } catch Refusal.voided {
            return .declined(lines: [.ui(.refundOriginalVoided)])
        } catch Refusal.overLimit {
            return .declined(lines: [.ui(.refundOverLimit)])
        } catch {
            logger.error("\(kind.rawValue) not started", metadata: ["error": "\(error)"])
            return .declined(lines: [.ui(.notAvailable)])
        }
        let answer: Store.HostResponse
        var notSent = false
        switch await link.deliver(message, willSend: {}) {
        case .answered(let response):
            let code = response.responseCode.rawValue
            answer = response.responseCode == .approved
                ? .approved(authorizationCode: response.authorizationCode ?? "000000", responseCode: code, retrievalReferenceNumber: response.retrievalReference)
                : .declined(responseCode: code, retrievalReferenceNumber: response.retrievalReference)
        case .notSent:
            // Nothing left the terminal: declined here, no reversal (there is nothing to undo).
            notSent = true
            answer = .declined(responseCode: "91", retrievalReferenceNumber: nil)
        case .unanswered:
            answer = .noResponse
        }
        do {
            let record = try journal.withLock { try $0.recordHostResponse(id, answer) }
            logger.info("\(kind.rawValue)", metadata: ["ref": "\(id.txnRef)", "status": "\(record.status.rawValue)", "code": "\(record.responseCode ?? "-")"])
            var transaction = Receipts.Transaction(record: record, card: nil, currency: currency, localTime: MerchantOperations.localTime(record.createdAt), reprint: false)
            transaction.originalReference = original.retrievalReferenceNumber
            if record.status == .approved {
                for copy in Receipts.Copy.allCases {
                    session.print(Receipts.receipt(transaction, header: header, copy: copy, language: session.language))
                }
                return .approved(lines: [.raw(sale.maskedReference)])
            }
            guard kind == .refund else { return .declined(lines: [.raw(record.responseCode ?? "--")]) }
            if notSent { return .declined(lines: [.ui(.refundNeedsHost)]) }
            if record.status == .failed { return .declined(lines: [.ui(.refundNoAnswer)]) }
            return .declined(lines: [Self.refusal(record.responseCode ?? "--")])
        } catch {
            logger.error("\(kind.rawValue) not recorded", metadata: ["error": "\(error)"])
            return .declined(lines: [.ui(.notAvailable)])
        }
    }

    /// The screen line for a host's refusal of a refund (docs/host-interface.md §4.2, card refunds).
    static func refusal(_ code: String) -> Screen.Text {
        switch code {
        case HostResponseCode.originalNotFound.rawValue: .ui(.refundOriginalNotFound)
        case HostResponseCode.invalidAmount.rawValue: .ui(.refundOverLimit)
        case HostResponseCode.invalidTransaction.rawValue: .ui(.refundOriginalVoided)
        case HostResponseCode.invalidCardNumber.rawValue: .ui(.refundCardMismatch)
        default: .raw(code)
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

    public func refundableSales(reference: String) -> [TerminalFlow.RefundableSale] {
        card.refundableSales(reference: reference) + (other?.refundableSales(reference: reference) ?? [])
    }

    public func run(
        _ kind: TerminalFlow.RefundKind, sale: TerminalFlow.RefundableSale, amount: Int, session: PaymentSession
    ) async -> TerminalFlow.PaymentResult {
        if sale.reference.hasPrefix(CardVoidService.referencePrefix) { return await card.run(kind, sale: sale, amount: amount, session: session) }
        return await other?.run(kind, sale: sale, amount: amount, session: session) ?? .notAvailable
    }
}
