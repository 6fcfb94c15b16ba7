#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import DeviceKit
public import PaymentCrypto
public import Logging
public import Store
public import TerminalUI

/// What the merchant menu needs from the terminal (``TerminalController`` calls it for the flow's
/// ``TerminalFlow/Action/verifyMerchantPassword(_:)`` and ``TerminalFlow/Action/runMerchantTask(_:)``).
public protocol MerchantService: Sendable {
    /// Checks a login attempt (ASCII digits) at the merchant menu or a prepaid operation behind it.
    func verifyLogin(_ password: SecretBytes) -> MerchantPassword.Verdict
    /// Runs a task (prints what it prints) and returns the lines for the result screen.
    func run(_ task: TerminalFlow.MerchantTask, language: Language) async -> [Screen.Text]
    /// Checks the password in force before a change (ASCII digits); a failure counts toward the lockout.
    func verifyPassword(_ password: SecretBytes) -> MerchantPassword.Verdict
    /// Replaces the password (``MerchantPassword/change(to:)``); ``MerchantPassword/ChangeOutcome/failed`` when the
    /// store could not save it.
    func changePassword(to password: SecretBytes) -> MerchantPassword.ChangeOutcome
}

extension MerchantService {
    /// A service without a password store: nothing to check against.
    public func verifyPassword(_ password: SecretBytes) -> MerchantPassword.Verdict { .notSet }
    /// A service without a password store: nothing can be changed.
    public func changePassword(to password: SecretBytes) -> MerchantPassword.ChangeOutcome { .failed }
}

/// The terminal's merchant operations: the password (``MerchantPassword``), reprint of the last receipt, the X report
/// and settlement (``SettlementService``) with the Z report, printed through the terminal's printer path.
public final class MerchantOperations: MerchantService {
    let password: MerchantPassword
    let journal: Locked<TransactionJournal>
    let settlement: SettlementService?
    let header: Receipts.Header
    let currency: Currency
    let clock: any TerminalClock
    let print: @Sendable (PrintDocument) async -> TerminalFlow.PrintResult
    let logger: Logger
    /// The parameter set's merchant name in force now, which replaces `header`'s (`nil`: none).
    let merchantName: @Sendable () -> String?

    /// The receipt header with the merchant name in force.
    var liveHeader: Receipts.Header {
        var header = header
        if let name = merchantName() { header.merchantName = name }
        return header
    }

    /// - Parameters:
    ///   - settlement: `nil` when the terminal has no acquirer link (settlement then fails with a message).
    ///   - print: prints a document and says how it went.
    ///   - merchantName: the merchant name of the parameter set in force, read at each print (`nil`: `header`'s).
    public init(
        password: MerchantPassword, journal: Locked<TransactionJournal>, settlement: SettlementService?, header: Receipts.Header,
        currency: Currency, clock: any TerminalClock, print: @escaping @Sendable (PrintDocument) async -> TerminalFlow.PrintResult,
        logger: Logger, merchantName: @escaping @Sendable () -> String? = { nil }
    ) {
        self.merchantName = merchantName
        self.password = password
        self.journal = journal
        self.settlement = settlement
        self.header = header
        self.currency = currency
        self.clock = clock
        self.print = print
        self.logger = logger
    }

    public func verifyLogin(_ password: SecretBytes) -> MerchantPassword.Verdict {
        do {
            let verdict = try self.password.verify(password)
            logger.info("merchant login", metadata: ["verdict": "\(Self.describe(verdict))"])
            return verdict
        } catch {
            logger.error("merchant password check failed", metadata: ["error": "\(error)"])
            return .notSet
        }
    }

    public func verifyPassword(_ password: SecretBytes) -> MerchantPassword.Verdict {
        do {
            let verdict = try self.password.verify(password)
            logger.info("merchant password check before a change", metadata: ["verdict": "\(Self.describe(verdict))"])
            return verdict
        } catch {
            logger.error("merchant password check failed", metadata: ["error": "\(error)"])
            return .notSet
        }
    }

    public func changePassword(to password: SecretBytes) -> MerchantPassword.ChangeOutcome {
        do {
            let outcome = try self.password.change(to: password)
            switch outcome {
            case .changed: logger.notice("merchant password changed")
            case .refused(let weakness): logger.info("new merchant password refused", metadata: ["rule": "\(weakness)"])
            case .failed: break
            }
            return outcome
        } catch {
            logger.error("cannot change the merchant password", metadata: ["error": "\(error)"])
            return .failed
        }
    }

    static func describe(_ verdict: MerchantPassword.Verdict) -> String {
        switch verdict {
        case .accepted: "accepted"
        case .rejected(let left): "rejected, \(left) left"
        case .lockedOut(let seconds): "locked for \(seconds) s"
        case .notSet: "no password set"
        }
    }

    public func run(_ task: TerminalFlow.MerchantTask, language: Language) async -> [Screen.Text] {
        switch task {
        case .reprintLast: return await reprintLast(language: language)
        case .xReport: return await xReport(language: language)
        case .settle: return await settle(language: language)
        }
    }

    func printed(_ result: TerminalFlow.PrintResult) -> Screen.Text {
        switch result {
        case .printed: .ui(.reportPrinted)
        case .noPrinter: .ui(.noPrinter)
        case .failed: .ui(.printerFault)
        }
    }

    func reprintLast(language: Language) async -> [Screen.Text] {
        let found = try? journal.withLock { journal -> (TransactionRecord, Store.CardData?)? in
            guard let record = try journal.records(limit: 20).first(where: { $0.status != .pending }) else { return nil }
            return (record, try? journal.cardData(record.id))
        }
        guard let (record, card) = found ?? nil else { return [.ui(.reprintNone)] }
        let transaction = Receipts.Transaction(record: record, card: card, currency: currency, localTime: Self.localTime(record.createdAt))
        let result = await print(Receipts.receipt(transaction, header: liveHeader, copy: .merchant, language: language))
        return [printed(result)]
    }

    func xReport(language: Language) async -> [Screen.Text] {
        guard let totals = try? journal.withLock({ try $0.totals() }) else { return [.ui(.printerFault)] }
        let result = await print(Receipts.xReport(totals, header: liveHeader, time: clock.localDateTime().text, language: language))
        let count = totals.lines.reduce(0) { $0 + $1.count }
        return [.raw("#\(totals.batch): \(count)"), printed(result)]
    }

    func settle(language: Language) async -> [Screen.Text] {
        guard let settlement else { return [.ui(.settleFailed)] }
        switch await settlement.settle() {
        case .refused(.reversalsUnsent(let n)): return [.ui(.settleReversalsUnsent(n))]
        case .refused(.advicesUnsent(let n)): return [.ui(.settleAdvicesUnsent(n))]
        case .failed(let why):
            logger.warning("settlement failed", metadata: ["reason": "\(why)"])
            return [.ui(.settleFailed)]
        case .settled(let report):
            let result = await print(Receipts.zReport(report, header: liveHeader, time: clock.localDateTime().text, language: language))
            var lines: [Screen.Text] = [.ui(report.balanced ? .settleBalanced : .settleNotBalanced)]
            if report.uploaded > 0 { lines.append(.ui(.settleUploaded(report.uploaded))) }
            lines += [.ui(.settleBatch(closed: report.batch, next: report.nextBatch)), printed(result)]
            return lines
        }
    }

    /// A record's local time for a reprint ("2026-11-27 17:30:15"), in the terminal's time zone.
    static func localTime(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}

extension MerchantOperations {
    /// The runtime's merchant operations: the password in the store (the sim board provisions the TEST ONLY
    /// ``MerchantPassword/simulatorDefault`` when none is set), settlement on the acquirer link, documents through the
    /// print spooler. `nil` when the password store cannot be read.
    static func wire(
        profile: BoardProfile, payments: Payments, uploader: StoreAndForwardUploader?, spooler: PrintSpooler, clock: any TerminalClock,
        logger: Logger
    ) -> MerchantOperations? {
        let password = MerchantPassword(journal: payments.journal, random: SystemRandom(), clock: { clock.unixTime() })
        if profile.kind == .simulator, !password.isSet {
            do {
                try password.provisionIfUnset(MerchantPassword.simulatorDefault)
                logger.warning("merchant password set to the sim board's TEST ONLY default")
            } catch {
                logger.error("cannot set the merchant password", metadata: ["error": "\(error)"])
            }
        }
        let settlement = payments.hostLink.map { link in
            SettlementService(
                configuration: .init(
                    terminalID: payments.terminalID, merchantID: payments.merchantID, utcOffsetSeconds: Payments.utcOffset(),
                    currencyCode: profile.merchant.currency.numericCode),
                journal: payments.journal, link: link, uploader: uploader, clock: { clock.unixTime() }, logger: logger)
        }
        return MerchantOperations(
            password: password, journal: payments.journal, settlement: settlement,
            header: Receipts.Header(merchantName: profile.merchant.name, terminalID: payments.terminalID, merchantID: payments.merchantID),
            currency: profile.merchant.currency, clock: clock,
            print: { document in await withCheckedContinuation { done in spooler.print(document) { done.resume(returning: $0) } } },
            logger: logger, merchantName: { payments.activeParameters?.current.settings?.merchantName })
    }

    /// The merchant menu's refund and void list: card voids on the acquirer link (when there is one) before the QR
    /// rail's refunds and voids.
    static func refunds(profile: BoardProfile, payments: Payments, clock: any TerminalClock, logger: Logger) -> (any RefundService)? {
        guard let link = payments.hostLink else { return payments.refunds }
        let card = CardVoidService(
            journal: payments.journal, link: link,
            configuration: .init(terminalID: payments.terminalID, merchantID: payments.merchantID, utcOffsetSeconds: Payments.utcOffset()),
            currency: profile.merchant.currency,
            header: Receipts.Header(merchantName: profile.merchant.name, terminalID: payments.terminalID, merchantID: payments.merchantID),
            clock: { clock.unixTime() }, logger: logger,
            presence: profile.payments.refundCardNotPresent ? .notPresent : .present(payments.refundCardReader))
        return CombinedRefundService(card: card, other: payments.refunds)
    }
}
