import DeviceKit
import TerminalApp
import TerminalUI
import Testing

/// Settings → Parameters, merchant menu → Update and the live parameter change, as a pure state machine
/// (Flow/PanelFlow.swift).
@Suite struct ManagementPanelFlowTests {
    func flow(language: Language = .en) -> TerminalFlow {
        var c = TerminalFlow.Configuration(
            merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 99_999, methods: [.card],
            boardName: "test", version: "1.0.0")
        c.merchantMenu = true
        var f = TerminalFlow(configuration: c, language: language)
        _ = f.handle(.tick(now: 0))
        return f
    }

    func press(_ f: inout TerminalFlow, _ keys: Key...) -> [TerminalFlow.Action] { keys.flatMap { f.handle(.key($0)) } }

    func lines(_ f: TerminalFlow) -> [String] {
        if case .info(let info) = f.screen { return [info.title.resolve(.en)] + info.lines.map { $0.resolve(.en) } }
        return []
    }

    func idleTitle(_ f: TerminalFlow) -> String? {
        if case .idle(let idle) = f.screen { return idle.merchantName }
        return nil
    }

    @Test func parametersScreenIsTheLastSettingsEntryAndChecksForDownloads() {
        var f = flow()
        _ = press(&f, .menu, .digit2)
        guard case .menu(let settings) = f.screen else {
            Issue.record("no settings menu: \(f.screen)")
            return
        }
        #expect(settings.items.last == .ui(.settingsParameters))
        #expect(press(&f, .digit5) == [.readPanel(.parameters)])
        if case .processing = f.screen {} else { Issue.record("reading: \(f.screen)") }
        _ = f.handle(.panelLines(.update, [.raw("not this panel")]))
        if case .processing = f.screen {} else { Issue.record("another panel's lines are ignored: \(f.screen)") }
        _ = f.handle(.panelLines(.parameters, [.ui(.parametersVersion(12)), .ui(.parametersMerchant("Demo Store"))]))
        #expect(lines(f) == ["Parameters", "Parameters v12", "Merchant: Demo Store", "ENTER: check downloads now"])
        #expect(press(&f, .enter) == [.runPanelAction(.parameters)])
        #expect(f.screen == .processing(.init(message: .ui(.managementChecking))))
        _ = f.handle(.tick(now: 10_000_000))
        #expect(!f.isIdle, "a round has no deadline")
        _ = f.handle(.panelFinished(.parameters, [.ui(.managementLastCheck("2026-11-28 09:30:00")), .ui(.managementResult("nothing new"))]))
        #expect(lines(f) == ["Parameters", "Last check 2026-11-28 09:30:00", "Result: nothing new"])
        #expect(press(&f, .enter) == [.readPanel(.parameters)], "ENTER reads the panel again")
        _ = f.handle(.panelLines(.parameters, [.ui(.parametersDefaults)]))
        _ = press(&f, .cancel)
        if case .menu(let back) = f.screen { #expect(back.selected == 4 && back.title == .ui(.settingsTitle)) } else {
            Issue.record("back to settings: \(f.screen)")
        }
    }

    @Test func aPanelLongerThanTheDisplayScrollsWithUpAndDown() {
        var f = flow()
        _ = press(&f, .menu, .digit2, .digit5)
        let shown = (1...5).map { Screen.Text.raw("line \($0)") }
        _ = f.handle(.panelLines(.parameters, shown))
        func top() -> Int? { if case .info(let info) = f.screen { info.top } else { nil } }
        #expect(top() == 0)
        // Five lines and the hint on a display that shows two (the default infoRows): DOWN stops at the last page.
        #expect(press(&f, .down, .down) == [])
        #expect(top() == 2)
        _ = press(&f, .down, .down, .down, .down, .down)
        #expect(top() == 4)
        #expect(press(&f, .up) == [])
        #expect(top() == 3)
        // A refresh keeps where the merchant is; a shorter panel pulls the view back.
        _ = f.handle(.panelLines(.parameters, shown))
        #expect(top() == 3)
        _ = f.handle(.panelLines(.parameters, [.raw("only one")]))
        #expect(top() == 0)
        _ = press(&f, .up)
        #expect(top() == 0)
        // ENTER still runs the round, and a result longer than the display scrolls the same way.
        #expect(press(&f, .enter) == [.runPanelAction(.parameters)])
        _ = f.handle(.panelFinished(.parameters, shown))
        _ = press(&f, .down)
        #expect(top() == 1)
        #expect(press(&f, .enter) == [.readPanel(.parameters)])
    }

    @Test func merchantResultsAndInformationScreensScroll() {
        var c = TerminalFlow.Configuration(
            merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 99_999, methods: [.card],
            boardName: "test", version: "1.0.0")
        c.infoRows = 11
        var f = TerminalFlow(configuration: c, language: .en)
        _ = f.handle(.tick(now: 0))
        // Settings → About fits on 11 rows: DOWN does nothing, ENTER leaves.
        _ = press(&f, .menu, .digit2, .digit4)
        guard case .info(let about) = f.screen else {
            Issue.record("no about screen: \(f.screen)")
            return
        }
        _ = press(&f, .down)
        #expect(f.screen == .info(about))
        _ = press(&f, .enter)
        #expect(f.isIdle)
    }

    @Test func updateIsTheLastMerchantEntryFollowsTheDownloadAndInstalls() {
        var f = flow()
        _ = press(&f, .menu, .digit3, .digit1, .enter)
        _ = f.handle(.merchantVerdict(.accepted))
        #expect(press(&f, .digit7) == [.readPanel(.update)])
        _ = f.handle(.panelLines(.update, [.ui(.updateRunning("1.0.0")), .ui(.updateNotAvailable)]))
        #expect(lines(f) == ["Update", "Running 1.0.0", "Not available on this board", "ENTER: install from USB"])
        // A status change (the download's progress on the management line) reads the panel again.
        var status = TerminalFlow.Status()
        status.management = "Downloading update-1.1.0.tpkg 45%"
        #expect(f.handle(.status(status)) == [.readPanel(.update)])
        _ = f.handle(.panelLines(.update, [.ui(.updateRunning("1.0.0")), .raw("update-1.1.0.tpkg 45%")]))
        #expect(lines(f).contains("update-1.1.0.tpkg 45%"))
        #expect(press(&f, .enter) == [.runPanelAction(.update)])
        #expect(f.handle(.status(status)).isEmpty, "no refresh while installing")
        _ = f.handle(.panelFinished(.update, [.ui(.updateRejected("bad-signature")), .raw("no trusted signature")]))
        #expect(lines(f) == ["Update", "Rejected: bad-signature", "no trusted signature"])
        _ = press(&f, .cancel)
        if case .menu(let menu) = f.screen {
            #expect(menu.title == .ui(.merchantTitle) && menu.selected == 6)
        } else {
            Issue.record("back to the merchant menu: \(f.screen)")
        }
        _ = press(&f, .cancel)
        #expect(f.isIdle)
        #expect(f.handle(.status(status)).isEmpty, "idle reads no panel")
    }

    @Test func parameterChangeRetitlesIdleAndSwitchesLanguageUnlessTheMerchantChose() {
        var f = flow(language: .zhCN)
        #expect(idleTitle(f) == "Shop")
        _ = f.handle(.parametersChanged(merchantName: "Demo Store Shanghai", language: .en))
        #expect(idleTitle(f) == "Demo Store Shanghai")
        #expect(f.language == .en)
        #expect(f.configuration.merchantName == "Demo Store Shanghai")
        // The merchant picks a language in settings: a later set's language no longer replaces it; its name does.
        #expect(press(&f, .menu, .digit2, .digit1) == [.saveLanguage(.zhCN)])
        _ = press(&f, .cancel, .cancel)
        _ = f.handle(.parametersChanged(merchantName: "Second Store", language: .en))
        #expect(f.language == .zhCN)
        #expect(idleTitle(f) == "Second Store")
        // A set without terminal settings changes nothing.
        _ = f.handle(.parametersChanged(merchantName: nil, language: nil))
        #expect(idleTitle(f) == "Second Store")
    }

    @Test func aMerchantLanguageChosenBeforeTheStartWins() {
        var c = flow().configuration
        c.merchantChoseLanguage = true
        var f = TerminalFlow(configuration: c, language: .zhCN)
        _ = f.handle(.parametersChanged(merchantName: "X", language: .en))
        #expect(f.language == .zhCN)
        #expect(idleTitle(f) == "X")
    }
}
