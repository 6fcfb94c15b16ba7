/// Bytes that must not leak: keys, PINs, clear PIN blocks, session keys.
///
/// - Storage is one heap block owned by a final class; `deinit` overwrites the whole block with `OPENSSL_cleanse`
///   before freeing it, so a released secret does not linger in freed memory.
/// - The bytes are reachable only inside ``withUnsafeBytes(_:)``. There is no `description`, no `Codable`, no
///   `Hashable`, and reflection (`dump`, `Mirror`, string interpolation) shows no children.
/// - `==` compares in constant time (`CRYPTO_memcmp`); only the lengths may differ fast.
/// - Values are immutable: operations build new secrets. Copies of a `SecretBytes` share one storage, which lives
///   until the last copy is gone.
///
/// Making one from an `[UInt8]` (``init(_:)``) copies the bytes; the caller's array is not wiped and should be
/// short-lived (tests, key material typed in by a support engineer). Producers inside this module write straight
/// into the storage with ``init(count:initializingWith:)``.
///
/// See apple/swift-crypto `Sources/Crypto/Util/SecureBytes.swift` for the model (STYLE.md B8).
public struct SecretBytes: Sendable {
    /// The owning storage. Allocated and filled once in `init`, never written afterwards, zeroized in `deinit`.
    final class Storage: @unchecked Sendable {
        // @unchecked Sendable: `pointer` is written only during initialization (before the storage is shared) and
        // freed in deinit, when no other reference can exist; concurrent reads of immutable bytes are safe.
        let pointer: UnsafeMutableRawPointer
        let count: Int

        init(count: Int) {
            precondition(count >= 0, "a secret cannot have a negative length")
            self.count = count
            // One byte at least, so `pointer` is always a valid allocation even for an empty secret.
            self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
            self.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        }

        deinit {
            secureZero(pointer, max(count, 1))
            pointer.deallocate()
        }
    }

    let storage: Storage

    /// A secret of `count` bytes that `body` writes in place. If `body` throws, the partial bytes are wiped.
    public init(count: Int, initializingWith body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let storage = Storage(count: count)
        try body(UnsafeMutableRawBufferPointer(start: storage.pointer, count: count))
        self.storage = storage
    }

    /// A secret holding a copy of `bytes`. The array itself is not wiped: keep such arrays short-lived.
    public init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { out in
            bytes.withUnsafeBytes { out.copyMemory(from: $0) }
        }
    }

    /// A secret of `count` zero bytes.
    public init(zeros count: Int) {
        self.init(count: count) { _ in }
    }

    /// Parses hex text (as support tools and test vectors write keys) straight into secret storage, without an
    /// intermediate array. Spaces are ignored. `nil` for an odd number of digits or a non-hex character.
    public init?(hexEncoded text: some StringProtocol) {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        // First pass: validate and count, so the digits are never gathered into an array of their own.
        var digitCount = 0
        for c in text.utf8 where c != UInt8(ascii: " ") {
            guard nibble(c) != nil else { return nil }
            digitCount += 1
        }
        guard digitCount % 2 == 0 else { return nil }
        self.init(count: digitCount / 2) { out in
            var index = 0
            var high: UInt8?
            for c in text.utf8 where c != UInt8(ascii: " ") {
                // Validated above, so the nibble exists.
                let n = nibble(c) ?? 0
                if let h = high {
                    out[index] = h << 4 | n
                    index += 1
                    high = nil
                } else {
                    high = n
                }
            }
        }
    }

    /// The number of bytes.
    public var count: Int { storage.count }

    /// Whether the secret holds no bytes.
    public var isEmpty: Bool { storage.count == 0 }

    /// Calls `body` with the bytes. Don't let the pointer escape, and don't copy the bytes into arrays or strings
    /// that outlive the call.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// The bytes `range` as a new secret.
    public func slice(_ range: Range<Int>) -> SecretBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "secret slice out of bounds")
        return withUnsafeBytes { src in
            SecretBytes(count: range.count) { out in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[range]))
            }
        }
    }

    /// This secret followed by `other`.
    public func appending(_ other: SecretBytes) -> SecretBytes {
        withUnsafeBytes { a in
            other.withUnsafeBytes { b in
                SecretBytes(count: a.count + b.count) { out in
                    out.copyMemory(from: a)
                    UnsafeMutableRawBufferPointer(rebasing: out[a.count...]).copyMemory(from: b)
                }
            }
        }
    }

    /// The exclusive-or of this secret with `mask`, which must be as long.
    public func xor(_ mask: some CryptoBytes) -> SecretBytes {
        withUnsafeBytes { a in
            mask.withUnsafeBytes { b in
                precondition(a.count == b.count, "xor of secrets of different lengths")
                return SecretBytes(count: a.count) { out in
                    for i in 0..<a.count { out[i] = a[i] ^ b[i] }
                }
            }
        }
    }
}

extension SecretBytes: Equatable {
    /// Constant-time comparison (`CRYPTO_memcmp`); the lengths are compared first and are not secret.
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }
}

extension SecretBytes: CustomReflectable {
    /// No children: `dump`, `Mirror` and string interpolation show nothing of the bytes.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Contiguous bytes the crypto functions read: `[UInt8]`, `ArraySlice<UInt8>` and ``SecretBytes``.
public protocol CryptoBytes {
    /// Calls `body` with the bytes; the pointer is valid only during the call.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: CryptoBytes where Element == UInt8 {}
extension ArraySlice: CryptoBytes where Element == UInt8 {}
extension SecretBytes: CryptoBytes {}

extension CryptoBytes {
    /// The number of bytes.
    var byteCount: Int { withUnsafeBytes { $0.count } }
}

extension SecretBytes {
    /// Compares with non-secret bytes (a received MAC, an expected cryptogram) in constant time.
    public func constantTimeEquals(_ other: some CryptoBytes) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }
}

/// Compares two byte strings (MACs, cryptograms) in time that depends only on their lengths (`CRYPTO_memcmp`).
public func constantTimeEquals(_ a: some CryptoBytes, _ b: some CryptoBytes) -> Bool {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in constantTimeEqual(pa, pb) } }
}
