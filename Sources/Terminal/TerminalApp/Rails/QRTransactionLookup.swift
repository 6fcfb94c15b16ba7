public import Codecs

/// What the QR rail needs from the store beyond ``RailJournal``: the earlier QR sale a refund or void refers to,
/// found by its order ID (``QRRail/orderID(for:)`` of the sale's ticket). Without one, the rail sends refunds and
/// voids to the gateway unchecked and the gateway refuses what it does not know.
public protocol QRTransactionLookup: Sendable {
    /// The approved QR sale with this order ID, or `nil`.
    func qrSale(orderID: String) throws -> QRSaleRecord?
}

/// A QR sale as the store keeps it.
public struct QRSaleRecord: Sendable, Equatable {
    /// The sale's journal key (``RailTicket/transactionReference``).
    public var transactionReference: String
    public var amount: Int
    public var currencyCode: Int
    public var wallet: QRWallet
    /// What refunds and voids have already taken back, in minor units.
    public var refundedAmount: Int
    /// Whether the sale was voided.
    public var voided: Bool
    /// Whether the sale was made on the terminal's business day today (a void is for the same day only).
    public var sameBusinessDay: Bool = true

    public init(
        transactionReference: String, amount: Int, currencyCode: Int, wallet: QRWallet, refundedAmount: Int, voided: Bool
    ) {
        self.transactionReference = transactionReference
        self.amount = amount
        self.currencyCode = currencyCode
        self.wallet = wallet
        self.refundedAmount = refundedAmount
        self.voided = voided
    }
}
