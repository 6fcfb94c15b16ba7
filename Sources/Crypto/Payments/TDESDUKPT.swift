/// ANSI X9.24-1:2009 TDES DUKPT (also ANSI X9.24-3:2017 Annex C): derived unique key per transaction with a
/// double-length base derivation key, 80-bit key serial numbers and a 21-bit transaction counter.
///
/// ``TDESDUKPT`` holds the derivations (initial key from a BDK, transaction key for any KSN, working-key variants),
/// usable by a host simulator or `termtool`. ``TDESDUKPTOriginator`` is the terminal side: it keeps the 21 future key
/// registers, never the initial key, and advances the counter as Annex A describes.
public enum TDESDUKPT {
    /// The last transaction counter value DUKPT ever uses: the largest 21-bit value with ten "one" bits (X9.24-1:2009
    /// A.2: counters with more than ten "one" bits are skipped; after `1FF800` the device ceases operation).
    public static let lastCounter: UInt32 = 0x1F_F800

    /// An 80-bit key serial number: 59 bits of initial KSN (key set identifier and device ID) and a 21-bit
    /// transaction counter (X9.24-1:2009 A.1).
    public struct KeySerialNumber: Sendable, Hashable, CustomStringConvertible {
        /// The 10 bytes.
        public let bytes: [UInt8]

        /// Reads 10 bytes.
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeySerialNumber`` for another length.
        public init(_ bytes: [UInt8]) throws {
            guard bytes.count == 10 else {
                throw CryptoError(.invalidKeySerialNumber, "a TDES DUKPT KSN is 10 bytes, not \(bytes.count)")
            }
            self.bytes = bytes
        }

        /// The 21-bit transaction counter.
        public var counter: UInt32 {
            UInt32(bytes[7] & 0x1F) << 16 | UInt32(bytes[8]) << 8 | UInt32(bytes[9])
        }

        /// The same KSN with the counter set to `counter` (21 bits).
        public func with(counter: UInt32) -> KeySerialNumber {
            precondition(counter <= 0x1F_FFFF, "a TDES DUKPT counter has 21 bits")
            var b = bytes
            b[7] = (b[7] & 0xE0) | UInt8(counter >> 16)
            b[8] = UInt8((counter >> 8) & 0xFF)
            b[9] = UInt8(counter & 0xFF)
            // The length is unchanged, so this cannot fail.
            return try! KeySerialNumber(b)
        }

        /// The initial KSN: the counter cleared.
        public var initial: KeySerialNumber { with(counter: 0) }

        /// Hex, as KSNs are printed in receipts and logs (a KSN is not secret).
        public var description: String { bytes.map { String($0, radix: 16, uppercase: true) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined() }
    }

    /// Whether a transaction counter is one the originator uses: not zero and at most ten "one" bits (A.2).
    public static func isUsableCounter(_ counter: UInt32) -> Bool {
        counter != 0 && counter <= 0x1F_FFFF && counter.nonzeroBitCount <= 10
    }

    /// The initial key (IPEK) of a device (X9.24-1:2009 A.6): the left half is TDES(BDK)[KSN′], the right half
    /// TDES(BDK XOR C0C0C0C000000000C0C0C0C000000000)[KSN′], where KSN′ is the leftmost 64 bits of the KSN with the
    /// counter bits cleared.
    /// - Parameters:
    ///   - baseDerivationKey: the 16-byte BDK.
    ///   - keySerialNumber: any KSN of the device (its counter is ignored).
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeyLength``.
    public static func initialKey(baseDerivationKey bdk: SecretBytes, keySerialNumber ksn: KeySerialNumber) throws
        -> SecretBytes
    {
        guard bdk.count == 16 else { throw CryptoError.keyLength(bdk.count, allowed: [16], for: "the TDES DUKPT BDK") }
        let ksnPrime = Array(ksn.initial.bytes.prefix(8))
        let left = try Insecure.TDES.ECB.encryptToSecret(ksnPrime, key: bdk)
        let right = try Insecure.TDES.ECB.encryptToSecret(ksnPrime, key: bdk.xor(keyRegisterMask))
        return left.appending(right)
    }

    /// The transaction key for `keySerialNumber`, derived from the initial key (host side, X9.24-1:2009 A.3/A.4):
    /// starting from the IK and the KSN with a cleared counter, for each counter bit from the highest down that is
    /// set, set it in the KSN register and run the non-reversible key generation process.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeyLength``, or
    ///   ``CryptoError/Code/invalidKeySerialNumber`` for counter 0 or a counter with more than ten "one" bits.
    public static func transactionKey(initialKey: SecretBytes, keySerialNumber ksn: KeySerialNumber) throws
        -> SecretBytes
    {
        guard initialKey.count == 16 else {
            throw CryptoError.keyLength(initialKey.count, allowed: [16], for: "the TDES DUKPT initial key")
        }
        let counter = ksn.counter
        guard isUsableCounter(counter) else {
            throw CryptoError(.invalidKeySerialNumber, "the KSN counter is zero or has more than ten one bits")
        }
        var key = initialKey
        var register = ksn.initial
        for bit in stride(from: 20, through: 0, by: -1) where counter & (1 << bit) != 0 {
            register = register.with(counter: register.counter | (1 << bit))
            key = try nonReversibleKeyGeneration(key: key, ksnRegister: register)
        }
        return key
    }

    /// The working-key variants of a transaction key (X9.24-1:2009 A.4.1 Table A-1; X9.24-3:2017 C.5.2).
    public enum KeyVariant: Sendable, CaseIterable {
        /// PIN encryption: XOR 00000000000000FF 00000000000000FF.
        case pinEncryption
        /// MAC, request or both ways: XOR 000000000000FF00 000000000000FF00.
        case macRequest
        /// MAC, response: XOR 00000000FF000000 00000000FF000000.
        case macResponse
        /// Data encryption, request or both ways: XOR 0000000000FF0000 0000000000FF0000, then the key is encrypted
        /// with itself (each half TDES-encrypted under the variant key).
        case dataRequest
        /// Data encryption, response: XOR 000000FF00000000 000000FF00000000, then encrypted with itself.
        case dataResponse

        var mask: [UInt8] {
            let half: [UInt8]
            switch self {
            case .pinEncryption: half = [0, 0, 0, 0, 0, 0, 0, 0xFF]
            case .macRequest: half = [0, 0, 0, 0, 0, 0, 0xFF, 0]
            case .macResponse: half = [0, 0, 0, 0, 0xFF, 0, 0, 0]
            case .dataRequest: half = [0, 0, 0, 0, 0, 0xFF, 0, 0]
            case .dataResponse: half = [0, 0, 0, 0xFF, 0, 0, 0, 0]
            }
            return half + half
        }
    }

    /// The working key of `variant` for a transaction key. For the data variants this includes the extra step that
    /// encrypts the variant key's left and right halves under the variant key itself (TDES-ECB).
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeyLength``.
    public static func workingKey(_ variant: KeyVariant, transactionKey: SecretBytes) throws -> SecretBytes {
        guard transactionKey.count == 16 else {
            throw CryptoError.keyLength(transactionKey.count, allowed: [16], for: "a TDES DUKPT transaction key")
        }
        let variantKey = transactionKey.xor(variant.mask)
        switch variant {
        case .pinEncryption, .macRequest, .macResponse:
            return variantKey
        case .dataRequest, .dataResponse:
            return try Insecure.TDES.ECB.encryptToSecret(variantKey, key: variantKey)
        }
    }

    /// Encrypts a clear 8-byte PIN block (format 0, 1 or 3) under the PIN variant of `transactionKey` (TDES-ECB).
    /// - Throws: ``CryptoError`` for wrong lengths.
    public static func encryptPINBlock(_ clearBlock: SecretBytes, transactionKey: SecretBytes) throws -> [UInt8] {
        guard clearBlock.count == 8 else { throw CryptoError(.invalidInputLength, "a TDES PIN block is 8 bytes") }
        return try Insecure.TDES.ECB.encrypt(clearBlock, key: workingKey(.pinEncryption, transactionKey: transactionKey))
    }

    /// Decrypts an 8-byte encrypted PIN block under the PIN variant of `transactionKey` (host side).
    /// - Throws: ``CryptoError`` for wrong lengths.
    public static func decryptPINBlock(_ block: [UInt8], transactionKey: SecretBytes) throws -> SecretBytes {
        guard block.count == 8 else { throw CryptoError(.invalidInputLength, "a TDES PIN block is 8 bytes") }
        return try Insecure.TDES.ECB.decrypt(block, key: workingKey(.pinEncryption, transactionKey: transactionKey))
    }

    /// C0C0C0C000000000C0C0C0C000000000 (X9.24-1:2009 A.2 "Non-reversible Key Generation Process", A.6).
    static let keyRegisterMask: [UInt8] = [0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0, 0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0]

    /// The non-reversible key generation process (X9.24-1:2009 A.2), with the 64 rightmost bits of the KSN register:
    /// CR2 = DES(KR_left)[CR1 XOR KR_right] XOR KR_right gives the right half; the same with KR XOR C0C0… gives the
    /// left half.
    static func nonReversibleKeyGeneration(key: SecretBytes, ksnRegister: KeySerialNumber) throws -> SecretBytes {
        let cr1 = Array(ksnRegister.bytes.suffix(8))
        func half(_ k: SecretBytes) throws -> SecretBytes {
            let right = k.slice(8..<16)
            let input = right.xor(cr1)
            return try Insecure.DES.ECB.encryptToSecret(input, key: k.slice(0..<8)).xor(right)
        }
        let rightHalf = try half(key)
        let leftHalf = try half(key.xor(keyRegisterMask))
        return leftHalf.appending(rightHalf)
    }
}

/// The terminal ("originator") side of ANSI X9.24-1:2009 TDES DUKPT (Annex A.2): 21 future key registers and the
/// transaction counter. The initial key is erased once the future keys are made; each used key is erased after its
/// transaction; counters with more than ten "one" bits are skipped; after counter `1FF800` the device is exhausted.
///
/// A value type: the caller persists ``snapshot`` after every ``nextTransaction()`` (the key store encrypts it) so a
/// restart never reuses a KSN.
public struct TDESDUKPTOriginator: Sendable {
    /// The persisted state: the KSN of the next transaction and the future key registers (index 0 is the register of
    /// counter bit 0, index 20 of bit 20; `nil` for an erased register).
    public struct Snapshot: Sendable {
        /// The KSN the next transaction will use.
        public var keySerialNumber: TDESDUKPT.KeySerialNumber
        /// 21 registers.
        public var futureKeys: [SecretBytes?]

        /// A snapshot read back from storage.
        public init(keySerialNumber: TDESDUKPT.KeySerialNumber, futureKeys: [SecretBytes?]) {
            self.keySerialNumber = keySerialNumber
            self.futureKeys = futureKeys
        }
    }

    private var ksn: TDESDUKPT.KeySerialNumber
    private var futureKeys: [SecretBytes?]
    private var exhausted: Bool

    /// "Load Initial Key" (A.2): derives the 21 future keys from the initial key, forgets the initial key, and sets
    /// the counter to 1.
    /// - Parameters:
    ///   - initialKey: the 16-byte IPEK (from a TR-31 key block, see ``TR31/unwrapDUKPTInitialKey(_:kbpk:)``).
    ///   - initialKeySerialNumber: the device's KSN (the counter bits are ignored).
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeyLength``.
    public init(initialKey: SecretBytes, initialKeySerialNumber: TDESDUKPT.KeySerialNumber) throws {
        guard initialKey.count == 16 else {
            throw CryptoError.keyLength(initialKey.count, allowed: [16], for: "the TDES DUKPT initial key")
        }
        let base = initialKeySerialNumber.initial
        var registers = [SecretBytes?](repeating: nil, count: 21)
        for bit in 0..<21 {
            registers[bit] = try TDESDUKPT.nonReversibleKeyGeneration(
                key: initialKey, ksnRegister: base.with(counter: 1 << UInt32(bit)))
        }
        ksn = base.with(counter: 1)
        futureKeys = registers
        exhausted = false
    }

    /// Restores the state persisted from ``snapshot``.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeySerialNumber`` when the registers do not fit the
    ///   counter, ``CryptoError/Code/dukptExhausted`` for a used-up device.
    public init(snapshot: Snapshot) throws {
        guard snapshot.futureKeys.count == 21 else {
            throw CryptoError(.invalidKeySerialNumber, "a TDES DUKPT state has 21 future key registers")
        }
        let counter = snapshot.keySerialNumber.counter
        guard counter != 0 else { throw CryptoError(.dukptExhausted, "the TDES DUKPT transaction counter is used up") }
        guard TDESDUKPT.isUsableCounter(counter) else {
            throw CryptoError(.invalidKeySerialNumber, "the stored KSN counter has more than ten one bits")
        }
        let low = counter.trailingZeroBitCount
        guard let key = snapshot.futureKeys[low], key.count == 16 else {
            throw CryptoError(.invalidKeySerialNumber, "the future key register for the stored counter is empty")
        }
        ksn = snapshot.keySerialNumber
        futureKeys = snapshot.futureKeys
        exhausted = false
    }

    /// The state to persist.
    public var snapshot: Snapshot { Snapshot(keySerialNumber: ksn, futureKeys: futureKeys) }

    /// The KSN the next transaction will use.
    public var keySerialNumber: TDESDUKPT.KeySerialNumber { ksn }

    /// True once counter `1FF800` was used: the device needs a new initial key.
    public var isExhausted: Bool { exhausted }

    /// "Request PIN Entry" (A.2): returns the KSN and transaction key of this transaction, then erases that key,
    /// makes the future keys below the counter's lowest "one" bit from it ("New Key-3") and advances the counter,
    /// skipping values with more than ten "one" bits ("New Key").
    /// - Returns: the KSN to send with the transaction and its transaction key (apply a variant with
    ///   ``TDESDUKPT/workingKey(_:transactionKey:)``).
    /// - Throws: ``CryptoError`` ``CryptoError/Code/dukptExhausted`` once the counter is used up.
    public mutating func nextTransaction() throws -> (keySerialNumber: TDESDUKPT.KeySerialNumber, transactionKey: SecretBytes) {
        guard !exhausted else { throw CryptoError(.dukptExhausted, "the TDES DUKPT transaction counter is used up") }
        let counter = ksn.counter
        let low = counter.trailingZeroBitCount
        guard let key = futureKeys[low] else {
            throw CryptoError(.invalidKeySerialNumber, "the future key register for the counter is empty")
        }
        let used = ksn
        if counter.nonzeroBitCount < 10 {
            // New Key-3: generate the registers below the lowest one bit from the current key.
            for bit in 0..<low {
                futureKeys[bit] = try TDESDUKPT.nonReversibleKeyGeneration(
                    key: key, ksnRegister: used.with(counter: counter | (1 << UInt32(bit))))
            }
            futureKeys[low] = nil
            ksn = used.with(counter: counter + 1)
        } else {
            // Ten one bits: skip every counter that would have eleven, by adding the lowest one bit.
            futureKeys[low] = nil
            let next = counter + (1 << UInt32(low))
            if next > 0x1F_FFFF {
                exhausted = true
                futureKeys = [SecretBytes?](repeating: nil, count: 21)
            } else {
                ksn = used.with(counter: next)
            }
        }
        return (used, key)
    }

    /// Encrypts a clear 8-byte PIN block for the next transaction under its PIN variant key.
    /// - Returns: the KSN to send and the encrypted PIN block.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/dukptExhausted`` or a length error.
    public mutating func encryptPINBlock(_ clearBlock: SecretBytes) throws -> (keySerialNumber: TDESDUKPT.KeySerialNumber, encryptedBlock: [UInt8]) {
        guard clearBlock.count == 8 else { throw CryptoError(.invalidInputLength, "a TDES PIN block is 8 bytes") }
        let (ksn, key) = try nextTransaction()
        return (ksn, try TDESDUKPT.encryptPINBlock(clearBlock, transactionKey: key))
    }
}
