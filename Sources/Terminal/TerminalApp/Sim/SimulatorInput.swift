public import DeviceKit

/// What the simulator's keyboard, or a line of headless input, stands for.
public enum SimulatorEvent: Sendable, Equatable {
    case key(Key)
    case presentation(Presentation)
    /// Headless `WAIT <ms>`.
    case wait(milliseconds: Int)
    /// Headless `UNTIL [<ms>ms] <text>`: stop reading input until a screen shown after the previous event holds
    /// `text`, for at most `timeoutMilliseconds`.
    case until(text: String, timeoutMilliseconds: Int)
    /// Leave the simulator (keyboard `q` or Ctrl-C).
    case quit
}

/// Headless mode's input language, one event per line (README, "Headless mode"):
/// key names (`1`, `00`, `ENTER`, `CANCEL`, `CLEAR`, `F1`, `UP`, `MENU`, ...), `INSERT <card>`, `TAP <card or phone>`,
/// `REMOVE`, `SCAN <text>`, `WAIT <ms>`, `UNTIL [<ms>ms] <text>`. Blank lines and lines starting with `#` are skipped.
public enum HeadlessCommand {
    /// How long `UNTIL <text>` waits for its screen when the line names no timeout: 30 s, generous enough for an
    /// online sale under emulation on a loaded machine.
    public static let defaultUntilTimeoutMilliseconds = 30_000

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "headless input line \(line): \(message)" }
    }

    /// Parses one line; `nil` for a blank or comment line.
    public static func parse(_ text: String, line: Int) throws(ParseError) -> SimulatorEvent? {
        var trimmed = Substring(text)
        while let c = trimmed.first, c == " " || c == "\t" || c == "\r" { trimmed.removeFirst() }
        while let c = trimmed.last, c == " " || c == "\t" || c == "\r" { trimmed.removeLast() }
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        let verb = trimmed.prefix { $0 != " " && $0 != "\t" }
        var argument = trimmed.dropFirst(verb.count)
        while let c = argument.first, c == " " || c == "\t" { argument.removeFirst() }
        switch verb.uppercased() {
        case "INSERT", "TAP":
            guard !argument.isEmpty, !argument.contains(" ") else {
                throw ParseError(line: line, message: "\(verb.uppercased()) needs one card name, e.g. '\(verb.uppercased()) visa-credit'")
            }
            let name = String(argument)
            return .presentation(verb.uppercased() == "INSERT" ? .inserted(name: name) : .tapped(name: name))
        case "REMOVE":
            guard argument.isEmpty else { throw ParseError(line: line, message: "REMOVE takes no argument") }
            return .presentation(.removed)
        case "SCAN":
            guard !argument.isEmpty else { throw ParseError(line: line, message: "SCAN needs the scanned text") }
            return .presentation(.scanned(code: String(argument)))
        case "WAIT":
            guard let ms = Int(argument), (0...600_000).contains(ms) else {
                throw ParseError(line: line, message: "WAIT needs milliseconds 0...600000, found '\(argument)'")
            }
            return .wait(milliseconds: ms)
        case "UNTIL":
            return try parseUntil(argument, line: line)
        default:
            guard argument.isEmpty, let key = Key(name: verb) else {
                throw ParseError(line: line, message: "unknown key or action '\(trimmed)'; expected a key name (\(Key.allCases.map(\.rawValue).joined(separator: " "))) or INSERT, TAP, REMOVE, SCAN, WAIT, UNTIL")
            }
            return .key(key)
        }
    }

    /// `UNTIL <text>` or `UNTIL <ms>ms <text>`: a first word of digits followed by `ms` is the timeout (0...600000);
    /// the rest of the line, inner spaces kept, is the text the screen must show.
    static func parseUntil(_ argument: Substring, line: Int) throws(ParseError) -> SimulatorEvent {
        var text = argument
        var timeout = defaultUntilTimeoutMilliseconds
        let first = argument.prefix { $0 != " " && $0 != "\t" }
        if first.count > 2, first.hasSuffix("ms"), first.dropLast(2).allSatisfy({ ("0"..."9").contains($0) }) {
            guard let ms = Int(first.dropLast(2)), (0...600_000).contains(ms) else {
                throw ParseError(line: line, message: "UNTIL's timeout must be 0...600000 ms, found '\(first)'")
            }
            timeout = ms
            text = argument.dropFirst(first.count)
            while let c = text.first, c == " " || c == "\t" { text.removeFirst() }
        }
        guard !text.isEmpty else {
            throw ParseError(line: line, message: "UNTIL needs the text to wait for, e.g. 'UNTIL 请插卡' or 'UNTIL 5000ms 交易成功'")
        }
        return .until(text: String(text), timeoutMilliseconds: timeout)
    }
}

/// Decodes the bytes a terminal emulator sends for keys (xterm and Linux console sequences) into simulator events.
///
/// Mapping (shown on the simulator's status line): digits and `.`; `z` = 00; Enter = ENTER; Esc = CANCEL;
/// Backspace = CLEAR; `m` = MENU; arrows = UP/DOWN; F1-F4 = F1-F4; F5 insert the selected card; F6 tap the selected
/// card or phone; F7 scan the selected code; F8 insert the selected prepaid card; F9 remove; Tab selects the next
/// virtual item; `q` or Ctrl-C quits.
public struct SimulatorKeyDecoder: Sendable {
    public enum Decoded: Sendable, Equatable {
        case event(SimulatorEvent)
        /// F5-F8 and Tab: which virtual item to present is the simulator's choice.
        case present(PresentKind)
        case nextItem
    }

    public enum PresentKind: Sendable, Equatable { case insertCard, tap, scan, insertPrepaid }

    private var pending: [UInt8] = []

    public init() {}

    /// Whether a lone ESC is waiting to tell if a sequence follows.
    public var hasPendingEscape: Bool { pending == [0x1B] }

    /// Feeds bytes; returns what they decode to. An ESC at the end stays pending until more bytes or ``flush()``.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Decoded] {
        var out: [Decoded] = []
        for byte in bytes {
            if pending.isEmpty {
                if byte == 0x1B {
                    pending = [byte]
                } else if let d = Self.single(byte) {
                    out.append(d)
                }
                continue
            }
            pending.append(byte)
            if let d = Self.sequence(pending) {
                out.append(d)
                pending = []
            } else if !Self.isPrefix(pending) {
                pending = []
            }
        }
        return out
    }

    /// A lone ESC after a pause is the Esc key.
    public mutating func flush() -> [Decoded] {
        defer { pending = [] }
        return pending == [0x1B] ? [.event(.key(.cancel))] : []
    }

    static func single(_ byte: UInt8) -> Decoded? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): .event(.key(Key(rawValue: String(Character(Unicode.Scalar(byte))))!))  // a digit name is a Key
        case UInt8(ascii: "."): .event(.key(.dot))
        case UInt8(ascii: "z"): .event(.key(.doubleZero))
        case 0x0D, 0x0A: .event(.key(.enter))
        case 0x7F, 0x08: .event(.key(.clear))
        case UInt8(ascii: "m"): .event(.key(.menu))
        case 0x09: .nextItem
        case UInt8(ascii: "q"), 0x03: .event(.quit)
        default: nil
        }
    }

    static let sequences: [[UInt8]: Decoded] = {
        func esc(_ s: String) -> [UInt8] { [0x1B] + Array(s.utf8) }
        return [
            esc("[A"): .event(.key(.up)), esc("[B"): .event(.key(.down)),
            esc("OA"): .event(.key(.up)), esc("OB"): .event(.key(.down)),
            esc("OP"): .event(.key(.f1)), esc("OQ"): .event(.key(.f2)), esc("OR"): .event(.key(.f3)), esc("OS"): .event(.key(.f4)),
            esc("[11~"): .event(.key(.f1)), esc("[12~"): .event(.key(.f2)), esc("[13~"): .event(.key(.f3)), esc("[14~"): .event(.key(.f4)),
            esc("[[A"): .event(.key(.f1)), esc("[[B"): .event(.key(.f2)), esc("[[C"): .event(.key(.f3)), esc("[[D"): .event(.key(.f4)),
            esc("[15~"): .present(.insertCard), esc("[[E"): .present(.insertCard),
            esc("[17~"): .present(.tap), esc("[18~"): .present(.scan), esc("[19~"): .present(.insertPrepaid),
            esc("[20~"): .event(.presentation(.removed)),
        ]
    }()

    static func sequence(_ bytes: [UInt8]) -> Decoded? { sequences[bytes] }

    static func isPrefix(_ bytes: [UInt8]) -> Bool {
        bytes.count <= 5 && sequences.keys.contains { $0.count > bytes.count && Array($0.prefix(bytes.count)) == bytes }
    }
}
