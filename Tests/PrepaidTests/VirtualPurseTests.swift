import Codecs
import PaymentCrypto
import PrepaidPurse
import Testing
import VirtualCards

/// A channel straight to a virtual purse card; throws when the card left (as the reader does).
final class DirectChannel: PurseCardChannel {
    let card: VirtualPurseCard
    init(_ card: VirtualPurseCard) { self.card = card }
    struct Gone: Error {}
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        guard !card.isRemoved else { throw Gone() }
        let answer = card.process(command.encoded)
        guard !card.isRemoved else { throw Gone() }
        return try ResponseAPDU(apduEncoded: answer)
    }
}

/// The system's random numbers (the card's pseudo-random numbers do not need pinning here).
let random = SystemRandom()

struct PurseRig {
    let card: VirtualPurseCard
    let channel: DirectChannel
    let sam: SoftwareSAM
    let host = SoftwareSAM(masterKeys: .testOnly(), terminalID: try! PurseTerminalID([0, 0, 0, 0, 0, 1]))
    let dateTime = try! PurseDateTime(year: 2026, month: 11, day: 27, hour: 10, minute: 0, second: 0)

    init(_ name: String) throws {
        card = VirtualPurseCard(profile: try #require(VirtualPurseProfile.named(name)), random: random)
        channel = DirectChannel(card)
        sam = SoftwareSAM(masterKeys: .testOnly(), terminalID: try PurseTerminalID([0, 0, 0, 0, 0, 1]))
    }

    func read() throws -> PurseCardInfo {
        guard case .success(let info) = try PurseTerminal.read(channel) else {
            Issue.record("the card did not read")
            throw PurseError(.malformedResponse, "no card")
        }
        return info
    }

    /// The host's part of a load: verify MAC1, compute MAC2 (with the TEST ONLY MLK).
    func hostMAC2(_ load: PreparedLoad) throws -> [UInt8]? {
        let keys = try PurseCardKeys(masterKeys: .testOnly(), diversificationData: load.diversificationData)
        let session = try PurseCrypto.loadSessionKey(loadKey: keys.load, random: load.initialize.random,
                                                     onlineCounter: load.initialize.onlineCounter)
        let mac1 = try PurseCrypto.mac(PurseCrypto.loadMAC1Input(
            balance: load.initialize.balance, amount: load.amount, type: .purseLoad, terminalID: load.terminalID),
            key: session)
        guard mac1 == load.initialize.mac1 else { return nil }
        return try PurseCrypto.mac(PurseCrypto.loadMAC2Input(
            amount: load.amount, type: .purseLoad, terminalID: load.terminalID, dateTime: load.dateTime), key: session)
    }

    func purchase(_ amount: UInt32) throws -> PursePurchaseOutcome {
        let info = try read()
        let outcome = try PurseTerminal.preparePurchase(card: info, amount: amount, dateTime: dateTime, sam: sam,
                                                        channel: channel)
        guard case .prepared(let prepared, let session) = outcome else { return outcome }
        return try PurseTerminal.debit(prepared, session: session, sam: sam, channel: channel)
    }

    func load(_ amount: UInt32) throws -> [UInt8]? {
        let info = try read()
        guard case .success(let load) = try PurseTerminal.prepareLoad(
            card: info, amount: amount, dateTime: dateTime, terminalID: sam.terminalID, channel: channel)
        else { return nil }
        guard let mac2 = try hostMAC2(load) else { return nil }
        guard case .success(let tac) = try PurseTerminal.credit(load, mac2: mac2, channel: channel) else { return nil }
        #expect(try sam.verifyTAC(diversificationData: load.diversificationData, tacInput: load.tacInput, tac: tac))
        return tac
    }
}

@Suite struct VirtualPurseTests {
    @Test func goodCardLoadsAndPays() throws {
        let rig = try PurseRig("prepaid-good")
        #expect(try rig.read().balance == 10_000)
        #expect(try rig.load(5_000) != nil)
        #expect(rig.card.balance == 15_000)
        #expect(rig.card.onlineCounter == 1)
        guard case .completed(let first) = try rig.purchase(1_200) else {
            Issue.record("purchase not completed")
            return
        }
        #expect(first.newBalance == 13_800)
        #expect(first.prepared.initialize.offlineCounter == 0)
        guard case .completed(let second) = try rig.purchase(800) else {
            Issue.record("second purchase not completed")
            return
        }
        #expect(second.prepared.initialize.offlineCounter == 1)
        #expect(second.prepared.terminalSequenceNumber == first.prepared.terminalSequenceNumber + 1)
        #expect(rig.card.balance == 13_000)
        #expect(try rig.read().balance == 13_000)
    }

    @Test func insufficientBalanceIsDeclinedWithoutDebit() throws {
        let rig = try PurseRig("prepaid-good")
        #expect(try rig.purchase(10_001) == .declined(.insufficientBalance(balance: 10_000)))
        #expect(rig.card.balance == 10_000)
        #expect(rig.card.offlineCounter == 0)
    }

    @Test func loadAboveTheMaximumBalanceIsRefused() throws {
        let rig = try PurseRig("prepaid-good")
        let info = try rig.read()
        guard case .failure(.balanceLimit) = try PurseTerminal.prepareLoad(
            card: info, amount: VirtualPurseCard.maximumBalance, dateTime: rig.dateTime,
            terminalID: rig.sam.terminalID, channel: rig.channel)
        else {
            Issue.record("load above the maximum accepted")
            return
        }
    }

    @Test func wrongLoadMAC2IsRefusedByTheCard() throws {
        let rig = try PurseRig("prepaid-good")
        let info = try rig.read()
        guard case .success(let load) = try PurseTerminal.prepareLoad(
            card: info, amount: 100, dateTime: rig.dateTime, terminalID: rig.sam.terminalID, channel: rig.channel),
            let mac2 = try rig.hostMAC2(load)
        else {
            Issue.record("no load")
            return
        }
        guard case .failure(.mac2Invalid) = try PurseTerminal.credit(load, mac2: mac2.map { $0 ^ 0x80 },
                                                                     channel: rig.channel)
        else {
            Issue.record("a wrong MAC2 was accepted")
            return
        }
        #expect(rig.card.balance == 10_000)
        #expect(rig.card.onlineCounter == 0)
    }

    @Test func samWithOtherKeysIsRejectedByTheCard() throws {
        let rig = try PurseRig("prepaid-good")
        let other = try PurseMasterKeys(purchase: SecretBytes(zeros: 16), load: SecretBytes(zeros: 16),
                                        transaction: SecretBytes(zeros: 16))
        let foreign = SoftwareSAM(masterKeys: other, terminalID: rig.sam.terminalID)
        let info = try rig.read()
        guard case .prepared(let prepared, let session) = try PurseTerminal.preparePurchase(
            card: info, amount: 100, dateTime: rig.dateTime, sam: foreign, channel: rig.channel)
        else {
            Issue.record("not prepared")
            return
        }
        #expect(try PurseTerminal.debit(prepared, session: session, sam: foreign, channel: rig.channel)
            == .declined(.mac1Rejected))
        #expect(rig.card.balance == 10_000)
    }

    @Test func wrongMACCardIsRefused() throws {
        let rig = try PurseRig("prepaid-wrong-mac")
        #expect(try rig.purchase(100) == .declined(.mac2Invalid))
    }

    @Test func expiredAndBlockedCardsFailTheChecks() throws {
        let expired = try PurseRig("prepaid-expired")
        #expect(PurseTerminal.check(try expired.read(), today: 20261127, blocked: { _ in false }) == .expired)
        let blocked = try PurseRig("prepaid-blocked")
        let list = Set(VirtualPurseProfile.blockedCardNumbers)
        #expect(PurseTerminal.check(try blocked.read(), today: 20261127, blocked: { list.contains($0) }) == .blocked)
        let good = try PurseRig("prepaid-good")
        #expect(PurseTerminal.check(try good.read(), today: 20261127, blocked: { list.contains($0) }) == nil)
    }

    @Test func tornDebitIsRecoveredOnceWithTheCounter() throws {
        let rig = try PurseRig("prepaid-torn")
        guard case .torn(let prepared) = try rig.purchase(2_500) else {
            Issue.record("the debit was not torn")
            return
        }
        #expect(rig.card.balance == 7_500)  // the card did debit itself
        rig.card.reinsert()
        guard case .debited(let completed) = try PurseTerminal.recoverPurchase(prepared, sam: rig.sam,
                                                                              channel: rig.channel)
        else {
            Issue.record("not recovered")
            return
        }
        #expect(completed.recovered)
        #expect(completed.newBalance == 7_500)
        #expect(try rig.sam.verifyTAC(diversificationData: prepared.diversificationData, tacInput: prepared.tacInput,
                                      tac: completed.tac))
        // Recovery sends no DEBIT: balance and counter are unchanged.
        #expect(rig.card.balance == 7_500)
        #expect(rig.card.offlineCounter == 1)
        // A second recovery of the same record sees a counter that is already past it.
        #expect(try PurseTerminal.recoverPurchase(prepared, sam: rig.sam, channel: rig.channel) == .debited(completed))
    }

    @Test func tornLoadIsConfirmedByTheCardsProof() throws {
        let rig = try PurseRig("prepaid-torn-load")
        let info = try rig.read()
        guard case .success(let load) = try PurseTerminal.prepareLoad(
            card: info, amount: 3_000, dateTime: rig.dateTime, terminalID: rig.sam.terminalID, channel: rig.channel),
            let mac2 = try rig.hostMAC2(load)
        else {
            Issue.record("no load")
            return
        }
        #expect(throws: (any Error).self) { try PurseTerminal.credit(load, mac2: mac2, channel: rig.channel) }
        #expect(rig.card.balance == 13_000, "the card credited itself before leaving")
        rig.card.reinsert()
        guard case .credited(let tac) = try PurseTerminal.recoverLoad(load, sam: rig.sam, channel: rig.channel) else {
            Issue.record("not confirmed")
            return
        }
        #expect(try rig.sam.verifyTAC(diversificationData: load.diversificationData, tacInput: load.tacInput, tac: tac))
        #expect(try PreparedLoad(persisted: #require(load.persisted)) == load)
    }

    @Test func loadWithoutCreditIsRecoveredAsNotCredited() throws {
        let rig = try PurseRig("prepaid-good")
        let info = try rig.read()
        guard case .success(let load) = try PurseTerminal.prepareLoad(
            card: info, amount: 3_000, dateTime: rig.dateTime, terminalID: rig.sam.terminalID, channel: rig.channel)
        else {
            Issue.record("no load")
            return
        }
        rig.card.reset()
        #expect(try PurseTerminal.recoverLoad(load, sam: rig.sam, channel: rig.channel) == .notCredited)
        #expect(rig.card.balance == 10_000)
    }

    @Test func tornBeforeTheDebitIsRecoveredAsNotDebited() throws {
        let rig = try PurseRig("prepaid-good")
        let info = try rig.read()
        guard case .prepared(let prepared, _) = try PurseTerminal.preparePurchase(
            card: info, amount: 300, dateTime: rig.dateTime, sam: rig.sam, channel: rig.channel)
        else {
            Issue.record("not prepared")
            return
        }
        // The DEBIT never reached the card.
        rig.card.reset()
        #expect(try PurseTerminal.recoverPurchase(prepared, sam: rig.sam, channel: rig.channel) == .notDebited)
        #expect(rig.card.balance == 10_000)
    }

    @Test func blankCardIsPersonalisedOnce() throws {
        let rig = try PurseRig("prepaid-blank")
        guard case .failure(.blankCard) = try PurseTerminal.read(rig.channel) else {
            Issue.record("the blank card read as personalised")
            return
        }
        let data = try PurseApplicationData(
            issuerIdentifier: VirtualPurseProfile.testIssuerIdentifier,
            applicationSerialNumber: [0x10, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01], startDate: [0x20, 0x26, 0x11, 0x27],
            expiryDate: [0x20, 0x31, 0x11, 0x27])
        let keys = try rig.sam.cardKeys(diversificationData: data.diversificationData)
        #expect(try PurseTerminal.personalise(data, keys: keys, keyVersion: 1, channel: rig.channel) == nil)
        #expect(try rig.read().balance == 0)
        #expect(try rig.read().applicationData.cardNumber == "10000000000000000101")
        #expect(try PurseTerminal.personalise(data, keys: keys, keyVersion: 1, channel: rig.channel)
            == StatusWord(rawValue: 0x6985))
        #expect(try rig.load(2_000) != nil)
        guard case .completed = try rig.purchase(500) else {
            Issue.record("purchase on the new card failed")
            return
        }
        #expect(rig.card.balance == 1_500)
    }

    @Test func tamperedCardPaysButShowsMoreThanItWasIssuedWith() throws {
        let rig = try PurseRig("prepaid-tampered")
        let profile = try #require(VirtualPurseProfile.named("prepaid-tampered"))
        #expect(try rig.read().balance > profile.issuedBalance)
        guard case .completed(let purchase) = try rig.purchase(100) else {
            Issue.record("not completed")
            return
        }
        // The host finds it: the balance before the purchase is not the ledger's.
        #expect(purchase.prepared.initialize.balance != profile.issuedBalance)
    }
}
