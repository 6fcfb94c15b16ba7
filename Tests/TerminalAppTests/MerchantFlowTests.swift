import DeviceKit
import PaymentCrypto
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
        #expect(press(&f, .enter) == [.verifyMerchantPassword(SecretBytes(Array("123".utf8)))])
        _ = f.handle(.merchantVerdict(.rejected(attemptsLeft: 4)))
        #expect(lines(f) == ["Merchant password", "", "Wrong password, 4 tries left"])
        _ = press(&f, .digit1, .digit2, .digit3, .digit4, .digit5, .digit6)
        #expect(press(&f, .enter) == [.verifyMerchantPassword(SecretBytes(Array("123456".utf8)))])
        _ = f.handle(.merchantVerdict(.accepted))
        guard case .menu(let menu) = f.screen else {
            Issue.record("no merchant menu: \(f.screen)")
            return
        }
        #expect(menu.items.map { $0.resolve(.en) } == ["Void", "Refund", "Reprint last", "X report", "Settlement", "Settings", "Update", "Change password"])
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

    // MARK: Change password (merchant menu entry 8)

    static func secret(_ text: String) -> SecretBytes { SecretBytes(Array(text.utf8)) }

    func typed(_ f: inout TerminalFlow, _ text: String) -> [TerminalFlow.Action] {
        text.compactMap { Key(rawValue: String($0)) }.flatMap { f.handle(.key($0)) }
    }

    /// Logged in, the change password entry chosen.
    func changing() -> TerminalFlow {
        var f = flow()
        _ = press(&f, .menu, .digit3, .digit1, .enter)
        _ = f.handle(.merchantVerdict(.accepted))
        _ = press(&f, .digit8)
        return f
    }

    @Test func passwordChangedFromTheMenu() {
        var f = changing()
        #expect(lines(f) == ["Change password", "Current password", "", "ENTER to confirm, CANCEL to quit"])
        #expect(typed(&f, "123456").isEmpty)
        #expect(lines(f) == ["Change password", "Current password", "******", "ENTER to confirm, CANCEL to quit"], "digits never shown")
        #expect(press(&f, .enter) == [.verifyCurrentMerchantPassword(Self.secret("123456"))])
        guard case .processing = f.screen else {
            Issue.record("not checking: \(f.screen)")
            return
        }
        _ = f.handle(.tick(now: 10_000_000))
        #expect(!f.isIdle, "no deadline while the driver checks")
        _ = f.handle(.merchantVerdict(.accepted))
        #expect(lines(f) == ["Change password", "New password, 6-12 digits", "", "ENTER to confirm, CANCEL to quit"])
        // The rules are checked before the password is asked again.
        for (weak, notice) in [("123456", "No runs like 123456, 111111"), ("999999", "No runs like 123456, 111111"),
                               ("121212", "No repeats like 121212"), ("48027", "Use 6 to 12 digits")] {
            #expect(typed(&f, weak).isEmpty && press(&f, .enter).isEmpty)
            #expect(lines(f) == ["Change password", "New password, 6-12 digits", "", notice], "\(weak)")
        }
        _ = typed(&f, "480275")
        #expect(press(&f, .enter).isEmpty)
        #expect(lines(f) == ["Change password", "New password again", "", "ENTER to confirm, CANCEL to quit"])
        _ = typed(&f, "480276")
        #expect(press(&f, .enter).isEmpty, "the entries differ: nothing is saved")
        #expect(lines(f) == ["Change password", "New password, 6-12 digits", "", "Entries differ, try again"])
        _ = typed(&f, "480275")
        _ = press(&f, .enter)
        _ = typed(&f, "4802759")
        _ = press(&f, .clear)
        #expect(lines(f) == ["Change password", "New password again", "******", "ENTER to confirm, CANCEL to quit"], "CLEAR takes one back")
        #expect(press(&f, .enter) == [.changeMerchantPassword(Self.secret("480275"))])
        _ = f.handle(.tick(now: 20_000_000))
        #expect(!f.isIdle, "no deadline while the driver saves")
        _ = f.handle(.merchantPasswordChanged(.changed))
        #expect(lines(f) == ["Change password", "Password changed"])
        _ = press(&f, .enter)
        guard case .menu(let menu) = f.screen else {
            Issue.record("not back in the merchant menu: \(f.screen)")
            return
        }
        #expect(menu.title.resolve(.en) == "Merchant menu")
    }

    @Test func changeRefusedWrongOrLocked() {
        // A wrong current password: asked again with the tries left (the driver counted the failure).
        var f = changing()
        _ = typed(&f, "000000")
        _ = press(&f, .enter)
        _ = f.handle(.merchantVerdict(.rejected(attemptsLeft: 2)))
        #expect(lines(f) == ["Change password", "Current password", "", "Wrong password, 2 tries left"])
        // The fifth failure locks the menu: out to a notice, then idle.
        _ = typed(&f, "000001")
        _ = press(&f, .enter)
        _ = f.handle(.merchantVerdict(.lockedOut(secondsLeft: 300)))
        #expect(lines(f) == ["Merchant menu", "Locked, try again in 300 s"])
        _ = press(&f, .enter)
        #expect(f.isIdle)

        // The driver refuses the password in force as the new one; then a store failure.
        f = changing()
        _ = typed(&f, "123456")
        _ = press(&f, .enter)
        _ = f.handle(.merchantVerdict(.accepted))
        _ = typed(&f, "480275")
        _ = press(&f, .enter)
        _ = typed(&f, "480275")
        _ = press(&f, .enter)
        _ = f.handle(.merchantPasswordChanged(.refused(.unchanged)))
        #expect(lines(f) == ["Change password", "New password, 6-12 digits", "", "Same as the current one"])
        _ = typed(&f, "480276")
        _ = press(&f, .enter)
        _ = typed(&f, "480276")
        #expect(press(&f, .enter) == [.changeMerchantPassword(Self.secret("480276"))])
        _ = f.handle(.merchantPasswordChanged(.failed))
        #expect(lines(f) == ["Change password", "Not saved: password unchanged"])

        // CANCEL at any step goes back to the menu, on the entry; a stray answer changes nothing.
        f = changing()
        _ = typed(&f, "12")
        _ = press(&f, .cancel)
        guard case .menu(let menu) = f.screen else {
            Issue.record("not back in the merchant menu: \(f.screen)")
            return
        }
        #expect(menu.selected == 7)
        _ = f.handle(.merchantPasswordChanged(.changed))
        #expect(f.screen == .menu(menu))
        // No more than 12 digits; the screen times out to idle like any entry.
        _ = press(&f, .enter)
        _ = typed(&f, "1234567890123")
        #expect(lines(f) == ["Change password", "Current password", "************", "ENTER to confirm, CANCEL to quit"])
        _ = f.handle(.tick(now: 60_000))
        #expect(f.isIdle)
    }

    @Test(arguments: [
        ("480275", nil), ("246810", nil), ("135792", nil), ("112233", nil), ("480275193654", nil), ("000001", nil),
        ("123456", .sequence), ("654321", .sequence), ("111111", .sequence), ("890123", .sequence),
        ("210987", .sequence), ("135791", .sequence), ("123456789012", .sequence), ("000000000000", .sequence),
        ("121212", .repeated), ("123123", .repeated), ("10201020", .repeated), ("1212121", .repeated),
        ("12345", .format), ("1234567890123", .format), ("12a456", .format), ("", .format),
    ] as [(String, MerchantPassword.Weakness?)])
    func newPasswordRules(_ password: String, _ weakness: MerchantPassword.Weakness?) {
        #expect(MerchantPassword.weakness(of: Self.secret(password)) == weakness)
    }
}
