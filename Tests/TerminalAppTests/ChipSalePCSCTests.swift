import LinuxDevices
import TestKit
import Testing

/// The whole terminal through a real PC/SC stack: the `terminal` binary, headless, on a copy of the sim board whose
/// card reader is `kind = "pcsc"`; a private pcscd with vsmartcard-vpcd; the virtual card attached by
/// `termtool vcard`. The EMVContactRail and kernel talk to the card only through PCSCCardReader; the acquirer is the
/// built-in simulator over mutual TLS, as on the sim board. Then `termtool bench-emv --pcsc` measures wall time per
/// transaction through the rig next to a raw replay of the same APDUs (docs/emv-kernel.md, "Figures").
@Suite(.serialized, .enabled(if: VirtualCardReaderRig.unavailableReason == nil, "\(VirtualCardReaderRig.unavailableReason ?? "")"))
struct ChipSalePCSCTests {
    @Test func approvedChipSaleThroughPCSCD() async throws {
        let rig = try VirtualCardReaderRig()
        defer { rig.shutDown() }
        try rig.insertCard(profile: "visa-credit")
        let state = try makeTemporaryDirectory("chip-pcsc")
        let board = try ChipSaleTests.board(in: state)
        let profile = try readTextFile(board).replacingFirst(
            "[card_reader]\nkind = \"simulator\"", with: "[card_reader]\nkind = \"pcsc\"\nreader = \"VCard VPCD\"")
        #expect(profile.contains("kind = \"pcsc\""))
        try writeTextFile(board, profile)
        // The card reaches vpcd a moment after termtool starts: wait until pcscd has it in the reader.
        let reader = try PCSCCardReader(reader: "VCard VPCD")
        let deadline = ContinuousClock.now + .seconds(15)
        var present = false
        while !present, ContinuousClock.now < deadline {
            if let connection = try? reader.connect(.contact) {
                connection.disconnect()
                present = true
            } else {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        reader.stop()
        try #require(present, "the virtual card never reached the reader")
        let sale = try ChipSaleTests.sale("visa-credit", amount: 20_000, steps: ChipSaleTests.pin, state: state, board: board, environment: rig.environment)
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("APPROVED") && sale.outcome.contains("Auth code"), "\(sale.outcome) \(sale.stderr.suffix(2000))")
        #expect(sale.receipts.first?.contains("476173******0019") == true)
        #expect(sale.traces.contains("> 80AE"), "GENERATE AC went through pcscd")
        let record = try #require(try sale.journal().1.first)
        #expect(record.status == .approved && record.responseCode == "00")
        let ledger = try sale.ledger()
        #expect(ledger.count == 1 && ledger[0].responseCode == "00" && ledger[0].amount == 20_000, "\(ledger)")

        // Figure: wall time per transaction through pcscd + vpcd, and the raw replay floor.
        let bench = try runProcess(
            [try builtProduct("termtool"), "bench-emv", "--pcsc", "VCard VPCD", "--count", "20",
             "--parameters", ChipSaleTests.root + "/board/sim/emv-parameters.toml"],
            environment: rig.environment, timeout: .seconds(60))
        #expect(bench.status == 0, "\(bench.stderr)")
        #expect(bench.stdout.contains("approvedOnline 20"), "\(bench.stdout)")
        print(bench.stdout)
    }
}
