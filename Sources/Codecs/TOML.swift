/// The subset of TOML v1.0.0 that board profiles use: tables (`[a]`, `[a.b]`), `key = value` pairs with bare or
/// quoted keys, basic and literal strings, integers (decimal, `0x` hex, `_` separators), booleans, and arrays (nested,
/// spanning lines, trailing comma). Dates, floats, inline tables and arrays of tables are refused with an error that
/// names the line. Every value remembers its line, so that the profile validator can point at it.
///
/// Hand-written rather than a TOML package: the packages at hand (TOMLKit) bring a C++ parser and Foundation into
/// the firmware image for a file of a few dozen lines (docs/dependencies.md).
public enum TOML {
    /// A parsed value with the line it was written on.
    public indirect enum Value: Sendable, Equatable {
        case string(String, line: Int)
        case integer(Int, line: Int)
        case boolean(Bool, line: Int)
        case array([Value], line: Int)
        case table(Table)

        public var line: Int {
            switch self {
            case .string(_, let line), .integer(_, let line), .boolean(_, let line), .array(_, let line): line
            case .table(let table): table.line
            }
        }

        /// The TOML type name, for error messages.
        public var typeName: String {
            switch self {
            case .string: "string"
            case .integer: "integer"
            case .boolean: "boolean"
            case .array: "array"
            case .table: "table"
            }
        }
    }

    /// A table: keys in the order written.
    public struct Table: Sendable, Equatable {
        public var line: Int
        public private(set) var keys: [String] = []
        public private(set) var values: [String: Value] = [:]

        public init(line: Int) { self.line = line }

        public subscript(key: String) -> Value? { values[key] }

        mutating func insert(_ key: String, _ value: Value, line: Int) throws(ParseError) {
            guard values[key] == nil else { throw ParseError(line: line, message: "duplicate key '\(key)'") }
            keys.append(key)
            values[key] = value
        }

        mutating func update(_ key: String, _ value: Value) { values[key] = value }
    }

    /// A syntax error, with its 1-based line.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Parses a whole document into its root table.
    public static func parse(_ text: String) throws(ParseError) -> Table {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var line = 1

        init(bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func advance() {
            if current == UInt8(ascii: "\n") { line += 1 }
            index += 1
        }

        func error(_ message: String) -> ParseError { ParseError(line: line, message: message) }

        mutating func skipSpaces() {
            while let c = current, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { advance() }
        }

        /// Skips white space, newlines and comments (inside arrays and between statements).
        mutating func skipBlank() {
            while let c = current {
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                    advance()
                } else if c == UInt8(ascii: "#") {
                    while let d = current, d != UInt8(ascii: "\n") { advance() }
                } else {
                    return
                }
            }
        }

        /// After a statement: only spaces and a comment may remain on the line.
        mutating func endOfLine() throws(ParseError) {
            skipSpaces()
            if current == UInt8(ascii: "#") {
                while let d = current, d != UInt8(ascii: "\n") { advance() }
            }
            if current == UInt8(ascii: "\r") { advance() }
            guard current == nil || current == UInt8(ascii: "\n") else {
                throw error("unexpected text after a value")
            }
        }

        mutating func document() throws(ParseError) -> Table {
            var root = Table(line: 1)
            var path: [String] = []
            var definedTables = Set<[String]>()
            while true {
                skipBlank()
                guard let c = current else { break }
                if c == UInt8(ascii: "[") {
                    advance()
                    if current == UInt8(ascii: "[") { throw error("arrays of tables ([[...]]) are not supported") }
                    let tableLine = line
                    path = try dottedKey()
                    skipSpaces()
                    guard current == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
                    advance()
                    try endOfLine()
                    guard definedTables.insert(path).inserted else {
                        throw ParseError(line: tableLine, message: "table [\(path.joined(separator: "."))] is defined twice")
                    }
                    try Self.createTable(in: &root, path: path, line: tableLine)
                } else {
                    let keyLine = line
                    let key = try dottedKey()
                    skipSpaces()
                    guard current == UInt8(ascii: "=") else { throw error("expected '=' after key '\(key.joined(separator: "."))'") }
                    advance()
                    skipSpaces()
                    let v = try value()
                    try endOfLine()
                    try Self.insert(v, into: &root, path: path + key, line: keyLine)
                }
            }
            return root
        }

        static func createTable(in table: inout Table, path: ArraySlice<String>, line: Int) throws(ParseError) {
            guard let first = path.first else { return }
            var child: Table
            switch table[first] {
            case nil: child = Table(line: line)
            case .table(let existing): child = existing
            case .some(let other):
                throw ParseError(line: line, message: "'\(first)' is already a \(other.typeName), not a table")
            }
            try createTable(in: &child, path: path.dropFirst(), line: line)
            if table[first] == nil { try table.insert(first, .table(child), line: line) } else { table.update(first, .table(child)) }
        }

        static func createTable(in table: inout Table, path: [String], line: Int) throws(ParseError) {
            try createTable(in: &table, path: path[...], line: line)
        }

        static func insert(_ value: Value, into table: inout Table, path: [String], line: Int) throws(ParseError) {
            try createTable(in: &table, path: path.dropLast(), line: line)
            try insert(value, into: &table, path: path[...], line: line)
        }

        static func insert(_ value: Value, into table: inout Table, path: ArraySlice<String>, line: Int) throws(ParseError) {
            let first = path.first!  // non-empty: a key has at least one part
            if path.count == 1 { return try table.insert(first, value, line: line) }
            guard case .table(var child) = table[first] else {
                throw ParseError(line: line, message: "'\(first)' is not a table")
            }
            try insert(value, into: &child, path: path.dropFirst(), line: line)
            table.update(first, .table(child))
        }

        mutating func dottedKey() throws(ParseError) -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces()
                parts.append(try simpleKey())
                skipSpaces()
                guard current == UInt8(ascii: ".") else { return parts }
                advance()
            }
        }

        mutating func simpleKey() throws(ParseError) -> String {
            if current == UInt8(ascii: "\"") { return try basicString() }
            if current == UInt8(ascii: "'") { return try literalString() }
            let start = index
            while let c = current, Self.isBareKeyByte(c) { advance() }
            guard index > start else { throw error("expected a key") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        static func isBareKeyByte(_ c: UInt8) -> Bool {
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }

        mutating func value() throws(ParseError) -> Value {
            let valueLine = line
            switch current {
            case UInt8(ascii: "\""): return .string(try basicString(), line: valueLine)
            case UInt8(ascii: "'"): return .string(try literalString(), line: valueLine)
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "{"): throw error("inline tables are not supported; use a [table]")
            case nil: throw error("expected a value")
            default:
                let start = index
                while let c = current, Self.isBareKeyByte(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":") {
                    advance()
                }
                let word = String(decoding: bytes[start..<index], as: UTF8.self)
                if word == "true" { return .boolean(true, line: valueLine) }
                if word == "false" { return .boolean(false, line: valueLine) }
                if let n = Self.integer(word) { return .integer(n, line: valueLine) }
                throw ParseError(line: valueLine, message: word.isEmpty ? "expected a value" : "'\(word)' is not a supported value (string, integer, boolean or array)")
            }
        }

        static func integer(_ word: String) -> Int? {
            var text = Substring(word)
            var negative = false
            if text.first == "+" || text.first == "-" {
                negative = text.first == "-"
                text = text.dropFirst()
            }
            var radix = 10
            if text.hasPrefix("0x") {
                radix = 16
                text = text.dropFirst(2)
            }
            // TOML: underscores only between digits.
            guard !text.isEmpty, text.first != "_", text.last != "_", !text.contains("__") else { return nil }
            if radix == 10, text.count > 1, text.first == "0" { return nil }  // no leading zeros in TOML
            guard let magnitude = Int(text.filter { $0 != "_" }, radix: radix) else { return nil }
            return negative ? -magnitude : magnitude
        }

        mutating func array() throws(ParseError) -> Value {
            let arrayLine = line
            advance()  // [
            var items: [Value] = []
            while true {
                skipBlank()
                if current == UInt8(ascii: "]") {
                    advance()
                    return .array(items, line: arrayLine)
                }
                items.append(try value())
                skipBlank()
                if current == UInt8(ascii: ",") {
                    advance()
                } else if current != UInt8(ascii: "]") {
                    throw error("expected ',' or ']' in the array that starts on line \(arrayLine)")
                }
            }
        }

        mutating func literalString() throws(ParseError) -> String {
            advance()
            let start = index
            while let c = current, c != UInt8(ascii: "'") {
                if c == UInt8(ascii: "\n") { throw error("a string may not span lines") }
                advance()
            }
            guard current != nil else { throw error("unterminated string") }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            advance()
            return text
        }

        mutating func basicString() throws(ParseError) -> String {
            advance()
            var out: [UInt8] = []
            while true {
                guard let c = current else { throw error("unterminated string") }
                if c == UInt8(ascii: "\n") { throw error("a string may not span lines") }
                advance()
                if c == UInt8(ascii: "\"") { break }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    continue
                }
                guard let e = current else { throw error("unterminated escape") }
                advance()
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let digits = e == UInt8(ascii: "u") ? 4 : 8
                    guard index + digits <= bytes.count,
                        let code = UInt32(String(decoding: bytes[index..<index + digits], as: UTF8.self), radix: 16),
                        let scalar = Unicode.Scalar(code)
                    else { throw error("bad \\u escape") }
                    for _ in 0..<digits { advance() }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw error("unknown escape '\\\(Character(Unicode.Scalar(e)))'")
                }
            }
            guard let text = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
            return text
        }
    }
}
