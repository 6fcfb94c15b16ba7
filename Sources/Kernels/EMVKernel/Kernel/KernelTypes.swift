public import Codecs

/// The transaction the terminal asks the card to perform: amounts, type, date and time, counter and options.
public struct EMVTransaction: Sendable, Hashable {
    /// Transaction Type, '9C' (ISO 8583 processing code, first two digits).
    public enum TransactionType: UInt8, Sendable, Hashable {
        /// '00' goods and services.
        case purchase = 0x00
        /// '09' purchase with cashback.
        case cashback = 0x09
        /// '20' refund: the kernel reads the card (selection, GPO, records, ODA, restrictions) with no cardholder
        /// verification and no terminal risk management, and asks for an AAC at the first GENERATE AC; the outcome
        /// is ``KernelDecision/declinedOffline`` with the card's data, which the driver sends to the host as the refund.
        case refund = 0x20
    }

    /// Amount, Authorised ('9F02'/'81') in minor units, cashback included.
    public var amountAuthorised: Int
    /// Amount, Other ('9F03'/'9F04') in minor units: the cashback part.
    public var amountOther: Int
    /// Transaction Type '9C'.
    public var transactionType: TransactionType
    /// Transaction Date, '9A'.
    public var date: EMVDate
    /// Transaction Time, '9F21': hour, minute, second (the terminal's local time).
    public var hour: Int
    /// Minute of the transaction time.
    public var minute: Int
    /// Second of the transaction time.
    public var second: Int
    /// Transaction Sequence Counter, '9F41'.
    public var sequenceCounter: UInt32
    /// The merchant forces the transaction online (TVR "merchant forced transaction online").
    public var forceOnline: Bool
    /// The languages the terminal can show, as ISO 639-1 codes, preferred first (["zh", "en"]).
    public var languageCodes: [String]

    /// A transaction; amounts in minor units of the terminal's currency.
    public init(
        amountAuthorised: Int, amountOther: Int = 0, transactionType: TransactionType = .purchase, date: EMVDate,
        hour: Int = 0, minute: Int = 0, second: Int = 0, sequenceCounter: UInt32, forceOnline: Bool = false,
        languageCodes: [String] = ["zh", "en"]
    ) {
        self.amountAuthorised = amountAuthorised
        self.amountOther = amountOther
        self.transactionType = transactionType
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
        self.sequenceCounter = sequenceCounter
        self.forceOnline = forceOnline
        self.languageCodes = languageCodes
    }
}

/// How a PIN entry ended, as the driver's PIN entry reports it. The PIN itself never reaches the kernel.
public enum PINEntryResult: Sendable, Hashable {
    /// A PIN was entered (online: encrypted and kept by the driver).
    case entered
    /// The cardholder or merchant bypassed PIN entry (TVR "PIN entry required, PIN pad present, but PIN was not
    /// entered").
    case bypassed
    /// The cardholder cancelled: the transaction ends.
    case cancelled
    /// Nobody entered anything in time: the transaction ends.
    case timedOut
    /// The PIN pad is not present or not working (TVR "PIN pad not present or not working").
    case pinPadNotWorking
}

/// What the driver tells the kernel.
public enum KernelEvent: Sendable, Hashable {
    /// The card's answer to the last ``KernelAction/transmit(_:)`` (GET RESPONSE and Le retries already done).
    case response(ResponseAPDU)
    /// The cardholder's choice among the offered candidates (an index into the list), or `nil` for cancel.
    case applicationChosen(index: Int?)
    /// How online PIN entry ended.
    case onlinePIN(PINEntryResult)
    /// The status word the card answered to the VERIFY command the driver built and sent.
    case offlinePINVerified(StatusWord)
    /// Offline PIN entry ended without a VERIFY command.
    case offlinePINNotEntered(PINEntryResult)
    /// The sum, in minor units, of the amounts already approved today for this PAN (split sales, Book 3 10.6.1).
    case transactionLogTotal(Int)
    /// The host answered the authorisation request.
    case onlineResponse(OnlineResponse)
    /// The host could not be reached.
    case onlineUnavailable
    /// The card left the reader.
    case cardRemoved
}

/// A message for the cardholder (EMV Book 4 clause 11.2 standard messages and a few of our own).
public enum KernelMessage: Sendable, Hashable {
    /// '1B' Processing.
    case processing
    /// '09' Please wait.
    case pleaseWait
    /// '03' Approved.
    case approved
    /// '07' Declined.
    case declined
    /// '0C' Not accepted: no application both sides support.
    case notAccepted
    /// '06' Card error.
    case cardError
    /// Book 4 message '13' "Try again": the chosen application could not be selected.
    case tryAgain
    /// '0A' Incorrect PIN, with the tries the card has left.
    case incorrectPIN(triesLeft: Int)
    /// Last PIN try.
    case lastPINTry
    /// '12' PIN OK.
    case pinOK
    /// PIN try limit exceeded.
    case pinBlocked
    /// '10' Remove card.
    case removeCard
}

/// An application the cardholder may choose (EMV Book 1 clause 12.4).
public struct ApplicationCandidate: Sendable, Hashable {
    /// The ADF name (AID) as the card gave it.
    public var aid: [UInt8]
    /// Application Label '50'.
    public var label: String?
    /// Application Preferred Name '9F12'.
    public var preferredName: String?
    /// The priority from the Application Priority Indicator '87' (1 highest … 15), `nil` when none.
    public var priority: Int?
    /// '87' bit 8: the application may not be selected without the cardholder's confirmation.
    public var needsConfirmation: Bool

    /// A candidate from its parts.
    public init(aid: [UInt8], label: String?, preferredName: String?, priority: Int?, needsConfirmation: Bool) {
        self.aid = aid
        self.label = label
        self.preferredName = preferredName
        self.priority = priority
        self.needsConfirmation = needsConfirmation
    }
}

/// What the driver's PIN entry needs to build the VERIFY command for offline PIN.
public enum OfflinePINRequest: Sendable {
    /// Plaintext PIN (VERIFY P2 = '80').
    case plaintext
    /// Enciphered PIN (VERIFY P2 = '88'): build the data with `OfflineDataAuthentication.encipherPIN` under `key`
    /// with the card's challenge.
    case enciphered(key: RecoveredPublicKey, iccUnpredictableNumber: [UInt8])
}

extension OfflinePINRequest: Equatable {
    /// Requests compare by kind, key modulus and exponent, and challenge.
    public static func == (lhs: OfflinePINRequest, rhs: OfflinePINRequest) -> Bool {
        switch (lhs, rhs) {
        case (.plaintext, .plaintext): true
        case (.enciphered(let a, let ua), .enciphered(let b, let ub)):
            a.modulus == b.modulus && a.exponent == b.exponent && ua == ub
        default: false
        }
    }
}

/// The authorisation request the driver sends to the host (ISO 8583 fields 2, 14, 23, 35, 55 …).
public struct OnlineRequest: Sendable, Hashable {
    /// The PAN digits ('5A' without padding).
    public var pan: String
    /// Application PAN Sequence Number '5F34', if the card has one.
    public var panSequenceNumber: Int?
    /// Application Expiration Date '5F24'.
    public var expiry: EMVDate
    /// Track 2 Equivalent Data '57' as read (empty when the card has none).
    public var track2Equivalent: [UInt8]
    /// Cardholder Name '5F20'.
    public var cardholderName: String?
    /// The selected AID ('84').
    public var aid: [UInt8]
    /// The ICC system related data (field 55): a TLV list of the tags the issuer needs.
    public var iccData: [UInt8]
    /// Online PIN was entered: the driver holds the encrypted PIN block for this request.
    public var onlinePINRequested: Bool

    /// A request from its parts.
    public init(
        pan: String, panSequenceNumber: Int?, expiry: EMVDate, track2Equivalent: [UInt8], cardholderName: String?,
        aid: [UInt8], iccData: [UInt8], onlinePINRequested: Bool
    ) {
        self.pan = pan
        self.panSequenceNumber = panSequenceNumber
        self.expiry = expiry
        self.track2Equivalent = track2Equivalent
        self.cardholderName = cardholderName
        self.aid = aid
        self.iccData = iccData
        self.onlinePINRequested = onlinePINRequested
    }
}

/// The host's answer (ISO 8583 fields 38, 39 and 55).
public struct OnlineResponse: Sendable, Hashable {
    /// Authorisation Response Code, two characters ("00" approved, "05", "51" …); sent to the card as '8A'.
    public var responseCode: String
    /// Authorisation Code '89' (field 38).
    public var authorizationCode: String?
    /// Issuer Authentication Data, the value of '91'.
    public var issuerAuthenticationData: [UInt8]?
    /// The issuer script templates '71' and '72' exactly as received, one after the other.
    public var issuerScripts: [UInt8]

    /// A response; scripts are the '71'/'72' templates as received, concatenated.
    public init(
        responseCode: String, authorizationCode: String? = nil, issuerAuthenticationData: [UInt8]? = nil,
        issuerScripts: [UInt8] = []
    ) {
        self.responseCode = responseCode
        self.authorizationCode = authorizationCode
        self.issuerAuthenticationData = issuerAuthenticationData
        self.issuerScripts = issuerScripts
    }

    /// Whether the code approves: "00", "08" (honour with identification), "10" (partial), "11" (VIP).
    public var isApproval: Bool { ["00", "08", "10", "11"].contains(responseCode) }
}

/// Why a transaction ended without a card decision.
public enum AbortReason: Sendable, Hashable {
    /// The card left the reader.
    case cardRemoved
    /// The card answered a status word or data the flow cannot continue with.
    case cardError(String)
    /// No application both card and terminal support, or all of them blocked.
    case notAccepted
    /// The cardholder cancelled application selection.
    case cancelled
    /// PIN entry timed out.
    case timeout
    /// A card response was malformed: bad TLV, a missing mandatory object, a duplicate.
    case malformedData(String)
    /// The cardholder cancelled PIN entry.
    case pinEntryCancelled
    /// The terminal could not continue (its random source failed).
    case terminalError(String)
}

/// The decision of a transaction.
public enum KernelDecision: Sendable, Hashable {
    /// The host approved and the card confirmed with a TC.
    case approvedOnline
    /// Approved offline by the card (TC at the first GENERATE AC, or after "unable to go online").
    case approvedOffline
    /// The card declined offline (AAC at the first GENERATE AC, CDA failure, or default action codes).
    case declinedOffline
    /// The host declined.
    case declinedOnline
    /// The host approved, the card answered AAC to the second GENERATE AC: reverse the authorisation.
    case declinedByCardAfterOnlineApproval
    /// The transaction ended without a decision.
    case aborted(AbortReason)
}

/// The card data the store, receipt, advice and reversal need.
public struct TransactionCardData: Sendable, Hashable {
    /// PAN digits ('5A'); mask it (6/4) before showing or logging.
    public var pan: String
    /// PAN Sequence Number '5F34'.
    public var panSequenceNumber: Int?
    /// Application Expiration Date '5F24'.
    public var expiry: EMVDate?
    /// Cardholder Name '5F20'.
    public var cardholderName: String?
    /// The selected AID ('84').
    public var aid: [UInt8]
    /// Application Label or Preferred Name for the receipt.
    public var label: String
    /// Application Transaction Counter '9F36' of the last GENERATE AC.
    public var atc: [UInt8]
    /// Application Cryptogram '9F26' of the last GENERATE AC.
    public var cryptogram: [UInt8]
    /// Cryptogram Information Data '9F27' of the last GENERATE AC.
    public var cid: UInt8?
    /// The field-55 data of the final state, with '9F5B' issuer script results when scripts ran.
    public var iccData: [UInt8]

    /// Card data from its parts.
    public init(
        pan: String, panSequenceNumber: Int?, expiry: EMVDate?, cardholderName: String?, aid: [UInt8], label: String,
        atc: [UInt8], cryptogram: [UInt8], cid: UInt8?, iccData: [UInt8]
    ) {
        self.pan = pan
        self.panSequenceNumber = panSequenceNumber
        self.expiry = expiry
        self.cardholderName = cardholderName
        self.aid = aid
        self.label = label
        self.atc = atc
        self.cryptogram = cryptogram
        self.cid = cid
        self.iccData = iccData
    }
}

/// How the transaction ended.
public struct KernelOutcome: Sendable, Hashable {
    /// What happened.
    public var decision: KernelDecision
    /// The host approved, and the card or the session then failed: send a reversal.
    public var needsReversal: Bool
    /// The card asked for an advice (CID bit 4), or an offline decision must be reported.
    public var needsAdvice: Bool
    /// The terminal could not reach the host and decided with the default action codes (ARC 'Y3'/'Z3').
    public var unableToGoOnline: Bool
    /// The final TVR '95'.
    public var tvr: TerminalVerificationResults
    /// The final TSI '9B'.
    public var tsi: TransactionStatusInformation
    /// CVM Results '9F34', 3 bytes.
    public var cvmResults: [UInt8]
    /// The receipt needs a signature line.
    public var signatureRequired: Bool
    /// `nil` when the transaction ended before the card's data was read.
    public var cardData: TransactionCardData?
    /// Issuer Script Results '9F5B': 5 bytes per script.
    public var scriptResults: [UInt8]

    /// An outcome from its parts.
    public init(
        decision: KernelDecision, needsReversal: Bool = false, needsAdvice: Bool = false,
        unableToGoOnline: Bool = false, tvr: TerminalVerificationResults = [], tsi: TransactionStatusInformation = [],
        cvmResults: [UInt8] = [0x3F, 0x00, 0x00], signatureRequired: Bool = false,
        cardData: TransactionCardData? = nil, scriptResults: [UInt8] = []
    ) {
        self.decision = decision
        self.needsReversal = needsReversal
        self.needsAdvice = needsAdvice
        self.unableToGoOnline = unableToGoOnline
        self.tvr = tvr
        self.tsi = tsi
        self.cvmResults = cvmResults
        self.signatureRequired = signatureRequired
        self.cardData = cardData
        self.scriptResults = scriptResults
    }
}

/// What the kernel asks the driver to do, in order.
public enum KernelAction: Sendable, Equatable {
    /// Send this command to the card and answer with ``KernelEvent/response(_:)``.
    case transmit(CommandAPDU)
    /// Show a message.
    case show(KernelMessage)
    /// Let the cardholder choose; answer with ``KernelEvent/applicationChosen(index:)``.
    case chooseApplication([ApplicationCandidate])
    /// Use this language ("zh"/"en") for the cardholder's messages.
    case selectedLanguage(String)
    /// Run online PIN entry (encrypt at once, keep the block for the request); answer ``KernelEvent/onlinePIN(_:)``.
    case enterOnlinePIN(pan: String)
    /// Run offline PIN entry and the VERIFY command; answer ``KernelEvent/offlinePINVerified(_:)`` or
    /// ``KernelEvent/offlinePINNotEntered(_:)``.
    case verifyOfflinePIN(OfflinePINRequest)
    /// Look up today's approved total for this PAN; answer ``KernelEvent/transactionLogTotal(_:)``.
    case lookupTransactionLog(pan: String)
    /// Send the authorisation request; answer ``KernelEvent/onlineResponse(_:)`` or
    /// ``KernelEvent/onlineUnavailable``.
    case goOnline(OnlineRequest)
    /// The transaction is over.
    case complete(KernelOutcome)
}
