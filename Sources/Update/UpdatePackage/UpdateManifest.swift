public import Codecs

/// The manifest of an update package (docs/update-package.md): what the package is, which terminals may install it,
/// the anti-rollback fields, and each payload file with its size and SHA-256. A TOML document:
///
/// ```toml
/// format = 1
/// product = "payment-terminal"
/// boards = ["rpi4", "qemu-virt"]
/// version = "0.2.0"
/// minimum-version = "0.1.0"
/// security-counter = 2
///
/// [payload.firmware]
/// path = "bin/terminal"
/// role = "firmware"
/// size = 1234
/// sha256 = "…64 hex digits…"
/// ```
///
/// Parse it only from bytes a trusted signature covers (`Keyring.verify`); ``init(parsing:requireDigests:)`` checks every
/// field's type and range and every path, so a trusted but wrong manifest is still refused.
public struct UpdateManifest: Sendable, Equatable {
    /// The manifest format this code reads.
    public static let format = 1
    /// The most payload files in a package.
    public static let maximumPayloads = 64

    /// A payload file.
    public struct Payload: Sendable, Equatable {
        /// The table name (`[payload.NAME]`).
        public var name: String
        /// Relative path inside the slot (checked by ``UpdateManifest/checkPath(_:)``).
        public var path: String
        /// What the file is.
        public var role: Role
        /// Size in bytes (0 in a template).
        public var size: Int
        /// SHA-256 of the file (empty in a template).
        public var sha256: [UInt8]

        /// Makes a payload entry.
        public init(name: String, path: String, role: Role, size: Int, sha256: [UInt8]) {
            self.name = name
            self.path = path
            self.role = role
            self.size = size
            self.sha256 = sha256
        }
    }

    /// The kind of a payload file; the firmware is installed executable (0755), the others 0644.
    public enum Role: String, Sendable, Equatable, CaseIterable {
        /// The `terminal` executable; exactly one per package.
        case firmware
        /// A systemd unit or drop-in.
        case unit
        /// Default parameters (board profiles, EMV parameters).
        case parameters
        /// Migration notes for the operator (text).
        case notes
    }

    /// The product, `payment-terminal`.
    public var product: String
    /// The boards (profile names) the package may be installed on.
    public var boards: [String]
    /// The firmware version in the package.
    public var version: FirmwareVersion
    /// The oldest installed version this package may replace.
    public var minimumVersion: FirmwareVersion
    /// The anti-rollback counter: a terminal never installs a package with a counter below the one it has committed.
    public var securityCounter: Int
    /// The payload files, in package order.
    public var payloads: [Payload]

    /// Makes a manifest.
    public init(product: String, boards: [String], version: FirmwareVersion, minimumVersion: FirmwareVersion, securityCounter: Int, payloads: [Payload]) {
        self.product = product
        self.boards = boards
        self.version = version
        self.minimumVersion = minimumVersion
        self.securityCounter = securityCounter
        self.payloads = payloads
    }

    /// The firmware payload.
    public var firmware: Payload? { payloads.first { $0.role == .firmware } }

    /// Parses and checks a manifest. With `requireDigests: false` (a template for `termtool pkg build`) `size` and
    /// `sha256` may be absent.
    /// - Throws: ``UpdatePackageError`` `invalidManifest`, `invalidVersion` or `unsafePath`.
    public init(parsing bytes: some Collection<UInt8>, requireDigests: Bool = true) throws(UpdatePackageError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Self.invalid("the manifest is not UTF-8") }
        let table: TOML.Table
        do { table = try TOML.parse(text) } catch { throw Self.invalid("the manifest is not TOML: \(error)") }
        for key in table.keys where !["format", "product", "boards", "version", "minimum-version", "security-counter", "payload"].contains(key) {
            throw Self.invalid("unknown field '\(key)'")
        }
        guard case .integer(Self.format, _)? = table["format"] else { throw Self.invalid("'format' must be \(Self.format)") }
        product = try Self.string(table, "product")
        guard Self.isName(product) else { throw Self.invalid("'product' must be a name of [A-Za-z0-9._-]") }
        guard case .array(let boardValues, _)? = table["boards"], !boardValues.isEmpty, boardValues.count <= 64 else {
            throw Self.invalid("'boards' must be a non-empty array of board names")
        }
        boards = try boardValues.map { (value: TOML.Value) throws(UpdatePackageError) -> String in
            guard case .string(let name, _) = value, Self.isName(name) else { throw Self.invalid("'boards' holds something other than a board name") }
            return name
        }
        version = try FirmwareVersion(parsing: Self.string(table, "version"))
        minimumVersion = try FirmwareVersion(parsing: Self.string(table, "minimum-version"))
        guard case .integer(let counter, _)? = table["security-counter"], counter >= 0, counter <= Int(UInt32.max) else {
            throw Self.invalid("'security-counter' must be an integer 0...4294967295")
        }
        securityCounter = counter
        guard case .table(let payloadTable)? = table["payload"], !payloadTable.keys.isEmpty, payloadTable.keys.count <= Self.maximumPayloads else {
            throw Self.invalid("the manifest needs 1 to \(Self.maximumPayloads) [payload.NAME] tables")
        }
        var payloads: [Payload] = []
        for name in payloadTable.keys {
            guard Self.isName(name) else { throw Self.invalid("a payload name is 1 to 64 characters of [A-Za-z0-9._-]") }
            guard case .table(let entry)? = payloadTable[name] else { throw Self.invalid("payload.\(name) is not a table") }
            for key in entry.keys where !["path", "role", "size", "sha256"].contains(key) {
                throw Self.invalid("payload.\(name): unknown field '\(key)'")
            }
            let path = try Self.string(entry, "path")
            try Self.checkPath(path)
            guard let role = Role(rawValue: try Self.string(entry, "role")) else {
                throw Self.invalid("payload.\(name).role must be one of firmware, unit, parameters, notes")
            }
            var size = 0
            var digest: [UInt8] = []
            if requireDigests || entry["size"] != nil {
                guard case .integer(let n, _)? = entry["size"], n >= 0, n <= 1 << 40 else { throw Self.invalid("payload.\(name).size must be 0...2^40") }
                size = n
            }
            if requireDigests || entry["sha256"] != nil {
                guard case .string(let hex, _)? = entry["sha256"], hex.utf8.count == 64, let bytes = Self.hexBytes(hex) else {
                    throw Self.invalid("payload.\(name).sha256 must be 64 hex digits")
                }
                digest = bytes
            }
            payloads.append(Payload(name: name, path: path, role: role, size: size, sha256: digest))
        }
        guard payloads.filter({ $0.role == .firmware }).count == 1 else { throw Self.invalid("a package has exactly one firmware payload") }
        let paths = payloads.map(\.path)
        for (index, path) in paths.enumerated() {
            for other in paths[(index + 1)...] where other == path || other.hasPrefix(path + "/") || path.hasPrefix(other + "/") {
                throw UpdatePackageError(.unsafePath, "payload paths '\(path)' and '\(other)' collide")
            }
        }
        self.payloads = payloads
    }

    /// Refuses a payload path that could leave the slot directory or name something odd: it must be relative,
    /// 1...200 bytes, 1...8 components of `[A-Za-z0-9._-]`, none empty, none starting with `.` (so no `.`, `..` or
    /// hidden files, which the slot keeps for itself).
    /// - Throws: ``UpdatePackageError`` ``UpdatePackageError/Code/unsafePath``.
    public static func checkPath(_ path: String) throws(UpdatePackageError) {
        let shown = String(path.unicodeScalars.prefix(80).map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" })
        guard (1...200).contains(path.utf8.count), path.utf8.allSatisfy({ isNameByte($0) || $0 == UInt8(ascii: "/") }) else {
            throw UpdatePackageError(.unsafePath, "payload path '\(shown)' has a character outside [A-Za-z0-9._-/]")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...8).contains(components.count), components.allSatisfy({ !$0.isEmpty && $0.first != "." }) else {
            throw UpdatePackageError(.unsafePath, "payload path '\(shown)' is absolute, has an empty, '.' or '..' component, or a hidden name")
        }
    }

    /// The manifest as TOML text, in the field order of the format (`termtool pkg build`).
    public func rendered() -> String {
        var text = "format = \(Self.format)\n"
        text += "product = \"\(product)\"\n"
        text += "boards = [\(boards.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        text += "version = \"\(version)\"\n"
        text += "minimum-version = \"\(minimumVersion)\"\n"
        text += "security-counter = \(securityCounter)\n"
        for payload in payloads {
            text += "\n[payload.\(payload.name)]\n"
            text += "path = \"\(payload.path)\"\n"
            text += "role = \"\(payload.role.rawValue)\"\n"
            text += "size = \(payload.size)\n"
            text += "sha256 = \"\(Hex.encode(payload.sha256).lowercased())\"\n"
        }
        return text
    }

    // MARK: - Helpers

    static func isNameByte(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x2E || c == 0x5F || c == 0x2D
    }

    static func isName(_ text: String) -> Bool { (1...64).contains(text.utf8.count) && text.utf8.allSatisfy(isNameByte) }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x41...0x46: v = c - 0x41 + 10
            case 0x61...0x66: v = c - 0x61 + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return high == nil ? out : nil
    }

    private static func string(_ table: TOML.Table, _ key: String) throws(UpdatePackageError) -> String {
        guard case .string(let value, _)? = table[key], (1...200).contains(value.utf8.count) else {
            throw invalid("'\(key)' must be a string of 1 to 200 bytes")
        }
        return value
    }

    private static func invalid(_ reason: String) -> UpdatePackageError { UpdatePackageError(.invalidManifest, reason) }
}
