import Codecs
public import PaymentCrypto

/// A signed, versioned parameter set (docs/terminal-management.md): the same container and signatures as an update
/// package (``UnverifiedUpdatePackage``, verified by the same ``Keyring``), with a manifest of its own type:
///
/// ```toml
/// format = 1
/// type = "parameters"
/// product = "payment-terminal"
/// version = 12                 # the parameter set's version: 1...2^31-1, a terminal never goes back
///
/// [payload.emv]                # the EMV parameters file (docs/emv-parameters.md): AIDs, CA keys, revocations, exceptions
/// size = 1834
/// sha256 = "…"
///
/// [payload.terminal]           # terminal settings: merchant name, language, offline caps, download policy
/// size = 212
/// sha256 = "…"
///
/// [payload.prepaid]            # closed-loop prepaid: the host's lost-card list
/// size = 60
/// sha256 = "…"
/// ```
///
/// Payload files follow the header in manifest order. An update manifest refuses the `type` key and this manifest
/// requires it, so neither kind of package can pass for the other.
public struct ParameterManifest: Sendable, Equatable {
    /// The payload names a parameter set may carry.
    public static let payloadNames = ["emv", "terminal", "prepaid"]

    /// The set's version.
    public var version: Int
    /// The payloads in package order: name, size, SHA-256.
    public var payloads: [(name: String, size: Int, sha256: [UInt8])]

    /// Makes a manifest.
    public init(version: Int, payloads: [(name: String, size: Int, sha256: [UInt8])]) {
        self.version = version
        self.payloads = payloads
    }

    public static func == (lhs: ParameterManifest, rhs: ParameterManifest) -> Bool {
        lhs.version == rhs.version
            && lhs.payloads.elementsEqual(rhs.payloads) { $0.name == $1.name && $0.size == $1.size && $0.sha256 == $1.sha256 }
    }

    /// Parses and checks a manifest (only from bytes a trusted signature covers).
    /// - Throws: ``UpdatePackageError`` ``UpdatePackageError/Code/invalidManifest``.
    public init(parsing bytes: some Collection<UInt8>) throws(UpdatePackageError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Self.invalid("the manifest is not UTF-8") }
        let table: TOML.Table
        do { table = try TOML.parse(text) } catch { throw Self.invalid("the manifest is not TOML: \(error)") }
        for key in table.keys where !["format", "type", "product", "version", "payload"].contains(key) {
            throw Self.invalid("unknown field '\(key)'")
        }
        guard case .integer(UpdateManifest.format, _)? = table["format"] else { throw Self.invalid("'format' must be 1") }
        guard case .string("parameters", _)? = table["type"] else { throw Self.invalid("'type' must be \"parameters\"") }
        guard case .string("payment-terminal", _)? = table["product"] else { throw Self.invalid("'product' must be \"payment-terminal\"") }
        guard case .integer(let version, _)? = table["version"], (1...Int(Int32.max)).contains(version) else {
            throw Self.invalid("'version' must be an integer 1...2147483647")
        }
        guard case .table(let payloadTable)? = table["payload"], !payloadTable.keys.isEmpty else {
            throw Self.invalid("the manifest needs [payload.emv] and/or [payload.terminal]")
        }
        var payloads: [(String, Int, [UInt8])] = []
        for name in payloadTable.keys {
            guard Self.payloadNames.contains(name), case .table(let entry)? = payloadTable[name] else {
                throw Self.invalid("payload '\(name)' is not one of \(Self.payloadNames.joined(separator: ", "))")
            }
            for key in entry.keys where key != "size" && key != "sha256" { throw Self.invalid("payload.\(name): unknown field '\(key)'") }
            guard case .integer(let size, _)? = entry["size"], (0...(1 << 20)).contains(size) else {
                throw Self.invalid("payload.\(name).size must be 0...1048576")
            }
            guard case .string(let hex, _)? = entry["sha256"], hex.utf8.count == 64, let digest = UpdateManifest.hexBytes(hex) else {
                throw Self.invalid("payload.\(name).sha256 must be 64 hex digits")
            }
            payloads.append((name, size, digest))
        }
        self.version = version
        self.payloads = payloads
    }

    /// The manifest as TOML text.
    public func rendered() -> String {
        var text = "format = \(UpdateManifest.format)\ntype = \"parameters\"\nproduct = \"payment-terminal\"\nversion = \(version)\n"
        for payload in payloads {
            text += "\n[payload.\(payload.name)]\nsize = \(payload.size)\nsha256 = \"\(Hex.encode(payload.sha256).lowercased())\"\n"
        }
        return text
    }

    private static func invalid(_ reason: String) -> UpdatePackageError { UpdatePackageError(.invalidManifest, reason) }
}

/// A parameter set whose signature, manifest and payload hashes have all been checked.
public struct VerifiedParameterSet: Sendable, Equatable {
    /// The set's version.
    public let version: Int
    /// The name of the keyring key whose signature verified.
    public let keyName: String
    /// The payload files by name (`emv`, `terminal`).
    public let payloads: [String: [UInt8]]
}

/// Why a parameter package was refused (before anything was applied).
public enum ParameterPackageRejection: String, Sendable, Equatable {
    /// Not a package, truncated, or its lengths do not add up.
    case malformed
    /// No signature at all.
    case unsigned
    /// No signature by a key of the keyring.
    case unknownKey
    /// Signed only by revoked keys.
    case revokedKey
    /// A signature by a trusted key does not verify.
    case badSignature
    /// The signed manifest is not a parameter manifest.
    case invalidManifest
    /// A payload's bytes do not have the manifest's SHA-256.
    case payloadHashMismatch

    /// Whether the refusal is about the signature (the TMS result `S1`).
    public var isSignatureProblem: Bool { [.unsigned, .unknownKey, .revokedKey, .badSignature].contains(self) }
}

/// Builds and verifies parameter packages.
public enum ParameterPackage {
    /// The outcome of ``verify(_:keyring:)``.
    public enum Verification: Sendable, Equatable {
        case verified(VerifiedParameterSet)
        case rejected(ParameterPackageRejection, String)
    }

    /// Checks a whole parameter package: container, a trusted signature over the exact manifest bytes, the manifest,
    /// the payload layout and every payload's SHA-256, in that order. Nothing in it is believed before the step that
    /// checks it.
    /// - Throws: ``CryptoError`` only when libcrypto itself fails.
    public static func verify(_ bytes: [UInt8], keyring: Keyring) throws -> Verification {
        let package: UnverifiedUpdatePackage
        do { package = try UnverifiedUpdatePackage(header: bytes[...]) } catch {
            return .rejected(.malformed, error.reason)
        }
        switch try keyring.verify(package) {
        case .trusted(let keyName):
            let manifest: ParameterManifest
            do { manifest = try ParameterManifest(parsing: package.manifestBytes) } catch {
                return .rejected(.invalidManifest, error.reason)
            }
            let ranges: [Range<Int>]
            do { ranges = try package.checkPayloadLayout(sizes: manifest.payloads.map(\.size), packageLength: bytes.count) } catch {
                return .rejected(.malformed, error.reason)
            }
            var payloads: [String: [UInt8]] = [:]
            for (payload, range) in zip(manifest.payloads, ranges) {
                let content = Array(bytes[range])
                guard try SHA256.hash(content) == payload.sha256 else {
                    return .rejected(.payloadHashMismatch, "payload '\(payload.name)' does not have the manifest's SHA-256")
                }
                payloads[payload.name] = content
            }
            return .verified(VerifiedParameterSet(version: manifest.version, keyName: keyName, payloads: payloads))
        case .unsigned: return .rejected(.unsigned, "the parameter set carries no signature")
        case .unknownKey: return .rejected(.unknownKey, "no signature is by a key of the keyring")
        case .revokedKey: return .rejected(.revokedKey, "signed only by a revoked key")
        case .badSignature: return .rejected(.badSignature, "the signature does not verify")
        }
    }

    /// An unsigned package of `payloads` (name, bytes) as version `version`; sign it with `termtool pkg sign` or
    /// pass `signatures` made over ``ParameterManifest/rendered()``.
    public static func build(version: Int, payloads: [(name: String, bytes: [UInt8])], signatures: [PackageSignature] = []) throws -> [UInt8] {
        try build(version: version, payloads: payloads) { _ in signatures }
    }

    /// A package of `payloads` as version `version`, signed by `sign` over the exact manifest bytes.
    public static func build(
        version: Int, payloads: [(name: String, bytes: [UInt8])], sign: ([UInt8]) throws -> [PackageSignature]
    ) throws -> [UInt8] {
        let manifest = ParameterManifest(
            version: version, payloads: try payloads.map { ($0.name, $0.bytes.count, try SHA256.hash($0.bytes)) })
        let manifestBytes = Array(manifest.rendered().utf8)
        var bytes = UnverifiedUpdatePackage.header(manifest: manifestBytes, signatures: try sign(manifestBytes))
        for payload in payloads { bytes += payload.bytes }
        return bytes
    }

    /// An Ed25519 signature record by `key` over `manifest`.
    public static func ed25519Signature(_ manifest: [UInt8], key: Ed25519.PrivateKey) throws -> PackageSignature {
        PackageSignature(
            algorithm: PackageSignature.ed25519, keyID: try Keyring.Key.ed25519(try key.publicKey()).keyID(),
            signature: try key.signature(for: manifest))
    }
}
