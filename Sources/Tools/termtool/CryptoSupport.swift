#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Codecs
import PaymentCrypto

// Shared plumbing of the payment-crypto subcommands (`pinblock`, `dukpt`, `mac`, `arqc`, `arpc`, `tr31`): hex input
// parsing that never repeats the value it rejects, one error path (one line on stderr, exit status 2), and one
// output shape (aligned text, or a JSON object with `--json`) in which key material is marked.

/// `--json` for every crypto subcommand.
struct CryptoOutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object instead of aligned text. Fields holding key material, PINs or clear PIN blocks are listed in \"secretFields\".")
    var json = false
}

/// A command-line value that cannot be used. The message names the option and what it expects, never the value given:
/// the value may be a key or a PIN.
struct CryptoInputError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Runs a crypto subcommand body and turns its failures into the tool's error contract.
enum CryptoTool {
    /// Exit status for bad input and failed checks (wrong-length key, bad hex, a PIN of the wrong length, a TR-31
    /// block whose MAC does not verify). Exit 1 is reserved for "checked and INVALID" (`arqc verify`); ArgumentParser
    /// keeps 64 for a malformed command line.
    static let inputErrorStatus: Int32 = 2

    /// Runs `body`; a ``CryptoInputError`` or a `CryptoError` becomes one line `termtool: error: …` on stderr and exit
    /// status 2. `authenticationFailure` explains what failed in this command (`macFailure`), since the library keeps
    /// that error opaque on purpose. Messages come from this tool and from `CryptoError.reason`, which never holds
    /// key bytes, PINs, PANs or blocks.
    static func run(macFailure: String = "the MAC does not verify", _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as CryptoInputError {
            try fail(error.message)
        } catch let error as CryptoError {
            switch error.code {
            case .authenticationFailure: try fail(macFailure)
            default: try fail(error.reason)
            }
        }
    }

    /// Prints `termtool: error: message` on stderr and ends the command with status 2.
    static func fail(_ message: String) throws -> Never {
        writeStandardError("termtool: error: \(message)\n")
        throw ExitCode(inputErrorStatus)
    }

    /// Writes `text` to stderr (fd 2), retrying short writes and EINTR.
    static func writeStandardError(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            offset += n
        }
    }
}

/// Parsing of command-line hex and digits. Every error names the option and the expected form only.
enum CryptoInput {
    /// A key (or other secret) given in hex, straight into secret storage, of one of `lengths` bytes.
    /// - Throws: ``CryptoInputError`` for non-hex text or another length.
    static func secret(_ text: String, option: String, lengths: [Int], what: String = "key") throws -> SecretBytes {
        guard let key = SecretBytes(hexEncoded: text) else {
            throw CryptoInputError("\(option) is not hex: an even number of the digits 0-9, A-F expected")
        }
        guard lengths.contains(key.count) else {
            throw CryptoInputError("\(option): the \(what) is \(byteCount(key.count)); \(describe(lengths)) expected")
        }
        return key
    }

    /// Public bytes (data, KSN, ARQC …) given in hex, of one of `lengths` bytes when given.
    /// - Throws: ``CryptoInputError`` for non-hex text or another length.
    static func bytes(_ text: String, option: String, lengths: [Int]? = nil, range: ClosedRange<Int>? = nil) throws -> [UInt8] {
        guard let bytes = Hex.decode(text) else {
            throw CryptoInputError("\(option) is not hex: an even number of the digits 0-9, A-F expected")
        }
        if let lengths, !lengths.contains(bytes.count) {
            throw CryptoInputError("\(option) is \(byteCount(bytes.count)); \(describe(lengths)) expected")
        }
        if let range, !range.contains(bytes.count) {
            throw CryptoInputError("\(option) is \(byteCount(bytes.count)); \(range.lowerBound) to \(range.upperBound) bytes expected")
        }
        return bytes
    }

    /// A PIN as ASCII digits in secret storage. Its rules (4 to 12 decimal digits, ISO 9564-1:2017 clause 8.1) are
    /// checked by `PINBlock`, whose errors name the length only.
    static func pin(_ text: String) -> SecretBytes { SecretBytes(Array(text.utf8)) }

    /// "1 byte", "15 bytes".
    static func byteCount(_ count: Int) -> String { count == 1 ? "1 byte" : "\(count) bytes" }

    /// "16 bytes (32 hex digits)", "16 or 24 bytes (32 or 48 hex digits)".
    static func describe(_ lengths: [Int]) -> String {
        func list(_ values: [Int]) -> String {
            switch values.count {
            case 0: return ""
            case 1: return String(values[0])
            default: return values.dropLast().map(String.init).joined(separator: ", ") + " or " + String(values.last!)
            }
        }
        return "\(list(lengths)) bytes (\(list(lengths.map { $0 * 2 })) hex digits)"
    }
}

/// A random source pinned to given bytes (`--random`), repeated as needed, so a block with random fill can be
/// reproduced. Every request starts at the first byte, as the library's tests pin their sources.
struct PinnedRandom: RandomSource {
    let pattern: [UInt8]
    func bytes(_ count: Int) throws -> [UInt8] { (0..<count).map { pattern[$0 % pattern.count] } }
}

/// The result of one crypto subcommand: named fields printed as aligned text or as one JSON object.
///
/// Secret fields (keys, PINs, clear PIN blocks and fields) carry a `[SECRET]` marker in text and are listed in the
/// JSON member `"secretFields"`: these are developer tools whose job is to show keys, and the marker keeps anyone from
/// pasting one into a ticket by accident.
struct CryptoReport {
    enum Value {
        case text(String)
        case number(Int)
        case flag(Bool)
        /// A list of small objects (TR-31 optional blocks), each an ordered list of string members.
        case objects([[(String, String)]])
    }

    struct Field {
        let key: String
        let label: String
        let value: Value
        let isSecret: Bool
    }

    private(set) var fields: [Field] = []
    /// A last line printed after the text fields (`VALID` / `INVALID`); not part of JSON.
    var verdict: String?

    mutating func add(_ key: String, _ label: String, _ text: String) {
        fields.append(Field(key: key, label: label, value: .text(text), isSecret: false))
    }

    mutating func add(_ key: String, _ label: String, number: Int) {
        fields.append(Field(key: key, label: label, value: .number(number), isSecret: false))
    }

    mutating func add(_ key: String, _ label: String, flag: Bool) {
        fields.append(Field(key: key, label: label, value: .flag(flag), isSecret: false))
    }

    mutating func add(_ key: String, _ label: String, hex bytes: [UInt8]) {
        fields.append(Field(key: key, label: label, value: .text(Hex.encode(bytes)), isSecret: false))
    }

    mutating func add(_ key: String, _ label: String, objects: [[(String, String)]]) {
        fields.append(Field(key: key, label: label, value: .objects(objects), isSecret: false))
    }

    /// A secret in hex. This is the one place the tool turns secret bytes into text: printing them is its job.
    mutating func addSecret(_ key: String, _ label: String, hex secret: SecretBytes) {
        let text = secret.withUnsafeBytes { Hex.encode($0) }
        fields.append(Field(key: key, label: label, value: .text(text), isSecret: true))
    }

    /// Secret ASCII text (a PIN).
    mutating func addSecret(_ key: String, _ label: String, text secret: SecretBytes) {
        let text = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        fields.append(Field(key: key, label: label, value: .text(text), isSecret: true))
    }

    func print(json: Bool) {
        Swift.print(json ? jsonText() : plainText(), terminator: "")
    }

    func plainText() -> String {
        var lines: [(String, String)] = []
        for field in fields {
            switch field.value {
            case .text(let text): lines.append((field.label, text + (field.isSecret ? "  [SECRET]" : "")))
            case .number(let n): lines.append((field.label, String(n)))
            case .flag(let b): lines.append((field.label, b ? "yes" : "no"))
            case .objects(let objects):
                if objects.isEmpty { lines.append((field.label, "none")) }
                for object in objects { lines.append((field.label, object.map(\.1).joined(separator: " "))) }
            }
        }
        let width = lines.map(\.0.count).max() ?? 0
        var out = ""
        for (label, value) in lines {
            out += label + String(repeating: " ", count: width - label.count + 2) + value + "\n"
        }
        if let verdict { out += verdict + "\n" }
        return out
    }

    func jsonText() -> String {
        var members: [String] = []
        for field in fields {
            let value: String
            switch field.value {
            case .text(let text): value = JSON.string(text)
            case .number(let n): value = String(n)
            case .flag(let b): value = b ? "true" : "false"
            case .objects(let objects):
                value = "[" + objects.map { object in
                    "{" + object.map { JSON.string($0.0) + ":" + JSON.string($0.1) }.joined(separator: ",") + "}"
                }.joined(separator: ",") + "]"
            }
            members.append(JSON.string(field.key) + ":" + value)
        }
        let secrets = fields.filter(\.isSecret).map { JSON.string($0.key) }
        members.append(JSON.string("secretFields") + ":[" + secrets.joined(separator: ",") + "]")
        return "{" + members.joined(separator: ",") + "}\n"
    }
}

/// The little JSON this tool writes (RFC 8259 strings; no Foundation in the firmware's tools either).
enum JSON {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A number with `decimals` digits after the point (JSON has no NaN or infinity: those become 0).
    static func number(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        return Bench.format(value, decimals)
    }
}
