import Codecs
import QRGatewaySimulator
import Store

// The wallet gateway across restarts of the sim board. A real gateway keeps its orders; the acquirer simulator keeps
// them in its SQLite ledger (qr_orders, qr_events, qr_refunds), but the ``QRGatewaySimulator`` behind
// ``QRGatewayHost`` holds them in memory. Without this, a QR sale voided or refunded after the terminal restarted was
// "no such order" at the gateway (the void declined, the customer never refunded).

extension AcquirerLedger {
    /// What the books say about one QR order: its currency, the gateway's events in order (time in the gateway's
    /// monotonic milliseconds) and its refunds; `nil` when the order was never booked.
    func qrOrderHistory(orderID: String) throws -> (
        order: QROrder, currency: Int, events: [(time: Int64, event: String)], refunds: [(refundID: String, amount: Int)]
    )? {
        guard let order = try qrOrder(orderID: orderID) else { return nil }
        let currency = try database.query("SELECT currency FROM qr_orders WHERE order_id = ?", [.text(orderID)]).first?.first
        let events = try database.query("SELECT time_ms, event FROM qr_events WHERE order_id = ? ORDER BY id", [.text(orderID)])
            .compactMap { row -> (time: Int64, event: String)? in
                guard row.count == 2, case .integer(let time) = row[0], case .text(let event) = row[1] else { return nil }
                return (time, event)
            }
        let refunds = try qrRefunds().filter { $0.orderID == orderID }.map { (refundID: $0.refundID, amount: $0.amount) }
        let code: Int = if case .text(let text)? = currency { Int(text) ?? 0 } else { 0 }
        return (order, code, events, refunds)
    }
}

extension QRGatewayHost {
    /// Hands an order the simulator no longer holds (an earlier run booked it) back to it, in the state its booked
    /// events left it: created at its first event, then the last event that names a state.
    func restoreIfForgotten(_ orderID: String, ledger: AcquirerLedger) {
        guard simulator.withLock({ $0.orders[orderID] }) == nil,
            let history = try? ledger.qrOrderHistory(orderID: orderID), let first = history.events.first,
            let wallet = QRWallet(rawValue: history.order.wallet)
        else { return }
        var state: QRGatewaySimulator.OrderState = .userPaying
        var masked = "MPM"
        for (_, event) in history.events {
            if let next = Self.state(after: event) { state = next }
            // "pay <wallet> code <masked code>"
            let words = event.split(separator: " ")
            if words.first == "pay", let code = words.firstIndex(of: "code"), code + 1 < words.endIndex { masked = String(words[code + 1]) }
        }
        let time = now()
        simulator.withLock {
            $0.restore(
                orderID: orderID, wallet: wallet, amount: history.order.amount, currencyCode: history.currency,
                createdAt: first.time, state: state, transactionID: nil, refunds: history.refunds, maskedCredential: masked,
                now: time)
        }
    }

    /// The state an event of ``QRGatewaySimulator``'s ledger leaves an order in, or `nil` for one that changes none
    /// (queries, repeats, refusals).
    static func state(after event: String) -> QRGatewaySimulator.OrderState? {
        switch event {
        case _ where event.hasPrefix("pay "), "user paying", "scanned and paid by the simulated wallet": .userPaying
        case "merchant-presented order created": .waitingForScan
        case "success", "query: success": .success
        case "refunded", "query: refunded": .refunded
        case "closed", "closed by cancel", "query: closed", "cancel of a refunded order (already closed)": .closed
        case _ where event.hasPrefix("REVERSED"): .closed
        case _ where event.hasPrefix("failed "): .failed(code: String(event.dropFirst("failed ".count)), message: "")
        default: nil
        }
    }
}
