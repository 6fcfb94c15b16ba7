import AcquirerSimulator
import Codecs
import Logging
import PaymentCrypto
import Synchronization
@testable import TerminalApp
import TestKit
import Testing
import Uplink
import VirtualCards

/// The acquirer simulator's wallet gateway across a restart (the sim board's terminal exits and starts again on the
/// same state directory): the orders of the first run come back from its SQLite books with their time, refunds and
/// state, so a later void or refund acts on them once (``HostQRGatewayLink`` over loopback mutual TLS).
@Suite(.serialized) struct QRGatewayRestartTests {
    final class ManualClock: Sendable {
        let millis = Atomic<Int64>(5_000_000)
        func advance(seconds: Int64) { millis.add(seconds * 1000, ordering: .relaxed) }
    }

    /// One run of the simulator and a terminal's link to it, on the ledger at `path`.
    struct Run {
        let server: AcquirerServer
        let ledger: AcquirerLedger
        let link: HostAcquirerLink
        let gateway: HostQRGatewayLink

        init(path: String, pki: TLSTestCertificates, clock: ManualClock) throws {
            ledger = try AcquirerLedger(path: path)
            let issuer = IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(zeros: 16), expectedPIN: { _ in nil })
            server = try AcquirerServer(
                configuration: .init(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM), issuer: issuer, ledger: ledger,
                qrGateway: QRGatewayHost(now: { clock.millis.load(ordering: .relaxed) }))
            link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port,
                    tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: "T0000042", merchantID: "898310048990001", responseTimeout: .seconds(5), batchNumber: { 7 }, keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "test"))
            gateway = HostQRGatewayLink(link: link, now: { 1_795_772_415 }, utcOffsetSeconds: 8 * 3600)
        }

        func stop() {
            link.close()
            server.shutdown()
        }
    }

    @Test func paidWeChatOrderPartlyRefundedThenVoidedAfterARestart() async throws {
        let directory = try makeTemporaryDirectory("qr-restart")
        defer { removeTree(directory) }
        let pki = try TLSTestCertificates.generate(clientName: "T0000042")
        let clock = ManualClock()
        let orderID = "QR0000000000000000000081"

        let first = try Run(path: directory + "/ledger.sqlite", pki: pki, clock: clock)
        let payment = QRPaymentRequest(
            orderID: orderID, stan: 1, amount: 1000, currencyCode: 156, wallet: .weChatPay, credential: "134567890123456789",
            transactionReference: "000000000000C0DE")
        guard case .paid = await first.gateway.pay(payment) else { Issue.record("not paid"); first.stop(); return }
        let refund = QRRefundRequest(orderID: orderID, refundID: "RF01", amount: 300, currencyCode: 156, stan: 2, transactionReference: "00000000000000F1")
        #expect(await first.gateway.refund(refund) == .refunded(refundID: "RF01", total: 300))
        first.stop()

        // The second run knows the order from its books: the wallet's 15 s still count from the payment.
        clock.advance(seconds: 1)
        let second = try Run(path: directory + "/ledger.sqlite", pki: pki, clock: clock)
        defer { second.stop() }
        #expect(second.server.qrGateway.order(orderID) == nil, "not in memory before anything names it")
        let early = await second.gateway.cancel(orderID: orderID)
        #expect(early == .cancelTooEarly(retryAfterMilliseconds: 14_000), "\(early)")
        let restored = try #require(second.server.qrGateway.order(orderID))
        #expect(restored.state == .success && restored.refundedAmount == 300 && restored.wallet == .weChatPay)
        // More than is left is refused; the refund of the first run is not made again.
        let over = QRRefundRequest(orderID: orderID, refundID: "RF02", amount: 800, currencyCode: 156, stan: 3, transactionReference: "00000000000000F2")
        guard case .rejected = await second.gateway.refund(over) else { Issue.record("an over-refund was not refused"); return }
        clock.advance(seconds: 14)
        #expect(await second.gateway.cancel(orderID: orderID) == .closed)
        let reversed = second.server.qrGateway.ledger.filter { $0.orderID == orderID && $0.event.hasPrefix("REVERSED") }
        #expect(reversed.count == 1 && reversed.first?.amount == 700, "what was left, once: \(reversed)")
        #expect(try second.ledger.qrEvents().filter { $0.contains(orderID) && $0.contains("REVERSED") }.count == 1)
    }
}
