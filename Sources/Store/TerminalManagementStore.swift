/// What the terminal management service keeps in the store (docs/terminal-management.md): the progress of each
/// download (so a download resumes after a dropped link or a reboot), the item catalogue with the host's stock
/// levels, and the item sales not yet reported to the host.
extension TerminalStore {
    /// Migration `0004-terminal-management`. Append-only like every migration.
    static let terminalManagementMigration = Migration(
        "0004-terminal-management",
        """
        CREATE TABLE tms_downloads (
            name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
            kind TEXT NOT NULL CHECK (kind IN ('P', 'C', 'U')),
            version TEXT NOT NULL CHECK (length(version) BETWEEN 1 AND 16),
            size INTEGER NOT NULL CHECK (size >= 0),
            sha256 BLOB NOT NULL CHECK (length(sha256) = 32),
            bytes_done INTEGER NOT NULL CHECK (bytes_done BETWEEN 0 AND size),
            updated_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE catalogue_items (
            code TEXT PRIMARY KEY NOT NULL CHECK (length(code) BETWEEN 1 AND 32),
            position INTEGER NOT NULL,
            name_zh TEXT NOT NULL,
            name_en TEXT NOT NULL,
            price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
            tax_class TEXT NOT NULL CHECK (length(tax_class) = 1),
            -- The host's level as last heard (catalogue or stock report answer); the local view subtracts the
            -- sales not reported yet.
            host_stock INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE item_sales (
            id INTEGER PRIMARY KEY,
            txn_ref TEXT NOT NULL CHECK (length(txn_ref) BETWEEN 1 AND 64),
            code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 32),
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            reported INTEGER NOT NULL DEFAULT 0 CHECK (reported IN (0, 1)),
            created_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX item_sales_unreported ON item_sales (reported) WHERE reported = 0;
        """,
        compatibility: .additive
    )

    /// Migration `0005-item-returns`: the items of voided sales, back on the shelf until the host has heard of them.
    /// Additive: a firmware without it keeps opening the store (it only misses the returns).
    static let itemReturnsMigration = Migration(
        "0005-item-returns",
        """
        CREATE TABLE item_returns (
            id INTEGER PRIMARY KEY,
            -- The approved void that put the items back; one row per item code and void.
            void_txn_ref TEXT NOT NULL CHECK (length(void_txn_ref) BETWEEN 1 AND 64),
            code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 32),
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            reported INTEGER NOT NULL DEFAULT 0 CHECK (reported IN (0, 1)),
            created_at INTEGER NOT NULL,
            UNIQUE (void_txn_ref, code)
        ) STRICT;
        CREATE INDEX item_returns_unreported ON item_returns (reported) WHERE reported = 0;
        """,
        compatibility: .additive
    )

    /// How far a download has come.
    public struct DownloadProgress: Sendable, Equatable {
        public var name: String
        /// `P`, `C` or `U` (docs/host-interface.md §13).
        public var kind: String
        public var version: String
        public var size: Int
        public var sha256: [UInt8]
        /// Bytes written and synced to the part file.
        public var bytesDone: Int

        public init(name: String, kind: String, version: String, size: Int, sha256: [UInt8], bytesDone: Int) {
            (self.name, self.kind, self.version, self.size, self.sha256, self.bytesDone) = (name, kind, version, size, sha256, bytesDone)
        }
    }

    /// The progress of the download of `name`, or `nil`.
    public func downloadProgress(_ name: String) throws -> DownloadProgress? {
        let rows = try database.query("SELECT name, kind, version, size, sha256, bytes_done FROM tms_downloads WHERE name = ?", [.text(name)])
        guard let row = rows.first, row.count == 6, case .text(let n) = row[0], case .text(let kind) = row[1], case .text(let version) = row[2],
            case .integer(let size) = row[3], case .blob(let digest) = row[4], case .integer(let done) = row[5]
        else { return nil }
        return DownloadProgress(name: n, kind: kind, version: version, size: Int(size), sha256: digest, bytesDone: Int(done))
    }

    /// Every download in progress (for the status screen).
    public func downloads() throws -> [DownloadProgress] {
        try database.query("SELECT name FROM tms_downloads ORDER BY name").compactMap { row in
            guard case .text(let name)? = row.first else { return nil }
            return try downloadProgress(name)
        }
    }

    /// Saves the progress of a download (after its bytes were synced to the part file).
    public func saveDownloadProgress(_ progress: DownloadProgress, now: Int64) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                """
                INSERT INTO tms_downloads (name, kind, version, size, sha256, bytes_done, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, version = excluded.version, size = excluded.size,
                    sha256 = excluded.sha256, bytes_done = excluded.bytes_done, updated_at = excluded.updated_at
                """,
                [.text(progress.name), .text(progress.kind), .text(progress.version), .integer(Int64(progress.size)),
                 .blob(progress.sha256), .integer(Int64(progress.bytesDone)), .integer(now)])
        }
    }

    /// Forgets the download of `name` (finished, or to start again).
    public func clearDownload(_ name: String) throws {
        try database.write(durability: .normal) { db in
            try db.query("DELETE FROM tms_downloads WHERE name = ?", [.text(name)])
        }
    }

    // MARK: Catalogue and stock

    /// An item as the sale screen sees it.
    public struct StockedItem: Sendable, Equatable {
        public var code: String
        public var nameChinese: String
        public var nameEnglish: String
        public var priceMinor: Int
        public var taxClass: String
        /// The host's level as last heard.
        public var hostStock: Int
        /// The host's level less the sales, plus the returns of voided sales, not reported yet: what the shelf
        /// should hold.
        public var localStock: Int

        public init(code: String, nameChinese: String, nameEnglish: String, priceMinor: Int, taxClass: String, hostStock: Int, localStock: Int) {
            (self.code, self.nameChinese, self.nameEnglish, self.priceMinor, self.taxClass, self.hostStock, self.localStock) =
                (code, nameChinese, nameEnglish, priceMinor, taxClass, hostStock, localStock)
        }
    }

    /// Replaces the catalogue with `items` (host stock levels included) as `version`, in one transaction (FULL).
    /// Sales not reported yet stay and keep counting against the new levels.
    public func installCatalogue(version: Int, items: [StockedItem]) throws {
        try database.write(durability: .full) { db in
            try db.query("DELETE FROM catalogue_items")
            for (position, item) in items.enumerated() {
                try db.query(
                    "INSERT INTO catalogue_items (code, position, name_zh, name_en, price_minor, tax_class, host_stock) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(item.code), .integer(Int64(position)), .text(item.nameChinese), .text(item.nameEnglish),
                     .integer(Int64(item.priceMinor)), .text(item.taxClass), .integer(Int64(item.hostStock))])
            }
            try db.query(
                "INSERT INTO settings (key, value) VALUES ('tms.catalogue.version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [.text(String(version))])
        }
    }

    /// The installed catalogue's version, or `nil` before the first.
    public func catalogueVersion() throws -> Int? { try setting("tms.catalogue.version").flatMap { Int($0) } }

    /// The catalogue in host order, with local stock.
    public func catalogueItems() throws -> [StockedItem] {
        let rows = try database.query(
            """
            SELECT c.code, c.name_zh, c.name_en, c.price_minor, c.tax_class, c.host_stock,
                   c.host_stock - coalesce((SELECT sum(quantity) FROM item_sales s WHERE s.code = c.code AND s.reported = 0), 0)
                       + coalesce((SELECT sum(quantity) FROM item_returns r WHERE r.code = c.code AND r.reported = 0), 0)
            FROM catalogue_items c ORDER BY c.position
            """)
        return rows.compactMap { row in
            guard row.count == 7, case .text(let code) = row[0], case .text(let zh) = row[1], case .text(let en) = row[2],
                case .integer(let price) = row[3], case .text(let tax) = row[4], case .integer(let host) = row[5],
                case .integer(let local) = row[6]
            else { return nil }
            return StockedItem(
                code: code, nameChinese: zh, nameEnglish: en, priceMinor: Int(price), taxClass: tax, hostStock: Int(host), localStock: Int(local))
        }
    }

    /// Records the items of a sale (FULL, with the sale's outcome): stock goes down locally at once.
    public func recordItemSale(txnRef: String, lines: [(code: String, quantity: Int)], now: Int64) throws {
        try database.write(durability: .full) { db in
            for line in lines where line.quantity > 0 {
                try db.query(
                    "INSERT INTO item_sales (txn_ref, code, quantity, created_at) VALUES (?, ?, ?, ?)",
                    [.text(txnRef), .text(line.code), .integer(Int64(line.quantity)), .integer(now)])
            }
        }
    }

    /// The approved sale most recently recorded in the journal: the sale an item basket was just paid with.
    public func latestApprovedSaleReference() throws -> String? {
        let row = try database.query(
            "SELECT txn_ref FROM transactions WHERE kind = 'sale' AND status IN ('approved', 'offline-approved') ORDER BY id DESC LIMIT 1").first
        if case .text(let reference)? = row?.first { return reference }
        return nil
    }

    /// Puts the items of every approved void's original sale back on the shelf (`item_returns`), once per void and
    /// item: safe to call any number of times (each stock synchronisation does). Refunds do not restock: a partial
    /// refund says nothing about which goods came back. Returns the number of item rows added.
    @discardableResult
    public func restockVoidedSales(now: Int64) throws -> Int {
        try database.write(durability: .full) { db in
            try db.query(
                """
                INSERT INTO item_returns (void_txn_ref, code, quantity, created_at)
                SELECT v.txn_ref, s.code, sum(s.quantity), ?
                FROM transactions v JOIN item_sales s ON s.txn_ref = v.original_txn_ref
                WHERE v.kind = 'void' AND v.status = 'approved'
                GROUP BY v.txn_ref, s.code
                ON CONFLICT (void_txn_ref, code) DO NOTHING
                """,
                [.integer(now)])
            return Int(db.changes)
        }
    }

    /// The stock changes not reported yet: sales (negative) and returns (positive), net per item, with the highest
    /// sale and return ids included.
    public struct StockChanges: Sendable, Equatable {
        public var salesThroughID: Int64
        public var returnsThroughID: Int64
        /// Net change per item code, in code order; items whose sales and returns cancel out are left out.
        public var changes: [StockChange]

        /// One item's net change.
        public struct StockChange: Sendable, Equatable {
            public var code: String
            public var change: Int

            public init(code: String, change: Int) { (self.code, self.change) = (code, change) }
        }
    }

    /// The sales and returns not reported yet, or `nil` when there are none.
    public func unreportedStockChanges() throws -> StockChanges? {
        var changes: [String: Int] = [:]
        var salesThrough: Int64 = 0
        var returnsThrough: Int64 = 0
        for row in try database.query("SELECT max(id), code, sum(quantity) FROM item_sales WHERE reported = 0 GROUP BY code") {
            guard row.count == 3, case .integer(let id) = row[0], case .text(let code) = row[1], case .integer(let n) = row[2] else { continue }
            salesThrough = max(salesThrough, id)
            changes[code, default: 0] -= Int(n)
        }
        for row in try database.query("SELECT max(id), code, sum(quantity) FROM item_returns WHERE reported = 0 GROUP BY code") {
            guard row.count == 3, case .integer(let id) = row[0], case .text(let code) = row[1], case .integer(let n) = row[2] else { continue }
            returnsThrough = max(returnsThrough, id)
            changes[code, default: 0] += Int(n)
        }
        if salesThrough == 0 && returnsThrough == 0 { return nil }
        return StockChanges(
            salesThroughID: salesThrough, returnsThroughID: returnsThrough,
            changes: changes.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { .init(code: $0.key, change: $0.value) })
    }

    /// The host answered a stock report carrying `reported`: its levels win, and the sales and returns included
    /// are marked reported in the same transaction.
    public func applyHostStock(_ levels: [(code: String, count: Int)], reported: StockChanges?) throws {
        try database.write(durability: .full) { db in
            if let reported {
                try db.query("UPDATE item_sales SET reported = 1 WHERE reported = 0 AND id <= ?", [.integer(reported.salesThroughID)])
                try db.query("UPDATE item_returns SET reported = 1 WHERE reported = 0 AND id <= ?", [.integer(reported.returnsThroughID)])
            }
            for level in levels {
                try db.query("UPDATE catalogue_items SET host_stock = ? WHERE code = ?", [.integer(Int64(level.count)), .text(level.code)])
            }
            try db.query(
                "INSERT INTO settings (key, value) VALUES ('tms.stock.stale', '0') ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        }
    }

    /// Marks the local stock view stale (the host could not be reached) or fresh.
    public func setStockStale(_ stale: Bool) throws { try setSetting("tms.stock.stale", stale ? "1" : "0") }

    /// Whether the local stock view is stale: never synced, or the last sync failed.
    public func isStockStale() throws -> Bool { try setting("tms.stock.stale") != "0" }
}
