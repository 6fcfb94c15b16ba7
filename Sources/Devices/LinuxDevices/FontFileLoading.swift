#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import DeviceKit

extension HexFontFile {
    /// Reads and parses a unifont.hex file (C `open`, `read`, `close`), e.g. `/usr/share/unifont/unifont.hex` from
    /// the board profile's `display.font`.
    ///
    /// - Throws: ``FontError`` with code ``FontError/Code/fileUnreadable`` (with the `errno`),
    ///   ``FontError/Code/fileTooLarge`` or ``FontError/Code/malformedLine``.
    public init(contentsOfFile path: String) throws(FontError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileUnreadable(path, errno: errno) }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .fileUnreadable(path, errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= Self.maximumFileSize else { throw .fileTooLarge(path) }
        }
        try self.init(parsingBytes: bytes)
    }
}
