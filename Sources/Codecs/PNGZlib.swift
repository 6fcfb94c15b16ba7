/// Adler-32, the checksum that ends a zlib stream (RFC 1950 §8.2 "Adler-32 algorithm"): two 16-bit sums modulo
/// 65521, `s1` of the bytes plus one and `s2` of the running `s1` values, returned as `s2 << 16 | s1`.
///
/// Check value: Adler-32 of the ASCII text "Wikipedia" is 0x11E60398.
public struct Adler32: Sendable, Equatable {
    /// The largest prime below 2^16 (RFC 1950 §8.2, `BASE`).
    static let modulus: UInt32 = 65521
    /// Bytes that can be summed before `s2` could overflow 32 bits (zlib's `NMAX`).
    static let blockLength = 5552

    private var s1: UInt32 = 1
    private var s2: UInt32 = 0

    /// A fresh checksum over no bytes (value 1).
    public init() {}

    /// Adds `bytes` to the checksum.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { add($0) }
        if done == nil { Array(bytes).withUnsafeBufferPointer { add($0) } }
    }

    private mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) {
        var a = s1
        var b = s2
        var pending = 0
        for byte in bytes {
            a += UInt32(byte)
            b += a
            pending += 1
            if pending == Self.blockLength {
                a %= Self.modulus
                b %= Self.modulus
                pending = 0
            }
        }
        s1 = a % Self.modulus
        s2 = b % Self.modulus
    }

    /// The checksum of every byte added so far.
    public var value: UInt32 { s2 << 16 | s1 }

    /// The Adler-32 of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var adler = Adler32()
        adler.update(bytes)
        return adler.value
    }
}

/// A zlib stream (RFC 1950) whose deflate data (RFC 1951) is stored, not compressed: what a PNG encoder without a
/// compressor writes into IDAT.
///
/// Layout: CMF 0x78 (method 8 = deflate, 32 KiB window), FLG 0x01 (no dictionary, fastest level, FCHECK making
/// `CMF * 256 + FLG` a multiple of 31, RFC 1950 §2.2); then stored blocks (RFC 1951 §3.2.4: a header byte with BFINAL
/// in bit 0 and BTYPE = 00, then LEN and NLEN = ~LEN, 16-bit little-endian, then LEN bytes), each at most 65535
/// bytes, the last with BFINAL set (an empty input gives one empty final block); then the Adler-32 of the
/// uncompressed data, big-endian (RFC 1950 §2.2).
public enum ZlibStoredStream {
    /// The most bytes one stored block can carry (LEN is 16 bits).
    public static let maximumBlockLength = 65535

    /// The zlib stream holding `data` uncompressed.
    public static func encode(_ data: some Collection<UInt8>) -> [UInt8] {
        let blocks = max(1, (data.count + maximumBlockLength - 1) / maximumBlockLength)
        var out: [UInt8] = []
        out.reserveCapacity(2 + data.count + 5 * blocks + 4)
        out.append(0x78)
        out.append(0x01)
        var rest = data[...]
        repeat {
            let block = rest.prefix(maximumBlockLength)
            rest = rest.dropFirst(block.count)
            let length = UInt16(block.count)
            out.append(rest.isEmpty ? 0x01 : 0x00)  // BFINAL, BTYPE = 00 (stored); the rest of the byte is padding
            out.append(UInt8(truncatingIfNeeded: length))
            out.append(UInt8(truncatingIfNeeded: length >> 8))
            out.append(UInt8(truncatingIfNeeded: ~length))
            out.append(UInt8(truncatingIfNeeded: ~length >> 8))
            out.append(contentsOf: block)
        } while !rest.isEmpty
        let adler = Adler32.checksum(data)
        out.append(UInt8(truncatingIfNeeded: adler >> 24))
        out.append(UInt8(truncatingIfNeeded: adler >> 16))
        out.append(UInt8(truncatingIfNeeded: adler >> 8))
        out.append(UInt8(truncatingIfNeeded: adler))
        return out
    }
}
