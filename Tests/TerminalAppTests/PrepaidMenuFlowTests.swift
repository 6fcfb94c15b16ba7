import DeviceKit
import PaymentCrypto
import TerminalApp
import TerminalUI
import Testing

/// The prepaid sub-menu of the flow (Flow/PrepaidMenu.swift) as a pure value: keys and presentations in, actions out.
@Suite struct PrepaidMenuFlowTests {
    func flow(refunds: Bool = false) -> TerminalFlow {
        var configuration = TerminalFlow.Configuration(
            merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 99_999,
            methods: [.card, .qr, .prepaid], boardName: "test", version: "0.0.1")
        configuration.prepaidMenu = true
        configuration.refundMenu = refunds
        var f = TerminalFlow(configuration: configuration, language: .en)
        _ = f.handle(.tick(now: 0))
        return f
    }

    func press(_ f: inout TerminalFlow, _ keys: Key...) -> [TerminalFlow.Action] {
        keys.flatMap { f.handle(.key($0)) }
    }

    /// The merchant password for an operation that moves value (the sim's TEST ONLY 123456), accepted.
    func unlock(_ f: inout TerminalFlow) {
        _ = press(&f, .digit1, .digit2, .digit3, .digit4, .digit5)
        #expect(press(&f, .digit6, .enter) == [.verifyMerchantPassword(SecretBytes(Array("123456".utf8)))])
        _ = f.handle(.merchantVerdict(.accepted))
    }

    func menuItems(_ f: TerminalFlow) -> [Screen.Text] {
        if case .menu(let menu) = f.screen { return menu.items }
        return []
    }

    @Test func prepaidIsTheLastMainMenuItemAndOpensItsSubMenu() {
        var f = flow(refunds: true)
        _ = press(&f, .menu)
        #expect(menuItems(f).last == .ui(.prepaidTitle))
        _ = press(&f, .digit4)
        #expect(menuItems(f) == [.ui(.prepaidIssue), .ui(.prepaidTopUp), .ui(.prepaidTopUpByCard), .ui(.prepaidBalance),
                                 .ui(.prepaidRefund)])
        _ = press(&f, .cancel)
        if case .menu(let menu) = f.screen { #expect(menu.selected == 3) } else { Issue.record("not back in the main menu") }
    }

    @Test func topUpAsksAmountThenCardThenStarts() {
        var f = flow()
        _ = press(&f, .menu, .digit3, .digit2)
        unlock(&f)
        _ = press(&f, .enter)
        if case .amountEntry = f.screen {} else { Issue.record("a top-up of nothing is refused: \(f.screen)") }
        _ = press(&f, .digit2, .doubleZero, .digit0, .enter)
        guard case .present(let present) = f.screen else {
            Issue.record("no card prompt: \(f.screen)")
            return
        }
        #expect(present.amount == 2000 && present.method == .prepaid)
        #expect(f.handle(.presentation(.scanned(code: "x"))).isEmpty, "only an inserted card starts it")
        let actions = f.handle(.presentation(.inserted(name: "prepaid-good")))
        #expect(actions == [.startPrepaid(.topUp, amount: 2000, presentation: .inserted(name: "prepaid-good"))])
        #expect(f.isPaying)
        _ = f.handle(.paymentFinished(.approved(lines: [.raw("Top-up 20.00")])))
        if case .outcome(let outcome) = f.screen { #expect(outcome.approved) } else { Issue.record("no outcome") }
    }

    @Test func issueMayHaveNoDepositAndBalanceAsksNoAmount() {
        var f = flow()
        _ = press(&f, .menu, .digit3, .digit1)
        unlock(&f)
        _ = press(&f, .enter)
        let issue = f.handle(.presentation(.inserted(name: "prepaid-blank")))
        #expect(issue == [.startPrepaid(.issue, amount: 0, presentation: .inserted(name: "prepaid-blank"))])
        _ = f.handle(.paymentFinished(.approved(lines: [])))
        _ = press(&f, .enter, .menu, .digit3, .digit4)
        guard case .present(let present) = f.screen else {
            Issue.record("balance asks for the card at once: \(f.screen)")
            return
        }
        #expect(present.method == .prepaid)
        _ = press(&f, .cancel)
        if case .menu(let menu) = f.screen { #expect(menu.selected == 3) } else { Issue.record("back to the sub-menu") }
    }

    @Test func topUpByCardAsksForTheBankCardFirst() {
        var f = flow()
        _ = press(&f, .menu, .digit3, .digit3)
        unlock(&f)
        _ = press(&f, .digit5, .doubleZero, .enter)
        guard case .present(let present) = f.screen else {
            Issue.record("no card prompt")
            return
        }
        #expect(present.method == .card)
        #expect(f.handle(.presentation(.inserted(name: "visa-credit")))
            == [.startPrepaid(.topUpByCard, amount: 500, presentation: .inserted(name: "visa-credit"))])
    }

    @Test func operationsThatMoveValueAskForTheMerchantPasswordOncePerVisit() {
        var f = flow()
        _ = press(&f, .menu, .digit3, .digit2)
        guard case .info(let info) = f.screen else {
            Issue.record("a top-up opens on the password: \(f.screen)")
            return
        }
        #expect(info.title == .ui(.merchantPasswordTitle))
        #expect(press(&f, .digit9, .enter) == [.verifyMerchantPassword(SecretBytes(Array("9".utf8)))])
        _ = f.handle(.merchantVerdict(.rejected(attemptsLeft: 4)))
        guard case .info(let again) = f.screen else {
            Issue.record("the password again: \(f.screen)")
            return
        }
        #expect(again.lines.map { $0.resolve(.en) } == ["", "Wrong password, 4 tries left"])
        #expect(f.handle(.presentation(.inserted(name: "prepaid-good"))).isEmpty, "no card is taken before the password")
        _ = f.handle(.merchantVerdict(.accepted))  // not checking: ignored
        guard case .info = f.screen else {
            Issue.record("a verdict nobody asked for changes nothing: \(f.screen)")
            return
        }
        unlock(&f)
        if case .amountEntry = f.screen {} else { Issue.record("the amount after the password: \(f.screen)") }
        // Within the same visit, the other operations do not ask again; the balance never asks.
        _ = press(&f, .cancel, .digit5)
        if case .amountEntry = f.screen {} else { Issue.record("refund unlocked by the same visit: \(f.screen)") }
        _ = press(&f, .cancel, .cancel)
        // A new visit asks again; the balance inquiry stays open.
        _ = press(&f, .digit3, .digit4)
        if case .present = f.screen {} else { Issue.record("balance asks no password: \(f.screen)") }
        _ = press(&f, .cancel, .digit1)
        if case .info(let locked) = f.screen { #expect(locked.title == .ui(.merchantPasswordTitle)) } else {
            Issue.record("a new visit asks again: \(f.screen)")
        }
        _ = press(&f, .digit1, .enter)
        _ = f.handle(.merchantVerdict(.lockedOut(secondsLeft: 300)))
        if case .info(let out) = f.screen {
            #expect(out.lines.map { $0.resolve(.en) } == ["", "Locked, try again in 300 s"])
        } else {
            Issue.record("lockout shown: \(f.screen)")
        }
    }
}
