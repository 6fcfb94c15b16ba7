import Codecs
import PaymentCrypto
public import PrepaidPurse
public import Store
import Uplink
import VirtualCards

/// The prepaid (electronic purse) books of the acquirer simulator (docs/host-interface.md §14, docs/prepaid.md §6):
/// one row per card with the balance the issuer knows, and one row per issue, load and uploaded purchase. It checks
/// load MAC1s and computes MAC2s with the TEST ONLY load master key, verifies the TACs of uploaded purchases with
/// the TEST ONLY TAC master key, and reconciles: a purchase whose balance-before is not the books' balance marks the
/// card `tampered` and puts it on the lost-card list.
public struct PrepaidLedger {
    /// The ledger's database (shared with ``AcquirerLedger``).
    public let database: Database
    let masterKeys: PurseMasterKeys

    static let migrations: [Migration] = [
        Migration(
            "0004-prepaid",
            """
            CREATE TABLE prepaid_cards (
                card_number TEXT PRIMARY KEY NOT NULL CHECK (length(card_number) = 16),
                balance INTEGER NOT NULL CHECK (balance >= 0),
                status TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'tampered')),
                expiry TEXT NOT NULL
            ) STRICT;
            CREATE TABLE prepaid_entries (
                id INTEGER PRIMARY KEY,
                idempotency_key TEXT NOT NULL,
                card_number TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('issue', 'load', 'purchase')),
                amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
                counter INTEGER,
                balance_before INTEGER,
                tac_valid INTEGER NOT NULL DEFAULT 1 CHECK (tac_valid IN (0, 1)),
                reversed INTEGER NOT NULL DEFAULT 0 CHECK (reversed IN (0, 1)),
                reason TEXT NOT NULL
            ) STRICT;
            CREATE INDEX prepaid_entries_key ON prepaid_entries (idempotency_key);
            """
        )
    ]

    /// The books in `ledger`'s database, with the simulator's TEST ONLY purse master keys.
    public init(_ ledger: AcquirerLedger, masterKeys: PurseMasterKeys = .testOnly()) {
        database = ledger.database
        self.masterKeys = masterKeys
    }

    /// One card as the books know it.
    public struct Card: Sendable, Equatable {
        /// The 16-digit card number of the host protocol (rightmost 16 digits of the serial number).
        public var cardNumber: String
        /// Balance in fen.
        public var balance: Int
        /// `active`, `blocked` or `tampered`.
        public var status: String
    }

    /// The card with `number`; a pre-issued virtual card (``VirtualPurseProfile/preIssued``) is entered on first
    /// sight, with the balance it was issued with and, for the lost one, blocked.
    public func card(_ number: String) throws -> Card? {
        if let row = try database.query(
            "SELECT balance, status FROM prepaid_cards WHERE card_number = ?", [.text(number)]).first,
            case .integer(let balance) = row[0], case .text(let status) = row[1]
        {
            return Card(cardNumber: number, balance: Int(balance), status: status)
        }
        guard let issued = VirtualPurseProfile.preIssued.first(where: { String($0.cardNumber.suffix(16)) == number })
        else { return nil }
        let blocked = VirtualPurseProfile.blockedCardNumbers.contains { String($0.suffix(16)) == number }
        try database.write(durability: .normal) { db in
            try db.query(
                "INSERT OR IGNORE INTO prepaid_cards (card_number, balance, status, expiry) VALUES (?, ?, ?, '20301231')",
                [.text(number), .integer(Int64(issued.balance)), .text(blocked ? "blocked" : "active")])
        }
        return try card(number)
    }

    /// Every card the books hold.
    public func cards() throws -> [Card] {
        try database.query("SELECT card_number, balance, status FROM prepaid_cards ORDER BY card_number").compactMap {
            guard case .text(let number) = $0[0], case .integer(let balance) = $0[1], case .text(let status) = $0[2]
            else { return nil }
            return Card(cardNumber: number, balance: Int(balance), status: status)
        }
    }

    /// One line of the prepaid books.
    public struct Entry: Sendable, Equatable {
        public var cardNumber: String
        public var kind: String
        public var amount: Int
        public var tacValid: Bool
        public var reversed: Bool
        public var reason: String
    }

    /// Every line, in order.
    public func entries() throws -> [Entry] {
        try database.query(
            "SELECT card_number, kind, amount_minor, tac_valid, reversed, reason FROM prepaid_entries ORDER BY id"
        ).compactMap {
            guard case .text(let number) = $0[0], case .text(let kind) = $0[1], case .integer(let amount) = $0[2],
                case .integer(let tac) = $0[3], case .integer(let reversed) = $0[4], case .text(let reason) = $0[5]
            else { return nil }
            return Entry(cardNumber: number, kind: kind, amount: Int(amount), tacValid: tac != 0, reversed: reversed != 0,
                         reason: reason)
        }
    }

    /// The card numbers on the lost-card list (blocked or found tampered).
    public func blockList() throws -> [String] {
        try cards().filter { $0.status != "active" }.map(\.cardNumber)
    }
}

extension AcquirerServer.Worker {
    /// The answer to a prepaid (electronic purse) message, or nil when `message` is not one (docs/host-interface.md
    /// §14): a 0200 `720000`/`280000`/`310000` or a 0220 `000000` whose field 62 carries purse data or whose card is
    /// in the prepaid books; reversals of purse loads undo the load and return nil (the generic path books them).
    func respondPrepaid(to message: ISO8583.Message, key: String, messageClass: String) -> [UInt8]? {
        let books = PrepaidLedger(ledger)
        guard let tagged = try? PrivateTaggedData(encoded: message.text(62) ?? "") else { return nil }
        let processingCode = message.text(3) ?? ""
        let number = message.text(2) ?? ""
        if messageClass == "040" || messageClass == "042" {
            try? books.reverseLoad(key: key)
            return nil
        }
        let isPurse = PrepaidHostData.text(PrepaidHostData.loadTag, in: tagged) != nil
            || PrepaidHostData.text(PrepaidHostData.purchaseTag, in: tagged) != nil
            || PrepaidHostData.text(PrepaidHostData.expiryTag, in: tagged) != nil
            || PrepaidHostData.text(PrepaidHostData.loadConfirmationTag, in: tagged) != nil
            || (processingCode == "310000" && number.count == 16 && (try? books.card(number)) != nil)
        guard isPurse, number.count == 16 else { return nil }
        let amount = Int(message.text(4) ?? "0") ?? 0
        var fields: [Int: ISO8583.FieldValue] = [:]
        let decision: PrepaidLedger.Decision
        switch (message.mti, processingCode) {
        case ("0200", "720000"):
            decision = (try? books.issue(number, expiry: PrepaidHostData.text(PrepaidHostData.expiryTag, in: tagged),
                                         key: key)) ?? .init(code: .systemMalfunction, reason: "books failed")
        case ("0200", "280000"), ("0200", "200000"):
            // A refund of a purse purchase is a load (processing code 200000).
            decision = (try? books.load(number, amount: amount,
                                        data: PrepaidHostData.bytes(PrepaidHostData.loadTag, in: tagged), key: key,
                                        refund: processingCode == "200000"))
                ?? .init(code: .systemMalfunction, reason: "books failed")
        case ("0200", "310000"):
            decision = (try? books.inquiry(number)) ?? .init(code: .systemMalfunction, reason: "books failed")
        case ("0220", "280000"), ("0221", "280000"), ("0220", "200000"), ("0221", "200000"):
            decision = (try? books.confirmLoad(number, amount: amount,
                                               data: PrepaidHostData.bytes(PrepaidHostData.loadConfirmationTag, in: tagged),
                                               key: key)) ?? .init(code: .approved, reason: "advice accepted; books failed")
        case ("0220", _), ("0221", _):
            decision = (try? books.purchase(number, amount: amount,
                                            data: PrepaidHostData.bytes(PrepaidHostData.purchaseTag, in: tagged),
                                            key: key)) ?? .init(code: .approved, reason: "advice accepted; books failed")
        default:
            return nil
        }
        if let balance = decision.balance {
            fields[54] = .text(AdditionalAmount(accountType: "40", amountType: "02",
                                                currencyCode: message.text(49) ?? "156",
                                                amount: Int64(balance)).encoded)
        }
        fields[37] = .text(Self.retrievalReference(key))
        if decision.code == .approved, message.mti == "0200" {
            fields[38] = .text(String(Self.retrievalReference(key).suffix(6)))
        }
        guard var response = try? HostMessages.response(to: message, responseCode: decision.code, fields: fields)
        else { return formatError() }
        if let mac2 = decision.mac2 { try? PrepaidHostData.set(PrepaidHostData.mac2Tag, bytes: mac2, in: &response) }
        guard let packed = try? HostDialect.pack(response) else { return formatError() }
        let isAdvice = message.mti.hasPrefix("022")
        try? ledger.record(
            key: key, messageClass: messageClass, response: packed, kind: isAdvice ? "advice" : "authorization",
            // A load's confirmation advice moves no money of its own (the 0200 did).
            mti: message.mti, amount: processingCode == "310000" || (isAdvice && processingCode != "000000") ? 0 : amount,
            currency: message.text(49) ?? "",
            maskedPAN: EMVDataDictionary.maskedPAN(number),
            responseCode: isAdvice ? (message.text(39) ?? "Y1") : decision.code.rawValue,
            authorizationCode: nil, reason: "prepaid: " + decision.reason)
        return packed
    }
}

extension PrepaidLedger {
    /// What the books decided for one message.
    struct Decision {
        var code: HostResponseCode
        var reason: String
        var balance: Int? = nil
        var mac2: [UInt8]? = nil
    }

    /// Activation: enters a new card with balance 0.
    func issue(_ number: String, expiry: String?, key: String) throws -> Decision {
        if try card(number) != nil { return Decision(code: .invalidTransaction, reason: "card already issued") }
        try database.write(durability: .normal) { db in
            try db.query("INSERT INTO prepaid_cards (card_number, balance, status, expiry) VALUES (?, 0, 'active', ?)",
                         [.text(number), .text(expiry ?? "")])
            try db.query(
                "INSERT INTO prepaid_entries (idempotency_key, card_number, kind, amount_minor, reason) VALUES (?, ?, 'issue', 0, 'issued')",
                [.text(key), .text(number)])
        }
        return Decision(code: .approved, reason: "issued", balance: 0)
    }

    /// Load authorisation: checks the card's state, its balance against the books and MAC1; computes MAC2.
    func load(_ number: String, amount: Int, data: [UInt8]?, key: String, refund: Bool = false) throws -> Decision {
        guard let card = try card(number) else { return Decision(code: .invalidCardNumber, reason: "unknown card") }
        guard card.status == "active" else { return Decision(code: .lostCard, reason: "card on the lost-card list") }
        guard let data, data.count == 27, amount > 0, let amount32 = UInt32(exactly: amount) else {
            return Decision(code: .formatError, reason: "purse load data missing or malformed")
        }
        let balanceBefore = UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3])
        let counter = UInt16(data[4]) << 8 | UInt16(data[5])
        let random = Array(data[6..<10])
        let mac1 = Array(data[10..<14])
        let terminal = try PurseTerminalID(Array(data[14..<20]))
        let dateTime = try PurseDateTime(bytes: Array(data[20..<27]))
        let keys = try PurseCardKeys(masterKeys: masterKeys, diversificationData: Self.diversification(number))
        let session = try PurseCrypto.loadSessionKey(loadKey: keys.load, random: random, onlineCounter: counter)
        let expected = try PurseCrypto.mac(
            PurseCrypto.loadMAC1Input(balance: balanceBefore, amount: amount32, type: .purseLoad, terminalID: terminal),
            key: session)
        guard constantTimeEquals(expected, mac1) else {
            return Decision(code: .doNotHonour, reason: "load MAC1 does not verify")
        }
        guard Int(balanceBefore) == card.balance else {
            try markTampered(number)
            return Decision(code: .lostCard, reason: "card balance \(balanceBefore) is not the books' \(card.balance)")
        }
        let mac2 = try PurseCrypto.mac(
            PurseCrypto.loadMAC2Input(amount: amount32, type: .purseLoad, terminalID: terminal, dateTime: dateTime),
            key: session)
        try database.write(durability: .normal) { db in
            try db.query("UPDATE prepaid_cards SET balance = balance + ? WHERE card_number = ?",
                         [.integer(Int64(amount)), .text(number)])
            try db.query(
                """
                INSERT INTO prepaid_entries (idempotency_key, card_number, kind, amount_minor, counter, balance_before, reason)
                VALUES (?, ?, 'load', ?, ?, ?, ?)
                """,
                [.text(key), .text(number), .integer(Int64(amount)), .integer(Int64(counter)),
                 .integer(Int64(balanceBefore)), .text(refund ? "refund loaded" : "load authorised")])
        }
        return Decision(code: .approved, reason: "load authorised", balance: card.balance + amount, mac2: mac2)
    }

    /// A load's confirmation advice: the card's TAC over the load, verified with the TAC master key; the books
    /// mark the load confirmed (or its TAC invalid). Always accepted.
    func confirmLoad(_ number: String, amount: Int, data: [UInt8]?, key: String) throws -> Decision {
        guard let data, data.count == 23, let amount32 = UInt32(exactly: amount) else {
            return Decision(code: .approved, reason: "advice accepted: malformed load confirmation")
        }
        let newBalance = UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3])
        let counter = UInt16(data[4]) << 8 | UInt16(data[5])
        let terminal = try PurseTerminalID(Array(data[6..<12]))
        let dateTime = try PurseDateTime(bytes: Array(data[12..<19]))
        let keys = try PurseCardKeys(masterKeys: masterKeys, diversificationData: Self.diversification(number))
        let expected = try PurseCrypto.mac(
            PurseCrypto.loadTACInput(newBalance: newBalance, onlineCounter: counter, amount: amount32, type: .purseLoad,
                                     terminalID: terminal, dateTime: dateTime),
            key: try PurseCrypto.tacKey(transactionKey: keys.transaction))
        let valid = constantTimeEquals(expected, Array(data[19..<23]))
        try database.write(durability: .normal) { db in
            try db.query(
                "UPDATE prepaid_entries SET tac_valid = ?, reason = ? WHERE idempotency_key = ? AND kind = 'load'",
                [.integer(valid ? 1 : 0), .text(valid ? "load confirmed by the card's TAC" : "load TAC does not verify"),
                 .text(key)])
        }
        return Decision(code: .approved, reason: valid ? "load confirmed" : "load TAC invalid")
    }

    /// Undoes a load whose authorisation is reversed.
    func reverseLoad(key: String) throws {
        try database.write(durability: .normal) { db in
            let rows = try db.query(
                "SELECT id, card_number, amount_minor FROM prepaid_entries WHERE idempotency_key = ? AND kind = 'load' AND reversed = 0",
                [.text(key)])
            for row in rows {
                guard case .integer(let id) = row[0], case .text(let number) = row[1], case .integer(let amount) = row[2]
                else { continue }
                try db.query("UPDATE prepaid_entries SET reversed = 1 WHERE id = ?", [.integer(id)])
                try db.query("UPDATE prepaid_cards SET balance = max(balance - ?, 0) WHERE card_number = ?",
                             [.integer(amount), .text(number)])
            }
        }
    }

    /// Balance inquiry: the books' balance.
    func inquiry(_ number: String) throws -> Decision {
        guard let card = try card(number) else { return Decision(code: .invalidCardNumber, reason: "unknown card") }
        guard card.status == "active" else { return Decision(code: .lostCard, reason: "card on the lost-card list") }
        return Decision(code: .approved, reason: "balance", balance: card.balance)
    }

    /// A purchase clearing advice: verifies the TAC, reconciles the balance before with the books, books the debit.
    /// An advice is always accepted (`00`); what the books found is in the entry's reason and the card's status.
    func purchase(_ number: String, amount: Int, data: [UInt8]?, key: String) throws -> Decision {
        guard let card = try card(number), let data, data.count == 27, let amount32 = UInt32(exactly: amount) else {
            try database.write(durability: .normal) { db in
                try db.query(
                    "INSERT INTO prepaid_entries (idempotency_key, card_number, kind, amount_minor, tac_valid, reason) VALUES (?, ?, 'purchase', ?, 0, 'unknown card or malformed purse data')",
                    [.text(key), .text(number), .integer(Int64(amount))])
            }
            return Decision(code: .approved, reason: "advice accepted: unknown card or malformed purse data")
        }
        let balanceBefore = UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3])
        let counter = UInt16(data[4]) << 8 | UInt16(data[5])
        let sequence = UInt32(data[6]) << 24 | UInt32(data[7]) << 16 | UInt32(data[8]) << 8 | UInt32(data[9])
        let terminal = try PurseTerminalID(Array(data[10..<16]))
        let dateTime = try PurseDateTime(bytes: Array(data[16..<23]))
        let tac = Array(data[23..<27])
        let keys = try PurseCardKeys(masterKeys: masterKeys, diversificationData: Self.diversification(number))
        let expected = try PurseCrypto.mac(
            PurseCrypto.purchaseTACInput(amount: amount32, type: .pursePurchase, terminalID: terminal,
                                         terminalSequenceNumber: sequence, dateTime: dateTime),
            key: try PurseCrypto.tacKey(transactionKey: keys.transaction))
        let tacValid = constantTimeEquals(expected, tac)
        let reconciled = Int(balanceBefore) == card.balance
        let reason = !tacValid ? "TAC does not verify: not booked"
            : reconciled ? "purchase booked" : "booked; balance before \(balanceBefore) is not the books' \(card.balance): card tampered"
        try database.write(durability: .normal) { db in
            if tacValid {
                try db.query("UPDATE prepaid_cards SET balance = max(balance - ?, 0) WHERE card_number = ?",
                             [.integer(Int64(amount)), .text(number)])
            }
            if tacValid, !reconciled {
                try db.query("UPDATE prepaid_cards SET status = 'tampered' WHERE card_number = ?", [.text(number)])
            }
            try db.query(
                """
                INSERT INTO prepaid_entries (idempotency_key, card_number, kind, amount_minor, counter, balance_before, tac_valid, reason)
                VALUES (?, ?, 'purchase', ?, ?, ?, ?, ?)
                """,
                [.text(key), .text(number), .integer(Int64(amount)), .integer(Int64(counter)),
                 .integer(Int64(balanceBefore)), .integer(tacValid ? 1 : 0), .text(reason)])
        }
        return Decision(code: .approved, reason: reason)
    }

    func markTampered(_ number: String) throws {
        try database.write(durability: .normal) { db in
            try db.query("UPDATE prepaid_cards SET status = 'tampered' WHERE card_number = ?", [.text(number)])
        }
    }

    /// The diversification data of a 16-digit card number: its 8 BCD bytes.
    static func diversification(_ number: String) -> [UInt8] {
        Hex.decode(number) ?? []
    }
}
