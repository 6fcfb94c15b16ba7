#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Codecs
import PaymentCrypto
public import Store
public import Uplink

/// Carries one terminal management 0800 and brings back the host's 0810 (``HostAcquirerLink`` on the shared host
/// connection; tests may use the same link to a real ``AcquirerSimulator/AcquirerServer``).
public protocol TerminalManagementTransport: Sendable {
    /// Sends `message` and returns the answer as read.
    func networkManagement(_ message: ISO8583.Message) async throws -> ISO8583.Message
}

extension HostAcquirerLink: TerminalManagementTransport {}

/// The one error of terminal management: the host refused, the link failed, a chunk or file was wrong.
public struct TerminalManagementError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The host answered with a code other than `00` (the code).
        case refusedByHost(String)
        /// The link failed or the answer was not a usable 0810 (a repeat resumes).
        case link
        /// A chunk did not match its request or its CRC-32 three times over.
        case corruptChunk
        /// Reading or writing the download or the store failed.
        case storage
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public var description: String { "terminal management error (\(code)): \(reason)" }
}

/// The terminal's side of the terminal management exchanges (docs/host-interface.md §13): what is offered, a
/// resumable chunked download, result and stock reports.
public struct TerminalManagementClient: Sendable {
    /// The outcome of ``download(_:into:store:chunkSize:now:progress:)``.
    public enum DownloadResult: Sendable, Equatable {
        /// The whole object, its SHA-256 checked, is at this path.
        case complete(path: String)
        /// The bytes downloaded do not have the offered SHA-256; they were thrown away (the next try starts over).
        case hashMismatch
    }

    let transport: any TerminalManagementTransport
    let terminalID: String
    let merchantID: String
    let nextSTAN: @Sendable () -> Int
    let transmissionTime: @Sendable () -> HostDateTime

    /// A client for the terminal `terminalID` (field 41) of merchant `merchantID` (field 42).
    /// - Parameters:
    ///   - nextSTAN: a new STAN (field 11) for each message.
    ///   - transmissionTime: field 7 (UTC).
    public init(
        transport: any TerminalManagementTransport, terminalID: String, merchantID: String, nextSTAN: @escaping @Sendable () -> Int,
        transmissionTime: @escaping @Sendable () -> HostDateTime
    ) {
        self.transport = transport
        self.terminalID = terminalID
        self.merchantID = merchantID
        self.nextSTAN = nextSTAN
        self.transmissionTime = transmissionTime
    }

    /// One exchange: the answer with code `00`, its STAN and terminal id checked against the request.
    func exchange(_ code: TerminalManagement.Code, text: String?) async throws -> ISO8583.Message {
        try await send(
            TerminalManagement.request(code, text: text, stan: nextSTAN(), transmission: transmissionTime(), terminalID: terminalID, merchantID: merchantID),
            code: code)
    }

    /// Sends a built request; the answer with code `00`, matched as ``exchange(_:text:)`` does.
    func send(_ request: ISO8583.Message, code: TerminalManagement.Code) async throws -> ISO8583.Message {
        let answer: ISO8583.Message
        do {
            answer = try await transport.networkManagement(request)
        } catch {
            throw TerminalManagementError(.link, "\(error)")
        }
        guard answer.mti == HostMessageType.networkManagementResponse.rawValue, answer[11] == request[11], answer[41] == request[41],
            answer[70] == request[70]
        else {
            throw TerminalManagementError(.link, "the answer (MTI \(answer.mti)) does not match the \(code.rawValue) request")
        }
        guard let responseCode = answer.text(39) else { throw TerminalManagementError(.link, "the answer has no field 39") }
        guard responseCode == "00" else { throw TerminalManagementError(.refusedByHost(responseCode), "the host answered \(responseCode)") }
        return answer
    }

    /// What the host offers now (`821`).
    public func offers() async throws -> [TerminalManagement.Offer] {
        let answer = try await exchange(.directory, text: nil)
        do {
            return try TerminalManagement.Offer.list(encoded: answer.text(63))
        } catch {
            throw TerminalManagementError(.link, "unreadable directory: \(error)")
        }
    }

    /// Reports what the terminal did with an object (`823`).
    public func report(name: String, version: String, result: TerminalManagement.Result, reason: String) async throws {
        _ = try await exchange(.resultReport, text: TerminalManagement.report(name: name, version: version, result: result, reason: reason))
    }

    /// Reports signed stock changes (`824`; negative: sold; positive: returned by a void) under `reference` (a repeat
    /// with the same reference is not applied twice) and returns the host's levels of every item.
    public func stockReport(reference: String, changes: [(code: String, change: Int)]) async throws -> [(code: String, count: Int)] {
        let text = reference + "|" + TerminalManagement.stock(changes.map { ($0.code, $0.change) })
        let answer = try await exchange(.stockReport, text: text)
        do {
            return try TerminalManagement.parseStock(answer.text(63))
        } catch {
            throw TerminalManagementError(.link, "unreadable stock levels: \(error)")
        }
    }

    /// Downloads (or resumes) `offer` into `directory`: chunks go to `NAME.part`, each checked against its
    /// request (name, offset, total) and its CRC-32, written and synced, then the progress is saved in the store. A
    /// download cut by a dropped link, SIGKILL or a power cut resumes from the saved progress; an offer with
    /// another SHA-256 or size starts over. At the end the whole file's SHA-256 is checked and it is renamed to
    /// `NAME`.
    /// - Parameters:
    ///   - chunkSize: bytes per `822` request (1…``TerminalManagement/maximumChunk``).
    ///   - progress: `(done, total)` after every chunk (the screen's progress line).
    /// - Throws: ``TerminalManagementError`` (`link`: call again to resume).
    public func download(
        _ offer: TerminalManagement.Offer, into directory: String, store: Locked<TerminalStore>, chunkSize: Int = TerminalManagement.maximumChunk,
        now: @escaping @Sendable () -> Int64, progress: (Int, Int) -> Void = { _, _ in }
    ) async throws -> DownloadResult {
        let final = directory + "/" + offer.name
        let part = final + ".part"
        _ = mkdir(directory, 0o700)
        if let existing = try? Self.sha256(ofFile: final), existing == offer.sha256 { return .complete(path: final) }
        var saved = try storage { try store.withLock { try $0.downloadProgress(offer.name) } }
        if saved == nil || saved?.sha256 != offer.sha256 || saved?.size != offer.size || saved?.version != offer.version {
            let fresh = TerminalStore.DownloadProgress(
                name: offer.name, kind: offer.kind.rawValue, version: offer.version, size: offer.size, sha256: offer.sha256, bytesDone: 0)
            try storage { try store.withLock { try $0.saveDownloadProgress(fresh, now: now()) } }
            saved = fresh
        }
        let fd = open(part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TerminalManagementError(.storage, "cannot open \(part)") }
        defer { close(fd) }
        // The store's progress counts only synced bytes; anything after it in the file is cut.
        let length = Int(lseek(fd, 0, SEEK_END))
        var done = min(saved?.bytesDone ?? 0, max(0, length))
        guard ftruncate(fd, off_t(done)) == 0 else { throw TerminalManagementError(.storage, "cannot truncate \(part)") }
        let chunk = max(1, min(chunkSize, TerminalManagement.maximumChunk))
        progress(done, offer.size)
        while done < offer.size {
            let wanted = min(chunk, offer.size - done)
            let bytes = try await receiveChunk(of: offer, at: done, length: wanted)
            var written = 0
            while written < bytes.count {
                let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, bytes.count - written, off_t(done + written)) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw TerminalManagementError(.storage, "cannot write \(part)") }
                written += n
            }
            guard fsync(fd) == 0 else { throw TerminalManagementError(.storage, "cannot sync \(part)") }
            done += bytes.count
            let advanced = TerminalStore.DownloadProgress(
                name: offer.name, kind: offer.kind.rawValue, version: offer.version, size: offer.size, sha256: offer.sha256, bytesDone: done)
            try storage { try store.withLock { try $0.saveDownloadProgress(advanced, now: now()) } }
            progress(done, offer.size)
        }
        let digest = try Self.sha256(ofFile: part)
        try storage { try store.withLock { try $0.clearDownload(offer.name) } }
        guard digest == offer.sha256 else {
            unlink(part)
            return .hashMismatch
        }
        guard rename(part, final) == 0 else { throw TerminalManagementError(.storage, "cannot rename \(part)") }
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
        return .complete(path: final)
    }

    /// One chunk of `offer` (`822`), checked against its request (name, offset, total, at most `length` bytes) and its
    /// CRC-32; asked for again up to three times.
    /// - Throws: ``TerminalManagementError`` (`link`; `corruptChunk` after three failed checks).
    private func receiveChunk(of offer: TerminalManagement.Offer, at offset: Int, length: Int) async throws -> [UInt8] {
        for _ in 0..<3 {
            let answer = try await exchange(.fileTransfer, text: TerminalManagement.chunkRequest(name: offer.name, offset: offset, length: length))
            guard let header = try? TerminalManagement.ChunkHeader(encoded: answer.text(63) ?? ""), let data = answer.bytes(72),
                header.name == offer.name, header.offset == offset, header.total == offer.size, !data.isEmpty, data.count <= length,
                CRC32.checksum(data) == header.crc32
            else { continue }
            return data
        }
        throw TerminalManagementError(.corruptChunk, "chunk at \(offset) of \(offer.name) failed its checks three times")
    }

    /// Fetches a small object (a key block: at most `limit` bytes) into memory, chunk by chunk with the same checks as
    /// ``download(_:into:store:chunkSize:now:progress:)``, but with nothing written to disk and no progress saved (a
    /// key block is one or a few chunks; a cut fetch starts again). Returns `nil` when the bytes do not have the
    /// offered SHA-256.
    /// - Throws: ``TerminalManagementError`` (`link`, `corruptChunk`; `storage` for an object over `limit`).
    func fetch(_ offer: TerminalManagement.Offer, limit: Int, chunkSize: Int = TerminalManagement.maximumChunk) async throws -> SecretBytes? {
        guard offer.size > 0, offer.size <= limit else { throw TerminalManagementError(.storage, "\(offer.name) is \(offer.size) bytes, over \(limit)") }
        var collected = SecretBytes([])
        let chunk = max(1, min(chunkSize, TerminalManagement.maximumChunk))
        while collected.count < offer.size {
            let done = collected.count
            let wanted = min(chunk, offer.size - done)
            var bytes = try await receiveChunk(of: offer, at: done, length: wanted)
            collected = collected.appending(SecretBytes(bytes))
            for i in bytes.indices { bytes[i] = 0 }
        }
        let digest = try SHA256.hash(collected)
        return digest == offer.sha256 ? collected : nil
    }

    /// Uploads `bytes` as `name` with `825` chunks (field 63 `name,offset,total,crc32`, field 72 the chunk) and
    /// follows the host's acknowledgement (`name,received`): a repeated chunk is acknowledged, not stored twice, and
    /// after a dropped link the next call goes on from what the host holds. Returns when the host holds all.
    /// - Throws: ``TerminalManagementError`` (`link`: call again to resume; `corruptChunk`: the host made no progress
    ///   three times).
    func upload(name: String, bytes: [UInt8], chunkSize: Int = TerminalManagement.maximumChunk) async throws {
        let chunk = max(1, min(chunkSize, TerminalManagement.maximumChunk))
        var offset = 0
        var stalled = 0
        while offset < bytes.count || bytes.isEmpty {
            let piece = Array(bytes[offset..<min(bytes.count, offset + chunk)])
            let header = TerminalManagement.ChunkHeader(name: name, offset: offset, total: bytes.count, crc32: CRC32.checksum(piece))
            var message = TerminalManagement.request(.logUpload, text: header.encoded, stan: nextSTAN(), transmission: transmissionTime(), terminalID: terminalID, merchantID: merchantID)
            message[72] = .binary(piece)
            let answer = try await send(message, code: .logUpload)
            guard let ack = try? TerminalManagement.parseUploadAcknowledgement(answer.text(63) ?? ""), ack.name == name, ack.received <= bytes.count else {
                throw TerminalManagementError(.link, "unreadable upload acknowledgement")
            }
            if bytes.isEmpty || ack.received == bytes.count { return }
            stalled = ack.received > offset ? 0 : stalled + 1
            guard stalled < 3 else { throw TerminalManagementError(.corruptChunk, "the host took no bytes of \(name) at \(offset) three times") }
            offset = ack.received
        }
    }

    private func storage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw TerminalManagementError(.storage, "\(error)") }
    }

    /// The SHA-256 of a file, read in 64 KiB pieces.
    static func sha256(ofFile path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw TerminalManagementError(.storage, "cannot open \(path)") }
        defer { close(fd) }
        do {
            let hasher = try SHA256.Hasher()
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw TerminalManagementError(.storage, "cannot read \(path)") }
                if n == 0 { break }
                try hasher.update(Array(buffer.prefix(n)))
            }
            return try hasher.finalize()
        } catch let error as TerminalManagementError {
            throw error
        } catch {
            throw TerminalManagementError(.storage, "cannot hash \(path): \(error)")
        }
    }

    /// A whole small file (a downloaded parameter set or catalogue), at most `limit` bytes.
    static func readFile(_ path: String, limit: Int = 4 << 20) throws -> [UInt8] {
        do { return try DurableFile.readAll(path, limit: limit) } catch { throw TerminalManagementError(.storage, "\(error)") }
    }
}
