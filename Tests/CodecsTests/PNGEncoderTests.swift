import Codecs
import TestKit
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: - Checksums

@Test func crc32CheckValue() {
    // The CRC-32 check value of the "CRC RevEng" catalogue (CRC-32/ISO-HDLC), also used by PNG and zlib.
    #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(CRC32.checksum([UInt8]()) == 0)
    // PNG's IEND chunk CRC, which every PNG file ends with.
    #expect(CRC32.checksum(Array("IEND".utf8)) == 0xAE42_6082)
}

@Test func crc32IsIncremental() {
    let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
    var crc = CRC32()
    crc.update(bytes[0..<1])
    crc.update(bytes[1..<500])
    crc.update(bytes[500...])
    #expect(crc.value == CRC32.checksum(bytes))
    #expect(crc.value == bitwiseCRC32(bytes))
}

@Test func adler32CheckValue() {
    #expect(Adler32.checksum(Array("Wikipedia".utf8)) == 0x11E6_0398)
    #expect(Adler32.checksum([UInt8]()) == 1)
}

@Test func adler32LongInputMatchesPerByteModulo() {
    // 0xFF bytes make the sums grow fastest: they check the deferred modulo (zlib's NMAX blocking).
    for bytes in [[UInt8](repeating: 0xFF, count: 100_000), (0..<20_000).map { UInt8(truncatingIfNeeded: $0) }] {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        #expect(Adler32.checksum(bytes) == b << 16 | a)
        var split = Adler32()
        split.update(bytes.prefix(5551))
        split.update(bytes.dropFirst(5551))
        #expect(split.value == b << 16 | a)
    }
}

// MARK: - zlib stored stream

@Test func zlibStoredEmptyInput() {
    // Header, one final empty stored block (LEN 0, NLEN FFFF), Adler-32 of nothing = 1.
    #expect(ZlibStoredStream.encode([UInt8]()) == [0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01])
}

@Test func zlibStoredBlocksAreAtMost65535Bytes() throws {
    let data = (0..<140_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let stream = ZlibStoredStream.encode(data)
    #expect((Int(stream[0]) << 8 | Int(stream[1])) % 31 == 0)  // RFC 1950 FCHECK
    let blocks = try #require(StoredStreamReader.blocks(stream))
    #expect(blocks.map(\.count) == [65535, 65535, 140_000 - 2 * 65535])
    #expect(Array(blocks.joined()) == data)
}

// MARK: - PNG

@Test(arguments: PNGEncoder.ColorType.allCases)
func pngStructureAndPixels(colorType: PNGEncoder.ColorType) throws {
    let width = 7
    let height = 5
    let pixels = (0..<width * height * colorType.bytesPerPixel).map { UInt8(truncatingIfNeeded: $0 * 13) }
    let png = PNGEncoder.encode(width: width, height: height, colorType: colorType, pixels: pixels)
    let decoded = try #require(TestPNGDecoder(png))
    #expect(decoded.chunkTypes == ["IHDR", "IDAT", "IEND"])
    #expect(decoded.width == width && decoded.height == height)
    #expect(decoded.bitDepth == 8 && decoded.colorType == colorType.rawValue && decoded.interlace == 0)
    #expect(decoded.pixels == pixels)
}

@Test func pngSplitsLargeImageDataOverSeveralIDATChunks() throws {
    let width = 700
    let height = 600
    let pixels = (0..<width * height * 3).map { UInt8(truncatingIfNeeded: $0 ^ ($0 >> 9)) }
    let png = PNGEncoder.encode(width: width, height: height, colorType: .truecolor, pixels: pixels)
    let decoded = try #require(TestPNGDecoder(png))
    #expect(decoded.chunkTypes == ["IHDR", "IDAT", "IDAT", "IEND"])
    #expect(decoded.pixels == pixels)
}

/// Python's zlib (a real inflater, and zlib's own CRC-32) reads the file independently of our code.
@Test(.enabled(if: pythonIsAvailable))
func pngDecodesWithPythonZlib() throws {
    let cases: [(PNGEncoder.ColorType, Int, Int)] = [(.greyscale, 3, 2), (.truecolor, 4, 3), (.truecolor, 300, 250)]
    let directory = try #require(PNGTestDirectory())
    for (index, (colorType, width, height)) in cases.enumerated() {
        let pixels = (0..<width * height * colorType.bytesPerPixel).map { UInt8(truncatingIfNeeded: $0 * 7 + index) }
        let png = PNGEncoder.encode(width: width, height: height, colorType: colorType, pixels: pixels)
        let path = directory.path + "/image\(index).png"
        try #require(directory.write(png, to: path))
        let output = try #require(decodePNGWithPython(path))
        // The script prints: width height colortype crc32-of-pixels
        #expect(output == "\(width) \(height) \(colorType.rawValue) \(CRC32.checksum(pixels))")
        #expect(CRC32.checksum(pixels) == bitwiseCRC32(pixels))
    }
}

// MARK: - Independent helpers (test only)

/// Bit-at-a-time CRC-32 (reflected polynomial 0xEDB88320), independent of the table-driven one under test.
func bitwiseCRC32(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    return ~crc
}

/// Reads a zlib stream made only of stored deflate blocks, checking every field.
enum StoredStreamReader {
    static func blocks(_ stream: [UInt8]) -> [[UInt8]]? {
        guard stream.count >= 6, stream[0] == 0x78, (Int(stream[0]) << 8 | Int(stream[1])) % 31 == 0 else { return nil }
        var i = 2
        var blocks: [[UInt8]] = []
        var final = false
        while !final {
            guard i + 5 <= stream.count, stream[i] & 0b110 == 0 else { return nil }  // BTYPE 00
            final = stream[i] & 1 == 1
            let length = Int(stream[i + 1]) | Int(stream[i + 2]) << 8
            let complement = Int(stream[i + 3]) | Int(stream[i + 4]) << 8
            guard length ^ complement == 0xFFFF, i + 5 + length <= stream.count else { return nil }
            blocks.append(Array(stream[i + 5..<i + 5 + length]))
            i += 5 + length
        }
        guard i + 4 == stream.count else { return nil }
        let data = Array(blocks.joined())
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        let adler = UInt32(stream[i]) << 24 | UInt32(stream[i + 1]) << 16 | UInt32(stream[i + 2]) << 8 | UInt32(stream[i + 3])
        return adler == b << 16 | a ? blocks : nil
    }
}

/// A PNG reader for what the encoder writes: checks signature, chunk CRCs and filter bytes, returns the pixels.
struct TestPNGDecoder {
    var chunkTypes: [String] = []
    var width = 0
    var height = 0
    var bitDepth: UInt8 = 0
    var colorType: UInt8 = 0
    var interlace: UInt8 = 0
    var pixels: [UInt8] = []

    init?(_ png: [UInt8]) {
        guard png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { return nil }
        func be32(_ i: Int) -> Int { Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3]) }
        var i = 8
        var idat: [UInt8] = []
        while i < png.count {
            guard i + 12 <= png.count else { return nil }
            let length = be32(i)
            guard i + 12 + length <= png.count else { return nil }
            let typeAndData = Array(png[i + 4..<i + 8 + length])
            guard bitwiseCRC32(typeAndData) == UInt32(be32(i + 8 + length)) else { return nil }
            let type = String(decoding: typeAndData.prefix(4), as: UTF8.self)
            let data = Array(typeAndData.dropFirst(4))
            chunkTypes.append(type)
            switch type {
            case "IHDR":
                guard data.count == 13 else { return nil }
                width = Int(data[0]) << 24 | Int(data[1]) << 16 | Int(data[2]) << 8 | Int(data[3])
                height = Int(data[4]) << 24 | Int(data[5]) << 16 | Int(data[6]) << 8 | Int(data[7])
                (bitDepth, colorType, interlace) = (data[8], data[9], data[12])
                guard data[10] == 0, data[11] == 0 else { return nil }
            case "IDAT": idat += data
            case "IEND": guard data.isEmpty else { return nil }
            default: return nil
            }
            i += 12 + length
        }
        guard chunkTypes.last == "IEND", let blocks = StoredStreamReader.blocks(idat) else { return nil }
        let raw = Array(blocks.joined())
        let rowLength = width * (colorType == 2 ? 3 : 1)
        guard raw.count == (rowLength + 1) * height else { return nil }
        for row in 0..<height {
            let start = row * (rowLength + 1)
            guard raw[start] == 0 else { return nil }  // filter type 0
            pixels += raw[start + 1..<start + 1 + rowLength]
        }
    }
}

/// A fresh directory under /tmp, removed with its files when the value goes away.
final class PNGTestDirectory {
    let path: String
    private var files: [String] = []

    init?() {
        var template = Array("/tmp/png-test-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { return nil }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func write(_ bytes: [UInt8], to file: String) -> Bool {
        guard let stream = fopen(file, "wb") else { return false }
        defer { fclose(stream) }
        files.append(file)
        return bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stream) } == bytes.count
    }

    deinit {
        for file in files { unlink(file) }
        rmdir(path)
    }
}
