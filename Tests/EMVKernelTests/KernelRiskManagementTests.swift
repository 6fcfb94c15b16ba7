import Codecs
import EMVKernel
import Testing

@Suite struct KernelRiskManagementTests {
    func run(
        parameters: TerminalParameters = terminalParameters(), transaction tx: EMVTransaction = transaction(),
        random: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4, 0x62], logTotal: Int = 0,
        profile change: (inout CardProfile) -> Void = { _ in },
        patch: [(String, ResponseAPDU)] = []
    ) -> Harness {
        var profile = CardProfile()
        change(&profile)
        var card = profile.card()
        for (key, answer) in patch { card.set(key, [], answer) }
        var harness = Harness(parameters: parameters, transaction: tx, card: card, random: random) { action in
            if case .lookupTransactionLog = action { return .transactionLogTotal(logTotal) }
            return Harness.defaultResponse(action)
        }
        harness.run()
        return harness
    }

    @Test func skippedWhenTheCardDoesNotAskForIt() {
        let harness = run(profile: { $0.aip = h("1000") })
        #expect(!harness.actions.contains { if case .lookupTransactionLog = $0 { true } else { false } })
        #expect(harness.outcome?.tsi.contains(.terminalRiskManagementPerformed) == false)
    }

    @Test func transactionLogIsLookedUpByPAN() {
        let harness = run()
        #expect(harness.actions.contains(.lookupTransactionLog(pan: "4761739001010010")))
        #expect(harness.outcome?.tsi.contains(.terminalRiskManagementPerformed) == true)
    }

    @Test(arguments: [
        (5_000, 0, false), (5_000, 4_999, false), (5_000, 5_000, true), (10_000, 0, true), (9_999, 0, false),
    ])
    func floorLimitWithSplitSales(_ amount: Int, _ logTotal: Int, _ exceeds: Bool) {
        let harness = run(transaction: transaction(amount: amount), logTotal: logTotal)
        #expect(harness.tvr.contains(.transactionExceedsFloorLimit) == exceeds)
    }

    /// Threshold 10.00, target 20 %, maximum 50 %, floor limit 100.00; the random number is byte % 99 + 1.
    @Test(arguments: [
        (500, UInt8(19), true),  // below the threshold: 20 <= 20
        (500, 20, false),  // 21 > 20
        (5_500, 34, true),  // halfway: target 35 %, number 35
        (5_500, 35, false),  // 36
        (1_000, 19, true),  // at the threshold: 20 %
        (9_999, 48, true),  // just under the floor: ~49.99 %, number 49
        (9_999, 49, false),  // number 50
        (10_000, 0, false),  // at the floor limit: no random selection
    ])
    func randomTransactionSelection(_ amount: Int, _ randomByte: UInt8, _ selected: Bool) {
        let parameters = terminalParameters(randomThreshold: 1_000, randomTarget: 20, randomMaximum: 50)
        let harness = run(
            parameters: parameters, transaction: transaction(amount: amount),
            random: [0xA1, 0xB2, 0xC3, 0xD4, randomByte])
        #expect(harness.tvr.contains(.selectedRandomlyForOnlineProcessing) == selected)
    }

    func velocity(atc: ResponseAPDU, lastOnline: ResponseAPDU) -> Harness {
        run(
            profile: {
                $0.lcol = [0x02]
                $0.ucol = [0x04]
            }, patch: [("80CA9F36", atc), ("80CA9F13", lastOnline)])
    }

    @Test func velocityWithinLimits() {
        let harness = velocity(atc: ok(h("9F36020007")), lastOnline: ok(h("9F13020005")))
        #expect(harness.commandKeys.contains("80CA9F36"))
        #expect(harness.commandKeys.contains("80CA9F13"))
        #expect(harness.tvr.bytes[3] & 0x60 == 0)
        #expect(!harness.tvr.contains(.newCard))
    }

    @Test func lowerLimitExceeded() {
        let harness = velocity(atc: ok(h("9F36020008")), lastOnline: ok(h("9F13020005")))
        #expect(harness.tvr.contains(.lowerConsecutiveOfflineLimitExceeded))
        #expect(!harness.tvr.contains(.upperConsecutiveOfflineLimitExceeded))
    }

    @Test func upperLimitExceeded() {
        let harness = velocity(atc: ok(h("9F3602000A")), lastOnline: ok(h("9F13020005")))
        #expect(harness.tvr.contains([.lowerConsecutiveOfflineLimitExceeded, .upperConsecutiveOfflineLimitExceeded]))
    }

    @Test func newCard() {
        let harness = velocity(atc: ok(h("9F36020001")), lastOnline: ok(h("9F13020000")))
        #expect(harness.tvr.contains(.newCard))
    }

    @Test(arguments: [
        (sw(0x6A88), ok(h("9F13020005"))), (ok(h("9F36020007")), sw(0x6A88)), (ok(h("9F360107")), ok(h("9F13020005"))),
        (ok(h("9F36020003")), ok(h("9F13020005"))),
    ])
    func countersUnavailableOrInconsistentSetBothBits(_ atc: ResponseAPDU, _ lastOnline: ResponseAPDU) {
        let harness = velocity(atc: atc, lastOnline: lastOnline)
        #expect(harness.tvr.contains([.lowerConsecutiveOfflineLimitExceeded, .upperConsecutiveOfflineLimitExceeded]))
        #expect(!harness.tvr.contains(.newCard))
    }

    @Test func noVelocityCheckWithoutLimits() {
        let harness = run()
        #expect(!harness.commandKeys.contains("80CA9F36"))
    }

    @Test func exceptionFile() {
        let listed = run(parameters: terminalParameters(exceptionFile: ["4761739001010010"]))
        #expect(listed.tvr.contains(.cardOnExceptionFile))
        let declined = run(
            parameters: terminalParameters(tacDenial: h("1000000000"), exceptionFile: ["4761739001010010"]))
        #expect(declined.decision == .declinedOffline)
        #expect(declined.generateACReferenceControls == [0x00])
        #expect(!run().tvr.contains(.cardOnExceptionFile))
    }
}

@Suite struct KernelActionAnalysisTests {
    func run(
        parameters: TerminalParameters = terminalParameters(), transaction tx: EMVTransaction = transaction(),
        profile change: (inout CardProfile) -> Void = { _ in }, patch: [(String, ResponseAPDU)] = []
    ) -> Harness {
        var profile = CardProfile()
        change(&profile)
        var card = profile.card()
        for (key, answer) in patch { card.set(key, [], answer) }
        var harness = Harness(parameters: parameters, transaction: tx, card: card)
        harness.run()
        return harness
    }

    // Every default card leaves "offline data authentication was not performed" set (TVR 80 00 00 00 00).

    @Test func cleanTransactionAsksForATC() {
        let harness = run()
        #expect(harness.tvr == .offlineDataAuthenticationNotPerformed)
        #expect(harness.generateACReferenceControls == [0x40])
        #expect(harness.decision == .approvedOffline)
        #expect(harness.outcome?.tsi.contains(.cardRiskManagementPerformed) == true)
    }

    @Test func terminalActionCodeDenial() {
        let harness = run(parameters: terminalParameters(tacDenial: h("8000000000")))
        #expect(harness.generateACReferenceControls == [0x00])
        #expect(harness.decision == .declinedOffline)
        #expect(harness.messages.last == .declined)
    }

    @Test func issuerActionCodeDenial() {
        let harness = run(profile: { $0.iacDenial = h("8000000000") })
        #expect(harness.generateACReferenceControls == [0x00])
        #expect(harness.decision == .declinedOffline)
    }

    @Test func terminalActionCodeOnline() {
        let harness = run(parameters: terminalParameters(tacOnline: h("8000000000")))
        #expect(harness.generateACReferenceControls == [0x80, 0x40])
        #expect(harness.decision == .approvedOnline)
    }

    @Test func absentIssuerActionCodeOnlineMeansAllBits() {
        let harness = run(profile: { $0.iacOnline = nil })
        #expect(harness.generateACReferenceControls.first == 0x80)
    }

    @Test func cdol1DataCarriesTheTVRAtThatMoment() throws {
        let harness = run()
        let genAC = try #require(harness.commands.first { $0.ins == 0xAE })
        // 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37
        #expect(genAC.data == h("000000005000 000000000000 0156 8000000000 0156 261127 00 A1B2C3D4"))
    }

    @Test(arguments: [(h("8000000000"), UInt8(0x00)), (h("0000000000"), UInt8(0x40))])
    func offlineOnlyTerminalUsesDefaultCodes(_ tacDefault: [UInt8], _ p1: UInt8) {
        let harness = run(
            parameters: terminalParameters(terminalType: 0x23, tacOnline: h("FFFFFFFFFF"), tacDefault: tacDefault))
        #expect(harness.generateACReferenceControls == [p1])
        #expect(!harness.actions.contains { if case .goOnline = $0 { true } else { false } })
    }

    @Test func offlineOnlyTerminalAnswersAnARQCWithTheDefaultCodes() {
        var card = CardProfile().card()
        card.set("80AE4000", [], ok(CardProfile.generateAC(cid: 0x80)), ok(CardProfile.generateAC(cid: 0x40)))
        var harness = Harness(parameters: terminalParameters(terminalType: 0x23), card: card)
        harness.run()
        #expect(!harness.actions.contains { if case .goOnline = $0 { true } else { false } })
        #expect(harness.generateACReferenceControls == [0x40, 0x40])
        #expect(harness.commands.last?.data.prefix(2) == ascii("Y3")[...])
        #expect(harness.outcome?.unableToGoOnline == true)
        #expect(harness.decision == .approvedOffline)
    }

    @Test func onlineOnlyTerminalAlwaysAsksForARQC() {
        let harness = run(parameters: terminalParameters(terminalType: 0x21))
        #expect(harness.generateACReferenceControls.first == 0x80)
    }

    @Test func merchantForcedOnline() {
        let harness = run(transaction: transaction(forceOnline: true))
        #expect(harness.tvr.contains(.merchantForcedOnline))
        #expect(harness.generateACReferenceControls.first == 0x80)
    }

    @Test func cardDeclinesOffline() {
        let harness = run(patch: [("80AE4000", ok(CardProfile.generateAC(cid: 0x00)))])
        #expect(harness.decision == .declinedOffline)
        #expect(harness.outcome?.cardData?.cid == 0x00)
    }

    @Test func cardAsksForOnlineWhenTCWasRequested() {
        var card = CardProfile().card()
        card.set("80AE4000", [], ok(CardProfile.generateAC(cid: 0x80)), ok(CardProfile.generateAC(cid: 0x40)))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.actions.contains { if case .goOnline = $0 { true } else { false } })
        #expect(harness.decision == .approvedOnline)
    }

    @Test(arguments: [0x40, 0xC0] as [UInt8])
    func cardAnsweringAHigherOrRFUCryptogramIsACardError(_ cid: UInt8) {
        let harness = run(
            parameters: terminalParameters(tacOnline: h("8000000000")),
            patch: [("80AE8000", ok(CardProfile.generateAC(cid: cid)))])
        #expect(harness.decision == .aborted(.cardError("GENERATE AC cryptogram type")))
    }

    @Test func adviceRequested() {
        let harness = run(patch: [("80AE4000", ok(CardProfile.generateAC(cid: 0x08)))])
        #expect(harness.decision == .declinedOffline)
        #expect(harness.outcome?.needsAdvice == true)
    }

    @Test func formatOneResponse() {
        let harness = run(patch: [("80AE4000", ok(tlv(0x80, h("40 0007 1122334455667788 06010A03A00000"))))])
        #expect(harness.decision == .approvedOffline)
        #expect(harness.outcome?.cardData?.atc == h("0007"))
        #expect(harness.outcome?.cardData?.cryptogram == h("1122334455667788"))
    }

    @Test(arguments: [h("8005 4000071122"), h("7703 9F2701"), h("770A 9F270140 9F3602 0001"), h("")])
    func malformedGenerateACResponse(_ data: [UInt8]) {
        let harness = run(patch: [("80AE4000", ok(data))])
        #expect(harness.decision == .aborted(.malformedData("GENERATE AC response")))
    }

    @Test func signatureWithoutCDARequestedIsNoCryptogram() {
        let answer = tlv(
            0x77, children: [tlv(0x9F27, [0x40]), tlv(0x9F36, h("0001")), tlv(0x9F4B, h("0102030405060708"))])
        let harness = run(patch: [("80AE4000", ok(answer))])
        #expect(harness.decision == .aborted(.malformedData("GENERATE AC without a cryptogram")))
    }

    @Test func generateACErrorStatus() {
        let harness = run(patch: [("80AE4000", sw(0x6985))])
        #expect(harness.decision == .aborted(.cardError("GENERATE AC 6985")))
    }
}
