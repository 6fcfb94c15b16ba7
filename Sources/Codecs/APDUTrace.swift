/// An APDU trace: the command and response APDUs of a card session, one per line, redacted when written so a trace
/// file never holds cardholder data in clear (PCI DSS 3.4), and read back by `termtool emv log`.
///
/// The file format, one entry per line:
///
///     # emv-apdu-trace 1
///     17:02:11.042 > 00A404000E315041592E5359532E444446303100
///     17:02:11.049 < 6F1A840E315041592E5359532E4444463031A5088801015F2D027A689000
///
/// An optional time (`HH:MM:SS.mmm`), `>` for a command to the card, `<` for its response (data then SW1 SW2), the
/// bytes in hex. Lines starting with `#` and blank lines are comments.
///
/// Redaction keeps the structure, so the redacted trace still parses: in a response that is BER-TLV, the value of
/// every element the ``EMVDataDictionary`` marks sensitive is overwritten in place: a PAN keeps its first six and
/// last four digits (the others become `0`), masked and dropped elements become zero bytes of the same length. The
/// data of VERIFY (`20`), CHANGE REFERENCE DATA (`24`) and the PIN-carrying issuer script commands is zeroed.
public enum APDUTrace {
    /// Which way an APDU went.
    public enum Direction: Sendable, Equatable {
        case command
        case response
    }

    /// One line of a trace.
    public struct Entry: Sendable, Equatable {
        public var time: String?
        public var direction: Direction
        public var bytes: [UInt8]

        public init(time: String? = nil, direction: Direction, bytes: [UInt8]) {
            self.time = time
            self.direction = direction
            self.bytes = bytes
        }
    }

    /// The first line of a trace file.
    public static let header = "# emv-apdu-trace 1"

    /// The trace line for an APDU, redacted. `time` is written as given (`HH:MM:SS.mmm`).
    public static func line(_ direction: Direction, _ bytes: [UInt8], time: String? = nil) -> String {
        let redacted = direction == .command ? redact(command: bytes) : redact(response: bytes)
        return (time.map { $0 + " " } ?? "") + (direction == .command ? "> " : "< ") + Hex.encode(redacted)
    }

    /// A command with PIN data (VERIFY, CHANGE REFERENCE DATA, PIN CHANGE/UNBLOCK `84 24`) zeroed.
    public static func redact(command bytes: [UInt8]) -> [UInt8] {
        guard bytes.count > 5 else { return bytes }
        let ins = bytes[1]
        guard ins == 0x20 || ins == 0x24 else { return bytes }
        var out = bytes
        for index in 5..<out.count { out[index] = 0 }
        return out
    }

    /// A response with the sensitive TLV values overwritten in place (see the type's description). A response whose
    /// data is not BER-TLV is returned as is when it is at most 8 bytes (a challenge), otherwise its data is zeroed:
    /// unparseable data might hold anything.
    public static func redact(response bytes: [UInt8]) -> [UInt8] {
        guard bytes.count > 2 else { return bytes }
        var out = bytes
        let data = bytes[..<(bytes.count - 2)]
        guard let nodes = try? TLVNode.sequence(tlvEncoded: data) else {
            if data.count > 8 { for index in data.indices { out[index] = 0 } }
            return out
        }
        for node in nodes { redact(node, in: &out) }
        return out
    }

    private static func redact(_ node: TLVNode, in out: inout [UInt8]) {
        if node.isConstructed {
            for child in node.children { redact(child, in: &out) }
            return
        }
        switch EMVDataDictionary.element(for: node.tag)?.sensitivity {
        case nil, .some(.none):
            return
        case .some(.masked), .some(.dropped):
            for index in node.value.indices { out[index] = 0 }
        case .some(.pan):
            // cn digits: keep nibbles 0..<6 and the last four digit nibbles before any F padding.
            var nibbles: [UInt8] = []
            for byte in node.value { nibbles += [byte >> 4, byte & 0x0F] }
            let digitCount = nibbles.firstIndex(of: 0x0F) ?? nibbles.count
            for position in 0..<digitCount where position >= 6 && position < digitCount - 4 { nibbles[position] = 0 }
            if digitCount < 13 { for position in 0..<digitCount { nibbles[position] = 0 } }
            for (offset, index) in node.value.indices.enumerated() {
                out[index] = nibbles[2 * offset] << 4 | nibbles[2 * offset + 1]
            }
        }
    }

    /// A trace that does not read.
    public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    /// Reads a trace file.
    public static func parse(_ text: String) throws(FormatError) -> [Entry] {
        var entries: [Entry] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            var fields = line.split(separator: " ", omittingEmptySubsequences: true)
            var time: String?
            if let first = fields.first, first != ">", first != "<" {
                time = String(first)
                fields.removeFirst()
            }
            guard fields.count == 2, let arrow = fields.first, arrow == ">" || arrow == "<" else {
                throw FormatError(line: number + 1, message: "expected '[time] > HEX' or '[time] < HEX'")
            }
            guard let bytes = Hex.decode(String(fields[1])) else {
                throw FormatError(line: number + 1, message: "not hexadecimal")
            }
            let direction: Direction = arrow == ">" ? .command : .response
            if direction == .response, bytes.count < 2 {
                throw FormatError(line: number + 1, message: "a response has at least SW1 SW2")
            }
            entries.append(Entry(time: time, direction: direction, bytes: bytes))
        }
        return entries
    }

    /// A readable listing: each command named with its parameters, each response's status word explained and its
    /// data shown as a TLV tree with tag names (values masked per the dictionary).
    public static func render(_ entries: [Entry]) -> String {
        var out = ""
        for entry in entries {
            let time = entry.time.map { $0 + " " } ?? ""
            switch entry.direction {
            case .command:
                guard let command = try? CommandAPDU(apduEncoded: entry.bytes) else {
                    out += "\(time)> malformed command (\(entry.bytes.count) bytes)\n"
                    continue
                }
                out += "\(time)> \(commandName(command)) \(command.description)\n"
                if !command.data.isEmpty {
                    let shown = command.ins == 0x20 || command.ins == 0x24 ? "<dropped>" : Hex.encode(command.data)
                    out += "    data: \(shown)\n"
                }
            case .response:
                let sw = StatusWord(sw1: entry.bytes[entry.bytes.count - 2], sw2: entry.bytes[entry.bytes.count - 1])
                out += "\(time)< \(sw) \(statusMeaning(sw))\n"
                let data = Array(entry.bytes.dropLast(2))
                if !data.isEmpty {
                    if (try? TLVNode.sequence(tlvEncoded: data)) != nil {
                        for line in EMVDataDictionary.render(tlvEncoded: data).split(separator: "\n") {
                            out += "    " + line + "\n"
                        }
                    } else {
                        out += "    data (\(data.count) bytes, not TLV)\n"
                    }
                }
            }
        }
        return out
    }

    /// The ISO 7816-4 / EMV name of a command.
    public static func commandName(_ command: CommandAPDU) -> String {
        switch (command.cla & 0xF0, command.ins) {
        case (_, 0xA4): return command.p2 & 0x02 != 0 ? "SELECT (next)" : "SELECT"
        case (_, 0xB2): return "READ RECORD \(command.p1) SFI \(command.p2 >> 3)"
        case (0x80, 0xA8): return "GET PROCESSING OPTIONS"
        case (0x80, 0xAE):
            let kind = switch command.p1 & 0xC0 {
            case 0x00: "AAC"
            case 0x40: "TC"
            case 0x80: "ARQC"
            default: "RFU"
            }
            return "GENERATE AC (\(kind)\(command.p1 & 0x10 != 0 ? ", CDA" : ""))"
        case (_, 0x88): return "INTERNAL AUTHENTICATE"
        case (_, 0x82): return "EXTERNAL AUTHENTICATE"
        case (_, 0x84): return "GET CHALLENGE"
        case (0x80, 0xCA): return "GET DATA \(Hex.encode([command.p1, command.p2]))"
        case (_, 0x20): return command.p2 == 0x88 ? "VERIFY (enciphered PIN)" : "VERIFY (plaintext PIN)"
        case (_, 0xC0): return "GET RESPONSE"
        case (0x80, 0x1E), (0x84, 0x1E): return "APPLICATION BLOCK"
        case (0x80, 0x18), (0x84, 0x18): return "APPLICATION UNBLOCK"
        case (0x80, 0x16), (0x84, 0x16): return "CARD BLOCK"
        case (0x80, 0x24), (0x84, 0x24): return "PIN CHANGE/UNBLOCK"
        case (0x00, 0xDA), (0x04, 0xDA): return "PUT DATA"
        case (0x00, 0xDC), (0x04, 0xDC): return "UPDATE RECORD"
        default: return "command \(Hex.encode([command.cla, command.ins]))"
        }
    }

    /// What a status word means (ISO 7816-4 and EMV Book 3 clause 6.3.5).
    public static func statusMeaning(_ sw: StatusWord) -> String {
        if sw.isNormalProcessing { return "ok" }
        if sw.hasResponseBytesAvailable { return "\(sw.sw2) bytes available" }
        if sw.isWrongExpectedLength { return "wrong Le, resend with \(sw.sw2)" }
        if let tries = sw.remainingTries { return "verification failed, \(tries) tries left" }
        switch sw.rawValue {
        case 0x6283: return "selected file invalidated (application blocked)"
        case 0x6300: return "authentication failed"
        case 0x6700: return "wrong length"
        case 0x6982: return "security status not satisfied"
        case 0x6983: return "authentication method blocked"
        case 0x6984: return "referenced data invalidated"
        case 0x6985: return "conditions of use not satisfied"
        case 0x6988: return "secure messaging data objects incorrect"
        case 0x6A81: return "function not supported (card or application blocked)"
        case 0x6A82: return "file or application not found"
        case 0x6A83: return "record not found"
        case 0x6A88: return "referenced data not found"
        case 0x6D00: return "instruction not supported"
        case 0x6E00: return "class not supported"
        default: return "error"
        }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" || first == "\r" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s.removeLast() }
        return s
    }
}
