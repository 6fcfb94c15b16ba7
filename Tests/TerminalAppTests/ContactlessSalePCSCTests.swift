#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import LinuxDevices
import TestKit
import Testing

/// Taps through a real PC/SC stack, one per card or phone that needs a single tap: the `terminal` binary, headless, on a copy of the sim board whose card reader
/// is `kind = "pcsc"`; a private pcscd with vsmartcard-vpcd; the virtual contactless card attached by
/// `termtool vcard --profile NAME`. ContactlessRail and Entry Point talk to the card only through
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

    static func tap(_ profileName: String) throws -> Run {
        let rig = try VirtualCardReaderRig()
        defer { rig.shutDown() }
        try rig.insertCard(profile: profileName)
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
        process.send("1\n0\n0\n0\n0\nENTER\nENTER\nTAP \(profileName)\n")
        let end = process.waitForOutput(anyOf: ["APPROVED\n", "DECLINED\n"], from: 0, timeout: .seconds(40))?.end
        process.send("CANCEL\n")
        process.closeInput()
        _ = process.wait(timeout: .seconds(20))
        run.outcome = end.map { String(process.stdout.prefix($0).suffix(400)) } ?? ""
        run.stdout = process.stdout
        run.stderr = process.stderr
        return run
    }

    /// The single-tap cards and phones: schemes' cards approve online (100.00 is above the floor limit, under the CVM
    /// limit, so no PIN), the phone with CDCVM approves, the declining phone declines.
    @Test(arguments: [
        ("visa-paywave", true), ("mastercard-paypass", true), ("unionpay-quickpass", true), ("applepay-visa", true),
        ("phone-declines", false),
    ])
    func tapThroughPCSCD(_ profile: String, approves: Bool) async throws {
        let run = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Run, any Error>) in
            Thread { continuation.resume(with: Result { try Self.tap(profile) }) }.start()
        }
        defer { if !run.state.isEmpty { removeTree(run.state) } }
        try #require(run.present, "the virtual card never reached the reader")
        #expect(run.stderr.contains("contactless tap"), "the contactless rail ran")
        let sale = ChipSaleTests.Sale(state: run.state, stdout: run.stdout, stderr: run.stderr, outcome: run.outcome, status: 0)
        let record = try #require(try sale.journal().1.first)
        #expect(record.entryMode == .contactless)
        let charged = try sale.ledger().filter { $0.responseCode == "00" && $0.amount == 10_000 }.count
        if approves {
            #expect(run.outcome.contains("APPROVED"), "\(profile): \(run.stdout.suffix(1500)) \(run.stderr.suffix(2000))")
            #expect(record.status == .approved && record.responseCode == "00")
            #expect(charged == 1, "\(profile): charged once")
        } else {
            #expect(run.outcome.contains("DECLINED"), "\(profile): \(run.stdout.suffix(1500)) \(run.stderr.suffix(2000))")
            #expect(record.status != .approved)
            #expect(charged == 0, "\(profile): nothing charged")
        }
    }
}
