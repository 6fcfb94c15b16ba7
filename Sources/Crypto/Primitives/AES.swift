/// AES (FIPS 197) in the modes payment standards use. Keys are 16, 24 or 32 bytes.
public enum AES {
    /// Electronic codebook, no padding (NIST SP 800-38A clause 6.1). Used for key derivation (X9.24-3 DUKPT) and
    /// PIN block format 4, where every input is exactly one block.
    public enum ECB {
        /// Encrypts whole 16-byte blocks.
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeyLength`` or ``CryptoError/Code/invalidInputLength``.
        public static func encrypt(_ data: some CryptoBytes, key: SecretBytes) throws -> [UInt8] {
            try blockCipherPublic(.aes, .ecb, key: key, allowedKeyLengths: [16, 24, 32], iv: nil, encrypt: true,
                                  input: data, algorithmName: "AES-ECB")
        }

        /// Decrypts whole 16-byte blocks; the plaintext is returned as a secret.
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeyLength`` or ``CryptoError/Code/invalidInputLength``.
        public static func decrypt(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
            try blockCipher(.aes, .ecb, key: key, allowedKeyLengths: [16, 24, 32], iv: nil, encrypt: false,
                            input: data, algorithmName: "AES-ECB")
        }

        /// Encrypts into secret storage: for key derivation, where the ciphertext is a key.
        package static func encryptToSecret(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
            try blockCipher(.aes, .ecb, key: key, allowedKeyLengths: [16, 24, 32], iv: nil, encrypt: true,
                            input: data, algorithmName: "AES-ECB")
        }
    }

    /// Cipher block chaining, no padding (NIST SP 800-38A clause 6.2), with a 16-byte IV.
    public enum CBC {
        /// Encrypts whole 16-byte blocks.
        /// - Throws: ``CryptoError`` for a wrong key, IV or data length.
        public static func encrypt(_ data: some CryptoBytes, key: SecretBytes, iv: [UInt8]) throws -> [UInt8] {
            try blockCipherPublic(.aes, .cbc, key: key, allowedKeyLengths: [16, 24, 32], iv: iv, encrypt: true,
                                  input: data, algorithmName: "AES-CBC")
        }

        /// Decrypts whole 16-byte blocks; the plaintext is returned as a secret.
        /// - Throws: ``CryptoError`` for a wrong key, IV or data length.
        public static func decrypt(_ data: some CryptoBytes, key: SecretBytes, iv: [UInt8]) throws -> SecretBytes {
            try blockCipher(.aes, .cbc, key: key, allowedKeyLengths: [16, 24, 32], iv: iv, encrypt: false,
                            input: data, algorithmName: "AES-CBC")
        }

        /// Encrypts into secret storage (TR-31 wrapping of key data whose ciphertext is public is done with
        /// ``encrypt(_:key:iv:)``; this variant is for intermediate secrets).
        package static func encryptToSecret(_ data: some CryptoBytes, key: SecretBytes, iv: [UInt8]) throws -> SecretBytes {
            try blockCipher(.aes, .cbc, key: key, allowedKeyLengths: [16, 24, 32], iv: iv, encrypt: true,
                            input: data, algorithmName: "AES-CBC")
        }
    }

    /// AES-CMAC (NIST SP 800-38B; ISO/IEC 9797-1:2011 MAC algorithm 5), through OpenSSL's `EVP_MAC` "CMAC".
    public enum CMAC {
        /// The 16-byte CMAC of `data`, or its leftmost `length` bytes (4...16).
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeyLength`` or ``CryptoError/Code/invalidParameter``.
        public static func authenticationCode(for data: some CryptoBytes, key: SecretBytes, length: Int = 16) throws
            -> [UInt8]
        {
            guard (4...16).contains(length) else {
                throw CryptoError(.invalidParameter, "a CMAC is truncated to 4 to 16 bytes, not \(length)")
            }
            let full = try cmacSecret(.aes, key: key, data: data)
            return full.withUnsafeBytes { Array($0.prefix(length)) }
        }

        /// The full CMAC as a secret, for key derivation (TR-31 version D key derivation, X9.143 clause 7.3).
        package static func derive(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
            try cmacSecret(.aes, key: key, data: data)
        }
    }

    /// AES-GCM (NIST SP 800-38D) with a 12-byte nonce and a 16-byte tag.
    public enum GCM {
        /// Ciphertext and tag of one sealed message.
        public struct SealedBox: Sendable, Equatable {
            /// As long as the plaintext.
            public var ciphertext: [UInt8]
            /// The 16-byte authentication tag.
            public var tag: [UInt8]

            /// A box received from elsewhere.
            public init(ciphertext: [UInt8], tag: [UInt8]) {
                self.ciphertext = ciphertext
                self.tag = tag
            }
        }

        /// Encrypts and authenticates `plaintext` and `aad`. Never reuse a nonce under one key.
        /// - Throws: ``CryptoError`` for a wrong key or nonce length.
        public static func seal(
            _ plaintext: some CryptoBytes, key: SecretBytes, nonce: [UInt8], authenticating aad: some CryptoBytes
        ) throws -> SealedBox {
            var ciphertext = [UInt8](repeating: 0, count: plaintext.byteCount)
            var tag = [UInt8](repeating: 0, count: 16)
            try ciphertext.withUnsafeMutableBytes { c in
                try tag.withUnsafeMutableBytes { t in
                    try gcm(encrypt: true, key: key, nonce: nonce, aad: aad, input: plaintext, output: c, tag: t)
                }
            }
            return SealedBox(ciphertext: ciphertext, tag: tag)
        }

        /// ``seal(_:key:nonce:authenticating:)`` without additional authenticated data.
        public static func seal(_ plaintext: some CryptoBytes, key: SecretBytes, nonce: [UInt8]) throws -> SealedBox {
            try seal(plaintext, key: key, nonce: nonce, authenticating: [UInt8]())
        }

        /// Checks the tag and decrypts.
        /// - Throws: ``CryptoError`` ``CryptoError/Code/authenticationFailure`` when the tag does not match (no
        ///   plaintext is released), or a length error.
        public static func open(
            _ box: SealedBox, key: SecretBytes, nonce: [UInt8], authenticating aad: some CryptoBytes
        ) throws -> SecretBytes {
            guard box.tag.count == 16 else { throw CryptoError(.invalidInputLength, "AES-GCM takes a 16-byte tag") }
            var tag = box.tag
            return try SecretBytes(count: box.ciphertext.count) { out in
                try tag.withUnsafeMutableBytes { t in
                    try gcm(encrypt: false, key: key, nonce: nonce, aad: aad, input: box.ciphertext, output: out, tag: t)
                }
            }
        }

        /// ``open(_:key:nonce:authenticating:)`` without additional authenticated data.
        public static func open(_ box: SealedBox, key: SecretBytes, nonce: [UInt8]) throws -> SecretBytes {
            try open(box, key: key, nonce: nonce, authenticating: [UInt8]())
        }
    }
}
