import Codecs
import PaymentCrypto
import Testing
import UpdatePackage
import Updater

/// Signed parameter sets (docs/terminal-management.md): the same container and keyring as update packages, a manifest
/// type of their own, every check before anything is believed.
@Suite struct ParameterPackageTests {
    let release: Ed25519.PrivateKey
    let keyring: Keyring

    init() throws {
        release = try Ed25519.PrivateKey()
        keyring = try Keyring(keys: [("release", .ed25519(try release.publicKey()))])
    }

    func signed(version: Int = 4, payloads: [(name: String, bytes: [UInt8])] = [("terminal", Array("merchant-name = \"A\"\nlanguage = \"en\"\n".utf8))]) throws -> [UInt8] {
        try ParameterPackage.build(version: version, payloads: payloads) { [try ParameterPackage.ed25519Signature($0, key: release)] }
    }

    @Test func verifiesAndReadsThePayloads() throws {
        let emv = Array("[terminal]\n".utf8)
        let bytes = try signed(version: 9, payloads: [("emv", emv), ("terminal", Array("x = 1\n".utf8))])
        guard case .verified(let set) = try ParameterPackage.verify(bytes, keyring: keyring) else {
            Issue.record("a correctly signed set was refused")
            return
        }
        #expect(set.version == 9 && set.keyName == "release" && set.payloads["emv"] == emv)
    }

    @Test func refusals() throws {
        let good = try signed()
        // Unsigned, signed by a stranger.
        let unsigned = try ParameterPackage.build(version: 4, payloads: [("terminal", [0x41])])
        guard case .rejected(.unsigned, _) = try ParameterPackage.verify(unsigned, keyring: keyring) else { Issue.record("unsigned accepted"); return }
        let stranger = try Ed25519.PrivateKey()
        let foreign = try ParameterPackage.build(version: 4, payloads: [("terminal", [0x41])]) { [try ParameterPackage.ed25519Signature($0, key: stranger)] }
        guard case .rejected(.unknownKey, _) = try ParameterPackage.verify(foreign, keyring: keyring) else { Issue.record("unknown key accepted"); return }
        // A payload byte changed after signing: the manifest's hash catches it.
        var tampered = good
        tampered[tampered.count - 1] ^= 0x01
        guard case .rejected(.payloadHashMismatch, _) = try ParameterPackage.verify(tampered, keyring: keyring) else { Issue.record("tampered payload accepted"); return }
        // Every strict prefix is refused; trailing bytes are refused.
        for cut in stride(from: 0, to: good.count, by: 7) {
            guard case .rejected = try ParameterPackage.verify(Array(good.prefix(cut)), keyring: keyring) else {
                Issue.record("a prefix of \(cut) bytes was accepted")
                return
            }
        }
        guard case .rejected(.malformed, _) = try ParameterPackage.verify(good + [0], keyring: keyring) else { Issue.record("trailing byte accepted"); return }
    }

    @Test func anUpdatePackageIsNotAParameterSetNorTheOtherWayRound() throws {
        let firmware = Array("#!/bin/sh\n".utf8)
        let manifest = UpdateManifest(
            product: Installer.product, boards: ["sim"], version: try FirmwareVersion(parsing: "1.0.0"), minimumVersion: try FirmwareVersion(parsing: "0.0.0"),
            securityCounter: 1, payloads: [.init(name: "f", path: "bin/terminal", role: .firmware, size: firmware.count, sha256: try SHA256.hash(firmware))])
        let manifestBytes = Array(manifest.rendered().utf8)
        let update = UnverifiedUpdatePackage.header(manifest: manifestBytes, signatures: [try ParameterPackage.ed25519Signature(manifestBytes, key: release)]) + firmware
        guard case .rejected(.invalidManifest, _) = try ParameterPackage.verify(update, keyring: keyring) else {
            Issue.record("an update package passed as a parameter set")
            return
        }
        let parameters = try signed()
        let header = try UnverifiedUpdatePackage(header: parameters[...])
        #expect(throws: UpdatePackageError.self) { try UpdateManifest(parsing: header.manifestBytes) }
        #expect(throws: UpdatePackageError.self) { try ParameterManifest(parsing: Array("format = 1\ntype = \"parameters\"\nproduct = \"payment-terminal\"\nversion = 0\n[payload.terminal]\nsize = 1\nsha256 = \"\(String(repeating: "00", count: 32))\"\n".utf8)) }
        #expect(throws: UpdatePackageError.self) { try ParameterManifest(parsing: Array("format = 1\ntype = \"parameters\"\nproduct = \"payment-terminal\"\nversion = 2\n[payload.firmware]\nsize = 1\nsha256 = \"\(String(repeating: "00", count: 32))\"\n".utf8)) }
    }
}
