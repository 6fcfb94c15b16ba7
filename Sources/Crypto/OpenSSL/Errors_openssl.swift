internal import COpenSSL

extension CryptoError {
    /// Builds an ``Code/openSSL`` error from OpenSSL's thread-local error queue, which it empties.
    ///
    /// OpenSSL's error strings name the library, function and reason (`error:1C800064:Provider routines::bad
    /// decrypt`); they never contain key or data bytes.
    static func openSSL(function: String, file: String = #fileID, line: Int = #line) -> CryptoError {
        var parts: [String] = []
        // ERR_get_error returns 0 once the queue is empty (openssl/err.h).
        while case let e = ERR_get_error(), e != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let queue = parts.isEmpty ? "" : ": " + parts.joined(separator: "; ")
        return CryptoError(.openSSL, "\(function) failed\(queue)", file: file, line: line)
    }
}

/// Drops whatever OpenSSL left on this thread's error queue, after a failure that we turn into our own error
/// (for instance a tag mismatch reported as ``CryptoError/Code/authenticationFailure``).
func clearOpenSSLErrorQueue() {
    ERR_clear_error()
}

/// Checks a libcrypto return code: `1` is success for every EVP function the wrapper calls (openssl/evp.h).
@inline(__always)
func check(_ rc: Int32, _ function: StaticString, file: String = #fileID, line: Int = #line) throws {
    guard rc == 1 else { throw CryptoError.openSSL(function: "\(function)", file: file, line: line) }
}

/// Overwrites `count` bytes at `pointer` with zeros in a way the compiler cannot remove (`OPENSSL_cleanse`).
func secureZero(_ pointer: UnsafeMutableRawPointer, _ count: Int) {
    OPENSSL_cleanse(pointer, count)
}

/// Compares two equally long buffers in time that depends only on their length (`CRYPTO_memcmp`).
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    return CRYPTO_memcmp(pa, pb, a.count) == 0
}
