#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
import Uplink

/// Log upload to the simulated host (docs/host-interface.md §13.6): an empty file `log-request-N` in the served
/// directory asks every terminal for its recent log (directory kind `L`, version N, at most
/// ``logRequestMaximum`` bytes). The chunks (`825`) are stored in `DIR/logs/TERMINAL-log-request-N.log.part` at their
/// offsets — a repeated chunk is acknowledged, not stored twice; one past the bytes held is answered with what is held,
/// so the terminal goes back — and the file is renamed to `.log` when complete. A terminal whose log for a request
/// is complete is not offered that request again.
extension TerminalManagementHost {
    /// The most bytes a log request asks for.
    public static let logRequestMaximum = 65_536

    static func logOffer(name: String, version: String) -> TerminalManagement.Offer {
        TerminalManagement.Offer(kind: .log, name: name, version: version, size: logRequestMaximum, sha256: [UInt8](repeating: 0, count: 32))
    }

    /// Where the upload of `terminalID` for the request `name` is kept (complete: `.log`; in progress: `.log.part`).
    public func uploadedLogPath(terminalID: String, name: String) -> String {
        directory + "/logs/" + terminalID + "-" + name + ".log"
    }

    func hasCompleteLog(terminalID: String, name: String) -> Bool {
        access(uploadedLogPath(terminalID: terminalID, name: name), F_OK) == 0
    }

    /// Books one `825` chunk; the response code and field 63 (`name,received`).
    func receiveLogChunk(_ message: ISO8583.Message) -> (HostResponseCode, [Int: ISO8583.FieldValue]) {
        let malformed = (HostResponseCode(rawValue: "30") ?? .doNotHonour, [Int: ISO8583.FieldValue]())
        let terminalID = (message.text(41) ?? "").trimmingCharacters(" ")
        guard let header = try? TerminalManagement.ChunkHeader(encoded: message.text(63) ?? ""), header.name.hasPrefix("log-request-"),
            TerminalManagement.isName(terminalID[...]), header.total <= Self.logRequestMaximum
        else { return malformed }
        let data = message.bytes(72) ?? []
        guard CRC32.checksum(data) == header.crc32, header.offset + data.count <= header.total else { return malformed }
        _ = mkdir(directory + "/logs", 0o755)
        let final = uploadedLogPath(terminalID: terminalID, name: header.name)
        let part = final + ".part"
        var received: Int
        if access(final, F_OK) == 0 {
            received = header.total
        } else {
            let fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else { return (HostResponseCode(rawValue: "96") ?? .doNotHonour, [:]) }
            var st = stat()
            received = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
            if header.offset <= received, header.offset + data.count > received {
                let fresh = Array(data.dropFirst(received - header.offset))
                let n = fresh.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(received)) }
                if n == fresh.count { received += fresh.count }
            }
            close(fd)
            if received >= header.total { rename(part, final) }
        }
        return (.approved, [63: .text(TerminalManagement.uploadAcknowledgement(name: header.name, received: received))])
    }
}
