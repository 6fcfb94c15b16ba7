import Codecs
public import PaymentCrypto

/// The EMV contact kernel: application selection (Book 1 clause 12), then the transaction flow of Book 3 clause 10
/// (initiate application processing, read application data, offline data authentication, processing restrictions,
/// cardholder verification, terminal risk management, terminal and card action analysis, online processing, issuer
/// authentication, issuer scripts, completion) as a pure state machine.
///
/// The kernel does no I/O: ``start()`` and ``handle(_:)`` return ``KernelAction``s for a driver to execute, and the
/// driver feeds back what happened as ``KernelEvent``s (the card's response to each ``KernelAction/transmit(_:)``,
/// the cardholder's choices, the host's answer). The last action of a transaction is always
/// ``KernelAction/complete(_:)``; after it every event but ``KernelEvent/cardRemoved`` is a driver bug.
///
/// Malformed card responses end in a defined ``KernelOutcome`` (usually ``AbortReason/cardError(_:)`` or
/// ``AbortReason/malformedData(_:)``), never a trap. Events that cannot arrive in the current state (a PIN result
/// while a command is outstanding) are programmer errors and trap with the state's name.
public struct EMVContactKernel: Sendable {
    // MARK: State

    private enum ScriptPhase: Sendable { case beforeFinalGenerateAC, afterFinalGenerateAC }

    private struct IssuerScript: Sendable {
        var identifier: [UInt8]
        /// `nil` when the template could not be parsed.
        var commands: [CommandAPDU]?
    }

    private struct ScriptRun: Sendable {
        var scripts: [IssuerScript]
        var scriptIndex: Int
        var commandIndex: Int
        var phase: ScriptPhase
    }

    private enum State: Sendable {
        case idle
        case selectingPSE
        case readingDirectory(sfi: UInt8, record: UInt8)
        case selectingFromList(terminalIndex: Int, round: Int)
        case choosingApplication
        case finalSelecting(candidate: Int)
        case gettingProcessingOptions
        case readingRecords(pending: [RecordReference])
        case internalAuthenticating(iccKey: RecoveredPublicKey, ddolData: [UInt8])
        case readingPINTryCounter(rule: Int)
        case gettingChallenge(rule: Int, key: RecoveredPublicKey)
        case awaitingOnlinePIN(rule: Int)
        case awaitingOfflinePIN(rule: Int, request: OfflinePINRequest)
        case awaitingTransactionLog
        case readingATC
        case readingLastOnlineATC(atc: Int?)
        case firstGenerateAC(referenceControl: UInt8)
        case awaitingOnlineResponse
        case externalAuthenticating(response: OnlineResponse)
        case runningScripts(ScriptRun)
        case secondGenerateAC(referenceControl: UInt8)
        case finished

        var name: String {
            switch self {
            case .idle: "idle"
            case .selectingPSE: "selectingPSE"
            case .readingDirectory: "readingDirectory"
            case .selectingFromList: "selectingFromList"
            case .choosingApplication: "choosingApplication"
            case .finalSelecting: "finalSelecting"
            case .gettingProcessingOptions: "gettingProcessingOptions"
            case .readingRecords: "readingRecords"
            case .internalAuthenticating: "internalAuthenticating"
            case .readingPINTryCounter: "readingPINTryCounter"
            case .gettingChallenge: "gettingChallenge"
            case .awaitingOnlinePIN: "awaitingOnlinePIN"
            case .awaitingOfflinePIN: "awaitingOfflinePIN"
            case .awaitingTransactionLog: "awaitingTransactionLog"
            case .readingATC: "readingATC"
            case .readingLastOnlineATC: "readingLastOnlineATC"
            case .firstGenerateAC: "firstGenerateAC"
            case .awaitingOnlineResponse: "awaitingOnlineResponse"
            case .externalAuthenticating: "externalAuthenticating"
            case .runningScripts: "runningScripts"
            case .secondGenerateAC: "secondGenerateAC"
            case .finished: "finished"
            }
        }
    }

    private struct Candidate: Sendable {
        var info: ApplicationCandidate
        var terminalIndex: Int
    }

    private struct RecordReference: Sendable {
        var sfi: UInt8
        var record: UInt8
        var forODA: Bool
    }

    private enum ODAMethod: Sendable { case none, sda, dda, cda }

    private struct GenerateACResponse {
        var cid: UInt8
        var atc: [UInt8]
        /// '9F26'; absent when a CDA signature carries it (Book 2 6.6.1).
        var cryptogram: [UInt8]?
        var signedDynamicData: [UInt8]?
        /// The response's TLV objects other than '9F4B', original bytes (CDA transaction data hash input).
        var hashInputTail: [UInt8]
    }

    private var state: State = .idle
    private let parameters: TerminalParameters
    private let transaction: EMVTransaction
    private let random: any RandomSource

    // Selection
    private var candidates: [Candidate] = []
    private var pseCandidates: [Candidate] = []
    private var selected: Candidate?
    // Card data: FCI of the selected application, then GPO response and records (duplicates refused there).
    private var fciData: [TLVTag: [UInt8]] = [:]
    private var cardData: [TLVTag: [UInt8]] = [:]
    private var aip: ApplicationInterchangeProfile = []
    private var pdolData: [UInt8] = []
    private var cdol1Data: [UInt8] = []
    private var cdol2Data: [UInt8] = []
    // Offline data authentication
    private var staticData: [UInt8] = []
    private var staticDataInvalid = false
    private var odaMethod: ODAMethod = .none
    private var iccKey: RecoveredPublicKey?
    private var issuerKey: RecoveredPublicKey?
    private var cdaRequested = false
    // Results
    private var tvr: TerminalVerificationResults = []
    private var tsi: TransactionStatusInformation = []
    private var cvmResults: [UInt8] = [0x3F, 0x00, 0x00]
    private var cvmList: CVMList?
    private var lastFailedRule: CVMRule?
    private var signatureRequired = false
    private var onlinePINEntered = false
    private var unpredictableNumber: [UInt8] = [0, 0, 0, 0]
    private var randomSelectionByte: UInt8 = 0
    private var needsAdvice = false
    private var hostApproved: Bool?
    private var unableToGoOnline = false
    private var authorisationResponseCode: [UInt8]?
    private var issuerAuthenticationData: [UInt8]?
    private var pendingScripts72: [IssuerScript] = []
    private var pendingOutcome: KernelOutcome?
    private var scriptResults: [UInt8] = []

    /// A kernel for one transaction.
    /// - Parameters:
    ///   - parameters: The terminal's configuration, accepted applications, CA keys and exception file.
    ///   - transaction: Amounts, type, date and time.
    ///   - random: The source of the Unpredictable Number '9F37' and of random transaction selection.
    public init(parameters: TerminalParameters, transaction: EMVTransaction, random: any RandomSource) {
        self.parameters = parameters
        self.transaction = transaction
        self.random = random
    }

    // MARK: Entry points

    /// Starts the transaction: SELECT of the Payment System Environment '1PAY.SYS.DDF01'.
    /// - Returns: The first actions. Traps when called twice.
    public mutating func start() -> [KernelAction] {
        guard case .idle = state else { preconditionFailure("EMVContactKernel.start() in state \(state.name)") }
        do {
            // One draw: the Unpredictable Number '9F37' (4 bytes) and the random selection byte.
            let bytes = try random.bytes(5)
            guard bytes.count == 5 else { return abort(.terminalError("the random source gave too few bytes")) }
            unpredictableNumber = Array(bytes[0..<4])
            randomSelectionByte = bytes[4]
        } catch {
            return abort(.terminalError("the random source failed"))
        }
        return transmit(try? CommandAPDU.select(name: Array("1PAY.SYS.DDF01".utf8)), then: .selectingPSE)
    }

    /// Feeds one event; returns what to do next.
    public mutating func handle(_ event: KernelEvent) -> [KernelAction] {
        if case .cardRemoved = event { return cardRemoved() }
        switch state {
        case .idle:
            preconditionFailure("EMVContactKernel.handle(_:) before start()")
        case .finished:
            preconditionFailure("EMVContactKernel.handle(_:) after the transaction completed")
        case .selectingPSE:
            return pseSelected(response(event))
        case .readingDirectory(let sfi, let record):
            return directoryRecordRead(response(event), sfi: sfi, record: record)
        case .selectingFromList(let index, let round):
            return listSelected(response(event), terminalIndex: index, round: round)
        case .choosingApplication:
            guard case .applicationChosen(let index) = event else { unexpected(event) }
            guard let index else { return abort(.cancelled) }
            precondition(candidates.indices.contains(index), "applicationChosen(\(index)) outside the offered list")
            return finalSelect(index)
        case .finalSelecting(let index):
            return finalSelected(response(event), candidate: index)
        case .gettingProcessingOptions:
            return processingOptionsReceived(response(event))
        case .readingRecords(let pending):
            return recordRead(response(event), pending: pending)
        case .internalAuthenticating(let key, let ddolData):
            return internalAuthenticated(response(event), iccKey: key, ddolData: ddolData)
        case .readingPINTryCounter(let rule):
            return pinTryCounterRead(response(event), rule: rule)
        case .gettingChallenge(let rule, let key):
            return challengeReceived(response(event), rule: rule, key: key)
        case .awaitingOnlinePIN(let rule):
            guard case .onlinePIN(let result) = event else { unexpected(event) }
            return onlinePINEnded(result, rule: rule)
        case .awaitingOfflinePIN(let rule, let request):
            switch event {
            case .offlinePINVerified(let sw): return offlinePINVerified(sw, rule: rule, request: request)
            case .offlinePINNotEntered(let result): return pinNotEntered(result, rule: rule)
            default: unexpected(event)
            }
        case .awaitingTransactionLog:
            guard case .transactionLogTotal(let total) = event else { unexpected(event) }
            return transactionLogTotalReceived(total)
        case .readingATC:
            return atcRead(response(event))
        case .readingLastOnlineATC(let atc):
            return lastOnlineATCRead(response(event), atc: atc)
        case .firstGenerateAC(let p1):
            return firstGenerateACAnswered(response(event), referenceControl: p1)
        case .awaitingOnlineResponse:
            switch event {
            case .onlineResponse(let answer): return onlineResponseReceived(answer)
            case .onlineUnavailable: return onlineUnavailable()
            default: unexpected(event)
            }
        case .externalAuthenticating(let answer):
            return externalAuthenticated(response(event), answer: answer)
        case .runningScripts(let run):
            return scriptCommandAnswered(response(event), run: run)
        case .secondGenerateAC(let p1):
            return secondGenerateACAnswered(response(event), referenceControl: p1)
        }
    }

    private func response(_ event: KernelEvent) -> ResponseAPDU {
        guard case .response(let apdu) = event else {
            preconditionFailure("EMVContactKernel: a card response was expected in state \(state.name)")
        }
        return apdu
    }

    private func unexpected(_ event: KernelEvent) -> Never {
        preconditionFailure("EMVContactKernel: unexpected event in state \(state.name)")
    }

    /// Sends `command` and moves to `next`; a command that could not be built (`nil`: the card's data made it
    /// impossible, such as an over-long DOL result) ends the transaction.
    private mutating func transmit(_ command: CommandAPDU?, then next: State) -> [KernelAction] {
        guard let command else { return abort(.cardError("a command could not be built from the card's data")) }
        state = next
        return [.transmit(command)]
    }

    // MARK: Application selection (Book 1 clause 12)

    private mutating func pseSelected(_ r: ResponseAPDU) -> [KernelAction] {
        // Book 1 12.3.2: a PSE that is absent (6A82), blocked (6283) or refused (6A81) leads to the list of AIDs.
        guard r.statusWord.isNormalProcessing, let fci = try? TLVNode(tlvEncoded: r.data), fci.tag == TLVTag(0x6F),
            let sfiNode = fci.firstDescendant(.shortFileIdentifier), sfiNode.value.count == 1,
            let sfi = sfiNode.value.first, (1...30).contains(sfi)
        else { return selectFromList(terminalIndex: 0) }
        return transmit(
            try? CommandAPDU.readRecord(1, shortFileIdentifier: sfi), then: .readingDirectory(sfi: sfi, record: 1))
    }

    private mutating func directoryRecordRead(_ r: ResponseAPDU, sfi: UInt8, record: UInt8) -> [KernelAction] {
        if r.statusWord == .recordNotFound {
            if pseCandidates.isEmpty { return selectFromList(terminalIndex: 0) }
            candidates = pseCandidates
            return offerCandidates()
        }
        guard r.statusWord.isNormalProcessing, let template = try? TLVNode(tlvEncoded: r.data),
            template.tag == .readRecordResponseMessageTemplate
        else {
            pseCandidates = []
            return selectFromList(terminalIndex: 0)
        }
        for entry in template.children where entry.tag == .applicationTemplate {
            // Entries naming a DDF ('9D') instead of an ADF are not followed.
            guard let adf = entry.child(.applicationIdentifier), (5...16).contains(adf.value.count) else { continue }
            let aid = Array(adf.value)
            guard let terminalIndex = matchingTerminalApplication(aid),
                !pseCandidates.contains(where: { $0.info.aid == aid })
            else { continue }
            pseCandidates.append(Candidate(info: candidateInfo(aid: aid, from: entry), terminalIndex: terminalIndex))
        }
        guard record < 32 else {
            candidates = pseCandidates
            return offerCandidates()
        }
        return transmit(
            try? CommandAPDU.readRecord(record + 1, shortFileIdentifier: sfi),
            then: .readingDirectory(sfi: sfi, record: record + 1))
    }

    /// The index of the terminal application that `aid` matches: exactly, or by its prefix when that application
    /// allows partial selection (Book 1 12.3.1).
    private func matchingTerminalApplication(_ aid: [UInt8]) -> Int? {
        parameters.applications.firstIndex { app in
            app.aid == aid || (app.allowsPartialSelection && aid.count > app.aid.count && aid.starts(with: app.aid))
        }
    }

    private func candidateInfo(aid: [UInt8], from node: TLVNode) -> ApplicationCandidate {
        let priorityByte = node.firstDescendant(.applicationPriorityIndicator)?.value.first
        let priority = priorityByte.map { Int($0 & 0x0F) }
        return ApplicationCandidate(
            aid: aid, label: node.firstDescendant(.applicationLabel).map { text($0.value) },
            preferredName: node.firstDescendant(.applicationPreferredName).map { text($0.value) },
            priority: priority == 0 ? nil : priority, needsConfirmation: (priorityByte ?? 0) & 0x80 != 0)
    }

    private mutating func selectFromList(terminalIndex: Int, next: Bool = false, round: Int = 0) -> [KernelAction] {
        guard terminalIndex < parameters.applications.count else { return offerCandidates() }
        let aid = parameters.applications[terminalIndex].aid
        return transmit(
            try? CommandAPDU.select(name: aid, next: next),
            then: .selectingFromList(terminalIndex: terminalIndex, round: round))
    }

    private mutating func listSelected(_ r: ResponseAPDU, terminalIndex: Int, round: Int) -> [KernelAction] {
        let app = parameters.applications[terminalIndex]
        let sw = r.statusWord
        // Book 1 12.3.3: an answer with an FCI names the application found; 9000 adds it, 6283 (blocked) does not.
        guard sw.isNormalProcessing || sw == .selectedFileInvalidated, let fci = try? TLVNode(tlvEncoded: r.data),
            fci.tag == TLVTag(0x6F), let dfName = fci.child(.dedicatedFileName).map({ Array($0.value) }),
            dfName.starts(with: app.aid)
        else {
            // 6A81 (function not supported / blocked), 6A82 (not found) or nonsense: the next terminal AID.
            return selectFromList(terminalIndex: terminalIndex + 1)
        }
        let exact = dfName == app.aid
        if sw.isNormalProcessing, exact || app.allowsPartialSelection,
            !candidates.contains(where: { $0.info.aid == dfName })
        {
            candidates.append(Candidate(info: candidateInfo(aid: dfName, from: fci), terminalIndex: terminalIndex))
        }
        // More applications may share the prefix: SELECT next (P2 = '02') while partial selection is allowed.
        if app.allowsPartialSelection, round < 15 {
            return selectFromList(terminalIndex: terminalIndex, next: true, round: round + 1)
        }
        return selectFromList(terminalIndex: terminalIndex + 1)
    }

    /// Orders the candidates by priority and offers them, or selects the only one (Book 1 12.4).
    private mutating func offerCandidates() -> [KernelAction] {
        guard !candidates.isEmpty else { return abort(.notAccepted) }
        candidates = candidates.enumerated().sorted { a, b in
            let pa = a.element.info.priority ?? 16, pb = b.element.info.priority ?? 16
            return pa != pb ? pa < pb : a.offset < b.offset
        }.map(\.element)
        if candidates.count == 1, !candidates[0].info.needsConfirmation { return finalSelect(0) }
        state = .choosingApplication
        return [.chooseApplication(candidates.map(\.info))]
    }

    private mutating func finalSelect(_ index: Int) -> [KernelAction] {
        transmit(try? CommandAPDU.select(name: candidates[index].info.aid), then: .finalSelecting(candidate: index))
    }

    private mutating func finalSelected(_ r: ResponseAPDU, candidate index: Int) -> [KernelAction] {
        let candidate = candidates[index]
        guard r.statusWord.isNormalProcessing, let fci = try? TLVNode(tlvEncoded: r.data), fci.tag == TLVTag(0x6F),
            let dfName = fci.child(.dedicatedFileName), Array(dfName.value) == candidate.info.aid,
            let proprietary = fci.child(TLVTag(0xA5))
        else {
            // Book 1 12.4: the application is removed from the list and selection starts again ("Try again").
            candidates.remove(at: index)
            let next = offerCandidates()
            if case .complete = next.last { return next }
            return [.show(.tryAgain)] + next
        }
        selected = candidate
        fciData = [:]
        cardData = [:]
        var fciStore: [TLVTag: [UInt8]] = [:]
        Self.collectPrimitives(of: [dfName, proprietary], into: &fciStore)
        fciData = fciStore
        var actions: [KernelAction] = [.selectedLanguage(language())]
        actions += initiateApplicationProcessing()
        return actions
    }

    /// The first of the card's Language Preference '5F2D' the terminal supports, else the terminal's first.
    private func language() -> String {
        let supported = transaction.languageCodes
        if let raw = fciData[.languagePreference] {
            var i = 0
            while i + 1 < raw.count {
                let code = String(decoding: raw[i...i + 1], as: UTF8.self).lowercased()
                if supported.contains(code) { return code }
                i += 2
            }
        }
        return supported.first ?? "en"
    }

    private static func collectPrimitives(of nodes: [TLVNode], into store: inout [TLVTag: [UInt8]]) {
        for node in nodes {
            if node.isConstructed {
                collectPrimitives(of: node.children, into: &store)
            } else {
                store[node.tag] = Array(node.value)
            }
        }
    }

    // MARK: Initiate application processing (Book 3 10.1)

    private mutating func initiateApplicationProcessing() -> [KernelAction] {
        var pdol = DataObjectList(entries: [])
        if let raw = fciData[TLVTag(0x9F38)] {
            guard let parsed = try? DataObjectList(dolEncoded: raw) else { return abort(.malformedData("PDOL")) }
            pdol = parsed
        }
        let data = pdol.relatedData { value(for: $0) }
        pdolData = data
        return transmit(
            try? CommandAPDU.getProcessingOptions(pdolRelatedData: pdolData), then: .gettingProcessingOptions)
    }

    private mutating func processingOptionsReceived(_ r: ResponseAPDU) -> [KernelAction] {
        if r.statusWord == .conditionsOfUseNotSatisfied, let current = selected,
            let index = candidates.firstIndex(where: { $0.info.aid == current.info.aid })
        {
            // Book 3 10.1: 6985 removes the application; selection resumes with the others.
            candidates.remove(at: index)
            selected = nil
            let next = offerCandidates()
            if case .complete = next.last { return next }
            return [.show(.tryAgain)] + next
        }
        guard r.statusWord.isNormalProcessing else {
            return abort(.cardError("GET PROCESSING OPTIONS \(r.statusWord)"))
        }
        guard let template = try? TLVNode(tlvEncoded: r.data) else { return abort(.malformedData("GPO response")) }
        let aipBytes: [UInt8]
        let afl: [UInt8]
        switch template.tag {
        case .responseMessageTemplateFormat1:
            let v = Array(template.value)
            guard v.count >= 2 else { return abort(.malformedData("GPO format 1")) }
            aipBytes = Array(v[0..<2])
            afl = Array(v[2...])
            cardData[.applicationInterchangeProfile] = aipBytes
            cardData[.applicationFileLocator] = afl
        case .responseMessageTemplateFormat2:
            guard let a = template.child(.applicationInterchangeProfile),
                let l = template.child(.applicationFileLocator)
            else { return abort(.malformedData("GPO format 2 without AIP or AFL")) }
            aipBytes = Array(a.value)
            afl = Array(l.value)
            guard store(template.children) else { return abort(.malformedData("duplicate data object")) }
        default:
            return abort(.malformedData("GPO response template"))
        }
        guard let profile = ApplicationInterchangeProfile(bytes: aipBytes) else { return abort(.malformedData("AIP")) }
        aip = profile
        guard let references = Self.validate(afl: afl) else { return abort(.cardError("AFL")) }
        return readNextRecord(references)
    }

    /// Stores primitive objects; `false` on a duplicate (Book 3 10.2: a primitive object appears once).
    private mutating func store(_ nodes: [TLVNode]) -> Bool {
        for node in nodes {
            if node.isConstructed {
                guard store(node.children) else { return false }
                continue
            }
            guard cardData[node.tag] == nil else { return false }
            cardData[node.tag] = Array(node.value)
        }
        return true
    }

    /// The records an AFL names, or `nil` for a malformed AFL (Book 3 10.2: SFI 1…30, first record ≥ 1, last ≥
    /// first, records for ODA no more than the range).
    private static func validate(afl: [UInt8]) -> [RecordReference]? {
        guard !afl.isEmpty, afl.count % 4 == 0 else { return nil }
        var references: [RecordReference] = []
        for start in stride(from: 0, to: afl.count, by: 4) {
            let sfi = afl[start] >> 3, first = afl[start + 1], last = afl[start + 2], oda = afl[start + 3]
            guard (1...30).contains(sfi), afl[start] & 0x07 == 0, first >= 1, last >= first,
                Int(oda) <= Int(last) - Int(first) + 1
            else { return nil }
            for record in first...last {
                references.append(
                    RecordReference(sfi: sfi, record: record, forODA: Int(record) - Int(first) < Int(oda)))
            }
        }
        return references
    }

    // MARK: Read application data (Book 3 10.2)

    private mutating func readNextRecord(_ pending: [RecordReference]) -> [KernelAction] {
        guard let next = pending.first else { return applicationDataRead() }
        return transmit(
            try? CommandAPDU.readRecord(next.record, shortFileIdentifier: next.sfi),
            then: .readingRecords(pending: pending))
    }

    private mutating func recordRead(_ r: ResponseAPDU, pending: [RecordReference]) -> [KernelAction] {
        guard let reference = pending.first else { preconditionFailure("readingRecords with nothing pending") }
        guard r.statusWord.isNormalProcessing else { return abort(.cardError("READ RECORD \(r.statusWord)")) }
        let template = try? TLVNode(tlvEncoded: r.data)
        let isTemplate70 = template?.tag == .readRecordResponseMessageTemplate
        if reference.sfi <= 10 {
            // Records of SFI 1…10 are '70' templates; for ODA only their value counts (Book 3 10.3).
            guard let template, isTemplate70 else { return abort(.malformedData("record is not a '70' template")) }
            if reference.forODA { staticData += template.value }
            guard store(template.children) else { return abort(.malformedData("duplicate data object")) }
        } else {
            // SFI 11…30: the whole record, tag and length included, counts for ODA; one not coded '70' fails ODA.
            if reference.forODA {
                staticData += r.data
                if !isTemplate70 { staticDataInvalid = true }
            }
            if let template, isTemplate70 {
                guard store(template.children) else { return abort(.malformedData("duplicate data object")) }
            }
        }
        return readNextRecord(Array(pending.dropFirst()))
    }

    private mutating func applicationDataRead() -> [KernelAction] {
        // Book 3 10.2: the mandatory data objects.
        for tag in [
            TLVTag.applicationExpirationDate, .applicationPrimaryAccountNumber,
            .cardRiskManagementDataObjectList1, .cardRiskManagementDataObjectList2,
        ]
        where cardData[tag] == nil {
            return abort(.malformedData("mandatory data object \(tag) missing"))
        }
        guard let expiry = cardData[.applicationExpirationDate], EMVDate(yymmdd: expiry) != nil else {
            return abort(.malformedData("Application Expiration Date"))
        }
        // Static Data Authentication Tag List '9F4A': only the AIP may be listed (Book 3 10.3).
        if let list = cardData[TLVTag(0x9F4A)] {
            if list == [0x82] { staticData += aip.bytes } else { staticDataInvalid = true }
        }
        return offlineDataAuthentication()
    }

    // MARK: Offline data authentication (Book 3 10.3, Book 2)

    private mutating func offlineDataAuthentication() -> [KernelAction] {
        let caps = parameters.terminal.capabilities
        let byte3 = caps.count >= 3 ? caps[2] : 0
        if aip.contains(.cdaSupported), byte3 & 0x08 != 0 {
            odaMethod = .cda
        } else if aip.contains(.ddaSupported), byte3 & 0x40 != 0 {
            odaMethod = .dda
        } else if aip.contains(.sdaSupported), byte3 & 0x80 != 0 {
            odaMethod = .sda
        } else {
            tvr.insert(.offlineDataAuthenticationNotPerformed)
            return processingRestrictions()
        }
        tsi.insert(.offlineDataAuthenticationPerformed)
        switch odaMethod {
        case .none:
            return processingRestrictions()
        case .sda:
            tvr.insert(.sdaSelected)
            guard let issuer = recoverIssuerKey() else {
                tvr.insert(.sdaFailed)
                return processingRestrictions()
            }
            guard let ssad = cardData[.signedStaticApplicationData] else {
                tvr.formUnion([.iccDataMissing, .sdaFailed])
                return processingRestrictions()
            }
            guard !staticDataInvalid else {
                tvr.insert(.sdaFailed)
                return processingRestrictions()
            }
            switch OfflineDataAuthentication.verifySignedStaticApplicationData(
                ssad, issuerKey: issuer, staticData: staticData)
            {
            case .success(let dac): cardData[TLVTag(0x9F45)] = dac
            case .failure: tvr.insert(.sdaFailed)
            }
            return processingRestrictions()
        case .dda:
            guard let key = recoverICCKey() else {
                tvr.insert(.ddaFailed)
                return processingRestrictions()
            }
            // Book 3 10.3: the card's DDOL, else the terminal's default; it must ask for '9F37'.
            let ddolBytes = cardData[TLVTag(0x9F49)] ?? application?.defaultDDOL ?? []
            guard let ddol = try? DataObjectList(dolEncoded: ddolBytes),
                ddol.entries.contains(where: { $0.tag == TLVTag(0x9F37) })
            else {
                tvr.insert(.ddaFailed)
                if cardData[TLVTag(0x9F49)] == nil { tvr.insert(.iccDataMissing) }
                return processingRestrictions()
            }
            let data = ddol.relatedData { value(for: $0) }
            return transmit(
                try? CommandAPDU.internalAuthenticate(ddolRelatedData: data),
                then: .internalAuthenticating(iccKey: key, ddolData: data))
        case .cda:
            if let key = recoverICCKey() {
                iccKey = key
                cdaRequested = true
            } else {
                tvr.insert(.cdaFailed)
            }
            return processingRestrictions()
        }
    }

    private mutating func internalAuthenticated(_ r: ResponseAPDU, iccKey key: RecoveredPublicKey, ddolData: [UInt8])
        -> [KernelAction]
    {
        guard r.statusWord.isNormalProcessing else { return abort(.cardError("INTERNAL AUTHENTICATE \(r.statusWord)")) }
        var sdad: [UInt8]?
        if let template = try? TLVNode(tlvEncoded: r.data) {
            if template.tag == .responseMessageTemplateFormat1 { sdad = Array(template.value) }
            if template.tag == .responseMessageTemplateFormat2 {
                sdad = template.child(TLVTag(0x9F4B)).map { Array($0.value) }
            }
        }
        guard let sdad else {
            tvr.insert(.ddaFailed)
            return processingRestrictions()
        }
        switch OfflineDataAuthentication.verifySignedDynamicApplicationData(
            sdad, iccKey: key, terminalDynamicData: ddolData)
        {
        case .success(let dynamicNumber): cardData[TLVTag(0x9F4C)] = dynamicNumber
        case .failure: tvr.insert(.ddaFailed)
        }
        return processingRestrictions()
    }

    private mutating func recoverIssuerKey() -> RecoveredPublicKey? {
        if let issuerKey { return issuerKey }
        guard let index = cardData[.certificationAuthorityPublicKeyIndexICC]?.first,
            let certificate = cardData[.issuerPublicKeyCertificate], let exponent = cardData[TLVTag(0x9F32)],
            let pan = cardData[.applicationPrimaryAccountNumber]
        else {
            tvr.insert(.iccDataMissing)
            return nil
        }
        guard let caKey = parameters.caKey(rid: selectedAID.prefix(5), index: index) else { return nil }
        guard
            case .success(let key) = OfflineDataAuthentication.recoverIssuerPublicKey(
                certificate: certificate, remainder: cardData[.issuerPublicKeyRemainder] ?? [], exponent: exponent,
                caKey: caKey, pan: pan, today: transaction.date, revocations: parameters.revocations)
        else { return nil }
        issuerKey = key
        return key
    }

    private mutating func recoverICCKey() -> RecoveredPublicKey? {
        if let iccKey { return iccKey }
        // The ICC certificate signs the static data: a record that is not a '70' template (or a '9F4A' listing more
        // than the AIP) fails it (Book 3 10.3).
        guard !staticDataInvalid, let issuer = recoverIssuerKey() else { return nil }
        guard let certificate = cardData[TLVTag(0x9F46)], let exponent = cardData[TLVTag(0x9F47)],
            let pan = cardData[.applicationPrimaryAccountNumber]
        else {
            tvr.insert(.iccDataMissing)
            return nil
        }
        guard
            case .success(let key) = OfflineDataAuthentication.recoverICCPublicKey(
                certificate: certificate, remainder: cardData[TLVTag(0x9F48)] ?? [], exponent: exponent,
                issuerKey: issuer, staticData: staticData, pan: pan, today: transaction.date)
        else { return nil }
        iccKey = key
        return key
    }

    /// The key for offline enciphered PIN: the ICC PIN Encipherment Public Key '9F2D' if the card has one, else the
    /// ICC Public Key (Book 2 7.1).
    private mutating func pinEnciphermentKey() -> RecoveredPublicKey? {
        if let certificate = cardData[TLVTag(0x9F2D)] {
            guard let issuer = recoverIssuerKey(), let exponent = cardData[TLVTag(0x9F2E)],
                let pan = cardData[.applicationPrimaryAccountNumber],
                case .success(let key) = OfflineDataAuthentication.recoverICCPublicKey(
                    certificate: certificate, remainder: cardData[TLVTag(0x9F2F)] ?? [], exponent: exponent,
                    issuerKey: issuer, staticData: [], pan: pan, today: transaction.date)
            else { return nil }
            return key
        }
        return recoverICCKey()
    }

    // MARK: Processing restrictions (Book 3 10.4)

    private mutating func processingRestrictions() -> [KernelAction] {
        if let version = cardData[.applicationVersionNumberICC], let app = application,
            !app.applicationVersions.contains(version)
        {
            tvr.insert(.differentApplicationVersions)
        }
        if let auc = cardData[.applicationUsageControl], auc.count == 2, !usageAllowed(auc) {
            tvr.insert(.requestedServiceNotAllowed)
        }
        if let raw = cardData[.applicationEffectiveDate] {
            if let effective = EMVDate(yymmdd: raw) {
                if effective > transaction.date { tvr.insert(.applicationNotYetEffective) }
            } else {
                tvr.insert(.applicationNotYetEffective)
            }
        }
        if let raw = cardData[.applicationExpirationDate], let expiry = EMVDate(yymmdd: raw), expiry < transaction.date
        {
            tvr.insert(.expiredApplication)
        }
        return cardholderVerification()
    }

    /// Application Usage Control '9F07' against this terminal and transaction (Book 3 10.4.2).
    private func usageAllowed(_ auc: [UInt8]) -> Bool {
        let type = parameters.terminal.terminalType
        let isATM =
            [0x14, 0x15, 0x16].contains(type)
            && parameters.terminal.additionalCapabilities.first.map { $0 & 0x80 != 0 } == true
        if isATM ? auc[0] & 0x02 == 0 : auc[0] & 0x01 == 0 { return false }
        guard let issuerCountry = cardData[.issuerCountryCode] else { return true }
        let domestic = issuerCountry == EMVNumeric.bcd(Int(parameters.terminal.countryCode), bytes: 2)
        switch transaction.transactionType {
        case .purchase:
            return domestic ? auc[0] & 0x28 != 0 : auc[0] & 0x14 != 0
        case .cashback:
            let goods = domestic ? auc[0] & 0x28 != 0 : auc[0] & 0x14 != 0
            return goods && (domestic ? auc[1] & 0x80 != 0 : auc[1] & 0x40 != 0)
        case .refund:
            return true
        }
    }

    // MARK: Cardholder verification (Book 3 10.5)

    private mutating func cardholderVerification() -> [KernelAction] {
        // A refund ('9C' = '20') is read for its card data only and never authorised by the card: no cardholder
        // verification (scheme practice: no PIN for a refund), no terminal risk management, and the first GENERATE AC
        // asks for an AAC (see ``terminalActionAnalysis()``). CVM Results '3F0000': no CVM performed.
        if transaction.transactionType == .refund {
            cvmResults = [0x3F, 0x00, 0x00]
            return terminalActionAnalysis()
        }
        guard aip.contains(.cardholderVerificationSupported) else {
            cvmResults = [0x3F, 0x00, 0x00]
            return terminalRiskManagement()
        }
        guard let raw = cardData[.cardholderVerificationMethodList], let list = CVMList(bytes: raw), !list.rules.isEmpty
        else {
            tvr.insert(.iccDataMissing)
            cvmResults = [0x3F, 0x00, 0x00]
            return terminalRiskManagement()
        }
        tsi.insert(.cardholderVerificationPerformed)
        cvmList = list
        return applyRules(from: 0)
    }

    private enum RuleStep { case succeeded(UInt8), failed, waiting([KernelAction]) }

    private mutating func applyRules(from start: Int) -> [KernelAction] {
        guard let list = cvmList else { preconditionFailure("applyRules without a CVM list") }
        var index = start
        while index < list.rules.count {
            let rule = list.rules[index]
            guard conditionSatisfied(rule.condition, list: list, method: rule.method) else {
                index += 1
                continue
            }
            switch perform(rule, index: index) {
            case .succeeded(let result): return cvmSucceeded(rule, result: result)
            case .waiting(let actions): return actions
            case .failed:
                lastFailedRule = rule
                guard rule.appliesSucceedingRuleIfUnsuccessful else { return cvmFailed() }
                index += 1
            }
        }
        return cvmFailed()
    }

    private mutating func cvmSucceeded(_ rule: CVMRule, result: UInt8) -> [KernelAction] {
        cvmResults = [rule.methodByte, rule.condition, result]
        return terminalRiskManagement()
    }

    /// Cardholder verification failed: the last rule tried, or '3F0001' when no rule applied (Book 4 A4).
    private mutating func cvmFailed() -> [KernelAction] {
        tvr.insert(.cardholderVerificationNotSuccessful)
        cvmResults = lastFailedRule.map { [$0.methodByte, $0.condition, 0x01] } ?? [0x3F, 0x00, 0x01]
        return terminalRiskManagement()
    }

    /// After a rule failed outside ``applyRules(from:)`` (PIN entry, VERIFY): the next rule, or failure.
    private mutating func ruleFailed(_ index: Int) -> [KernelAction] {
        guard let list = cvmList else { preconditionFailure("ruleFailed without a CVM list") }
        let rule = list.rules[index]
        lastFailedRule = rule
        guard rule.appliesSucceedingRuleIfUnsuccessful else { return cvmFailed() }
        return applyRules(from: index + 1)
    }

    private func terminalSupports(_ method: CVMRule.Method) -> Bool {
        let caps = parameters.terminal.capabilities
        let byte2 = caps.count >= 2 ? caps[1] : 0
        switch method {
        case .failCVMProcessing: return true
        case .plaintextPINByICC: return byte2 & 0x80 != 0
        case .encipheredPINOnline: return byte2 & 0x40 != 0
        case .plaintextPINByICCAndSignature: return byte2 & 0x80 != 0 && byte2 & 0x20 != 0
        case .encipheredPINByICC: return byte2 & 0x10 != 0
        case .encipheredPINByICCAndSignature: return byte2 & 0x10 != 0 && byte2 & 0x20 != 0
        case .signature: return byte2 & 0x20 != 0
        case .noCVMRequired: return byte2 & 0x08 != 0
        case .other: return false
        }
    }

    /// CVM condition codes (Book 3 Annex C3, table 40).
    private func conditionSatisfied(_ condition: UInt8, list: CVMList, method: CVMRule.Method) -> Bool {
        let cashback = transaction.transactionType == .cashback
        switch condition {
        case 0x00: return true
        case 0x01: return false  // unattended cash: this terminal does no cash transactions
        // 02: not unattended cash, not manual cash, not purchase with cashback (this terminal does no cash).
        case 0x02: return !cashback
        case 0x03: return terminalSupports(method)
        case 0x04: return false  // manual cash
        case 0x05: return cashback
        case 0x06...0x09:
            // Only in the application currency ('9F42' equal to '5F2A'); amounts in its minor units.
            guard let currency = cardData[TLVTag(0x9F42)],
                currency == EMVNumeric.bcd(Int(parameters.terminal.currencyCode), bytes: 2)
            else { return false }
            let amount = transaction.amountAuthorised
            switch condition {
            case 0x06: return amount < Int(list.amountX)
            case 0x07: return amount > Int(list.amountX)
            case 0x08: return amount < Int(list.amountY)
            default: return amount > Int(list.amountY)
            }
        default: return false
        }
    }

    private mutating func perform(_ rule: CVMRule, index: Int) -> RuleStep {
        let method = rule.method
        switch method {
        case .failCVMProcessing:
            return .failed
        case .other:
            tvr.insert(.unrecognisedCVM)
            return .failed
        case .noCVMRequired:
            return terminalSupports(method) ? .succeeded(0x02) : .failed
        case .signature:
            guard terminalSupports(method) else { return .failed }
            signatureRequired = true
            return .succeeded(0x00)
        case .encipheredPINOnline:
            guard terminalSupports(method) else {
                tvr.insert(.pinPadNotPresentOrNotWorking)
                return .failed
            }
            state = .awaitingOnlinePIN(rule: index)
            return .waiting([.enterOnlinePIN(pan: pan)])
        case .plaintextPINByICC, .plaintextPINByICCAndSignature, .encipheredPINByICC, .encipheredPINByICCAndSignature:
            guard terminalSupports(method) else {
                tvr.insert(.pinPadNotPresentOrNotWorking)
                return .failed
            }
            // Book 3 10.5.1: the PIN Try Counter first; 0 means the PIN is blocked.
            return .waiting(
                transmit(try? CommandAPDU.getData(.pinTryCounter), then: .readingPINTryCounter(rule: index)))
        }
    }

    private mutating func pinTryCounterRead(_ r: ResponseAPDU, rule index: Int) -> [KernelAction] {
        var actions: [KernelAction] = []
        if r.statusWord.isNormalProcessing, let node = try? TLVNode(tlvEncoded: r.data), node.tag == .pinTryCounter,
            let count = node.value.first
        {
            if count == 0 {
                tvr.insert(.pinTryLimitExceeded)
                return [.show(.pinBlocked)] + ruleFailed(index)
            }
            if count == 1 { actions.append(.show(.lastPINTry)) }
        }
        return actions + requestOfflinePIN(rule: index)
    }

    private mutating func requestOfflinePIN(rule index: Int) -> [KernelAction] {
        guard let rule = cvmList?.rules[index] else { preconditionFailure("requestOfflinePIN without a CVM list") }
        switch rule.method {
        case .plaintextPINByICC, .plaintextPINByICCAndSignature:
            state = .awaitingOfflinePIN(rule: index, request: .plaintext)
            return [.verifyOfflinePIN(.plaintext)]
        default:
            guard let key = pinEnciphermentKey() else {
                // Without a key there is no enciphered PIN: the CVM fails (Book 3 10.5.1).
                return ruleFailed(index)
            }
            return transmit(try? CommandAPDU.getChallenge(), then: .gettingChallenge(rule: index, key: key))
        }
    }

    private mutating func challengeReceived(_ r: ResponseAPDU, rule index: Int, key: RecoveredPublicKey)
        -> [KernelAction]
    {
        guard r.statusWord.isNormalProcessing, r.data.count == 8 else { return ruleFailed(index) }
        let request = OfflinePINRequest.enciphered(key: key, iccUnpredictableNumber: r.data)
        state = .awaitingOfflinePIN(rule: index, request: request)
        return [.verifyOfflinePIN(request)]
    }

    private mutating func offlinePINVerified(_ sw: StatusWord, rule index: Int, request: OfflinePINRequest)
        -> [KernelAction]
    {
        guard let rule = cvmList?.rules[index] else { preconditionFailure("offline PIN without a CVM list") }
        if sw.isNormalProcessing {
            let withSignature =
                rule.method == .plaintextPINByICCAndSignature || rule.method == .encipheredPINByICCAndSignature
            if withSignature { signatureRequired = true }
            return [.show(.pinOK)] + cvmSucceeded(rule, result: withSignature ? 0x00 : 0x02)
        }
        if let tries = sw.remainingTries, tries > 0 {
            var actions: [KernelAction] = [.show(.incorrectPIN(triesLeft: tries))]
            if tries == 1 { actions.append(.show(.lastPINTry)) }
            return actions + requestOfflinePIN(rule: index)
        }
        if sw.remainingTries == 0 || sw == .authenticationMethodBlocked || sw == .referencedDataInvalidated {
            tvr.insert(.pinTryLimitExceeded)
            return [.show(.pinBlocked)] + ruleFailed(index)
        }
        return ruleFailed(index)
    }

    private mutating func pinNotEntered(_ result: PINEntryResult, rule index: Int) -> [KernelAction] {
        switch result {
        case .entered: preconditionFailure("offlinePINNotEntered(.entered): report the VERIFY status word instead")
        case .bypassed: tvr.insert(.pinNotEntered)
        case .pinPadNotWorking: tvr.insert(.pinPadNotPresentOrNotWorking)
        case .cancelled: return abort(.pinEntryCancelled)
        case .timedOut: return abort(.timeout)
        }
        return ruleFailed(index)
    }

    private mutating func onlinePINEnded(_ result: PINEntryResult, rule index: Int) -> [KernelAction] {
        guard case .entered = result else { return pinNotEntered(result, rule: index) }
        guard let rule = cvmList?.rules[index] else { preconditionFailure("online PIN without a CVM list") }
        tvr.insert(.onlinePINEntered)
        onlinePINEntered = true
        return cvmSucceeded(rule, result: 0x00)
    }

    // MARK: Terminal risk management (Book 3 10.6)

    private mutating func terminalRiskManagement() -> [KernelAction] {
        if parameters.exceptionFile.contains(pan) { tvr.insert(.cardOnExceptionFile) }
        guard aip.contains(.terminalRiskManagementToBePerformed) else { return terminalActionAnalysis() }
        tsi.insert(.terminalRiskManagementPerformed)
        state = .awaitingTransactionLog
        return [.lookupTransactionLog(pan: pan)]
    }

    private mutating func transactionLogTotalReceived(_ total: Int) -> [KernelAction] {
        let floorLimit = application?.floorLimit ?? 0
        let amount = transaction.amountAuthorised
        // 10.6.1: this amount plus today's approved amounts for the card (split sales).
        if amount + max(0, total) >= floorLimit { tvr.insert(.transactionExceedsFloorLimit) }
        if amount < floorLimit, let app = application, randomlySelected(amount: amount, app: app) {
            tvr.insert(.selectedRandomlyForOnlineProcessing)
        }
        // 10.6.3 velocity checking, when the card has both limits.
        guard cardData[.lowerConsecutiveOfflineLimit] != nil, cardData[TLVTag(0x9F23)] != nil else {
            return terminalActionAnalysis()
        }
        return transmit(try? CommandAPDU.getData(TLVTag(0x9F36)), then: .readingATC)
    }

    /// Book 3 10.6.2: a random number 1…99 against the target percentage, which rises linearly from the target to
    /// the maximum target between the threshold and the floor limit.
    private func randomlySelected(amount: Int, app: ApplicationParameters) -> Bool {
        let number = Int(randomSelectionByte) % 99 + 1
        let threshold = app.randomSelectionThreshold, floor = app.floorLimit
        let target = app.randomSelectionTargetPercentage, maximum = app.randomSelectionMaximumTargetPercentage
        if amount < threshold { return number <= target }
        guard floor > threshold else { return number <= target }
        // number <= ((maximum - target) * (amount - threshold) / (floor - threshold)) + target, in integers.
        return number * (floor - threshold) <= (maximum - target) * (amount - threshold) + target * (floor - threshold)
    }

    private func getDataValue(_ r: ResponseAPDU, tag: TLVTag) -> Int? {
        guard r.statusWord.isNormalProcessing, let node = try? TLVNode(tlvEncoded: r.data), node.tag == tag,
            node.value.count == 2
        else { return nil }
        return node.value.reduce(0) { $0 << 8 | Int($1) }
    }

    private mutating func atcRead(_ r: ResponseAPDU) -> [KernelAction] {
        transmit(
            try? CommandAPDU.getData(.lastOnlineATCRegister),
            then: .readingLastOnlineATC(atc: getDataValue(r, tag: TLVTag(0x9F36))))
    }

    private mutating func lastOnlineATCRead(_ r: ResponseAPDU, atc: Int?) -> [KernelAction] {
        let lastOnline = getDataValue(r, tag: .lastOnlineATCRegister)
        let lower = cardData[.lowerConsecutiveOfflineLimit]?.first.map(Int.init) ?? 0
        let upper = cardData[TLVTag(0x9F23)]?.first.map(Int.init) ?? 0
        if let atc, let lastOnline, atc > lastOnline {
            if atc - lastOnline > lower { tvr.insert(.lowerConsecutiveOfflineLimitExceeded) }
            if atc - lastOnline > upper { tvr.insert(.upperConsecutiveOfflineLimitExceeded) }
        } else {
            tvr.formUnion([.lowerConsecutiveOfflineLimitExceeded, .upperConsecutiveOfflineLimitExceeded])
        }
        if lastOnline == 0 { tvr.insert(.newCard) }
        return terminalActionAnalysis()
    }

    // MARK: Terminal action analysis (Book 3 10.7) and the first GENERATE AC

    private static let aac: UInt8 = 0x00, tc: UInt8 = 0x40, arqc: UInt8 = 0x80, cdaSignature: UInt8 = 0x10

    private var terminalIsOnlineCapable: Bool { [1, 2, 4, 5].contains(parameters.terminal.terminalType & 0x0F) }
    private var terminalIsOnlineOnly: Bool { [1, 4].contains(parameters.terminal.terminalType & 0x0F) }

    private func matches(_ tac: [UInt8]?, _ iac: [UInt8]?, iacDefault: UInt8) -> Bool {
        let t = TerminalVerificationResults(bytes: tac ?? [])
        let i =
            iac.map { TerminalVerificationResults(bytes: $0) }
            ?? TerminalVerificationResults(bytes: [UInt8](repeating: iacDefault, count: 5))
        return !tvr.intersection(t.union(i)).isEmpty
    }

    private mutating func terminalActionAnalysis() -> [KernelAction] {
        if transaction.forceOnline { tvr.insert(.merchantForcedOnline) }
        let app = application
        let cryptogram: UInt8
        if transaction.transactionType == .refund {
            // Book 3 9.2 / scheme practice: the card declines a refund offline (AAC); the terminal then sends the
            // refund to the host with the card data it read.
            cryptogram = Self.aac
        } else if matches(app?.tacDenial, cardData[.issuerActionCodeDenial], iacDefault: 0x00) {
            cryptogram = Self.aac
        } else if terminalIsOnlineCapable {
            let online =
                transaction.forceOnline || terminalIsOnlineOnly
                || matches(app?.tacOnline, cardData[.issuerActionCodeOnline], iacDefault: 0xFF)
            cryptogram = online ? Self.arqc : Self.tc
        } else {
            cryptogram =
                matches(app?.tacDefault, cardData[.issuerActionCodeDefault], iacDefault: 0xFF) ? Self.aac : Self.tc
        }
        guard let raw = cardData[.cardRiskManagementDataObjectList1], let cdol1 = try? DataObjectList(dolEncoded: raw)
        else {
            return abort(.malformedData("CDOL1"))
        }
        tsi.insert(.cardRiskManagementPerformed)
        let data = cdol1.relatedData { value(for: $0) }
        cdol1Data = data
        let p1 = cryptogram | (cdaRequested && cryptogram != Self.aac ? Self.cdaSignature : 0)
        return transmit(
            try? CommandAPDU.generateApplicationCryptogram(referenceControl: p1, cdolRelatedData: cdol1Data),
            then: .firstGenerateAC(referenceControl: p1))
    }

    private static func rank(_ type: UInt8) -> Int { type == aac ? 0 : type == arqc ? 1 : 2 }

    /// Parses a GENERATE AC response, format 1 ('80') or 2 ('77').
    private func parseGenerateAC(_ data: [UInt8]) -> GenerateACResponse? {
        guard let template = try? TLVNode(tlvEncoded: data) else { return nil }
        switch template.tag {
        case .responseMessageTemplateFormat1:
            let v = Array(template.value)
            guard v.count >= 11 else { return nil }
            return GenerateACResponse(
                cid: v[0], atc: Array(v[1..<3]), cryptogram: Array(v[3..<11]), signedDynamicData: nil,
                hashInputTail: [])
        case .responseMessageTemplateFormat2:
            guard let cid = template.child(TLVTag(0x9F27)), cid.value.count == 1, let cidByte = cid.value.first,
                let atc = template.child(TLVTag(0x9F36)), atc.value.count == 2
            else { return nil }
            let ac = template.child(TLVTag(0x9F26)).map { Array($0.value) }
            let sdad = template.child(TLVTag(0x9F4B)).map { Array($0.value) }
            // Book 3 6.5.5.4: the cryptogram in clear, or (CDA) inside the Signed Dynamic Application Data.
            guard ac?.count == 8 || (ac == nil && sdad != nil) else { return nil }
            var tail: [UInt8] = []
            for child in template.children where child.tag != TLVTag(0x9F4B) { tail += child.encodedBytes }
            return GenerateACResponse(
                cid: cidByte, atc: Array(atc.value), cryptogram: ac, signedDynamicData: sdad, hashInputTail: tail)
        default:
            return nil
        }
    }

    /// Stores the card's answer to GENERATE AC ('9F27', '9F36', '9F26', '9F10' replace earlier values).
    private mutating func record(_ answer: GenerateACResponse, data: [UInt8]) {
        cardData[TLVTag(0x9F27)] = [answer.cid]
        cardData[TLVTag(0x9F36)] = answer.atc
        cardData[TLVTag(0x9F26)] = answer.cryptogram
        if answer.cryptogram == nil { cardData[TLVTag(0x9F4B)] = answer.signedDynamicData }
        if let template = try? TLVNode(tlvEncoded: data) {
            if template.tag == .responseMessageTemplateFormat1, template.value.count > 11 {
                cardData[.issuerApplicationData] = Array(template.value.dropFirst(11))
            } else if let iad = template.child(.issuerApplicationData) {
                cardData[.issuerApplicationData] = Array(iad.value)
            }
        }
    }

    /// CDA (Book 2 6.6.2) on a TC or ARQC asked for with a CDA signature; `false` when it failed.
    private mutating func verifyCDA(_ answer: GenerateACResponse, referenceControl p1: UInt8, cdolData: [UInt8]) -> Bool
    {
        guard p1 & Self.cdaSignature != 0, answer.cid & 0xC0 != Self.aac else { return true }
        guard let sdad = answer.signedDynamicData, let key = iccKey else {
            tvr.insert(.cdaFailed)
            return false
        }
        switch OfflineDataAuthentication.verifyCombinedDynamicSignature(
            sdad, iccKey: key, unpredictableNumber: unpredictableNumber, cryptogramInformationData: answer.cid,
            transactionDataHashInput: pdolData + cdolData + answer.hashInputTail)
        {
        case .success(let contents):
            cardData[TLVTag(0x9F4C)] = contents.iccDynamicNumber
            cardData[TLVTag(0x9F26)] = contents.applicationCryptogram
            return true
        case .failure:
            tvr.insert(.cdaFailed)
            return false
        }
    }

    private mutating func firstGenerateACAnswered(_ r: ResponseAPDU, referenceControl p1: UInt8) -> [KernelAction] {
        guard r.statusWord.isNormalProcessing else { return abort(.cardError("GENERATE AC \(r.statusWord)")) }
        guard let answer = parseGenerateAC(r.data) else { return abort(.malformedData("GENERATE AC response")) }
        let type = answer.cid & 0xC0
        // Book 3 9.3: the card may answer a lower cryptogram than asked (AAC < ARQC < TC), never a higher one.
        guard type != 0xC0, Self.rank(type) <= Self.rank(p1 & 0xC0) else {
            return abort(.cardError("GENERATE AC cryptogram type"))
        }
        record(answer, data: r.data)
        if answer.cid & 0x08 != 0 { needsAdvice = true }
        guard verifyCDA(answer, referenceControl: p1, cdolData: cdol1Data) else {
            return finish(.declinedOffline)
        }
        guard cardData[TLVTag(0x9F26)] != nil else { return abort(.malformedData("GENERATE AC without a cryptogram")) }
        switch type {
        case Self.aac: return finish(.declinedOffline)
        case Self.tc: return finish(.approvedOffline)
        default:
            // An offline-only terminal cannot go online: the default action codes decide at once (Book 3 10.7).
            guard terminalIsOnlineCapable else { return onlineUnavailable() }
            state = .awaitingOnlineResponse
            return [.goOnline(onlineRequest())]
        }
    }

    // MARK: Online processing, issuer authentication, scripts, second GENERATE AC (Book 3 10.9–10.11)

    private mutating func onlineResponseReceived(_ answer: OnlineResponse) -> [KernelAction] {
        hostApproved = answer.isApproval
        let code = Array(answer.responseCode.utf8)
        authorisationResponseCode = code.count == 2 ? code : Array("Z1".utf8)
        if let data = answer.issuerAuthenticationData, !data.isEmpty {
            if aip.contains(.issuerAuthenticationSupported) {
                tsi.insert(.issuerAuthenticationPerformed)
                return transmit(
                    try? CommandAPDU.externalAuthenticate(issuerAuthenticationData: data),
                    then: .externalAuthenticating(response: answer))
            }
            // Otherwise '91' reaches the card through CDOL2 when it asks for it.
            issuerAuthenticationData = data
        }
        return startScripts(answer)
    }

    private mutating func externalAuthenticated(_ r: ResponseAPDU, answer: OnlineResponse) -> [KernelAction] {
        if !r.statusWord.isNormalProcessing { tvr.insert(.issuerAuthenticationFailed) }
        return startScripts(answer)
    }

    private mutating func startScripts(_ answer: OnlineResponse) -> [KernelAction] {
        var before: [IssuerScript] = []
        var after: [IssuerScript] = []
        if !answer.issuerScripts.isEmpty {
            if let templates = try? TLVNode.sequence(tlvEncoded: answer.issuerScripts) {
                for template in templates {
                    let script = Self.parseScript(template)
                    if template.tag == .issuerScriptTemplate1 { before.append(script) }
                    if template.tag == .issuerScriptTemplate2 { after.append(script) }
                }
            } else {
                before.append(IssuerScript(identifier: [0, 0, 0, 0], commands: nil))
            }
        }
        pendingScripts72 = after
        return runScripts(ScriptRun(scripts: before, scriptIndex: 0, commandIndex: 0, phase: .beforeFinalGenerateAC))
    }

    private static func parseScript(_ template: TLVNode) -> IssuerScript {
        var identifier: [UInt8] = [0, 0, 0, 0]
        var commands: [CommandAPDU] = []
        for child in template.children {
            switch child.tag {
            case .issuerScriptIdentifier:
                guard child.value.count == 4 else { return IssuerScript(identifier: identifier, commands: nil) }
                identifier = Array(child.value)
            case .issuerScriptCommand:
                guard let command = try? CommandAPDU(apduEncoded: child.value) else {
                    return IssuerScript(identifier: identifier, commands: nil)
                }
                commands.append(command)
            default:
                return IssuerScript(identifier: identifier, commands: nil)
            }
        }
        return IssuerScript(identifier: identifier, commands: commands)
    }

    /// Sends the next command of the current script, or records results and moves on (Book 3 10.10).
    private mutating func runScripts(_ run: ScriptRun) -> [KernelAction] {
        var run = run
        while run.scriptIndex < run.scripts.count {
            tsi.insert(.scriptProcessingPerformed)
            let script = run.scripts[run.scriptIndex]
            guard let commands = script.commands else {
                scriptFinished(script, result: 0x10, phase: run.phase)
                run.scriptIndex += 1
                run.commandIndex = 0
                continue
            }
            if run.commandIndex < commands.count {
                state = .runningScripts(run)
                return [.transmit(commands[run.commandIndex])]
            }
            scriptFinished(script, result: 0x20, phase: run.phase)
            run.scriptIndex += 1
            run.commandIndex = 0
        }
        switch run.phase {
        case .beforeFinalGenerateAC: return secondGenerateAC()
        case .afterFinalGenerateAC:
            guard let outcome = pendingOutcome else { preconditionFailure("scripts '72' without an outcome") }
            return completion(outcome)
        }
    }

    private mutating func scriptFinished(_ script: IssuerScript, result: UInt8, phase: ScriptPhase) {
        scriptResults += [result] + script.identifier
        if result & 0xF0 == 0x10 {
            tvr.insert(
                phase == .beforeFinalGenerateAC ? .scriptFailedBeforeFinalGenerateAC : .scriptFailedAfterFinalGenerateAC
            )
        }
    }

    private mutating func scriptCommandAnswered(_ r: ResponseAPDU, run: ScriptRun) -> [KernelAction] {
        var run = run
        let sw1 = r.statusWord.sw1
        if sw1 == 0x90 || sw1 == 0x62 || sw1 == 0x63 {
            run.commandIndex += 1
        } else {
            // Stop this script at the failing command: result '1' and its sequence number (F for 15 and more).
            scriptFinished(
                run.scripts[run.scriptIndex], result: 0x10 | UInt8(min(run.commandIndex + 1, 15)), phase: run.phase)
            run.scriptIndex += 1
            run.commandIndex = 0
        }
        return runScripts(run)
    }

    private mutating func onlineUnavailable() -> [KernelAction] {
        // Book 3 10.7: unable to go online: the default action codes decide, ARC 'Z3' (decline) or 'Y3' (approve).
        unableToGoOnline = true
        let app = application
        let decline = matches(app?.tacDefault, cardData[.issuerActionCodeDefault], iacDefault: 0xFF)
        authorisationResponseCode = Array((decline ? "Z3" : "Y3").utf8)
        pendingScripts72 = []
        return secondGenerateAC()
    }

    private mutating func secondGenerateAC() -> [KernelAction] {
        let approve: Bool
        if unableToGoOnline {
            approve = authorisationResponseCode == Array("Y3".utf8)
        } else {
            approve = hostApproved == true
        }
        guard let raw = cardData[.cardRiskManagementDataObjectList2], let cdol2 = try? DataObjectList(dolEncoded: raw)
        else {
            return abort(.malformedData("CDOL2"))
        }
        let data = cdol2.relatedData { value(for: $0) }
        cdol2Data = data
        let p1 = (approve ? Self.tc : Self.aac) | (approve && cdaRequested ? Self.cdaSignature : 0)
        return transmit(
            try? CommandAPDU.generateApplicationCryptogram(referenceControl: p1, cdolRelatedData: cdol2Data),
            then: .secondGenerateAC(referenceControl: p1))
    }

    private mutating func secondGenerateACAnswered(_ r: ResponseAPDU, referenceControl p1: UInt8) -> [KernelAction] {
        guard r.statusWord.isNormalProcessing else { return abort(.cardError("second GENERATE AC \(r.statusWord)")) }
        guard let answer = parseGenerateAC(r.data) else { return abort(.malformedData("second GENERATE AC response")) }
        let type = answer.cid & 0xC0
        guard type == Self.aac || type == Self.tc, Self.rank(type) <= Self.rank(p1 & 0xC0) else {
            return abort(.cardError("second GENERATE AC cryptogram type"))
        }
        record(answer, data: r.data)
        if answer.cid & 0x08 != 0 { needsAdvice = true }
        let approvedByCard = type == Self.tc && verifyCDA(answer, referenceControl: p1, cdolData: cdol1Data + cdol2Data)
        if approvedByCard, cardData[TLVTag(0x9F26)] == nil {
            return abort(.malformedData("GENERATE AC without a cryptogram"))
        }
        let decision: KernelDecision
        var reversal = false
        if unableToGoOnline {
            decision = approvedByCard ? .approvedOffline : .declinedOffline
        } else if hostApproved == true {
            decision = approvedByCard ? .approvedOnline : .declinedByCardAfterOnlineApproval
            reversal = !approvedByCard
        } else {
            decision = .declinedOnline
        }
        var outcome = makeOutcome(decision)
        outcome.needsReversal = reversal
        pendingOutcome = outcome
        let scripts = pendingScripts72
        pendingScripts72 = []
        return runScripts(ScriptRun(scripts: scripts, scriptIndex: 0, commandIndex: 0, phase: .afterFinalGenerateAC))
    }

    // MARK: Completion

    private mutating func cardRemoved() -> [KernelAction] {
        switch state {
        case .idle: preconditionFailure("EMVContactKernel.handle(.cardRemoved) before start()")
        case .finished: return []
        case .runningScripts(let run):
            guard run.phase == .afterFinalGenerateAC else { return abort(.cardRemoved) }
            // The decision is made; the remaining '72' scripts are simply not performed.
            guard let outcome = pendingOutcome else { preconditionFailure("scripts '72' without an outcome") }
            return completion(outcome)
        case .selectingPSE, .readingDirectory, .selectingFromList, .choosingApplication, .finalSelecting,
            .gettingProcessingOptions, .readingRecords, .internalAuthenticating, .readingPINTryCounter,
            .gettingChallenge, .awaitingOnlinePIN, .awaitingOfflinePIN, .awaitingTransactionLog, .readingATC,
            .readingLastOnlineATC, .firstGenerateAC, .awaitingOnlineResponse, .externalAuthenticating,
            .secondGenerateAC:
            return abort(.cardRemoved)
        }
    }

    private mutating func abort(_ reason: AbortReason) -> [KernelAction] {
        var outcome = makeOutcome(.aborted(reason))
        // The host approved but the card never confirmed: the authorisation must be reversed.
        outcome.needsReversal = hostApproved == true
        return completion(outcome)
    }

    private mutating func finish(_ decision: KernelDecision) -> [KernelAction] {
        completion(makeOutcome(decision))
    }

    private mutating func completion(_ outcome: KernelOutcome) -> [KernelAction] {
        var outcome = outcome
        outcome.tvr = tvr
        outcome.tsi = tsi
        outcome.scriptResults = scriptResults
        if var card = outcome.cardData {
            card.iccData = iccData(includingScriptResults: true)
            outcome.cardData = card
        }
        state = .finished
        let message: KernelMessage?
        switch outcome.decision {
        case .approvedOnline, .approvedOffline: message = .approved
        case .declinedOffline where transaction.transactionType == .refund: message = nil  // the expected end of a refund's read
        case .declinedOffline, .declinedOnline, .declinedByCardAfterOnlineApproval: message = .declined
        case .aborted(.notAccepted): message = .notAccepted
        case .aborted(.cardError), .aborted(.malformedData): message = .cardError
        case .aborted: message = nil
        }
        return (message.map { [KernelAction.show($0)] } ?? []) + [.complete(outcome)]
    }

    private func makeOutcome(_ decision: KernelDecision) -> KernelOutcome {
        KernelOutcome(
            decision: decision, needsReversal: false, needsAdvice: needsAdvice, unableToGoOnline: unableToGoOnline,
            tvr: tvr, tsi: tsi, cvmResults: cvmResults, signatureRequired: signatureRequired,
            cardData: transactionCardData(), scriptResults: scriptResults)
    }

    private func transactionCardData() -> TransactionCardData? {
        guard cardData[.applicationPrimaryAccountNumber] != nil, let selected else { return nil }
        return TransactionCardData(
            pan: pan, panSequenceNumber: panSequenceNumber,
            expiry: cardData[.applicationExpirationDate].flatMap { EMVDate(yymmdd: $0) },
            cardholderName: cardholderName, aid: selectedAID,
            label: selected.info.preferredName ?? selected.info.label ?? application?.name ?? "",
            atc: cardData[TLVTag(0x9F36)] ?? [], cryptogram: cardData[TLVTag(0x9F26)] ?? [],
            cid: cardData[TLVTag(0x9F27)]?.first, iccData: iccData(includingScriptResults: true))
    }

    // MARK: Data

    private var application: ApplicationParameters? {
        selected.map { parameters.applications[$0.terminalIndex] }
    }

    private var selectedAID: [UInt8] { fciData[.dedicatedFileName] ?? selected?.info.aid ?? [] }

    /// The PAN digits of '5A' (trailing 'F' padding dropped).
    private var pan: String { EMVNumeric.digits(cardData[.applicationPrimaryAccountNumber] ?? []) }

    private var panSequenceNumber: Int? {
        guard let raw = cardData[.applicationPANSequenceNumber], let byte = raw.first, byte >> 4 <= 9, byte & 0x0F <= 9
        else { return nil }
        return Int(byte >> 4) * 10 + Int(byte & 0x0F)
    }

    private var cardholderName: String? {
        guard let raw = cardData[.cardholderName] else { return nil }
        let name = text(raw[...])
        return name.isEmpty ? nil : name
    }

    private func onlineRequest() -> OnlineRequest {
        OnlineRequest(
            pan: pan, panSequenceNumber: panSequenceNumber,
            expiry: cardData[.applicationExpirationDate].flatMap { EMVDate(yymmdd: $0) }
                ?? transaction.date,  // checked in applicationDataRead
            track2Equivalent: cardData[.track2EquivalentData] ?? [], cardholderName: cardholderName, aid: selectedAID,
            iccData: iccData(includingScriptResults: false), onlinePINRequested: onlinePINEntered)
    }

    /// The tags of the ICC system related data (ISO 8583 field 55).
    private static let iccDataTags: [UInt32] = [
        0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F34,
        0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x5F34,
    ]

    private func iccData(includingScriptResults: Bool) -> [UInt8] {
        var serializer = TLVSerializer()
        for raw in Self.iccDataTags {
            let tag = TLVTag(raw)
            guard let value = value(for: tag) else { continue }
            serializer.appendPrimitive(tag: tag, value: value)
        }
        if includingScriptResults, !scriptResults.isEmpty {
            serializer.appendPrimitive(tag: TLVTag(0x9F5B), value: scriptResults)
        }
        return serializer.serializedBytes
    }

    /// The value of a data object for a DOL or field 55: the terminal's own data, else the card's.
    private func value(for tag: TLVTag) -> [UInt8]? {
        if let value = transaction.terminalSourcedValue(for: tag.rawValue, terminal: parameters.terminal) { return value }
        switch tag.rawValue {
        case 0x9F04: return EMVNumeric.binary(transaction.amountOther, bytes: 4)
        case 0x9F37: return unpredictableNumber
        case 0x9F33: return parameters.terminal.capabilities
        case 0x9F1B: return application.map { EMVNumeric.binary($0.floorLimit, bytes: 4) }
        case 0x95: return tvr.bytes
        case 0x9B: return tsi.bytes
        case 0x9F34: return cvmResults
        case 0x9F09: return application?.applicationVersions.first
        case 0x9F39: return [0x05]
        case 0x9F06: return application?.aid
        case 0x84: return fciData[.dedicatedFileName]
        case 0x8A: return authorisationResponseCode
        case 0x91: return issuerAuthenticationData
        default: return cardData[tag] ?? fciData[tag]
        }
    }


    private func text(_ bytes: ArraySlice<UInt8>) -> String {
        var b = Array(bytes)
        while let last = b.last, last == 0x20 || last == 0x00 { b.removeLast() }
        return String(decoding: b, as: UTF8.self)
    }
}
