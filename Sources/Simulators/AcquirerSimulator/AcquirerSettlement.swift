import Codecs
import Store
public import Uplink

// Settlement on the simulator's side (docs/host-interface.md §4.4, §4.7): the host's totals of a terminal's batch are
// computed from what it booked (approved authorisations and advices of the batch, reversed ones left out, a void
// taking its sale back out), compared with the 0500's, `95` on a mismatch; 0320 uploads are kept per terminal and
// batch, and the closing 0500 `960000` is compared with them.

extension AcquirerLedger {
    /// Migration "0002-settlement": the batch of every booking, the batch uploads and the settlements.
    static let settlementSchema = """
        ALTER TABLE entries ADD COLUMN processing_code TEXT;
        ALTER TABLE entries ADD COLUMN terminal_id TEXT;
        ALTER TABLE entries ADD COLUMN batch INTEGER;
        CREATE INDEX entries_batch ON entries (terminal_id, batch);
        CREATE TABLE batch_uploads (
            terminal_id TEXT NOT NULL,
            batch INTEGER NOT NULL,
            stan INTEGER NOT NULL,
            idempotency_key TEXT NOT NULL,
            processing_code TEXT NOT NULL,
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            currency TEXT NOT NULL,
            response_code TEXT NOT NULL,
            PRIMARY KEY (terminal_id, batch, stan)
        ) STRICT;
        CREATE TABLE settlements (
            id INTEGER PRIMARY KEY,
            terminal_id TEXT NOT NULL,
            batch INTEGER NOT NULL,
            processing_code TEXT NOT NULL,
            terminal_totals TEXT NOT NULL,
            host_totals TEXT NOT NULL,
            response_code TEXT NOT NULL
        ) STRICT;
        """

    /// The processing codes a batch's totals count (§3.3 field 63): sales, refunds, and voids (which take their sale
    /// back out). Balance inquiries, QR payments and queries, prepaid loads are not in the acquirer's card batch.
    static let settledProcessingCodes = ["000000", "200000", "220000"]

    /// The host's totals of `terminalID`'s batch `batch`, one per currency, from its bookings: approved
    /// authorisations and advices (`00`, `Y1`, `Y3`) not reversed, each idempotency key once (a completion advice
    /// moves no money).
    /// - Parameter terminalID: field 41 as sent (8 characters).
    public func batchTotals(terminalID: String, batch: Int) throws -> [SettlementTotals] {
        let rows = try database.query(
            """
            SELECT currency, processing_code, count(*), coalesce(sum(amount_minor), 0) FROM (
                SELECT idempotency_key, currency, coalesce(processing_code, '000000') AS processing_code, amount_minor FROM entries
                WHERE terminal_id = ? AND batch = ? AND kind IN ('authorization', 'advice') AND response_code IN ('00', 'Y1', 'Y3')
                    AND reversed = 0
                GROUP BY idempotency_key)
            GROUP BY currency, processing_code
            """, [.text(terminalID), .integer(Int64(batch))])
        return Self.totals(rows)
    }

    /// The totals of the 0320 uploads of `terminalID`'s batch `batch`, one per currency.
    public func uploadedTotals(terminalID: String, batch: Int) throws -> [SettlementTotals] {
        let rows = try database.query(
            """
            SELECT currency, processing_code, count(*), coalesce(sum(amount_minor), 0) FROM batch_uploads
            WHERE terminal_id = ? AND batch = ? AND response_code IN ('00', 'Y1', 'Y3')
            GROUP BY currency, processing_code
            """, [.text(terminalID), .integer(Int64(batch))])
        return Self.totals(rows)
    }

    /// How many 0320 uploads of the batch the host holds.
    public func uploadCount(terminalID: String, batch: Int) throws -> Int {
        let rows = try database.query(
            "SELECT count(*) FROM batch_uploads WHERE terminal_id = ? AND batch = ?", [.text(terminalID), .integer(Int64(batch))])
        if case .integer(let n)? = rows.first?.first { return Int(n) }
        return 0
    }

    /// One settlement request the host answered.
    public struct Settlement: Sendable, Equatable {
        public var terminalID: String
        public var batch: Int
        /// `920000`, or `960000` after a batch upload.
        public var processingCode: String
        /// `00` balanced, `95` not.
        public var responseCode: String
    }

    /// Every settlement request answered, oldest first.
    public func settlements() throws -> [Settlement] {
        try database.query("SELECT terminal_id, batch, processing_code, response_code FROM settlements ORDER BY id").map { row in
            guard row.count == 4, case .text(let terminal) = row[0], case .integer(let batch) = row[1], case .text(let code) = row[2],
                case .text(let rc) = row[3]
            else { throw StoreError(.corrupt, "a settlement row is malformed") }
            return Settlement(terminalID: terminal, batch: Int(batch), processingCode: code, responseCode: rc)
        }
    }

    func recordUpload(terminalID: String, batch: Int, stan: Int, key: String, processingCode: String, amount: Int, currency: String, responseCode: String) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                """
                INSERT OR REPLACE INTO batch_uploads (terminal_id, batch, stan, idempotency_key, processing_code, amount_minor, currency, response_code)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(terminalID), .integer(Int64(batch)), .integer(Int64(stan)), .text(key), .text(processingCode), .integer(Int64(amount)),
                 .text(currency), .text(responseCode)])
        }
    }

    func recordSettlement(terminalID: String, batch: Int, processingCode: String, terminalTotals: String, hostTotals: String, responseCode: String) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                "INSERT INTO settlements (terminal_id, batch, processing_code, terminal_totals, host_totals, response_code) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(terminalID), .integer(Int64(batch)), .text(processingCode), .text(terminalTotals), .text(hostTotals), .text(responseCode)])
        }
    }

    /// Rows of (currency, processing code, count, amount) as totals per currency: a void removes one sale and its
    /// amount.
    static func totals(_ rows: [[Database.Value]]) -> [SettlementTotals] {
        var byCurrency: [String: (sales: Int, sale: Int64, refunds: Int, refund: Int64)] = [:]
        for row in rows {
            guard row.count == 4, case .text(let currency) = row[0], case .text(let code) = row[1], case .integer(let count) = row[2],
                case .integer(let amount) = row[3]
            else { continue }
            var line = byCurrency[currency] ?? (0, 0, 0, 0)
            switch code {
            case "000000": line.sales += Int(count); line.sale += amount
            case "200000": line.refunds += Int(count); line.refund += amount
            case "220000": line.sales -= Int(count); line.sale -= amount
            default: continue
            }
            byCurrency[currency] = line
        }
        return byCurrency.keys.sorted().compactMap { currency in
            guard let line = byCurrency[currency] else { return nil }
            return SettlementTotals(
                saleCount: max(0, line.sales), saleAmount: UInt64(max(0, line.sale)), refundCount: line.refunds,
                refundAmount: UInt64(max(0, line.refund)), currencyCode: currency)
        }
    }
}

extension AcquirerServer.Worker {
    /// The answer to a batch upload (0320) or settlement request (0500), or `nil` for any other message.
    ///
    /// - 0320: kept per terminal, batch and STAN (a repeat replaces the earlier copy), answered `00`.
    /// - 0500 `920000`: the host's totals of the batch from its books; `00` when they balance with field 63, else
    ///   `95`. Field 63 of the 0510 carries the host's totals.
    /// - 0500 `960000`: the totals of the uploads; `00` when they balance with field 63, else `95` (the terminal
    ///   closes the batch either way; the back office resolves it from the upload).
    func settlementAnswer(to message: ISO8583.Message) -> [UInt8]? {
        if message.mti == "0200", message.text(3) == "220000" { return voidAnswer(to: message) }
        guard ["0320", "0500"].contains(message.mti) else { return nil }
        let terminal = message.text(41) ?? ""
        guard let batch = message.text(60).flatMap({ Int($0) }) else { return formatError() }
        do {
            if message.mti == "0320" {
                let key = (try? PrivateTaggedData(encoded: message.text(62) ?? ""))?[.idempotencyKey] ?? ""
                guard let stan = message.text(11).flatMap({ Int($0) }), let code = message.text(3), let rc = message.text(39) else {
                    return formatError()
                }
                try ledger.recordUpload(
                    terminalID: terminal, batch: batch, stan: stan, key: key, processingCode: code,
                    amount: Int(message.text(4) ?? "0") ?? 0, currency: message.text(49) ?? "", responseCode: rc)
                return try HostDialect.pack(try HostMessages.response(to: message, responseCode: .approved))
            }
            let terminalTotals = try SettlementTotals.list(encoded: message.text(63) ?? "")
            let afterUpload = message.text(3) == "960000"
            let host = afterUpload
                ? try ledger.uploadedTotals(terminalID: terminal, batch: batch)
                : try ledger.batchTotals(terminalID: terminal, batch: batch)
            let balanced = SettlementTotals.balance(terminalTotals, host)
            let hostField = SettlementTotals.encodedList(
                host.isEmpty
                    ? [SettlementTotals(saleCount: 0, saleAmount: 0, refundCount: 0, refundAmount: 0, currencyCode: terminalTotals[0].currencyCode)]
                    : Array(host.prefix(SettlementTotals.maximumCurrencies)))
            let code: HostResponseCode = balanced ? .approved : .reconciliationError
            try ledger.recordSettlement(
                terminalID: terminal, batch: batch, processingCode: message.text(3) ?? "", terminalTotals: message.text(63) ?? "",
                hostTotals: hostField, responseCode: code.rawValue)
            return try HostDialect.pack(try HostMessages.response(to: message, responseCode: code, fields: [63: .text(hostField)]))
        } catch {
            return formatError()
        }
    }
}

extension AcquirerServer.Worker {
    /// The answer to a void (0200 `220000`, docs/host-interface.md §5): `00` when field 61 names an approved,
    /// unreversed, not yet voided sale of this terminal with the same amount (booked with processing code `220000`,
    /// so the batch totals take the sale back out); `13` for another amount; `25` when there is no such sale. A repeat
    /// (same idempotency key) gets the first answer.
    func voidAnswer(to message: ISO8583.Message) -> [UInt8] {
        let key = (try? PrivateTaggedData(encoded: message.text(62) ?? ""))?[.idempotencyKey] ?? ""
        if let earlier = try? ledger.answered(key: key, messageClass: "020") { return earlier }
        let terminal = message.text(41) ?? ""
        guard let original = try? OriginalTransaction(encoded: message.text(61) ?? ""), !key.isEmpty else { return formatError() }
        let amount = Int(message.text(4) ?? "") ?? -1
        let found = (try? ledger.voidableSale(terminalID: terminal, batch: original.batchNumber, stan: original.stan)) ?? nil
        var code = HostResponseCode.originalNotFound
        var reason = "void: original not found"
        if let found {
            if found.amount != amount {
                (code, reason) = (.invalidAmount, "void: amount differs from the sale's")
            } else {
                (code, reason) = (.approved, "void of " + found.key)
            }
        }
        return answerNamingOriginal(
            message, key: key, code: code, reason: reason, processingCode: "220000", amount: amount,
            maskedPAN: message.text(2).map { EMVDataDictionary.maskedPAN($0) })
    }

    /// The answer to a request that names an original sale (a void, a card refund) once its verdict is known: on
    /// approval a retrieval reference (37) and authorisation code (38) of its own; packed, then booked in the ledger
    /// under the request's idempotency `key` (a repeat gets this answer again).
    func answerNamingOriginal(
        _ message: ISO8583.Message, key: String, code: HostResponseCode, reason: String, processingCode: String, amount: Int,
        maskedPAN: String?
    ) -> [UInt8] {
        var fields: [Int: ISO8583.FieldValue] = [:]
        var authorizationCode: String?
        if code == .approved {
            authorizationCode = String(Self.retrievalReference(key).suffix(6))
            fields[37] = .text(Self.retrievalReference(key))
            fields[38] = .text(authorizationCode ?? "")
        }
        guard let response = try? HostMessages.response(to: message, responseCode: code, fields: fields),
            let packed = try? HostDialect.pack(response)
        else { return formatError() }
        try? ledger.record(
            key: key, messageClass: "020", response: packed, kind: "authorization", mti: message.mti, amount: max(0, amount),
            currency: message.text(49) ?? "", maskedPAN: maskedPAN, responseCode: code.rawValue,
            authorizationCode: authorizationCode, reason: reason, processingCode: processingCode,
            terminalID: message.text(41) ?? "", batch: message.text(60).flatMap { Int($0) })
        return packed
    }
}

extension AcquirerLedger {
    /// The approved, unreversed sale of `terminalID` with this batch and STAN (read from its idempotency key) that no
    /// approved, unreversed void names yet.
    func voidableSale(terminalID: String, batch: Int, stan: Int) throws -> (key: String, amount: Int)? {
        let stanText = String(repeating: "0", count: max(0, 6 - String(stan).count)) + String(stan)
        let rows = try database.query(
            """
            SELECT e.idempotency_key, e.amount_minor FROM entries e
            WHERE e.terminal_id = ? AND e.batch = ? AND substr(e.idempotency_key, 15, 6) = ? AND e.kind IN ('authorization', 'advice')
                AND e.response_code IN ('00', 'Y1', 'Y3') AND e.reversed = 0 AND coalesce(e.processing_code, '000000') = '000000'
                AND NOT EXISTS (SELECT 1 FROM entries v WHERE v.reason = 'void of ' || e.idempotency_key AND v.response_code = '00' AND v.reversed = 0)
            ORDER BY e.id LIMIT 1
            """, [.text(terminalID), .integer(Int64(batch)), .text(stanText)])
        guard let row = rows.first, row.count == 2, case .text(let key) = row[0], case .integer(let amount) = row[1] else { return nil }
        return (key, Int(amount))
    }
}
