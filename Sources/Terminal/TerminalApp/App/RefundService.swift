/// Refunds and voids of earlier sales, for the merchant menu's "退款/撤销" entry: ``TerminalController`` asks it for
/// the sales to list (``TerminalFlow/Action/listRefundableSales``) and runs the one chosen
/// (``TerminalFlow/Action/startRefund(_:kind:amount:)``) like a payment, with a ``PaymentSession``.
public protocol RefundService: Sendable {
    /// The most recent sales that can still be refunded or voided, newest first, at most `limit`.
    func refundableSales(limit: Int) -> [TerminalFlow.RefundableSale]
    /// The sales whose retrieval reference number is `reference` (a default implementation searches the list).
    func refundableSales(reference: String) -> [TerminalFlow.RefundableSale]
    /// Refunds `amount` of `sale`, or voids it (`amount` is then the whole sale), online; writes the journal entry
    /// and prints the receipt before returning the outcome.
    func run(
        _ kind: TerminalFlow.RefundKind, sale: TerminalFlow.RefundableSale, amount: Int, session: PaymentSession
    ) async -> TerminalFlow.PaymentResult
}

extension RefundService {
    /// The sales whose retrieval reference number (field 37, the reference on the sale's receipt) is `reference`,
    /// for the merchant menu's refund by original reference (``TerminalFlow/Action/findRefundableSale(reference:)``).
    /// This default looks through the 200 most recent sales the service lists; a service with a journal of its own
    /// searches it.
    public func refundableSales(reference: String) -> [TerminalFlow.RefundableSale] {
        refundableSales(limit: 200).filter { !reference.isEmpty && $0.retrievalReference == reference }
    }
}
