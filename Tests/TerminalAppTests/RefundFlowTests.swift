import DeviceKit
import TerminalApp
import TerminalUI
import Testing

/// The merchant menu's "退款/撤销 Refund/Void": the pure flow, its screens and actions.
@Suite struct RefundFlowTests {
    static let configuration: TerminalFlow.Configuration = {
        var c = FlowTests.configuration
        c.refundMenu = true
        return c
    }()

    static let weChat = TerminalFlow.RefundableSale(
        reference: "QRD65E5A06BF350956", label: .ui(.qrWallet("wechat")), maskedReference: "QRD65E********0956",
        amount: 1000, refundable: 1000, voidable: true)
    static let partlyRefunded = TerminalFlow.RefundableSale(
        reference: "QRAAAA5A06BF351111", label: .ui(.qrWallet("alipay")), maskedReference: "QRAAAA********1111",
        amount: 3000, refundable: 2000, voidable: false)

    func flow() -> TerminalFlow {
        var f = TerminalFlow(configuration: Self.configuration, language: .en)
        _ = f.handle(.tick(now: 0))
        return f
    }

    func press(_ f: inout TerminalFlow, _ keys: [Key]) -> [TerminalFlow.Action] {
        keys.flatMap { f.handle(.key($0)) }
    }

    /// Menu → 3: the flow asks for the sales; the answer is the list.
    func openList(_ f: inout TerminalFlow, _ sales: [TerminalFlow.RefundableSale]) {
        #expect(press(&f, [.menu, .digit3]) == [.listRefundableSales])
        _ = f.handle(.refundableSales(sales))
    }

    @Test func mainMenuOffersRefundsOnlyWhenConfigured() {
        var f = flow()
        _ = press(&f, [.menu])
        #expect(f.screen == .menu(.init(title: .ui(.menuTitle), items: [.ui(.menuSale), .ui(.menuSettings), .ui(.menuRefund)], selected: 0)))
        #expect(press(&f, [.up, .enter]) == [.listRefundableSales], "UP wraps to the last item")
        var plain = TerminalFlow(configuration: FlowTests.configuration, language: .en)
        _ = plain.handle(.key(.menu))
        #expect(plain.handle(.key(.digit3)).isEmpty)
    }

    @Test func listShowsWalletAmountAndMaskedOrderNewestFirst() {
        var f = flow()
        openList(&f, [Self.weChat, Self.partlyRefunded])
        #expect(f.screen == .menu(.init(
            title: .ui(.refundTitle),
            items: [.raw("WeChat Pay CNY 10.00 QRD65E********0956"), .raw("Alipay CNY 30.00 QRAAAA********1111")], selected: 0)))
        _ = press(&f, [.down])
        guard case .menu(let menu) = f.screen else { return #expect(Bool(false)) }
        #expect(menu.selected == 1)
        _ = press(&f, [.down])
        guard case .menu(let wrapped) = f.screen else { return #expect(Bool(false)) }
        #expect(wrapped.selected == 0)
        _ = press(&f, [.cancel])
        guard case .menu(let main) = f.screen else { return #expect(Bool(false)) }
        #expect(main.title == .ui(.menuTitle) && main.selected == 2)
    }

    @Test func noSalesIsSaid() {
        var f = flow()
        openList(&f, [])
        #expect(f.screen == .info(.init(title: .ui(.refundTitle), lines: [.ui(.refundNoSales)])))
        _ = press(&f, [.enter])
        #expect(f.isIdle)
    }

    /// (what, keys after the list opened, the action expected last: `nil` for none, the flow not paying)
    static let paths: [(String, [Key], TerminalFlow.Action?)] = [
        ("void: same day, the whole sale", [.enter, .enter], .startRefund(weChat, kind: .void, amount: 1000)),
        ("void by digit", [.digit1, .digit1], .startRefund(weChat, kind: .void, amount: 1000)),
        ("full refund", [.enter, .down, .enter, .digit1, .digit0, .digit0, .digit0, .enter], .startRefund(weChat, kind: .refund, amount: 1000)),
        ("partial refund with 00 and CLEAR", [.enter, .digit2, .digit5, .doubleZero, .clear, .enter], .startRefund(weChat, kind: .refund, amount: 50)),
        ("zero cannot be confirmed", [.enter, .digit2, .enter], nil),
        ("more than is left is not taken", [.enter, .digit2, .digit1, .digit0, .digit0, .digit0, .digit1, .enter], .startRefund(weChat, kind: .refund, amount: 1000)),
        ("a partly refunded sale offers a refund only", [.digit2, .enter, .digit2, .digit0, .digit0, .digit0, .digit0, .enter], .startRefund(partlyRefunded, kind: .refund, amount: 2000)),
        ("cancel from the amount goes back to the choice", [.enter, .digit2, .digit5, .cancel, .digit1], .startRefund(weChat, kind: .void, amount: 1000)),
    ]

    @Test(arguments: paths.indices)
    func refundAndVoidPaths(_ index: Int) {
        let (name, keys, expected) = Self.paths[index]
        var f = flow()
        openList(&f, [Self.weChat, Self.partlyRefunded])
        let actions = press(&f, keys)
        #expect(actions.last == expected, "\(name)")
        #expect(f.isPaying == (expected != nil), "\(name)")
    }

    @Test func amountEntryShowsWhatIsLeftAndRefusesMore() {
        var f = flow()
        openList(&f, [Self.partlyRefunded])
        _ = press(&f, [.enter])
        #expect(f.screen == .menu(.init(title: .raw("Alipay CNY 30.00 QRAAAA********1111"), items: [.ui(.refundRefund)], selected: 0)))
        _ = press(&f, [.enter, .digit2, .digit0, .digit0, .digit0])
        #expect(f.screen == .amountEntry(.init(title: .ui(.refundAmountTitle), amount: 2000, currency: Self.configuration.currency, notice: .ui(.refundLeft("CNY 20.00")))))
        _ = press(&f, [.digit1])
        #expect(f.screen == .amountEntry(.init(title: .ui(.refundAmountTitle), amount: 2000, currency: Self.configuration.currency, notice: .ui(.amountLimit))))
    }

    @Test func outcomeShowsTheRailsLinesAndTheRefundAmount() {
        var f = flow()
        openList(&f, [Self.weChat])
        _ = press(&f, [.enter, .down, .enter, .digit5, .doubleZero, .enter])
        #expect(f.isPaying)
        _ = f.handle(.railScreen(.processing(.init())))
        _ = f.handle(.paymentFinished(.approved(lines: [.ui(.qrWallet("wechat")), .ui(.qrOrder("QRD65E********0956"))])))
        #expect(f.screen == .outcome(.init(approved: true, amount: 500, currency: Self.configuration.currency, lines: [.ui(.qrWallet("wechat")), .ui(.qrOrder("QRD65E********0956"))])))
        _ = press(&f, [.enter])
        #expect(f.isIdle)
    }

    @Test func cancelFromTheChoiceReadsTheListAgainAndAStaleAnswerIsIgnored() {
        var f = flow()
        openList(&f, [Self.weChat])
        _ = press(&f, [.enter])
        #expect(press(&f, [.cancel]) == [.listRefundableSales])
        _ = f.handle(.refundableSales([Self.partlyRefunded]))
        guard case .menu(let list) = f.screen else { return #expect(Bool(false)) }
        #expect(list.items == [.raw("Alipay CNY 30.00 QRAAAA********1111")])
        _ = f.handle(.refundableSales([]))  // not waiting for one: ignored
        #expect(f.screen == .menu(list))
        _ = f.handle(.tick(now: 60_000))
        #expect(f.isIdle, "the list times out like every screen")
    }
}
