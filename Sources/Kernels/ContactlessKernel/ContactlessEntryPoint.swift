import Codecs
public import EMVKernel
public import PaymentCrypto

/// One contactless tap: EMV Book B Entry Point (pre-processing, protocol activation, combination selection, kernel
/// activation, outcome processing) and the kernel it activates — Kernel 3 (Visa qVSDC, also UnionPay qPBOC) or
/// Kernel 2 (Mastercard M/Chip) — as a pure state machine, in the style of ``EMVContactKernel``.
///
/// ``start()`` and ``handle(_:)`` return ``ContactlessAction``s: commands for the card, user-interface requests, and
/// last an ``ContactlessAction/outcome(_:)``. The reader answers each ``ContactlessAction/transmit(_:)`` with a
/// ``ContactlessEvent``. Malformed card answers end in an outcome (usually End Application), never a trap; an event
/// after the outcome is a driver bug and traps.
///
/// Online processing is not part of a contactless kernel: an ``ContactlessOutcomeStatus/onlineRequest`` outcome
/// carries the request (and the CVM, e.g. online PIN) for the reader to send once the card has left the field.
public struct ContactlessEntryPoint: Sendable {
    enum State: Sendable {
        case idle
        case selectingPPSE
        case finalSelecting
        case k3GettingProcessingOptions
        case k3ReadingRecords(pending: [RecordReference])
        case k2GettingProcessingOptions
        case k2ExchangingRelayResistanceData(attempt: Int, entropy: [UInt8])
        case k2ReadingRecords(pending: [RecordReference])
        case k2RecoveringAC(TornTransactionRecord)
        case k2GeneratingAC(referenceControl: UInt8)
        case finished

        var name: String {
            switch self {
            case .idle: "idle"
            case .selectingPPSE: "selectingPPSE"
            case .finalSelecting: "finalSelecting"
            case .k3GettingProcessingOptions: "k3GettingProcessingOptions"
            case .k3ReadingRecords: "k3ReadingRecords"
            case .k2GettingProcessingOptions: "k2GettingProcessingOptions"
            case .k2ExchangingRelayResistanceData: "k2ExchangingRelayResistanceData"
            case .k2ReadingRecords: "k2ReadingRecords"
            case .k2RecoveringAC: "k2RecoveringAC"
            case .k2GeneratingAC: "k2GeneratingAC"
            case .finished: "finished"
            }
        }
    }

    struct RecordReference: Sendable {
        var sfi: UInt8
        var record: UInt8
        var forODA: Bool
    }

    /// A combination that matched a directory entry (Book B 3.3.2.5), with its pre-processing indicators.
    struct Candidate: Sendable {
        var combination: ContactlessCombination
        var entry: PPSEDirectoryEntry
        var selectName: [UInt8]
        var indicators: PreProcessingIndicators
        var order: Int
    }

    /// The Entry Point Pre-Processing Indicators of one combination (Book B 3.1.1).
    public struct PreProcessingIndicators: Sendable, Hashable {
        /// Amount at or above the contactless transaction limit.
        public var contactlessApplicationNotAllowed = false
        /// Amount above the contactless floor limit.
        public var floorLimitExceeded = false
        /// Amount at or above the CVM required limit.
        public var cvmRequiredLimitExceeded = false
        /// The TTQ to send (Kernel 3 / qPBOC).
        public var ttq: TerminalTransactionQualifiers
    }

    var state: State = .idle
    let parameters: ContactlessParameters
    let transaction: EMVTransaction
    let random: any RandomSource
    let clock: (any ProcessingClock)?
    let tornLog: [TornTransactionRecord]
    let isRestart: Bool

    var processingNanoseconds: UInt64 = 0
    var callStarted: UInt64 = 0
    var unpredictableNumber: [UInt8] = [0, 0, 0, 0]
    var candidates: [Candidate] = []
    var selected: Candidate?
    var fciData: [TLVTag: [UInt8]] = [:]
    var cardData: [TLVTag: [UInt8]] = [:]
    var pdolData: [UInt8] = []
    var cdol1Data: [UInt8] = []
    var staticData: [UInt8] = []
    var staticDataInvalid = false
    var aip: [UInt8] = [0, 0]
    var tvr: TerminalVerificationResults = []
    var cvmResults: [UInt8] = [0x3F, 0x00, 0x00]
    var cvm: ContactlessCVM = .noCVM
    var relayResistanceTime: Int?
    var clearedTorn: TornTransactionRecord?
    var recoveredFrom: TornTransactionRecord?
    var pendingRecords: [RecordReference] = []
    var iccKeyForCDA: RecoveredPublicKey?

    /// Entry Point for one tap.
    /// - Parameters:
    ///   - parameters: terminal data, CA keys and the contactless combinations.
    ///   - transaction: amount, type, date and time (the contact kernel's type).
    ///   - random: the source of the Unpredictable Number '9F37' (and the relay resistance entropy).
    ///   - clock: read at the start and end of each call to report the kernel's own time; `nil` reports 0.
    ///   - tornLog: Kernel 2 torn transactions kept from earlier taps.
    ///   - restart: Start B (a second tap after Try Again or "See Phone"): pre-processing is not repeated.
    public init(
        parameters: ContactlessParameters, transaction: EMVTransaction, random: any RandomSource,
        clock: (any ProcessingClock)? = nil, tornLog: [TornTransactionRecord] = [], restart: Bool = false
    ) {
        self.parameters = parameters
        self.transaction = transaction
        self.random = random
        self.clock = clock
        self.tornLog = tornLog
        self.isRestart = restart
    }

    /// The pre-processing of Book B 3.1.1 for one combination: the indicators and the TTQ with byte 2 bits 8-7 set
    /// from the limits. Public so a reader can show the limits it applies.
    /// `forceOnline` (the merchant or the offline caps refuse an offline approval) acts as an exceeded floor limit.
    public static func preProcess(
        _ combination: ContactlessCombination, amount: Int, terminalFloorLimit: Int?, forceOnline: Bool = false
    ) -> PreProcessingIndicators {
        var ttq = TerminalTransactionQualifiers(bytes: combination.terminalTransactionQualifiers)
        ttq.onlineCryptogramRequired = false
        ttq.cvmRequired = false
        var indicators = PreProcessingIndicators(ttq: ttq)
        let limits = combination.limits
        // Kernel 2 applies the on-device CVM limit itself once it knows the card; Entry Point keeps the larger one.
        let transactionLimit =
            combination.kernel == .mastercard
            ? [limits.transactionLimit, limits.onDeviceCVMTransactionLimit].compactMap { $0 }.max()
            : limits.transactionLimit
        if let limit = transactionLimit, amount >= limit { indicators.contactlessApplicationNotAllowed = true }
        if forceOnline || (limits.floorLimit ?? terminalFloorLimit).map({ amount > $0 }) == true {
            indicators.floorLimitExceeded = true
            indicators.ttq.onlineCryptogramRequired = true
        }
        if let cvmLimit = limits.cvmRequiredLimit, amount >= cvmLimit {
            indicators.cvmRequiredLimitExceeded = true
            indicators.ttq.cvmRequired = true
        }
        return indicators
    }

    // MARK: Entry points

    /// Starts the tap: pre-processing, then SELECT PPSE.
    public mutating func start() -> [ContactlessAction] {
        guard case .idle = state else { preconditionFailure("ContactlessEntryPoint.start() in state \(state.name)") }
        beginCall()
        defer { endCall() }
        do {
            let bytes = try random.bytes(4)
            guard bytes.count == 4 else { return endApplication(.processingError) }
            unpredictableNumber = bytes
        } catch {
            return endApplication(.processingError)
        }
        let all = parameters.combinations.map {
            Self.preProcess(
                $0, amount: transaction.amountAuthorised, terminalFloorLimit: terminalFloorLimit(for: $0.aid),
                forceOnline: transaction.forceOnline)
        }
        // Book B 3.1.1.13: no combination allows contactless for this amount → Try Another Interface.
        if !all.isEmpty, all.allSatisfy(\.contactlessApplicationNotAllowed) {
            return finish(
                ContactlessOutcome(
                    status: .tryAnotherInterface,
                    uiRequestOnOutcome: UserInterfaceRequest(
                        message: .insertCard, status: .processingError, beep: .alert)))
        }
        state = .selectingPPSE
        return [
            .userInterface(UserInterfaceRequest(message: .processing, status: .processing)),
            transmit(try? CommandAPDU.select(name: PPSEDirectory.name)),
        ]
    }

    /// Feeds one event.
    public mutating func handle(_ event: ContactlessEvent) -> [ContactlessAction] {
        beginCall()
        defer { endCall() }
        switch event {
        case .collision:
            guard !isFinished else { preconditionFailure("ContactlessEntryPoint.handle(_:) after the outcome") }
            // Book B 3.2.1.3 / Book A 8.1: more than one card → "Present one card only", then the same tap again.
            return finish(
                ContactlessOutcome(
                    status: .tryAgain, kernel: selected?.combination.kernel,
                    uiRequestOnOutcome: UserInterfaceRequest(
                        message: .presentOneCardOnly, status: .readyToRead, holdTimeMilliseconds: 1300, beep: .alert),
                    restart: true))
        case .cardRemoved:
            return cardRemoved()
        case .response(let response, let elapsed):
            switch state {
            case .idle: preconditionFailure("ContactlessEntryPoint.handle(_:) before start()")
            case .finished: preconditionFailure("ContactlessEntryPoint.handle(_:) after the outcome")
            case .selectingPPSE: return ppseSelected(response)
            case .finalSelecting: return finalSelected(response)
            case .k3GettingProcessingOptions: return k3ProcessingOptionsReceived(response)
            case .k3ReadingRecords(let pending): return k3RecordRead(response, pending: pending)
            case .k2GettingProcessingOptions: return k2ProcessingOptionsReceived(response)
            case .k2ExchangingRelayResistanceData(let attempt, let entropy):
                return k2RelayResistanceAnswered(
                    response, elapsedMicroseconds: elapsed, attempt: attempt, entropy: entropy)
            case .k2ReadingRecords(let pending): return k2RecordRead(response, pending: pending)
            case .k2RecoveringAC(let record): return k2RecoverACAnswered(response, record: record)
            case .k2GeneratingAC(let p1): return k2GenerateACAnswered(response, referenceControl: p1)
            }
        }
    }

    var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    // MARK: Timing

    mutating func beginCall() { callStarted = clock?.nanoseconds() ?? 0 }

    mutating func endCall() {
        guard let clock, !isFinishedBeforeCall else { return }
        processingNanoseconds &+= clock.nanoseconds() &- callStarted
    }

    /// Set once the outcome has been built (its time already counted).
    var isFinishedBeforeCall = false

    // MARK: Selection (Book B 3.3)

    func terminalFloorLimit(for aid: [UInt8]) -> Int? {
        parameters.terminal.applications.first { aid.starts(with: $0.aid) }?.floorLimit
    }

    mutating func transmit(_ command: CommandAPDU?) -> ContactlessAction {
        guard let command else {
            // Only a command too long for an APDU fails to build: a terminal data problem.
            preconditionFailure("ContactlessEntryPoint could not build a command in state \(state.name)")
        }
        return .transmit(command)
    }

    mutating func ppseSelected(_ r: ResponseAPDU) -> [ContactlessAction] {
        guard r.statusWord.isNormalProcessing, let entries = try? PPSEDirectory.parse(fci: r.data), !entries.isEmpty
        else {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        var list: [Candidate] = []
        var excluded = false
        for (order, entry) in entries.enumerated() {
            guard let kernel = PPSEDirectory.kernel(of: entry) else { continue }
            for combination in parameters.combinations where combination.kernel == kernel {
                let matches =
                    entry.adfName == combination.aid
                    || (combination.allowsPartialSelection && entry.adfName.starts(with: combination.aid))
                guard matches else { continue }
                let indicators = Self.preProcess(
                    combination, amount: transaction.amountAuthorised,
                    terminalFloorLimit: terminalFloorLimit(for: combination.aid), forceOnline: transaction.forceOnline)
                if indicators.contactlessApplicationNotAllowed {
                    excluded = true
                    continue
                }
                // Book B 3.3.2.6: extended selection appends '9F29' to the ADF name.
                let name =
                    combination.extendedSelectionSupported ? entry.adfName + entry.extendedSelection : entry.adfName
                list.append(
                    Candidate(
                        combination: combination, entry: entry, selectName: name, indicators: indicators, order: order))
                break
            }
        }
        guard !list.isEmpty else {
            return excluded ? tryAnotherInterface() : endApplication(.insertSwipeOrTryAnotherCard)
        }
        // Book B 3.3.3: highest priority first (1 … 15, absent last), then directory order.
        candidates = list.sorted { a, b in
            let pa = a.entry.priority ?? 16, pb = b.entry.priority ?? 16
            return pa != pb ? pa < pb : a.order < b.order
        }
        return selectNextCandidate()
    }

    mutating func selectNextCandidate() -> [ContactlessAction] {
        guard !candidates.isEmpty else { return endApplication(.insertSwipeOrTryAnotherCard) }
        let next = candidates.removeFirst()
        selected = next
        state = .finalSelecting
        return [transmit(try? CommandAPDU.select(name: next.selectName))]
    }

    mutating func finalSelected(_ r: ResponseAPDU) -> [ContactlessAction] {
        guard r.statusWord.isNormalProcessing, let fci = try? TLVNode(tlvEncoded: r.data),
            fci.tag == .fileControlInformationTemplate
        else { return selectNextCandidate() }
        fciData = [:]
        cardData = [:]
        Self.collectPrimitives(of: fci.children, into: &fciData)
        guard let candidate = selected else { preconditionFailure("final SELECT without a candidate") }
        switch candidate.combination.kernel {
        case .visa, .unionPay: return k3Start()
        case .mastercard: return k2Start()
        }
    }

    static func collectPrimitives(of nodes: [TLVNode], into store: inout [TLVTag: [UInt8]]) {
        for node in nodes {
            if node.isConstructed {
                collectPrimitives(of: node.children, into: &store)
            } else if store[node.tag] == nil {
                store[node.tag] = Array(node.value)
            }
        }
    }

    // MARK: Shared kernel steps

    /// The PDOL related data and the GET PROCESSING OPTIONS command (Book C-2/C-3: '83' template, empty without PDOL).
    mutating func getProcessingOptions() -> CommandAPDU? {
        if let pdol = fciData[TLVTag(0x9F38)], let list = try? DataObjectList(dolEncoded: pdol) {
            pdolData = list.relatedData(formats: Self.format(of:), values: { value(for: $0) })
        } else {
            pdolData = []
        }
        return try? CommandAPDU.getProcessingOptions(pdolRelatedData: pdolData)
    }

    /// The AFL as record references (Book 3 10.2 rules: SFI 1…30, first ≥ 1, last ≥ first, ODA count in range).
    static func records(fromAFL afl: [UInt8]) -> [RecordReference]? {
        guard afl.count % 4 == 0 else { return nil }
        var out: [RecordReference] = []
        for i in stride(from: 0, to: afl.count, by: 4) {
            let sfi = afl[i] >> 3, first = afl[i + 1], last = afl[i + 2], oda = afl[i + 3]
            guard (1...30).contains(sfi), first >= 1, last >= first, Int(oda) <= Int(last - first) + 1 else {
                return nil
            }
            for record in first...last {
                out.append(RecordReference(sfi: sfi, record: record, forODA: Int(record - first) < Int(oda)))
            }
        }
        return out
    }

    /// Stores a READ RECORD answer; `false` when it is not a '70' template.
    mutating func storeRecord(_ r: ResponseAPDU, reference: RecordReference) -> Bool {
        guard r.statusWord.isNormalProcessing, let template = try? TLVNode(tlvEncoded: r.data),
            template.tag == .readRecordResponseMessageTemplate
        else { return false }
        if reference.forODA {
            // Book 2 5.4: records of SFI 1…10 enter without tag and length.
            if reference.sfi <= 10 { staticData += template.value } else { staticData += r.data }
        }
        Self.collectPrimitives(of: template.children, into: &cardData)
        return true
    }

    /// Recovers the ICC public key for fDDA / CDA (Book 2 6.3, 6.4) from the card's records.
    func recoverICCKey() -> RecoveredPublicKey? {
        guard let aid = selected?.combination.aid,
            let index = cardData[.certificationAuthorityPublicKeyIndexICC]?.first,
            let ca = parameters.terminal.caKey(rid: aid.prefix(5), index: index),
            let certificate = cardData[.issuerPublicKeyCertificate], let exponent = cardData[TLVTag(0x9F32)],
            let pan = cardData[.applicationPrimaryAccountNumber]
        else { return nil }
        guard
            case .success(let issuerKey) = OfflineDataAuthentication.recoverIssuerPublicKey(
                certificate: certificate, remainder: cardData[.issuerPublicKeyRemainder] ?? [], exponent: exponent,
                caKey: ca, pan: pan, today: transaction.date, revocations: parameters.terminal.revocations)
        else { return nil }
        guard let iccCertificate = cardData[TLVTag(0x9F46)], let iccExponent = cardData[TLVTag(0x9F47)] else {
            return nil
        }
        var signed = staticData
        // '9F4A' may only list the AIP (Book 3 10.3).
        if let list = cardData[TLVTag(0x9F4A)] {
            guard list == [0x82] else { return nil }
            signed += aip
        }
        guard
            case .success(let key) = OfflineDataAuthentication.recoverICCPublicKey(
                certificate: iccCertificate, remainder: cardData[TLVTag(0x9F48)] ?? [], exponent: iccExponent,
                issuerKey: issuerKey, staticData: signed, pan: pan, today: transaction.date)
        else { return nil }
        return key
    }

    // MARK: Outcomes

    mutating func finish(_ outcome: ContactlessOutcome) -> [ContactlessAction] {
        var o = outcome
        if let clock { o.kernelProcessingNanoseconds = processingNanoseconds &+ (clock.nanoseconds() &- callStarted) }
        if o.clearedTornRecord == nil { o.clearedTornRecord = clearedTorn }
        if o.measuredRelayResistanceTime == nil { o.measuredRelayResistanceTime = relayResistanceTime }
        state = .finished
        isFinishedBeforeCall = true
        return [.outcome(o)]
    }

    mutating func endApplication(_ message: ContactlessMessage) -> [ContactlessAction] {
        finish(
            ContactlessOutcome(
                status: .endApplication, kernel: selected?.combination.kernel,
                uiRequestOnOutcome: UserInterfaceRequest(message: message, status: .processingError, beep: .alert),
                cardData: transactionCardData(), tvr: tvr))
    }

    mutating func tryAnotherInterface() -> [ContactlessAction] {
        finish(
            ContactlessOutcome(
                status: .tryAnotherInterface, kernel: selected?.combination.kernel,
                uiRequestOnOutcome: UserInterfaceRequest(message: .insertCard, status: .processingError, beep: .alert)))
    }

    mutating func seePhone() -> [ContactlessAction] {
        // Book C-3 (GPO '6986') and C-2 (POS Cardholder Interaction Information): the phone wants its owner.
        finish(
            ContactlessOutcome(
                status: .tryAgain, kernel: selected?.combination.kernel,
                uiRequestOnOutcome: UserInterfaceRequest(
                    message: .seePhone, status: .notReady, holdTimeMilliseconds: 1300, beep: .alert),
                uiRequestOnRestart: UserInterfaceRequest(message: .presentCardAgain, status: .readyToRead),
                restart: true, cardData: transactionCardData()))
    }

    mutating func cardRemoved() -> [ContactlessAction] {
        guard !isFinished else { return [] }
        if case .k2GeneratingAC = state, let pan = pan {
            // Book C-2 3.9: the GENERATE AC tore; keep it so the next tap of this card can RECOVER AC.
            let record = TornTransactionRecord(
                pan: pan, panSequenceNumber: panSequenceNumber, pdolData: pdolData, cdol1Data: cdol1Data,
                unpredictableNumber: unpredictableNumber, amount: transaction.amountAuthorised)
            return finish(
                ContactlessOutcome(
                    status: .tryAgain, kernel: .mastercard,
                    uiRequestOnOutcome: UserInterfaceRequest(
                        message: .presentCardAgain, status: .readyToRead, holdTimeMilliseconds: 1300, beep: .alert),
                    restart: true, tvr: tvr, tornRecord: record))
        }
        // Before the card was read: present it again.
        return finish(
            ContactlessOutcome(
                status: .tryAgain, kernel: selected?.combination.kernel,
                uiRequestOnOutcome: UserInterfaceRequest(
                    message: .presentCardAgain, status: .readyToRead, holdTimeMilliseconds: 1300, beep: .alert),
                restart: true))
    }

    /// "Card read successfully" and "remove card" (Book A 9.2/9.3): the card may leave now.
    func cardReadComplete() -> ContactlessAction {
        .userInterface(
            UserInterfaceRequest(
                message: .cardReadOKRemoveCard, status: .cardReadSuccessfully, holdTimeMilliseconds: 0, beep: .success))
    }

    // MARK: Data

    var pan: String? {
        guard let raw = cardData[.applicationPrimaryAccountNumber] ?? panFromTrack2 else { return nil }
        let digits = EMVNumeric.digits(raw)
        return digits.isEmpty ? nil : digits
    }

    var panFromTrack2: [UInt8]? {
        guard let track2 = cardData[.track2EquivalentData] else { return nil }
        var nibbles: [UInt8] = []
        for byte in track2 {
            for n in [byte >> 4, byte & 0x0F] {
                if n == 0xD { return Self.pack(nibbles) }
                nibbles.append(n)
            }
        }
        return nil
    }

    var panSequenceNumber: Int? {
        guard let b = cardData[.applicationPANSequenceNumber]?.first else { return nil }
        return Int(b >> 4) * 10 + Int(b & 0x0F)
    }

    /// The expiry from '5F24', or from track 2 (YYMM, last day of the month) when the card sends only track 2.
    var expiry: EMVDate? {
        if let raw = cardData[.applicationExpirationDate] { return EMVDate(yymmdd: raw) }
        guard let track2 = cardData[.track2EquivalentData] else { return nil }
        let digits = Self.digitsAndSeparator(track2)
        guard let separator = digits.firstIndex(of: 0xD), digits.count >= separator + 5 else { return nil }
        let yymm = Array(digits[(separator + 1)...(separator + 4)])
        guard yymm.allSatisfy({ $0 <= 9 }) else { return nil }
        let year = 2000 + Int(yymm[0]) * 10 + Int(yymm[1]), month = Int(yymm[2]) * 10 + Int(yymm[3])
        guard (1...12).contains(month) else { return nil }
        let days = [31, year % 4 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return EMVDate(year: year, month: month, day: days)
    }

    func transactionCardData() -> TransactionCardData? {
        guard let pan, let selected else { return nil }
        let label =
            fciData[.applicationLabel].map { String(decoding: $0, as: UTF8.self) }
            ?? selected.entry.label ?? "Contactless"
        return TransactionCardData(
            pan: pan, panSequenceNumber: panSequenceNumber, expiry: expiry,
            cardholderName: cardData[.cardholderName].map { String(decoding: $0, as: UTF8.self) }
                .flatMap { $0.trimmingSpaces.isEmpty ? nil : $0.trimmingSpaces },
            aid: fciData[.dedicatedFileName] ?? selected.selectName, label: label,
            atc: cardData[TLVTag(0x9F36)] ?? [], cryptogram: cardData[TLVTag(0x9F26)] ?? [],
            cid: cardData[TLVTag(0x9F27)]?.first, iccData: iccData())
    }

    func onlineRequest() -> OnlineRequest? {
        guard let pan, let selected else { return nil }
        return OnlineRequest(
            pan: pan, panSequenceNumber: panSequenceNumber, expiry: expiry ?? transaction.date,
            track2Equivalent: cardData[.track2EquivalentData] ?? [],
            cardholderName: cardData[.cardholderName].map { String(decoding: $0, as: UTF8.self).trimmingSpaces },
            aid: fciData[.dedicatedFileName] ?? selected.selectName, iccData: iccData(),
            onlinePINRequested: cvm == .onlinePIN)
    }

    /// The tags of field 55 (ISO 8583 ICC data) a contactless request carries.
    static let iccDataTags: [UInt32] = [
        0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F34,
        0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x5F34, 0x9F66, 0x9F6C, 0x9F6E, 0x9F7C,
    ]

    func iccData() -> [UInt8] {
        var serializer = TLVSerializer()
        for raw in Self.iccDataTags {
            let tag = TLVTag(raw)
            guard let v = value(for: tag), !v.isEmpty else { continue }
            serializer.appendPrimitive(tag: tag, value: v)
        }
        return serializer.serializedBytes
    }

    /// Formats of the contactless tags the shared dictionary may not list.
    static func format(of tag: TLVTag) -> EMVDataFormat? {
        if let known = EMVDataDictionary.element(for: tag)?.format { return known }
        switch tag.rawValue {
        case 0x9F66, 0x9F6C, 0x9F69, 0x9F6E, 0x9F7C, 0xDF8104, 0xDF8105: return .b
        default: return nil
        }
    }

    /// The value of a data object for a DOL or field 55: the terminal's own data, else the card's.
    func value(for tag: TLVTag) -> [UInt8]? {
        let terminal = parameters.terminal.terminal
        let cvmRequired = selected?.indicators.cvmRequiredLimitExceeded ?? false
        if let value = transaction.terminalSourcedValue(for: tag.rawValue, terminal: terminal) { return value }
        switch tag.rawValue {
        case 0x9F37: return unpredictableNumber
        case 0x9F33:
            // Book C-2: byte 2 is "CVM Capability – CVM Required" or "– No CVM Required" by the CVM limit.
            var caps = terminal.capabilities
            if caps.count == 3, selected?.combination.kernel == .mastercard { caps[1] = cvmRequired ? 0x60 : 0x08 }
            return caps
        case 0x95:
            // Kernel 3 has no TVR: zeros, as the card MACed them.
            if let k = selected?.combination.kernel, k != .mastercard { return [0, 0, 0, 0, 0] }
            return tvr.bytes
        case 0x9F34: return cvmResults
        case 0x9F66: return selected?.indicators.ttq.bytes
        case 0x9F09: return selected?.combination.applicationVersion
        case 0x9F06: return selected?.combination.aid
        case 0x84: return fciData[.dedicatedFileName]
        case 0x82: return cardData[.applicationInterchangeProfile]
        default: return cardData[tag] ?? fciData[tag]
        }
    }


    static func digitsAndSeparator(_ bytes: [UInt8]) -> [UInt8] { bytes.flatMap { [$0 >> 4, $0 & 0x0F] } }

    static func pack(_ nibbles: [UInt8]) -> [UInt8] {
        var n = nibbles
        if n.count % 2 == 1 { n.append(0xF) }
        return stride(from: 0, to: n.count, by: 2).map { n[$0] << 4 | n[$0 + 1] }
    }

    static func uint16(_ bytes: some Collection<UInt8>) -> Int { bytes.reduce(0) { $0 << 8 | Int($1) } }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.last == " " || s.last == "\0" { s.removeLast() }
        return String(s)
    }
}
