public import DeviceKit
public import PaymentCrypto
import PrepaidPurse
import Codecs

/// The card side of the PBOC electronic purse (docs/prepaid.md §1-2): SELECT, READ/UPDATE BINARY of file 15, GET
/// BALANCE, INITIALIZE/CREDIT FOR LOAD, INITIALIZE/DEBIT FOR PURCHASE, GET TRANSACTION PROVE, WRITE KEY. Written
/// from docs/prepaid.md, answering with status words as a card does; never throws for a command.
public final class VirtualPurseCard {
    /// The profile it was made from.
    public let profile: VirtualPurseProfile
    private let random: any RandomSource
    /// The largest balance the purse accepts, in fen (10 000.00).
    public static let maximumBalance: UInt32 = 1_000_000

    /// The balance in fen.
    public private(set) var balance: UInt32
    /// The online (load) counter.
    public private(set) var onlineCounter: UInt16 = 0
    /// The offline (purchase) counter.
    public private(set) var offlineCounter: UInt16 = 0
    /// Whether the card left the reader (the torn-debit fault); ``reinsert()`` brings it back.
    public private(set) var isRemoved = false
    private var applicationData: PurseApplicationData?
    private var keys: [PurseKeyUsage: SecretBytes] = [:]
    private var keyVersion: UInt8 = 1
    private var selected = false
    private var session: Session?
    private var proofs: [ProofKey: [UInt8]] = [:]
    private var tornFaultArmed: Bool
    private var tornLoadArmed: Bool

    private enum Session {
        case load(amount: UInt32, terminal: [UInt8], counter: UInt16, key: SecretBytes)
        case purchase(amount: UInt32, terminal: [UInt8], counter: UInt16, random: [UInt8])
    }

    private struct ProofKey: Hashable {
        let type: UInt8
        let counter: UInt16
    }

    /// A card personalised from `profile` with keys diversified from the TEST ONLY master keys (or blank).
    public init(profile: VirtualPurseProfile, random: any RandomSource) {
        self.profile = profile
        self.random = random
        balance = 0
        tornFaultArmed = profile.variant == .tornDebit
        tornLoadArmed = profile.variant == .tornLoad
        guard profile.variant != .blank,
            let data = try? PurseApplicationData(
                issuerIdentifier: VirtualPurseProfile.testIssuerIdentifier, applicationSerialNumber: profile.serialNumber,
                startDate: [0x20, 0x26, 0x01, 0x01], expiryDate: profile.expiryDate),
            let cardKeys = try? PurseCardKeys(masterKeys: .testOnly(), diversificationData: data.diversificationData)
        else { return }
        applicationData = data
        keys = [.purchase: cardKeys.purchase, .load: cardKeys.load, .transaction: cardKeys.transaction]
        balance = profile.cardBalance
    }

    /// The card's answer to reset: T=1, historical bytes "VPURSE".
    public var answerToReset: [UInt8] {
        let historical = Array("VPURSE".utf8)
        let body: [UInt8] = [0x80 | UInt8(historical.count), 0x01] + historical
        return [0x3B] + body + [body.reduce(0, ^)]
    }

    /// Power cycle: forgets the selection and any open session; keeps balance, counters and proofs.
    public func reset() {
        selected = false
        session = nil
    }

    /// Puts a removed card back (its next presentation).
    public func reinsert() {
        isRemoved = false
        reset()
    }

    /// Whether the card is personalised.
    public var isPersonalised: Bool { applicationData != nil && keys.count == PurseKeyUsage.allCases.count }

    /// The card number (nil while blank).
    public var cardNumber: String? { applicationData?.cardNumber }

    /// The card's persistent memory for a personalised profile card (balance, counters, proofs, the torn fault):
    /// what survives when the card is powered off. The store kill harness keeps it in a file, written after every
    /// command that changes it, as a card's EEPROM commit.
    public var persistentState: [UInt8] {
        var out: [UInt8] = [0x01] + be32(balance) + [UInt8(onlineCounter >> 8), UInt8(onlineCounter & 0xFF),
                                                     UInt8(offlineCounter >> 8), UInt8(offlineCounter & 0xFF),
                                                     tornFaultArmed ? 1 : 0]
        let sorted = proofs.sorted { ($0.key.type, $0.key.counter) < ($1.key.type, $1.key.counter) }
        out += [UInt8(sorted.count >> 8 & 0xFF), UInt8(sorted.count & 0xFF)]
        for (key, proof) in sorted { out += [key.type, UInt8(key.counter >> 8), UInt8(key.counter & 0xFF)] + proof }
        return out
    }

    /// Restores ``persistentState``; false (and nothing changed) when the bytes are not one.
    @discardableResult
    public func restore(persistentState bytes: [UInt8]) -> Bool {
        guard bytes.count >= 12, bytes[0] == 0x01 else { return false }
        let count = Int(bytes[10]) << 8 | Int(bytes[11])
        guard bytes.count == 12 + count * 11 else { return false }
        balance = uint(bytes[1..<5])
        onlineCounter = UInt16(bytes[5]) << 8 | UInt16(bytes[6])
        offlineCounter = UInt16(bytes[7]) << 8 | UInt16(bytes[8])
        tornFaultArmed = bytes[9] != 0
        proofs = [:]
        for index in 0..<count {
            let base = 12 + index * 11
            proofs[ProofKey(type: bytes[base], counter: UInt16(bytes[base + 1]) << 8 | UInt16(bytes[base + 2]))] =
                Array(bytes[(base + 3)..<(base + 11)])
        }
        return true
    }

    /// Processes one command APDU and returns the response data and SW1 SW2.
    public func process(_ command: [UInt8]) -> [UInt8] {
        guard !isRemoved else { return sw(0x6F00) }
        guard let apdu = try? CommandAPDU(apduEncoded: command) else { return sw(0x6700) }
        switch (apdu.cla, apdu.ins) {
        case (0x00, 0xA4): return select(apdu)
        case (0x00, 0xB0), (0x00, 0xD6), (0x80, 0xD4), (0x80, 0x5C), (0x80, 0x50), (0x80, 0x52), (0x80, 0x54),
            (0x80, 0x5A):
            guard selected else { return sw(0x6985) }
            switch apdu.ins {
            case 0xB0: return readBinary(apdu)
            case 0xD6: return updateBinary(apdu)
            case 0xD4: return writeKey(apdu)
            case 0x5C: return getBalance(apdu)
            case 0x50: return apdu.p1 == 0x00 ? initializeForLoad(apdu) : initializeForPurchase(apdu)
            case 0x52: return creditForLoad(apdu)
            case 0x54: return debitForPurchase(apdu)
            default: return getTransactionProve(apdu)
            }
        case (0x00, _), (0x80, _): return sw(0x6D00)
        default: return sw(0x6E00)
        }
    }

    func select(_ apdu: CommandAPDU) -> [UInt8] {
        guard apdu.p1 == 0x04, apdu.data == PrepaidPurse.applicationIdentifier else { return sw(0x6A82) }
        selected = true
        session = nil
        // FCI: '6F' { '84' DF name, 'A5' { '9F08' version 02 } }
        let name = PrepaidPurse.applicationIdentifier
        let proprietary: [UInt8] = [0x9F, 0x08, 0x01, 0x02]
        let body: [UInt8] = [0x84, UInt8(name.count)] + name + [0xA5, UInt8(proprietary.count)] + proprietary
        return [0x6F, UInt8(body.count)] + body + sw(0x9000)
    }

    func readBinary(_ apdu: CommandAPDU) -> [UInt8] {
        guard apdu.p1 == 0x80 | PurseApplicationData.shortFileIdentifier else { return sw(0x6A82) }
        guard let data = applicationData else { return sw(0x6A82) }
        return data.encoded + sw(0x9000)
    }

    func updateBinary(_ apdu: CommandAPDU) -> [UInt8] {
        guard !isPersonalised else { return sw(0x6985) }
        guard apdu.p1 == 0x80 | PurseApplicationData.shortFileIdentifier else { return sw(0x6A82) }
        guard let data = try? PurseApplicationData(fileContent: apdu.data[...]) else { return sw(0x6700) }
        applicationData = data
        return sw(0x9000)
    }

    func writeKey(_ apdu: CommandAPDU) -> [UInt8] {
        guard !isPersonalised else { return sw(0x6985) }
        guard let usage = PurseKeyUsage(rawValue: apdu.p2) else { return sw(0x6A86) }
        guard apdu.data.count == 16 else { return sw(0x6700) }
        keys[usage] = SecretBytes(apdu.data)
        keyVersion = apdu.p1
        return sw(0x9000)
    }

    func getBalance(_ apdu: CommandAPDU) -> [UInt8] {
        guard isPersonalised else { return sw(0x6985) }
        guard apdu.p2 == PurseApplicationKind.electronicPurse.rawValue else { return sw(0x6A86) }
        return be32(balance) + sw(0x9000)
    }

    func initializeForLoad(_ apdu: CommandAPDU) -> [UInt8] {
        session = nil
        guard isPersonalised, let loadKey = keys[.load] else { return sw(0x6985) }
        guard apdu.p2 == PurseApplicationKind.electronicPurse.rawValue else { return sw(0x6A86) }
        guard apdu.data.count == 11, apdu.data[0] == 0x01 else { return sw(0x6A88) }
        let amount = uint(apdu.data[1..<5])
        let terminal = Array(apdu.data[5..<11])
        guard UInt64(balance) + UInt64(amount) <= UInt64(Self.maximumBalance) else { return sw(0x9401) }
        guard let cardRandom = try? random.bytes(4), cardRandom.count == 4,
            let sessionKey = try? PurseCrypto.loadSessionKey(loadKey: loadKey, random: cardRandom,
                                                             onlineCounter: onlineCounter),
            let terminalID = try? PurseTerminalID(terminal),
            let mac1 = try? PurseCrypto.mac(
                PurseCrypto.loadMAC1Input(balance: balance, amount: amount, type: .purseLoad, terminalID: terminalID),
                key: sessionKey)
        else { return sw(0x6F00) }
        session = .load(amount: amount, terminal: terminal, counter: onlineCounter, key: sessionKey)
        return InitializeForLoadResponse(balance: balance, onlineCounter: onlineCounter, keyVersion: keyVersion,
                                         algorithmIdentifier: 0x00, random: cardRandom, mac1: mac1).encoded
            + sw(0x9000)
    }

    func creditForLoad(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .load(let amount, let terminal, let counter, let key) = session else { return sw(0x6985) }
        session = nil
        guard apdu.data.count == 11, let dateTime = try? PurseDateTime(bytes: Array(apdu.data[0..<7])),
            let terminalID = try? PurseTerminalID(terminal)
        else { return sw(0x6700) }
        let mac2 = Array(apdu.data[7..<11])
        guard let expected = try? PurseCrypto.mac(
            PurseCrypto.loadMAC2Input(amount: amount, type: .purseLoad, terminalID: terminalID, dateTime: dateTime),
            key: key), constantTimeEquals(expected, mac2)
        else { return sw(0x9302) }
        let newBalance = balance + amount
        guard let tac = tac(PurseCrypto.loadTACInput(
            newBalance: newBalance, onlineCounter: counter, amount: amount, type: .purseLoad, terminalID: terminalID,
            dateTime: dateTime))
        else { return sw(0x6F00) }
        balance = newBalance
        onlineCounter = counter &+ 1
        proofs[ProofKey(type: PurseTransactionType.purseLoad.rawValue, counter: counter)] = mac2 + tac
        if tornLoadArmed {
            tornLoadArmed = false
            isRemoved = true
        }
        return tac + sw(0x9000)
    }

    func initializeForPurchase(_ apdu: CommandAPDU) -> [UInt8] {
        session = nil
        guard isPersonalised else { return sw(0x6985) }
        guard apdu.p1 == 0x01, apdu.p2 == PurseApplicationKind.electronicPurse.rawValue else { return sw(0x6A86) }
        guard apdu.data.count == 11, apdu.data[0] == 0x01 else { return sw(0x6A88) }
        let amount = uint(apdu.data[1..<5])
        let terminal = Array(apdu.data[5..<11])
        guard amount <= balance else { return sw(0x9401) }
        guard let cardRandom = try? random.bytes(4), cardRandom.count == 4 else { return sw(0x6F00) }
        session = .purchase(amount: amount, terminal: terminal, counter: offlineCounter, random: cardRandom)
        return InitializeForPurchaseResponse(balance: balance, offlineCounter: offlineCounter, keyVersion: keyVersion,
                                             algorithmIdentifier: 0x00, random: cardRandom).encoded + sw(0x9000)
    }

    func debitForPurchase(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .purchase(let amount, let terminal, let counter, let cardRandom) = session,
            let purchaseKey = keys[.purchase]
        else { return sw(0x6985) }
        session = nil
        guard apdu.data.count == 15, let dateTime = try? PurseDateTime(bytes: Array(apdu.data[4..<11])),
            let terminalID = try? PurseTerminalID(terminal)
        else { return sw(0x6700) }
        let sequence = uint(apdu.data[0..<4])
        let mac1 = Array(apdu.data[11..<15])
        guard let sessionKey = try? PurseCrypto.purchaseSessionKey(
            purchaseKey: purchaseKey, random: cardRandom, offlineCounter: counter, terminalSequenceNumber: sequence),
            let expected = try? PurseCrypto.mac(
                PurseCrypto.purchaseMAC1Input(amount: amount, type: .pursePurchase, terminalID: terminalID,
                                              dateTime: dateTime), key: sessionKey)
        else { return sw(0x6F00) }
        guard constantTimeEquals(expected, mac1) else { return sw(0x9302) }
        guard amount <= balance else { return sw(0x9401) }
        guard var mac2 = try? PurseCrypto.mac(PurseCrypto.purchaseMAC2Input(amount: amount), key: sessionKey),
            let tac = tac(PurseCrypto.purchaseTACInput(
                amount: amount, type: .pursePurchase, terminalID: terminalID, terminalSequenceNumber: sequence,
                dateTime: dateTime))
        else { return sw(0x6F00) }
        if profile.variant == .wrongMAC { mac2[mac2.startIndex] ^= 0x01 }
        balance -= amount
        offlineCounter = counter &+ 1
        proofs[ProofKey(type: PurseTransactionType.pursePurchase.rawValue, counter: counter)] = mac2 + tac
        if tornFaultArmed {
            tornFaultArmed = false
            isRemoved = true
        }
        return tac + mac2 + sw(0x9000)
    }

    func getTransactionProve(_ apdu: CommandAPDU) -> [UInt8] {
        guard apdu.data.count == 2 else { return sw(0x6700) }
        let counter = UInt16(uint(apdu.data[...]))
        guard let proof = proofs[ProofKey(type: apdu.p2, counter: counter)] else { return sw(0x6A83) }
        return proof + sw(0x9000)
    }

    private func tac(_ input: [UInt8]) -> [UInt8]? {
        guard let dtk = keys[.transaction], let key = try? PurseCrypto.tacKey(transactionKey: dtk) else { return nil }
        return try? PurseCrypto.mac(input, key: key)
    }

    private func sw(_ word: UInt16) -> [UInt8] { [UInt8(word >> 8), UInt8(word & 0xFF)] }
    private func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
    private func uint(_ bytes: ArraySlice<UInt8>) -> UInt32 { bytes.reduce(0) { $0 << 8 | UInt32($1) } }
}

@available(*, unavailable)
extension VirtualPurseCard: Sendable {}

/// A session with a ``VirtualPurseCard`` through DeviceKit's `CardConnection` (contact slot). `transmit` throws
/// ``VirtualCardError/Code/cardRemoved`` once the card left (also for the command during which it left).
public final class VirtualPurseCardConnection: CardConnection {
    /// The card behind the connection.
    public let card: VirtualPurseCard
    private var closed = false

    /// A session with `card`; the card is reset.
    public init(card: VirtualPurseCard) {
        self.card = card
        card.reset()
    }

    /// The contact slot.
    public var slot: CardSlot { .contact }

    /// Sends one command APDU and returns the response with SW1 SW2.
    public func transmit(_ command: [UInt8]) throws -> [UInt8] {
        guard !closed else { throw VirtualCardError(.connectionClosed, "the virtual card session was ended") }
        guard !card.isRemoved else { throw VirtualCardError(.cardRemoved, "the card left the reader") }
        let response = card.process(command)
        guard !card.isRemoved else { throw VirtualCardError(.cardRemoved, "the card left the reader during the command") }
        return response
    }

    /// Ends the session.
    public func disconnect() { closed = true }
}

@available(*, unavailable)
extension VirtualPurseCardConnection: Sendable {}
