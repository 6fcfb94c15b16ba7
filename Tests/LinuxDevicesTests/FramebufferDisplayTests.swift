import CLinux
import DeviceKit
@testable import LinuxDevices
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A regular file standing in for framebuffer memory: created with `ftruncate`, filled with a marker byte so that
/// bytes the driver must not touch (stride padding) can be checked, read back with `pread`.
private final class FramebufferFile {
    let path: String
    let size: Int

    init(size: Int, marker: UInt8 = 0xA5) throws {
        var template = Array("/tmp/fb-test-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        defer { close(fd) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.size = size
        try #require(ftruncate(fd, off_t(size)) == 0)
        let fill = [UInt8](repeating: marker, count: size)
        try #require(fill.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == size)
    }

    func bytes() throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: size)
        try #require(out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) } == size)
        return out
    }

    deinit { unlink(path) }
}

/// How a test framebuffer stores pixels, decoded independently of the driver.
struct FramebufferTestFormat: CustomTestStringConvertible, Sendable {
    var bitsPerPixel: Int
    var testDescription: String { "\(bitsPerPixel) bpp" }

    func rowBytes(width: Int) -> Int { (width * bitsPerPixel + 7) / 8 }

    /// The stored form of a colour: RGB565 little-endian, XRGB8888 as B, G, R, 0xFF; one bit for mono.
    func encode(_ color: PixelColor) -> [UInt8] {
        switch bitsPerPixel {
        case 16:
            let value = UInt16(color.red >> 3) << 11 | UInt16(color.green >> 2) << 5 | UInt16(color.blue >> 3)
            return [UInt8(value & 0xFF), UInt8(value >> 8)]
        case 32: return [color.blue, color.green, color.red, 0xFF]
        default: return [color.isLight ? 1 : 0]
        }
    }

    /// The stored form of pixel (`x`, `y`).
    func pixel(_ bytes: [UInt8], x: Int, y: Int, stride: Int) -> [UInt8] {
        switch bitsPerPixel {
        case 16, 32:
            let size = bitsPerPixel / 8
            let start = y * stride + x * size
            return Array(bytes[start..<start + size])
        default:
            return [(bytes[y * stride + x / 8] >> UInt8(7 - x % 8)) & 1]
        }
    }
}

private let formats = [FramebufferTestFormat(bitsPerPixel: 16), FramebufferTestFormat(bitsPerPixel: 32), FramebufferTestFormat(bitsPerPixel: 1)]
private let amber = PixelColor(red: 255, green: 176, blue: 0)
private let glyphA = Glyph(unifontHex: "0000000018242442427E424242420000")!

/// Counts pixels of the framebuffer that differ from `expected` (drawn independently with the rasterizer), and checks
/// the padding after each row kept the marker.
private func differences(
    _ bytes: [UInt8], _ format: FramebufferTestFormat, width: Int, height: Int, stride: Int, expected: PixelCanvas,
    marker: UInt8 = 0xA5
) -> (pixels: Int, padding: Int) {
    var pixels = 0
    var padding = 0
    for y in 0..<height {
        for x in 0..<width where format.pixel(bytes, x: x, y: y, stride: stride) != format.encode(expected[x, y]) {
            pixels += 1
        }
        for i in y * stride + format.rowBytes(width: width)..<(y + 1) * stride where bytes[i] != marker {
            padding += 1
        }
    }
    return (pixels, padding)
}

@Test(arguments: formats)
func drawsGlyphsInverseAndWideCellsInEachFormat(format: FramebufferTestFormat) throws {
    let width = 44  // 5 cells and 4 pixels of right margin
    let height = 40  // 2 rows and 8 pixels of bottom margin
    let stride = format.rowBytes(width: width) + 3
    let file = try FramebufferFile(size: stride * height)
    let display = try FramebufferDisplay(
        mappingFile: FilePath(file.path), width: width, height: height, bitsPerPixel: format.bitsPerPixel,
        stride: stride, foreground: amber, background: .black)
    #expect(display.geometry == .pixels(width: 44, height: 40, scale: 1))
    #expect(display.geometry.gridSize == (5, 2))
    #expect(display.pixelFormat.bitsPerPixel == format.bitsPerPixel)

    var grid = CharacterGrid(columns: 5, rows: 2)
    grid.write("A中", column: 1, row: 0)
    grid.write("B", column: 0, row: 1, inverse: true)
    try display.show(grid)
    #expect(display.rowsWrittenByLastFrame == height)
    let bytes = try file.bytes()

    // "A" (U+0041) at cell (1, 0): pixels 8..<16, 0..<16, exactly Unifont's bits.
    for y in 0..<16 {
        for x in 0..<8 {
            let expected = format.encode(glyphA.isSet(x: x, y: y) ? amber : .black)
            #expect(format.pixel(bytes, x: 8 + x, y: y, stride: stride) == expected, "A at (\(x), \(y))")
        }
    }
    // Every pixel, margins and the inverse cell included, against the rasterizer's canvas.
    var expected = PixelCanvas(width: width, height: height)
    GridRasterizer(foreground: amber, background: .black).draw(grid, on: &expected)
    #expect(expected[0, 16] == amber)  // the inverse cell's background
    let diff = differences(bytes, format, width: width, height: height, stride: stride, expected: expected)
    #expect(diff.pixels == 0)
    #expect(diff.padding == 0)
}

@Test(arguments: formats)
func scaleTwoDoublesEveryFontPixel(format: FramebufferTestFormat) throws {
    let width = 48
    let height = 32
    let stride = format.rowBytes(width: width)
    let file = try FramebufferFile(size: stride * height)
    let display = try FramebufferDisplay(
        mappingFile: FilePath(file.path), width: width, height: height, bitsPerPixel: format.bitsPerPixel,
        stride: stride, scale: 2)
    #expect(display.geometry.gridSize == (3, 1))
    var grid = CharacterGrid(columns: 3, rows: 1)
    grid.write("A", column: 1, row: 0)
    try display.show(grid)
    let bytes = try file.bytes()
    for y in 0..<32 {
        for x in 0..<16 {
            let expected = format.encode(glyphA.isSet(x: x / 2, y: y / 2) ? .white : .black)
            #expect(format.pixel(bytes, x: 16 + x, y: y, stride: stride) == expected, "A at (\(x), \(y))")
        }
    }
}

@Test func writesOnlyChangedRows() throws {
    let format = FramebufferTestFormat(bitsPerPixel: 16)
    let width = 40
    let height = 48
    let stride = format.rowBytes(width: width)
    let file = try FramebufferFile(size: stride * height)
    let display = try FramebufferDisplay(
        mappingFile: FilePath(file.path), width: width, height: height, bitsPerPixel: 16, stride: stride)
    var grid = CharacterGrid(columns: 5, rows: 3)
    grid.write("ABC", column: 0, row: 0)
    grid.write("中文", column: 0, row: 2)
    try display.show(grid)
    #expect(display.rowsWrittenByLastFrame == height)

    try display.show(grid)
    #expect(display.rowsWrittenByLastFrame == 0)

    // "." is drawn only in Unifont rows 12 and 13 of its cell: only those two pixel rows change.
    grid.write(".", column: 4, row: 1)
    try display.show(grid)
    #expect(display.rowsWrittenByLastFrame == 2)
    var expected = PixelCanvas(width: width, height: height)
    GridRasterizer().draw(grid, on: &expected)
    #expect(differences(try file.bytes(), format, width: width, height: height, stride: stride, expected: expected).pixels == 0)

    // A grid of another size repaints everything.
    try display.show(CharacterGrid(columns: 2, rows: 1))
    #expect(display.rowsWrittenByLastFrame == height)
    #expect(try file.bytes().allSatisfy { $0 == 0 })
}

@Test func rejectsImpossibleGeometry() throws {
    let file = try FramebufferFile(size: 100)
    func code(_ body: () throws -> FramebufferDisplay) -> FramebufferError.Code? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? FramebufferError)?.code
        }
    }
    let path = FilePath(file.path)
    // The file is smaller than stride * height.
    #expect(code { try FramebufferDisplay(mappingFile: path, width: 8, height: 16, bitsPerPixel: 16, stride: 16) } == .invalidGeometry)
    // The stride is shorter than a row.
    #expect(code { try FramebufferDisplay(mappingFile: path, width: 8, height: 1, bitsPerPixel: 32, stride: 31) } == .invalidGeometry)
    // No 16x32 cell fits 8x16 pixels at scale 2.
    #expect(code { try FramebufferDisplay(mappingFile: path, width: 8, height: 16, bitsPerPixel: 1, stride: 1, scale: 2) } == .invalidGeometry)
    #expect(code { try FramebufferDisplay(mappingFile: path, width: 8, height: 1, bitsPerPixel: 24, stride: 24) } == .unsupportedPixelFormat)
    do {
        _ = try FramebufferDisplay(mappingFile: "/nonexistent/fb", width: 8, height: 16, bitsPerPixel: 1, stride: 1)
        Issue.record("opened a file that does not exist")
    } catch let error as FramebufferError {
        #expect(error.code == .systemCallFailed && error.errno == .noSuchFileOrDirectory)
    }
}

/// The real ioctl path: a regular file is not a framebuffer, and the kernel says so with ENOTTY.
@Test func fbdevIoctlOnARegularFileFails() throws {
    let file = try FramebufferFile(size: 4096)
    do {
        _ = try FramebufferDisplay(device: FilePath(file.path))
        Issue.record("a regular file answered FBIOGET_VSCREENINFO")
    } catch let error as FramebufferError {
        #expect(error.code == .systemCallFailed && error.errno?.rawValue == ENOTTY)
    }
    #expect(clinux_fb_var_screeninfo_size == 160)
    #expect(clinux_FBIOGET_VSCREENINFO == 0x4600 && clinux_FBIOGET_FSCREENINFO == 0x4602)
}

// MARK: - Screen information from the kernel

private func screenInfo(
    bitsPerPixel: UInt32, visual: Int32, rgb: [(UInt32, UInt32)] = [], xres: UInt32 = 320, yres: UInt32 = 240,
    yoffset: UInt32 = 0, lineLength: UInt32 = 640, memory: UInt32 = 640 * 480
) -> (fb_var_screeninfo, fb_fix_screeninfo) {
    var variable = fb_var_screeninfo()
    variable.xres = xres
    variable.yres = yres
    variable.xres_virtual = xres
    variable.yres_virtual = yres * 2
    variable.yoffset = yoffset
    variable.bits_per_pixel = bitsPerPixel
    if rgb.count == 3 {
        variable.red = fb_bitfield(offset: rgb[0].0, length: rgb[0].1, msb_right: 0)
        variable.green = fb_bitfield(offset: rgb[1].0, length: rgb[1].1, msb_right: 0)
        variable.blue = fb_bitfield(offset: rgb[2].0, length: rgb[2].1, msb_right: 0)
    }
    var fixed = fb_fix_screeninfo()
    fixed.type = UInt32(FB_TYPE_PACKED_PIXELS)
    fixed.visual = UInt32(visual)
    fixed.line_length = lineLength
    fixed.smem_len = memory
    return (variable, fixed)
}

@Test func recognisesTheSupportedKernelFormats() throws {
    var (v, f) = screenInfo(bitsPerPixel: 16, visual: FB_VISUAL_TRUECOLOR, rgb: [(11, 5), (5, 6), (0, 5)], yoffset: 240)
    var layout = try FramebufferDisplay.layout(variable: v, fixed: f)
    #expect(layout.format == .rgb565 && layout.stride == 640 && layout.yOffset == 240 && layout.mappingLength == 640 * 480)

    (v, f) = screenInfo(bitsPerPixel: 32, visual: FB_VISUAL_TRUECOLOR, rgb: [(16, 8), (8, 8), (0, 8)], lineLength: 1280, memory: 1280 * 240)
    layout = try FramebufferDisplay.layout(variable: v, fixed: f)
    #expect(layout.format == .xrgb8888)

    (v, f) = screenInfo(bitsPerPixel: 1, visual: FB_VISUAL_MONO01, xres: 128, yres: 64, lineLength: 16, memory: 1024)
    #expect(try FramebufferDisplay.layout(variable: v, fixed: f).format == .monochrome(setBitIsWhite: false))
    (v, f) = screenInfo(bitsPerPixel: 1, visual: FB_VISUAL_MONO10, xres: 128, yres: 64, lineLength: 0, memory: 1024)
    layout = try FramebufferDisplay.layout(variable: v, fixed: f)
    #expect(layout.format == .monochrome(setBitIsWhite: true) && layout.stride == 16)  // line_length 0: packed rows
}

@Test func rejectsUnsupportedKernelFormats() {
    func code(_ info: (fb_var_screeninfo, fb_fix_screeninfo)) -> FramebufferError.Code? {
        do {
            _ = try FramebufferDisplay.layout(variable: info.0, fixed: info.1)
            return nil
        } catch {
            return (error as? FramebufferError)?.code
        }
    }
    // BGR565, 24 bpp, pseudocolour: not drawn by this driver.
    #expect(code(screenInfo(bitsPerPixel: 16, visual: FB_VISUAL_TRUECOLOR, rgb: [(0, 5), (5, 6), (11, 5)])) == .unsupportedPixelFormat)
    #expect(code(screenInfo(bitsPerPixel: 24, visual: FB_VISUAL_TRUECOLOR, rgb: [(16, 8), (8, 8), (0, 8)])) == .unsupportedPixelFormat)
    #expect(code(screenInfo(bitsPerPixel: 8, visual: FB_VISUAL_PSEUDOCOLOR)) == .unsupportedPixelFormat)
    // Panned past the end of the memory.
    #expect(
        code(screenInfo(bitsPerPixel: 16, visual: FB_VISUAL_TRUECOLOR, rgb: [(11, 5), (5, 6), (0, 5)], yoffset: 241))
            == .invalidGeometry)
    // A row longer than the line length.
    #expect(
        code(screenInfo(bitsPerPixel: 16, visual: FB_VISUAL_TRUECOLOR, rgb: [(11, 5), (5, 6), (0, 5)], lineLength: 600))
            == .invalidGeometry)
}
