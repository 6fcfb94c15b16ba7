import ArgumentParser
import Codecs
import PaymentCrypto
import Store

/// Key injection and inspection for a terminal's key store (a factory station or a support engineer with the
/// board's key directory). Prints names, kinds and KSNs, never key bytes.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Provision or inspect a terminal's key store.",
        subcommands: [Provision.self, List.self]
    )

    struct Location: ParsableArguments {
        @Option(help: "The key directory (on a board: /var/lib/terminal/keys).")
        var dir: String

        @Option(help: "A directory holding the 32-byte KEK as 'terminal-kek' (what systemd's LoadCredentialEncrypted= provides).")
        var credentials: String?

        @Option(help: "The device-unique secret the KEK is derived from (default: the device tree serial number, then /etc/machine-id).")
        var deviceSecret: String?

        func open(mayProvision: Bool) throws -> KeyStore {
            var environment: [String: String] = [:]
            if let credentials { environment["CREDENTIALS_DIRECTORY"] = credentials }
            return try KeyStore(.init(
                directory: dir, deviceSecretPaths: deviceSecret.map { [$0] } ?? KeyStore.defaultDeviceSecretPaths,
                mayProvision: mayProvision, environment: environment))
        }
    }

    struct Provision: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a board's key store: a fresh data key and the DUKPT PIN key from a TR-31 key block.",
            discussion: """
                Run on the board (or against its key directory) at the factory. Without --credentials, a random \
                provisioning secret is written next to the store and the KEK is derived from it and the device \
                secret, so the store opens only on that device.

                Example:
                  termtool keys provision --dir /var/lib/terminal/keys --kbpk 89E88CF7931444F334BD7547FC3F380C \\
                    --pin-key-block B0104B1TX00N0100KS18FFFF987654321000000000...
                """)

        @OptionGroup var location: Location

        @Option(help: "The key block protection key (hex) the TR-31 block is wrapped under.")
        var kbpk: String

        @Option(help: "The TR-31 key block (usage B1) carrying the DUKPT initial key and its KSN or key ID.")
        var pinKeyBlock: String

        @Flag(help: "Mark the keys as test keys (a hardware board refuses to start with them).")
        var test = false

        func run() throws {
            guard let kbpkKey = SecretBytes(hexEncoded: kbpk) else { throw ValidationError("--kbpk is not hex") }
            let store = try location.open(mayProvision: true)
            try store.storeSecret("data-key", SecretBytes(try SystemRandom().bytes(32)), isTestKey: test)
            try store.installDUKPT("pin", keyBlock: pinKeyBlock, kbpk: kbpkKey, isTestKey: test)
            // Kept (sealed) for the keys the host downloads later, wrapped under the same KBPK.
            try store.storeSecret("kbpk", kbpkKey, isTestKey: test)
            try List.print(store)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys of a key store (names, kinds, next KSN; never key bytes).")

        @OptionGroup var location: Location

        func run() throws {
            try Self.print(location.open(mayProvision: false))
        }

        static func print(_ store: KeyStore) throws {
            Swift.print("key store \(store.path) (KEK: \(store.kekSource == .systemdCredential ? "systemd credential" : "derived from the device"))")
            for name in store.names {
                let ksn = (try? store.nextKeySerialNumber(name)).map { " next KSN \(Hex.encode($0))" } ?? ""
                Swift.print("  \(name)\(store.isTestKey(name) ? " [TEST KEY]" : "")\(ksn)")
            }
        }
    }
}
