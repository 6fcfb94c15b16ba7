import Codecs

/// The merchant's item catalogue as the host sends it (a terminal management object of kind `C`,
/// docs/terminal-management.md): a TOML file
///
/// ```toml
/// version = 3
///
/// [item.A001]
/// name-zh = "矿泉水"
/// name-en = "Mineral water"
/// price = 250          # minor units of the terminal currency
/// tax = "A"            # tax class, one letter or digit
/// stock = 40           # the host's stock level
/// ```
///
/// Item codes are 1…32 characters of `[A-Za-z0-9._-]`; names 1…32 characters (UTF-8 for `name-zh`, printable ASCII
/// for `name-en`); at most 500 items. Every key is checked; an unknown key is refused.
public struct ItemCatalogue: Sendable, Equatable {
    /// One item.
    public struct Item: Sendable, Equatable {
        public var code: String
        public var nameChinese: String
        public var nameEnglish: String
        public var priceMinor: Int
        public var taxClass: String
        /// The host's stock level when the catalogue was made.
        public var stock: Int

        /// Makes an item.
        public init(code: String, nameChinese: String, nameEnglish: String, priceMinor: Int, taxClass: String, stock: Int) {
            (self.code, self.nameChinese, self.nameEnglish, self.priceMinor, self.taxClass, self.stock) =
                (code, nameChinese, nameEnglish, priceMinor, taxClass, stock)
        }
    }

    /// The most items a catalogue holds.
    public static let maximumItems = 500

    /// The catalogue's version (increasing).
    public var version: Int
    /// The items, in file order.
    public var items: [Item]

    /// Makes a catalogue.
    public init(version: Int, items: [Item]) {
        self.version = version
        self.items = items
    }

    /// Parses and checks a catalogue file.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` naming the line and key.
    public init(parsing bytes: [UInt8]) throws {
        func bad(_ reason: String) -> ISO8583Error { ISO8583Error(.invalidFieldContent, reason: "catalogue: \(reason)") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("not UTF-8") }
        let table: TOML.Table
        do { table = try TOML.parse(text) } catch { throw bad("\(error)") }
        for key in table.keys where key != "version" && key != "item" { throw bad("unknown key '\(key)'") }
        guard case .integer(let version, _)? = table["version"], version >= 0 else { throw bad("'version' must be an integer ≥ 0") }
        var items: [Item] = []
        if case .table(let itemTable)? = table["item"] {
            guard itemTable.keys.count <= Self.maximumItems else { throw bad("more than \(Self.maximumItems) items") }
            for code in itemTable.keys {
                guard TerminalManagement.isName(code[...]), case .table(let entry)? = itemTable[code] else {
                    throw bad("item code '\(code)' is not 1…32 characters of [A-Za-z0-9._-]")
                }
                for key in entry.keys where !["name-zh", "name-en", "price", "tax", "stock"].contains(key) {
                    throw bad("item.\(code): unknown key '\(key)'")
                }
                guard case .string(let zh, _)? = entry["name-zh"], (1...32).contains(zh.count),
                    case .string(let en, _)? = entry["name-en"], (1...32).contains(en.utf8.count),
                    en.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }),
                    case .integer(let price, _)? = entry["price"], (0...999_999_999).contains(price),
                    case .string(let tax, _)? = entry["tax"], tax.utf8.count == 1,
                    tax.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }),
                    case .integer(let stock, _)? = entry["stock"], (0...9_999_999).contains(stock)
                else {
                    throw bad("item.\(code) needs name-zh, name-en (1…32), price (0…999999999), tax (one letter or digit), stock (0…9999999)")
                }
                items.append(Item(code: code, nameChinese: zh, nameEnglish: en, priceMinor: price, taxClass: tax, stock: stock))
            }
        } else if table["item"] != nil {
            throw bad("'item' must be tables [item.CODE]")
        }
        self.init(version: version, items: items)
    }

    /// The catalogue as TOML text (what ``init(parsing:)`` reads).
    public func rendered() -> String {
        var text = "version = \(version)\n"
        for item in items {
            text += "\n[item.\(item.code)]\nname-zh = \"\(item.nameChinese)\"\nname-en = \"\(item.nameEnglish)\"\n"
            text += "price = \(item.priceMinor)\ntax = \"\(item.taxClass)\"\nstock = \(item.stock)\n"
        }
        return text
    }
}
