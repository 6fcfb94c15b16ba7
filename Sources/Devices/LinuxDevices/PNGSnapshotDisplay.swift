#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Codecs
public import DeviceKit
public import SystemPackage
import Synchronization

/// A display that writes every frame to a PNG file: the simulator board's screen, and screenshots.
///
/// Each ``show(_:)`` rasterizes the grid with a ``GridRasterizer`` onto a `width` x `height` canvas (top-left
/// aligned, background around it), encodes it with ``PNGEncoder`` and replaces the file atomically: the image is
/// written to a temporary file in the same directory, flushed with `fsync`, renamed over the path, and the directory
/// is synced, so a reader sees either the previous frame or the new one, never half a file.
public final class PNGSnapshotDisplay: DisplayDevice {
    /// The pixel area and the scale of the font on it.
    public let geometry: DisplayGeometry
    /// The file each frame replaces.
    public let path: FilePath
    /// Greyscale (smaller files) or RGB.
    public let colorType: PNGEncoder.ColorType
    /// How many frames have been written.
    public private(set) var framesWritten = 0

    private let rasterizer: GridRasterizer
    private let width: Int
    private let height: Int

    /// A snapshot display.
    ///
    /// - Parameters:
    ///   - path: the PNG file to write; its directory must exist.
    ///   - width: image width in pixels.
    ///   - height: image height in pixels.
    ///   - scale: 1 to 4 pixels per font pixel.
    ///   - colorType: ``PNGEncoder/ColorType/truecolor`` (default) or ``PNGEncoder/ColorType/greyscale``.
    ///   - font: the glyphs; by default the built-in ``UnifontSubset``.
    ///   - foreground: glyph colour.
    ///   - background: colour around glyphs.
    /// - Precondition: at least one 8x16 cell (times `scale`) fits in `width` x `height`.
    public init(
        path: FilePath, width: Int, height: Int, scale: Int = 1, colorType: PNGEncoder.ColorType = .truecolor,
        font: any BitmapFont = UnifontSubset(), foreground: PixelColor = .white, background: PixelColor = .black
    ) {
        rasterizer = GridRasterizer(font: font, foreground: foreground, background: background, scale: scale)
        geometry = .pixels(width: width, height: height, scale: scale)
        precondition(
            geometry.gridSize.columns > 0 && geometry.gridSize.rows > 0,
            "a \(width)x\(height) snapshot holds no cell at scale \(scale)")
        self.path = path
        self.colorType = colorType
        self.width = width
        self.height = height
    }

    /// Rasterizes `grid`, encodes it and atomically replaces the file.
    ///
    /// - Throws: `Errno` from `open`, `write`, `fsync`, `close` or `rename` (the file keeps its previous
    ///   frame).
    public func show(_ grid: CharacterGrid) throws {
        var canvas = PixelCanvas(width: width, height: height, fill: rasterizer.background)
        rasterizer.draw(grid, on: &canvas)
        let png: [UInt8]
        switch colorType {
        case .truecolor: png = PNGEncoder.encode(width: width, height: height, colorType: .truecolor, pixels: canvas.rgb)
        case .greyscale:
            png = PNGEncoder.encode(width: width, height: height, colorType: .greyscale, pixels: canvas.greyscale())
        }
        try Self.replaceAtomically(path, with: png)
        framesWritten += 1
    }

    /// Writes `bytes` to a new temporary file beside `path` (created with `O_CREAT | O_EXCL | O_CLOEXEC`, mode 0644
    /// less the umask), `fsync`s it, `rename`s it over `path`, then `fsync`s the directory so the rename itself is
    /// durable. On failure the temporary file is removed and `path` is untouched.
    static func replaceAtomically(_ path: FilePath, with bytes: [UInt8]) throws {
        guard let name = path.lastComponent else { throw Errno.invalidArgument }
        var directory = path.removingLastComponent()
        if directory.isEmpty { directory = "." }
        var attempt = 0
        var temporary: FilePath
        var file: FileDescriptor
        while true {
            // Unique among this process's writers (the counter) and other processes (the pid); a name left behind by
            // a crashed process with the same pid is skipped by trying the next number.
            let serial = temporaryCounter.wrappingAdd(1, ordering: .relaxed).oldValue
            temporary = directory.appending(".\(name).\(getpid()).\(serial).tmp")
            do {
                file = try FileDescriptor.open(
                    temporary, .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
                    permissions: [.ownerReadWrite, .groupRead, .otherRead])
                break
            } catch Errno.fileExists where attempt < 100 {
                attempt += 1
            }
        }
        do {
            _ = try file.writeAll(bytes)
            try syncRetryingInterrupts(file.rawValue)
            try file.close()
        } catch {
            try? file.close()
            _ = unlink(temporary.string)
            throw error
        }
        guard rename(temporary.string, path.string) == 0 else {
            let error = Errno(rawValue: errno)
            _ = unlink(temporary.string)
            throw error
        }
        // Durability of the rename: sync the directory entry (failure here leaves a complete new file in place).
        if let dir = try? FileDescriptor.open(directory, .readOnly, options: [.directory, .closeOnExec]) {
            _ = try? syncRetryingInterrupts(dir.rawValue)
            try? dir.close()
        }
    }

    private static let temporaryCounter = Atomic<Int>(0)

    private static func syncRetryingInterrupts(_ fd: CInt) throws(Errno) {
        while fsync(fd) != 0 {
            let error = Errno(rawValue: errno)
            if error != .interrupted { throw error }
        }
    }
}

@available(*, unavailable)
extension PNGSnapshotDisplay: Sendable {}
