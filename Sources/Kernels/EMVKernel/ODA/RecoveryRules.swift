import PaymentCrypto

/// The byte-level rules shared by the Book 2 recovery functions: the certificate layouts of Tables 6/13 (issuer)
/// and 14 (ICC), the signed data envelope of Tables 7 and 17, and small helpers. Everything reads the bytes it is
/// given, from `startIndex`, and reports the first rule broken as an ``ODAFailure``.
enum ODA {
    static let header: UInt8 = 0x6A
    static let trailer: UInt8 = 0xBC
    /// Hash Algorithm Indicator '01': SHA-1. Public Key Algorithm Indicator '01': RSA.
    static let sha1Indicator: UInt8 = 0x01
    static let rsaIndicator: UInt8 = 0x01
    static let hashLength = 20

    /// SHA-1, or `nil` if libcrypto fails (then every comparison fails closed).
    static func sha1(_ data: [UInt8]) -> [UInt8]? { try? Insecure.SHA1.hash(data) }

    /// Exponent 3 or 2^16 + 1, as Book 2 allows for CA, issuer and ICC keys.
    static func isPermittedExponent(_ exponent: [UInt8]) -> Bool { exponent == [0x03] || exponent == [0x01, 0x00, 0x01] }

    /// The decimal digits of BCD `bytes` up to the first 'F' nibble, after which only 'F' may follow; `nil` for a
    /// nibble A-E, or a digit after the padding.
    static func digits(ofFPadded bytes: ArraySlice<UInt8>) -> [UInt8]? {
        var digits: [UInt8] = []
        var padding = false
        for byte in bytes {
            for nibble in [byte >> 4, byte & 0x0F] {
                if nibble == 0x0F {
                    padding = true
                } else if nibble <= 9, !padding {
                    digits.append(nibble)
                } else {
                    return nil
                }
            }
        }
        return digits
    }

    /// Overwrites a temporary that held clear PIN data.
    static func overwrite(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            for i in buffer.indices { buffer[i] = 0 }
        }
    }

    // MARK: Certificates

    enum CertificateKind {
        /// Issuer Public Key Certificate (Table 6 / 13): format '02', a 4-byte Issuer Identifier.
        case issuer
        /// ICC Public Key (or ICC PIN Encipherment Public Key) Certificate (Table 14): format '04', 10-byte PAN.
        case icc

        var format: UInt8 { self == .issuer ? 0x02 : 0x04 }
        var identifierLength: Int { self == .issuer ? 4 : 10 }
        /// Bytes of the certificate that are not the public key's leftmost digits: 36 for issuer, 42 for ICC.
        var overhead: Int { 32 + identifierLength }
    }

    /// The fields of a certificate that verified (trailer, header, format, hash algorithm and hash), before the
    /// identity, date and revocation checks that differ between issuer and ICC certificates.
    struct RecoveredCertificate {
        var identifier: ArraySlice<UInt8>
        var expiry: ArraySlice<UInt8>
        var serialNumber: ArraySlice<UInt8>
        var algorithm: UInt8
        var modulus: [UInt8]
        var exponent: [UInt8]

        /// Checks the public key algorithm (step 11) and builds the key.
        func publicKey(expiry date: EMVDate, serialNumber serial: [UInt8]) -> Result<RecoveredPublicKey, ODAFailure> {
            guard algorithm == ODA.rsaIndicator else { return .failure(ODAFailure(.unsupportedAlgorithm)) }
            guard modulus.first != 0, let key = try? RecoveredPublicKey(
                modulus: modulus, exponent: exponent, expiry: date, serialNumber: serial)
            else { return .failure(ODAFailure(.publicKeyLength)) }
            return .success(key)
        }
    }

    /// Book 2 clause 5.3 steps 1-7 and 12 (issuer) and clause 6.4 (ICC): recovers `certificate` with `signer`,
    /// checks trailer, header, format and hash, then the length fields, and assembles modulus and exponent.
    static func recoverCertificate(
        _ certificate: [UInt8], signer: RSA.PublicKey, signerLength: Int, kind: CertificateKind, remainder: [UInt8],
        exponent: [UInt8], extraHashData: [UInt8]
    ) -> Result<RecoveredCertificate, ODAFailure> {
        guard certificate.count == signerLength, signerLength == signer.modulusByteCount else {
            return .failure(ODAFailure(.certificateLength))
        }
        guard let x = try? signer.rawPublicOperation(certificate) else {
            return .failure(ODAFailure(.certificateRecovery))
        }
        let n = x.count
        let start = x.startIndex
        guard x[start + n - 1] == trailer else { return .failure(ODAFailure(.certificateTrailer)) }
        guard x[start] == header else { return .failure(ODAFailure(.certificateHeader)) }
        guard x[start + 1] == kind.format else { return .failure(ODAFailure(.certificateFormat)) }
        // Fixed fields after the identifier: expiry (2), serial (3), hash algorithm, key algorithm, key length,
        // exponent length.
        let id = start + 2
        let expiry = id + kind.identifierLength
        let serial = expiry + 2
        let hashAlgorithm = serial + 3
        let keyLength = Int(x[hashAlgorithm + 2])
        let exponentLength = Int(x[hashAlgorithm + 3])
        let digits = hashAlgorithm + 4
        let hashStart = start + n - 1 - hashLength
        guard x[hashAlgorithm] == sha1Indicator else { return .failure(ODAFailure(.unsupportedHashAlgorithm)) }
        // Steps 5-7: hash over format .. leftmost key digits || remainder || exponent (|| static data, ICC).
        guard !exponent.isEmpty else { return .failure(ODAFailure(.missingData)) }
        guard let digest = sha1(Array(x[start + 1..<hashStart]) + remainder + exponent + extraHashData),
            digest[...] == x[hashStart..<hashStart + hashLength]
        else { return .failure(ODAFailure(.certificateHash)) }
        // Step 12 and the length fields: N ≤ the signer's length; the remainder is exactly what does not fit.
        let fieldLength = signerLength - kind.overhead
        guard keyLength > 0, keyLength <= signerLength else { return .failure(ODAFailure(.publicKeyLength)) }
        guard exponentLength == 1 || exponentLength == 3, exponentLength == exponent.count else {
            return .failure(ODAFailure(.publicKeyExponentLength))
        }
        guard isPermittedExponent(exponent) else { return .failure(ODAFailure(.publicKeyExponent)) }
        var modulus: [UInt8]
        if keyLength <= fieldLength {
            modulus = Array(x[digits..<digits + keyLength])
        } else {
            let needed = keyLength - fieldLength
            guard !remainder.isEmpty else { return .failure(ODAFailure(.missingData)) }
            guard remainder.count == needed else { return .failure(ODAFailure(.remainderLength)) }
            modulus = Array(x[digits..<digits + fieldLength])
            modulus += remainder
        }
        return .success(
            RecoveredCertificate(
                identifier: x[id..<expiry], expiry: x[expiry..<serial], serialNumber: x[serial..<hashAlgorithm],
                algorithm: x[hashAlgorithm + 1], modulus: modulus, exponent: exponent))
    }

    // MARK: Signed data

    /// Recovers signed data and checks length, trailer, header, format and hash algorithm (not yet the hash).
    static func recoverSignedDataEnvelope(_ signed: [UInt8], key: RecoveredPublicKey, format: UInt8)
        -> Result<[UInt8], ODAFailure>
    {
        guard signed.count == key.modulus.count, signed.count == key.key.modulusByteCount else {
            return .failure(ODAFailure(.signatureLength))
        }
        guard let x = try? key.key.rawPublicOperation(signed) else { return .failure(ODAFailure(.signatureRecovery)) }
        guard x.count >= 3 + hashLength + 1 else { return .failure(ODAFailure(.signatureLength)) }
        guard x[x.endIndex - 1] == trailer else { return .failure(ODAFailure(.signatureTrailer)) }
        guard x[x.startIndex] == header else { return .failure(ODAFailure(.signatureHeader)) }
        guard x[x.startIndex + 1] == format else { return .failure(ODAFailure(.signatureFormat)) }
        guard x[x.startIndex + 2] == sha1Indicator else { return .failure(ODAFailure(.unsupportedHashAlgorithm)) }
        return .success(x)
    }

    /// Whether the hash result of recovered signed data `x` is SHA-1 of format .. pad pattern || `trailingHashData`.
    static func hashMatches(_ x: [UInt8], trailingHashData: [UInt8]) -> Bool {
        let hashStart = x.endIndex - 1 - hashLength
        guard let digest = sha1(Array(x[x.startIndex + 1..<hashStart]) + trailingHashData) else { return false }
        return digest[...] == x[hashStart..<hashStart + hashLength]
    }

    /// Envelope checks, then the hash.
    static func recoverSignedData(_ signed: [UInt8], key: RecoveredPublicKey, format: UInt8, trailingHashData: [UInt8])
        -> Result<[UInt8], ODAFailure>
    {
        recoverSignedDataEnvelope(signed, key: key, format: format).flatMap { x in
            hashMatches(x, trailingHashData: trailingHashData) ? .success(x) : .failure(ODAFailure(.signatureHash))
        }
    }

    /// The ICC Dynamic Data of recovered format '05' data: L_DD at offset 3, at most N - 25 bytes (Table 17).
    static func iccDynamicData(of x: [UInt8]) -> Result<ArraySlice<UInt8>, ODAFailure> {
        let length = Int(x[x.startIndex + 3])
        guard length <= x.count - 25 else { return .failure(ODAFailure(.dynamicDataLength)) }
        let start = x.startIndex + 4
        return .success(x[start..<start + length])
    }

    /// The ICC Dynamic Number '9F4C': its length (2 to 8) is the first byte of the ICC Dynamic Data.
    static func dynamicNumber(in dynamic: ArraySlice<UInt8>) -> Result<ArraySlice<UInt8>, ODAFailure> {
        guard let length = dynamic.first.map(Int.init), (2...8).contains(length), dynamic.count >= 1 + length else {
            return .failure(ODAFailure(.dynamicNumberLength))
        }
        let start = dynamic.startIndex + 1
        return .success(dynamic[start..<start + length])
    }
}
