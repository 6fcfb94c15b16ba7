#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
import Logging
import LinuxDevices
import ServiceLifecycle
import SystemPackage

/// An input device whose stream the ``InputService`` forwards to the event bus.
enum InputDevice: Sendable {
    case keypad(name: String, device: any KeypadDevice)
    case scanner(name: String, device: any CodeScannerDevice)
    case cardReader(name: String, device: any CardReaderDevice)

    var name: String {
        switch self {
        case .keypad(let name, _), .scanner(let name, _), .cardReader(let name, _): name
        }
    }
}

extension DeviceSet {
    /// Opens the devices a hardware profile names. A device that cannot be opened stops the start with a message
    /// naming it and its path (systemd restarts the unit; the journal says what is missing).
    static func openHardware(profile: BoardProfile, bus: EventBus, logger: Logger) throws -> DeviceSet {
        func failure(_ what: String, _ error: any Error) -> RuntimeError {
            RuntimeError(.device, "\(what): \(error)")
        }
        func serialConfiguration(_ wiring: BoardProfile.SerialWiring) -> SerialConfiguration {
            // The profile parser accepted only standard rates, which are all BaudRate cases.
            SerialConfiguration(baudRate: SerialConfiguration.BaudRate(rawValue: wiring.baudRate) ?? .b9600)
        }

        let display: any DisplayDevice
        switch profile.display {
        case .framebuffer(let device, let scale, let fontPath):
            var font: any BitmapFont = UnifontSubset()
            if let fontPath {
                do {
                    font = LayeredFont([UnifontSubset(), try HexFontFile(contentsOfFile: fontPath)])
                } catch {
                    // The built-in set covers the UI and the common hanzi: run without the extra glyphs.
                    logger.warning("cannot load the display font; using the built-in glyphs", metadata: ["font": "\(fontPath)", "error": "\(error)"])
                }
            }
            do {
                display = try FramebufferDisplay(device: FilePath(device), scale: scale, font: font)
            } catch {
                throw failure("display \(device)", error)
            }
        case .serialLCD(let serial, let columns, let rows):
            display = SerialCharacterLCD(path: serial.device, serialConfiguration: serialConfiguration(serial), columns: columns, rows: rows)
        case .ansi:
            throw RuntimeError(.device, "the ansi display needs the simulator")  // refused by the profile parser
        }

        var inputs: [InputDevice] = []
        switch profile.keypad {
        case .gpioMatrix(let chip, let rows, let columns, let keymap):
            do {
                let configuration = GpioMatrixKeypad.Configuration(
                    chipPath: chip, rowOffsets: rows.map { UInt32($0) }, columnOffsets: columns.map { UInt32($0) },
                    keymap: try MatrixKeymap(keymap))
                inputs.append(.keypad(name: "keypad \(chip)", device: try GpioMatrixKeypad(configuration: configuration)))
            } catch {
                throw failure("keypad on \(chip)", error)
            }
        case .evdev(let device, let keymap):
            do {
                let overrides = Dictionary(uniqueKeysWithValues: keymap.map { (UInt16($0.key), $0.value) })
                inputs.append(.keypad(name: "keypad \(device)", device: try EvdevKeypad(path: device, keymapOverride: overrides)))
            } catch {
                throw failure("keypad \(device)", error)
            }
        case .simulator:
            throw RuntimeError(.device, "the simulated keypad needs the simulator")  // refused by the profile parser
        }

        switch profile.scanner {
        case .serial(let serial, let suffix):
            let scanner = SerialCodeScanner(path: serial.device, configuration: serialConfiguration(serial), suffix: LineSuffix(name: suffix) ?? .cr)
            inputs.append(.scanner(name: "scanner \(serial.device)", device: scanner))
        case .evdev(let device):
            do {
                inputs.append(.scanner(name: "scanner \(device)", device: try EvdevCodeScanner(path: device)))
            } catch {
                throw failure("scanner \(device)", error)
            }
        case .simulator, .none:
            break
        }

        var cardReader: (any CardReaderDevice)?
        switch profile.cardReader {
        case .pcsc(let reader):
            do {
                let pcsc = try PCSCCardReader(reader: reader)
                cardReader = pcsc
                inputs.append(.cardReader(name: "card reader \(reader)", device: pcsc))
            } catch {
                throw failure("card reader \(reader) (is pcscd running?)", error)
            }
        case .simulator, .none:
            break
        }

        var printer: (any ReceiptPrinterDevice)?
        switch profile.printer {
        case .escpos(let serial, let chineseMode):
            var escPos = EscPosConfiguration()
            escPos.selectsKanjiMode = chineseMode
            printer = EscPosPrinter(path: serial.device, serialConfiguration: serialConfiguration(serial), escPos: escPos)
        case .textFile, .none:
            break
        }

        return try DeviceSet(display: display, inputs: inputs, printer: printer, cardReader: cardReader, stoppers: [])
    }
}

/// Forwards what keypads and scanners read to the event bus. A device that fails (unplugged, vanished) is reported
/// as a device fault and read again after a pause that doubles up to 30 s, so a replugged scanner comes back
/// without a restart.
struct InputService: Service {
    let devices: [InputDevice]
    let bus: EventBus
    let logger: Logger

    func run() async throws {
        // A service may end only when the group asks it to (ServiceGroup treats any other end during shutdown as
        // a failure), so a board without keypad or scanner drivers still waits for the signal.
        guard !devices.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for device in devices {
                    group.addTask { await read(device) }
                }
            }
        }
    }

    private func read(_ device: InputDevice) async {
        var pause: Duration = .seconds(1)
        while !Task.isCancelled {
            do {
                switch device {
                case .keypad(_, let keypad):
                    for try await event in keypad.keyEvents() where event.kind == .pressed {
                        bus.send(.flow(.key(event.key)))
                        pause = .seconds(1)
                    }
                case .scanner(_, let scanner):
                    for try await code in scanner.codes() {
                        bus.send(.flow(.presentation(.scanned(code: code))))
                        pause = .seconds(1)
                    }
                case .cardReader(_, let reader):
                    for try await event in reader.events() {
                        switch event {
                        case .cardPresent(.contact, _): bus.send(.flow(.presentation(.inserted(name: "contact"))))
                        case .cardPresent(.contactless, _): bus.send(.flow(.presentation(.tapped(name: "contactless"))))
                        case .cardRemoved: bus.send(.flow(.presentation(.removed)))
                        }
                        pause = .seconds(1)
                    }
                }
                if Task.isCancelled { return }
            } catch {
                bus.send(.deviceFault("\(device.name): \(error)"))
            }
            do {
                try await Task.sleep(for: pause)
            } catch {
                return
            }
            pause = min(pause * 2, .seconds(30))
        }
    }
}
