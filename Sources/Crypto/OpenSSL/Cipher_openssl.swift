internal import COpenSSL

/// Owns one `EVP_CIPHER_CTX`, freed (and its key schedule cleansed) by `EVP_CIPHER_CTX_free` in `deinit`.
final class CipherContext {
    let pointer: OpaquePointer

    init() throws {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL(function: "EVP_CIPHER_CTX_new") }
        pointer = ctx
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }
}

/// The block ciphers and modes the wrapper offers.
enum BlockCipherKind {
    case aes
    /// TDES with a 16-byte (2TDEA) or 24-byte (3TDEA) key; an 8-byte key is single DES, run as 3TDEA with three
    /// equal parts because OpenSSL 3 keeps plain DES in the legacy provider.
    case tdes

    var blockSize: Int { self == .aes ? 16 : 8 }
    var name: String { self == .aes ? "AES" : "TDES" }
}

enum BlockCipherMode {
    case ecb, cbc
}

/// The `EVP_CIPHER` for `kind`, `mode` and the key length (bytes), after the key length was validated.
func evpCipher(_ kind: BlockCipherKind, _ mode: BlockCipherMode, keyLength: Int) -> OpaquePointer? {
    switch (kind, mode, keyLength) {
    case (.aes, .ecb, 16): return EVP_aes_128_ecb()
    case (.aes, .ecb, 24): return EVP_aes_192_ecb()
    case (.aes, .ecb, 32): return EVP_aes_256_ecb()
    case (.aes, .cbc, 16): return EVP_aes_128_cbc()
    case (.aes, .cbc, 24): return EVP_aes_192_cbc()
    case (.aes, .cbc, 32): return EVP_aes_256_cbc()
    case (.tdes, .ecb, 16): return EVP_des_ede_ecb()
    case (.tdes, .ecb, 8), (.tdes, .ecb, 24): return EVP_des_ede3_ecb()
    case (.tdes, .cbc, 16): return EVP_des_ede_cbc()
    case (.tdes, .cbc, 8), (.tdes, .cbc, 24): return EVP_des_ede3_cbc()
    default: return nil
    }
}

/// Runs one unpadded ECB or CBC operation: `EVP_CipherInit_ex2`, `EVP_CIPHER_CTX_set_padding(0)`,
/// `EVP_CipherUpdate`, `EVP_CipherFinal_ex`. The caller has checked the key, IV and input lengths; `output` is as
/// long as `input`.
func runBlockCipher(
    _ kind: BlockCipherKind, _ mode: BlockCipherMode, key: UnsafeRawBufferPointer, iv: UnsafeRawBufferPointer?,
    encrypt: Bool, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer
) throws {
    precondition(output.count == input.count, "cipher output buffer of the wrong size")
    if kind == .tdes && key.count == 8 {
        // Single DES as 3TDEA with K1 = K2 = K3 (FIPS 46-3 / SP 800-67 keying option 3 reduces to DES).
        var expanded = [UInt8](repeating: 0, count: 24)
        defer { expanded.withUnsafeMutableBytes { secureZero($0.baseAddress!, 24) } }
        expanded.withUnsafeMutableBytes { e in
            for i in 0..<3 { UnsafeMutableRawBufferPointer(rebasing: e[(8 * i)..<(8 * i + 8)]).copyMemory(from: key) }
        }
        try expanded.withUnsafeBytes {
            try runBlockCipher(kind, mode, key: $0, iv: iv, encrypt: encrypt, input: input, output: output)
        }
        return
    }
    guard let cipher = evpCipher(kind, mode, keyLength: key.count) else {
        throw CryptoError.keyLength(key.count, allowed: kind == .aes ? [16, 24, 32] : [8, 16, 24], for: kind.name)
    }
    let ctx = try CipherContext()
    // The byte buffers hold UInt8 memory ([UInt8] or SecretBytes storage initialized as UInt8), which is what the
    // `unsigned char *` parameters of libcrypto read.
    let keyPointer = key.baseAddress?.assumingMemoryBound(to: UInt8.self)
    let ivPointer = iv?.baseAddress?.assumingMemoryBound(to: UInt8.self)
    try check(EVP_CipherInit_ex2(ctx.pointer, cipher, keyPointer, ivPointer, encrypt ? 1 : 0, nil), "EVP_CipherInit_ex2")
    try check(EVP_CIPHER_CTX_set_padding(ctx.pointer, 0), "EVP_CIPHER_CTX_set_padding")
    guard input.count > 0 else { return }
    let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var written: Int32 = 0
    try check(
        EVP_CipherUpdate(
            ctx.pointer, out, &written, input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count)),
        "EVP_CipherUpdate")
    var final: Int32 = 0
    try check(EVP_CipherFinal_ex(ctx.pointer, out + Int(written), &final), "EVP_CipherFinal_ex")
    guard Int(written + final) == input.count else {
        throw CryptoError(.openSSL, "EVP_CipherUpdate wrote \(written + final) bytes of \(input.count)")
    }
}

/// Checks key, IV and data lengths for an unpadded ECB/CBC call, then runs it into a fresh buffer of `Output`.
func blockCipher(
    _ kind: BlockCipherKind, _ mode: BlockCipherMode, key: SecretBytes, allowedKeyLengths: [Int], iv: [UInt8]?,
    encrypt: Bool, input: some CryptoBytes, algorithmName: String
) throws -> SecretBytes {
    try validate(kind, mode, key: key, allowedKeyLengths: allowedKeyLengths, iv: iv, input: input, name: algorithmName)
    return try input.withUnsafeBytes { inp in
        try key.withUnsafeBytes { k in
            try SecretBytes(count: inp.count) { out in
                if let iv {
                    try iv.withUnsafeBytes {
                        try runBlockCipher(kind, mode, key: k, iv: $0, encrypt: encrypt, input: inp, output: out)
                    }
                } else {
                    try runBlockCipher(kind, mode, key: k, iv: nil, encrypt: encrypt, input: inp, output: out)
                }
            }
        }
    }
}

/// The same as ``blockCipher(_:_:key:allowedKeyLengths:iv:encrypt:input:algorithmName:)`` into a plain array, for
/// ciphertext, which is not secret.
func blockCipherPublic(
    _ kind: BlockCipherKind, _ mode: BlockCipherMode, key: SecretBytes, allowedKeyLengths: [Int], iv: [UInt8]?,
    encrypt: Bool, input: some CryptoBytes, algorithmName: String
) throws -> [UInt8] {
    try validate(kind, mode, key: key, allowedKeyLengths: allowedKeyLengths, iv: iv, input: input, name: algorithmName)
    return try input.withUnsafeBytes { inp in
        try key.withUnsafeBytes { k in
            var out = [UInt8](repeating: 0, count: inp.count)
            try out.withUnsafeMutableBytes { o in
                if let iv {
                    try iv.withUnsafeBytes {
                        try runBlockCipher(kind, mode, key: k, iv: $0, encrypt: encrypt, input: inp, output: o)
                    }
                } else {
                    try runBlockCipher(kind, mode, key: k, iv: nil, encrypt: encrypt, input: inp, output: o)
                }
            }
            return out
        }
    }
}

private func validate(
    _ kind: BlockCipherKind, _ mode: BlockCipherMode, key: SecretBytes, allowedKeyLengths: [Int], iv: [UInt8]?,
    input: some CryptoBytes, name: String
) throws {
    guard allowedKeyLengths.contains(key.count) else {
        throw CryptoError.keyLength(key.count, allowed: allowedKeyLengths, for: name)
    }
    let count = input.byteCount
    guard count % kind.blockSize == 0 else {
        throw CryptoError(
            .invalidInputLength, "\(name) without padding takes whole \(kind.blockSize)-byte blocks, not \(count) bytes")
    }
    if mode == .cbc {
        guard let iv, iv.count == kind.blockSize else {
            throw CryptoError(.invalidInputLength, "\(name)-CBC takes a \(kind.blockSize)-byte IV")
        }
    }
}

// MARK: - AES-GCM

/// AES-GCM (NIST SP 800-38D) through `EVP_aes_*_gcm`: 12-byte nonce, 16-byte tag.
func gcm(
    encrypt: Bool, key: SecretBytes, nonce: [UInt8], aad: some CryptoBytes, input: some CryptoBytes,
    output: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer
) throws {
    let cipher: OpaquePointer?
    switch key.count {
    case 16: cipher = EVP_aes_128_gcm()
    case 24: cipher = EVP_aes_192_gcm()
    case 32: cipher = EVP_aes_256_gcm()
    default: throw CryptoError.keyLength(key.count, allowed: [16, 24, 32], for: "AES-GCM")
    }
    guard nonce.count == 12 else { throw CryptoError(.invalidInputLength, "AES-GCM takes a 12-byte nonce") }
    guard tag.count == 16 else { throw CryptoError(.invalidInputLength, "AES-GCM takes a 16-byte tag") }
    let ctx = try CipherContext()
    try key.withUnsafeBytes { k in
        try nonce.withUnsafeBytes { n in
            try check(
                EVP_CipherInit_ex2(
                    ctx.pointer, cipher, k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    n.baseAddress!.assumingMemoryBound(to: UInt8.self), encrypt ? 1 : 0, nil),
                "EVP_CipherInit_ex2")
        }
    }
    var written: Int32 = 0
    try aad.withUnsafeBytes { a in
        guard a.count > 0 else { return }
        // AAD goes in with a NULL output buffer (EVP_EncryptUpdate(3), "GCM and OCB Modes").
        try check(
            EVP_CipherUpdate(ctx.pointer, nil, &written, a.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(a.count)),
            "EVP_CipherUpdate(AAD)")
    }
    var total = 0
    try input.withUnsafeBytes { inp in
        guard inp.count > 0 else { return }
        try check(
            EVP_CipherUpdate(
                ctx.pointer, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
                inp.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(inp.count)),
            "EVP_CipherUpdate")
        total = Int(written)
    }
    if !encrypt {
        try check(
            EVP_CIPHER_CTX_ctrl(ctx.pointer, EVP_CTRL_GCM_SET_TAG, 16, tag.baseAddress), "EVP_CIPHER_CTX_ctrl(SET_TAG)")
    }
    var scratch = [UInt8](repeating: 0, count: 16)
    let finalOK = scratch.withUnsafeMutableBufferPointer {
        EVP_CipherFinal_ex(ctx.pointer, $0.baseAddress, &written)
    }
    guard finalOK == 1 else {
        if encrypt { throw CryptoError.openSSL(function: "EVP_CipherFinal_ex") }
        // A tag mismatch: one opaque error, and nothing of OpenSSL's queue.
        clearOpenSSLErrorQueue()
        throw CryptoError.authenticationFailure()
    }
    guard total == output.count else { throw CryptoError(.openSSL, "AES-GCM produced \(total) of \(output.count) bytes") }
    if encrypt {
        try check(
            EVP_CIPHER_CTX_ctrl(ctx.pointer, EVP_CTRL_GCM_GET_TAG, 16, tag.baseAddress), "EVP_CIPHER_CTX_ctrl(GET_TAG)")
    }
}
