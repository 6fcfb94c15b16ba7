import Codecs
public import Logging
import PaymentCrypto
public import ServiceLifecycle
import PrepaidPurse
public import Store
public import Uplink
import Synchronization

/// The store-and-forward uploader (docs/host-interface.md §9, §10): while the link is online it drains the
/// journal's queue to the acquirer — due reversals first (0400, 0401 on repeat, 0420/0421 once the repeats are
/// used up), then offline advices oldest first (0220, 0221 on repeat) — each with the idempotency key of its
/// original transaction, so the host drops what it has already applied.
///
/// A record leaves the queue only on the host's answer: ``TransactionJournal/markSent(_:)`` right before the bytes
/// leave, ``TransactionJournal/markAcknowledged(_:)`` on the answer, ``TransactionJournal/markUploadFailed(_:)``
/// when no usable answer came (the next send is a repeat). After a restart
/// ``TransactionJournal/recoverAfterRestart()`` has put sent-but-unanswered items back in the queue, and the first
/// pass resumes with them.
///
/// The messages share the rails' ``HostAcquirerLink`` (one connection, one request in flight); the uploader steps
/// aside while a payment's authorisation waits for the connection. Failures are paced by ``ReconnectBackoff``.
/// A service: ``run()`` returns only at graceful shutdown.
public final class StoreAndForwardUploader: Service, Sendable {
    public struct Configuration: Sendable {
        /// Field 41.
        public var terminalID: String
        /// Field 42.
        public var merchantID: String
        /// The terminal's time zone (seconds east of UTC), for the local time fields of the original.
        public var utcOffsetSeconds: Int64
        /// How often an idle uploader looks at the queue.
        public var pollInterval: Duration
        /// The back-off after a failed delivery.
        public var backoff: ReconnectBackoff

        public init(
            terminalID: String, merchantID: String, utcOffsetSeconds: Int64 = 0, pollInterval: Duration = .seconds(2),
            backoff: ReconnectBackoff? = nil
        ) {
            self.terminalID = terminalID
            self.merchantID = merchantID
            self.utcOffsetSeconds = utcOffsetSeconds
            self.pollInterval = pollInterval
            self.backoff = backoff ?? ReconnectBackoff(terminalID: terminalID, initial: .seconds(1), maximum: .seconds(60))
        }
    }

    /// What one pass over the queue did.
    public struct PassReport: Sendable, Equatable {
        public var acknowledged = 0
        public var rejected = 0
        /// Set when the pass stopped on a failed delivery (the queue is not empty).
        public var failure: String?
        public init() {}
    }

    let configuration: Configuration
    let journal: Locked<TransactionJournal>
    let link: HostAcquirerLink
    let connectivity: @Sendable () -> ConnectivityState
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// Set while a pass (the background drain, or the reversals a payment sends first) owns the queue.
    private let passRunning = Atomic<Bool>(false)

    /// - Parameters:
    ///   - journal: the process's journal.
    ///   - link: the acquirer link the rails use.
    ///   - connectivity: the link state now (``ConnectivityMonitor/state``; the sim board: always online).
    ///   - clock: seconds since 1970 (UTC), for field 7.
    public init(
        configuration: Configuration, journal: Locked<TransactionJournal>, link: HostAcquirerLink,
        connectivity: @escaping @Sendable () -> ConnectivityState, clock: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.configuration = configuration
        self.journal = journal
        self.link = link
        self.connectivity = connectivity
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        var backoff = configuration.backoff
        while !Task.isShuttingDownGracefully {
            var wait = configuration.pollInterval
            if StoreAndForward.permits(.advice, over: connectivity()), !link.isPaymentInFlight {
                let report = await drain()
                if report.acknowledged + report.rejected > 0 {
                    let left = (try? journal.withLock { try $0.unsentCounts() }) ?? (advices: 0, reversals: 0)
                    logger.info("store and forward: delivered", metadata: [
                        "acknowledged": "\(report.acknowledged)", "rejected": "\(report.rejected)",
                        "unsentAdvices": "\(left.advices)", "unsentReversals": "\(left.reversals)"])
                }
                if let failure = report.failure {
                    wait = backoff.nextDelay()
                    logger.warning("store and forward: delivery failed, retrying", metadata: [
                        "error": "\(failure)", "failures": "\(backoff.failures)", "retryIn": "\(wait)"])
                } else {
                    backoff.reset()
                }
            }
            let pause = wait
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            } catch {
                return
            }
        }
    }

    /// Delivers queued items until the queue is empty, a delivery fails, a payment wants the connection, the link
    /// goes offline or shutdown begins. Returns at once when another pass is running.
    public func drain(batch: Int = 32) async -> PassReport {
        guard !passRunning.exchange(true, ordering: .acquiringAndReleasing) else { return PassReport() }
        defer { passRunning.store(false, ordering: .releasing) }
        var report = PassReport()
        while !Task.isShuttingDownGracefully {
            let items: [UploadItem]
            do {
                items = try journal.withLock { try $0.nextUploads(limit: batch) }
            } catch {
                report.failure = "journal: \(error)"
                return report
            }
            if items.isEmpty { return report }
            for item in items {
                if link.isPaymentInFlight || !StoreAndForward.permits(.advice, over: connectivity()) { return report }
                switch await deliver(item) {
                case .acknowledged: report.acknowledged += 1
                case .rejected: report.rejected += 1
                case .retry(let why):
                    report.failure = why
                    return report
                }
            }
        }
        return report
    }

    /// Sends the due reversals before a payment's online request (§10 item 5: no new request while a reversal is
    /// pending). Waits for a running pass to step aside (it does between two messages once a payment is waiting), then
    /// delivers reversals until none is due or one fails; the payment goes ahead either way (an unreachable host
    /// fails its request too, and the sale decides offline).
    public func deliverDueReversals() async {
        guard StoreAndForward.permits(.reversal, over: connectivity()) else { return }
        let deadline = ContinuousClock.now + .seconds(30)
        while passRunning.exchange(true, ordering: .acquiringAndReleasing) {
            guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(10))) != nil else { return }
        }
        defer { passRunning.store(false, ordering: .releasing) }
        while true {
            let due = (try? journal.withLock { try $0.nextUploads(limit: 1) })?.first
            guard let item = due, item.kind == .reversal else { return }
            logger.info("store and forward: a reversal goes before the payment's request", metadata: ["ref": "\(item.id.txnRef)"])
            switch await deliver(item) {
            case .acknowledged, .rejected: continue
            case .retry(let why):
                logger.warning("store and forward: the reversal before the payment failed", metadata: ["error": "\(why)"])
                return
            }
        }
    }

    enum ItemOutcome: Sendable { case acknowledged, rejected, retry(String) }

    /// Sends one item and books the outcome in the journal.
    func deliver(_ item: UploadItem) async -> ItemOutcome {
        let kind: StoreAndForward.Item = item.kind == .reversal ? .reversal : .advice
        let message: ISO8583.Message
        do {
            message = try Self.message(for: item, configuration: configuration, now: clock())
        } catch {
            // Cannot be built (missing card data): a programming or data error; leave it queued and say so.
            logger.error("store and forward: cannot build the message", metadata: ["ref": "\(item.id.txnRef)", "error": "\(error)"])
            return .retry("message for \(item.id.txnRef) not built")
        }
        let journal = self.journal
        let delivery = await link.deliver(message) { try journal.withLock { try $0.markSent(item) } }
        switch delivery {
        case .notSent(let why):
            return .retry(why)
        case .unanswered(let why):
            _ = try? journal.withLock { try $0.markUploadFailed(item) }
            return .retry(why)
        case .answered(let response):
            let verdict = StoreAndForward.verdict(response.responseCode, for: kind)
            do {
                switch verdict {
                case .acknowledged, .rejected:
                    try journal.withLock { try $0.markAcknowledged(item) }
                case .retry:
                    try journal.withLock { try $0.markUploadFailed(item) }
                }
            } catch {
                return .retry("journal: \(error)")
            }
            logger.debug("store and forward: answered", metadata: [
                "ref": "\(item.id.txnRef)", "mti": "\(message.mti)", "code": "\(response.responseCode.rawValue)"])
            switch verdict {
            case .acknowledged: return .acknowledged
            case .rejected:
                logger.warning("store and forward: the host rejected an advice; kept for the settlement report", metadata: [
                    "ref": "\(item.id.txnRef)", "code": "\(response.responseCode.rawValue)"])
                return .rejected
            case .retry: return .retry("reversal answered \(response.responseCode.rawValue)")
            }
        }
    }

    // MARK: Building the messages

    /// The 0220/0221 or 0400/0401/0420/0421 of a queued item.
    static func message(for item: UploadItem, configuration: Configuration, now: Int64) throws -> ISO8583.Message {
        let request = transactionRequest(item, configuration: configuration, now: now)
        let type = StoreAndForward.messageType(for: item.kind == .reversal ? .reversal : .advice, previousAttempts: item.previousAttempts)
        switch type {
        case .financialAdvice, .financialAdviceRepeat:
            let decision = HostResponseCode(rawValue: item.record.responseCode ?? "Y1") ?? .offlineApproved
            let code: HostResponseCode = [.offlineApproved, .unableToGoOnlineApproved, .approved].contains(decision) ? decision : .offlineApproved
            var advice = try HostMessages.offlineAdvice(
                request, decision: code, authorizationCode: code == .approved ? item.record.authorizationCode : nil,
                isRepeat: type == .financialAdviceRepeat)
            // A prepaid purchase's clearing data (62 `PP`, docs/host-interface.md §14) is sealed in its field 55 slot.
            if item.record.rail == .prepaid, let sealed = item.card.field55?.withUnsafeBytes({ Array($0) }) {
                if let confirmation = PreparedLoad.confirmation(sealed: sealed) {
                    // A load's confirmation with the card's TAC (62 `PT`).
                    try PrepaidHostData.set(PrepaidHostData.loadConfirmationTag,
                                            bytes: confirmation.load.confirmationData(tac: confirmation.tac), in: &advice)
                } else {
                    let clearing = (try? CompletedPurchase(persisted: sealed))?.clearingData ?? sealed
                    try PrepaidHostData.set(PrepaidHostData.purchaseTag, bytes: clearing, in: &advice)
                }
            }
            return advice
        default:
            return try HostMessages.reversal(
                of: request, reason: reversalReason(item.reversalReason),
                asAdvice: type == .reversalAdvice || type == .reversalAdviceRepeat,
                isRepeat: type == .reversalRequestRepeat || type == .reversalAdviceRepeat)
        }
    }

    static func reversalReason(_ reason: Store.ReversalReason?) -> Uplink.ReversalReason {
        switch reason {
        case .cardDeclinedAfterApproval?: .cardDeclinedAfterApproval
        case .cancelled?: .customerCancellation
        case .unusableResponse?: .invalidResponse
        case .noResponse?, .powerFailure?, nil: .timeout
        }
    }

    /// The original transaction as the request carried it: its STAN, batch, reference (the idempotency key), card
    /// data without track 2 (never in advices or reversals), the local time of its record.
    static func transactionRequest(_ item: UploadItem, configuration: Configuration, now: Int64) -> TransactionRequest {
        let record = item.record
        let local = hostDateTime(record.createdAt + configuration.utcOffsetSeconds)
        // Reversals repeat the original's field 7; an advice is transmitted now.
        let transmission = item.kind == .reversal ? local : hostDateTime(now)
        let currency = String(record.currency)
        let pan = (item.card.pan ?? (record.rail == .prepaid ? item.card.prepaidCardID : nil))
            .map { $0.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
        let iccData = record.rail == .prepaid ? [] : item.card.field55.flatMap { sealed in
            sealed.withUnsafeBytes { try? TLVNode.sequence(tlvEncoded: Array($0)) }
        } ?? []
        let expiry = item.card.track2Equivalent.flatMap { track in track.withUnsafeBytes { expiryFromTrack2(Array($0)) } }
        let kind: Uplink.TransactionKind = switch record.kind {
        case .sale: record.rail == .qr ? .qrPayment : .sale
        case .refund: .refund
        case .void: .void
        case .balance: .balanceInquiry
        case .topup: .prepaidTopUp
        case .issue: .prepaidActivation
        case .qrQuery: .qrQuery
        }
        let entry: POSEntryMode = switch record.entryMode {
        case .chip: .contactChip
        case .contactless: .contactlessChip
        case .magstripe: .magneticStripe
        case .fallback: .fallback
        case .manual: .manual
        case .qr: .qrCode
        case .prepaidCard: .contactChip
        }
        return TransactionRequest(
            kind: kind, amount: UInt64(max(0, record.amountMinor)),
            currencyCode: String(repeating: "0", count: max(0, 3 - currency.count)) + currency,
            stan: record.id.stan, transmission: transmission, local: local, terminalID: configuration.terminalID,
            merchantID: configuration.merchantID, batchNumber: record.id.batch,
            transactionReference: referenceNumber(record.id.txnRef), entryMode: entry,
            card: Uplink.CardData(pan: pan, expiry: expiry, iccData: iccData))
    }

    /// The 64-bit transaction reference of the idempotency key: the rails' 16 hex digits as they are, any other
    /// txn_ref (a record the journal named itself) hashed with FNV-1a 64, so every message of it carries one key.
    static func referenceNumber(_ txnRef: String) -> UInt64 {
        if txnRef.utf8.count == 16, let value = UInt64(txnRef, radix: 16) { return value }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in txnRef.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// "YYMM" after the separator nibble 'D' of tag '57'.
    static func expiryFromTrack2(_ bytes: [UInt8]) -> String? {
        var nibbles: [UInt8] = []
        for byte in bytes { nibbles += [byte >> 4, byte & 0x0F] }
        guard let separator = nibbles.firstIndex(of: 0x0D), nibbles.count >= separator + 5 else { return nil }
        let digits = nibbles[(separator + 1)...(separator + 4)]
        guard digits.allSatisfy({ $0 <= 9 }) else { return nil }
        return String(digits.map { Character(Unicode.Scalar(0x30 + $0)) })
    }

    /// Month, day and time of day of `seconds` since 1970 (a civil-from-days conversion; proleptic Gregorian).
    static func hostDateTime(_ seconds: Int64) -> HostDateTime {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return HostDateTime(month: month, day: day, hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60, second: secondOfDay % 60)
    }
}
