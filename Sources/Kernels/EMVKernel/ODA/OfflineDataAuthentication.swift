public import PaymentCrypto

// CONTRACT STUB (session 2): the signatures below are what the kernel codes against; the bodies are filled in by the
// offline-data-authentication work (EMV Book 2). Keep the signatures; add, do not rename.

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
    public init(rid: [UInt8], index: UInt8, modulus: [UInt8], exponent: [UInt8], expiry: EMVDate, checksum: [UInt8]) throws {
        self.rid = rid
        self.index = index
        self.modulus = modulus
        self.exponent = exponent
        self.expiry = expiry
        _ = checksum
        throw ODAFailure(.notImplemented)
    }
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
    public enum Reason: Sendable, Equatable {
        case notImplemented
        case caKeyMissing, caKeyExpired, caKeyChecksum
        case certificateLength, certificateFormat, certificateHash, certificateExpired, certificateRevoked
        case issuerIdentifierMismatch, panMismatch, unsupportedAlgorithm
        case signatureLength, signatureFormat, signatureHash
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
        .failure(ODAFailure(.notImplemented))
    }

    /// Recovers the ICC public key '9F46' (remainder '9F48', exponent '9F47') or the ICC PIN encipherment key
    /// '9F2D' ('9F2F', '9F2E') (clause 6.4 / 7.1). `staticData` is the static data to be authenticated (records
    /// named by the AFL as read, plus the AIP when '9F4A' asks for it); it is hashed for ICC certificates only.
    public static func recoverICCPublicKey(
        certificate: [UInt8], remainder: [UInt8], exponent: [UInt8], issuerKey: RecoveredPublicKey,
        staticData: [UInt8], pan: [UInt8], today: EMVDate
    ) -> Result<RecoveredPublicKey, ODAFailure> {
        .failure(ODAFailure(.notImplemented))
    }

    /// Verifies Signed Static Application Data '93' (SDA, clause 5.4); returns the Data Authentication Code '9F45'.
    public static func verifySignedStaticApplicationData(
        _ ssad: [UInt8], issuerKey: RecoveredPublicKey, staticData: [UInt8]
    ) -> Result<[UInt8], ODAFailure> {
        .failure(ODAFailure(.notImplemented))
    }

    /// Verifies Signed Dynamic Application Data '9F4B' from INTERNAL AUTHENTICATE (DDA, clause 6.5);
    /// `terminalDynamicData` is the DDOL-related data sent. Returns the ICC Dynamic Number '9F4C'.
    public static func verifySignedDynamicApplicationData(
        _ sdad: [UInt8], iccKey: RecoveredPublicKey, terminalDynamicData: [UInt8]
    ) -> Result<[UInt8], ODAFailure> {
        .failure(ODAFailure(.notImplemented))
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
        .failure(ODAFailure(.notImplemented))
    }

    /// Builds the data of a VERIFY command for offline enciphered PIN (Book 2 clause 7.2): '7F' || PIN block (format
    /// 2, 8 bytes) || ICC Unpredictable Number (8 bytes from GET CHALLENGE) || random padding, RSA-encrypted with the
    /// ICC PIN encipherment key (or ICC key). Called inside PIN entry; the clear block never leaves it.
    public static func encipherPIN(
        pinBlock: SecretBytes, iccUnpredictableNumber: [UInt8], key: RecoveredPublicKey, random: any RandomSource
    ) throws -> [UInt8] {
        throw ODAFailure(.notImplemented)
    }
}
