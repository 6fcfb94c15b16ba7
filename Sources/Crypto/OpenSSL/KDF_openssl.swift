internal import COpenSSL

/// PBKDF2 (RFC 8018 §5.2) with HMAC-`digest` over `password` and `salt`: `count` bytes (`EVP_KDF` "PBKDF2", params
/// "pass", "salt", "iter", "digest").
func pbkdf2(password: SecretBytes, salt: some CryptoBytes, iterations: UInt64, digest: String, count: Int) throws -> SecretBytes {
    let ctx = try KDFContext("PBKDF2")
    let strings = CStringArena()
    var dummy: UInt8 = 0
    var rounds = iterations
    return try password.withUnsafeBytes { p in
        try salt.withUnsafeBytes { s in
            try withUnsafeMutablePointer(to: &dummy) { d in
                func ptr(_ b: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
                    // OSSL_PARAM_construct_octet_string takes `void *` but only reads it for these inputs.
                    b.count > 0 ? UnsafeMutableRawPointer(mutating: b.baseAddress!) : UnsafeMutableRawPointer(d)
                }
                return try withUnsafeMutablePointer(to: &rounds) { r in
                    var params = [
                        OSSL_PARAM_construct_utf8_string(strings.make("digest"), strings.make(digest), 0),
                        OSSL_PARAM_construct_octet_string(strings.make("pass"), ptr(p), p.count),
                        OSSL_PARAM_construct_octet_string(strings.make("salt"), ptr(s), s.count),
                        OSSL_PARAM_construct_uint64(strings.make("iter"), r),
                        OSSL_PARAM_construct_end(),
                    ]
                    return try withExtendedLifetime(strings) {
                        try SecretBytes(count: count) { out in
                            try check(
                                EVP_KDF_derive(ctx.pointer, out.baseAddress!.assumingMemoryBound(to: UInt8.self), count, &params),
                                "EVP_KDF_derive")
                        }
                    }
                }
            }
        }
    }
}
