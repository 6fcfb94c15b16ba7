import Codecs

/// A mistake in the terminal parameters file: the 1-based line, the field (`terminal.capabilities`,
/// `aid.visa.tac_online`, `capk."A000000003-92".checksum`, empty for a syntax error) and what is wrong. Messages
/// name the field and the rule, never a PAN from the exception list.
public struct ParametersFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var field: String
    public var message: String

    public init(line: Int, field: String, message: String) {
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        field.isEmpty ? "line \(line): \(message)" : "line \(line): \(field): \(message)"
    }
}

extension TerminalParameters {
    /// Reads the terminal parameters file (docs/emv-parameters.md): the TOML subset of ``TOML`` with the tables
    /// `[terminal]`, `[aid.NAME]` (one per application), `[capk.NAME]` (one per CA public key), `[revoked]`,
    /// `[exceptions]` and `[contactless]` (the contactless reader limits, ``ContactlessLimitTable``).
    ///
    /// Every value is checked against its data element's format; unknown tables and keys are mistakes too, so a
    /// misspelt key is never silently ignored. A CA public key whose checksum does not match or that has expired
    /// (expiry before `today`) refuses the whole file, with a message naming the key.
    /// - Throws: ``ParametersFileError`` for the first mistake, with its line and field.
    public static func parse(_ text: String, today: EMVDate) throws -> TerminalParameters {
        let root: TOML.Table
        do {
            root = try TOML.parse(text)
        } catch {
            throw ParametersFileError(line: error.line, field: "", message: error.message)
        }
        let file = ParametersSection(table: root, path: "")
        try file.allowOnly(["terminal", "aid", "capk", "revoked", "exceptions", "contactless"])

        let terminal = try parseTerminal(try file.table("terminal"))
        let aids = try file.table("aid")
        var applications: [ApplicationParameters] = []
        for name in aids.table.keys {
            let application = try parseApplication(try aids.table(name))
            if let earlier = applications.first(where: { $0.aid == application.aid }) {
                throw ParametersFileError(
                    line: aids.table[name]?.line ?? 0, field: "aid.\(ParametersSection.key(name)).aid",
                    message: "AID \(Hex.encode(application.aid)) is already listed as '\(earlier.name)'")
            }
            applications.append(application)
        }
        guard !applications.isEmpty else {
            throw ParametersFileError(line: aids.table.line, field: "aid", message: "at least one [aid.NAME] table is needed")
        }

        var caKeys: [CAPublicKey] = []
        if root["capk"] != nil {
            let capks = try file.table("capk")
            for name in capks.table.keys {
                let key = try parseCAKey(try capks.table(name), today: today)
                if caKeys.contains(where: { $0.rid == key.rid && $0.index == key.index }) {
                    throw ParametersFileError(
                        line: capks.table[name]?.line ?? 0, field: "capk.\(ParametersSection.key(name))",
                        message: "CA public key RID \(Hex.encode(key.rid)) index \(Hex.encode([key.index])) is listed twice")
                }
                caKeys.append(key)
            }
        }

        var revocations = CertificateRevocationList()
        if root["revoked"] != nil {
            let revoked = try file.table("revoked")
            try revoked.allowOnly(["certificates"])
            for (text, line) in try revoked.strings("certificates", default: []) {
                revocations.entries.insert(try parseRevocation(text, line: line, field: revoked.field("certificates")))
            }
        }

        var exceptions = Set<String>()
        if root["exceptions"] != nil {
            let section = try file.table("exceptions")
            try section.allowOnly(["pans"])
            for (pan, line) in try section.strings("pans", default: []) {
                guard (8...19).contains(pan.utf8.count), pan.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    throw ParametersFileError(
                        line: line, field: section.field("pans"), message: "a PAN is 8 to 19 decimal digits")
                }
                exceptions.insert(pan)
            }
        }
        let contactless = root["contactless"] == nil ? ContactlessLimitTable.standard : try parseContactless(try file.table("contactless"))
        return TerminalParameters(
            terminal: terminal, applications: applications, caKeys: caKeys, revocations: revocations,
            exceptionFile: exceptions, contactlessLimits: contactless)
    }

    private static func parseTerminal(_ s: ParametersSection) throws -> TerminalConfiguration {
        try s.allowOnly([
            "type", "capabilities", "additional_capabilities", "country", "currency", "exponent", "mcc",
            "terminal_id", "merchant_id", "merchant_name", "ifd_serial",
        ])
        return TerminalConfiguration(
            terminalType: try s.terminalType("type"),
            capabilities: try s.hex("capabilities", length: 3...3),
            additionalCapabilities: try s.hex("additional_capabilities", length: 5...5),
            countryCode: UInt16(try s.numericCode("country", digits: 3)),
            currencyCode: UInt16(try s.numericCode("currency", digits: 3)),
            currencyExponent: UInt8(try s.integer("exponent", range: 0...4)),
            merchantCategoryCode: UInt16(try s.numericCode("mcc", digits: 4)),
            terminalIdentification: try s.text("terminal_id", length: 8...8),
            merchantIdentifier: try s.text("merchant_id", length: 1...15),
            merchantNameAndLocation: try s.text("merchant_name", length: 1...99),
            interfaceDeviceSerialNumber: try s.text("ifd_serial", length: 8...8))
    }

    private static func parseApplication(_ s: ParametersSection) throws -> ApplicationParameters {
        try s.allowOnly([
            "aid", "partial", "name", "versions", "tac_denial", "tac_online", "tac_default", "floor_limit",
            "random_threshold", "random_target", "random_max_target", "ddol", "tdol",
        ])
        let versions = try s.strings("versions", default: nil)
        guard !versions.isEmpty else {
            throw ParametersFileError(line: try s.value("versions").line, field: s.field("versions"), message: "list at least one version")
        }
        let applicationVersions = try versions.map { text, line in
            guard let bytes = Hex.decode(text), bytes.count == 2 else {
                throw ParametersFileError(line: line, field: s.field("versions"), message: "'\(text)' is not 4 hex digits (tag '9F09')")
            }
            return bytes
        }
        let floorLimit = try s.integer("floor_limit", range: 0...999_999_999_999)
        let threshold = try s.integer("random_threshold", range: 0...999_999_999_999)
        guard threshold < floorLimit || (threshold == 0 && floorLimit == 0) else {
            throw ParametersFileError(
                line: try s.value("random_threshold").line, field: s.field("random_threshold"),
                message: "the random selection threshold must be below floor_limit (\(floorLimit)), Book 3 clause 10.4")
        }
        let target = try s.integer("random_target", range: 0...99)
        let maximum = try s.integer("random_max_target", range: 0...99)
        guard maximum >= target else {
            throw ParametersFileError(
                line: try s.value("random_max_target").line, field: s.field("random_max_target"),
                message: "the maximum target percentage must be at least random_target (\(target))")
        }
        return ApplicationParameters(
            aid: try s.hex("aid", length: 5...16),
            allowsPartialSelection: try s.boolean("partial", default: true),
            name: try s.text("name", length: 1...32),
            applicationVersions: applicationVersions,
            tacDenial: try s.hex("tac_denial", length: 5...5),
            tacOnline: try s.hex("tac_online", length: 5...5),
            tacDefault: try s.hex("tac_default", length: 5...5),
            floorLimit: floorLimit,
            randomSelectionThreshold: threshold,
            randomSelectionTargetPercentage: target,
            randomSelectionMaximumTargetPercentage: maximum,
            defaultDDOL: try s.dol("ddol"),
            defaultTDOL: try s.dol("tdol"))
    }

    private static func parseCAKey(_ s: ParametersSection, today: EMVDate) throws -> CAPublicKey {
        try s.allowOnly(["rid", "index", "modulus", "exponent", "expiry", "checksum"])
        let rid = try s.hex("rid", length: 5...5)
        let index = try s.hex("index", length: 1...1)[0]
        let modulus = try s.hex("modulus", length: 64...CAPublicKey.maximumModulusLength)
        let exponent = try s.hex("exponent", length: 1...3)
        let expiry = try s.date("expiry")
        let checksum = try s.hex("checksum", length: 20...20)
        let name = "CA public key RID \(Hex.encode(rid)) index \(Hex.encode([index])) ([\(s.path)])"
        let key: CAPublicKey
        do {
            key = try CAPublicKey(rid: rid, index: index, modulus: modulus, exponent: exponent, expiry: expiry, checksum: checksum)
        } catch let failure as ODAFailure {
            switch failure.reason {
            case .caKeyExponent:
                throw ParametersFileError(line: try s.value("exponent").line, field: s.field("exponent"), message: "\(name): the exponent must be 03 or 010001")
            case .caKeyModulusLength:
                throw ParametersFileError(line: try s.value("modulus").line, field: s.field("modulus"), message: "\(name): the modulus must not start with a zero byte")
            default:
                let actual = Hex.encode(ODA.sha1(rid + [index] + modulus + exponent) ?? [])
                throw ParametersFileError(
                    line: try s.value("checksum").line, field: s.field("checksum"),
                    message: "\(name) is refused: its checksum does not match (SHA-1 over RID, index, modulus and exponent is \(actual))")
            }
        }
        guard !(expiry < today) else {
            throw ParametersFileError(
                line: try s.value("expiry").line, field: s.field("expiry"),
                message: "\(name) is refused: it expired on \(expiry) (today is \(today))")
        }
        return key
    }

    private static func parseRevocation(_ text: String, line: Int, field: String) throws -> CertificateRevocationList.Entry {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let rid = Hex.decode(parts[0]), rid.count == 5, let index = Hex.decode(parts[1]),
            index.count == 1, let serial = Hex.decode(parts[2]), serial.count == 3
        else {
            throw ParametersFileError(
                line: line, field: field,
                message: "'\(text)' is not RID-INDEX-SERIAL (10, 2 and 6 hex digits, e.g. A000000003-92-001234)")
        }
        return CertificateRevocationList.Entry(rid: rid, caIndex: index[0], serialNumber: serial)
    }
}

/// One table of the parameters file with its dotted path, and typed readers that report line and field.
struct ParametersSection {
    let table: TOML.Table
    let path: String

    /// A table key as written in a path: bare if it can be, quoted otherwise.
    static func key(_ name: String) -> String {
        !name.isEmpty && name.utf8.allSatisfy({ b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D
        }) ? name : "\"\(name)\""
    }

    func field(_ key: String) -> String { path.isEmpty ? Self.key(key) : "\(path).\(Self.key(key))" }

    func allowOnly(_ keys: Set<String>) throws {
        for key in table.keys where !keys.contains(key) {
            throw ParametersFileError(
                line: table[key]?.line ?? table.line, field: field(key),
                message: "unknown \(path.isEmpty ? "table" : "key"); expected one of \(keys.sorted().joined(separator: ", "))")
        }
    }

    func missing(_ key: String) -> ParametersFileError {
        ParametersFileError(line: table.line, field: field(key), message: path.isEmpty ? "the [\(key)] table is missing" : "missing")
    }

    func value(_ key: String) throws -> TOML.Value {
        guard let v = table[key] else { throw missing(key) }
        return v
    }

    func wrongType(_ key: String, _ v: TOML.Value, expected: String) -> ParametersFileError {
        ParametersFileError(line: v.line, field: field(key), message: "expected \(expected), found \(v.typeName)")
    }

    func table(_ key: String) throws -> ParametersSection {
        let v = try value(key)
        guard case .table(let t) = v else { throw wrongType(key, v, expected: "a table ([\(field(key))])") }
        return ParametersSection(table: t, path: field(key))
    }

    func string(_ key: String) throws -> (String, Int) {
        let v = try value(key)
        guard case .string(let s, let line) = v else { throw wrongType(key, v, expected: "a string") }
        return (s, line)
    }

    func text(_ key: String, length: ClosedRange<Int>) throws -> String {
        let (s, line) = try string(key)
        guard length.contains(s.utf8.count), s.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else {
            let count = length.lowerBound == length.upperBound ? "\(length.lowerBound)" : "\(length.lowerBound) to \(length.upperBound)"
            throw ParametersFileError(line: line, field: field(key), message: "expected \(count) printable ASCII characters, found \(s.count)")
        }
        return s
    }

    /// Hex bytes: one string, or an array of strings joined (long moduli); spaces are allowed between byte pairs.
    func hex(_ key: String, length: ClosedRange<Int>) throws -> [UInt8] {
        let v = try value(key)
        var text = ""
        switch v {
        case .string(let s, _): text = s
        case .array(let items, _):
            for item in items {
                guard case .string(let s, _) = item else { throw wrongType(key, item, expected: "strings of hex digits") }
                text += s
            }
        default: throw wrongType(key, v, expected: "a string of hex digits")
        }
        guard let bytes = Hex.decode(text) else {
            throw ParametersFileError(line: v.line, field: field(key), message: "not hex digits in pairs")
        }
        guard length.contains(bytes.count) else {
            let count = length.lowerBound == length.upperBound ? "\(length.lowerBound)" : "\(length.lowerBound) to \(length.upperBound)"
            throw ParametersFileError(line: v.line, field: field(key), message: "expected \(count) bytes, found \(bytes.count)")
        }
        return bytes
    }

    /// A data object list (DDOL, TDOL): hex, may be empty or absent.
    func dol(_ key: String) throws -> [UInt8] {
        guard table[key] != nil else { return [] }
        let bytes = try hex(key, length: 0...252)
        do {
            _ = try DataObjectList(dolEncoded: bytes)
        } catch {
            throw ParametersFileError(line: try value(key).line, field: field(key), message: "not a data object list (tag, length pairs)")
        }
        return bytes
    }

    func integer(_ key: String, range: ClosedRange<Int>) throws -> Int {
        let v = try value(key)
        guard case .integer(let n, let line) = v else { throw wrongType(key, v, expected: "an integer") }
        guard range.contains(n) else {
            throw ParametersFileError(line: line, field: field(key), message: "\(n) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    func boolean(_ key: String, default fallback: Bool) throws -> Bool {
        guard let v = table[key] else { return fallback }
        guard case .boolean(let b, _) = v else { throw wrongType(key, v, expected: "true or false") }
        return b
    }

    /// An array of strings with their lines; `default` when absent (nil: required).
    func strings(_ key: String, default fallback: [(String, Int)]?) throws -> [(String, Int)] {
        guard let v = table[key] else {
            if let fallback { return fallback }
            throw missing(key)
        }
        guard case .array(let items, _) = v else { throw wrongType(key, v, expected: "an array of strings") }
        return try items.map { item in
            guard case .string(let s, let line) = item else { throw wrongType(key, item, expected: "strings") }
            return (s, line)
        }
    }

    /// An ISO numeric code (country, currency, merchant category): an integer or a string of exactly `digits` digits
    /// (a string keeps leading zeros, which TOML integers may not have).
    func numericCode(_ key: String, digits: Int) throws -> Int {
        let v = try value(key)
        let limit = digits == 3 ? 999 : 9999
        switch v {
        case .integer(let n, let line):
            guard (0...limit).contains(n) else {
                throw ParametersFileError(line: line, field: field(key), message: "\(n) has more than \(digits) digits")
            }
            return n
        case .string(let s, let line):
            guard s.utf8.count == digits, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(s) else {
                throw ParametersFileError(line: line, field: field(key), message: "expected \(digits) decimal digits")
            }
            return n
        default:
            throw wrongType(key, v, expected: "a \(digits)-digit number")
        }
    }

    /// Terminal Type '9F35' (Book 4 Annex A1): two digits, 1-3 then 1-6, written "22" or 22; the byte is 0x22.
    func terminalType(_ key: String) throws -> UInt8 {
        let v = try value(key)
        let text: String
        switch v {
        case .integer(let n, _): text = String(n)
        case .string(let s, _): text = s
        default: throw wrongType(key, v, expected: "two digits such as \"22\"")
        }
        let d = Array(text.utf8)
        guard d.count == 2, (0x31...0x33).contains(d[0]), (0x31...0x36).contains(d[1]) else {
            throw ParametersFileError(
                line: v.line, field: field(key),
                message: "'\(text)' is not a terminal type (two digits: 1-3 operational control, 1-6 environment)")
        }
        return (d[0] - 0x30) << 4 | (d[1] - 0x30)
    }

    /// A date written "YYYY-MM-DD" or "YYMMDD".
    func date(_ key: String) throws -> EMVDate {
        let (s, line) = try string(key)
        let u = Array(s.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard u[range].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return u[range].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        var parsed: EMVDate?
        if u.count == 10, u[4] == 0x2D, u[7] == 0x2D, let y = number(0..<4), let m = number(5..<7), let d = number(8..<10) {
            parsed = EMVDate(year: y, month: m, day: d)
        } else if u.count == 6, let y = number(0..<2), let m = number(2..<4), let d = number(4..<6) {
            parsed = EMVDate(year: y < 50 ? 2000 + y : 1900 + y, month: m, day: d)
        }
        guard let date = parsed else {
            throw ParametersFileError(line: line, field: field(key), message: "'\(s)' is not a date YYYY-MM-DD or YYMMDD (years 1950 to 2049)")
        }
        return date
    }
}
