import DeviceKit
import TerminalApp
import TerminalUI
import Testing

/// The merchant menu as a pure state machine: keys and answers in, actions and screens out.
@Suite struct MerchantFlowTests {
    static var configuration: TerminalFlow.Configuration {
        var c = TerminalFlow.Configuration(
            merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 99_999, methods: [.card],
            boardName: "test", version: "0.0.1")
        c.merchantMenu = true
        return c
    }

    func flow() -> TerminalFlow {
        var f = TerminalFlow(configuration: Self.configuration, language: .en)
        _ = f.handle(.tick(now: 0))
        return f
    }

    func press(_ f: inout TerminalFlow, _ keys: Key...) -> [TerminalFlow.Action] { keys.flatMap { f.handle(.key($0)) } }

    func lines(_ f: TerminalFlow) -> [String] {
        if case .info(let info) = f.screen { return [info.title.resolve(.en)] + info.lines.map { $0.resolve(.en) } }
        return []
    }

    @Test func passwordThenMenuThenSettlement() {
        var f = flow()
        #expect(press(&f, .menu, .digit3).isEmpty, "main menu entry 3: Merchant")
        #expect(lines(f) == ["Merchant password", "", "ENTER to confirm, CANCEL to quit"])
        _ = press(&f, .digit1, .digit2, .digit9, .clear, .digit3)
        #expect(lines(f) == ["Merchant password", "***", "ENTER to confirm, CANCEL to quit"], "digits never shown")
        #expect(press(&f, .enter) == [.verifyMerchantPassword(Array("123".utf8))])
        _ = f.handle(.merchantVerdict(.rejected(attemptsLeft: 4)))
        #expect(lines(f) == ["Merchant password", "", "Wrong password, 4 tries left"])
        _ = press(&f, .digit1, .digit2, .digit3, .digit4, .digit5, .digit6)
        #expect(press(&f, .enter) == [.verifyMerchantPassword(Array("123456".utf8))])
        _ = f.handle(.merchantVerdict(.accepted))
        guard case .menu(let menu) = f.screen else {
            Issue.record("no merchant menu: \(f.screen)")
            return
        }
        #expect(menu.items.map { $0.resolve(.en) } == ["Void", "Refund", "Reprint last", "X report", "Settlement", "Settings", "Update"])
        #expect(press(&f, .digit5) == [.runMerchantTask(.settle)])
        _ = f.handle(.tick(now: 10_000_000))
        #expect(!f.isIdle, "settlement has no deadline")
        _ = f.handle(.merchantFinished([.ui(.settleBalanced), .ui(.settleBatch(closed: 1, next: 2))]))
        #expect(lines(f) == ["Settlement", "Balanced", "Batch 1 closed, now 2"])
        _ = press(&f, .enter)
        #expect(press(&f, .digit4) == [.runMerchantTask(.xReport)])
        _ = f.handle(.merchantFinished([.ui(.reportPrinted)]))
        _ = press(&f, .enter, .digit6)
        guard case .menu(let settings) = f.screen else {
            Issue.record("no settings menu")
            return
        }
        #expect(settings.title.resolve(.en) == "Settings")
        _ = press(&f, .cancel, .cancel)
        #expect(f.isIdle)
    }

    @Test func lockoutAndVoidEntry() {
        var f = flow()
        _ = press(&f, .menu, .digit3, .digit0, .enter)
        _ = f.handle(.merchantVerdict(.lockedOut(secondsLeft: 300)))
        #expect(lines(f) == ["Merchant menu", "Locked, try again in 300 s"])
        _ = press(&f, .enter)
        #expect(f.isIdle)
        _ = press(&f, .menu, .digit3, .digit1, .enter)
        _ = f.handle(.merchantVerdict(.accepted))
        #expect(press(&f, .digit1) == [.listRefundableSales], "void opens the refund/void list")
    }
}
