internal import COpenSSL

/// Builds small X.509 v3 certificates with OpenSSL's X509 API (`X509_new`, `X509V3_EXT_conf_nid`, `X509_sign`):
/// what ``TLSTestCertificates`` needs for a throw-away PKI. EC P-256 keys, SHA-256 signatures.
enum X509Builder {
    /// A fresh EC P-256 key pair (`EVP_PKEY_keygen` with group "P-256").
    static func generateP256Key() throws -> PKey {
        let ctx = try PKeyContext(algorithm: "EC")
        try check(EVP_PKEY_keygen_init(ctx.pointer), "EVP_PKEY_keygen_init")
        try check(EVP_PKEY_CTX_set_group_name(ctx.pointer, "P-256"), "EVP_PKEY_CTX_set_group_name")
        var key: OpaquePointer?
        try check(EVP_PKEY_generate(ctx.pointer, &key), "EVP_PKEY_generate")
        guard let key else { throw CryptoError.openSSL(function: "EVP_PKEY_generate") }
        return PKey(taking: key)
    }

    /// What kind of certificate to issue.
    enum Profile {
        /// A CA: basicConstraints CA:TRUE, keyUsage keyCertSign + cRLSign.
        case authority
        /// A TLS server: subjectAltName from `names` (DNS names and IP literals), extendedKeyUsage serverAuth.
        case server(names: [String])
        /// A TLS client: extendedKeyUsage clientAuth.
        case client
    }

    /// Issues a certificate for `subjectKey` named `commonName`, signed by `issuerKey` under `issuer` (self-signed
    /// when `issuer` is nil), valid from an hour ago for `validityDays`.
    static func issue(
        commonName: String, subjectKey: PKey, profile: Profile, issuer: X509Handle?, issuerKey: PKey, validityDays: Int
    ) throws -> X509Handle {
        guard let made = X509_new() else { throw CryptoError.openSSL(function: "X509_new") }
        let cert = X509Handle(taking: made)
        let x = cert.pointer
        try check(X509_set_version(x, 2), "X509_set_version")  // 2 = v3 (RFC 5280 4.1.2.1)
        // A positive random 63-bit serial (RFC 5280 4.1.2.2: unique per CA, at most 20 octets).
        var serial: UInt64 = 0
        try withUnsafeMutableBytes(of: &serial) { raw in
            try check(RAND_bytes(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(raw.count)), "RAND_bytes")
        }
        try check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1 | 1), "ASN1_INTEGER_set_uint64")
        guard X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nil,
            X509_gmtime_adj(X509_getm_notAfter(x), validityDays * 86_400) != nil
        else { throw CryptoError.openSSL(function: "X509_gmtime_adj") }
        try check(X509_set_pubkey(x, subjectKey.pointer), "X509_set_pubkey")
        guard let subject = X509_get_subject_name(x) else { throw CryptoError.openSSL(function: "X509_get_subject_name") }
        let cn = Array(commonName.utf8)
        try cn.withUnsafeBufferPointer { p in
            try check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, p.baseAddress, Int32(p.count), -1, 0),
                      "X509_NAME_add_entry_by_txt")
        }
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? subject
        try check(X509_set_issuer_name(x, issuerName), "X509_set_issuer_name")

        var v3 = X509V3_CTX()
        X509V3_set_ctx(&v3, issuer?.pointer ?? x, x, nil, nil, 0)
        func add(_ nid: Int32, _ value: String) throws {
            guard let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value) else {
                throw CryptoError.openSSL(function: "X509V3_EXT_conf_nid")
            }
            defer { X509_EXTENSION_free(ext) }
            try check(X509_add_ext(x, ext, -1), "X509_add_ext")
        }
        try add(NID_subject_key_identifier, "hash")
        switch profile {
        case .authority:
            try add(NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
            try add(NID_key_usage, "critical,keyCertSign,cRLSign")
        case .server(let names):
            try add(NID_basic_constraints, "critical,CA:FALSE")
            try add(NID_key_usage, "critical,digitalSignature")
            try add(NID_ext_key_usage, "serverAuth")
            try add(NID_authority_key_identifier, "keyid:always")
            let san = names.map { isIPLiteral($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
            if !san.isEmpty { try add(NID_subject_alt_name, san) }
        case .client:
            try add(NID_basic_constraints, "critical,CA:FALSE")
            try add(NID_key_usage, "critical,digitalSignature")
            try add(NID_ext_key_usage, "clientAuth")
            try add(NID_authority_key_identifier, "keyid:always")
        }
        guard X509_sign(x, issuerKey.pointer, EVP_sha256()) > 0 else { throw CryptoError.openSSL(function: "X509_sign") }
        return cert
    }

    /// Whether `name` looks like an IPv4 or IPv6 literal (digits and dots, or contains a colon).
    private static func isIPLiteral(_ name: String) -> Bool {
        name.contains(":") || (!name.isEmpty && name.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber })
    }

    /// The certificate as PEM (`PEM_write_bio_X509`).
    static func pem(_ cert: X509Handle) throws -> [UInt8] {
        let bio = try BIOHandle.makeMemory(secure: false)
        try check(PEM_write_bio_X509(bio.pointer, cert.pointer), "PEM_write_bio_X509")
        return try bio.withContents { Array($0) }
    }

    /// The private key as unencrypted PKCS#8 PEM (`PEM_write_bio_PrivateKey`), written through a secure-heap BIO
    /// (cleansed when freed) straight into ``SecretBytes``.
    static func privateKeyPEM(_ key: PKey) throws -> SecretBytes {
        let bio = try BIOHandle.makeMemory(secure: true)
        try check(PEM_write_bio_PrivateKey(bio.pointer, key.pointer, nil, nil, 0, nil, nil), "PEM_write_bio_PrivateKey")
        return try bio.withContents { raw in SecretBytes(count: raw.count) { $0.copyMemory(from: raw) } }
    }
}
