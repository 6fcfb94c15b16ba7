public import Codecs

/// Which of the two PBOC purse applications a command addresses (P2 of INITIALIZE and GET BALANCE).
public enum PurseApplicationKind: UInt8, Sendable, Hashable {
    /// Electronic deposit (ED, 电子存折): P2 = `01`; PIN-protected, not used by this firmware's flows.
    case electronicDeposit = 0x01
    /// Electronic purse (EP, 电子钱包): P2 = `02`.
    case electronicPurse = 0x02
}

/// The transaction type identifier that enters MAC1, MAC2 and TAC (交易类型标识, JR/T 0025).
public enum PurseTransactionType: UInt8, Sendable, Hashable {
    /// Load into an electronic deposit.
    case depositLoad = 0x01
    /// Load into an electronic purse (top-up, refund).
    case purseLoad = 0x02
    /// Purchase from an electronic deposit.
    case depositPurchase = 0x05
    /// Purchase from an electronic purse.
    case pursePurchase = 0x06
}

/// A 6-byte terminal number (终端机编号) as it enters the MACs; the PSAM supplies it on a real terminal.
public struct PurseTerminalID: Sendable, Hashable {
    /// The six bytes.
    public let bytes: [UInt8]

    /// - Throws: ``PurseError/Code/invalidParameter`` unless `bytes` has 6 bytes.
    public init(_ bytes: [UInt8]) throws {
        guard bytes.count == 6 else { throw PurseError(.invalidParameter, "a terminal number is 6 bytes") }
        self.bytes = bytes
    }

    /// Terminal number 000000000000.
    public static let zero = PurseTerminalID(unchecked: [0, 0, 0, 0, 0, 0])

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }
}

/// The transaction date and time the terminal sends: `YYYYMMDD` (4 bytes BCD) and `hhmmss` (3 bytes BCD).
public struct PurseDateTime: Sendable, Hashable {
    /// 4 bytes BCD, YYYYMMDD.
    public let date: [UInt8]
    /// 3 bytes BCD, hhmmss.
    public let time: [UInt8]

    /// - Throws: ``PurseError/Code/invalidParameter`` for a field out of range.
    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) throws {
        guard (2000...2099).contains(year), (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
            (0...59).contains(minute), (0...59).contains(second)
        else { throw PurseError(.invalidParameter, "a purse date or time is out of range") }
        date = [0x20, Self.bcd(year % 100), Self.bcd(month), Self.bcd(day)]
        time = [Self.bcd(hour), Self.bcd(minute), Self.bcd(second)]
    }

    /// 2026-01-01 00:00:00, for a clock that cannot be read.
    public static let fallback = PurseDateTime(unchecked: [0x20, 0x26, 0x01, 0x01], [0, 0, 0])

    private init(unchecked date: [UInt8], _ time: [UInt8]) {
        self.date = date
        self.time = time
    }

    /// From the 7 BCD bytes `YYYYMMDDhhmmss`.
    /// - Throws: ``PurseError/Code/invalidParameter`` unless there are 7 bytes.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == 7 else { throw PurseError(.invalidParameter, "a purse date-time is 7 BCD bytes") }
        date = Array(bytes[bytes.startIndex..<bytes.startIndex + 4])
        time = Array(bytes[(bytes.startIndex + 4)...])
    }

    /// The 7 bytes, date then time.
    public var bytes: [UInt8] { date + time }

    /// The date as the number YYYYMMDD (for expiry comparison), or nil if the BCD is malformed.
    public var dateNumber: Int? { PurseBytes.bcdNumber(date) }

    static func bcd(_ value: Int) -> UInt8 { UInt8((value / 10) << 4 | (value % 10)) }
}

/// Big-endian helpers.
enum PurseBytes {
    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    static func read(_ slice: ArraySlice<UInt8>, _ offset: Int, _ count: Int) -> [UInt8] {
        Array(slice[(slice.startIndex + offset)..<(slice.startIndex + offset + count)])
    }

    static func uint(_ bytes: [UInt8]) -> UInt32 { bytes.reduce(0) { $0 << 8 | UInt32($1) } }

    static func bcdNumber(_ bytes: [UInt8]) -> Int? {
        var value = 0
        for byte in bytes {
            let high = Int(byte >> 4), low = Int(byte & 0x0F)
            guard high < 10, low < 10 else { return nil }
            value = value * 100 + high * 10 + low
        }
        return value
    }
}

/// The command APDUs of the purse (JR/T 0025.2 §5.2, PBOC 2.0 part 1), all CLA `80` except SELECT and READ BINARY.
public enum PurseCommand {
    /// SELECT by name (`00 A4 04 00`), the purse application.
    public static func select(_ aid: [UInt8] = PrepaidPurse.applicationIdentifier) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x04, p2: 0x00, data: aid, expectedLength: 256)
    }

    /// READ BINARY of the public application basic data, short file `15` (`00 B0 95 00 1E`).
    public static func readApplicationData() throws -> CommandAPDU {
        try CommandAPDU(cla: 0x00, ins: 0xB0, p1: 0x80 | PurseApplicationData.shortFileIdentifier, p2: 0x00,
                        expectedLength: PurseApplicationData.length)
    }

    /// GET BALANCE (`80 5C 00 02 04`): the 4-byte balance in fen.
    public static func getBalance(_ kind: PurseApplicationKind = .electronicPurse) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x80, ins: 0x5C, p1: 0x00, p2: kind.rawValue, expectedLength: 4)
    }

    /// INITIALIZE FOR LOAD (`80 50 00 02 0B`): key index, amount, terminal number; Le 16.
    public static func initializeForLoad(
        keyIndex: UInt8, amount: UInt32, terminalID: PurseTerminalID, kind: PurseApplicationKind = .electronicPurse
    ) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x80, ins: 0x50, p1: 0x00, p2: kind.rawValue,
                        data: [keyIndex] + PurseBytes.be32(amount) + terminalID.bytes, expectedLength: 16)
    }

    /// CREDIT FOR LOAD (`80 52 00 00 0B`): date, time, MAC2; Le 4 (the TAC).
    public static func creditForLoad(dateTime: PurseDateTime, mac2: [UInt8]) throws -> CommandAPDU {
        guard mac2.count == 4 else { throw PurseError(.invalidParameter, "MAC2 is 4 bytes") }
        return try CommandAPDU(cla: 0x80, ins: 0x52, p1: 0x00, p2: 0x00, data: dateTime.bytes + mac2, expectedLength: 4)
    }

    /// INITIALIZE FOR PURCHASE (`80 50 01 02 0B`): key index, amount, terminal number; Le 15.
    public static func initializeForPurchase(
        keyIndex: UInt8, amount: UInt32, terminalID: PurseTerminalID, kind: PurseApplicationKind = .electronicPurse
    ) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x80, ins: 0x50, p1: 0x01, p2: kind.rawValue,
                        data: [keyIndex] + PurseBytes.be32(amount) + terminalID.bytes, expectedLength: 15)
    }

    /// DEBIT FOR PURCHASE (`80 54 01 00 0F`): terminal transaction sequence number, date, time, MAC1; Le 8
    /// (TAC then MAC2).
    public static func debitForPurchase(
        terminalSequenceNumber: UInt32, dateTime: PurseDateTime, mac1: [UInt8]
    ) throws -> CommandAPDU {
        guard mac1.count == 4 else { throw PurseError(.invalidParameter, "MAC1 is 4 bytes") }
        return try CommandAPDU(cla: 0x80, ins: 0x54, p1: 0x01, p2: 0x00,
                               data: PurseBytes.be32(terminalSequenceNumber) + dateTime.bytes + mac1, expectedLength: 8)
    }

    /// GET TRANSACTION PROVE (`80 5A 00 <type> 02`): the counter the transaction's INITIALIZE returned; Le 8
    /// (MAC2 then TAC of that transaction).
    public static func getTransactionProve(type: PurseTransactionType, counter: UInt16) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x80, ins: 0x5A, p1: 0x00, p2: type.rawValue, data: PurseBytes.be16(counter),
                        expectedLength: 8)
    }
}

/// The public application basic data (公共应用基本数据文件, short file `15`, 30 bytes).
public struct PurseApplicationData: Sendable, Hashable {
    /// The short file identifier, `15`.
    public static let shortFileIdentifier: UInt8 = 0x15
    /// The file's length.
    public static let length = 30

    /// Issuer identifier (发卡方标识), 8 bytes.
    public var issuerIdentifier: [UInt8]
    /// Application type (`02` = EP only, `03` = ED and EP).
    public var applicationType: UInt8
    /// Issuer application version.
    public var applicationVersion: UInt8
    /// Application serial number (应用序列号), 10 bytes BCD: the card number. Keys are diversified by its rightmost
    /// 8 bytes.
    public var applicationSerialNumber: [UInt8]
    /// Start date YYYYMMDD BCD.
    public var startDate: [UInt8]
    /// Expiry date YYYYMMDD BCD.
    public var expiryDate: [UInt8]
    /// Issuer-defined FCI data, 2 bytes.
    public var issuerDefined: [UInt8]

    /// Builds the file content.
    /// - Throws: ``PurseError/Code/invalidParameter`` for a field of the wrong length.
    public init(
        issuerIdentifier: [UInt8], applicationType: UInt8 = 0x02, applicationVersion: UInt8 = 0x01,
        applicationSerialNumber: [UInt8], startDate: [UInt8], expiryDate: [UInt8], issuerDefined: [UInt8] = [0, 0]
    ) throws {
        guard issuerIdentifier.count == 8, applicationSerialNumber.count == 10, startDate.count == 4,
            expiryDate.count == 4, issuerDefined.count == 2
        else { throw PurseError(.invalidParameter, "a field of the application basic data has the wrong length") }
        self.issuerIdentifier = issuerIdentifier
        self.applicationType = applicationType
        self.applicationVersion = applicationVersion
        self.applicationSerialNumber = applicationSerialNumber
        self.startDate = startDate
        self.expiryDate = expiryDate
        self.issuerDefined = issuerDefined
    }

    /// Parses the 30-byte file.
    /// - Throws: ``PurseError/Code/malformedResponse`` for another length.
    public init(fileContent bytes: ArraySlice<UInt8>) throws {
        guard bytes.count == Self.length else {
            throw PurseError(.malformedResponse, "the application basic data is \(bytes.count) bytes, not 30")
        }
        issuerIdentifier = PurseBytes.read(bytes, 0, 8)
        applicationType = bytes[bytes.startIndex + 8]
        applicationVersion = bytes[bytes.startIndex + 9]
        applicationSerialNumber = PurseBytes.read(bytes, 10, 10)
        startDate = PurseBytes.read(bytes, 20, 4)
        expiryDate = PurseBytes.read(bytes, 24, 4)
        issuerDefined = PurseBytes.read(bytes, 28, 2)
    }

    /// The 30 bytes.
    public var encoded: [UInt8] {
        issuerIdentifier + [applicationType, applicationVersion] + applicationSerialNumber + startDate + expiryDate
            + issuerDefined
    }

    /// The diversification input: the rightmost 8 bytes of the application serial number.
    public var diversificationData: [UInt8] { Array(applicationSerialNumber.suffix(8)) }

    /// The card number as 20 digits (the BCD serial number), for receipts (masked) and the host.
    public var cardNumber: String { hexString(applicationSerialNumber) }

    /// The expiry as YYYYMMDD, or nil if malformed.
    public var expiryDateNumber: Int? { PurseBytes.bcdNumber(expiryDate) }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789ABCDEF")
    var out = ""
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return out
}

/// The answer to INITIALIZE FOR LOAD (16 bytes).
public struct InitializeForLoadResponse: Sendable, Hashable {
    /// Balance before the load, in fen.
    public let balance: UInt32
    /// Online transaction counter (联机交易序号) before the load.
    public let onlineCounter: UInt16
    /// Version of the load key (DLK).
    public let keyVersion: UInt8
    /// Algorithm identifier (`00` = 3DES session key derivation).
    public let algorithmIdentifier: UInt8
    /// The card's pseudo-random number, 4 bytes.
    public let random: [UInt8]
    /// MAC1, the card's proof over balance, amount, type and terminal.
    public let mac1: [UInt8]

    /// Parses the response data (without SW1 SW2).
    /// - Throws: ``PurseError/Code/malformedResponse`` unless it is 16 bytes.
    public init(responseData data: ArraySlice<UInt8>) throws {
        guard data.count == 16 else { throw PurseError(.malformedResponse, "INITIALIZE FOR LOAD answers 16 bytes") }
        balance = PurseBytes.uint(PurseBytes.read(data, 0, 4))
        onlineCounter = UInt16(PurseBytes.uint(PurseBytes.read(data, 4, 2)))
        keyVersion = data[data.startIndex + 6]
        algorithmIdentifier = data[data.startIndex + 7]
        random = PurseBytes.read(data, 8, 4)
        mac1 = PurseBytes.read(data, 12, 4)
    }

    /// The fields in response order.
    public init(balance: UInt32, onlineCounter: UInt16, keyVersion: UInt8, algorithmIdentifier: UInt8,
                random: [UInt8], mac1: [UInt8]) {
        self.balance = balance
        self.onlineCounter = onlineCounter
        self.keyVersion = keyVersion
        self.algorithmIdentifier = algorithmIdentifier
        self.random = random
        self.mac1 = mac1
    }

    /// The 16 response bytes.
    public var encoded: [UInt8] {
        PurseBytes.be32(balance) + PurseBytes.be16(onlineCounter) + [keyVersion, algorithmIdentifier] + random + mac1
    }
}

/// The answer to INITIALIZE FOR PURCHASE (15 bytes).
public struct InitializeForPurchaseResponse: Sendable, Hashable {
    /// Balance before the purchase, in fen.
    public let balance: UInt32
    /// Offline transaction counter (脱机交易序号) before the purchase.
    public let offlineCounter: UInt16
    /// Overdraft limit, 3 bytes (0 in this firmware's scheme).
    public let overdraftLimit: UInt32
    /// Version of the purchase key (DPK).
    public let keyVersion: UInt8
    /// Algorithm identifier.
    public let algorithmIdentifier: UInt8
    /// The card's pseudo-random number, 4 bytes.
    public let random: [UInt8]

    /// Parses the response data (without SW1 SW2).
    /// - Throws: ``PurseError/Code/malformedResponse`` unless it is 15 bytes.
    public init(responseData data: ArraySlice<UInt8>) throws {
        guard data.count == 15 else {
            throw PurseError(.malformedResponse, "INITIALIZE FOR PURCHASE answers 15 bytes")
        }
        balance = PurseBytes.uint(PurseBytes.read(data, 0, 4))
        offlineCounter = UInt16(PurseBytes.uint(PurseBytes.read(data, 4, 2)))
        overdraftLimit = PurseBytes.uint(PurseBytes.read(data, 6, 3))
        keyVersion = data[data.startIndex + 9]
        algorithmIdentifier = data[data.startIndex + 10]
        random = PurseBytes.read(data, 11, 4)
    }

    /// The fields in response order.
    public init(balance: UInt32, offlineCounter: UInt16, overdraftLimit: UInt32 = 0, keyVersion: UInt8,
                algorithmIdentifier: UInt8, random: [UInt8]) {
        self.balance = balance
        self.offlineCounter = offlineCounter
        self.overdraftLimit = overdraftLimit
        self.keyVersion = keyVersion
        self.algorithmIdentifier = algorithmIdentifier
        self.random = random
    }

    /// The 15 response bytes.
    public var encoded: [UInt8] {
        PurseBytes.be32(balance) + PurseBytes.be16(offlineCounter) + Array(PurseBytes.be32(overdraftLimit).suffix(3))
            + [keyVersion, algorithmIdentifier] + random
    }
}
