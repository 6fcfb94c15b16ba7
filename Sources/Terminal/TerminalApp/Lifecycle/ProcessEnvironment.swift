#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process environment, read once into a dictionary.
///
/// The lifecycle types take the environment as a `[String: String]` instead of calling `getenv(3)` themselves,
/// so tests pin exactly the variables they need (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `JOURNAL_STREAM`) without
/// touching the real environment, which is shared by every thread of the test process. Nothing here ever
/// modifies the environment: `sd_notify(3)`'s `unset_environment` behaviour is deliberately not reproduced, because
/// `unsetenv(3)` is not thread-safe.
public enum ProcessEnvironment {
    /// A snapshot of `environ` (environ(7)). Entries without `=` are skipped; when a name occurs twice the first
    /// wins, as `getenv(3)` does.
    ///
    /// Call it once at startup, before any thread could call `setenv(3)`.
    /// - Returns: name → value for every entry of `environ`.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        // `environ` is a NULL-terminated array of "NAME=value" C strings owned by libc.
        let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        guard let entries = table else { return result }
        var index = 0
        while let entry = entries[index] {
            index += 1
            let text = String(cString: entry)
            guard let equals = text.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(text[..<equals])
            guard !name.isEmpty, result[name] == nil else { continue }
            result[name] = String(text[text.index(after: equals)...])
        }
        return result
    }
}
