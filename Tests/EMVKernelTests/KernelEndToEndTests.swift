import Codecs
import EMVKernel
import Foundation
import PaymentCrypto
import TestKit
import Testing
import VirtualCards

/// The kernel against the virtual cards, in process: the test is the driver (it runs PIN entry with the TEST ONLY
/// PIN 1234, builds VERIFY, and plays the issuer with the test issuer keys to answer with a valid ARPC).
@Suite struct KernelEndToEndTests {
    static let date = EMVDate(year: 2026, month: 11, day: 27)!

    static func parameters(tacOnline: [UInt8] = h("DC4004F800")) throws -> TerminalParameters {
        let caKeys = try TestPKI.testOnlyCertificationAuthorities.map { ca in
            try CAPublicKey(
                rid: ca.rid, index: ca.index, modulus: ca.modulus, exponent: ca.exponent,
                expiry: EMVDate(yymmdd: ca.expiry)!, checksum: ca.checksum)
        }
        func app(_ aid: [UInt8], _ name: String) -> ApplicationParameters {
            ApplicationParameters(
                aid: aid, allowsPartialSelection: true, name: name,
                applicationVersions: [h("008C"), h("0002"), h("0030")],
                tacDenial: h("0010000000"), tacOnline: tacOnline, tacDefault: h("DC4000A800"), floorLimit: 10_000,
                randomSelectionThreshold: 0, randomSelectionTargetPercentage: 0,
                randomSelectionMaximumTargetPercentage: 0, defaultDDOL: h("9F3704"), defaultTDOL: [])
        }
        var revocations = Set<CertificateRevocationList.Entry>()
        revocations.insert(
            .init(rid: h("A000000003"), caIndex: 0xFB, serialNumber: TestPKI.testOnlyRevokedCertificateSerial))
        return TerminalParameters(
            terminal: terminalParameters().terminal,
            applications: [
                app(h("A000000003"), "VISA"), app(h("A000000004"), "MASTERCARD"), app(h("A000000333"), "UNIONPAY"),
            ],
            caKeys: caKeys, revocations: CertificateRevocationList(revocations))
    }

    /// The simulator board's parameters file (board/sim/emv-parameters.toml).
    static func simParameters() throws -> TerminalParameters {
        let text = try String(contentsOfFile: repositoryRoot() + "/board/sim/emv-parameters.toml", encoding: .utf8)
        return try TerminalParameters.parse(text, today: date)
    }

    struct Run {
        var outcome: KernelOutcome?
        var actions: [KernelAction] = []
        var commands: [UInt8] = []  // INS bytes sent to the card
    }

    /// Drives one transaction; `approve` answers the host's part (nil: unavailable).
    static func run(
        profile name: String, amount: Int = 5_000, forceOnline: Bool = false, tacOnline: [UInt8] = h("DC4004F800"),
        choose: Int? = 0, hostCode: String? = "00", corruptARPC: Bool = false, sim: Bool = false,
        random: any RandomSource = SystemRandom(), type: EMVTransaction.TransactionType = .purchase
    ) throws -> Run {
        let profile = try #require(VirtualCardProfile.named(name))
        let card = try VirtualCard(profile: profile, random: SystemRandom())
        var kernel = EMVContactKernel(
            parameters: sim ? try simParameters() : try parameters(tacOnline: tacOnline),
            transaction: transaction(amount: amount, type: type, forceOnline: forceOnline), random: random)
        var result = Run()
        var queue = kernel.start()
        var steps = 0
        while !queue.isEmpty {
            steps += 1
            guard steps < 300 else { Issue.record("runaway"); break }
            let action = queue.removeFirst()
            result.actions.append(action)
            switch action {
            case .transmit(let command):
                result.commands.append(command.ins)
                let answer = card.process(command.encoded)
                if card.isRemoved {
                    queue += kernel.handle(.cardRemoved)
                } else {
                    queue += kernel.handle(.response(try ResponseAPDU(apduEncoded: answer)))
                }
            case .chooseApplication:
                queue += kernel.handle(.applicationChosen(index: choose))
            case .verifyOfflinePIN(let request):
                // TEST ONLY PIN 1234 in an ISO 9564 format 2 block.
                let block = h("241234FFFFFFFFFF")
                let verify: CommandAPDU
                switch request {
                case .plaintext:
                    verify = try CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x80, data: block)
                case .enciphered(let key, let challenge):
                    let data = try OfflineDataAuthentication.encipherPIN(
                        pinBlock: SecretBytes(block), iccUnpredictableNumber: challenge, key: key,
                        random: SystemRandom())
                    verify = try CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x88, data: data)
                }
                result.commands.append(0x20)
                let answer = try ResponseAPDU(apduEncoded: card.process(verify.encoded))
                queue += kernel.handle(.offlinePINVerified(answer.statusWord))
            case .enterOnlinePIN:
                queue += kernel.handle(.onlinePIN(.entered))
            case .lookupTransactionLog:
                queue += kernel.handle(.transactionLogTotal(0))
            case .goOnline(let request):
                guard let hostCode else {
                    queue += kernel.handle(.onlineUnavailable)
                    break
                }
                queue += kernel.handle(.onlineResponse(try issuerAnswer(request, code: hostCode, corrupt: corruptARPC)))
            case .complete(let outcome):
                result.outcome = outcome
            case .show, .selectedLanguage:
                break
            }
        }
        return result
    }

    /// The issuer's answer: ARPC method 1 over the ARQC with the test issuer's IMK-AC, in '91' with the ARC.
    static func issuerAnswer(_ request: OnlineRequest, code: String, corrupt: Bool) throws -> OnlineResponse {
        let issuer = try #require(TestIssuers.builtIn.issuer(forPAN: request.pan))
        let field55 = try TLVNode.sequence(tlvEncoded: request.iccData)
        let atcBytes = try #require(field55.first { $0.tag == TLVTag(0x9F36) }).value
        let arqc = Array(try #require(field55.first { $0.tag == TLVTag(0x9F26) }).value)
        let atc = UInt16(atcBytes[atcBytes.startIndex]) << 8 | UInt16(atcBytes[atcBytes.startIndex + 1])
        let master = try EMV.iccMasterKeyOptionA(
            issuerMasterKey: issuer.masterKeyAC, pan: request.pan,
            panSequenceNumber: request.panSequenceNumber.map(UInt8.init))
        let session = try EMV.commonSessionKey(iccMasterKey: master, atc: atc)
        let arc = ascii(code)
        var arpc = try EMV.arpcMethod1(sessionKey: session, arqc: arqc, authorisationResponseCode: arc)
        if corrupt { arpc[0] ^= 0x01 }
        return OnlineResponse(responseCode: code, authorizationCode: "123456", issuerAuthenticationData: arpc + arc)
    }

    @Test func visaCreditOfflineWithDDAAndPlaintextPIN() throws {
        let run = try Self.run(profile: "visa-credit")
        let outcome = try #require(run.outcome)
        #expect(outcome.decision == .approvedOffline)
        #expect(run.commands.contains(0x88))  // INTERNAL AUTHENTICATE
        #expect(!outcome.tvr.contains(.ddaFailed))
        #expect(!outcome.tvr.contains(.offlineDataAuthenticationNotPerformed))
        #expect(outcome.tsi.contains(.offlineDataAuthenticationPerformed))
        #expect(outcome.cvmResults == h("410302"))
        #expect(run.actions.contains(.selectedLanguage("en")))
    }

    /// A refund ('9C' = '20') reads the card and asks for an AAC: no PIN (the card's CVM list asks for offline PIN
    /// in a purchase), no GET DATA for risk management, no online request; the card data and field 55 come back.
    @Test(arguments: ["visa-credit", "mastercard-debit", "unionpay-debit", "online-only"])
    func refundReadsTheCardAndAsksForAnAAC(profile: String) throws {
        let run = try Self.run(profile: profile, amount: 3_000, type: .refund)
        let outcome = try #require(run.outcome)
        #expect(outcome.decision == .declinedOffline)
        #expect(!run.commands.contains(0x20) && !run.commands.contains(0xCA), "no VERIFY, no GET DATA")
        #expect(!run.actions.contains { if case .goOnline = $0 { true } else { false } })
        #expect(!run.actions.contains(.show(.declined)), "a refund's AAC is not shown as a decline")
        #expect(run.commands.filter { $0 == 0xAE }.count == 1, "one GENERATE AC")
        #expect(outcome.cvmResults == h("3F0000"))
        let card = try #require(outcome.cardData)
        #expect(card.cid.map { $0 & 0xC0 } == 0x00, "AAC")
        #expect(card.pan.count >= 12 && card.expiry != nil)
        let field55 = try TLVNode.sequence(tlvEncoded: card.iccData)
        #expect(field55.first { $0.tag == TLVTag(0x9C) }.map { Array($0.value) } == [0x20])
        #expect(field55.first { $0.tag == TLVTag(0x9F26) } != nil)
    }

    @Test func visaCreditOnlineWithIssuerAuthentication() throws {
        let run = try Self.run(profile: "visa-credit", forceOnline: true)
        let outcome = try #require(run.outcome)
        #expect(run.commands.contains(0x82))  // EXTERNAL AUTHENTICATE
        #expect(!outcome.tvr.contains(.issuerAuthenticationFailed))
        #expect(outcome.decision == .approvedOnline)
        #expect(outcome.cardData?.cid == 0x40)
    }

    @Test func onlineCardApprovedWithAValidARPC() throws {
        let run = try Self.run(profile: "online-only")
        #expect(run.outcome?.decision == .approvedOnline)
    }

    @Test func hostApprovalWithAWrongARPCIsReversed() throws {
        // The ARPC does not verify: EXTERNAL AUTHENTICATE answers 6300 and the card (issuer authentication
        // mandatory) answers AAC to the host's approval.
        let run = try Self.run(profile: "online-only", corruptARPC: true)
        let outcome = try #require(run.outcome)
        #expect(outcome.tvr.contains(.issuerAuthenticationFailed))
        #expect(outcome.decision == .declinedByCardAfterOnlineApproval)
        #expect(outcome.needsReversal)
    }

    @Test func mastercardCDAWithEncipheredPIN() throws {
        let run = try Self.run(profile: "mastercard-debit")
        let outcome = try #require(run.outcome)
        #expect(run.commands.contains(0x84))  // GET CHALLENGE
        #expect(outcome.cvmResults == h("440302"))
        #expect(!outcome.tvr.contains(.cdaFailed))
        #expect(outcome.decision == .approvedOffline)
    }

    @Test func mastercardOnlineWithCDAOnBothGenerateACsAndTheARPCInCDOL2() throws {
        let run = try Self.run(profile: "mastercard-debit", forceOnline: true)
        let outcome = try #require(run.outcome)
        #expect(!run.commands.contains(0x82))  // no EXTERNAL AUTHENTICATE: '91' goes through CDOL2
        #expect(!outcome.tvr.contains(.cdaFailed))
        #expect(outcome.decision == .approvedOnline)
        #expect(outcome.cardData?.cryptogram.count == 8)
    }

    @Test func mastercardTamperedFailsCDA() throws {
        let run = try Self.run(profile: "mastercard-tampered")
        let outcome = try #require(run.outcome)
        // The ICC key's certificate covers the altered record, so CDA fails before GENERATE AC: the CDA signature is
        // not requested and TAC-online (byte 1 'CDA failed') sends the transaction online.
        #expect(outcome.tvr.contains(.cdaFailed))
        #expect(run.commands.filter { $0 == 0xAE }.count == 2)
        #expect(outcome.decision == .approvedOnline)
    }

    @Test func visaSDA() throws {
        let run = try Self.run(profile: "visa-sda")
        let outcome = try #require(run.outcome)
        #expect(outcome.tvr.contains(.sdaSelected))
        #expect(!outcome.tvr.contains(.sdaFailed))
        #expect(outcome.decision == .approvedOffline)
        #expect(outcome.signatureRequired)
    }

    @Test func unionPayNewCardGoesOnline() throws {
        let run = try Self.run(profile: "unionpay-debit")
        let outcome = try #require(run.outcome)
        #expect(run.actions.contains(.selectedLanguage("zh")))
        #expect(outcome.tvr.contains(.onlinePINEntered))
        #expect(outcome.decision == .approvedOnline)
    }

    @Test(arguments: ["visa-expired-cert", "visa-revoked"])
    func issuerCertificateRefused(_ name: String) throws {
        let run = try Self.run(profile: name)
        #expect(run.outcome?.tvr.contains(.ddaFailed) == true)
    }

    @Test(arguments: ["blocked-app", "blocked-app-6a81"])
    func blockedCardsAreNotAccepted(_ name: String) throws {
        #expect(try Self.run(profile: name).outcome?.decision == .aborted(.notAccepted))
    }

    @Test func pinBlockedGoesToSignature() throws {
        let outcome = try #require(try Self.run(profile: "pin-blocked").outcome)
        #expect(outcome.tvr.contains(.pinTryLimitExceeded))
        #expect(outcome.signatureRequired)
    }

    @Test func pulledCard() throws {
        #expect(try Self.run(profile: "pulled").outcome?.decision == .aborted(.cardRemoved))
    }

    @Test func malformedRecord() throws {
        let decision = try Self.run(profile: "malformed-tlv").outcome?.decision
        guard case .aborted(.malformedData)? = decision else {
            Issue.record("expected malformedData, got \(String(describing: decision))")
            return
        }
    }

    @Test func declineCard() throws {
        #expect(try Self.run(profile: "decline-card").outcome?.decision == .declinedOffline)
    }

    @Test func multiAppOffersBoth() throws {
        let run = try Self.run(profile: "multi-app", choose: 0)
        let offered = run.actions.compactMap { if case .chooseApplication(let list) = $0 { list } else { nil } }.first
        #expect(offered?.map(\.label) == ["VISA DEBIT", "VISA CREDIT"])
        #expect(offered?.allSatisfy(\.needsConfirmation) == true)
        #expect(run.outcome?.cardData?.aid == h("A0000000032010"))
    }

    @Test func unableToGoOnline() throws {
        let run = try Self.run(profile: "online-only", hostCode: nil)
        let outcome = try #require(run.outcome)
        #expect(outcome.unableToGoOnline)
        #expect(outcome.decision == .declinedOffline || outcome.decision == .approvedOffline)
    }

    /// Every profile with the simulator board's parameters file: the decision docs/virtual-cards.md describes for a
    /// correct terminal (random selection pinned off: random number 99).
    @Test(arguments: [
        ("visa-credit", KernelDecision.approvedOffline), ("mastercard-debit", .approvedOffline),
        ("unionpay-debit", .approvedOnline), ("visa-sda", .approvedOffline), ("multi-app", .approvedOffline),
        ("visa-expired-cert", .approvedOnline), ("visa-revoked", .approvedOnline),
        ("mastercard-tampered", .approvedOnline), ("blocked-app", .aborted(.notAccepted)),
        ("blocked-app-6a81", .aborted(.notAccepted)), ("pin-blocked", .approvedOffline),
        ("pulled", .aborted(.cardRemoved)),
        ("malformed-tlv", .aborted(.malformedData("record is not a '70' template"))),
        ("decline-card", .declinedOffline), ("online-only", .approvedOnline), ("issuer-script", .approvedOnline),
    ])
    func everyProfileWithTheSimulatorParameters(_ name: String, _ decision: KernelDecision) throws {
        let run = try Self.run(profile: name, sim: true, random: PinnedRandom(values: [0x12, 0x34, 0x56, 0x78, 98]))
        #expect(run.outcome?.decision == decision)
        #expect(run.outcome?.tvr.contains(.selectedRandomlyForOnlineProcessing) == false)
    }

    @Test func theCatalogueIsCovered() {
        #expect(VirtualCardProfile.allNames.count == 16)
    }
}
