public import PaymentCrypto

/// A certification authority public key (EMV Book 2 clause 5.1, Annex B2 "CA public key check sum"):
/// RID ('9F06' first 5 bytes) and index ('8F'), modulus, exponent (3 or 65537), expiry.
public struct CAPublicKey: Sendable, Hashable {
    public let rid: [UInt8]
    public let index: UInt8
    public let modulus: [UInt8]
    public let exponent: [UInt8]
    /// The last day the key may be used.
    public let expiry: EMVDate

    /// Builds a key and verifies its checksum: SHA-1 over RID || index || modulus || exponent must equal
    /// `checksum` (20 bytes). Throws ``ODAFailure`` with ``ODAFailure/Reason/caKeyChecksum`` otherwise.
    ///
    /// Also refused, each with its own reason: a RID other than 5 bytes (``ODAFailure/Reason/caKeyFormat``), a
    /// modulus of more than 248 bytes (the largest Book 2 allows, N_CA ≤ 248), of fewer than 64 or with a leading
    /// zero byte (``ODAFailure/Reason/caKeyModulusLength``), and an exponent other than 3 or 2^16 + 1
    /// (``ODAFailure/Reason/caKeyExponent``, Book 2 Annex B2.1).
    public init(rid: [UInt8], index: UInt8, modulus: [UInt8], exponent: [UInt8], expiry: EMVDate, checksum: [UInt8]) throws {
        guard rid.count == 5 else { throw ODAFailure(.caKeyFormat) }
        guard (64...CAPublicKey.maximumModulusLength).contains(modulus.count), modulus.first != 0 else {
            throw ODAFailure(.caKeyModulusLength)
        }
        guard ODA.isPermittedExponent(exponent) else { throw ODAFailure(.caKeyExponent) }
        guard checksum.count == 20, let digest = ODA.sha1(rid + [index] + modulus + exponent), digest == checksum else {
            throw ODAFailure(.caKeyChecksum)
        }
        self.rid = rid
        self.index = index
        self.modulus = modulus
        self.exponent = exponent
        self.expiry = expiry
    }

    /// The largest modulus Book 2 allows for a certification authority key: 248 bytes (1984 bits), so that a
    /// certificate fits a short-length READ RECORD response.
    public static let maximumModulusLength = 248

    /// The SHA-1 checksum of this key (Book 2 Annex B2.1), as a parameters file or key list gives it.
    public var checksum: [UInt8] { ODA.sha1(rid + [index] + modulus + exponent) ?? [] }
}

/// Revoked issuer public key certificates (Book 2 clause 5.3 step 10): RID, CA key index, certificate serial number.
public struct CertificateRevocationList: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public let rid: [UInt8]
        public let caIndex: UInt8
        /// The 3-byte Certificate Serial Number of the issuer public key certificate.
        public let serialNumber: [UInt8]
        public init(rid: [UInt8], caIndex: UInt8, serialNumber: [UInt8]) {
            self.rid = rid
            self.caIndex = caIndex
            self.serialNumber = serialNumber
        }
    }

    public var entries: Set<Entry>
    public init(_ entries: Set<Entry> = []) { self.entries = entries }
    public func contains(rid: [UInt8], caIndex: UInt8, serialNumber: [UInt8]) -> Bool {
        entries.contains(Entry(rid: rid, caIndex: caIndex, serialNumber: serialNumber))
    }
}

/// An issuer or ICC public key recovered from a certificate that verified (Book 2 clauses 5.3, 6.4).
public struct RecoveredPublicKey: Sendable {
    public let modulus: [UInt8]
    public let exponent: [UInt8]
    /// The certificate's expiry (last day of its month).
    public let expiry: EMVDate
    /// Certificate Serial Number (3 bytes) for issuer certificates; empty for ICC certificates.
    public let serialNumber: [UInt8]
    public let key: RSA.PublicKey

    public init(modulus: [UInt8], exponent: [UInt8], expiry: EMVDate, serialNumber: [UInt8]) throws {
        self.modulus = modulus
        self.exponent = exponent
        self.expiry = expiry
        self.serialNumber = serialNumber
        key = try RSA.PublicKey(modulus: modulus, exponent: exponent)
    }
}

/// Why offline data authentication failed: a domain outcome (the kernel sets TVR bits), never a crash.
public struct ODAFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable, Hashable {
        /// Never returned: kept from the contract stub so that code written against it still compiles.
        case notImplemented
        /// No CA public key for the RID and index '8F' (the kernel reports it; recovery never returns it).
        case caKeyMissing
        /// The CA public key's expiry is before the transaction date.
        case caKeyExpired
        /// The CA public key's SHA-1 checksum does not match (Annex B2.1).
        case caKeyChecksum
        /// The CA public key's RID is not 5 bytes.
        case caKeyFormat
        /// The CA public key's modulus is longer than 248 bytes, shorter than 64, or has a leading zero byte.
        case caKeyModulusLength
        /// The CA public key's exponent is neither 3 nor 65537.
        case caKeyExponent

        /// A certificate is not exactly as long as the modulus of the key that signed it (step 1).
        case certificateLength
        /// The raw RSA operation refused the certificate (its value is not below the modulus).
        case certificateRecovery
        /// The recovered certificate does not end with the trailer 'BC' (step 2).
        case certificateTrailer
        /// The recovered certificate does not start with the header '6A' (step 3).
        case certificateHeader
        /// The Certificate Format is not '02' (issuer) or '04' (ICC) (step 4).
        case certificateFormat
        /// The hash result in the certificate does not match the recovered data (step 7).
        case certificateHash
        /// The Certificate Expiration Date is not a valid MMYY date.
        case certificateDate
        /// The last day of the certificate's expiry month is before the transaction date (step 9).
        case certificateExpired
        /// RID, CA key index and certificate serial number are on the revocation list (step 10).
        case certificateRevoked
        /// The Issuer Identifier does not match the leftmost 3-8 PAN digits (step 8).
        case issuerIdentifierMismatch
        /// The PAN in an ICC certificate does not match the Application PAN '5A'.
        case panMismatch
        /// The public key algorithm indicator is not '01' (RSA).
        case unsupportedAlgorithm
        /// The hash algorithm indicator of a certificate or signed data is not '01' (SHA-1).
        case unsupportedHashAlgorithm
        /// The recovered public key length is zero, longer than the signing key, or the key is not a usable RSA key.
        case publicKeyLength
        /// The public key exponent length in the certificate is not 1 or 3, or differs from the exponent given.
        case publicKeyExponentLength
        /// The exponent is neither 3 nor 65537.
        case publicKeyExponent
        /// The public key remainder is not as long as the certificate says it must be.
        case remainderLength

        /// The signed data is not exactly as long as the modulus of the key that signed it.
        case signatureLength
        /// The raw RSA operation refused the signed data (its value is not below the modulus).
        case signatureRecovery
        /// The recovered signed data does not end with the trailer 'BC'.
        case signatureTrailer
        /// The recovered signed data does not start with the header '6A'.
        case signatureHeader
        /// The Signed Data Format is not '03' (SDA) or '05' (DDA, CDA).
        case signatureFormat
        /// The hash result in the signed data does not match.
        case signatureHash
        /// The ICC Dynamic Data Length does not fit the signed data, or is too short for what CDA needs (Table 19).
        case dynamicDataLength
        /// The ICC Dynamic Number length is not 2 to 8 or overruns the ICC Dynamic Data.
        case dynamicNumberLength
        /// CDA: the Cryptogram Information Data in the signature differs from '9F27' in the response.
        case cryptogramInformationDataMismatch
        /// CDA: the Transaction Data Hash Code does not match the hash of the transaction data.
        case transactionDataHash

        /// Offline enciphered PIN: the PIN block is not 8 bytes, the ICC unpredictable number not 8 bytes, or the
        /// key too short for '7F' || PIN block || number.
        case pinEncipherment

        /// A data object needed for the check is absent or empty (a required remainder, an exponent, '9F37').
        case missingData
    }

    public let reason: Reason
    public init(_ reason: Reason) { self.reason = reason }
    public var description: String { "offline data authentication failed: \(reason)" }
}

/// What a verified CDA signature contains (Book 2 clause 6.6.2).
public struct CombinedSignatureContents: Sendable, Equatable {
    /// ICC Dynamic Number ('9F4C').
    public let iccDynamicNumber: [UInt8]
    /// Application Cryptogram ('9F26') as signed by the card.
    public let applicationCryptogram: [UInt8]
    public init(iccDynamicNumber: [UInt8], applicationCryptogram: [UInt8]) {
        self.iccDynamicNumber = iccDynamicNumber
        self.applicationCryptogram = applicationCryptogram
    }
}


/// Offline data authentication, EMV Book 2: certificate recovery and signature verification over the original bytes.
///
/// Every check of Book 2 is made in the order the book gives, and each failure is its own ``ODAFailure/Reason``: the
/// functions return a `Result`, never trap, and throw only where building the PIN encipherment data can fail.
/// The hash algorithm is SHA-1 (indicator '01') and the public key algorithm RSA (indicator '01'), the only ones
/// EMV 4.4 defines.
public enum OfflineDataAuthentication {
    /// Recovers the issuer public key from the Issuer Public Key Certificate '90' (clause 5.3 / 6.3).
    /// - Parameters:
    ///   - certificate: tag '90'; remainder: tag '92' (may be empty); exponent: tag '9F32'.
    ///   - pan: tag '5A' as read (BCD, possibly F-padded) — the issuer identifier must match its leftmost digits.
    ///   - today: the transaction date; an expired certificate fails.
    public static func recoverIssuerPublicKey(
        certificate: [UInt8], remainder: [UInt8], exponent: [UInt8], caKey: CAPublicKey, pan: [UInt8], today: EMVDate,
        revocations: CertificateRevocationList
    ) -> Result<RecoveredPublicKey, ODAFailure> {
        guard !(caKey.expiry < today) else { return .failure(ODAFailure(.caKeyExpired)) }
        guard let signer = try? RSA.PublicKey(modulus: caKey.modulus, exponent: caKey.exponent) else {
            return .failure(ODAFailure(.caKeyModulusLength))
        }
        let recovered: ODA.RecoveredCertificate
        switch ODA.recoverCertificate(
            certificate, signer: signer, signerLength: caKey.modulus.count, kind: .issuer, remainder: remainder,
            exponent: exponent, extraHashData: [])
        {
        case .success(let r): recovered = r
        case .failure(let f): return .failure(f)
        }
        // Step 8: the Issuer Identifier is the leftmost 3 to 8 PAN digits, padded on the right with 'F'.
        guard let identifier = ODA.digits(ofFPadded: recovered.identifier), (3...8).contains(identifier.count),
            let panDigits = ODA.digits(ofFPadded: pan[...]), panDigits.starts(with: identifier)
        else { return .failure(ODAFailure(.issuerIdentifierMismatch)) }
        // Step 9: expiry. Step 10: revocation of RID || CA index || serial number.
        guard let expiry = EMVDate(mmyy: recovered.expiry) else { return .failure(ODAFailure(.certificateDate)) }
        guard !(expiry < today) else { return .failure(ODAFailure(.certificateExpired)) }
        let serial = Array(recovered.serialNumber)
        guard !revocations.contains(rid: caKey.rid, caIndex: caKey.index, serialNumber: serial) else {
            return .failure(ODAFailure(.certificateRevoked))
        }
        return recovered.publicKey(expiry: expiry, serialNumber: serial)
    }

    /// Recovers the ICC public key '9F46' (remainder '9F48', exponent '9F47') or the ICC PIN encipherment key
    /// '9F2D' ('9F2F', '9F2E') (clause 6.4 / 7.1). `staticData` is the static data to be authenticated (records
    /// named by the AFL as read, plus the AIP when '9F4A' asks for it); it is hashed for ICC certificates only.
    public static func recoverICCPublicKey(
        certificate: [UInt8], remainder: [UInt8], exponent: [UInt8], issuerKey: RecoveredPublicKey,
        staticData: [UInt8], pan: [UInt8], today: EMVDate
    ) -> Result<RecoveredPublicKey, ODAFailure> {
        let recovered: ODA.RecoveredCertificate
        switch ODA.recoverCertificate(
            certificate, signer: issuerKey.key, signerLength: issuerKey.modulus.count, kind: .icc, remainder: remainder,
            exponent: exponent, extraHashData: staticData)
        {
        case .success(let r): recovered = r
        case .failure(let f): return .failure(f)
        }
        // The Application PAN in the certificate (10 bytes, 'F'-padded) equals '5A' as read, digit for digit.
        guard let certificatePAN = ODA.digits(ofFPadded: recovered.identifier), !certificatePAN.isEmpty,
            let cardPAN = ODA.digits(ofFPadded: pan[...]), certificatePAN == cardPAN
        else { return .failure(ODAFailure(.panMismatch)) }
        guard let expiry = EMVDate(mmyy: recovered.expiry) else { return .failure(ODAFailure(.certificateDate)) }
        guard !(expiry < today) else { return .failure(ODAFailure(.certificateExpired)) }
        return recovered.publicKey(expiry: expiry, serialNumber: [])
    }

    /// Verifies Signed Static Application Data '93' (SDA, clause 5.4); returns the Data Authentication Code '9F45'.
    public static func verifySignedStaticApplicationData(
        _ ssad: [UInt8], issuerKey: RecoveredPublicKey, staticData: [UInt8]
    ) -> Result<[UInt8], ODAFailure> {
        // Table 7: '6A' || '03' || hash algorithm || Data Authentication Code (2) || pad 'BB' (N_I - 26) || hash || 'BC'.
        switch ODA.recoverSignedData(ssad, key: issuerKey, format: 0x03, trailingHashData: staticData) {
        case .failure(let f): return .failure(f)
        case .success(let data): return .success(Array(data[data.startIndex + 3..<data.startIndex + 5]))
        }
    }

    /// Verifies Signed Dynamic Application Data '9F4B' from INTERNAL AUTHENTICATE (DDA, clause 6.5);
    /// `terminalDynamicData` is the DDOL-related data sent. Returns the ICC Dynamic Number '9F4C'.
    public static func verifySignedDynamicApplicationData(
        _ sdad: [UInt8], iccKey: RecoveredPublicKey, terminalDynamicData: [UInt8]
    ) -> Result<[UInt8], ODAFailure> {
        // Table 17: '6A' || '05' || hash algorithm || L_DD || ICC Dynamic Data || pad 'BB' || hash || 'BC'.
        let data: [UInt8]
        switch ODA.recoverSignedData(sdad, key: iccKey, format: 0x05, trailingHashData: terminalDynamicData) {
        case .failure(let f): return .failure(f)
        case .success(let d): data = d
        }
        switch ODA.iccDynamicData(of: data) {
        case .failure(let f): return .failure(f)
        case .success(let dynamic):
            return ODA.dynamicNumber(in: dynamic).map { Array($0) }
        }
    }

    /// Verifies the CDA signature '9F4B' returned by GENERATE AC (clause 6.6.2).
    /// - Parameters:
    ///   - unpredictableNumber: '9F37' sent in the CDOL.
    ///   - cryptogramInformationData: '9F27' from the response.
    ///   - transactionDataHashInput: PDOL-related data || CDOL1-related data (|| CDOL2-related data for the second
    ///     GENERATE AC) || the TLV objects of the response template other than '9F4B', in the order received.
    public static func verifyCombinedDynamicSignature(
        _ sdad: [UInt8], iccKey: RecoveredPublicKey, unpredictableNumber: [UInt8], cryptogramInformationData: UInt8,
        transactionDataHashInput: [UInt8]
    ) -> Result<CombinedSignatureContents, ODAFailure> {
        guard !unpredictableNumber.isEmpty else { return .failure(ODAFailure(.missingData)) }
        // Steps 1-4: length, trailer, header, format; the hash (steps 6-8) comes after the CID check (step 5).
        let data: [UInt8]
        switch ODA.recoverSignedDataEnvelope(sdad, key: iccKey, format: 0x05) {
        case .failure(let f): return .failure(f)
        case .success(let d): data = d
        }
        let dynamic: ArraySlice<UInt8>
        switch ODA.iccDynamicData(of: data) {
        case .failure(let f): return .failure(f)
        case .success(let d): dynamic = d
        }
        let number: ArraySlice<UInt8>
        switch ODA.dynamicNumber(in: dynamic) {
        case .failure(let f): return .failure(f)
        case .success(let n): number = n
        }
        // Table 19: number length || number || CID (1) || Application Cryptogram (8) || Transaction Data Hash Code (20).
        var rest = dynamic.dropFirst(1 + number.count)
        guard rest.count >= 1 + 8 + 20 else { return .failure(ODAFailure(.dynamicDataLength)) }
        let cid = rest[rest.startIndex]
        rest = rest.dropFirst()
        let cryptogram = Array(rest.prefix(8))
        let hashCode = Array(rest.dropFirst(8).prefix(20))
        guard cid == cryptogramInformationData else {
            return .failure(ODAFailure(.cryptogramInformationDataMismatch))
        }
        guard ODA.hashMatches(data, trailingHashData: unpredictableNumber) else {
            return .failure(ODAFailure(.signatureHash))
        }
        guard let transactionHash = ODA.sha1(transactionDataHashInput), transactionHash == hashCode else {
            return .failure(ODAFailure(.transactionDataHash))
        }
        return .success(CombinedSignatureContents(iccDynamicNumber: Array(number), applicationCryptogram: cryptogram))
    }

    /// Builds the data of a VERIFY command for offline enciphered PIN (Book 2 clause 7.2): '7F' || PIN block (format
    /// 2, 8 bytes) || ICC Unpredictable Number (8 bytes from GET CHALLENGE) || random padding, RSA-encrypted with the
    /// ICC PIN encipherment key (or ICC key). Called inside PIN entry; the clear block never leaves it.
    ///
    /// The clear data is assembled in one array that is overwritten with zeros before returning (the PIN block is
    /// read from its ``SecretBytes`` straight into it).
    /// - Throws: ``ODAFailure`` ``ODAFailure/Reason/pinEncipherment`` for a PIN block or unpredictable number that is
    ///   not 8 bytes or a key shorter than 17 bytes; the random source's error; ``CryptoError`` if the RSA
    ///   operation fails.
    public static func encipherPIN(
        pinBlock: SecretBytes, iccUnpredictableNumber: [UInt8], key: RecoveredPublicKey, random: any RandomSource
    ) throws -> [UInt8] {
        let length = key.key.modulusByteCount
        guard pinBlock.count == 8, iccUnpredictableNumber.count == 8, length >= 17 else {
            throw ODAFailure(.pinEncipherment)
        }
        let padding = try random.bytes(length - 17)
        guard padding.count == length - 17 else { throw ODAFailure(.pinEncipherment) }
        var data = [UInt8](repeating: 0, count: length)
        defer { ODA.overwrite(&data) }
        data[0] = 0x7F
        pinBlock.withUnsafeBytes { block in
            for i in 0..<8 { data[1 + i] = block[i] }
        }
        for i in 0..<8 { data[9 + i] = iccUnpredictableNumber[iccUnpredictableNumber.startIndex + i] }
        for i in 0..<padding.count { data[17 + i] = padding[padding.startIndex + i] }
        return try key.key.rawPublicOperation(data)
    }
}
