/// Refunds and voids of earlier sales, for the merchant menu's "退款/撤销" entry: ``TerminalController`` asks it for
/// the sales to list (``TerminalFlow/Action/listRefundableSales``) and runs the one chosen
/// (``TerminalFlow/Action/startRefund(_:kind:amount:)``) like a payment, with a ``PaymentSession``.
public protocol RefundService: Sendable {
    /// The most recent sales that can still be refunded or voided, newest first, at most `limit`.
    func refundableSales(limit: Int) -> [TerminalFlow.RefundableSale]
    /// Refunds `amount` of `sale`, or voids it (`amount` is then the whole sale), online; writes the journal entry
    /// and prints the receipt before returning the outcome.
    func run(
        _ kind: TerminalFlow.RefundKind, sale: TerminalFlow.RefundableSale, amount: Int, session: PaymentSession
    ) async -> TerminalFlow.PaymentResult
}
