import Codecs
import DeviceKit
import LinuxDevices
import SystemPackage
import TestKit
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


@Test(.enabled(if: pythonIsAvailable), arguments: PNGEncoder.ColorType.allCases)
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
    let decoded = try #require(decodePNGWithPython(directory.path + "/screen.png"))
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
