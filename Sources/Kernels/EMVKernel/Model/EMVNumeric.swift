/// The numeric encodings of EMV data elements (Book 3, 4.3): `n` (BCD, right-justified, leading zero nibbles),
/// `b` (big-endian binary), and the digits of a `cn` PAN, shared by the contact and contactless kernels.
public enum EMVNumeric {
    /// `value` as `n` of `count` bytes (BCD); negative values count as 0, digits past the field are dropped.
    public static func bcd(_ value: Int, bytes count: Int) -> [UInt8] {
        var v = max(0, value)
        var out = [UInt8](repeating: 0, count: count)
        for i in stride(from: count - 1, through: 0, by: -1) {
            let low = v % 10
            v /= 10
            let high = v % 10
            v /= 10
            out[i] = UInt8(high << 4 | low)
        }
        return out
    }

    /// `value` as `b` of `count` bytes, big-endian; negative values count as 0.
    public static func binary(_ value: Int, bytes count: Int) -> [UInt8] {
        let v = UInt64(clamping: max(0, value))
        return (0..<count).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * (count - 1 - $0))) }
    }

    /// The decimal digits of a `cn` value (a PAN), up to the first nibble that is not a digit (the 'F' padding).
    public static func digits(_ bcd: [UInt8]) -> String {
        var out = ""
        for byte in bcd {
            for nibble in [byte >> 4, byte & 0x0F] {
                guard nibble <= 9 else { return out }
                out.append(Character(Unicode.Scalar(0x30 + nibble)))
            }
        }
        return out
    }
}

extension EMVTransaction {
    /// The data objects the terminal itself sources from the transaction and its configuration (Book 3, Annex A,
    /// source "Terminal"), as a DOL or field 55 wants them; `nil` for any other tag. Shared by the contact and
    /// contactless kernels, which answer the kernel-specific ones (TVR, CVM results, capabilities, ...) themselves.
    public func terminalSourcedValue(for tag: UInt32, terminal: TerminalConfiguration) -> [UInt8]? {
        switch tag {
        case 0x9F02: EMVNumeric.bcd(amountAuthorised, bytes: 6)
        case 0x9F03: EMVNumeric.bcd(amountOther, bytes: 6)
        case 0x81: EMVNumeric.binary(amountAuthorised, bytes: 4)
        case 0x9F1A: EMVNumeric.bcd(Int(terminal.countryCode), bytes: 2)
        case 0x5F2A: EMVNumeric.bcd(Int(terminal.currencyCode), bytes: 2)
        case 0x5F36: [terminal.currencyExponent]
        case 0x9A: date.yymmdd
        case 0x9F21: [EMVNumeric.bcd(hour, bytes: 1), EMVNumeric.bcd(minute, bytes: 1), EMVNumeric.bcd(second, bytes: 1)].flatMap { $0 }
        case 0x9C: [transactionType.rawValue]
        case 0x9F35: [terminal.terminalType]
        case 0x9F40: terminal.additionalCapabilities
        case 0x9F15: EMVNumeric.bcd(Int(terminal.merchantCategoryCode), bytes: 2)
        case 0x9F16: Array(terminal.merchantIdentifier.utf8)
        case 0x9F1C: Array(terminal.terminalIdentification.utf8)
        case 0x9F1E: Array(terminal.interfaceDeviceSerialNumber.utf8)
        case 0x9F4E: Array(terminal.merchantNameAndLocation.utf8)
        case 0x9F41: EMVNumeric.bcd(Int(sequenceCounter), bytes: 4)
        default: nil
        }
    }
}
