#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import EMVKernel
import Logging
import PaymentCrypto
import PrepaidPurse
import Store
@testable import TerminalApp
import TestKit
import Testing
import UpdatePackage
import Uplink
import VirtualCards

/// Prepaid cards end to end in process (docs/prepaid.md §7): the PrepaidService over virtual purse cards, a real
/// journal file, the acquirer simulator over mutual TLS on loopback with its prepaid books, and the
/// store-and-forward uploader. The books must match the cards after the purchases are uploaded.
@Suite(.serialized) struct PrepaidEndToEndTests {
    struct Rig {
        let directory: String
        let journal: Locked<TransactionJournal>
        let settings: Locked<TerminalStore>
        let server: AcquirerServer
        let ledger: AcquirerLedger
        let uploader: StoreAndForwardUploader
        let service: PrepaidService
        let cards = VirtualPurseCardSet()

        init(onlineCheckAbove: Int = 50_000, parameters: ActiveParameterSet? = nil) throws {
            directory = try makeTemporaryDirectory("prepaid")
            let opened = try TransactionJournal(
                store: try TerminalStore(path: directory + "/journal.sqlite"),
                dataKey: SecretBytes([UInt8](repeating: 0x42, count: 32)), random: SystemRandom(),
                clock: { Int64(time(nil)) })
            journal = Locked(opened)
            settings = Locked(try TerminalStore(path: directory + "/journal.sqlite"))
            let pki = try TLSTestCertificates.generate(clientName: "SIM00001")
            ledger = try AcquirerLedger(path: directory + "/ledger.sqlite")
            let issuer = IssuerHost(issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(zeros: 16),
                                    expectedPIN: { _ in nil })
            server = try AcquirerServer(
                configuration: .init(identity: pki.serverIdentity, clientCAPEM: pki.caCertificatePEM), issuer: issuer,
                ledger: ledger)
            let link = HostAcquirerLink(
                configuration: .init(
                    host: "127.0.0.1", port: server.port,
                    tls: try TLSContext.client(identity: pki.clientIdentity, trustedCAPEM: pki.caCertificatePEM),
                    terminalID: "SIM00001", merchantID: "898310048990001", responseTimeout: .seconds(5), keyBlockProtectionKey: TerminalManagementHost.testKeyBlockProtectionKey),
                logger: Logger(label: "test"))
            uploader = StoreAndForwardUploader(
                configuration: .init(terminalID: "SIM00001", merchantID: "898310048990001"), journal: journal,
                link: link, connectivity: { .online(via: .wifi, interface: "lo") }, clock: { Int64(time(nil)) },
                logger: Logger(label: "test"))
            let cards = self.cards
            var configuration = PrepaidService.Configuration(
                terminalID: "SIM00001", merchantID: "898310048990001", currencyCode: 156, utcOffsetSeconds: 0,
                blockList: Set(VirtualPurseProfile.blockedCardNumbers))
            configuration.onlineCheckAbove = onlineCheckAbove
            service = PrepaidService(
                configuration: configuration,
                sam: SoftwareSAM(masterKeys: .testOnly(), terminalID: PrepaidService.purseTerminalID("SIM00001")),
                connect: { presentation in
                    guard case .inserted(let name) = presentation else { throw RuntimeError(.device, "not inserted") }
                    return try cards.connect(name)
                },
                journal: journal, settings: settings, link: link, clock: SystemClock(), random: SystemRandom(),
                logger: Logger(label: "test"), lostCards: { parameters?.current.prepaid?.lostCards ?? [] })
        }

        func close() {
            server.shutdown()
            removeTree(directory)
        }

        func books(_ name: String) throws -> PrepaidLedger.Card? {
            guard let number = cards.card(name)?.cardNumber else { return nil }
            return try PrepaidLedger(ledger).card(String(number.suffix(16)))
        }
    }

    @Test func issueTopUpBalancePayTwiceUploadAndReconcile() async throws {
        let rig = try Rig()
        defer { rig.close() }
        let card = Presentation.inserted(name: "prepaid-blank")

        let issued = await rig.service.issue(deposit: 5_000, presentation: card)
        #expect(issued.approved, "\(issued.lines)")
        #expect(issued.balance == 5_000)
        let topUp = await rig.service.topUp(amount: 2_000, presentation: card)
        #expect(topUp.approved, "\(topUp.lines)")
        #expect(topUp.balance == 7_000)
        let balance = await rig.service.balance(presentation: card)
        #expect(balance.balance == 7_000)

        let first = await rig.service.pay(amount: 1_250, presentation: card)
        let second = await rig.service.pay(amount: 750, presentation: card)
        #expect(first.approved && second.approved, "\(first.lines) \(second.lines)")
        #expect(second.balance == 5_000)
        #expect(rig.cards.card("prepaid-blank")?.balance == 5_000)

        // Offline purchases are not on the books until uploaded.
        #expect(try rig.books("prepaid-blank")?.balance == 7_000)
        // Two purchase advices and the confirmations (with the card's TAC) of the two loads.
        let drained = await rig.uploader.drain()
        #expect(drained.acknowledged == 4 && drained.failure == nil, "\(drained)")
        let books = try #require(try rig.books("prepaid-blank"))
        #expect(books.balance == 5_000, "the books match the card")
        #expect(books.status == "active")
        let entries = try PrepaidLedger(rig.ledger).entries()
        #expect(entries.map(\.kind) == ["issue", "load", "load", "purchase", "purchase"], "\(entries)")
        #expect(entries.allSatisfy { $0.tacValid })
        #expect(entries.filter { $0.kind == "load" }.allSatisfy { $0.reason == "load confirmed by the card's TAC" }, "\(entries)")
        // A second drain sends nothing: each purchase is booked once.
        #expect(await rig.uploader.drain().acknowledged == 0)
        #expect(try PrepaidLedger(rig.ledger).entries().count == 5)

        // A refund of the second purchase is a load (0200 200000).
        let refund = await rig.service.refund(amount: 750, presentation: card)
        #expect(refund.approved && refund.balance == 5_750, "\(refund.lines)")
        #expect(try rig.books("prepaid-blank")?.balance == 5_750)
        #expect(try PrepaidLedger(rig.ledger).entries().last?.reason == "refund loaded")
    }

    @Test func tornDebitIsRecoveredOnTheNextPresentationAndBookedOnce() async throws {
        let rig = try Rig()
        defer { rig.close() }
        let card = Presentation.inserted(name: "prepaid-torn")
        let torn = await rig.service.pay(amount: 3_000, presentation: card)
        #expect(!torn.approved)
        #expect(rig.cards.card("prepaid-torn")?.balance == 7_000, "the card debited itself before leaving")
        // Next presentation (a balance check): recovered from the counter, without a second debit.
        let balance = await rig.service.balance(presentation: card)
        #expect(balance.balance == 7_000)
        #expect(rig.cards.card("prepaid-torn")?.offlineCounter == 1)
        _ = await rig.service.balance(presentation: card)
        #expect(await rig.uploader.drain().acknowledged == 1)
        #expect(try rig.books("prepaid-torn")?.balance == 7_000)
        let purchases = try PrepaidLedger(rig.ledger).entries().filter { $0.kind == "purchase" }
        #expect(purchases.count == 1 && purchases.first?.amount == 3_000)
    }

    @Test func tornLoadIsConfirmedOnTheNextPresentationAndNotReversed() async throws {
        let rig = try Rig()
        defer { rig.close() }
        let card = Presentation.inserted(name: "prepaid-torn-load")
        let torn = await rig.service.topUp(amount: 4_000, presentation: card)
        #expect(!torn.approved)
        #expect(rig.cards.card("prepaid-torn-load")?.balance == 14_000, "the card credited itself before leaving")
        #expect(try rig.books("prepaid-torn-load")?.balance == 14_000, "the host booked the load")
        let balance = await rig.service.balance(presentation: card)
        #expect(balance.balance == 14_000)
        // Confirmed: no reversal is queued, the books keep the load.
        #expect(try rig.journal.withLock { try $0.unsentCounts() }.reversals == 0)
        _ = await rig.uploader.drain()
        #expect(try rig.books("prepaid-torn-load")?.balance == 14_000)
        #expect(try PrepaidLedger(rig.ledger).entries().first { $0.kind == "load" }?.reason == "load confirmed by the card's TAC",
                "the card's proof went to the host")
    }

    @Test func purchasesAboveTheLimitAreCheckedOnline() async throws {
        let rig = try Rig(onlineCheckAbove: 5_000)
        defer { rig.close() }
        let tampered = await rig.service.pay(amount: 6_000, presentation: .inserted(name: "prepaid-tampered"))
        #expect(tampered.lines == [.raw("Balance mismatch")], "\(tampered.lines)")
        #expect(rig.cards.card("prepaid-tampered")?.offlineCounter == 0, "refused before any debit")
        let good = await rig.service.pay(amount: 6_000, presentation: .inserted(name: "prepaid-good"))
        #expect(good.approved && good.balance == 4_000, "\(good.lines)")
        let small = await rig.service.pay(amount: 100, presentation: .inserted(name: "prepaid-tampered"))
        #expect(small.approved, "below the limit the tampered card still pays offline; the upload finds it")
        let inquiries = try rig.ledger.entries().filter { $0.mti == "0200" && $0.amount == 0 }
        #expect(inquiries.count == 2)
    }

    @Test func faultVariantsEndSafely() async throws {
        let rig = try Rig()
        defer { rig.close() }
        for name in ["prepaid-expired", "prepaid-blocked", "prepaid-wrong-mac"] {
            let outcome = await rig.service.pay(amount: 100, presentation: .inserted(name: name))
            #expect(!outcome.approved, "\(name): \(outcome.lines)")
        }
        #expect(rig.cards.card("prepaid-expired")?.offlineCounter == 0)
        #expect(rig.cards.card("prepaid-blocked")?.offlineCounter == 0)
        let blockedTopUp = await rig.service.topUp(amount: 100, presentation: .inserted(name: "prepaid-blocked"))
        #expect(!blockedTopUp.approved)
        // The tampered card pays offline; the books find it at upload and block it; its next load is refused.
        let tampered = await rig.service.pay(amount: 100, presentation: .inserted(name: "prepaid-tampered"))
        #expect(tampered.approved)
        #expect(await rig.uploader.drain().failure == nil)
        #expect(try rig.books("prepaid-tampered")?.status == "tampered")
        let load = await rig.service.topUp(amount: 100, presentation: .inserted(name: "prepaid-tampered"))
        #expect(!load.approved, "\(load.lines)")
        // Nothing was uploaded for the refused sales.
        let purchases = try PrepaidLedger(rig.ledger).entries().filter { $0.kind == "purchase" }
        #expect(purchases.count == 1)
        #expect(rig.cards.card("prepaid-expired") != nil)
    }

    /// The lost-card list of the parameter set in force (its `prepaid` payload): a card on it is refused before any
    /// purse command changes it; the next set's list replaces it (the host took the card off), while a card the
    /// terminal started with on its own list stays refused.
    @Test func theParameterSetsLostCardListRefusesACardUntilTheNextSetDropsIt() async throws {
        let parameters = ActiveParameterSet(ParameterSet(version: 1, emv: nil, settings: nil))
        let rig = try Rig(parameters: parameters)
        defer { rig.close() }
        let good = Presentation.inserted(name: "prepaid-good")
        #expect(await rig.service.pay(amount: 100, presentation: good).approved)
        let number = try #require(rig.cards.card("prepaid-good")?.cardNumber)
        let counter = rig.cards.card("prepaid-good")?.offlineCounter
        // The host's list names the card (in lower case: the list is normalised).
        let listed = try PrepaidParameters(parsing: Array("lost-cards = [\"\(number.lowercased())\"]\n".utf8))
        parameters.apply(ParameterSet(version: 2, emv: nil, settings: nil, prepaid: listed))
        let refused = await rig.service.pay(amount: 100, presentation: good)
        #expect(!refused.approved && "\(refused.lines)".contains("Card blocked"), "\(refused.lines)")
        #expect(rig.cards.card("prepaid-good")?.offlineCounter == counter, "no purse command changed the card")
        #expect(!(await rig.service.topUp(amount: 100, presentation: good)).approved)
        // Version 3 has an empty list: the card pays again; the board's own blocked card is still refused.
        parameters.apply(ParameterSet(version: 3, emv: nil, settings: nil, prepaid: PrepaidParameters(lostCards: [])))
        #expect(await rig.service.pay(amount: 100, presentation: good).approved)
        #expect(!(await rig.service.pay(amount: 100, presentation: .inserted(name: "prepaid-blocked"))).approved)
    }

    @Test func lostCardListPayloadIsCheckedEntryByEntry() throws {
        let list = try PrepaidParameters(parsing: Array("""
            # the host's lost-card list
            lost-cards = [
              "1000000000000000000a",
              "10000000000000000099",
            ]
            """.utf8))
        #expect(list.lostCards == ["1000000000000000000A", "10000000000000000099"])
        #expect(try PrepaidParameters(parsing: []).lostCards.isEmpty)
        for (text, field) in [
            ("lost-cards = [\"123\"]", "lost-cards"), ("lost-cards = [\"1000000000000000000G\"]", "lost-cards"),
            ("lost-cards = \"10000000000000000099\"", "lost-cards"), ("lost-cards = [1]", "lost-cards"),
            ("blocked = []", "blocked"), ("lost-cards = [", "prepaid"),
        ] {
            #expect(throws: ParametersFileError.self, "\(text)") { try PrepaidParameters(parsing: Array(text.utf8)) }
            do { _ = try PrepaidParameters(parsing: Array(text.utf8)) } catch let error as ParametersFileError {
                #expect(error.field == field, "\(text): \(error)")
            }
        }
    }

    /// The list travels as the `prepaid` payload of a signed parameter set; `termtool pkg params --prepaid` refuses a
    /// list the terminal would refuse before anything is signed.
    @Test func theListTravelsInASignedParameterSet() throws {
        let release = try Ed25519.PrivateKey()
        let keyring = try Keyring(keys: [("release", .ed25519(try release.publicKey()))])
        let payload = Array("lost-cards = [\"10000000000000000099\"]\n".utf8)
        let package = try ParameterPackage.build(version: 7, payloads: [("prepaid", payload)]) {
            [try ParameterPackage.ed25519Signature($0, key: release)]
        }
        guard case .verified(let verified) = try ParameterPackage.verify(package, keyring: keyring) else {
            Issue.record("a signed set with a prepaid payload was refused")
            return
        }
        let set = try ParameterSet(verified, today: EMVDate(year: 2026, month: 11, day: 28)!)
        #expect(set.prepaid?.lostCards == ["10000000000000000099"] && set.emv == nil && set.settings == nil)

        let directory = try makeTemporaryDirectory("prepaid-pkg")
        defer { removeTree(directory) }
        try writeTextFile(directory + "/bad.toml", "lost-cards = [\"1234\"]\n")
        try writeTextFile(directory + "/good.toml", "lost-cards = [\"10000000000000000099\"]\n")
        let termtool = try builtProduct("termtool")
        let bad = try runProcess([termtool, "pkg", "params", "--version", "3", "--prepaid", directory + "/bad.toml", "--out", directory + "/bad.tpar"])
        #expect(bad.status != 0 && (bad.stderr + bad.stdout).contains("lost-cards"), "\(bad.stdout) \(bad.stderr)")
        #expect(access(directory + "/bad.tpar", F_OK) != 0)
        let good = try runProcess([termtool, "pkg", "params", "--version", "3", "--prepaid", directory + "/good.toml", "--out", directory + "/good.tpar"])
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
    }
}
