import Codecs
import PaymentCrypto
import Testing
import TestKit
import UpdatePackage

@Suite("Update package codec")
struct UpdatePackageCodecTests {
    @Test("header round trip; every truncation is an error, never a crash")
    func headerRoundTrip() throws {
        let fixture = try UpdateFixture()
        let bytes = try fixture.package(version: "1.2.3")
        let parsed = try UnverifiedUpdatePackage(header: bytes[...])
        #expect(parsed.signatures.count == 1)
        let manifest = try UpdateManifest(parsing: parsed.manifestBytes)
        #expect(manifest.version == FirmwareVersion(major: 1, minor: 2, patch: 3))
        let ranges = try parsed.checkPayloadLayout(sizes: manifest.payloads.map(\.size), packageLength: bytes.count)
        #expect(ranges.last?.upperBound == bytes.count)
        for length in 0..<parsed.headerLength {
            #expect(throws: UpdatePackageError.self) { try UnverifiedUpdatePackage(header: bytes.prefix(length)) }
        }
        // A slice not starting at 0 parses the same.
        let shifted = ([0xEE] + bytes).dropFirst()
        #expect(try UnverifiedUpdatePackage(header: shifted).headerLength == parsed.headerLength)
    }

    @Test("unsafe payload paths are refused", arguments: [
        "../evil", "/etc/passwd", "bin/../../x", "bin//terminal", "./terminal", "bin/.hidden", "", "bin/terminal/",
        "a b", "bin\\terminal", "ü", "a/b/c/d/e/f/g/h/i",
    ])
    func unsafePaths(path: String) {
        #expect(throws: UpdatePackageError(.unsafePath, "")) { try UpdateManifest.checkPath(path) }
    }

    @Test("manifest fields are checked")
    func manifestFields() throws {
        let good = """
            format = 1
            product = "payment-terminal"
            boards = ["sim"]
            version = "1.0.0"
            minimum-version = "0.9.0"
            security-counter = 2

            [payload.firmware]
            path = "bin/terminal"
            role = "firmware"
            size = 3
            sha256 = "\(String(repeating: "ab", count: 32))"

            """
        let manifest = try UpdateManifest(parsing: Array(good.utf8))
        #expect(try UpdateManifest(parsing: Array(manifest.rendered().utf8)) == manifest)
        for (from, to) in [
            ("format = 1", "format = 2"), ("\"1.0.0\"", "\"1.0\""), ("security-counter = 2", "security-counter = -1"),
            ("size = 3", "size = -3"), ("role = \"firmware\"", "role = \"unit\""), ("boards = [\"sim\"]", "boards = []"),
            ("size = 3", "size = 3\nowner = \"root\""), ("sha256 = \"ab", "sha256 = \"zz"),
        ] {
            let bad = good.replacing(from, with: to)
            #expect(throws: UpdatePackageError.self, "\(to)") { try UpdateManifest(parsing: Array(bad.utf8)) }
        }
        #expect(throws: UpdatePackageError(.invalidManifest, "")) { try UpdateManifest(parsing: [0xFF, 0xFE]) }
    }

    @Test("versions compare numerically")
    func versions() throws {
        #expect(try FirmwareVersion(parsing: "1.10.0") > FirmwareVersion(parsing: "1.9.9"))
        for bad in ["1.0", "1.0.0.0", "1.-1.0", "+1.0.0", "1.0.a", "", "1..0", "1234567890.0.0"] {
            #expect(throws: UpdatePackageError(.invalidVersion, "")) { try FirmwareVersion(parsing: bad) }
        }
    }

    @Test("keyring: Ed25519 and P-256 verify; unknown, revoked and bad signatures are told apart")
    func keyring() throws {
        let fixture = try UpdateFixture()
        let ring = try Keyring(parsing: fixture.keyring.rendered())
        func verdict(_ signer: UpdateFixture.Signer) throws -> Keyring.Verdict {
            try ring.verify(UnverifiedUpdatePackage(header: fixture.package(version: "1.0.0", signer: signer)[...]))
        }
        #expect(try verdict(.release) == .trusted(keyName: "release"))
        #expect(try verdict(.rotated) == .trusted(keyName: "rotated"))
        #expect(try verdict(.stranger) == .unknownKey)
        #expect(try verdict(.revoked) == .revokedKey)
        #expect(try verdict(.none) == .unsigned)
        var bytes = try fixture.package(version: "1.0.0")
        let parsed = try UnverifiedUpdatePackage(header: bytes[...])
        bytes[parsed.headerLength - 1] ^= 0x01
        #expect(try ring.verify(UnverifiedUpdatePackage(header: bytes[...])) == .badSignature)
    }

    @Test("incremental SHA-256 equals the one-shot digest")
    func incrementalHash() throws {
        var rng = SplitMix(state: 7)
        let data = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let hasher = try SHA256.Hasher()
        var index = 0
        while index < data.count {
            let n = min(Int.random(in: 1...9000, using: &rng), data.count - index)
            try hasher.update(data[index..<(index + n)])
            index += n
        }
        #expect(try hasher.finalize() == SHA256.hash(data))
    }
}
