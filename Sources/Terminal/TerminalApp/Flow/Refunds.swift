public import TerminalUI

extension TerminalFlow {
    /// An earlier sale the merchant menu offers for a refund or void ("退款/撤销"), as the ``RefundService`` lists it.
    public struct RefundableSale: Sendable, Equatable {
        /// What the service acts on (a QR sale: its order ID). Not shown; ``maskedReference`` is.
        public var reference: String
        /// The sale's scheme or wallet ("微信支付").
        public var label: Screen.Text
        /// The reference as screens and receipts show it (first 6, last 4).
        public var maskedReference: String
        /// The sale's amount, in minor units.
        public var amount: Int
        /// What is left to refund, in minor units.
        public var refundable: Int
        /// Whether the sale can still be voided (the same business day, nothing refunded yet).
        public var voidable: Bool
        /// The host's retrieval reference number of the sale (field 37, printed on its receipt), what the merchant keys
        /// to find it; empty when the sale has none (QR sales are found by the list).
        public var retrievalReference: String = ""
        /// The sale's local date as the list shows it (`MMDD`), or empty.
        public var date: String = ""

        public init(reference: String, label: Screen.Text, maskedReference: String, amount: Int, refundable: Int, voidable: Bool) {
            self.reference = reference
            self.label = label
            self.maskedReference = maskedReference
            self.amount = amount
            self.refundable = refundable
            self.voidable = voidable
        }
    }

    /// How a sale is taken back.
    public enum RefundKind: String, Sendable, Equatable, CaseIterable {
        /// Part or all of what is left, online.
        case refund
        /// The whole sale, the same day: the order is reversed.
        case void
    }
}
