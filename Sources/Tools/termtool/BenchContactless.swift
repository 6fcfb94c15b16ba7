import ArgumentParser
import Codecs
import ContactlessKernel
import EMVKernel
import PaymentCrypto
import TerminalApp
import VirtualCards

/// The contactless kernel's own CPU time per tap and the modelled card-in-field time (docs/contactless.md, "Figures").
///
/// In process: Entry Point and its kernel driven as ContactlessRail drives them, against a virtual contactless card
/// or phone; the kernel's time is its thread CPU time inside its own calls (card processing excluded, ODA included),
/// as ``ContactlessOutcome/kernelProcessingNanoseconds`` reports it. Card-in-field time is the latency model's sum
/// over the tap's APDUs (ISO 14443 transfer at 106 and 424 kbit/s plus the modelled card processing and RSA time):
/// computed, not slept.
struct BenchContactless: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-ctls",
        abstract: "Contactless kernel CPU per tap (p50/p99) and card-in-field time at 106/424 kbit/s.")

    @Option(help: "Taps per case.")
    var count = 500

    @Option(help: "The EMV parameters file (terminal data and CA keys).")
    var parameters = "board/sim/emv-parameters.toml"

    /// The cases: a card or phone and an amount (minor units; limits: floor 50.00, CVM 300.00, contactless 1000.00).
    static let cases: [(name: String, amount: Int, what: String)] = [
        ("visa-paywave", 2_000, "qVSDC offline, fDDA"),
        ("visa-paywave", 10_000, "qVSDC online, no CVM"),
        ("visa-paywave", 35_000, "qVSDC online PIN"),
        ("unionpay-quickpass", 2_000, "qPBOC offline, fDDA"),
        ("mastercard-paypass", 2_000, "M/Chip offline, RRP + CDA"),
        ("mastercard-paypass", 35_000, "M/Chip online PIN, RRP + CDA"),
        ("applepay-visa", 80_000, "phone (Visa token), CDCVM"),
        ("phone-declines", 10_000, "phone declines"),
    ]

    func run() throws {
        let today = EMVDate(year: 2026, month: 11, day: 27)!
        let terminal = try TerminalParameters.parse(try BenchEMV.readFile(parameters), today: today)
        let params = ContactlessParameters(
            terminal: terminal,
            combinations: ContactlessCombination.standard(limits: ContactlessRail.Configuration.simulatorLimits))
        print(
            "bench-ctls: \(count) taps per case, in process; kernel = Entry Point + kernel CPU (thread clock), card excluded"
        )
        print(
            "case                                                 | outcome        | APDUs | kernel p50 | kernel p99 | in field 106k | in field 424k"
        )
        for c in Self.cases {
            guard let profile = ContactlessCardProfile.named(c.name) else {
                throw ValidationError("no contactless card \(c.name)")
            }
            let card = try VirtualContactlessCard(profile: profile, random: SystemRandom())
            var kernel: [UInt64] = []
            var field106: [Int] = []
            var field424: [Int] = []
            var apdus = 0
            var status = ""
            for i in 0...count {
                let connection = VirtualContactlessConnection(card: card)
                let transaction = EMVTransaction(
                    amountAuthorised: c.amount, date: today, hour: 12, sequenceCounter: UInt32(i + 1))
                var entryPoint = ContactlessEntryPoint(
                    parameters: params, transaction: transaction, random: SystemRandom(), clock: ThreadCPUClock())
                let outcome = entryPoint.run(transmit: { command in
                    guard let bytes = try? connection.transmit(command.encoded),
                        let r = try? ResponseAPDU(apduEncoded: bytes)
                    else {
                        return .cardRemoved
                    }
                    return .response(r, elapsedMicroseconds: card.lastExchangeMicroseconds)
                })
                guard i > 0 else { continue }  // the first tap warms the caches
                kernel.append(outcome.kernelProcessingNanoseconds)
                field106.append(card.cardInFieldMicroseconds(at: .kbps106))
                field424.append(card.cardInFieldMicroseconds(at: .kbps424))
                apdus = card.exchanges.count
                status =
                    "\(outcome.status)"
                    + (outcome.cvm == .onlinePIN ? "+PIN" : outcome.cvm == .confirmationCodeVerified ? "+CDCVM" : "")
            }
            kernel.sort()
            field106.sort()
            field424.sort()
            func pct(_ p: Int) -> UInt64 { kernel[min(kernel.count - 1, kernel.count * p / 100)] }
            func ms(_ ns: UInt64) -> String { String(format3(Double(ns) / 1e6)) + " ms" }
            func msMicro(_ us: Int) -> String { String(format3(Double(us) / 1e3)) + " ms" }
            let label = "\(c.name) \(c.amount / 100).\(c.amount % 100 < 10 ? "0" : "")\(c.amount % 100) (\(c.what))"
            print(
                "\(pad(label, 52)) | \(pad(status, 14)) | \(pad("\(apdus)", 5)) | \(pad(ms(pct(50)), 10)) | \(pad(ms(pct(99)), 10)) | \(pad(msMicro(field106[field106.count / 2]), 13)) | \(msMicro(field424[field424.count / 2]))"
            )
        }
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

    func format3(_ v: Double) -> String {
        let scaled = Int((v * 1000).rounded())
        let frac = scaled % 1000
        return "\(scaled / 1000).\(frac < 10 ? "00" : frac < 100 ? "0" : "")\(frac)"
    }
}
