/// Card verification results, CVR: what the card reports about its own checks in the issuer application data
/// (tag '9F10'). The CVR is issuer-proprietary; the virtual cards use the Visa layout (IAD `06 01 0A 03 b2 b3 b4`:
/// length, derivation key index, cryptogram version '0A', CVR length 3 and CVR bytes 2-4), documented in
/// docs/virtual-cards.md. The raw value is `b2 << 16 | b3 << 8 | b4`; the issuer script counter (b4 bits 8-5) is
/// ``issuerScriptCommandCount``.
public struct CardVerificationResults: OptionSet, Sendable, Hashable {
    /// CVR bytes 2-4 as `b2 << 16 | b3 << 8 | b4`, without the script counter (b4 bits 8-5).
    public let rawValue: UInt32

    /// The results of a raw value; the script counter nibble is dropped.
    public init(rawValue: UInt32) { self.rawValue = rawValue & 0xFF_FF0F }

    // Byte 2
    /// b2 bits 8-7 = 10: second GENERATE AC not requested (with `secondGenerateACTC` clear: AAC).
    public static let secondGenerateACNotRequested = Self(rawValue: 0x80 << 16)
    /// b2 bits 8-7 = 01: TC returned in the second GENERATE AC.
    public static let secondGenerateACTC = Self(rawValue: 0x40 << 16)
    /// b2 bits 6-5 = 10: ARQC returned in the first GENERATE AC.
    public static let firstGenerateACARQC = Self(rawValue: 0x20 << 16)
    /// b2 bits 6-5 = 01: TC returned in the first GENERATE AC.
    public static let firstGenerateACTC = Self(rawValue: 0x10 << 16)
    /// b2 bit 4: issuer authentication performed and failed.
    public static let issuerAuthenticationFailed = Self(rawValue: 0x08 << 16)
    /// b2 bit 3: offline PIN verification performed.
    public static let offlinePINVerificationPerformed = Self(rawValue: 0x04 << 16)
    /// b2 bit 2: offline PIN verification performed and failed.
    public static let offlinePINVerificationFailed = Self(rawValue: 0x02 << 16)
    /// b2 bit 1: unable to go online.
    public static let unableToGoOnline = Self(rawValue: 0x01 << 16)
    // Byte 3
    /// b3 bit 8: last online transaction not completed.
    public static let lastOnlineTransactionNotCompleted = Self(rawValue: 0x80 << 8)
    /// b3 bit 7: PIN try limit exceeded.
    public static let pinTryLimitExceeded = Self(rawValue: 0x40 << 8)
    /// b3 bit 6: exceeded velocity checking counters (consecutive offline limit).
    public static let exceededVelocityCheckingCounters = Self(rawValue: 0x20 << 8)
    /// b3 bit 5: new card (no online transaction yet).
    public static let newCard = Self(rawValue: 0x10 << 8)
    /// b3 bit 4: issuer authentication failure on the last online transaction.
    public static let issuerAuthenticationFailureOnLastOnline = Self(rawValue: 0x08 << 8)
    /// b3 bit 3: issuer authentication not performed after online authorisation.
    public static let issuerAuthenticationNotPerformedAfterOnline = Self(rawValue: 0x04 << 8)
    /// b3 bit 2: application blocked by the card because the PIN try limit was exceeded.
    public static let applicationBlockedByPINTryLimit = Self(rawValue: 0x02 << 8)
    // Byte 4
    /// b4 bit 4: issuer script processing failed.
    public static let issuerScriptProcessingFailed = Self(rawValue: 0x08)
    /// b4 bit 2: offline dynamic data authentication performed.
    public static let dynamicDataAuthenticationPerformed = Self(rawValue: 0x02)

    /// The CVR of an issuer application data value in the virtual cards' layout, or `nil` for another layout.
    public init?(issuerApplicationData iad: [UInt8]) {
        guard iad.count >= 7, iad[iad.startIndex] == 0x06, iad[iad.startIndex + 3] == 0x03 else { return nil }
        let b = Array(iad[(iad.startIndex + 4)...(iad.startIndex + 6)])
        self.init(rawValue: UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2]))
    }

    /// The number of issuer script commands counted in the IAD's CVR (b4 bits 8-5), or 0.
    public static func issuerScriptCommandCount(issuerApplicationData iad: [UInt8]) -> Int {
        guard iad.count >= 7, iad[iad.startIndex] == 0x06 else { return 0 }
        return Int(iad[iad.startIndex + 6] >> 4)
    }
}
