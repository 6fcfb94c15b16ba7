#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Codecs
import EMVKernel
import PaymentCrypto
import Store
import TerminalApp
import UpdatePackage

extension PackageCommand {
    /// `termtool pkg params`: build a parameter set (docs/terminal-management.md), or verify one. Sign it with
    /// `termtool pkg sign` like an update package.
    struct Params: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build (unsigned) or verify a parameter set; sign it with `pkg sign`.",
            discussion: """
                Build: termtool pkg params --version 12 --emv board/sim/emv-parameters.toml --terminal terminal.toml --out parameters-12.tpar
                Verify: termtool pkg params --verify parameters-12.tpar --keyring keyring.toml
                """)

        @Option(help: "The set's version (1…2147483647; a terminal only takes a newer one).")
        var version: Int?
        @Option(help: "The EMV parameters file (docs/emv-parameters.md): AIDs, CA keys, revocations, exceptions.")
        var emv: String?
        @Option(help: "The terminal settings file: merchant-name, language, offline caps, allow-metered-downloads.")
        var terminal: String?
        @Option(help: "The closed-loop prepaid file: lost-cards (the host's lost-card list).")
        var prepaid: String?
        @Option(help: "Output file (publish it as parameters-VERSION.tpar in the acquirer's --tms-dir).")
        var out: String?
        @Option(help: "Verify this parameter set instead of building one.")
        var verify: String?
        @Option(help: "The keyring to verify with.")
        var keyring: String?

        func validate() throws {
            if verify != nil {
                guard keyring != nil else { throw ValidationError("--verify needs --keyring") }
            } else {
                guard let version, (1...Int(Int32.max)).contains(version) else { throw ValidationError("--version: 1…2147483647") }
                guard emv != nil || terminal != nil || prepaid != nil else { throw ValidationError("give --emv, --terminal and/or --prepaid") }
                guard out != nil else { throw ValidationError("--out is required") }
            }
        }

        func run() throws {
            try CryptoTool.run {
                if let verify, let keyring {
                    let ring = try Keyring(parsing: String(decoding: try readParameterFile(keyring), as: UTF8.self))
                    switch try ParameterPackage.verify(try readParameterFile(verify, limit: 8 << 20), keyring: ring) {
                    case .verified(let set):
                        print("VALID: parameter set version \(set.version) signed by \(set.keyName), payloads \(set.payloads.keys.sorted().joined(separator: ", "))")
                    case .rejected(let reason, let detail):
                        print("INVALID (\(reason.rawValue)): \(detail)")
                        exitProcess(1)
                    }
                    return
                }
                var payloads: [(name: String, bytes: [UInt8])] = []
                if let emv {
                    let bytes = try readParameterFile(emv)
                    // Refuse a file the terminal would refuse (a mistyped or expired CA key) before it is signed.
                    var now = time(nil)
                    var parts = tm()
                    gmtime_r(&now, &parts)
                    let today = EMVDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday)) ?? EMVDate(year: 2026, month: 1, day: 1)!
                    _ = try TerminalParameters.parse(String(decoding: bytes, as: UTF8.self), today: today)
                    payloads.append(("emv", bytes))
                }
                if let terminal { payloads.append(("terminal", try readParameterFile(terminal))) }
                if let prepaid {
                    let bytes = try readParameterFile(prepaid, limit: 4 << 20)
                    _ = try PrepaidParameters(parsing: bytes)  // refused here as the terminal would refuse it
                    payloads.append(("prepaid", bytes))
                }
                let package = try ParameterPackage.build(version: version ?? 1, payloads: payloads)
                do { try DurableFile.store(out ?? "", package, mode: 0o644) } catch { throw CryptoInputError("\(error)") }
                print("built \(out ?? "") (\(package.count) bytes, version \(version ?? 1), unsigned: sign it with `termtool pkg sign`)")
            }
        }
    }
}

private func readParameterFile(_ path: String, limit: Int = 1 << 20) throws -> [UInt8] {
    do { return try DurableFile.readAll(path, limit: limit) } catch { throw CryptoInputError("\(error)") }
}

private func exitProcess(_ status: Int32) -> Never { exit(status) }
