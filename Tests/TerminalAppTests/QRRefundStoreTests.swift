import DeviceKit
import PaymentCrypto
import Store
import TerminalApp
import TerminalUI
import TestKit
import Testing

/// QR refunds and voids against the real encrypted journal (SQLite file) and the simulated wallet gateway: the
/// store-backed ``StoreQRTransactionLookup`` and the menu's ``QRRefundService``.
@Suite(.serialized) struct QRRefundStoreTests {
    final class Rig: Sendable {
        let directory: String
        /// Journal time, seconds since 1970.
        let unixTime = Locked<Int64>(1_795_770_000)
        let gatewayTime = Locked<Int64>(0)
        let journal: Locked<TransactionJournal>
        let lookup: StoreQRTransactionLookup
        let rail: QRRail
        let gateway: SimulatedQRGatewayLink
        let service: QRRefundService
        let prints = Locked<[PrintDocument]>([])

        init() throws {
            directory = try makeTemporaryDirectory("qr-refund")
            let unixTime = self.unixTime
            let opened = try TransactionJournal(
                store: try TerminalStore(path: directory + "/terminal.sqlite"), dataKey: SecretBytes(try SystemRandom().bytes(32)),
                random: SystemRandom(), clock: { unixTime.withLock { $0 } })
            journal = Locked(opened)
            let settings = Locked(try TerminalStore(path: directory + "/terminal.sqlite"))
            let seam = StoreRailJournal(journal: journal, settings: settings, random: SystemRandom(), currencyCode: 156)
            lookup = StoreQRTransactionLookup(journal: journal)
            let gatewayTime = self.gatewayTime
            let qr = QRRail.simulated(
                journal: seam, currency: Currency(code: "CNY")!, merchantName: "模拟商户 Demo Shop", merchantCity: "Shanghai",
                merchantNameChinese: "模拟商户", merchantCityChinese: "上海", now: { gatewayTime.withLock { $0 } }, lookup: lookup)
            rail = qr.rail
            gateway = qr.gateway
            service = QRRefundService(rail: rail, lookup: lookup)
        }

        deinit { removeTree(directory) }

        /// A session whose ticks move the gateway's clock a second each time the rail waits for one.
        var session: PaymentSession {
            let gatewayTime = self.gatewayTime
            let prints = self.prints
            let ticks = AsyncStream<TerminalFlow.RailInput>(unfolding: {
                let now = gatewayTime.withLock { $0 += 1_000; return $0 }
                return .tick(now: now)
            })
            return PaymentSession(show: { _ in }, inputs: ticks, print: { document in prints.withLock { $0.append(document) } })
        }

        func pay(_ amount: Int, code: String) async -> TerminalFlow.PaymentResult {
            await rail.pay(amount: amount, presentation: .scanned(code: code), session: session)
        }

        func sale(at index: Int = 0) throws -> TerminalFlow.RefundableSale {
            try #require(service.refundableSales(limit: 9).dropFirst(index).first)
        }

        var ledger: [String] { gateway.ledger.map(\.description) }
    }

    static func masked(_ orderID: String) -> String {
        String(orderID.prefix(6)) + String(repeating: "*", count: orderID.count - 10) + String(orderID.suffix(4))
    }

    @Test func refundsAreSummedAgainstTheSaleAndAMoreThanIsLeftIsRefusedOffline() async throws {
        let rig = try Rig()
        let paid = await rig.pay(1000, code: "134567890123456789")
        guard case .approved = paid else { return #expect(Bool(false), "\(paid)") }
        let sale = try rig.sale()
        #expect(sale.label == .ui(.qrWallet("wechat")) && sale.amount == 1000 && sale.refundable == 1000 && sale.voidable)
        #expect(sale.maskedReference == Self.masked(sale.reference))
        let record = try #require(try rig.lookup.qrSale(orderID: sale.reference))
        #expect(record.wallet.rawValue == "wechat" && record.refundedAmount == 0 && !record.voided && record.sameBusinessDay)

        let lines: [Screen.Text] = [.ui(.qrWallet("wechat")), .ui(.qrOrder(sale.maskedReference))]
        #expect(await rig.service.run(.refund, sale: sale, amount: 400, session: rig.session) == .approved(lines: lines))
        // The refund's journal record points at the sale.
        let refund = try #require(try rig.journal.withLock { try $0.records(limit: 1) }.first)
        #expect(refund.kind == .refund && refund.status == .approved && refund.amountMinor == 400 && refund.originalTxnRef == record.transactionReference)
        #expect(try rig.lookup.qrSale(orderID: sale.reference)?.refundedAmount == 400)
        let after = try rig.sale()
        #expect(after.refundable == 600 && !after.voidable)

        // More than is left: refused from the store's records, nothing sent.
        let refusals = rig.ledger.count
        #expect(await rig.service.run(.refund, sale: after, amount: 601, session: rig.session) == .declined(lines: lines + [.ui(.amountLimit)]))
        #expect(await rig.service.run(.void, sale: after, amount: 1000, session: rig.session) == .declined(lines: lines + [.ui(.amountLimit)]))
        #expect(rig.ledger.count == refusals)

        #expect(await rig.service.run(.refund, sale: after, amount: 600, session: rig.session) == .approved(lines: lines))
        #expect(rig.service.refundableSales(limit: 9).isEmpty, "nothing left")
        #expect(rig.ledger.filter { $0.contains(" refund ") }.count == 2)
        // Receipts: kind, wallet, masked order ID; never the whole order ID or the payment code.
        let receipts = rig.prints.withLock { $0 }.map { $0.elements.map { "\($0)" }.joined(separator: "\n") }
        #expect(receipts.count == 3)
        for receipt in receipts.dropFirst() {
            #expect(receipt.contains("扫码退货") && receipt.contains("微信支付") && receipt.contains(sale.maskedReference))
            #expect(!receipt.contains(sale.reference) && !receipt.contains("134567890123456789"))
        }
    }

    @Test func voidIsForTheSameDayAndTheWholeSale() async throws {
        let rig = try Rig()
        _ = await rig.pay(500, code: "284567890123456789")
        _ = await rig.pay(700, code: "6212345678901234567")
        let newest = try rig.sale()
        #expect(newest.label == .ui(.qrWallet("unionpay")) && newest.amount == 700, "newest first")
        let alipay = try rig.sale(at: 1)
        #expect(alipay.label == .ui(.qrWallet("alipay")))
        #expect(await rig.service.run(.void, sale: alipay, amount: 500, session: rig.session)
            == .approved(lines: [.ui(.qrWallet("alipay")), .ui(.qrOrder(alipay.maskedReference))]))
        #expect(try rig.lookup.qrSale(orderID: alipay.reference)?.voided == true)
        #expect(rig.ledger.contains { $0.contains(alipay.reference) && $0.contains("REVERSED") })
        #expect(rig.service.refundableSales(limit: 9).map(\.reference) == [newest.reference], "a voided sale is gone")
        #expect(await rig.service.run(.refund, sale: alipay, amount: 1, session: rig.session)
            == .declined(lines: [.ui(.qrOrder(alipay.maskedReference))]))

        // The next business day the UnionPay sale can be refunded, not voided.
        rig.unixTime.withLock { $0 += 86_400 }
        let tomorrow = try rig.sale()
        #expect(!tomorrow.voidable && tomorrow.refundable == 700)
        #expect(await rig.service.run(.void, sale: newest, amount: 700, session: rig.session)
            == .declined(lines: [.ui(.qrWallet("unionpay")), .ui(.qrOrder(newest.maskedReference)), .ui(.qrVoidSameDayOnly)]))
        #expect(await rig.service.run(.refund, sale: tomorrow, amount: 700, session: rig.session)
            == .approved(lines: [.ui(.qrWallet("unionpay")), .ui(.qrOrder(newest.maskedReference))]))
    }
}
