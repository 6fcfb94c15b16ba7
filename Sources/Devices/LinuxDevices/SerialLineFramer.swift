/// The bytes that end a line on a serial link.
///
/// Scanners send a configurable suffix after each code (most default to CR; some to CRLF or LF). A board profile
/// may name any other byte string.
public enum LineSuffix: Sendable, Equatable, CustomStringConvertible {
    /// Carriage return, 0x0D.
    case cr
    /// Line feed, 0x0A.
    case lf
    /// Carriage return and line feed, 0x0D 0x0A.
    case crlf
    /// Any other non-empty byte string.
    case bytes([UInt8])

    /// The suffix bytes.
    public var bytes: [UInt8] {
        switch self {
        case .cr: [0x0D]
        case .lf: [0x0A]
        case .crlf: [0x0D, 0x0A]
        case .bytes(let bytes): bytes
        }
    }

    /// Parses a board-profile name: "CR", "LF", "CRLF" (any case), or hex bytes such as "0x03" / "1e04".
    public init?(name: some StringProtocol) {
        switch name.uppercased() {
        case "CR": self = .cr
        case "LF": self = .lf
        case "CRLF": self = .crlf
        default:
            var hex = Substring(name)
            if hex.hasPrefix("0x") || hex.hasPrefix("0X") { hex = hex.dropFirst(2) }
            guard !hex.isEmpty, hex.count.isMultiple(of: 2) else { return nil }
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
                bytes.append(byte)
                index = next
            }
            self = .bytes(bytes)
        }
    }

    /// "CR", "LF", "CRLF" or hex.
    public var description: String {
        switch self {
        case .cr: "CR"
        case .lf: "LF"
        case .crlf: "CRLF"
        case .bytes(let bytes): "0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }
}

/// Splits a byte stream into lines that end with a ``LineSuffix``: a pure value, fed chunk by chunk.
///
/// Feed whatever `read(2)` returned with ``append(_:)``, then call ``nextLine()`` until it returns `nil` (need
/// more bytes). A line longer than ``maxLineLength`` throws ``SerialError/Code/lineTooLong`` once; the framer
/// then drops bytes up to the next suffix and carries on with the line after it (resynchronisation). A line that
/// is not UTF-8 throws ``SerialError/Code/invalidUTF8`` and is dropped. The result does not depend on how the
/// stream was cut into chunks (byte by byte or all at once), and memory stays bounded by ``maxLineLength``.
public struct LineFramer: Sendable {
    /// The bytes that end a line.
    public let suffix: [UInt8]
    /// The longest line accepted, in bytes, without the suffix.
    public let maxLineLength: Int

    /// Received bytes not yet returned as a line.
    private var buffer: [UInt8] = []
    /// Where the next suffix search starts (bytes before it hold no complete suffix).
    private var searchFrom = 0
    /// Whether the framer is skipping the rest of an oversize line.
    private var discarding = false

    /// Creates a framer.
    ///
    /// - Parameters:
    ///   - suffix: what ends a line.
    ///   - maxLineLength: the frame-size cap in bytes (without the suffix); at least 1.
    public init(suffix: LineSuffix, maxLineLength: Int = 1024) {
        precondition(!suffix.bytes.isEmpty, "a line suffix needs at least one byte")
        precondition(maxLineLength > 0, "LineFramer.maxLineLength must be positive, got \(maxLineLength)")
        self.suffix = suffix.bytes
        self.maxLineLength = maxLineLength
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The bytes held for an unfinished line (0 when the last byte received ended a line).
    public var bufferedByteCount: Int { buffer.count }

    /// Returns the next complete line without its suffix, or `nil` when more bytes are needed.
    ///
    /// - Throws: ``SerialError`` with ``SerialError/Code/lineTooLong`` (once per oversize line) or
    ///   ``SerialError/Code/invalidUTF8``. The framer stays usable: call again for the lines that follow.
    public mutating func nextLine() throws -> String? {
        while true {
            guard let end = findSuffix() else {
                // No complete suffix yet. Only the last (suffix.count - 1) bytes can still start one.
                let keep = suffix.count - 1
                if discarding {
                    if buffer.count > keep { dropPrefix(buffer.count - keep) }
                    return nil
                }
                // Once more than maxLineLength + keep bytes wait without a suffix, the line is too long
                // whatever comes next: report it now, then skip to the next suffix.
                if buffer.count > maxLineLength + keep {
                    discarding = true
                    dropPrefix(buffer.count - keep)
                    throw SerialError(.lineTooLong)
                }
                return nil
            }
            let lineBytes = buffer[buffer.startIndex..<end]
            let wasDiscarding = discarding
            let tooLong = lineBytes.count > maxLineLength
            let text = wasDiscarding || tooLong ? nil : String(validating: lineBytes, as: UTF8.self)
            dropPrefix(end - buffer.startIndex + suffix.count)
            discarding = false
            if wasDiscarding { continue }  // the tail of a line already reported as too long
            if tooLong { throw SerialError(.lineTooLong) }
            guard let text else { throw SerialError(.invalidUTF8) }
            return text
        }
    }

    /// The index where the first complete suffix starts, searching from `searchFrom`.
    private mutating func findSuffix() -> Int? {
        let last = buffer.count - suffix.count
        guard last >= searchFrom else { return nil }
        let first = suffix[0]
        var index = searchFrom
        while index <= last {
            if buffer[index] == first, buffer[index..<index + suffix.count].elementsEqual(suffix) {
                return index
            }
            index += 1
        }
        searchFrom = last + 1
        return nil
    }

    private mutating func dropPrefix(_ count: Int) {
        buffer.removeFirst(count)
        searchFrom = max(0, searchFrom - count)
    }
}
