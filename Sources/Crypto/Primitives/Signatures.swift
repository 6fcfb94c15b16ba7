/// Ed25519 (RFC 8032), for signed firmware and configuration bundles.
public enum Ed25519 {
    /// A 32-byte Ed25519 private key.
    public struct PrivateKey: Sendable {
        let key: PKey

        /// A fresh key from OpenSSL's DRBG.
        public init() throws { key = try Signing.generate(algorithm: "ED25519", group: nil) }

        /// A key from its 32-byte seed (RFC 8032 clause 5.1.5).
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeyLength`` for another length.
        public init(rawRepresentation: SecretBytes) throws { key = try Signing.ed25519Private(raw: rawRepresentation) }

        /// The 32-byte seed, in secret storage.
        public func rawRepresentation() throws -> SecretBytes { try Signing.rawPrivate(key) }

        /// The matching public key.
        public func publicKey() throws -> PublicKey { try PublicKey(rawRepresentation: Signing.rawPublic(key)) }

        /// The 64-byte signature of `message` (`EVP_DigestSign`, PureEdDSA).
        /// - Throws: ``CryptoError`` if libcrypto fails.
        public func signature(for message: some CryptoBytes) throws -> [UInt8] {
            try Signing.sign(key, md: nil, message: message, maximumLength: 64)
        }
    }

    /// A 32-byte Ed25519 public key.
    public struct PublicKey: Sendable, Equatable {
        let key: PKey
        /// The 32 bytes of the key.
        public let rawRepresentation: [UInt8]

        /// Reads a public key.
        /// - Throws: ``CryptoError`` for a length other than 32 or an invalid point.
        public init(rawRepresentation: [UInt8]) throws {
            key = try Signing.ed25519Public(raw: rawRepresentation)
            self.rawRepresentation = rawRepresentation
        }

        /// Whether `signature` is a valid signature of `message` (`EVP_DigestVerify`).
        /// - Throws: ``CryptoError`` only if libcrypto itself fails.
        public func isValidSignature(_ signature: [UInt8], for message: some CryptoBytes) throws -> Bool {
            guard signature.count == 64 else { return false }
            return try Signing.verify(key, md: nil, signature: signature, message: message)
        }

        public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.rawRepresentation == rhs.rawRepresentation }
    }
}

/// ECDSA over NIST P-256 with SHA-256 (FIPS 186-4), for host and update signatures.
public enum P256 {
    /// An ECDSA signature: r and s.
    public struct Signature: Sendable, Equatable {
        /// r || s, 32 bytes each.
        public let rawRepresentation: [UInt8]

        /// From r || s (64 bytes).
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidInputLength`` for another length.
        public init(rawRepresentation: [UInt8]) throws {
            guard rawRepresentation.count == 64 else {
                throw CryptoError(.invalidInputLength, "a P-256 signature is 64 bytes r || s, not \(rawRepresentation.count)")
            }
            self.rawRepresentation = rawRepresentation
        }

        /// From a DER `ECDSA-Sig-Value` (SEQUENCE { r INTEGER, s INTEGER }, SEC 1 clause C.8).
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidInputLength`` when it is not one.
        public init(derRepresentation: [UInt8]) throws {
            rawRepresentation = try Signing.ecdsaRaw(fromDER: derRepresentation, size: 32)
        }

        /// The DER encoding.
        public func derRepresentation() throws -> [UInt8] { try Signing.ecdsaDER(fromRaw: rawRepresentation) }
    }

    /// A P-256 private key.
    public struct PrivateKey: Sendable {
        let key: PKey

        /// A fresh key from OpenSSL's DRBG.
        public init() throws { key = try Signing.generate(algorithm: "EC", group: "P-256") }

        /// Reads a DER private key (SEC 1 `ECPrivateKey` or PKCS#8) as ``derRepresentation()`` writes it.
        /// - Throws: ``CryptoError`` if the bytes are not a P-256 private key.
        public init(derRepresentation der: SecretBytes) throws {
            key = try PKeyDER.importPrivate(der)
            guard (try? Signing.ecPublicPoint(key))?.count == 65 else {
                throw CryptoError(.invalidParameter, "the DER private key is not a P-256 key")
            }
        }

        /// The private key as DER, in secret storage.
        public func derRepresentation() throws -> SecretBytes { try PKeyDER.exportPrivate(key) }

        /// The matching public key.
        public func publicKey() throws -> PublicKey { try PublicKey(x963Representation: Signing.ecPublicPoint(key)) }

        /// Signs `message` with SHA-256 (`EVP_DigestSign`).
        /// - Throws: ``CryptoError`` if libcrypto fails.
        public func signature(for message: some CryptoBytes) throws -> Signature {
            try Signature(derRepresentation: Signing.sign(key, md: sha256Digest(), message: message, maximumLength: 80))
        }
    }

    /// A P-256 public key.
    public struct PublicKey: Sendable, Equatable {
        let key: PKey
        /// The uncompressed point 04 || X || Y (ANSI X9.63 / SEC 1 clause 2.3.3), 65 bytes.
        public let x963Representation: [UInt8]

        /// Reads an uncompressed point.
        /// - Throws: ``CryptoError`` when it is not a point on P-256.
        public init(x963Representation: [UInt8]) throws {
            guard x963Representation.count == 65, x963Representation.first == 0x04 else {
                throw CryptoError(.invalidInputLength, "a P-256 public key is a 65-byte uncompressed point")
            }
            key = try Signing.ecPublic(group: "P-256", point: x963Representation)
            self.x963Representation = x963Representation
        }

        /// Whether `signature` signs `message` with SHA-256 (`EVP_DigestVerify`).
        /// - Throws: ``CryptoError`` only if libcrypto itself fails.
        public func isValidSignature(_ signature: Signature, for message: some CryptoBytes) throws -> Bool {
            guard let der = try? signature.derRepresentation() else { return false }
            return try Signing.verify(key, md: sha256Digest(), signature: der, message: message)
        }

        public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.x963Representation == rhs.x963Representation }
    }
}
