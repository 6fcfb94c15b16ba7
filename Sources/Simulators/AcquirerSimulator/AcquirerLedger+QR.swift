import Store

/// The QR side of the acquirer simulator's books: the orders it saw (by the terminal's order ID, with the idempotency
/// key of the payment that made each), the wallet gateway's events, and QR refunds. A QR payment is booked in
/// `entries` like a card authorisation (kind `authorization`, the payment code masked); its cancellation as a
/// `reversal` that marks it reversed; a refund in `qr_refunds`, which ``AcquirerLedger/netCharged()`` subtracts.
extension AcquirerLedger {
    static let qrMigration = Migration(
        "0002-qr-gateway",
        """
        CREATE TABLE qr_orders (
            order_id TEXT PRIMARY KEY NOT NULL,
            idempotency_key TEXT NOT NULL,
            wallet TEXT NOT NULL,
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            currency TEXT NOT NULL
        ) STRICT;
        CREATE INDEX qr_orders_key ON qr_orders (idempotency_key);
        CREATE TABLE qr_events (
            id INTEGER PRIMARY KEY,
            time_ms INTEGER NOT NULL,
            order_id TEXT NOT NULL,
            event TEXT NOT NULL,
            amount_minor INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE qr_refunds (
            refund_id TEXT PRIMARY KEY NOT NULL,
            order_id TEXT NOT NULL,
            amount_minor INTEGER NOT NULL CHECK (amount_minor > 0)
        ) STRICT;
        """
    )

    /// A QR order as the books have it.
    public struct QROrder: Sendable, Equatable {
        public var orderID: String
        /// The idempotency key of the payment (or merchant-presented order) that made it.
        public var idempotencyKey: String
        public var wallet: String
        public var amount: Int
    }

    /// The order with this ID, or the order made by the payment with this idempotency key.
    public func qrOrder(orderID: String? = nil, key: String? = nil) throws -> QROrder? {
        let rows: [[Database.Value]]
        if let orderID {
            rows = try database.query(
                "SELECT order_id, idempotency_key, wallet, amount_minor FROM qr_orders WHERE order_id = ?", [.text(orderID)])
        } else if let key {
            rows = try database.query(
                "SELECT order_id, idempotency_key, wallet, amount_minor FROM qr_orders WHERE idempotency_key = ?", [.text(key)])
        } else {
            return nil
        }
        guard let row = rows.first, row.count == 4, case .text(let id) = row[0], case .text(let ik) = row[1],
            case .text(let wallet) = row[2], case .integer(let amount) = row[3]
        else { return nil }
        return QROrder(orderID: id, idempotencyKey: ik, wallet: wallet, amount: Int(amount))
    }

    /// Books a QR payment or merchant-presented order: its answer, its `authorization` entry and the order, at once.
    func recordQRPayment(
        key: String, messageClass: String, response: [UInt8], mti: String, orderID: String, wallet: String, amount: Int,
        currency: String, maskedCode: String, responseCode: String, reason: String
    ) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                "INSERT INTO answered (idempotency_key, message_class, response) VALUES (?, ?, ?)",
                [.text(key), .text(messageClass), .blob(response)])
            try db.query(
                "INSERT OR IGNORE INTO qr_orders (order_id, idempotency_key, wallet, amount_minor, currency) VALUES (?, ?, ?, ?, ?)",
                [.text(orderID), .text(key), .text(wallet), .integer(Int64(amount)), .text(currency)])
            try db.query(
                """
                INSERT INTO entries (idempotency_key, kind, mti, amount_minor, currency, masked_pan, response_code, reason)
                VALUES (?, 'authorization', ?, ?, ?, ?, ?, ?)
                """,
                [.text(key), .text(mti), .integer(Int64(amount)), .text(currency), .text(maskedCode), .text(responseCode), .text(reason)])
        }
    }

    /// A pending QR payment reached its final state (seen by a query): its entry takes the final response code.
    func settleQRPayment(key: String, responseCode: String, reason: String) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                "UPDATE entries SET response_code = ?, reason = ? WHERE idempotency_key = ? AND kind = 'authorization' AND response_code = '09'",
                [.text(responseCode), .text(reason), .text(key)])
        }
    }

    /// Books the cancellation of a QR order: the answer under the reversal's own key and class, and a `reversal`
    /// entry under the payment's key that marks the payment reversed.
    func recordQRReversal(
        key: String, messageClass: String, response: [UInt8], mti: String, paymentKey: String, amount: Int, currency: String,
        responseCode: String, reason: String
    ) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                "INSERT INTO answered (idempotency_key, message_class, response) VALUES (?, ?, ?)",
                [.text(key), .text(messageClass), .blob(response)])
            try db.query(
                "UPDATE entries SET reversed = 1 WHERE idempotency_key = ? AND kind IN ('authorization', 'advice')", [.text(paymentKey)])
            try db.query(
                """
                INSERT INTO entries (idempotency_key, kind, mti, amount_minor, currency, response_code, reason)
                VALUES (?, 'reversal', ?, ?, ?, ?, ?)
                """,
                [.text(paymentKey), .text(mti), .integer(Int64(amount)), .text(currency), .text(responseCode), .text(reason)])
        }
    }

    /// Books a QR refund's answer and, when the gateway refunded, the refund.
    func recordQRRefund(key: String, messageClass: String, response: [UInt8], refundID: String?, orderID: String, amount: Int) throws {
        try database.write(durability: .normal) { db in
            try db.query(
                "INSERT INTO answered (idempotency_key, message_class, response) VALUES (?, ?, ?)",
                [.text(key), .text(messageClass), .blob(response)])
            if let refundID {
                try db.query(
                    "INSERT OR IGNORE INTO qr_refunds (refund_id, order_id, amount_minor) VALUES (?, ?, ?)",
                    [.text(refundID), .text(orderID), .integer(Int64(amount))])
            }
        }
    }

    /// Appends the wallet gateway's events.
    func recordQREvents(_ events: [(time: Int64, orderID: String, event: String, amount: Int)]) throws {
        guard !events.isEmpty else { return }
        try database.write(durability: .normal) { db in
            for event in events {
                try db.query(
                    "INSERT INTO qr_events (time_ms, order_id, event, amount_minor) VALUES (?, ?, ?, ?)",
                    [.integer(event.time), .text(event.orderID), .text(event.event), .integer(Int64(event.amount))])
            }
        }
    }

    /// The wallet gateway's events, oldest first, as "ORDER EVENT AMOUNT" lines.
    public func qrEvents() throws -> [String] {
        try database.query("SELECT order_id, event, amount_minor FROM qr_events ORDER BY id").map { row in
            func text(_ i: Int) -> String { if case .text(let t) = row[i] { return t } else { return "" } }
            let amount: Int64 = if case .integer(let n) = row[2] { n } else { 0 }
            return "\(text(0)) \(text(1)) \(amount)"
        }
    }

    /// The QR refunds booked: (refund ID, order ID, amount).
    public func qrRefunds() throws -> [(refundID: String, orderID: String, amount: Int)] {
        try database.query("SELECT refund_id, order_id, amount_minor FROM qr_refunds ORDER BY rowid").map { row in
            func text(_ i: Int) -> String { if case .text(let t) = row[i] { return t } else { return "" } }
            let amount: Int64 = if case .integer(let n) = row[2] { n } else { 0 }
            return (text(0), text(1), Int(amount))
        }
    }
}
