#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
import PaymentCrypto
import TestKit
import UpdatePackage
import Updater

/// Keys, a test root and packages for the updater tests. Every key is generated per test run (nothing committed).
final class UpdateFixture {
    let directory: String
    let root: String
    let release: Ed25519.PrivateKey
    let rotated: P256.PrivateKey
    let stranger: Ed25519.PrivateKey
    let revokedKey: Ed25519.PrivateKey
    let keyring: Keyring

    init() throws {
        directory = try makeTemporaryDirectory("updater")
        root = directory + "/root"
        release = try Ed25519.PrivateKey()
        rotated = try P256.PrivateKey()
        stranger = try Ed25519.PrivateKey()
        revokedKey = try Ed25519.PrivateKey()
        let revokedPublic = Keyring.Key.ed25519(try revokedKey.publicKey())
        keyring = try Keyring(
            keys: [("release", .ed25519(try release.publicKey())), ("rotated", .ecdsaP256(try rotated.publicKey())), ("old", revokedPublic)],
            revoked: [try revokedPublic.keyID()])
        guard mkdir(root, 0o755) == 0 else { throw TestKitError("mkdir \(root)") }
        try writeTextFile(root + "/keyring.toml", keyring.rendered())
    }

    deinit { removeTree(directory) }

    /// The firmware payload: a script that prints its version, so "the device runs version X" can be checked.
    static func firmware(_ version: String) -> [UInt8] { Array("#!/bin/sh\necho terminal \(version)\n".utf8) }

    enum Signer { case release, rotated, stranger, revoked, none }

    /// A package; `edit` may change the manifest after the sizes and hashes were filled in (a lying manifest).
    func package(
        version: String, minimum: String = "0.0.0", counter: Int = 1, boards: [String] = ["sim"], signer: Signer = .release,
        files: [(String, UpdateManifest.Role, [UInt8])]? = nil, edit: (inout UpdateManifest) -> Void = { _ in }
    ) throws -> [UInt8] {
        let payloadFiles = files ?? [
            ("bin/terminal", .firmware, Self.firmware(version)),
            ("systemd/terminal.service.d/update.conf", .unit, Array("[Service]\n".utf8)),
            ("parameters/emv.toml", .parameters, Array("# defaults \(version)\n".utf8)),
        ]
        var manifest = UpdateManifest(
            product: Installer.product, boards: boards, version: try FirmwareVersion(parsing: version),
            minimumVersion: try FirmwareVersion(parsing: minimum), securityCounter: counter,
            payloads: try payloadFiles.enumerated().map { index, file in
                UpdateManifest.Payload(name: "f\(index)", path: file.0, role: file.1, size: file.2.count, sha256: try SHA256.hash(file.2))
            })
        edit(&manifest)
        let manifestBytes = Array(manifest.rendered().utf8)
        var signatures: [PackageSignature] = []
        switch signer {
        case .release: signatures.append(try sign(.ed25519(try release.publicKey()), try release.signature(for: manifestBytes)))
        case .rotated: signatures.append(try sign(.ecdsaP256(try rotated.publicKey()), try rotated.signature(for: manifestBytes).rawRepresentation))
        case .stranger: signatures.append(try sign(.ed25519(try stranger.publicKey()), try stranger.signature(for: manifestBytes)))
        case .revoked: signatures.append(try sign(.ed25519(try revokedKey.publicKey()), try revokedKey.signature(for: manifestBytes)))
        case .none: break
        }
        var bytes = UnverifiedUpdatePackage.header(manifest: manifestBytes, signatures: signatures)
        for file in payloadFiles { bytes += file.2 }
        return bytes
    }

    private func sign(_ key: Keyring.Key, _ signature: [UInt8]) throws -> PackageSignature {
        PackageSignature(algorithm: key.algorithm, keyID: try key.keyID(), signature: signature)
    }

    /// Writes `bytes` to a file in the fixture directory and returns its path.
    func write(_ bytes: [UInt8], name: String = "package.tpkg") throws -> String {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TestKitError("open \(path)") }
        defer { close(fd) }
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw TestKitError("write \(path)") }
        return path
    }

    func installer(faults: UpdateFaults? = nil, now: (() -> Int)? = nil) -> Installer {
        Installer(root: root, board: "sim", keyring: keyring, healthDeadlineSeconds: 120, faults: faults, now: now)
    }

    /// Installs and commits `version` (slot a on a fresh root).
    func provision(_ version: String = "1.0.0", counter: Int = 1) throws {
        let installer = installer()
        let outcome = try installer.install(packagePath: try write(package(version: version, counter: counter), name: "v\(version).tpkg"))
        guard case .switched = outcome else { throw TestKitError("provisioning failed: \(outcome)") }
        _ = try installer.boot()
        guard case .committed = try installer.commit() else { throw TestKitError("provisioning did not commit") }
    }

    /// What `ROOT/current/bin/terminal` prints: the version the device runs.
    func runningVersion() throws -> String {
        let result = try runProcess([root + "/current/bin/terminal"], timeout: .seconds(10))
        return result.status == 0 ? result.stdout.trimmingSuffixNewline : "not runnable (\(result.status))"
    }

    func currentSlot() -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = readlink(root + "/current", &buffer, 63)
        return n > 0 ? String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    func exists(_ path: String) -> Bool { access(root + "/" + path, F_OK) == 0 }
}

extension String {
    var trimmingSuffixNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
