#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
import Logging
import LinuxDevices
import SystemPackage

/// The devices of a board, opened from its profile, each sending what it reads to the event bus.
final class DeviceSet: Sendable {
    let display: Locked<any DisplayDevice>
    let gridSize: (columns: Int, rows: Int)
    /// Keypads and scanners whose streams the ``InputService`` reads (hardware boards).
    let inputs: [InputDevice]
    /// Prints on the board's receipt printer (if it has one) from a thread of its own.
    let spooler: PrintSpooler
    /// The board's card reader (PC/SC), whose card sessions the card rails open; `nil` on the simulator.
    let cardReader: (any CardReaderDevice)?
    private let stoppers: Locked<[@Sendable () -> Void]>

    init(
        display: sending any DisplayDevice, inputs: [InputDevice] = [], printer: sending (any ReceiptPrinterDevice)? = nil,
        cardReader: (any CardReaderDevice)? = nil, stoppers: [@Sendable () -> Void]
    ) throws {
        self.inputs = inputs
        self.cardReader = cardReader
        let spooler = try PrintSpooler(printer: printer)
        self.spooler = spooler
        gridSize = display.geometry.gridSize
        let locked = Locked<any DisplayDevice>(display)
        self.display = locked
        // The simulator window is restored last, after the keyboard thread has stopped.
        self.stoppers = Locked([{ locked.withLock { ((($0 as? MirroredDisplay)?.primary ?? $0) as? SimulatorWindow)?.end() } }] + stoppers + [{ spooler.shutdown() }])
    }

    /// Stops every reader thread and restores the terminal window.
    func close() {
        let all = stoppers.withLock { list -> [@Sendable () -> Void] in
            defer { list = [] }
            return list
        }
        for stop in all.reversed() { stop() }
    }

    static func open(profile: BoardProfile, options: RunOptions, state: StateDirectory, bus: EventBus, logger: Logger) throws -> DeviceSet {
        if options.headless {
            return try openHeadless(profile: profile, snapshot: options.snapshotPath, state: state, bus: bus, logger: logger)
        }
        switch profile.kind {
        case .simulator: return try openSimulator(profile: profile, snapshot: options.snapshotPath, state: state, bus: bus, logger: logger)
        case .hardware: return try openHardware(profile: profile, bus: bus, logger: logger)
        }
    }

    /// The simulator's printer: receipts as text files in the state directory.
    static func simulatedPrinter(_ profile: BoardProfile, state: StateDirectory) -> (any ReceiptPrinterDevice)? {
        profile.printer == .textFile ? TextFilePrinter(directory: state.path + "/receipts") : nil
    }

    /// The display, plus a PNG snapshot of each frame when asked (the pixels a panel of that many cells shows).
    static func withSnapshot(_ display: any DisplayDevice, path: String?, logger: Logger) -> any DisplayDevice {
        guard let path else { return display }
        let (columns, rows) = display.geometry.gridSize
        let png = PNGSnapshotDisplay(path: FilePath(path), width: columns * 8, height: rows * 16)
        return MirroredDisplay(primary: display, mirror: png, logger: logger)
    }

    /// The geometry the simulator emulates: the board's own display, in cells.
    static func simulatedGeometry(_ profile: BoardProfile) -> DisplayGeometry {
        switch profile.display {
        case .ansi(let columns, let rows): .text(columns: columns, rows: rows, wideGlyphs: true)
        case .serialLCD(_, let columns, let rows): .text(columns: columns, rows: rows, wideGlyphs: false)
        case .framebuffer: .text(columns: 40, rows: 15, wideGlyphs: true)  // a 320x240 panel at scale 1
        }
    }

    /// Headless: screens on stdout, events from stdin. Any board can run headless (its devices are not opened),
    /// except a PC/SC card reader: chip sales then talk to the card in that reader (`INSERT <any name>` starts
    /// them), which is how the pcscd + vpcd integration test runs the whole terminal against `termtool vcard`.
    static func openHeadless(profile: BoardProfile, snapshot: String?, state: StateDirectory, bus: EventBus, logger: Logger) throws -> DeviceSet {
        let screens = HeadlessScreens()
        let display = withSnapshot(HeadlessDisplay(geometry: simulatedGeometry(profile), screens: screens), path: snapshot, logger: logger)
        var cardReader: (any CardReaderDevice)?
        if case .pcsc(let name) = profile.cardReader {
            do {
                cardReader = try PCSCCardReader(reader: name)
            } catch {
                throw RuntimeError(.device, "card reader \(name) (is pcscd running?): \(error)")
            }
        }
        let reader = try HeadlessInputReader(fd: STDIN_FILENO, bus: bus, screens: screens) { message in
            logger.error("headless input", metadata: ["problem": "\(message)"])
        }
        return try DeviceSet(display: display, printer: simulatedPrinter(profile, state: state), cardReader: cardReader, stoppers: [{ reader.shutdown() }])
    }

    /// The simulator board in a terminal window: keyboard in raw mode, the display drawn with ANSI sequences.
    static func openSimulator(profile: BoardProfile, snapshot: String?, state: StateDirectory, bus: EventBus, logger: Logger) throws -> DeviceSet {
        let raw = try RawTerminalMode(fd: STDIN_FILENO)
        let ansi = AnsiDisplay(geometry: simulatedGeometry(profile))
        do { try ansi.begin() } catch {
            raw.restore()
            throw error
        }
        let status = Locked<[String]>([])
        let display = withSnapshot(SimulatorWindow(ansi: ansi, raw: raw, status: status), path: snapshot, logger: logger)
        let keyboard: SimulatorKeyboard
        do {
            keyboard = try SimulatorKeyboard(fd: STDIN_FILENO, bus: bus, catalog: profile.simulator ?? .init(cards: [], phones: [], codes: [], prepaidCards: [])) { lines in
                status.withLock { $0 = lines }
                bus.send(.flow(.tick(now: SystemClock().monotonicMilliseconds())))  // redraw with the new status
            }
        } catch {
            ansi.end()
            raw.restore()
            throw error
        }
        return try DeviceSet(display: display, printer: simulatedPrinter(profile, state: state), stoppers: [{ keyboard.shutdown() }])
    }

}

/// The ANSI display plus the simulator's status lines, which the keyboard thread updates, and the raw mode of
/// the window, restored by ``end()``.
final class SimulatorWindow: DisplayDevice {
    let ansi: AnsiDisplay
    let raw: RawTerminalMode
    let status: Locked<[String]>
    var geometry: DisplayGeometry { ansi.geometry }

    init(ansi: AnsiDisplay, raw: RawTerminalMode, status: Locked<[String]>) {
        self.ansi = ansi
        self.raw = raw
        self.status = status
    }

    func end() {
        ansi.end()
        raw.restore()
    }

    func show(_ grid: CharacterGrid) throws {
        ansi.statusLines = status.withLock { $0 }
        try ansi.show(grid)
    }
}

/// Shows each frame on a primary display and a mirror (a PNG snapshot); a failing mirror is logged, never fatal.
final class MirroredDisplay: DisplayDevice {
    let primary: any DisplayDevice
    let mirror: any DisplayDevice
    let logger: Logger
    var geometry: DisplayGeometry { primary.geometry }

    init(primary: any DisplayDevice, mirror: any DisplayDevice, logger: Logger) {
        self.primary = primary
        self.mirror = mirror
        self.logger = logger
    }

    func show(_ grid: CharacterGrid) throws {
        do { try mirror.show(grid) } catch { logger.warning("snapshot failed", metadata: ["error": "\(error)"]) }
        try primary.show(grid)
    }
}
