import DeviceKit
import LinuxDevices
import PaymentCrypto
import PrepaidPurse
@testable import TerminalApp
import TestKit
import Testing

/// A virtual prepaid card through a real PC/SC stack: `termtool vcard --profile prepaid-good` attached to a private
/// pcscd through vsmartcard-vpcd, the terminal's purse steps over `PCSCCardReader` (docs/prepaid.md §5): read, two
/// offline purchases with the SAM's MAC1 and the card's MAC2 and TAC verified, the balance read back.
@Suite(.serialized, .enabled(if: VirtualCardReaderRig.unavailableReason == nil, "\(VirtualCardReaderRig.unavailableReason ?? "")"))
struct PrepaidPCSCTests {
    @Test func offlinePurchasesThroughPCSCD() async throws {
        let rig = try VirtualCardReaderRig()
        defer { rig.shutDown() }
        try rig.insertCard(profile: "prepaid-good")
        let reader = try PCSCCardReader(reader: "VCard VPCD")
        defer { reader.stop() }
        let deadline = ContinuousClock.now + .seconds(30)
        var connection: (any CardConnection)?
        while connection == nil, ContinuousClock.now < deadline {
            connection = try? reader.connect(.contact)
            if connection == nil { try? await Task.sleep(for: .milliseconds(50)) }
        }
        let session = try #require(connection, "the virtual prepaid card never reached the reader")
        defer { session.disconnect() }
        let channel = PurseConnectionChannel(session)
        let sam = SoftwareSAM(masterKeys: .testOnly(), terminalID: try PurseTerminalID([0, 0, 0, 0, 0, 1]))
        let dateTime = try PurseDateTime(year: 2026, month: 11, day: 27, hour: 9, minute: 30, second: 0)
        guard case .success(let card) = try PurseTerminal.read(channel) else {
            Issue.record("the card did not read through pcscd")
            return
        }
        #expect(card.balance == 10_000)
        #expect(card.applicationData.cardNumber == "10000000000000000002")
        for (amount, after) in [(UInt32(1_500), UInt32(8_500)), (2_500, 6_000)] {
            guard case .success(let now) = try PurseTerminal.read(channel),
                case .prepared(let prepared, let handle) = try PurseTerminal.preparePurchase(
                    card: now, amount: amount, dateTime: dateTime, sam: sam, channel: channel)
            else {
                Issue.record("not prepared")
                return
            }
            guard case .completed(let completed) = try PurseTerminal.debit(prepared, session: handle, sam: sam, channel: channel)
            else {
                Issue.record("purchase of \(amount) not completed")
                return
            }
            #expect(completed.newBalance == after)
        }
        guard case .success(let final) = try PurseTerminal.read(channel) else {
            Issue.record("no final read")
            return
        }
        #expect(final.balance == 6_000)
    }
}
