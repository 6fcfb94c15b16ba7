extension SHA256 {
    /// An incremental SHA-256, for data too large to hold in memory at once (update packages are hashed while they
    /// are read in chunks). One hasher per thread; not `Sendable`.
    public final class Hasher {
        private let context: IncrementalDigest
        private var finished = false

        /// A fresh hasher (`EVP_DigestInit_ex` with `EVP_sha256`).
        /// - Throws: ``CryptoError`` if libcrypto fails.
        public init() throws { context = try IncrementalDigest(sha256Digest()) }

        /// Adds `bytes` to the hashed data (`EVP_DigestUpdate`).
        /// - Throws: ``CryptoError`` if libcrypto fails.
        public func update(_ bytes: some CryptoBytes) throws {
            precondition(!finished, "SHA256.Hasher.update after finalize")
            try bytes.withUnsafeBytes { try context.update($0) }
        }

        /// Adds the bytes at `pointer` to the hashed data.
        public func update(_ bytes: UnsafeRawBufferPointer) throws {
            precondition(!finished, "SHA256.Hasher.update after finalize")
            try context.update(bytes)
        }

        /// The 32-byte digest of everything added (`EVP_DigestFinal_ex`); the hasher cannot be used afterwards.
        /// - Throws: ``CryptoError`` if libcrypto fails.
        public func finalize() throws -> [UInt8] {
            precondition(!finished, "SHA256.Hasher.finalize called twice")
            finished = true
            return try context.finish(length: 32)
        }
    }
}
