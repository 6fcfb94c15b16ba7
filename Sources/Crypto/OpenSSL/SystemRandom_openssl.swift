internal import COpenSSL

/// The cryptographic random source of the firmware: OpenSSL's private DRBG (`RAND_priv_bytes`), seeded by the
/// kernel's getrandom(2).
public struct SystemRandom: RandomSource {
    /// The process-wide DRBG; there is nothing to configure.
    public init() {}

    /// Returns `count` bytes from `RAND_priv_bytes`.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/openSSL`` if the DRBG is not seeded.
    public func bytes(_ count: Int) throws -> [UInt8] {
        precondition(count >= 0, "a negative byte count was asked of the random source")
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let rc = out.withUnsafeMutableBufferPointer { RAND_priv_bytes($0.baseAddress, Int32(count)) }
        guard rc == 1 else { throw CryptoError.openSSL(function: "RAND_priv_bytes") }
        return out
    }
}
