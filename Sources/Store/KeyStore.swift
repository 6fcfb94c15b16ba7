#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
public import PaymentCrypto

/// The terminal's keys at rest: one file (`keystore`, mode 0600) of entries, each sealed with AES-256-GCM under a
/// key-encryption key (KEK). The associated data binds every entry to its name, kind and flags, so entries cannot
/// be swapped or relabelled; a tampered or foreign file is refused, never partly used.
///
/// The KEK comes from, in order:
/// 1. systemd credentials: `$CREDENTIALS_DIRECTORY/terminal-kek` (32 bytes), which the unit can hand over with
///    `LoadCredentialEncrypted=` (sealed to the board's TPM or host key by systemd-creds);
/// 2. HKDF-SHA256 (RFC 5869) of a device-unique secret (the SoC serial number from the device tree, or
///    /etc/machine-id) with the provisioning secret written at the factory (`provisioning.secret`) as salt.
/// A simulator board generates its provisioning secret; a hardware board that has none is not provisioned and
/// does not start.
///
/// PIN encryption keys are DUKPT (ANSI X9.24): the store keeps the originator's state, persists it **before** a
/// PIN block leaves (`encryptPINBlock`), so a restart never reuses a KSN, and refuses a used-up key loudly.
public final class KeyStore {
    /// What an entry holds.
    public enum Kind: String, Sendable, CaseIterable {
        /// A plain secret key (e.g. the store's data key).
        case secret
        /// TDES DUKPT originator state (ANSI X9.24-1): KSN and 21 future key registers.
        case tdesDUKPT = "tdes-dukpt"
        /// AES DUKPT originator state (ANSI X9.24-3): key type, KSN and 32 registers.
        case aesDUKPT = "aes-dukpt"
    }

    /// Where the KEK came from.
    public enum KEKSource: Sendable, Equatable {
        case systemdCredential
        case derived(deviceSecret: String)
    }

    public struct Configuration: Sendable {
        /// The key directory (0700).
        public var directory: String
        /// Files that hold a device-unique secret, first readable one wins.
        public var deviceSecretPaths: [String]
        /// A simulator may create its provisioning secret; a hardware board must have one from the factory.
        public var mayProvision: Bool
        public var environment: [String: String]

        public init(directory: String, deviceSecretPaths: [String] = KeyStore.defaultDeviceSecretPaths, mayProvision: Bool, environment: [String: String]) {
            self.directory = directory
            self.deviceSecretPaths = deviceSecretPaths
            self.mayProvision = mayProvision
            self.environment = environment
        }
    }

    public static let defaultDeviceSecretPaths = ["/sys/firmware/devicetree/base/serial-number", "/etc/machine-id"]
    static let header = "payment-terminal keystore 1"
    public static let credentialName = "terminal-kek"

    private struct Entry {
        var kind: Kind
        var isTestKey: Bool
        var nonce: [UInt8]
        var box: AES.GCM.SealedBox
    }

    public let kekSource: KEKSource
    private let configuration: Configuration
    private let kek: SecretBytes
    private let random: any RandomSource
    private var entries: [String: Entry] = [:]
    private var order: [String] = []

    public var path: String { configuration.directory + "/keystore" }

    /// Opens the key store, creating an empty one when there is none.
    public init(_ configuration: Configuration, random: any RandomSource = SystemRandom()) throws {
        self.configuration = configuration
        self.random = random
        try Self.makeDirectory(configuration.directory)
        (kek, kekSource) = try Self.keyEncryptionKey(configuration, random: random)
        if access(configuration.directory + "/keystore", F_OK) == 0 {
            try load()
        } else {
            try save()
        }
    }

    /// The names of the entries, in the order they were stored.
    public var names: [String] { order }

    /// Whether `name` is marked as a test key.
    public func isTestKey(_ name: String) -> Bool { entries[name]?.isTestKey ?? false }

    /// Whether any entry is a test key (a hardware board must refuse to take payments with one).
    public var holdsTestKeys: Bool { entries.values.contains { $0.isTestKey } }

    /// Stores (or replaces) a plain secret.
    public func storeSecret(_ name: String, _ key: SecretBytes, isTestKey: Bool) throws {
        try put(name, kind: .secret, isTestKey: isTestKey, plaintext: key)
    }

    /// A plain secret.
    public func secret(_ name: String) throws -> SecretBytes {
        try unseal(name, kind: .secret)
    }

    // MARK: DUKPT

    /// Installs a DUKPT initial key from a TR-31 key block (usage B1) protected by `kbpk`, under `name`.
    /// The block's key version number (two decimal digits, else 0) is recorded as the version in force.
    public func installDUKPT(_ name: String, keyBlock: String, kbpk: SecretBytes, isTestKey: Bool) throws {
        let version = try TR31.unwrap(keyBlock, kbpk: kbpk).header.keyVersionNumber
        try seal(Self.keyVersionEntry(name), kind: .secret, isTestKey: isTestKey, plaintext: SecretBytes(Array((Int(version).map { _ in version } ?? "00").utf8)))
        switch try TR31.unwrapDUKPTInitialKey(keyBlock, kbpk: kbpk) {
        case .tdes(let initialKey, let ksn):
            try storeTDES(name, TDESDUKPTOriginator(initialKey: initialKey, initialKeySerialNumber: ksn), isTestKey: isTestKey)
        case .aes(let initialKey, let id):
            try storeAES(name, AESDUKPTOriginator(initialKey: initialKey, initialKeyID: id), isTestKey: isTestKey)
        }
    }

    /// What ``replaceDUKPT(_:keyBlock:protectionKey:)`` did: a domain outcome, never thrown.
    public enum DUKPTKeyDownload: Sendable, Equatable {
        /// The new initial key is in force (sealed and synced); the old one is gone.
        case replaced(keyVersion: Int, initialKeySerialNumber: [UInt8])
        /// Refused; the old key stays in force. The reason never carries key bytes.
        case refused(Refusal, String)
    }

    /// Why a downloaded DUKPT initial key was refused.
    public enum Refusal: Sendable, Equatable {
        /// The key block's MAC does not verify under this terminal's KBPK (another KBPK, or a changed block).
        case notAuthentic
        /// Not a key block, truncated, a bad length, a missing or bad `KS`/`IK` optional block, a bad key length.
        case malformed
        /// Key usage, algorithm, mode of use or exportability is not that of this terminal's DUKPT initial key, or the
        /// terminal has no KBPK.
        case wrongAttributes
        /// The key version number is not higher than the one in force.
        case notNewer
    }

    /// The name of the entry that keeps the key version number of the DUKPT key `name` (two decimal digits).
    public static func keyVersionEntry(_ name: String) -> String { name + ".key-version" }

    /// The key version number (TR-31 header field, clause A.5.6) of the DUKPT key `name` in force: 0 when it was
    /// installed without one.
    public func keyVersion(_ name: String) -> Int {
        guard entries[Self.keyVersionEntry(name)] != nil, let bytes = try? secret(Self.keyVersionEntry(name)) else { return 0 }
        return bytes.withUnsafeBytes { raw in Int(String(decoding: raw, as: UTF8.self)) ?? 0 }
    }

    /// Replaces the DUKPT initial key `name` with the one in a downloaded TR-31 key block (ANSI X9.143), wrapped under
    /// the key block protection key stored as `protectionKey`.
    ///
    /// Checks, before anything changes: the block's MAC under the KBPK (``TR31/unwrap(_:kbpk:)``), key usage `B1`
    /// (initial DUKPT key: a `B0` BDK or a `P0` PIN key is refused), the algorithm of the key in force (`T` for TDES
    /// DUKPT, `A` for AES DUKPT), mode of use `X` (key derivation), exportability `N` (non-exportable), a key version
    /// number of two decimal digits higher than the one in force (keys never go backwards), and the `KS` (TDES) or
    /// `IK` (AES) optional block. Then the new state and its version go to disk in **one** write of the key store
    /// (``DurableFile``: temporary file, fsync, rename, directory fsync), so a power cut leaves the old key or the
    /// new one in force, never neither; the old state's clear bytes are zeroed as their ``SecretBytes`` go.
    /// - Throws: ``KeyStoreError`` only when the store cannot be read or written (`.io`, `.corrupt`, `.missing`).
    public func replaceDUKPT(_ name: String, keyBlock: String, protectionKey: String) throws -> DUKPTKeyDownload {
        guard let current = entries[name], current.kind != .secret else { throw KeyStoreError(.missing, "no DUKPT key '\(name)'") }
        guard entries[protectionKey] != nil else {
            return .refused(.wrongAttributes, "this terminal has no key block protection key ('\(protectionKey)')")
        }
        let kbpk = try secret(protectionKey)
        let header: TR31Header
        do {
            header = try TR31.unwrap(keyBlock, kbpk: kbpk).header
        } catch let error as CryptoError {
            switch error.code {
            case .authenticationFailure: return .refused(.notAuthentic, "the key block's MAC does not verify under this terminal's KBPK")
            case .unsupported: return .refused(.wrongAttributes, "key block version \(keyBlock.prefix(1)) is not supported (B or D only)")
            default: return .refused(.malformed, "not a usable key block: \(error.reason)")
            }
        }
        let algorithm: Character = current.kind == .tdesDUKPT ? "T" : "A"
        guard header.keyUsage == "B1" else {
            return .refused(.wrongAttributes, "key usage \(header.keyUsage) is not B1 (initial DUKPT key)")
        }
        guard header.algorithm == algorithm else {
            return .refused(.wrongAttributes, "algorithm \(header.algorithm) is not that of the key in force (\(algorithm))")
        }
        guard header.modeOfUse == "X" else {
            return .refused(.wrongAttributes, "mode of use \(header.modeOfUse) is not X (key derivation)")
        }
        guard header.exportability == "N" else {
            return .refused(.wrongAttributes, "exportability \(header.exportability) is not N: an initial key never leaves the terminal")
        }
        let inForce = keyVersion(name)
        guard header.keyVersionNumber.utf8.count == 2, header.keyVersionNumber.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let version = Int(header.keyVersionNumber)
        else {
            return .refused(.malformed, "key version number \(header.keyVersionNumber) is not two decimal digits")
        }
        guard version > inForce else {
            return .refused(.notNewer, "key version \(version) is not higher than \(inForce), the one in force")
        }
        let initial: TR31.DUKPTInitialKey
        do {
            initial = try TR31.unwrapDUKPTInitialKey(keyBlock, kbpk: kbpk)
        } catch let error as CryptoError {
            return .refused(.malformed, "not a usable DUKPT initial key: \(error.reason)")
        }
        let isTestKey = current.isTestKey
        let serial: [UInt8]
        let state: SecretBytes
        let kind: Kind
        switch initial {
        case .tdes(let initialKey, let ksn):
            (state, kind, serial) = (Self.tdesState(try TDESDUKPTOriginator(initialKey: initialKey, initialKeySerialNumber: ksn)), .tdesDUKPT, ksn.bytes)
        case .aes(let initialKey, let id):
            (state, kind, serial) = (Self.aesState(try AESDUKPTOriginator(initialKey: initialKey, initialKeyID: id)), .aesDUKPT, id)
        }
        // Both entries, then one write: the version and the key change together or not at all.
        let previous = (entries, order)
        do {
            try seal(name, kind: kind, isTestKey: isTestKey, plaintext: state)
            try seal(Self.keyVersionEntry(name), kind: .secret, isTestKey: isTestKey, plaintext: SecretBytes(Array(header.keyVersionNumber.utf8)))
            try save()
        } catch {
            (entries, order) = previous
            throw error
        }
        return .replaced(keyVersion: version, initialKeySerialNumber: serial)
    }

    /// Installs a TDES DUKPT originator directly (the simulator's test key).
    public func installTDESDUKPT(_ name: String, initialKey: SecretBytes, keySerialNumber: TDESDUKPT.KeySerialNumber, isTestKey: Bool) throws {
        try storeTDES(name, TDESDUKPTOriginator(initialKey: initialKey, initialKeySerialNumber: keySerialNumber), isTestKey: isTestKey)
    }

    /// Encrypts a clear ISO 9564 PIN block (format 0, 1 or 3) under the next DUKPT PIN key of `name`. The advanced
    /// state is on disk before the encrypted block is returned.
    /// - Throws: ``KeyStoreError`` `.dukptExhausted` when the key is used up (the terminal needs a new initial key).
    public func encryptPINBlock(_ name: String, clearBlock: SecretBytes) throws -> (keySerialNumber: [UInt8], encryptedBlock: [UInt8]) {
        var originator = try tdesOriginator(name)
        let result: (keySerialNumber: TDESDUKPT.KeySerialNumber, encryptedBlock: [UInt8])
        do {
            result = try originator.encryptPINBlock(clearBlock)
        } catch let error as CryptoError where error.code == .dukptExhausted {
            throw KeyStoreError(.dukptExhausted, "the DUKPT key '\(name)' is used up: load a new initial key")
        }
        try storeTDES(name, originator, isTestKey: entries[name]?.isTestKey ?? false)
        return (result.keySerialNumber.bytes, result.encryptedBlock)
    }

    /// The KSN the next transaction of `name` will use.
    public func nextKeySerialNumber(_ name: String) throws -> [UInt8] {
        guard let entry = entries[name] else { throw KeyStoreError(.missing, "no key '\(name)'") }
        switch entry.kind {
        case .tdesDUKPT: return try tdesOriginator(name).keySerialNumber.bytes
        case .aesDUKPT: return try aesOriginator(name).snapshot.keySerialNumber.bytes
        case .secret: throw KeyStoreError(.wrongKind, "'\(name)' is not a DUKPT key")
        }
    }

    private func tdesOriginator(_ name: String) throws -> TDESDUKPTOriginator {
        let state = try unseal(name, kind: .tdesDUKPT)
        return try state.withUnsafeBytes { raw throws -> TDESDUKPTOriginator in
            let bytes = Array(raw)  // state bytes; erased when `state` is released (the array is short-lived)
            guard bytes.count == 10 + 21 * 17 else { throw KeyStoreError(.corrupt, "the DUKPT state of '\(name)' has the wrong size") }
            var registers: [SecretBytes?] = []
            for i in 0..<21 {
                let at = 10 + i * 17
                registers.append(bytes[at] == 1 ? SecretBytes(Array(bytes[at + 1..<at + 17])) : nil)
            }
            do {
                return try TDESDUKPTOriginator(snapshot: .init(keySerialNumber: try TDESDUKPT.KeySerialNumber(Array(bytes[0..<10])), futureKeys: registers))
            } catch let error as CryptoError where error.code == .dukptExhausted {
                throw KeyStoreError(.dukptExhausted, "the DUKPT key '\(name)' is used up: load a new initial key")
            }
        }
    }

    private func storeTDES(_ name: String, _ originator: TDESDUKPTOriginator, isTestKey: Bool) throws {
        try put(name, kind: .tdesDUKPT, isTestKey: isTestKey, plaintext: Self.tdesState(originator))
    }

    private static func tdesState(_ originator: TDESDUKPTOriginator) -> SecretBytes {
        let snapshot = originator.snapshot
        var state = SecretBytes(snapshot.keySerialNumber.bytes)
        for register in snapshot.futureKeys {
            state = state.appending(SecretBytes([register == nil ? 0 : 1])).appending(register ?? SecretBytes(zeros: 16))
        }
        return state
    }

    private func aesOriginator(_ name: String) throws -> AESDUKPTOriginator {
        let state = try unseal(name, kind: .aesDUKPT)
        return try state.withUnsafeBytes { raw throws -> AESDUKPTOriginator in
            let bytes = Array(raw)
            guard bytes.count >= 13, let type = AESDUKPT.KeyType.allCases.first(where: { typeCode($0) == bytes[12] }) else {
                throw KeyStoreError(.corrupt, "the AES DUKPT state of '\(name)' is malformed")
            }
            let keyLength = (bytes.count - 13) / 32 - 1
            guard keyLength > 0, bytes.count == 13 + 32 * (keyLength + 1) else { throw KeyStoreError(.corrupt, "the AES DUKPT state of '\(name)' has the wrong size") }
            var registers: [SecretBytes?] = []
            for i in 0..<32 {
                let at = 13 + i * (keyLength + 1)
                registers.append(bytes[at] == 1 ? SecretBytes(Array(bytes[at + 1..<at + 1 + keyLength])) : nil)
            }
            return try AESDUKPTOriginator(snapshot: .init(keySerialNumber: try AESDUKPT.KeySerialNumber(Array(bytes[0..<12])), keyType: type, registers: registers))
        }
    }

    private func storeAES(_ name: String, _ originator: AESDUKPTOriginator, isTestKey: Bool) throws {
        try put(name, kind: .aesDUKPT, isTestKey: isTestKey, plaintext: Self.aesState(originator))
    }

    private static func aesState(_ originator: AESDUKPTOriginator) -> SecretBytes {
        let snapshot = originator.snapshot
        let keyLength = snapshot.registers.compactMap { $0?.count }.first ?? 16
        var state = SecretBytes(snapshot.keySerialNumber.bytes + [typeCode(snapshot.keyType)])
        for register in snapshot.registers {
            state = state.appending(SecretBytes([register == nil ? 0 : 1])).appending(register ?? SecretBytes(zeros: keyLength))
        }
        return state
    }

    // MARK: Sealing and the file

    private func associatedData(_ name: String, _ kind: Kind, _ isTestKey: Bool) -> [UInt8] {
        Array("\(Self.header)\n\(name) \(kind.rawValue) \(isTestKey ? "test" : "-")".utf8)
    }

    private func put(_ name: String, kind: Kind, isTestKey: Bool, plaintext: SecretBytes) throws {
        try seal(name, kind: kind, isTestKey: isTestKey, plaintext: plaintext)
        try save()
    }

    /// Seals an entry in memory; ``save()`` writes it.
    private func seal(_ name: String, kind: Kind, isTestKey: Bool, plaintext: SecretBytes) throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw KeyStoreError(.invalidName, "a key name is printable ASCII without spaces")
        }
        let nonce = try random.bytes(12)  // random 96-bit nonce per write; a key store sees a few thousand writes
        let box = try AES.GCM.seal(plaintext, key: kek, nonce: nonce, authenticating: associatedData(name, kind, isTestKey))
        if entries[name] == nil { order.append(name) }
        entries[name] = Entry(kind: kind, isTestKey: isTestKey, nonce: nonce, box: box)
    }

    private func unseal(_ name: String, kind: Kind) throws -> SecretBytes {
        guard let entry = entries[name] else { throw KeyStoreError(.missing, "no key '\(name)' in \(path)") }
        guard entry.kind == kind else { throw KeyStoreError(.wrongKind, "'\(name)' is a \(entry.kind.rawValue) key, not \(kind.rawValue)") }
        do {
            return try AES.GCM.open(entry.box, key: kek, nonce: entry.nonce, authenticating: associatedData(name, kind, entry.isTestKey))
        } catch {
            throw KeyStoreError(.corrupt, "the key '\(name)' does not open under this device's key-encryption key (tampered, or another device's file)")
        }
    }

    private func load() throws {
        let text = try Self.readFile(path)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == Substring(Self.header) else { throw KeyStoreError(.corrupt, "\(path) is not a key store of this firmware") }
        lines.removeFirst()
        for (number, line) in lines.enumerated() {
            let fields = line.split(separator: " ")
            guard fields.count == 6, let kind = Kind(rawValue: String(fields[1])), fields[2] == "test" || fields[2] == "-",
                let nonce = Hex.decode(fields[3]), nonce.count == 12, let ciphertext = Hex.decode(fields[4]),
                let tag = Hex.decode(fields[5]), tag.count == 16
            else { throw KeyStoreError(.corrupt, "\(path): entry \(number + 1) is malformed") }
            let name = String(fields[0])
            guard entries[name] == nil else { throw KeyStoreError(.corrupt, "\(path): the key '\(name)' appears twice") }
            entries[name] = Entry(kind: kind, isTestKey: fields[2] == "test", nonce: nonce, box: .init(ciphertext: ciphertext, tag: tag))
            order.append(name)
            _ = try unseal(name, kind: kind)  // every entry must open now: a file half of another device is refused whole
        }
    }

    private func save() throws {
        var text = Self.header + "\n"
        for name in order {
            guard let e = entries[name] else { continue }
            text += "\(name) \(e.kind.rawValue) \(e.isTestKey ? "test" : "-") \(Hex.encode(e.nonce)) \(Hex.encode(e.box.ciphertext)) \(Hex.encode(e.box.tag))\n"
        }
        try Self.writeFileAtomically(path, Array(text.utf8))
    }

    // MARK: The KEK

    private static func keyEncryptionKey(_ configuration: Configuration, random: any RandomSource) throws -> (SecretBytes, KEKSource) {
        if let credentials = configuration.environment["CREDENTIALS_DIRECTORY"], !credentials.isEmpty,
            access(credentials + "/" + credentialName, F_OK) == 0
        {
            let bytes = try readSecretFile(credentials + "/" + credentialName)
            guard bytes.count == 32 else { throw KeyStoreError(.credentialInvalid, "the credential \(credentialName) must be 32 bytes, not \(bytes.count)") }
            return (bytes, .systemdCredential)
        }
        var devicePath = configuration.deviceSecretPaths.first(where: { access($0, R_OK) == 0 })
        if devicePath == nil, configuration.mayProvision {
            // A simulator on a host without machine-id (a container): a generated stand-in, kept with the keys.
            let standIn = configuration.directory + "/device.secret"
            if access(standIn, F_OK) != 0 { try writeFileAtomically(standIn, try random.bytes(32)) }
            devicePath = standIn
        }
        guard let devicePath else {
            throw KeyStoreError(.notProvisioned, "no device-unique secret (looked for \(configuration.deviceSecretPaths.joined(separator: ", "))) and no \(credentialName) credential")
        }
        let provisioning = configuration.directory + "/provisioning.secret"
        if access(provisioning, F_OK) != 0 {
            guard configuration.mayProvision else {
                throw KeyStoreError(.notProvisioned, "\(provisioning) is missing: this terminal was not provisioned at the factory")
            }
            try writeFileAtomically(provisioning, try random.bytes(32))
        }
        let salt = try readSecretFile(provisioning)
        let device = try readSecretFile(devicePath)
        let kek = try salt.withUnsafeBytes { saltBytes in
            try HKDF.sha256(inputKeyMaterial: device, salt: Array(saltBytes), info: Array("payment-terminal keystore kek v1".utf8), outputByteCount: 32)
        }
        return (kek, .derived(deviceSecret: devicePath))
    }

    // MARK: Files

    static func makeDirectory(_ path: String) throws {
        do { try DurableFile.makeDirectories(path) } catch { throw KeyStoreError(.io, error.reason) }
    }

    static func readFile(_ path: String) throws -> String {
        let bytes = try readBytes(path)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func readSecretFile(_ path: String) throws -> SecretBytes {
        var bytes = try readBytes(path)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        return SecretBytes(bytes)
    }

    private static func readBytes(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KeyStoreError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw KeyStoreError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= 1 << 20 else { throw KeyStoreError(.corrupt, "\(path) is larger than a key store can be") }
        }
        for i in chunk.indices { chunk[i] = 0 }
        return bytes
    }

    /// Key material and the store file go through ``DurableFile`` (mode 0600): the old file or the new, never half.
    static func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
        do { try DurableFile.store(path, bytes, mode: 0o600) } catch { throw KeyStoreError(.io, error.reason) }
    }
}

/// The one-byte code of an AES DUKPT key type in the stored state.
private func typeCode(_ type: AESDUKPT.KeyType) -> UInt8 {
    switch type {
    case .tdes2: 0
    case .tdes3: 1
    case .aes128: 2
    case .aes192: 3
    case .aes256: 4
    }
}

/// An error of the key store. Never carries key bytes.
public struct KeyStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// No KEK source: no credential, no device secret, or no factory provisioning secret on a hardware board.
        case notProvisioned
        case credentialInvalid
        /// The file or an entry does not open: tampered, truncated, or another device's.
        case corrupt
        case missing
        case wrongKind
        case invalidName
        /// The DUKPT counter is used up.
        case dukptExhausted
        case io
    }
    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func == (a: KeyStoreError, b: KeyStoreError) -> Bool { a.code == b.code }
    public var description: String { "key store (\(code)): \(reason)" }
}
