import Codecs
import ContactlessKernel
import EMVKernel
import PaymentCrypto
import TestKit
import Testing
import VirtualCards

/// Entry Point pre-processing at each boundary: just under, equal, just over (Book B 3.1.1: "≥" for the transaction
/// and CVM limits, ">" for the floor limit).
@Suite struct PreProcessingTests {
    static let combination = ContactlessCombination.standard(limits: Reader.limits)[0]

    /// amount, not allowed, floor exceeded, CVM required, TTQ byte 2 (typed: cheap to type-check with Swift 6.2).
    static let limitCases: [(Int, Bool, Bool, Bool, UInt8)] = [
        (4_999, false, false, false, 0x00), (5_000, false, false, false, 0x00), (5_001, false, true, false, 0x80),
        (29_999, false, true, false, 0x80), (30_000, false, true, true, 0xC0), (30_001, false, true, true, 0xC0),
        (99_999, false, true, true, 0xC0), (100_000, true, true, true, 0xC0), (100_001, true, true, true, 0xC0),
    ]

    @Test(arguments: limitCases)
    func limits(amount: Int, notAllowed: Bool, floor: Bool, cvm: Bool, ttqByte2: UInt8) {
        let i = ContactlessEntryPoint.preProcess(Self.combination, amount: amount, terminalFloorLimit: nil)
        #expect(i.contactlessApplicationNotAllowed == notAllowed)
        #expect(i.floorLimitExceeded == floor)
        #expect(i.cvmRequiredLimitExceeded == cvm)
        #expect(i.ttq.bytes[1] == ttqByte2)
        #expect(i.ttq.bytes[0] == 0x36)
    }

    @Test func kernel2KeepsTheOnDeviceLimitForEntryPoint() {
        let mc = ContactlessCombination.standard(limits: Reader.limits)[1]
        #expect(
            !ContactlessEntryPoint.preProcess(mc, amount: 100_000, terminalFloorLimit: nil)
                .contactlessApplicationNotAllowed)
        #expect(
            ContactlessEntryPoint.preProcess(mc, amount: 500_000, terminalFloorLimit: nil)
                .contactlessApplicationNotAllowed)
    }

    @Test func noLimitsMeansNothingExceeded() {
        let c = ContactlessCombination(
            aid: h("A0000000031010"), kernel: .visa,
            limits: .init(transactionLimit: nil, floorLimit: nil, cvmRequiredLimit: nil))
        let i = ContactlessEntryPoint.preProcess(c, amount: Int(Int32.max), terminalFloorLimit: nil)
        #expect(!i.contactlessApplicationNotAllowed && !i.floorLimitExceeded && !i.cvmRequiredLimitExceeded)
        #expect(ContactlessEntryPoint.preProcess(c, amount: 101, terminalFloorLimit: 100).floorLimitExceeded)
    }
}

/// The PPSE directory: table of shapes, then a seeded fuzz run that must never trap.
@Suite struct PPSEParsingTests {
    static func fci(_ entries: String) -> [UInt8] {
        func tlv(_ tag: String, _ value: [UInt8]) -> [UInt8] {
            var out = h(tag)
            out.append(UInt8(value.count))
            out += value
            return out
        }
        var body: [UInt8] = h("840E")
        body += Array("2PAY.SYS.DDF01".utf8)
        body += tlv("A5", tlv("BF0C", h(entries)))
        return tlv("6F", body)
    }

    @Test func entriesKernelsAndPriorities() throws {
        // Visa without 9F2A (default kernel 3), Mastercard 9F2A 02 priority 1, a domestic kernel (C1 …) skipped,
        // a 4-byte ADF name skipped.
        let entries = try PPSEDirectory.parse(
            fci: Self.fci(
                "6112" + "4F07A0000000031010" + "5004" + "56495341" + "870102"
                    + "6114" + "4F07A0000000041010" + "870101" + "9F2A0102" + "9F290101"
                    + "610F" + "4F07A0000000999999" + "9F2A03C10203"
                    + "6106" + "4F04A0000000"))
        #expect(entries.count == 3)
        #expect(entries.map { PPSEDirectory.kernel(of: $0) } == [.visa, .mastercard, nil])
        #expect(entries[0].label == "VISA" && entries[0].priority == 2 && entries[1].priority == 1)
        #expect(entries[1].extendedSelection == [0x01])
    }

    @Test(arguments: ["", "6F00", "6F03840100", "7003840100", "6F05A503BF0C00", "6F08A506BF0C0361018F"])
    func malformedOrEmpty(_ hex: String) {
        let result = try? PPSEDirectory.parse(fci: h(hex))
        #expect(result == nil || result == [])
    }

    @Test func fuzz() {
        let seed = fuzzSeed(default: 0xC0117AC7)
        var rng = SplitMix(state: seed)
        let valid = Self.fci("611A" + "4F07A0000000031010" + "5004" + "56495341" + "870101" + "9F2A0103" + "9F290101")
        var parsed = 0
        let runs = 20_000
        for _ in 0..<runs {
            var bytes = valid
            switch rng.next() % 3 {
            case 0:
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            case 1:
                bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            default:
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            if let entries = try? PPSEDirectory.parse(fci: bytes) {
                parsed += 1
                for e in entries { #expect((5...16).contains(e.adfName.count)) }
            }
        }
        print("PPSE fuzz: seed \(seed), \(runs) inputs, \(parsed) parsed")
        #expect(parsed > 0)
    }
}

/// Event → action tables of Kernel 3 against scripted answers.
@Suite struct Kernel3TableTests {
    static let ppse = PPSEParsingTests.fci("6112" + "4F07A0000000031010" + "5004" + "56495341" + "870101")
    static let fci = h("6F1A" + "8407A0000000031010" + "A50F" + "500456495341" + "9F38069F66049F0206")

    static func run(gpo: String) throws -> ContactlessOutcome {
        var ep = ContactlessEntryPoint(
            parameters: try Reader.parameters(), transaction: Reader.transaction(1_000), random: SystemRandom())
        let ppseAnswer: [UInt8] = ppse + h("9000")
        let selectAnswer: [UInt8] = fci + h("9000")
        var answers: [[UInt8]] = [ppseAnswer, selectAnswer, h(gpo)]
        return ep.run(transmit: { _ in
            guard !answers.isEmpty, let r = try? ResponseAPDU(apduEncoded: answers.removeFirst()) else {
                return .cardRemoved
            }
            return .response(r)
        })
    }

    @Test(arguments: [
        ("6984", ContactlessOutcomeStatus.tryAnotherInterface, ContactlessMessage.insertCard),
        ("6986", .tryAgain, .seePhone),
        ("6A82", .endApplication, .insertSwipeOrTryAnotherCard),
        ("6985", .endApplication, .insertSwipeOrTryAnotherCard),  // select next: no other candidate
        ("7700" + "9000", .endApplication, .insertSwipeOrTryAnotherCard),  // no AIP
    ])
    func gpoStatus(gpo: String, status: ContactlessOutcomeStatus, message: ContactlessMessage) throws {
        let o = try Self.run(gpo: gpo)
        #expect(o.status == status)
        #expect(o.uiRequestOnOutcome?.message == message)
        #expect(o.restart == (status == .tryAgain))
    }

    @Test func ppseMissingEndsTheApplication() throws {
        var ep = ContactlessEntryPoint(
            parameters: try Reader.parameters(), transaction: Reader.transaction(1_000), random: SystemRandom())
        let o = ep.run(transmit: { _ in .response(ResponseAPDU(statusWord: .fileNotFound)) })
        #expect(o.status == .endApplication)
    }

    @Test func collisionAsksForOneCard() throws {
        var ep = ContactlessEntryPoint(
            parameters: try Reader.parameters(), transaction: Reader.transaction(1_000), random: SystemRandom())
        let o = ep.run(
            collision: true,
            transmit: { _ in
                Issue.record("no APDU on a collision"); return .cardRemoved
            })
        #expect(o.status == .tryAgain && o.restart)
        #expect(o.uiRequestOnOutcome?.message == .presentOneCardOnly)
    }
}

/// Every virtual card and phone, end to end in process.
@Suite struct ContactlessEndToEndTests {
    @Test func visaUnderTheFloorLimitApprovesOfflineWithFDDA() throws {
        let card = try Reader.card("visa-paywave")
        let tap = try Reader.tap(card, amount: 4_999)
        #expect(tap.outcome.status == .approved)
        #expect(tap.outcome.cvm == .noCVM)
        #expect(
            tap.outcome.cardData?.pan == "4761733000000011" || tap.outcome.cardData?.pan.hasPrefix("47617330") == true)
        #expect(tap.ui.contains { $0.message == .cardReadOKRemoveCard && $0.beep == .success && $0.indicatorsLit == 4 })
        #expect(tap.commands.first == 0xA4 && tap.commands.contains(0xA8) && !tap.commands.contains(0xAE))
    }

    @Test(arguments: [
        ("visa-paywave", 29_999, ContactlessCVM.noCVM), ("visa-paywave", 30_000, .onlinePIN),
        ("unionpay-quickpass", 29_999, .noCVM), ("unionpay-quickpass", 30_001, .onlinePIN),
        ("mastercard-paypass", 29_999, .noCVM), ("mastercard-paypass", 30_000, .onlinePIN),
    ])
    func onlineAboveTheFloorLimitAndPINAtTheCVMLimit(name: String, amount: Int, cvm: ContactlessCVM) throws {
        let tap = try Reader.tap(try Reader.card(name), amount: amount)
        #expect(tap.outcome.status == .onlineRequest)
        #expect(tap.outcome.cvm == cvm)
        let request = try #require(tap.outcome.onlineRequest)
        #expect(request.onlinePINRequested == (cvm == .onlinePIN))
        #expect(try Reader.arqcVerifies(request))
    }

    @Test func overTheTransactionLimitTriesAnotherInterface() throws {
        let card = try Reader.card("visa-paywave")
        let tap = try Reader.tap(card, amount: 100_000)
        #expect(tap.outcome.status == .tryAnotherInterface)
        #expect(tap.commands == [0xA4])  // Mastercard still allows it (on-device limit): PPSE, then no candidate
        #expect(try Reader.tap(card, amount: 99_999).outcome.status == .onlineRequest)
    }

    @Test func contactOnlyCardTriesAnotherInterface() throws {
        let tap = try Reader.tap(try Reader.card("visa-contact-only"), amount: 1_000)
        #expect(tap.outcome.status == .tryAnotherInterface)
        #expect(tap.outcome.uiRequestOnOutcome?.message == .insertCard)
    }

    @Test func mastercardOfflineWithCDAAndRelayResistance() throws {
        let tap = try Reader.tap(try Reader.card("mastercard-paypass"), amount: 1_000)
        #expect(tap.outcome.status == .approved)
        #expect(tap.commands.contains(0xEA) && tap.commands.contains(0xAE))
        #expect(tap.outcome.tvr.contains(.relayResistancePerformed))
        #expect(!tap.outcome.tvr.contains(.cdaFailed))
        #expect(tap.outcome.measuredRelayResistanceTime != nil)
        #expect(tap.outcome.cardData?.cryptogram.count == 8)
    }

    /// A refund (Transaction Type '20'): no CVM even over the CVM limit, and the first GENERATE AC asks for an AAC
    /// (P1 '00', no CDA); the card's AAC and its data come back in a declined outcome for the refund's field 55.
    /// (Kernel 2 only: a Kernel 3 card decides its cryptogram at GPO, and the reader asks it for an online one.)
    @Test(arguments: ["mastercard-paypass", "samsungpay-mastercard"])
    func kernel2RefundAsksForAnAAC(_ name: String) throws {
        let phoneOrCard = try Reader.card(name)
        var tap = try Reader.tap(phoneOrCard, amount: 40_000, type: .refund)
        if name == "samsungpay-mastercard" {
            // The locked phone answers the AAC with "See Phone" too; once its owner unlocked it, the AAC comes back.
            #expect(tap.outcome.status == .tryAgain && tap.outcome.uiRequestOnOutcome?.message == .seePhone)
            tap = try Reader.tap(phoneOrCard, amount: 40_000, restart: true, type: .refund)
        }
        #expect(tap.generateACReferenceControls == [0x00])
        #expect(tap.outcome.status == .declined)
        #expect(tap.outcome.cvm == .noCVM)
        let card = try #require(tap.outcome.cardData)
        #expect(card.cid.map { $0 & 0xC0 } == 0x00 && card.cryptogram.count == 8)
        #expect(!card.pan.isEmpty)
        // The same card and amount as a purchase: CVM and an ARQC (online over the floor limit), CDA asked.
        let sale = try Reader.tap(try Reader.card(name), amount: 40_000)
        #expect(sale.generateACReferenceControls.allSatisfy { $0 & 0xC0 != 0x00 })
    }

    @Test func relayedMastercardExceedsTheTimeLimits() throws {
        let tap = try Reader.tap(try Reader.card("mastercard-relayed"), amount: 1_000)
        #expect(tap.commands.filter { $0 == 0xEA }.count == 3)
        #expect(tap.outcome.tvr.contains(.relayResistanceTimeLimitsExceeded))
        #expect(tap.outcome.status == .onlineRequest)
    }

    @Test func phoneApprovesAtOnceWithCDCVM() throws {
        let tap = try Reader.tap(try Reader.card("applepay-visa"), amount: 80_000)
        #expect(tap.outcome.status == .onlineRequest)
        #expect(tap.outcome.cvm == .confirmationCodeVerified)
        #expect(try Reader.arqcVerifies(try #require(tap.outcome.onlineRequest)))
    }

    @Test(arguments: ["applepay-visa-locked", "samsungpay-mastercard"])
    func lockedPhoneSeesPhoneThenApproves(name: String) throws {
        let phone = try Reader.card(name)
        let first = try Reader.tap(phone, amount: 50_000)
        #expect(first.outcome.status == .tryAgain)
        #expect(first.outcome.restart)
        #expect(first.outcome.uiRequestOnOutcome?.message == .seePhone)
        #expect(first.outcome.uiRequestOnRestart?.message == .presentCardAgain)
        let second = try Reader.tap(phone, amount: 50_000, restart: true)
        #expect(second.outcome.status == .onlineRequest)
        #expect(second.outcome.cvm == .confirmationCodeVerified)
        #expect(try Reader.arqcVerifies(try #require(second.outcome.onlineRequest)))
    }

    @Test func phoneDeclines() throws {
        let tap = try Reader.tap(try Reader.card("phone-declines"), amount: 1_000)
        #expect(tap.outcome.status == .declined)
        #expect(tap.outcome.uiRequestOnOutcome?.message == .notAuthorised)
    }

    @Test func tornTransactionIsRecoveredOnTheNextTap() throws {
        let card = try Reader.card("mastercard-torn")
        let first = try Reader.tap(card, amount: 1_000)
        #expect(first.outcome.status == .tryAgain)
        let torn = try #require(first.outcome.tornRecord)
        let second = try Reader.tap(card, amount: 1_000, tornLog: [torn], restart: true)
        #expect(second.commands.contains(0xD0))
        #expect(!second.commands.contains(0xAE))
        #expect(second.outcome.status == .approved)
        #expect(second.outcome.clearedTornRecord == torn)
        #expect(card.applicationTransactionCounter == 2)
    }

    @Test func cardInFieldTimeIsModelled() throws {
        let tap = try Reader.tap(try Reader.card("visa-paywave"), amount: 1_000)
        #expect(tap.cardInField106 > tap.cardInField424)
        #expect(tap.cardInField424 > 0 && tap.cardInField106 < 500_000)
    }

    @Test func kernelTimeIsReportedWithAClock() throws {
        struct Counter: ProcessingClock {
            let box = Box()
            final class Box: @unchecked Sendable { var n: UInt64 = 0 }  // test only: one thread
            func nanoseconds() -> UInt64 { box.n += 1_000; return box.n }
        }
        let card = try Reader.card("visa-paywave")
        let connection = VirtualContactlessConnection(card: card)
        var ep = ContactlessEntryPoint(
            parameters: try Reader.parameters(), transaction: Reader.transaction(1_000), random: SystemRandom(),
            clock: Counter())
        let o = ep.run(transmit: { c in
            .response(
                (try? ResponseAPDU(apduEncoded: (try? connection.transmit(c.encoded)) ?? []))
                    ?? ResponseAPDU(statusWord: .wrongLength))
        })
        #expect(o.kernelProcessingNanoseconds > 0)
    }
}

/// Event → action tables of Kernel 2 against scripted answers (relay resistance and GPO status words).
@Suite struct Kernel2TableTests {
    static let fci = h("6F14" + "8407A0000000041010" + "A509" + "50074D415354455243")
    static let gpo = h("770A" + "82021981" + "940408010100" + "9000")

    static func run(_ answers: [String], elapsed: Int = 0) throws -> (ContactlessOutcome, [UInt8]) {
        var ep = ContactlessEntryPoint(
            parameters: try Reader.parameters(), transaction: Reader.transaction(1_000), random: SystemRandom())
        let selectAnswer: [UInt8] = fci + h("9000")
        var queue: [[UInt8]] = [PublicTranscriptTests.mastercardPPSE, selectAnswer]
        queue += answers.map { h($0) }
        var ins: [UInt8] = []
        let o = ep.run(transmit: { c in
            ins.append(c.ins)
            guard !queue.isEmpty, let r = try? ResponseAPDU(apduEncoded: queue.removeFirst()) else {
                return .cardRemoved
            }
            return .response(r, elapsedMicroseconds: elapsed)
        })
        return (o, ins)
    }

    @Test(arguments: [
        ("6984", ContactlessOutcomeStatus.tryAnotherInterface), ("6985", .endApplication), ("6F00", .endApplication),
    ])
    func gpoStatus(sw: String, status: ContactlessOutcomeStatus) throws {
        #expect(try Self.run([sw]).0.status == status)
    }

    @Test func relayAnswerTooFastEndsTheTransaction() throws {
        // Min 100 (10 ms), max 200: an answer after 1 ms cannot come from a genuine card that needs 10 ms.
        let (o, ins) = try Self.run(
            [Hex.encode(Self.gpo), "800A" + "01020304" + "0064" + "00C8" + "0012" + "9000"], elapsed: 1_000)
        #expect(ins == [0xA4, 0xA4, 0xA8, 0xEA])
        #expect(o.status == .endApplication)
        #expect(o.tvr.contains(.relayResistanceTimeLimitsExceeded))
    }

    @Test func relayAnswerMalformed() throws {
        let (o, _) = try Self.run([Hex.encode(Self.gpo), "8004" + "01020304" + "9000"])
        #expect(o.status == .endApplication)
    }

    @Test func relayAnswerInTimeReadsTheRecords() throws {
        // Elapsed 5.6 ms: 56 − 18 − min(18, 18) = 20 units, within [min 3 − 20, max 20 + 50]; then READ RECORD.
        let (o, ins) = try Self.run(
            [Hex.encode(Self.gpo), "800A" + "01020304" + "0003" + "0014" + "0012" + "9000", "6A83"], elapsed: 5_600)
        #expect(ins == [0xA4, 0xA4, 0xA8, 0xEA, 0xB2])
        #expect(o.measuredRelayResistanceTime == 20)
        #expect(o.status == .endApplication)  // the record is missing
    }
}
