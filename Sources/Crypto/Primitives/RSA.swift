/// Raw RSA (no padding), as EMV offline data authentication uses it: the terminal recovers certificates and signed
/// data with the public key (EMV Book 2 clause 5.1 / 6.1, Annex A2.1), and test cards and test CAs sign with the
/// private key.
public enum RSA {
    /// An RSA public key: modulus and exponent.
    public struct PublicKey: Sendable {
        let key: PKey
        /// The modulus length in bytes.
        public let modulusByteCount: Int

        /// Reads a public key from its big-endian modulus and exponent, as EMV CA public keys and recovered issuer
        /// and ICC public keys give them. The modulus is 512 to 4096 bits; EMV uses up to 1984 (CA keys up to
        /// 1984 in EMV 4.x, 2048 for newer schemes) with exponent 3 or 65537 (Book 2 clause 5.1, Table 6 / 11).
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidParameter`` for a modulus or exponent out of range.
        public init(modulus: [UInt8], exponent: [UInt8]) throws {
            let significant = modulus.drop { $0 == 0 }
            guard (64...512).contains(significant.count) else {
                throw CryptoError(.invalidParameter, "an RSA modulus of \(significant.count) bytes (64 to 512 expected)")
            }
            let e = exponent.drop { $0 == 0 }
            guard !e.isEmpty, e.count <= 8, (e.last ?? 0) & 1 == 1 else {
                throw CryptoError(.invalidParameter, "an RSA public exponent must be odd and at most 64 bits")
            }
            key = try RSAOperation.publicKey(modulus: Array(significant), exponent: Array(e))
            modulusByteCount = RSAOperation.modulusLength(key)
        }

        init(key: PKey) {
            self.key = key
            modulusByteCount = RSAOperation.modulusLength(key)
        }

        /// The modulus, big-endian, `modulusByteCount` bytes.
        public func modulus() throws -> [UInt8] {
            try RSAOperation.parameter(key, "n").bytes(length: modulusByteCount)
        }

        /// The public exponent, big-endian, without leading zeros.
        public func exponent() throws -> [UInt8] {
            let e = try RSAOperation.parameter(key, "e")
            return try e.bytes(length: max(e.byteCount, 1))
        }

        /// The raw public operation `input^e mod n` (`EVP_PKEY_encrypt` with `RSA_NO_PADDING`): EMV certificate and
        /// signature recovery. `input` must be exactly as long as the modulus and smaller than it.
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidInputLength`` for a wrong length;
        ///   ``CryptoError/Code/openSSL`` when the input is not smaller than the modulus.
        public func rawPublicOperation(_ input: [UInt8]) throws -> [UInt8] {
            guard input.count == modulusByteCount else {
                throw CryptoError(.invalidInputLength, "raw RSA takes \(modulusByteCount) bytes, not \(input.count)")
            }
            var out = [UInt8](repeating: 0, count: modulusByteCount)
            try input.withUnsafeBytes { i in
                try out.withUnsafeMutableBytes { o in try RSAOperation.raw(key, privateKey: false, input: i, output: o) }
            }
            return out
        }
    }

    /// An RSA private key, for test cards and test certification authorities.
    public struct PrivateKey: Sendable {
        let key: PKey

        /// Generates a key of `bits` bits (512...4096, a multiple of 8) with public exponent 3 or 65537.
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidParameter`` for other sizes or exponents.
        public static func generate(bits: Int, publicExponent: UInt = 65537) throws -> PrivateKey {
            guard (512...4096).contains(bits), bits % 8 == 0 else {
                throw CryptoError(.invalidParameter, "RSA keys of 512 to 4096 bits in whole bytes, not \(bits)")
            }
            guard publicExponent == 3 || publicExponent == 65537 else {
                throw CryptoError(.invalidParameter, "EMV uses RSA public exponents 3 and 65537 only")
            }
            return PrivateKey(key: try RSAOperation.generate(bits: bits, publicExponent: publicExponent))
        }

        /// Reads a private key from DER (PKCS#1 `RSAPrivateKey` or PKCS#8), as ``derRepresentation()`` writes it.
        /// - Throws: ``CryptoError`` if the bytes are not an RSA private key.
        public init(derRepresentation der: SecretBytes) throws {
            key = try PKeyDER.importPrivate(der)
            guard (try? RSAOperation.parameter(key, "n")) != nil else {
                throw CryptoError(.invalidParameter, "the DER private key is not an RSA key")
            }
        }

        init(key: PKey) { self.key = key }

        /// The private key as DER, in secret storage.
        public func derRepresentation() throws -> SecretBytes { try PKeyDER.exportPrivate(key) }

        /// The matching public key.
        public var publicKey: PublicKey { PublicKey(key: key) }

        /// The raw private operation `input^d mod n` (`EVP_PKEY_decrypt` with `RSA_NO_PADDING`): signing an EMV
        /// certificate or signed data block that the caller has formatted. `input` is exactly as long as the modulus
        /// and smaller than it.
        /// - Throws: ``CryptoError`` for a wrong length or an input not smaller than the modulus.
        public func rawPrivateOperation(_ input: [UInt8]) throws -> [UInt8] {
            let length = RSAOperation.modulusLength(key)
            guard input.count == length else {
                throw CryptoError(.invalidInputLength, "raw RSA takes \(length) bytes, not \(input.count)")
            }
            var out = [UInt8](repeating: 0, count: length)
            try input.withUnsafeBytes { i in
                try out.withUnsafeMutableBytes { o in try RSAOperation.raw(key, privateKey: true, input: i, output: o) }
            }
            return out
        }
    }
}
