import Codecs
public import Store
import TerminalUI

/// ``QRTransactionLookup`` over the encrypted ``TransactionJournal``: a QR sale is an approved journal record of rail
/// `qr`, kind `sale`, whose order ID (``QRRail/orderID(for:)`` of its key) is the one asked for; what was taken back
/// is the sum of the approved `refund` and `void` records whose `originalTxnRef` is the sale's key (the QR rail
/// writes it, ``RailDraft/originalReference``).
///
/// It reads the newest ``searchLimit`` records only (no card data is unsealed). A refund is always newer than its
/// sale, so a sale found in that window has all its refunds in it too; an older sale is "not found" and refused.
public final class StoreQRTransactionLookup: QRTransactionLookup {
    private let journal: Locked<TransactionJournal>
    private let utcOffsetSeconds: Int64
    /// How many of the newest journal records are searched.
    public let searchLimit: Int

    /// - Parameters:
    ///   - journal: the process's journal (calls go through its lock).
    ///   - utcOffsetSeconds: the terminal's time zone, as the journal's (a void is for the sale's business day).
    public init(journal: Locked<TransactionJournal>, utcOffsetSeconds: Int64 = 0, searchLimit: Int = 1_000) {
        self.journal = journal
        self.utcOffsetSeconds = utcOffsetSeconds
        self.searchLimit = searchLimit
    }

    public func qrSale(orderID: String) throws -> QRSaleRecord? {
        try recentQRSales(limit: Int.max).first { $0.orderID == orderID }?.sale
    }

    /// The approved QR sales among the newest records, newest first, with their order IDs and what was taken back.
    public func recentQRSales(limit: Int) throws -> [(orderID: String, sale: QRSaleRecord)] {
        let (records, today) = try journal.withLock { journal in (try journal.records(limit: searchLimit), journal.today()) }
        var takenBack: [String: (amount: Int, voided: Bool)] = [:]
        for record in records where record.rail == .qr && record.status == .approved {
            guard record.kind == .refund || record.kind == .void, let original = record.originalTxnRef else { continue }
            var entry = takenBack[original] ?? (0, false)
            entry.amount += Int(record.amountMinor)
            entry.voided = entry.voided || record.kind == .void
            takenBack[original] = entry
        }
        var sales: [(orderID: String, sale: QRSaleRecord)] = []
        for record in records where record.rail == .qr && record.kind == .sale && record.status == .approved {
            guard sales.count < limit else { break }
            let reference = record.id.txnRef
            let back = takenBack[reference] ?? (0, false)
            var sale = QRSaleRecord(
                transactionReference: reference, amount: Int(record.amountMinor), currencyCode: record.currency,
                wallet: Self.wallet(label: record.applicationLabel), refundedAmount: back.amount, voided: back.voided)
            sale.sameBusinessDay = businessDay(record.createdAt) == today
            sales.append((QRRail.orderID(for: RailTicket(transactionReference: reference, stan: record.id.stan, sequence: 0)), sale))
        }
        return sales
    }

    /// The wallet of a QR sale from its application label (the rail writes the wallet's English name, up to 16
    /// characters); a merchant-presented sale is `emvco`.
    static func wallet(label: String?) -> QRWallet {
        QRWallet.allCases.first { String(UIString.qrWallet($0.rawValue).text(.en).prefix(16)) == label } ?? .emvco
    }

    /// Days since 1970-01-01 in the terminal's time zone, as ``TransactionJournal/today()``.
    private func businessDay(_ unixTime: Int64) -> Int64 {
        let local = unixTime + utcOffsetSeconds
        return local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
    }
}

/// The merchant menu's refunds and voids of QR sales: the store's recent QR sales, run through ``QRRail``'s online
/// ``QRRail/refund(orderID:amount:session:)`` and ``QRRail/void(orderID:amount:session:)`` (which check the same
/// store again before going online).
public struct QRRefundService: RefundService {
    public let rail: QRRail
    public let lookup: StoreQRTransactionLookup

    /// `rail` should have been made with `lookup` as its ``QRTransactionLookup``.
    public init(rail: QRRail, lookup: StoreQRTransactionLookup) {
        self.rail = rail
        self.lookup = lookup
    }

    /// Sales with something left to refund or still voidable; a store that cannot be read lists none.
    public func refundableSales(limit: Int) -> [TerminalFlow.RefundableSale] {
        let sales = (try? lookup.recentQRSales(limit: Int.max)) ?? []
        return sales.compactMap { orderID, sale -> TerminalFlow.RefundableSale? in
            let left = sale.voided ? 0 : sale.amount - sale.refundedAmount
            let voidable = !sale.voided && sale.refundedAmount == 0 && sale.sameBusinessDay
            guard left > 0 || voidable else { return nil }
            return TerminalFlow.RefundableSale(
                reference: orderID, label: .ui(.qrWallet(sale.wallet.rawValue)),
                maskedReference: CustomerPresentedCode.masked(orderID), amount: sale.amount, refundable: left,
                voidable: voidable)
        }.prefix(limit).map { $0 }
    }

    public func run(
        _ kind: TerminalFlow.RefundKind, sale: TerminalFlow.RefundableSale, amount: Int, session: PaymentSession
    ) async -> TerminalFlow.PaymentResult {
        switch kind {
        case .refund: await rail.refund(orderID: sale.reference, amount: amount, session: session)
        case .void: await rail.void(orderID: sale.reference, amount: amount, session: session)
        }
    }
}
