import Codecs
import EMVKernel
import Testing

@Suite struct KernelReadDataTests {
    @Test(arguments: [false, true])
    func gpoFormatOneAndTwo(_ format1: Bool) {
        var profile = CardProfile()
        profile.gpoFormat1 = format1
        var harness = Harness(card: profile.card())
        harness.run()
        #expect(harness.decision == .approvedOffline)
        #expect(harness.commandKeys.filter { $0.hasPrefix("00B2") } == ["00B2010C", "00B20114", "00B20214"])
    }

    @Test func pdolRelatedDataIsFilledFromTerminalData() throws {
        var profile = CardProfile()
        // Amount, UN, country, capabilities, an unknown tag (zero-filled) and a constructed one (zero-filled).
        profile.pdol = h("9F0206 9F3704 9F1A02 9F3303 DF7F02 BF0102")
        var harness = Harness(card: profile.card())
        harness.run()
        let gpo = try #require(harness.commands.first { $0.ins == 0xA8 })
        #expect(gpo.data == h("8313 000000005000 A1B2C3D4 0156 E0F8C8 0000 0000"))
    }

    @Test(arguments: [
        h("00010100"), h("08000100"), h("08020100"), h("08010102"), h("080101"), h("F8010100"), h("09010100"), [],
    ])
    func malformedAFLAborts(_ afl: [UInt8]) {
        var profile = CardProfile()
        profile.afl = afl
        var harness = Harness(card: profile.card())
        harness.run()
        #expect(harness.decision == .aborted(.cardError("AFL")))
        #expect(harness.messages == [.cardError])
        #expect(!harness.commandKeys.contains { $0.hasPrefix("00B2") })
    }

    @Test func recordOfSFI1To10MustBeTemplate70() {
        var card = CardProfile().card()
        card.set("00B2010C", [], ok(tlv(0x5A, testPAN)))
        var harness = Harness(card: card)
        harness.run()
        guard case .aborted(.malformedData) = harness.decision else {
            Issue.record("expected malformedData, got \(String(describing: harness.decision))")
            return
        }
    }

    @Test func recordOfSFI11To30NeedNotBeTemplate70() {
        var profile = CardProfile()
        profile.afl = h("08010100 10010200 58010101")
        var card = profile.card()
        card.set("00B2015C", [], ok(h("DF0102AABB")))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .approvedOffline)
        #expect(harness.commandKeys.contains("00B2015C"))
    }

    @Test(arguments: [0x5A, 0x5F24, 0x8C, 0x8D] as [UInt32])
    func missingMandatoryDataAborts(_ tag: UInt32) throws {
        let profile = CardProfile()
        var card = profile.card()
        let record = try TLVNode(tlvEncoded: profile.record2)
        let kept = record.children.filter { $0.tag != TLVTag(tag) }.map { Array($0.encodedBytes) }
        card.set("00B20114", [], ok(tlv(0x70, children: kept)))
        var harness = Harness(card: card)
        harness.run()
        guard case .aborted(.malformedData) = harness.decision else {
            Issue.record("expected malformedData, got \(String(describing: harness.decision))")
            return
        }
        #expect(!harness.commandKeys.contains { $0.hasPrefix("80AE") })
    }

    @Test func duplicatePrimitiveAborts() {
        var card = CardProfile().card()
        card.set("00B20214", [], ok(tlv(0x70, children: [tlv(0x5A, testPAN)])))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .aborted(.malformedData("duplicate data object")))
    }

    @Test func duplicateOfTheAFLInARecordAborts() {
        var card = CardProfile().card()
        card.set("00B20214", [], ok(tlv(0x70, children: [tlv(0x94, h("08010100"))])))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .aborted(.malformedData("duplicate data object")))
    }

    @Test(arguments: [0x6A83, 0x6985, 0x6700] as [UInt16])
    func readRecordErrorAborts(_ status: UInt16) {
        var card = CardProfile().card()
        card.set("00B20114", [], sw(status))
        var harness = Harness(card: card)
        harness.run()
        guard case .aborted(.cardError) = harness.decision else {
            Issue.record("expected cardError, got \(String(describing: harness.decision))")
            return
        }
    }

    @Test(arguments: [h("7703 8201"), h("8001 18"), h("7704 8202 1800"), h("6F00"), h("")])
    func malformedGPOResponseAborts(_ data: [UInt8]) {
        var card = CardProfile().card()
        card.set("80A80000", [], ok(data))
        var harness = Harness(card: card)
        harness.run()
        guard case .aborted(.malformedData) = harness.decision else {
            Issue.record("expected malformedData, got \(String(describing: harness.decision))")
            return
        }
    }

    @Test func gpoErrorStatusAborts() {
        var card = CardProfile().card()
        card.set("80A80000", [], sw(0x6A88))
        var harness = Harness(card: card)
        harness.run()
        #expect(harness.decision == .aborted(.cardError("GET PROCESSING OPTIONS 6A88")))
    }

    @Test func failingRandomSourceEndsTheTransaction() {
        var harness = Harness(card: CardProfile().card(), random: [])
        harness.run()
        #expect(harness.decision == .aborted(.terminalError("the random source failed")))
        #expect(harness.commands.isEmpty)
    }
}

@Suite struct KernelProcessingRestrictionsTests {
    func run(_ change: (inout CardProfile) -> Void, transaction tx: EMVTransaction = transaction()) -> Harness {
        var profile = CardProfile()
        change(&profile)
        var harness = Harness(transaction: tx, card: profile.card())
        harness.run()
        return harness
    }

    @Test func cleanCardSetsNoRestrictionBits() {
        let harness = run { _ in }
        #expect(harness.tvr.bytes[1] == 0)
        #expect(harness.decision == .approvedOffline)
    }

    @Test func expiredApplication() {
        let harness = run { $0.expiry = h("261126") }
        #expect(harness.tvr.contains(.expiredApplication))
        #expect(!run { $0.expiry = h("261127") }.tvr.contains(.expiredApplication))
    }

    @Test func notYetEffective() {
        #expect(run { $0.effective = h("261128") }.tvr.contains(.applicationNotYetEffective))
        #expect(!run { $0.effective = h("261127") }.tvr.contains(.applicationNotYetEffective))
    }

    @Test func differentApplicationVersions() {
        #expect(run { $0.version = h("0096") }.tvr.contains(.differentApplicationVersions))
        #expect(!run { $0.version = nil }.tvr.contains(.differentApplicationVersions))
    }

    @Test(arguments: [
        // AUC, issuer country, transaction type, allowed
        (h("FF00"), h("0156"), EMVTransaction.TransactionType.purchase, true),
        (h("2900"), h("0840"), .purchase, false),  // domestic only, card from abroad
        (h("1500"), h("0840"), .purchase, true),  // international goods and services
        (h("FE00"), h("0156"), .purchase, false),  // not valid at terminals other than ATMs
        (h("FF00"), h("0156"), .cashback, false),  // no domestic cashback
        (h("FF80"), h("0156"), .cashback, true),
        (h("FF80"), h("0840"), .cashback, false),  // no international cashback
        (h("0100"), h("0156"), .refund, true),
    ])
    func applicationUsageControl(
        _ auc: [UInt8], _ country: [UInt8], _ type: EMVTransaction.TransactionType, _ allowed: Bool
    ) {
        let harness = run(
            {
                $0.auc = auc
                $0.issuerCountry = country
            }, transaction: transaction(amount: 5_000, other: type == .cashback ? 1_000 : 0, type: type))
        #expect(harness.tvr.contains(.requestedServiceNotAllowed) == !allowed)
    }
}
