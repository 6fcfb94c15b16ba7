#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Store
import Synchronization

/// The recent log lines kept on the terminal for an upload on the host's request (docs/terminal-management.md
/// "Log upload"): a small file in the state directory (`STATE/log/recent.log`, 0600) that never grows past its cap —
/// when a line would take it over, the oldest lines are dropped (the newest half of the cap is kept).
///
/// Lines arrive already redacted by ``RedactingLogHandler``; ``uploadText(_:)`` checks them again before they leave.
/// Until ``attach(path:capacity:)`` is called (the state directory is known only after logging starts) lines are
/// dropped. Writes are plain `write(2)` on a descriptor kept open with `O_APPEND`, not synced: a log is not worth an
/// fsync per line.
public final class LogRing: Sendable {
    /// The process's ring, fed by the handler that ``LoggingBootstrap`` installs.
    public static let process = LogRing()

    /// The default cap: 64 KiB.
    public static let defaultCapacity = 64 * 1024

    private struct State {
        var path: String?
        var capacity = LogRing.defaultCapacity
        var size = 0
        /// The open file (`O_APPEND`), or -1.
        var descriptor: Int32 = -1
    }

    private let state = Mutex(State())

    /// A ring that writes nowhere until attached.
    public init() {}

    deinit {
        state.withLock { state in
            if state.descriptor >= 0 { close(state.descriptor) }
        }
    }

    /// Starts keeping lines in `path` (created 0600; its directory must exist), at most `capacity` bytes.
    public func attach(path: String, capacity: Int = LogRing.defaultCapacity) {
        state.withLock { state in
            if state.descriptor >= 0 { close(state.descriptor) }
            state.path = path
            state.capacity = max(1024, capacity)
            var st = stat()
            state.size = stat(path, &st) == 0 ? Int(st.st_size) : 0
            if state.size > state.capacity { state.size = Self.trim(path, keep: state.capacity / 2) }
            state.descriptor = Self.openForAppend(path)
        }
    }

    /// The file, when attached.
    public var path: String? { state.withLock { $0.path } }

    /// Appends one line (newline included). A line longer than half the cap is cut.
    public func append(_ line: [UInt8]) {
        state.withLock { state in
            guard let path = state.path else { return }
            var bytes = line
            if bytes.count > state.capacity / 2 { bytes = Array(bytes.prefix(state.capacity / 2 - 1)) + [0x0A] }
            if state.size + bytes.count > state.capacity {
                state.size = Self.trim(path, keep: state.capacity / 2)
                // The trimmed file is a new one (renamed over the old): write to it from now on.
                if state.descriptor >= 0 { close(state.descriptor) }
                state.descriptor = Self.openForAppend(path)
            }
            guard state.descriptor >= 0, (try? writeAll(state.descriptor, bytes)) != nil else { return }
            state.size += bytes.count
        }
    }

    private static func openForAppend(_ path: String) -> Int32 {
        open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
    }

    /// The lines kept now, oldest first.
    public func contents() -> [UInt8] {
        state.withLock { state in state.path.map { Self.readAll($0) } ?? [] }
    }

    /// Keeps the newest whole lines within `keep` bytes (written whole through a temporary file and a rename);
    /// returns the size.
    private static func trim(_ path: String, keep: Int) -> Int {
        let bytes = readAll(path)
        var tail = bytes.suffix(keep)
        if tail.count < bytes.count, let newline = tail.firstIndex(of: 0x0A) { tail = tail[(newline + 1)...] }
        guard (try? DurableFile.store(path, Array(tail))) != nil else { return bytes.count }
        return tail.count
    }

    /// The file's bytes (empty when it cannot be read; the ring never holds more than a few times its cap).
    private static func readAll(_ path: String) -> [UInt8] {
        (try? DurableFile.readAll(path, limit: 4 << 20)) ?? []
    }

    /// What leaves the terminal: every line passed through ``Redaction/redact(_:)`` again (PANs masked 6/4, track
    /// data removed), then every run of 16 or more hex digits — a PIN block, a key, a cryptogram, a KSN — replaced by
    /// ``hexPlaceholder`` (over-redaction accepted: a 16-hex-digit transaction reference goes too), and anything not
    /// printable ASCII or a newline by `?`.
    public static func uploadText(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let redacted = Array(Redaction.redact(String(decoding: line, as: UTF8.self)).utf8)
            var run: [UInt8] = []
            func flush() {
                out += run.count >= 16 ? Array(hexPlaceholder.utf8) : run
                run.removeAll()
            }
            for byte in redacted {
                if isHex(byte) {
                    run.append(byte)
                } else {
                    flush()
                    out.append(byte >= 0x20 && byte < 0x7F ? byte : UInt8(ascii: "?"))
                }
            }
            flush()
            out.append(0x0A)
        }
        if out.last == 0x0A, bytes.last == 0x0A || bytes.isEmpty { out.removeLast() }
        return out
    }

    /// What a run of 16 or more hex digits becomes in an upload.
    public static let hexPlaceholder = "[REDACTED-HEX]"

    private static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }
}
