#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Store

/// "No update starts while a transaction is in flight or the offline queue cannot be persisted", checked from
/// outside the running terminal (`terminal update install`): the store is SQLite in WAL mode, so a second reader
/// sees the journal's committed state without disturbing the terminal.
public enum UpdatePreflight {
    /// Free bytes the offline queue must be able to grow by, on the store's and the root's file systems.
    public static let minimumFreeBytes = 1 << 20

    /// Why an update may not start now, or nil. `storePath` is the terminal's `terminal.sqlite` (a missing file
    /// means no journal yet). In flight: a transaction still `pending` (no outcome recorded), or one whose request
    /// or advice was `sent` and not yet acknowledged. A store that cannot be read refuses the update.
    public static func check(storePath: String, root: String) -> String? {
        let directory = storePath.lastIndex(of: "/").map { String(storePath[..<$0]) } ?? "."
        for path in [directory, root] {
            if let free = SlotFiles.freeBytes(path), free < minimumFreeBytes {
                return "less than 1 MiB free on \(path): the offline queue could not be persisted"
            }
        }
        guard access(storePath, F_OK) == 0 else { return nil }
        do {
            let database = try Database(path: storePath)
            if database.isReadOnly { return "the store is read-only: the offline queue could not be persisted" }
            let rows = try database.query("SELECT count(*) FROM transactions WHERE status = 'pending' OR upload_state = 'sent'")
            if case .integer(let n)? = rows.first?.first, n > 0 {
                return "\(n) transaction\(n == 1 ? " is" : "s are") in flight"
            }
            return nil
        } catch {
            return "cannot read the store: \(error)"
        }
    }
}
