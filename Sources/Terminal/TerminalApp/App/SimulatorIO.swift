#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LinuxDevices
import SystemPackage

/// Reads headless input from a file descriptor on a thread of its own and sends each event to the bus.
/// `WAIT <ms>` pauses the reading; `UNTIL <text>` pauses it until a screen printed after the previous event holds
/// the text (on timeout it is reported and reading goes on); a bad line is reported on stderr and skipped; end of
/// input sends ``TerminalEvent/endOfInput``.
final class HeadlessInputReader: Sendable {
    private let stop: StopSignal
    private let thread: DeviceThread

    init(fd: Int32, bus: EventBus, screens: HeadlessScreens, report: @escaping @Sendable (String) -> Void) throws {
        let stop = try StopSignal()
        self.stop = stop
        thread = try DeviceThread.start(name: "headless-in") {
            var buffer: [UInt8] = []
            var lineNumber = 0
            // The screens printed before the latest event was sent: UNTIL looks only at the ones after.
            var mark = 0
            func send(_ event: TerminalEvent) {
                mark = screens.count
                bus.send(event)
            }
            let descriptor = FileDescriptor(rawValue: fd)
            func handle(_ line: [UInt8]) -> Bool {
                lineNumber += 1
                let text = String(decoding: line, as: UTF8.self)
                do {
                    switch try HeadlessCommand.parse(text, line: lineNumber) {
                    case nil: break
                    case .key(let key)?: send(.flow(.key(key)))
                    case .presentation(let p)?: send(.flow(.presentation(p)))
                    case .wait(let ms)?:
                        if (try? pollReadable(stop.descriptor, stop: nil, timeoutMilliseconds: Int32(ms))) == .readable { return false }
                    case .until(let text, let ms)?:
                        switch screens.wait(for: text, after: mark, timeoutMilliseconds: ms, stop: stop) {
                        case .shown: break
                        case .stopped: return false
                        case .timedOut:
                            report("headless input line \(lineNumber): UNTIL timed out after \(ms) ms: no screen showed '\(text)'")
                        }
                    case .quit?: send(.quit)
                    }
                } catch {
                    report("\(error)")
                }
                return !stop.isFired
            }
            reading: while !stop.isFired {
                guard let outcome = try? pollReadable(descriptor, stop: stop, timeoutMilliseconds: -1), outcome == .readable else { break }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = read(fd, &chunk, chunk.count)
                if n < 0, errno == EINTR || errno == EAGAIN { continue }
                if n <= 0 { break }
                buffer += chunk[0..<n]
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let line = Array(buffer[..<newline])
                    buffer.removeFirst(newline + 1)
                    if !handle(line) { break reading }
                }
                if buffer.count > 65536 {
                    report("headless input: a line longer than 64 KiB was dropped")
                    buffer.removeAll()
                }
            }
            if !buffer.isEmpty, !stop.isFired { _ = handle(buffer) }
            bus.send(.endOfInput)
        }
    }

    func shutdown() {
        stop.fire()
        thread.join()
    }
}

/// The simulator's keyboard in a terminal window: key bytes decoded into keypad keys and simulator actions.
/// F5-F8 present the selected virtual card, phone, code or prepaid card; Tab selects the next one.
final class SimulatorKeyboard: Sendable {
    private let stop: StopSignal
    private let thread: DeviceThread

    init(fd: Int32, bus: EventBus, catalog: BoardProfile.Simulator, onSelection: @escaping @Sendable ([String]) -> Void) throws {
        let stop = try StopSignal()
        self.stop = stop
        thread = try DeviceThread.start(name: "sim-keyboard") {
            var decoder = SimulatorKeyDecoder()
            var selection = 0
            let descriptor = FileDescriptor(rawValue: fd)
            func item(_ list: [String]) -> String? { list.isEmpty ? nil : list[selection % list.count] }
            func describe() -> [String] {
                let cards = item(catalog.cards) ?? "-"
                let tap = item(catalog.cards + catalog.phones) ?? "-"
                let code = item(catalog.codes) ?? "-"
                let prepaid = item(catalog.prepaidCards) ?? "-"
                return [
                    "keys: 0-9 . z=00 Enter Esc=CANCEL Bksp=CLEAR m=MENU arrows F1-F4  q=quit",
                    "F5 insert [\(cards)]  F6 tap [\(tap)]  F7 scan [\(code)]",
                    "F8 prepaid [\(prepaid)]  F9 remove  Tab next",
                ]
            }
            onSelection(describe())
            func apply(_ decoded: [SimulatorKeyDecoder.Decoded]) {
                for d in decoded {
                    switch d {
                    case .event(.key(let key)): bus.send(.flow(.key(key)))
                    case .event(.presentation(let p)): bus.send(.flow(.presentation(p)))
                    case .event(.quit): bus.send(.quit)
                    case .event(.wait), .event(.until): break
                    case .nextItem:
                        selection += 1
                        onSelection(describe())
                    case .present(let kind):
                        switch kind {
                        case .insertCard: if let c = item(catalog.cards) { bus.send(.flow(.presentation(.inserted(name: c)))) }
                        case .tap: if let c = item(catalog.cards + catalog.phones) { bus.send(.flow(.presentation(.tapped(name: c)))) }
                        case .scan: if let c = item(catalog.codes) { bus.send(.flow(.presentation(.scanned(code: c)))) }
                        case .insertPrepaid: if let c = item(catalog.prepaidCards) { bus.send(.flow(.presentation(.inserted(name: c)))) }
                        }
                    }
                }
            }
            while !stop.isFired {
                // A lone ESC waits 50 ms for the rest of a sequence; otherwise it is the Esc key.
                let timeout: Int32 = decoder.hasPendingEscape ? 50 : -1
                guard let outcome = try? pollReadable(descriptor, stop: stop, timeoutMilliseconds: timeout) else { break }
                switch outcome {
                case .stopped: return
                case .timedOut: apply(decoder.flush())
                case .readable:
                    var chunk = [UInt8](repeating: 0, count: 64)
                    let n = read(fd, &chunk, chunk.count)
                    if n < 0, errno == EINTR || errno == EAGAIN { continue }
                    guard n > 0 else {
                        bus.send(.quit)
                        return
                    }
                    apply(decoder.feed(chunk[0..<n]))
                }
            }
        }
    }

    func shutdown() {
        stop.fire()
        thread.join()
    }
}
