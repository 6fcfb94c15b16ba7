/// A 24-bit RGB colour (8 bits a channel, sRGB as displays take it).
public struct PixelColor: Sendable, Hashable {
    /// Red, 0-255.
    public var red: UInt8
    /// Green, 0-255.
    public var green: UInt8
    /// Blue, 0-255.
    public var blue: UInt8

    /// A colour from its channels.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// A grey: all three channels `level`.
    public init(grey level: UInt8) {
        self.init(red: level, green: level, blue: level)
    }

    /// Black (0, 0, 0).
    public static let black = PixelColor(grey: 0)
    /// White (255, 255, 255).
    public static let white = PixelColor(grey: 255)

    /// Luma Y' = 0.299 R' + 0.587 G' + 0.114 B' (ITU-R BT.601), rounded, for greyscale output.
    public var luma: UInt8 {
        let r = 299 * Int(red)
        let g = 587 * Int(green)
        let b = 114 * Int(blue)
        return UInt8((r + g + b + 500) / 1000)
    }

    /// Whether a one-bit display lights this pixel: ``luma`` of at least 128.
    public var isLight: Bool { luma >= 128 }
}

/// An image in memory: `width` x `height` pixels, 24-bit RGB, what a pixel display driver converts to its own format.
///
/// Pixels are stored row-major, top row first, three bytes (R, G, B) a pixel, no padding between rows: ``rgb`` is
/// directly the pixel data of an 8-bit RGB PNG. The canvas is pure (no I/O).
public struct PixelCanvas: Sendable, Equatable {
    /// Pixels in a row.
    public let width: Int
    /// Rows.
    public let height: Int
    /// R, G, B bytes of every pixel, row-major; `rgb.count == width * height * 3`.
    public private(set) var rgb: [UInt8]

    /// Bytes a pixel takes in ``rgb``.
    public static let bytesPerPixel = 3

    /// A canvas filled with one colour.
    ///
    /// - Precondition: `width` and `height` are positive.
    public init(width: Int, height: Int, fill: PixelColor = .black) {
        precondition(width > 0 && height > 0, "a canvas needs at least one pixel, got \(width)x\(height)")
        self.width = width
        self.height = height
        rgb = [UInt8](repeating: 0, count: width * height * Self.bytesPerPixel)
        if fill != .black { self.fill(x: 0, y: 0, width: width, height: height, color: fill) }
    }

    /// The pixel at (`x`, `y`), (0, 0) at the top left.
    ///
    /// - Precondition: the point is inside the canvas.
    public subscript(x: Int, y: Int) -> PixelColor {
        get {
            let i = offset(x, y)
            return PixelColor(red: rgb[i], green: rgb[i + 1], blue: rgb[i + 2])
        }
        set {
            let i = offset(x, y)
            rgb[i] = newValue.red
            rgb[i + 1] = newValue.green
            rgb[i + 2] = newValue.blue
        }
    }

    /// Paints a rectangle; the part outside the canvas is clipped away (an empty or fully outside rectangle paints
    /// nothing).
    public mutating func fill(x: Int, y: Int, width: Int, height: Int, color: PixelColor) {
        let x0 = max(x, 0)
        let y0 = max(y, 0)
        let x1 = min(x + max(width, 0), self.width)
        let y1 = min(y + max(height, 0), self.height)
        guard x0 < x1, y0 < y1 else { return }
        let canvasWidth = self.width
        rgb.withUnsafeMutableBufferPointer { pixels in
            for row in y0..<y1 {
                var i = (row * canvasWidth + x0) * Self.bytesPerPixel
                for _ in x0..<x1 {
                    pixels[i] = color.red
                    pixels[i + 1] = color.green
                    pixels[i + 2] = color.blue
                    i += Self.bytesPerPixel
                }
            }
        }
    }

    /// The R, G, B bytes of row `y`.
    public func row(_ y: Int) -> ArraySlice<UInt8> {
        precondition(y >= 0 && y < height, "row \(y) is outside the canvas (0..<\(height))")
        let start = y * width * Self.bytesPerPixel
        return rgb[start..<start + width * Self.bytesPerPixel]
    }

    /// The canvas as 8-bit grey (``PixelColor/luma``), one byte a pixel, row-major.
    public func greyscale() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height)
        for i in 0..<out.count {
            let p = i * Self.bytesPerPixel
            out[i] = PixelColor(red: rgb[p], green: rgb[p + 1], blue: rgb[p + 2]).luma
        }
        return out
    }

    private func offset(_ x: Int, _ y: Int) -> Int {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) is outside \(width)x\(height)")
        return (y * width + x) * Self.bytesPerPixel
    }
}
