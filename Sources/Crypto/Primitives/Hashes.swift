/// SHA-256 (FIPS 180-4).
public enum SHA256 {
    /// The 32-byte digest of `data` (`EVP_Digest` with `EVP_sha256`).
    /// - Throws: ``CryptoError`` if libcrypto fails.
    public static func hash(_ data: some CryptoBytes) throws -> [UInt8] {
        try digest(sha256Digest(), length: 32, of: data)
    }
}

/// HMAC (RFC 2104, FIPS 198-1).
public enum HMAC {
    /// HMAC-SHA256 of `data` under `key`: 32 bytes (`EVP_MAC` "HMAC" with digest "SHA256").
    /// - Throws: ``CryptoError`` if libcrypto fails.
    public static func sha256(_ data: some CryptoBytes, key: SecretBytes) throws -> [UInt8] {
        let mac = try hmacSecret(digest: "SHA256", outputLength: 32, key: key, data: data)
        return mac.withUnsafeBytes { Array($0) }
    }

    /// HMAC-SHA256 as a secret, when the output is key material.
    package static func sha256Secret(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
        try hmacSecret(digest: "SHA256", outputLength: 32, key: key, data: data)
    }

    /// Checks a received HMAC-SHA256 tag in constant time; `tag` may be truncated to 16...32 bytes.
    public static func isValidSHA256(_ tag: [UInt8], for data: some CryptoBytes, key: SecretBytes) throws -> Bool {
        guard (16...32).contains(tag.count) else { return false }
        let mac = try hmacSecret(digest: "SHA256", outputLength: 32, key: key, data: data)
        return mac.withUnsafeBytes { m in tag.withUnsafeBytes { constantTimeEqual(UnsafeRawBufferPointer(rebasing: m.prefix(tag.count)), $0) } }
    }
}

/// HKDF (RFC 5869) with SHA-256, for deriving storage keys from device secrets.
public enum HKDF {
    /// Extract-then-expand: `outputByteCount` bytes (at most 255 × 32) from `inputKeyMaterial`, `salt` and `info`.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidParameter`` for an impossible length, or a libcrypto error.
    public static func sha256(
        inputKeyMaterial: SecretBytes, salt: some CryptoBytes, info: some CryptoBytes, outputByteCount: Int
    ) throws -> SecretBytes {
        guard (1...(255 * 32)).contains(outputByteCount) else {
            throw CryptoError(.invalidParameter, "HKDF-SHA256 gives 1 to 8160 bytes, not \(outputByteCount)")
        }
        return try hkdfSHA256(ikm: inputKeyMaterial, salt: salt, info: info, count: outputByteCount)
    }
}

/// PBKDF2 (RFC 8018 §5.2) with HMAC-SHA256, for stretching short secrets a person types (the merchant password).
public enum PBKDF2 {
    /// `outputByteCount` bytes derived from `password` and `salt` with `iterations` rounds of HMAC-SHA256.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidParameter`` for no iterations or an output outside
    ///   1...64 bytes, or a libcrypto error.
    public static func sha256(password: SecretBytes, salt: some CryptoBytes, iterations: Int, outputByteCount: Int) throws -> SecretBytes {
        guard iterations >= 1, (1...64).contains(outputByteCount) else {
            throw CryptoError(.invalidParameter, "PBKDF2-SHA256 needs at least one iteration and gives 1 to 64 bytes")
        }
        return try pbkdf2(password: password, salt: salt, iterations: UInt64(iterations), digest: "SHA256", count: outputByteCount)
    }
}
