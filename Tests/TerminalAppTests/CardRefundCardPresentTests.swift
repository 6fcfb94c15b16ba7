#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import AcquirerSimulator
import Codecs
import ContactlessKernel
import DeviceKit
import EMVKernel
import Logging
import PaymentCrypto
@testable import Store
@testable import TerminalApp
import TerminalUI
import TestKit
import Testing
import Synchronization
import Uplink
import VirtualCards

/// The card-present step of a card refund (docs/merchant-operations.md "refund by reference"): the virtual cards read
/// in process through the EMV kernel with Transaction Type '20' (``CardRefundReader``), the real journal file, mutual
/// TLS on loopback to the acquirer simulator and its SQLite books.
@Suite(.serialized) struct CardRefundCardPresentTests {
    static func pan(_ card: String) throws -> String {
        try #require(VirtualCardProfile.named(card)?.applications.first?.pan)
    }

    /// The virtual cards of one test, by name (each keeps its ATC across insertions); `pulledAtReadRecord`: the card
    /// leaves the reader at its first READ RECORD.
    final class Cards: @unchecked Sendable {
        var cards: [String: VirtualCard] = [:]
        var connections = 0
        let pulledAtReadRecord: Bool
        init(pulledAtReadRecord: Bool = false) { self.pulledAtReadRecord = pulledAtReadRecord }

        func connect(_ presentation: Presentation) throws -> any CardConnection {
            guard case .inserted(let name) = presentation, let profile = VirtualCardProfile.named(name) else {
                throw VirtualCardError(.cardRemoved, "not a virtual card insertion")
            }
            let card = try cards[name] ?? VirtualCard(profile: profile, random: SystemRandom())
            cards[name] = card
            card.reset()
            connections += 1
            let connection = VirtualCardConnection(card: card)
            return pulledAtReadRecord ? PulledAtReadRecord(connection) : connection
        }
    }

    final class PulledAtReadRecord: CardConnection, @unchecked Sendable {
        let inner: VirtualCardConnection
        init(_ inner: VirtualCardConnection) { self.inner = inner }
        var slot: CardSlot { inner.slot }
        func transmit(_ command: [UInt8]) throws -> [UInt8] {
            if command.count > 1, command[1] == 0xB2 { inner.pull() }
            return try inner.transmit(command)
        }
        func disconnect() { inner.disconnect() }
    }

    static func service(
        _ rig: SettlementTests.Rig, cards: Cards, contactless: Bool = false, sequenceCounter: TransactionSequenceCounter? = nil
    ) throws -> CardVoidService {
        let clock = FixedWallClock(text: "12:00")
        let now = clock.localDateTime()
        let parameters = try TerminalParameters.parse(
            try readTextFile(repositoryRoot() + "/board/sim/emv-parameters.toml"),
            today: EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 11, day: 27)!)
        var reader = CardRefundReader(
            connect: { try cards.connect($0) }, parameters: { parameters }, clock: clock, random: SystemRandom(),
            logger: Logger(label: "test"))
        reader.sequenceCounter = sequenceCounter
        if contactless {
            let field = VirtualContactlessField()
            reader.contactless = .init(
                present: { try field.present($0) },
                combinations: ContactlessCombination.standard(limits: ContactlessRail.Configuration.simulatorLimits))
        }
        return CardVoidService(
            journal: rig.journal, link: rig.link,
            configuration: .init(terminalID: CardRefundTests.terminalID, merchantID: "898310048990001"),
            currency: Currency(code: "CNY")!,
            header: Receipts.Header(merchantName: "Shop", terminalID: CardRefundTests.terminalID, merchantID: "898310048990001"),
            clock: { Int64(time(nil)) }, logger: Logger(label: "test"), presence: .present(reader))
    }

    /// A session whose inputs are `inputs`, then nothing more (the stream stays open, as the controller's does).
    static func session(_ inputs: [TerminalFlow.RailInput], screens: Screens = Screens(), printed: CardRefundTests.Printed = .init()) -> (PaymentSession, AsyncStream<TerminalFlow.RailInput>.Continuation) {
        let (stream, feed) = AsyncStream.makeStream(of: TerminalFlow.RailInput.self)
        for input in inputs { feed.yield(input) }
        let session = PaymentSession(
            show: { screen in screens.shown.withLock { $0.append(screen) } }, inputs: stream,
            print: { doc in printed.documents.withLock { $0.append(doc) } }, language: .en)
        return (session, feed)
    }

    final class Screens: Sendable {
        let shown = Mutex<[Screen]>([])
    }

    static func entryCount(_ rig: SettlementTests.Rig) throws -> Int64 {
        let rows = try rig.ledger.database.query("SELECT count(*) FROM entries", [])
        guard case .integer(let n)? = rows.first?.first else { return -1 }
        return n
    }

    @Test func theSaleCardIsReadAndTheRefundApproved() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let cards = Cards()
        // The terminal's Transaction Sequence Counter, shared with the card rails: the last sale used 41.
        let settings = Locked(try TerminalStore(path: rig.directory + "/journal.sqlite"))
        try settings.withLock { try $0.setSetting("emv.sequence", "41") }
        let refunds = try Self.service(rig, cards: cards, sequenceCounter: TransactionSequenceCounter(store: settings))
        let (rrn, _) = try CardRefundTests.onlineSale(rig, amount: 10_000, txnRef: 0x7B_0001, pan: try Self.pan("visa-credit"))
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        let screens = Screens()
        let printed = CardRefundTests.Printed()
        // A tap first, on a reader without a contactless field: the terminal asks for the card in the slot.
        let (session, feed) = Self.session(
            [.tick(now: 0), .presentation(.tapped(name: "visa-paywave")), .presentation(.inserted(name: "visa-credit"))],
            screens: screens, printed: printed)
        let result = await refunds.run(.refund, sale: sale, amount: 2_500, session: session)
        feed.finish()
        #expect(result == .approved(lines: [.raw("476173******0019")]))
        let shown = screens.shown.withLock { $0 }
        let amount = Screen.Text.raw(Currency(code: "CNY")!.display(minorUnits: 2_500, language: .en))
        #expect(shown.contains(.info(.init(title: .ui(.merchantRefund), lines: [amount, .ui(.present(.card))]))), "\(shown.prefix(2))")
        #expect(shown.contains(.info(.init(title: .ui(.merchantRefund), lines: [amount, .ui(.insertCardInstead)]))))
        #expect(!shown.contains { if case .pinEntry = $0 { true } else { false } }, "no PIN for a refund")
        #expect(printed.documents.withLock { $0.count } == 2)
        // The journal's refund: chip entry, the card's field 55 ('9C' '20', the AAC), the sale's masked PAN.
        let refund = try #require(try rig.journal.withLock { try $0.records(limit: 1).first })
        #expect(refund.kind == .refund && refund.status == .approved && refund.entryMode == .chip)
        let card = try rig.journal.withLock { try $0.cardData(refund.id) }
        let field55 = try #require(card.field55).withUnsafeBytes { try TLVNode.sequence(tlvEncoded: Array($0)) }
        #expect(field55.first { $0.tag == TLVTag(0x9C) }.map { Array($0.value) } == [0x20])
        #expect(field55.first { $0.tag == TLVTag(0x9F27) }.map { Array($0.value) } == [0x00], "the card's AAC")
        #expect(field55.first { $0.tag == TLVTag(0x9F41) }.map { Array($0.value) } == [0x00, 0x00, 0x00, 0x42], "'9F41' is the counter's next")
        #expect(try settings.withLock { try $0.setting("emv.sequence") } == "42")
        let request = StoreAndForwardUploader.transactionRequest(
            UploadItem(kind: .advice, record: refund, card: card), configuration: .init(terminalID: CardRefundTests.terminalID, merchantID: "898310048990001"),
            now: Int64(time(nil)))
        #expect(request.entryMode == .contactChip && request.kind == .refund)
        #expect(try rig.ledger.batchTotals(terminalID: CardRefundTests.terminalID, batch: 1)
            == [SettlementTotals(saleCount: 1, saleAmount: 10_000, refundCount: 1, refundAmount: 2_500, currencyCode: "156")])
    }

    /// A tap on a reader with a contactless field: read through Entry Point with '9C' '20', contactless entry mode.
    @Test func aTappedCardIsReadAndTheRefundApproved() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let refunds = try Self.service(rig, cards: Cards(), contactless: true)
        let tapPAN = try #require(ContactlessCardProfile.named("visa-paywave")?.application.pan)
        let (rrn, _) = try CardRefundTests.onlineSale(rig, amount: 10_000, txnRef: 0x7B_0005, pan: tapPAN)
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        var (session, feed) = Self.session([.presentation(.tapped(name: "visa-paywave"))])
        #expect(await refunds.run(.refund, sale: sale, amount: 4_000, session: session) == .approved(lines: [.raw(sale.maskedReference)]))
        feed.finish()
        let refund = try #require(try rig.journal.withLock { try $0.records(limit: 1).first })
        #expect(refund.kind == .refund && refund.status == .approved && refund.entryMode == .contactless)
        let card = try rig.journal.withLock { try $0.cardData(refund.id) }
        let field55 = try #require(card.field55).withUnsafeBytes { try TLVNode.sequence(tlvEncoded: Array($0)) }
        #expect(field55.first { $0.tag == TLVTag(0x9C) }.map { Array($0.value) } == [0x20])
        // Another card tapped: refused, nothing sent.
        let entries = try Self.entryCount(rig)
        (session, feed) = Self.session([.presentation(.tapped(name: "mastercard-paypass"))])
        #expect(await refunds.run(.refund, sale: sale, amount: 1_000, session: session) == .declined(lines: [.ui(.refundCardMismatch)]))
        feed.finish()
        #expect(try Self.entryCount(rig) == entries)
        #expect(try rig.ledger.batchTotals(terminalID: CardRefundTests.terminalID, batch: 1)
            == [SettlementTotals(saleCount: 1, saleAmount: 10_000, refundCount: 1, refundAmount: 4_000, currencyCode: "156")])
    }

    @Test func anotherCardIsRefusedWithNothingSent() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let cards = Cards()
        let refunds = try Self.service(rig, cards: cards)
        let (rrn, _) = try CardRefundTests.onlineSale(rig, amount: 10_000, txnRef: 0x7B_0002, pan: try Self.pan("visa-credit"))
        #expect(try Self.pan("online-only") != (try Self.pan("visa-credit")))
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        let entries = try Self.entryCount(rig)
        let records = try rig.journal.withLock { try $0.records(limit: 10).count }
        let (session, feed) = Self.session([.presentation(.inserted(name: "online-only"))])
        let result = await refunds.run(.refund, sale: sale, amount: 1_000, session: session)
        feed.finish()
        #expect(result == .declined(lines: [.ui(.refundCardMismatch)]))
        #expect(cards.connections == 1)
        #expect(try Self.entryCount(rig) == entries, "nothing reached the host")
        #expect(try rig.journal.withLock { try $0.records(limit: 10).count } == records, "nothing journalled")
        #expect(try rig.ledger.netCharged() == 10_000)
        #expect(refunds.refundableSales(reference: rrn).first?.refundable == 10_000)
    }

    @Test func cardRemovedMidReadCancelAndTimeoutSendNothing() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let cards = Cards(pulledAtReadRecord: true)
        let refunds = try Self.service(rig, cards: cards)
        let (rrn, _) = try CardRefundTests.onlineSale(rig, amount: 10_000, txnRef: 0x7B_0003, pan: try Self.pan("visa-credit"))
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        let entries = try Self.entryCount(rig)
        let records = try rig.journal.withLock { try $0.records(limit: 10).count }
        var (session, feed) = Self.session([.presentation(.inserted(name: "visa-credit"))])
        #expect(await refunds.run(.refund, sale: sale, amount: 1_000, session: session) == .declined(lines: [.ui(.cardRemoved)]))
        feed.finish()
        (session, feed) = Self.session([.key(.digit1), .key(.cancel)])
        #expect(await refunds.run(.refund, sale: sale, amount: 1_000, session: session) == .cancelled)
        feed.finish()
        (session, feed) = Self.session([.tick(now: 1_000), .tick(now: 20_000), .tick(now: 31_001)])
        #expect(await refunds.run(.refund, sale: sale, amount: 1_000, session: session) == .declined(lines: [.ui(.timedOut)]))
        feed.finish()
        // Over what is left: refused before the card is asked for.
        (session, feed) = Self.session([])
        #expect(await refunds.run(.refund, sale: sale, amount: 10_001, session: session) == .declined(lines: [.ui(.refundOverLimit)]))
        feed.finish()
        #expect(cards.connections == 1)
        #expect(try Self.entryCount(rig) == entries)
        #expect(try rig.journal.withLock { try $0.records(limit: 10).count } == records)
    }

    @Test func aBoardWithoutACardReaderRefusesCardPresentRefunds() async throws {
        let rig = try SettlementTests.Rig(sales: 0)
        defer { rig.close() }
        let refunds = CardVoidService(
            journal: rig.journal, link: rig.link,
            configuration: .init(terminalID: CardRefundTests.terminalID, merchantID: "898310048990001"),
            currency: Currency(code: "CNY")!,
            header: Receipts.Header(merchantName: "Shop", terminalID: CardRefundTests.terminalID, merchantID: "898310048990001"),
            clock: { Int64(time(nil)) }, logger: Logger(label: "test"), presence: .present(nil))
        let (rrn, _) = try CardRefundTests.onlineSale(rig, amount: 10_000, txnRef: 0x7B_0004)
        let sale = try #require(refunds.refundableSales(reference: rrn).first)
        let (session, feed) = Self.session([])
        #expect(await refunds.run(.refund, sale: sale, amount: 1_000, session: session) == .declined(lines: [.ui(.notAvailable)]))
        feed.finish()
    }
}
