/// EMV card and issuer cryptography (EMV 4.4 Book 2, Annex A1 and clause 8): ICC master key derivation, session
/// keys, application cryptograms (ARQC, TC, AAC) and ARPCs. Used by the virtual cards and the acquirer simulator;
/// the terminal itself only forwards cryptograms.
///
/// All keys are double-length TDES keys (16 bytes). Derived keys are returned with odd DES parity, the convention of
/// payment HSMs; parity bits never change a DES result.
public enum EMV {
    // MARK: Master and session keys

    /// ICC master key derivation, option A (EMV Book 2 Annex A1.4.1).
    ///
    /// Y is the rightmost 16 digits of PAN || PAN sequence number (`00` when absent), left-padded with zeros when
    /// shorter. Z_L = TDES(IMK)[Y], Z_R = TDES(IMK)[Y XOR 'FF…FF']; MK = Z_L || Z_R.
    /// - Parameters:
    ///   - issuerMasterKey: the 16-byte issuer master key (IMK) for AC, SMI or SMC.
    ///   - pan: the PAN digits (tag '5A' without `F` padding).
    ///   - panSequenceNumber: tag '5F34' as the card gives it: one BCD byte (`0x01` is sequence number 01), or `nil`.
    /// - Returns: the 16-byte ICC master key.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidPAN``, ``CryptoError/Code/invalidParameter`` (a non-BCD
    ///   sequence number) or ``CryptoError/Code/invalidKeyLength``.
    public static func iccMasterKeyOptionA(issuerMasterKey: SecretBytes, pan: String, panSequenceNumber: UInt8?) throws
        -> SecretBytes
    {
        try requireDoubleLength(issuerMasterKey, "the issuer master key")
        var digits = try Digits.pan(pan)
        let psn = panSequenceNumber ?? 0
        guard psn >> 4 <= 9, psn & 0x0F <= 9 else {
            throw CryptoError(.invalidParameter, "the PAN sequence number is not one BCD byte")
        }
        digits += [psn >> 4, psn & 0x0F]
        let sixteen = [UInt8](repeating: 0, count: max(0, 16 - digits.count)) + digits.suffix(16)
        let y = sixteen.packedNibbles()
        let yInverted = y.map { ~$0 }
        let z = try Insecure.TDES.ECB.encryptToSecret(y + yInverted, key: issuerMasterKey)
        return withOddParity(z)
    }

    /// EMV common session key derivation (EMV Book 2 Annex A1.3.1) with a given diversification value R:
    /// SK_L = TDES(MK)[R0 R1 'F0' R3 … R7], SK_R = TDES(MK)[R0 R1 '0F' R3 … R7].
    /// - Parameters:
    ///   - iccMasterKey: the 16-byte ICC master key.
    ///   - diversification: the 8-byte R.
    /// - Throws: ``CryptoError`` for wrong lengths.
    public static func commonSessionKey(iccMasterKey: SecretBytes, diversification r: [UInt8]) throws -> SecretBytes {
        try requireDoubleLength(iccMasterKey, "the ICC master key")
        guard r.count == 8 else { throw CryptoError(.invalidInputLength, "the diversification value R is 8 bytes") }
        var left = r
        var right = r
        left[2] = 0xF0
        right[2] = 0x0F
        return withOddParity(try Insecure.TDES.ECB.encryptToSecret(left + right, key: iccMasterKey))
    }

    /// The EMV common session key for application cryptograms: R = ATC || '00 00 00 00 00 00' (Book 2 A1.3.1).
    /// - Throws: ``CryptoError`` for a wrong key length.
    public static func commonSessionKey(iccMasterKey: SecretBytes, atc: UInt16) throws -> SecretBytes {
        try commonSessionKey(iccMasterKey: iccMasterKey, diversification: [UInt8(atc >> 8), UInt8(atc & 0xFF), 0, 0, 0, 0, 0, 0])
    }

    /// The Mastercard session key derivation (M/Chip "SKD"): the common derivation with
    /// R = ATC || '00 00' || unpredictable number (tag '9F37').
    /// - Throws: ``CryptoError`` for a wrong key or unpredictable number length.
    public static func mastercardSessionKey(iccMasterKey: SecretBytes, atc: UInt16, unpredictableNumber: [UInt8]) throws
        -> SecretBytes
    {
        guard unpredictableNumber.count == 4 else {
            throw CryptoError(.invalidInputLength, "the unpredictable number is 4 bytes")
        }
        return try commonSessionKey(
            iccMasterKey: iccMasterKey, diversification: [UInt8(atc >> 8), UInt8(atc & 0xFF), 0, 0] + unpredictableNumber)
    }

    // MARK: Application cryptograms

    /// The padding the cryptogram version prescribes for the AC input (ISO/IEC 9797-1 padding).
    public enum CryptogramPadding: Sendable, CaseIterable {
        /// Padding method 1 (zeros): Visa CVN 10 and CVN 18.
        case method1
        /// Padding method 2 ('80' then zeros): EMV Book 2 A1.2 default; Visa CVN 22, Mastercard CVN 16/17/20/21.
        case method2

        var iso: ISO9797MAC.Padding { self == .method1 ? .method1 : .method2 }
    }

    /// An application cryptogram, ARQC, TC or AAC (EMV Book 2 clause 8.1.2 and Annex A1.2): ISO/IEC 9797-1 MAC
    /// algorithm 3 under the AC session key over the CDOL data, 8 bytes.
    /// - Parameters:
    ///   - sessionKey: the 16-byte AC session key.
    ///   - data: the concatenated data objects the card MACs (amount, country, TVR, currency, date, type, UN, AIP,
    ///     ATC, IAD …), as sent.
    ///   - padding: the cryptogram version's padding.
    /// - Throws: ``CryptoError`` for a wrong key length.
    public static func applicationCryptogram(sessionKey: SecretBytes, data: [UInt8], padding: CryptogramPadding) throws
        -> [UInt8]
    {
        try requireDoubleLength(sessionKey, "the AC session key")
        return try ISO9797MAC.algorithm3(data, key: sessionKey, padding: padding.iso)
    }

    /// Checks a received application cryptogram in constant time. A mismatch is a domain outcome (decline), so it is
    /// returned, not thrown.
    /// - Throws: ``CryptoError`` only for a wrong key length.
    public static func isValidApplicationCryptogram(
        _ cryptogram: [UInt8], sessionKey: SecretBytes, data: [UInt8], padding: CryptogramPadding
    ) throws -> Bool {
        let expected = try applicationCryptogram(sessionKey: sessionKey, data: data, padding: padding)
        return cryptogram.count == 8 && constantTimeEquals(expected, cryptogram)
    }

    // MARK: Issuer authentication

    /// ARPC method 1 (EMV Book 2 clause 8.2.1): ARPC = TDES(SK_AC)[ARQC XOR (ARC || '00 00 00 00 00 00')], 8 bytes.
    /// - Parameters:
    ///   - sessionKey: the 16-byte AC session key.
    ///   - arqc: the 8-byte ARQC.
    ///   - authorisationResponseCode: the 2-byte ARC (tag '8A').
    /// - Throws: ``CryptoError`` for wrong lengths.
    public static func arpcMethod1(sessionKey: SecretBytes, arqc: [UInt8], authorisationResponseCode arc: [UInt8]) throws
        -> [UInt8]
    {
        try requireDoubleLength(sessionKey, "the AC session key")
        guard arqc.count == 8, arc.count == 2 else {
            throw CryptoError(.invalidInputLength, "ARPC method 1 takes an 8-byte ARQC and a 2-byte ARC")
        }
        let y = arc + [UInt8](repeating: 0, count: 6)
        return try Insecure.TDES.ECB.encrypt(zip(arqc, y).map { $0 ^ $1 }, key: sessionKey)
    }

    /// ARPC method 2 (EMV Book 2 clause 8.2.2): the leftmost 4 bytes of ISO/IEC 9797-1 MAC algorithm 3 with padding
    /// method 2 under SK_AC over ARQC || CSU || proprietary authentication data.
    /// - Parameters:
    ///   - sessionKey: the 16-byte AC session key.
    ///   - arqc: the 8-byte ARQC.
    ///   - cardStatusUpdate: the 4-byte CSU.
    ///   - proprietaryAuthenticationData: 0 to 8 bytes.
    /// - Throws: ``CryptoError`` for wrong lengths.
    public static func arpcMethod2(
        sessionKey: SecretBytes, arqc: [UInt8], cardStatusUpdate csu: [UInt8], proprietaryAuthenticationData: [UInt8] = []
    ) throws -> [UInt8] {
        try requireDoubleLength(sessionKey, "the AC session key")
        guard arqc.count == 8, csu.count == 4, proprietaryAuthenticationData.count <= 8 else {
            throw CryptoError(
                .invalidInputLength, "ARPC method 2 takes an 8-byte ARQC, a 4-byte CSU and up to 8 bytes of proprietary data")
        }
        return try ISO9797MAC.algorithm3(
            arqc + csu + proprietaryAuthenticationData, key: sessionKey, padding: .method2, length: 4)
    }

    private static func requireDoubleLength(_ key: SecretBytes, _ name: String) throws {
        guard key.count == 16 else {
            throw CryptoError(.invalidKeyLength, "\(name) is a double-length TDES key of 16 bytes, not \(key.count)")
        }
    }
}
