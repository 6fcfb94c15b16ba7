import ArgumentParser
import PaymentCrypto
import VirtualCards

#if canImport(Glibc)
    import Glibc
#endif

/// `termtool vcard`: a virtual EMV card attached to pcscd through vsmartcard-vpcd (TEST ONLY keys).
struct VirtualCardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcard",
        abstract: "Serve a virtual EMV contact card (TEST ONLY keys) to pcscd through vsmartcard-vpcd.",
        discussion: """
            Connects to vpcd on --host:--port (35963 is the first reader of Debian's /etc/reader.conf.d/vpcd); \
            pcscd then reports a card in that reader until this command ends. --list prints the profiles \
            (docs/virtual-cards.md describes each).

            Example:
              $ termtool vcard --profile visa-credit
            """
    )

    @Option(help: "The card profile, e.g. visa-credit (see --list).")
    var profile: String?

    @Option(help: "vpcd's TCP port.")
    var port: Int = 35963

    @Option(help: "vpcd's IPv4 address.")
    var host: String = "127.0.0.1"

    @Option(help: "End after this many seconds (0: run until vpcd closes the link or the process is stopped).")
    var lifetime: Int = 0

    @Flag(help: "List the profiles and exit.")
    var list = false

    func run() throws {
        if list {
            for name in VirtualCardProfile.allNames + ContactlessCardProfile.allNames + VirtualPurseProfile.allNames { print(name) }
            return
        }
        guard let name = profile else { throw ValidationError("--profile NAME is required (see --list)") }
        let card: any VirtualSmartCard
        if let chosen = VirtualCardProfile.named(name) {
            card = try VirtualCard(profile: chosen, random: SystemRandom())
        } else if let contactless = ContactlessCardProfile.named(name) {
            // A contactless card or phone (docs/contactless.md) in the PC/SC reader.
            card = try VirtualContactlessCard(profile: contactless, random: SystemRandom())
        } else if let purse = VirtualPurseProfile.named(name) {
            // A prepaid (PBOC purse) card, docs/prepaid.md §5.
            card = VirtualPurseCard(profile: purse, random: SystemRandom())
        } else {
            throw ValidationError("no profile '\(name)' (see --list)")
        }
        let deadline = lifetime > 0 ? Int(time(nil)) + lifetime : Int.max
        print("virtual card '\(name)' for vpcd at \(host):\(port)")
        fflush(nil)
        try serve(card: card, host: host, port: port) { Int(time(nil)) >= deadline }
        print(card.isRemoved ? "card pulled" : "vpcd link closed")
    }
}
