#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Codecs
import PaymentCrypto
import Store
import UpdatePackage

/// `termtool pkg`: signing keys and signed update packages (docs/update-package.md).
struct PackageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pkg",
        abstract: "Build, sign, verify and inspect update packages.",
        subcommands: [KeyGen.self, Build.self, Sign.self, Verify.self, Inspect.self, Params.self]
    )

    struct KeyGen: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "keygen", abstract: "Make a signing key; prints its keyring entry.")

        @Option(help: "ed25519 or ecdsa-p256.")
        var algorithm: String = "ed25519"
        @Option(help: "The key's name in the keyring.")
        var name: String
        @Option(help: "Where to write the private key (mode 0600).")
        var out: String
        @Option(help: "Also write the keyring entry (public key) to this file.")
        var keyring: String?

        func run() throws {
            try CryptoTool.run {
                let key: Keyring.Key
                let secret: SecretBytes
                switch algorithm {
                case "ed25519":
                    let k = try Ed25519.PrivateKey()
                    secret = try k.rawRepresentation()
                    key = .ed25519(try k.publicKey())
                case "ecdsa-p256":
                    let k = try P256.PrivateKey()
                    secret = try k.derRepresentation()
                    key = .ecdsaP256(try k.publicKey())
                default: throw CryptoInputError("--algorithm must be ed25519 or ecdsa-p256")
                }
                let hex = secret.withUnsafeBytes { Hex.encode($0) }
                let text = "# update signing key \(name) (\(algorithm)); PRIVATE: keep off the terminal\nalgorithm = \"\(algorithm)\"\nname = \"\(name)\"\nprivate-key = \"\(hex)\"\n"
                try storeFile(out, Array(text.utf8), mode: 0o600)
                let entry = try Keyring(keys: [(name, key)]).rendered()
                if let keyring { try storeFile(keyring, Array(entry.utf8), mode: 0o644) }
                print("key id \(Hex.encode(try key.keyID()).lowercased())")
                print(entry, terminator: "")
            }
        }
    }

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build an unsigned package from a directory and a manifest template.")

        @Option(help: "Manifest template: the manifest without size/sha256 (docs/update-package.md).")
        var template: String
        @Option(help: "Directory holding the payload files at their manifest paths.")
        var from: String
        @Option(help: "Output package.")
        var out: String
        @Option(help: "Override the template's version.")
        var version: String?
        @Option(help: "Override the template's minimum-version.")
        var minimumVersion: String?
        @Option(help: "Override the template's security-counter.")
        var securityCounter: Int?

        func run() throws {
            try CryptoTool.run {
                var manifest = try UpdateManifest(parsing: try readFile(template), requireDigests: false)
                if let version { manifest.version = try FirmwareVersion(parsing: version) }
                if let minimumVersion { manifest.minimumVersion = try FirmwareVersion(parsing: minimumVersion) }
                if let securityCounter { manifest.securityCounter = securityCounter }
                var payloadBytes: [[UInt8]] = []
                for index in manifest.payloads.indices {
                    let bytes = try readFile(from + "/" + manifest.payloads[index].path, limit: 1 << 30)
                    manifest.payloads[index].size = bytes.count
                    manifest.payloads[index].sha256 = try SHA256.hash(bytes)
                    payloadBytes.append(bytes)
                }
                let manifestBytes = Array(manifest.rendered().utf8)
                _ = try UpdateManifest(parsing: manifestBytes)
                var package = UnverifiedUpdatePackage.header(manifest: manifestBytes, signatures: [])
                for bytes in payloadBytes { package += bytes }
                try storeFile(out, package, mode: 0o644)
                print("built \(out): \(manifest.version), \(manifest.payloads.count) files, \(package.count) bytes, unsigned")
            }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a signature over the exact manifest bytes.")

        @Argument(help: "The package (rewritten in place).")
        var package: String
        @Option(help: "The private key file from `pkg keygen`.")
        var key: String

        func run() throws {
            try CryptoTool.run {
                var bytes = try readFile(package, limit: 1 << 31)
                let parsed = try UnverifiedUpdatePackage(header: bytes[...])
                let keyFile: TOML.Table
                do { keyFile = try TOML.parse(String(decoding: try readFile(key), as: UTF8.self)) } catch { throw CryptoInputError("--key is not a key file from `pkg keygen`") }
                guard case .string(let algorithm, _)? = keyFile["algorithm"], case .string(let hex, _)? = keyFile["private-key"],
                      let secret = SecretBytes(hexEncoded: hex)
                else { throw CryptoInputError("--key is not a key file from `pkg keygen`") }
                let signature: PackageSignature
                switch algorithm {
                case "ed25519":
                    let k = try Ed25519.PrivateKey(rawRepresentation: secret)
                    let id = try Keyring.Key.ed25519(try k.publicKey()).keyID()
                    signature = PackageSignature(algorithm: PackageSignature.ed25519, keyID: id, signature: try k.signature(for: parsed.manifestBytes))
                case "ecdsa-p256":
                    let k = try P256.PrivateKey(derRepresentation: secret)
                    let id = try Keyring.Key.ecdsaP256(try k.publicKey()).keyID()
                    signature = PackageSignature(algorithm: PackageSignature.ecdsaP256SHA256, keyID: id, signature: try k.signature(for: parsed.manifestBytes).rawRepresentation)
                default: throw CryptoInputError("--key names an unknown algorithm")
                }
                let header = UnverifiedUpdatePackage.header(manifest: parsed.manifestBytes, signatures: parsed.signatures + [signature])
                bytes.replaceSubrange(0..<parsed.headerLength, with: header)
                try storeFile(package, bytes, mode: 0o644)
                print("signed \(package) with key id \(Hex.encode(signature.keyID).lowercased()) (\(parsed.signatures.count + 1) signatures)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check signatures, manifest, sizes and every payload hash; exit 1 when invalid.")

        @Argument(help: "The package.")
        var package: String
        @Option(help: "The keyring to trust.")
        var keyring: String

        func run() throws {
            try CryptoTool.run {
                let bytes = try readFile(package, limit: 1 << 31)
                let parsed = try UnverifiedUpdatePackage(header: bytes[...])
                let ring = try Keyring(parsing: String(decoding: try readFile(keyring), as: UTF8.self))
                let verdict = try ring.verify(parsed)
                guard case .trusted(let name) = verdict else { invalid("signature: \(verdict)") }
                let manifest = try UpdateManifest(parsing: parsed.manifestBytes)
                let ranges = try parsed.checkPayloadLayout(sizes: manifest.payloads.map(\.size), packageLength: bytes.count)
                for (payload, range) in zip(manifest.payloads, ranges) where try SHA256.hash(bytes[range]) != payload.sha256 {
                    invalid("\(payload.path) does not match its SHA-256")
                }
                print("VALID: \(manifest.product) \(manifest.version) signed by \(name), \(manifest.payloads.count) files")
            }
        }

        func invalid(_ why: String) -> Never {
            print("INVALID: \(why)")
            terminate(1)
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the manifest and signatures (nothing is trusted).")

        @Argument(help: "The package.")
        var package: String

        func run() throws {
            try CryptoTool.run {
                let head = try readFile(package, limit: 1 << 31)
                let parsed = try UnverifiedUpdatePackage(header: head[...])
                print("package: \(head.count) bytes, header \(parsed.headerLength) bytes, \(parsed.signatures.count) signatures")
                for s in parsed.signatures {
                    let name = s.algorithm == PackageSignature.ed25519 ? "ed25519" : s.algorithm == PackageSignature.ecdsaP256SHA256 ? "ecdsa-p256" : "algorithm \(s.algorithm)"
                    print("  signature: \(name), key id \(Hex.encode(s.keyID).lowercased())")
                }
                print("manifest (UNVERIFIED):")
                print(String(decoding: parsed.manifestBytes, as: UTF8.self), terminator: "")
            }
        }
    }
}

private func readFile(_ path: String, limit: Int = 1 << 20) throws -> [UInt8] {
    do { return try DurableFile.readAll(path, limit: limit) } catch { throw CryptoInputError("\(error)") }
}

private func storeFile(_ path: String, _ bytes: [UInt8], mode: UInt32) throws {
    do { try DurableFile.store(path, bytes, mode: mode) } catch { throw CryptoInputError("\(error)") }
}

private func terminate(_ status: Int32) -> Never { exit(status) }
