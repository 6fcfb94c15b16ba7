/// A source of random bytes. Kernels, PIN block formats with random fill and key generation take one, so that
/// tests can pin it.
public protocol RandomSource: Sendable {
    /// Returns `count` random bytes.
    /// - Throws: ``CryptoError`` when the source cannot deliver.
    func bytes(_ count: Int) throws -> [UInt8]
}

extension RandomSource {
    /// `count` random bytes written straight into secret storage (for keys and PIN fill).
    func secretBytes(_ count: Int) throws -> SecretBytes {
        var bytes = try self.bytes(count)
        defer { bytes.withUnsafeMutableBytes { if $0.count > 0 { secureZero($0.baseAddress!, $0.count) } } }
        guard bytes.count == count else {
            throw CryptoError(.invalidParameter, "the random source gave \(bytes.count) bytes where \(count) were asked")
        }
        return SecretBytes(bytes)
    }

    /// `count` random bytes, checked for length.
    func checkedBytes(_ count: Int) throws -> [UInt8] {
        let bytes = try self.bytes(count)
        guard bytes.count == count else {
            throw CryptoError(.invalidParameter, "the random source gave \(bytes.count) bytes where \(count) were asked")
        }
        return bytes
    }
}
