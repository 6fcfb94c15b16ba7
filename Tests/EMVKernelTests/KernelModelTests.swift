import EMVKernel
import Testing

@Suite struct KernelModelTests {
    @Test func tvrBitsSitInTheirBytes() {
        let cases: [(TerminalVerificationResults, [UInt8])] = [
            (.offlineDataAuthenticationNotPerformed, [0x80, 0, 0, 0, 0]),
            (.sdaSelected, [0x02, 0, 0, 0, 0]),
            (.newCard, [0, 0x08, 0, 0, 0]),
            (.onlinePINEntered, [0, 0, 0x04, 0, 0]),
            (.merchantForcedOnline, [0, 0, 0, 0x08, 0]),
            (.scriptFailedAfterFinalGenerateAC, [0, 0, 0, 0, 0x10]),
        ]
        for (tvr, bytes) in cases {
            #expect(tvr.bytes == bytes)
            #expect(TerminalVerificationResults(bytes: bytes) == tvr)
        }
        #expect(TerminalVerificationResults(bytes: [0x80]) == .offlineDataAuthenticationNotPerformed)
        #expect(TerminalVerificationResults(bytes: h("FFFFFFFFFFFF")).bytes == h("FFFFFFFFFF"))
        #expect("\(TerminalVerificationResults.iccDataMissing)" == "2000000000")
    }

    @Test func tsiAndAIP() {
        #expect(
            TransactionStatusInformation([.offlineDataAuthenticationPerformed, .scriptProcessingPerformed]).bytes
                == h("8400"))
        #expect(TransactionStatusInformation(bytes: h("E800")).contains(.terminalRiskManagementPerformed))
        let aip = ApplicationInterchangeProfile(bytes: h("3D00"))
        #expect(
            aip == [
                .ddaSupported, .cardholderVerificationSupported, .terminalRiskManagementToBePerformed,
                .issuerAuthenticationSupported, .cdaSupported,
            ])
        #expect(ApplicationInterchangeProfile(bytes: h("3D")) == nil)
    }

    @Test func cvmList() throws {
        let list = try #require(CVMList(bytes: h("000003E8 000007D0 4103 5E03 1F00")))
        #expect(list.amountX == 1_000)
        #expect(list.amountY == 2_000)
        #expect(list.rules.map(\.method) == [.plaintextPINByICC, .signature, .noCVMRequired])
        #expect(list.rules.map(\.appliesSucceedingRuleIfUnsuccessful) == [true, true, false])
        #expect(list.rules.map(\.condition) == [0x03, 0x03, 0x00])
        #expect(CVMRule.Method(code: 0x20) == .other(0x20))
        #expect(CVMRule.Method(code: 0x45).code == 0x05)
        #expect(CVMList(bytes: h("00000000 00000000 41")) == nil)
        #expect(CVMList(bytes: h("00000000 000000")) == nil)
        #expect(CVMList(bytes: h("00000000 00000000"))?.rules.isEmpty == true)
    }
}
