import EMVKernel
import Testing

@Suite struct EMVDateTests {
    @Test func readsYYMMDDAndMMYY() throws {
        #expect(EMVDate(yymmdd: [0x26, 0x11, 0x27]) == EMVDate(year: 2026, month: 11, day: 27))
        #expect(EMVDate(yymmdd: [0x99, 0x12, 0x31])?.year == 1999)
        #expect(EMVDate(yymmdd: [0x26, 0x02, 0x29]) == nil)
        #expect(EMVDate(yymmdd: [0x24, 0x02, 0x29])?.day == 29)
        #expect(EMVDate(yymmdd: [0x2A, 0x01, 0x01]) == nil)
        #expect(EMVDate(mmyy: [0x02, 0x28]) == EMVDate(year: 2028, month: 2, day: 29))
        #expect(try #require(EMVDate(year: 2026, month: 11, day: 27)).yymmdd == [0x26, 0x11, 0x27])
    }
}
