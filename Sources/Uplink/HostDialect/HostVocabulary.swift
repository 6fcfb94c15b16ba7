public import Codecs

/// The message type indicators of our host protocol (docs/host-interface.md §4).
public enum HostMessageType: String, Sendable, CaseIterable {
    /// 0100 authorization request (pre-authorization).
    case authorizationRequest = "0100"
    /// 0110 authorization response.
    case authorizationResponse = "0110"
    /// 0200 financial transaction request (sale, refund, void, balance inquiry, prepaid, QR).
    case financialRequest = "0200"
    /// 0210 financial transaction response.
    case financialResponse = "0210"
    /// 0220 financial advice (a transaction approved offline).
    case financialAdvice = "0220"
    /// 0221 financial advice repeat.
    case financialAdviceRepeat = "0221"
    /// 0230 financial advice response.
    case financialAdviceResponse = "0230"
    /// 0320 batch upload (one approved transaction of a batch the host could not reconcile).
    case batchUpload = "0320"
    /// 0330 batch upload response.
    case batchUploadResponse = "0330"
    /// 0400 reversal request.
    case reversalRequest = "0400"
    /// 0401 reversal request repeat.
    case reversalRequestRepeat = "0401"
    /// 0410 reversal response.
    case reversalResponse = "0410"
    /// 0420 reversal advice.
    case reversalAdvice = "0420"
    /// 0421 reversal advice repeat.
    case reversalAdviceRepeat = "0421"
    /// 0430 reversal advice response.
    case reversalAdviceResponse = "0430"
    /// 0500 reconciliation (settlement) request.
    case settlementRequest = "0500"
    /// 0510 reconciliation (settlement) response.
    case settlementResponse = "0510"
    /// 0800 network management request (sign-on, key exchange, echo).
    case networkManagementRequest = "0800"
    /// 0810 network management response.
    case networkManagementResponse = "0810"

    /// The response type a request is answered with; `nil` for a response.
    public var responseType: HostMessageType? {
        switch self {
        case .authorizationRequest: .authorizationResponse
        case .financialRequest: .financialResponse
        case .financialAdvice, .financialAdviceRepeat: .financialAdviceResponse
        case .batchUpload: .batchUploadResponse
        case .reversalRequest, .reversalRequestRepeat: .reversalResponse
        case .reversalAdvice, .reversalAdviceRepeat: .reversalAdviceResponse
        case .settlementRequest: .settlementResponse
        case .networkManagementRequest: .networkManagementResponse
        default: nil
        }
    }

    /// The repeat of this request type (0221, 0401, 0421), when it has one.
    public var repeatType: HostMessageType? {
        switch self {
        case .financialAdvice: .financialAdviceRepeat
        case .reversalRequest: .reversalRequestRepeat
        case .reversalAdvice: .reversalAdviceRepeat
        default: nil
        }
    }

    /// Whether the host must verify a MAC on this message type (all but network management).
    public var carriesMAC: Bool { self != .networkManagementRequest && self != .networkManagementResponse }
}

/// What the terminal asks the host to do, with its processing code (field 3, `ttffaa`: transaction type, from
/// account, to account; account `00` = default) and request MTI (docs/host-interface.md §5).
public enum TransactionKind: String, Sendable, CaseIterable {
    /// Pre-authorization: reserve an amount (0100, `000000`, POS condition code 06).
    case preAuthorization
    /// Sale of goods or services (0200, `000000`).
    case sale
    /// Refund (return) to the card (0200, `200000`; original data in field 61 when known).
    case refund
    /// Void of a sale of the open batch (0200, `220000`; original data in field 61).
    case void
    /// Balance inquiry (0200, `310000`; balances in field 54 of the response).
    case balanceInquiry
    /// Prepaid top-up: load value onto a prepaid card (0200, `280000`).
    case prepaidTopUp
    /// Prepaid activation of a card sold at the till (0200, `720000`; activation code in field 62 tag `PC`).
    case prepaidActivation
    /// Payment with a customer-presented QR code scanned by the terminal (0200, `900000`; code in field 62 tag `QR`).
    case qrPayment
    /// Status query of a QR payment the host answered `09` (in progress) (0200, `910000`; order in field 62 `QO`).
    case qrQuery
    /// Merchant-presented QR order: the terminal shows an EMVCo MPM code and registers its order (0200, `930000`;
    /// the payload in field 62 `QR`, the order in `QO`); answered `09` until the customer's app paid it.
    case qrOrder

    /// The processing code, field 3.
    public var processingCode: String {
        switch self {
        case .preAuthorization, .sale: "000000"
        case .refund: "200000"
        case .void: "220000"
        case .balanceInquiry: "310000"
        case .prepaidTopUp: "280000"
        case .prepaidActivation: "720000"
        case .qrPayment: "900000"
        case .qrQuery: "910000"
        case .qrOrder: "930000"
        }
    }

    /// The request MTI: 0100 for a pre-authorization, 0200 for the others.
    public var requestType: HostMessageType { self == .preAuthorization ? .authorizationRequest : .financialRequest }

    /// Whether the request carries an amount (field 4): all but balance inquiry and QR query.
    public var hasAmount: Bool { self != .balanceInquiry && self != .qrQuery }

    /// The kind of a request, from its MTI and processing code.
    public init?(messageType: HostMessageType, processingCode: String) {
        if messageType == .authorizationRequest {
            guard processingCode == "000000" else { return nil }
            self = .preAuthorization
            return
        }
        guard let kind = Self.allCases.first(where: { $0 != .preAuthorization && $0.processingCode == processingCode })
        else { return nil }
        self = kind
    }
}

/// How the card data was read: field 22, the point-of-service entry mode (ISO 8583:1987, `n3`: two digits for the
/// PAN entry mode, one for the PIN entry capability).
public struct POSEntryMode: RawRepresentable, Sendable, Hashable {
    /// The three digits.
    public let rawValue: String
    /// Wraps three digits.
    public init?(rawValue: String) {
        guard rawValue.utf8.count == 3, rawValue.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        self.rawValue = rawValue
    }
    private init(_ digits: String) { rawValue = digits }

    /// `011` PAN keyed, terminal can accept PINs.
    public static let manual = POSEntryMode("011")
    /// `021` magnetic stripe read (track 2), PIN capable.
    public static let magneticStripe = POSEntryMode("021")
    /// `031` bar code / QR code scanned by the terminal (ISO 8583:1993 PAN entry mode 03).
    public static let qrCode = POSEntryMode("031")
    /// `051` contact chip (EMV), PIN capable.
    public static let contactChip = POSEntryMode("051")
    /// `071` contactless chip (EMV contactless), PIN capable.
    public static let contactlessChip = POSEntryMode("071")
    /// `801` magnetic stripe after a chip read failed (fallback), PIN capable.
    public static let fallback = POSEntryMode("801")
    /// `911` contactless magnetic stripe mode, PIN capable.
    public static let contactlessMagneticStripe = POSEntryMode("911")
}

/// The host's answer, field 39 (docs/host-interface.md §6), with the terminal's reading of it.
public struct HostResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// What the terminal does with a response code.
    public enum Outcome: Sendable, Hashable {
        /// Approved (also a partial approval).
        case approved
        /// Declined: tell the cardholder; no retry.
        case declined
        /// The host is still waiting for the customer (a QR payment): query with ``TransactionKind/qrQuery``.
        case inProgress
        /// The host could not decide (issuer or host unavailable): the terminal may go offline where the card and
        /// floor limits allow (Y3/Z3), or ask later.
        case unavailable
        /// A local decision of the terminal, reported in an advice (Y1, Y3) or never sent (Z1, Z3).
        case offline
    }

    /// The two characters.
    public let rawValue: String
    /// Wraps two characters.
    public init?(rawValue: String) {
        guard rawValue.utf8.count == 2 else { return nil }
        self.rawValue = rawValue
    }
    private init(_ code: String) { rawValue = code }

    /// `00`: Approved.
    public static let approved = HostResponseCode("00")
    /// `01`: Refer to card issuer.
    public static let referToIssuer = HostResponseCode("01")
    /// `03`: Invalid merchant.
    public static let invalidMerchant = HostResponseCode("03")
    /// `05`: Do not honour.
    public static let doNotHonour = HostResponseCode("05")
    /// `09`: Request in progress (a QR payment awaiting the customer).
    public static let requestInProgress = HostResponseCode("09")
    /// `17`: Customer cancellation (a QR order closed: cancelled on the phone, revoked, or reversed).
    public static let customerCancellation = HostResponseCode("17")
    /// `10`: Approved for a partial amount (field 4).
    public static let partialApproval = HostResponseCode("10")
    /// `12`: Invalid transaction.
    public static let invalidTransaction = HostResponseCode("12")
    /// `13`: Invalid amount.
    public static let invalidAmount = HostResponseCode("13")
    /// `14`: Invalid card number.
    public static let invalidCardNumber = HostResponseCode("14")
    /// `25`: Original transaction not found.
    public static let originalNotFound = HostResponseCode("25")
    /// `30`: Format error.
    public static let formatError = HostResponseCode("30")
    /// `41`: Lost card.
    public static let lostCard = HostResponseCode("41")
    /// `43`: Stolen card.
    public static let stolenCard = HostResponseCode("43")
    /// `51`: Insufficient funds.
    public static let insufficientFunds = HostResponseCode("51")
    /// `54`: Expired card.
    public static let expiredCard = HostResponseCode("54")
    /// `55`: Incorrect PIN.
    public static let incorrectPIN = HostResponseCode("55")
    /// `57`: Transaction not permitted to cardholder.
    public static let notPermittedToCardholder = HostResponseCode("57")
    /// `58`: Transaction not permitted to terminal.
    public static let notPermittedToTerminal = HostResponseCode("58")
    /// `61`: Exceeds amount limit.
    public static let exceedsAmountLimit = HostResponseCode("61")
    /// `65`: Exceeds frequency limit.
    public static let exceedsFrequencyLimit = HostResponseCode("65")
    /// `75`: Allowable PIN tries exceeded.
    public static let pinTriesExceeded = HostResponseCode("75")
    /// `91`: Issuer or switch inoperative.
    public static let issuerUnavailable = HostResponseCode("91")
    /// `95`: Reconciliation error: upload the batch.
    public static let reconciliationError = HostResponseCode("95")
    /// `96`: System malfunction.
    public static let systemMalfunction = HostResponseCode("96")
    /// `A0`: MAC verification failed.
    public static let macVerificationFailed = HostResponseCode("A0")
    /// `Y1`: approved offline by the card (EMV Book 4 §12.2.1, Authorisation Response Code '8A').
    public static let offlineApproved = HostResponseCode("Y1")
    /// `Z1`: declined offline by the card.
    public static let offlineDeclined = HostResponseCode("Z1")
    /// `Y3`: approved offline after the terminal could not go online.
    public static let unableToGoOnlineApproved = HostResponseCode("Y3")
    /// `Z3`: declined offline after the terminal could not go online.
    public static let unableToGoOnlineDeclined = HostResponseCode("Z3")

    /// Every code of docs/host-interface.md §6 with its meaning.
    public static let table: [(code: HostResponseCode, meaning: String)] = [
        (.approved, "Approved"), (.referToIssuer, "Refer to card issuer"), (.invalidMerchant, "Invalid merchant"),
        (.doNotHonour, "Do not honour"), (.requestInProgress, "Request in progress (QR payment awaiting the customer)"),
        (.partialApproval, "Approved for a partial amount"), (.customerCancellation, "Customer cancellation"), (.invalidTransaction, "Invalid transaction"),
        (.invalidAmount, "Invalid amount"), (.invalidCardNumber, "Invalid card number"),
        (.originalNotFound, "Original transaction not found"), (.formatError, "Format error"),
        (.lostCard, "Lost card"), (.stolenCard, "Stolen card"), (.insufficientFunds, "Insufficient funds"),
        (.expiredCard, "Expired card"), (.incorrectPIN, "Incorrect PIN"),
        (.notPermittedToCardholder, "Transaction not permitted to cardholder"),
        (.notPermittedToTerminal, "Transaction not permitted to terminal"),
        (.exceedsAmountLimit, "Exceeds amount limit"), (.exceedsFrequencyLimit, "Exceeds frequency limit"),
        (.pinTriesExceeded, "Allowable PIN tries exceeded"), (.issuerUnavailable, "Issuer or switch inoperative"),
        (.reconciliationError, "Reconciliation error (upload the batch)"),
        (.systemMalfunction, "System malfunction"), (.macVerificationFailed, "MAC verification failed"),
        (.offlineApproved, "Offline approved"), (.offlineDeclined, "Offline declined"),
        (.unableToGoOnlineApproved, "Unable to go online, approved offline"),
        (.unableToGoOnlineDeclined, "Unable to go online, declined offline"),
    ]

    /// What the terminal does with this code; an unknown code is a decline.
    public var outcome: Outcome {
        switch rawValue {
        case "00", "10": .approved
        case "09": .inProgress
        case "91", "96": .unavailable
        case "Y1", "Y3", "Z1", "Z3": .offline
        default: .declined
        }
    }

    /// "51 Insufficient funds".
    public var description: String {
        rawValue + " " + (Self.table.first { $0.code == self }?.meaning ?? "Unknown response code")
    }
}

/// Field 70, the network management information code of an 0800.
public enum NetworkManagementCode: String, Sendable, CaseIterable {
    /// `001` sign-on: start of day; the host answers with its date and time (fields 12, 13).
    case signOn = "001"
    /// `002` sign-off.
    case signOff = "002"
    /// `101` key exchange: the host sends a new working key as a TR-31 key block in field 63.
    case keyExchange = "101"
    /// `301` echo test.
    case echo = "301"
}

/// Why the terminal reverses a transaction: field 62 tag `RR`, an ISO 8583:1993 message reason code.
public enum ReversalReason: String, Sendable, CaseIterable {
    /// `4021` no response within the timeout.
    case timeout = "4021"
    /// `4006` the response came after the terminal gave up on it.
    case lateResponse = "4006"
    /// `4007` the card declined after the host approved (second GENERATE AC answered with an AAC).
    case cardDeclinedAfterApproval = "4007"
    /// `4020` the response was unusable (MAC failure, format error, no match).
    case invalidResponse = "4020"
    /// `4000` the customer cancelled after the host approved.
    case customerCancellation = "4000"
}

/// A date and time as the protocol writes it (no year): fields 7, 12 and 13, and field 90.
public struct HostDateTime: Sendable, Hashable {
    /// Month, 1…12.
    public var month: Int
    /// Day of the month, 1…31.
    public var day: Int
    /// Hour, 0…23.
    public var hour: Int
    /// Minute, 0…59.
    public var minute: Int
    /// Second, 0…59.
    public var second: Int

    /// Creates a date and time. Traps outside month 1…12, day 1…31, 0…23 h, 0…59 min, 0…59 s (a programming
    /// error).
    public init(month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        precondition(
            (1...12).contains(month) && (1...31).contains(day) && (0...23).contains(hour)
                && (0...59).contains(minute) && (0...59).contains(second), "HostDateTime out of range")
        (self.month, self.day, self.hour, self.minute, self.second) = (month, day, hour, minute, second)
    }

    /// Field 7: `MMDDhhmmss`.
    public var transmissionField: String { digits(month, day, hour, minute, second) }
    /// Field 12: `hhmmss`.
    public var timeField: String { digits(hour, minute, second) }
    /// Field 13: `MMDD`.
    public var dateField: String { digits(month, day) }

    /// Reads field 7 (`MMDDhhmmss`).
    public init?(transmissionField text: String) {
        let values = Self.pairs(text)
        guard values.count == 5, (1...12).contains(values[0]), (1...31).contains(values[1]), values[2] <= 23,
            values[3] <= 59, values[4] <= 59
        else { return nil }
        self.init(month: values[0], day: values[1], hour: values[2], minute: values[3], second: values[4])
    }

    private func digits(_ values: Int...) -> String {
        values.map { $0 < 10 ? "0\($0)" : "\($0)" }.joined()
    }

    private static func pairs(_ text: String) -> [Int] {
        let bytes = Array(text.utf8)
        guard bytes.count % 2 == 0, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return [] }
        return stride(from: 0, to: bytes.count, by: 2).map { Int(bytes[$0] - 0x30) * 10 + Int(bytes[$0 + 1] - 0x30) }
    }
}

/// Field 62 and its tagged sub-elements: `TT` (two characters) `LLL` (three digits, the value's length) then the
/// value, repeated (docs/host-interface.md §3.2).
public struct PrivateTaggedData: Sendable, Hashable {
    /// The sub-element tags of our protocol.
    public enum Tag: String, Sendable, CaseIterable {
        /// `IK` idempotency key: terminal id (8) + batch (6) + STAN (6) + transaction reference (16 hex) = 36.
        case idempotencyKey = "IK"
        /// `QR` the customer-presented QR code content.
        case qrCode = "QR"
        /// `QO` the host's QR order reference (in the 0210 of a QR payment, and in a QR query).
        case qrOrderReference = "QO"
        /// `PC` prepaid activation code.
        case prepaidActivationCode = "PC"
        /// `RR` reversal reason (ISO 8583:1993 message reason code, four digits).
        case reversalReason = "RR"
        /// `RF` the refund ID of a QR refund (the wallets' `out_refund_no`): the same on every retry.
        case qrRefundID = "RF"
        /// `QS` a QR order's state at the wallet gateway (WeChat Pay's `trade_state` words): `SUCCESS`,
        /// `USERPAYING`, `NOTPAY`, `PAYERROR`, `CLOSED`, `REFUND`, `REVOKED`, `REJECTED`.
        case qrOrderState = "QS"
        /// `TN` the wallet's transaction number of a paid QR order.
        case qrTransactionNumber = "TN"
        /// `WR` the wallet's result of a failed or rejected QR request: its code, a space, its message.
        case qrWalletResult = "WR"
        /// `RA` retry after: milliseconds until the wallet accepts a QR cancellation (WeChat Pay: 15 s after the order).
        case qrRetryAfter = "RA"
        /// `RT` refunded total of a QR order after a refund, minor units.
        case qrRefundedTotal = "RT"
    }

    /// The elements in order (tag, value). Unknown tags are kept.
    public var elements: [(tag: String, value: String)]

    /// No elements.
    public init() { elements = [] }

    /// Equality of the element lists.
    public static func == (lhs: PrivateTaggedData, rhs: PrivateTaggedData) -> Bool {
        lhs.elements.elementsEqual(rhs.elements) { $0.tag == $1.tag && $0.value == $1.value }
    }

    /// Hashes the elements.
    public func hash(into hasher: inout Hasher) {
        for element in elements {
            hasher.combine(element.tag)
            hasher.combine(element.value)
        }
    }

    /// The first value with `tag`.
    public subscript(tag: Tag) -> String? {
        get { elements.first { $0.tag == tag.rawValue }?.value }
        set {
            elements.removeAll { $0.tag == tag.rawValue }
            if let newValue { elements.append((tag.rawValue, newValue)) }
        }
    }

    /// The field text.
    public var encoded: String {
        elements.map { element in
            let count = element.value.utf8.count
            let length = count < 10 ? "00\(count)" : count < 100 ? "0\(count)" : "\(count)"
            return element.tag + length + element.value
        }.joined()
    }

    /// Reads the field text.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 62) for a short header, a non-digit length or a
    ///   length past the end.
    public init(encoded text: String) throws {
        var rest = Array(text.utf8)[...]
        elements = []
        while !rest.isEmpty {
            guard rest.count >= 5 else {
                throw ISO8583Error(.invalidFieldContent, field: 62, reason: "a sub-element header is five characters")
            }
            let tag = String(decoding: rest.prefix(2), as: UTF8.self)
            var length = 0
            for c in rest.dropFirst(2).prefix(3) {
                guard c >= 0x30 && c <= 0x39 else {
                    throw ISO8583Error(.invalidFieldContent, field: 62, reason: "a sub-element length is three digits")
                }
                length = length * 10 + Int(c - 0x30)
            }
            rest = rest.dropFirst(5)
            guard rest.count >= length else {
                throw ISO8583Error(.invalidFieldContent, field: 62, reason: "a sub-element runs past the field")
            }
            elements.append((tag, String(decoding: rest.prefix(length), as: UTF8.self)))
            rest = rest.dropFirst(length)
        }
    }
}

/// One entry of field 54, additional amounts (ISO 8583:1987): account type `n2`, amount type `n2`, currency `n3`,
/// sign `C`/`D`, amount `n12`; twenty characters each, at most six.
public struct AdditionalAmount: Sendable, Hashable {
    /// Account type (`00` default, `10` savings, `20` cheque, `30` credit, `40` prepaid).
    public var accountType: String
    /// Amount type: `01` ledger balance, `02` available balance.
    public var amountType: String
    /// ISO 4217 numeric currency code.
    public var currencyCode: String
    /// The amount in minor units; negative for a debit balance.
    public var amount: Int64

    /// Creates an entry.
    public init(accountType: String = "00", amountType: String, currencyCode: String, amount: Int64) {
        (self.accountType, self.amountType, self.currencyCode, self.amount) = (
            accountType, amountType, currencyCode, amount
        )
    }

    /// The twenty characters.
    public var encoded: String {
        accountType + amountType + currencyCode + (amount < 0 ? "D" : "C") + HostFormat.digits(amount.magnitude, 12)
    }

    /// Reads field 54: a whole number of twenty-character entries.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 54).
    public static func list(encoded text: String) throws -> [AdditionalAmount] {
        let bytes = Array(text.utf8)
        guard bytes.count % 20 == 0 else {
            throw ISO8583Error(.invalidFieldContent, field: 54, reason: "field 54 is a multiple of 20 characters")
        }
        return try stride(from: 0, to: bytes.count, by: 20).map { start in
            let entry = bytes[start..<(start + 20)]
            let text = { (range: Range<Int>) in
                String(decoding: entry.dropFirst(range.lowerBound).prefix(range.count), as: UTF8.self)
            }
            let sign = entry[start + 7]
            guard sign == UInt8(ascii: "C") || sign == UInt8(ascii: "D"), let magnitude = Int64(text(8..<20)),
                HostFormat.isDigits(text(0..<7))
            else {
                throw ISO8583Error(.invalidFieldContent, field: 54, reason: "a field 54 entry is n2 n2 n3 C/D n12")
            }
            return AdditionalAmount(
                accountType: text(0..<2), amountType: text(2..<4), currencyCode: text(4..<7),
                amount: sign == UInt8(ascii: "D") ? -magnitude : magnitude)
        }
    }
}

/// Small formatting helpers of the dialect.
enum HostFormat {
    /// `value` as `count` decimal digits, zero-padded on the left (the low digits when longer).
    static func digits(_ value: some BinaryInteger, _ count: Int) -> String {
        var text = String(value)
        if text.count > count { text = String(text.suffix(count)) }
        return String(repeating: "0", count: count - text.count) + text
    }

    /// `text` padded with spaces on the right to `count` characters (cut when longer).
    static func padded(_ text: String, _ count: Int) -> String {
        let bytes = Array(text.utf8.prefix(count))
        return String(decoding: bytes, as: UTF8.self) + String(repeating: " ", count: count - bytes.count)
    }

    static func isDigits(_ text: String) -> Bool { text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}
