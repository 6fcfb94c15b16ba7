public import PaymentCrypto

/// The three keys of one purse card, diversified from the issuer's master keys (docs/prepaid.md §2.1).
public struct PurseCardKeys: Sendable {
    /// DPK, the purchase key (消费密钥), 16 bytes.
    public let purchase: SecretBytes
    /// DLK, the load key (圈存密钥), 16 bytes.
    public let load: SecretBytes
    /// DTK, the TAC key (TAC密钥), 16 bytes.
    public let transaction: SecretBytes

    /// The three keys.
    public init(purchase: SecretBytes, load: SecretBytes, transaction: SecretBytes) {
        self.purchase = purchase
        self.load = load
        self.transaction = transaction
    }

    /// Diversifies the issuer master keys for the card with `diversificationData`.
    /// - Throws: ``PurseError/Code/crypto`` for a wrong key length.
    public init(masterKeys: PurseMasterKeys, diversificationData: [UInt8]) throws {
        purchase = try PurseCrypto.diversify(masterKey: masterKeys.purchase, diversificationData: diversificationData)
        load = try PurseCrypto.diversify(masterKey: masterKeys.load, diversificationData: diversificationData)
        transaction = try PurseCrypto.diversify(
            masterKey: masterKeys.transaction, diversificationData: diversificationData)
    }
}

/// The issuer master keys of a purse scheme: MPK (purchase), MLK (load), MTK (TAC), 16 bytes each.
public struct PurseMasterKeys: Sendable {
    /// MPK, the purchase master key.
    public let purchase: SecretBytes
    /// MLK, the load master key.
    public let load: SecretBytes
    /// MTK, the TAC master key.
    public let transaction: SecretBytes
    /// Key version that the cards report in INITIALIZE (the same for the three keys here).
    public let keyVersion: UInt8

    /// - Throws: ``PurseError/Code/crypto`` unless every key has 16 bytes.
    public init(purchase: SecretBytes, load: SecretBytes, transaction: SecretBytes, keyVersion: UInt8 = 1) throws {
        guard purchase.count == 16, load.count == 16, transaction.count == 16 else {
            throw PurseError(.crypto, "purse master keys are 16 bytes each")
        }
        self.purchase = purchase
        self.load = load
        self.transaction = transaction
        self.keyVersion = keyVersion
    }

    /// TEST ONLY master keys of the simulator's purse scheme (committed in this repository; they protect nothing).
    /// MPK `11…11 22…22`, MLK `33…33 44…44`, MTK `55…55 66…66`.
    public static func testOnly() -> PurseMasterKeys {
        func key(_ a: UInt8, _ b: UInt8) -> SecretBytes {
            SecretBytes([UInt8](repeating: a, count: 8) + [UInt8](repeating: b, count: 8))
        }
        return PurseMasterKeys(checked: key(0x11, 0x22), key(0x33, 0x44), key(0x55, 0x66), keyVersion: 1)
    }

    /// Keys whose lengths the caller has fixed.
    private init(checked purchase: SecretBytes, _ load: SecretBytes, _ transaction: SecretBytes, keyVersion: UInt8) {
        self.purchase = purchase
        self.load = load
        self.transaction = transaction
        self.keyVersion = keyVersion
    }
}

/// What the SAM needs to start a purchase (the PSAM's INIT SAM FOR PURCHASE, `80 70 00 00 24`).
public struct PurseSAMPurchaseRequest: Sendable {
    /// The card's diversification data (rightmost 8 bytes of its serial number).
    public var diversificationData: [UInt8]
    /// The card's answer to INITIALIZE FOR PURCHASE.
    public var initialize: InitializeForPurchaseResponse
    /// Amount in fen.
    public var amount: UInt32
    /// Transaction date and time.
    public var dateTime: PurseDateTime
    /// The sequence number to reuse (recovery) or nil for the SAM's next one.
    public var terminalSequenceNumber: UInt32?

    /// The request.
    public init(diversificationData: [UInt8], initialize: InitializeForPurchaseResponse, amount: UInt32,
                dateTime: PurseDateTime, terminalSequenceNumber: UInt32? = nil) {
        self.diversificationData = diversificationData
        self.initialize = initialize
        self.amount = amount
        self.dateTime = dateTime
        self.terminalSequenceNumber = terminalSequenceNumber
    }
}

/// A purchase session open in the SAM: its terminal sequence number and MAC1. A software SAM carries the session
/// key here; a hardware PSAM keeps it inside and this holds none.
public struct PurseSAMPurchase: Sendable {
    /// The terminal transaction sequence number (终端交易序号) the SAM assigned.
    public let terminalSequenceNumber: UInt32
    /// MAC1 for DEBIT FOR PURCHASE.
    public let mac1: [UInt8]
    /// The session key, for a software SAM only.
    package let sessionKey: SecretBytes?

    /// A session as a SAM reports it.
    package init(terminalSequenceNumber: UInt32, mac1: [UInt8], sessionKey: SecretBytes?) {
        self.terminalSequenceNumber = terminalSequenceNumber
        self.mac1 = mac1
        self.sessionKey = sessionKey
    }
}

/// The secure access module: the terminal-side purse secrets behind one protocol (docs/prepaid.md §3).
///
/// ``SoftwareSAM`` implements it over keys from the key store. A hardware PSAM in a second reader slot implements it
/// with the PSAM commands (INIT SAM FOR PURCHASE `80 70`, CREDIT SAM FOR PURCHASE `80 72`, and the issuer SAM's
/// key diversification) over its own ``PurseCardChannel``; nothing else in the firmware changes.
public protocol PurseSAM: AnyObject {
    /// The terminal number that enters every MAC.
    var terminalID: PurseTerminalID { get }
    /// The next terminal transaction sequence number the SAM would assign (persisted by the caller).
    var nextTerminalSequenceNumber: UInt32 { get }
    /// Opens a purchase session: assigns a sequence number, derives the session key and computes MAC1.
    func beginPurchase(_ request: PurseSAMPurchaseRequest) throws -> PurseSAMPurchase
    /// Checks the card's MAC2 for the open session (CREDIT SAM FOR PURCHASE).
    func verifyPurchaseMAC2(_ session: PurseSAMPurchase, amount: UInt32, mac2: [UInt8]) throws -> Bool
    /// Checks a TAC computed by the card with `diversificationData` over `tacInput`.
    func verifyTAC(diversificationData: [UInt8], tacInput: [UInt8], tac: [UInt8]) throws -> Bool
    /// The card keys for personalising a blank card (an issuer SAM's job).
    func cardKeys(diversificationData: [UInt8]) throws -> PurseCardKeys
}

/// A SAM in software over master keys held as ``SecretBytes`` (loaded from the key store; the simulator uses
/// ``PurseMasterKeys/testOnly()``).
public final class SoftwareSAM: PurseSAM {
    private let masterKeys: PurseMasterKeys
    /// The terminal number.
    public let terminalID: PurseTerminalID
    /// The next sequence number.
    public private(set) var nextTerminalSequenceNumber: UInt32

    /// A SAM over `masterKeys` for terminal `terminalID`, starting at `firstSequenceNumber`.
    public init(masterKeys: PurseMasterKeys, terminalID: PurseTerminalID, firstSequenceNumber: UInt32 = 1) {
        self.masterKeys = masterKeys
        self.terminalID = terminalID
        nextTerminalSequenceNumber = firstSequenceNumber
    }

    public func beginPurchase(_ request: PurseSAMPurchaseRequest) throws -> PurseSAMPurchase {
        let sequence: UInt32
        if let given = request.terminalSequenceNumber {
            sequence = given
        } else {
            sequence = nextTerminalSequenceNumber
            nextTerminalSequenceNumber &+= 1
        }
        let keys = try cardKeys(diversificationData: request.diversificationData)
        let session = try PurseCrypto.purchaseSessionKey(
            purchaseKey: keys.purchase, random: request.initialize.random,
            offlineCounter: request.initialize.offlineCounter, terminalSequenceNumber: sequence)
        let mac1 = try PurseCrypto.mac(
            PurseCrypto.purchaseMAC1Input(amount: request.amount, type: .pursePurchase, terminalID: terminalID,
                                          dateTime: request.dateTime),
            key: session)
        return PurseSAMPurchase(terminalSequenceNumber: sequence, mac1: mac1, sessionKey: session)
    }

    public func verifyPurchaseMAC2(_ session: PurseSAMPurchase, amount: UInt32, mac2: [UInt8]) throws -> Bool {
        guard let key = session.sessionKey else { throw PurseError(.sam, "the purchase session has no key") }
        let expected = try PurseCrypto.mac(PurseCrypto.purchaseMAC2Input(amount: amount), key: key)
        return constantTimeEquals(expected, mac2)
    }

    public func verifyTAC(diversificationData: [UInt8], tacInput: [UInt8], tac: [UInt8]) throws -> Bool {
        let keys = try cardKeys(diversificationData: diversificationData)
        let expected = try PurseCrypto.mac(tacInput, key: try PurseCrypto.tacKey(transactionKey: keys.transaction))
        return constantTimeEquals(expected, tac)
    }

    public func cardKeys(diversificationData: [UInt8]) throws -> PurseCardKeys {
        try PurseCardKeys(masterKeys: masterKeys, diversificationData: diversificationData)
    }
}

@available(*, unavailable)
extension SoftwareSAM: Sendable {}
