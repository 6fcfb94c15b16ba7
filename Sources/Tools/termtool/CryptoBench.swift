#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import PaymentCrypto

/// `termtool bench-crypto`: operations per second of the payment-crypto paths the terminal and its simulators run,
/// each next to `openssl speed` for the nearest primitive on the same machine.
///
/// Every figure is measured in this process with the monotonic clock (`clock_gettime(CLOCK_MONOTONIC)`): a short
/// warm-up, then the operation in a loop for `--seconds`. `openssl speed` runs afterwards (never at the same time, so
/// the two don't share the CPU), as a subprocess, and its human-readable table is parsed.
struct CryptoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-crypto",
        abstract: "Measure the per-PIN cost, ARQC generation and RSA-1984 recovery next to `openssl speed`.",
        discussion: """
            Each row runs in this process for --seconds after a short warm-up, timed with the monotonic clock.

            PIN, TDES: an ISO 9564 format 0 block, the next TDES DUKPT transaction key (TDESDUKPTOriginator, as \
            the terminal does it) and TDES-ECB under its PIN variant.

            PIN, AES: the next AES DUKPT derivation key (AESDUKPTOriginator), the AES-128 PIN working key and the \
            ISO 9564 format 4 encipherment (8 random bytes from the system DRBG).

            ARQC: the EMV common session key from the ICC master key and ISO 9797-1 MAC algorithm 3 over 33 \
            bytes of CDOL1 data; "from IMK" adds the ICC master key derivation (option A), as an issuer checks it.

            RSA-1984: the raw public operation on a 248-byte certificate, exponents 3 and 65537, with the key \
            loaded once, and with the key built from modulus and exponent for each certificate, as recovering an \
            issuer or ICC certificate does.

            Next to each: `openssl speed -seconds N` for the nearest primitive: DES-EDE3-ECB (-evp des-ede3) or \
            AES-128-ECB (-evp aes-128-ecb) on 16-byte buffers, and rsa2048 verify (e = 65537: openssl speed has \
            no 1984-bit or e = 3 case). It runs after the measurements, never at the same time. Use a release \
            build: swift build -c release --product termtool.

            Example:
              $ termtool bench-crypto --seconds 2
            """
    )

    @Option(help: "Seconds to run each operation (and each openssl speed case, rounded up to whole seconds).")
    var seconds: Double = 1

    @Flag(help: "Skip the openssl speed comparison.")
    var noOpenssl = false

    @Option(help: "The openssl binary (default: openssl on PATH).")
    var openssl: String?

    @OptionGroup var output: CryptoOutputOptions

    /// One measured operation.
    struct Row {
        var name: String
        var operations: Int
        var elapsed: Double
        var comparison: OpenSSLSpeed.Primitive?
        var opsPerSecond: Double { elapsed > 0 ? Double(operations) / elapsed : 0 }
    }

    func run() throws {
        guard seconds > 0, seconds <= 600 else { try CryptoTool.fail("--seconds is between 0 and 600") }
        var rows: [Row] = []
        do {
            rows = try measureAll()
        } catch let error as CryptoError {
            try CryptoTool.fail(error.reason)
        }
        var speeds: [OpenSSLSpeed.Primitive: Double] = [:]
        var version: String?
        if !noOpenssl {
            if let binary = openssl ?? OpenSSLSpeed.findOnPath() {
                let speed = OpenSSLSpeed(binary: binary, seconds: max(1, Int(seconds.rounded(.up))))
                version = speed.version()
                for primitive in OpenSSLSpeed.Primitive.allCases { speeds[primitive] = speed.measure(primitive) }
            } else {
                CryptoTool.writeStandardError("termtool: openssl is not on PATH; no comparison\n")
            }
        }
        if output.json {
            printJSON(rows, speeds: speeds, version: version)
        } else {
            printTable(rows, speeds: speeds, version: version)
        }
    }

    // MARK: Measurements

    private func measureAll() throws -> [Row] {
        let pin = SecretBytes(Array("1234".utf8))
        let pan = "4012345678909"
        let random = SystemRandom()

        // X9.24-1:2009 Annex A test keys; the originator starts at counter 1 and is reloaded if it ever runs out.
        let initialKSN = try TDESDUKPT.KeySerialNumber([0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x00])
        let ipek = try TDESDUKPT.initialKey(
            baseDerivationKey: SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210") ?? SecretBytes(zeros: 16),
            keySerialNumber: initialKSN)
        var tdes = try TDESDUKPTOriginator(initialKey: ipek, initialKeySerialNumber: initialKSN)
        let tdesPIN = try measure {
            let clear = try PINBlock.encode(format: .format0, pin: pin, pan: pan, random: random)
            if tdes.isExhausted { tdes = try TDESDUKPTOriginator(initialKey: ipek, initialKeySerialNumber: initialKSN) }
            _ = try tdes.encryptPINBlock(clear)
        }

        // X9.24-3-2017 supplement AES-128 initial key.
        let aesInitialKey = SecretBytes(hexEncoded: "1273671EA26AC29AFA4D1084127652A1") ?? SecretBytes(zeros: 16)
        let initialKeyID: [UInt8] = [0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56]
        var aes = try AESDUKPTOriginator(initialKey: aesInitialKey, initialKeyID: initialKeyID)
        let aesPIN = try measure {
            if aes.isExhausted { aes = try AESDUKPTOriginator(initialKey: aesInitialKey, initialKeyID: initialKeyID) }
            _ = try aes.encipherPIN(pin, pan: pan, keyType: .aes128, random: random)
        }

        // pyemv's example IMK, PAN 5413330089020011, PSN 00; 33 bytes of typical CDOL1 data + AIP + ATC.
        let imk = SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210") ?? SecretBytes(zeros: 16)
        let iccMasterKey = try EMV.iccMasterKeyOptionA(issuerMasterKey: imk, pan: "5413330089020011", panSequenceNumber: 0)
        let data: [UInt8] = [
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x40, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x08, 0x40, 0x25, 0x11, 0x27, 0x00, 0x52, 0xBF, 0x45, 0x85, 0x58, 0x00, 0x00, 0x1C,
        ]
        var atc: UInt16 = 1
        let arqc = try measure {
            atc &+= 1
            let sessionKey = try EMV.commonSessionKey(iccMasterKey: iccMasterKey, atc: atc)
            _ = try EMV.applicationCryptogram(sessionKey: sessionKey, data: data, padding: .method2)
        }
        let arqcFromIMK = try measure {
            atc &+= 1
            let masterKey = try EMV.iccMasterKeyOptionA(issuerMasterKey: imk, pan: "5413330089020011", panSequenceNumber: 0)
            let sessionKey = try EMV.commonSessionKey(iccMasterKey: masterKey, atc: atc)
            _ = try EMV.applicationCryptogram(sessionKey: sessionKey, data: data, padding: .method2)
        }

        var rows = [
            Row(name: "PIN, TDES: ISO-0 + DUKPT next key + PIN variant TDES", operations: tdesPIN.0, elapsed: tdesPIN.1, comparison: .tdes),
            Row(name: "PIN, AES: DUKPT next key + AES-128 PIN key + ISO-4", operations: aesPIN.0, elapsed: aesPIN.1, comparison: .aes),
            Row(name: "ARQC: session key + MAC alg. 3 (33 B)", operations: arqc.0, elapsed: arqc.1, comparison: .tdes),
            Row(name: "ARQC from IMK: option A + session key + MAC", operations: arqcFromIMK.0, elapsed: arqcFromIMK.1, comparison: .tdes),
        ]

        for exponent: UInt in [3, 65537] {
            // A test CA key of EMV's largest size; the "certificate" is a 248-byte block below the modulus (it starts
            // with the EMV header byte 6A, the modulus with a one bit).
            let privateKey = try RSA.PrivateKey.generate(bits: 1984, publicExponent: exponent)
            let publicKey = privateKey.publicKey
            let modulus = try publicKey.modulus()
            let publicExponent = try publicKey.exponent()
            var plain = try random.bytes(248)
            plain[0] = 0x6A
            plain[247] = 0xBC
            let certificate = try privateKey.rawPrivateOperation(plain)
            guard try publicKey.rawPublicOperation(certificate) == plain else {
                throw CryptoError(.authenticationFailure, "RSA recovery did not give the signed block back")
            }
            let loaded = try measure { _ = try publicKey.rawPublicOperation(certificate) }
            let imported = try measure {
                let key = try RSA.PublicKey(modulus: modulus, exponent: publicExponent)
                _ = try key.rawPublicOperation(certificate)
            }
            rows.append(Row(name: "RSA-1984 recover, e=\(exponent), key loaded", operations: loaded.0, elapsed: loaded.1, comparison: .rsa))
            rows.append(Row(name: "RSA-1984 recover, e=\(exponent), key built per cert", operations: imported.0, elapsed: imported.1, comparison: .rsa))
        }
        return rows
    }

    /// Runs `operation` for a warm-up (a tenth of the time, at most half a second), then for `seconds`, and returns
    /// how many runs fit and the time they took, read from the monotonic clock.
    private func measure(_ operation: () throws -> Void) throws -> (Int, Double) {
        let warmUp = min(seconds / 10, 0.5)
        let warmUpEnd = Bench.monotonicSeconds() + warmUp
        repeat { try operation() } while Bench.monotonicSeconds() < warmUpEnd
        var count = 0
        let start = Bench.monotonicSeconds()
        var now = start
        repeat {
            try operation()
            count += 1
            now = Bench.monotonicSeconds()
        } while now - start < seconds
        return (count, now - start)
    }

    // MARK: Output

    private func printTable(_ rows: [Row], speeds: [OpenSSLSpeed.Primitive: Double], version: String?) {
        #if DEBUG
        let build = "debug build (not representative: use swift build -c release)"
        #else
        let build = "release build"
        #endif
        print("termtool bench-crypto: \(Bench.format(seconds, 1)) s per row, \(build)")
        if let version { print("openssl: \(version)") }
        let nameWidth = rows.map(\.name.count).max() ?? 0
        func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return right ? fill + text : text + fill
        }
        let header = pad("operation", nameWidth) + "  " + pad("ops/s", 9, right: true) + "  " + pad("µs/op", 8, right: true)
            + (speeds.isEmpty ? "" : "   openssl speed (nearest primitive)")
        print(header)
        for row in rows {
            var line = pad(row.name, nameWidth) + "  " + pad(String(Int(row.opsPerSecond.rounded())), 9, right: true) + "  "
                + pad(Bench.format(row.opsPerSecond > 0 ? 1e6 / row.opsPerSecond : 0, 2), 8, right: true)
            if let primitive = row.comparison, let speed = speeds[primitive] {
                line += "   " + pad(String(Int(speed.rounded())), 9, right: true) + " ops/s " + primitive.label
            }
            print(line)
        }
    }

    private func printJSON(_ rows: [Row], speeds: [OpenSSLSpeed.Primitive: Double], version: String?) {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        var members = [
            JSON.string("secondsPerRow") + ":" + JSON.number(seconds, decimals: 3),
            JSON.string("build") + ":" + JSON.string(build),
        ]
        if let version { members.append(JSON.string("opensslVersion") + ":" + JSON.string(version)) }
        let rowObjects = rows.map { row -> String in
            var fields = [
                JSON.string("operation") + ":" + JSON.string(row.name),
                JSON.string("operations") + ":" + String(row.operations),
                JSON.string("opsPerSecond") + ":" + JSON.number(row.opsPerSecond, decimals: 1),
                JSON.string("microsecondsPerOp") + ":" + JSON.number(row.opsPerSecond > 0 ? 1e6 / row.opsPerSecond : 0, decimals: 3),
            ]
            if let primitive = row.comparison, let speed = speeds[primitive] {
                fields.append(JSON.string("opensslPrimitive") + ":" + JSON.string(primitive.label))
                fields.append(JSON.string("opensslOpsPerSecond") + ":" + JSON.number(speed, decimals: 1))
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        members.append(JSON.string("rows") + ":[" + rowObjects.joined(separator: ",") + "]")
        print("{" + members.joined(separator: ",") + "}")
    }
}

/// `openssl speed` as a subprocess: one case at a time, its human-readable table parsed.
struct OpenSSLSpeed {
    /// The primitives compared with.
    enum Primitive: CaseIterable {
        /// `-evp des-ede3 -bytes 16`: two TDES blocks under an already-set key.
        case tdes
        /// `-evp aes-128-ecb -bytes 16`: one AES block under an already-set key.
        case aes
        /// `rsa2048`, the verify column: a 2048-bit public-key operation with e = 65537 and PKCS#1 v1.5 check.
        case rsa

        var label: String {
            switch self {
            case .tdes: "DES-EDE3-ECB, 16-byte buffer"
            case .aes: "AES-128-ECB, 16-byte buffer"
            case .rsa: "rsa2048 verify (e=65537)"
            }
        }

        var arguments: [String] {
            switch self {
            case .tdes: ["-bytes", "16", "-evp", "des-ede3"]
            case .aes: ["-bytes", "16", "-evp", "aes-128-ecb"]
            case .rsa: ["rsa2048"]
            }
        }
    }

    let binary: String
    let seconds: Int

    /// `openssl` in one of the `PATH` directories, or `nil`.
    static func findOnPath() -> String? {
        guard let path = getenv("PATH") else { return nil }
        for directory in String(cString: path).split(separator: ":") {
            let candidate = String(directory) + "/openssl"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// `openssl version`, one line.
    func version() -> String? {
        capture([binary, "version"], timeoutSeconds: 10)?.split(separator: "\n").first.map(String.init)
    }

    /// Operations per second of `primitive`, or `nil` when openssl fails or prints something unexpected.
    func measure(_ primitive: Primitive) -> Double? {
        // RSA runs sign and verify for `seconds` each; allow for start-up on a slow board.
        let timeout = 30 + 3 * seconds
        guard let text = capture([binary, "speed", "-seconds", String(seconds)] + primitive.arguments, timeoutSeconds: timeout) else {
            return nil
        }
        return primitive == .rsa ? Self.parseRSAVerify(text) : Self.parseCipher(text, bytes: 16)
    }

    /// The cipher table: after the line `type  16 bytes`, a line `NAME  31036.20k`: thousands of bytes per second
    /// with a `k` suffix (plain bytes per second without it). Returns operations (buffers) per second.
    static func parseCipher(_ text: String, bytes: Int) -> Double? {
        let lines = text.split(separator: "\n")
        guard let header = lines.lastIndex(where: { $0.hasPrefix("type") && $0.contains("bytes") }), header + 1 < lines.count else {
            return nil
        }
        guard let field = lines[header + 1].split(separator: " ").last else { return nil }
        var number = Substring(field)
        var scale = 1.0
        if number.hasSuffix("k") {
            number = number.dropLast()
            scale = 1000
        }
        guard let value = Double(number) else { return nil }
        return value * scale / Double(bytes)
    }

    /// The RSA table: `rsa 2048 bits 0.000241s 0.000017s   4141.0  59936.0`; the last column is verify/s.
    static func parseRSAVerify(_ text: String) -> Double? {
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("rsa ") && $0.contains(" bits ") }),
              let last = line.split(separator: " ").last
        else { return nil }
        return Double(last)
    }

    /// Runs `argv` with stdout on a pipe (stdin and stderr on /dev/null) and returns what it printed, or `nil` when it
    /// cannot start, fails, or runs past `timeoutSeconds` (then it is killed).
    private func capture(_ argv: [String], timeoutSeconds: Int) -> String? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArgv = argv.map { strdup($0) } + [nil]
        defer { cArgv.forEach { free($0) } }
        var child = pid_t()
        let spawned = posix_spawn(&child, argv[0], &actions, nil, cArgv, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard spawned == 0 else { return nil }

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Bench.monotonicSeconds() + Double(timeoutSeconds)
        var timedOut = false
        while true {
            let remaining = deadline - Bench.monotonicSeconds()
            if remaining <= 0 {
                timedOut = true
                kill(child, SIGKILL)
                break
            }
            var p = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(remaining * 1000, 1000)))
            if ready < 0, errno == EINTR { continue }
            if ready == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[..<n]
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0, errno == EINTR {}
        guard !timedOut, status == 0 else { return nil }
        return String(decoding: output, as: UTF8.self)
    }
}
