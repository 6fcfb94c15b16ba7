/// ANSI X9.24-3-2017 AES DUKPT: AES-128, AES-192 or AES-256 initial keys, 96-bit KSNs (64-bit initial key ID and
/// 32-bit counter with at most 16 "one" bits), and working keys of AES-128/192/256 or 2TDEA/3TDEA derived for one
/// usage each (PIN encryption, MAC generation/verification, data encryption, key encryption).
///
/// ``AESDUKPT`` holds the derivations (also for a host simulator and `termtool`); ``AESDUKPTOriginator`` is the
/// terminal side with its 32 intermediate derivation key registers.
public enum AESDUKPT {
    /// The last transaction counter value the originator uses: the largest 32-bit value with sixteen "one" bits
    /// (X9.24-3-2017 clause 6.2: counters with more than 16 "one" bits are skipped).
    public static let lastCounter: UInt32 = 0xFFFF_0000

    /// Key types of initial, intermediate and working keys (X9.24-3-2017 clause 6.3.2, "Algorithm Indicator" and
    /// "Length" of the derivation data).
    public enum KeyType: Sendable, CaseIterable, Equatable {
        /// Double-length TDES, 128 bits (working keys only). Algorithm 0, length 0x0080.
        case tdes2
        /// Triple-length TDES, 192 bits (working keys only). Algorithm 1, length 0x00C0.
        case tdes3
        /// AES-128. Algorithm 2, length 0x0080.
        case aes128
        /// AES-192. Algorithm 3, length 0x00C0.
        case aes192
        /// AES-256. Algorithm 4, length 0x0100.
        case aes256

        /// The algorithm indicator of the derivation data.
        var algorithm: UInt16 {
            switch self {
            case .tdes2: 0
            case .tdes3: 1
            case .aes128: 2
            case .aes192: 3
            case .aes256: 4
            }
        }

        /// The key length in bits.
        public var bitLength: Int {
            switch self {
            case .tdes2, .aes128: 128
            case .tdes3, .aes192: 192
            case .aes256: 256
            }
        }

        /// The key length in bytes.
        public var byteCount: Int { bitLength / 8 }

        /// The security strength in bits (NIST SP 800-57 Part 1 Table 2): 2TDEA 80, 3TDEA 112, AES its key length.
        /// X9.24-3-2017 clause 6.3.2 forbids deriving a working key stronger than the derivation key.
        public var strength: Int {
            switch self {
            case .tdes2: 80
            case .tdes3: 112
            case .aes128: 128
            case .aes192: 192
            case .aes256: 256
            }
        }

        /// Whether the key can be an initial or intermediate derivation key (the AES types).
        public var isAES: Bool { self == .aes128 || self == .aes192 || self == .aes256 }

        /// The AES type of a derivation key of `byteCount` bytes.
        public static func aes(byteCount: Int) -> KeyType? {
            switch byteCount {
            case 16: .aes128
            case 24: .aes192
            case 32: .aes256
            default: nil
            }
        }
    }

    /// Key usages of the derivation data (X9.24-3-2017 clause 6.3.2, "Key Usage Indicator").
    public enum KeyUsage: UInt16, Sendable, CaseIterable {
        /// Key encryption key.
        case keyEncryptionKey = 0x0002
        /// PIN encryption.
        case pinEncryption = 0x1000
        /// MAC generation.
        case macGeneration = 0x2000
        /// MAC verification.
        case macVerification = 0x2001
        /// MAC generation and verification.
        case macBothWays = 0x2002
        /// Data encryption, encrypt.
        case dataEncryptionEncrypt = 0x3000
        /// Data encryption, decrypt.
        case dataEncryptionDecrypt = 0x3001
        /// Data encryption, both ways.
        case dataEncryptionBothWays = 0x3002
        /// Key derivation (intermediate derivation keys).
        case keyDerivation = 0x8000
        /// Initial key derivation (from the BDK).
        case keyDerivationInitialKey = 0x8001
    }

    /// A 96-bit key serial number: the 64-bit initial key ID (32-bit BDK ID and 32-bit derivation ID) and a 32-bit
    /// transaction counter.
    public struct KeySerialNumber: Sendable, Hashable, CustomStringConvertible {
        /// The 12 bytes.
        public let bytes: [UInt8]

        /// Reads 12 bytes.
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeySerialNumber`` for another length.
        public init(_ bytes: [UInt8]) throws {
            guard bytes.count == 12 else {
                throw CryptoError(.invalidKeySerialNumber, "an AES DUKPT KSN is 12 bytes, not \(bytes.count)")
            }
            self.bytes = bytes
        }

        /// From an 8-byte initial key ID and a counter.
        /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeySerialNumber`` for an ID other than 8 bytes.
        public init(initialKeyID: [UInt8], counter: UInt32) throws {
            guard initialKeyID.count == 8 else {
                throw CryptoError(.invalidKeySerialNumber, "an AES DUKPT initial key ID is 8 bytes, not \(initialKeyID.count)")
            }
            try self.init(initialKeyID + [UInt8(counter >> 24), UInt8((counter >> 16) & 0xFF), UInt8((counter >> 8) & 0xFF), UInt8(counter & 0xFF)])
        }

        /// The initial key ID (BDK ID || derivation ID).
        public var initialKeyID: [UInt8] { Array(bytes.prefix(8)) }

        /// The 32-bit transaction counter.
        public var counter: UInt32 { bytes.suffix(4).reduce(0) { $0 << 8 | UInt32($1) } }

        /// The same KSN with another counter.
        public func with(counter: UInt32) -> KeySerialNumber {
            // initialKeyID is 8 bytes by construction.
            try! KeySerialNumber(initialKeyID: initialKeyID, counter: counter)
        }

        /// Hex (a KSN is not secret).
        public var description: String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined() }
    }

    /// Whether a counter is one the originator uses: not zero and at most 16 "one" bits.
    public static func isUsableCounter(_ counter: UInt32) -> Bool { counter != 0 && counter.nonzeroBitCount <= 16 }

    /// The 16-byte derivation data block (X9.24-3-2017 clause 6.3.2): version `01`, key block counter, key usage,
    /// algorithm, length in bits, then 8 bytes: the initial key ID (for the initial key) or the derivation ID's last
    /// 4 bytes || counter.
    static func derivationData(blockCounter: UInt8, usage: KeyUsage, keyType: KeyType, tail: [UInt8]) -> [UInt8] {
        let u = usage.rawValue
        let a = keyType.algorithm
        let l = UInt16(keyType.bitLength)
        return [0x01, blockCounter, UInt8(u >> 8), UInt8(u & 0xFF), UInt8(a >> 8), UInt8(a & 0xFF),
                UInt8(l >> 8), UInt8(l & 0xFF)] + tail
    }

    /// The derivation function (clause 6.3.3): AES-ECB under `key` of the derivation data, one block per 128 bits of
    /// the output key (key block counter 1, 2), truncated to the key type's length.
    static func derive(key: SecretBytes, usage: KeyUsage, keyType: KeyType, tail: [UInt8]) throws -> SecretBytes {
        var out: SecretBytes?
        let blocks = (keyType.bitLength + 127) / 128
        for counter in 1...blocks {
            let block = try AES.ECB.encryptToSecret(
                derivationData(blockCounter: UInt8(counter), usage: usage, keyType: keyType, tail: tail), key: key)
            out = out.map { $0.appending(block) } ?? block
        }
        // `blocks` is at least 1, so `out` is set.
        return out!.slice(0..<keyType.byteCount)
    }

    /// The initial key of a device from the BDK (clause 6.3.1 "Derive Initial Key"): derivation data with usage
    /// `8001` and the 8-byte initial key ID; the initial key has the BDK's type.
    /// - Parameters:
    ///   - baseDerivationKey: a 16-, 24- or 32-byte AES BDK.
    ///   - initialKeyID: 8 bytes (BDK ID || derivation ID).
    /// - Throws: ``CryptoError`` for wrong lengths.
    public static func initialKey(baseDerivationKey bdk: SecretBytes, initialKeyID: [UInt8]) throws -> SecretBytes {
        guard let type = KeyType.aes(byteCount: bdk.count) else {
            throw CryptoError.keyLength(bdk.count, allowed: [16, 24, 32], for: "the AES DUKPT BDK")
        }
        guard initialKeyID.count == 8 else {
            throw CryptoError(.invalidKeySerialNumber, "an AES DUKPT initial key ID is 8 bytes")
        }
        return try derive(key: bdk, usage: .keyDerivationInitialKey, keyType: type, tail: initialKeyID)
    }

    /// The intermediate derivation key for a KSN from the initial key (host side, clause 6.5): for each counter bit
    /// from the highest down that is set, derive with usage `8000` and derivation data ID || partial counter.
    /// - Throws: ``CryptoError`` for a wrong key length or ``CryptoError/Code/invalidKeySerialNumber`` for counter 0.
    public static func derivationKey(initialKey: SecretBytes, keySerialNumber ksn: KeySerialNumber) throws -> SecretBytes {
        guard let type = KeyType.aes(byteCount: initialKey.count) else {
            throw CryptoError.keyLength(initialKey.count, allowed: [16, 24, 32], for: "the AES DUKPT initial key")
        }
        let counter = ksn.counter
        guard counter != 0 else { throw CryptoError(.invalidKeySerialNumber, "the KSN counter is zero") }
        let id = Array(ksn.initialKeyID.suffix(4))
        var key = initialKey
        var partial: UInt32 = 0
        for bit in stride(from: 31, through: 0, by: -1) where counter & (1 << UInt32(bit)) != 0 {
            partial |= 1 << UInt32(bit)
            key = try derive(key: key, usage: .keyDerivation, keyType: type, tail: id + bigEndian(partial))
        }
        return key
    }

    /// A working key (clause 6.3.3 "Derive Working Key") from the intermediate derivation key of `ksn`.
    ///
    /// The working key may not be stronger than the derivation key (clause 6.3.2, compared by security strength): an
    /// AES-128 initial key gives 2TDEA, 3TDEA or AES-128 working keys; AES-192 adds AES-192; AES-256 gives all.
    /// - Parameters:
    ///   - usage: what the key is for.
    ///   - keyType: the working key's type.
    ///   - derivationKey: the intermediate derivation key for `ksn` (``derivationKey(initialKey:keySerialNumber:)``
    ///     or ``AESDUKPTOriginator/nextTransaction()``).
    ///   - ksn: the transaction's KSN.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidParameter`` for a too-strong working key or a derivation
    ///   usage, or a length error.
    public static func workingKey(
        usage: KeyUsage, keyType: KeyType, derivationKey: SecretBytes, keySerialNumber ksn: KeySerialNumber
    ) throws -> SecretBytes {
        guard let derivationType = KeyType.aes(byteCount: derivationKey.count) else {
            throw CryptoError.keyLength(derivationKey.count, allowed: [16, 24, 32], for: "an AES DUKPT derivation key")
        }
        guard usage != .keyDerivation, usage != .keyDerivationInitialKey else {
            throw CryptoError(.invalidParameter, "working keys are not derivation keys")
        }
        guard keyType.strength <= derivationType.strength else {
            throw CryptoError(
                .invalidParameter, "a \(keyType.bitLength)-bit working key from a \(derivationType.bitLength)-bit derivation key")
        }
        return try derive(
            key: derivationKey, usage: usage, keyType: keyType, tail: Array(ksn.initialKeyID.suffix(4)) + bigEndian(ksn.counter))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
}

/// The terminal ("originator") side of ANSI X9.24-3-2017 AES DUKPT (clause 6.4 and 6.5): 32 intermediate derivation
/// key registers and the 32-bit counter. The initial key is forgotten once the registers are made; each used key is
/// erased; counters with more than 16 "one" bits are skipped; after counter `FFFF0000` the device is exhausted.
public struct AESDUKPTOriginator: Sendable {
    /// The persisted state: the next KSN, the initial key type and the 32 registers (index = counter bit).
    public struct Snapshot: Sendable {
        /// The KSN the next transaction will use.
        public var keySerialNumber: AESDUKPT.KeySerialNumber
        /// The type of the initial and intermediate keys.
        public var keyType: AESDUKPT.KeyType
        /// 32 registers; `nil` when erased.
        public var registers: [SecretBytes?]

        /// A snapshot read back from storage.
        public init(keySerialNumber: AESDUKPT.KeySerialNumber, keyType: AESDUKPT.KeyType, registers: [SecretBytes?]) {
            self.keySerialNumber = keySerialNumber
            self.keyType = keyType
            self.registers = registers
        }
    }

    private var ksn: AESDUKPT.KeySerialNumber
    private let keyType: AESDUKPT.KeyType
    private var registers: [SecretBytes?]
    private var exhausted = false

    /// "Load Initial Key" (clause 6.4): derives the 32 intermediate keys for counters `1 << n` and sets the
    /// counter to 1.
    /// - Parameters:
    ///   - initialKey: a 16-, 24- or 32-byte AES initial key.
    ///   - initialKeyID: its 8-byte ID.
    /// - Throws: ``CryptoError`` for wrong lengths.
    public init(initialKey: SecretBytes, initialKeyID: [UInt8]) throws {
        guard let type = AESDUKPT.KeyType.aes(byteCount: initialKey.count) else {
            throw CryptoError.keyLength(initialKey.count, allowed: [16, 24, 32], for: "the AES DUKPT initial key")
        }
        let first = try AESDUKPT.KeySerialNumber(initialKeyID: initialKeyID, counter: 1)
        let id = Array(initialKeyID.suffix(4))
        var regs = [SecretBytes?](repeating: nil, count: 32)
        for bit in 0..<32 {
            regs[bit] = try AESDUKPT.derive(
                key: initialKey, usage: .keyDerivation, keyType: type, tail: id + AESDUKPT.bigEndian(1 << UInt32(bit)))
        }
        ksn = first
        keyType = type
        registers = regs
    }

    /// Restores a persisted state.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidKeySerialNumber`` for registers that don't fit the counter.
    public init(snapshot: Snapshot) throws {
        guard snapshot.registers.count == 32, snapshot.keyType.isAES else {
            throw CryptoError(.invalidKeySerialNumber, "an AES DUKPT state has 32 AES registers")
        }
        let counter = snapshot.keySerialNumber.counter
        guard AESDUKPT.isUsableCounter(counter), let key = snapshot.registers[counter.trailingZeroBitCount],
              key.count == snapshot.keyType.byteCount
        else { throw CryptoError(.invalidKeySerialNumber, "the stored AES DUKPT counter does not fit its registers") }
        ksn = snapshot.keySerialNumber
        keyType = snapshot.keyType
        registers = snapshot.registers
    }

    /// The state to persist after every transaction.
    public var snapshot: Snapshot { Snapshot(keySerialNumber: ksn, keyType: keyType, registers: registers) }

    /// The KSN the next transaction will use.
    public var keySerialNumber: AESDUKPT.KeySerialNumber { ksn }

    /// The type of the initial key (the strongest working key type available).
    public var initialKeyType: AESDUKPT.KeyType { keyType }

    /// True once counter `FFFF0000` was used.
    public var isExhausted: Bool { exhausted }

    /// Starts a transaction (clause 6.5): returns the KSN and its intermediate derivation key, then makes the
    /// registers below the counter's lowest "one" bit from that key, erases it and advances the counter, skipping
    /// values with more than 16 "one" bits. Derive working keys with
    /// ``AESDUKPT/workingKey(usage:keyType:derivationKey:keySerialNumber:)``.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/dukptExhausted`` once the counter is used up.
    public mutating func nextTransaction() throws -> (keySerialNumber: AESDUKPT.KeySerialNumber, derivationKey: SecretBytes) {
        guard !exhausted else { throw CryptoError(.dukptExhausted, "the AES DUKPT transaction counter is used up") }
        let counter = ksn.counter
        let low = counter.trailingZeroBitCount
        guard let key = registers[low] else {
            throw CryptoError(.invalidKeySerialNumber, "the derivation key register for the counter is empty")
        }
        let used = ksn
        let id = Array(used.initialKeyID.suffix(4))
        if counter.nonzeroBitCount < 16 {
            for bit in 0..<low {
                registers[bit] = try AESDUKPT.derive(
                    key: key, usage: .keyDerivation, keyType: keyType, tail: id + AESDUKPT.bigEndian(counter | (1 << UInt32(bit))))
            }
            registers[low] = nil
            ksn = used.with(counter: counter + 1)
        } else {
            registers[low] = nil
            let (next, overflow) = counter.addingReportingOverflow(1 << UInt32(low))
            if overflow {
                exhausted = true
                registers = [SecretBytes?](repeating: nil, count: 32)
            } else {
                ksn = used.with(counter: next)
            }
        }
        return (used, key)
    }

    /// Encrypts a PIN as an ISO 9564 format 4 block under the AES PIN working key of the next transaction.
    /// - Parameters:
    ///   - pin: ASCII digits.
    ///   - pan: the card number's digits.
    ///   - keyType: the AES working key type (no stronger than the initial key).
    ///   - random: the PIN field's random bytes.
    /// - Returns: the KSN to send and the 16-byte enciphered PIN block.
    /// - Throws: ``CryptoError``, e.g. ``CryptoError/Code/dukptExhausted``.
    public mutating func encipherPIN(
        _ pin: SecretBytes, pan: String, keyType: AESDUKPT.KeyType = .aes128, random: some RandomSource
    ) throws -> (keySerialNumber: AESDUKPT.KeySerialNumber, encryptedBlock: [UInt8]) {
        guard keyType.isAES else { throw CryptoError(.invalidParameter, "format 4 PIN blocks need an AES key") }
        // Validate the inputs before spending a counter value.
        try Digits.checkPIN(pin)
        _ = try PINBlock.format4PANField(pan: pan)
        let (ksn, derivationKey) = try nextTransaction()
        let key = try AESDUKPT.workingKey(
            usage: .pinEncryption, keyType: keyType, derivationKey: derivationKey, keySerialNumber: ksn)
        return (ksn, try PINBlock.encipherFormat4(pin: pin, pan: pan, key: key, random: random))
    }
}
