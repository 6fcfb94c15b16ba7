/// CRC-32 as PNG, zlib's `crc32` and Ethernet use it (ISO 3309 / ITU-T V.42): polynomial 0x04C11DB7, processed
/// least-significant bit first (reflected constant 0xEDB88320), register preset to all ones, result complemented.
///
/// The algorithm is the table-driven one of the PNG specification (ISO/IEC 15948, W3C PNG 2nd ed.), §5.3 "Chunk
/// layout" and Annex D "Sample CRC implementation". Check value: CRC-32 of the ASCII digits "123456789" is
/// 0xCBF43926.
public struct CRC32: Sendable, Equatable {
    /// The running register, before the final complement.
    private var register: UInt32 = 0xFFFF_FFFF

    /// A fresh checksum over no bytes.
    public init() {}

    /// Adds `bytes` to the checksum.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(buffer: $0) }
        if done == nil { update(buffer: Array(bytes)) }
    }

    private mutating func update(buffer: UnsafeBufferPointer<UInt8>) {
        var c = register
        Self.table.withUnsafeBufferPointer { table in
            for byte in buffer {
                c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8)
            }
        }
        register = c
    }

    private mutating func update(buffer: [UInt8]) {
        buffer.withUnsafeBufferPointer { update(buffer: $0) }
    }

    /// The CRC of every byte added so far.
    public var value: UInt32 { register ^ 0xFFFF_FFFF }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// `table[n]` is the CRC register after shifting byte `n` through it (PNG Annex D, `make_crc_table`).
    private static let table: [UInt32] = (0..<256).map { (n: UInt32) in
        var c = n
        for _ in 0..<8 {
            c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1
        }
        return c
    }
}
