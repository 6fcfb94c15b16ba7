public import Codecs

// Settlement (docs/host-interface.md §4.4 and §4.7): the totals of field 63 for a batch in more than one currency, and
// the 0500 that carries them.

extension SettlementTotals {
    /// The most currencies one field 63 carries (ans..999: 28 groups of 35 characters).
    public static let maximumCurrencies = 28

    /// Field 63 of an 0500/0510 with one 35-character group per currency, in ascending currency order (one group,
    /// as ``encoded``, for a one-currency batch; an empty batch sends one group of zeros in the terminal's currency).
    /// - Precondition: 1 to ``maximumCurrencies`` groups (a programming error otherwise).
    public static func encodedList(_ totals: [SettlementTotals]) -> String {
        precondition((1...maximumCurrencies).contains(totals.count), "field 63 carries 1 to 28 totals groups")
        return totals.sorted { $0.currencyCode < $1.currencyCode }.map(\.encoded).joined()
    }

    /// Reads field 63 of an 0500/0510: one or more 35-character groups.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 63) when the length is not a multiple of 35, a group
    ///   is malformed, or a currency appears twice.
    public static func list(encoded text: String) throws -> [SettlementTotals] {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count % 35 == 0, bytes.count / 35 <= maximumCurrencies else {
            throw ISO8583Error(.invalidFieldContent, field: 63, reason: "field 63 is 1 to 28 groups of 35 characters")
        }
        var groups: [SettlementTotals] = []
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let group = try SettlementTotals(encoded: String(decoding: bytes[start..<(start + 35)], as: UTF8.self))
            guard !groups.contains(where: { $0.currencyCode == group.currencyCode }) else {
                throw ISO8583Error(.invalidFieldContent, field: 63, reason: "a currency appears twice in field 63")
            }
            groups.append(group)
            start += 35
        }
        return groups
    }

    /// Whether two lists hold the same totals, whatever their order; a currency with nothing in it counts as absent.
    public static func balance(_ lhs: [SettlementTotals], _ rhs: [SettlementTotals]) -> Bool {
        func normalised(_ list: [SettlementTotals]) -> [SettlementTotals] {
            list.filter { $0.saleCount != 0 || $0.refundCount != 0 || $0.saleAmount != 0 || $0.refundAmount != 0 }
                .sorted { $0.currencyCode < $1.currencyCode }
        }
        return normalised(lhs) == normalised(rhs)
    }
}

extension HostMessages {
    /// A 0500 settlement request with the totals of every currency of the batch (field 63 as
    /// ``SettlementTotals/encodedList(_:)``): processing code `920000`, or `960000` when it closes a batch upload.
    public static func settlement(
        terminalID: String, merchantID: String, batchNumber: Int, stan: Int, transmission: HostDateTime,
        local: HostDateTime, totalsPerCurrency: [SettlementTotals], afterBatchUpload: Bool = false
    ) -> ISO8583.Message {
        var message = settlement(
            terminalID: terminalID, merchantID: merchantID, batchNumber: batchNumber, stan: stan,
            transmission: transmission, local: local, totals: totalsPerCurrency[0], afterBatchUpload: afterBatchUpload)
        message[63] = .text(SettlementTotals.encodedList(totalsPerCurrency))
        return message
    }
}
