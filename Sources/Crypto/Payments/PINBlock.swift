/// ISO 9564-1:2017 PIN blocks: formats 0, 1 and 3 (8 bytes, for TDES encipherment) and format 4 (16 bytes, AES).
///
/// A PIN is given as a ``SecretBytes`` of ASCII digits (4 to 12 of them, clause 8.1); a PAN as decimal digit text
/// (1 to 19 digits, ISO/IEC 7812-1). Clear PIN blocks are secrets too. Random fill comes from the injected
/// ``RandomSource``, so tests can pin it; how random bytes become fill digits is documented per format so a pinned
/// source gives a known block.
///
/// Errors never contain the PIN, the PAN or the block.
public enum PINBlock {
    /// The PIN block formats this module encodes (ISO 9564-1:2017 clause 9.3.1 control field values).
    public enum Format: Int, Sendable, CaseIterable {
        /// Format 0 (clause 9.3.2): PIN field XOR PAN field, fill `F`. Bound to the PAN.
        case format0 = 0
        /// Format 1 (clause 9.3.3): PIN with random fill digits `0`-`F`; not bound to a PAN. For use where no PAN
        /// exists.
        case format1 = 1
        /// Format 3 (clause 9.3.5): as format 0 with random fill digits `A`-`F`.
        case format3 = 3
        /// Format 4 (clause 9.4.2): 16-byte AES PIN block, enciphered together with the PAN field.
        case format4 = 4
    }

    // MARK: - Formats 0, 1, 3

    /// Encodes a clear 8-byte PIN block of format 0, 1 or 3.
    ///
    /// Fill digits: format 0 uses `F`. Format 1 takes one random byte per fill digit and uses its low nibble.
    /// Format 3 takes one random byte per fill digit, rejects bytes ≥ 252 (so the choice is unbiased) and uses
    /// `0xA + byte % 6`.
    ///
    /// - Parameters:
    ///   - format: ``Format/format0``, ``Format/format1`` or ``Format/format3``.
    ///   - pin: ASCII digits, 4 to 12 of them.
    ///   - pan: the card number's digits; required for formats 0 and 3, ignored for format 1.
    ///   - random: the source of fill digits (formats 1 and 3).
    /// - Returns: the clear PIN block.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidPIN``, ``CryptoError/Code/invalidPAN``, or
    ///   ``CryptoError/Code/invalidParameter`` for format 4 (use ``encipherFormat4(pin:pan:key:random:)``).
    public static func encode(
        format: Format, pin: SecretBytes, pan: String?, random: some RandomSource
    ) throws -> SecretBytes {
        try Digits.checkPIN(pin)
        let fillCount = 14 - pin.count
        var fill: [UInt8]
        switch format {
        case .format0:
            fill = [UInt8](repeating: 0xF, count: fillCount)
        case .format1:
            fill = try random.checkedBytes(fillCount).map { $0 & 0x0F }
        case .format3:
            fill = try format3Fill(count: fillCount, random: random)
        case .format4:
            throw CryptoError(.invalidParameter, "format 4 PIN blocks are 16 bytes: use PINBlock.encipherFormat4")
        }
        defer { wipe(&fill) }
        let panField: [UInt8]
        if format == .format1 {
            panField = [UInt8](repeating: 0, count: 8)
        } else {
            guard let pan else { throw CryptoError(.invalidPAN, "PIN block format \(format.rawValue) needs the PAN") }
            panField = try panField8(pan)
        }
        return pin.withUnsafeBytes { p in
            SecretBytes(count: 8) { out in
                // Clause 9.3.2.2 / 9.3.3 / 9.3.5.2: C (control) | N (length) | PIN digits | fill.
                var nibbles = [UInt8](repeating: 0, count: 16)
                defer { wipe(&nibbles) }
                nibbles[0] = UInt8(format.rawValue)
                nibbles[1] = UInt8(p.count)
                for i in 0..<p.count { nibbles[2 + i] = p[i] - UInt8(ascii: "0") }
                for i in 0..<fillCount { nibbles[2 + p.count + i] = fill[i] }
                for i in 0..<8 { out[i] = (nibbles[2 * i] << 4 | nibbles[2 * i + 1]) ^ panField[i] }
            }
        }
    }

    /// Decodes a clear 8-byte PIN block of format 0, 1 or 3 and returns its PIN as ASCII digits.
    ///
    /// Checks the control field, the PIN length (4-12), that every PIN digit is decimal and that the fill digits are
    /// what the format allows (`F` for format 0, `A`-`F` for format 3).
    /// - Parameters:
    ///   - block: the clear PIN block.
    ///   - pan: required for formats 0 and 3.
    /// - Returns: the format found and the PIN.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidPINBlock`` (a block that breaks its format; also when the
    ///   PAN is the wrong one for formats 0 and 3, which shows as bad fill), ``CryptoError/Code/invalidPAN``.
    public static func decode(_ block: SecretBytes, pan: String?) throws -> (format: Format, pin: SecretBytes) {
        guard block.count == 8 else {
            throw CryptoError(.invalidPINBlock, "an ISO 9564 format 0/1/3 PIN block is 8 bytes, not \(block.count)")
        }
        let control = block.withUnsafeBytes { Int($0[0] >> 4) }
        guard let format = Format(rawValue: control), format != .format4 else {
            throw CryptoError(.invalidPINBlock, "PIN block control field \(control) is not format 0, 1 or 3")
        }
        var panField = [UInt8](repeating: 0, count: 8)
        if format != .format1 {
            guard let pan else { throw CryptoError(.invalidPAN, "PIN block format \(control) needs the PAN") }
            panField = try panField8(pan)
        }
        var nibbles = block.withUnsafeBytes { b in
            (0..<8).flatMap { i -> [UInt8] in let v = b[i] ^ panField[i]; return [v >> 4, v & 0x0F] }
        }
        defer { wipe(&nibbles) }
        let length = Int(nibbles[1])
        guard (4...12).contains(length) else {
            throw CryptoError(.invalidPINBlock, "PIN block PIN length \(length) is outside 4 to 12")
        }
        var valid = true
        for i in 0..<length where nibbles[2 + i] > 9 { valid = false }
        for i in (2 + length)..<16 {
            switch format {
            case .format0: if nibbles[i] != 0xF { valid = false }
            case .format3: if nibbles[i] < 0xA { valid = false }
            case .format1, .format4: break
            }
        }
        guard valid else { throw CryptoError(.invalidPINBlock, "PIN block digits break format \(control)") }
        let pin = SecretBytes(count: length) { out in
            for i in 0..<length { out[i] = nibbles[2 + i] + UInt8(ascii: "0") }
        }
        return (format, pin)
    }

    /// The 8-byte PAN field of formats 0 and 3 (clause 9.3.2.3): four zero nibbles, then the 12 rightmost PAN digits
    /// excluding the check digit, right-justified and zero-padded on the left when the PAN is shorter.
    static func panField8(_ pan: String) throws -> [UInt8] {
        let digits = try Digits.pan(pan)
        let withoutCheck = digits.dropLast()
        let twelve = [UInt8](repeating: 0, count: max(0, 12 - withoutCheck.count)) + withoutCheck.suffix(12)
        return ([0, 0, 0, 0] + twelve).packedNibbles()
    }

    private static func format3Fill(count: Int, random: some RandomSource) throws -> [UInt8] {
        var fill: [UInt8] = []
        fill.reserveCapacity(count)
        var draws = 0
        while fill.count < count {
            // A working source rejects a byte with probability 4/256; 32 rounds without progress means it is broken.
            draws += 1
            guard draws <= 32 else {
                throw CryptoError(.invalidParameter, "the random source keeps giving bytes the format 3 fill rejects")
            }
            var draw = try random.checkedBytes(count - fill.count)
            for b in draw where b < 252 { fill.append(0xA + b % 6) }
            wipe(&draw)
        }
        return fill
    }

    // MARK: - Format 4

    /// The 16-byte plain-text PIN field of format 4 (clause 9.4.2.2.2): `4`, the PIN length, the PIN digits, fill
    /// `A` to 16 nibbles, then 8 random bytes taken as they come from `random`.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidPIN``.
    public static func format4PINField(pin: SecretBytes, random: some RandomSource) throws -> SecretBytes {
        try Digits.checkPIN(pin)
        var tail = try random.checkedBytes(8)
        defer { wipe(&tail) }
        return pin.withUnsafeBytes { p in
            SecretBytes(count: 16) { out in
                var nibbles = [UInt8](repeating: 0xA, count: 16)
                defer { wipe(&nibbles) }
                nibbles[0] = 4
                nibbles[1] = UInt8(p.count)
                for i in 0..<p.count { nibbles[2 + i] = p[i] - UInt8(ascii: "0") }
                for i in 0..<8 { out[i] = nibbles[2 * i] << 4 | nibbles[2 * i + 1] }
                for i in 0..<8 { out[8 + i] = tail[i] }
            }
        }
    }

    /// The 16-byte plain-text PAN field of format 4 (clause 9.4.2.2.3): `M` = PAN length − 12 (0 when shorter), then
    /// the whole PAN left-justified (check digit included), zero-padded to 32 nibbles. A PAN shorter than 12 digits
    /// is right-justified in 12 digits after `M` = 0.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidPAN``.
    public static func format4PANField(pan: String) throws -> [UInt8] {
        let digits = try Digits.pan(pan)
        var nibbles: [UInt8]
        if digits.count >= 12 {
            nibbles = [UInt8(digits.count - 12)] + digits
        } else {
            nibbles = [0] + [UInt8](repeating: 0, count: 12 - digits.count) + digits
        }
        nibbles += [UInt8](repeating: 0, count: 32 - nibbles.count)
        return nibbles.packedNibbles()
    }

    /// Enciphers a format 4 PIN block (clause 9.4.2, the encipherment of the PIN field with the PAN field): block A = AES(K, PIN field); block B = A XOR PAN field;
    /// result = AES(K, B).
    /// - Parameters:
    ///   - pin: ASCII digits, 4 to 12.
    ///   - pan: the card number's digits.
    ///   - key: the AES PIN encryption key (16, 24 or 32 bytes), e.g. an AES DUKPT PIN working key.
    ///   - random: the 8 random bytes of the PIN field.
    /// - Returns: the 16-byte enciphered PIN block.
    public static func encipherFormat4(pin: SecretBytes, pan: String, key: SecretBytes, random: some RandomSource)
        throws -> [UInt8]
    {
        let pinField = try format4PINField(pin: pin, random: random)
        return try encipherFormat4(pinField: pinField, panField: format4PANField(pan: pan), key: key)
    }

    /// Enciphers a prepared format 4 PIN field with its PAN field (clause 9.4.2).
    public static func encipherFormat4(pinField: SecretBytes, panField: [UInt8], key: SecretBytes) throws -> [UInt8] {
        guard pinField.count == 16, panField.count == 16 else {
            throw CryptoError(.invalidInputLength, "format 4 PIN and PAN fields are 16 bytes each")
        }
        let blockA = try AES.ECB.encryptToSecret(pinField, key: key)
        return try AES.ECB.encrypt(blockA.xor(panField), key: key)
    }

    /// Deciphers a format 4 PIN block (clause 9.4.2, the reverse of the encipherment) and returns the PIN as ASCII digits.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidPINBlock`` when the deciphered PIN field breaks format 4
    ///   (which is also what a wrong key or PAN gives), or a length error.
    public static func decipherFormat4(_ block: [UInt8], pan: String, key: SecretBytes) throws -> SecretBytes {
        guard block.count == 16 else {
            throw CryptoError(.invalidPINBlock, "a format 4 PIN block is 16 bytes, not \(block.count)")
        }
        let panField = try format4PANField(pan: pan)
        let blockB = try AES.ECB.decrypt(block, key: key)
        let pinField = try AES.ECB.decrypt(blockB.xor(panField), key: key)
        return try decodeFormat4PINField(pinField)
    }

    /// Reads the PIN out of a clear format 4 PIN field, checking control `4`, length 4-12, decimal PIN digits and
    /// fill `A`.
    /// - Throws: ``CryptoError`` ``CryptoError/Code/invalidPINBlock``.
    public static func decodeFormat4PINField(_ field: SecretBytes) throws -> SecretBytes {
        guard field.count == 16 else { throw CryptoError(.invalidPINBlock, "a format 4 PIN field is 16 bytes") }
        var nibbles = field.withUnsafeBytes { f in (0..<8).flatMap { [f[$0] >> 4, f[$0] & 0x0F] } }
        defer { wipe(&nibbles) }
        let length = Int(nibbles[1])
        guard nibbles[0] == 4, (4...12).contains(length) else {
            throw CryptoError(.invalidPINBlock, "the PIN field is not format 4 with a PIN of 4 to 12 digits")
        }
        var valid = true
        for i in 0..<length where nibbles[2 + i] > 9 { valid = false }
        for i in (2 + length)..<16 where nibbles[i] != 0xA { valid = false }
        guard valid else { throw CryptoError(.invalidPINBlock, "format 4 PIN field digits break the format") }
        return SecretBytes(count: length) { out in
            for i in 0..<length { out[i] = nibbles[2 + i] + UInt8(ascii: "0") }
        }
    }
}

/// Overwrites an array that held PIN digits or fill with zeros (`OPENSSL_cleanse`).
func wipe(_ array: inout [UInt8]) {
    array.withUnsafeMutableBytes { if $0.count > 0 { secureZero($0.baseAddress!, $0.count) } }
}
