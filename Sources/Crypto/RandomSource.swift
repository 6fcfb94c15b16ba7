internal import COpenSSL

/// A source of random bytes. Kernels and key generation take one, so that tests can pin it.
public protocol RandomSource: Sendable {
    /// Fills `count` bytes with randomness.
    func bytes(_ count: Int) throws -> [UInt8]
}

/// The cryptographic random source of the firmware: OpenSSL's DRBG (`RAND_priv_bytes`), seeded by the kernel.
public struct SystemRandom: RandomSource {
    public init() {}

    public func bytes(_ count: Int) throws -> [UInt8] {
        precondition(count >= 0, "a negative byte count was asked of the random source")
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let rc = out.withUnsafeMutableBytes { RAND_priv_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)) }
        guard rc == 1 else { throw CryptoError.openSSL(function: "RAND_priv_bytes") }
        return out
    }
}

/// An error from the crypto layer. It never carries key material.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// An OpenSSL call failed; `reason` holds OpenSSL's error queue.
        case openSSL
    }
    public let code: Code
    public let reason: String

    public var description: String { "crypto error (\(code)): \(reason)" }

    /// Builds the error from OpenSSL's error queue, which it empties.
    static func openSSL(function: String) -> CryptoError {
        var parts: [String] = []
        while case let e = ERR_get_error(), e != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return CryptoError(code: .openSSL, reason: "\(function) failed" + (parts.isEmpty ? "" : ": " + parts.joined(separator: "; ")))
    }
}
