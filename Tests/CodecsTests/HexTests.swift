import Codecs
import Testing

@Test func hexRoundTrip() {
    let bytes: [UInt8] = [0x00, 0x12, 0xAB, 0xFF]
    #expect(Hex.encode(bytes) == "0012ABFF")
    #expect(Hex.decode("0012abff") == bytes)
    #expect(Hex.decode("001") == nil)
    #expect(Hex.decode("0G") == nil)
}
