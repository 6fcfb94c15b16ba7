public import Codecs
public import EMVKernel

/// A contactless kernel, by its Kernel Identifier ('9F2A', EMV Book B clause 3.3.2.5, first byte of an international
/// identifier).
public enum ContactlessKernelID: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// Kernel 2: Mastercard M/Chip (EMV Book C-2).
    case mastercard = 2
    /// Kernel 3: Visa qVSDC (EMV Book C-3).
    case visa = 3
    /// Kernel 7: UnionPay QuickPass (qPBOC). Here it runs the Kernel 3 path (docs/contactless.md says what is shared).
    case unionPay = 7

    /// The kernel Entry Point assumes when the directory entry has no '9F2A' (Book B 3.3.2.5: by the RID).
    static func defaultKernel(forAID aid: [UInt8]) -> ContactlessKernelID? {
        switch Array(aid.prefix(5)) {
        case [0xA0, 0x00, 0x00, 0x00, 0x04]: .mastercard
        case [0xA0, 0x00, 0x00, 0x00, 0x03]: .visa
        case [0xA0, 0x00, 0x00, 0x03, 0x33]: .unionPay
        default: nil
        }
    }

    /// The EMV book of the kernel.
    public var description: String {
        switch self {
        case .mastercard: "C-2"
        case .visa: "C-3"
        case .unionPay: "C-7 (qPBOC on the C-3 path)"
        }
    }
}

/// The reader limits of one AID and kernel combination (EMV Book B clause 3.1.1, "Entry Point Configuration Data"),
/// in minor units of the transaction currency. `nil` = the limit is not configured (never exceeded).
public struct ContactlessReaderLimits: Sendable, Hashable {
    /// Reader Contactless Transaction Limit: an amount **at or above** it may not be paid contactless ('Contactless
    /// Application Not Allowed').
    public var transactionLimit: Int?
    /// Reader Contactless Transaction Limit for cards and phones doing on-device CVM (Kernel 2: the AIP says so).
    public var onDeviceCVMTransactionLimit: Int?
    /// Reader Contactless Floor Limit: an amount **above** it needs an online cryptogram.
    public var floorLimit: Int?
    /// Reader CVM Required Limit: an amount **at or above** it needs cardholder verification.
    public var cvmRequiredLimit: Int?

    /// Limits from their parts.
    public init(
        transactionLimit: Int?, onDeviceCVMTransactionLimit: Int? = nil, floorLimit: Int?, cvmRequiredLimit: Int?
    ) {
        self.transactionLimit = transactionLimit
        self.onDeviceCVMTransactionLimit = onDeviceCVMTransactionLimit
        self.floorLimit = floorLimit
        self.cvmRequiredLimit = cvmRequiredLimit
    }
}

/// Relay resistance settings of Kernel 2 (EMV Book C-2 clause 5.3, "Relay Resistance Protocol"); times in units of
/// 100 µs as on the card.
public struct RelayResistanceParameters: Sendable, Hashable {
    /// Minimum Relay Resistance Grace Period.
    public var minimumGracePeriod: Int
    /// Maximum Relay Resistance Grace Period.
    public var maximumGracePeriod: Int
    /// Terminal Expected Transmission Time For Relay Resistance C-APDU.
    public var expectedCommandTransmissionTime: Int
    /// Terminal Expected Transmission Time For Relay Resistance R-APDU.
    public var expectedResponseTransmissionTime: Int
    /// Relay Resistance Accuracy Threshold.
    public var accuracyThreshold: Int
    /// Relay Resistance Transmission Time Mismatch Threshold (percent).
    public var transmissionTimeMismatchThreshold: Int

    /// The C-2 defaults (Annex A): grace 20 / 50, expected 18 / 18, accuracy 300, mismatch 50 %.
    public static let standard = RelayResistanceParameters(
        minimumGracePeriod: 20, maximumGracePeriod: 50, expectedCommandTransmissionTime: 18,
        expectedResponseTransmissionTime: 18, accuracyThreshold: 300, transmissionTimeMismatchThreshold: 50)

    /// Parameters from their parts.
    public init(
        minimumGracePeriod: Int, maximumGracePeriod: Int, expectedCommandTransmissionTime: Int,
        expectedResponseTransmissionTime: Int, accuracyThreshold: Int, transmissionTimeMismatchThreshold: Int
    ) {
        self.minimumGracePeriod = minimumGracePeriod
        self.maximumGracePeriod = maximumGracePeriod
        self.expectedCommandTransmissionTime = expectedCommandTransmissionTime
        self.expectedResponseTransmissionTime = expectedResponseTransmissionTime
        self.accuracyThreshold = accuracyThreshold
        self.transmissionTimeMismatchThreshold = transmissionTimeMismatchThreshold
    }
}

/// One combination the reader supports: an AID, the kernel that runs it, its limits and kernel data (Book B 3.1.1).
public struct ContactlessCombination: Sendable, Hashable {
    /// The AID ('9F06').
    public var aid: [UInt8]
    /// The kernel.
    public var kernel: ContactlessKernelID
    /// Whether a card AID longer than `aid` that starts with it also matches.
    public var allowsPartialSelection: Bool
    /// Extended selection ('9F29' appended to the ADF name, Book B 3.3.2.6).
    public var extendedSelectionSupported: Bool
    /// The reader limits.
    public var limits: ContactlessReaderLimits
    /// Terminal Transaction Qualifiers '9F66' as configured (Kernel 3 and qPBOC), before Entry Point sets byte 2 bits
    /// 8 and 7 from the limits. Default '36 00 40 00': contactless EMV mode, online capable, online PIN and signature
    /// supported, CDCVM supported.
    public var terminalTransactionQualifiers: [UInt8]
    /// Terminal Action Codes denial / online / default (Kernel 2), 5 bytes each.
    public var tacDenial: [UInt8]
    /// TAC online (Book 3 10.7).
    public var tacOnline: [UInt8]
    /// TAC default.
    public var tacDefault: [UInt8]
    /// Kernel 2: the reader takes part in the relay resistance protocol.
    public var relayResistance: RelayResistanceParameters?
    /// Kernel 2: on-device cardholder verification supported (Kernel Configuration '1F' bit 6).
    public var onDeviceCVMSupported: Bool
    /// Application Version Number ('9F09').
    public var applicationVersion: [UInt8]

    /// A combination; the Kernel 2 fields have defaults that suit the other kernels too.
    public init(
        aid: [UInt8], kernel: ContactlessKernelID, limits: ContactlessReaderLimits, allowsPartialSelection: Bool = true,
        extendedSelectionSupported: Bool = false, terminalTransactionQualifiers: [UInt8] = [0x36, 0x00, 0x40, 0x00],
        tacDenial: [UInt8] = [0, 0, 0, 0, 0], tacOnline: [UInt8] = [0xF4, 0x50, 0x84, 0x80, 0x0C],
        tacDefault: [UInt8] = [0xF4, 0x50, 0x84, 0x80, 0x0C], relayResistance: RelayResistanceParameters? = .standard,
        onDeviceCVMSupported: Bool = true, applicationVersion: [UInt8] = [0x00, 0x02]
    ) {
        self.aid = aid
        self.kernel = kernel
        self.limits = limits
        self.allowsPartialSelection = allowsPartialSelection
        self.extendedSelectionSupported = extendedSelectionSupported
        self.terminalTransactionQualifiers = terminalTransactionQualifiers
        self.tacDenial = tacDenial
        self.tacOnline = tacOnline
        self.tacDefault = tacDefault
        self.relayResistance = relayResistance
        self.onDeviceCVMSupported = onDeviceCVMSupported
        self.applicationVersion = applicationVersion
    }
}

/// What the reader knows before a tap: the terminal data, CA keys and revocation list of the contact parameters, and
/// the contactless combinations in the terminal's order of preference.
public struct ContactlessParameters: Sendable {
    /// Terminal data, CA public keys, revocation list and exception file (shared with the contact kernel).
    public var terminal: TerminalParameters
    /// The AID / kernel combinations.
    public var combinations: [ContactlessCombination]

    /// Parameters from their parts.
    public init(terminal: TerminalParameters, combinations: [ContactlessCombination]) {
        self.terminal = terminal
        self.combinations = combinations
    }
}

/// A message identifier of EMV Book A clause 9.4 (the raw value is the standard message number).
public enum ContactlessMessage: UInt8, Sendable, Hashable {
    case approved = 0x03
    case notAuthorised = 0x07
    case enterPIN = 0x09
    case processingError = 0x0F
    case removeCard = 0x10
    case welcome = 0x14
    case presentCard = 0x15
    case processing = 0x16
    case cardReadOKRemoveCard = 0x17
    case insertOrSwipeCard = 0x18
    case presentOneCardOnly = 0x19
    case approvedPleaseSign = 0x1A
    case authorisingPleaseWait = 0x1B
    case insertSwipeOrTryAnotherCard = 0x1C
    case insertCard = 0x1D
    case clearDisplay = 0x1E
    case seePhone = 0x20
    case presentCardAgain = 0x21
}

/// A User Interface Request (EMV Book A clause 7.1): a message, the reader status shown on the four indicators, a
/// hold time and a beep.
public struct UserInterfaceRequest: Sendable, Hashable {
    /// The reader status (Book A 9.2). Four indicator lights show it; ``indicatorsLit`` gives how many.
    public enum Status: Sendable, Hashable {
        case notReady, idle, readyToRead, processing, cardReadSuccessfully, processingError
    }

    /// A beep (Book A 9.3).
    public enum Beep: Sendable, Hashable {
        /// One short tone: the card read succeeded.
        case success
        /// Two tones: something needs attention.
        case alert
    }

    /// The message to show.
    public var message: ContactlessMessage
    /// The reader status (the four indicators).
    public var status: Status
    /// How long the message stays before the next one may replace it, in milliseconds.
    public var holdTimeMilliseconds: Int
    /// The tone, if any.
    public var beep: Beep?

    /// A request from its parts.
    public init(message: ContactlessMessage, status: Status, holdTimeMilliseconds: Int = 0, beep: Beep? = nil) {
        self.message = message
        self.status = status
        self.holdTimeMilliseconds = holdTimeMilliseconds
        self.beep = beep
    }

    /// The four status indicators lit for this status (Book A 9.2, indicator option 1): idle / ready 1, processing 2,
    /// card read 4, error 0.
    public var indicatorsLit: Int {
        switch status {
        case .notReady, .processingError: 0
        case .idle, .readyToRead: 1
        case .processing: 2
        case .cardReadSuccessfully: 4
        }
    }
}

/// The Outcome a contactless transaction ends with (EMV Book A clause 6.2, Book B 3.5).
public enum ContactlessOutcomeStatus: Sendable, Hashable {
    /// Approved offline by the card (a TC with valid offline data authentication).
    case approved
    /// Declined offline (an AAC, failed CDA or fDDA where offline is the only way).
    case declined
    /// An ARQC: the reader sends ``ContactlessOutcome/onlineRequest`` for authorisation (after online PIN if
    /// ``ContactlessOutcome/cvm`` asks for it).
    case onlineRequest
    /// The transaction must move to the contact interface ("Please insert card").
    case tryAnotherInterface
    /// The transaction ended; the card or phone may be presented again when ``ContactlessOutcome/restart`` says so.
    case endApplication
    /// Handled inside Entry Point (the next candidate is selected); never returned.
    case selectNext
    /// Present again (collision, "See Phone", torn transaction): restart at Start B.
    case tryAgain
}

/// The cardholder verification the outcome asks for (Book A 6.2 "CVM").
public enum ContactlessCVM: Sendable, Hashable {
    case noCVM
    case signature
    case onlinePIN
    /// Consumer device CVM (CDCVM) done on the phone: "confirmation code verified".
    case confirmationCodeVerified
    case notApplicable
}

/// A transaction whose GENERATE AC got no answer (Kernel 2 torn transaction log, Book C-2 clause 3.9): kept by the
/// reader and handed to the next ``ContactlessEntryPoint`` so the same card can recover it with RECOVER AC.
public struct TornTransactionRecord: Sendable, Hashable {
    /// PAN digits and sequence number of the card.
    public var pan: String
    /// PAN Sequence Number '5F34'.
    public var panSequenceNumber: Int?
    /// The PDOL and CDOL1 related data sent (the CDA hash input of the recovered answer).
    public var pdolData: [UInt8]
    /// CDOL1 related data of the torn GENERATE AC.
    public var cdol1Data: [UInt8]
    /// The Unpredictable Number of the torn GENERATE AC (RECOVER AC data).
    public var unpredictableNumber: [UInt8]
    /// The amount of the torn transaction.
    public var amount: Int

    /// A record from its parts.
    public init(
        pan: String, panSequenceNumber: Int?, pdolData: [UInt8], cdol1Data: [UInt8], unpredictableNumber: [UInt8],
        amount: Int
    ) {
        self.pan = pan
        self.panSequenceNumber = panSequenceNumber
        self.pdolData = pdolData
        self.cdol1Data = cdol1Data
        self.unpredictableNumber = unpredictableNumber
        self.amount = amount
    }
}

/// How a tap ended (Book A 6.2 "Outcome Parameter Set" plus the data record).
public struct ContactlessOutcome: Sendable, Hashable {
    /// The outcome status.
    public var status: ContactlessOutcomeStatus
    /// The CVM the reader performs (online PIN before the request, a signature line).
    public var cvm: ContactlessCVM
    /// The kernel that ran, if one was activated.
    public var kernel: ContactlessKernelID?
    /// What to show when the outcome is reached.
    public var uiRequestOnOutcome: UserInterfaceRequest?
    /// What to show when the transaction restarts (a second tap): "Present card again".
    public var uiRequestOnRestart: UserInterfaceRequest?
    /// Start B on the next presentation (Try Again, See Phone, torn transaction).
    public var restart: Bool
    /// For ``ContactlessOutcomeStatus/onlineRequest``: what to send to the host (field 55, PAN, track 2).
    public var onlineRequest: OnlineRequest?
    /// The card data for the journal and receipt (`nil` before the card was read).
    public var cardData: TransactionCardData?
    /// The final TVR '95' (Kernel 2; Kernel 3 sends zeros).
    public var tvr: TerminalVerificationResults
    /// CVM Results '9F34'.
    public var cvmResults: [UInt8]
    /// Kernel 2: a GENERATE AC tore; keep this record for the next tap.
    public var tornRecord: TornTransactionRecord?
    /// Kernel 2: the torn record that this tap recovered or found stale (remove it from the log).
    public var clearedTornRecord: TornTransactionRecord?
    /// Kernel 2: relay resistance measured processing time (units of 100 µs), when the protocol ran.
    public var measuredRelayResistanceTime: Int?
    /// The kernel's own processing time for this tap (``ContactlessEntryPoint/init(parameters:transaction:random:clock:tornLog:)``'s
    /// clock; 0 without one), nanoseconds.
    public var kernelProcessingNanoseconds: UInt64

    /// An outcome; most fields have neutral defaults.
    public init(
        status: ContactlessOutcomeStatus, cvm: ContactlessCVM = .notApplicable, kernel: ContactlessKernelID? = nil,
        uiRequestOnOutcome: UserInterfaceRequest? = nil, uiRequestOnRestart: UserInterfaceRequest? = nil,
        restart: Bool = false, onlineRequest: OnlineRequest? = nil, cardData: TransactionCardData? = nil,
        tvr: TerminalVerificationResults = [], cvmResults: [UInt8] = [0x3F, 0x00, 0x00],
        tornRecord: TornTransactionRecord? = nil, clearedTornRecord: TornTransactionRecord? = nil,
        measuredRelayResistanceTime: Int? = nil, kernelProcessingNanoseconds: UInt64 = 0
    ) {
        self.status = status
        self.cvm = cvm
        self.kernel = kernel
        self.uiRequestOnOutcome = uiRequestOnOutcome
        self.uiRequestOnRestart = uiRequestOnRestart
        self.restart = restart
        self.onlineRequest = onlineRequest
        self.cardData = cardData
        self.tvr = tvr
        self.cvmResults = cvmResults
        self.tornRecord = tornRecord
        self.clearedTornRecord = clearedTornRecord
        self.measuredRelayResistanceTime = measuredRelayResistanceTime
        self.kernelProcessingNanoseconds = kernelProcessingNanoseconds
    }
}

/// What the reader tells Entry Point.
public enum ContactlessEvent: Sendable, Hashable {
    /// The card's answer to the last ``ContactlessAction/transmit(_:)``; `elapsedMicroseconds` is the time from the
    /// command's first bit to the response's last (only EXCHANGE RELAY RESISTANCE DATA uses it).
    case response(ResponseAPDU, elapsedMicroseconds: Int = 0)
    /// More than one card in the field (ISO 14443-3 anticollision).
    case collision
    /// The card left the field (no answer).
    case cardRemoved
}

/// What Entry Point asks the reader to do.
public enum ContactlessAction: Sendable, Hashable {
    /// Send this command to the card; answer with ``ContactlessEvent/response(_:elapsedMicroseconds:)``.
    case transmit(CommandAPDU)
    /// Show this (message, status indicators, beep); no answer.
    case userInterface(UserInterfaceRequest)
    /// The tap is over.
    case outcome(ContactlessOutcome)
}

/// A clock for the kernel's own processing time (the thread CPU clock on the board): the kernel reads it only to
/// report ``ContactlessOutcome/kernelProcessingNanoseconds``.
public protocol ProcessingClock: Sendable {
    /// A monotonic reading in nanoseconds.
    func nanoseconds() -> UInt64
}

/// Terminal Transaction Qualifiers, '9F66' (Kernel 3 / qPBOC; EMV Book C-3 Annex A.2), four bytes.
public struct TerminalTransactionQualifiers: Sendable, Hashable {
    /// The four bytes.
    public var bytes: [UInt8]
    /// TTQ from bytes (padded or cut to four).
    public init(bytes: [UInt8]) {
        self.bytes = Array(bytes.prefix(4)) + [UInt8](repeating: 0, count: max(0, 4 - bytes.count))
    }
    /// Byte 1 bit 6: contactless EMV mode (qVSDC) supported.
    public var emvModeSupported: Bool { bytes[0] & 0x20 != 0 }
    /// Byte 1 bit 4: offline-only reader.
    public var offlineOnly: Bool { bytes[0] & 0x08 != 0 }
    /// Byte 1 bit 3: online PIN supported.
    public var onlinePINSupported: Bool { bytes[0] & 0x04 != 0 }
    /// Byte 1 bit 2: signature supported.
    public var signatureSupported: Bool { bytes[0] & 0x02 != 0 }
    /// Byte 2 bit 8: online cryptogram required (set by Entry Point above the floor limit).
    public var onlineCryptogramRequired: Bool {
        get { bytes[1] & 0x80 != 0 }
        set { bytes[1] = newValue ? bytes[1] | 0x80 : bytes[1] & 0x7F }
    }
    /// Byte 2 bit 7: CVM required (set by Entry Point at or above the CVM required limit).
    public var cvmRequired: Bool {
        get { bytes[1] & 0x40 != 0 }
        set { bytes[1] = newValue ? bytes[1] | 0x40 : bytes[1] & 0xBF }
    }
    /// Byte 3 bit 7: consumer device CVM supported.
    public var consumerDeviceCVMSupported: Bool { bytes[2] & 0x40 != 0 }
}

/// Card Transaction Qualifiers, '9F6C' (Kernel 3; Book C-3 Annex A.2), two bytes.
public struct CardTransactionQualifiers: Sendable, Hashable {
    /// The two bytes.
    public var bytes: [UInt8]
    /// CTQ from exactly two bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 2 else { return nil }
        self.bytes = Array(bytes)
    }
    /// Byte 1 bit 8: online PIN required.
    public var onlinePINRequired: Bool { bytes[0] & 0x80 != 0 }
    /// Byte 1 bit 7: signature required.
    public var signatureRequired: Bool { bytes[0] & 0x40 != 0 }
    /// Byte 1 bit 6: go online if offline data authentication fails and the reader is online capable.
    public var goOnlineIfODAFails: Bool { bytes[0] & 0x20 != 0 }
    /// Byte 2 bit 8: consumer device CVM performed.
    public var consumerDeviceCVMPerformed: Bool { bytes[1] & 0x80 != 0 }
}

extension TerminalVerificationResults {
    /// TVR byte 5 bit 4 (Book C-2): relay resistance threshold exceeded.
    public static let relayResistanceThresholdExceeded = TerminalVerificationResults(rawValue: 0x08)
    /// TVR byte 5 bit 3 (Book C-2): relay resistance time limits exceeded.
    public static let relayResistanceTimeLimitsExceeded = TerminalVerificationResults(rawValue: 0x04)
    /// TVR byte 5 bits 2-1 = 10 (Book C-2): relay resistance performed.
    public static let relayResistancePerformed = TerminalVerificationResults(rawValue: 0x02)
    /// TVR byte 5 bits 2-1 = 01 (Book C-2): relay resistance not performed.
    public static let relayResistanceNotPerformed = TerminalVerificationResults(rawValue: 0x01)
}
