import Codecs
public import Logging
public import Store
public import Uplink

/// Closes the open batch with the acquirer (docs/host-interface.md §4.4, §4.7; docs/merchant-operations.md):
///
/// 1. drains the store-and-forward queue (reversals first, then advices) on the shared link;
/// 2. refuses, with the reason for the screen, while a reversal or an advice is still unsent;
/// 3. sends the 0500 (`920000`) with the batch's totals per currency (field 63);
/// 4. on `95` uploads every approved transaction of the batch (0320), then sends the closing 0500 (`960000`), whose
///    answer closes the batch whatever its code;
/// 5. only then closes the batch in the journal (``TransactionJournal/settleBatch(_:actor:detail:now:)``): the batch
///    number advances after the host's answer, never before.
///
/// Any failure before step 5 leaves the batch open; settling again starts over (the host replaces a repeated upload).
/// The rails the acquirer settles are ``Configuration/settledRails``; QR wallet payments settle with the wallet
/// gateway and prepaid purses are their own authority, so they are in the X/Z reports but not in field 63.
public final class SettlementService: Sendable {
    public struct Configuration: Sendable {
        /// Field 41.
        public var terminalID: String
        /// Field 42.
        public var merchantID: String
        /// Seconds east of UTC, for the local time fields.
        public var utcOffsetSeconds: Int64
        /// ISO 4217 numeric: the currency of the (zero) totals of an empty batch.
        public var currencyCode: Int
        /// The rails whose transactions go through the acquirer and are settled with it.
        public var settledRails: Set<Rail>

        public init(
            terminalID: String, merchantID: String, utcOffsetSeconds: Int64 = 0, currencyCode: Int = 156,
            settledRails: Set<Rail> = [.emvContact, .emvContactless]
        ) {
            self.terminalID = terminalID
            self.merchantID = merchantID
            self.utcOffsetSeconds = utcOffsetSeconds
            self.currencyCode = currencyCode
            self.settledRails = settledRails
        }
    }

    /// Why settlement did not start.
    public enum Refusal: Sendable, Equatable {
        /// Reversals are due or unanswered: the host's books may still hold a charge the terminal undid.
        case reversalsUnsent(Int)
        /// Offline approvals or completion advices are not yet acknowledged.
        case advicesUnsent(Int)
    }

    /// What a settled batch looked like, for the Z report.
    public struct Report: Sendable, Equatable {
        /// The batch closed.
        public var batch: Int
        /// The batch open now.
        public var nextBatch: Int
        /// Every approved transaction of the batch per rail, kind and currency (all rails).
        public var totals: BatchTotals
        /// Field 63 as sent.
        public var terminalTotals: [SettlementTotals]
        /// Field 63 of the first 0510.
        public var hostTotals: [SettlementTotals]
        /// How many transactions went up in 0320s (0 when the totals balanced at once).
        public var uploaded: Int
        /// The first 0510 said `00`, or the closing one after an upload did.
        public var balanced: Bool
        /// Seconds since 1970 (UTC).
        public var settledAt: Int64
    }

    /// How a settlement attempt ended.
    public enum Outcome: Sendable, Equatable {
        case settled(Report)
        case refused(Refusal)
        /// The host could not be reached, did not answer, or answered with another code: the batch stays open.
        case failed(String)
    }

    let configuration: Configuration
    let journal: Locked<TransactionJournal>
    let link: HostAcquirerLink
    let uploader: StoreAndForwardUploader?
    let clock: @Sendable () -> Int64
    let logger: Logger

    /// - Parameters:
    ///   - uploader: the runtime's store-and-forward uploader (its queue is drained first); `nil`: none.
    ///   - clock: seconds since 1970 (UTC).
    public init(
        configuration: Configuration, journal: Locked<TransactionJournal>, link: HostAcquirerLink,
        uploader: StoreAndForwardUploader?, clock: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.configuration = configuration
        self.journal = journal
        self.link = link
        self.uploader = uploader
        self.clock = clock
        self.logger = logger
    }

    /// Settles the open batch (the steps in the type's description).
    public func settle() async -> Outcome {
        if let uploader {
            // The background pass may hold the queue: wait for it (up to about 10 s) rather than refuse at once.
            for _ in 0..<50 {
                let report = await uploader.drain()
                let left = (try? journal.withLock { try $0.unsentCounts() }) ?? (advices: 0, reversals: 0)
                if left.advices + left.reversals == 0 || report.failure != nil { break }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        let unsent: (advices: Int, reversals: Int)
        let batch: Int
        let records: [TransactionRecord]
        let totals: BatchTotals
        do {
            (unsent, batch, records, totals) = try journal.withLock { journal in
                let batch = try journal.openBatch()
                return (try journal.unsentCounts(), batch, try journal.approvedRecords(batch: batch), try journal.totals(batch: batch))
            }
        } catch {
            return .failed("journal: \(error)")
        }
        if unsent.reversals > 0 { return .refused(.reversalsUnsent(unsent.reversals)) }
        if unsent.advices > 0 { return .refused(.advicesUnsent(unsent.advices)) }
        let settled = records.filter { configuration.settledRails.contains($0.rail) }
        let terminalTotals = Self.settlementTotals(settled, currencyCode: configuration.currencyCode)
        logger.info("settlement: batch totals sent", metadata: ["batch": "\(batch)", "transactions": "\(settled.count)"])

        let first: Uplink.HostResponse
        switch await sendSettlement(batch: batch, totals: terminalTotals, afterUpload: false) {
        case .success(let response): first = response
        case .failure(let why): return .failed(why)
        }
        var report = Report(
            batch: batch, nextBatch: batch, totals: totals, terminalTotals: terminalTotals,
            hostTotals: first.settlementTotalsPerCurrency, uploaded: 0, balanced: first.responseCode == .approved, settledAt: clock())
        if first.responseCode == .reconciliationError {
            logger.warning("settlement: totals do not balance, uploading the batch", metadata: ["batch": "\(batch)"])
            for record in settled {
                if let why = await upload(record) { return .failed(why) }
                report.uploaded += 1
            }
            switch await sendSettlement(batch: batch, totals: terminalTotals, afterUpload: true) {
            case .success(let closing): report.balanced = closing.responseCode == .approved
            case .failure(let why): return .failed(why)
            }
        } else if first.responseCode != .approved {
            return .failed("the host answered \(first.responseCode.rawValue)")
        }
        let detail = report.uploaded == 0 ? "balanced" : "\(report.uploaded) uploaded, " + (report.balanced ? "balanced" : "not balanced")
        do {
            report.nextBatch = try journal.withLock { try $0.settleBatch(batch, actor: "merchant", detail: detail, now: report.settledAt) }
        } catch {
            return .failed("journal: \(error)")
        }
        logger.info("settlement: batch closed", metadata: ["batch": "\(batch)", "next": "\(report.nextBatch)", "detail": "\(detail)"])
        return .settled(report)
    }

    /// Field 63 of the batch: per currency, sales (online and offline approvals) less voided ones, and refunds.
    public static func settlementTotals(_ records: [TransactionRecord], currencyCode: Int) -> [SettlementTotals] {
        var lines: [Int: (sales: Int, sale: Int64, refunds: Int, refund: Int64)] = [:]
        for record in records {
            var line = lines[record.currency] ?? (0, 0, 0, 0)
            switch record.kind {
            case .sale: line.sales += 1; line.sale += record.amountMinor
            case .void: line.sales -= 1; line.sale -= record.amountMinor
            case .refund: line.refunds += 1; line.refund += record.amountMinor
            case .balance, .topup, .issue, .qrQuery: continue
            }
            lines[record.currency] = line
        }
        if lines.isEmpty { lines[currencyCode] = (0, 0, 0, 0) }
        return lines.keys.sorted().prefix(SettlementTotals.maximumCurrencies).compactMap { currency in
            guard let line = lines[currency] else { return nil }
            return SettlementTotals(
                saleCount: max(0, line.sales), saleAmount: UInt64(max(0, line.sale)), refundCount: line.refunds,
                refundAmount: UInt64(max(0, line.refund)), currencyCode: currencyText(currency))
        }
    }

    static func currencyText(_ code: Int) -> String {
        let digits = String(code)
        return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    enum Exchange { case success(Uplink.HostResponse), failure(String) }

    private func sendSettlement(batch: Int, totals: [SettlementTotals], afterUpload: Bool) async -> Exchange {
        let stan: Int
        do {
            stan = try journal.withLock { try $0.nextSTAN() }
        } catch {
            return .failure("journal: \(error)")
        }
        let now = clock()
        let message = HostMessages.settlement(
            terminalID: configuration.terminalID, merchantID: configuration.merchantID, batchNumber: batch, stan: stan,
            transmission: StoreAndForwardUploader.hostDateTime(now),
            local: StoreAndForwardUploader.hostDateTime(now + configuration.utcOffsetSeconds), totalsPerCurrency: totals,
            afterBatchUpload: afterUpload)
        return await exchange(message)
    }

    /// One 0320; `nil` when the host answered, else why not.
    private func upload(_ record: TransactionRecord) async -> String? {
        let message: ISO8583.Message
        do {
            let (card, original) = try journal.withLock { journal -> (Store.CardData, TransactionRecord?) in
                (try journal.cardData(record.id), try record.originalTxnRef.map { try journal.record(txnRef: $0) })
            }
            let uploaderConfiguration = StoreAndForwardUploader.Configuration(
                terminalID: configuration.terminalID, merchantID: configuration.merchantID,
                utcOffsetSeconds: configuration.utcOffsetSeconds)
            var request = StoreAndForwardUploader.transactionRequest(
                UploadItem(kind: .advice, record: record, card: card), configuration: uploaderConfiguration, now: clock())
            request.transmission = StoreAndForwardUploader.hostDateTime(record.createdAt)  // §4.4: the original's times
            if let original {
                let local = StoreAndForwardUploader.hostDateTime(original.createdAt + configuration.utcOffsetSeconds)
                request.original = OriginalTransaction(
                    batchNumber: original.id.batch, stan: original.id.stan, localDate: local.dateField,
                    retrievalReference: original.retrievalReferenceNumber ?? "", authorizationCode: original.authorizationCode ?? "")
            }
            let code = Uplink.HostResponseCode(rawValue: record.responseCode ?? (record.offline ? "Y1" : "00")) ?? .approved
            message = try HostMessages.batchUpload(
                request, responseCode: code, retrievalReference: record.retrievalReferenceNumber,
                authorizationCode: record.authorizationCode)
        } catch {
            return "batch upload of \(record.id.txnRef) not built: \(error)"
        }
        switch await exchange(message) {
        case .success: return nil
        case .failure(let why): return why
        }
    }

    private func exchange(_ message: ISO8583.Message) async -> Exchange {
        switch await link.deliver(message, willSend: {}) {
        case .answered(let response): return .success(response)
        case .notSent(let why): return .failure("not sent: \(why)")
        case .unanswered(let why): return .failure("no answer: \(why)")
        }
    }
}
