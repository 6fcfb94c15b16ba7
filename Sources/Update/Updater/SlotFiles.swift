#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PaymentCrypto

/// The small file-system layer of the updater: reading a package by ranges, writing slot files with fsync, the
/// atomic symlink switch, and removing a slot. Paths handed in are built from checked manifest paths only.
enum SlotFiles {
    static let chunkSize = 64 * 1024

    static func failure(_ what: String) -> UpdaterError { UpdaterError(.io, "\(what): \(String(cString: strerror(errno)))") }

    /// An open package file, read with `pread`.
    final class Reader {
        let fd: Int32
        let length: Int

        init(path: String) throws(UpdaterError) {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SlotFiles.failure("cannot open \(path)") }
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                close(fd)
                throw UpdaterError(.io, "\(path) is not a regular file")
            }
            length = Int(info.st_size)
        }

        deinit { close(fd) }

        /// Up to `count` bytes from `offset` (fewer at the end of the file).
        func read(at offset: Int, count: Int) throws(UpdaterError) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw SlotFiles.failure("cannot read the package") }
                if n == 0 { break }
                done += n
            }
            return Array(out.prefix(done))
        }

        /// Streams `range` in chunks to `body`, then returns the SHA-256 of what was read. A short read is an error.
        func stream(_ range: Range<Int>, _ body: ([UInt8]) throws(UpdaterError) -> Void) throws(UpdaterError) -> [UInt8] {
            let hasher: SHA256.Hasher
            do { hasher = try SHA256.Hasher() } catch { throw UpdaterError(.io, "SHA-256: \(error)") }
            var offset = range.lowerBound
            while offset < range.upperBound {
                let chunk = try read(at: offset, count: min(SlotFiles.chunkSize, range.upperBound - offset))
                guard !chunk.isEmpty else { throw UpdaterError(.io, "the package shrank while it was read") }
                do { try hasher.update(chunk) } catch { throw UpdaterError(.io, "SHA-256: \(error)") }
                try body(chunk)
                offset += chunk.count
            }
            do { return try hasher.finalize() } catch { throw UpdaterError(.io, "SHA-256: \(error)") }
        }
    }

    /// A new file, created exclusively (never through an existing name or symlink), fsync'ed on close.
    final class Writer {
        let fd: Int32
        let path: String

        init(path: String, mode: UInt32) throws(UpdaterError) {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
            guard fd >= 0 else { throw SlotFiles.failure("cannot create \(path)") }
            self.path = path
        }

        func write(_ bytes: [UInt8]) throws(UpdaterError) {
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress! + done, bytes.count - done) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw SlotFiles.failure("cannot write \(path)") }
                done += n
            }
        }

        func finish(mode: UInt32) throws(UpdaterError) {
            guard fchmod(fd, mode_t(mode)) == 0, fsync(fd) == 0 else { throw SlotFiles.failure("cannot sync \(path)") }
        }

        deinit { close(fd) }
    }

    static func makeDirectory(_ path: String, mode: UInt32 = 0o755) throws(UpdaterError) {
        if mkdir(path, mode_t(mode)) != 0 {
            var info = stat()
            guard errno == EEXIST, lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { throw failure("cannot create \(path)") }
        }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Removes `path` and everything under it without following symlinks.
    static func removeTree(_ path: String) throws(UpdaterError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            guard let dir = opendir(path) else { throw failure("cannot list \(path)") }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(dir)
            for name in names { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 else { throw failure("cannot remove \(path)") }
        } else {
            guard unlink(path) == 0 else { throw failure("cannot remove \(path)") }
        }
    }

    /// The target of the symlink at `path`, or nil.
    static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Points the symlink `path` at `target` atomically: a new link beside it, `rename(2)` over it, directory fsync.
    static func switchLink(_ path: String, to target: String, directory: String) throws(UpdaterError) {
        let temporary = path + ".new"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw failure("cannot create \(temporary)") }
        guard rename(temporary, path) == 0 else { throw failure("cannot replace \(path)") }
        syncDirectory(directory)
    }

    /// Free bytes for unprivileged writers on the file system of `path`.
    static func freeBytes(_ path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }
}

/// `write(2)`, under a name the `Writer.write` method does not shadow.
private func posixWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, pointer, count) }
