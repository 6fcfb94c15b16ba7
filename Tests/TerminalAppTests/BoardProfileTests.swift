import DeviceKit
import TerminalApp
import TerminalUI
import TestKit
import Testing

@Suite struct BoardProfileTests {
    static let root = repositoryRoot()

    static func load(_ name: String) throws -> BoardProfile {
        try TerminalRuntime.loadProfile(name, searchPath: [root + "/board"])
    }

    @Test(arguments: ["sim", "rpi4", "rpi4-lcd"])
    func shippedProfilesAreValid(_ name: String) throws {
        let profile = try Self.load(name)
        #expect(profile.name == name)
    }

    @Test func referenceBoardWiring() throws {
        let p = try Self.load("rpi4")
        #expect(p.kind == .hardware)
        guard case .gpioMatrix(let chip, let rows, let columns, let keymap) = p.keypad else {
            Issue.record("rpi4 keypad is not a GPIO matrix")
            return
        }
        #expect(chip == "/dev/gpiochip0")
        #expect(rows == [5, 6, 13, 19])
        #expect(columns == [12, 16, 20, 21])
        #expect(keymap[3][3] == .enter)
        #expect(keymap[3][0] == .doubleZero)
        #expect(p.display == .framebuffer(device: "/dev/fb1", scale: 1, font: "/usr/share/unifont/unifont.hex"))
        #expect(p.scanner == .serial(.init(device: "/dev/ttyAMA1", baudRate: 9600), suffix: "CR"))
        #expect(p.network.wifi == "wlan0" && p.network.cellular == "wwan0")
        #expect(p.merchant.currency.code == "CNY" && p.merchant.currency.exponent == 2)
        #expect(p.simulator == nil)
    }

    /// A minimal valid hardware profile the error tests bend one field at a time.
    static let base = """
        [board]
        name = "t"
        kind = "hardware"
        language = "en"
        [merchant]
        name = "M"
        city = "C"
        currency = "CNY"
        max_amount = 100000
        [keypad]
        kind = "gpio-matrix"
        chip = "/dev/gpiochip0"
        rows = [1, 2]
        columns = [3, 4]
        keymap = [["1", "2"], ["ENTER", "CANCEL"]]
        [display]
        kind = "framebuffer"
        device = "/dev/fb0"
        [card_reader]
        kind = "pcsc"
        reader = "ACS"
        [scanner]
        kind = "none"
        [printer]
        kind = "none"
        [network]
        acquirer = "host.example:5000"
        [storage]
        state_dir = "/var/lib/terminal"
        [payments]
        methods = ["card"]
        terminal_id = "T0000001"
        merchant_id = "104110070110009"
        """

    @Test func baseIsValid() throws {
        _ = try BoardProfile.parse(Self.base, file: "t.toml")
    }

    @Test func updateMediaIsOptional() throws {
        #expect(try BoardProfile.parse(Self.base, file: "t.toml").storage.updateMedia == nil)
        let text = Self.replacing(#"state_dir = "/var/lib/terminal""#, "state_dir = \"/var/lib/terminal\"\nupdate_media = \"/mnt/stick/u.tpkg\"")
        #expect(try BoardProfile.parse(text, file: "t.toml").storage.updateMedia == "/mnt/stick/u.tpkg")
    }

    static func error(_ text: String) -> BoardProfileError? {
        do {
            _ = try BoardProfile.parse(text, file: "board/t/board.toml")
            return nil
        } catch {
            return error
        }
    }

    static func replacing(_ old: String, _ new: String) -> String {
        precondition(base.contains(old), "test bug: '\(old)' not in the base profile")
        return base.replacingFirst(old, with: new)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var old: String
        var new: String
        var field: String
        var line: Int?
        var testDescription: String { name }
    }

    @Test(arguments: [
        Case(name: "unknown device kind", old: #"kind = "framebuffer""#, new: #"kind = "hdmi""#, field: "display.kind", line: 17),
        Case(name: "GPIO line used twice", old: "columns = [3, 4]", new: "columns = [3, 2]", field: "keypad.columns[1]", line: 14),
        Case(name: "missing path", old: #"device = "/dev/fb0""#, new: "", field: "display.device", line: 16),
        Case(name: "relative path", old: #"device = "/dev/fb0""#, new: #"device = "fb0""#, field: "display.device", line: 18),
        Case(name: "wrong type", old: "max_amount = 100000", new: #"max_amount = "lots""#, field: "merchant.max_amount", line: 9),
        Case(name: "unknown field", old: #"reader = "ACS""#, new: #"reader = "ACS"\#nreadr = "x""#, field: "card_reader.readr", line: 22),
        Case(name: "unknown key name", old: #"["ENTER", "CANCEL"]"#, new: #"["ENTER", "OK"]"#, field: "keypad.keymap[1][1]", line: 15),
        Case(name: "keymap shape", old: #"keymap = [["1", "2"], ["ENTER", "CANCEL"]]"#, new: #"keymap = [["1", "2"]]"#, field: "keypad.keymap", line: 15),
        Case(name: "simulator device on hardware", old: "kind = \"none\"\n[printer]", new: "kind = \"simulator\"\n[printer]", field: "scanner.kind", line: 23),
        Case(name: "built-in acquirer on hardware", old: #"acquirer = "host.example:5000""#, new: #"acquirer = "builtin""#, field: "network.acquirer", line: 27),
        Case(name: "bad acquirer address", old: #"acquirer = "host.example:5000""#, new: #"acquirer = "host.example""#, field: "network.acquirer", line: 27),
        Case(name: "bad baud rate", old: "kind = \"none\"\n[printer]", new: "kind = \"serial\"\ndevice = \"/dev/ttyS0\"\nbaud = 1234\n[printer]", field: "scanner.baud", line: 25),
        Case(name: "unknown payment method", old: #"methods = ["card"]"#, new: #"methods = ["cash"]"#, field: "payments.methods[0]", line: 31),
        Case(name: "terminal ID of 7 characters", old: "terminal_id = \"T0000001\"", new: "terminal_id = \"T000001\"", field: "payments.terminal_id", line: 32),
        Case(name: "terminal ID of 9 characters", old: "terminal_id = \"T0000001\"", new: "terminal_id = \"T00000001\"", field: "payments.terminal_id", line: 32),
        Case(name: "terminal ID not ASCII", old: "terminal_id = \"T0000001\"", new: "terminal_id = \"终端000001\"", field: "payments.terminal_id", line: 32),
        Case(name: "terminal ID with a control character", old: "terminal_id = \"T0000001\"", new: "terminal_id = \"T000\\t001\"", field: "payments.terminal_id", line: 32),
        Case(name: "terminal ID of spaces", old: "terminal_id = \"T0000001\"", new: "terminal_id = \"        \"", field: "payments.terminal_id", line: 32),
        Case(name: "merchant ID of 16 characters", old: "merchant_id = \"104110070110009\"", new: "merchant_id = \"1234567890123456\"", field: "payments.merchant_id", line: 33),
        Case(name: "merchant ID starting with a space", old: "merchant_id = \"104110070110009\"", new: "merchant_id = \" 12345\"", field: "payments.merchant_id", line: 33),
        Case(name: "refund_card_not_present not a boolean", old: "merchant_id = \"104110070110009\"", new: "merchant_id = \"104110070110009\"\nrefund_card_not_present = \"yes\"", field: "payments.refund_card_not_present", line: 34),
        Case(name: "relative update media", old: #"state_dir = "/var/lib/terminal""#, new: "state_dir = \"/var/lib/terminal\"\nupdate_media = \"usb/t.tpkg\"", field: "storage.update_media", line: 30),
        Case(name: "unknown currency", old: #"currency = "CNY""#, new: #"currency = "XYZ""#, field: "merchant.currency", line: 8),
        Case(name: "Chinese on a character LCD", old: "kind = \"framebuffer\"\ndevice = \"/dev/fb0\"", new: "kind = \"serial-lcd\"\ndevice = \"/dev/ttyS1\"\ncolumns = 20\nrows = 4", field: "board.language", line: 4),
    ])
    func refused(_ c: Case) throws {
        var text = Self.replacing(c.old, c.new)
        if c.field == "board.language" { text = text.replacingFirst(#"language = "en""#, with: #"language = "zh-CN""#) }
        let error = try #require(Self.error(text), "\(c.name) was accepted")
        #expect(error.file == "board/t/board.toml")
        #expect(error.field == c.field, "\(error)")
        if let line = c.line { #expect(error.line == line, "\(error)") }
        #expect(error.description.hasPrefix("board/t/board.toml:"))
    }

    /// Card refunds are card-present unless the profile says `refund_card_not_present = true`.
    @Test func refundsAreCardPresentUnlessTheProfileAllowsOtherwise() throws {
        #expect(try BoardProfile.parse(Self.base, file: "t.toml").payments.refundCardNotPresent == false)
        let sim = try BoardProfile.parse(try readTextFile(repositoryRoot() + "/board/sim/board.toml"), file: "board/sim/board.toml")
        #expect(sim.payments.refundCardNotPresent == false)
        let allowed = try BoardProfile.parse(
            Self.replacing("merchant_id = \"104110070110009\"", "merchant_id = \"104110070110009\"\nrefund_card_not_present = true"), file: "t.toml")
        #expect(allowed.payments.refundCardNotPresent)
    }

    @Test func terminalAndMerchantIDsComeFromThePaymentsSection() throws {
        let named = try BoardProfile.parse(
            Self.replacing(#"terminal_id = "T0000001""#, #"terminal_id = "T0001234""#).replacingFirst(#"merchant_id = "104110070110009""#, with: #"merchant_id = "104110070110001""#),
            file: "t.toml")
        #expect(named.payments.terminalID == "T0001234" && named.payments.merchantID == "104110070110001")
        let short = try BoardProfile.parse(Self.replacing(#"merchant_id = "104110070110009""#, #"merchant_id = "M 42""#), file: "t.toml")
        #expect(short.payments.merchantID == "M 42", "a shorter merchant ID is space-padded on the wire")
        // The defaults are the simulator's test identities: a hardware board without its own is refused.
        let unnamed = try #require(Self.error(Self.replacing("terminal_id = \"T0000001\"\n", "")), "a hardware board without terminal_id was accepted")
        #expect(unnamed.field == "payments.terminal_id", "\(unnamed)")
        let noMerchant = try #require(Self.error(Self.replacing("merchant_id = \"104110070110009\"", "")), "a hardware board without merchant_id was accepted")
        #expect(noMerchant.field == "payments.merchant_id", "\(noMerchant)")
        let sim = try BoardProfile.parse(try readTextFile(repositoryRoot() + "/board/sim/board.toml"), file: "board/sim/board.toml")
        #expect(sim.payments.terminalID == "SIM00001")
        let qemu = try BoardProfile.parse(try readTextFile(repositoryRoot() + "/board/qemu-virt/board.toml"), file: "board/qemu-virt/board.toml")
        #expect(qemu.payments.terminalID == "QEMU0001")
    }

    @Test func syntaxErrorsNameTheLine() {
        let e = Self.error(Self.base.replacingFirst("[keypad]", with: "[keypad"))
        #expect(e?.line == 10)
        #expect(Self.error(Self.base + "\n[board]\n")?.message.contains("defined twice") == true)
        #expect(Self.error(Self.base.replacingFirst("rows = [1, 2]", with: "rows = [1, 2"))?.line != nil)
    }

    @Test func missingProfileIsAClearError() {
        #expect(throws: RuntimeError.self) { try TerminalRuntime.loadProfile("no-such-board", searchPath: [Self.root + "/board"]) }
    }
}

extension String {
    func replacingFirst(_ old: String, with new: String) -> String {
        guard let range = firstRange(of: old) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: new)
        return copy
    }
}
