#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Store
import TestKit
import Testing
import VirtualCards

/// Contactless sales end to end: the built `terminal` binary on a copy of the sim board, headless, `TAP <card or
/// phone>`; the issuer simulator checks every ARQC (and the online PIN) with the test issuer keys. Each sale checks
/// the outcome screen, the journal, the acquirer's ledger and that no clear PAN was written or logged.
@Suite(.serialized) struct ContactlessSaleTests {
    typealias Step = ChipSaleTests.Step
    typealias Sale = ChipSaleTests.Sale

    /// One sale: amount (minor units), card chosen on the method screen, `TAP name`, then `steps`.
    static func sale(_ name: String, amount: Int, steps: [Step] = []) throws -> Sale {
        let state = try makeTemporaryDirectory("ctls-sale")
        let boardFile = try ChipSaleTests.board(in: state)
        let process = try InteractiveProcess(
            [
                try builtProduct("terminal"), "run", "--board", boardFile, "--headless", "--fixed-clock", "12:00",
                "--state-dir", state,
            ],
            environment: ["HOME": state])
        process.send(String(amount).map { "\($0)\n" }.joined() + "ENTER\nENTER\nTAP \(name)\n")
        var offset = 0
        for step in steps {
            switch step {
            case .type(let text): process.send(text)
            case .await(let text):
                guard let next = process.waitForOutput(text, from: offset) else {
                    Issue.record(
                        "\(name): no '\(text)' on the display; stdout: \(process.stdout.suffix(2000)) stderr: \(process.stderr.suffix(3000))"
                    )
                    process.closeInput()
                    return Sale(
                        state: state, stdout: process.stdout, stderr: process.stderr, outcome: "",
                        status: process.wait(timeout: .seconds(5)))
                }
                offset = next
            }
        }
        var outcome = ""
        if let end = process.waitForOutput(anyOf: ["APPROVED\n", "DECLINED\n"], from: offset, timeout: .seconds(40))?
            .end
        {
            _ = process.waitForOutput("----\n", from: end, timeout: .seconds(5))
            outcome =
                process.stdout.split(separator: "----\n").map(String.init).last {
                    $0.contains("APPROVED\n") || $0.contains("DECLINED\n")
                } ?? ""
        } else {
            Issue.record(
                "\(name): no outcome screen; stdout: \(process.stdout.suffix(2000)) stderr: \(process.stderr.suffix(3000))"
            )
        }
        process.send("CANCEL\n")
        process.closeInput()
        let status = process.wait(timeout: .seconds(20))
        #expect(
            status == 0, "\(name): terminal exit \(String(describing: status)); stderr: \(process.stderr.suffix(2000))")
        let sale = Sale(state: state, stdout: process.stdout, stderr: process.stderr, outcome: outcome, status: status)
        try expectNoClearPAN(sale, names: [name])
        return sale
    }

    static func expectNoClearPAN(_ sale: Sale, names: [String]) throws {
        let files = try runProcess(["/usr/bin/find", sale.state, "-type", "f"]).stdout.split(separator: "\n").map(
            String.init)
        for name in names {
            guard let pan = ContactlessCardProfile.named(name)?.application.pan else { continue }
            #expect(
                !sale.stderr.contains(pan) && !sale.stdout.contains(pan),
                "\(name): clear PAN in the logs or on the display")
            for file in files {
                guard let bytes = ChipSaleTests.readBytes(file) else { continue }
                #expect(!ChipSaleTests.contains(bytes, Array(pan.utf8)), "\(name): clear PAN in \(file)")
            }
        }
    }

    static let pin: [Step] = [.await("Enter PIN"), .type("1\n2\n3\n4\nENTER\n")]

    @Test func tapUnderTheCVMLimitIsApprovedOnlineWithoutPIN() throws {
        let sale = try Self.sale("visa-paywave", amount: 10_000)
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("APPROVED"), "\(sale.outcome)")
        #expect(!sale.stdout.contains("Enter PIN"))
        #expect(sale.stdout.contains("[#][#][#][#] beep"), "card read: four indicators and the success beep")
        let record = try #require(try sale.journal().1.first)
        #expect(record.status == .approved && record.responseCode == "00" && record.entryMode == .contactless)
        #expect(try sale.ledger().filter { $0.responseCode == "00" }.count == 1)
    }

    @Test func tapUnderTheFloorLimitIsApprovedOffline() throws {
        let sale = try Self.sale("unionpay-quickpass", amount: 2_000)
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("APPROVED") && sale.outcome.contains("Approved offline"), "\(sale.outcome)")
        #expect(try sale.ledger().isEmpty)
    }

    @Test(arguments: ["visa-paywave", "mastercard-paypass"])
    func onlinePINAboveTheCVMLimit(card: String) throws {
        let sale = try Self.sale(card, amount: 35_000, steps: Self.pin)
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("APPROVED"), "\(sale.outcome)")
        #expect(try sale.ledger().filter { $0.responseCode == "00" && $0.amount == 35_000 }.count == 1)
    }

    @Test func phoneApprovedWithCDCVM() throws {
        let sale = try Self.sale("applepay-visa", amount: 80_000)
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("APPROVED"), "\(sale.outcome)")
        #expect(!sale.stdout.contains("Enter PIN"))
        #expect(try sale.ledger().filter { $0.responseCode == "00" }.count == 1)
    }

    @Test(arguments: ["applepay-visa-locked", "samsungpay-mastercard"])
    func seePhoneThenSecondTap(phone: String) throws {
        let sale = try Self.sale(phone, amount: 50_000, steps: [.await("See phone"), .type("TAP \(phone)\n")])
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("APPROVED"), "\(sale.outcome)")
        #expect(try sale.ledger().filter { $0.responseCode == "00" }.count == 1)
    }

    @Test func collisionAsksForOneCard() throws {
        let sale = try Self.sale(
            "two-cards", amount: 10_000, steps: [.await("Present 1 card only"), .type("TAP visa-paywave\n")])
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("APPROVED"), "\(sale.outcome)")
    }

    @Test func phoneDeclines() throws {
        let sale = try Self.sale("phone-declines", amount: 10_000)
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("DECLINED"), "\(sale.outcome)")
        #expect(try sale.ledger().isEmpty)
    }

    @Test func issuerDeclines51() throws {
        let sale = try Self.sale("visa-paywave", amount: 10_051)
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("DECLINED") && sale.outcome.contains("51"), "\(sale.outcome)")
    }

    @Test func tryAnotherInterfaceAsksToInsert() throws {
        let sale = try Self.sale(
            "visa-contact-only", amount: 2_000,
            steps: [.await("Please insert card"), .type("INSERT visa-credit\n")] + Self.pin)
        defer { removeTree(sale.state) }
        #expect(sale.outcome.contains("APPROVED"), "\(sale.outcome)")
        let records = try sale.journal().1
        #expect(records.count == 2 && records.first?.entryMode == .chip, "\(records.map(\.status))")
    }
}
