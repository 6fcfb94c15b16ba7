import Codecs
public import PaymentCrypto
public import Store
public import TerminalUI

/// ``RailJournal`` over the encrypted ``TransactionJournal``: what the rails write goes into sealed records, the
/// store-and-forward queue and the reversal table.
///
/// The journal's model is "a record is written when there is something to keep": an online request writes the
/// pending record and its armed reversal in one FULL commit before it leaves (``prepareOnline(_:card:)``); the host's
/// answer is recorded together with the card's final word (an EMV approval counts only after the second GENERATE
/// AC), and an offline outcome is written with its card data in ``complete(_:outcome:)`` — always before the outcome
/// is shown. A transaction that failed before any card data is recorded as failed, for the audit trail.
public final class StoreRailJournal: RailJournal {
    private struct InFlight {
        var draft: RailDraft
        var online: TransactionID?
        var card: RailCardData?
        var answered: Bool = false
        var response: AuthorizationResponse?
        /// An answer came but was unusable (MAC failure, no match): the reversal gives reason 4020.
        var unusable: Bool = false
    }

    private let journal: Locked<TransactionJournal>
    private let settings: Locked<TerminalStore>
    private let inFlight = Locked<[String: InFlight]>([:])
    private let random: any RandomSource
    private let currencyCode: Int

    /// - Parameters:
    ///   - journal: the journal (the one instance of the process; all calls go through its lock).
    ///   - settings: the store, for the transaction sequence counter ('9F41').
    ///   - currencyCode: the terminal's currency (ISO 4217 numeric), for the velocity and offline checks.
    public init(journal: Locked<TransactionJournal>, settings: Locked<TerminalStore>, random: any RandomSource, currencyCode: Int) {
        self.journal = journal
        self.settings = settings
        self.random = random
        self.currencyCode = currencyCode
    }

    public func begin(_ draft: RailDraft) throws -> RailTicket {
        let reference = Hex.encode(try random.bytes(8))
        let sequence = try TransactionSequenceCounter(store: settings).next()
        inFlight.withLock { $0[reference] = InFlight(draft: draft) }
        return RailTicket(transactionReference: reference, stan: 0, sequence: sequence)
    }

    public func transactionLogTotal(pan: String) throws -> Int {
        let currency = currencyCode
        return Int(try journal.withLock { try $0.transactionLogTotal(pan: SecretBytes(Array(pan.utf8)), currency: currency) })
    }

    public func prepareOnline(_ ticket: RailTicket, card: RailCardData) throws -> RailTicket {
        guard let state = inFlight.withLock({ $0[ticket.transactionReference] }) else { preconditionFailure("prepareOnline for an unknown ticket") }
        let draft = Self.draft(state.draft, card: card, reference: ticket.transactionReference)
        let id = try journal.withLock { try $0.prepareOnline(draft) }
        inFlight.withLock {
            $0[ticket.transactionReference]?.online = id
            $0[ticket.transactionReference]?.card = card
        }
        return RailTicket(transactionReference: ticket.transactionReference, stan: id.stan, sequence: ticket.sequence, batch: id.batch)
    }

    public func hostAnswered(_ ticket: RailTicket, response: AuthorizationResponse?, keepReversal: Bool) throws {
        inFlight.withLock {
            $0[ticket.transactionReference]?.answered = response != nil
            $0[ticket.transactionReference]?.response = response
        }
    }

    public func hostAnswerUnusable(_ ticket: RailTicket) {
        inFlight.withLock { $0[ticket.transactionReference]?.unusable = true }
    }

    public func recorded(_ ticket: RailTicket) -> RailTicket {
        guard ticket.stan == 0, let record = try? journal.withLock({ try $0.record(txnRef: ticket.transactionReference) }) else { return ticket }
        return RailTicket(transactionReference: ticket.transactionReference, stan: record.id.stan, sequence: ticket.sequence, batch: record.id.batch)
    }

    public func complete(_ ticket: RailTicket, outcome: RailOutcome) throws {
        guard let state = inFlight.withLock({ $0.removeValue(forKey: ticket.transactionReference) }) else {
            preconditionFailure("complete for an unknown ticket")
        }
        try journal.withLock { journal in
            if let id = state.online {
                try Self.completeOnline(journal, id: id, state: state, outcome: outcome)
                // The sale itself ended offline after the online attempt (unable to go online, then a TC): a
                // record of its own, queued as an advice; the online attempt is reversed or closed above.
                if outcome.status == .offlineApproved {
                    let offline = try journal.begin(Self.draft(state.draft, card: outcome.card ?? state.card, reference: nil))
                    try journal.recordOutcome(offline, .offlineApproved(authorizationResponseCode: "Y3", authorizationCode: nil))
                }
            } else {
                let id = try journal.begin(Self.draft(state.draft, card: outcome.card, reference: ticket.transactionReference))
                switch outcome.status {
                case .offlineApproved:
                    try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
                case .approved:
                    try journal.recordOutcome(id, .approved(authorizationCode: outcome.authorizationCode))
                case .declined:
                    try journal.recordOutcome(id, .declined(responseCode: outcome.responseCode ?? "Z1"))
                case .reversed, .failed:
                    try journal.recordOutcome(id, .failed)
                }
            }
        }
    }

    private static func completeOnline(_ journal: TransactionJournal, id: TransactionID, state: InFlight, outcome: RailOutcome) throws {
        guard let response = state.response else {
            if state.answered == false, outcome.needsReversal {
                // The request left and no (usable) answer came: reverse it.
                _ = try journal.recordHostResponse(id, state.unusable ? .unusableResponse : .noResponse)
            } else {
                // Nothing reached the host (refused, link down): the armed reversal has nothing to undo, and the
                // attempt is closed as Z3 (unable to go online). A TC the card then gave is a record of its own (Y3).
                _ = try journal.recordHostResponse(id, .declined(responseCode: "Z3", retrievalReferenceNumber: nil))
            }
            return
        }
        let approved = ["00", "08", "10", "11"].contains(response.responseCode)
        let code = response.responseCode
        if approved {
            let auth = response.authorizationCode ?? "000000"
            switch outcome.status {
            case .approved:
                _ = try journal.recordHostResponse(id, .approved(authorizationCode: auth, responseCode: code, retrievalReferenceNumber: response.retrievalReference))
                // The card's final word (TC, issuer script results '9F5B') replaces the request's field 55; an
                // outcome that asks for an advice (script results to report) is queued for upload.
                if let iccData = outcome.card?.iccData, !iccData.isEmpty {
                    try journal.recordCompletionICCData(id, field55: SecretBytes(iccData))
                }
                if outcome.needsAdvice { try journal.queueAdvice(id) }
            default:
                // Host approved, then the card declined, was removed or the terminal failed: reverse.
                _ = try journal.recordHostResponse(id, .approvedThenCancelled(
                    authorizationCode: auth, responseCode: code, retrievalReferenceNumber: response.retrievalReference,
                    reason: outcome.detail.contains("cardRemoved") ? .cancelled : .cardDeclinedAfterApproval))
            }
        } else {
            _ = try journal.recordHostResponse(id, .declined(responseCode: code, retrievalReferenceNumber: response.retrievalReference))
        }
    }

    public func offlineAllowed(amount: Int, rail: String) throws -> Screen.Text? {
        let storeRail = Rail(rawValue: rail) ?? .emvContact
        let currency = currencyCode
        let decision = try journal.withLock { try $0.offlineCheck(amountMinor: Int64(amount), currency: currency, rail: storeRail, kind: .sale) }
        switch decision {
        case .allowed: return nil
        case .refused(let why): return Self.describe(why)
        }
    }

    static func describe(_ refusal: OfflineRefusal) -> Screen.Text {
        switch refusal {
        case .kindNeverOffline, .notAllowed: .ui(.offlineNotAllowed)
        case .aboveFloorLimit(let limit): .ui(.offlineOverLimit("\(limit / 100).\(limit % 100 < 10 ? "0" : "")\(limit % 100)"))
        case .unsentAmountCapReached: .ui(.offlineAmountCap)
        case .unsentCountCapReached(let cap): .ui(.offlineCountCap(cap))
        case .oldestUnsentTooOld: .ui(.offlineTooOld)
        case .tamperedRecords: .ui(.storeIntegrityAlarm)
        }
    }

    static func draft(_ draft: RailDraft, card: RailCardData?, reference: String?) -> TransactionDraft {
        let rail = Rail(rawValue: draft.rail) ?? .emvContact
        let kind = TransactionKind(rawValue: draft.kind) ?? .sale
        var sealed = CardData()
        if let card, rail == .qr {
            // A wallet's payment code is sealed as a QR auth code, not as a PAN (it is not one).
            if !card.pan.isEmpty { sealed.qrAuthCode = SecretBytes(Array(card.pan.utf8)) }
            if !card.iccData.isEmpty { sealed.field55 = SecretBytes(card.iccData) }
        } else if let card, rail == .prepaid {
            if !card.pan.isEmpty { sealed.prepaidCardID = SecretBytes(Array(card.pan.utf8)) }
        } else if let card {
            sealed.pan = SecretBytes(Array(card.pan.utf8))
            if !card.track2Equivalent.isEmpty { sealed.track2Equivalent = SecretBytes(card.track2Equivalent) }
            sealed.cardholderName = card.cardholderName.map { SecretBytes(Array($0.utf8)) }
            if !card.iccData.isEmpty { sealed.field55 = SecretBytes(card.iccData) }
        }
        let entry: EntryMode = switch rail {
        case .emvContact: .chip
        case .emvContactless: .contactless
        case .qr: .qr
        case .prepaid: .prepaidCard
        }
        return TransactionDraft(
            rail: rail, kind: kind, amountMinor: Int64(draft.amount), currency: draft.currencyCode, entryMode: entry,
            card: sealed, aid: card.flatMap { $0.aid.isEmpty ? nil : Hex.encode($0.aid) },
            applicationLabel: card.flatMap { $0.applicationLabel.isEmpty ? nil : String($0.applicationLabel.prefix(16)) },
            signatureRequired: false, originalTxnRef: draft.originalReference, txnRef: reference)
    }
}
