import Codecs
import Store
import Uplink

// Card refunds on the simulator's side (docs/host-interface.md §4.2 "Card refunds"): an 0200 `200000` whose field 61
// names an earlier card sale of this terminal (any batch). The refund is booked with processing code `200000` and the
// reason "refund of <the sale's idempotency key>", so the batch totals count it (§3.3 field 63) and later refunds of
// the same sale see what is left. QR refunds (entry mode `031`, §4.10) and purse refunds (62 `PL`, §14) are answered
// elsewhere.

extension AcquirerServer.Worker {
    /// The answer to a card refund, or `nil` when `message` is not one (a QR or purse refund, a refund without
    /// field 61, any other message).
    ///
    /// `00` (with 37 and 38) when field 61 names an approved card sale of this terminal (fields 41, 60 and the STAN
    /// of its idempotency key; its RRN when field 61 carries one), not voided nor reversed, field 2 is that sale's
    /// card, and field 4 is at most the sale's amount less what approved, unreversed refunds took already. Else
    /// `25` (no such sale), `12` (the sale was voided or reversed), `14` (another card), `13` (over what is left, or
    /// zero). A repeat (same idempotency key, class `020`) gets the first answer and refunds nothing again.
    func cardRefundAnswer(to message: ISO8583.Message) -> [UInt8]? {
        guard ["0200", "0201"].contains(message.mti), message.text(3) == TransactionKind.refund.processingCode,
            let field61 = message.text(61), message.text(22) != POSEntryMode.qrCode.rawValue
        else { return nil }
        let tagged = (try? PrivateTaggedData(encoded: message.text(62) ?? "")) ?? PrivateTaggedData()
        guard PrepaidHostData.text(PrepaidHostData.loadTag, in: tagged) == nil else { return nil }
        guard let key = tagged[.idempotencyKey], !key.isEmpty, let original = try? OriginalTransaction(encoded: field61) else {
            return formatError()
        }
        if let earlier = try? ledger.answered(key: key, messageClass: "020") { return earlier }
        let terminal = message.text(41) ?? ""
        let amount = Int(message.text(4) ?? "") ?? -1
        let masked = message.text(2).map { EMVDataDictionary.maskedPAN($0) }
        let reference = original.retrievalReference.filter { $0 != " " }
        var found = (try? ledger.refundableSale(terminalID: terminal, batch: original.batchNumber, stan: original.stan)) ?? nil
        if let sale = found, !reference.isEmpty, reference != Self.retrievalReference(sale.key) { found = nil }
        var code = HostResponseCode.originalNotFound
        var reason = "refund: original not found"
        if let sale = found {
            if sale.voided || sale.reversed {
                (code, reason) = (.invalidTransaction, "refund: original voided or reversed")
            } else if masked == nil || masked != sale.maskedPAN {
                (code, reason) = (.invalidCardNumber, "refund: not the original card")
            } else if amount <= 0 || amount > sale.amount - sale.refunded {
                (code, reason) = (.invalidAmount, "refund: over what is left of the sale")
            } else {
                (code, reason) = (.approved, AcquirerLedger.refundReason(of: sale.key))
            }
        }
        return answerNamingOriginal(
            message, key: key, code: code, reason: reason, processingCode: TransactionKind.refund.processingCode, amount: amount,
            maskedPAN: masked)
    }
}

extension AcquirerLedger {
    /// The reason a card refund of the sale booked under `key` is booked with.
    static func refundReason(of key: String) -> String { "refund of " + key }

    /// A card sale booked for a refund: its key, amount, masked PAN, whether it was voided or reversed, and what
    /// approved, unreversed refunds took of it.
    struct RefundableSale {
        var key: String
        var amount: Int
        var maskedPAN: String?
        var voided: Bool
        var reversed: Bool
        var refunded: Int
    }

    /// The approved sale (online `00` or offline `Y1`/`Y3`) of `terminalID` with this batch and STAN (read from its
    /// idempotency key), voided, reversed or not, with the refunds that name it.
    func refundableSale(terminalID: String, batch: Int, stan: Int) throws -> RefundableSale? {
        let stanText = String(repeating: "0", count: max(0, 6 - String(stan).count)) + String(stan)
        let rows = try database.query(
            """
            SELECT e.idempotency_key, e.amount_minor, e.masked_pan, e.reversed,
                EXISTS (SELECT 1 FROM entries v WHERE v.reason = 'void of ' || e.idempotency_key AND v.response_code = '00' AND v.reversed = 0),
                (SELECT coalesce(sum(r.amount_minor), 0) FROM entries r
                    WHERE r.reason = 'refund of ' || e.idempotency_key AND r.response_code = '00' AND r.reversed = 0)
            FROM entries e
            WHERE e.terminal_id = ? AND e.batch = ? AND substr(e.idempotency_key, 15, 6) = ? AND e.kind IN ('authorization', 'advice')
                AND e.response_code IN ('00', 'Y1', 'Y3') AND coalesce(e.processing_code, '000000') = '000000'
            ORDER BY e.id LIMIT 1
            """, [.text(terminalID), .integer(Int64(batch)), .text(stanText)])
        guard let row = rows.first, row.count == 6, case .text(let key) = row[0], case .integer(let amount) = row[1],
            case .integer(let reversed) = row[3], case .integer(let voided) = row[4], case .integer(let refunded) = row[5]
        else { return nil }
        var masked: String?
        if case .text(let text) = row[2] { masked = text }
        return RefundableSale(
            key: key, amount: Int(amount), maskedPAN: masked, voided: voided != 0, reversed: reversed != 0, refunded: Int(refunded))
    }
}
