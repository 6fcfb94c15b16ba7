internal import COpenSSL

/// Owns one `EVP_MD_CTX` for an incremental digest, freed by `EVP_MD_CTX_free` in `deinit`.
final class IncrementalDigest {
    let pointer: OpaquePointer

    init(_ md: OpaquePointer?) throws {
        guard let ctx = EVP_MD_CTX_new() else { throw CryptoError.openSSL(function: "EVP_MD_CTX_new") }
        pointer = ctx
        try check(EVP_DigestInit_ex(ctx, md, nil), "EVP_DigestInit_ex")
    }

    /// `EVP_DigestUpdate` with `bytes`.
    func update(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try check(EVP_DigestUpdate(pointer, base, bytes.count), "EVP_DigestUpdate")
    }

    /// `EVP_DigestFinal_ex`: the digest of everything given so far.
    func finish(length: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        var size: UInt32 = 0
        try out.withUnsafeMutableBufferPointer { o in try check(EVP_DigestFinal_ex(pointer, o.baseAddress, &size), "EVP_DigestFinal_ex") }
        guard Int(size) == length else { throw CryptoError(.openSSL, "EVP_DigestFinal_ex gave \(size) bytes") }
        return out
    }

    deinit { EVP_MD_CTX_free(pointer) }
}
