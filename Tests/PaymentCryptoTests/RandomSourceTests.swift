import PaymentCrypto
import Testing

@Test func systemRandomGivesFreshBytes() throws {
    let random = SystemRandom()
    let a = try random.bytes(32)
    let b = try random.bytes(32)
    #expect(a.count == 32 && b.count == 32)
    #expect(a != b)
    #expect(try random.bytes(0).isEmpty)
}
