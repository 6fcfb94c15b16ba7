#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LinuxDevices
import TestKit
import Testing

/// Catches the ``SerialError`` `body` throws (fails the test if it throws nothing or something else).
func catchSerialError(_ body: () throws -> Void) -> SerialError? {
    do {
        try body()
        Issue.record("expected a SerialError, nothing was thrown")
        return nil
    } catch let error as SerialError {
        return error
    } catch {
        Issue.record("expected a SerialError, got \(error)")
        return nil
    }
}

@Suite struct SerialPortTests {
    /// Configurations a pseudo-terminal keeps (it has no UART: speed, stop bits and flow-control flags are stored
    /// as given).
    static let configurations: [SerialConfiguration] = [
        SerialConfiguration(baudRate: .b9600),
        SerialConfiguration(baudRate: .b115200, stopBits: .two, flowControl: .rtsCts),
        SerialConfiguration(baudRate: .b1200, flowControl: .xonXoff),
        SerialConfiguration(baudRate: .b921600, stopBits: .two),
    ]

    @Test(arguments: configurations)
    func configurationIsAppliedAndReadBack(_ configuration: SerialConfiguration) throws {
        let pty = try PseudoTerminal()
        let port = try SerialPort(path: pty.slavePath, configuration: configuration)
        #expect(try port.currentConfiguration() == configuration)

        // Read back independently, through the test's own descriptor of the same tty.
        var attributes = try pty.slaveAttributes()
        let output = cfgetospeed(&attributes)
        let input = cfgetispeed(&attributes)
        let expectedSpeed: speed_t =
            switch configuration.baudRate {
            case .b1200: speed_t(B1200)
            case .b9600: speed_t(B9600)
            case .b115200: speed_t(B115200)
            case .b921600: speed_t(B921600)
            default: 0
            }
        #expect(output == expectedSpeed && input == expectedSpeed)
        let raw = tcflag_t(ICANON) | tcflag_t(ECHO) | tcflag_t(ISIG) | tcflag_t(IEXTEN)
        #expect(attributes.c_lflag & raw == 0, "canonical mode, echo and signals are off")
        #expect(attributes.c_oflag & tcflag_t(OPOST) == 0, "no output processing")
        #expect(attributes.c_iflag & (tcflag_t(ICRNL) | tcflag_t(INLCR) | tcflag_t(IGNCR) | tcflag_t(ISTRIP)) == 0)
        #expect(attributes.c_cflag & (tcflag_t(CLOCAL) | tcflag_t(CREAD)) == tcflag_t(CLOCAL) | tcflag_t(CREAD))
        let (vmin, vtime) = withUnsafeBytes(of: attributes.c_cc) { ($0[Int(VMIN)], $0[Int(VTIME)]) }
        #expect(vmin == 0 && vtime == 0)
    }

    /// Linux's pty driver forces 8 data bits without parity (drivers/tty/pty.c, `pty_set_termios`: clears CSIZE and
    /// PARENB, sets CS8): `tcsetattr` still returns 0, and only reading the settings back shows they were not
    /// taken. This is what the verification after `tcsetattr` is for.
    @Test(arguments: [
        SerialConfiguration(baudRate: .b115200, dataBits: .seven, parity: .even, stopBits: .two, flowControl: .rtsCts),
        SerialConfiguration(baudRate: .b1200, parity: .odd, flowControl: .xonXoff),
    ])
    func settingsTheDriverDropsAreRejected(_ configuration: SerialConfiguration) throws {
        let pty = try PseudoTerminal()
        do {
            let port = try SerialPort(path: pty.slavePath, configuration: configuration)
            // A kernel whose pty kept the settings: then they must read back exactly.
            #expect(try port.currentConfiguration() == configuration)
        } catch let error as SerialError {
            #expect(error.code == .configurationRejected)
            #expect(error.path == pty.slavePath)
            let attributes = try pty.slaveAttributes()
            #expect(attributes.c_cflag & tcflag_t(PARENB) == 0, "the driver did drop the parity bit")
        }
    }

    @Test func descriptionNamesTheFormat() {
        let configuration = SerialConfiguration(
            baudRate: .b115200, dataBits: .seven, parity: .even, stopBits: .two, flowControl: .rtsCts)
        #expect(configuration.description == "115200 7E2 RTS/CTS")
    }

    @Test func everyByteValueRoundTripsBothWays() throws {
        let pty = try PseudoTerminal()
        let port = try SerialPort(path: pty.slavePath, configuration: SerialConfiguration())
        let all = (0...255).map { UInt8($0) }

        try port.writeAll(all)
        #expect(try pty.receive(count: 256) == all)

        try pty.send(all)
        var received: [UInt8] = []
        while received.count < 256 {
            guard case .data(let bytes) = try port.read(timeoutMilliseconds: 2000) else { break }
            received += bytes
        }
        #expect(received == all)
    }

    @Test func largeWriteLoopsOnPartialWritesAndEAGAIN() throws {
        let pty = try PseudoTerminal()
        let port = try SerialPort(path: pty.slavePath, configuration: SerialConfiguration())
        // 256 KiB is far more than the pty buffers: writeAll must wait for POLLOUT while the "device" drains.
        let payload = (0..<262_144).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let master = pty.master
        let drained = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: payload.count)
        defer { drained.deallocate() }
        nonisolated(unsafe) let sink = drained
        let reader = try DeviceThread.start(name: "pty-drain") {
            var got = 0
            while got < sink.count {
                var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&fds, 1, 2000) > 0 else { return }
                let n = read(master, sink.baseAddress! + got, sink.count - got)
                if n > 0 { got += n } else if n < 0, errno == EAGAIN || errno == EINTR { continue } else { return }
            }
        }
        try port.writeAll(payload, stallTimeoutMilliseconds: 2000)
        reader.join()
        #expect(Array(drained) == payload)
    }

    @Test func writeStallsOutWhenNobodyReads() throws {
        let pty = try PseudoTerminal()
        let port = try SerialPort(path: pty.slavePath, configuration: SerialConfiguration())
        let error = catchSerialError {
            try port.writeAll([UInt8](repeating: 0x55, count: 1 << 20), stallTimeoutMilliseconds: 50)
        }
        #expect(error?.code == .timedOut)
    }

    @Test func readTimesOutWithoutData() throws {
        let pty = try PseudoTerminal()
        let port = try SerialPort(path: pty.slavePath, configuration: SerialConfiguration())
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = try port.read(timeoutMilliseconds: 80)
        let elapsed = clock.now - start
        #expect(outcome == .timedOut)
        #expect(elapsed >= .milliseconds(75))
        #expect(elapsed < .milliseconds(1000))
    }

    @Test func stopSignalEndsAnUnboundedRead() throws {
        let pty = try PseudoTerminal()
        let port = try SerialPort(path: pty.slavePath, configuration: SerialConfiguration())
        let stop = try StopSignal()
        let firer = try DeviceThread.start(name: "stopper") {
            usleep(30_000)
            stop.fire()
        }
        #expect(try port.read(timeoutMilliseconds: 5000, stop: stop) == .stopped)
        firer.join()
        // A fired signal stays fired: the next wait ends at once.
        #expect(try port.read(timeoutMilliseconds: -1, stop: stop) == .stopped)
    }

    @Test func openDiscardsStaleInput() throws {
        let pty = try PseudoTerminal()
        try pty.send("stale bytes from before the driver started")
        let port = try SerialPort(path: pty.slavePath, configuration: SerialConfiguration())
        #expect(try port.read(timeoutMilliseconds: 50) == .timedOut)
        try pty.send("fresh")
        #expect(try port.read(timeoutMilliseconds: 2000) == .data(Array("fresh".utf8)))
    }

    @Test func readReportsTheVanishedDevice() throws {
        let pty = try PseudoTerminal()
        let port = try SerialPort(path: pty.slavePath, configuration: SerialConfiguration())
        pty.closeMaster()
        let error = catchSerialError { _ = try port.read(timeoutMilliseconds: 2000) }
        #expect(error?.code == .vanished)
        #expect(error?.path == pty.slavePath)
        #expect(error?.description.hasPrefix("device vanished: \(pty.slavePath)") == true)
    }

    @Test func writeReportsTheVanishedDevice() throws {
        let pty = try PseudoTerminal()
        let port = try SerialPort(path: pty.slavePath, configuration: SerialConfiguration())
        pty.closeMaster()
        let error = catchSerialError { try port.writeAll(Array("hello".utf8)) }
        #expect(error?.code == .vanished)
    }

    @Test func openFailuresAreTyped() throws {
        let missing = catchSerialError {
            _ = try SerialPort(path: "/dev/ttyDoesNotExist9", configuration: SerialConfiguration())
        }
        #expect(missing?.code == .openFailed)
        #expect(missing?.errno == .noSuchFileOrDirectory)

        let notATerminal = catchSerialError {
            _ = try SerialPort(path: "/dev/null", configuration: SerialConfiguration())
        }
        #expect(notATerminal?.code == .notATerminal)
    }

    @Test func errorsCompareByCodeAndCarryNoData() {
        let a = SerialError(.vanished, path: "/dev/ttyUSB0", errno: .ioError)
        let b = SerialError(.vanished, path: "/dev/ttyUSB1")
        #expect(a == b)
        #expect(a != SerialError(.readFailed, path: "/dev/ttyUSB0"))
        #expect(a.description == "device vanished: /dev/ttyUSB0 (errno 5: Input/output error)")
    }
}
