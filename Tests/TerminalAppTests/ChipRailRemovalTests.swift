import AcquirerSimulator
import Codecs
import DeviceKit
import EMVKernel
import Logging
import PaymentCrypto
import Store
import TerminalApp
import TerminalUI
import TestKit
import Testing
import VirtualCards

/// Chip paths headless mode cannot reach: the card leaves after the host approved (during the second GENERATE AC),
/// and a host that cannot be reached at all. EMVContactRail in process with the real journal (StoreRailJournal over a temporary store), the
/// acquirer simulator's IssuerHost deciding (no TLS), and a virtual card that is pulled at its second GENERATE AC.
@Suite struct ChipRailRemovalTests {
    /// A virtual card connection that is pulled when the second GENERATE AC arrives.
    final class PulledAtSecondGenerateAC: CardConnection, @unchecked Sendable {
        let inner: VirtualCardConnection
        var generateACs = 0
        init(_ inner: VirtualCardConnection) { self.inner = inner }
        var slot: CardSlot { inner.slot }
        func transmit(_ command: [UInt8]) throws -> [UInt8] {
            if command.count > 1, command[0] == 0x80, command[1] == 0xAE {
                generateACs += 1
                if generateACs == 2 { inner.pull() }
            }
            return try inner.transmit(command)
        }
        func disconnect() { inner.disconnect() }
    }

    struct IssuerLink: AcquirerLink {
        let issuer: IssuerHost
        func authorize(_ request: AuthorizationRequest) async -> AuthorizationReply {
            let d = issuer.authorize(.init(
                transactionReference: request.transactionReference, pan: request.pan, panSequenceNumber: request.panSequenceNumber,
                amount: request.amount, iccData: request.iccData, pinBlock: nil, keySerialNumber: nil))
            return .answered(.init(responseCode: d.responseCode, authorizationCode: d.authorizationCode, retrievalReference: "000000000001", iccData: d.iccData))
        }
    }

    struct UnreachableLink: AcquirerLink {
        func authorize(_ request: AuthorizationRequest) async -> AuthorizationReply { .unreachable("link down (test)") }
    }

    /// An `online-only` card sale of 20.00 with PIN 1234 on a real journal in `dir`, through `acquirer`; `connect`
    /// wraps the card's connection. Returns the rail's result and the journal.
    static func sale(
        in dir: String, acquirer: any AcquirerLink, connect: @escaping @Sendable (VirtualCardConnection) -> any CardConnection,
        print: @escaping @Sendable (PrintDocument) -> Void = { _ in }
    ) async throws -> (TerminalFlow.PaymentResult, Locked<TransactionJournal>) {
        let clock = FixedWallClock(text: "12:00")
        let now = clock.localDateTime()
        let params = try TerminalParameters.parse(
            try readTextFile(repositoryRoot() + "/board/sim/emv-parameters.toml"),
            today: EMVDate(year: now.year, month: now.month, day: now.day) ?? EMVDate(year: 2026, month: 11, day: 27)!)
        let journal = Locked(try TransactionJournal(
            store: try TerminalStore(path: dir + "/terminal.sqlite"), dataKey: SecretBytes(try SystemRandom().bytes(32)),
            random: SystemRandom(), clock: { clock.unixTime() }))
        let settings = Locked(try TerminalStore(path: dir + "/terminal.sqlite"))
        let keys = Locked(try KeyStore(.init(directory: dir + "/keys", deviceSecretPaths: [dir + "/device.secret"], mayProvision: true, environment: [:])))
        nonisolated(unsafe) let card = try VirtualCard(profile: try #require(VirtualCardProfile.named("online-only")), random: SystemRandom())
        let rail = EMVContactRail(
            configuration: .init(parameters: params, currency: Currency(code: "CNY", numericCode: 156, exponent: 2, symbol: "¥"), merchantName: "Test", pinKeyName: "pin", traceDirectory: nil),
            connect: { _ in connect(VirtualCardConnection(card: card)) },
            acquirer: acquirer,
            journal: StoreRailJournal(journal: journal, settings: settings, random: SystemRandom(), currencyCode: 156),
            keys: keys, clock: clock, random: SystemRandom(), logger: Logger(label: "test"))
        let (inputs, feed) = AsyncStream.makeStream(of: TerminalFlow.RailInput.self)
        for key in [Key.digit1, .digit2, .digit3, .digit4, .enter] { feed.yield(.key(key)) }
        let session = PaymentSession(show: { _ in }, inputs: inputs, print: print)
        let result = await rail.pay(amount: 2_000, presentation: .inserted(name: "online-only"), session: session)
        feed.finish()
        return (result, journal)
    }

    @Test func cardRemovedAfterHostApprovalIsReversed() async throws {
        let dir = try makeTemporaryDirectory("chip-removal")
        defer { removeTree(dir) }
        let issuer = IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes([UInt8](repeating: 1, count: 16)), expectedPIN: { _ in nil })
        let (result, journal) = try await Self.sale(
            in: dir, acquirer: IssuerLink(issuer: issuer), connect: { PulledAtSecondGenerateAC($0) },
            print: { _ in Issue.record("nothing is printed") })
        guard case .declined(let lines) = result else { Issue.record("\(result)"); return }
        #expect(lines.contains(.ui(.cardRemoved)), "\(lines)")
        let record = try #require(try journal.withLock { try $0.records(limit: 5) }.first)
        #expect(record.status == .reversed && record.reversal == .due, "\(record.status) \(String(describing: record.reversal))")
        #expect(record.authorizationCode != nil, "the host's approval is kept with the reversal")
        #expect(try journal.withLock { try $0.unsentCounts() }.reversals == 1)
    }

    /// Nothing reaches the host: the online attempt is closed as Z3 (unable to go online), never with an approval
    /// code; the online-only card then declines at its second GENERATE AC, so no sale is recorded, and nothing
    /// is left to reverse.
    @Test func unreachableHostClosesTheAttemptAsZ3() async throws {
        let dir = try makeTemporaryDirectory("chip-unreachable")
        defer { removeTree(dir) }
        let (result, journal) = try await Self.sale(in: dir, acquirer: UnreachableLink(), connect: { $0 })
        guard case .declined = result else { Issue.record("\(result)"); return }
        let records = try journal.withLock { try $0.records(limit: 5) }
        #expect(records.count == 1, "\(records.map(\.status))")
        let record = try #require(records.first)
        #expect(record.status == .declined && record.responseCode == "Z3", "\(record.status) \(String(describing: record.responseCode))")
        #expect(record.authorizationCode == nil)
        #expect(try journal.withLock { try $0.unsentCounts() }.reversals == 0)
    }
}
