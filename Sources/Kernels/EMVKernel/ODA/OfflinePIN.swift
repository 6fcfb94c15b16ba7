public import PaymentCrypto

/// Offline PIN helpers (EMV Book 3 clause 6.5.12 VERIFY, Book 2 clause 7.2).
public enum OfflinePIN {
    /// The plaintext offline PIN block, ISO 9564-1 format 2 as EMV uses it for VERIFY: control '2', PIN length N,
    /// the N PIN digits, then 'F' fill to 8 bytes. It is sent in clear for plaintext offline PIN (P2 = '80') and is the
    /// block that ``OfflineDataAuthentication/encipherPIN(pinBlock:iccUnpredictableNumber:key:random:)`` enciphers.
    ///
    /// The digits are written straight into the secret's storage; nothing else holds them.
    /// - Parameter digits: the PIN's digit values 0-9 (not ASCII), 4 to 12 of them.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidPIN`` for another count or a value above 9 (the message
    ///   names neither digits nor positions).
    public static func plaintextPINBlock(digits: ArraySlice<UInt8>) throws -> SecretBytes {
        guard (4...12).contains(digits.count) else {
            throw CryptoError(.invalidPIN, "an offline PIN has 4 to 12 digits, not \(digits.count)")
        }
        var valid = true
        for d in digits where d > 9 { valid = false }
        guard valid else { throw CryptoError(.invalidPIN, "an offline PIN has only the digits 0 to 9") }
        return SecretBytes(count: 8) { out in
            for i in 0..<8 { out[i] = 0xFF }
            out[0] = 0x20 | UInt8(digits.count)
            var position = 2
            for d in digits {
                let byte = position / 2
                out[byte] = position % 2 == 0 ? (d << 4) | (out[byte] & 0x0F) : (out[byte] & 0xF0) | d
                position += 1
            }
        }
    }
}
