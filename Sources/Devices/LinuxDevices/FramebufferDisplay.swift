#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
public import DeviceKit
public import SystemPackage

/// How a framebuffer stores a pixel.
public enum FramebufferPixelFormat: Sendable, Equatable {
    /// 16 bits a pixel, little-endian: red in bits 15-11, green 10-5, blue 4-0.
    case rgb565
    /// 32 bits a pixel, little-endian: bytes B, G, R, X in memory (X is written as 0xFF, opaque if read as alpha).
    case xrgb8888
    /// 1 bit a pixel, the leftmost pixel in the most significant bit of each byte. `setBitIsWhite` is true for the
    /// kernel's `FB_VISUAL_MONO10` (1 = white) and false for `FB_VISUAL_MONO01` (1 = black).
    case monochrome(setBitIsWhite: Bool)

    /// Bits a pixel takes.
    public var bitsPerPixel: Int {
        switch self {
        case .rgb565: 16
        case .xrgb8888: 32
        case .monochrome: 1
        }
    }
}

/// Why a framebuffer could not be opened.
///
/// Equality compares ``code`` only; tests assert on the code, never on ``reason``.
public struct FramebufferError: Error, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// A system call failed (open, ioctl, fstat, mmap); ``FramebufferError/errno`` says why.
        case systemCallFailed
        /// The device's pixel layout is not one of ``FramebufferPixelFormat``.
        case unsupportedPixelFormat
        /// The geometry is impossible: no cell fits, a stride shorter than a row, a buffer or file too small for it.
        case invalidGeometry
    }

    /// What went wrong.
    public let code: Code
    /// The failing call's error for ``Code/systemCallFailed``.
    public let errno: Errno?
    /// A human-readable explanation (for logs; never matched on).
    public let reason: String
    /// Where the error was raised.
    public let sourceLocation: (fileID: String, line: Int)

    private init(_ code: Code, errno: Errno? = nil, reason: String, fileID: String, line: Int) {
        self.code = code
        self.errno = errno
        self.reason = reason
        self.sourceLocation = (fileID, line)
    }

    static func systemCall(
        _ call: String, _ path: FilePath, _ errno: Errno, fileID: String = #fileID, line: Int = #line
    ) -> FramebufferError {
        FramebufferError(.systemCallFailed, errno: errno, reason: "\(call) \(path): \(errno)", fileID: fileID, line: line)
    }

    static func unsupported(_ reason: String, fileID: String = #fileID, line: Int = #line) -> FramebufferError {
        FramebufferError(.unsupportedPixelFormat, reason: reason, fileID: fileID, line: line)
    }

    static func geometry(_ reason: String, fileID: String = #fileID, line: Int = #line) -> FramebufferError {
        FramebufferError(.invalidGeometry, reason: reason, fileID: fileID, line: line)
    }

    /// The reason, with the code.
    public var description: String { "FramebufferError(\(code)): \(reason)" }

    public static func == (lhs: FramebufferError, rhs: FramebufferError) -> Bool { lhs.code == rhs.code }
}

/// A display on a Linux framebuffer device (`/dev/fbN`, the kernel's fbdev API, Documentation/fb/api.rst), or on a
/// regular file laid out like one.
///
/// The driver maps the framebuffer memory (`mmap`, `MAP_SHARED`) and draws each frame's ``CharacterGrid`` with a
/// ``GridRasterizer`` at the top left of the visible area; pixels right of and below the last whole cell are painted
/// background. A frame only rewrites the pixel rows that changed since the last one: grid rows whose cells are
/// unchanged are not rasterized again, and of the rest only pixel rows that differ are converted and copied.
///
/// Pixel formats: ``FramebufferPixelFormat/rgb565``, ``FramebufferPixelFormat/xrgb8888`` and one-bit
/// ``FramebufferPixelFormat/monochrome(setBitIsWhite:)`` (a pixel is white when its luma is at least 128).
///
/// The object owns the descriptor and the mapping: `deinit` unmaps and closes. It is not thread-safe; one task
/// shows frames.
public final class FramebufferDisplay: DisplayDevice {
    /// The pixel area and the scale of the font on it.
    public let geometry: DisplayGeometry
    /// How the framebuffer stores pixels.
    public let pixelFormat: FramebufferPixelFormat
    /// Bytes from the start of one pixel row to the next (the kernel's `line_length`).
    public let stride: Int
    /// Pixel rows copied to the framebuffer by the last ``show(_:)`` (0 when nothing changed).
    public private(set) var rowsWrittenByLastFrame = 0

    private let descriptor: FileDescriptor
    /// The whole mapping, unmapped in `deinit`.
    private let mapping: UnsafeMutableRawBufferPointer
    /// Byte offset of the visible area's top-left pixel's byte in ``mapping``.
    private let originByte: Int
    /// Bit offset of the top-left pixel within its byte (monochrome with an unaligned horizontal pan only).
    private let originBit: Int
    private let rasterizer: GridRasterizer
    /// What the framebuffer shows now.
    private var canvas: PixelCanvas
    /// The grid ``canvas`` was drawn from; `nil` before the first frame.
    private var shownGrid: CharacterGrid?
    /// Scratch space for one converted row.
    private var rowBuffer: [UInt8]

    /// Opens a framebuffer device and maps its memory.
    ///
    /// Reads the geometry with `FBIOGET_VSCREENINFO` and `FBIOGET_FSCREENINFO`; draws into the visible area
    /// (`xres` x `yres` at the panning offsets `xoffset`, `yoffset`).
    ///
    /// - Parameters:
    ///   - device: the device node, `/dev/fb0` by default.
    ///   - scale: 1 to 4 framebuffer pixels per font pixel.
    ///   - font: the glyphs; by default the built-in ``UnifontSubset``.
    ///   - foreground: glyph colour.
    ///   - background: colour around glyphs.
    /// - Throws: ``FramebufferError``: ``FramebufferError/Code/systemCallFailed`` (open, ioctl, mmap),
    ///   ``FramebufferError/Code/unsupportedPixelFormat``, ``FramebufferError/Code/invalidGeometry``.
    public convenience init(
        device: FilePath = "/dev/fb0", scale: Int = 1, font: any BitmapFont = UnifontSubset(),
        foreground: PixelColor = .white, background: PixelColor = .black
    ) throws {
        let descriptor = try Self.open(device)
        do {
            let layout = try Self.deviceLayout(descriptor, device)
            try self.init(
                descriptor: descriptor, path: device, layout: layout,
                rasterizer: GridRasterizer(font: font, foreground: foreground, background: background, scale: scale))
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    /// Maps a regular file (or a device without the fbdev ioctls) as a framebuffer of explicit geometry: `height`
    /// rows of `stride` bytes from offset 0, the visible area `width` pixels of each. The file must already be at least
    /// `stride * height` bytes long (create it with `ftruncate`).
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - width: pixels in a row.
    ///   - height: rows.
    ///   - bitsPerPixel: 16 (``FramebufferPixelFormat/rgb565``), 32 (``FramebufferPixelFormat/xrgb8888``) or 1
    ///     (``FramebufferPixelFormat/monochrome(setBitIsWhite:)`` with 1 = white).
    ///   - stride: bytes a row takes, at least `width * bitsPerPixel / 8` rounded up.
    ///   - scale: 1 to 4 pixels per font pixel.
    ///   - font: the glyphs; by default the built-in ``UnifontSubset``.
    ///   - foreground: glyph colour.
    ///   - background: colour around glyphs.
    /// - Throws: ``FramebufferError``.
    public convenience init(
        mappingFile path: FilePath, width: Int, height: Int, bitsPerPixel: Int, stride: Int, scale: Int = 1,
        font: any BitmapFont = UnifontSubset(), foreground: PixelColor = .white, background: PixelColor = .black
    ) throws {
        let format: FramebufferPixelFormat
        switch bitsPerPixel {
        case 16: format = .rgb565
        case 32: format = .xrgb8888
        case 1: format = .monochrome(setBitIsWhite: true)
        default: throw FramebufferError.unsupported("\(bitsPerPixel) bits per pixel (supported: 1, 16, 32)")
        }
        guard width > 0, height > 0, stride >= (width * bitsPerPixel + 7) / 8 else {
            throw FramebufferError.geometry("\(width)x\(height) at \(bitsPerPixel) bpp does not fit a stride of \(stride)")
        }
        let descriptor = try Self.open(path)
        do {
            let size: Int64
            do { size = try descriptor.stat().size } catch { throw FramebufferError.systemCall("fstat", path, error) }
            let length = stride * height
            guard size >= Int64(length) else {
                throw FramebufferError.geometry("\(path) holds \(size) bytes, the framebuffer needs \(length)")
            }
            let layout = Layout(
                width: width, height: height, stride: stride, xOffset: 0, yOffset: 0, format: format,
                mappingLength: length)
            try self.init(
                descriptor: descriptor, path: path, layout: layout,
                rasterizer: GridRasterizer(font: font, foreground: foreground, background: background, scale: scale))
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    /// Takes over `descriptor` once the mapping exists; on a throw the caller still owns the descriptor.
    private init(descriptor: FileDescriptor, path: FilePath, layout: Layout, rasterizer: GridRasterizer) throws {
        let geometry = DisplayGeometry.pixels(width: layout.width, height: layout.height, scale: rasterizer.scale)
        guard geometry.gridSize.columns > 0, geometry.gridSize.rows > 0 else {
            throw FramebufferError.geometry(
                "\(layout.width)x\(layout.height) pixels hold no \(rasterizer.cellPixelWidth)x\(rasterizer.cellPixelHeight) cell")
        }
        // C: mmap(2). MAP_SHARED so that stores reach the device (or the file).
        let address = mmap(nil, layout.mappingLength, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor.rawValue, 0)
        guard let address, address != MAP_FAILED else {
            throw FramebufferError.systemCall("mmap", path, Errno(rawValue: errno))
        }
        self.descriptor = descriptor
        self.mapping = UnsafeMutableRawBufferPointer(start: address, count: layout.mappingLength)
        self.geometry = geometry
        self.pixelFormat = layout.format
        self.stride = layout.stride
        let firstBit = layout.xOffset * layout.format.bitsPerPixel
        self.originByte = layout.yOffset * layout.stride + firstBit / 8
        self.originBit = firstBit % 8
        self.rasterizer = rasterizer
        self.canvas = PixelCanvas(width: layout.width, height: layout.height, fill: rasterizer.background)
        self.rowBuffer = [UInt8](repeating: 0, count: (layout.width * layout.format.bitsPerPixel + 7) / 8 + 1)
    }

    deinit {
        // C: munmap(2), then close(2) (not retried on EINTR: the descriptor is gone either way).
        munmap(mapping.baseAddress, mapping.count)
        try? descriptor.close()
    }

    /// Draws `grid` and copies the pixel rows that changed into the framebuffer.
    ///
    /// A grid of another size than the last one (or the first frame) repaints the whole visible area. Writing to
    /// mapped memory cannot fail, so this never throws.
    public func show(_ grid: CharacterGrid) throws {
        var next = canvas
        let dirtyRows: [Int]
        let repaint: Bool
        if let shown = shownGrid, shown.columns == grid.columns, shown.rows == grid.rows {
            // A QR overlay that appears, goes or changes repaints the rows under it, old and new.
            let overlayRows: Set<Int> =
                grid.qrOverlay == shown.qrOverlay
                ? [] : Set(grid.qrOverlay?.rows ?? 0..<0).union(shown.qrOverlay?.rows ?? 0..<0)
            dirtyRows = (0..<grid.rows).filter { row in
                let cells = row * grid.columns..<(row + 1) * grid.columns
                return grid.cells[cells] != shown.cells[cells] || overlayRows.contains(row)
            }
            repaint = false
        } else {
            next.fill(x: 0, y: 0, width: next.width, height: next.height, color: rasterizer.background)
            dirtyRows = Array(0..<grid.rows)
            repaint = true
        }
        for row in dirtyRows {
            rasterizer.draw(grid, on: &next, rows: row..<row + 1)
        }

        var written = 0
        if repaint {
            for y in 0..<next.height { write(row: y, of: next) }
            written = next.height
        } else {
            for row in dirtyRows {
                let top = row * rasterizer.cellPixelHeight
                for y in top..<min(top + rasterizer.cellPixelHeight, next.height) where next.row(y) != canvas.row(y) {
                    write(row: y, of: next)
                    written += 1
                }
            }
        }
        canvas = next
        shownGrid = grid
        rowsWrittenByLastFrame = written
    }

    /// Converts pixel row `y` of `image` to ``pixelFormat`` and stores it in the mapping.
    private func write(row y: Int, of image: PixelCanvas) {
        let source = image.row(y)
        let rowStart = originByte + y * stride
        switch pixelFormat {
        case .rgb565:
            rowBuffer.withUnsafeMutableBufferPointer { out in
                var i = source.startIndex
                for x in 0..<image.width {
                    // RGB565: the top 5, 6 and 5 bits of red, green and blue; stored little-endian.
                    let r = UInt16(source[i] >> 3)
                    let g = UInt16(source[i + 1] >> 2)
                    let b = UInt16(source[i + 2] >> 3)
                    let value = r << 11 | g << 5 | b
                    out[2 * x] = UInt8(truncatingIfNeeded: value)
                    out[2 * x + 1] = UInt8(truncatingIfNeeded: value >> 8)
                    i += 3
                }
            }
            copy(byteCount: image.width * 2, to: rowStart)
        case .xrgb8888:
            rowBuffer.withUnsafeMutableBufferPointer { out in
                var i = source.startIndex
                for x in 0..<image.width {
                    // XRGB8888 little-endian: B, G, R, X in memory.
                    out[4 * x] = source[i + 2]
                    out[4 * x + 1] = source[i + 1]
                    out[4 * x + 2] = source[i]
                    out[4 * x + 3] = 0xFF
                    i += 3
                }
            }
            copy(byteCount: image.width * 4, to: rowStart)
        case .monochrome(let setBitIsWhite):
            // Bits are packed most significant first; a horizontal pan may start the row mid-byte, so the bytes at
            // either end keep the bits outside the row.
            let byteCount = (originBit + image.width + 7) / 8
            for k in 0..<byteCount { rowBuffer[k] = mapping[rowStart + k] }
            var i = source.startIndex
            for x in 0..<image.width {
                let light = PixelColor(red: source[i], green: source[i + 1], blue: source[i + 2]).isLight
                let bit = originBit + x
                let mask = UInt8(0x80) >> UInt8(bit % 8)
                if light == setBitIsWhite { rowBuffer[bit / 8] |= mask } else { rowBuffer[bit / 8] &= ~mask }
                i += 3
            }
            copy(byteCount: byteCount, to: rowStart)
        }
    }

    private func copy(byteCount: Int, to offset: Int) {
        precondition(offset >= 0 && offset + byteCount <= mapping.count, "framebuffer row outside the mapping")
        rowBuffer.withUnsafeBytes { bytes in
            // In bounds: checked above against the mapping and the buffer is at least `byteCount` long.
            mapping.baseAddress!.advanced(by: offset).copyMemory(from: bytes.baseAddress!, byteCount: byteCount)
        }
    }

    /// Where the visible area lies in the mapping, and how pixels are stored.
    struct Layout {
        var width: Int
        var height: Int
        var stride: Int
        var xOffset: Int
        var yOffset: Int
        var format: FramebufferPixelFormat
        var mappingLength: Int
    }

    private static func open(_ path: FilePath) throws -> FileDescriptor {
        do {
            return try FileDescriptor.open(path, .readWrite, options: [.closeOnExec])
        } catch {
            // swift-system's open throws only Errno.
            throw FramebufferError.systemCall("open", path, error as? Errno ?? .ioError)
        }
    }

    /// The layout a framebuffer device reports (linux/fb.h, Documentation/fb/api.rst §2 "Types and visuals").
    private static func deviceLayout(_ descriptor: FileDescriptor, _ path: FilePath) throws -> Layout {
        let variable: fb_var_screeninfo
        let fixed: fb_fix_screeninfo
        do {
            variable = try descriptor.framebufferVariableScreenInfo()
            fixed = try descriptor.framebufferFixedScreenInfo()
        } catch {
            throw FramebufferError.systemCall("ioctl FBIOGET_*SCREENINFO", path, error)
        }
        return try layout(variable: variable, fixed: fixed)
    }

    /// The layout described by the kernel's screen information; throws for formats this driver cannot draw.
    static func layout(variable: fb_var_screeninfo, fixed: fb_fix_screeninfo) throws -> Layout {
        guard fixed.type == UInt32(FB_TYPE_PACKED_PIXELS) else {
            throw FramebufferError.unsupported("framebuffer type \(fixed.type) is not packed pixels")
        }
        let bitsPerPixel = Int(variable.bits_per_pixel)
        func bitfield(_ field: fb_bitfield) -> (Int, Int) { (Int(field.offset), Int(field.length)) }
        let rgb = [bitfield(variable.red), bitfield(variable.green), bitfield(variable.blue)]
        let format: FramebufferPixelFormat
        switch (bitsPerPixel, Int32(fixed.visual)) {
        case (16, FB_VISUAL_TRUECOLOR) where rgb.elementsEqual([(11, 5), (5, 6), (0, 5)], by: ==):
            format = .rgb565
        case (32, FB_VISUAL_TRUECOLOR) where rgb.elementsEqual([(16, 8), (8, 8), (0, 8)], by: ==):
            format = .xrgb8888
        case (1, FB_VISUAL_MONO10):
            format = .monochrome(setBitIsWhite: true)
        case (1, FB_VISUAL_MONO01):
            format = .monochrome(setBitIsWhite: false)
        default:
            throw FramebufferError.unsupported(
                "\(bitsPerPixel) bpp, visual \(fixed.visual), RGB bitfields \(rgb) (supported: RGB565, XRGB8888, mono)")
        }
        let width = Int(variable.xres)
        let height = Int(variable.yres)
        // Some drivers leave line_length 0; then rows are packed at the virtual width.
        let stride =
            fixed.line_length != 0
            ? Int(fixed.line_length) : (Int(variable.xres_virtual) * bitsPerPixel + 7) / 8
        let xOffset = Int(variable.xoffset)
        let yOffset = Int(variable.yoffset)
        let length = Int(fixed.smem_len)
        guard width > 0, height > 0,
            ((xOffset + width) * bitsPerPixel + 7) / 8 <= stride,
            (yOffset + height) * stride <= length
        else {
            throw FramebufferError.geometry(
                "\(width)x\(height)+\(xOffset)+\(yOffset) at \(bitsPerPixel) bpp, stride \(stride), does not fit \(length) bytes")
        }
        return Layout(
            width: width, height: height, stride: stride, xOffset: xOffset, yOffset: yOffset, format: format,
            mappingLength: length)
    }
}

@available(*, unavailable)
extension FramebufferDisplay: Sendable {}
