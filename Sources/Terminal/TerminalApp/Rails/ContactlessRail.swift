#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Codecs
public import ContactlessKernel
public import DeviceKit
import EMVKernel
public import Logging
public import PaymentCrypto
public import Store
public import TerminalUI
import Synchronization

/// What the reader found in the field when something was tapped.
public enum ContactlessFieldPresence {
    /// One card or phone; `modelledMicroseconds` gives the simulated duration of the last exchange (virtual cards),
    /// `nil` on a real reader (the rail measures wall time then).
    case card(any CardConnection, modelledMicroseconds: (() -> Int)?)
    /// More than one card answered anticollision.
    case collision
}

/// The kernel's own CPU time: the calling thread's CPU clock (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`).
public struct ThreadCPUClock: ProcessingClock {
    /// The clock of the calling thread.
    public init() {}
    /// CPU time of the calling thread, nanoseconds.
    public func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The contactless rail: taps of cards and phones through ``ContactlessEntryPoint`` (EMV Book B, Kernels 2, 3 and
/// qPBOC), then, without the card, online PIN through ``PaymentSession/enterPIN(amount:currency:timeoutMilliseconds:notice:use:)``
/// and the authorisation through the same ``AcquirerLink`` and ``RailJournal`` as the contact rail.
///
/// Restarts stay inside one payment: "See Phone", "Present 1 card only" and a torn transaction wait for the next tap;
/// Try Another Interface waits for the card in the slot and hands the payment to `fallback` (the contact rail).
public struct ContactlessRail: PaymentRail {
    /// What the rail needs besides its seams.
    public struct Configuration: Sendable {
        /// Terminal data, CA keys and the contactless combinations with their limits.
        public var parameters: ContactlessParameters
        /// The parameter set in force (docs/terminal-management.md): each payment takes a snapshot of it at its start
        /// and keeps it to its end (`beginTransaction` / `endTransaction`), so a set or a PIN key downloaded meanwhile
        /// waits for the payment to end. The snapshot's EMV parameters replace ``parameters``' terminal data and the
        /// combinations' reader limits (``ContactlessParameters/applying(_:)``). `nil`: ``parameters`` always.
        public var activeParameters: ActiveParameterSet?
        /// The transaction currency.
        public var currency: Currency
        /// The merchant name for the receipt.
        public var merchantName: String
        /// The key store entry of the DUKPT PIN key.
        public var pinKeyName: String
        /// How long the rail waits for the second tap or the insertion, milliseconds.
        public var presentTimeoutMilliseconds: Int64

        /// A configuration; 30 s to present again or insert.
        public init(
            parameters: ContactlessParameters, currency: Currency, merchantName: String, pinKeyName: String,
            presentTimeoutMilliseconds: Int64 = 30_000
        ) {
            self.parameters = parameters
            self.currency = currency
            self.merchantName = merchantName
            self.pinKeyName = pinKeyName
            self.presentTimeoutMilliseconds = presentTimeoutMilliseconds
        }

        /// The simulator's reader limits (minor units), the defaults of a parameters file without a `[contactless]`
        /// table (``ContactlessLimitParameters/standard``): contactless up to 999.99 (9999.99 with on-device CVM),
        /// floor limit 50.00, CVM required from 300.00.
        public static let simulatorLimits = ContactlessReaderLimits(ContactlessLimitParameters.standard)
    }

    /// The journal's rail name.
    public let name = "emv-contactless"
    let configuration: Configuration
    let connect: @Sendable (String) throws -> ContactlessFieldPresence
    let acquirer: any AcquirerLink
    let journal: any RailJournal
    let keys: Locked<KeyStore>
    let clock: any TerminalClock
    let random: any RandomSource
    let logger: Logger
    let fallback: (any PaymentRail)?
    let tornLog = TornLog()

    /// A rail; `connect` finds what is in the field for a tapped name, `fallback` takes Try Another Interface.
    public init(
        configuration: Configuration, connect: @escaping @Sendable (String) throws -> ContactlessFieldPresence,
        acquirer: any AcquirerLink, journal: any RailJournal, keys: Locked<KeyStore>, clock: any TerminalClock,
        random: any RandomSource, logger: Logger, fallback: (any PaymentRail)?
    ) {
        self.configuration = configuration
        self.connect = connect
        self.acquirer = acquirer
        self.journal = journal
        self.keys = keys
        self.clock = clock
        self.random = random
        self.logger = logger
        self.fallback = fallback
    }

    /// Taps, for a card payment or any method.
    public func accepts(_ presentation: Presentation, method: PaymentMethod?) -> Bool {
        guard case .tapped = presentation else { return false }
        return method == nil || method == .card
    }

    /// Runs the taps of one payment to its outcome (see the type's discussion).
    public func pay(amount: Int, presentation: Presentation, session: PaymentSession) async
        -> TerminalFlow.PaymentResult
    {
        guard case .tapped(var tapName) = presentation else { return .notAvailable }
        // The parameter snapshot, held to the end of the payment (Try Another Interface included).
        let snapshot = configuration.activeParameters?.beginTransaction()
        defer { configuration.activeParameters?.endTransaction() }
        let parameters = snapshot?.emv.map { configuration.parameters.applying($0) } ?? configuration.parameters
        session.show(.processing(.init()))
        let ticket: RailTicket
        do {
            ticket = try journal.begin(
                .init(rail: name, kind: "sale", amount: amount, currencyCode: configuration.currency.numericCode))
        } catch {
            logger.error("cannot open a transaction in the store: no sale", metadata: ["error": "\(error)"])
            return .declined(lines: [.ui(.storeUnavailable)])
        }
        let offlineRefusal: Screen.Text?
        do { offlineRefusal = try journal.offlineAllowed(amount: amount, rail: name) } catch {
            offlineRefusal = .ui(.storeUnavailable)
        }
        let now = clock.localDateTime()
        let date = EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 1, day: 1)!
        let transaction = EMVTransaction(
            amountAuthorised: amount, date: date, hour: now.hour, minute: now.minute, second: now.second,
            sequenceCounter: ticket.sequence, forceOnline: offlineRefusal != nil)
        var restart = false
        for _ in 0..<4 {
            let outcome: ContactlessOutcome
            do {
                outcome = try tap(
                    tapName, parameters: parameters, transaction: transaction, restart: restart, session: session)
            } catch {
                logger.warning("cannot reach the tapped card", metadata: ["error": "\(error)"])
                recordFailure(ticket, detail: "card not reachable")
                return .declined(lines: [.ui(.cardError)])
            }
            if let torn = outcome.tornRecord { tornLog.add(torn) }
            if let cleared = outcome.clearedTornRecord { tornLog.remove(cleared) }
            logger.info(
                "contactless tap",
                metadata: [
                    "ref": "\(ticket.transactionReference)", "kernel": "\(outcome.kernel.map { "\($0)" } ?? "-")",
                    "outcome": "\(outcome.status)", "cvm": "\(outcome.cvm)",
                    "card": "\(outcome.cardData.map { EMVDataDictionary.maskedPAN($0.pan) } ?? "-")",
                    "kernelMicroseconds": "\(outcome.kernelProcessingNanoseconds / 1000)",
                ])
            switch outcome.status {
            case .approved:
                return finish(
                    ticket, amount: amount, outcome: outcome, status: .offlineApproved, host: nil, session: session)
            case .declined:
                return finish(ticket, amount: amount, outcome: outcome, status: .declined, host: nil, session: session)
            case .onlineRequest:
                return await goOnline(ticket, amount: amount, outcome: outcome, session: session)
            case .tryAnotherInterface:
                recordFailure(ticket, detail: "try another interface")
                return await insteadInsert(amount: amount, session: session)
            case .tryAgain, .endApplication, .selectNext:
                guard outcome.restart else {
                    recordFailure(ticket, detail: "end application")
                    return .declined(lines: [.ui(.cardError)])
                }
                let message: UIString =
                    switch outcome.uiRequestOnOutcome?.message {
                    case .seePhone: .seePhone
                    case .presentOneCardOnly: .presentOneCard
                    default: .presentCardAgain
                    }
                guard let next = await waitForTap(message: message, session: session) else {
                    recordFailure(ticket, detail: "no second tap")
                    return .cancelled
                }
                tapName = next
                restart = true
            }
        }
        recordFailure(ticket, detail: "too many taps")
        return .declined(lines: [.ui(.cardError)])
    }

    /// One tap through Entry Point, synchronously (APDU exchanges block, as in the contact rail).
    func tap(
        _ name: String, parameters: ContactlessParameters, transaction: EMVTransaction, restart: Bool,
        session: PaymentSession
    ) throws -> ContactlessOutcome {
        let presence = try connect(name)
        var entryPoint = ContactlessEntryPoint(
            parameters: parameters, transaction: transaction, random: random, clock: ThreadCPUClock(),
            tornLog: tornLog.records, restart: restart)
        let show: (UserInterfaceRequest) -> Void = { request in
            let lit = request.indicatorsLit, beep = request.beep != nil
            switch request.message {
            case .cardReadOKRemoveCard:
                session.show(.processing(.init(message: .ui(.removeCard), indicators: lit, beep: beep)))
            case .processing: session.show(.processing(.init(indicators: lit, beep: beep)))
            default: break
            }
        }
        switch presence {
        case .collision:
            return entryPoint.run(collision: true, transmit: { _ in .cardRemoved }, userInterface: show)
        case .card(let connection, let modelled):
            defer { connection.disconnect() }
            return entryPoint.run(
                transmit: { command in
                    let started = clock.monotonicMilliseconds()
                    do {
                        let answer = try APDUExchange.run(command) { try connection.transmit($0) }
                        let elapsed = modelled?() ?? Int(clock.monotonicMilliseconds() - started) * 1000
                        return .response(answer, elapsedMicroseconds: elapsed)
                    } catch {
                        return .cardRemoved
                    }
                }, userInterface: show)
        }
    }

    /// Waits for the next tap (See Phone, one card only, present again); `nil` on cancel or timeout.
    func waitForTap(message: UIString, session: PaymentSession) async -> String? {
        // Ready to read again: one light; the alert tone went with the outcome.
        session.show(.processing(.init(message: .ui(message), indicators: 1, beep: true)))
        var deadline: Int64?
        for await input in session.inputs {
            switch input {
            case .presentation(.tapped(let name)): return name
            case .key(.cancel): return nil
            case .tick(let now):
                guard let limit = deadline else {
                    deadline = now + configuration.presentTimeoutMilliseconds
                    continue
                }
                if now >= limit { return nil }
            case .key, .presentation: continue
            }
        }
        return nil
    }

    /// Try Another Interface: "Please insert card", then the contact rail takes the payment.
    func insteadInsert(amount: Int, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        session.show(.processing(.init(message: .ui(.insertCardInstead))))
        guard let fallback else { return .declined(lines: [.ui(.insertCardInstead)]) }
        var deadline: Int64?
        for await input in session.inputs {
            switch input {
            case .presentation(let p) where fallback.accepts(p, method: .card):
                return await fallback.pay(amount: amount, presentation: p, session: session)
            case .key(.cancel): return .cancelled
            case .tick(let now):
                guard let limit = deadline else {
                    deadline = now + configuration.presentTimeoutMilliseconds
                    continue
                }
                if now >= limit { return .declined(lines: [.ui(.timedOut)]) }
            case .key, .presentation: continue
            }
        }
        return .cancelled
    }

    // MARK: Online

    func goOnline(_ start: RailTicket, amount: Int, outcome: ContactlessOutcome, session: PaymentSession) async
        -> TerminalFlow.PaymentResult
    {
        guard let request = outcome.onlineRequest else {
            recordFailure(start, detail: "online request without data")
            return .declined(lines: [.ui(.cardError)])
        }
        var ticket = start
        var pin: (keySerialNumber: [UInt8], block: [UInt8])?
        if outcome.cvm == .onlinePIN {
            let keys = self.keys, keyName = configuration.pinKeyName, random = self.random, pan = request.pan
            let entry = await session.enterPIN(amount: amount, currency: configuration.currency) {
                digits -> Result<(keySerialNumber: [UInt8], encryptedBlock: [UInt8]), any Error> in
                Result {
                    var ascii = digits.map { $0 + 0x30 }
                    defer { for i in ascii.indices { ascii[i] = 0 } }
                    let clear = try PINBlock.encode(format: .format0, pin: SecretBytes(ascii), pan: pan, random: random)
                    return try keys.withLock { try $0.encryptPINBlock(keyName, clearBlock: clear) }
                }
            }
            switch entry {
            case .entered(.success(let encrypted)): pin = (encrypted.keySerialNumber, encrypted.encryptedBlock)
            case .entered(.failure(let error)):
                logger.error("online PIN could not be enciphered", metadata: ["error": "\(error)"])
                recordFailure(ticket, detail: "PIN pad not working")
                return .declined(lines: [.ui(.cardError)])
            case .cancelled, .cardRemoved:
                recordFailure(ticket, detail: "PIN entry cancelled")
                return .cancelled
            case .timedOut:
                recordFailure(ticket, detail: "PIN entry timed out")
                return .declined(lines: [.ui(.timedOut)])
            }
            session.show(.processing(.init()))
        }
        let card = railCard(outcome, request: request)
        do {
            ticket = try journal.prepareOnline(ticket, card: card)
        } catch {
            logger.error("cannot arm the reversal: no online request", metadata: ["error": "\(error)"])
            return finish(
                ticket, amount: amount, outcome: outcome, status: .declined, host: nil, session: session,
                extra: [.ui(.hostUnavailable)])
        }
        let reply = await acquirer.authorize(
            .init(
                transactionReference: ticket.transactionReference, stan: ticket.stan, amount: amount,
                currencyCode: configuration.currency.numericCode, pan: request.pan,
                panSequenceNumber: request.panSequenceNumber,
                expiry: card.expiry, track2Equivalent: request.track2Equivalent, iccData: request.iccData,
                entryMode: card.entryMode, pinBlock: pin?.block, keySerialNumber: pin?.keySerialNumber,
                localDateTime: clock.localDateTime()))
        switch reply {
        case .answered(let response):
            do { try journal.hostAnswered(ticket, response: response, keepReversal: false) } catch {
                logger.error("cannot record the host's answer", metadata: ["error": "\(error)"])
            }
            let approved = ["00", "08", "10", "11"].contains(response.responseCode)
            return finish(
                ticket, amount: amount, outcome: outcome, status: approved ? .approved : .declined, host: response,
                session: session)
        case .unreachable(let why):
            logger.warning("acquirer unreachable", metadata: ["reason": "\(why)"])
            do { try journal.hostAnswered(ticket, response: nil, keepReversal: false) } catch {
                logger.error("cannot disarm the reversal", metadata: ["error": "\(error)"])
            }
            return finish(
                ticket, amount: amount, outcome: outcome, status: .declined, host: nil, session: session,
                extra: [.ui(.hostUnavailable)])
        case .timedOut, .unusableResponse:
            if case .unusableResponse(let why) = reply {
                logger.warning("unusable answer from the acquirer: the request will be reversed", metadata: ["reason": "\(why)"])
                journal.hostAnswerUnusable(ticket)
            } else {
                logger.warning("no answer from the acquirer in time: the request will be reversed")
            }
            return finish(
                ticket, amount: amount, outcome: outcome, status: .reversed, host: nil, session: session,
                extra: [.ui(.hostUnavailable)], needsReversal: true)
        }
    }

    func railCard(_ outcome: ContactlessOutcome, request: OnlineRequest?) -> RailCardData {
        let data = outcome.cardData
        return RailCardData(
            pan: data?.pan ?? request?.pan ?? "",
            panSequenceNumber: data?.panSequenceNumber ?? request?.panSequenceNumber,
            expiry: (data?.expiry ?? request?.expiry).map { Hex.encode($0.yymmdd.prefix(2)) } ?? "",
            track2Equivalent: request?.track2Equivalent ?? [], cardholderName: data?.cardholderName,
            applicationLabel: data?.label ?? "", aid: data?.aid ?? request?.aid ?? [], entryMode: "071",
            iccData: data?.iccData ?? request?.iccData ?? [])
    }

    // MARK: Outcome

    func finish(
        _ ticket: RailTicket, amount: Int, outcome: ContactlessOutcome, status: RailOutcome.Status,
        host: AuthorizationResponse?, session: PaymentSession, extra: [Screen.Text] = [], needsReversal: Bool = false
    ) -> TerminalFlow.PaymentResult {
        let signature = outcome.cvm == .signature
        let record = RailOutcome(
            status: status, card: outcome.cardData.map { _ in railCard(outcome, request: outcome.onlineRequest) },
            responseCode: host?.responseCode, authorizationCode: host?.authorizationCode,
            retrievalReference: host?.retrievalReference, needsReversal: needsReversal,
            needsAdvice: status == .offlineApproved, signatureRequired: signature,
            detail: "contactless \(outcome.status) \(outcome.cvm)")
        do {
            try journal.complete(ticket, outcome: record)
        } catch {
            logger.error("cannot store the outcome: the sale is not approved", metadata: ["error": "\(error)"])
            return .declined(lines: [.ui(.storeUnavailable)])
        }
        var lines = extra
        switch status {
        case .approved, .offlineApproved:
            if status == .offlineApproved { lines.append(.ui(.approvedOffline)) }
            if let code = host?.authorizationCode { lines.append(.ui(.authCode(code))) }
            if signature { lines.append(.ui(.signatureRequired)) }
            session.print(
                receipt(
                    ticket, amount: amount, outcome: outcome, host: host, offline: status == .offlineApproved,
                    merchantName: session.merchantName))
            return .approved(lines: lines)
        case .declined, .reversed, .failed:
            if let code = host?.responseCode, !code.isEmpty { lines.append(.ui(.responseCode(code))) }
            return .declined(lines: lines)
        }
    }

    func recordFailure(_ ticket: RailTicket, detail: String) {
        do {
            try journal.complete(
                ticket,
                outcome: .init(
                    status: .failed, card: nil, responseCode: nil, authorizationCode: nil, retrievalReference: nil,
                    needsReversal: false, needsAdvice: false, signatureRequired: false, detail: detail))
        } catch {
            logger.error("cannot record a failed transaction", metadata: ["error": "\(error)"])
        }
    }

    func receipt(
        _ ticket: RailTicket, amount: Int, outcome: ContactlessOutcome, host: AuthorizationResponse?, offline: Bool,
        merchantName: String? = nil
    ) -> PrintDocument {
        let terminal = configuration.parameters.terminal.terminal
        var elements: [PrintDocument.Element] = [
            .text(merchantName ?? configuration.merchantName, alignment: .center, emphasis: true),
            .text("签购单 SALE RECEIPT", alignment: .center),
            .text("终端 TID: \(terminal.terminalIdentification)"),
            .text("商户 MID: \(terminal.merchantIdentifier)"),
            .text("时间 \(clock.localDateTime().text)"),
            .text("流水 STAN: \(ticket.stan)  参考 REF: \(ticket.transactionReference)"),
        ]
        if let data = outcome.cardData {
            elements += [
                .text("卡号 CARD: \(EMVDataDictionary.maskedPAN(data.pan)) (CTLS)"),
                .text("应用 APP: \(data.label)"),
                .text("AID: \(Hex.encode(data.aid))"),
                .text("AC: \(Hex.encode(data.cryptogram))  ATC: \(Hex.encode(data.atc))"),
            ]
        }
        elements.append(
            .text("消费 SALE  \(configuration.currency.format(minorUnits: amount))", emphasis: true, doubleSize: true))
        if outcome.cvm == .confirmationCodeVerified { elements.append(.text("已在设备上验证 VERIFIED ON DEVICE")) }
        if let code = host?.authorizationCode { elements.append(.text("授权码 AUTH: \(code)")) }
        elements.append(.text(offline ? "脱机批准 APPROVED OFFLINE" : "交易成功 APPROVED", alignment: .center, emphasis: true))
        if outcome.cvm == .signature {
            elements += [
                .feed(2), .text("持卡人签名 CARDHOLDER SIGNATURE:"), .feed(2), .text("________________________________"),
            ]
        }
        elements.append(.feed(3))
        return PrintDocument(elements)
    }
}

/// The torn-transaction log of Kernel 2 (Book C-2 3.9), kept in memory for the life of the run.
final class TornLog: Sendable {
    private let state = Mutex<[TornTransactionRecord]>([])
    var records: [TornTransactionRecord] { state.withLock { $0 } }
    func add(_ record: TornTransactionRecord) { state.withLock { $0.append(record) } }
    func remove(_ record: TornTransactionRecord) { state.withLock { $0.removeAll { $0 == record } } }
}
