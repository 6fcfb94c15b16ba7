/// CRC-16/CCITT-FALSE, the checksum of an EMVCo merchant-presented payload (data object "63", EMV QRCPS MPM §4.7.3):
/// polynomial 0x1021, register preset to 0xFFFF, bits processed most-significant first, no final XOR. Check value:
/// the CRC of the ASCII digits "123456789" is 0x29B1.
public struct CRC16CCITTFalse: Sendable, Equatable {
    /// The running register.
    public private(set) var value: UInt16 = 0xFFFF

    /// A fresh checksum over no bytes.
    public init() {}

    /// Adds `bytes` to the checksum.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        var crc = value
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        value = crc
    }

    /// The CRC of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc = CRC16CCITTFalse()
        crc.update(bytes)
        return crc.value
    }

    /// The CRC as data object "63" writes it: four upper-case hexadecimal digits.
    public static func hexString(_ value: UInt16) -> String {
        let digits = Array("0123456789ABCDEF".unicodeScalars)
        var out = String.UnicodeScalarView()
        for shift in stride(from: 12, through: 0, by: -4) { out.append(digits[Int((value >> UInt16(shift)) & 0xF)]) }
        return String(out)
    }
}
