#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import PaymentCrypto
import Store
import TestKit
import Testing

/// The merchant's day end to end: the built `terminal` binary on the sim board, headless, with its built-in acquirer
/// simulator. Run 1: an online and an offline chip sale, merchant login, X report, settlement with matching totals
/// (Z report printed, batch 1 → 2). Between the runs the host books a sale of batch 2 that the terminal never made.
/// Run 2: two sales, a void of the second (card not present), settlement → `95` → 0320 upload of the batch → closing 0500 `960000` → batch 2 → 3.
@Suite(.serialized) struct MerchantEndToEndTests {
    struct Run {
        let process: InteractiveProcess
        var offset = 0

        /// Waits for `text` on the display; records an issue (with the tail of the output) when it does not come.
        mutating func expectScreen(_ text: String, timeout: Duration = .seconds(40)) -> Bool {
            guard let next = process.waitForOutput(text, from: offset, timeout: timeout) else {
                Issue.record("no '\(text)' on the display; stdout: \(process.stdout.suffix(1500)) stderr: \(process.stderr.suffix(2000))")
                return false
            }
            offset = next
            return true
        }

        func type(_ lines: String...) { process.send(lines.map { $0 + "\n" }.joined()) }

        /// A chip sale of `amount` minor units with `visa-credit` and PIN 1234, card removed afterwards.
        mutating func sale(_ amount: Int, expect: String) -> Bool {
            type(String(amount).map { String($0) }.joined(separator: "\n"), "ENTER", "ENTER", "INSERT visa-credit")
            guard expectScreen("Enter PIN") else { return false }
            type("1", "2", "3", "4", "ENTER")
            guard expectScreen(expect) else { return false }
            type("REMOVE", "ENTER")
            return expectScreen("Key amount")
        }

        /// Main menu → Merchant (entry 4 on the sim board) → the TEST ONLY password.
        mutating func login() -> Bool {
            type("MENU")
            guard expectScreen("4 Merchant") else { return false }
            type("4")
            guard expectScreen("Merchant password") else { return false }
            type("1", "2", "3", "4", "5", "6", "ENTER")
            return expectScreen("5 Settlement")
        }

        func finish() -> Int32? {
            type("CANCEL", "CANCEL")
            process.closeInput()
            return process.wait(timeout: .seconds(30))
        }
    }

    static func start(_ state: String, board: String) throws -> Run {
        Run(process: try InteractiveProcess(
            [try builtProduct("terminal"), "run", "--board", board, "--headless", "--fixed-clock", "12:00", "--state-dir", state],
            environment: ["HOME": state]))
    }

    static func receipts(_ state: String) -> String {
        (try? runProcess(["/bin/sh", "-c", "cat \"$0\"/receipts/* 2>/dev/null", state]))?.stdout ?? ""
    }

    static func openBatch(_ state: String) throws -> Int {
        let keys = try KeyStore(.init(
            directory: state + "/keys", deviceSecretPaths: KeyStore.defaultDeviceSecretPaths + [state + "/keys/device.secret"],
            mayProvision: false, environment: [:]))
        let journal = try TransactionJournal(
            store: try TerminalStore(path: state + "/terminal.sqlite"), dataKey: try keys.secret("data-key"), random: SystemRandom(),
            clock: { Int64(time(nil)) })
        return try journal.openBatch()
    }

    @Test func salesReportsAndSettlementWithAndWithoutMismatch() throws {
        let state = try makeTemporaryDirectory("merchant-e2e")
        defer { removeTree(state) }
        let board = try ChipSaleTests.board(in: state)

        // Run 1: two sales, login, X report, balanced settlement.
        var run = try Self.start(state, board: board)
        guard run.sale(2_000, expect: "Approved offline"), run.sale(20_000, expect: "APPROVED"), run.login() else {
            _ = run.finish()
            return
        }
        run.type("4")
        _ = run.expectScreen("Report printed")
        run.type("ENTER", "5")
        _ = run.expectScreen("Batch 1 closed, now 2")
        _ = run.expectScreen("Report printed")
        #expect(run.finish() == 0)
        let first = Self.receipts(state)
        #expect(first.contains("X REPORT") && first.contains("CARD (CHIP)\n SALE 2               CNY 220.00"), "\(first)")
        #expect(first.contains("Z REPORT") && first.contains("BALANCED") && first.contains("NEXT BATCH                000002"))
        #expect(try Self.openBatch(state) == 2)
        var ledger = try AcquirerLedger(path: state + "/acquirer-ledger.sqlite")
        #expect(try ledger.settlements().map { "\($0.batch) \($0.processingCode) \($0.responseCode)" } == ["1 920000 00"])

        // The host books a sale of batch 2 that the terminal does not have.
        try ledger.record(
            key: "SIM00001" + "000002" + "009999" + "00000000DEADBEEF", messageClass: "020", response: [0], kind: "authorization",
            mti: "0200", amount: 4_200, currency: "156", maskedPAN: nil, responseCode: "00", authorizationCode: "X1", reason: "test",
            processingCode: "000000", terminalID: "SIM00001", batch: 2)

        // Run 2: a sale, settlement with a mismatch → batch upload → closed.
        run = try Self.start(state, board: board)
        guard run.sale(20_000, expect: "APPROVED"), run.sale(30_000, expect: "APPROVED"), run.login() else {
            _ = run.finish()
            return
        }
        // Void the 300.00 sale (the newest card sale heads the list), without the card.
        run.type("1")
        _ = run.expectScreen("476173******0019")
        run.type("1")
        _ = run.expectScreen("Void")
        run.type("1")
        _ = run.expectScreen("APPROVED")
        run.type("ENTER")
        guard run.login() else {
            _ = run.finish()
            return
        }
        run.type("5")
        _ = run.expectScreen("3 uploaded")
        _ = run.expectScreen("Batch 2 closed, now 3")
        #expect(run.finish() == 0)
        ledger = try AcquirerLedger(path: state + "/acquirer-ledger.sqlite")
        #expect(try ledger.settlements().map { "\($0.batch) \($0.processingCode) \($0.responseCode)" }
            == ["1 920000 00", "2 920000 95", "2 960000 00"])
        #expect(try ledger.uploadCount(terminalID: "SIM00001", batch: 2) == 3, "two sales and the void")
        #expect(try ledger.uploadedTotals(terminalID: "SIM00001", batch: 2).map(\.saleAmount) == [20_000], "the void takes its sale out")
        #expect(try Self.openBatch(state) == 3)
        let second = Self.receipts(state)
        #expect(second.contains("BATCH UPLOADED                 3") && second.contains("撤销 VOID") && second.contains("NEXT BATCH                000003"))
        #expect(!second.contains("4761731000000019"), "no clear PAN on any receipt or report")

        // A new password provisioned with termtool (as a hardware board would be): the terminal takes it.
        let termtool = try builtProduct("termtool")
        let bad = try runProcess([termtool, "merchant-password", "--state-dir", state], stdin: Array("12ab\n".utf8))
        #expect(bad.status != 0)
        let set = try runProcess([termtool, "merchant-password", "--state-dir", state], stdin: Array("246810\n".utf8))
        #expect(set.status == 0, "\(set.stderr)")
        #expect(!set.stdout.contains("246810") && !set.stderr.contains("246810"))
        run = try Self.start(state, board: board)
        run.type("MENU", "4", "2", "4", "6", "8", "1", "0", "ENTER")
        _ = run.expectScreen("5 Settlement")
        #expect(run.finish() == 0)
    }
}
