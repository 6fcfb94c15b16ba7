public import Codecs
public import PaymentCrypto

/// The update signing keys a terminal trusts (docs/update-package.md): several keys, so that a signing key can be
/// rotated, and a list of revoked key ids. A TOML file that survives every update:
///
/// ```toml
/// revoked = ["1f2e3d4c5b6a7988"]
///
/// [key.release-2026]
/// algorithm = "ed25519"            # or "ecdsa-p256"
/// public-key = "…hex…"             # 32 bytes (Ed25519) or the 65-byte uncompressed P-256 point
/// ```
public struct Keyring: Sendable {
    /// A trusted public key.
    public enum Key: Sendable, Equatable {
        /// An Ed25519 key.
        case ed25519(Ed25519.PublicKey)
        /// An ECDSA P-256 key (signatures with SHA-256).
        case ecdsaP256(P256.PublicKey)

        /// The key's bytes: the raw Ed25519 key or the uncompressed P-256 point.
        public var publicBytes: [UInt8] {
            switch self {
            case .ed25519(let key): key.rawRepresentation
            case .ecdsaP256(let key): key.x963Representation
            }
        }

        /// The algorithm byte of a ``PackageSignature`` made with this key.
        public var algorithm: UInt8 {
            switch self {
            case .ed25519: PackageSignature.ed25519
            case .ecdsaP256: PackageSignature.ecdsaP256SHA256
            }
        }

        /// The 8-byte key id: the first 8 bytes of the SHA-256 of ``publicBytes``.
        public func keyID() throws -> [UInt8] { Array(try SHA256.hash(publicBytes).prefix(8)) }
    }

    /// What the keyring says about a package's signatures.
    public enum Verdict: Sendable, Equatable {
        /// A signature by a trusted, unrevoked key verifies over the manifest bytes; the key's name.
        case trusted(keyName: String)
        /// The package carries no signature.
        case unsigned
        /// No signature is by a key in the keyring.
        case unknownKey
        /// The only signatures by known keys are by revoked keys.
        case revokedKey
        /// A signature by a trusted key does not verify (or has the wrong algorithm or length).
        case badSignature
    }

    /// The keys by name, in file order.
    public private(set) var keys: [(name: String, key: Key, id: [UInt8])]
    /// Revoked key ids (8 bytes each).
    public private(set) var revoked: [[UInt8]]

    /// A keyring of `keys`, with `revoked` key ids.
    public init(keys: [(name: String, key: Key)], revoked: [[UInt8]] = []) throws {
        self.keys = try keys.map { ($0.name, $0.key, try $0.key.keyID()) }
        self.revoked = revoked
    }

    /// Parses a keyring file.
    /// - Throws: ``UpdatePackageError`` ``UpdatePackageError/Code/invalidKeyring``.
    public init(parsing text: String) throws(UpdatePackageError) {
        let table: TOML.Table
        do { table = try TOML.parse(text) } catch { throw Self.invalid("the keyring is not TOML: \(error)") }
        var revoked: [[UInt8]] = []
        if let value = table["revoked"] {
            guard case .array(let items, _) = value else { throw Self.invalid("'revoked' must be an array of 16-hex-digit key ids") }
            for item in items {
                guard case .string(let hex, _) = item, hex.utf8.count == 16, let id = UpdateManifest.hexBytes(hex) else {
                    throw Self.invalid("'revoked' must be an array of 16-hex-digit key ids")
                }
                revoked.append(id)
            }
        }
        var keys: [(String, Key, [UInt8])] = []
        if case .table(let keyTable)? = table["key"] {
            for name in keyTable.keys {
                guard case .table(let entry)? = keyTable[name],
                      case .string(let algorithm, _)? = entry["algorithm"],
                      case .string(let hex, _)? = entry["public-key"], let bytes = UpdateManifest.hexBytes(hex)
                else { throw Self.invalid("key.\(name) needs 'algorithm' and hex 'public-key'") }
                let key: Key
                switch algorithm {
                case "ed25519":
                    guard let k = try? Ed25519.PublicKey(rawRepresentation: bytes) else { throw Self.invalid("key.\(name) is not an Ed25519 public key") }
                    key = .ed25519(k)
                case "ecdsa-p256":
                    guard let k = try? P256.PublicKey(x963Representation: bytes) else { throw Self.invalid("key.\(name) is not a P-256 public point") }
                    key = .ecdsaP256(k)
                default: throw Self.invalid("key.\(name): algorithm must be ed25519 or ecdsa-p256")
                }
                guard let id = try? key.keyID() else { throw Self.invalid("key.\(name): cannot hash the key") }
                keys.append((name, key, id))
            }
        } else if table["key"] != nil {
            throw Self.invalid("'key' must be tables [key.NAME]")
        }
        guard !keys.isEmpty else { throw Self.invalid("the keyring holds no [key.NAME]") }
        self.keys = keys
        self.revoked = revoked
    }

    /// Checks the signatures of `package` over its exact manifest bytes. Revoked ids win over the key list.
    /// - Throws: ``CryptoError`` only if libcrypto itself fails.
    public func verify(_ package: UnverifiedUpdatePackage) throws -> Verdict {
        guard !package.signatures.isEmpty else { return .unsigned }
        var sawRevoked = false, sawBad = false
        for signature in package.signatures {
            if revoked.contains(signature.keyID) {
                sawRevoked = true
                continue
            }
            guard let entry = keys.first(where: { $0.id == signature.keyID }) else { continue }
            guard entry.key.algorithm == signature.algorithm, signature.signature.count == 64 else {
                sawBad = true
                continue
            }
            let valid: Bool
            switch entry.key {
            case .ed25519(let key): valid = try key.isValidSignature(signature.signature, for: package.manifestBytes)
            case .ecdsaP256(let key):
                let parsed = try P256.Signature(rawRepresentation: signature.signature)
                valid = try key.isValidSignature(parsed, for: package.manifestBytes)
            }
            if valid { return .trusted(keyName: entry.name) }
            sawBad = true
        }
        return sawBad ? .badSignature : sawRevoked ? .revokedKey : .unknownKey
    }

    /// The keyring as TOML text (`termtool pkg keygen` prints one entry).
    public func rendered() -> String {
        var text = ""
        if !revoked.isEmpty { text += "revoked = [\(revoked.map { "\"\(Hex.encode($0).lowercased())\"" }.joined(separator: ", "))]\n" }
        for entry in keys {
            let algorithm = entry.key.algorithm == PackageSignature.ed25519 ? "ed25519" : "ecdsa-p256"
            text += "\n[key.\(entry.name)]\nalgorithm = \"\(algorithm)\"\npublic-key = \"\(Hex.encode(entry.key.publicBytes).lowercased())\"\n"
        }
        return text
    }

    private static func invalid(_ reason: String) -> UpdatePackageError { UpdatePackageError(.invalidKeyring, reason) }
}
