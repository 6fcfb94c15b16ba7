public import TerminalUI

/// What a payment rail writes to the store, in the order it happens. The store behind it is the encrypted
/// transaction journal (Store): card data sealed, the reversal armed before a request leaves, the final record
/// durable (synchronous=FULL) before the outcome is shown or printed.
public protocol RailJournal: Sendable {
    /// Starts a transaction: its idempotency key (nothing is written until there is card data or an outcome).
    func begin(_ draft: RailDraft) throws -> RailTicket
    /// Today's approved total for this PAN (split sales, EMV floor-limit check), in minor units.
    func transactionLogTotal(pan: String) throws -> Int
    /// Card data known; an online request is about to leave: the pending record and its armed reversal are written
    /// in one durable commit first (a power cut mid-request still reverses). Returns the ticket with its STAN.
    func prepareOnline(_ ticket: RailTicket, card: RailCardData) throws -> RailTicket
    /// The host answered (`response`), or nothing reached it (`nil`: connection refused, link down). Kept until
    /// ``complete(_:outcome:)``, which records it with the card's final word.
    func hostAnswered(_ ticket: RailTicket, response: AuthorizationResponse?, keepReversal: Bool) throws
    /// The host's answer was unusable (its MAC does not verify, it does not match: docs/host-interface.md §10): the
    /// reversal ``complete(_:outcome:)`` makes due gives message reason `4020` instead of `4021`.
    func hostAnswerUnusable(_ ticket: RailTicket)
    /// The transaction's end, durable before it is shown: approved, offline-approved (queued as an advice),
    /// declined, reversed or failed.
    func complete(_ ticket: RailTicket, outcome: RailOutcome) throws
    /// Whether an offline approval of `amount` is still within the caps, or why not (shown on screen).
    func offlineAllowed(amount: Int, rail: String) throws -> Screen.Text?
    /// The ticket with the STAN and batch its record got (an offline sale gets them at ``complete(_:outcome:)``), for
    /// the receipt.
    func recorded(_ ticket: RailTicket) -> RailTicket
}

extension RailJournal {
    /// The ticket as it is: a journal that numbers nothing after ``RailJournal/prepareOnline(_:card:)``.
    public func recorded(_ ticket: RailTicket) -> RailTicket { ticket }
    /// Nothing to note: a journal without reversal reasons.
    public func hostAnswerUnusable(_ ticket: RailTicket) {}
}

public struct RailDraft: Sendable, Equatable {
    public var rail: String
    public var kind: String
    public var amount: Int
    public var currencyCode: Int
    /// For a refund or void: the journal key (``RailTicket/transactionReference``) of the sale it takes back.
    public var originalReference: String?
    public init(rail: String, kind: String, amount: Int, currencyCode: Int, originalReference: String? = nil) {
        self.rail = rail
        self.kind = kind
        self.amount = amount
        self.currencyCode = currencyCode
        self.originalReference = originalReference
    }
}

public struct RailTicket: Sendable, Equatable {
    /// The idempotency key (field 62 "IK" of docs/host-interface.md).
    public var transactionReference: String
    /// The system trace audit number, known once the transaction is written (0 before).
    public var stan: Int
    /// The terminal's transaction sequence counter (EMV '9F41'), one per transaction started.
    public var sequence: UInt32
    /// The batch the transaction belongs to (field 60), known once the transaction is written (1 before).
    public var batch: Int
    public init(transactionReference: String, stan: Int, sequence: UInt32, batch: Int = 1) {
        self.transactionReference = transactionReference
        self.stan = stan
        self.sequence = sequence
        self.batch = batch
    }
}

/// Cardholder data as the rail read it; sealed by the journal.
public struct RailCardData: Sendable, Equatable {
    public var pan: String
    public var panSequenceNumber: Int?
    public var expiry: String
    public var track2Equivalent: [UInt8]
    public var cardholderName: String?
    public var applicationLabel: String
    public var aid: [UInt8]
    public var entryMode: String
    /// The EMV data sent to (or reported to) the host: field 55.
    public var iccData: [UInt8]
    public init(
        pan: String, panSequenceNumber: Int?, expiry: String, track2Equivalent: [UInt8], cardholderName: String?,
        applicationLabel: String, aid: [UInt8], entryMode: String, iccData: [UInt8]
    ) {
        self.pan = pan
        self.panSequenceNumber = panSequenceNumber
        self.expiry = expiry
        self.track2Equivalent = track2Equivalent
        self.cardholderName = cardholderName
        self.applicationLabel = applicationLabel
        self.aid = aid
        self.entryMode = entryMode
        self.iccData = iccData
    }
}

/// How a rail's transaction ended, as recorded.
public struct RailOutcome: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable {
        case approved
        case offlineApproved = "offline-approved"
        case declined
        case reversed
        case failed
    }

    public var status: Status
    public var card: RailCardData?
    public var responseCode: String?
    public var authorizationCode: String?
    public var retrievalReference: String?
    /// A reversal must be sent (host approved, card declined; card removed after approval; no answer in time).
    public var needsReversal: Bool
    /// An advice must be sent (offline approval, issuer script results).
    public var needsAdvice: Bool
    public var signatureRequired: Bool
    public var detail: String

    public init(
        status: Status, card: RailCardData?, responseCode: String?, authorizationCode: String?,
        retrievalReference: String?, needsReversal: Bool, needsAdvice: Bool, signatureRequired: Bool, detail: String
    ) {
        self.status = status
        self.card = card
        self.responseCode = responseCode
        self.authorizationCode = authorizationCode
        self.retrievalReference = retrievalReference
        self.needsReversal = needsReversal
        self.needsAdvice = needsAdvice
        self.signatureRequired = signatureRequired
        self.detail = detail
    }
}
