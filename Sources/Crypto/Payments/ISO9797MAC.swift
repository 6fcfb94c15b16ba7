/// ISO/IEC 9797-1:2011 MAC algorithms 1 (CBC-MAC) and 3 (the "retail MAC" of ANSI X9.19) over DES/TDES, with
/// padding methods 1 and 2. For AES-CMAC (MAC algorithm 5) use ``AES/CMAC``.
public enum ISO9797MAC {
    /// ISO/IEC 9797-1:2011 clause 6.3 padding methods.
    public enum Padding: Int, Sendable, CaseIterable {
        /// Method 1: zero bytes up to a whole block; an empty message becomes one zero block.
        case method1 = 1
        /// Method 2: one `80` byte, then zero bytes up to a whole block.
        case method2 = 2
    }

    /// MAC algorithm 1 (clause 7.2): CBC-MAC with zero IV, output transformation 1 (none). The block cipher is
    /// single DES for an 8-byte key and TDES for a 16- or 24-byte key.
    /// - Parameters:
    ///   - data: the message.
    ///   - key: 8, 16 or 24 bytes.
    ///   - padding: padding method 1 or 2.
    ///   - length: the MAC length in bytes, 4 to 8 (the leftmost bytes, clause 7.3 truncation).
    /// - Throws: ``CryptoError`` for a wrong key length or `length`.
    public static func algorithm1(_ data: some CryptoBytes, key: SecretBytes, padding: Padding, length: Int = 8) throws
        -> [UInt8]
    {
        try checkLength(length)
        guard [8, 16, 24].contains(key.count) else {
            throw CryptoError.keyLength(key.count, allowed: [8, 16, 24], for: "ISO 9797-1 MAC algorithm 1")
        }
        let padded = pad(data, padding)
        let chained = try blockCipherPublic(
            .tdes, .cbc, key: key, allowedKeyLengths: [8, 16, 24], iv: [UInt8](repeating: 0, count: 8), encrypt: true,
            input: padded, algorithmName: "DES-CBC")
        return Array(chained.suffix(8).prefix(length))
    }

    /// MAC algorithm 3 (clause 7.4, ANSI X9.19 retail MAC): single-DES CBC-MAC under K, then output transformation
    /// 3: decrypt with K′ and encrypt with K.
    /// - Parameters:
    ///   - data: the message.
    ///   - key: 16 bytes, K || K′.
    ///   - padding: padding method 1 or 2.
    ///   - length: the MAC length in bytes, 4 to 8.
    /// - Throws: ``CryptoError`` for a wrong key length or `length`.
    public static func algorithm3(_ data: some CryptoBytes, key: SecretBytes, padding: Padding, length: Int = 8) throws
        -> [UInt8]
    {
        try checkLength(length)
        guard key.count == 16 else {
            throw CryptoError.keyLength(key.count, allowed: [16], for: "ISO 9797-1 MAC algorithm 3")
        }
        let k = key.slice(0..<8)
        let kPrime = key.slice(8..<16)
        let padded = pad(data, padding)
        let chained = try blockCipherPublic(
            .tdes, .cbc, key: k, allowedKeyLengths: [8], iv: [UInt8](repeating: 0, count: 8), encrypt: true,
            input: padded, algorithmName: "DES-CBC")
        let last = Array(chained.suffix(8))
        let decrypted = try Insecure.DES.ECB.decrypt(last, key: kPrime)
        let mac = try Insecure.DES.ECB.encrypt(decrypted, key: k)
        return Array(mac.prefix(length))
    }

    /// Padding method 1 or 2 to whole 8-byte blocks (clause 6.3.1 and 6.3.2).
    static func pad(_ data: some CryptoBytes, _ padding: Padding, blockSize: Int = 8) -> [UInt8] {
        var out = data.withUnsafeBytes { Array($0) }
        switch padding {
        case .method1:
            if out.isEmpty || out.count % blockSize != 0 {
                out += [UInt8](repeating: 0, count: blockSize - out.count % blockSize)
            }
        case .method2:
            out.append(0x80)
            if out.count % blockSize != 0 { out += [UInt8](repeating: 0, count: blockSize - out.count % blockSize) }
        }
        return out
    }

    private static func checkLength(_ length: Int) throws {
        guard (4...8).contains(length) else {
            throw CryptoError(.invalidParameter, "an ISO 9797-1 DES MAC is 4 to 8 bytes, not \(length)")
        }
    }
}
