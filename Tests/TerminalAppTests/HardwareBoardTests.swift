#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PaymentCrypto
import Store
import TestKit
import Testing

/// A board of kind `hardware`, run as systemd would run it, with its devices played by the test: the keypad is an
/// evdev device (a FIFO carrying real `input_event` records), the display a Matrix Orbital LCD and the QR scanner a
/// serial scanner, each on a pseudo-terminal. The terminal reports READY=1 and STOPPING=1 on NOTIFY_SOCKET and
/// stops on SIGTERM.
@Suite(.serialized) struct HardwareBoardTests {
    /// One `struct input_event` (linux/input.h) on a 64-bit kernel: timeval, type, code, value.
    static func event(type: UInt16, code: UInt16, value: Int32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: type.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: code.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
        return bytes
    }

    /// Press and release of a key (EV_KEY = 1, EV_SYN = 0).
    static func keystroke(_ code: UInt16) -> [UInt8] {
        event(type: 1, code: code, value: 1) + event(type: 0, code: 0, value: 0) + event(type: 1, code: code, value: 0) + event(type: 0, code: 0, value: 0)
    }

    static let keyCodes: [String: UInt16] = ["1": 2, "2": 3, "ENTER": 28, "ESC": 1]

    /// Factory provisioning as a key-injection station does it: the KEK as a systemd credential, a data key and a
    /// DUKPT PIN key (not test keys). Returns the environment the terminal needs (CREDENTIALS_DIRECTORY).
    static func provisionFactoryKeys(_ dir: String) throws -> [String: String] {
        try #require(mkdir(dir + "/creds", 0o700) == 0)
        try writeTextFile(dir + "/creds/terminal-kek", String(repeating: "K", count: 32))
        let environment = ["CREDENTIALS_DIRECTORY": dir + "/creds"]
        let store = try KeyStore(.init(directory: dir + "/state/keys", mayProvision: false, environment: environment))
        try store.storeSecret("data-key", SecretBytes(try SystemRandom().bytes(32)), isTestKey: false)
        let ksn = try TDESDUKPT.KeySerialNumber([0xFF, 0xFF, 0x01, 0x02, 0x03, 0x04, 0x05, 0xE0, 0x00, 0x00])
        try store.installTDESDUKPT("pin", initialKey: SecretBytes(try SystemRandom().bytes(16)), keySerialNumber: ksn, isTestKey: false)
        return environment
    }

    /// All that the LCD received so far, as text (command bytes 0xFE xx kept as they are).
    static func lcdText(_ lcd: PseudoTerminal, collected: inout [UInt8], waitingFor text: String, timeout: Duration = .seconds(10)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let chunk = try? lcd.receiveAvailable(timeoutMilliseconds: 50) { collected += chunk }
            if String(decoding: collected.map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x7C }, as: UTF8.self).contains(text) { return true }
        }
        return false
    }

    @Test func keypadDisplayAndScannerBehindTheirDrivers() throws {
        let dir = try makeTemporaryDirectory("hw-board")
        defer { removeTree(dir) }
        let lcd = try PseudoTerminal()
        let scanner = try PseudoTerminal()
        let keypadPath = dir + "/keypad-event"
        try #require(mkfifo(keypadPath, 0o600) == 0)
        // Held open read-write by the test, so the driver's open never waits for a writer.
        let keypad = open(keypadPath, O_RDWR | O_CLOEXEC)
        try #require(keypad >= 0)
        defer { close(keypad) }

        // Factory keys: a hardware board never generates its own.
        let keyEnvironment = try Self.provisionFactoryKeys(dir)

        try writeTextFile(dir + "/board.toml", """
            [board]
            name = "bench-rig"
            kind = "hardware"
            language = "en"
            [merchant]
            name = "Rig Shop"
            city = "Test"
            currency = "CNY"
            max_amount = 100000
            [keypad]
            kind = "evdev"
            device = "\(keypadPath)"
            [display]
            kind = "serial-lcd"
            device = "\(lcd.slavePath)"
            columns = 20
            rows = 4
            [card_reader]
            kind = "none"
            [scanner]
            kind = "serial"
            device = "\(scanner.slavePath)"
            baud = 9600
            suffix = "CR"
            [printer]
            kind = "none"
            [network]
            acquirer = "127.0.0.1:9"
            [storage]
            state_dir = "\(dir)/state"
            [payments]
            methods = ["qr"]
            terminal_id = "HWTEST01"
            merchant_id = "104110070110009"
            """)
        let notify = try NotifyTestSocket.path()
        let terminal = try builtProduct("terminal")
        let process = try SpawnedProcess([terminal, "run", "--board", dir + "/board.toml"], environment: notify.environment.merging(keyEnvironment) { a, _ in a })

        var ready = false
        for _ in 0..<100 where !ready {
            ready = notify.receive(timeoutMilliseconds: 100)?.split(separator: "\n").contains("READY=1") ?? false
            if process.wait(timeout: .zero) != nil { break }
        }
        try #require(ready, "no READY=1; stderr: \(process.stderr)")

        var shown: [UInt8] = []
        #expect(Self.lcdText(lcd, collected: &shown, waitingFor: "Rig Shop"), "idle on the LCD: \(shown)")
        #expect(Self.lcdText(lcd, collected: &shown, waitingFor: "Offline"), "nothing listens on port 9")

        var keys: [UInt8] = []
        for key in ["1", "2", "ENTER"] { keys += Self.keystroke(Self.keyCodes[key]!) }
        #expect(write(keypad, keys, keys.count) == keys.count)
        #expect(Self.lcdText(lcd, collected: &shown, waitingFor: "Show payment code"), "stderr: \(process.stderr)")
        #expect(Self.lcdText(lcd, collected: &shown, waitingFor: "CNY 0.12"))

        try scanner.send("134567890123456789\r")
        #expect(Self.lcdText(lcd, collected: &shown, waitingFor: "Not available"), "stderr: \(process.stderr)")

        process.signal(SIGTERM)
        #expect(process.wait(timeout: .seconds(15)) == 0, "stderr: \(process.stderr)")
        #expect(notify.drain().joined(separator: "\n").contains("STOPPING=1"))
        #expect(!process.stderr.contains("134567890123456789"), "a scanned payment code is never logged")
    }

    @Test func hardwareBoardWithoutFactoryKeysRefusesToStart() throws {
        let dir = try makeTemporaryDirectory("hw-board")
        defer { removeTree(dir) }
        let profile = try readTextFile(repositoryRoot() + "/board/rpi4/board.toml")
            .replacingFirst(#"state_dir = "/var/lib/terminal""#, with: "state_dir = \"\(dir)/state\"")
        try writeTextFile(dir + "/board.toml", profile)
        let result = try runProcess([try builtProduct("terminal"), "run", "--board", dir + "/board.toml"], environment: ["HOME": dir])
        #expect(result.status == 78)
        #expect(result.stderr.contains("not provisioned") || result.stderr.contains("no device-unique secret"), "\(result.stderr)")
        #expect(access(dir + "/state/keys/keystore", F_OK) != 0, "no key was generated")
    }

    @Test func missingDeviceIsNamedAndRetried() throws {
        let dir = try makeTemporaryDirectory("hw-board")
        defer { removeTree(dir) }
        let keyEnvironment = try Self.provisionFactoryKeys(dir)
        let profile = try readTextFile(repositoryRoot() + "/board/rpi4/board.toml")
            .replacingFirst(#"state_dir = "/var/lib/terminal""#, with: "state_dir = \"\(dir)/state\"")
            .replacingFirst(#"device = "/dev/fb1""#, with: "device = \"\(dir)/fb-missing\"")
        try writeTextFile(dir + "/board.toml", profile)
        let result = try runProcess([try builtProduct("terminal"), "run", "--board", dir + "/board.toml"], environment: keyEnvironment.merging(["HOME": dir]) { a, _ in a })
        #expect(result.status == 69, "EX_UNAVAILABLE: systemd restarts and retries")
        #expect(result.stderr.contains("display \(dir)/fb-missing"), "\(result.stderr)")
    }
}
