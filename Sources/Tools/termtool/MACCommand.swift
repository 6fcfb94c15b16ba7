import ArgumentParser
import PaymentCrypto

/// `termtool mac`: ISO/IEC 9797-1 MAC algorithms 1 and 3 (retail MAC) and CMAC over AES or TDES.
struct MACCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mac",
        abstract: "Compute a MAC: ISO 9797-1 algorithm 1 or 3 (retail MAC), AES-CMAC or TDES-CMAC.",
        discussion: """
            Algorithms: 1 (ISO/IEC 9797-1:2011 CBC-MAC; single DES with an 8-byte key, TDES with 16 or 24 bytes), \
            3 (the ANSI X9.19 retail MAC; 16-byte key), cmac-aes (NIST SP 800-38B; 16, 24 or 32 bytes), cmac-tdes \
            (SP 800-38B over TDES, as TR-31 version B uses it; 16 or 24 bytes). --padding (methods 1 and 2, clause \
            6.3) applies to algorithms 1 and 3; CMAC pads itself. --length keeps the leftmost bytes.

            Example (ISO/IEC 9797-1 Annex B, "Now is the time for all "):
              $ termtool mac --algorithm 3 \\
                  --key 0123456789ABCDEFFEDCBA9876543210 \\
                  --data 4E6F77206973207468652074696D6520666F7220616C6C20
              algorithm  ISO 9797-1 MAC algorithm 3 (retail MAC)
              padding    1
              MAC        A1C72E74EA3FA9B6
            """
    )

    enum Algorithm: String, ExpressibleByArgument, CaseIterable {
        case one = "1", three = "3"
        case cmacAES = "cmac-aes"
        case cmacTDES = "cmac-tdes"

        var keyLengths: [Int] {
            switch self {
            case .one: [8, 16, 24]
            case .three: [16]
            case .cmacAES: [16, 24, 32]
            case .cmacTDES: [16, 24]
            }
        }

        var macLengths: ClosedRange<Int> { self == .cmacAES ? 4...16 : 4...8 }

        var name: String {
            switch self {
            case .one: "ISO 9797-1 MAC algorithm 1 (CBC-MAC)"
            case .three: "ISO 9797-1 MAC algorithm 3 (retail MAC)"
            case .cmacAES: "AES-CMAC (NIST SP 800-38B)"
            case .cmacTDES: "TDES-CMAC (NIST SP 800-38B)"
            }
        }
    }

    enum PaddingArgument: String, ExpressibleByArgument, CaseIterable {
        case one = "1", two = "2"
    }

    @Option(help: "1, 3, cmac-aes or cmac-tdes.")
    var algorithm: Algorithm

    @Option(help: "The MAC key in hex.")
    var key: String

    @Option(help: "The message in hex.")
    var data: String

    @Option(help: "ISO 9797-1 padding method for algorithms 1 and 3 (default 1).")
    var padding: PaddingArgument?

    @Option(help: "The MAC length in bytes: 4 to 8 (4 to 16 for cmac-aes). Default: the whole block.")
    var length: Int?

    @OptionGroup var output: CryptoOutputOptions

    func run() throws {
        try CryptoTool.run {
            let macKey = try CryptoInput.secret(key, option: "--key", lengths: algorithm.keyLengths, what: "MAC key")
            let message = try CryptoInput.bytes(data, option: "--data")
            let macLength = length ?? algorithm.macLengths.upperBound
            guard algorithm.macLengths.contains(macLength) else {
                throw CryptoInputError(
                    "--length: a MAC of \(algorithm.name) is \(algorithm.macLengths.lowerBound) to \(algorithm.macLengths.upperBound) bytes, not \(macLength)")
            }
            var report = CryptoReport()
            report.add("algorithm", "algorithm", algorithm.name)
            let mac: [UInt8]
            switch algorithm {
            case .one, .three:
                let method: ISO9797MAC.Padding = padding == .two ? .method2 : .method1
                report.add("padding", "padding", number: method.rawValue)
                mac = algorithm == .one
                    ? try ISO9797MAC.algorithm1(message, key: macKey, padding: method, length: macLength)
                    : try ISO9797MAC.algorithm3(message, key: macKey, padding: method, length: macLength)
            case .cmacAES, .cmacTDES:
                guard padding == nil else {
                    throw CryptoInputError("--padding applies to algorithms 1 and 3; CMAC pads itself (SP 800-38B)")
                }
                mac = algorithm == .cmacAES
                    ? try AES.CMAC.authenticationCode(for: message, key: macKey, length: macLength)
                    : try Insecure.TDES.CMAC.authenticationCode(for: message, key: macKey, length: macLength)
            }
            report.add("mac", "MAC", hex: mac)
            report.print(json: output.json)
        }
    }
}
