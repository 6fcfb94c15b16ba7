#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import ArgumentParser
import PaymentCrypto
import VirtualCards

/// `termtool acquirer`: the acquirer simulator as a process of its own, for a terminal that uses an external
/// acquirer (board profile `[network] acquirer = "ADDRESS:PORT"`, credentials in `TERMINAL_ACQUIRER_PKI_DIR`).
struct AcquirerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acquirer",
        abstract: "Run the acquirer simulator (our ISO 8583 host protocol over mutual TLS) until SIGTERM or SIGINT.",
        discussion: """
            The PKI directory holds ca.pem, server.pem, server.key, client.pem, client.key (`termtool tls-pki`); \
            when ca.pem is missing, a TEST PKI is made and written there first. Point the terminal at the same \
            directory (TERMINAL_ACQUIRER_PKI_DIR=DIR, or copy ca.pem, client.pem, client.key to \
            STATE/acquirer-pki). The books are an SQLite file: every answer by idempotency key and message class \
            (a repeat is answered from them, never applied twice) and every financial effect. QR payments \
            (docs/host-interface.md §4.10) are answered by the wallet gateway simulator (docs/qr-payments.md: the \
            amount rules, "user paying" for 12 s, WeChat Pay cancellable after 15 s) and booked in the same file.

            Prints `acquirer: listening on ADDRESS:PORT` once ready and, on exit, the entry count and net charge.

            Example:
              termtool acquirer --port 9443 --pki-dir /tmp/acq-pki --ledger /tmp/acq-ledger.sqlite
            """)

    @Option(help: "The IPv4 address to listen on.")
    var address = "127.0.0.1"

    @Option(help: "The port (0: any free one; the chosen one is printed).")
    var port = 0

    @Option(name: .customLong("pki-dir"), help: "The TEST PKI directory (created when missing).")
    var pkiDirectory: String

    @Option(help: "The ledger file (SQLite; created when missing).")
    var ledger: String

    @Option(help: "Misbehave: \(AcquirerServer.Fault.allCases.map(\.rawValue).joined(separator: ", ")).")
    var fault = "none"

    @Option(name: .customLong("answer-delay-ms"), help: "Wait this long before every answer (a slow host).")
    var answerDelayMilliseconds = 0

    @Option(name: .customLong("server-name"), help: "A subjectAltName for a newly made server certificate; repeatable.")
    var serverNames: [String] = ["localhost", "127.0.0.1"]

    @Option(name: .customLong("tms-dir"), help: "Serve terminal management objects (parameters-N.tpar, catalogue-N.toml, update-V.tpkg, pin-key-N.ksn or pin-key-N.tr31, log-request-N) from this directory.")
    var tmsDirectory: String?

    @Option(help: "The client certificate's commonName for a newly made PKI (the terminal id).")
    var clientName = "SIM00001"

    @Option(help: ArgumentHelp(
        "The terminal's key block protection key, hex (16, 24 or 32 bytes): MAC keys (key exchange) and downloaded PIN keys are wrapped under it. Default: the simulator boards' TEST KBPK.",
        valueName: "hex"))
    var kbpk: String?

    /// The sim board's TEST BDK (TerminalKeys.testBDK): the issuer checks online PINs under it.
    static let testBDK = "0123456789ABCDEFFEDCBA9876543210"

    func validate() throws {
        guard AcquirerServer.Fault(rawValue: fault) != nil else { throw ValidationError("--fault: one of \(AcquirerServer.Fault.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard (0...65_535).contains(port) else { throw ValidationError("--port: 0 to 65535") }
        guard answerDelayMilliseconds >= 0 else { throw ValidationError("--answer-delay-ms: not negative") }
        if let kbpk {
            guard let key = SecretBytes(hexEncoded: kbpk), [16, 24, 32].contains(key.count) else {
                throw ValidationError("--kbpk: 32, 48 or 64 hex digits")
            }
        }
    }

    func run() throws {
        if access(pkiDirectory + "/ca.pem", R_OK) != 0 {
            let pki = try TLSTestCertificates.generate(caName: "Simulator Acquirer TEST CA", serverNames: serverNames, clientName: clientName)
            _ = mkdir(pkiDirectory, 0o700)
            try TLSFiles.write(pkiDirectory + "/server.pem", pki.serverCertificatePEM)
            try TLSFiles.write(pkiDirectory + "/server.key", pki.serverPrivateKeyPEM)
            try TLSFiles.write(pkiDirectory + "/client.pem", pki.clientCertificatePEM)
            try TLSFiles.write(pkiDirectory + "/client.key", pki.clientPrivateKeyPEM)
            try TLSFiles.write(pkiDirectory + "/ca.pem", pki.caCertificatePEM)  // last: its presence means complete
            TLSFiles.say("acquirer: wrote a TEST PKI to \(pkiDirectory)")
        }
        let identity = TLSIdentity(
            certificateChainPEM: try TLSFiles.read(pkiDirectory + "/server.pem"), privateKeyPEM: try TLSFiles.readSecret(pkiDirectory + "/server.key"))
        let books = try AcquirerLedger(path: ledger)
        let issuer = IssuerHost(
            issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes(hexEncoded: Self.testBDK)!,
            expectedPIN: { pan in
                VirtualCardProfile.allNames.contains { VirtualCardProfile.named($0)?.applications.contains { $0.pan == pan } == true }
                    ? VirtualCardProfile.testOnlyPIN : nil
            },
            scriptedPANPrefixes: VirtualCardProfile.named("issuer-script")?.applications.map(\.pan) ?? [])
        // Block the stop signals in every thread, then wait for one here.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        var configuration = AcquirerServer.Configuration(
            identity: identity, clientCAPEM: try TLSFiles.read(pkiDirectory + "/ca.pem"),
            fault: AcquirerServer.Fault(rawValue: fault) ?? .none, answerDelay: .milliseconds(answerDelayMilliseconds))
        let protectionKey = kbpk.flatMap { SecretBytes(hexEncoded: $0) } ?? TerminalManagementHost.testKeyBlockProtectionKey
        configuration.keyBlockProtectionKey = protectionKey
        configuration.terminalManagement = tmsDirectory.map {
            TerminalManagementHost(directory: $0, pinBaseDerivationKey: SecretBytes(hexEncoded: Self.testBDK), keyBlockProtectionKey: protectionKey)
        }
        let server = try AcquirerServer(
            configuration: configuration,
            issuer: issuer, ledger: books, host: address, port: port)
        TLSFiles.say("acquirer: listening on \(address):\(server.port)")
        var received: Int32 = 0
        sigwait(&signals, &received)
        server.shutdown()
        let entries = (try? books.entries().count) ?? 0
        TLSFiles.say("acquirer: stopped; \(entries) ledger entries, net charged \((try? books.netCharged()) ?? 0)")
    }
}
