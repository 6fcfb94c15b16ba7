import Codecs
import EMVKernel
import Testing

@Suite struct KernelSelectionTests {
    let pse = ScriptedCard.key("00A40400", ascii("1PAY.SYS.DDF01"))

    @Test func pseDirectoryFindsTheApplication() {
        var harness = Harness(card: CardProfile().card(pse: true))
        harness.run()
        #expect(harness.decision == .approvedOffline)
        #expect(
            Array(harness.commandKeys.prefix(5)) == [
                pse, "00B2015C", "00B2025C", ScriptedCard.key("00A40400", visaAID), "80A80000",
            ])
        #expect(!harness.actions.contains { if case .chooseApplication = $0 { true } else { false } })
    }

    @Test(arguments: [0x6A82, 0x6A81, 0x6283, 0x6F00] as [UInt16])
    func listOfAIDsWhenThePSEIsMissingBlockedOrRefused(_ status: UInt16) {
        var card = CardProfile().card()
        card.set("00A40400", ascii("1PAY.SYS.DDF01"), sw(status))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .approvedOffline)
        #expect(
            Array(harness.commandKeys.prefix(4)) == [
                pse, ScriptedCard.key("00A40400", h("A000000003")), ScriptedCard.key("00A40402", h("A000000003")),
                ScriptedCard.key("00A40400", visaAID),
            ])
    }

    @Test func pseWithoutMatchingEntriesFallsBackToTheList() {
        var card = CardProfile().card(pse: true)
        card.set(
            "00B2015C", [], ok(tlv(0x70, children: [tlv(0x61, children: [tlv(0x4F, h("B0000000010101"))])])))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .approvedOffline)
        #expect(harness.commandKeys.contains(ScriptedCard.key("00A40400", h("A000000003"))))
    }

    @Test func malformedDirectoryRecordFallsBackToTheList() {
        var card = CardProfile().card(pse: true)
        card.set("00B2015C", [], ok(h("7005 6103 4F")))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .approvedOffline)
        #expect(harness.commandKeys.contains(ScriptedCard.key("00A40400", h("A000000003"))))
    }

    /// Two applications share the terminal's AID prefix: partial selection with SELECT next, ordered by priority.
    func twoApplicationCard(firstPriority: UInt8 = 0x02, secondPriority: UInt8 = 0x01) -> ScriptedCard {
        var credit = CardProfile()
        credit.priority = firstPriority
        var electron = CardProfile()
        electron.aid = visaElectronAID
        electron.label = "VISA ELECTRON"
        electron.priority = secondPriority
        var card = credit.card()
        card.set("00A40400", h("A000000003"), ok(credit.fci))
        card.set("00A40402", h("A000000003"), ok(electron.fci), sw(0x6A82))
        card.set("00A40400", visaElectronAID, ok(electron.fci))
        return card
    }

    @Test func partialSelectionOffersBothInPriorityOrder() throws {
        var offered: [ApplicationCandidate] = []
        var harness = Harness(card: twoApplicationCard()) { action in
            if case .chooseApplication(let list) = action {
                offered = list
                return .applicationChosen(index: 0)
            }
            return Harness.defaultResponse(action)
        }
        harness.run()
        #expect(offered.map(\.aid) == [visaElectronAID, visaAID])
        #expect(offered.map(\.label) == ["VISA ELECTRON", "VISA CREDIT"])
        #expect(offered.map(\.priority) == [1, 2])
        #expect(harness.outcome?.cardData?.aid == visaElectronAID)
        #expect(harness.decision == .approvedOffline)
    }

    @Test func exactMatchOnlyWhenPartialSelectionIsNotAllowed() {
        var harness = Harness(parameters: terminalParameters(partial: false), card: CardProfile().card())
        harness.run()
        #expect(harness.decision == .aborted(.notAccepted))
        #expect(harness.messages == [.notAccepted])
        #expect(!harness.commandKeys.contains(ScriptedCard.key("00A40402", h("A000000003"))))
    }

    @Test func exactTerminalAIDMatches() {
        let app = ApplicationParameters(
            aid: visaAID, allowsPartialSelection: false, name: "VISA", applicationVersions: [h("008C")],
            tacDenial: h("0000000000"), tacOnline: h("0000000000"), tacDefault: h("0000000000"), floorLimit: 10_000,
            randomSelectionThreshold: 0, randomSelectionTargetPercentage: 0, randomSelectionMaximumTargetPercentage: 0,
            defaultDDOL: h("9F3704"), defaultTDOL: [])
        var harness = Harness(parameters: terminalParameters(applications: [app]), card: CardProfile().card())
        harness.run()
        #expect(harness.decision == .approvedOffline)
        #expect(
            Array(harness.commandKeys.prefix(3)) == [
                pse, ScriptedCard.key("00A40400", visaAID), ScriptedCard.key("00A40400", visaAID),
            ])
    }

    @Test func blockedApplicationIsSkipped() {
        var card = CardProfile().card()
        card.set(
            "00A40400", h("A000000003"), ResponseAPDU(data: CardProfile().fci, statusWord: .selectedFileInvalidated))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .aborted(.notAccepted))
    }

    @Test func cardAnswering6A81EverywhereIsNotAccepted() {
        var card = ScriptedCard()
        card.set("00A40400", ascii("1PAY.SYS.DDF01"), sw(0x6A81))
        card.set("00A40400", h("A000000003"), sw(0x6A81))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .aborted(.notAccepted))
        #expect(harness.commandKeys.count == 2)
    }

    @Test func confirmationRequiredAndCancelled() {
        var profile = CardProfile()
        profile.priority = 0x81
        var offered: [ApplicationCandidate] = []
        var harness = Harness(card: profile.card()) { action in
            if case .chooseApplication(let list) = action {
                offered = list
                return .applicationChosen(index: nil)
            }
            return Harness.defaultResponse(action)
        }
        harness.run()
        #expect(offered.count == 1)
        #expect(offered.first?.needsConfirmation == true)
        #expect(harness.decision == .aborted(.cancelled))
        #expect(harness.outcome?.cardData == nil)
    }

    @Test func failedFinalSelectRemovesTheCandidateAndRetries() {
        var card = twoApplicationCard()
        card.set("00A40400", visaElectronAID, sw(0x6283))
        var offers = 0
        var harness = Harness(card: card) { action in
            if case .chooseApplication = action { offers += 1 }
            return Harness.defaultResponse(action)
        }
        harness.run()
        #expect(offers == 1)
        #expect(harness.messages.contains(.tryAgain))
        #expect(harness.outcome?.cardData?.aid == visaAID)
        #expect(harness.decision == .approvedOffline)
    }

    @Test func finalSelectWithAnotherDFNameIsRefused() {
        var other = CardProfile()
        other.aid = visaElectronAID
        var card = CardProfile().card()
        card.set("00A40400", visaAID, ok(other.fci))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .aborted(.notAccepted))
        #expect(harness.messages == [.notAccepted])
    }

    @Test(arguments: [("zhen", "zh"), ("enzh", "en"), ("fren", "en"), ("deit", "zh"), ("ZH", "zh")])
    func languageFromTheCardsPreference(_ preference: String, _ expected: String) {
        var profile = CardProfile()
        profile.languages = preference
        var harness = Harness(card: profile.card())
        harness.run()
        #expect(harness.actions.contains(.selectedLanguage(expected)))
    }

    @Test func gpoConditionsNotSatisfiedReturnsToSelection() {
        var card = twoApplicationCard()
        // The electron application refuses GPO; credit accepts (the key is the same command, so queue answers).
        card.set("80A80000", [], sw(0x6985), ok(CardProfile().gpo))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.messages.contains(.tryAgain))
        #expect(harness.outcome?.cardData?.aid == visaAID)
        #expect(harness.decision == .approvedOffline)
    }

    @Test func gpoConditionsNotSatisfiedOnTheOnlyApplication() {
        var card = CardProfile().card()
        card.set("80A80000", [], sw(0x6985))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .aborted(.notAccepted))
    }
}
