#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
public import DeviceKit
public import EMVKernel
public import Logging
public import PaymentCrypto
public import Store
public import TerminalUI

/// The EMV contact chip rail: drives the pure ``EMVContactKernel`` with the card in the slot, the PIN pad, the
/// journal and the acquirer. Everything the kernel asks for happens here, in the order it asks:
///
/// - APDUs go to the card through the T=0 rules of ``APDUExchange`` and, redacted, into an APDU trace file;
/// - online PIN entry encrypts the PIN at once under DUKPT (``KeyStore/encryptPINBlock(_:clearBlock:)``); offline
///   PIN entry builds and sends VERIFY inside the PIN pad (plaintext, or enciphered with the ICC key): the clear PIN
///   never leaves ``PaymentSession/enterPIN(amount:currency:timeoutMilliseconds:notice:use:)``;
/// - before an online request leaves, the journal arms its reversal; the outcome is durable before it is shown.
public struct EMVContactRail: PaymentRail {
    public struct Configuration: Sendable {
        public var parameters: TerminalParameters
        public var currency: Currency
        public var merchantName: String
        /// The key store entry of the DUKPT PIN key.
        public var pinKeyName: String
        /// Where redacted APDU traces go (one file per transaction), or `nil` for none.
        public var traceDirectory: String?
        /// The downloaded parameter set in force (terminal management); each transaction takes a snapshot of it at
        /// its start and keeps it to its end. `nil`: ``parameters`` always.
        public var activeParameters: ActiveParameterSet?
        public init(parameters: TerminalParameters, currency: Currency, merchantName: String, pinKeyName: String, traceDirectory: String?) {
            self.parameters = parameters
            self.currency = currency
            self.merchantName = merchantName
            self.pinKeyName = pinKeyName
            self.traceDirectory = traceDirectory
        }
    }

    public let name = "emv-contact"
    let configuration: Configuration
    let connect: @Sendable (Presentation) throws -> any CardConnection
    let acquirer: any AcquirerLink
    let journal: any RailJournal
    let keys: Locked<KeyStore>
    let clock: any TerminalClock
    let random: any RandomSource
    let logger: Logger

    public init(
        configuration: Configuration, connect: @escaping @Sendable (Presentation) throws -> any CardConnection,
        acquirer: any AcquirerLink, journal: any RailJournal, keys: Locked<KeyStore>, clock: any TerminalClock,
        random: any RandomSource, logger: Logger
    ) {
        self.configuration = configuration
        self.connect = connect
        self.acquirer = acquirer
        self.journal = journal
        self.keys = keys
        self.clock = clock
        self.random = random
        self.logger = logger
    }

    public func accepts(_ presentation: Presentation, method: PaymentMethod?) -> Bool {
        guard case .inserted = presentation else { return false }
        return method == nil || method == .card
    }

    public func pay(amount: Int, presentation: Presentation, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        session.show(.processing(.init()))
        let parameters = configuration.activeParameters?.beginTransaction().emv ?? configuration.parameters
        defer { configuration.activeParameters?.endTransaction() }
        let ticket: RailTicket
        do {
            ticket = try journal.begin(.init(rail: name, kind: "sale", amount: amount, currencyCode: configuration.currency.numericCode))
        } catch {
            logger.error("cannot open a transaction in the store: no sale", metadata: ["error": "\(error)"])
            return .declined(lines: [.ui(.storeUnavailable)])
        }
        let connection: any CardConnection
        do {
            connection = try connect(presentation)
        } catch {
            logger.warning("cannot reach the card", metadata: ["error": "\(error)"])
            recordFailure(ticket, detail: "card not reachable")
            return .declined(lines: [.ui(.cardError)])
        }
        defer { connection.disconnect() }
        let run = ChipTransaction(rail: self, ticket: ticket, amount: amount, connection: connection, session: session, parameters: parameters)
        return await run.execute()
    }

    func recordFailure(_ ticket: RailTicket, detail: String) {
        do {
            try journal.complete(ticket, outcome: .init(
                status: .failed, card: nil, responseCode: nil, authorizationCode: nil, retrievalReference: nil,
                needsReversal: false, needsAdvice: false, signatureRequired: false, detail: detail))
        } catch {
            logger.error("cannot record a failed transaction", metadata: ["error": "\(error)"])
        }
    }
}

/// One chip transaction: the kernel, the card, and what the driver remembers between actions (the encrypted online
/// PIN block, the card data, the host's answer).
final class ChipTransaction {
    let rail: EMVContactRail
    var ticket: RailTicket
    let amount: Int
    let connection: any CardConnection
    let session: PaymentSession
    var kernel: EMVContactKernel
    var onlinePIN: (keySerialNumber: [UInt8], block: [UInt8])?
    var card: RailCardData?
    var hostResponse: AuthorizationResponse?
    var hostTimedOut = false
    var pinNotice: Screen.Text?
    var trace: [String] = [APDUTrace.header]
    var offlineRefusal: Screen.Text?

    init(rail: EMVContactRail, ticket: RailTicket, amount: Int, connection: any CardConnection, session: PaymentSession, parameters: TerminalParameters? = nil) {
        self.rail = rail
        self.ticket = ticket
        self.amount = amount
        self.connection = connection
        self.session = session
        let now = rail.clock.localDateTime()
        // The offline caps are checked before the card is asked anything: over a cap, the kernel never asks for a
        // TC (offline approval) and goes online instead.
        do {
            offlineRefusal = try rail.journal.offlineAllowed(amount: amount, rail: rail.name)
        } catch {
            offlineRefusal = .ui(.storeUnavailable)
        }
        let date = EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 1, day: 1)!
        let transaction = EMVTransaction(
            amountAuthorised: amount, amountOther: 0, transactionType: .purchase, date: date, hour: now.hour,
            minute: now.minute, second: now.second, sequenceCounter: ticket.sequence,
            forceOnline: offlineRefusal != nil, languageCodes: ["zh", "en"])
        kernel = EMVContactKernel(parameters: parameters ?? rail.configuration.parameters, transaction: transaction, random: rail.random)
    }

    var currency: Currency { rail.configuration.currency }

    func execute() async -> TerminalFlow.PaymentResult {
        var pending = kernel.start()
        while !pending.isEmpty {
            let action = pending.removeFirst()
            if case .complete(let outcome) = action {
                writeTrace()
                return finish(outcome)
            }
            if let event = await perform(action) {
                pending += kernel.handle(event)
            }
        }
        writeTrace()
        rail.recordFailure(ticket, detail: "kernel ended without an outcome")
        return .declined(lines: [.ui(.cardError)])
    }

    /// Carries out one action; returns the event that answers it, if any.
    func perform(_ action: KernelAction) async -> KernelEvent? {
        switch action {
        case .transmit(let command):
            do {
                return .response(try exchange(command))
            } catch {
                rail.logger.warning("card exchange failed", metadata: ["command": "\(APDUTrace.commandName(command))", "error": "\(error)"])
                return .cardRemoved
            }
        case .show(let message):
            show(message)
            return nil
        case .selectedLanguage:
            return nil
        case .chooseApplication(let candidates):
            return .applicationChosen(index: await choose(candidates))
        case .enterOnlinePIN(let pan):
            return .onlinePIN(await enterOnlinePIN(pan: pan))
        case .verifyOfflinePIN(let request):
            return await verifyOfflinePIN(request)
        case .lookupTransactionLog(let pan):
            return .transactionLogTotal((try? rail.journal.transactionLogTotal(pan: pan)) ?? 0)
        case .goOnline(let request):
            return await goOnline(request)
        case .complete:
            preconditionFailure("complete is handled by execute()")
        }
    }

    // MARK: Card

    func exchange(_ command: CommandAPDU) throws -> ResponseAPDU {
        try APDUExchange.run(command) { bytes in
            trace.append(APDUTrace.line(.command, bytes, time: traceTime()))
            let answer = try connection.transmit(bytes)
            trace.append(APDUTrace.line(.response, answer, time: traceTime()))
            return answer
        }
    }

    func traceTime() -> String {
        let now = rail.clock.localDateTime()
        let ms = Int(rail.clock.monotonicMilliseconds() % 1000)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(now.hour)):\(two(now.minute)):\(two(now.second)).\(ms < 10 ? "00" : ms < 100 ? "0" : "")\(ms)"
    }

    func writeTrace() {
        guard let directory = rail.configuration.traceDirectory else { return }
        do {
            try DurableFile.makeDirectories(directory)
            try DurableFile.store(directory + "/" + ticket.transactionReference + ".trace", Array((trace.joined(separator: "\n") + "\n").utf8))
        } catch {
            rail.logger.warning("cannot write the APDU trace", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Cardholder

    func show(_ message: KernelMessage) {
        switch message {
        case .processing, .pleaseWait, .approved, .declined, .removeCard:
            session.show(.processing(.init()))
        case .notAccepted: session.show(.processing(.init(message: .ui(.cardNotAccepted))))
        case .cardError: session.show(.processing(.init(message: .ui(.cardError))))
        case .tryAgain: session.show(.processing(.init(message: .ui(.tryAgain))))
        case .incorrectPIN(let left): pinNotice = .ui(.incorrectPIN(triesLeft: left))
        case .lastPINTry: pinNotice = .ui(.lastPINTry)
        case .pinOK: session.show(.processing(.init(message: .ui(.pinOK))))
        case .pinBlocked: session.show(.processing(.init(message: .ui(.pinBlocked))))
        }
    }

    /// The cardholder picks an application: UP/DOWN, ENTER; CANCEL (or the card leaving) ends the choice.
    func choose(_ candidates: [ApplicationCandidate]) async -> Int? {
        guard !candidates.isEmpty else { return nil }
        var selected = 0
        func draw() {
            let items: [Screen.Text] = candidates.map { .raw($0.preferredName ?? $0.label ?? Hex.encode($0.aid)) }
            session.show(.menu(.init(title: .ui(.selectApplication), items: items, selected: selected)))
        }
        draw()
        for await input in session.inputs {
            switch input {
            case .key(.up):
                selected = (selected + candidates.count - 1) % candidates.count
                draw()
            case .key(.down):
                selected = (selected + 1) % candidates.count
                draw()
            case .key(.enter):
                session.show(.processing(.init()))
                return selected
            case .key(.cancel), .presentation(.removed):
                return nil
            case .key(let key):
                if let digit = key.digit, (1...candidates.count).contains(digit) {
                    session.show(.processing(.init()))
                    return digit - 1
                }
            case .presentation, .tick:
                continue
            }
        }
        return nil
    }

    func enterOnlinePIN(pan: String) async -> PINEntryResult {
        let keys = rail.keys
        let keyName = rail.configuration.pinKeyName
        let random = rail.random
        let outcome = await session.enterPIN(amount: amount, currency: currency, notice: pinNotice) { digits -> Result<(keySerialNumber: [UInt8], encryptedBlock: [UInt8]), any Error> in
            Result {
                var ascii = digits.map { $0 + 0x30 }
                defer { for i in ascii.indices { ascii[i] = 0 } }
                let clear = try PINBlock.encode(format: .format0, pin: SecretBytes(ascii), pan: pan, random: random)
                return try keys.withLock { try $0.encryptPINBlock(keyName, clearBlock: clear) }
            }
        }
        pinNotice = nil
        switch outcome {
        case .entered(.success(let encrypted)):
            onlinePIN = (encrypted.keySerialNumber, encrypted.encryptedBlock)
            session.show(.processing(.init()))
            return .entered
        case .entered(.failure(let error)):
            rail.logger.error("online PIN could not be enciphered", metadata: ["error": "\(error)"])
            return .pinPadNotWorking
        case .cancelled: return .cancelled
        case .timedOut: return .timedOut
        case .cardRemoved: return .cancelled
        }
    }

    func verifyOfflinePIN(_ request: OfflinePINRequest) async -> KernelEvent {
        let random = rail.random
        let outcome = await session.enterPIN(amount: amount, currency: currency, notice: pinNotice) { digits -> Result<ResponseAPDU, any Error> in
            Result {
                let block = try OfflinePIN.plaintextPINBlock(digits: digits)
                let command: CommandAPDU
                switch request {
                case .plaintext:
                    command = try CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x80, data: block.withUnsafeBytes { Array($0) }, expectedLength: nil)
                case .enciphered(let key, let challenge):
                    let data = try OfflineDataAuthentication.encipherPIN(pinBlock: block, iccUnpredictableNumber: challenge, key: key, random: random)
                    command = try CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x88, data: data, expectedLength: nil)
                }
                return try exchange(command)
            }
        }
        pinNotice = nil
        switch outcome {
        case .entered(.success(let response)):
            session.show(.processing(.init()))
            return .offlinePINVerified(response.statusWord)
        case .entered(.failure(let error)):
            rail.logger.warning("offline PIN verification failed to run", metadata: ["error": "\(error)"])
            return .cardRemoved
        case .cancelled: return .offlinePINNotEntered(.cancelled)
        case .timedOut: return .offlinePINNotEntered(.timedOut)
        case .cardRemoved: return .cardRemoved
        }
    }

    // MARK: Host

    func goOnline(_ request: OnlineRequest) async -> KernelEvent {
        let expiry = request.expiry.yymmdd
        let card = RailCardData(
            pan: request.pan, panSequenceNumber: request.panSequenceNumber, expiry: Hex.encode(expiry.prefix(2)),
            track2Equivalent: request.track2Equivalent, cardholderName: request.cardholderName,
            applicationLabel: "", aid: request.aid, entryMode: "051", iccData: request.iccData)
        self.card = card
        do {
            ticket = try rail.journal.prepareOnline(ticket, card: card)
        } catch {
            // A request whose reversal could not be stored must not leave.
            rail.logger.error("cannot arm the reversal: staying offline", metadata: ["error": "\(error)"])
            return .onlineUnavailable
        }
        session.show(.processing(.init()))
        let reply = await rail.acquirer.authorize(.init(
            transactionReference: ticket.transactionReference, stan: ticket.stan, amount: amount,
            currencyCode: currency.numericCode, pan: request.pan, panSequenceNumber: request.panSequenceNumber,
            expiry: card.expiry, track2Equivalent: request.track2Equivalent, iccData: request.iccData,
            entryMode: card.entryMode, pinBlock: onlinePIN?.block, keySerialNumber: onlinePIN?.keySerialNumber,
            localDateTime: rail.clock.localDateTime(), batchNumber: ticket.batch))
        switch reply {
        case .answered(let response):
            hostResponse = response
            do {
                try rail.journal.hostAnswered(ticket, response: response, keepReversal: false)
            } catch {
                rail.logger.error("cannot record the host's answer", metadata: ["error": "\(error)"])
            }
            return .onlineResponse(Self.onlineResponse(response))
        case .unreachable(let why):
            rail.logger.warning("acquirer unreachable", metadata: ["reason": "\(why)"])
            do {
                try rail.journal.hostAnswered(ticket, response: nil, keepReversal: false)
            } catch {
                rail.logger.error("cannot disarm the reversal", metadata: ["error": "\(error)"])
            }
            return .onlineUnavailable
        case .timedOut:
            rail.logger.warning("no answer from the acquirer in time: the request will be reversed")
            hostTimedOut = true
            return .onlineUnavailable
        case .unusableResponse(let why):
            rail.logger.warning("unusable answer from the acquirer: the request will be reversed", metadata: ["reason": "\(why)"])
            rail.journal.hostAnswerUnusable(ticket)
            hostTimedOut = true
            return .onlineUnavailable
        }
    }

    /// The kernel's view of the host's answer: '91' and the '71'/'72' templates of field 55, original bytes.
    static func onlineResponse(_ response: AuthorizationResponse) -> OnlineResponse {
        let nodes = (try? TLVNode.sequence(tlvEncoded: response.iccData)) ?? []
        let issuerAuthentication = nodes.first { $0.tag == TLVTag(0x91) }.map { Array($0.value) }
        var scripts: [UInt8] = []
        for node in nodes where node.tag == TLVTag(0x71) || node.tag == TLVTag(0x72) { scripts += node.encodedBytes }
        return OnlineResponse(
            responseCode: response.responseCode, authorizationCode: response.authorizationCode,
            issuerAuthenticationData: issuerAuthentication, issuerScripts: scripts)
    }

    // MARK: Outcome

    func finish(_ outcome: KernelOutcome) -> TerminalFlow.PaymentResult {
        let data = outcome.cardData
        let recorded = data.map { d in
            RailCardData(
                pan: d.pan, panSequenceNumber: d.panSequenceNumber, expiry: d.expiry.map { Hex.encode($0.yymmdd.prefix(2)) } ?? "",
                track2Equivalent: card?.track2Equivalent ?? [], cardholderName: d.cardholderName, applicationLabel: d.label,
                aid: d.aid, entryMode: "051", iccData: d.iccData)
        }
        // A request that timed out may have been approved by the host: it is reversed whatever the card decided.
        let needsReversal = outcome.needsReversal || hostTimedOut
        let status: RailOutcome.Status
        var lines: [Screen.Text] = []
        switch outcome.decision {
        case .approvedOnline: status = .approved
        case .approvedOffline:
            status = .offlineApproved
            lines.append(.ui(.approvedOffline))
        case .declinedOffline, .declinedOnline:
            status = .declined
            if let code = hostResponse?.responseCode, !code.isEmpty { lines.append(.ui(.responseCode(code))) }
        case .declinedByCardAfterOnlineApproval:
            status = .reversed
            lines.append(.ui(.declinedByCard))
        case .aborted(let reason):
            status = needsReversal ? .reversed : .failed
            lines.append(.ui(Self.text(for: reason)))
        }
        if let refusal = offlineRefusal, outcome.unableToGoOnline, status != .approved {
            lines.append(refusal)
        }
        let record = RailOutcome(
            status: status, card: recorded, responseCode: hostResponse?.responseCode,
            authorizationCode: hostResponse?.authorizationCode, retrievalReference: hostResponse?.retrievalReference,
            needsReversal: needsReversal, needsAdvice: outcome.needsAdvice || status == .offlineApproved,
            signatureRequired: outcome.signatureRequired, detail: "\(outcome.decision)")
        do {
            // Durable before anything is shown or printed.
            try rail.journal.complete(ticket, outcome: record)
        } catch {
            rail.logger.error("cannot store the outcome: the sale is not approved", metadata: ["error": "\(error)"])
            return .declined(lines: [.ui(.storeUnavailable)])
        }
        rail.logger.info("chip transaction complete", metadata: [
            "ref": "\(ticket.transactionReference)", "decision": "\(outcome.decision)",
            "card": "\(data.map { EMVDataDictionary.maskedPAN($0.pan) } ?? "-")",
            "tvr": "\(Hex.encode(outcome.tvr.bytes))", "tsi": "\(Hex.encode(outcome.tsi.bytes))",
        ])
        switch status {
        case .approved, .offlineApproved:
            if let code = hostResponse?.authorizationCode { lines.append(.ui(.authCode(code))) }
            if outcome.signatureRequired { lines.append(.ui(.signatureRequired)) }
            lines.append(.ui(.removeCard))
            for copy in Receipts.Copy.allCases { session.print(receipt(outcome: outcome, status: status, copy: copy)) }
            return .approved(lines: lines)
        case .declined, .reversed, .failed:
            lines.append(.ui(.removeCard))
            return .declined(lines: lines)
        }
    }

    static func text(for reason: AbortReason) -> UIString {
        switch reason {
        case .cardRemoved: .cardRemoved
        case .cardError, .malformedData, .terminalError: .cardError
        case .notAccepted: .cardNotAccepted
        case .cancelled, .pinEntryCancelled: .cancelled
        case .timeout: .timedOut
        }
    }

    /// A receipt copy (``Receipts``): merchant, terminal data, masked PAN, application, amount, the EMV data a chip
    /// receipt shows (AID, TVR, TSI, cryptogram and its type), approval code and RRN, the offline marker, and on the
    /// merchant copy a signature line when the CVM asks for one.
    func receipt(outcome: KernelOutcome, status: RailOutcome.Status, copy: Receipts.Copy) -> PrintDocument {
        let config = rail.configuration
        let data = outcome.cardData
        let ticket = rail.journal.recorded(self.ticket)
        let chip = Receipts.ChipData(
            tvr: Hex.encode(outcome.tvr.bytes), tsi: Hex.encode(outcome.tsi.bytes),
            cryptogramType: data?.cid.map { cid in cid & 0xC0 == 0x40 ? "TC" : cid & 0xC0 == 0x80 ? "ARQC" : "AAC" },
            cryptogram: data.map { Hex.encode($0.cryptogram) })
        let transaction = Receipts.Transaction(
            kind: .sale, rail: .emvContact, amountMinor: amount, currency: currency, stan: ticket.stan, batch: ticket.batch,
            localTime: rail.clock.localDateTime().text, approved: true, offline: status == .offlineApproved,
            maskedPAN: data.map { EMVDataDictionary.maskedPAN($0.pan) }, aid: data.map { Hex.encode($0.aid) },
            applicationLabel: data?.label, chip: chip, retrievalReference: hostResponse?.retrievalReference,
            authorizationCode: hostResponse?.authorizationCode, signatureRequired: outcome.signatureRequired)
        let header = Receipts.Header(
            merchantName: session.merchantName ?? config.merchantName, terminalID: config.parameters.terminal.terminalIdentification,
            merchantID: config.parameters.terminal.merchantIdentifier)
        return Receipts.receipt(transaction, header: header, copy: copy, language: session.language)
    }
}
