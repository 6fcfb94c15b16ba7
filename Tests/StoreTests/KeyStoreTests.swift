#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
import PaymentCrypto
import Store
import TestKit
import Testing

@Suite struct KeyStoreTests {
    /// A key directory plus a device secret file of its own (so tests never depend on the host's machine-id).
    final class Rig {
        let root: String
        var directory: String { root + "/keys" }
        var deviceSecret: String { root + "/device-serial" }

        init() throws {
            root = try makeTemporaryDirectory("keystore")
            try writeTextFile(deviceSecret, "10000000abcdef01")
        }
        deinit { removeTree(root) }

        func open(mayProvision: Bool = true, environment: [String: String] = [:], deviceSecret: String? = nil) throws -> KeyStore {
            try KeyStore(.init(directory: directory, deviceSecretPaths: [deviceSecret ?? self.deviceSecret], mayProvision: mayProvision, environment: environment))
        }
    }

    static let bdk = SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210")!
    static let ksn = try! TDESDUKPT.KeySerialNumber(Hex.decode("FFFF9876543210E00000")!)

    @Test func secretsSurviveAReopenAndTheFileIsPrivate() throws {
        let rig = try Rig()
        let key = SecretBytes(try SystemRandom().bytes(32))
        do {
            let store = try rig.open()
            try store.storeSecret("data-key", key, isTestKey: true)
            if case .derived(let path) = store.kekSource { #expect(path == rig.deviceSecret) } else { Issue.record("KEK not derived") }
        }
        let store = try rig.open()
        #expect(try store.secret("data-key") == key)
        #expect(store.isTestKey("data-key") && store.holdsTestKeys)
        var st = stat()
        #expect(stat(store.path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        let text = try readTextFile(store.path)
        #expect(!text.contains(key.withUnsafeBytes { Hex.encode($0) }), "never in the clear")
    }

    @Test func dukptStateAdvancesAndPersistsBeforeTheBlockLeaves() throws {
        let rig = try Rig()
        // ANSI X9.24-1 Annex A: PIN 1234, PAN 4012345678909, KSN ...E00001 → 1B9C1845EB993A7A, ...E00002 → 10A01C8D02C69107.
        let clear = try PINBlock.encode(format: .format0, pin: SecretBytes(Array("1234".utf8)), pan: "4012345678909", random: SystemRandom())
        do {
            let store = try rig.open()
            try store.installTDESDUKPT("pin", initialKey: TDESDUKPT.initialKey(baseDerivationKey: Self.bdk, keySerialNumber: Self.ksn), keySerialNumber: Self.ksn, isTestKey: true)
            let first = try store.encryptPINBlock("pin", clearBlock: clear)
            #expect(Hex.encode(first.keySerialNumber) == "FFFF9876543210E00001")
            #expect(Hex.encode(first.encryptedBlock) == "1B9C1845EB993A7A")
        }
        // A restart continues with the next counter: a KSN is never used twice.
        let store = try rig.open()
        #expect(Hex.encode(try store.nextKeySerialNumber("pin")) == "FFFF9876543210E00002")
        let second = try store.encryptPINBlock("pin", clearBlock: clear)
        #expect(Hex.encode(second.encryptedBlock) == "10A01C8D02C69107")
    }

    @Test func tr31BlockInstallsADUKPTKey() throws {
        let rig = try Rig()
        let kbpk = SecretBytes(try SystemRandom().bytes(16))
        let ipek = try TDESDUKPT.initialKey(baseDerivationKey: Self.bdk, keySerialNumber: Self.ksn)
        let header = TR31Header(version: .b, keyUsage: "B1", algorithm: "T", modeOfUse: "X", keyVersionNumber: "00", exportability: "N",
                                optionalBlocks: [TR31OptionalBlock(id: "KS", data: "FFFF9876543210E00000")])
        let block = try TR31.wrap(key: ipek, header: header, kbpk: kbpk, random: SystemRandom())
        let store = try rig.open()
        try store.installDUKPT("pin", keyBlock: block, kbpk: kbpk, isTestKey: true)
        #expect(Hex.encode(try store.nextKeySerialNumber("pin")) == "FFFF9876543210E00001")
        #expect(throws: CryptoError.self) { try store.installDUKPT("pin2", keyBlock: block, kbpk: SecretBytes(zeros: 16), isTestKey: true) }
    }

    @Test func tamperingOrAnotherDeviceIsRefusedWhole() throws {
        let rig = try Rig()
        do {
            let store = try rig.open()
            try store.storeSecret("a", SecretBytes(Array(repeating: 1, count: 32)), isTestKey: false)
            try store.storeSecret("b", SecretBytes(Array(repeating: 2, count: 32)), isTestKey: false)
        }
        let path = rig.directory + "/keystore"
        let original = try readTextFile(path)
        // Another device (other serial number): nothing opens.
        try writeTextFile(rig.root + "/other-serial", "20000000abcdef02")
        #expect(throws: KeyStoreError(.corrupt, "")) { try rig.open(deviceSecret: rig.root + "/other-serial") }
        // Swapping two entries' sealed values, or relabelling one as a test key, breaks the binding.
        var lines = original.split(separator: "\n").map(String.init)
        let a = lines[1].split(separator: " "), b = lines[2].split(separator: " ")
        lines[1] = ([a[0], a[1], a[2]] + b[3...]).joined(separator: " ")
        lines[2] = ([b[0], b[1], b[2]] + a[3...]).joined(separator: " ")
        try writeTextFile(path, lines.joined(separator: "\n") + "\n")
        #expect(throws: KeyStoreError(.corrupt, "")) { try rig.open() }
        try writeTextFile(path, original.replacingOccurrences("a secret -", "a secret test"))
        #expect(throws: KeyStoreError(.corrupt, "")) { try rig.open() }
        // A flipped byte, a truncated file, a foreign file.
        var flipped = Array(original.utf8)
        flipped[flipped.count - 5] = flipped[flipped.count - 5] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        try writeTextFile(path, String(decoding: flipped, as: UTF8.self))
        #expect(throws: KeyStoreError(.corrupt, "")) { try rig.open() }
        try writeTextFile(path, String(original.prefix(original.count / 2)))
        #expect(throws: KeyStoreError(.corrupt, "")) { try rig.open() }
        try writeTextFile(path, "hello\n")
        #expect(throws: KeyStoreError(.corrupt, "")) { try rig.open() }
        try writeTextFile(path, original)
        #expect(try rig.open().secret("b") == SecretBytes(Array(repeating: 2, count: 32)))
    }

    @Test func hardwareWithoutProvisioningIsRefusedAndCredentialsWin() throws {
        let rig = try Rig()
        #expect(throws: KeyStoreError(.notProvisioned, "")) { try rig.open(mayProvision: false) }
        #expect(access(rig.directory + "/keystore", F_OK) != 0)
        try #require(mkdir(rig.root + "/creds", 0o700) == 0)
        try writeTextFile(rig.root + "/creds/terminal-kek", String(repeating: "k", count: 31))
        #expect(throws: KeyStoreError(.credentialInvalid, "")) { try rig.open(mayProvision: false, environment: ["CREDENTIALS_DIRECTORY": rig.root + "/creds"]) }
        try writeTextFile(rig.root + "/creds/terminal-kek", String(repeating: "k", count: 32))
        let store = try rig.open(mayProvision: false, environment: ["CREDENTIALS_DIRECTORY": rig.root + "/creds"])
        #expect(store.kekSource == .systemdCredential)
    }

    @Test func missingAndWrongKind() throws {
        let rig = try Rig()
        let store = try rig.open()
        #expect(throws: KeyStoreError(.missing, "")) { try store.secret("nope") }
        try store.installTDESDUKPT("pin", initialKey: TDESDUKPT.initialKey(baseDerivationKey: Self.bdk, keySerialNumber: Self.ksn), keySerialNumber: Self.ksn, isTestKey: true)
        #expect(throws: KeyStoreError(.wrongKind, "")) { try store.secret("pin") }
        #expect(throws: KeyStoreError(.invalidName, "")) { try store.storeSecret("bad name", SecretBytes(zeros: 16), isTestKey: true) }
    }
}

extension String {
    func replacingOccurrences(_ old: String, _ new: String) -> String {
        var out = self
        while let range = out.firstRange(of: old) { out.replaceSubrange(range, with: new) }
        return out
    }
}
