#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Codecs
import Logging
import PaymentCrypto
import QRGatewaySimulator
import Synchronization
@testable import TerminalApp
import TestKit
import Testing
import Uplink
import VirtualCards

/// ``HostQRGatewayLink`` against the real acquirer simulator over loopback mutual TLS (docs/host-interface.md §4.10):
/// the QR messages, the simulator's wallet gateway on a clock the test moves, and its SQLite books.
@Suite(.serialized) struct HostQRGatewayLinkTests {
    static let weChat = "134567890123456789"
    static let alipay = "284567890123456789"

    final class ManualClock: Sendable {
        let millis = Atomic<Int64>(1_000_000)
    }

    struct Rig {
        let directory: String
        let server: AcquirerServer
        let ledger: AcquirerLedger
        let link: HostAcquirerLink
        let gateway: HostQRGatewayLink
        let clock = ManualClock()

        init(responseTimeout: Duration = .seconds(5)) throws {
            directory = try makeTemporaryDirectory("hostqr")
            let pki = try TLSTestCertificates.generate(clientName: "T0000042")
            ledger = try AcquirerLedger(path: directory + "/ledger.sqlite")
            let issuer = IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(zeros: 16), expectedPIN: { _ in nil })
            let clock = self.clock
            server = try AcquirerServer(
                configuration: .init(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM), issuer: issuer, ledger: ledger,
                qrGateway: QRGatewayHost(now: { clock.millis.load(ordering: .relaxed) }))
            link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port,
                    tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: "T0000042", merchantID: "898310048990001", responseTimeout: responseTimeout, batchNumber: { 7 }, keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "test"))
            gateway = HostQRGatewayLink(link: link, now: { 1_795_772_415 }, utcOffsetSeconds: 8 * 3600)
        }

        func advance(seconds: Int64) { clock.millis.add(seconds * 1000, ordering: .relaxed) }

        func payment(_ orderID: String, amount: Int, code: String = HostQRGatewayLinkTests.weChat, stan: Int = 1) -> QRPaymentRequest {
            let wallet: QRWallet = code.hasPrefix("28") ? .alipay : .weChatPay
            return QRPaymentRequest(
                orderID: orderID, stan: stan, amount: amount, currencyCode: 156, wallet: wallet, credential: code,
                transactionReference: String(format16: UInt64(0xC0DE_0000 + stan)))
        }

        func stop() {
            link.close()
            server.shutdown()
            removeTree(directory)
        }
    }

    @Test func paidOnceAndARepeatIsAnsweredFromTheBooks() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let request = rig.payment("QR0000000000000000000001", amount: 1000)
        let first = await rig.gateway.pay(request)
        guard case .paid(let transactionID) = first else { Issue.record("\(first)"); return }
        #expect(transactionID.hasPrefix("SIM"))
        #expect(await rig.gateway.pay(request) == first, "the same request again: the stored answer")
        // The same order under another key (a retry after a reboot): the gateway's idempotency, no new charge.
        var again = request
        again.stan = 2
        again.transactionReference = "00000000DEADBEEF"
        #expect(await rig.gateway.pay(again) == first)
        let entries = try rig.ledger.entries()
        #expect(entries.count == 1 && entries[0].kind == "authorization" && entries[0].responseCode == "00", "\(entries)")
        #expect(entries[0].maskedPAN?.hasPrefix("134567") == true && entries[0].maskedPAN?.contains(Self.weChat) == false)
        #expect(entries[0].idempotencyKey == "T0000042" + "000007" + "000001" + "00000000C0DE0001")
        #expect(try rig.ledger.netCharged() == 1000)
        #expect(rig.server.qrGateway.ledger.filter { $0.event.hasPrefix("pay wechat") }.count == 1, "one charge; the second pay is a duplicate")
    }

    @Test func userPayingThenPaidThroughQueries() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let orderID = "QR0000000000000000000061"
        #expect(await rig.gateway.pay(rig.payment(orderID, amount: 1261)) == .userPaying)
        #expect(try rig.ledger.entries().first?.responseCode == "09")
        rig.advance(seconds: 10)
        #expect(await rig.gateway.query(orderID: orderID) == .userPaying)
        rig.advance(seconds: 10)
        let final = await rig.gateway.query(orderID: orderID)
        guard case .paid = final else { Issue.record("\(final)"); return }
        #expect(try rig.ledger.entries().map(\.responseCode) == ["00"], "the pending payment took its final state")
        #expect(try rig.ledger.netCharged() == 1261)
    }

    @Test func cancelOnTimeoutReversesAndWeChatWaitsFifteenSeconds() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        // Alipay: user paying forever, the terminal gives up after 30 s and cancels at once.
        let alipay = "QR0000000000000000000062"
        #expect(await rig.gateway.pay(rig.payment(alipay, amount: 1262, code: Self.alipay)) == .userPaying)
        rig.advance(seconds: 30)
        #expect(await rig.gateway.query(orderID: alipay) == .userPaying)
        #expect(await rig.gateway.cancel(orderID: alipay) == .closed)
        #expect(await rig.gateway.cancel(orderID: alipay) == .closed, "a repeated cancellation is answered from the books")
        // WeChat Pay revokes only 15 s after the order: too early first, then closed.
        let weChat = "QR0000000000000000000063"
        #expect(await rig.gateway.pay(rig.payment(weChat, amount: 2262, stan: 3)) == .userPaying)
        rig.advance(seconds: 1)
        let early = await rig.gateway.cancel(orderID: weChat)
        guard case .cancelTooEarly(let wait) = early else { Issue.record("\(early)"); return }
        #expect(wait == 14_000)
        rig.advance(seconds: 14)
        #expect(await rig.gateway.cancel(orderID: weChat) == .closed)
        let entries = try rig.ledger.entries()
        #expect(entries.filter { $0.kind == "reversal" }.count == 2, "\(entries)")
        let reversed = entries.filter { $0.kind == "authorization" }.allSatisfy { $0.reversed }
        #expect(reversed, "\(entries)")
        #expect(try rig.ledger.netCharged() == 0)
        #expect(try rig.ledger.qrEvents().contains { $0.contains(alipay) && $0.contains("closed by cancel") })
    }

    @Test func paidOrderVoidedByCancellationIsRefundedInFull() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let orderID = "QR0000000000000000000070"
        guard case .paid = await rig.gateway.pay(rig.payment(orderID, amount: 5000, code: Self.alipay)) else { Issue.record("not paid"); return }
        #expect(await rig.gateway.cancel(orderID: orderID) == .closed)
        #expect(try rig.ledger.netCharged() == 0)
        #expect(rig.server.qrGateway.ledger.contains { $0.orderID == orderID && $0.event.hasPrefix("REVERSED") })
    }

    @Test func refundsAddUpToThePaidAmountAndActOnce() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let orderID = "QR0000000000000000000080"
        guard case .paid = await rig.gateway.pay(rig.payment(orderID, amount: 1000)) else { Issue.record("not paid"); return }
        let refund = QRRefundRequest(orderID: orderID, refundID: "RF01", amount: 400, currencyCode: 156, stan: 11, transactionReference: "00000000000000F1")
        #expect(await rig.gateway.refund(refund) == .refunded(refundID: "RF01", total: 400))
        #expect(await rig.gateway.refund(refund) == .refunded(refundID: "RF01", total: 400), "a repeat refunds nothing more")
        let over = QRRefundRequest(orderID: orderID, refundID: "RF02", amount: 700, currencyCode: 156, stan: 12, transactionReference: "00000000000000F2")
        guard case .rejected(let code, _) = await rig.gateway.refund(over) else { Issue.record("over-refund not rejected"); return }
        #expect(code == "REFUND_AMOUNT_ERROR")
        let missing = QRRefundRequest(orderID: "QR-NONE", refundID: "RF03", amount: 1, currencyCode: 156, stan: 13, transactionReference: "00000000000000F3")
        #expect(await rig.gateway.refund(missing) == .orderNotFound)
        #expect(try rig.ledger.qrRefunds().map(\.amount) == [400])
        #expect(try rig.ledger.netCharged() == 600)
    }

    @Test func declinesAndMerchantPresentedOrders() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let declined = await rig.gateway.pay(rig.payment("QR0000000000000000000051", amount: 1251))
        #expect(declined == .failed(code: "NOTENOUGH", message: "insufficient balance"))
        #expect(try rig.ledger.entries().first?.responseCode == "51")
        let order = QROrderRequest(orderID: "QR0000000000000000000090", stan: 5, amount: 2000, currencyCode: 156, payload: "000201010212...6404ZH模拟商户%", transactionReference: "0000000000000090")
        #expect(await rig.gateway.createOrder(order) == .waiting)
        rig.advance(seconds: 6)
        guard case .paid = await rig.gateway.query(orderID: order.orderID) else { Issue.record("MPM order not paid"); return }
        #expect(await rig.gateway.query(orderID: "QR-UNKNOWN") == .orderNotFound)
        #expect(try rig.ledger.netCharged() == 2000)
    }

    @Test func merchantPayloadsTravelAsPrintableASCII() {
        let payload = "6404ZH模拟商户 100%"
        let text = HostQRPayload.encoded(payload)
        #expect(text == "6404ZH%E6%A8%A1%E6%8B%9F%E5%95%86%E6%88%B7 100%25")
        #expect(HostQRPayload.decoded(text) == payload)
        #expect(HostQRPayload.decoded("%E6%A8") == nil && HostQRPayload.decoded("%G1") == nil && HostQRPayload.decoded("%4") == nil)
    }

    @Test func aReversalFromTheStoreNamesThePaymentByItsKey() async throws {
        let rig = try Rig()
        defer { rig.stop() }
        let request = rig.payment("QR0000000000000000000100", amount: 1262, code: Self.alipay, stan: 9)
        #expect(await rig.gateway.pay(request) == .userPaying)
        // The store-and-forward uploader's 0400 of a QR sale: the same key, no order ID.
        let original = TransactionRequest(
            kind: .qrPayment, amount: 1262, currencyCode: "156", stan: 9,
            transmission: HostDateTime(month: 11, day: 27, hour: 1, minute: 0, second: 15),
            local: HostDateTime(month: 11, day: 27, hour: 9, minute: 0, second: 15), terminalID: "T0000042",
            merchantID: "898310048990001", batchNumber: 7, transactionReference: 0xC0DE_0009, entryMode: .qrCode)
        let delivery = await rig.link.deliver(try HostMessages.reversal(of: original, reason: .timeout), willSend: {})
        guard case .answered(let response) = delivery else { Issue.record("\(delivery)"); return }
        #expect(response.responseCode == .approved)
        #expect(rig.server.qrGateway.order(request.orderID)?.state == .closed)
        #expect(try rig.ledger.netCharged() == 0)
    }

    @Test func unreachableAndTimedOut() async throws {
        let rig = try Rig(responseTimeout: .milliseconds(300))
        defer { rig.stop() }
        rig.server.setFault(.noAnswer)
        #expect(await rig.gateway.pay(rig.payment("QR0000000000000000000110", amount: 100)) == .timedOut)
        rig.server.shutdown()
        rig.link.close()
        let reply = await rig.gateway.query(orderID: "QR0000000000000000000110")
        guard case .unreachable = reply else { Issue.record("\(reply)"); return }
    }
}
