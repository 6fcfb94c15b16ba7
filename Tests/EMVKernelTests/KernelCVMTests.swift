import Codecs
import EMVKernel
import Testing

@Suite struct KernelCVMTests {
    func run(
        cvmList: [UInt8]?, aip: [UInt8] = h("1800"), capabilities: [UInt8] = h("E0F8C8"),
        transaction tx: EMVTransaction = transaction(), currency: [UInt8]? = h("0156"),
        patch: [(String, ResponseAPDU)] = [],
        respond: @escaping (KernelAction) -> KernelEvent? = Harness.defaultResponse
    ) -> Harness {
        var profile = CardProfile()
        profile.cvmList = cvmList
        profile.aip = aip
        profile.applicationCurrency = currency
        var card = profile.card()
        card.set("80CA9F17", [], ok(h("9F170103")))
        for (key, answer) in patch { card.set(key, [], answer) }
        var harness = Harness(
            parameters: terminalParameters(capabilities: capabilities), transaction: tx, card: card, respond: respond)
        harness.run()
        return harness
    }

    static let amounts = "00002710 00000BB8"  // X = 100.00, Y = 30.00

    @Test func cardWithoutCardholderVerification() {
        let harness = run(cvmList: h(Self.amounts + "0100"), aip: h("0800"))
        #expect(harness.outcome?.cvmResults == h("3F0000"))
        #expect(harness.outcome?.tsi.contains(.cardholderVerificationPerformed) == false)
        #expect(!harness.commandKeys.contains("80CA9F17"))
    }

    @Test func missingCVMListIsICCDataMissing() {
        let harness = run(cvmList: nil)
        #expect(harness.outcome?.cvmResults == h("3F0000"))
        #expect(harness.tvr.contains(.iccDataMissing))
        #expect(harness.outcome?.tsi.contains(.cardholderVerificationPerformed) == false)
    }

    @Test func noCVMRequired() {
        let harness = run(cvmList: h(Self.amounts + "1F00"))
        #expect(harness.outcome?.cvmResults == h("1F0002"))
        #expect(harness.outcome?.tsi.contains(.cardholderVerificationPerformed) == true)
        #expect(harness.tvr.bytes[2] == 0)
    }

    @Test func signature() {
        let harness = run(cvmList: h(Self.amounts + "1E03"))
        #expect(harness.outcome?.cvmResults == h("1E0300"))
        #expect(harness.outcome?.signatureRequired == true)
    }

    @Test func failCVMProcessing() {
        let harness = run(cvmList: h(Self.amounts + "0000 1F00"))
        #expect(harness.outcome?.cvmResults == h("000001"))
        #expect(harness.tvr.contains(.cardholderVerificationNotSuccessful))
    }

    @Test func noRuleApplies() {
        let harness = run(cvmList: h(Self.amounts + "1E01 1E04"))
        #expect(harness.outcome?.cvmResults == h("3F0001"))
        #expect(harness.tvr.contains(.cardholderVerificationNotSuccessful))
    }

    @Test func unrecognisedCVMWithAndWithoutSucceedingRule() {
        let next = run(cvmList: h(Self.amounts + "6000 1F00"))
        #expect(next.tvr.contains(.unrecognisedCVM))
        #expect(next.outcome?.cvmResults == h("1F0002"))
        #expect(!next.tvr.contains(.cardholderVerificationNotSuccessful))
        let stop = run(cvmList: h(Self.amounts + "2000 1F00"))
        #expect(stop.outcome?.cvmResults == h("200001"))
        #expect(stop.tvr.contains([.unrecognisedCVM, .cardholderVerificationNotSuccessful]))
    }

    @Test func cvmTheTerminalDoesNotSupportFails() {
        // No signature in Terminal Capabilities byte 2.
        let harness = run(cvmList: h(Self.amounts + "1E00"), capabilities: h("E0D8C8"))
        #expect(harness.outcome?.cvmResults == h("1E0001"))
        #expect(harness.outcome?.signatureRequired == false)
        let skipped = run(cvmList: h(Self.amounts + "1E03 1F00"), capabilities: h("E0D8C8"))
        #expect(skipped.outcome?.cvmResults == h("1F0002"))
    }

    @Test func pinWithoutAPINPad() {
        let harness = run(cvmList: h(Self.amounts + "4100 1E00"), capabilities: h("E028C8"))
        #expect(harness.tvr.contains(.pinPadNotPresentOrNotWorking))
        #expect(harness.outcome?.cvmResults == h("1E0000"))
    }

    /// Condition codes (Book 3 Annex C3): a signature rule with the condition, then "no CVM"; the signature rule
    /// applies when the condition is met. Amount 50.00, X = 100.00, Y = 30.00.
    @Test(arguments: [
        (UInt8(0x00), EMVTransaction.TransactionType.purchase, true),
        (0x01, .purchase, false),
        (0x02, .purchase, true), (0x02, .cashback, false),
        (0x03, .purchase, true),
        (0x04, .purchase, false),
        (0x05, .purchase, false), (0x05, .cashback, true),
        (0x06, .purchase, true), (0x07, .purchase, false), (0x08, .purchase, false), (0x09, .purchase, true),
        (0x0A, .purchase, false), (0x7F, .purchase, false),
    ])
    func conditionCode(_ condition: UInt8, _ type: EMVTransaction.TransactionType, _ applies: Bool) {
        let tx = transaction(amount: 5_000, other: type == .cashback ? 500 : 0, type: type)
        let harness = run(cvmList: h(Self.amounts) + [0x1E, condition] + h("1F00"), transaction: tx)
        #expect(harness.outcome?.cvmResults == (applies ? [0x1E, condition, 0x00] : h("1F0002")))
    }

    /// A refund ('9C' = '20') performs no cardholder verification whatever the CVM list asks (no PIN for a refund):
    /// CVM Results '3F0000', no PIN entry, no VERIFY, and the first GENERATE AC asks for an AAC.
    @Test func refundPerformsNoCardholderVerification() {
        let harness = run(cvmList: h(Self.amounts + "4103 1E03 1F00"), transaction: transaction(amount: 5_000, type: .refund))
        #expect(harness.outcome?.cvmResults == h("3F0000"))
        #expect(harness.outcome?.decision == .declinedOffline)
        #expect(!harness.actions.contains { if case .verifyOfflinePIN = $0 { true } else { false } })
        #expect(!harness.commands.contains { $0.ins == 0x20 || $0.ins == 0xCA })
        #expect(harness.commands.filter { $0.ins == 0xAE }.map(\.p1) == [0x00], "one GENERATE AC, AAC")
    }

    @Test(arguments: [UInt8(0x06), 0x07, 0x08, 0x09])
    func amountConditionsNeedTheApplicationCurrency(_ condition: UInt8) {
        let other = run(cvmList: h(Self.amounts) + [0x1E, condition] + h("1F00"), currency: h("0840"))
        #expect(other.outcome?.cvmResults == h("1F0002"))
        let none = run(cvmList: h(Self.amounts) + [0x1E, condition] + h("1F00"), currency: nil)
        #expect(none.outcome?.cvmResults == h("1F0002"))
    }

    @Test func amountBoundaries() {
        // Exactly X is neither under nor over X.
        let under = run(cvmList: h(Self.amounts) + h("1E06 1F00"), transaction: transaction(amount: 10_000))
        #expect(under.outcome?.cvmResults == h("1F0002"))
        let over = run(cvmList: h(Self.amounts) + h("1E07 1F00"), transaction: transaction(amount: 10_001))
        #expect(over.outcome?.cvmResults == h("1E0700"))
    }

    // MARK: Online PIN

    @Test func onlinePINEntered() throws {
        var request: OnlineRequest?
        let harness = run(cvmList: h(Self.amounts + "0200"), transaction: transaction(forceOnline: true)) { action in
            if case .goOnline(let r) = action { request = r }
            return Harness.defaultResponse(action)
        }
        #expect(harness.actions.contains(.enterOnlinePIN(pan: "4761739001010010")))
        #expect(harness.outcome?.cvmResults == h("020000"))
        #expect(harness.tvr.contains(.onlinePINEntered))
        #expect(try #require(request).onlinePINRequested)
    }

    @Test func onlinePINBypassedFallsToTheNextRule() {
        let harness = run(cvmList: h(Self.amounts + "4200 1E00")) { action in
            if case .enterOnlinePIN = action { return .onlinePIN(.bypassed) }
            return Harness.defaultResponse(action)
        }
        #expect(harness.tvr.contains(.pinNotEntered))
        #expect(!harness.tvr.contains(.onlinePINEntered))
        #expect(harness.outcome?.cvmResults == h("1E0000"))
    }

    @Test func onlinePINBypassedWithoutSucceedingRuleFails() {
        let harness = run(cvmList: h(Self.amounts + "0200 1E00")) { action in
            if case .enterOnlinePIN = action { return .onlinePIN(.bypassed) }
            return Harness.defaultResponse(action)
        }
        #expect(harness.outcome?.cvmResults == h("020001"))
        #expect(harness.tvr.contains([.pinNotEntered, .cardholderVerificationNotSuccessful]))
    }

    @Test(arguments: [(PINEntryResult.cancelled, AbortReason.pinEntryCancelled), (.timedOut, .timeout)])
    func onlinePINCancelledOrTimedOut(_ result: PINEntryResult, _ reason: AbortReason) {
        let harness = run(cvmList: h(Self.amounts + "0200")) { action in
            if case .enterOnlinePIN = action { return .onlinePIN(result) }
            return Harness.defaultResponse(action)
        }
        #expect(harness.decision == .aborted(reason))
        #expect(!harness.commandKeys.contains { $0.hasPrefix("80AE") })
    }

    // MARK: Offline PIN

    @Test func plaintextOfflinePINVerified() {
        let harness = run(cvmList: h(Self.amounts + "0100"))
        #expect(harness.commandKeys.contains("80CA9F17"))
        #expect(harness.actions.contains(.verifyOfflinePIN(.plaintext)))
        #expect(harness.messages.contains(.pinOK))
        #expect(harness.outcome?.cvmResults == h("010002"))
        #expect(harness.tvr.bytes[2] == 0)
    }

    @Test func plaintextPINAndSignature() {
        let harness = run(cvmList: h(Self.amounts + "0300"))
        #expect(harness.outcome?.cvmResults == h("030000"))
        #expect(harness.outcome?.signatureRequired == true)
    }

    @Test func wrongPINThenRightPIN() {
        var answers: [StatusWord] = [StatusWord(rawValue: 0x63C2), StatusWord(rawValue: 0x63C1), .normalProcessing]
        let harness = run(cvmList: h(Self.amounts + "0100")) { action in
            if case .verifyOfflinePIN = action { return .offlinePINVerified(answers.removeFirst()) }
            return Harness.defaultResponse(action)
        }
        #expect(
            harness.messages.filter { if case .incorrectPIN = $0 { true } else { false } } == [
                .incorrectPIN(triesLeft: 2), .incorrectPIN(triesLeft: 1),
            ])
        #expect(harness.messages.contains(.lastPINTry))
        #expect(harness.actions.filter { $0 == .verifyOfflinePIN(.plaintext) }.count == 3)
        #expect(harness.outcome?.cvmResults == h("010002"))
    }

    @Test(arguments: [0x6983, 0x6984, 0x63C0] as [UInt16])
    func pinBlockedDuringVerify(_ status: UInt16) {
        let harness = run(cvmList: h(Self.amounts + "0100")) { action in
            if case .verifyOfflinePIN = action { return .offlinePINVerified(StatusWord(rawValue: status)) }
            return Harness.defaultResponse(action)
        }
        #expect(harness.messages.contains(.pinBlocked))
        #expect(harness.tvr.contains([.pinTryLimitExceeded, .cardholderVerificationNotSuccessful]))
        #expect(harness.outcome?.cvmResults == h("010001"))
    }

    @Test func pinTryCounterZeroSkipsPINEntry() {
        let harness = run(cvmList: h(Self.amounts + "4100 1E00"), patch: [("80CA9F17", ok(h("9F170100")))])
        #expect(!harness.actions.contains { if case .verifyOfflinePIN = $0 { true } else { false } })
        #expect(harness.tvr.contains(.pinTryLimitExceeded))
        #expect(harness.outcome?.cvmResults == h("1E0000"))
    }

    @Test func pinTryCounterOneWarnsOfTheLastTry() {
        let harness = run(cvmList: h(Self.amounts + "0100"), patch: [("80CA9F17", ok(h("9F170101")))])
        #expect(harness.messages.first == .lastPINTry)
        #expect(harness.outcome?.cvmResults == h("010002"))
    }

    @Test func pinTryCounterUnavailableStillAsksForThePIN() {
        let harness = run(cvmList: h(Self.amounts + "0100"), patch: [("80CA9F17", sw(0x6A88))])
        #expect(harness.actions.contains(.verifyOfflinePIN(.plaintext)))
        #expect(harness.outcome?.cvmResults == h("010002"))
    }

    @Test(arguments: [
        (PINEntryResult.bypassed, TerminalVerificationResults.pinNotEntered),
        (.pinPadNotWorking, .pinPadNotPresentOrNotWorking),
    ])
    func offlinePINNotEntered(_ result: PINEntryResult, _ bit: TerminalVerificationResults) {
        let harness = run(cvmList: h(Self.amounts + "4100 1F00")) { action in
            if case .verifyOfflinePIN = action { return .offlinePINNotEntered(result) }
            return Harness.defaultResponse(action)
        }
        #expect(harness.tvr.contains(bit))
        #expect(harness.outcome?.cvmResults == h("1F0002"))
    }

    @Test func offlinePINCancelled() {
        let harness = run(cvmList: h(Self.amounts + "0100")) { action in
            if case .verifyOfflinePIN = action { return .offlinePINNotEntered(.cancelled) }
            return Harness.defaultResponse(action)
        }
        #expect(harness.decision == .aborted(.pinEntryCancelled))
    }

    @Test func encipheredOfflinePINWithoutARecoverableKeyFails() {
        // The card has no certificates: no key for the PIN, so the CVM fails and the next rule applies.
        let harness = run(cvmList: h(Self.amounts + "4400 1E00"))
        #expect(!harness.commandKeys.contains("00840000"))
        #expect(harness.outcome?.cvmResults == h("1E0000"))
    }
}
