import PaymentCrypto
import Testing

/// ISO 9564-1:2017 PIN blocks.
@Suite struct PINBlockTests {
    /// Format 0: PIN 1234, PAN 4012345678909 → 041274EDCBA9876F (the clear block of the ANSI X9.24-1 Annex A
    /// examples), and the psec test suite's format 0 decode vectors.
    @Test func format0() throws {
        let block = try PINBlock.encode(format: .format0, pin: digits("1234"), pan: "4012345678909", random: SystemRandom())
        #expect(hex(block) == "041274EDCBA9876F")
        let decoded = try PINBlock.decode(block, pan: "4012345678909")
        #expect(decoded.format == .format0 && text(decoded.pin) == "1234")
    }

    // psec 1.3.0 tests/test_pinblock.py: decode vectors for formats 0 and 3 (PAN 5555555551234567).
    @Test(arguments: [
        ("1234", "041261AAAAEDCBA9", "341261AAAAEDCBA9"), ("123456789", "091261032D8DCBA9", "391261032D8DCBA9"),
        ("1234567890", "0A1261032D82CBA9", "3A1261032D82CBA9"), ("123456789012", "0C1261032D8226A9", "3C1261032D8226A9"),
    ])
    func decodeVectors(pin: String, format0: String, format3: String) throws {
        let pan = "5555555551234567"
        let zero = try PINBlock.decode(secret(format0), pan: pan)
        #expect(zero.format == .format0 && text(zero.pin) == pin)
        let three = try PINBlock.decode(secret(format3), pan: pan)
        #expect(three.format == .format3 && text(three.pin) == pin)
        #expect(hex(try PINBlock.encode(format: .format0, pin: digits(pin), pan: pan, random: SystemRandom())) == format0)
    }

    /// Format 1 with pinned fill: one random byte per fill digit, its low nibble (openemv/pinblock's hand-made
    /// example 1512345EDCBA9876 for PIN 12345).
    @Test func format1() throws {
        let random = FixedRandom([0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07, 0x06])
        let block = try PINBlock.encode(format: .format1, pin: digits("12345"), pan: nil, random: random)
        #expect(hex(block) == "1512345EDCBA9876")
        let decoded = try PINBlock.decode(block, pan: nil)
        #expect(decoded.format == .format1 && text(decoded.pin) == "12345")
    }

    /// Format 3 with pinned fill: byte b < 252 gives digit A + b % 6; bytes ≥ 252 are drawn again.
    @Test func format3() throws {
        let pan = "4012345678909"
        let block = try PINBlock.encode(format: .format3, pin: digits("1234"), pan: pan, random: FixedRandom([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
        // PIN field 3 4 1234 ABCDEF ABCD → 341234ABCDEFABCD; PAN field 0000 123456789090 (12 digits before the check digit).
        let expected = zip(bytes("341234ABCDEFABCD"), bytes("0000401234567890")).map { $0 ^ $1 }
        #expect(hex(block) == hex(expected))
        #expect(text(try PINBlock.decode(block, pan: pan).pin) == "1234")
        // Fresh random fill differs between encodings but decodes the same.
        let a = try PINBlock.encode(format: .format3, pin: digits("1234"), pan: pan, random: SystemRandom())
        let b = try PINBlock.encode(format: .format3, pin: digits("1234"), pan: pan, random: SystemRandom())
        #expect(text(try PINBlock.decode(a, pan: pan).pin) == "1234")
        #expect(text(try PINBlock.decode(b, pan: pan).pin) == "1234")
        // Rejection of biased bytes: 252…255 are skipped.
        let skipping = try PINBlock.encode(format: .format3, pin: digits("123456789012"), pan: pan, random: FixedRandom([0, 255]))
        #expect(text(try PINBlock.decode(skipping, pan: pan).pin) == "123456789012")
        // A source that only gives rejected bytes is an error, not an endless loop.
        #expect(throws: CryptoError(.invalidParameter, "")) {
            try PINBlock.encode(format: .format3, pin: digits("1234"), pan: pan, random: FixedRandom([252]))
        }
    }

    /// Format 4 fields (openemv/pinblock `pinblock_format4_test.c`, from the X9.24-3-2017 supplement p. 31 and
    /// hand-made cases).
    @Test func format4Fields() throws {
        #expect(hex(try PINBlock.format4PANField(pan: "4111111111111111")) == "44111111111111111000000000000000")
        #expect(hex(try PINBlock.format4PANField(pan: "411111111111111")) == "34111111111111110000000000000000")
        #expect(hex(try PINBlock.format4PANField(pan: "123456789")) == "00001234567890000000000000000000")
        let field = try PINBlock.format4PINField(pin: digits("12345"), random: FixedRandom([0xFF]))
        #expect(hex(field) == "4512345AAAAAAAAAFFFFFFFFFFFFFFFF")
        #expect(text(try PINBlock.decodeFormat4PINField(field)) == "12345")
    }

    /// Format 4 encipherment: psec's deterministic vector (random FF…FF), the ep2 Security Specification 8.0.0 §8.4
    /// vector, and a PAN shorter than 12 digits.
    @Test func format4Encipherment() throws {
        let key = secret("00112233445566778899AABBCCDDEEFF")
        let block = try PINBlock.encipherFormat4(pin: digits("1234"), pan: "1234567890123456789", key: key, random: FixedRandom([0xFF]))
        #expect(hex(block) == "28B41FDDD29B743E93124BD8E32D921E")
        #expect(text(try PINBlock.decipherFormat4(block, pan: "1234567890123456789", key: key)) == "1234")

        let ep2 = try PINBlock.decipherFormat4(
            bytes("CC17F65586BFD0953010226C4FC5B3CA"), pan: "432198765432109870", key: secret("C1D0F8FB4958670DBA40AB1F3752EF0D"))
        #expect(text(ep2) == "1234")

        #expect(text(try PINBlock.decipherFormat4(bytes("39B69B1B91FE05D48F7EF0D68EB2CBD6"), pan: "1", key: key)) == "123456")
        // The wrong PAN does not decode to a PIN.
        #expect(throws: CryptoError(.invalidPINBlock, "")) {
            try PINBlock.decipherFormat4(bytes("CC17F65586BFD0953010226C4FC5B3CA"), pan: "432198765432109871", key: secret("C1D0F8FB4958670DBA40AB1F3752EF0D"))
        }
    }

    @Test func roundTripsAllLengths() throws {
        let pan = "5413330089020011"
        for length in 4...12 {
            let pin = String(String(repeating: "9876543210", count: 2).prefix(length))
            for format in [PINBlock.Format.format0, .format1, .format3] {
                let block = try PINBlock.encode(format: format, pin: digits(pin), pan: pan, random: SystemRandom())
                let decoded = try PINBlock.decode(block, pan: pan)
                #expect(decoded.format == format && text(decoded.pin) == pin)
            }
            let key = try SecretBytes(SystemRandom().bytes(32))
            let block = try PINBlock.encipherFormat4(pin: digits(pin), pan: pan, key: key, random: SystemRandom())
            #expect(text(try PINBlock.decipherFormat4(block, pan: pan, key: key)) == pin)
        }
    }
}
