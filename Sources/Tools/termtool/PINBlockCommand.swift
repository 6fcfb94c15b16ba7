import ArgumentParser
import PaymentCrypto

/// `termtool pinblock encode|decode`: ISO 9564-1:2017 PIN blocks, formats 0, 1, 3 (TDES) and 4 (AES).
struct PINBlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pinblock",
        abstract: "Encode or decode ISO 9564-1 PIN blocks (formats 0, 1, 3 and 4).",
        subcommands: [Encode.self, Decode.self]
    )

    /// The control field values ISO 9564-1:2017 clause 9.3.1 gives the formats this tool handles.
    enum FormatArgument: String, ExpressibleByArgument, CaseIterable {
        case zero = "0", one = "1", three = "3", four = "4"

        var format: PINBlock.Format {
            switch self {
            case .zero: .format0
            case .one: .format1
            case .three: .format3
            case .four: .format4
            }
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a PIN block from a PIN and a PAN; with --key, also encipher it.",
            discussion: """
                Formats 0 and 3 bind the PIN to the PAN (the 12 rightmost digits before the check digit, clause \
                9.3.2.3); format 1 uses no PAN; format 4 (AES, clause 9.4.2) needs --key, the AES PIN key, and shows \
                the plain PIN field, the plain PAN field and the enciphered block. For formats 0, 1 and 3, --key (a \
                16- or 24-byte TDES key) adds the block enciphered with TDES-ECB. Fill digits of formats 1, 3 and 4 \
                are random; --random pins them to reproduce a block.

                Example (the clear block of the ANSI X9.24-1 Annex A examples):
                  $ termtool pinblock encode --format 0 --pin 1234 --pan 4012345678909
                  format           0
                  clear PIN block  041274EDCBA9876F  [SECRET]

                Example (format 4, random half pinned to FF…FF; psec's test vector):
                  $ termtool pinblock encode --format 4 --pin 1234 \\
                      --pan 1234567890123456789 \\
                      --key 00112233445566778899AABBCCDDEEFF --random FF
                  format                4
                  plain PIN field       441234AAAAAAAAAAFFFFFFFFFFFFFFFF  [SECRET]
                  plain PAN field       71234567890123456789000000000000
                  enciphered PIN block  28B41FDDD29B743E93124BD8E32D921E
                """
        )

        @Option(help: "The PIN block format.")
        var format: FormatArgument

        @Option(help: "The PIN: 4 to 12 decimal digits.")
        var pin: String

        @Option(help: "The card number (decimal digits); needed for formats 0, 3 and 4.")
        var pan: String?

        @Option(help: "The key to encipher with, in hex: AES (16, 24 or 32 bytes) for format 4, TDES (16 or 24 bytes) for 0, 1 and 3.")
        var key: String?

        @Option(help: "Hex bytes to use instead of the system random source for the fill, repeated as needed.")
        var random: String?

        @OptionGroup var output: CryptoOutputOptions

        func run() throws {
            try CryptoTool.run {
                let pinSecret = CryptoInput.pin(pin)
                let source: any RandomSource
                if let random {
                    let pattern = try CryptoInput.bytes(random, option: "--random", range: 1...64)
                    source = PinnedRandom(pattern: pattern)
                } else {
                    source = SystemRandom()
                }
                var report = CryptoReport()
                report.add("format", "format", number: Int(format.rawValue) ?? 0)
                if format == .four {
                    guard let key else {
                        throw CryptoInputError("format 4 needs --key, the AES PIN key (16, 24 or 32 bytes), to encipher the block")
                    }
                    guard let pan else { throw CryptoInputError("format 4 needs --pan") }
                    let aesKey = try CryptoInput.secret(key, option: "--key", lengths: [16, 24, 32], what: "AES key")
                    let pinField = try PINBlock.format4PINField(pin: pinSecret, random: source)
                    let panField = try PINBlock.format4PANField(pan: pan)
                    let block = try PINBlock.encipherFormat4(pinField: pinField, panField: panField, key: aesKey)
                    report.addSecret("plainPINField", "plain PIN field", hex: pinField)
                    report.add("plainPANField", "plain PAN field", hex: panField)
                    report.add("encipheredBlock", "enciphered PIN block", hex: block)
                } else {
                    if format != .one, pan == nil { throw CryptoInputError("format \(format.rawValue) needs --pan") }
                    let tdesKey = try key.map { try CryptoInput.secret($0, option: "--key", lengths: [16, 24], what: "TDES key") }
                    let clear = try PINBlock.encode(format: format.format, pin: pinSecret, pan: pan, random: source)
                    report.addSecret("clearBlock", "clear PIN block", hex: clear)
                    if let tdesKey {
                        report.add("encipheredBlock", "enciphered PIN block", hex: try Insecure.TDES.ECB.encrypt(clear, key: tdesKey))
                    }
                }
                report.print(json: output.json)
            }
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the PIN out of a PIN block; with --key, decipher it first.",
            discussion: """
                Without --key the block is a clear 8-byte format 0, 1 or 3 block. With --key it is enciphered: TDES \
                (16 or 24 bytes) for formats 0, 1 and 3, AES for format 4. A 16-byte block is taken as format 4. The \
                format is read from the block's control field; --format checks it. Fill digits are checked (F for \
                format 0, A-F for format 3, A for format 4), so the wrong PAN or key shows as an invalid block.

                Example:
                  $ termtool pinblock decode --block 041274EDCBA9876F --pan 4012345678909
                  format  0
                  PIN     1234  [SECRET]

                Example (an X9.24-1 Annex A block, enciphered under the PIN key):
                  $ termtool pinblock decode --block 1B9C1845EB993A7A \\
                      --pan 4012345678909 --key 042666B49184CF5C68DE9628D0397B36

                Example (format 4):
                  $ termtool pinblock decode --format 4 \\
                      --block 28B41FDDD29B743E93124BD8E32D921E \\
                      --pan 1234567890123456789 \\
                      --key 00112233445566778899AABBCCDDEEFF
                """
        )

        @Option(help: "The expected format (default: read from the block's control field).")
        var format: FormatArgument?

        @Option(help: "The PIN block in hex: 8 bytes (formats 0, 1, 3) or 16 bytes (format 4).")
        var block: String

        @Option(help: "The card number; needed for formats 0, 3 and 4.")
        var pan: String?

        @Option(help: "The key the block is enciphered under, in hex (TDES for 0/1/3, AES for 4).")
        var key: String?

        @OptionGroup var output: CryptoOutputOptions

        func run() throws {
            try CryptoTool.run {
                guard let blockSecret = SecretBytes(hexEncoded: block) else {
                    throw CryptoInputError("--block is not hex: an even number of the digits 0-9, A-F expected")
                }
                var report = CryptoReport()
                if format == .four || (format == nil && blockSecret.count == 16) {
                    guard blockSecret.count == 16 else {
                        throw CryptoInputError("--block: a format 4 PIN block is 16 bytes (32 hex digits), not \(blockSecret.count)")
                    }
                    guard let key else { throw CryptoInputError("format 4 needs --key, the AES PIN key, to decipher the block") }
                    guard let pan else { throw CryptoInputError("format 4 needs --pan") }
                    let aesKey = try CryptoInput.secret(key, option: "--key", lengths: [16, 24, 32], what: "AES key")
                    // ISO 9564-1:2017 9.4.2, in reverse: B = D(K, block); PIN field = D(K, B XOR PAN field).
                    let enciphered = blockSecret.withUnsafeBytes { Array($0) }
                    let blockB = try AES.ECB.decrypt(enciphered, key: aesKey)
                    let pinField = try AES.ECB.decrypt(blockB.xor(PINBlock.format4PANField(pan: pan)), key: aesKey)
                    let pin = try PINBlock.decodeFormat4PINField(pinField)
                    report.add("format", "format", number: 4)
                    report.addSecret("plainPINField", "plain PIN field", hex: pinField)
                    report.addSecret("pin", "PIN", text: pin)
                } else {
                    guard blockSecret.count == 8 else {
                        throw CryptoInputError("--block: a format 0, 1 or 3 PIN block is 8 bytes (16 hex digits), not \(blockSecret.count)")
                    }
                    var clear = blockSecret
                    if let key {
                        let tdesKey = try CryptoInput.secret(key, option: "--key", lengths: [16, 24], what: "TDES key")
                        clear = try Insecure.TDES.ECB.decrypt(blockSecret, key: tdesKey)
                    }
                    let decoded = try PINBlock.decode(clear, pan: pan)
                    if let format, format.format != decoded.format {
                        throw CryptoInputError("the block's control field says format \(decoded.format.rawValue), not \(format.rawValue)")
                    }
                    report.add("format", "format", number: decoded.format.rawValue)
                    if key != nil { report.addSecret("clearBlock", "clear PIN block", hex: clear) }
                    report.addSecret("pin", "PIN", text: decoded.pin)
                }
                report.print(json: output.json)
            }
        }
    }
}
