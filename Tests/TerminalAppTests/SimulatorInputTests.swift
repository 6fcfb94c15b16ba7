#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
import LinuxDevices
@testable import TerminalApp
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

    @Test func untilLines() throws {
        let patience = HeadlessCommand.defaultUntilTimeoutMilliseconds
        #expect(patience == 30_000)
        #expect(try HeadlessCommand.parse("UNTIL 请插卡", line: 1) == .until(text: "请插卡", timeoutMilliseconds: patience))
        #expect(try HeadlessCommand.parse("until  交易成功 ", line: 1) == .until(text: "交易成功", timeoutMilliseconds: patience))
        // Inner spaces are part of the text; a first word <digits>ms is the timeout.
        #expect(try HeadlessCommand.parse("UNTIL >1 银行卡/手机支付", line: 1) == .until(text: ">1 银行卡/手机支付", timeoutMilliseconds: patience))
        #expect(try HeadlessCommand.parse("UNTIL 5000ms 交易成功", line: 1) == .until(text: "交易成功", timeoutMilliseconds: 5000))
        #expect(try HeadlessCommand.parse("UNTIL 0ms Balance 50.00", line: 1) == .until(text: "Balance 50.00", timeoutMilliseconds: 0))
        // Anything else is text, digits included.
        #expect(try HeadlessCommand.parse("UNTIL 1000", line: 1) == .until(text: "1000", timeoutMilliseconds: patience))
        #expect(try HeadlessCommand.parse("UNTIL ms", line: 1) == .until(text: "ms", timeoutMilliseconds: patience))
        #expect(try HeadlessCommand.parse("UNTIL 12.5ms x", line: 1) == .until(text: "12.5ms x", timeoutMilliseconds: patience))
    }

    @Test(arguments: ["UNTIL", "UNTIL   ", "UNTIL 500ms", "UNTIL 600001ms x", "UNTIL 99999999999999999999ms x"])
    func badUntilLines(_ line: String) {
        #expect(throws: HeadlessCommand.ParseError.self) { try HeadlessCommand.parse(line, line: 3) }
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

    @Test func screensWaitCountsOnlyScreensAfterTheMark() throws {
        let screens = HeadlessScreens(capacity: 4)
        let stop = try StopSignal()
        #expect(screens.count == 0 && screens.latest == nil)
        screens.record("欢迎光临")
        screens.record("请输入金额\n¥0.01")
        #expect(screens.count == 2 && screens.latest == "请输入金额\n¥0.01")
        #expect(screens.wait(for: "¥0.01", after: 0, timeoutMilliseconds: 0, stop: stop) == .shown, "already printed")
        #expect(screens.wait(for: "欢迎光临", after: 1, timeoutMilliseconds: 50, stop: stop) == .timedOut, "printed before the mark")
        // Only the most recent `capacity` screens are kept.
        for n in 0..<4 { screens.record("screen \(n)") }
        #expect(!screens.shows("¥0.01", after: 0) && screens.shows("screen 0", after: 0))

        // A screen printed while the reader waits ends the wait.
        let mark = screens.count
        let start = SystemClock().monotonicMilliseconds()
        let printer = try DeviceThread.start(name: "test-printer") {
            usleep(150_000)
            screens.record("交易成功\n¥12.34")
        }
        #expect(screens.wait(for: "交易成功", after: mark, timeoutMilliseconds: 10_000, stop: stop) == .shown)
        let waited = SystemClock().monotonicMilliseconds() - start
        #expect(waited >= 100 && waited < 9_000, "waited \(waited) ms")
        printer.join()

        // The timeout, then the stop signal.
        let before = SystemClock().monotonicMilliseconds()
        #expect(screens.wait(for: "never", after: mark, timeoutMilliseconds: 120, stop: stop) == .timedOut)
        #expect(SystemClock().monotonicMilliseconds() - before >= 120)
        stop.fire()
        #expect(screens.wait(for: "never", after: mark, timeoutMilliseconds: 10_000, stop: stop) == .stopped)
    }

    /// The reader thread on a pipe: UNTIL holds back the next line until the screen it names is printed after the
    /// previous event (a stale one does not count); a timeout is reported and reading goes on.
    @Test func readerWaitsForTheScreen() async throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let bus = EventBus()
        let screens = HeadlessScreens()
        let reports = Locked<[String]>([])
        screens.record("请输入金额\n¥0.00")  // stale: printed before the first key
        let printed = Locked(false)
        let reader = try HeadlessInputReader(fd: fds[0], bus: bus, screens: screens) { message in reports.withLock { $0.append(message) } }
        defer { reader.shutdown() }
        let script = "1\nUNTIL ¥0.0\n2\nUNTIL 100ms 交易成功\n3\n"
        #expect(Array(script.utf8).withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } == script.utf8.count)
        close(fds[1])
        fds[1] = -1
        let printer = try DeviceThread.start(name: "test-printer") {
            usleep(300_000)
            printed.withLock { $0 = true }
            screens.record("请输入金额\n¥0.01")
        }
        var keys: [Key] = []
        var printedBeforeKey2 = false
        for await event in bus.events {
            switch event {
            case .flow(.key(let key)):
                keys.append(key)
                if key == .digit2 { printedBeforeKey2 = printed.withLock { $0 } }
            case .endOfInput: bus.finish()
            default: break
            }
        }
        printer.join()
        #expect(keys == [.digit1, .digit2, .digit3])
        #expect(printedBeforeKey2, "key 2 waited for the screen printed after key 1")
        let reported = reports.withLock { $0 }
        #expect(reported == ["headless input line 4: UNTIL timed out after 100 ms: no screen showed '交易成功'"])
    }
}
