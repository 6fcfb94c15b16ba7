#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a package comes from over the uplink (the acquirer's or TMS's download service): a length and byte ranges.
/// The transport (HTTP range requests, a host-protocol file transfer) implements it; nothing it says is trusted,
/// since the installer verifies the whole package afterwards.
public protocol PackageSource {
    /// The package's length as the host announces it.
    func length() throws -> Int
    /// Up to `count` bytes from `offset`; fewer only at the end. Throws when the link fails.
    func read(offset: Int, count: Int) throws -> [UInt8]
}

/// What the terminal's parameters allow for downloads.
public struct DownloadPolicy: Sendable, Equatable {
    /// Download on a metered link (cellular)? Otherwise the download waits for an unmetered one.
    public var allowMetered: Bool
    /// The largest package accepted (the announced length is refused above it before a byte is fetched).
    public var maximumLength: Int
    /// Bytes per request.
    public var chunkSize: Int

    /// A policy.
    public init(allowMetered: Bool = false, maximumLength: Int = 256 << 20, chunkSize: Int = 256 << 10) {
        self.allowMetered = allowMetered
        self.maximumLength = maximumLength
        self.chunkSize = chunkSize
    }
}

/// What a download did.
public enum DownloadOutcome: Sendable, Equatable {
    /// The whole package is at the destination path (not yet verified: hand it to `Installer.install`).
    case complete(bytes: Int)
    /// The link is metered and the parameters do not allow downloads on it; nothing was fetched.
    case waitingForUnmeteredLink
    /// The host announces a package larger than the policy allows; nothing was fetched.
    case tooLarge(Int)
}

/// A resumable download into `destination`: bytes go to `destination.part`, fsync'ed after every chunk, so an
/// interrupted download (link lost, power cut, SIGKILL) resumes from what the part file holds; the complete file is
/// renamed to `destination`. `progress(done, total)` is called after every chunk (for the screen).
public enum PackageDownload {
    /// Downloads (or resumes) the package from `source`.
    /// - Throws: the source's error when the link fails (call again to resume), ``UpdaterError`` for file errors.
    public static func run(
        from source: some PackageSource, to destination: String, metered: Bool, policy: DownloadPolicy = DownloadPolicy(),
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> DownloadOutcome {
        if metered && !policy.allowMetered { return .waitingForUnmeteredLink }
        let total = try source.length()
        guard total >= 0, total <= policy.maximumLength else { return .tooLarge(total) }
        let part = destination + ".part"
        let fd = open(part, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SlotFiles.failure("cannot open \(part)") }
        defer { close(fd) }
        var done = Int(lseek(fd, 0, SEEK_END))
        if done > total {
            // The host now serves another (shorter) package: start again.
            guard ftruncate(fd, 0) == 0 else { throw SlotFiles.failure("cannot truncate \(part)") }
            done = 0
            _ = lseek(fd, 0, SEEK_SET)
        }
        progress(done, total)
        while done < total {
            let chunk = try source.read(offset: done, count: min(policy.chunkSize, total - done))
            guard !chunk.isEmpty, chunk.count <= total - done else { throw UpdaterError(.io, "the host sent \(chunk.count) bytes at offset \(done) of \(total)") }
            var written = 0
            while written < chunk.count {
                let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress! + written, chunk.count - written) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw SlotFiles.failure("cannot write \(part)") }
                written += n
            }
            guard fsync(fd) == 0 else { throw SlotFiles.failure("cannot sync \(part)") }
            done += chunk.count
            progress(done, total)
        }
        guard rename(part, destination) == 0 else { throw SlotFiles.failure("cannot rename \(part)") }
        let directory = destination.lastIndex(of: "/").map { String(destination[..<$0]) } ?? "."
        SlotFiles.syncDirectory(directory.isEmpty ? "/" : directory)
        return .complete(bytes: total)
    }
}
