import Codecs
import PaymentCrypto
import Testing
import VirtualCards

/// Issuer scripts with secure messaging format 2 (EMV Book 2 clause 9): MAC over header (Lc with the MAC) || ATC ||
/// ARQC || data, ISO 9797-1 algorithm 3, padding method 2, 8 bytes, under SK_SMI = CSK(MK_SMI, R = ARQC).
@Suite struct IssuerScriptTests {
    static let aid: [UInt8] = [0xA0, 0, 0, 0, 0x03, 0x10, 0x10]

    struct Online {
        var terminal: TestTerminal
        var arqc: [UInt8]
        var atc: [UInt8]
        var smi: SecretBytes
        var smc: SecretBytes

        init(_ terminal: TestTerminal) throws {
            var t = terminal
            t.card.reset()
            let (_, afl) = try t.start(aid: IssuerScriptTests.aid)
            try t.readRecords(afl: afl)
            let answer = try t.generateAC(0x80, cdol: try #require(t.cardData[0x8C]))
            #expect(answer.cid == 0x80)
            arqc = try #require(answer.cryptogram)
            atc = answer.atc
            let pan = panDigits(try #require(t.cardData[0x5A]))
            let issuer = try #require(TestIssuers.builtIn.issuer(forPAN: pan))
            let smiMaster = try EMV.iccMasterKeyOptionA(issuerMasterKey: issuer.masterKeySMI, pan: pan, panSequenceNumber: 1)
            let smcMaster = try EMV.iccMasterKeyOptionA(issuerMasterKey: issuer.masterKeySMC, pan: pan, panSequenceNumber: 1)
            smi = try EMV.commonSessionKey(iccMasterKey: smiMaster, diversification: arqc)
            smc = try EMV.commonSessionKey(iccMasterKey: smcMaster, diversification: arqc)
            self.terminal = t
        }

        /// A script command with its MAC (optionally spoiled).
        func command(_ header: [UInt8], _ data: [UInt8], spoil: Bool = false) throws -> [UInt8] {
            let lc = UInt8(data.count + 8)
            var mac = try ISO9797MAC.algorithm3(header + [lc] + atc + arqc + data, key: smi, padding: .method2)
            if spoil { mac[7] ^= 0x01 }
            return header + [lc] + data + mac
        }

        func send(_ header: [UInt8], _ data: [UInt8], spoil: Bool = false) throws -> UInt16 {
            try terminal.send(try command(header, data, spoil: spoil)).sw
        }
    }

    @Test func putDataUpdatesTheOfflineLimitsAndAWrongMACIsRefused() throws {
        let terminal = try TestTerminal("issuer-script")
        // No cryptogram yet: no script.
        var fresh = terminal
        _ = try fresh.start(aid: Self.aid)
        #expect(try fresh.send([0x04, 0xDA, 0x9F, 0x14, 0x09, 0x07, 1, 2, 3, 4, 5, 6, 7, 8]).sw == 0x6985)

        let online = try Online(terminal)
        #expect(try online.send([0x04, 0xDA, 0x9F, 0x14], [0x07]) == 0x9000)
        #expect(try online.send([0x04, 0xDA, 0x9F, 0x23], [0x09]) == 0x9000)
        #expect(try online.send([0x04, 0xDA, 0x9F, 0x23], [0x01], spoil: true) == 0x6988)
        #expect(terminal.card.consecutiveOfflineLimits() == (lower: 7, upper: 9))
        // The second GENERATE AC reports three script commands and the failure in the CVR.
        let second = try online.terminal.generateAC(0x00, cdol: try #require(online.terminal.cardData[0x8D]))
        #expect(CardVerificationResults.issuerScriptCommandCount(issuerApplicationData: second.iad) == 3)
        #expect(CardVerificationResults(issuerApplicationData: second.iad)?.contains(.issuerScriptProcessingFailed) == true)
    }

    @Test func applicationBlockAndUnblock() throws {
        let terminal = try TestTerminal("issuer-script")
        let online = try Online(terminal)
        #expect(try online.send([0x84, 0x1E, 0x00, 0x00], []) == 0x9000)
        #expect(terminal.card.isApplicationBlocked())
        let second = try online.terminal.generateAC(0x40, cdol: try #require(online.terminal.cardData[0x8D]))
        #expect(second.cid == 0x00, "a blocked application declines")
        #expect(try terminal.send(.select(name: Self.aid)).sw == 0x6283)

        let other = try Online(try TestTerminal("issuer-script"))
        #expect(try other.send([0x84, 0x1E, 0x00, 0x00], []) == 0x9000)
        #expect(try other.send([0x84, 0x18, 0x00, 0x00], []) == 0x9000)
        #expect(!other.terminal.card.isApplicationBlocked())
        #expect(try other.terminal.send(.select(name: Self.aid)).sw == 0x9000)
    }

    @Test func pinChangeAndPINUnblock() throws {
        let terminal = try TestTerminal("issuer-script")
        let online = try Online(terminal)
        let wrong: [UInt8] = [0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x99, 0x99, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(try terminal.send(wrong).sw == 0x63C2)
        #expect(try online.send([0x84, 0x24, 0x00, 0x00], []) == 0x9000)
        #expect(terminal.card.pinTryCounterValue == 3)
        let newPIN = try Insecure.TDES.ECB.encrypt([0x24, 0x56, 0x78, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], key: online.smc)
        #expect(try online.send([0x84, 0x24, 0x00, 0x01], newPIN) == 0x9000)
        var next = terminal
        next.card.reset()
        _ = try next.start(aid: Self.aid)
        #expect(try next.send([0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).sw == 0x63C2)
        #expect(try next.send([0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x56, 0x78, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).sw == 0x9000)
    }
}
