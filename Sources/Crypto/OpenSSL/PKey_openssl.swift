internal import COpenSSL

/// Owns one `EVP_PKEY`, freed by `EVP_PKEY_free` (which also cleanses private key material).
final class PKey: @unchecked Sendable {
    // @unchecked Sendable: an EVP_PKEY is never modified after it is made here, and OpenSSL allows concurrent
    // sign/verify/encrypt with one EVP_PKEY as long as each thread uses its own EVP_PKEY_CTX (openssl-threads(7)),
    // which every operation below creates.
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }
}

/// Owns one `EVP_PKEY_CTX`, freed by `EVP_PKEY_CTX_free`.
final class PKeyContext {
    let pointer: OpaquePointer

    init(algorithm: String) throws {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw CryptoError.openSSL(function: "EVP_PKEY_CTX_new_from_name")
        }
        pointer = ctx
    }

    init(key: PKey) throws {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else {
            throw CryptoError.openSSL(function: "EVP_PKEY_CTX_new_from_pkey")
        }
        pointer = ctx
    }

    deinit { EVP_PKEY_CTX_free(pointer) }
}

/// Owns one `EVP_MD_CTX`, freed by `EVP_MD_CTX_free`.
final class DigestContext {
    let pointer: OpaquePointer

    init() throws {
        guard let ctx = EVP_MD_CTX_new() else { throw CryptoError.openSSL(function: "EVP_MD_CTX_new") }
        pointer = ctx
    }

    deinit { EVP_MD_CTX_free(pointer) }
}

/// Owns one `BIGNUM`, freed by `BN_clear_free` (which wipes it: some hold private exponents).
final class BigNumber {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    /// A big-endian unsigned integer (`BN_bin2bn`).
    convenience init(bigEndian bytes: UnsafeRawBufferPointer) throws {
        var zero: UInt8 = 0
        let made = withUnsafeMutablePointer(to: &zero) { z in
            BN_bin2bn(bytes.count > 0 ? bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) : UnsafePointer(z), Int32(bytes.count), nil)
        }
        guard let made else { throw CryptoError.openSSL(function: "BN_bin2bn") }
        self.init(taking: made)
    }

    /// A small unsigned integer (`BN_set_word`).
    convenience init(word: UInt) throws {
        guard let made = BN_new() else { throw CryptoError.openSSL(function: "BN_new") }
        self.init(taking: made)
        try check(BN_set_word(pointer, word), "BN_set_word")
    }

    deinit { BN_clear_free(pointer) }

    /// The number of bytes of the value (`BN_num_bytes` is a macro over `BN_num_bits`).
    var byteCount: Int { (Int(BN_num_bits(pointer)) + 7) / 8 }

    /// Big-endian, left-padded with zeros to `length` bytes (`BN_bn2binpad`).
    func write(to out: UnsafeMutableRawBufferPointer) throws {
        guard BN_bn2binpad(pointer, out.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(out.count)) == Int32(out.count)
        else { throw CryptoError.openSSL(function: "BN_bn2binpad") }
    }

    func bytes(length: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        try out.withUnsafeMutableBytes { try write(to: $0) }
        return out
    }
}

/// Owns one `OSSL_PARAM_BLD`, freed by `OSSL_PARAM_BLD_free`.
final class ParamBuilder {
    let pointer: OpaquePointer
    /// BIGNUMs pushed into the builder are referenced, not copied, until `toParams`.
    private var keepAlive: [BigNumber] = []
    private let strings = CStringArena()

    init() throws {
        guard let bld = OSSL_PARAM_BLD_new() else { throw CryptoError.openSSL(function: "OSSL_PARAM_BLD_new") }
        pointer = bld
    }

    deinit { OSSL_PARAM_BLD_free(pointer) }

    func push(_ name: String, _ value: BigNumber) throws {
        keepAlive.append(value)
        try check(OSSL_PARAM_BLD_push_BN(pointer, strings.make(name), value.pointer), "OSSL_PARAM_BLD_push_BN")
    }

    func push(_ name: String, utf8 value: String) throws {
        try check(OSSL_PARAM_BLD_push_utf8_string(pointer, strings.make(name), strings.make(value), 0),
                  "OSSL_PARAM_BLD_push_utf8_string")
    }

    func push(_ name: String, octets value: [UInt8]) throws {
        try value.withUnsafeBytes { v in
            // OSSL_PARAM_BLD_push_octet_string copies the bytes into the builder.
            try check(OSSL_PARAM_BLD_push_octet_string(pointer, strings.make(name), v.baseAddress, v.count),
                      "OSSL_PARAM_BLD_push_octet_string")
        }
    }

    /// Builds the key with `EVP_PKEY_fromdata`.
    func makeKey(algorithm: String, selection: Int32) throws -> PKey {
        guard let params = OSSL_PARAM_BLD_to_param(pointer) else { throw CryptoError.openSSL(function: "OSSL_PARAM_BLD_to_param") }
        defer { OSSL_PARAM_free(params) }
        let ctx = try PKeyContext(algorithm: algorithm)
        try check(EVP_PKEY_fromdata_init(ctx.pointer), "EVP_PKEY_fromdata_init")
        var key: OpaquePointer?
        try check(EVP_PKEY_fromdata(ctx.pointer, &key, selection, params), "EVP_PKEY_fromdata")
        guard let key else { throw CryptoError.openSSL(function: "EVP_PKEY_fromdata") }
        return PKey(taking: key)
    }
}

// MARK: - RSA

enum RSAOperation {
    /// Reads an RSA public key from its modulus and public exponent.
    static func publicKey(modulus: [UInt8], exponent: [UInt8]) throws -> PKey {
        let builder = try ParamBuilder()
        // OSSL_PKEY_PARAM_RSA_N = "n", OSSL_PKEY_PARAM_RSA_E = "e" (openssl/core_names.h).
        try modulus.withUnsafeBytes { try builder.push("n", BigNumber(bigEndian: $0)) }
        try exponent.withUnsafeBytes { try builder.push("e", BigNumber(bigEndian: $0)) }
        return try builder.makeKey(algorithm: "RSA", selection: pcshim_EVP_PKEY_PUBLIC_KEY)
    }

    /// Generates a key pair with `EVP_PKEY_keygen`.
    static func generate(bits: Int, publicExponent: UInt) throws -> PKey {
        let ctx = try PKeyContext(algorithm: "RSA")
        try check(EVP_PKEY_keygen_init(ctx.pointer), "EVP_PKEY_keygen_init")
        try check(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.pointer, Int32(bits)), "EVP_PKEY_CTX_set_rsa_keygen_bits")
        let e = try BigNumber(word: publicExponent)
        try check(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.pointer, e.pointer), "EVP_PKEY_CTX_set1_rsa_keygen_pubexp")
        var key: OpaquePointer?
        try check(EVP_PKEY_generate(ctx.pointer, &key), "EVP_PKEY_generate")
        guard let key else { throw CryptoError.openSSL(function: "EVP_PKEY_generate") }
        return PKey(taking: key)
    }

    /// A big-number parameter of the key (`EVP_PKEY_get_bn_param`), e.g. "n" or "e".
    static func parameter(_ key: PKey, _ name: String) throws -> BigNumber {
        var bn: OpaquePointer?
        try check(EVP_PKEY_get_bn_param(key.pointer, name, &bn), "EVP_PKEY_get_bn_param")
        guard let bn else { throw CryptoError.openSSL(function: "EVP_PKEY_get_bn_param") }
        return BigNumber(taking: bn)
    }

    /// The modulus length in bytes (`EVP_PKEY_get_size`).
    static func modulusLength(_ key: PKey) -> Int { Int(EVP_PKEY_get_size(key.pointer)) }

    /// The raw RSA operation without padding (`RSA_NO_PADDING`): `x^e mod n` through `EVP_PKEY_encrypt` when
    /// `privateKey` is false, `x^d mod n` through `EVP_PKEY_decrypt` when it is true. `input` is exactly as long as
    /// the modulus and smaller than it as a number.
    static func raw(
        _ key: PKey, privateKey: Bool, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer
    ) throws {
        let ctx = try PKeyContext(key: key)
        if privateKey {
            try check(EVP_PKEY_decrypt_init(ctx.pointer), "EVP_PKEY_decrypt_init")
        } else {
            try check(EVP_PKEY_encrypt_init(ctx.pointer), "EVP_PKEY_encrypt_init")
        }
        try check(EVP_PKEY_CTX_set_rsa_padding(ctx.pointer, RSA_NO_PADDING), "EVP_PKEY_CTX_set_rsa_padding")
        var length = output.count
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let inp = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if privateKey {
            try check(EVP_PKEY_decrypt(ctx.pointer, out, &length, inp, input.count), "EVP_PKEY_decrypt")
        } else {
            try check(EVP_PKEY_encrypt(ctx.pointer, out, &length, inp, input.count), "EVP_PKEY_encrypt")
        }
        guard length == output.count else { throw CryptoError(.openSSL, "raw RSA gave \(length) of \(output.count) bytes") }
    }
}

// MARK: - Private key serialization (PKCS#8 / traditional DER)

enum PKeyDER {
    /// The private key as DER (`i2d_PrivateKey`), written straight into secret storage.
    static func exportPrivate(_ key: PKey) throws -> SecretBytes {
        let length = i2d_PrivateKey(key.pointer, nil)
        guard length > 0 else { throw CryptoError.openSSL(function: "i2d_PrivateKey") }
        return try SecretBytes(count: Int(length)) { out in
            var p: UnsafeMutablePointer<UInt8>? = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard i2d_PrivateKey(key.pointer, &p) == length else { throw CryptoError.openSSL(function: "i2d_PrivateKey") }
        }
    }

    /// Reads a DER private key of any type (`d2i_AutoPrivateKey`).
    static func importPrivate(_ der: SecretBytes) throws -> PKey {
        try der.withUnsafeBytes { d in
            guard d.count > 0 else { throw CryptoError(.invalidInputLength, "an empty private key") }
            var p: UnsafePointer<UInt8>? = d.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard let key = d2i_AutoPrivateKey(nil, &p, d.count) else {
                throw CryptoError.openSSL(function: "d2i_AutoPrivateKey")
            }
            return PKey(taking: key)
        }
    }
}

// MARK: - Signatures (Ed25519, ECDSA P-256)

enum Signing {
    /// `EVP_DigestSign` with `md` (nil for Ed25519, which hashes internally). The signature is written into a buffer
    /// of `maximumLength` bytes and trimmed.
    static func sign(_ key: PKey, md: OpaquePointer?, message: some CryptoBytes, maximumLength: Int) throws -> [UInt8] {
        let ctx = try DigestContext()
        try check(EVP_DigestSignInit(ctx.pointer, nil, md, nil, key.pointer), "EVP_DigestSignInit")
        var signature = [UInt8](repeating: 0, count: maximumLength)
        var length = maximumLength
        try message.withUnsafeBytes { m in
            var empty: UInt8 = 0
            try withUnsafeMutablePointer(to: &empty) { e in
                let mp = m.count > 0 ? m.baseAddress!.assumingMemoryBound(to: UInt8.self) : UnsafePointer(e)
                try signature.withUnsafeMutableBufferPointer { s in
                    try check(EVP_DigestSign(ctx.pointer, s.baseAddress, &length, mp, m.count), "EVP_DigestSign")
                }
            }
        }
        return Array(signature.prefix(length))
    }

    /// `EVP_DigestVerify`: true for a valid signature, false for any mismatch or malformed signature.
    static func verify(_ key: PKey, md: OpaquePointer?, signature: [UInt8], message: some CryptoBytes) throws -> Bool {
        let ctx = try DigestContext()
        try check(EVP_DigestVerifyInit(ctx.pointer, nil, md, nil, key.pointer), "EVP_DigestVerifyInit")
        let rc: Int32 = message.withUnsafeBytes { m in
            var empty: UInt8 = 0
            return withUnsafeMutablePointer(to: &empty) { e in
                let mp = m.count > 0 ? m.baseAddress!.assumingMemoryBound(to: UInt8.self) : UnsafePointer(e)
                return signature.withUnsafeBufferPointer { s in
                    EVP_DigestVerify(ctx.pointer, s.baseAddress ?? mp, s.count, mp, m.count)
                }
            }
        }
        // 1 = valid, 0 = mismatch, negative = malformed signature (EVP_DigestVerify(3)): all but 1 are "invalid".
        clearOpenSSLErrorQueue()
        return rc == 1
    }

    static func ed25519Private(raw: SecretBytes) throws -> PKey {
        guard raw.count == 32 else { throw CryptoError.keyLength(raw.count, allowed: [32], for: "Ed25519") }
        return try raw.withUnsafeBytes { r in
            guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, r.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
            else { throw CryptoError.openSSL(function: "EVP_PKEY_new_raw_private_key") }
            return PKey(taking: key)
        }
    }

    static func ed25519Public(raw: [UInt8]) throws -> PKey {
        guard raw.count == 32 else { throw CryptoError.keyLength(raw.count, allowed: [32], for: "Ed25519") }
        return try raw.withUnsafeBufferPointer { r in
            guard let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, r.baseAddress, 32) else {
                throw CryptoError.openSSL(function: "EVP_PKEY_new_raw_public_key")
            }
            return PKey(taking: key)
        }
    }

    static func generate(algorithm: String, group: String?) throws -> PKey {
        let ctx = try PKeyContext(algorithm: algorithm)
        try check(EVP_PKEY_keygen_init(ctx.pointer), "EVP_PKEY_keygen_init")
        if let group { try check(EVP_PKEY_CTX_set_group_name(ctx.pointer, group), "EVP_PKEY_CTX_set_group_name") }
        var key: OpaquePointer?
        try check(EVP_PKEY_generate(ctx.pointer, &key), "EVP_PKEY_generate")
        guard let key else { throw CryptoError.openSSL(function: "EVP_PKEY_generate") }
        return PKey(taking: key)
    }

    /// The raw public key bytes (`EVP_PKEY_get_raw_public_key`, Ed25519: 32 bytes).
    static func rawPublic(_ key: PKey) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        try out.withUnsafeMutableBufferPointer {
            try check(EVP_PKEY_get_raw_public_key(key.pointer, $0.baseAddress, &length), "EVP_PKEY_get_raw_public_key")
        }
        return Array(out.prefix(length))
    }

    /// The raw private key bytes (`EVP_PKEY_get_raw_private_key`, Ed25519: 32 bytes).
    static func rawPrivate(_ key: PKey) throws -> SecretBytes {
        try SecretBytes(count: 32) { out in
            var length = 32
            try check(
                EVP_PKEY_get_raw_private_key(key.pointer, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length),
                "EVP_PKEY_get_raw_private_key")
            guard length == 32 else { throw CryptoError(.openSSL, "Ed25519 private key of \(length) bytes") }
        }
    }

    /// The uncompressed public point of an EC key (`EVP_PKEY_get_octet_string_param`, "encoded-pub-key").
    static func ecPublicPoint(_ key: PKey) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 133)
        var length = 0
        try out.withUnsafeMutableBufferPointer {
            try check(EVP_PKEY_get_octet_string_param(key.pointer, "encoded-pub-key", $0.baseAddress, $0.count, &length),
                      "EVP_PKEY_get_octet_string_param")
        }
        return Array(out.prefix(length))
    }

    /// An EC public key on `group` from its encoded point (`EVP_PKEY_fromdata` with "group" and "pub").
    static func ecPublic(group: String, point: [UInt8]) throws -> PKey {
        let builder = try ParamBuilder()
        try builder.push("group", utf8: group)
        try builder.push("pub", octets: point)
        return try builder.makeKey(algorithm: "EC", selection: pcshim_EVP_PKEY_PUBLIC_KEY)
    }

    /// DER `ECDSA-Sig-Value` to r || s, each `size` bytes (`d2i_ECDSA_SIG`, `ECDSA_SIG_get0`, `BN_bn2binpad`).
    static func ecdsaRaw(fromDER der: [UInt8], size: Int) throws -> [UInt8] {
        try der.withUnsafeBufferPointer { d in
            var p: UnsafePointer<UInt8>? = d.baseAddress
            guard d.count > 0, let sig = d2i_ECDSA_SIG(nil, &p, d.count) else {
                clearOpenSSLErrorQueue()
                throw CryptoError(.invalidInputLength, "not a DER ECDSA signature")
            }
            defer { ECDSA_SIG_free(sig) }
            guard p == d.baseAddress! + d.count else { throw CryptoError(.invalidInputLength, "trailing bytes after a DER ECDSA signature") }
            var r: OpaquePointer?
            var s: OpaquePointer?
            ECDSA_SIG_get0(sig, &r, &s)
            guard let r, let s else { throw CryptoError.openSSL(function: "ECDSA_SIG_get0") }
            var out = [UInt8](repeating: 0, count: 2 * size)
            try out.withUnsafeMutableBytes { o in
                guard BN_bn2binpad(r, o.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(size)) == Int32(size),
                      BN_bn2binpad(s, o.baseAddress!.assumingMemoryBound(to: UInt8.self) + size, Int32(size)) == Int32(size)
                else { throw CryptoError(.invalidInputLength, "an ECDSA signature component longer than the curve order") }
            }
            return out
        }
    }

    /// r || s to DER `ECDSA-Sig-Value` (`ECDSA_SIG_new`, `ECDSA_SIG_set0`, `i2d_ECDSA_SIG`).
    static func ecdsaDER(fromRaw raw: [UInt8]) throws -> [UInt8] {
        guard let sig = ECDSA_SIG_new() else { throw CryptoError.openSSL(function: "ECDSA_SIG_new") }
        defer { ECDSA_SIG_free(sig) }
        let half = raw.count / 2
        let (r, s): (OpaquePointer?, OpaquePointer?) = raw.withUnsafeBufferPointer { b in
            (BN_bin2bn(b.baseAddress, Int32(half), nil), BN_bin2bn(b.baseAddress! + half, Int32(half), nil))
        }
        guard let r, let s else {
            if let r { BN_free(r) }
            if let s { BN_free(s) }
            throw CryptoError.openSSL(function: "BN_bin2bn")
        }
        // ECDSA_SIG_set0 takes ownership of r and s on success.
        guard ECDSA_SIG_set0(sig, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            throw CryptoError.openSSL(function: "ECDSA_SIG_set0")
        }
        let length = i2d_ECDSA_SIG(sig, nil)
        guard length > 0 else { throw CryptoError.openSSL(function: "i2d_ECDSA_SIG") }
        var out = [UInt8](repeating: 0, count: Int(length))
        try out.withUnsafeMutableBufferPointer { o in
            var p: UnsafeMutablePointer<UInt8>? = o.baseAddress
            guard i2d_ECDSA_SIG(sig, &p) == length else { throw CryptoError.openSSL(function: "i2d_ECDSA_SIG") }
        }
        return out
    }
}
