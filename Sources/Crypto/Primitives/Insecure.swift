/// Legacy algorithms that payment standards still require: TDES (EMV cryptograms, ISO 9564 formats 0-3, TDES
/// DUKPT, TR-31 version B), single DES (inside ISO 9797-1 MAC algorithm 3 and the X9.24-1 DUKPT key generation) and
/// SHA-1 (EMV certificates). The namespace makes their use visible at the call site (apple/swift-crypto
/// `Sources/Crypto/Insecure/Insecure.swift`). Don't use them for anything new.
public enum Insecure {
    /// Triple DES (NIST SP 800-67) with a 16-byte (2TDEA, K1 K2 K1) or 24-byte (3TDEA) key, no padding.
    public enum TDES {
        /// Electronic codebook (SP 800-38A clause 6.1) over whole 8-byte blocks.
        public enum ECB {
            /// Encrypts whole 8-byte blocks.
            /// - Throws: ``CryptoError`` for a key other than 16 or 24 bytes, or a partial block.
            public static func encrypt(_ data: some CryptoBytes, key: SecretBytes) throws -> [UInt8] {
                try blockCipherPublic(.tdes, .ecb, key: key, allowedKeyLengths: [16, 24], iv: nil, encrypt: true,
                                      input: data, algorithmName: "TDES-ECB")
            }

            /// Decrypts whole 8-byte blocks into a secret.
            /// - Throws: ``CryptoError`` for a key other than 16 or 24 bytes, or a partial block.
            public static func decrypt(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
                try blockCipher(.tdes, .ecb, key: key, allowedKeyLengths: [16, 24], iv: nil, encrypt: false,
                                input: data, algorithmName: "TDES-ECB")
            }

            /// Encrypts into secret storage (key derivation, clear PIN blocks under a variant key).
            package static func encryptToSecret(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
                try blockCipher(.tdes, .ecb, key: key, allowedKeyLengths: [16, 24], iv: nil, encrypt: true,
                                input: data, algorithmName: "TDES-ECB")
            }
        }

        /// Cipher block chaining (SP 800-38A clause 6.2) with an 8-byte IV.
        public enum CBC {
            /// Encrypts whole 8-byte blocks.
            /// - Throws: ``CryptoError`` for a wrong key, IV or data length.
            public static func encrypt(_ data: some CryptoBytes, key: SecretBytes, iv: [UInt8]) throws -> [UInt8] {
                try blockCipherPublic(.tdes, .cbc, key: key, allowedKeyLengths: [16, 24], iv: iv, encrypt: true,
                                      input: data, algorithmName: "TDES-CBC")
            }

            /// Decrypts whole 8-byte blocks into a secret.
            /// - Throws: ``CryptoError`` for a wrong key, IV or data length.
            public static func decrypt(_ data: some CryptoBytes, key: SecretBytes, iv: [UInt8]) throws -> SecretBytes {
                try blockCipher(.tdes, .cbc, key: key, allowedKeyLengths: [16, 24], iv: iv, encrypt: false,
                                input: data, algorithmName: "TDES-CBC")
            }
        }

        /// TDES-CMAC (NIST SP 800-38B with the 64-bit block), as TR-31 version B uses it.
        public enum CMAC {
            /// The 8-byte CMAC of `data`, or its leftmost `length` bytes (4...8).
            /// - Throws: ``CryptoError`` for a wrong key length or `length`.
            public static func authenticationCode(for data: some CryptoBytes, key: SecretBytes, length: Int = 8) throws
                -> [UInt8]
            {
                guard (4...8).contains(length) else {
                    throw CryptoError(.invalidParameter, "a TDES-CMAC is truncated to 4 to 8 bytes, not \(length)")
                }
                let full = try cmacSecret(.tdes, key: key, data: data)
                return full.withUnsafeBytes { Array($0.prefix(length)) }
            }

            /// The full CMAC as a secret, for key derivation (TR-31 version B, X9.143 clause 7.2).
            package static func derive(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
                try cmacSecret(.tdes, key: key, data: data)
            }
        }
    }

    /// Single DES (FIPS 46-3, withdrawn), computed as 3TDEA with three equal key parts because OpenSSL 3 keeps plain
    /// DES in its legacy provider. Keys are 8 bytes; parity bits are ignored.
    public enum DES {
        /// Electronic codebook over whole 8-byte blocks.
        public enum ECB {
            /// Encrypts whole 8-byte blocks.
            /// - Throws: ``CryptoError`` for a key other than 8 bytes, or a partial block.
            public static func encrypt(_ data: some CryptoBytes, key: SecretBytes) throws -> [UInt8] {
                try blockCipherPublic(.tdes, .ecb, key: key, allowedKeyLengths: [8], iv: nil, encrypt: true,
                                      input: data, algorithmName: "DES-ECB")
            }

            /// Decrypts whole 8-byte blocks into a secret.
            /// - Throws: ``CryptoError`` for a key other than 8 bytes, or a partial block.
            public static func decrypt(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
                try blockCipher(.tdes, .ecb, key: key, allowedKeyLengths: [8], iv: nil, encrypt: false,
                                input: data, algorithmName: "DES-ECB")
            }

            /// Encrypts into secret storage (the X9.24-1 non-reversible key generation process).
            package static func encryptToSecret(_ data: some CryptoBytes, key: SecretBytes) throws -> SecretBytes {
                try blockCipher(.tdes, .ecb, key: key, allowedKeyLengths: [8], iv: nil, encrypt: true,
                                input: data, algorithmName: "DES-ECB")
            }
        }

        /// Cipher block chaining with an 8-byte IV.
        public enum CBC {
            /// Encrypts whole 8-byte blocks.
            /// - Throws: ``CryptoError`` for a wrong key, IV or data length.
            public static func encrypt(_ data: some CryptoBytes, key: SecretBytes, iv: [UInt8]) throws -> [UInt8] {
                try blockCipherPublic(.tdes, .cbc, key: key, allowedKeyLengths: [8], iv: iv, encrypt: true,
                                      input: data, algorithmName: "DES-CBC")
            }

            /// Decrypts whole 8-byte blocks into a secret.
            /// - Throws: ``CryptoError`` for a wrong key, IV or data length.
            public static func decrypt(_ data: some CryptoBytes, key: SecretBytes, iv: [UInt8]) throws -> SecretBytes {
                try blockCipher(.tdes, .cbc, key: key, allowedKeyLengths: [8], iv: iv, encrypt: false,
                                input: data, algorithmName: "DES-CBC")
            }
        }
    }

    /// SHA-1 (FIPS 180-4), which EMV certificates and CA public key checksums still use.
    public enum SHA1 {
        /// The 20-byte digest of `data` (`EVP_Digest` with `EVP_sha1`).
        /// - Throws: ``CryptoError`` if libcrypto fails.
        public static func hash(_ data: some CryptoBytes) throws -> [UInt8] {
            try digest(sha1Digest(), length: 20, of: data)
        }
    }
}
