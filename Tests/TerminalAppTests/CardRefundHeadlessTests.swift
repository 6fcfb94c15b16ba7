import AcquirerSimulator
import TestKit
import Testing

/// A card refund by original reference on the sim board, headless, with the built-in acquirer simulator: a chip sale
/// approved online, the merchant menu with the TEST ONLY password 123456, 退货 / Refund, the sale's reference as its
/// receipt prints it, a part of the amount, the sale's card inserted again (card present: read with Transaction Type
/// '20', no PIN), online approval, both receipts in the receipt files. Another card, tapped, is refused with nothing sent.
@Suite(.serialized) struct CardRefundHeadlessTests {
    @Test func saleThenRefundByReferenceFromTheMerchantMenu() throws {
        let state = try makeTemporaryDirectory("card-refund-e2e")
        defer { removeTree(state) }
        let board = try ChipSaleTests.board(in: state)
        var run = try MerchantEndToEndTests.start(state, board: board)
        guard run.sale(20_000, expect: "APPROVED") else {
            _ = run.finish()
            return
        }
        let saleReceipt = MerchantEndToEndTests.receipts(state)
        let referenceLine = saleReceipt.split(separator: "\n").first { $0.hasPrefix("REF NO") }
        guard let reference = referenceLine?.split(separator: " ").last.map(String.init), reference.count == 12 else {
            Issue.record("no reference on the sale's receipt: \(saleReceipt)")
            _ = run.finish()
            return
        }
        guard run.login() else {
            _ = run.finish()
            return
        }
        run.type("2")
        _ = run.expectScreen("Refund: original ref.")
        run.type(reference.map { String($0) }.joined(separator: "\n"), "ENTER")
        _ = run.expectScreen("Left CNY 200.00")
        run.type("5", "0", "0", "0", "ENTER")
        _ = run.expectScreen("Insert or tap card")
        run.type("INSERT visa-credit")
        _ = run.expectScreen("APPROVED")
        run.type("REMOVE", "ENTER")
        // The same reference again: what is left is 150.00.
        guard run.login() else {
            _ = run.finish()
            return
        }
        run.type("2")
        _ = run.expectScreen("Refund: original ref.")
        run.type(reference.map { String($0) }.joined(separator: "\n"), "ENTER")
        _ = run.expectScreen("Left CNY 150.00")
        // Another card, tapped: read through Entry Point, refused on the terminal, nothing sent (the host's books
        // keep one refund).
        run.type("1", "0", "0", "ENTER")
        _ = run.expectScreen("Insert or tap card")
        run.type("TAP visa-paywave")
        _ = run.expectScreen("Not the original card")
        run.type("REMOVE", "ENTER")
        #expect(run.finish() == 0)
        let receipts = MerchantEndToEndTests.receipts(state)
        #expect(receipts.components(separatedBy: "退货 REFUND").count == 3, "merchant and customer copies: \(receipts)")
        #expect(receipts.contains("ORIG REF NO") && receipts.contains(reference))
        #expect(!receipts.contains("4761731000000019"), "no clear PAN on any receipt")
        let ledger = try AcquirerLedger(path: state + "/acquirer-ledger.sqlite")
        #expect(try ledger.batchTotals(terminalID: "SIM00001", batch: 1).map(\.refundAmount) == [5_000])
    }
}
