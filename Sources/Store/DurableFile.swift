#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whole files written so that a power cut leaves the old file or the new one, never half of either: keys, the
/// key store, receipts. (The transaction journal is SQLite's job.)
package enum DurableFile {
    /// Writes through a temporary name (created with `mode`), fsync, rename, then fsyncs the directory so the new
    /// name itself survives a power cut.
    package static func store(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o600) throws(StoreError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let error = failure("cannot write \(temporary)")
                close(fd)
                unlink(temporary)
                throw error
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let error = failure("cannot sync \(temporary)")
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw failure("cannot replace \(path)") }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dirFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// `mkdir -p` with mode 0700 for the directories it creates.
    package static func makeDirectories(_ path: String) throws(StoreError) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0, errno != EEXIST { throw failure("cannot create \(current)") }
        }
    }

    /// Reads a whole file of at most `limit` bytes (configuration, parameter and trace files; keys go through the
    /// key store). A larger file is an error, not a truncated read.
    package static func readAll(_ path: String, limit: Int = 1 << 20) throws(StoreError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open \(path)") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw failure("cannot read \(path)") }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
            guard bytes.count <= limit else { throw StoreError(.io, "\(path) is larger than \(limit) bytes") }
        }
    }

    private static func failure(_ what: String) -> StoreError {
        StoreError(errno == ENOSPC ? .diskFull : .io, "\(what): \(String(cString: strerror(errno)))")
    }
}
