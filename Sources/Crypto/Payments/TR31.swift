/// One optional block of a TR-31 header (ANSI X9.143-2022 / ASC X9 TR-31:2018 clause A.5.6): a two-character ID
/// and printable ASCII data.
public struct TR31OptionalBlock: Sendable, Equatable {
    /// Two characters, e.g. `KS` (key set identifier: the initial KSN of TDES DUKPT), `IK` (initial key ID of AES
    /// DUKPT), `KV` (key block values version), `PB` (padding).
    public var id: String
    /// The block's data (printable ASCII).
    public var data: String

    /// A block.
    public init(id: String, data: String) {
        self.id = id
        self.data = data
    }
}

/// The clear header of a TR-31 key block (TR-31:2018 clause A.5).
public struct TR31Header: Sendable, Equatable {
    /// Key block version ID (clause A.5.1). This module wraps and unwraps versions B and D.
    public enum Version: Character, Sendable {
        /// TDES key derivation binding method (TR-31:2018 clause 5.3.2.1): TDES-CMAC derived keys, 8-byte MAC.
        case b = "B"
        /// AES key derivation binding method (clause 5.3.2.3): AES-CMAC derived keys, 16-byte MAC.
        case d = "D"

        var blockSize: Int { self == .b ? 8 : 16 }
        var macLength: Int { self == .b ? 8 : 16 }
    }

    /// The version ID.
    public var version: Version
    /// Key usage, two characters (clause A.5.3), e.g. `B1` initial DUKPT key, `P0` PIN encryption, `K0` KEK.
    public var keyUsage: String
    /// Algorithm (clause A.5.4): `T` TDES, `A` AES, `H` HMAC, `R` RSA, `E` ECC.
    public var algorithm: Character
    /// Mode of use (clause A.5.5): `X` key derivation, `E` encrypt only, `B` both, `N` no special restrictions …
    public var modeOfUse: Character
    /// Key version number, two characters (`00` when unused).
    public var keyVersionNumber: String
    /// Exportability (clause A.5.7): `E`, `N` or `S`.
    public var exportability: Character
    /// The optional blocks in order (a `PB` padding block is added by ``TR31/wrap(key:header:kbpk:random:maskedKeyLength:)``
    /// when needed).
    public var optionalBlocks: [TR31OptionalBlock]

    /// A header.
    public init(
        version: Version, keyUsage: String, algorithm: Character, modeOfUse: Character, keyVersionNumber: String = "00",
        exportability: Character, optionalBlocks: [TR31OptionalBlock] = []
    ) {
        self.version = version
        self.keyUsage = keyUsage
        self.algorithm = algorithm
        self.modeOfUse = modeOfUse
        self.keyVersionNumber = keyVersionNumber
        self.exportability = exportability
        self.optionalBlocks = optionalBlocks
    }

    /// The data of the first optional block with `id`.
    public func optionalBlock(_ id: String) -> String? { optionalBlocks.first { $0.id == id }?.data }
}

/// TR-31 key blocks (ASC X9 TR-31:2018, the basis of ANSI X9.143): versions B (TDES) and D (AES), unwrapped with a
/// MAC check, and wrapped (for tests and test keys). A terminal unwraps the block that carries its DUKPT initial key.
public enum TR31 {
    /// What ``unwrapDUKPTInitialKey(_:kbpk:)`` loads.
    public enum DUKPTInitialKey: Sendable {
        /// A TDES DUKPT initial key (IPEK) and the device's initial KSN (optional block `KS`).
        case tdes(initialKey: SecretBytes, keySerialNumber: TDESDUKPT.KeySerialNumber)
        /// An AES DUKPT initial key and its 8-byte initial key ID (optional block `IK`).
        case aes(initialKey: SecretBytes, initialKeyID: [UInt8])
    }

    /// Checks and decrypts a key block.
    ///
    /// Steps: parse the header and optional blocks (clause A.5), check the block length field, the block-size
    /// alignment and the hex; derive the key block encryption and MAC keys from the KBPK (version B: TDES-CMAC,
    /// TR-31:2018 clause 5.3.2.1; version D: AES-CMAC, clause 5.3.2.3, NIST SP 800-108 counter mode); decrypt the key
    /// data with CBC and the MAC as IV; verify the MAC over header || clear key data in constant time; read the 2-byte
    /// key length in bits and the key.
    /// - Parameters:
    ///   - keyBlock: the ASCII key block.
    ///   - kbpk: the key block protection key: 16 or 24 bytes (TDES) for B, 16, 24 or 32 bytes (AES) for D.
    /// - Returns: the header and the key.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/malformedKeyBlock`` (syntax, truncation, bad payload),
    ///   ``CryptoError/Code/authenticationFailure`` (MAC mismatch: wrong KBPK or tampered block),
    ///   ``CryptoError/Code/unsupported`` (versions other than B and D), ``CryptoError/Code/invalidKeyLength``.
    public static func unwrap(_ keyBlock: String, kbpk: SecretBytes) throws -> (header: TR31Header, key: SecretBytes) {
        let ascii = Array(keyBlock.utf8)
        let (header, headerLength) = try parseHeader(ascii)
        let version = header.version
        try checkKBPK(kbpk, version)
        guard ascii.count % version.blockSize == 0 else {
            throw CryptoError(.malformedKeyBlock, "a version \(version.rawValue) key block is a multiple of \(version.blockSize) characters")
        }
        let body = ascii[headerLength...]
        let macHex = 2 * version.macLength
        guard body.count >= macHex + 2 * version.blockSize else {
            throw CryptoError(.malformedKeyBlock, "the key block has no room for key data and MAC")
        }
        guard let encrypted = KeyBlockHex.bytes(body.dropLast(macHex)), let mac = KeyBlockHex.bytes(body.suffix(macHex)),
              encrypted.count % version.blockSize == 0
        else { throw CryptoError(.malformedKeyBlock, "the key data or MAC is not whole blocks of hex") }
        let (kbek, kbmk) = try deriveKeys(kbpk, version)
        let clear: SecretBytes
        switch version {
        case .b: clear = try Insecure.TDES.CBC.decrypt(encrypted, key: kbek, iv: mac)
        case .d: clear = try AES.CBC.decrypt(encrypted, key: kbek, iv: mac)
        }
        let expected = try computeMAC(version, kbmk: kbmk, header: Array(ascii[..<headerLength]), clearKeyData: clear)
        guard expected.constantTimeEquals(mac) else { throw CryptoError.authenticationFailure() }
        let key = try clear.withUnsafeBytes { c -> SecretBytes in
            let bits = Int(c[0]) << 8 | Int(c[1])
            guard bits % 8 == 0, bits > 0, bits / 8 <= c.count - 2 else {
                throw CryptoError(.malformedKeyBlock, "the decrypted key length field does not fit the key data")
            }
            return SecretBytes(count: bits / 8) { out in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: c[2..<(2 + bits / 8)]))
            }
        }
        return (header, key)
    }

    /// Wraps `key` in a key block of `header`'s version (for test keys and tests; terminals only unwrap).
    ///
    /// The clear key data is the 2-byte key length in bits, the key, and random padding up to `maskedKeyLength`
    /// (default: 24 bytes for TDES keys, 32 for AES, TR-31:2018 clause A.6.2 key length masking) and the cipher block.
    /// A `PB` optional block pads the header to whole cipher blocks when needed.
    /// - Throws: ``CryptoError`` for a wrong KBPK length or a header that cannot be encoded.
    public static func wrap(
        key: SecretBytes, header: TR31Header, kbpk: SecretBytes, random: some RandomSource, maskedKeyLength: Int? = nil
    ) throws -> String {
        let version = header.version
        try checkKBPK(kbpk, version)
        guard key.count > 0, key.count <= 4096 else { throw CryptoError(.invalidParameter, "a key of \(key.count) bytes") }
        var header = header
        header.optionalBlocks.removeAll { $0.id == "PB" }
        var blocks = try encodeOptionalBlocks(header.optionalBlocks)
        let bs = version.blockSize
        if (16 + blocks.count) % bs != 0 {
            // A PB block of at least 4 characters (ID and length) that fills the header to a whole block.
            var padLength = bs - (16 + blocks.count) % bs
            if padLength < 4 { padLength += bs }
            header.optionalBlocks.append(TR31OptionalBlock(id: "PB", data: String(repeating: "0", count: padLength - 4)))
            blocks = try encodeOptionalBlocks(header.optionalBlocks)
        }
        let defaultMask = header.algorithm == "T" ? 24 : 32
        let masked = max(maskedKeyLength ?? defaultMask, key.count)
        var dataLength = 2 + masked
        if dataLength % bs != 0 { dataLength += bs - dataLength % bs }
        let padding = try random.checkedBytes(dataLength - 2 - key.count)
        let clear = key.withUnsafeBytes { k in
            SecretBytes(count: dataLength) { out in
                let bits = k.count * 8
                out[0] = UInt8(bits >> 8)
                out[1] = UInt8(bits & 0xFF)
                UnsafeMutableRawBufferPointer(rebasing: out[2..<(2 + k.count)]).copyMemory(from: k)
                for i in 0..<padding.count { out[2 + k.count + i] = padding[i] }
            }
        }
        let total = 16 + blocks.count + 2 * dataLength + 2 * version.macLength
        guard total <= 9999 else { throw CryptoError(.invalidParameter, "a key block longer than 9999 characters") }
        let headerASCII = try encodeFixedHeader(header, totalLength: total) + blocks
        let (kbek, kbmk) = try deriveKeys(kbpk, version)
        let mac = try computeMAC(version, kbmk: kbmk, header: headerASCII, clearKeyData: clear)
        let macBytes = mac.withUnsafeBytes { Array($0) }
        let encrypted: [UInt8]
        switch version {
        case .b: encrypted = try Insecure.TDES.CBC.encrypt(clear, key: kbek, iv: macBytes)
        case .d: encrypted = try AES.CBC.encrypt(clear, key: kbek, iv: macBytes)
        }
        return String(decoding: headerASCII, as: UTF8.self) + KeyBlockHex.string(encrypted) + KeyBlockHex.string(macBytes)
    }

    /// Unwraps the block that loads a DUKPT initial key into the terminal: key usage `B1` (initial DUKPT key), with
    /// algorithm `T` and optional block `KS` (the 10-byte initial KSN as 20 hex digits) for TDES DUKPT, or
    /// algorithm `A` and optional block `IK` (the 8-byte initial key ID as 16 hex digits) for AES DUKPT.
    /// A `B0` block (a BDK) is refused: a BDK never belongs in a terminal.
    /// - Throws: everything ``unwrap(_:kbpk:)`` throws, and ``CryptoError/Code/invalidParameter`` for another key
    ///   usage or algorithm, ``CryptoError/Code/malformedKeyBlock`` for a missing or bad `KS`/`IK` block.
    public static func unwrapDUKPTInitialKey(_ keyBlock: String, kbpk: SecretBytes) throws -> DUKPTInitialKey {
        let (header, key) = try unwrap(keyBlock, kbpk: kbpk)
        guard header.keyUsage == "B1" else {
            throw CryptoError(.invalidParameter, "key usage \(header.keyUsage) is not B1 (initial DUKPT key)")
        }
        switch header.algorithm {
        case "T":
            guard key.count == 16 else {
                throw CryptoError(.invalidKeyLength, "a TDES DUKPT initial key is 16 bytes, not \(key.count)")
            }
            guard let ks = header.optionalBlock("KS"), let bytes = KeyBlockHex.bytes(Array(ks.utf8)[...]), bytes.count == 10 else {
                throw CryptoError(.malformedKeyBlock, "no 20-hex-digit KS optional block with the initial KSN")
            }
            return .tdes(initialKey: key, keySerialNumber: try TDESDUKPT.KeySerialNumber(bytes).initial)
        case "A":
            guard AESDUKPT.KeyType.aes(byteCount: key.count) != nil else {
                throw CryptoError(.invalidKeyLength, "an AES DUKPT initial key is 16, 24 or 32 bytes, not \(key.count)")
            }
            guard let ik = header.optionalBlock("IK"), let bytes = KeyBlockHex.bytes(Array(ik.utf8)[...]), bytes.count == 8 else {
                throw CryptoError(.malformedKeyBlock, "no 16-hex-digit IK optional block with the initial key ID")
            }
            return .aes(initialKey: key, initialKeyID: bytes)
        default:
            throw CryptoError(.invalidParameter, "algorithm \(header.algorithm) is not a DUKPT algorithm (T or A)")
        }
    }

    // MARK: - Header

    static func parseHeader(_ ascii: [UInt8]) throws -> (TR31Header, Int) {
        guard ascii.count >= 16 else { throw CryptoError(.malformedKeyBlock, "a key block is at least 16 characters") }
        for c in ascii where c < 0x20 || c > 0x7E {
            throw CryptoError(.malformedKeyBlock, "a key block is printable ASCII")
        }
        func text(_ r: Range<Int>) -> String { String(decoding: ascii[r], as: UTF8.self) }
        guard let version = TR31Header.Version(rawValue: Character(UnicodeScalar(ascii[0]))) else {
            if [UInt8(ascii: "A"), UInt8(ascii: "C")].contains(ascii[0]) {
                throw CryptoError(.unsupported, "key block version \(text(0..<1)) (variant binding) is not supported")
            }
            throw CryptoError(.malformedKeyBlock, "unknown key block version ID")
        }
        guard let length = decimal(ascii[1..<5]), length == ascii.count else {
            throw CryptoError(.malformedKeyBlock, "the key block length field does not match the block (\(ascii.count) characters)")
        }
        guard let blockCount = decimal(ascii[12..<14]) else {
            throw CryptoError(.malformedKeyBlock, "the number of optional blocks is not two decimal digits")
        }
        var offset = 16
        var blocks: [TR31OptionalBlock] = []
        for _ in 0..<blockCount {
            guard offset + 4 <= ascii.count else { throw CryptoError(.malformedKeyBlock, "a truncated optional block") }
            let id = text(offset..<(offset + 2))
            var blockLength: Int
            var dataStart: Int
            guard let short = hexValue(ascii[(offset + 2)..<(offset + 4)]) else {
                throw CryptoError(.malformedKeyBlock, "an optional block length is not hex")
            }
            if short == 0 {
                // Extended length (clause A.5.6): "00", two hex digits giving the length of the length, then the length.
                guard offset + 6 <= ascii.count, let lengthOfLength = hexValue(ascii[(offset + 4)..<(offset + 6)]),
                      (1...4).contains(lengthOfLength), offset + 6 + lengthOfLength <= ascii.count,
                      let long = hexValue(ascii[(offset + 6)..<(offset + 6 + lengthOfLength)])
                else { throw CryptoError(.malformedKeyBlock, "a bad extended optional block length") }
                blockLength = long
                dataStart = offset + 6 + lengthOfLength
            } else {
                blockLength = short
                dataStart = offset + 4
            }
            guard blockLength >= dataStart - offset, offset + blockLength <= ascii.count else {
                throw CryptoError(.malformedKeyBlock, "an optional block runs past the key block")
            }
            blocks.append(TR31OptionalBlock(id: id, data: text(dataStart..<(offset + blockLength))))
            offset += blockLength
        }
        guard offset % version.blockSize == 0 else {
            throw CryptoError(.malformedKeyBlock, "the header is not a whole number of cipher blocks")
        }
        let header = TR31Header(
            version: version, keyUsage: text(5..<7), algorithm: Character(UnicodeScalar(ascii[7])),
            modeOfUse: Character(UnicodeScalar(ascii[8])), keyVersionNumber: text(9..<11),
            exportability: Character(UnicodeScalar(ascii[11])), optionalBlocks: blocks)
        return (header, offset)
    }

    static func encodeFixedHeader(_ h: TR31Header, totalLength: Int) throws -> [UInt8] {
        func one(_ c: Character) throws -> String {
            guard let a = c.asciiValue, (0x21...0x7E).contains(a) else {
                throw CryptoError(.invalidParameter, "a header field is not one printable ASCII character")
            }
            return String(c)
        }
        guard h.keyUsage.utf8.count == 2, h.keyVersionNumber.utf8.count == 2, h.optionalBlocks.count <= 99 else {
            throw CryptoError(.invalidParameter, "key usage and key version number are two characters each")
        }
        let length = String(totalLength)
        let count = String(h.optionalBlocks.count)
        let text = String(h.version.rawValue) + String(repeating: "0", count: 4 - length.count) + length + h.keyUsage
            + (try one(h.algorithm)) + (try one(h.modeOfUse)) + h.keyVersionNumber + (try one(h.exportability))
            + (count.count == 1 ? "0" : "") + count + "00"
        return Array(text.utf8)
    }

    static func encodeOptionalBlocks(_ blocks: [TR31OptionalBlock]) throws -> [UInt8] {
        var out: [UInt8] = []
        for b in blocks {
            guard b.id.utf8.count == 2, b.data.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                throw CryptoError(.invalidParameter, "an optional block has a two-character ID and printable data")
            }
            let length = 4 + b.data.utf8.count
            if length <= 0xFF {
                out += Array(b.id.utf8) + Array(KeyBlockHex.string([UInt8(length)]).utf8) + Array(b.data.utf8)
            } else {
                let extended = 10 + b.data.utf8.count
                guard extended <= 0xFFFF else { throw CryptoError(.invalidParameter, "an optional block too long") }
                out += Array(b.id.utf8) + Array("0004".utf8)
                    + Array(KeyBlockHex.string([UInt8(extended >> 8), UInt8(extended & 0xFF)]).utf8) + Array(b.data.utf8)
            }
        }
        return out
    }

    // MARK: - Keys and MAC

    static func checkKBPK(_ kbpk: SecretBytes, _ version: TR31Header.Version) throws {
        switch version {
        case .b:
            guard kbpk.count == 16 || kbpk.count == 24 else {
                throw CryptoError.keyLength(kbpk.count, allowed: [16, 24], for: "a TR-31 version B KBPK (TDES)")
            }
        case .d:
            guard [16, 24, 32].contains(kbpk.count) else {
                throw CryptoError.keyLength(kbpk.count, allowed: [16, 24, 32], for: "a TR-31 version D KBPK (AES)")
            }
        }
    }

    /// The key block encryption key (KBEK) and MAC key (KBMK): CMAC under the KBPK of the 8-byte derivation data
    /// counter || key usage (`0000` encryption, `0001` MAC) || `00` || algorithm || length in bits, for counters 1, 2, …
    /// until the KBPK's length (TR-31:2018 clause 5.3.2.1 Table 1 for TDES, clause 5.3.2.3 Table 2 for AES).
    static func deriveKeys(_ kbpk: SecretBytes, _ version: TR31Header.Version) throws -> (SecretBytes, SecretBytes) {
        let algorithm: [UInt8]
        let bits: [UInt8]
        switch (version, kbpk.count) {
        case (.b, 16): (algorithm, bits) = ([0, 0], [0x00, 0x80])
        case (.b, _): (algorithm, bits) = ([0, 1], [0x00, 0xC0])
        case (.d, 16): (algorithm, bits) = ([0, 2], [0x00, 0x80])
        case (.d, 24): (algorithm, bits) = ([0, 3], [0x00, 0xC0])
        case (.d, _): (algorithm, bits) = ([0, 4], [0x01, 0x00])
        }
        let blockSize = version.blockSize
        let calls = (kbpk.count + blockSize - 1) / blockSize
        func derive(_ usage: [UInt8]) throws -> SecretBytes {
            var out: SecretBytes?
            for counter in 1...calls {
                let data = [UInt8(counter)] + usage + [0] + algorithm + bits
                let part = version == .b
                    ? try Insecure.TDES.CMAC.derive(data, key: kbpk) : try AES.CMAC.derive(data, key: kbpk)
                out = out.map { $0.appending(part) } ?? part
            }
            // `calls` is at least 1.
            return out!.slice(0..<kbpk.count)
        }
        return (try derive([0, 0]), try derive([0, 1]))
    }

    static func computeMAC(_ version: TR31Header.Version, kbmk: SecretBytes, header: [UInt8], clearKeyData: SecretBytes)
        throws -> SecretBytes
    {
        let data = SecretBytes(header).appending(clearKeyData)
        return version == .b ? try Insecure.TDES.CMAC.derive(data, key: kbmk) : try AES.CMAC.derive(data, key: kbmk)
    }

    static func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
        var v = 0
        for c in digits {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(c - UInt8(ascii: "0"))
        }
        return v
    }

    static func hexValue(_ digits: ArraySlice<UInt8>) -> Int? {
        guard let bytes = KeyBlockHex.bytes(digits.count % 2 == 0 ? digits : [UInt8(ascii: "0")] + digits) else { return nil }
        return bytes.reduce(0) { $0 << 8 | Int($1) }
    }
}

/// Hex for key-block text, over ASCII slices.
enum KeyBlockHex {
    static func bytes(_ ascii: ArraySlice<UInt8>) -> [UInt8]? {
        guard ascii.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(ascii.count / 2)
        var i = ascii.startIndex
        while i < ascii.endIndex {
            guard let h = nibble(ascii[i]), let l = nibble(ascii[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    static func bytes(_ ascii: [UInt8]) -> [UInt8]? { bytes(ascii[...]) }

    static func string(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
