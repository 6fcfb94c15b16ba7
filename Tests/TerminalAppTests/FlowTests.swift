import DeviceKit
import TerminalApp
import TerminalUI
import Testing

@Suite struct FlowTests {
    static let configuration = TerminalFlow.Configuration(
        merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 99_999, methods: [.card, .qr, .prepaid],
        boardName: "test", version: "0.0.1")

    func flow(_ configuration: TerminalFlow.Configuration = configuration) -> TerminalFlow {
        var f = TerminalFlow(configuration: configuration, language: .en)
        _ = f.handle(.tick(now: 0))
        return f
    }

    func press(_ f: inout TerminalFlow, _ keys: Key...) -> [TerminalFlow.Action] {
        keys.flatMap { f.handle(.key($0)) }
    }

    func amount(_ f: TerminalFlow) -> Int? {
        if case .amountEntry(let e) = f.screen { return e.amount }
        return nil
    }

    @Test func amountEntryShiftsDigitsInMinorUnits() {
        var f = flow()
        _ = press(&f, .digit1, .digit2, .digit3, .digit4)
        #expect(amount(f) == 1234)
        _ = press(&f, .clear)
        #expect(amount(f) == 123)
        _ = press(&f, .doubleZero)
        #expect(amount(f) == 12300)
        _ = press(&f, .dot)
        #expect(amount(f) == 12300)
    }

    @Test func amountAboveTheMaximumIsRefusedWithANotice() {
        var f = flow()
        _ = press(&f, .digit9, .digit9, .digit9, .digit9, .digit9)
        #expect(amount(f) == 99_999)
        _ = press(&f, .digit1)
        guard case .amountEntry(let e) = f.screen else {
            Issue.record("left amount entry")
            return
        }
        #expect(e.amount == 99_999)
        #expect(e.notice == .ui(.amountLimit))
    }

    @Test func zeroAmountCannotBeConfirmed() {
        var f = flow()
        _ = press(&f, .enter, .enter)
        #expect(amount(f) == 0)
    }

    @Test func saleReachesPresentAndStartsAPayment() {
        var f = flow()
        _ = press(&f, .digit5, .enter)
        guard case .methodChoice(let m) = f.screen else {
            Issue.record("no method choice")
            return
        }
        #expect(m.methods == [.card, .qr, .prepaid])
        _ = press(&f, .down, .enter)
        #expect(f.screen == .present(.init(amount: 5, currency: Self.configuration.currency, method: .qr)))
        let actions = f.handle(.presentation(.scanned(code: "134567890123456789")))
        #expect(actions == [.startPayment(amount: 5, method: .qr, presentation: .scanned(code: "134567890123456789"))])
        #expect(f.isPaying)
        // Keys go to the rail while it runs; timeouts do not interrupt it.
        #expect(press(&f, .digit1) == [.forwardToRail(.key(.digit1))])
        #expect(f.handle(.tick(now: 10_000_000)) == [.forwardToRail(.tick(now: 10_000_000))])
        #expect(f.isPaying)
        #expect(f.handle(.presentation(.removed)) == [.forwardToRail(.presentation(.removed))])
        _ = f.handle(.paymentFinished(.approved(lines: [])))
        guard case .outcome(let o) = f.screen else {
            Issue.record("no outcome")
            return
        }
        #expect(o.approved && o.amount == 5)
        _ = press(&f, .enter)
        #expect(f.isIdle)
    }

    @Test func singleMethodSkipsTheChoice() {
        var c = Self.configuration
        c.methods = [.card]
        var f = flow(c)
        _ = press(&f, .digit7, .enter)
        #expect(f.screen == .present(.init(amount: 7, currency: c.currency, method: .card)))
    }

    @Test func removalDoesNotStartAPayment() {
        var f = flow()
        _ = press(&f, .digit1, .enter, .digit1)
        #expect(f.handle(.presentation(.removed)).isEmpty)
    }

    @Test func presentationsOutsideASaleAreIgnored() {
        var f = flow()
        #expect(f.handle(.presentation(.inserted(name: "visa-credit"))).isEmpty)
        #expect(f.isIdle)
    }

    @Test func everyScreenTimesOutToIdle() {
        var f = flow()
        _ = press(&f, .digit1)
        _ = f.handle(.tick(now: 59_999))
        #expect(!f.isIdle)
        _ = f.handle(.tick(now: 60_000))
        #expect(f.isIdle)
        _ = press(&f, .menu)
        _ = f.handle(.tick(now: 200_000))
        #expect(f.isIdle)
    }

    @Test func cancelGoesBack() {
        var f = flow()
        _ = press(&f, .digit1, .enter, .cancel)
        #expect(amount(f) == 1)
        _ = press(&f, .cancel)
        #expect(f.isIdle)
    }

    @Test func menusAndLanguageSwitch() {
        var f = flow()
        _ = press(&f, .menu)
        guard case .menu(let main) = f.screen else {
            Issue.record("no menu")
            return
        }
        #expect(main.items == [.ui(.menuSale), .ui(.menuSettings)])
        let actions = press(&f, .digit2, .enter)
        #expect(actions == [.saveLanguage(.zhCN)])
        #expect(f.language == .zhCN)
        _ = press(&f, .down, .enter)
        guard case .info(let info) = f.screen else {
            Issue.record("no network status")
            return
        }
        #expect(info.title == .ui(.settingsNetwork))
        _ = press(&f, .enter)
        #expect(f.isIdle)
    }

    @Test func shutdownWaitsForThePaymentInFlight() {
        var f = flow()
        _ = press(&f, .digit1, .enter, .enter)
        _ = f.handle(.presentation(.inserted(name: "x")))
        _ = f.handle(.shutdown)
        #expect(f.isPaying)
        _ = f.handle(.paymentFinished(.declined(lines: [])))
        _ = f.handle(.shutdown)
        #expect(f.screen == .shuttingDown)
        #expect(press(&f, .digit1).isEmpty)
    }
}

@Suite struct PinPadTests {
    @Test func collectsFourToTwelveDigitsAndErasesThem() {
        var pad = PinPad()
        #expect(pad.press(.digit1) == .typing(digits: 1))
        #expect(pad.press(.enter) == .typing(digits: 1))  // too short
        for k in [Key.digit2, .digit3, .digit4] { _ = pad.press(k) }
        #expect(pad.press(.enter) == .complete)
        let digits = pad.finish { Array($0) }
        #expect(digits == [1, 2, 3, 4])
        #expect(pad.count == 0)
    }

    @Test func clearCancelAndLimit() {
        var pad = PinPad()
        for _ in 0..<15 { _ = pad.press(.digit9) }
        #expect(pad.count == 12)
        #expect(pad.press(.clear) == .typing(digits: 0))
        _ = pad.press(.digit1)
        #expect(pad.press(.cancel) == .cancelled)
        #expect(pad.count == 0)
    }
}

@Suite struct PrinterTestFlowTests {
    @Test func printerTestPrintsAndReports() {
        var f = TerminalFlow(configuration: FlowTests.configuration, language: .en)
        _ = f.handle(.tick(now: 0))
        _ = f.handle(.key(.menu))
        _ = f.handle(.key(.digit2))
        #expect(f.handle(.key(.digit3)) == [.printTestPage])
        #expect(f.screen == .processing(.init(message: .ui(.printing))))
        #expect(f.handle(.key(.cancel)).isEmpty, "keys wait while printing")
        _ = f.handle(.printFinished(.failed))
        #expect(f.screen == .info(.init(title: .ui(.printerTest), lines: [.ui(.printerFault)])))
        _ = f.handle(.key(.enter))
        #expect(f.isIdle)
    }
}
