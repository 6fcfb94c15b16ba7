import Codecs
import EMVKernel
import Testing

@Suite struct KernelOnlineTests {
    /// A card and terminal that go online (TAC online matches "ODA not performed").
    func harness(
        aip: [UInt8] = h("1800"), answer: OnlineResponse? = OnlineResponse(responseCode: "00"),
        unavailable: Bool = false, tacDefault: [UInt8] = h("0000000000"), patch: (inout ScriptedCard) -> Void = { _ in }
    ) -> Harness {
        var profile = CardProfile()
        profile.aip = aip
        var card = profile.card()
        patch(&card)
        return Harness(parameters: terminalParameters(tacOnline: h("8000000000"), tacDefault: tacDefault), card: card) {
            action in
            if case .goOnline = action {
                if unavailable { return .onlineUnavailable }
                return answer.map { .onlineResponse($0) }
            }
            return Harness.defaultResponse(action)
        }
    }

    var secondGenerateAC: (Harness) -> CommandAPDU? { { $0.commands.last { $0.ins == 0xAE } } }

    @Test func approvedOnline() throws {
        var request: OnlineRequest?
        var h0 = harness()
        let respond = h0.respond
        h0.respond = { action in
            if case .goOnline(let r) = action { request = r }
            return respond(action)
        }
        h0.run()
        #expect(h0.decision == .approvedOnline)
        #expect(h0.generateACReferenceControls == [0x80, 0x40])
        #expect(h0.messages.last == .approved)
        let r = try #require(request)
        #expect(r.pan == "4761739001010010")
        #expect(r.panSequenceNumber == 1)
        #expect(r.expiry == EMVDate(year: 2030, month: 12, day: 31))
        #expect(r.track2Equivalent == h("4761739001010010D30122011143804400000F"))
        #expect(r.cardholderName == "TEST/CARD")
        #expect(r.aid == visaAID)
        #expect(!r.onlinePINRequested)
        let field55 = try TLVNode.sequence(tlvEncoded: r.iccData)
        #expect(
            field55.map(\.tag.description) == [
                "9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82", "9F1A", "9F03", "9F33",
                "9F34", "9F35", "9F1E", "84", "9F09", "9F41", "5F34",
            ])
        #expect(field55.first { $0.tag == TLVTag(0x9F27) }.map { Array($0.value) } == [0x80])
        // CDOL2: 8A 95 9F37 91(10, zero-filled: no issuer authentication data)
        let cdol2 = try #require(secondGenerateAC(h0)).data
        #expect(cdol2 == h("3030 8000000000 A1B2C3D4 00000000000000000000"))
        #expect(h0.outcome?.needsReversal == false)
    }

    @Test func declinedOnline() {
        var h0 = harness(answer: OnlineResponse(responseCode: "05"))
        h0.run()
        #expect(h0.generateACReferenceControls == [0x80, 0x00])
        #expect(h0.decision == .declinedOnline)
        #expect(secondGenerateAC(h0)?.data.prefix(2) == h("3035")[...])
    }

    @Test func hostApprovesCardDeclines() {
        var h0 = harness { $0.set("80AE4000", [], ok(CardProfile.generateAC(cid: 0x00))) }
        h0.run()
        #expect(h0.decision == .declinedByCardAfterOnlineApproval)
        #expect(h0.outcome?.needsReversal == true)
        #expect(h0.messages.last == .declined)
    }

    @Test func secondGenerateACFailureAfterApprovalNeedsReversal() {
        var h0 = harness { $0.set("80AE4000", [], sw(0x6F00)) }
        h0.run()
        #expect(h0.decision == .aborted(.cardError("second GENERATE AC 6F00")))
        #expect(h0.outcome?.needsReversal == true)
    }

    @Test func cardRemovedAfterOnlineApproval() {
        var h0 = harness(answer: nil)
        h0.run()
        #expect(h0.outcome == nil)
        h0.stopBeforeINS = 0xAE
        h0.send(.onlineResponse(OnlineResponse(responseCode: "00")))
        #expect(h0.outcome == nil)
        h0.send(.cardRemoved)
        #expect(h0.decision == .aborted(.cardRemoved))
        #expect(h0.outcome?.needsReversal == true)
        #expect(h0.outcome?.cardData?.pan == "4761739001010010")
    }

    @Test func cardRemovedBeforeTheHostAnsweredNeedsNoReversal() {
        var h0 = harness(answer: nil)
        h0.run()
        h0.send(.cardRemoved)
        #expect(h0.decision == .aborted(.cardRemoved))
        #expect(h0.outcome?.needsReversal == false)
        #expect(h0.messages.isEmpty)
    }

    @Test func cardRemovedDuringSelection() {
        var h0 = harness()
        h0.stopBeforeINS = 0xA8
        h0.run()
        h0.send(.cardRemoved)
        #expect(h0.decision == .aborted(.cardRemoved))
        #expect(h0.outcome?.cardData == nil)
    }

    @Test(arguments: [
        (h("0000000000"), "Y3", UInt8(0x40), KernelDecision.approvedOffline),
        (h("8000000000"), "Z3", 0x00, .declinedOffline),
    ])
    func unableToGoOnline(_ tacDefault: [UInt8], _ code: String, _ p1: UInt8, _ decision: KernelDecision) {
        var h0 = harness(unavailable: true, tacDefault: tacDefault)
        h0.run()
        #expect(h0.generateACReferenceControls == [0x80, p1])
        #expect(secondGenerateAC(h0)?.data.prefix(2) == ascii(code)[...])
        #expect(h0.decision == decision)
        #expect(h0.outcome?.unableToGoOnline == true)
    }

    // MARK: Issuer authentication

    @Test func externalAuthenticateWhenTheCardSupportsIt() throws {
        let iad = h("11223344556677883030")
        var h0 = harness(aip: h("1C00"), answer: OnlineResponse(responseCode: "00", issuerAuthenticationData: iad)) {
            $0.set("00820000", [], sw(0x9000))
        }
        h0.run()
        let external = try #require(h0.commands.first { $0.ins == 0x82 })
        #expect(external.data == iad)
        let order = h0.commands.map(\.ins).suffix(3)
        #expect(Array(order) == [0xAE, 0x82, 0xAE])
        #expect(h0.outcome?.tsi.contains(.issuerAuthenticationPerformed) == true)
        #expect(!h0.tvr.contains(.issuerAuthenticationFailed))
        // '91' went by EXTERNAL AUTHENTICATE, not CDOL2.
        #expect(secondGenerateAC(h0)?.data.suffix(10) == [UInt8](repeating: 0, count: 10)[...])
        #expect(h0.decision == .approvedOnline)
    }

    @Test func issuerAuthenticationFailed() {
        var h0 = harness(
            aip: h("1C00"),
            answer: OnlineResponse(responseCode: "00", issuerAuthenticationData: h("11223344556677883030"))
        ) {
            $0.set("00820000", [], sw(0x6300))
        }
        h0.run()
        #expect(h0.tvr.contains(.issuerAuthenticationFailed))
        #expect(h0.outcome?.tsi.contains(.issuerAuthenticationPerformed) == true)
    }

    @Test func issuerAuthenticationDataInCDOL2WhenTheAIPDoesNotAskForExternalAuthenticate() {
        let iad = h("11223344556677883030")
        var h0 = harness(answer: OnlineResponse(responseCode: "00", issuerAuthenticationData: iad))
        h0.run()
        #expect(!h0.commands.contains { $0.ins == 0x82 })
        #expect(secondGenerateAC(h0)?.data.suffix(10) == iad[...])
        #expect(h0.outcome?.tsi.contains(.issuerAuthenticationPerformed) == false)
    }

    // MARK: Issuer scripts

    static let blockCommand = h("841E000008 1122334455667788")
    static let unblockCommand = h("8424000008 8877665544332211")
    static let putDataCommand = h("04DA9F5808 0102030405060708")

    @Test func scriptsBeforeAndAfterTheSecondGenerateAC() throws {
        let scripts =
            tlv(0x71, children: [tlv(0x9F18, h("11223344")), tlv(0x86, Self.unblockCommand)])
            + tlv(
                0x72,
                children: [tlv(0x9F18, h("55667788")), tlv(0x86, Self.putDataCommand), tlv(0x86, Self.blockCommand)])
        var h0 = harness(answer: OnlineResponse(responseCode: "00", issuerScripts: scripts)) {
            $0.set("84240000", [], sw(0x9000))
            $0.set("04DA9F58", [], sw(0x9000))
            $0.set("841E0000", [], sw(0x6985))
        }
        h0.run()
        #expect(Array(h0.commands.map(\.ins).suffix(5)) == [0xAE, 0x24, 0xAE, 0xDA, 0x1E])
        let outcome = try #require(h0.outcome)
        #expect(outcome.decision == .approvedOnline)
        #expect(outcome.scriptResults == h("20 11223344 12 55667788"))
        #expect(outcome.tvr.contains(.scriptFailedAfterFinalGenerateAC))
        #expect(!outcome.tvr.contains(.scriptFailedBeforeFinalGenerateAC))
        #expect(outcome.tsi.contains(.scriptProcessingPerformed))
        let field55 = try TLVNode.sequence(tlvEncoded: try #require(outcome.cardData).iccData)
        #expect(field55.first { $0.tag == TLVTag(0x9F5B) }.map { Array($0.value) } == h("20 11223344 12 55667788"))
    }

    @Test func failingScriptBeforeTheSecondGenerateAC() throws {
        let scripts =
            tlv(0x71, children: [tlv(0x86, Self.unblockCommand), tlv(0x86, Self.blockCommand)])
            + tlv(0x71, children: [tlv(0x9F18, h("0000AAAA")), tlv(0x86, Self.putDataCommand)])
        var h0 = harness(answer: OnlineResponse(responseCode: "00", issuerScripts: scripts)) {
            $0.set("84240000", [], sw(0x6A88))
            $0.set("04DA9F58", [], sw(0x6283))
        }
        h0.run()
        // The first script stops at its first command; the second runs (6283 is a warning, not a failure).
        #expect(!h0.commands.contains { $0.ins == 0x1E })
        #expect(h0.outcome?.scriptResults == h("11 00000000 20 0000AAAA"))
        #expect(h0.tvr.contains(.scriptFailedBeforeFinalGenerateAC))
        #expect(h0.decision == .approvedOnline)
    }

    @Test func malformedScriptIsReportedFailed() {
        let scripts = tlv(0x71, children: [tlv(0x9F18, h("01020304")), tlv(0x86, h("8424"))])
        var h0 = harness(answer: OnlineResponse(responseCode: "00", issuerScripts: scripts))
        h0.run()
        #expect(h0.outcome?.scriptResults == h("10 01020304"))
        #expect(h0.tvr.contains(.scriptFailedBeforeFinalGenerateAC))
        #expect(h0.decision == .approvedOnline)
    }

    @Test func unparsableScriptBytes() {
        var h0 = harness(answer: OnlineResponse(responseCode: "00", issuerScripts: h("7105 9F18")))
        h0.run()
        #expect(h0.outcome?.scriptResults == h("10 00000000"))
        #expect(h0.decision == .approvedOnline)
    }

    @Test func cardRemovedDuringScriptsAfterTheDecision() {
        let scripts = tlv(0x72, children: [tlv(0x86, Self.putDataCommand)])
        var h0 = harness(answer: OnlineResponse(responseCode: "00", issuerScripts: scripts))
        h0.stopBeforeINS = 0xDA
        h0.run()
        #expect(h0.outcome == nil)
        h0.send(.cardRemoved)
        #expect(h0.decision == .approvedOnline)
        #expect(h0.outcome?.needsReversal == false)
    }
}
