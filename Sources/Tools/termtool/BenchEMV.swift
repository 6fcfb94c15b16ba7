#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import ArgumentParser
import Codecs
import DeviceKit
import EMVKernel
import LinuxDevices
import PaymentCrypto
import VirtualCards

/// The EMV kernel's cost per complete transaction (docs/emv-kernel.md, "Figures").
///
/// In process (default): the pure kernel, driven as EMVContactRail drives it, against a ``VirtualCard`` in the same
/// process; offline PIN 1234 by VERIFY; the online request decided by the acquirer simulator's ``IssuerHost`` (real
/// ARQC check and ARPC), without TLS or ISO 8583; no journal, no display. CPU is getrusage user + sys.
///
/// `--pcsc READER`: the same transactions with the card behind a real pcscd (e.g. `termtool vcard` on vpcd); the
/// APDUs of the first transaction are recorded and then replayed raw through the same connection, the floor of the
/// rig (transport only, no processing on the terminal side).
struct BenchEMV: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-emv",
        abstract: "CPU (in process) or wall time (through pcscd) per complete EMV contact transaction.")

    @Option(help: "Virtual card profile (in process).")
    var profile = "visa-credit"

    @Option(help: "Transactions to run.")
    var count = 200

    @Option(help: "Amount in minor units (at or above the floor limit: online).")
    var amount = 20_000

    @Option(help: "The EMV parameters file.")
    var parameters = "board/sim/emv-parameters.toml"

    @Option(help: "A PC/SC reader (name prefix): run through pcscd instead of in process.")
    var pcsc: String?

    func run() throws {
        let text = try Self.readFile(parameters)
        let today = EMVDate(year: 2026, month: 11, day: 27)!
        let params = try TerminalParameters.parse(text, today: today)
        let issuer = IssuerHost(
            issuers: TestIssuers.builtIn, pinBaseDerivationKey: SecretBytes([UInt8](repeating: 0x01, count: 16)), expectedPIN: { _ in nil })
        if let pcsc {
            try runThroughPCSC(reader: pcsc, params: params, issuer: issuer, today: today)
            return
        }
        guard let cardProfile = VirtualCardProfile.named(profile) else { throw ValidationError("no virtual card profile \(profile)") }
        let card = try VirtualCard(profile: cardProfile, random: SystemRandom())
        var decisions: [String: Int] = [:]
        // One untimed transaction warms the caches; the card keeps its state (ATC) across transactions as a real
        // card does; resetting it between transactions is part of the loop (a new insertion).
        _ = try Self.transaction(params: params, issuer: issuer, today: today, sequence: 0, amount: amount) { card.process($0) }
        var cardCPU = 0.0
        Self.issuerCPU = 0
        let (cpu0, wall0) = (Self.cpuSeconds(), Self.monotonicSeconds())
        for i in 1...count {
            card.reset()
            let outcome = try Self.transaction(params: params, issuer: issuer, today: today, sequence: UInt32(i), amount: amount) { command in
                let start = Self.threadCPUSeconds()
                defer { cardCPU += Self.threadCPUSeconds() - start }
                return card.process(command)
            }
            decisions["\(outcome.decision)", default: 0] += 1
        }
        let (cpu, wall) = (Self.cpuSeconds() - cpu0, Self.monotonicSeconds() - wall0)
        let n = Double(count)
        print("bench-emv in process: \(count) transactions, profile \(profile), amount \(amount)")
        print("  decisions: \(decisions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        print("  CPU (user+sys) per transaction: \(Self.ms(cpu / n)) ms in all; wall \(Self.ms(wall / n)) ms")
        print("    of which the virtual card \(Self.ms(cardCPU / n)) ms, the issuer simulator \(Self.ms(Self.issuerCPU / n)) ms")
        print("    terminal side (kernel, ODA, PIN block, driver): \(Self.ms((cpu - cardCPU - Self.issuerCPU) / n)) ms")
    }

    func runThroughPCSC(reader name: String, params: TerminalParameters, issuer: IssuerHost, today: EMVDate) throws {
        let reader = try PCSCCardReader(reader: name, disposition: .reset)
        var recorded: [[UInt8]] = []
        var decisions: [String: Int] = [:]
        // Warm-up transaction, recorded.
        do {
            let connection = try reader.connectSession(.contact)
            defer { connection.disconnect() }
            _ = try Self.transaction(params: params, issuer: issuer, today: today, sequence: 0, amount: amount) { command in
                recorded.append(command)
                return try connection.transmit(command)
            }
        }
        var wall = 0.0
        var apdus = 0
        for i in 1...count {
            let connection = try reader.connectSession(.contact)
            let start = Self.monotonicSeconds()
            let outcome = try Self.transaction(params: params, issuer: issuer, today: today, sequence: UInt32(i), amount: amount) { command in
                apdus += 1
                return try connection.transmit(command)
            }
            wall += Self.monotonicSeconds() - start
            connection.disconnect()
            decisions["\(outcome.decision)", default: 0] += 1
        }
        var replay = 0.0
        for _ in 1...count {
            let connection = try reader.connectSession(.contact)
            let start = Self.monotonicSeconds()
            for command in recorded { _ = try connection.transmit(command) }
            replay += Self.monotonicSeconds() - start
            connection.disconnect()
        }
        print("bench-emv through pcscd (\(name)): \(count) transactions, amount \(amount), \(apdus / count) APDUs each")
        print("  decisions: \(decisions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        print("  wall per transaction: \(Self.ms(wall / Double(count))) ms")
        print("  replay of the recorded \(recorded.count) APDUs, no processing: \(Self.ms(replay / Double(count))) ms")
    }

    /// One transaction: the kernel's actions carried out as EMVContactRail does, with a cardholder who types 1234
    /// and chooses the first application.
    static func transaction(
        params: TerminalParameters, issuer: IssuerHost, today: EMVDate, sequence: UInt32, amount: Int,
        transmit: ([UInt8]) throws -> [UInt8]
    ) throws -> KernelOutcome {
        let random = SystemRandom()
        let tx = EMVTransaction(amountAuthorised: amount, date: today, hour: 12, sequenceCounter: sequence)
        var kernel = EMVContactKernel(parameters: params, transaction: tx, random: random)
        var pending = kernel.start()
        let pin: ArraySlice<UInt8> = [1, 2, 3, 4]
        while !pending.isEmpty {
            let action = pending.removeFirst()
            var event: KernelEvent?
            switch action {
            case .transmit(let command):
                event = .response(try APDUExchange.run(command, transmit: transmit))
            case .show, .selectedLanguage:
                event = nil
            case .chooseApplication:
                event = .applicationChosen(index: 0)
            case .enterOnlinePIN:
                event = .onlinePIN(.entered)
            case .verifyOfflinePIN(let request):
                let block = try OfflinePIN.plaintextPINBlock(digits: pin)
                let command: CommandAPDU
                switch request {
                case .plaintext:
                    command = try CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x80, data: block.withUnsafeBytes { Array($0) }, expectedLength: nil)
                case .enciphered(let key, let challenge):
                    let data = try OfflineDataAuthentication.encipherPIN(pinBlock: block, iccUnpredictableNumber: challenge, key: key, random: random)
                    command = try CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x88, data: data, expectedLength: nil)
                }
                event = .offlinePINVerified(try APDUExchange.run(command, transmit: transmit).statusWord)
            case .lookupTransactionLog:
                event = .transactionLogTotal(0)
            case .goOnline(let request):
                let issuerStart = threadCPUSeconds()
                defer { issuerCPU += threadCPUSeconds() - issuerStart }
                let decision = issuer.authorize(.init(
                    transactionReference: "BENCH\(sequence)", pan: request.pan, panSequenceNumber: request.panSequenceNumber,
                    amount: amount, iccData: request.iccData, pinBlock: nil, keySerialNumber: nil))
                let nodes = (try? TLVNode.sequence(tlvEncoded: decision.iccData)) ?? []
                var scripts: [UInt8] = []
                for node in nodes where node.tag == TLVTag(0x71) || node.tag == TLVTag(0x72) { scripts += node.encodedBytes }
                event = .onlineResponse(OnlineResponse(
                    responseCode: decision.responseCode, authorizationCode: decision.authorizationCode,
                    issuerAuthenticationData: nodes.first { $0.tag == TLVTag(0x91) }.map { Array($0.value) }, issuerScripts: scripts))
            case .complete(let outcome):
                return outcome
            }
            if let event { pending += kernel.handle(event) }
        }
        throw ValidationError("the kernel ended without an outcome")
    }

    /// CPU time of the issuer simulator in the current run (single-threaded tool).
    nonisolated(unsafe) static var issuerCPU = 0.0

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func ms(_ seconds: Double) -> String {
        let v = (seconds * 100_000).rounded() / 100
        return "\(v)"
    }

    static func readFile(_ path: String) throws -> String {
        guard let file = fopen(path, "r") else { throw ValidationError("cannot read \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
