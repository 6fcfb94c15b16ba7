public import Codecs
public import PaymentCrypto

/// The card transport a purse transaction runs over (the reader session; a rail adapts DeviceKit's
/// `CardConnection` to it).
public protocol PurseCardChannel: AnyObject {
    /// Sends one command and returns the card's answer.
    /// - Throws: when the card is gone or the reader fails: the command may or may not have been executed.
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU
}

/// What a terminal reads from a purse card before any transaction.
public struct PurseCardInfo: Sendable, Hashable {
    /// The public application basic data (file `15`).
    public let applicationData: PurseApplicationData
    /// The purse balance in fen.
    public let balance: UInt32

    /// The card as read.
    public init(applicationData: PurseApplicationData, balance: UInt32) {
        self.applicationData = applicationData
        self.balance = balance
    }
}

/// Why a purse transaction did not happen. Returned, never thrown.
public enum PurseDecline: Sendable, Hashable {
    /// The card has no purse application (SELECT failed).
    case notAPurse(StatusWord)
    /// The card has not been personalised (file `15` absent).
    case blankCard
    /// The card is past its expiry date.
    case expired
    /// The card is on the host's lost-card (block) list.
    case blocked
    /// The balance does not cover the amount (terminal check, or the card's `9401`).
    case insufficientBalance(balance: UInt32)
    /// The card refused MAC1 (`9302`): the SAM and the card do not share keys.
    case mac1Rejected
    /// The card's MAC2 did not verify: the card is not genuine; the sale is refused.
    case mac2Invalid
    /// The TAC did not verify.
    case tacInvalid
    /// The load would exceed the purse's maximum balance.
    case balanceLimit
    /// The card answered another error status.
    case cardError(StatusWord)
}

/// A purchase prepared up to the point of no return: everything the terminal must persist before sending DEBIT FOR
/// PURCHASE, so that a torn debit can be recovered on the card's next presentation.
public struct PreparedPurchase: Sendable, Hashable {
    /// The card's serial number (20 BCD digits as hex text) and diversification data.
    public let cardNumber: String
    /// The rightmost 8 bytes of the serial number.
    public let diversificationData: [UInt8]
    /// The card's answer to INITIALIZE FOR PURCHASE (balance and offline counter before the debit).
    public let initialize: InitializeForPurchaseResponse
    /// Amount in fen.
    public let amount: UInt32
    /// Terminal number.
    public let terminalID: PurseTerminalID
    /// Terminal transaction sequence number the SAM assigned.
    public let terminalSequenceNumber: UInt32
    /// Date and time sent to the card.
    public let dateTime: PurseDateTime
    /// MAC1 sent to the card.
    public let mac1: [UInt8]

    /// The fields.
    public init(cardNumber: String, diversificationData: [UInt8], initialize: InitializeForPurchaseResponse,
                amount: UInt32, terminalID: PurseTerminalID, terminalSequenceNumber: UInt32, dateTime: PurseDateTime,
                mac1: [UInt8]) {
        self.cardNumber = cardNumber
        self.diversificationData = diversificationData
        self.initialize = initialize
        self.amount = amount
        self.terminalID = terminalID
        self.terminalSequenceNumber = terminalSequenceNumber
        self.dateTime = dateTime
        self.mac1 = mac1
    }

    /// The input the card's TAC covers.
    public var tacInput: [UInt8] {
        PurseCrypto.purchaseTACInput(amount: amount, type: .pursePurchase, terminalID: terminalID,
                                     terminalSequenceNumber: terminalSequenceNumber, dateTime: dateTime)
    }
}

/// A completed purchase: the card debited itself, MAC2 and TAC verified.
public struct CompletedPurchase: Sendable, Hashable {
    /// What was prepared.
    public let prepared: PreparedPurchase
    /// The card's TAC (uploaded in the clearing advice; the host verifies it again).
    public let tac: [UInt8]
    /// The card's MAC2.
    public let mac2: [UInt8]
    /// Balance after the purchase.
    public var newBalance: UInt32 { prepared.initialize.balance - prepared.amount }
    /// Whether it was completed by recovery (GET TRANSACTION PROVE) after a torn debit.
    public let recovered: Bool
}

/// A load prepared for the host: the card's MAC1 and everything the host needs to check it and compute MAC2.
public struct PreparedLoad: Sendable, Hashable {
    /// Card serial number (hex text) and diversification data.
    public let cardNumber: String
    /// The rightmost 8 bytes of the serial number.
    public let diversificationData: [UInt8]
    /// The card's answer to INITIALIZE FOR LOAD.
    public let initialize: InitializeForLoadResponse
    /// Amount in fen.
    public let amount: UInt32
    /// Terminal number.
    public let terminalID: PurseTerminalID
    /// Date and time the CREDIT FOR LOAD will carry (they enter MAC2).
    public let dateTime: PurseDateTime

    /// The input the load TAC covers.
    public var tacInput: [UInt8] {
        PurseCrypto.loadTACInput(newBalance: initialize.balance + amount, onlineCounter: initialize.onlineCounter,
                                 amount: amount, type: .purseLoad, terminalID: terminalID, dateTime: dateTime)
    }
}

/// The outcome of a purchase step.
public enum PursePurchaseOutcome: Sendable, Hashable {
    /// Ready for DEBIT FOR PURCHASE: persist it, then call ``PurseTerminal/debit(_:session:channel:)``.
    case prepared(PreparedPurchase, PurseSAMPurchaseHandle)
    /// Debited, MAC2 and TAC verified.
    case completed(CompletedPurchase)
    /// Not done; the card was not debited.
    case declined(PurseDecline)
    /// The card left during DEBIT FOR PURCHASE: recover on its next presentation with
    /// ``PurseTerminal/recoverPurchase(_:channel:)``.
    case torn(PreparedPurchase)
}

/// An opaque handle on the SAM session of a prepared purchase.
public struct PurseSAMPurchaseHandle: Sendable, Hashable {
    let session: PurseSAMPurchase
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.session.terminalSequenceNumber == rhs.session.terminalSequenceNumber && lhs.session.mac1 == rhs.session.mac1
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(session.terminalSequenceNumber) }
}

/// The outcome of recovering a torn purchase.
public enum PurseRecoveryOutcome: Sendable, Hashable {
    /// The debit had happened: MAC2 and TAC fetched with GET TRANSACTION PROVE and the TAC verified.
    case debited(CompletedPurchase)
    /// The debit had not happened (the counter did not move): nothing was taken from the card.
    case notDebited
    /// A different card, or the counter moved by more than one: the record stays pending.
    case notThisTransaction
    /// The proof does not verify: the record stays pending for the host to decide.
    case proofInvalid
}

/// The terminal side of the purse transactions (docs/prepaid.md §4). Pure: runs over a ``PurseCardChannel`` and a
/// ``PurseSAM`` given by the caller, with the date given; no clock, no I/O of its own.
public enum PurseTerminal {
    /// SELECT, READ BINARY of file `15`, GET BALANCE.
    /// - Returns: the card, or the decline (`notAPurse`, `blankCard`).
    /// - Throws: when the channel fails or an answer is malformed.
    public static func read(_ channel: some PurseCardChannel) throws -> PurseResult<PurseCardInfo> {
        let select = try channel.transmit(PurseCommand.select())
        guard select.statusWord.isNormalProcessing else { return .failure(.notAPurse(select.statusWord)) }
        let file = try channel.transmit(PurseCommand.readApplicationData())
        if file.statusWord.rawValue == 0x6A82 { return .failure(.blankCard) }
        guard file.statusWord.isNormalProcessing else { return .failure(.cardError(file.statusWord)) }
        let data = try PurseApplicationData(fileContent: file.data[...])
        let balance = try channel.transmit(PurseCommand.getBalance())
        guard balance.statusWord.isNormalProcessing else { return .failure(.cardError(balance.statusWord)) }
        guard balance.data.count == 4 else { throw PurseError(.malformedResponse, "GET BALANCE answers 4 bytes") }
        return .success(PurseCardInfo(applicationData: data, balance: PurseBytes.uint(balance.data)))
    }

    /// Checks expiry (against `today`, YYYYMMDD) and the block list.
    public static func check(_ card: PurseCardInfo, today: Int, blocked: (String) -> Bool) -> PurseDecline? {
        guard let expiry = card.applicationData.expiryDateNumber, expiry >= today else { return .expired }
        if blocked(card.applicationData.cardNumber) { return .blocked }
        return nil
    }

    /// INITIALIZE FOR PURCHASE and the SAM's MAC1 (the card is read and checked by the caller first).
    public static func preparePurchase(
        card: PurseCardInfo, amount: UInt32, dateTime: PurseDateTime, sam: some PurseSAM,
        channel: some PurseCardChannel
    ) throws -> PursePurchaseOutcome {
        guard amount <= card.balance else { return .declined(.insufficientBalance(balance: card.balance)) }
        let answer = try channel.transmit(
            PurseCommand.initializeForPurchase(keyIndex: 1, amount: amount, terminalID: sam.terminalID))
        if answer.statusWord.rawValue == 0x9401 { return .declined(.insufficientBalance(balance: card.balance)) }
        guard answer.statusWord.isNormalProcessing else { return .declined(.cardError(answer.statusWord)) }
        let initialize = try InitializeForPurchaseResponse(responseData: answer.data[...])
        guard initialize.balance >= amount else {
            return .declined(.insufficientBalance(balance: initialize.balance))
        }
        let data = card.applicationData
        let session = try sam.beginPurchase(PurseSAMPurchaseRequest(
            diversificationData: data.diversificationData, initialize: initialize, amount: amount,
            dateTime: dateTime))
        let prepared = PreparedPurchase(
            cardNumber: data.cardNumber, diversificationData: data.diversificationData, initialize: initialize,
            amount: amount, terminalID: sam.terminalID, terminalSequenceNumber: session.terminalSequenceNumber,
            dateTime: dateTime, mac1: session.mac1)
        return .prepared(prepared, PurseSAMPurchaseHandle(session: session))
    }

    /// DEBIT FOR PURCHASE, then MAC2 (SAM) and TAC checks. Call only after the prepared purchase is persisted.
    /// - Returns: `.completed`, `.declined` (MAC1 refused, MAC2 or TAC invalid, a card error) or `.torn` when the
    ///   channel failed (the card left: it may or may not have debited itself).
    public static func debit(
        _ prepared: PreparedPurchase, session: PurseSAMPurchaseHandle, sam: some PurseSAM,
        channel: some PurseCardChannel
    ) throws -> PursePurchaseOutcome {
        let command = try PurseCommand.debitForPurchase(
            terminalSequenceNumber: prepared.terminalSequenceNumber, dateTime: prepared.dateTime, mac1: prepared.mac1)
        let answer: ResponseAPDU
        do {
            answer = try channel.transmit(command)
        } catch {
            return .torn(prepared)
        }
        switch answer.statusWord.rawValue {
        case 0x9000: break
        case 0x9302: return .declined(.mac1Rejected)
        case 0x9401: return .declined(.insufficientBalance(balance: prepared.initialize.balance))
        default: return .declined(.cardError(answer.statusWord))
        }
        guard answer.data.count == 8 else { throw PurseError(.malformedResponse, "DEBIT FOR PURCHASE answers 8 bytes") }
        let tac = Array(answer.data.prefix(4))
        let mac2 = Array(answer.data.suffix(4))
        guard try sam.verifyPurchaseMAC2(session.session, amount: prepared.amount, mac2: mac2) else {
            return .declined(.mac2Invalid)
        }
        guard try sam.verifyTAC(diversificationData: prepared.diversificationData, tacInput: prepared.tacInput,
                                tac: tac)
        else { return .declined(.tacInvalid) }
        return .completed(CompletedPurchase(prepared: prepared, tac: tac, mac2: mac2, recovered: false))
    }

    /// Recovers a torn purchase on the card's next presentation (docs/prepaid.md §4.3): reads the card, runs an
    /// INITIALIZE FOR PURCHASE of the same amount to learn the offline counter (no state changes on the card), and
    /// - counter = the prepared counter: the debit did not happen;
    /// - counter moved: GET TRANSACTION PROVE for the prepared counter gives MAC2 and TAC; a TAC that verifies over
    ///   this purchase's data (amount, terminal, sequence number, date) proves the debit happened; a TAC that does
    ///   not is `proofInvalid`; no proof is `notThisTransaction`.
    public static func recoverPurchase(
        _ prepared: PreparedPurchase, sam: some PurseSAM, channel: some PurseCardChannel
    ) throws -> PurseRecoveryOutcome {
        guard case .success(let card) = try read(channel),
            card.applicationData.cardNumber == prepared.cardNumber
        else { return .notThisTransaction }
        let answer = try channel.transmit(
            PurseCommand.initializeForPurchase(keyIndex: 1, amount: prepared.amount, terminalID: prepared.terminalID))
        if answer.statusWord.isNormalProcessing {
            let now = try InitializeForPurchaseResponse(responseData: answer.data[...])
            if now.offlineCounter == prepared.initialize.offlineCounter { return .notDebited }
        }
        // The counter moved (or the balance no longer covers the amount): ask the card for its proof.
        let proof = try channel.transmit(
            PurseCommand.getTransactionProve(type: .pursePurchase, counter: prepared.initialize.offlineCounter))
        guard proof.statusWord.isNormalProcessing else { return .notThisTransaction }
        guard proof.data.count == 8 else {
            throw PurseError(.malformedResponse, "GET TRANSACTION PROVE answers 8 bytes")
        }
        let mac2 = Array(proof.data.prefix(4))
        let tac = Array(proof.data.suffix(4))
        guard try sam.verifyTAC(diversificationData: prepared.diversificationData, tacInput: prepared.tacInput,
                                tac: tac)
        else { return .proofInvalid }
        return .debited(CompletedPurchase(prepared: prepared, tac: tac, mac2: mac2, recovered: true))
    }

    /// INITIALIZE FOR LOAD: the card's MAC1 and counter, for the host (which holds the load keys).
    public static func prepareLoad(
        card: PurseCardInfo, amount: UInt32, dateTime: PurseDateTime, terminalID: PurseTerminalID,
        channel: some PurseCardChannel
    ) throws -> PurseResult<PreparedLoad> {
        let answer = try channel.transmit(
            PurseCommand.initializeForLoad(keyIndex: 1, amount: amount, terminalID: terminalID))
        if answer.statusWord.rawValue == 0x6A84 || answer.statusWord.rawValue == 0x9401 {
            return .failure(.balanceLimit)
        }
        guard answer.statusWord.isNormalProcessing else { return .failure(.cardError(answer.statusWord)) }
        let initialize = try InitializeForLoadResponse(responseData: answer.data[...])
        let data = card.applicationData
        return .success(PreparedLoad(
            cardNumber: data.cardNumber, diversificationData: data.diversificationData, initialize: initialize,
            amount: amount, terminalID: terminalID, dateTime: dateTime))
    }

    /// CREDIT FOR LOAD with the host's MAC2.
    /// - Returns: the card's TAC, or the decline (`9302`: MAC2 refused); throws when the card left (the caller
    ///   then checks the online counter on the next presentation).
    public static func credit(
        _ load: PreparedLoad, mac2: [UInt8], channel: some PurseCardChannel
    ) throws -> PurseResult<[UInt8]> {
        let answer = try channel.transmit(PurseCommand.creditForLoad(dateTime: load.dateTime, mac2: mac2))
        if answer.statusWord.rawValue == 0x9302 { return .failure(.mac2Invalid) }
        guard answer.statusWord.isNormalProcessing else { return .failure(.cardError(answer.statusWord)) }
        guard answer.data.count == 4 else { throw PurseError(.malformedResponse, "CREDIT FOR LOAD answers 4 bytes") }
        return .success(answer.data)
    }

    /// Personalises a blank card (docs/prepaid.md §2.4): UPDATE BINARY of file `15`, then WRITE KEY for DPK, DLK
    /// and DTK. Returns the first status word that is not `9000`, or nil.
    public static func personalise(
        _ data: PurseApplicationData, keys: PurseCardKeys, keyVersion: UInt8, channel: some PurseCardChannel
    ) throws -> StatusWord? {
        let select = try channel.transmit(PurseCommand.select())
        guard select.statusWord.isNormalProcessing else { return select.statusWord }
        for command in [
            try PurseCommand.updateApplicationData(data),
            try PurseCommand.writeKey(.purchase, keyVersion: keyVersion, key: keys.purchase),
            try PurseCommand.writeKey(.load, keyVersion: keyVersion, key: keys.load),
            try PurseCommand.writeKey(.transaction, keyVersion: keyVersion, key: keys.transaction),
        ] {
            let answer = try channel.transmit(command)
            guard answer.statusWord.isNormalProcessing else { return answer.statusWord }
        }
        return nil
    }
}

/// The key slots WRITE KEY addresses (P2).
public enum PurseKeyUsage: UInt8, Sendable, Hashable, CaseIterable {
    /// DPK.
    case purchase = 0x01
    /// DLK.
    case load = 0x02
    /// DTK.
    case transaction = 0x03
}

extension PurseCommand {
    /// UPDATE BINARY of file `15` (`00 D6 95 00 1E`), personalisation only.
    public static func updateApplicationData(_ data: PurseApplicationData) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x00, ins: 0xD6, p1: 0x80 | PurseApplicationData.shortFileIdentifier, p2: 0x00,
                        data: data.encoded)
    }

    /// WRITE KEY (`80 D4 <version> <usage> 10 <key>`), personalisation of a blank (transport-state) card only. A
    /// production card takes keys under secure messaging with its transport key; the virtual blank card takes them
    /// in clear (docs/prepaid.md §2.4).
    public static func writeKey(_ usage: PurseKeyUsage, keyVersion: UInt8, key: SecretBytes) throws -> CommandAPDU {
        guard key.count == 16 else { throw PurseError(.invalidParameter, "a purse key is 16 bytes") }
        return try CommandAPDU(cla: 0x80, ins: 0xD4, p1: keyVersion, p2: usage.rawValue,
                               data: key.withUnsafeBytes { Array($0) })
    }
}

/// A step's value or the reason the transaction stops (a domain outcome, so not a Swift `Result`, whose failure
/// must be an `Error`).
public enum PurseResult<Success: Sendable>: Sendable {
    /// The step succeeded.
    case success(Success)
    /// The transaction stops.
    case failure(PurseDecline)
}

extension PreparedPurchase {
    /// The prepared purchase as the bytes a terminal persists before DEBIT FOR PURCHASE (58 bytes): serial number
    /// (10) ‖ INITIALIZE FOR PURCHASE answer (15) ‖ amount (4) ‖ terminal (6) ‖ sequence number (4) ‖ date-time (7)
    /// ‖ MAC1 (4) ‖ version `01` ‖ 7 zero bytes. `nil` when the card number is not 20 hex digits.
    public var persisted: [UInt8]? {
        guard cardNumber.utf8.count == 20, let serial = hexBytes(cardNumber) else { return nil }
        var bytes: [UInt8] = serial
        bytes += initialize.encoded
        bytes += PurseBytes.be32(amount)
        bytes += terminalID.bytes
        bytes += PurseBytes.be32(terminalSequenceNumber)
        bytes += dateTime.bytes
        bytes += mac1
        bytes += [0x01] + [UInt8](repeating: 0, count: 7)
        return bytes
    }

    /// Reads ``persisted`` bytes back (also the first 58 bytes of a ``CompletedPurchase/persisted``).
    /// - Throws: ``PurseError/Code/malformedResponse`` for another length or version.
    public init(persisted bytes: [UInt8]) throws {
        guard bytes.count == 58 || bytes.count == 66, bytes[50] == 0x01 else {
            throw PurseError(.malformedResponse, "not a persisted prepared purchase")
        }
        let slice = bytes[...]
        let serial = PurseBytes.read(slice, 0, 10)
        self.init(
            cardNumber: hexString(serial), diversificationData: Array(serial.suffix(8)),
            initialize: try InitializeForPurchaseResponse(responseData: slice[10..<25]),
            amount: PurseBytes.uint(PurseBytes.read(slice, 25, 4)),
            terminalID: try PurseTerminalID(PurseBytes.read(slice, 29, 6)),
            terminalSequenceNumber: PurseBytes.uint(PurseBytes.read(slice, 35, 4)),
            dateTime: try PurseDateTime(bytes: PurseBytes.read(slice, 39, 7)), mac1: PurseBytes.read(slice, 46, 4))
    }
}

extension CompletedPurchase {
    /// The completed purchase as the terminal seals it (66 bytes): ``PreparedPurchase/persisted`` ‖ TAC ‖ MAC2. It
    /// still holds the prepared purchase, so a record killed between its completion's two commits is recovered.
    public var persisted: [UInt8]? { prepared.persisted.map { $0 + tac + mac2 } }

    /// Reads ``persisted`` bytes back.
    /// - Throws: ``PurseError/Code/malformedResponse`` for another length.
    public init(persisted bytes: [UInt8]) throws {
        guard bytes.count == 66 else { throw PurseError(.malformedResponse, "not a persisted completed purchase") }
        self.init(prepared: try PreparedPurchase(persisted: bytes), tac: Array(bytes[58..<62]),
                  mac2: Array(bytes[62..<66]), recovered: false)
    }

    /// The clearing data of the host protocol's `PP` sub-element (docs/host-interface.md §14), 27 bytes: balance
    /// before (4) ‖ offline counter (2) ‖ terminal sequence number (4) ‖ terminal (6) ‖ date-time (7) ‖ TAC (4).
    public var clearingData: [UInt8] {
        PurseBytes.be32(prepared.initialize.balance) + PurseBytes.be16(prepared.initialize.offlineCounter)
            + PurseBytes.be32(prepared.terminalSequenceNumber) + prepared.terminalID.bytes + prepared.dateTime.bytes + tac
    }
}

extension PreparedLoad {
    /// The load data of the host protocol's `PL` sub-element, 27 bytes: old balance (4) ‖ online counter (2) ‖
    /// random (4) ‖ MAC1 (4) ‖ terminal (6) ‖ date-time (7).
    public var authorisationData: [UInt8] {
        PurseBytes.be32(initialize.balance) + PurseBytes.be16(initialize.onlineCounter) + initialize.random
            + initialize.mac1 + terminalID.bytes + dateTime.bytes
    }
}

func hexBytes(_ text: String) -> [UInt8]? {
    var out: [UInt8] = []
    var high: UInt8?
    for scalar in text.unicodeScalars {
        guard let digit = UInt8(String(scalar), radix: 16) else { return nil }
        if let h = high {
            out.append(h << 4 | digit)
            high = nil
        } else {
            high = digit
        }
    }
    return high == nil ? out : nil
}

extension PreparedLoad {
    /// The prepared load as a terminal keeps it while the card's CREDIT is unconfirmed (43 bytes): serial number (10)
    /// ‖ INITIALIZE FOR LOAD answer (16) ‖ amount (4) ‖ terminal (6) ‖ date-time (7). `nil` for a malformed card number.
    public var persisted: [UInt8]? {
        guard cardNumber.utf8.count == 20, let serial = hexBytes(cardNumber) else { return nil }
        var bytes: [UInt8] = serial
        bytes += initialize.encoded
        bytes += PurseBytes.be32(amount)
        bytes += terminalID.bytes
        bytes += dateTime.bytes
        return bytes
    }

    /// Reads ``persisted`` bytes back.
    /// - Throws: ``PurseError/Code/malformedResponse`` for another length.
    public init(persisted bytes: [UInt8]) throws {
        guard bytes.count == 43 else { throw PurseError(.malformedResponse, "not a persisted prepared load") }
        let slice = bytes[...]
        let serial = PurseBytes.read(slice, 0, 10)
        cardNumber = hexString(serial)
        diversificationData = Array(serial.suffix(8))
        initialize = try InitializeForLoadResponse(responseData: slice[10..<26])
        amount = PurseBytes.uint(PurseBytes.read(slice, 26, 4))
        terminalID = try PurseTerminalID(PurseBytes.read(slice, 30, 6))
        dateTime = try PurseDateTime(bytes: PurseBytes.read(slice, 36, 7))
    }
}

/// The outcome of checking a load whose CREDIT FOR LOAD got no answer (the card left).
public enum PurseLoadRecoveryOutcome: Sendable, Hashable {
    /// The card credited itself: its proof's TAC verifies over this load.
    case credited(tac: [UInt8])
    /// The online counter did not move: the card was not credited.
    case notCredited
    /// Another card, or the counter moved without a proof for this load: left for the host to settle.
    case notThisTransaction
}

extension PurseTerminal {
    /// Checks a torn load on the card's next presentation (docs/prepaid.md §4.4): GET TRANSACTION PROVE (type `02`)
    /// for the load's online counter — a TAC that verifies over this load proves the credit — else INITIALIZE FOR
    /// LOAD (no state change without CREDIT) tells whether the online counter moved.
    public static func recoverLoad(
        _ load: PreparedLoad, sam: some PurseSAM, channel: some PurseCardChannel
    ) throws -> PurseLoadRecoveryOutcome {
        guard case .success(let card) = try read(channel), card.applicationData.cardNumber == load.cardNumber else {
            return .notThisTransaction
        }
        let proof = try channel.transmit(
            PurseCommand.getTransactionProve(type: .purseLoad, counter: load.initialize.onlineCounter))
        if proof.statusWord.isNormalProcessing, proof.data.count == 8 {
            let tac = Array(proof.data.suffix(4))
            if try sam.verifyTAC(diversificationData: load.diversificationData, tacInput: load.tacInput, tac: tac) {
                return .credited(tac: tac)
            }
            return .notThisTransaction
        }
        let answer = try channel.transmit(
            PurseCommand.initializeForLoad(keyIndex: 1, amount: 1, terminalID: load.terminalID))
        guard answer.statusWord.isNormalProcessing else { return .notThisTransaction }
        let now = try InitializeForLoadResponse(responseData: answer.data[...])
        return now.onlineCounter == load.initialize.onlineCounter ? .notCredited : .notThisTransaction
    }
}

extension PreparedLoad {
    /// The load confirmation of the host protocol's `PT` sub-element (docs/host-interface.md §14), 23 bytes: new
    /// balance (4) ‖ online counter before the load (2) ‖ terminal (6) ‖ date-time (7) ‖ the card's TAC (4).
    public func confirmationData(tac: [UInt8]) -> [UInt8] {
        PurseBytes.be32(initialize.balance &+ amount) + PurseBytes.be16(initialize.onlineCounter) + terminalID.bytes
            + dateTime.bytes + tac
    }

    /// A sealed load confirmation: ``persisted`` ‖ TAC (47 bytes), and back.
    public static func confirmation(sealed bytes: [UInt8]) -> (load: PreparedLoad, tac: [UInt8])? {
        guard bytes.count == 47, let load = try? PreparedLoad(persisted: Array(bytes.prefix(43))) else { return nil }
        return (load, Array(bytes.suffix(4)))
    }
}
