import Codecs
public import DeviceKit
public import Logging
public import PaymentCrypto
public import PrepaidPurse
public import Store
import Synchronization
import VirtualCards
public import TerminalUI
import Uplink

/// A purse card over a DeviceKit reader session.
final class PurseConnectionChannel: PurseCardChannel {
    let connection: any CardConnection
    init(_ connection: any CardConnection) { self.connection = connection }
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        try ResponseAPDU(apduEncoded: try connection.transmit(command.encoded))
    }
}

/// What a prepaid operation ended with: approved or not, and the lines for the outcome screen and receipt (no
/// card number beyond its last four digits).
public struct PrepaidOutcome: Sendable, Equatable {
    /// Whether the operation was done.
    public var approved: Bool
    /// The outcome lines.
    public var lines: [Screen.Text]
    /// The card's balance after the operation, in fen, when known.
    public var balance: Int?
}

/// The prepaid card operations of the merchant menu and the Prepaid payment method (docs/prepaid.md §7): issue,
/// top-up, balance and offline purchase, with torn-purchase recovery on every presentation.
///
/// Purchases are offline: the SAM's MAC1, the card's MAC2 and TAC are verified, the prepared purchase is sealed in
/// the journal **before** DEBIT FOR PURCHASE, and the completed one is queued as a prepaid clearing advice (0220 with
/// 62 `PP`) for the store-and-forward uploader. Loads and issues are online over ``HostAcquirerLink/deliver(_:willSend:)``,
/// recorded with an armed reversal like any online request.
///
/// `@unchecked Sendable`: the controller runs one operation at a time (the terminal has one card slot, and the flow
/// starts no operation while one is running); the SAM (not Sendable) and the lost-card list are used only inside an
/// operation. The synchronous ones also hold `operation`.
public final class PrepaidService: @unchecked Sendable {
    /// Static configuration.
    public struct Configuration: Sendable {
        public var terminalID: String
        public var merchantID: String
        public var currencyCode: Int
        public var utcOffsetSeconds: Int64
        /// Card numbers (20 digits) on the lost-card list at start (the host's `41` answers add to it).
        public var blockList: Set<String>
        /// Purchases above this amount (fen) check the card with the host first when the link is up: a card on the
        /// lost-card list, or holding more than the host's books, is refused (a tampered balance caught online).
        public var onlineCheckAbove: Int = 50_000
        public init(terminalID: String, merchantID: String, currencyCode: Int, utcOffsetSeconds: Int64,
                    blockList: Set<String> = []) {
            self.terminalID = terminalID
            self.merchantID = merchantID
            self.currencyCode = currencyCode
            self.utcOffsetSeconds = utcOffsetSeconds
            self.blockList = blockList
        }
    }

    let configuration: Configuration
    let connect: @Sendable (Presentation) throws -> any CardConnection
    let journal: Locked<TransactionJournal>
    let settings: Locked<TerminalStore>
    let link: HostAcquirerLink?
    let clock: any TerminalClock
    let random: any RandomSource
    let logger: Logger
    private let operation = Mutex(())
    private let sam: any PurseSAM
    private var blocked: Set<String>
    /// The lost-card list of the parameter set in force (``PrepaidParameters``), read at each check.
    private let hostLostCards: @Sendable () -> Set<String>

    /// The service over `sam` (a ``SoftwareSAM`` over keys from the key store; TEST ONLY keys on the sim board).
    public init(
        configuration: Configuration, sam: sending any PurseSAM, connect: @escaping @Sendable (Presentation) throws -> any CardConnection,
        journal: Locked<TransactionJournal>, settings: Locked<TerminalStore>, link: HostAcquirerLink?,
        clock: any TerminalClock, random: any RandomSource, logger: Logger,
        lostCards: @escaping @Sendable () -> Set<String> = { [] }
    ) {
        self.configuration = configuration
        self.hostLostCards = lostCards
        self.sam = sam
        self.connect = connect
        self.journal = journal
        self.settings = settings
        self.link = link
        self.clock = clock
        self.random = random
        self.logger = logger
        blocked = configuration.blockList
        if let saved = try? settings.withLock({ try $0.setting("prepaid.blocked") }) {
            blocked.formUnion(saved.split(separator: ",").map(String.init))
        }
    }

    /// The PSAM terminal number from the terminal id's digits (12 BCD digits, zero-padded left).
    static func purseTerminalID(_ terminalID: String) -> PurseTerminalID {
        let digits = String(terminalID.filter(\.isNumber).suffix(12))
        let padded = String(repeating: "0", count: 12 - digits.count) + digits
        return (try? PurseTerminalID(Hex.decode(padded) ?? [])) ?? .zero
    }

    // MARK: Operations

    /// Offline purchase of `amount` fen.
    public func pay(amount: Int, presentation: Presentation) async -> PrepaidOutcome {
        await withCardAsync(presentation) { channel in
            guard let card = self.readChecked(channel) else { return self.cardRefusal(channel) }
            if amount > self.configuration.onlineCheckAbove, let refusal = await self.onlineCheck(card) {
                return refusal
            }
            return self.debit(amount: amount, card: card, channel: channel)
        }
    }

    /// The balance inquiry of a purchase above ``Configuration/onlineCheckAbove``: nil to go on (also when the host
    /// cannot be reached: the card's value is protected by its MACs), or the refusal.
    private func onlineCheck(_ card: PurseCardInfo) async -> PrepaidOutcome? {
        switch await online(kind: .balance, amount: 0, card: card, tag: nil, text: "") {
        case .approved(let response, let id):
            _ = try? journal.withLock {
                try $0.recordHostResponse(id, .approved(authorizationCode: response.authorizationCode ?? "000000",
                                                        responseCode: response.responseCode.rawValue,
                                                        retrievalReferenceNumber: response.retrievalReference))
            }
            if let books = response.balances.first?.amount, Int64(card.balance) > books {
                logger.warning("prepaid card holds more than the host's books: refused")
                return declined("Balance mismatch")
            }
            return nil
        case .declined(let why):
            return declined(why)
        case .unreachable:
            return nil
        }
    }

    /// INITIALIZE, MAC1, the record sealed, DEBIT, MAC2 and TAC, the record completed and queued.
    private func debit(amount: Int, card: PurseCardInfo, channel: PurseConnectionChannel) -> PrepaidOutcome {
        guard let amount32 = UInt32(exactly: amount), amount32 > 0 else { return declined("Invalid amount") }
        let dateTime = now()
        do {
            let outcome = try PurseTerminal.preparePurchase(card: card, amount: amount32, dateTime: dateTime,
                                                           sam: sam, channel: channel)
            try saveSequence()
            guard case .prepared(let prepared, let session) = outcome else {
                if case .declined(let why) = outcome { return declined(describe(why)) }
                return declined("Card error")
            }
            guard let persisted = prepared.persisted else { return declined("Card error") }
            // Sealed before the DEBIT: a torn debit is recovered from this record.
            let id = try journal.withLock { try $0.begin(draft(kind: .sale, amount: amount, card: card, blob: persisted)) }
            let result = try PurseTerminal.debit(prepared, session: session, sam: sam, channel: channel)
            switch result {
            case .completed(let completed):
                try complete(id, completed)
                return PrepaidOutcome(approved: true, lines: [.raw("Prepaid " + masked(card)),
                                                              .raw("Balance " + money(Int(completed.newBalance)))],
                                      balance: Int(completed.newBalance))
            case .declined(let why):
                _ = try journal.withLock { try $0.recordOutcome(id, .declined(responseCode: "Z1")) }
                return declined(describe(why))
            case .torn:
                logger.warning("prepaid debit torn: recovered on the card's next presentation", metadata: ["ref": "\(id.txnRef)"])
                return PrepaidOutcome(approved: false, lines: [.ui(.cardRemoved), .raw("Present the card again")], balance: nil)
            case .prepared:
                return declined("Card error")
            }
        } catch {
            logger.error("prepaid purchase failed", metadata: ["error": "\(error)"])
            return declined("Card error")
        }
    }

    /// Reads the balance from the card (offline).
    public func balance(presentation: Presentation) async -> PrepaidOutcome {
        withCard(presentation) { channel in
            guard let card = readChecked(channel) else { return cardRefusal(channel) }
            return PrepaidOutcome(approved: true, lines: [.raw("Prepaid " + masked(card)), .raw("Balance " + money(Int(card.balance)))],
                                  balance: Int(card.balance))
        }
    }

    /// Top-up of `amount` fen paid by cash (or by another rail before): the host authorises the load (MAC2), the
    /// card is credited.
    public func topUp(amount: Int, presentation: Presentation) async -> PrepaidOutcome {
        await withCardAsync(presentation) { channel in
            guard let card = self.readChecked(channel) else { return self.cardRefusal(channel) }
            return await self.load(amount: amount, card: card, channel: channel)
        }
    }

    /// Refund of a purse purchase: a load of `amount` fen authorised online (0200 `200000` with 62 `PL`).
    public func refund(amount: Int, presentation: Presentation) async -> PrepaidOutcome {
        await withCardAsync(presentation) { channel in
            guard let card = self.readChecked(channel) else { return self.cardRefusal(channel) }
            return await self.load(amount: amount, card: card, channel: channel, kind: .refund)
        }
    }

    /// Issues a blank card: registers it with the host (activation), personalises it, then loads `deposit` fen.
    public func issue(deposit: Int, presentation: Presentation) async -> PrepaidOutcome {
        await withCardAsync(presentation) { channel in
            do {
                guard case .failure(.blankCard) = try PurseTerminal.read(channel) else { return self.declined("Not a blank card") }
                let today = self.clock.localDateTime()
                let serial = try self.nextSerialNumber()
                let data = try PurseApplicationData(
                    issuerIdentifier: Array("SIMPURSE".utf8), applicationSerialNumber: serial,
                    startDate: Self.bcdDate(today.year, today.month, today.day),
                    expiryDate: Self.bcdDate(today.year + 5, today.month, min(today.day, 28)))
                let info = PurseCardInfo(applicationData: data, balance: 0)
                let activation = await self.online(kind: .issue, amount: 0, card: info, tag: PrepaidHostData.expiryTag,
                                                   text: Hex.encode(data.expiryDate))
                guard case .approved = activation else { return self.hostRefusal(activation, card: info) }
                let keys = try self.sam.cardKeys(diversificationData: data.diversificationData)
                if let status = try PurseTerminal.personalise(data, keys: keys, keyVersion: 1, channel: channel) {
                    self.logger.error("personalisation refused", metadata: ["sw": "\(status)"])
                    return self.declined("Personalisation failed")
                }
                guard deposit > 0, case .success(let issued) = try PurseTerminal.read(channel) else {
                    return PrepaidOutcome(approved: true, lines: [.raw("Issued " + self.masked(info)), .raw("Balance 0.00")], balance: 0)
                }
                var outcome = await self.load(amount: deposit, card: issued, channel: channel)
                outcome.lines.insert(.raw("Issued " + self.masked(info)), at: 0)
                return outcome
            } catch {
                self.logger.error("prepaid issue failed", metadata: ["error": "\(error)"])
                return self.declined("Card error")
            }
        }
    }

    // MARK: Steps

    enum OnlineResult {
        case approved(Uplink.HostResponse, TransactionID)
        case declined(String)
        case unreachable
    }

    private func load(
        amount: Int, card: PurseCardInfo, channel: PurseConnectionChannel, kind: Store.TransactionKind = .topup
    ) async -> PrepaidOutcome {
        guard let amount32 = UInt32(exactly: amount), amount32 > 0 else { return declined("Invalid amount") }
        let prepared: PreparedLoad
        do {
            guard case .success(let load) = try PurseTerminal.prepareLoad(
                card: card, amount: amount32, dateTime: now(), terminalID: sam.terminalID, channel: channel)
            else { return declined("Balance limit") }
            prepared = load
        } catch {
            return declined("Card error")
        }
        let answer = await online(kind: kind, amount: amount, card: card, tag: PrepaidHostData.loadTag,
                                  text: Hex.encode(prepared.authorisationData))
        guard case .approved(let response, let id) = answer else { return hostRefusal(answer, card: card) }
        do {
            guard let mac2 = PrepaidHostData.bytes(PrepaidHostData.mac2Tag, in: response.privateData), mac2.count == 4 else {
                try cancel(id, response)
                return declined("Host error")
            }
            let credit: PurseResult<[UInt8]>
            do {
                credit = try PurseTerminal.credit(prepared, mac2: mac2, channel: channel)
            } catch {
                // No answer to CREDIT FOR LOAD: the card may have credited itself. The load stands at the host until
                // the card's next presentation tells (recoverTornLoads): confirmed, or reversed.
                try addUnconfirmedLoad(id.txnRef, prepared)
                _ = try journal.withLock {
                    try $0.recordHostResponse(id, .approved(authorizationCode: response.authorizationCode ?? "000000",
                                                            responseCode: response.responseCode.rawValue,
                                                            retrievalReferenceNumber: response.retrievalReference))
                }
                logger.warning("prepaid load torn: checked on the card's next presentation", metadata: ["ref": "\(id.txnRef)"])
                return PrepaidOutcome(approved: false, lines: [.ui(.cardRemoved), .raw("Present the card again")], balance: nil)
            }
            guard case .success(let tac) = credit else {
                try cancel(id, response)
                return declined("Load refused by card")
            }
            _ = try journal.withLock {
                try $0.recordHostResponse(id, .approved(authorizationCode: response.authorizationCode ?? "000000",
                                                        responseCode: response.responseCode.rawValue,
                                                        retrievalReferenceNumber: response.retrievalReference))
            }
            try confirmLoad(id.txnRef, prepared, tac: tac)
        } catch {
            // The card left during CREDIT FOR LOAD (or the store failed): the load is reversed.
            try? cancel(id, response)
            return declined("Card removed: load reversed")
        }
        let balance = Int(prepared.initialize.balance) + amount
        return PrepaidOutcome(approved: true, lines: [.raw((kind == .refund ? "Refund " : "Top-up ") + money(amount)),
                                                      .raw("Balance " + money(balance))],
                              balance: balance)
    }

    private func cancel(_ id: TransactionID, _ response: Uplink.HostResponse) throws {
        _ = try journal.withLock {
            try $0.recordHostResponse(id, .approvedThenCancelled(
                authorizationCode: response.authorizationCode ?? "000000", responseCode: response.responseCode.rawValue,
                retrievalReferenceNumber: response.retrievalReference, reason: .cardDeclinedAfterApproval))
        }
    }

    /// One online purse request (issue or load) recorded with its reversal armed.
    private func online(kind: Store.TransactionKind, amount: Int, card: PurseCardInfo, tag: String?, text: String) async -> OnlineResult {
        guard let link else { return .unreachable }
        let number = String(card.applicationData.cardNumber.suffix(16))
        let id: TransactionID
        let message: ISO8583.Message
        do {
            id = try journal.withLock {
                try $0.prepareOnline(draft(kind: kind, amount: amount, card: card, blob: Array(text.utf8)))
            }
            let nowUTC = clock.unixTime()
            let request = TransactionRequest(
                kind: kind == .issue ? .prepaidActivation : kind == .refund ? .refund : kind == .balance ? .balanceInquiry : .prepaidTopUp,
                amount: UInt64(amount),
                currencyCode: Self.currencyText(configuration.currencyCode), stan: id.stan,
                transmission: StoreAndForwardUploader.hostDateTime(nowUTC),
                local: StoreAndForwardUploader.hostDateTime(nowUTC + configuration.utcOffsetSeconds),
                terminalID: configuration.terminalID, merchantID: configuration.merchantID, batchNumber: id.batch,
                transactionReference: StoreAndForwardUploader.referenceNumber(id.txnRef), entryMode: .contactChip,
                card: Uplink.CardData(pan: number))
            var built = try HostMessages.request(request)
            if let tag { try PrepaidHostData.set(tag, text: text, in: &built) }
            message = built
        } catch {
            logger.error("cannot record or build the prepaid request", metadata: ["error": "\(error)"])
            return .declined("Store unavailable")
        }
        switch await link.deliver(message, willSend: {}) {
        case .answered(let response):
            if response.responseCode == .approved { return .approved(response, id) }
            _ = try? journal.withLock {
                try $0.recordHostResponse(id, .declined(responseCode: response.responseCode.rawValue,
                                                        retrievalReferenceNumber: response.retrievalReference))
            }
            if response.responseCode == .lostCard { addToBlockList(card.applicationData.cardNumber) }
            return .declined(response.responseCode == .lostCard ? "Card blocked" : "Declined " + response.responseCode.rawValue)
        case .notSent:
            _ = try? journal.withLock { try $0.recordHostResponse(id, .declined(responseCode: HostResponseCode.unableToGoOnlineDeclined.rawValue, retrievalReferenceNumber: nil)) }
            return .unreachable
        case .unanswered:
            _ = try? journal.withLock { try $0.recordHostResponse(id, .noResponse) }
            return .unreachable
        }
    }

    private func hostRefusal(_ result: OnlineResult, card: PurseCardInfo) -> PrepaidOutcome {
        switch result {
        case .approved: return declined("Host error")
        case .declined(let why): return declined(why)
        case .unreachable: return declined("Host unreachable")
        }
    }

    /// Reads and checks the card, after recovering any torn purchase of it.
    private func readChecked(_ channel: PurseConnectionChannel) -> PurseCardInfo? {
        guard case .success(let card) = try? PurseTerminal.read(channel) else { return nil }
        recoverTornPurchases(card, channel: channel)
        recoverTornLoads(card, channel: channel)
        let today = clock.localDateTime()
        guard PurseTerminal.check(card, today: today.year * 10_000 + today.month * 100 + today.day,
                                  blocked: { self.isOnLostCardList($0) }) == nil
        else { return nil }
        // Recovery may have changed nothing on the card; read again for the balance after it.
        guard case .success(let fresh) = try? PurseTerminal.read(channel) else { return nil }
        return fresh
    }

    private func cardRefusal(_ channel: PurseConnectionChannel) -> PrepaidOutcome {
        switch try? PurseTerminal.read(channel) {
        case .failure(let why)?: return declined(describe(why))
        case .success(let card)?:
            let today = clock.localDateTime()
            if let why = PurseTerminal.check(card, today: today.year * 10_000 + today.month * 100 + today.day,
                                            blocked: { self.isOnLostCardList($0) }) {
                return declined(describe(why))
            }
            return declined("Card error")
        case nil: return PrepaidOutcome(approved: false, lines: [.ui(.cardError)], balance: nil)
        }
    }

    /// Finds this card's torn purchases (prepaid sales still pending, or failed by a restart, with a persisted
    /// prepared purchase) and recovers each once (docs/prepaid.md §4.3).
    private func recoverTornPurchases(_ card: PurseCardInfo, channel: PurseConnectionChannel) {
        let number = card.applicationData.cardNumber
        let candidates: [(TransactionRecord, PreparedPurchase)] = (try? journal.withLock { journal in
            try journal.records(limit: 500).compactMap { record -> (TransactionRecord, PreparedPurchase)? in
                // Records named r<n>-… complete a torn one (recordRecovered): never recovered themselves.
                guard record.rail == .prepaid, record.kind == .sale, record.status == .pending || record.status == .failed,
                    !record.id.txnRef.hasPrefix("r"),
                    let blob = try journal.cardData(record.id).field55?.withUnsafeBytes({ Array($0) }),
                    let prepared = try? PreparedPurchase(persisted: blob), prepared.cardNumber == number
                else { return nil }
                return (record, prepared)
            }
        }) ?? []
        for (record, prepared) in candidates {
            if (try? settings.withLock({ try $0.setting("prepaid.resolved." + record.id.txnRef) })) != nil { continue }
            do {
                let outcome = try PurseTerminal.recoverPurchase(prepared, sam: sam, channel: channel)
                switch outcome {
                case .debited(let completed):
                    if record.status == .pending {
                        try complete(record.id, completed)
                    } else {
                        let recovered = draft(kind: .sale, amount: Int(prepared.amount), card: card, blob: completed.persisted ?? [])
                        try journal.withLock { try Self.recordRecovered(journal: $0, torn: record.id.txnRef, draft: recovered) }
                    }
                    try resolve(record.id.txnRef)
                    logger.info("torn prepaid purchase recovered: the debit had happened", metadata: ["ref": "\(record.id.txnRef)"])
                case .notDebited:
                    if record.status == .pending { _ = try journal.withLock { try $0.recordOutcome(record.id, .failed) } }
                    try resolve(record.id.txnRef)
                    logger.info("torn prepaid purchase recovered: no debit", metadata: ["ref": "\(record.id.txnRef)"])
                case .notThisTransaction, .proofInvalid:
                    logger.warning("torn prepaid purchase not recoverable from this card", metadata: ["ref": "\(record.id.txnRef)"])
                }
            } catch {
                logger.warning("torn purchase recovery failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Records the completion of a torn purchase whose record a restart made `failed` (a failed record never moves
    /// again): a record of its own, `offline-approved` and queued, named `r<generation>-<torn txn_ref>`. Crash-safe
    /// and idempotent: a generation is only started when every earlier one is `failed` (killed between its two
    /// commits, then failed by the restart), so at most one generation is ever approved.
    /// - Parameter draft: the purchase with its clearing data sealed in field 55.
    public static func recordRecovered(journal: TransactionJournal, torn txnRef: String, draft: TransactionDraft) throws {
        for generation in 1...50 {
            let reference = "r\(generation)-" + txnRef
            if let existing = try? journal.record(txnRef: reference) {
                switch existing.status {
                case .pending:
                    try journal.recordOutcome(existing.id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
                    return
                case .failed:
                    continue
                default:
                    return
                }
            }
            var named = draft
            named.txnRef = reference
            let id = try journal.begin(named)
            try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
            return
        }
        throw StoreError(.invalid, "too many recovery attempts for \(txnRef)")
    }

    /// Queues the load's confirmation (0220 with 62 `PT`: the card's TAC, which the host verifies).
    private func confirmLoad(_ txnRef: String, _ load: PreparedLoad, tac: [UInt8]) throws {
        guard let sealed = load.persisted.map({ $0 + tac }) else { return }
        try journal.withLock { journal in
            let id = try journal.record(txnRef: txnRef).id
            try journal.recordCompletionICCData(id, field55: SecretBytes(sealed))
            try journal.queueAdvice(id)
        }
    }

    /// Loads whose CREDIT got no answer, by txn_ref (setting `prepaid.loads.unconfirmed`: `ref=hex,…`).
    private func unconfirmedLoads() -> [(String, PreparedLoad)] {
        let text = (try? settings.withLock { try $0.setting("prepaid.loads.unconfirmed") }) ?? nil
        return (text ?? "").split(separator: ",").compactMap { entry in
            let parts = entry.split(separator: "=")
            guard parts.count == 2, let bytes = Hex.decode(parts[1]), let load = try? PreparedLoad(persisted: bytes) else { return nil }
            return (String(parts[0]), load)
        }
    }

    private func saveUnconfirmedLoads(_ loads: [(String, PreparedLoad)]) throws {
        let text = loads.compactMap { ref, load in load.persisted.map { ref + "=" + Hex.encode($0) } }.joined(separator: ",")
        try settings.withLock { try $0.setSetting("prepaid.loads.unconfirmed", text) }
    }

    private func addUnconfirmedLoad(_ txnRef: String, _ load: PreparedLoad) throws {
        try saveUnconfirmedLoads(unconfirmedLoads() + [(txnRef, load)])
    }

    /// This card's torn loads (docs/prepaid.md §4.4): a proof that the card credited itself confirms the load; an
    /// online counter that did not move reverses it (0400 from the queue); anything else stays for the host.
    private func recoverTornLoads(_ card: PurseCardInfo, channel: PurseConnectionChannel) {
        var remaining: [(String, PreparedLoad)] = []
        for (reference, load) in unconfirmedLoads() {
            guard load.cardNumber == card.applicationData.cardNumber else {
                remaining.append((reference, load))
                continue
            }
            switch (try? PurseTerminal.recoverLoad(load, sam: sam, channel: channel)) ?? .notThisTransaction {
            case .credited(let tac):
                try? confirmLoad(reference, load, tac: tac)
                logger.info("torn prepaid load confirmed: the card was credited", metadata: ["ref": "\(reference)"])
            case .notCredited:
                do {
                    try journal.withLock { journal in
                        try journal.requireReversal(try journal.record(txnRef: reference).id, reason: .cancelled)
                    }
                    logger.info("torn prepaid load reversed: the card was not credited", metadata: ["ref": "\(reference)"])
                } catch {
                    remaining.append((reference, load))
                }
            case .notThisTransaction:
                remaining.append((reference, load))
            }
        }
        try? saveUnconfirmedLoads(remaining)
    }

    private func complete(_ id: TransactionID, _ completed: CompletedPurchase) throws {
        try journal.withLock { journal in
            // Two commits; the sealed data keeps the prepared purchase, so a kill between them is recovered.
            try journal.recordCompletionICCData(id, field55: SecretBytes(completed.persisted ?? completed.clearingData))
            try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
        }
    }

    private func resolve(_ txnRef: String) throws {
        try settings.withLock { try $0.setSetting("prepaid.resolved." + txnRef, "1") }
    }

    /// Whether `number` is refused: on the list the terminal started with or learnt from the host's `41` answers, or on
    /// the lost-card list of the parameter set in force.
    func isOnLostCardList(_ number: String) -> Bool {
        blocked.contains(number) || hostLostCards().contains(number.uppercased())
    }

    private func addToBlockList(_ number: String) {
        blocked.insert(number)
        let list = blocked.sorted().joined(separator: ",")
        _ = try? settings.withLock { try $0.setSetting("prepaid.blocked", list) }
    }

    private func draft(kind: Store.TransactionKind, amount: Int, card: PurseCardInfo, blob: [UInt8]) -> TransactionDraft {
        TransactionDraft(
            rail: .prepaid, kind: kind, amountMinor: Int64(amount), currency: configuration.currencyCode,
            entryMode: .prepaidCard,
            card: Store.CardData(field55: blob.isEmpty ? nil : SecretBytes(blob),
                                 prepaidCardID: SecretBytes(Array(card.applicationData.cardNumber.suffix(16).utf8))),
            aid: Hex.encode(PrepaidPurse.applicationIdentifier), applicationLabel: "PREPAID",
            txnRef: Hex.encode((try? random.bytes(8)) ?? []))
    }

    private func saveSequence() throws {
        let next = sam.nextTerminalSequenceNumber
        try settings.withLock { try $0.setSetting("prepaid.sam.sequence", String(next)) }
    }

    private func nextSerialNumber() throws -> [UInt8] {
        let next: Int = try settings.withLock { store in
            let value = (Int(try store.setting("prepaid.issue.next") ?? "0") ?? 0) + 1
            try store.setSetting("prepaid.issue.next", String(value))
            return value
        }
        let terminal = Hex.encode(sam.terminalID.bytes).suffix(4)
        let counter = String(next)
        let digits = "2000" + terminal + String(repeating: "0", count: 12 - counter.count) + counter
        return Hex.decode(digits) ?? []
    }

    private func now() -> PurseDateTime {
        let t = clock.localDateTime()
        return (try? PurseDateTime(year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second))
            ?? .fallback
    }

    static func bcdDate(_ year: Int, _ month: Int, _ day: Int) -> [UInt8] {
        func bcd(_ v: Int) -> UInt8 { UInt8((v / 10) << 4 | (v % 10)) }
        return [bcd(year / 100), bcd(year % 100), bcd(month), bcd(day)]
    }

    static func currencyText(_ code: Int) -> String {
        let text = String(code)
        return String(repeating: "0", count: max(0, 3 - text.count)) + text
    }

    private func declined(_ text: String) -> PrepaidOutcome {
        PrepaidOutcome(approved: false, lines: [.raw(text)], balance: nil)
    }

    private func describe(_ why: PurseDecline) -> String {
        switch why {
        case .notAPurse: "Not a prepaid card"
        case .blankCard: "Card not issued"
        case .expired: "Card expired"
        case .blocked: "Card blocked"
        case .insufficientBalance(let balance): "Balance " + money(Int(balance)) + " too low"
        case .mac1Rejected: "Card refused the terminal"
        case .mac2Invalid: "Card MAC invalid"
        case .tacInvalid: "Card TAC invalid"
        case .balanceLimit: "Balance limit"
        case .cardError: "Card error"
        }
    }

    private func masked(_ card: PurseCardInfo) -> String {
        "****" + String(card.applicationData.cardNumber.suffix(4))
    }

    private func money(_ fen: Int) -> String {
        "\(fen / 100)." + (fen % 100 < 10 ? "0" : "") + "\(fen % 100)"
    }

    private func withCard(_ presentation: Presentation, _ body: (PurseConnectionChannel) -> PrepaidOutcome) -> PrepaidOutcome {
        operation.withLock { _ in
            let connection: any CardConnection
            do {
                connection = try connect(presentation)
            } catch {
                return PrepaidOutcome(approved: false, lines: [.ui(.cardError)], balance: nil)
            }
            defer { connection.disconnect() }
            return body(PurseConnectionChannel(connection))
        }
    }

    private func withCardAsync(
        _ presentation: Presentation, _ body: @escaping (PurseConnectionChannel) async -> PrepaidOutcome
    ) async -> PrepaidOutcome {
        let connection: any CardConnection
        do {
            connection = try connect(presentation)
        } catch {
            return PrepaidOutcome(approved: false, lines: [.ui(.cardError)], balance: nil)
        }
        defer { connection.disconnect() }
        return await body(PurseConnectionChannel(connection))
    }
}

extension PrepaidService {
    /// The service of a run: a ``SoftwareSAM`` over the purse master keys of the key store (TEST ONLY keys on the
    /// simulator board), the board's card reader or the simulator's virtual prepaid cards. `nil` (with a warning)
    /// when the key store has no purse keys: the Prepaid method is then not offered.
    static func open(
        profile: BoardProfile, keys: Locked<KeyStore>, settings: Locked<TerminalStore>, journal: Locked<TransactionJournal>,
        link: HostAcquirerLink?, cardReader: (any CardReaderDevice)?, terminalID: String, merchantID: String,
        clock: any TerminalClock, logger: Logger, activeParameters: ActiveParameterSet? = nil
    ) throws -> PrepaidService? {
        let masters: PurseMasterKeys
        do {
            let secrets = try keys.withLock { store in try TerminalKeys.prepaidMasterKeys.map { try store.secret($0) } }
            masters = try PurseMasterKeys(purchase: secrets[0], load: secrets[1], transaction: secrets[2])
        } catch {
            logger.warning("no prepaid purse keys in the key store: the Prepaid method is off", metadata: ["error": "\(error)"])
            return nil
        }
        let connect: @Sendable (Presentation) throws -> any CardConnection
        var blockList: Set<String> = []
        if let reader = cardReader {
            connect = { _ in try reader.connect(.contact) }
        } else if profile.kind == .simulator {
            let cards = VirtualPurseCardSet()
            connect = { presentation in
                guard case .inserted(let name) = presentation else { throw RuntimeError(.device, "not a card insertion") }
                return try cards.connect(name)
            }
            // The simulated host's lost-card list, as a terminal would have downloaded it.
            blockList = Set(VirtualPurseProfile.blockedCardNumbers)
        } else {
            return nil
        }
        let sequence = try settings.withLock { UInt32(try $0.setting("prepaid.sam.sequence") ?? "1") ?? 1 }
        let sam = SoftwareSAM(masterKeys: masters, terminalID: purseTerminalID(terminalID), firstSequenceNumber: sequence)
        return PrepaidService(
            configuration: .init(terminalID: terminalID, merchantID: merchantID,
                                 currencyCode: profile.merchant.currency.numericCode,
                                 utcOffsetSeconds: Payments.utcOffset(), blockList: blockList),
            sam: sam, connect: connect, journal: journal, settings: settings, link: link, clock: clock,
            random: SystemRandom(), logger: logger,
            lostCards: { activeParameters?.current.prepaid?.lostCards ?? [] })
    }
}

extension PrepaidService {
    /// Runs a merchant-menu operation; the result as the flow's payment result (outcome screen). `rails`,
    /// `session` and `currency` serve the chip-card top-up (an EMV sale on the bank card, then the load).
    public func run(
        _ operation: TerminalFlow.PrepaidOperation, amount: Int, presentation: Presentation, rails: RailRegistry,
        session: PaymentSession, currency: Currency
    ) async -> TerminalFlow.PaymentResult {
        let outcome: PrepaidOutcome
        switch operation {
        case .issue: outcome = await issue(deposit: amount, presentation: presentation)
        case .topUp: outcome = await topUp(amount: amount, presentation: presentation)
        case .balance: outcome = await balance(presentation: presentation)
        case .refund: outcome = await refund(amount: amount, presentation: presentation)
        case .topUpByCard:
            return await topUpByCard(amount: amount, bankCard: presentation, rails: rails, session: session,
                                     currency: currency)
        }
        return outcome.approved ? .approved(lines: outcome.lines) : .declined(lines: outcome.lines)
    }

    /// Top-up paid by a chip card: the EMV sale of `amount` on the bank card first; once approved, the prepaid card
    /// is asked for and loaded. A load that fails reverses the card sale (0400 from the store-and-forward queue), so
    /// the customer pays only for value on the purse.
    func topUpByCard(
        amount: Int, bankCard: Presentation, rails: RailRegistry, session: PaymentSession, currency: Currency
    ) async -> TerminalFlow.PaymentResult {
        guard let rail = rails.rail(for: bankCard, method: .card) else { return .notAvailable }
        let sale = await rail.pay(amount: amount, presentation: bankCard, session: session)
        guard case .approved = sale else { return sale }
        let saleRecord = try? journal.withLock { journal in
            try journal.records(limit: 20).first {
                $0.rail == .emvContact && $0.kind == .sale && $0.status == .approved && $0.amountMinor == Int64(amount)
            }?.id
        }
        session.show(.present(.init(amount: amount, currency: currency, method: .prepaid)))
        var purse: Presentation?
        var deadline: Int64?
        waiting: for await input in session.inputs {
            switch input {
            case .presentation(.inserted(let name)) where name != Self.name(of: bankCard):
                purse = .inserted(name: name)
                break waiting
            case .key(.cancel):
                break waiting
            case .tick(let now):
                if deadline == nil { deadline = now + 60_000 }
                if let limit = deadline, now >= limit { break waiting }
            default:
                continue
            }
        }
        var outcome = PrepaidOutcome(approved: false, lines: [.ui(.cancelled)], balance: nil)
        if let purse {
            session.show(.processing(.init()))
            outcome = await topUp(amount: amount, presentation: purse)
        }
        guard outcome.approved else {
            if let saleRecord {
                _ = try? journal.withLock { try $0.requireReversal(saleRecord, reason: .cancelled) }
            }
            logger.warning("prepaid load after a card payment failed: the card payment is reversed")
            return .declined(lines: outcome.lines + [.raw("Card payment reversed")])
        }
        return .approved(lines: outcome.lines + [.raw("Paid by card")])
    }

    static func name(of presentation: Presentation) -> String? {
        if case .inserted(let name) = presentation { return name }
        return nil
    }
}
