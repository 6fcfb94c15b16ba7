/// Writes PNG images (ISO/IEC 15948:2004, W3C "Portable Network Graphics (PNG) Specification (Second Edition)"):
/// 8-bit greyscale or 8-bit RGB truecolour, not interlaced, every row with filter type 0 (None), the image data in a
/// zlib stream of stored (uncompressed) deflate blocks (``ZlibStoredStream``). No compressor is needed, at the cost of
/// files about as large as the raw pixels, which is fine for screenshots of a small display.
///
/// The file is the PNG signature, IHDR, one or more IDAT chunks and IEND; every chunk carries a ``CRC32`` over its
/// type and data (§5.3).
public enum PNGEncoder {
    /// The pixel layouts this encoder writes (IHDR colour type, §11.2.2 Table 11.1), always 8 bits a sample.
    public enum ColorType: UInt8, Sendable, CaseIterable {
        /// One byte a pixel, 0 black to 255 white (colour type 0).
        case greyscale = 0
        /// Three bytes a pixel, R, G, B (colour type 2).
        case truecolor = 2

        /// Bytes a pixel takes.
        public var bytesPerPixel: Int {
            switch self {
            case .greyscale: 1
            case .truecolor: 3
            }
        }
    }

    /// The 8 bytes every PNG file starts with (§5.2).
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The most data bytes written into one IDAT chunk; larger images get several consecutive IDAT chunks (§5.6
    /// allows any split of the zlib stream).
    public static let maximumIDATLength = 1 << 20

    /// The largest width or height PNG allows: 2^31 - 1 (§11.2.2).
    public static let maximumDimension = Int(Int32.max)

    /// Encodes an image.
    ///
    /// - Parameters:
    ///   - width: pixels in a row, 1 to ``maximumDimension``.
    ///   - height: rows, 1 to ``maximumDimension``.
    ///   - colorType: the layout of `pixels`.
    ///   - pixels: row-major pixels, top row first, `colorType.bytesPerPixel` bytes each, no row padding
    ///     (for truecolour this is exactly `PixelCanvas.rgb`).
    /// - Returns: the complete PNG file.
    /// - Precondition: the dimensions are in range and `pixels` holds exactly `width * height` pixels.
    public static func encode(
        width: Int, height: Int, colorType: ColorType, pixels: some RandomAccessCollection<UInt8>
    ) -> [UInt8] {
        precondition(
            (1...maximumDimension).contains(width) && (1...maximumDimension).contains(height),
            "PNG width and height must be 1...2^31-1 (§11.2.2), got \(width)x\(height)")
        let rowLength = width * colorType.bytesPerPixel
        precondition(
            pixels.count == rowLength * height,
            "\(width)x\(height) \(colorType) needs \(rowLength * height) pixel bytes, got \(pixels.count)")

        // Filtered image data (§7.3, §9.2): each row is a filter-type byte (0 = None) and the row's bytes unchanged.
        var filtered: [UInt8] = []
        filtered.reserveCapacity((rowLength + 1) * height)
        var rowStart = pixels.startIndex
        for _ in 0..<height {
            let rowEnd = pixels.index(rowStart, offsetBy: rowLength)
            filtered.append(0)
            filtered.append(contentsOf: pixels[rowStart..<rowEnd])
            rowStart = rowEnd
        }
        let zlib = ZlibStoredStream.encode(filtered)

        var out = signature
        out.reserveCapacity(signature.count + 25 + zlib.count + 12 * (zlib.count / maximumIDATLength + 1) + 12)
        // IHDR (§11.2.2): width, height (4 bytes each, big-endian), bit depth 8, colour type, compression method 0
        // (deflate), filter method 0 (adaptive, five types), interlace method 0 (none).
        var header: [UInt8] = []
        appendBigEndian(UInt32(width), to: &header)
        appendBigEndian(UInt32(height), to: &header)
        header += [8, colorType.rawValue, 0, 0, 0]
        appendChunk("IHDR", header, to: &out)
        var idatStart = 0
        repeat {
            let idatEnd = min(idatStart + maximumIDATLength, zlib.count)
            appendChunk("IDAT", zlib[idatStart..<idatEnd], to: &out)
            idatStart = idatEnd
        } while idatStart < zlib.count
        appendChunk("IEND", [], to: &out)
        return out
    }

    /// Appends one chunk (§5.3): data length (4 bytes, big-endian), type (4 ASCII letters), data, and the CRC-32 of
    /// type and data.
    static func appendChunk(_ type: StaticString, _ data: some Collection<UInt8>, to out: inout [UInt8]) {
        precondition(type.utf8CodeUnitCount == 4, "a PNG chunk type is four letters")
        let typeBytes = type.withUTF8Buffer { Array($0) }
        appendBigEndian(UInt32(data.count), to: &out)
        out.append(contentsOf: typeBytes)
        out.append(contentsOf: data)
        var crc = CRC32()
        crc.update(typeBytes)
        crc.update(data)
        appendBigEndian(crc.value, to: &out)
    }

    private static func appendBigEndian(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value >> 24))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }
}
