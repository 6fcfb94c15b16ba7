import ArgumentParser
import PaymentCrypto

/// `termtool dukpt`: the keys of one DUKPT transaction, host side (ANSI X9.24-1:2009 TDES, ANSI X9.24-3-2017 AES).
struct DUKPTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dukpt",
        abstract: "Derive the DUKPT keys of a KSN from a BDK or an initial key (TDES X9.24-1, AES X9.24-3).",
        discussion: """
            TDES DUKPT (the default; KSN of 10 bytes): prints the IPEK (initial key, X9.24-1:2009 A.6), the \
            transaction key for the KSN's counter (A.3/A.4) and its variants (Table A-1): PIN, MAC request, MAC \
            response, data request and data response (the data variants include the encrypt-with-itself step).

            AES DUKPT (--aes; KSN of 12 bytes: 8-byte initial key ID, 4-byte counter): prints the initial key \
            (X9.24-3-2017 6.3.1), the intermediate derivation key for the counter (6.5) and the working key of \
            --usage and --key-type (6.3.3). A working key may not be stronger than the initial key (6.3.2).

            Give either --bdk (the base derivation key; it never belongs on a terminal) or --initial-key. Counter 0 \
            (an initial KSN) prints the initial key only.

            Example (X9.24-1:2009 Annex A, first transaction):
              $ termtool dukpt --bdk 0123456789ABCDEFFEDCBA9876543210 \\
                  --ksn FFFF9876543210E00001
              ...
              transaction key      042666B49184CFA368DE9628D0397BC9  [SECRET]
              PIN key              042666B49184CF5C68DE9628D0397B36  [SECRET]
              ...

            Example (X9.24-3-2017 supplement, AES-128):
              $ termtool dukpt --aes --bdk FEDCBA9876543210F1F1F1F1F1F1F1F1 \\
                  --ksn 123456789012345600000001 --usage pin --key-type aes128
              ...
              working key     AF8CB133A78F8DC2D1359F18527593FB  [SECRET]
            """
    )

    enum KeyTypeArgument: String, ExpressibleByArgument, CaseIterable {
        case aes128, aes192, aes256
        case tdes2 = "2tdea"
        case tdes3 = "3tdea"

        var keyType: AESDUKPT.KeyType {
            switch self {
            case .aes128: .aes128
            case .aes192: .aes192
            case .aes256: .aes256
            case .tdes2: .tdes2
            case .tdes3: .tdes3
            }
        }
    }

    enum UsageArgument: String, ExpressibleByArgument, CaseIterable {
        case pin
        case macGeneration = "mac-gen"
        case macVerification = "mac-verify"
        case macBoth = "mac-both"
        case dataEncrypt = "data-encrypt"
        case dataDecrypt = "data-decrypt"
        case dataBoth = "data-both"
        case kek

        var usage: AESDUKPT.KeyUsage {
            switch self {
            case .pin: .pinEncryption
            case .macGeneration: .macGeneration
            case .macVerification: .macVerification
            case .macBoth: .macBothWays
            case .dataEncrypt: .dataEncryptionEncrypt
            case .dataDecrypt: .dataEncryptionDecrypt
            case .dataBoth: .dataEncryptionBothWays
            case .kek: .keyEncryptionKey
            }
        }
    }

    @Option(help: "The base derivation key in hex: 16 bytes (TDES) or 16, 24 or 32 bytes (AES).")
    var bdk: String?

    @Option(help: "The device's initial key in hex (IPEK for TDES), instead of --bdk.")
    var initialKey: String?

    @Option(help: "The key serial number in hex: 10 bytes (TDES) or 12 bytes (AES).")
    var ksn: String

    @Flag(help: "AES DUKPT (ANSI X9.24-3-2017) instead of TDES DUKPT.")
    var aes = false

    @Option(help: "AES only: the working key type (default aes128).")
    var keyType: KeyTypeArgument?

    @Option(help: "AES only: the working key usage (default pin).")
    var usage: UsageArgument?

    @OptionGroup var output: CryptoOutputOptions

    func run() throws {
        try CryptoTool.run {
            guard (bdk == nil) != (initialKey == nil) else {
                throw CryptoInputError("give exactly one of --bdk and --initial-key")
            }
            var report = CryptoReport()
            if aes {
                try deriveAES(into: &report)
            } else {
                guard keyType == nil, usage == nil else {
                    throw CryptoInputError("--key-type and --usage apply to AES DUKPT (--aes); TDES DUKPT prints every variant")
                }
                try deriveTDES(into: &report)
            }
            report.print(json: output.json)
        }
    }

    private func deriveTDES(into report: inout CryptoReport) throws {
        let ksnBytes = try CryptoInput.bytes(ksn, option: "--ksn")
        guard ksnBytes.count == 10 else {
            throw CryptoInputError(
                "--ksn: a TDES DUKPT KSN is 10 bytes (20 hex digits), not \(ksnBytes.count)"
                    + (ksnBytes.count == 12 ? "; add --aes for AES DUKPT" : ""))
        }
        let serial = try TDESDUKPT.KeySerialNumber(ksnBytes)
        let ipek: SecretBytes
        if let bdk {
            let key = try CryptoInput.secret(bdk, option: "--bdk", lengths: [16], what: "TDES DUKPT BDK")
            ipek = try TDESDUKPT.initialKey(baseDerivationKey: key, keySerialNumber: serial)
        } else {
            ipek = try CryptoInput.secret(initialKey ?? "", option: "--initial-key", lengths: [16], what: "TDES DUKPT initial key")
        }
        report.add("scheme", "scheme", "TDES DUKPT (ANSI X9.24-1:2009)")
        report.add("ksn", "KSN", serial.description)
        report.add("initialKSN", "initial KSN", serial.initial.description)
        report.add("counter", "counter", hex(serial.counter, digits: 6))
        report.addSecret("ipek", "IPEK (initial key)", hex: ipek)
        guard serial.counter != 0 else {
            report.add("note", "note", "counter 0 is the initial KSN: no transaction key")
            return
        }
        guard TDESDUKPT.isUsableCounter(serial.counter) else {
            throw CryptoInputError("--ksn: counter \(hex(serial.counter, digits: 6)) has more than ten one bits; a device never uses it (X9.24-1:2009 A.2)")
        }
        let transactionKey = try TDESDUKPT.transactionKey(initialKey: ipek, keySerialNumber: serial)
        report.addSecret("transactionKey", "transaction key", hex: transactionKey)
        let variants: [(String, String, TDESDUKPT.KeyVariant)] = [
            ("pinKey", "PIN key", .pinEncryption),
            ("macRequestKey", "MAC key (request)", .macRequest),
            ("macResponseKey", "MAC key (response)", .macResponse),
            ("dataRequestKey", "data key (request)", .dataRequest),
            ("dataResponseKey", "data key (response)", .dataResponse),
        ]
        for (key, label, variant) in variants {
            report.addSecret(key, label, hex: try TDESDUKPT.workingKey(variant, transactionKey: transactionKey))
        }
    }

    private func deriveAES(into report: inout CryptoReport) throws {
        let ksnBytes = try CryptoInput.bytes(ksn, option: "--ksn")
        guard ksnBytes.count == 12 else {
            throw CryptoInputError("--ksn: an AES DUKPT KSN is 12 bytes (24 hex digits), not \(ksnBytes.count)")
        }
        let serial = try AESDUKPT.KeySerialNumber(ksnBytes)
        let ik: SecretBytes
        if let bdk {
            let key = try CryptoInput.secret(bdk, option: "--bdk", lengths: [16, 24, 32], what: "AES DUKPT BDK")
            ik = try AESDUKPT.initialKey(baseDerivationKey: key, initialKeyID: serial.initialKeyID)
        } else {
            ik = try CryptoInput.secret(initialKey ?? "", option: "--initial-key", lengths: [16, 24, 32], what: "AES DUKPT initial key")
        }
        let type = (keyType ?? .aes128)
        let use = (usage ?? .pin)
        report.add("scheme", "scheme", "AES DUKPT (ANSI X9.24-3-2017)")
        report.add("ksn", "KSN", serial.description)
        report.add("initialKeyID", "initial key ID", hex: serial.initialKeyID)
        report.add("counter", "counter", hex(serial.counter, digits: 8))
        report.addSecret("initialKey", "initial key", hex: ik)
        guard serial.counter != 0 else {
            report.add("note", "note", "counter 0 is the initial KSN: no working key")
            return
        }
        guard AESDUKPT.isUsableCounter(serial.counter) else {
            throw CryptoInputError("--ksn: counter \(hex(serial.counter, digits: 8)) has more than 16 one bits; a device never uses it (X9.24-3-2017 6.2)")
        }
        if let initialType = AESDUKPT.KeyType.aes(byteCount: ik.count), type.keyType.strength > initialType.strength {
            throw CryptoInputError(
                "--key-type \(type.rawValue) is stronger than the AES-\(initialType.bitLength) initial key (X9.24-3-2017 6.3.2)")
        }
        let derivationKey = try AESDUKPT.derivationKey(initialKey: ik, keySerialNumber: serial)
        report.addSecret("derivationKey", "derivation key", hex: derivationKey)
        report.add("usage", "usage", use.rawValue)
        report.add("keyType", "key type", type.rawValue)
        let working = try AESDUKPT.workingKey(usage: use.usage, keyType: type.keyType, derivationKey: derivationKey, keySerialNumber: serial)
        report.addSecret("workingKey", "working key", hex: working)
    }

    private func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
