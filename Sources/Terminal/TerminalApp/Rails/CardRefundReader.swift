import Codecs
public import ContactlessKernel
public import DeviceKit
public import EMVKernel
public import Logging
public import PaymentCrypto
public import Store
public import TerminalUI

/// The card-present step of a card refund (docs/merchant-operations.md "refund by reference"): after the merchant
/// picked the original sale and the amount, the terminal asks for the cardholder's card ("请插卡或挥卡 / Insert or tap
/// card") and reads it through the pure ``EMVContactKernel`` with Transaction Type '9C' = '20' (refund): application
/// selection, GET PROCESSING OPTIONS, READ RECORD, offline data authentication, restrictions, no cardholder
/// verification (no PIN for a refund), and a first GENERATE AC asking for an AAC: the card declines offline, and the
/// refund then goes online as an 0200 `200000` carrying what was read (PAN, expiry, PAN sequence number, field 55).
///
/// A tap (where the reader has ``Contactless``) is read through ``ContactlessEntryPoint`` with the same Transaction
/// Type and "online cryptogram required": Kernel 2 asks for an AAC as the contact kernel does; a Kernel 3 card
/// chooses its cryptogram at GPO (an ARQC on the simulator's cards), which goes in field 55 unverified, for the
/// host's records. A card over the contactless limit (Try Another Interface) is asked for in the slot. Without
/// ``Contactless`` a tap is answered with "please insert card". The PAN never leaves ``RefundCard/pan`` (``SecretBytes``) and is never logged.
public struct CardRefundReader: Sendable {
    /// What the read gave.
    public enum Outcome: Sendable {
        /// The card was read (its first GENERATE AC answered with the AAC a refund asks for).
        case card(RefundCard)
        /// CANCEL while the terminal waited for the card.
        case cancelled
        /// No card within ``timeoutMilliseconds``.
        case timedOut
        /// The card left the reader during the read.
        case cardRemoved
        /// The card could not be read (no common application, a card error, malformed data).
        case cardError(Screen.Text)
    }

    /// The card data of a refund, read from the card.
    public struct RefundCard: Sendable {
        /// The PAN as ASCII digits ('5A' without padding).
        public var pan: SecretBytes
        /// Application Expiration Date '5F24' as `YYMM` (field 14).
        public var expiry: String?
        /// PAN Sequence Number '5F34' (field 23).
        public var panSequenceNumber: Int?
        /// The ICC data of the refund's read (field 55: '9C' '20', the AAC and its data).
        public var iccData: [UInt8]
        /// How the card was read (field 22: chip `051`, contactless `071`).
        public var entryMode: EntryMode
        /// The selected AID, hex.
        public var aid: String
        /// The application label for the receipt.
        public var label: String
    }

    let connect: @Sendable (Presentation) throws -> any CardConnection
    let parameters: @Sendable () -> TerminalParameters
    let clock: any TerminalClock
    let random: any RandomSource
    let logger: Logger
    /// How long the terminal waits for the card.
    public var timeoutMilliseconds: Int64 = 30_000
    /// The contactless field, or `nil`: chip only.
    public var contactless: Contactless?
    /// Where a refund's Transaction Sequence Counter '9F41' comes from: the terminal's counter, shared with the card
    /// rails (`nil`: the clock's seconds, n8, for a reader without a store).
    public var sequenceCounter: TransactionSequenceCounter?

    /// The contactless field for a refund's tap: the field (as ``ContactlessRail`` has it) and the reader's
    /// AID / kernel combinations.
    public struct Contactless: Sendable {
        let present: @Sendable (String) throws -> ContactlessFieldPresence
        let combinations: [ContactlessCombination]

        /// The field and the combinations.
        public init(present: @escaping @Sendable (String) throws -> ContactlessFieldPresence, combinations: [ContactlessCombination]) {
            self.present = present
            self.combinations = combinations
        }
    }

    /// A reader over the board's card slot (`connect`, as ``EMVContactRail`` has it) with the EMV parameters in
    /// force when the refund starts (`parameters`, called once per refund).
    public init(
        connect: @escaping @Sendable (Presentation) throws -> any CardConnection,
        parameters: @escaping @Sendable () -> TerminalParameters, clock: any TerminalClock, random: any RandomSource,
        logger: Logger
    ) {
        self.connect = connect
        self.parameters = parameters
        self.clock = clock
        self.random = random
        self.logger = logger
    }

    /// Asks for the card and reads it for a refund of `amount` (minor units of `currency`). `preferredAID` (hex):
    /// the original sale's application, chosen when the card offers several.
    public func read(amount: Int, currency: Currency, preferredAID: String?, session: PaymentSession) async -> Outcome {
        let sequence: UInt32
        do {
            sequence = try sequenceCounter?.next() ?? UInt32(truncatingIfNeeded: max(0, clock.unixTime()) % 100_000_000)
        } catch {
            logger.error("refund: cannot draw the transaction sequence counter", metadata: ["error": "\(error)"])
            return .cardError(.ui(.notAvailable))
        }
        var notice: Screen.Text = .ui(.present(.card))
        while true {
            session.show(.info(.init(
                title: .ui(.merchantRefund),
                lines: [.raw(currency.display(minorUnits: amount, language: session.language)), notice])))
            guard let presentation = await waitForCard(session) else { return .cancelled }
            switch presentation {
            case .success(.tapped(let name)):
                guard let contactless else {
                    notice = .ui(.insertCardInstead)  // chip only on this board
                    continue
                }
                session.show(.processing(.init()))
                switch readTap(name, contactless: contactless, amount: amount, sequence: sequence) {
                case .insertCard: notice = .ui(.insertCardInstead)
                case .presentAgain(let text): notice = text
                case .done(let outcome): return outcome
                }
            case .success(let inserted):
                session.show(.processing(.init()))
                let connection: any CardConnection
                do {
                    connection = try connect(inserted)
                } catch {
                    logger.warning("refund: cannot reach the card", metadata: ["error": "\(error)"])
                    return .cardError(.ui(.cardError))
                }
                defer { connection.disconnect() }
                return await readCard(connection, amount: amount, preferredAID: preferredAID, sequence: sequence, session: session)
            case .failure(let ended):
                return ended == .timedOut ? .timedOut : .cancelled
            }
        }
    }

    enum WaitEnded: Error { case cancelled, timedOut }

    /// The next insertion or tap; `nil` when the terminal shuts down.
    func waitForCard(_ session: PaymentSession) async -> Result<Presentation, WaitEnded>? {
        var deadline: Int64?
        for await input in session.inputs {
            switch input {
            case .key(.cancel):
                return .failure(.cancelled)
            case .key:
                continue
            case .tick(let now):
                guard let limit = deadline else {
                    deadline = now + timeoutMilliseconds
                    continue
                }
                if now >= limit { return .failure(.timedOut) }
            case .presentation(.inserted(let name)):
                return .success(.inserted(name: name))
            case .presentation(.tapped(let name)):
                return .success(.tapped(name: name))
            case .presentation:
                continue
            }
        }
        return nil
    }

    enum TapResult {
        case insertCard
        case presentAgain(Screen.Text)
        case done(Outcome)
    }

    /// One tap through Entry Point with Transaction Type '20'.
    func readTap(_ name: String, contactless: Contactless, amount: Int, sequence: UInt32) -> TapResult {
        let presence: ContactlessFieldPresence
        do {
            presence = try contactless.present(name)
        } catch {
            logger.warning("refund: cannot reach the tapped card", metadata: ["error": "\(error)"])
            return .done(.cardError(.ui(.cardError)))
        }
        guard case .card(let connection, let modelled) = presence else { return .presentAgain(.ui(.presentOneCard)) }
        defer { connection.disconnect() }
        let now = clock.localDateTime()
        let date = EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 1, day: 1)!
        var entryPoint = ContactlessEntryPoint(
            parameters: ContactlessParameters(terminal: parameters(), combinations: contactless.combinations),
            transaction: EMVTransaction(
                amountAuthorised: amount, transactionType: .refund, date: date, hour: now.hour, minute: now.minute,
                second: now.second, sequenceCounter: sequence, forceOnline: true, languageCodes: ["zh", "en"]),
            random: random)
        let outcome = entryPoint.run(transmit: { command in
            do {
                let answer = try APDUExchange.run(command) { try connection.transmit($0) }
                return .response(answer, elapsedMicroseconds: modelled?() ?? 0)
            } catch {
                return .cardRemoved
            }
        })
        if outcome.status == .tryAnotherInterface { return .insertCard }
        guard let card = outcome.cardData, !card.pan.isEmpty else {
            if outcome.status == .tryAgain { return .presentAgain(.ui(.presentCardAgain)) }
            return .done(.cardError(.ui(.cardError)))
        }
        return .done(.card(RefundCard(
            pan: SecretBytes(Array(card.pan.utf8)), expiry: card.expiry.map(Self.yymm),
            panSequenceNumber: card.panSequenceNumber, iccData: outcome.onlineRequest?.iccData ?? card.iccData,
            entryMode: .contactless, aid: Hex.encode(card.aid), label: card.label)))
    }

    /// `YYMM` of an expiry date (field 14).
    static func yymm(_ date: EMVDate) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n % 100)" }
        return two(date.year % 100) + two(date.month)
    }

    /// Drives the kernel for the refund's read on an open connection.
    func readCard(
        _ connection: any CardConnection, amount: Int, preferredAID: String?, sequence: UInt32, session: PaymentSession
    ) async -> Outcome {
        let now = clock.localDateTime()
        let date = EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 1, day: 1)!
        var kernel = EMVContactKernel(
            parameters: parameters(),
            transaction: EMVTransaction(
                amountAuthorised: amount, transactionType: .refund, date: date, hour: now.hour, minute: now.minute,
                second: now.second, sequenceCounter: sequence, languageCodes: ["zh", "en"]),
            random: random)
        var pending = kernel.start()
        var steps = 0
        while !pending.isEmpty {
            steps += 1
            guard steps < 500 else { break }  // a card that never ends the read
            let action = pending.removeFirst()
            let event: KernelEvent?
            switch action {
            case .transmit(let command):
                do {
                    event = .response(try APDUExchange.run(command) { try connection.transmit($0) })
                } catch {
                    logger.info("refund: card exchange failed", metadata: ["command": "\(APDUTrace.commandName(command))"])
                    event = .cardRemoved
                }
            case .show, .selectedLanguage:
                event = nil
            case .chooseApplication(let candidates):
                // The original's application when the card offers it, else the first (highest priority).
                let index = candidates.firstIndex { Hex.encode($0.aid) == preferredAID } ?? 0
                event = .applicationChosen(index: candidates.isEmpty ? nil : index)
            case .enterOnlinePIN:
                event = .onlinePIN(.bypassed)  // never asked for a refund
            case .verifyOfflinePIN:
                event = .offlinePINNotEntered(.bypassed)
            case .lookupTransactionLog:
                event = .transactionLogTotal(0)
            case .goOnline:
                event = .onlineUnavailable  // never asked for a refund: its first GENERATE AC asks for an AAC
            case .complete(let outcome):
                return Self.outcome(outcome)
            }
            if let event { pending += kernel.handle(event) }
        }
        return .cardError(.ui(.cardError))
    }

    /// The kernel's outcome as the refund sees it: the card data of a read that ended in the AAC asked for.
    static func outcome(_ outcome: KernelOutcome) -> Outcome {
        switch outcome.decision {
        case .aborted(.cardRemoved):
            return .cardRemoved
        case .aborted(.notAccepted):
            return .cardError(.ui(.cardNotAccepted))
        case .aborted(.cancelled):
            return .cancelled
        case .declinedOffline:
            guard let card = outcome.cardData, !card.pan.isEmpty else { return .cardError(.ui(.cardError)) }
            return .card(RefundCard(
                pan: SecretBytes(Array(card.pan.utf8)), expiry: card.expiry.map(yymm), panSequenceNumber: card.panSequenceNumber,
                iccData: card.iccData, entryMode: .chip, aid: Hex.encode(card.aid), label: card.label))
        case .aborted, .approvedOnline, .approvedOffline, .declinedOnline, .declinedByCardAfterOnlineApproval:
            return .cardError(.ui(.cardError))
        }
    }
}
