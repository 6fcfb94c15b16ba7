import Codecs
import DeviceKit
import LinuxDevices
import TerminalUI

extension BoardProfile {
    /// Parses and validates a profile. `file` names the source in errors.
    public static func parse(_ text: String, file: String) throws(BoardProfileError) -> BoardProfile {
        let root: TOML.Table
        do {
            root = try TOML.parse(text)
        } catch {
            throw BoardProfileError(file: file, line: error.line, field: nil, message: error.message)
        }
        var reader = ProfileReader(file: file)
        return try reader.profile(root)
    }
}

/// Walks the parsed TOML, checks every field and refuses unknown ones.
private struct ProfileReader {
    let file: String

    func fail(_ field: String, _ line: Int?, _ message: String) -> BoardProfileError {
        BoardProfileError(file: file, line: line, field: field, message: message)
    }

    /// A table with its path, that tracks which keys were read so unknown ones can be refused.
    struct Section {
        let path: String
        let table: TOML.Table
        var line: Int { table.line }
        func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    }

    func section(_ root: TOML.Table, _ key: String, required: Bool = true) throws(BoardProfileError) -> Section? {
        switch root[key] {
        case nil:
            if required { throw fail(key, nil, "missing section [\(key)]") }
            return nil
        case .table(let t): return Section(path: key, table: t)
        case .some(let v): throw fail(key, v.line, "expected a [\(key)] table, found a \(v.typeName)")
        }
    }

    func only(_ s: Section, _ allowed: [String]) throws(BoardProfileError) {
        for key in s.table.keys where !allowed.contains(key) {
            throw fail(s.field(key), s.table[key]?.line, "unknown field; expected one of: \(allowed.joined(separator: ", "))")
        }
    }

    func string(_ s: Section, _ key: String) throws(BoardProfileError) -> String {
        guard let v = s.table[key] else { throw fail(s.field(key), s.line, "missing; expected a string") }
        guard case .string(let text, let line) = v else { throw fail(s.field(key), v.line, "expected a string, found a \(v.typeName)") }
        guard !text.isEmpty else { throw fail(s.field(key), line, "must not be empty") }
        return text
    }

    func optionalString(_ s: Section, _ key: String) throws(BoardProfileError) -> String? {
        s.table[key] == nil ? nil : try string(s, key)
    }

    func integer(_ s: Section, _ key: String, in range: ClosedRange<Int>, default fallback: Int? = nil) throws(BoardProfileError) -> Int {
        guard let v = s.table[key] else {
            if let fallback { return fallback }
            throw fail(s.field(key), s.line, "missing; expected an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        guard case .integer(let n, let line) = v else { throw fail(s.field(key), v.line, "expected an integer, found a \(v.typeName)") }
        guard range.contains(n) else { throw fail(s.field(key), line, "\(n) is out of range; expected \(range.lowerBound)...\(range.upperBound)") }
        return n
    }

    func boolean(_ s: Section, _ key: String, default fallback: Bool) throws(BoardProfileError) -> Bool {
        guard let v = s.table[key] else { return fallback }
        guard case .boolean(let b, _) = v else { throw fail(s.field(key), v.line, "expected true or false, found a \(v.typeName)") }
        return b
    }

    func stringArray(_ s: Section, _ key: String, default fallback: [String]? = nil) throws(BoardProfileError) -> [String] {
        guard let v = s.table[key] else {
            if let fallback { return fallback }
            throw fail(s.field(key), s.line, "missing; expected an array of strings")
        }
        guard case .array(let items, _) = v else { throw fail(s.field(key), v.line, "expected an array of strings, found a \(v.typeName)") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let text, _) = item else {
                throw fail("\(s.field(key))[\(i)]", item.line, "expected a string, found a \(item.typeName)")
            }
            out.append(text)
        }
        return out
    }

    func kind<K: RawRepresentable & CaseIterable>(_ s: Section, _ type: K.Type) throws(BoardProfileError) -> K where K.RawValue == String {
        let text = try string(s, "kind")
        guard let k = K(rawValue: text) else {
            let names = K.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw fail(s.field("kind"), s.table["kind"]?.line, "unknown device kind \"\(text)\"; expected one of: \(names)")
        }
        return k
    }

    func path(_ s: Section, _ key: String) throws(BoardProfileError) -> String {
        let p = try string(s, key)
        guard p.hasPrefix("/") else { throw fail(s.field(key), s.table[key]?.line, "expected an absolute path, found \"\(p)\"") }
        return p
    }

    func serial(_ s: Section, defaultBaud: Int) throws(BoardProfileError) -> BoardProfile.SerialWiring {
        let baud = try integer(s, "baud", in: 1200...921_600, default: defaultBaud)
        let supported = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600]
        guard supported.contains(baud) else {
            throw fail(s.field("baud"), s.table["baud"]?.line, "\(baud) is not a standard baud rate; expected one of \(supported.map(String.init).joined(separator: ", "))")
        }
        return .init(device: try path(s, "device"), baudRate: baud)
    }

    mutating func profile(_ root: TOML.Table) throws(BoardProfileError) -> BoardProfile {
        let rootSection = Section(path: "", table: root)
        try only(rootSection, ["board", "merchant", "keypad", "display", "card_reader", "scanner", "printer", "network", "storage", "payments", "simulator"])

        let board = try section(root, "board")!
        try only(board, ["name", "kind", "description", "language"])
        let kind = try self.kind(board, BoardProfile.Kind.self)
        let languageName = try string(board, "language")
        guard let language = Language(rawValue: languageName) else {
            throw fail(board.field("language"), board.table["language"]?.line, "unknown language \"\(languageName)\"; expected \"zh-CN\" or \"en\"")
        }

        let merchant = try section(root, "merchant")!
        try only(merchant, ["name", "city", "currency", "max_amount"])
        let currencyCode = try string(merchant, "currency")
        guard let currency = Currency(code: currencyCode) else {
            throw fail(merchant.field("currency"), merchant.table["currency"]?.line, "unknown currency \"\(currencyCode)\"; expected one of \(Currency.known.map(\.code).joined(separator: ", "))")
        }

        let display = try displayWiring(try section(root, "display")!)
        if language == .zhCN, !display.showsWideGlyphs {
            throw fail("board.language", board.table["language"]?.line, "zh-CN needs a display that can draw Chinese (framebuffer or ansi); this board's display is a character LCD")
        }

        var profile = BoardProfile(
            name: try string(board, "name"),
            kind: kind,
            description: try optionalString(board, "description") ?? "",
            language: language,
            merchant: .init(
                name: try string(merchant, "name"),
                city: try string(merchant, "city"),
                currency: currency,
                maximumAmount: try integer(merchant, "max_amount", in: 1...999_999_999_999)
            ),
            keypad: try keypadWiring(try section(root, "keypad")!),
            display: display,
            cardReader: try cardReaderWiring(try section(root, "card_reader")!),
            scanner: try scannerWiring(try section(root, "scanner")!),
            printer: try printerWiring(try section(root, "printer")!),
            network: try networkWiring(try section(root, "network")!),
            storage: try storage(try section(root, "storage")!),
            payments: try payments(try section(root, "payments")!),
            simulator: nil
        )
        if let sim = try section(root, "simulator", required: false) {
            guard kind == .simulator else { throw fail("simulator", sim.line, "a [simulator] section is only allowed on a board of kind \"simulator\"") }
            try only(sim, ["cards", "phones", "codes", "prepaid_cards"])
            profile.simulator = .init(
                cards: try stringArray(sim, "cards", default: []),
                phones: try stringArray(sim, "phones", default: []),
                codes: try stringArray(sim, "codes", default: []),
                prepaidCards: try stringArray(sim, "prepaid_cards", default: [])
            )
        }
        try checkKindConsistency(profile, root)
        return profile
    }

    /// Simulator devices only on simulator boards, and the reverse for the acquirer simulator.
    func checkKindConsistency(_ p: BoardProfile, _ root: TOML.Table) throws(BoardProfileError) {
        guard p.kind == .hardware else { return }
        let simulated: [(String, Bool)] = [
            ("keypad", p.keypad == .simulator),
            ("card_reader", p.cardReader == .simulator),
            ("scanner", p.scanner == .simulator),
            ("printer", p.printer == .textFile),
        ]
        for (name, isSim) in simulated where isSim {
            let line: Int? = if case .table(let t) = root[name] { t["kind"]?.line } else { nil }
            throw fail("\(name).kind", line, "a simulated device is not allowed on a board of kind \"hardware\"")
        }
        if case .ansi = p.display {
            let line: Int? = if case .table(let t) = root["display"] { t["kind"]?.line } else { nil }
            throw fail("display.kind", line, "the ansi display is not allowed on a board of kind \"hardware\"")
        }
        if p.network.acquirer == "builtin" {
            let line: Int? = if case .table(let t) = root["network"] { t["acquirer"]?.line } else { nil }
            throw fail("network.acquirer", line, "the built-in acquirer simulator is not allowed on a board of kind \"hardware\"")
        }
        // The defaults are the simulator's test identities: a hardware board names the ones its acquirer assigned.
        for key in ["terminal_id", "merchant_id"] {
            guard case .table(let t) = root["payments"], t[key] != nil else {
                let line: Int? = if case .table(let t) = root["payments"] { t["methods"]?.line } else { nil }
                throw fail("payments.\(key)", line, "a board of kind \"hardware\" must name the \(key) its acquirer assigned (the default is the simulator's)")
            }
        }
    }

    enum KeypadKind: String, CaseIterable { case gpioMatrix = "gpio-matrix", evdev, simulator }

    func keypadWiring(_ s: Section) throws(BoardProfileError) -> BoardProfile.KeypadWiring {
        switch try kind(s, KeypadKind.self) {
        case .simulator:
            try only(s, ["kind"])
            return .simulator
        case .evdev:
            try only(s, ["kind", "device", "keymap"])
            var keymap: [Int: Key] = [:]
            if let v = s.table["keymap"] {
                // keymap = ["2=1", "3=2", ...]: input event code = key name
                for (i, entry) in try stringArray(s, "keymap").enumerated() {
                    let parts = entry.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, let code = Int(parts[0]), (0...0x2FF).contains(code), let key = Key(name: parts[1]) else {
                        throw fail("keypad.keymap[\(i)]", v.line, "expected \"CODE=KEY\" with an input event code and a key name, found \"\(entry)\"")
                    }
                    keymap[code] = key
                }
            }
            return .evdev(device: try path(s, "device"), keymap: keymap)
        case .gpioMatrix:
            try only(s, ["kind", "chip", "rows", "columns", "keymap"])
            let chip = try path(s, "chip")
            let rows = try lineList(s, "rows")
            let columns = try lineList(s, "columns")
            var used: [Int: String] = [:]
            for (name, list) in [("rows", rows), ("columns", columns)] {
                for (i, line) in list.enumerated() {
                    let field = "keypad.\(name)[\(i)]"
                    if let first = used[line] {
                        throw fail(field, s.table[name]?.line, "GPIO line \(line) is already used by \(first); each line may be wired once")
                    }
                    used[line] = field
                }
            }
            guard let km = s.table["keymap"], case .array(let keyRows, let kmLine) = km else {
                throw fail("keypad.keymap", s.table["keymap"]?.line ?? s.line, "missing; expected an array of \(rows.count) rows of \(columns.count) key names")
            }
            guard keyRows.count == rows.count else {
                throw fail("keypad.keymap", kmLine, "has \(keyRows.count) rows; expected \(rows.count), one per row line")
            }
            var keymap: [[Key?]] = []
            var seen = Set<Key>()
            for (r, row) in keyRows.enumerated() {
                guard case .array(let names, let rowLine) = row, names.count == columns.count else {
                    throw fail("keypad.keymap[\(r)]", row.line, "expected an array of \(columns.count) key names, one per column line")
                }
                var keys: [Key?] = []
                for (c, name) in names.enumerated() {
                    guard case .string(let text, _) = name else {
                        throw fail("keypad.keymap[\(r)][\(c)]", rowLine, "expected a key name, found a \(name.typeName)")
                    }
                    if text.isEmpty {
                        keys.append(nil)
                        continue
                    }
                    guard let key = Key(name: text) else {
                        throw fail("keypad.keymap[\(r)][\(c)]", rowLine, "unknown key \"\(text)\"; expected one of \(Key.allCases.map(\.rawValue).joined(separator: " "))")
                    }
                    guard seen.insert(key).inserted else {
                        throw fail("keypad.keymap[\(r)][\(c)]", rowLine, "key \(key.rawValue) appears twice")
                    }
                    keys.append(key)
                }
                keymap.append(keys)
            }
            return .gpioMatrix(chip: chip, rows: rows, columns: columns, keymap: keymap)
        }
    }

    func lineList(_ s: Section, _ key: String) throws(BoardProfileError) -> [Int] {
        guard let v = s.table[key] else { throw fail(s.field(key), s.line, "missing; expected an array of GPIO line offsets") }
        guard case .array(let items, _) = v, !items.isEmpty, items.count <= 8 else {
            throw fail(s.field(key), v.line, "expected an array of 1 to 8 GPIO line offsets")
        }
        var out: [Int] = []
        for (i, item) in items.enumerated() {
            guard case .integer(let n, _) = item, (0...511).contains(n) else {
                throw fail("\(s.field(key))[\(i)]", item.line, "expected a GPIO line offset 0...511, found \(item.typeName == "integer" ? "an out-of-range integer" : "a " + item.typeName)")
            }
            out.append(n)
        }
        return out
    }

    enum DisplayKind: String, CaseIterable { case framebuffer, serialLCD = "serial-lcd", ansi }

    func displayWiring(_ s: Section) throws(BoardProfileError) -> BoardProfile.DisplayWiring {
        switch try kind(s, DisplayKind.self) {
        case .framebuffer:
            try only(s, ["kind", "device", "scale", "font"])
            let font = try s.table["font"] == nil ? nil : path(s, "font")
            return .framebuffer(device: try path(s, "device"), scale: try integer(s, "scale", in: 1...4, default: 1), font: font)
        case .serialLCD:
            try only(s, ["kind", "device", "baud", "columns", "rows"])
            return .serialLCD(
                serial: try serial(s, defaultBaud: 19200),
                columns: try integer(s, "columns", in: 16...40),
                rows: try integer(s, "rows", in: 2...4)
            )
        case .ansi:
            try only(s, ["kind", "columns", "rows"])
            return .ansi(columns: try integer(s, "columns", in: 16...80), rows: try integer(s, "rows", in: 4...30))
        }
    }

    enum ReaderKind: String, CaseIterable { case pcsc, simulator, none }

    func cardReaderWiring(_ s: Section) throws(BoardProfileError) -> BoardProfile.CardReaderWiring {
        switch try kind(s, ReaderKind.self) {
        case .pcsc:
            try only(s, ["kind", "reader"])
            return .pcsc(reader: try string(s, "reader"))
        case .simulator:
            try only(s, ["kind"])
            return .simulator
        case .none:
            try only(s, ["kind"])
            return .none
        }
    }

    enum ScannerKind: String, CaseIterable { case serial, evdev, simulator, none }

    func scannerWiring(_ s: Section) throws(BoardProfileError) -> BoardProfile.ScannerWiring {
        switch try kind(s, ScannerKind.self) {
        case .serial:
            try only(s, ["kind", "device", "baud", "suffix"])
            let suffix = try optionalString(s, "suffix") ?? "CR"
            guard LineSuffix(name: suffix) != nil else {
                throw fail(s.field("suffix"), s.table["suffix"]?.line, "expected \"CR\", \"LF\", \"CRLF\" or hex bytes such as \"0x03\", found \"\(suffix)\"")
            }
            return .serial(try serial(s, defaultBaud: 9600), suffix: suffix)
        case .evdev:
            try only(s, ["kind", "device"])
            return .evdev(device: try path(s, "device"))
        case .simulator:
            try only(s, ["kind"])
            return .simulator
        case .none:
            try only(s, ["kind"])
            return .none
        }
    }

    enum PrinterKind: String, CaseIterable { case escpos, textFile = "text-file", none }

    func printerWiring(_ s: Section) throws(BoardProfileError) -> BoardProfile.PrinterWiring {
        switch try kind(s, PrinterKind.self) {
        case .escpos:
            try only(s, ["kind", "device", "baud", "chinese_mode"])
            return .escpos(try serial(s, defaultBaud: 9600), chineseMode: try boolean(s, "chinese_mode", default: true))
        case .textFile:
            try only(s, ["kind"])
            return .textFile
        case .none:
            try only(s, ["kind"])
            return .none
        }
    }

    func networkWiring(_ s: Section) throws(BoardProfileError) -> BoardProfile.NetworkWiring {
        try only(s, ["wifi", "cellular", "acquirer"])
        let acquirer = try string(s, "acquirer")
        if acquirer != "builtin" {
            let parts = acquirer.split(separator: ":")
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw fail("network.acquirer", s.table["acquirer"]?.line, "expected \"host:port\" or \"builtin\", found \"\(acquirer)\"")
            }
        }
        return .init(wifi: try optionalString(s, "wifi"), cellular: try optionalString(s, "cellular"), acquirer: acquirer)
    }

    func storage(_ s: Section) throws(BoardProfileError) -> BoardProfile.Storage {
        try only(s, ["state_dir", "update_media"])
        let dir = try string(s, "state_dir")
        guard dir.hasPrefix("/") || dir.hasPrefix("~/") || dir.hasPrefix("$XDG_STATE_HOME/") else {
            throw fail("storage.state_dir", s.table["state_dir"]?.line, "expected an absolute path, found \"\(dir)\"")
        }
        let media = try optionalString(s, "update_media")
        if let media, !media.hasPrefix("/") {
            throw fail("storage.update_media", s.table["update_media"]?.line, "expected an absolute path, found \"\(media)\"")
        }
        return .init(stateDirectory: dir, updateMedia: media)
    }

    func payments(_ s: Section) throws(BoardProfileError) -> BoardProfile.Payments {
        try only(s, ["methods", "emv_parameters", "terminal_id", "merchant_id", "refund_card_not_present"])
        let terminalID = try optionalString(s, "terminal_id") ?? BoardProfile.Payments.defaultTerminalID
        if let problem = BoardProfile.Payments.terminalIDProblem(terminalID) {
            throw fail("payments.terminal_id", s.table["terminal_id"]?.line, problem + ", in \"\(terminalID)\"")
        }
        let merchantID = try optionalString(s, "merchant_id") ?? BoardProfile.Payments.defaultMerchantID
        if let problem = BoardProfile.Payments.merchantIDProblem(merchantID) {
            throw fail("payments.merchant_id", s.table["merchant_id"]?.line, problem + ", in \"\(merchantID)\"")
        }
        var emvParameters = try optionalString(s, "emv_parameters")
        if let path = emvParameters {
            guard !path.isEmpty else { throw fail("payments.emv_parameters", s.table["emv_parameters"]?.line, "expected a file path") }
            if !path.hasPrefix("/") {
                // Relative to the profile's own directory.
                let directory = file.lastIndex(of: "/").map { String(file[..<$0]) } ?? "."
                emvParameters = directory + "/" + path
            }
        }
        var methods: [PaymentMethod] = []
        for (i, name) in try stringArray(s, "methods").enumerated() {
            guard let m = PaymentMethod(rawValue: name) else {
                throw fail("payments.methods[\(i)]", s.table["methods"]?.line, "unknown payment method \"\(name)\"; expected one of \(PaymentMethod.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            guard !methods.contains(m) else { throw fail("payments.methods[\(i)]", s.table["methods"]?.line, "\"\(name)\" is listed twice") }
            methods.append(m)
        }
        guard !methods.isEmpty else { throw fail("payments.methods", s.table["methods"]?.line, "expected at least one payment method") }
        return .init(
            methods: methods, emvParameters: emvParameters, terminalID: terminalID, merchantID: merchantID,
            refundCardNotPresent: try boolean(s, "refund_card_not_present", default: false))
    }
}

extension BoardProfile.DisplayWiring {
    var showsWideGlyphs: Bool {
        switch self {
        case .framebuffer, .ansi: true
        case .serialLCD: false
        }
    }
}
