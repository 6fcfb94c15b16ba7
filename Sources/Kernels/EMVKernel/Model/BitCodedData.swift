/// Terminal Verification Results (TVR, tag '95', 5 bytes): the terminal's record of what went wrong or needs
/// attention during the transaction (EMV Book 3 Annex C5). One member per defined bit; byte 1 is the leftmost.
public struct TerminalVerificationResults: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The five bytes as one number: byte 1 in bits 40…33, byte 5 in bits 8…1.
    public let rawValue: UInt64

    /// A value from its number; bits above the 40th are dropped.
    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFF_FFFF_FFFF }

    /// Reads the 5 bytes as sent; missing bytes count as zero and bytes after the fifth are ignored.
    public init(bytes: some Collection<UInt8>) {
        var value: UInt64 = 0
        for (i, byte) in bytes.prefix(5).enumerated() { value |= UInt64(byte) << UInt64(8 * (4 - i)) }
        self.init(rawValue: value)
    }

    /// The 5 bytes, byte 1 first.
    public var bytes: [UInt8] { (0..<5).map { UInt8(truncatingIfNeeded: rawValue >> UInt64(8 * (4 - $0))) } }

    /// The bytes in hexadecimal.
    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
    }

    private static func bit(_ byte: Int, _ mask: UInt8) -> Self {
        Self(rawValue: UInt64(mask) << UInt64(8 * (5 - byte)))
    }

    // Byte 1
    /// Offline data authentication was not performed (byte 1 bit 8).
    public static let offlineDataAuthenticationNotPerformed = bit(1, 0x80)
    /// SDA failed (byte 1 bit 7).
    public static let sdaFailed = bit(1, 0x40)
    /// ICC data missing (byte 1 bit 6).
    public static let iccDataMissing = bit(1, 0x20)
    /// Card appears on the terminal exception file (byte 1 bit 5).
    public static let cardOnExceptionFile = bit(1, 0x10)
    /// DDA failed (byte 1 bit 4).
    public static let ddaFailed = bit(1, 0x08)
    /// CDA failed (byte 1 bit 3).
    public static let cdaFailed = bit(1, 0x04)
    /// SDA selected (byte 1 bit 2).
    public static let sdaSelected = bit(1, 0x02)
    // Byte 2
    /// ICC and terminal have different application versions (byte 2 bit 8).
    public static let differentApplicationVersions = bit(2, 0x80)
    /// Expired application (byte 2 bit 7).
    public static let expiredApplication = bit(2, 0x40)
    /// Application not yet effective (byte 2 bit 6).
    public static let applicationNotYetEffective = bit(2, 0x20)
    /// Requested service not allowed for card product (byte 2 bit 5).
    public static let requestedServiceNotAllowed = bit(2, 0x10)
    /// New card (byte 2 bit 4).
    public static let newCard = bit(2, 0x08)
    // Byte 3
    /// Cardholder verification was not successful (byte 3 bit 8).
    public static let cardholderVerificationNotSuccessful = bit(3, 0x80)
    /// Unrecognised CVM (byte 3 bit 7).
    public static let unrecognisedCVM = bit(3, 0x40)
    /// PIN Try Limit exceeded (byte 3 bit 6).
    public static let pinTryLimitExceeded = bit(3, 0x20)
    /// PIN entry required and PIN pad not present or not working (byte 3 bit 5).
    public static let pinPadNotPresentOrNotWorking = bit(3, 0x10)
    /// PIN entry required, PIN pad present, but PIN was not entered (byte 3 bit 4).
    public static let pinNotEntered = bit(3, 0x08)
    /// Online PIN entered (byte 3 bit 3).
    public static let onlinePINEntered = bit(3, 0x04)
    // Byte 4
    /// Transaction exceeds floor limit (byte 4 bit 8).
    public static let transactionExceedsFloorLimit = bit(4, 0x80)
    /// Lower consecutive offline limit exceeded (byte 4 bit 7).
    public static let lowerConsecutiveOfflineLimitExceeded = bit(4, 0x40)
    /// Upper consecutive offline limit exceeded (byte 4 bit 6).
    public static let upperConsecutiveOfflineLimitExceeded = bit(4, 0x20)
    /// Transaction selected randomly for online processing (byte 4 bit 5).
    public static let selectedRandomlyForOnlineProcessing = bit(4, 0x10)
    /// Merchant forced transaction online (byte 4 bit 4).
    public static let merchantForcedOnline = bit(4, 0x08)
    // Byte 5
    /// Default TDOL used (byte 5 bit 8).
    public static let defaultTDOLUsed = bit(5, 0x80)
    /// Issuer authentication failed (byte 5 bit 7).
    public static let issuerAuthenticationFailed = bit(5, 0x40)
    /// Script processing failed before final GENERATE AC (byte 5 bit 6).
    public static let scriptFailedBeforeFinalGenerateAC = bit(5, 0x20)
    /// Script processing failed after final GENERATE AC (byte 5 bit 5).
    public static let scriptFailedAfterFinalGenerateAC = bit(5, 0x10)
}

/// Transaction Status Information (TSI, tag '9B', 2 bytes): which functions the terminal performed
/// (EMV Book 3 Annex C6). Byte 2 is RFU.
public struct TransactionStatusInformation: OptionSet, Sendable, Hashable {
    /// Byte 1 in the high 8 bits, byte 2 in the low 8 bits.
    public let rawValue: UInt16
    /// A value from its number, byte 1 in the high 8 bits.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Reads the 2 bytes; missing bytes count as zero, extra bytes are ignored.
    public init(bytes: some Collection<UInt8>) {
        var value: UInt16 = 0
        for (i, byte) in bytes.prefix(2).enumerated() { value |= UInt16(byte) << UInt16(8 * (1 - i)) }
        self.init(rawValue: value)
    }

    /// The 2 bytes, byte 1 first.
    public var bytes: [UInt8] { [UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)] }

    /// Offline data authentication was performed (byte 1 bit 8).
    public static let offlineDataAuthenticationPerformed = Self(rawValue: 0x8000)
    /// Cardholder verification was performed (byte 1 bit 7).
    public static let cardholderVerificationPerformed = Self(rawValue: 0x4000)
    /// Card risk management was performed (byte 1 bit 6).
    public static let cardRiskManagementPerformed = Self(rawValue: 0x2000)
    /// Issuer authentication was performed (byte 1 bit 5).
    public static let issuerAuthenticationPerformed = Self(rawValue: 0x1000)
    /// Terminal risk management was performed (byte 1 bit 4).
    public static let terminalRiskManagementPerformed = Self(rawValue: 0x0800)
    /// Script processing was performed (byte 1 bit 3).
    public static let scriptProcessingPerformed = Self(rawValue: 0x0400)
}

/// Application Interchange Profile (AIP, tag '82', 2 bytes): the functions the card supports (EMV Book 3 Annex C1).
public struct ApplicationInterchangeProfile: OptionSet, Sendable, Hashable {
    /// Byte 1 in the high 8 bits.
    public let rawValue: UInt16
    /// A value from its number, byte 1 in the high 8 bits.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Reads the 2 bytes; `nil` unless there are exactly 2.
    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count == 2 else { return nil }
        self.init(rawValue: UInt16(b[0]) << 8 | UInt16(b[1]))
    }

    /// The 2 bytes, byte 1 first.
    public var bytes: [UInt8] { [UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)] }

    /// SDA supported (byte 1 bit 7).
    public static let sdaSupported = Self(rawValue: 0x4000)
    /// DDA supported (byte 1 bit 6).
    public static let ddaSupported = Self(rawValue: 0x2000)
    /// Cardholder verification is supported (byte 1 bit 5).
    public static let cardholderVerificationSupported = Self(rawValue: 0x1000)
    /// Terminal risk management is to be performed (byte 1 bit 4).
    public static let terminalRiskManagementToBePerformed = Self(rawValue: 0x0800)
    /// Issuer authentication is supported (byte 1 bit 3): EXTERNAL AUTHENTICATE before the second GENERATE AC.
    public static let issuerAuthenticationSupported = Self(rawValue: 0x0400)
    /// On-device cardholder verification supported (byte 1 bit 2; contactless).
    public static let onDeviceCardholderVerificationSupported = Self(rawValue: 0x0200)
    /// CDA supported (byte 1 bit 1).
    public static let cdaSupported = Self(rawValue: 0x0100)
}

/// One Cardholder Verification Rule of a CVM List (EMV Book 3 Annex C3): method, "apply succeeding rule if this one
/// is unsuccessful" flag and condition code.
public struct CVMRule: Sendable, Hashable {
    /// A CVM code (byte 1 bits 6…1).
    public enum Method: Sendable, Hashable {
        /// '00' Fail CVM processing.
        case failCVMProcessing
        /// '01' Plaintext PIN verification performed by the ICC.
        case plaintextPINByICC
        /// '02' Enciphered PIN verified online.
        case encipheredPINOnline
        /// '03' Plaintext PIN verification by the ICC and signature.
        case plaintextPINByICCAndSignature
        /// '04' Enciphered PIN verification performed by the ICC.
        case encipheredPINByICC
        /// '05' Enciphered PIN verification by the ICC and signature.
        case encipheredPINByICCAndSignature
        /// '1E' Signature (paper).
        case signature
        /// '1F' No CVM required.
        case noCVMRequired
        /// Any other code (RFU or proprietary): "unrecognised CVM".
        case other(UInt8)

        /// The method from the 6-bit code.
        public init(code: UInt8) {
            switch code & 0x3F {
            case 0x00: self = .failCVMProcessing
            case 0x01: self = .plaintextPINByICC
            case 0x02: self = .encipheredPINOnline
            case 0x03: self = .plaintextPINByICCAndSignature
            case 0x04: self = .encipheredPINByICC
            case 0x05: self = .encipheredPINByICCAndSignature
            case 0x1E: self = .signature
            case 0x1F: self = .noCVMRequired
            case let other: self = .other(other)
            }
        }

        /// The 6-bit code.
        public var code: UInt8 {
            switch self {
            case .failCVMProcessing: 0x00
            case .plaintextPINByICC: 0x01
            case .encipheredPINOnline: 0x02
            case .plaintextPINByICCAndSignature: 0x03
            case .encipheredPINByICC: 0x04
            case .encipheredPINByICCAndSignature: 0x05
            case .signature: 0x1E
            case .noCVMRequired: 0x1F
            case .other(let code): code & 0x3F
            }
        }
    }

    /// The CVM code byte as sent (bit 7 is the "apply succeeding rule" flag).
    public let methodByte: UInt8
    /// The CVM condition code (byte 2).
    public let condition: UInt8

    /// A rule from its two bytes.
    public init(methodByte: UInt8, condition: UInt8) {
        self.methodByte = methodByte
        self.condition = condition
    }

    /// The verification method.
    public var method: Method { Method(code: methodByte) }
    /// Byte 1 bit 7: apply the succeeding rule if this one is unsuccessful.
    public var appliesSucceedingRuleIfUnsuccessful: Bool { methodByte & 0x40 != 0 }
}

/// Cardholder Verification Method List (CVM List, tag '8E'): amount X, amount Y and the rules, in the card's order
/// (EMV Book 3 clause 10.5, Annex C3).
public struct CVMList: Sendable, Hashable {
    /// Amount X, binary, in the application currency's minor units.
    public let amountX: UInt32
    /// Amount Y, binary, in the application currency's minor units.
    public let amountY: UInt32
    /// The rules in the card's order.
    public let rules: [CVMRule]

    /// Reads the value of '8E': 4 + 4 bytes of amounts and 2 bytes per rule; `nil` for a shorter list or an odd
    /// rule part.
    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count >= 8, (b.count - 8) % 2 == 0 else { return nil }
        func u32(_ at: Int) -> UInt32 { b[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        amountX = u32(0)
        amountY = u32(4)
        rules = stride(from: 8, to: b.count, by: 2).map { CVMRule(methodByte: b[$0], condition: b[$0 + 1]) }
    }
}
