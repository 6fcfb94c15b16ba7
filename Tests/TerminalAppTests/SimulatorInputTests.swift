import DeviceKit
import TerminalApp
import Testing

@Suite struct SimulatorInputTests {
    @Test func headlessCommands() throws {
        #expect(try HeadlessCommand.parse("enter", line: 1) == .key(.enter))
        #expect(try HeadlessCommand.parse("  00 ", line: 1) == .key(.doubleZero))
        #expect(try HeadlessCommand.parse("F3", line: 1) == .key(.f3))
        #expect(try HeadlessCommand.parse("INSERT visa-credit", line: 1) == .presentation(.inserted(name: "visa-credit")))
        #expect(try HeadlessCommand.parse("tap applepay-visa", line: 1) == .presentation(.tapped(name: "applepay-visa")))
        #expect(try HeadlessCommand.parse("REMOVE", line: 1) == .presentation(.removed))
        #expect(try HeadlessCommand.parse("SCAN hello world", line: 1) == .presentation(.scanned(code: "hello world")))
        #expect(try HeadlessCommand.parse("WAIT 250", line: 1) == .wait(milliseconds: 250))
        #expect(try HeadlessCommand.parse("# comment", line: 1) == nil)
        #expect(try HeadlessCommand.parse("", line: 1) == nil)
    }

    @Test(arguments: ["OK", "INSERT", "INSERT a b", "WAIT", "WAIT -1", "WAIT x", "REMOVE now", "SCAN", "1 2"])
    func badHeadlessLines(_ line: String) {
        #expect(throws: HeadlessCommand.ParseError.self) { try HeadlessCommand.parse(line, line: 7) }
    }

    @Test func keyDecoder() {
        var d = SimulatorKeyDecoder()
        #expect(d.feed(Array("12z.".utf8)) == [.event(.key(.digit1)), .event(.key(.digit2)), .event(.key(.doubleZero)), .event(.key(.dot))])
        #expect(d.feed([0x0D, 0x7F, 0x09]) == [.event(.key(.enter)), .event(.key(.clear)), .nextItem])
        // xterm F1 and F5 split across reads, then arrows.
        #expect(d.feed([0x1B, 0x4F]).isEmpty)
        #expect(d.feed([0x50]) == [.event(.key(.f1))])
        #expect(d.feed(Array("\u{1B}[15".utf8)).isEmpty)
        #expect(d.feed(Array("~\u{1B}[A\u{1B}[B".utf8)) == [.present(.insertCard), .event(.key(.up)), .event(.key(.down))])
        #expect(d.feed(Array("\u{1B}[20~".utf8)) == [.event(.presentation(.removed))])
        // A lone ESC is the Esc key once the pause passes.
        #expect(d.feed([0x1B]).isEmpty)
        #expect(d.hasPendingEscape)
        #expect(d.flush() == [.event(.key(.cancel))])
        #expect(d.feed([0x03]) == [.event(.quit)])
    }
}
