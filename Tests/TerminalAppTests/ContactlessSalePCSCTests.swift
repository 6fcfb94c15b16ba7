#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import LinuxDevices
import TestKit
import Testing

/// One tap through a real PC/SC stack: the `terminal` binary, headless, on a copy of the sim board whose card reader
/// is `kind = "pcsc"`; a private pcscd with vsmartcard-vpcd; the virtual contactless card attached by
/// `termtool vcard --profile visa-paywave`. ContactlessRail and Entry Point talk to the card only through
/// PCSCCardReader; the acquirer is the built-in simulator over mutual TLS. Needs root (mount namespace).
///
/// The blocking part (waiting for the process-wide pcscd lock, the terminal's I/O) runs on a thread of its own, not
/// on Swift's cooperative pool: with two cores, rigs of other suites waiting for the lock there could otherwise
/// starve the suite that holds it.
@Suite(.serialized, .enabled(if: VirtualCardReaderRig.unavailableReason == nil, "\(VirtualCardReaderRig.unavailableReason ?? "")"))
struct ContactlessSalePCSCTests {
    struct Run: Sendable {
        var present = false
        var outcome = ""
        var stdout = ""
        var stderr = ""
        var state = ""
    }

    static func tap() throws -> Run {
        let rig = try VirtualCardReaderRig()
        defer { rig.shutDown() }
        try rig.insertCard(profile: "visa-paywave")
        var run = Run()
        run.state = try makeTemporaryDirectory("ctls-pcsc")
        let board = try ChipSaleTests.board(in: run.state)
        let profile = try readTextFile(board).replacingFirst(
            "[card_reader]\nkind = \"simulator\"", with: "[card_reader]\nkind = \"pcsc\"\nreader = \"VCard VPCD\"")
        try writeTextFile(board, profile)
        let reader = try PCSCCardReader(reader: "VCard VPCD")
        let deadline = ContinuousClock.now + .seconds(15)
        while !run.present, ContinuousClock.now < deadline {
            if let connection = try? reader.connect(.contact) {
                connection.disconnect()
                run.present = true
            } else {
                usleep(50_000)
            }
        }
        reader.stop()
        guard run.present else { return run }
        // 100.00: above the floor limit, under the CVM limit: online, no PIN.
        let process = try InteractiveProcess(
            [
                try builtProduct("terminal"), "run", "--board", board, "--headless", "--fixed-clock", "12:00", "--state-dir",
                run.state,
            ],
            environment: ["HOME": run.state].merging(rig.environment) { $1 })
        process.send("1\n0\n0\n0\n0\nENTER\nENTER\nTAP visa-paywave\n")
        let end = process.waitForOutput(anyOf: ["APPROVED\n", "DECLINED\n"], from: 0, timeout: .seconds(40))?.end
        process.send("CANCEL\n")
        process.closeInput()
        _ = process.wait(timeout: .seconds(20))
        run.outcome = end.map { String(process.stdout.prefix($0).suffix(400)) } ?? ""
        run.stdout = process.stdout
        run.stderr = process.stderr
        return run
    }

    @Test func tapThroughPCSCD() async throws {
        let run = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Run, any Error>) in
            Thread { continuation.resume(with: Result { try Self.tap() }) }.start()
        }
        defer { if !run.state.isEmpty { removeTree(run.state) } }
        try #require(run.present, "the virtual card never reached the reader")
        #expect(run.outcome.contains("APPROVED"), "\(run.stdout.suffix(1500)) \(run.stderr.suffix(2000))")
        let sale = ChipSaleTests.Sale(state: run.state, stdout: run.stdout, stderr: run.stderr, outcome: run.outcome, status: 0)
        let record = try #require(try sale.journal().1.first)
        #expect(record.status == .approved && record.responseCode == "00" && record.entryMode == .contactless)
        #expect(try sale.ledger().filter { $0.responseCode == "00" && $0.amount == 10_000 }.count == 1)
        #expect(run.stderr.contains("contactless tap"), "the contactless rail ran")
    }
}
