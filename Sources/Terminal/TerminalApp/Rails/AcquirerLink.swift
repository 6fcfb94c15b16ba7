/// The terminal's side of an online authorisation, whatever carries it: the ISO 8583 host link over TLS on a board,
/// the acquirer simulator on the sim board. Card rails build an ``AuthorizationRequest``; the link answers with the
/// host's response or says why there was none (the rail then decides offline, per EMV "unable to go online", and the
/// reversal armed before the request stays armed).
public protocol AcquirerLink: Sendable {
    func authorize(_ request: AuthorizationRequest) async -> AuthorizationReply
}

/// What a card rail sends for an online authorisation (ISO 8583 0100/0200 in docs/host-interface.md).
public struct AuthorizationRequest: Sendable, Equatable {
    /// The idempotency key the host uses to drop duplicates.
    public var transactionReference: String
    /// System trace audit number (field 11).
    public var stan: Int
    public var amount: Int
    /// ISO 4217 numeric currency (field 49).
    public var currencyCode: Int
    /// PAN digits (field 2); never logged in clear.
    public var pan: String
    public var panSequenceNumber: Int?
    /// Expiry "YYMM" (field 14).
    public var expiry: String
    /// Track 2 equivalent data, tag '57' as read (field 35).
    public var track2Equivalent: [UInt8]
    /// The ICC data for field 55 (BER-TLV).
    public var iccData: [UInt8]
    /// POS entry mode (field 22): "051" chip with PIN capability, "071" contactless, ...
    public var entryMode: String
    /// Online PIN: the encrypted ISO 9564 block (field 52) and its DUKPT key serial number (field 53).
    public var pinBlock: [UInt8]?
    public var keySerialNumber: [UInt8]?
    /// Local date and time of the transaction (fields 12/13).
    public var localDateTime: LocalDateTime
    /// The batch the transaction is journalled in (field 60, and part of the idempotency key); `nil`: the link's
    /// open batch at the time of sending.
    public var batchNumber: Int?

    public init(
        transactionReference: String, stan: Int, amount: Int, currencyCode: Int, pan: String, panSequenceNumber: Int?,
        expiry: String, track2Equivalent: [UInt8], iccData: [UInt8], entryMode: String, pinBlock: [UInt8]?,
        keySerialNumber: [UInt8]?, localDateTime: LocalDateTime, batchNumber: Int? = nil
    ) {
        self.batchNumber = batchNumber
        self.transactionReference = transactionReference
        self.stan = stan
        self.amount = amount
        self.currencyCode = currencyCode
        self.pan = pan
        self.panSequenceNumber = panSequenceNumber
        self.expiry = expiry
        self.track2Equivalent = track2Equivalent
        self.iccData = iccData
        self.entryMode = entryMode
        self.pinBlock = pinBlock
        self.keySerialNumber = keySerialNumber
        self.localDateTime = localDateTime
    }
}

/// The host's answer (ISO 8583 0110/0210).
public struct AuthorizationResponse: Sendable, Equatable {
    /// Field 39: "00" approved, "05" do not honour, "51" insufficient funds, "55" incorrect PIN, ...
    public var responseCode: String
    /// Field 38.
    public var authorizationCode: String?
    /// Field 37.
    public var retrievalReference: String?
    /// Field 55 of the response: '91' issuer authentication data, '71'/'72' issuer scripts, as received.
    public var iccData: [UInt8]

    public init(responseCode: String, authorizationCode: String?, retrievalReference: String?, iccData: [UInt8]) {
        self.responseCode = responseCode
        self.authorizationCode = authorizationCode
        self.retrievalReference = retrievalReference
        self.iccData = iccData
    }
}

/// How an authorisation attempt ended.
public enum AuthorizationReply: Sendable, Equatable {
    case answered(AuthorizationResponse)
    /// No connection (link down, host refused): nothing reached the host.
    case unreachable(String)
    /// The request went out and no (complete) answer came in time: the host may have approved, so reverse.
    case timedOut
    /// The request went out and the answer is unusable — its MAC does not verify, it does not match the request
    /// (docs/host-interface.md §10): the host may have approved, so reverse, with message reason `4020`.
    case unusableResponse(String)
}
