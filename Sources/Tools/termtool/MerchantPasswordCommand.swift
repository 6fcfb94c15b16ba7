#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import PaymentCrypto
import Store
import TerminalApp

/// Provisions a terminal's merchant password (docs/merchant-operations.md): the salted PBKDF2 hash in the settings
/// table of its store, the failure count and lockout cleared, an audit entry. The password is read from standard
/// input (one line of 4 to 12 digits), never from the command line.
struct MerchantPasswordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merchant-password",
        abstract: "Set a terminal's merchant password (read from standard input).",
        discussion: """
            Opens the key store and journal of the state directory the way `store inspect` does and stores the \
            password as a salted PBKDF2-HMAC-SHA256 hash. Run it while the terminal is stopped.

            Example: printf '246810\\n' | termtool merchant-password --state-dir /var/lib/payment-terminal
            """)

    @Option(help: "The terminal's state directory (terminal.sqlite and keys/).")
    var stateDir: String

    @Option(help: "A directory holding the 32-byte KEK as 'terminal-kek' (systemd credentials).")
    var credentials: String?

    @Option(help: "The device-unique secret the KEK is derived from (default: as the terminal looks for it).")
    var deviceSecret: String?

    func run() throws {
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
        let digits = SecretBytes(Array(line.utf8))
        let journal = try StoreCommand.openJournal(stateDir: stateDir, credentials: credentials, deviceSecret: deviceSecret).journal
        let password = MerchantPassword(journal: Locked(journal), random: SystemRandom(), clock: { Int64(time(nil)) })
        do {
            try password.set(digits)
        } catch let error as StoreError where error.code == .invalid {
            throw ValidationError("a merchant password is 4 to 12 digits")
        }
        print("merchant password set in \(stateDir)/terminal.sqlite")
    }
}
