/// The container of an update package (docs/update-package.md), read but not yet trusted:
///
/// ```
/// magic "TRMPKG" | container version (1 byte, 1) | signature count (1 byte, 1...8) | manifest length (4 bytes, big endian, ≤ 64 KiB)
/// manifest (UTF-8 TOML, the exact bytes that are signed)
/// per signature: algorithm (1 byte) | key id (8 bytes) | signature length (1 byte) | signature
/// payload files, concatenated in manifest order, nothing after the last one
/// ```
///
/// Parsing checks every length against the bytes actually there and against a fixed limit; it never parses the
/// manifest (that happens only after a trusted signature, see `Keyring`). The payload sizes come from the manifest
/// and are believed only after ``checkPayloadLayout(sizes:packageLength:)`` and the hashes have checked them.
public struct UnverifiedUpdatePackage: Sendable {
    /// The package magic, "TRMPKG".
    public static let magic: [UInt8] = Array("TRMPKG".utf8)
    /// The only container version this code reads.
    public static let containerVersion: UInt8 = 1
    /// The largest manifest accepted.
    public static let maximumManifestLength = 64 * 1024
    /// The most signatures a package may carry.
    public static let maximumSignatures = 8
    /// A header never exceeds this many bytes; read at most this much before parsing.
    public static let maximumHeaderLength = 12 + maximumManifestLength + maximumSignatures * (10 + 255)

    /// The exact manifest bytes, as signed.
    public let manifestBytes: [UInt8]
    /// The signatures over ``manifestBytes``.
    public let signatures: [PackageSignature]
    /// Where the first payload file starts, from the start of the package.
    public let headerLength: Int

    /// Parses the header at the start of `bytes` (at least the header; payload bytes after it are not looked at).
    /// - Throws: ``UpdatePackageError`` `notAPackage`, `truncated` or `invalidLength`.
    public init(header bytes: ArraySlice<UInt8>) throws(UpdatePackageError) {
        var input = bytes
        guard input.count >= 12 else {
            if input.starts(with: Self.magic.prefix(input.count)) && !input.isEmpty {
                throw UpdatePackageError(.truncated, "the package ends inside its 12-byte header")
            }
            throw UpdatePackageError(.notAPackage, "not an update package (no TRMPKG magic)")
        }
        guard input.starts(with: Self.magic) else { throw UpdatePackageError(.notAPackage, "not an update package (no TRMPKG magic)") }
        input = input.dropFirst(Self.magic.count)
        let version = input[input.startIndex], count = Int(input[input.startIndex + 1])
        guard version == Self.containerVersion else {
            throw UpdatePackageError(.notAPackage, "container version \(version) is not supported (this terminal reads 1)")
        }
        guard count <= Self.maximumSignatures else {
            throw UpdatePackageError(.invalidLength, "\(count) signatures (at most \(Self.maximumSignatures))")
        }
        input = input.dropFirst(2)
        let length = input.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        input = input.dropFirst(4)
        guard length <= Self.maximumManifestLength else {
            throw UpdatePackageError(.invalidLength, "a manifest of \(length) bytes (at most \(Self.maximumManifestLength))")
        }
        guard input.count >= length else { throw UpdatePackageError(.truncated, "the package ends inside its manifest") }
        manifestBytes = Array(input.prefix(length))
        input = input.dropFirst(length)
        var signatures: [PackageSignature] = []
        for index in 0..<count {
            guard input.count >= 10 else { throw UpdatePackageError(.truncated, "the package ends inside signature \(index + 1)") }
            let algorithm = input[input.startIndex]
            let keyID = Array(input[(input.startIndex + 1)..<(input.startIndex + 9)])
            let signatureLength = Int(input[input.startIndex + 9])
            input = input.dropFirst(10)
            guard input.count >= signatureLength else { throw UpdatePackageError(.truncated, "the package ends inside signature \(index + 1)") }
            signatures.append(PackageSignature(algorithm: algorithm, keyID: keyID, signature: Array(input.prefix(signatureLength))))
            input = input.dropFirst(signatureLength)
        }
        self.signatures = signatures
        headerLength = input.startIndex - bytes.startIndex
    }

    /// Checks that payload files of `sizes` (from the manifest, in order) fill the package of `packageLength` bytes
    /// exactly after the header, and returns each file's byte range in the package.
    /// - Throws: ``UpdatePackageError`` `truncated` when the package is shorter, `invalidLength` when it is longer
    ///   or a size is negative or overflows.
    public func checkPayloadLayout(sizes: [Int], packageLength: Int) throws(UpdatePackageError) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var offset = headerLength
        for size in sizes {
            guard size >= 0 else { throw UpdatePackageError(.invalidLength, "a negative payload size") }
            let (end, overflow) = offset.addingReportingOverflow(size)
            guard !overflow, end <= packageLength else {
                throw UpdatePackageError(.truncated, "the manifest's payload sizes run past the end of the package (\(packageLength) bytes)")
            }
            ranges.append(offset..<end)
            offset = end
        }
        guard offset == packageLength else {
            throw UpdatePackageError(.invalidLength, "\(packageLength - offset) bytes after the last payload file")
        }
        return ranges
    }

    /// Serializes a header: the package is this followed by the payload files in manifest order.
    public static func header(manifest: [UInt8], signatures: [PackageSignature]) -> [UInt8] {
        precondition(manifest.count <= maximumManifestLength && signatures.count <= maximumSignatures, "package header over its limits")
        var out = magic + [containerVersion, UInt8(signatures.count)]
        let n = UInt32(manifest.count)
        out += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
        out += manifest
        for signature in signatures {
            precondition(signature.keyID.count == 8 && signature.signature.count <= 255, "malformed package signature")
            out += [signature.algorithm] + signature.keyID + [UInt8(signature.signature.count)] + signature.signature
        }
        return out
    }
}

/// One signature over the manifest bytes.
public struct PackageSignature: Sendable, Equatable {
    /// Ed25519 (RFC 8032), 64-byte signature.
    public static let ed25519: UInt8 = 1
    /// ECDSA P-256 with SHA-256, 64-byte r || s.
    public static let ecdsaP256SHA256: UInt8 = 2

    /// ``ed25519`` or ``ecdsaP256SHA256``; other values are kept and refused by the keyring.
    public let algorithm: UInt8
    /// The first 8 bytes of the SHA-256 of the signer's public key (raw Ed25519 key, or the 65-byte P-256 point).
    public let keyID: [UInt8]
    /// The signature bytes.
    public let signature: [UInt8]

    /// Makes a signature record.
    public init(algorithm: UInt8, keyID: [UInt8], signature: [UInt8]) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.signature = signature
    }
}
