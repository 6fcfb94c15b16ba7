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
