import Codecs
import PaymentCrypto

/// Bytes from a hex vector (test data is well-formed by construction).
func bytes(_ hex: String) -> [UInt8] {
    guard let b = Hex.decode(hex) else { preconditionFailure("bad hex in a test vector") }
    return b
}

/// A secret from a hex vector.
func secret(_ hex: String) -> SecretBytes {
    guard let s = SecretBytes(hexEncoded: hex) else { preconditionFailure("bad hex in a test vector") }
    return s
}

/// A secret holding ASCII digits (PINs).
func digits(_ text: String) -> SecretBytes { SecretBytes(Array(text.utf8)) }

/// Upper-case hex of bytes or a secret (tests only: revealing test keys is the point).
func hex(_ b: [UInt8]) -> String { Hex.encode(b) }
func hex(_ s: SecretBytes) -> String { s.withUnsafeBytes { Hex.encode($0) } }
func text(_ s: SecretBytes) -> String { s.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

/// A random source pinned to a byte pattern, repeated as needed; every call starts at the pattern's beginning.
struct FixedRandom: RandomSource {
    let pattern: [UInt8]
    init(_ pattern: [UInt8]) { self.pattern = pattern }
    func bytes(_ count: Int) throws -> [UInt8] { (0..<count).map { pattern[$0 % pattern.count] } }
}
