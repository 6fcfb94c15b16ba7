import Codecs
import DeviceKit
import LinuxDevices
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A fresh directory under /tmp, emptied and removed when the value goes away.
private final class SnapshotDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/png-snapshot-XXXXXX".utf8CString)
        try #require(mkdtemp(&template) != nil)
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Names of the directory's entries, sorted.
    func entries() -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func read(_ name: String) -> [UInt8]? {
        guard let stream = fopen(path + "/" + name, "rb") else { return nil }
        defer { fclose(stream) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, stream) }
            if n == 0 { return bytes }
            bytes += buffer[0..<n]
        }
    }

    deinit {
        for name in entries() { unlink(path + "/" + name) }
        rmdir(path)
    }
}

/// Decodes a PNG with Python's zlib and struct (checking every chunk CRC), printing width, height, colour type and
/// the CRC-32 of the pixels; `nil` when python3 is missing or the file is rejected.
private func pythonDecode(_ file: String) -> String? {
    let script = """
        import struct, sys, zlib
        data = open(sys.argv[1], 'rb').read()
        assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
        i, idat = 8, b''
        while i < len(data):
            (n,) = struct.unpack('>I', data[i:i + 4])
            kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + n]
            assert zlib.crc32(kind + body) == struct.unpack('>I', data[i + 8 + n:i + 12 + n])[0]
            if kind == b'IHDR':
                w, h, depth, color = struct.unpack('>IIBB', body[:10])
            if kind == b'IDAT':
                idat += body
            i += 12 + n
        raw = zlib.decompress(idat)
        row = w * (3 if color == 2 else 1)
        assert all(raw[r * (row + 1)] == 0 for r in range(h))
        print(w, h, color, zlib.crc32(b''.join(raw[r * (row + 1) + 1:(r + 1) * (row + 1)] for r in range(h))))
        """
    var template = Array("/tmp/png-snapshot-check-XXXXXX".utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { return nil }
    let scriptPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    defer { unlink(scriptPath) }
    let bytes = Array(script.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    guard written == bytes.count else { return nil }
    // `timeout` (coreutils) bounds the child so that a stuck interpreter cannot hang the test run.
    let command = "timeout 60 python3 '\(scriptPath)' '\(file)' 2>/dev/null"
    guard let pipe = popen(command, "r") else { return nil }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, pipe) }
        if n == 0 { break }
        output += buffer[0..<n]
    }
    guard pclose(pipe) == 0 else { return nil }
    return String(decoding: output, as: UTF8.self).split(separator: "\n").first.map(String.init)
}

private let pythonAvailable = system("python3 -c 'import zlib' >/dev/null 2>&1") == 0

@Test(.enabled(if: pythonAvailable), arguments: PNGEncoder.ColorType.allCases)
func snapshotIsAValidPNGOfTheFrame(colorType: PNGEncoder.ColorType) throws {
    let directory = try SnapshotDirectory()
    let display = PNGSnapshotDisplay(
        path: FilePath(directory.path + "/screen.png"), width: 100, height: 40, scale: 1, colorType: colorType)
    #expect(display.geometry.gridSize == (12, 2))
    var grid = CharacterGrid(columns: 12, rows: 2)
    grid.write("请插卡 ¥12.00", column: 0, row: 0)
    grid.write("确认", column: 0, row: 1, inverse: true)
    try display.show(grid)
    #expect(display.framesWritten == 1)
    #expect(directory.entries() == ["screen.png"])  // no temporary file left behind

    var expected = PixelCanvas(width: 100, height: 40)
    GridRasterizer().draw(grid, on: &expected)
    let pixels = colorType == .truecolor ? expected.rgb : expected.greyscale()
    let decoded = try #require(pythonDecode(directory.path + "/screen.png"))
    #expect(decoded == "100 40 \(colorType.rawValue) \(CRC32.checksum(pixels))")
    let bytes = try #require(directory.read("screen.png"))
    #expect(bytes == PNGEncoder.encode(width: 100, height: 40, colorType: colorType, pixels: pixels))
}

@Test func snapshotReplacesTheFileEachFrame() throws {
    let directory = try SnapshotDirectory()
    let display = PNGSnapshotDisplay(path: FilePath(directory.path + "/screen.png"), width: 32, height: 32, scale: 2)
    var grid = CharacterGrid(columns: 2, rows: 1)
    grid.write("中", column: 0, row: 0)
    try display.show(grid)
    let first = try #require(directory.read("screen.png"))
    grid.write("文", column: 0, row: 0)
    try display.show(grid)
    let second = try #require(directory.read("screen.png"))
    #expect(first != second && first.count == second.count)
    #expect(display.framesWritten == 2)
    #expect(directory.entries() == ["screen.png"])
    var info = stat()
    #expect(stat(directory.path + "/screen.png", &info) == 0 && info.st_mode & 0o644 == 0o644)
}

@Test func snapshotIntoAMissingDirectoryThrows() throws {
    let display = PNGSnapshotDisplay(path: "/nonexistent-dir/screen.png", width: 8, height: 16)
    #expect(throws: Errno.noSuchFileOrDirectory) {
        try display.show(CharacterGrid(columns: 1, rows: 1))
    }
    #expect(display.framesWritten == 0)
}
