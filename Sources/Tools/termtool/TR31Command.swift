import ArgumentParser
import PaymentCrypto

/// `termtool tr31 unwrap`: check and open a TR-31 key block (ASC X9 TR-31:2018 / ANSI X9.143, versions B and D).
struct TR31Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tr31",
        abstract: "Open TR-31 key blocks (versions B and D).",
        subcommands: [Unwrap.self]
    )

    struct Unwrap: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a TR-31 key block's MAC and print its header and key.",
            discussion: """
                Prints the header fields (TR-31:2018 clause A.5), the optional blocks, the key, its length and its \
                check value (KCV: TDES keys encrypt a zero block with TDES-ECB, leftmost 3 bytes; AES keys take \
                the AES-CMAC of a zero block, leftmost 5 bytes). For a DUKPT initial key (key usage B1) it also \
                prints what the terminal loads: the initial KSN (optional block KS, TDES) or the initial key ID \
                (optional block IK, AES). Versions A and C (variant binding) are refused. A block whose MAC does not \
                verify (wrong KBPK, damaged block) is an error with exit status 2.

                Example (TR-31:2018 A.7.2.2):
                  $ termtool tr31 unwrap --kbpk DD7515F2BFC17F85CE48F3CA25CB21F6 \\
                      --block "B0080P0TE00E000094B420079CC80BA3461F86FE26EF\\
                C4A3B8E4FA4C5F5341176EED7B727B8A248E"
                  version             B (TDES key derivation)
                  block length        80
                  key usage           P0 (PIN encryption)
                  algorithm           T (TDEA)
                  mode of use         E (encrypt / wrap only)
                  key version number  00
                  exportability       E (exportable under a trusted key)
                  optional block      none
                  key                 3F419E1CB7079442AA37474C2EFBF8B8  [SECRET]
                  key length (bits)   128
                  KCV                 57C409
                """
        )

        @Option(help: "The key block protection key in hex: 16 or 24 bytes (TDES) for version B, 16, 24 or 32 bytes (AES) for D.")
        var kbpk: String

        @Option(help: "The key block, as text.")
        var block: String

        @OptionGroup var output: CryptoOutputOptions

        func run() throws {
            try CryptoTool.run(macFailure: "the key block's MAC does not verify: wrong KBPK, or the block was changed") {
                let lengths = block.hasPrefix("B") ? [16, 24] : [16, 24, 32]
                let protectionKey = try CryptoInput.secret(kbpk, option: "--kbpk", lengths: lengths, what: "KBPK")
                let (header, key) = try TR31.unwrap(block, kbpk: protectionKey)
                var report = CryptoReport()
                let version = header.version
                report.add("version", "version", String(version.rawValue) + (version == .b ? " (TDES key derivation)" : " (AES key derivation)"))
                report.add("length", "block length", number: block.utf8.count)
                report.add("keyUsage", "key usage", Self.described(header.keyUsage, Self.keyUsages[header.keyUsage]))
                report.add("algorithm", "algorithm", Self.described(String(header.algorithm), Self.algorithms[header.algorithm]))
                report.add("modeOfUse", "mode of use", Self.described(String(header.modeOfUse), Self.modesOfUse[header.modeOfUse]))
                report.add("keyVersionNumber", "key version number", header.keyVersionNumber)
                report.add("exportability", "exportability", Self.described(String(header.exportability), Self.exportabilities[header.exportability]))
                report.add("optionalBlocks", "optional block", objects: header.optionalBlocks.map { [("id", $0.id), ("data", $0.data)] })
                report.addSecret("key", "key", hex: key)
                report.add("keyBits", "key length (bits)", number: key.count * 8)
                if let kcv = try Self.checkValue(key, algorithm: header.algorithm) {
                    report.add("kcv", "KCV", hex: kcv)
                }
                if header.keyUsage == "B1" {
                    // What the terminal's key store loads (TR31.unwrapDUKPTInitialKey checks the KS / IK block).
                    do {
                        switch try TR31.unwrapDUKPTInitialKey(block, kbpk: protectionKey) {
                        case .tdes(_, let serial):
                            report.add("dukptInitialKSN", "DUKPT initial KSN", serial.description)
                        case .aes(_, let id):
                            report.add("dukptInitialKeyID", "DUKPT initial key ID", hex: id)
                        }
                    } catch let error as CryptoError {
                        report.add("dukptNotLoadable", "not loadable as DUKPT key", error.reason)
                    }
                }
                report.print(json: output.json)
            }
        }

        static func described(_ code: String, _ name: String?) -> String {
            name.map { "\(code) (\($0))" } ?? code
        }

        /// A key check value: TDES-ECB of a zero block, leftmost 3 bytes (TDES and DES keys); AES-CMAC of a zero
        /// block, leftmost 5 bytes (AES keys, ANSI X9.24-1:2017). `nil` for other algorithms or lengths.
        static func checkValue(_ key: SecretBytes, algorithm: Character) throws -> [UInt8]? {
            switch (algorithm, key.count) {
            case ("T", 16), ("T", 24):
                return Array(try Insecure.TDES.ECB.encrypt([UInt8](repeating: 0, count: 8), key: key).prefix(3))
            case ("D", 8), ("T", 8):
                return Array(try Insecure.DES.ECB.encrypt([UInt8](repeating: 0, count: 8), key: key).prefix(3))
            case ("A", 16), ("A", 24), ("A", 32):
                return try AES.CMAC.authenticationCode(for: [UInt8](repeating: 0, count: 16), key: key, length: 5)
            default:
                return nil
            }
        }

        /// Key usages of ANSI X9.143-2022 Table 6 (TR-31:2018 Table 6) that payment terminals meet.
        static let keyUsages: [String: String] = [
            "B0": "BDK, base derivation key", "B1": "initial DUKPT key", "B2": "base key variant key",
            "C0": "CVK, card verification key",
            "D0": "symmetric data encryption", "D1": "asymmetric data encryption",
            "D2": "data encryption for decimalization table",
            "E0": "EMV issuer master key: application cryptograms",
            "E1": "EMV issuer master key: secure messaging for confidentiality",
            "E2": "EMV issuer master key: secure messaging for integrity",
            "E3": "EMV issuer master key: data authentication code", "E4": "EMV issuer master key: dynamic numbers",
            "E5": "EMV issuer master key: card personalization", "E6": "EMV issuer master key: other",
            "I0": "initialization vector",
            "K0": "key encryption or wrapping", "K1": "TR-31 key block protection key",
            "K2": "TR-34 asymmetric key", "K3": "asymmetric key for key agreement or wrapping",
            "M0": "ISO 16609 MAC algorithm 1 (TDEA)", "M1": "ISO 9797-1 MAC algorithm 1",
            "M2": "ISO 9797-1 MAC algorithm 2", "M3": "ISO 9797-1 MAC algorithm 3",
            "M4": "ISO 9797-1 MAC algorithm 4", "M5": "ISO 9797-1:1999 MAC algorithm 5",
            "M6": "ISO 9797-1:2011 MAC algorithm 5 (CMAC)", "M7": "HMAC", "M8": "ISO 9797-1:2011 MAC algorithm 6",
            "P0": "PIN encryption",
            "S0": "asymmetric key pair for digital signature", "S1": "asymmetric key pair, CA key",
            "S2": "asymmetric key pair, non-X9.24 key",
            "V0": "PIN verification, other algorithm", "V1": "PIN verification, IBM 3624",
            "V2": "PIN verification, Visa PVV", "V3": "PIN verification, X9.132 algorithm 1",
            "V4": "PIN verification, X9.132 algorithm 2",
        ]

        /// Algorithms (TR-31:2018 clause A.5.4).
        static let algorithms: [Character: String] = [
            "A": "AES", "D": "DEA", "E": "elliptic curve", "H": "HMAC", "R": "RSA", "S": "DSA", "T": "TDEA",
        ]

        /// Modes of use (TR-31:2018 clause A.5.5).
        static let modesOfUse: [Character: String] = [
            "B": "encrypt and decrypt / wrap and unwrap", "C": "generate and verify MAC", "D": "decrypt / unwrap only",
            "E": "encrypt / wrap only", "G": "generate MAC only", "N": "no special restrictions",
            "S": "signature only", "T": "sign and decrypt", "V": "verify only", "X": "derive other keys",
            "Y": "create key variants",
        ]

        /// Exportability (TR-31:2018 clause A.5.7).
        static let exportabilities: [Character: String] = [
            "E": "exportable under a trusted key", "N": "not exportable", "S": "sensitive: exportable under an untrusted key",
        ]
    }
}
