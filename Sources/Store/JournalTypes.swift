public import PaymentCrypto

/// The payment rail a transaction ran on.
public enum Rail: String, Sendable, CaseIterable {
    case emvContact = "emv-contact"
    case emvContactless = "emv-contactless"
    case qr
    case prepaid
}

/// What a transaction does.
public enum TransactionKind: String, Sendable, CaseIterable {
    case sale, refund, void, balance, topup, issue
    case qrQuery = "qr-query"
}

/// Where a transaction stands. `pending` until its outcome is recorded; an approval may later be reversed.
public enum TransactionStatus: String, Sendable, CaseIterable {
    case pending, approved, declined, reversed, failed
    case offlineApproved = "offline-approved"
}

/// The store-and-forward state of a record: `none` (nothing to upload) → `queued` → `sent` → `acknowledged` →
/// `settled`; purged after the retention period.
public enum UploadState: String, Sendable, CaseIterable {
    case none, queued, sent, acknowledged, settled
}

/// How the card data was read (ISO 8583 field 22 in words).
public enum EntryMode: String, Sendable, CaseIterable {
    case chip, contactless, magstripe, fallback, manual, qr
    case prepaidCard = "prepaid-card"
}

/// Why a reversal is due.
public enum ReversalReason: String, Sendable, CaseIterable {
    /// The host did not answer the online request (time-out, broken link).
    case noResponse = "no-response"
    /// The terminal restarted while the online request was in flight.
    case powerFailure = "power-failure"
    /// The host approved but the card declined the completion (EMV second GENERATE AC returned an AAC).
    case cardDeclinedAfterApproval = "card-declined-after-approval"
    /// The rail cancelled the transaction after the request left (customer cancel, card removed).
    case cancelled
    /// An answer came but was unusable (its MAC did not verify, it did not match the request): message reason
    /// `4020`. Kept as `no-response` in the reversal row plus a row in `reversal_unusable_responses` (migration
    /// `0006`, additive: a firmware from before it still opens the store and reverses with `4021`).
    case unusableResponse = "unusable-response"
}

/// Where a reversal stands.
public enum ReversalState: String, Sendable, CaseIterable {
    case armed, due, sent, acknowledged, disarmed
}

/// The identity of a journal record: the idempotency key and the numbers the host sees.
public struct TransactionID: Sendable, Hashable, CustomStringConvertible {
    /// The idempotency key (unique for the life of the terminal; the host drops duplicates by it).
    public let txnRef: String
    /// System trace audit number (ISO 8583 field 11), 1...999999.
    public let stan: Int
    /// The batch the transaction belongs to.
    public let batch: Int

    public init(txnRef: String, stan: Int, batch: Int) {
        self.txnRef = txnRef
        self.stan = stan
        self.batch = batch
    }

    public var description: String { txnRef }
}

/// Cardholder data the journal seals (AES-256-GCM) before it reaches the file. Every field is optional: a QR
/// payment has an auth code and no PAN, a prepaid card an id.
public struct CardData: Sendable {
    /// The PAN as ASCII digits (12–19, ISO/IEC 7812-1). Also gives the masked PAN, last four and keyed hash.
    public var pan: SecretBytes?
    /// Track 2 equivalent data (EMV tag '57') as read.
    public var track2Equivalent: SecretBytes?
    /// Cardholder name (tag '5F20').
    public var cardholderName: SecretBytes?
    /// The EMV data sent to the host (ISO 8583 field 55).
    public var field55: SecretBytes?
    /// A QR payment's auth code (a bearer credential).
    public var qrAuthCode: SecretBytes?
    /// A prepaid card's id.
    public var prepaidCardID: SecretBytes?

    public init(
        pan: SecretBytes? = nil, track2Equivalent: SecretBytes? = nil, cardholderName: SecretBytes? = nil,
        field55: SecretBytes? = nil, qrAuthCode: SecretBytes? = nil, prepaidCardID: SecretBytes? = nil
    ) {
        self.pan = pan
        self.track2Equivalent = track2Equivalent
        self.cardholderName = cardholderName
        self.field55 = field55
        self.qrAuthCode = qrAuthCode
        self.prepaidCardID = prepaidCardID
    }

    /// Whether no field is set.
    public var isEmpty: Bool {
        pan == nil && track2Equivalent == nil && cardholderName == nil && field55 == nil && qrAuthCode == nil && prepaidCardID == nil
    }
}

/// What a rail knows about a transaction before it asks anyone (host, card, prepaid ledger) for a decision.
public struct TransactionDraft: Sendable {
    public var rail: Rail
    public var kind: TransactionKind
    /// Amount in minor units of `currency`.
    public var amountMinor: Int64
    /// ISO 4217 numeric currency code (e.g. 978 EUR, 156 CNY).
    public var currency: Int
    public var entryMode: EntryMode
    public var card: CardData
    /// Application identifier (tag '4F'/'84') as upper-case hex.
    public var aid: String?
    /// Application label (tag '50') as printed on the receipt.
    public var applicationLabel: String?
    /// The CVM result asks for a signature on the receipt.
    public var signatureRequired: Bool
    /// The transaction that a void or refund refers to.
    public var originalTxnRef: String?
    /// The idempotency key when the caller has one (e.g. a QR order number); otherwise the journal draws one.
    public var txnRef: String?

    public init(
        rail: Rail, kind: TransactionKind, amountMinor: Int64, currency: Int, entryMode: EntryMode, card: CardData = CardData(),
        aid: String? = nil, applicationLabel: String? = nil, signatureRequired: Bool = false, originalTxnRef: String? = nil,
        txnRef: String? = nil
    ) {
        self.rail = rail
        self.kind = kind
        self.amountMinor = amountMinor
        self.currency = currency
        self.entryMode = entryMode
        self.card = card
        self.aid = aid
        self.applicationLabel = applicationLabel
        self.signatureRequired = signatureRequired
        self.originalTxnRef = originalTxnRef
        self.txnRef = txnRef
    }
}

/// The host's answer to an online request (``TransactionJournal/recordHostResponse(_:_:)``).
public enum HostResponse: Sendable, Equatable {
    /// Approved, and the card (if it has a say) completed: the reversal is disarmed.
    case approved(authorizationCode: String, responseCode: String, retrievalReferenceNumber: String?)
    /// Declined by the host: nothing to reverse.
    case declined(responseCode: String, retrievalReferenceNumber: String?)
    /// No answer (time-out, link lost after sending): the reversal becomes due, the transaction failed.
    case noResponse
    /// An unusable answer (MAC failure, no match): as ``noResponse``, the reversal giving reason `4020`.
    case unusableResponse
    /// The host approved but the card declined the completion (second GENERATE AC gave an AAC), or the rail
    /// cancelled after approval: recorded as reversed, the reversal is due.
    case approvedThenCancelled(authorizationCode: String, responseCode: String, retrievalReferenceNumber: String?, reason: ReversalReason)
}

/// A decision taken without the host (``TransactionJournal/recordOutcome(_:_:)``).
public enum LocalOutcome: Sendable, Equatable {
    /// Approved offline (EMV TC from the first GENERATE AC, authorization response code 'Y1' or 'Y3'): queued as
    /// an advice in the same commit.
    case offlineApproved(authorizationResponseCode: String, authorizationCode: String?)
    /// Approved locally by a rail that is its own authority (a prepaid card's balance): not queued unless
    /// ``TransactionJournal/queueAdvice(_:)`` is called.
    case approved(authorizationCode: String?)
    /// Declined by the card or the terminal (EMV 'Z1', 'Z3').
    case declined(responseCode: String?)
    /// Did not complete (card removed, error).
    case failed
}

/// A journal record without its card data (which stays sealed; ask ``TransactionJournal/cardData(_:)``).
public struct TransactionRecord: Sendable, Equatable {
    public var id: TransactionID
    public var rail: Rail
    public var kind: TransactionKind
    public var amountMinor: Int64
    public var currency: Int
    public var status: TransactionStatus
    public var uploadState: UploadState
    public var entryMode: EntryMode
    /// First six and last four digits, the rest `*`.
    public var maskedPAN: String?
    public var panLast4: String?
    public var aid: String?
    public var applicationLabel: String?
    public var authorizationCode: String?
    public var responseCode: String?
    public var retrievalReferenceNumber: String?
    public var signatureRequired: Bool
    public var offline: Bool
    /// A sealed value of this record failed to open: its card data is never returned.
    public var tampered: Bool
    public var originalTxnRef: String?
    public var reversal: ReversalState?
    public var createdAt: Int64
    public var updatedAt: Int64
}

/// An item the uplink must deliver: a reversal (always before anything else) or an advice of an offline approval.
public struct UploadItem: Sendable {
    public enum Kind: String, Sendable, Equatable { case reversal, advice }
    public var kind: Kind
    public var record: TransactionRecord
    /// The unsealed card data the message needs (PAN, track 2, field 55…). Release it after sending.
    public var card: CardData
    /// How many times the item was sent before (``TransactionJournal/markSent(_:)`` counts them): 0 for a first
    /// send, more for a repeat (0221, 0401).
    public var previousAttempts: Int = 0
    /// Why a reversal is due (``Kind/reversal`` only).
    public var reversalReason: ReversalReason? = nil
    public var id: TransactionID { record.id }
}

/// Totals of a batch per rail, kind and currency: approved and offline-approved transactions (reversed ones are
/// not counted).
public struct BatchTotals: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var rail: Rail
        public var kind: TransactionKind
        public var currency: Int
        public var count: Int
        public var amountMinor: Int64

        public init(rail: Rail, kind: TransactionKind, currency: Int, count: Int, amountMinor: Int64) {
            self.rail = rail
            self.kind = kind
            self.currency = currency
            self.count = count
            self.amountMinor = amountMinor
        }
    }
    public var batch: Int
    public var lines: [Line]
}

/// What ``TransactionJournal/recoverAfterRestart()`` found and did.
public struct RecoveryReport: Sendable, Equatable {
    /// Online requests that were in flight: their reversals are now due.
    public var reversalsDue: Int
    /// Transactions that were pending without an online request (now `failed`).
    public var failedPending: Int
    /// Uploads that were sent without an acknowledgement: queued again (the host drops duplicates by txn_ref).
    public var requeued: Int
}
