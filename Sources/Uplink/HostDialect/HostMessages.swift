public import Codecs

/// The card data of a request. The description masks the PAN (first six, last four) and omits the rest.
public struct CardData: Sendable, Hashable, CustomStringConvertible {
    /// Field 2, the PAN (12…19 digits), when known (keyed, or tag '5A' of a chip card).
    public var pan: String?
    /// Field 14, the expiry date `YYMM`.
    public var expiry: String?
    /// Field 23, the PAN sequence number (tag '5F34'), 0…999.
    public var panSequenceNumber: Int?
    /// Field 35, track 2 (magnetic stripe) or track 2 equivalent data (tag '57'), digits and `=`.
    public var track2: String?
    /// Field 55, the ICC data of an EMV transaction (the tags of docs/host-interface.md §7).
    public var iccData: [TLVNode]

    /// Creates card data.
    public init(
        pan: String? = nil, expiry: String? = nil, panSequenceNumber: Int? = nil, track2: String? = nil,
        iccData: [TLVNode] = []
    ) {
        (self.pan, self.expiry, self.panSequenceNumber, self.track2, self.iccData) =
            (pan, expiry, panSequenceNumber, track2, iccData)
    }

    /// The PAN of field 2, else the digits of track 2 before the separator.
    public var accountNumber: String? {
        if let pan { return pan }
        guard let track2, let separator = track2.firstIndex(of: "=") else { return nil }
        return String(track2[..<separator])
    }

    /// "PAN 476173******0119" or "no PAN".
    public var description: String {
        guard let pan = accountNumber else { return "no PAN" }
        return "PAN " + ISO8583.maskedPAN(pan)
    }
}

/// The reference of an earlier transaction of ours: field 61 of a void, refund or their advices (34 characters:
/// batch `n6`, STAN `n6`, local date `MMDD`, RRN `an12`, authorization code `an6`, space-padded).
public struct OriginalTransaction: Sendable, Hashable {
    /// The original's batch number (field 60).
    public var batchNumber: Int
    /// The original's STAN (field 11).
    public var stan: Int
    /// `MMDD` of the original.
    public var localDate: String
    /// The original's RRN (field 37 of its response).
    public var retrievalReference: String
    /// The original's approval code (field 38 of its response); spaces when none.
    public var authorizationCode: String

    /// Creates a reference.
    public init(batchNumber: Int, stan: Int, localDate: String, retrievalReference: String, authorizationCode: String) {
        (self.batchNumber, self.stan, self.localDate, self.retrievalReference, self.authorizationCode) =
            (batchNumber, stan, localDate, retrievalReference, authorizationCode)
    }

    /// Field 61.
    public var encoded: String {
        HostFormat.digits(batchNumber, 6) + HostFormat.digits(stan, 6) + HostFormat.padded(localDate, 4)
            + HostFormat.padded(retrievalReference, 12) + HostFormat.padded(authorizationCode, 6)
    }

    /// Reads field 61.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 61).
    public init(encoded text: String) throws {
        let bytes = Array(text.utf8)
        let part = { (start: Int, count: Int) in String(decoding: bytes.dropFirst(start).prefix(count), as: UTF8.self) }
        guard bytes.count == 34, let batch = Int(part(0, 6)), let stan = Int(part(6, 6)),
            HostFormat.isDigits(part(0, 16))
        else {
            throw ISO8583Error(.invalidFieldContent, field: 61, reason: "field 61 is n6 n6 n4 an12 an6")
        }
        self.init(
            batchNumber: batch, stan: stan, localDate: part(12, 4), retrievalReference: part(16, 12),
            authorizationCode: part(28, 6))
    }
}

/// Everything a transaction request (0100/0200) carries, and what its advice, reversal and batch upload repeat.
public struct TransactionRequest: Sendable, CustomStringConvertible {
    /// What is asked: the processing code and request MTI.
    public var kind: TransactionKind
    /// Field 4, in minor units of ``currencyCode``.
    public var amount: UInt64
    /// Field 49, ISO 4217 numeric ("156", "978").
    public var currencyCode: String
    /// Field 11, 1…999999.
    public var stan: Int
    /// Field 7 (UTC).
    public var transmission: HostDateTime
    /// Fields 12 and 13 (the terminal's local time).
    public var local: HostDateTime
    /// Field 41, eight characters.
    public var terminalID: String
    /// Field 42, fifteen characters (space-padded).
    public var merchantID: String
    /// Field 60, the open batch, 1…999999.
    public var batchNumber: Int
    /// The terminal's own unique reference of the transaction (its journal id), in the idempotency key.
    public var transactionReference: UInt64
    /// Field 22.
    public var entryMode: POSEntryMode
    /// Fields 2, 14, 23, 35, 55.
    public var card: CardData
    /// Field 52, the encrypted PIN block (online PIN), eight bytes.
    public var pinBlock: [UInt8]?
    /// Field 53, the DUKPT key serial number of the PIN block (10 bytes TDES, 12 bytes AES DUKPT).
    public var keySerialNumber: [UInt8]?
    /// Field 61, for a void (mandatory) or refund (when known).
    public var original: OriginalTransaction?
    /// Field 62 `QR`: the scanned customer code of a QR payment.
    public var qrCode: String?
    /// Field 62 `QO`: the host's order reference of a QR payment being queried.
    public var qrOrderReference: String?
    /// Field 62 `PC`: a prepaid activation code.
    public var prepaidActivationCode: String?
    /// Field 62 `RF`: the refund ID of a QR refund.
    public var qrRefundID: String?

    /// Creates a request.
    public init(
        kind: TransactionKind, amount: UInt64, currencyCode: String, stan: Int, transmission: HostDateTime,
        local: HostDateTime, terminalID: String, merchantID: String, batchNumber: Int, transactionReference: UInt64,
        entryMode: POSEntryMode, card: CardData = CardData(), pinBlock: [UInt8]? = nil,
        keySerialNumber: [UInt8]? = nil, original: OriginalTransaction? = nil, qrCode: String? = nil,
        qrOrderReference: String? = nil, prepaidActivationCode: String? = nil
    ) {
        self.kind = kind
        self.amount = amount
        self.currencyCode = currencyCode
        self.stan = stan
        self.transmission = transmission
        self.local = local
        self.terminalID = terminalID
        self.merchantID = merchantID
        self.batchNumber = batchNumber
        self.transactionReference = transactionReference
        self.entryMode = entryMode
        self.card = card
        self.pinBlock = pinBlock
        self.keySerialNumber = keySerialNumber
        self.original = original
        self.qrCode = qrCode
        self.qrOrderReference = qrOrderReference
        self.prepaidActivationCode = prepaidActivationCode
    }

    /// "sale 1250 156 STAN 42 PAN 476173******0119": no card data beyond the masked PAN.
    public var description: String {
        "\(kind) \(amount) \(currencyCode) STAN \(stan) \(card)"
    }

    /// Field 62 `IK`: terminal id (8) + batch (6) + STAN (6) + transaction reference (16 upper-case hex digits).
    /// The host answers a request whose message class (MTI without its repeat digit) and key it has seen with the
    /// stored response of the first, and never applies it twice.
    public var idempotencyKey: String {
        let hex = String(transactionReference, radix: 16, uppercase: true)
        return HostFormat.padded(terminalID, 8) + HostFormat.digits(batchNumber, 6) + HostFormat.digits(stan, 6)
            + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The totals of a batch: field 63 of 0500 and 0510 (`n4` sale count, `n12` sale amount, `n4` refund count, `n12`
/// refund amount, `n3` currency; 35 characters). Sales include offline-approved advices; voided sales are left out.
public struct SettlementTotals: Sendable, Hashable {
    /// Sales (and offline approvals, pre-authorization completions) in the batch.
    public var saleCount: Int
    /// Their total, minor units.
    public var saleAmount: UInt64
    /// Refunds in the batch.
    public var refundCount: Int
    /// Their total, minor units.
    public var refundAmount: UInt64
    /// ISO 4217 numeric currency code.
    public var currencyCode: String

    /// Creates totals.
    public init(saleCount: Int, saleAmount: UInt64, refundCount: Int, refundAmount: UInt64, currencyCode: String) {
        (self.saleCount, self.saleAmount, self.refundCount, self.refundAmount, self.currencyCode) =
            (saleCount, saleAmount, refundCount, refundAmount, currencyCode)
    }

    /// Field 63.
    public var encoded: String {
        HostFormat.digits(saleCount, 4) + HostFormat.digits(saleAmount, 12) + HostFormat.digits(refundCount, 4)
            + HostFormat.digits(refundAmount, 12) + HostFormat.digits(Int(currencyCode) ?? 0, 3)
    }

    /// Reads field 63.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 63).
    public init(encoded text: String) throws {
        let bytes = Array(text.utf8)
        let part = { (start: Int, count: Int) in String(decoding: bytes.dropFirst(start).prefix(count), as: UTF8.self) }
        guard bytes.count == 35, HostFormat.isDigits(text), let saleCount = Int(part(0, 4)),
            let saleAmount = UInt64(part(4, 12)), let refundCount = Int(part(16, 4)),
            let refundAmount = UInt64(part(20, 12))
        else {
            throw ISO8583Error(.invalidFieldContent, field: 63, reason: "field 63 totals are n4 n12 n4 n12 n3")
        }
        self.init(
            saleCount: saleCount, saleAmount: saleAmount, refundCount: refundCount, refundAmount: refundAmount,
            currencyCode: part(32, 3))
    }
}

/// The typed builders of every message the terminal sends (and, for the acquirer simulator and tests, the host's
/// responses), field by field as docs/host-interface.md §4 tabulates. The MAC is added by
/// ``HostDialect/pack(_:mac:)``.
public enum HostMessages {
    /// A 0100 (pre-authorization) or 0200 request.
    /// - Throws: ``ISO8583Error/Code/missingField`` when the kind needs data the request lacks (card data for a card
    ///   transaction, field 61 for a void, the QR code of a QR payment, the order reference of a QR query).
    public static func request(_ request: TransactionRequest) throws -> ISO8583.Message {
        var message = try base(request, type: request.kind.requestType)
        if let pinBlock = request.pinBlock { message[52] = .binary(pinBlock) }
        if let ksn = request.keySerialNumber { message[53] = .binary(ksn) }
        if let track2 = request.card.track2 { message[35] = .text(track2) }
        return message
    }

    /// A 0220 financial advice (0221 when `isRepeat`): of a transaction approved offline (field 39 `Y1` or `Y3`), or
    /// the completion advice of an online approval whose card ran issuer scripts (field 39 `00`, the host's approval
    /// code in 38, `9F5B` in 55; docs/host-interface.md §7). Field 55 is the card's final data (with the TC).
    /// - Parameters:
    ///   - request: The transaction, as it would have been sent online (`card.iccData`: the final card data).
    ///   - decision: ``HostResponseCode/offlineApproved``, ``HostResponseCode/unableToGoOnlineApproved``, or
    ///     ``HostResponseCode/approved`` for a completion advice.
    ///   - authorizationCode: Field 38: the host's approval code, or the referral approval code of a voice referral.
    ///   - issuerScriptResults: Tag '9F5B', appended to field 55.
    ///   - isRepeat: Whether an earlier send of this advice may have reached the host.
    public static func offlineAdvice(
        _ request: TransactionRequest, decision: HostResponseCode, authorizationCode: String? = nil,
        issuerScriptResults: [UInt8]? = nil, isRepeat: Bool = false
    ) throws -> ISO8583.Message {
        var message = try base(
            request, type: isRepeat ? .financialAdviceRepeat : .financialAdvice,
            issuerScriptResults: issuerScriptResults)
        message[39] = .text(decision.rawValue)
        if let authorizationCode { message[38] = .text(HostFormat.padded(authorizationCode, 6)) }
        return message
    }

    /// A 0400 reversal request (0401 repeat), or with `asAdvice` a 0420 reversal advice (0421 repeat), of `request`.
    ///
    /// Carries the original's card and amount fields (never track 2 or the PIN block), its STAN, field 90 (original
    /// MTI, STAN, transmission date and time) and field 62 `RR`. `issuerScriptResults` (tag '9F5B') are appended to
    /// field 55 when the card ran issuer scripts before the reversal.
    public static func reversal(
        of request: TransactionRequest, reason: ReversalReason, issuerScriptResults: [UInt8]? = nil,
        asAdvice: Bool = false, isRepeat: Bool = false
    ) throws -> ISO8583.Message {
        let type: HostMessageType =
            asAdvice
            ? (isRepeat ? .reversalAdviceRepeat : .reversalAdvice)
            : (isRepeat ? .reversalRequestRepeat : .reversalRequest)
        var message = try base(request, type: type, issuerScriptResults: issuerScriptResults)
        var tagged = try PrivateTaggedData(encoded: message.text(62) ?? "")
        tagged[.reversalReason] = reason.rawValue
        message[62] = .text(tagged.encoded)
        message[90] = .text(
            request.kind.requestType.rawValue + HostFormat.digits(request.stan, 6)
                + request.transmission.transmissionField
                + String(repeating: "0", count: 22))
        return message
    }

    /// A 0320 batch upload of one approved transaction: its request fields without PIN data or track 2, plus the
    /// host's RRN (37), authorization code (38) and response code (39), or Y1/Y3 for an offline approval.
    public static func batchUpload(
        _ request: TransactionRequest, responseCode: HostResponseCode, retrievalReference: String?,
        authorizationCode: String?
    ) throws -> ISO8583.Message {
        var message = try base(request, type: .batchUpload)
        if let retrievalReference { message[37] = .text(HostFormat.padded(retrievalReference, 12)) }
        if let authorizationCode { message[38] = .text(HostFormat.padded(authorizationCode, 6)) }
        message[39] = .text(responseCode.rawValue)
        return message
    }

    /// A 0500 settlement request: processing code `920000`, or `960000` when it closes a batch upload.
    public static func settlement(
        terminalID: String, merchantID: String, batchNumber: Int, stan: Int, transmission: HostDateTime,
        local: HostDateTime, totals: SettlementTotals, afterBatchUpload: Bool = false
    ) -> ISO8583.Message {
        var message = ISO8583.Message(mti: HostMessageType.settlementRequest.rawValue)
        message[3] = .text(afterBatchUpload ? "960000" : "920000")
        message[7] = .text(transmission.transmissionField)
        message[11] = .text(HostFormat.digits(stan, 6))
        message[12] = .text(local.timeField)
        message[13] = .text(local.dateField)
        message[41] = .text(HostFormat.padded(terminalID, 8))
        message[42] = .text(HostFormat.padded(merchantID, 15))
        message[60] = .text(HostFormat.digits(batchNumber, 6))
        message[63] = .text(totals.encoded)
        return message
    }

    /// An 0800 network management request (sign-on, sign-off, key exchange, echo). It carries no MAC.
    public static func networkManagement(
        _ code: NetworkManagementCode, stan: Int, transmission: HostDateTime, terminalID: String,
        merchantID: String? = nil
    ) -> ISO8583.Message {
        var message = ISO8583.Message(mti: HostMessageType.networkManagementRequest.rawValue)
        message[7] = .text(transmission.transmissionField)
        message[11] = .text(HostFormat.digits(stan, 6))
        message[41] = .text(HostFormat.padded(terminalID, 8))
        if let merchantID { message[42] = .text(HostFormat.padded(merchantID, 15)) }
        message[70] = .text(code.rawValue)
        return message
    }

    /// The fields a response echoes from its request: docs/host-interface.md §4.
    public static let echoedFields = [3, 4, 7, 11, 12, 13, 25, 41, 42, 49, 60, 70, 90]

    /// The host's response to `request` (the acquirer simulator's side): the echoed fields, field 39, field 62 `IK`
    /// echoed, and `fields` on top (37, 38, 54, 55, 62 `QO`, 63, ...).
    /// - Throws: ``ISO8583Error/Code/unexpectedMessageType`` when `request` is not a request MTI of ours.
    public static func response(
        to request: ISO8583.Message, responseCode: HostResponseCode, fields: [Int: ISO8583.FieldValue] = [:]
    ) throws -> ISO8583.Message {
        guard let type = HostMessageType(rawValue: request.mti), let responseType = type.responseType else {
            throw ISO8583Error(.unexpectedMessageType, reason: "MTI \(request.mti) is not a request of this protocol")
        }
        var message = ISO8583.Message(mti: responseType.rawValue)
        for number in echoedFields { message[number] = request[number] }
        message[39] = .text(responseCode.rawValue)
        if let text = request.text(62), let key = try PrivateTaggedData(encoded: text)[.idempotencyKey] {
            var tagged = PrivateTaggedData()
            tagged[.idempotencyKey] = key
            message[62] = .text(tagged.encoded)
        }
        for (number, value) in fields { message[number] = value }
        return message
    }

    /// The fields common to requests, advices, reversals and uploads of one transaction.
    static func base(
        _ request: TransactionRequest, type: HostMessageType, issuerScriptResults: [UInt8]? = nil
    ) throws -> ISO8583.Message {
        let kind = request.kind
        var message = ISO8583.Message(mti: type.rawValue)
        // QR messages (payment, query, order, and the refunds and reversals of QR payments, entry mode `031`) carry no
        // card data.
        let needsCard = kind != .qrPayment && kind != .qrQuery && kind != .qrOrder && request.entryMode != .qrCode
        if needsCard {
            guard let pan = request.card.accountNumber else {
                throw ISO8583Error(.missingField, field: 2, reason: "a card transaction needs a PAN or track 2")
            }
            message[2] = .text(pan)
            if let expiry = request.card.expiry { message[14] = .text(expiry) }
            if let sequence = request.card.panSequenceNumber { message[23] = .text(HostFormat.digits(sequence, 3)) }
            var icc = request.card.iccData
            if let issuerScriptResults { icc.append(TLVNode(tag: TLVTag(0x9F5B), value: issuerScriptResults)) }
            if !icc.isEmpty { message[55] = .tlv(icc) }
        }
        message[3] = .text(kind.processingCode)
        if kind.hasAmount {
            message[4] = .text(HostFormat.digits(request.amount, 12))
            message[49] = .text(request.currencyCode)
        }
        message[7] = .text(request.transmission.transmissionField)
        message[11] = .text(HostFormat.digits(request.stan, 6))
        message[12] = .text(request.local.timeField)
        message[13] = .text(request.local.dateField)
        message[22] = .text(request.entryMode.rawValue)
        message[25] = .text(kind == .preAuthorization ? "06" : "00")
        message[41] = .text(HostFormat.padded(request.terminalID, 8))
        message[42] = .text(HostFormat.padded(request.merchantID, 15))
        message[60] = .text(HostFormat.digits(request.batchNumber, 6))
        if let original = request.original {
            message[61] = .text(original.encoded)
        } else if kind == .void {
            throw ISO8583Error(.missingField, field: 61, reason: "a void names its original in field 61")
        }
        var tagged = PrivateTaggedData()
        tagged[.idempotencyKey] = request.idempotencyKey
        switch kind {
        case .qrPayment, .qrOrder:
            // The code (a bearer credential) travels in the request only, never in its reversals.
            if type == .financialRequest {
                guard let code = request.qrCode else {
                    throw ISO8583Error(.missingField, field: 62, reason: "a QR payment carries the scanned code")
                }
                tagged[.qrCode] = code
            }
            if let order = request.qrOrderReference { tagged[.qrOrderReference] = order }
        case .qrQuery:
            guard let order = request.qrOrderReference else {
                throw ISO8583Error(.missingField, field: 62, reason: "a QR query carries the order reference")
            }
            tagged[.qrOrderReference] = order
        case .prepaidActivation:
            tagged[.prepaidActivationCode] = request.prepaidActivationCode
        default:
            if request.entryMode == .qrCode, let order = request.qrOrderReference { tagged[.qrOrderReference] = order }
        }
        if let refundID = request.qrRefundID { tagged[.qrRefundID] = refundID }
        message[62] = .text(tagged.encoded)
        return message
    }
}

/// A response from the host, checked against the request it answers.
public struct HostResponse: Sendable {
    /// The response MTI.
    public let messageType: HostMessageType
    /// Field 39.
    public let responseCode: HostResponseCode
    /// Field 37, when given.
    public let retrievalReference: String?
    /// Field 38, when given.
    public let authorizationCode: String?
    /// Field 55: issuer authentication data ('91'), issuer scripts ('71', '72'), authorization response code ('8A').
    public let issuerData: [TLVNode]
    /// Field 54: balances (balance inquiry, prepaid).
    public let balances: [AdditionalAmount]
    /// Field 62 sub-elements (`QO` of a QR payment in progress).
    public let privateData: PrivateTaggedData
    /// Field 63 of an 0510: the host's totals (of its first currency group).
    public let settlementTotals: SettlementTotals?
    /// Field 63 of an 0510: the host's totals, one per currency (``SettlementTotals/list(encoded:)``).
    public let settlementTotalsPerCurrency: [SettlementTotals]
    /// Field 63 of an 0810 key exchange: the new working key as a TR-31 key block.
    public let keyBlock: String?
    /// Field 15 (settlement date, `MMDD`), or fields 13 and 12 of an 0810 sign-on (`MMDDhhmmss`), when given.
    public let hostDate: String?

    /// Reads `response` as the answer to `request`.
    /// - Throws: ``ISO8583Error/Code/unexpectedMessageType`` when its MTI is not the request's response MTI;
    ///   ``ISO8583Error/Code/missingField`` without field 39; ``ISO8583Error/Code/invalidFieldContent`` when the
    ///   STAN, terminal id, processing code or (unless a partial approval) amount differ from the request's, or a
    ///   private field is malformed.
    public init(_ response: ISO8583.Message, answering request: ISO8583.Message) throws {
        guard let requestType = HostMessageType(rawValue: request.mti), let expected = requestType.responseType,
            response.mti == expected.rawValue
        else {
            throw ISO8583Error(.unexpectedMessageType, reason: "MTI \(response.mti) does not answer \(request.mti)")
        }
        guard let code = response.text(39).flatMap(HostResponseCode.init(rawValue:)) else {
            throw ISO8583Error(.missingField, field: 39, reason: "a response carries field 39")
        }
        for number in [11, 41, 3] where response[number] != request[number] {
            throw ISO8583Error(
                .invalidFieldContent, field: number, reason: "field \(number) differs from the request's")
        }
        if code != .partialApproval, let amount = request[4], response[4] != amount {
            throw ISO8583Error(.invalidFieldContent, field: 4, reason: "the amount differs from the request's")
        }
        messageType = expected
        responseCode = code
        retrievalReference = response.text(37)
        authorizationCode = response.text(38)
        issuerData = response[55]?.tlvNodes ?? []
        balances = try response.text(54).map(AdditionalAmount.list(encoded:)) ?? []
        privateData = try response.text(62).map(PrivateTaggedData.init(encoded:)) ?? PrivateTaggedData()
        if expected == .settlementResponse {
            settlementTotalsPerCurrency = try response.text(63).map(SettlementTotals.list(encoded:)) ?? []
            settlementTotals = settlementTotalsPerCurrency.first
            keyBlock = nil
        } else {
            settlementTotals = nil
            settlementTotalsPerCurrency = []
            keyBlock = expected == .networkManagementResponse ? response.text(63) : nil
        }
        if let settlementDate = response.text(15) {
            hostDate = settlementDate
        } else if expected == .networkManagementResponse, let date = response.text(13), let time = response.text(12) {
            hostDate = date + time
        } else {
            hostDate = nil
        }
    }
}
