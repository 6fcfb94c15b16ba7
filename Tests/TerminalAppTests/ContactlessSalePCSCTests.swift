import LinuxDevices
import TestKit
import Testing

/// One tap through a real PC/SC stack: the `terminal` binary, headless, on a copy of the sim board whose card reader
/// is `kind = "pcsc"`; a private pcscd with vsmartcard-vpcd; the virtual contactless card attached by
/// `termtool vcard --profile visa-paywave`. ContactlessRail and Entry Point talk to the card only through
/// PCSCCardReader; the acquirer is the built-in simulator over mutual TLS. Needs root (mount namespace).
@Suite(
    .serialized,
    .enabled(if: VirtualCardReaderRig.unavailableReason == nil, "\(VirtualCardReaderRig.unavailableReason ?? "")"))
struct ContactlessSalePCSCTests {
    @Test func tapThroughPCSCD() async throws {
        let rig = try VirtualCardReaderRig()
        defer { rig.shutDown() }
        try rig.insertCard(profile: "visa-paywave")
        let state = try makeTemporaryDirectory("ctls-pcsc")
        let board = try ChipSaleTests.board(in: state)
        let profile = try readTextFile(board).replacingFirst(
            "[card_reader]\nkind = \"simulator\"", with: "[card_reader]\nkind = \"pcsc\"\nreader = \"VCard VPCD\"")
        #expect(profile.contains("kind = \"pcsc\""))
        try writeTextFile(board, profile)
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
        // 100.00: above the floor limit, under the CVM limit: online, no PIN.
        let process = try InteractiveProcess(
            [
                try builtProduct("terminal"), "run", "--board", board, "--headless", "--fixed-clock", "12:00",
                "--state-dir", state,
            ],
            environment: ["HOME": state].merging(rig.environment) { $1 })
        defer { removeTree(state) }
        process.send("1\n0\n0\n0\n0\nENTER\nENTER\nTAP visa-paywave\n")
        let end = process.waitForOutput(anyOf: ["APPROVED\n", "DECLINED\n"], from: 0, timeout: .seconds(40))?.end
        process.send("CANCEL\n")
        process.closeInput()
        _ = process.wait(timeout: .seconds(20))
        let outcome = end.map { String(process.stdout.prefix($0).suffix(400)) } ?? ""
        #expect(outcome.contains("APPROVED"), "\(process.stdout.suffix(1500)) \(process.stderr.suffix(2000))")
        let sale = ChipSaleTests.Sale(
            state: state, stdout: process.stdout, stderr: process.stderr, outcome: outcome, status: 0)
        let record = try #require(try sale.journal().1.first)
        #expect(record.status == .approved && record.responseCode == "00" && record.entryMode == .contactless)
        #expect(try sale.ledger().filter { $0.responseCode == "00" && $0.amount == 10_000 }.count == 1)
        #expect(process.stderr.contains("contactless tap"), "the contactless rail ran")
    }
}
