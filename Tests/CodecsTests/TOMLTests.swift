import Codecs
import Testing

@Suite struct TOMLTests {
    @Test func values() throws {
        let t = try TOML.parse("""
            # comment
            a = "x\\ty\\u4E2D" # trailing
            b = 'raw\\n'
            c = 1_000
            d = 0x1F
            e = -7
            f = true
            g = [1, [2, 3], "s",]
            [t.u]
            h = false
            """)
        #expect(t["a"] == .string("x\ty中", line: 2))
        #expect(t["b"] == .string("raw\\n", line: 3))
        #expect(t["c"] == .integer(1000, line: 4))
        #expect(t["d"] == .integer(31, line: 5))
        #expect(t["e"] == .integer(-7, line: 6))
        #expect(t["f"] == .boolean(true, line: 7))
        guard case .array(let items, _)? = t["g"] else {
            Issue.record("g is not an array")
            return
        }
        #expect(items.count == 3)
        guard case .table(let tt)? = t["t"], case .table(let u)? = tt["u"] else {
            Issue.record("[t.u] missing")
            return
        }
        #expect(u["h"] == .boolean(false, line: 10))
    }

    @Test(arguments: [
        "a = ", "a = 1 2", "a = \"unterminated", "a = 01", "a = 1__0", "a = 1.5", "a = {x = 1}", "[[x]]", "a = 1\na = 2",
        "a = [1, 2", "= 1", "a = \"\\q\"", "a = 1979-05-27",
    ])
    func rejects(_ text: String) {
        #expect(throws: TOML.ParseError.self) { try TOML.parse(text) }
    }
}
