internal import COpenSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Owns C strings (`strdup`) that `OSSL_PARAM` entries point at: `OSSL_PARAM_construct_*` stores the pointers, so
/// they must stay valid until the call that reads the parameters returns. Freed in `deinit`.
final class CStringArena {
    private var pointers: [UnsafeMutablePointer<CChar>] = []

    func make(_ text: String) -> UnsafeMutablePointer<CChar> {
        // strdup fails only when memory is exhausted, which the Swift runtime does not survive either.
        guard let p = strdup(text) else { preconditionFailure("strdup failed: out of memory") }
        pointers.append(p)
        return p
    }

    deinit { pointers.forEach { free($0) } }
}

/// Owns one fetched `EVP_MAC` algorithm (`EVP_MAC_fetch`), freed by `EVP_MAC_free`.
final class FetchedMAC: @unchecked Sendable {
    // @unchecked Sendable: a fetched EVP_MAC is an immutable, reference-counted method table that OpenSSL documents
    // as safe to use from several threads at once (openssl-threads(7)); only contexts made from it are per-thread.
    let pointer: OpaquePointer

    init(_ name: String) {
        // Fetching a built-in algorithm from the default provider only fails if libcrypto is unusable.
        guard let mac = EVP_MAC_fetch(nil, name, nil) else {
            preconditionFailure("EVP_MAC_fetch(\(name)) failed: libcrypto's default provider is missing")
        }
        pointer = mac
    }

    deinit { EVP_MAC_free(pointer) }

    static let hmac = FetchedMAC("HMAC")
    static let cmac = FetchedMAC("CMAC")
}

/// Owns one `EVP_MAC_CTX`, freed (with its key) by `EVP_MAC_CTX_free`.
final class MACContext {
    let pointer: OpaquePointer
    let algorithm: FetchedMAC

    init(_ algorithm: FetchedMAC) throws {
        guard let ctx = EVP_MAC_CTX_new(algorithm.pointer) else { throw CryptoError.openSSL(function: "EVP_MAC_CTX_new") }
        pointer = ctx
        self.algorithm = algorithm
    }

    deinit { EVP_MAC_CTX_free(pointer) }
}

/// Computes a MAC with `EVP_MAC_init` / `EVP_MAC_update` / `EVP_MAC_final`. `parameterName` is
/// `OSSL_MAC_PARAM_CIPHER` ("cipher") for CMAC or `OSSL_MAC_PARAM_DIGEST` ("digest") for HMAC.
func computeMAC(
    _ algorithm: FetchedMAC, parameterName: String, parameterValue: String, key: UnsafeRawBufferPointer,
    data: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer
) throws {
    let ctx = try MACContext(algorithm)
    let strings = CStringArena()
    var params = [
        OSSL_PARAM_construct_utf8_string(strings.make(parameterName), strings.make(parameterValue), 0),
        OSSL_PARAM_construct_end(),
    ]
    var keyByte: UInt8 = 0
    try withExtendedLifetime(strings) {
        try withUnsafeMutablePointer(to: &keyByte) { empty in
            let keyPointer = key.count > 0 ? key.baseAddress!.assumingMemoryBound(to: UInt8.self) : UnsafePointer(empty)
            try check(EVP_MAC_init(ctx.pointer, keyPointer, key.count, &params), "EVP_MAC_init")
        }
    }
    if data.count > 0 {
        try check(
            EVP_MAC_update(ctx.pointer, data.baseAddress!.assumingMemoryBound(to: UInt8.self), data.count),
            "EVP_MAC_update")
    }
    var length = 0
    try check(
        EVP_MAC_final(ctx.pointer, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, output.count),
        "EVP_MAC_final")
    guard length == output.count else {
        throw CryptoError(.openSSL, "EVP_MAC_final gave \(length) bytes where \(output.count) were expected")
    }
}

/// The OpenSSL cipher name for CMAC over `kind` with a key of `keyLength` bytes.
func cmacCipherName(_ kind: BlockCipherKind, keyLength: Int) -> String? {
    switch (kind, keyLength) {
    case (.aes, 16): return "AES-128-CBC"
    case (.aes, 24): return "AES-192-CBC"
    case (.aes, 32): return "AES-256-CBC"
    case (.tdes, 16): return "DES-EDE-CBC"
    case (.tdes, 24): return "DES-EDE3-CBC"
    default: return nil
    }
}

/// CMAC (NIST SP 800-38B) of `data` under `key`, the full block-size tag, into a new secret (for key derivation).
func cmacSecret(_ kind: BlockCipherKind, key: SecretBytes, data: some CryptoBytes) throws -> SecretBytes {
    guard let name = cmacCipherName(kind, keyLength: key.count) else {
        throw CryptoError.keyLength(key.count, allowed: kind == .aes ? [16, 24, 32] : [16, 24], for: "\(kind.name)-CMAC")
    }
    return try key.withUnsafeBytes { k in
        try data.withUnsafeBytes { d in
            try SecretBytes(count: kind.blockSize) { out in
                try computeMAC(.cmac, parameterName: "cipher", parameterValue: name, key: k, data: d, output: out)
            }
        }
    }
}

/// HMAC (RFC 2104) with `digest` ("SHA256", "SHA1") of `data` under `key`.
func hmacSecret(digest: String, outputLength: Int, key: SecretBytes, data: some CryptoBytes) throws -> SecretBytes {
    try key.withUnsafeBytes { k in
        try data.withUnsafeBytes { d in
            try SecretBytes(count: outputLength) { out in
                try computeMAC(.hmac, parameterName: "digest", parameterValue: digest, key: k, data: d, output: out)
            }
        }
    }
}

// MARK: - Digests

/// One-shot digest with `EVP_Digest` (no context object outlives the call).
func digest(_ md: OpaquePointer?, length: Int, of data: some CryptoBytes) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: length)
    var size: UInt32 = 0
    try data.withUnsafeBytes { d in
        var empty: UInt8 = 0
        try withUnsafeMutablePointer(to: &empty) { e in
            let p = d.count > 0 ? UnsafeRawPointer(d.baseAddress!) : UnsafeRawPointer(e)
            try out.withUnsafeMutableBufferPointer { o in
                try check(EVP_Digest(p, d.count, o.baseAddress, &size, md, nil), "EVP_Digest")
            }
        }
    }
    guard Int(size) == length else { throw CryptoError(.openSSL, "EVP_Digest gave \(size) bytes") }
    return out
}

func sha1Digest() -> OpaquePointer? { EVP_sha1() }
func sha256Digest() -> OpaquePointer? { EVP_sha256() }

// MARK: - HKDF

/// Owns one `EVP_KDF_CTX`, freed by `EVP_KDF_CTX_free`.
final class KDFContext {
    let pointer: OpaquePointer

    init(_ name: String) throws {
        guard let kdf = EVP_KDF_fetch(nil, name, nil) else { throw CryptoError.openSSL(function: "EVP_KDF_fetch") }
        // The context holds its own reference to the algorithm, so the fetched one is released at once.
        defer { EVP_KDF_free(kdf) }
        guard let ctx = EVP_KDF_CTX_new(kdf) else { throw CryptoError.openSSL(function: "EVP_KDF_CTX_new") }
        pointer = ctx
    }

    deinit { EVP_KDF_CTX_free(pointer) }
}

/// HKDF-SHA256 (RFC 5869) extract-and-expand through `EVP_KDF_derive` with `OSSL_KDF_PARAM_DIGEST`,
/// `OSSL_KDF_PARAM_KEY`, `OSSL_KDF_PARAM_SALT` and `OSSL_KDF_PARAM_INFO`.
func hkdfSHA256(ikm: SecretBytes, salt: some CryptoBytes, info: some CryptoBytes, count: Int) throws -> SecretBytes {
    let ctx = try KDFContext("HKDF")
    let strings = CStringArena()
    var dummy: UInt8 = 0
    return try ikm.withUnsafeBytes { k in
        try salt.withUnsafeBytes { s in
            try info.withUnsafeBytes { i in
                try withUnsafeMutablePointer(to: &dummy) { d in
                    func ptr(_ b: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
                        // OSSL_PARAM_construct_octet_string takes `void *` but only reads it for these inputs.
                        b.count > 0 ? UnsafeMutableRawPointer(mutating: b.baseAddress!) : UnsafeMutableRawPointer(d)
                    }
                    var params = [
                        OSSL_PARAM_construct_utf8_string(strings.make("digest"), strings.make("SHA256"), 0),
                        OSSL_PARAM_construct_octet_string(strings.make("key"), ptr(k), k.count),
                        OSSL_PARAM_construct_octet_string(strings.make("salt"), ptr(s), s.count),
                        OSSL_PARAM_construct_octet_string(strings.make("info"), ptr(i), i.count),
                        OSSL_PARAM_construct_end(),
                    ]
                    return try withExtendedLifetime(strings) {
                        try SecretBytes(count: count) { out in
                            try check(
                                EVP_KDF_derive(
                                    ctx.pointer, out.baseAddress!.assumingMemoryBound(to: UInt8.self), count, &params),
                                "EVP_KDF_derive")
                        }
                    }
                }
            }
        }
    }
}
