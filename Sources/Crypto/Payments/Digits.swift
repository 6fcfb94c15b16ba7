/// Helpers for decimal-digit inputs (PANs, PINs) that never put the digits into error messages.
enum Digits {
    /// The values 0-9 of the ASCII digits of `text`, or a `code` error naming only the field and its length.
    static func pan(_ text: some StringProtocol, field: String = "PAN") throws -> [UInt8] {
        var digits: [UInt8] = []
        digits.reserveCapacity(19)
        for c in text.utf8 {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else {
                throw CryptoError(.invalidPAN, "the \(field) has a character that is not a decimal digit")
            }
            digits.append(c - UInt8(ascii: "0"))
        }
        // ISO/IEC 7812-1: a PAN has at most 19 digits.
        guard (1...19).contains(digits.count) else {
            throw CryptoError(.invalidPAN, "the \(field) has \(digits.count) digits (1 to 19 expected)")
        }
        return digits
    }

    /// Checks a PIN held as ASCII digits: 4 to 12 decimal digits (ISO 9564-1:2017 clause 8.1 and 9.1).
    static func checkPIN(_ pin: SecretBytes) throws {
        try pin.withUnsafeBytes { p in
            guard (4...12).contains(p.count) else {
                throw CryptoError(.invalidPIN, "a PIN has 4 to 12 digits, not \(p.count)")
            }
            var bad = false
            for c in p where c < UInt8(ascii: "0") || c > UInt8(ascii: "9") { bad = true }
            if bad { throw CryptoError(.invalidPIN, "a PIN has only decimal digits") }
        }
    }
}

extension Array where Element == UInt8 {
    /// Packs decimal digit values (0-9, or nibbles) two to a byte, high nibble first; `count` must be even.
    func packedNibbles() -> [UInt8] {
        precondition(count % 2 == 0, "packing an odd number of nibbles")
        return stride(from: 0, to: count, by: 2).map { self[$0] << 4 | self[$0 + 1] }
    }
}

/// Sets odd parity on every byte of a DES key (FIPS 46-3: the low bit of each byte is its parity bit). Parity bits do
/// not change any DES result; payment HSMs store DES keys with odd parity, so derived keys follow that convention.
func withOddParity(_ key: SecretBytes) -> SecretBytes {
    key.withUnsafeBytes { k in
        SecretBytes(count: k.count) { out in
            for i in 0..<k.count {
                let b = k[i] & 0xFE
                out[i] = b | (b.nonzeroBitCount % 2 == 0 ? 1 : 0)
            }
        }
    }
}
