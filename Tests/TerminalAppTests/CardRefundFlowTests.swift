import DeviceKit
import TerminalApp
import TerminalUI
import Testing

/// The merchant menu's refund by original reference (Flow/CardRefundFlow.swift) as a pure state machine.
@Suite struct CardRefundFlowTests {
    static let sale = TerminalFlow.RefundableSale(
        reference: "card:000000000000002A", label: .raw("VISA"), maskedReference: "476173******0119", amount: 10_000,
        refundable: 7_000, voidable: false)

    /// The merchant menu, logged in, with the refund entry's reference screen up.
    func atReference() -> TerminalFlow {
        var f = TerminalFlow(configuration: MerchantFlowTests.configuration, language: .en)
        _ = f.handle(.tick(now: 0))
        _ = f.handle(.key(.menu))
        _ = f.handle(.key(.digit3))
        for key in [Key.digit1, .digit2, .digit3, .digit4, .digit5, .digit6, .enter] { _ = f.handle(.key(key)) }
        _ = f.handle(.merchantVerdict(.accepted))
        #expect(f.handle(.key(.digit2)).isEmpty, "merchant menu entry 2: Refund asks for the original reference")
        return f
    }

    func info(_ f: TerminalFlow) -> [String] {
        if case .info(let info) = f.screen { return [info.title.resolve(.en)] + info.lines.map { $0.resolve(.en) } }
        return []
    }

    @Test func referenceKeyedThenAmountThenRefund() {
        var f = atReference()
        #expect(info(f) == ["Refund: original ref.", "_", "ENTER alone lists sales"])
        for key in [Key.digit3, .digit3, .digit2, .digit9, .clear, .digit9, .doubleZero] { _ = f.handle(.key(key)) }
        #expect(info(f) == ["Refund: original ref.", "332900", "ENTER alone lists sales"])
        #expect(f.handle(.key(.enter)) == [.findRefundableSale(reference: "332900")])
        #expect(f.screen == .processing(.init()))
        _ = f.handle(.refundableSales([Self.sale]))
        guard case .amountEntry(let entry) = f.screen else {
            Issue.record("no refund amount: \(f.screen)")
            return
        }
        #expect(entry.title.resolve(.en) == "Refund amount" && entry.notice?.resolve(.en) == "Left CNY 70.00")
        // Over what is left: refused on the screen.
        for key in [Key.digit7, .digit0, .digit0, .digit1] { _ = f.handle(.key(key)) }
        guard case .amountEntry(let over) = f.screen else { return }
        #expect(over.amount == 700 && over.notice?.resolve(.en) != "Left CNY 70.00", "7001 > 7000: the digit is refused")
        _ = f.handle(.key(.digit0))
        #expect(f.handle(.key(.enter)) == [.startRefund(Self.sale, kind: .refund, amount: 7_000)])
        #expect(f.isPaying)
    }

    @Test func unknownReferenceAndFullyRefundedSale() {
        var f = atReference()
        for key in [Key.digit1, .digit2, .enter] { _ = f.handle(.key(key)) }
        _ = f.handle(.refundableSales([]))
        #expect(info(f) == ["Refund", "Original not found"])
        _ = f.handle(.key(.enter))
        f = atReference()
        for key in [Key.digit1, .enter] { _ = f.handle(.key(key)) }
        var spent = Self.sale
        spent.refundable = 0
        _ = f.handle(.refundableSales([spent]))
        #expect(info(f) == ["Refund", "Refunded in full already"])
    }

    @Test func enterAloneListsAndCancelGoesBack() {
        var f = atReference()
        #expect(f.handle(.key(.enter)) == [.listRefundableSales], "ENTER with nothing keyed: the list")
        var listed = Self.sale
        listed.retrievalReference = "332917000041"
        listed.date = "1127"
        _ = f.handle(.refundableSales([listed]))
        guard case .menu(let list) = f.screen else {
            Issue.record("no list: \(f.screen)")
            return
        }
        #expect(list.items.map { $0.resolve(.en) } == ["VISA CNY 100.00 476173******0119 1127 332917000041"])
        f = atReference()
        _ = f.handle(.key(.digit5))
        _ = f.handle(.key(.cancel))
        guard case .menu(let menu) = f.screen else {
            Issue.record("not back in the merchant menu: \(f.screen)")
            return
        }
        #expect(menu.title.resolve(.en) == "Merchant menu" && menu.selected == 1)
    }
}
