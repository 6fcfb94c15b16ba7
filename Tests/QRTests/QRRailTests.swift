import Codecs
import DeviceKit
import LinuxDevices
import QRGatewaySimulator
import TerminalApp
import TerminalUI
import TestKit
import Testing

/// A journal that records what the rail writes, in order (the Store's journal is tested in StoreTests).
final class RecordingJournal: RailJournal {
    let events = Locked<[String]>([])
    let cards = Locked<[RailCardData]>([])
    let outcomes = Locked<[RailOutcome]>([])
    private let counter = Locked(0)

    func begin(_ draft: RailDraft) throws -> RailTicket {
        let n = counter.withLock { value -> Int in
            value += 1
            return value
        }
        events.withLock { $0.append("begin \(draft.rail) \(draft.kind) \(draft.amount)") }
        return RailTicket(transactionReference: "TXN-20261127-\(100_000 + n)", stan: n, sequence: UInt32(n))
    }
    func transactionLogTotal(pan: String) throws -> Int { 0 }
    func prepareOnline(_ ticket: RailTicket, card: RailCardData) throws -> RailTicket {
        cards.withLock { $0.append(card) }
        events.withLock { $0.append("prepareOnline") }
        return ticket
    }
    func hostAnswered(_ ticket: RailTicket, response: AuthorizationResponse?, keepReversal: Bool) throws {
        events.withLock { $0.append("hostAnswered \(response?.responseCode ?? "none")") }
    }
    func complete(_ ticket: RailTicket, outcome: RailOutcome) throws {
        outcomes.withLock { $0.append(outcome) }
        events.withLock { $0.append("complete \(outcome.status.rawValue)" + (outcome.needsReversal ? " needsReversal" : "")) }
    }
    func offlineAllowed(amount: Int, rail: String) throws -> Screen.Text? { .ui(.offlineNotAllowed) }
}

/// The store's QR sales, as a list.
struct ListedSales: QRTransactionLookup {
    var sales: [String: QRSaleRecord]
    func qrSale(orderID: String) throws -> QRSaleRecord? { sales[orderID] }
}

/// A rail, its simulated gateway and a session whose ticks the test drives one second at a time; the gateway's clock
/// follows the ticks.
final class RailHarness: Sendable {
    let clock = Locked<Int64>(0)
    let screens = Locked<[Screen]>([])
    let prints = Locked<[PrintDocument]>([])
    let journal = RecordingJournal()
    let gateway: SimulatedQRGatewayLink
    let rail: QRRail
    let session: PaymentSession
    private let continuation: AsyncStream<TerminalFlow.RailInput>.Continuation

    init(
        gateway configuration: QRGatewaySimulator.Configuration = .init(), printMerchantQR: Bool = true,
        lookup: (any QRTransactionLookup)? = nil
    ) {
        let clock = self.clock
        gateway = SimulatedQRGatewayLink(configuration: configuration, now: { clock.withLock { $0 } })
        var railConfiguration = QRRail.Configuration(
            currency: Currency(code: "CNY")!, merchantName: "Demo Shop", merchantCity: "Shanghai",
            merchantNameChinese: "模拟商户", merchantCityChinese: "上海",
            merchantAccount: .init(id: 26, globallyUniqueIdentifier: "CN.COM.EXAMPLE.QRSIM", details: [MPMDataObject(id: "01", value: "SIM00001")]),
            terminalLabel: "SIM00001")
        railConfiguration.printMerchantQR = printMerchantQR
        rail = QRRail(configuration: railConfiguration, journal: journal, gateway: gateway, lookup: lookup)
        // No buffer: a tick is taken only while the rail waits for one, so the clock never runs ahead of the rail.
        let (stream, continuation) = AsyncStream.makeStream(of: TerminalFlow.RailInput.self, bufferingPolicy: .bufferingNewest(0))
        self.continuation = continuation
        let screens = self.screens
        let prints = self.prints
        session = PaymentSession(
            show: { screen in screens.withLock { $0.append(screen) } }, inputs: stream,
            print: { document in prints.withLock { $0.append(document) } })
    }

    /// Runs `body` (the payment) while ticking once a (simulated) second up to `limit` ms; `keys` are pressed at
    /// their times. Returns the result and the time it ended.
    func run(
        limit: Int64 = 300_000, keys: [Int64: Key] = [:],
        _ body: @escaping @Sendable (QRRail, PaymentSession) async -> TerminalFlow.PaymentResult
    ) async -> (TerminalFlow.PaymentResult, Int64) {
        let result = Locked<TerminalFlow.PaymentResult?>(nil)
        let rail = self.rail
        let session = self.session
        let task = Task {
            let r = await body(rail, session)
            result.withLock { $0 = r }
        }
        var now: Int64 = 0
        while result.withLock({ $0 }) == nil, now <= limit {
            now += 1_000
            clock.withLock { $0 = now }
            let inputs: [TerminalFlow.RailInput] = (keys[now].map { [.key($0)] } ?? []) + [.tick(now: now)]
            for input in inputs { await deliver(input, result) }
            // A presentation the rail ignores while it waits: taken only once the tick's work (a query, a cancel) is
            // done, so the clock moves on only then.
            await deliver(.presentation(.tapped(name: "probe")), result)
        }
        await task.value
        return (result.withLock { $0 } ?? .cancelled, now)
    }

    private func deliver(_ input: TerminalFlow.RailInput, _ result: Locked<TerminalFlow.PaymentResult?>) async {
        for _ in 0..<5_000 {
            if result.withLock({ $0 }) != nil { return }
            if case .enqueued = continuation.yield(input) { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    var texts: [String] {
        screens.withLock { $0 }.map { ScreenRenderer(columns: 40, rows: 15).render($0, language: .en).plainText }
            + prints.withLock { $0 }.flatMap(\.elements).map { "\($0)" }
    }
}

@Suite("QR rail: customer- and merchant-presented payments, polling, cancel, refund and void")
struct QRRailTests {
    @Test("A WeChat Pay code is paid: journal order, the code sealed as the card's PAN, receipt with the masked order")
    func weChatPaid() async throws {
        let harness = RailHarness()
        let (result, _) = await harness.run { rail, session in
            await rail.pay(amount: 1000, presentation: .scanned(code: "134567890123456789"), session: session)
        }
        #expect(result == .approved(lines: [.ui(.qrWallet("wechat")), .ui(.qrOrder("QRTXN2*********0001"))]))
        #expect(harness.journal.events.withLock { $0 } == ["begin qr sale 1000", "prepareOnline", "hostAnswered 00", "complete approved"])
        #expect(harness.journal.cards.withLock { $0 }.first?.pan == "134567890123456789")
        #expect(harness.journal.outcomes.withLock { $0 }.first?.retrievalReference == "SIM100000001")
        let receipt = try #require(harness.prints.withLock { $0 }.first)
        #expect(receipt.elements.contains(.text("微信支付")))
        #expect(receipt.elements.contains(.text("订单 QRTXN2*********0001")))
        // The payment code is on no screen and no receipt, and in no gateway ledger line.
        #expect(!harness.texts.contains { $0.contains("134567890123456789") })
        #expect(!harness.gateway.ledger.contains { $0.event.contains("134567890123456789") })
        #expect(harness.gateway.order("QRTXN20261127100001")?.state == .success)
    }

    @Test("An Alipay code is paid")
    func alipayPaid() async {
        let harness = RailHarness()
        let (result, _) = await harness.run { rail, session in
            await rail.pay(amount: 4200, presentation: .scanned(code: "284567890123456789"), session: session)
        }
        #expect(result == .approved(lines: [.ui(.qrWallet("alipay")), .ui(.qrOrder("QRTXN2*********0001"))]))
    }

    @Test("User paying: WeChat is queried every 10 s and paid on the second query")
    func userPayingThenPaid() async {
        let harness = RailHarness()  // user paying lasts 12 s
        let (result, end) = await harness.run { rail, session in
            await rail.pay(amount: 1061, presentation: .scanned(code: "134567890123456789"), session: session)
        }
        #expect(result == .approved(lines: [.ui(.qrWallet("wechat")), .ui(.qrOrder("QRTXN2*********0001"))]))
        let queries = harness.gateway.ledger.filter { $0.event.hasPrefix("query") }.map(\.time)
        #expect(queries == [11_000, 21_000])
        #expect(end == 21_000)
        #expect(harness.screens.withLock { $0 }.contains(.processing(.init(message: .ui(.qrWaitingForCustomer)))))
    }

    @Test("User paying too long: queried for 30 s, then cancelled; the reversal is in the gateway's ledger")
    func userPayingTimeout() async {
        let harness = RailHarness()
        let (result, end) = await harness.run { rail, session in
            await rail.pay(amount: 1062, presentation: .scanned(code: "134567890123456789"), session: session)
        }
        #expect(result == .declined(lines: [.ui(.qrWallet("wechat")), .ui(.qrCancelledTimeout)]))
        #expect(harness.gateway.ledger.filter { $0.event.hasPrefix("query") }.map(\.time) == [11_000, 21_000, 31_000])
        #expect(harness.gateway.ledger.contains { $0.event == "closed by cancel" && $0.time == 31_000 })
        #expect(harness.gateway.order("QRTXN20261127100001")?.state == .closed)
        #expect(harness.journal.events.withLock { $0 }.last == "complete reversed")
        #expect(end == 31_000)
    }

    @Test("CANCEL at 3 s: the rail waits until the WeChat order is 15 s old, then revokes it")
    func operatorCancelWaitsForWeChat() async {
        let harness = RailHarness()
        let (result, _) = await harness.run(keys: [3_000: .cancel]) { rail, session in
            await rail.pay(amount: 1062, presentation: .scanned(code: "134567890123456789"), session: session)
        }
        #expect(result == .cancelled)
        let ledger = harness.gateway.ledger
        #expect(!ledger.contains { $0.event == "cancel refused: too early" })
        let closed = ledger.first { $0.event == "closed by cancel" }
        #expect(closed.map { $0.time >= 15_000 && $0.time <= 18_000 } == true)
        #expect(harness.journal.events.withLock { $0 }.last == "complete reversed")
    }

    @Test("A gateway that answers 'too early' is asked again after the delay it gives")
    func gatewayTooEarly() async {
        var configuration = QRGatewaySimulator.Configuration()
        configuration.cancelNotBeforeMilliseconds = [.alipay: 20_000]
        let harness = RailHarness(gateway: configuration)
        let (result, _) = await harness.run(keys: [2_000: .cancel]) { rail, session in
            await rail.pay(amount: 1062, presentation: .scanned(code: "284567890123456789"), session: session)
        }
        #expect(result == .cancelled)
        let ledger = harness.gateway.ledger
        #expect(ledger.contains { $0.event == "cancel refused: too early" && $0.time == 2_000 })
        #expect(ledger.first { $0.event == "closed by cancel" }.map { $0.time >= 20_000 } == true)
    }

    @Test("Declines: insufficient balance maps to response code 51; user cancelled on the phone to 17")
    func declines() async {
        let harness = RailHarness()
        let (first, _) = await harness.run { rail, session in
            await rail.pay(amount: 1051, presentation: .scanned(code: "284567890123456789"), session: session)
        }
        #expect(first == .declined(lines: [.ui(.qrWallet("alipay")), .raw("insufficient balance")]))
        #expect(harness.journal.events.withLock { $0 }.suffix(2) == ["hostAnswered 51", "complete declined"])
        let second = RailHarness()
        let (result, _) = await second.run { rail, session in
            await rail.pay(amount: 1063, presentation: .scanned(code: "284567890123456789"), session: session)
        }
        #expect(result == .declined(lines: [.ui(.qrWallet("alipay")), .raw("customer cancelled on the phone")]))
        #expect(second.journal.events.withLock { $0 }.suffix(2) == ["hostAnswered 17", "complete declined"])
    }

    @Test("Codes that are not payment codes are refused with a clear message, nothing recorded")
    func refused() async {
        let harness = RailHarness()
        for (code, text) in [("6901234567892", UIString.qrNotAPaymentCode), ("1345678901234567", .qrWrongLength), (emvcoSample, .qrMerchantCode)] {
            let (result, _) = await harness.run { rail, session in await rail.pay(amount: 100, presentation: .scanned(code: code), session: session) }
            #expect(result == .declined(lines: [.ui(text)]))
        }
        #expect(harness.journal.events.withLock { $0 }.isEmpty)
        #expect(harness.rail.accepts(.scanned(code: "x"), method: .qr) && harness.rail.accepts(.scanned(code: "x"), method: nil))
        #expect(!harness.rail.accepts(.scanned(code: "x"), method: .card) && !harness.rail.accepts(.inserted(name: "c"), method: nil))
    }

    @Test("An EMVCo CPM code is paid; its TLV goes to the journal as ICC data")
    func consumerPresentedPaid() async {
        let harness = RailHarness()
        let (result, _) = await harness.run { rail, session in
            await rail.pay(amount: 800, presentation: .scanned(code: cpmExample), session: session)
        }
        #expect(result == .approved(lines: [.ui(.qrWallet("emvco")), .ui(.qrOrder("QRTXN2*********0001"))]))
        #expect(harness.journal.cards.withLock { $0 }.first?.iccData == Base64.decode(cpmExample))
    }

    @Test("Merchant-presented: the QR screen, the printed code, paid after the simulated scan, then refunded")
    func merchantPresentedPaidAndRefunded() async throws {
        let harness = RailHarness()
        let (result, end) = await harness.run { rail, session in
            await rail.pay(amount: 2372, presentation: .scanned(code: "MPM"), session: session)
        }
        #expect(result == .approved(lines: [.ui(.qrWallet("emvco")), .ui(.qrOrder("QRTXN2*********0001"))]))
        #expect(end == 7_000)  // created at 0 s, paid at 5 s, seen by the query after 6 s
        guard case .qrCode(let screen) = harness.screens.withLock({ $0 }).first else {
            Issue.record("no QR screen first")
            return
        }
        #expect(screen.amount == 2372)
        let printed = harness.prints.withLock { $0 }.first?.elements.compactMap { element -> String? in
            if case .qrCode(let payload) = element { return payload }
            return nil
        }.first
        let payload = try MerchantPresentedPayload(parsing: try #require(printed))
        #expect(payload.crcIsValid)
        #expect(payload.object("54")?.value == "23.72")
        #expect(payload.object("62")?.child("05")?.value == "QRTXN20261127100001")
        #expect(payload.object("64")?.child("01")?.value == "模拟商户")
        #expect(try QREncoder.encode(try #require(printed)) == screen.matrix)

        let (refund, _) = await harness.run { rail, session in
            await rail.refund(orderID: "QRTXN20261127100001", amount: 2372, session: session)
        }
        #expect(refund == .approved(lines: [.ui(.qrOrder("QRTXN2*********0001"))]))
        #expect(harness.gateway.order("QRTXN20261127100001")?.state == .refunded)
        #expect(harness.journal.events.withLock { $0 }.suffix(4) == ["begin qr refund 2372", "prepareOnline", "hostAnswered 00", "complete approved"])
        #expect(harness.prints.withLock { $0 }.last?.elements.contains(.text("扫码退货", alignment: .center)) == true)
    }

    @Test("Merchant-presented: CANCEL closes the order")
    func merchantPresentedCancelled() async {
        let harness = RailHarness(printMerchantQR: false)
        let (result, _) = await harness.run(keys: [2_000: .cancel]) { rail, session in
            await rail.pay(amount: 2372, presentation: .scanned(code: "MPM"), session: session)
        }
        #expect(result == .cancelled)
        #expect(harness.gateway.order("QRTXN20261127100001")?.state == .closed)
        #expect(harness.prints.withLock { $0 }.isEmpty)
    }

    @Test("Void of a paid order reverses it at the gateway")
    func void() async {
        let harness = RailHarness()
        _ = await harness.run { rail, session in
            await rail.pay(amount: 3000, presentation: .scanned(code: "284567890123456789"), session: session)
        }
        let (result, _) = await harness.run { rail, session in await rail.void(orderID: "QRTXN20261127100001", amount: 3000, session: session) }
        #expect(result == .approved(lines: [.ui(.qrOrder("QRTXN2*********0001"))]))
        #expect(harness.gateway.ledger.contains { $0.event.hasPrefix("REVERSED") })
        // An order the gateway does not know cannot be voided.
        let (unknown, _) = await harness.run { rail, session in await rail.void(orderID: "QRNOSUCHORDER", amount: 3000, session: session) }
        #expect(unknown == .declined(lines: [.ui(.qrOrder("QRNOSU***RDER"))]))
    }

    @Test("Order IDs: 'QR' and the last 23 letters and digits of the journal key, within the MPM reference label")
    func orderIDs() {
        #expect(QRRail.orderID(for: RailTicket(transactionReference: "TXN-20261127-100001", stan: 1, sequence: 1)) == "QRTXN20261127100001")
        let long = QRRail.orderID(for: RailTicket(transactionReference: "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f", stan: 1, sequence: 1))
        #expect(long.count == 25 && long.hasSuffix("8e9f0a1b2c3d4e5f"))
    }

    @Test("ENTER on the QR payment screen starts a merchant-presented payment; the screen says so")
    func flowStartsMerchantPresented() {
        var flow = TerminalFlow(
            configuration: .init(merchantName: "Demo", currency: Currency(code: "CNY")!, maximumAmount: 100_000, methods: [.qr], boardName: "sim", version: "t"),
            language: .en)
        for key: Key in [.digit5, .enter] { _ = flow.handle(.key(key)) }
        #expect(ScreenRenderer(columns: 40, rows: 15).render(flow.screen, language: .en).plainText.contains("ENTER: show our QR"))
        #expect(flow.handle(.key(.enter)) == [.startPayment(amount: 5, method: .qr, presentation: .scanned(code: "MPM"))])
        #expect(flow.isPaying)
    }

    @Test("The sim board's ledger file gets one line an entry")
    func ledgerFile() async throws {
        let directory = try makeTemporaryDirectory("qr-ledger")
        defer { removeTree(directory) }
        let path = directory + "/qr-ledger.txt"
        let link = SimulatedQRGatewayLink(now: { 1_000 }, onLedger: SimulatedQRGatewayLink.appendingLedger(to: path))
        _ = await link.pay(QRPaymentRequest(orderID: "O1", stan: 1, amount: 100, currencyCode: 156, wallet: .alipay, credential: "284567890123456789"))
        _ = await link.cancel(orderID: "O1")
        let lines = try readTextFile(path).split(separator: "\n")
        #expect(lines == ["1000 O1 pay alipay code 284567********6789 100", "1000 O1 success 100", "1000 O1 REVERSED: paid order refunded in full and closed 100"])
    }

    @Test("Figure: from the start of a merchant-presented payment to the QR on screen (payload, libqrencode, screen)")
    func timeToQR() async throws {
        let harness = RailHarness(printMerchantQR: false)
        let clock = ContinuousClock()
        let start = clock.now
        let shown = Locked<Duration?>(nil)
        let session = PaymentSession(
            show: { screen in
                if case .qrCode = screen { shown.withLock { $0 = $0 ?? (clock.now - start) } }
            }, inputs: AsyncStream { $0.finish() })
        _ = await harness.rail.pay(amount: 2372, presentation: .scanned(code: "MPM"), session: session)
        let elapsed = try #require(shown.withLock { $0 })
        print("qr figure: payment start to QR on screen \(elapsed)")
        #expect(elapsed < .milliseconds(250))
    }

    @Test("With the store's records, refunds and voids it rules out are refused before going online")
    func refundsCheckedAgainstTheStore() async {
        let sale = QRSaleRecord(transactionReference: "TXN-20261127-100001", amount: 3000, currencyCode: 156, wallet: .alipay, refundedAmount: 1000, voided: false)
        let harness = RailHarness(lookup: ListedSales(sales: ["QRTXN20261127100001": sale]))
        _ = await harness.run { rail, session in
            await rail.pay(amount: 3000, presentation: .scanned(code: "284567890123456789"), session: session)
        }
        let refused = TerminalFlow.PaymentResult.declined(lines: [.ui(.qrWallet("alipay")), .ui(.qrOrder("QRTXN2*********0001")), .ui(.amountLimit)])
        #expect(await harness.run { await $0.refund(orderID: "QRTXN20261127100001", amount: 2001, session: $1) }.0 == refused)
        #expect(await harness.run { await $0.void(orderID: "QRTXN20261127100001", amount: 3000, session: $1) }.0 == refused)
        #expect(await harness.run { await $0.refund(orderID: "QRUNKNOWN", amount: 1, session: $1) }.0 == .declined(lines: [.ui(.qrOrder("*****NOWN"))]))
        #expect(harness.journal.events.withLock { $0 }.count == 4)  // only the sale
        #expect(await harness.run { await $0.refund(orderID: "QRTXN20261127100001", amount: 2000, session: $1) }.0 == .approved(lines: [.ui(.qrWallet("alipay")), .ui(.qrOrder("QRTXN2*********0001"))]))
    }
}
