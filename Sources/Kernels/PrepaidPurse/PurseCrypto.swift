public import PaymentCrypto

/// The key derivations and MACs of the PBOC electronic purse (docs/prepaid.md §2, worked examples there).
///
/// - Card keys are diversified from the issuer's master keys by the card's serial number (PBOC key
///   diversification): `left = 3DES(MK, X)`, `right = 3DES(MK, ¬X)`, X = rightmost 8 bytes of the application
///   serial number.
/// - A session key (过程密钥) is one 3DES encryption of 8 bytes under the card key: for a load
///   `random(4) || online counter(2) || 8000`, for a purchase `random(4) || offline counter(2) || rightmost 2
///   bytes of the terminal transaction sequence number`. It is an 8-byte single-DES key.
/// - MAC1, MAC2 and TAC are ISO/IEC 9797-1 MAC algorithm 1 with single DES, zero IV, padding method 2 (`80`
///   then zeros, always added), leftmost 4 bytes. The TAC key is the card's DTK with its halves XORed.
public enum PurseCrypto {
    /// Diversifies a 16-byte master key for one card.
    /// - Parameters:
    ///   - masterKey: the issuer master key (MPK, MLK or MTK), 16 bytes.
    ///   - diversificationData: 8 bytes (``PurseApplicationData/diversificationData``).
    /// - Throws: ``PurseError/Code/crypto`` for a wrong length.
    public static func diversify(masterKey: SecretBytes, diversificationData x: [UInt8]) throws -> SecretBytes {
        guard masterKey.count == 16, x.count == 8 else {
            throw PurseError(.crypto, "diversification takes a 16-byte key and 8 bytes of data")
        }
        do {
            let left = try Insecure.TDES.ECB.encryptToSecret(x, key: masterKey)
            let right = try Insecure.TDES.ECB.encryptToSecret(x.map { ~$0 }, key: masterKey)
            return left.appending(right)
        } catch {
            throw PurseError(.crypto, "3DES failed during key diversification")
        }
    }

    /// The load session key (SESLK): `3DES(DLK, random || online counter || 8000)`.
    public static func loadSessionKey(loadKey: SecretBytes, random: [UInt8], onlineCounter: UInt16) throws
        -> SecretBytes
    {
        try sessionKey(key: loadKey, input: random + PurseBytes.be16(onlineCounter) + [0x80, 0x00])
    }

    /// The purchase session key (SESPK): `3DES(DPK, random || offline counter || rightmost 2 bytes of the terminal
    /// transaction sequence number)`.
    public static func purchaseSessionKey(
        purchaseKey: SecretBytes, random: [UInt8], offlineCounter: UInt16, terminalSequenceNumber: UInt32
    ) throws -> SecretBytes {
        try sessionKey(key: purchaseKey,
                       input: random + PurseBytes.be16(offlineCounter)
                           + PurseBytes.be16(UInt16(truncatingIfNeeded: terminalSequenceNumber)))
    }

    /// The TAC key: DTK's left 8 bytes XOR its right 8 bytes.
    public static func tacKey(transactionKey dtk: SecretBytes) throws -> SecretBytes {
        guard dtk.count == 16 else { throw PurseError(.crypto, "a DTK is 16 bytes") }
        return dtk.slice(0..<8).xor(dtk.slice(8..<16))
    }

    /// The purse MAC: ISO 9797-1 algorithm 1, single DES under an 8-byte key, padding method 2, 4 bytes.
    public static func mac(_ data: [UInt8], key: SecretBytes) throws -> [UInt8] {
        guard key.count == 8 else { throw PurseError(.crypto, "a purse MAC key is 8 bytes") }
        do {
            return try ISO9797MAC.algorithm1(data, key: key, padding: .method2, length: 4)
        } catch {
            throw PurseError(.crypto, "DES failed while computing a purse MAC")
        }
    }

    static func sessionKey(key: SecretBytes, input: [UInt8]) throws -> SecretBytes {
        guard key.count == 16, input.count == 8 else {
            throw PurseError(.crypto, "a session key needs a 16-byte card key and 8 bytes of input")
        }
        do {
            return try Insecure.TDES.ECB.encryptToSecret(input, key: key)
        } catch {
            throw PurseError(.crypto, "3DES failed during session key derivation")
        }
    }

    // MARK: MAC inputs (JR/T 0025.2 §5.2)

    /// Load MAC1 (card → terminal): old balance(4) || amount(4) || type(1) || terminal(6).
    public static func loadMAC1Input(
        balance: UInt32, amount: UInt32, type: PurseTransactionType, terminalID: PurseTerminalID
    ) -> [UInt8] {
        PurseBytes.be32(balance) + PurseBytes.be32(amount) + [type.rawValue] + terminalID.bytes
    }

    /// Load MAC2 (host → card): amount(4) || type(1) || terminal(6) || date(4) || time(3).
    public static func loadMAC2Input(
        amount: UInt32, type: PurseTransactionType, terminalID: PurseTerminalID, dateTime: PurseDateTime
    ) -> [UInt8] {
        PurseBytes.be32(amount) + [type.rawValue] + terminalID.bytes + dateTime.bytes
    }

    /// Load TAC: new balance(4) || online counter before the load(2) || amount(4) || type(1) || terminal(6) ||
    /// date(4) || time(3).
    public static func loadTACInput(
        newBalance: UInt32, onlineCounter: UInt16, amount: UInt32, type: PurseTransactionType,
        terminalID: PurseTerminalID, dateTime: PurseDateTime
    ) -> [UInt8] {
        PurseBytes.be32(newBalance) + PurseBytes.be16(onlineCounter) + PurseBytes.be32(amount) + [type.rawValue]
            + terminalID.bytes + dateTime.bytes
    }

    /// Purchase MAC1 (SAM → card): amount(4) || type(1) || terminal(6) || date(4) || time(3).
    public static func purchaseMAC1Input(
        amount: UInt32, type: PurseTransactionType, terminalID: PurseTerminalID, dateTime: PurseDateTime
    ) -> [UInt8] {
        PurseBytes.be32(amount) + [type.rawValue] + terminalID.bytes + dateTime.bytes
    }

    /// Purchase MAC2 (card → SAM): amount(4).
    public static func purchaseMAC2Input(amount: UInt32) -> [UInt8] { PurseBytes.be32(amount) }

    /// Purchase TAC: amount(4) || type(1) || terminal(6) || terminal sequence number(4) || date(4) || time(3).
    public static func purchaseTACInput(
        amount: UInt32, type: PurseTransactionType, terminalID: PurseTerminalID, terminalSequenceNumber: UInt32,
        dateTime: PurseDateTime
    ) -> [UInt8] {
        PurseBytes.be32(amount) + [type.rawValue] + terminalID.bytes + PurseBytes.be32(terminalSequenceNumber)
            + dateTime.bytes
    }
}
