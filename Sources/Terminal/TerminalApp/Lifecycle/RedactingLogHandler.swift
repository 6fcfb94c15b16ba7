#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Logging
public import SystemPackage
import Synchronization

/// Where ``RedactingLogHandler`` writes: one descriptor (normally stderr) and the line format.
///
/// Each record is one line written with `write(2)` as a whole (no user-space buffering, so nothing is lost when
/// the process dies), serialized by a lock so lines from different threads never interleave. The sink does not own
/// the descriptor and never closes it.
public final class LogSink: Sendable {
    /// The line format.
    public enum Format: Sendable, Equatable {
        /// For systemd-journald's stdout/stderr stream: a `<N>` syslog priority prefix (sd-daemon(3), `SD_ERR`
        /// etc.), which journald turns into `PRIORITY=`, and no timestamp (the journal stamps every entry).
        case journal
        /// For a terminal or a file: a UTC ISO 8601 timestamp and the level name first.
        case timestamped
    }

    /// The line format.
    public let format: Format
    /// The descriptor written to (not owned).
    public let descriptor: FileDescriptor
    private let lock = Mutex<Void>(())

    /// - Parameters:
    ///   - descriptor: where lines go; the caller keeps it open for the sink's lifetime.
    ///   - format: the line format.
    public init(descriptor: FileDescriptor, format: Format) {
        self.descriptor = descriptor
        self.format = format
    }

    /// A sink on stderr, in ``Format/journal`` format when stderr is connected to the journal, else
    /// ``Format/timestamped``.
    /// - Parameter environment: the process environment (`JOURNAL_STREAM` is read).
    /// - Returns: the sink.
    public static func standardError(environment: [String: String]) -> LogSink {
        let stderr = FileDescriptor.standardError
        return LogSink(descriptor: stderr, format: isJournalStream(stderr, environment: environment) ? .journal : .timestamped)
    }

    /// Whether `descriptor` is the journal stream systemd connected, as systemd.exec(7) prescribes for
    /// `$JOURNAL_STREAM`: the variable holds `device:inode` of the stream, and it counts only if `fstat(2)` of the
    /// descriptor gives the same pair (stderr may have been redirected since).
    /// - Parameters:
    ///   - descriptor: usually stderr.
    ///   - environment: the process environment.
    /// - Returns: `true` when `descriptor` is the journal stream.
    public static func isJournalStream(_ descriptor: FileDescriptor, environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let fields = value.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2, let device = UInt64(fields[0]), let inode = UInt64(fields[1]) else { return false }
        var status = stat()
        guard fstat(descriptor.rawValue, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// Writes one complete line (the caller includes the newline). Partial writes are continued and EINTR retried
    /// (swift-system `writeAll`); any other error drops the line, since a logger has nowhere to report it.
    func write(_ line: [UInt8]) {
        lock.withLock { _ in
            _ = try? descriptor.writeAll(line)
        }
    }
}

/// The terminal's swift-log `LogHandler`: one redacted line per record on a ``LogSink``.
///
/// Every record passes through ``Redaction`` before it is formatted: the message, every metadata value (by its
/// key and its ``LogSensitivity`` tag) and the description of an attached error. Lines look like
///
/// ```text
/// <6>terminal.kernel: card read card.pan=476173******0119 txn.id=42          (journal)
/// 2025-01-31T12:00:00.123Z info terminal.kernel: card read card.pan=476173******0119 txn.id=42
/// ```
///
/// Metadata is sorted by key. Values with spaces, `"` or `=` are double-quoted with `\"` and `\\` escapes; control
/// characters anywhere are escaped (`\n`, `\u{1B}`), so a record is always exactly one line and cannot forge
/// another one.
public struct RedactingLogHandler: LogHandler {
    /// The logger label, printed before the message.
    public let label: String
    /// Records below this level are dropped (by `Logger`).
    public var logLevel: Logger.Level
    /// Handler-wide metadata; record metadata wins on equal keys.
    public var metadata: Logger.Metadata = [:]
    /// Task-local metadata source, merged between handler and record metadata.
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: LogSink
    /// Where a copy of every line is kept for a log upload (``LogRing``), if anywhere.
    private let ring: LogRing?

    /// - Parameters:
    ///   - label: the logger label.
    ///   - sink: where lines go.
    ///   - logLevel: the minimum level.
    ///   - metadataProvider: an optional metadata provider.
    ///   - ring: keeps a copy of each line (timestamped) for a log upload.
    public init(
        label: String, sink: LogSink, logLevel: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil, ring: LogRing? = nil
    ) {
        self.label = label
        self.sink = sink
        self.ring = ring
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    /// Handler-wide metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Formats, redacts and writes one record.
    /// - Parameter event: the record.
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, new in new }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let line = Self.format(
            level: event.level, label: label, message: event.message.description, metadata: merged,
            format: sink.format, timestamp: sink.format == .timestamped ? LogTimestamp.now() : nil)
        sink.write(Array(line.utf8))
        if let ring {
            // The journal's lines carry no time (the journal stamps them); the ring's do.
            ring.append(Array((sink.format == .journal ? LogTimestamp.now().iso8601 + " " + line : line).utf8))
        }
    }

    /// The syslog priority journald reads from the `<N>` prefix (sd-daemon(3): `SD_CRIT` 2, `SD_ERR` 3,
    /// `SD_WARNING` 4, `SD_NOTICE` 5, `SD_INFO` 6, `SD_DEBUG` 7).
    /// - Parameter level: a swift-log level.
    /// - Returns: the syslog priority.
    public static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// One complete line, newline included, with everything redacted.
    static func format(
        level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, format: LogSink.Format,
        timestamp: LogTimestamp?
    ) -> String {
        var line: String
        switch format {
        case .journal:
            line = "<\(syslogPriority(level))>"
        case .timestamped:
            line = (timestamp ?? LogTimestamp.now()).iso8601 + " " + level.rawValue + " "
        }
        if !label.isEmpty { line += escaped(label) + ": " }
        line += escaped(Redaction.redact(message))
        let redacted = Redaction.redact(metadata)
        for key in redacted.keys.sorted() {
            // Force-unwrap is safe: `key` comes from the dictionary's own keys.
            line += " " + escaped(key) + "=" + rendered(redacted[key]!)
        }
        return line + "\n"
    }

    private static func rendered(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): quoted(text)
        case .stringConvertible(let convertible): quoted(convertible.description)
        case .array(let elements): "[" + elements.map(renderedNested).joined(separator: ", ") + "]"
        case .dictionary(let dictionary):
            "[" + dictionary.keys.sorted().map { escaped($0) + ": " + renderedNested(dictionary[$0]!) }
                .joined(separator: ", ") + "]"
        }
    }

    private static func renderedNested(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string, .stringConvertible:
            let text = value.description
            return text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" }) || text.isEmpty
                ? quotedAlways(text) : escaped(text)
        case .array, .dictionary:
            return rendered(value)
        }
    }

    /// The text, double-quoted if it is empty or holds a space, `"` or `=`.
    private static func quoted(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" }
        return needsQuotes ? quotedAlways(text) : escaped(text)
    }

    private static func quotedAlways(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(scalar)
        }
        return escaped(out + "\"")
    }

    /// Escapes C0/C1 control characters and DEL so a record stays on one line.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                out.append(scalar)
                continue
            }
            let replacement: String
            switch scalar {
            case "\n": replacement = "\\n"
            case "\r": replacement = "\\r"
            case "\t": replacement = "\\t"
            default: replacement = "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
            out.append(contentsOf: replacement.unicodeScalars)
        }
        return String(out)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
