import ArgumentParser
import PaymentCrypto

/// `termtool arqc generate|verify`: EMV application cryptograms (EMV 4.4 Book 2 clause 8.1 and Annex A1).
struct ARQCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arqc",
        abstract: "Generate or verify an EMV application cryptogram (ARQC, TC, AAC).",
        subcommands: [Generate.self, Verify.self]
    )

    static let keyDiscussion = """
        Keys: --imk (issuer master key for AC) with --pan and --psn derives the ICC master key (EMV Book 2 A1.4.1 \
        option A); --icc-mk starts from the ICC master key; either then derives the AC session key for --atc \
        (--scheme common: EMV common session key derivation, A1.3.1, R = ATC || 00…00; --scheme mastercard: \
        R = ATC || 0000 || --un). --session-key skips both derivations. The cryptogram is ISO/IEC 9797-1 MAC \
        algorithm 3 over --data (the CDOL1/CDOL2 data as the terminal sent it, followed by the card's AIP, ATC and \
        IAD as the cryptogram version requires), padding method --padding (2 by default; 1 for Visa CVN 10/18).
        """

    enum Scheme: String, ExpressibleByArgument, CaseIterable {
        case common, mastercard
    }

    enum PaddingArgument: String, ExpressibleByArgument, CaseIterable {
        case one = "1", two = "2"
    }

    /// The key and data options `generate` and `verify` share.
    struct Inputs: ParsableArguments {
        @Option(help: "The issuer master key for application cryptograms (IMK-AC), 16 bytes hex.")
        var imk: String?

        @Option(help: "The ICC master key (MK-AC), 16 bytes hex, instead of --imk.")
        var iccMk: String?

        @Option(help: "The AC session key, 16 bytes hex, instead of --imk or --icc-mk.")
        var sessionKey: String?

        @Option(help: "The PAN (tag 5A digits); with --imk.")
        var pan: String?

        @Option(help: "The PAN sequence number (tag 5F34), one BCD byte in hex; with --imk.")
        var psn: String = "00"

        @Option(help: "The application transaction counter (tag 9F36), 2 bytes hex.")
        var atc: String?

        @Option(help: "Session key derivation: common (EMV A1.3.1) or mastercard (SKD with the unpredictable number).")
        var scheme: Scheme = .common

        @Option(help: "The unpredictable number (tag 9F37), 4 bytes hex; with --scheme mastercard.")
        var un: String?

        @Option(help: "The data the cryptogram covers, in hex (spaces and line breaks between bytes are ignored).")
        var data: String

        @Option(help: "ISO 9797-1 padding method of the cryptogram version: 1 or 2.")
        var padding: PaddingArgument = .two

        /// Derives the session key, adding the keys on the way to `report`.
        func deriveSessionKey(into report: inout CryptoReport) throws -> SecretBytes {
            let given = [imk, iccMk, sessionKey].compactMap { $0 }.count
            guard given == 1 else { throw CryptoInputError("give exactly one of --imk, --icc-mk and --session-key") }
            if let sessionKey {
                guard atc == nil, un == nil, pan == nil else {
                    throw CryptoInputError("--session-key is the derived key: --pan, --atc and --un are not used with it")
                }
                let key = try CryptoInput.secret(sessionKey, option: "--session-key", lengths: [16], what: "session key")
                report.addSecret("sessionKey", "session key", hex: key)
                return key
            }
            let masterKey: SecretBytes
            if let imk {
                let issuerKey = try CryptoInput.secret(imk, option: "--imk", lengths: [16], what: "issuer master key")
                guard let pan else { throw CryptoInputError("--imk needs --pan (and --psn, 00 by default)") }
                let sequence = try CryptoInput.bytes(psn, option: "--psn", lengths: [1])
                masterKey = try EMV.iccMasterKeyOptionA(issuerMasterKey: issuerKey, pan: pan, panSequenceNumber: sequence[0])
                report.addSecret("iccMasterKey", "ICC master key", hex: masterKey)
            } else {
                guard pan == nil else { throw CryptoInputError("--pan is used with --imk only") }
                masterKey = try CryptoInput.secret(iccMk ?? "", option: "--icc-mk", lengths: [16], what: "ICC master key")
            }
            guard let atc else { throw CryptoInputError("deriving the session key needs --atc") }
            let counter = try CryptoInput.bytes(atc, option: "--atc", lengths: [2])
            let atcValue = UInt16(counter[0]) << 8 | UInt16(counter[1])
            let key: SecretBytes
            switch scheme {
            case .common:
                guard un == nil else { throw CryptoInputError("--un is used with --scheme mastercard only") }
                key = try EMV.commonSessionKey(iccMasterKey: masterKey, atc: atcValue)
            case .mastercard:
                guard let un else { throw CryptoInputError("--scheme mastercard needs --un, the unpredictable number") }
                let number = try CryptoInput.bytes(un, option: "--un", lengths: [4])
                key = try EMV.mastercardSessionKey(iccMasterKey: masterKey, atc: atcValue, unpredictableNumber: number)
            }
            report.add("sessionKeyDerivation", "session key derivation", scheme == .common ? "EMV common (A1.3.1)" : "Mastercard SKD")
            report.addSecret("sessionKey", "session key", hex: key)
            return key
        }

        var cryptogramPadding: EMV.CryptogramPadding { padding == .one ? .method1 : .method2 }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute an application cryptogram.",
            discussion: ARQCCommand.keyDiscussion + """


                Example (IMK → ICC MK → session key → ARQC, cross-checked against pyemv):
                  $ termtool arqc generate --imk 0123456789ABCDEFFEDCBA9876543210 \\
                      --pan 5413330089020011 --psn 00 --atc 001C \\
                      --data '000000001000000000000000084000000000000840251127
                              0052BF45855800001C03A4A082'
                  ICC master key          0708C1C2FDE685F82064518F29DFE5CE  [SECRET]
                  session key derivation  EMV common (A1.3.1)
                  session key             76B0C89B917C735768893E3E4573C168  [SECRET]
                  ARQC                    134B0D19C9945566

                Example (pyemv's documented AC example, from the session key):
                  $ termtool arqc generate \\
                      --session-key AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB \\
                      --data '000000002000000000000000012400000080000124110309
                              003804823E58000001'
                  session key  AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB  [SECRET]
                  ARQC         3B76CF10FECD8789
                """
        )

        @OptionGroup var inputs: Inputs
        @OptionGroup var output: CryptoOutputOptions

        func run() throws {
            try CryptoTool.run {
                var report = CryptoReport()
                let key = try inputs.deriveSessionKey(into: &report)
                let data = try CryptoInput.bytes(inputs.data, option: "--data")
                let cryptogram = try EMV.applicationCryptogram(sessionKey: key, data: data, padding: inputs.cryptogramPadding)
                report.add("arqc", "ARQC", hex: cryptogram)
                report.print(json: output.json)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an application cryptogram: prints VALID (exit 0) or INVALID (exit 1).",
            discussion: ARQCCommand.keyDiscussion + """


                Bad input (a wrong-length key, bad hex) exits with status 2, so a script can tell "checked and \
                invalid" (1) from "could not check" (2).

                Example:
                  $ termtool arqc verify \\
                      --session-key AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB \\
                      --data '000000002000000000000000012400000080000124110309
                              003804823E58000001' \\
                      --arqc 3B76CF10FECD8789
                  session key    AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB  [SECRET]
                  received ARQC  3B76CF10FECD8789
                  computed ARQC  3B76CF10FECD8789
                  valid          yes
                  VALID
                """
        )

        @OptionGroup var inputs: Inputs

        @Option(help: "The cryptogram to check (tag 9F26), 8 bytes hex.")
        var arqc: String

        @OptionGroup var output: CryptoOutputOptions

        func run() throws {
            var valid = false
            try CryptoTool.run {
                var report = CryptoReport()
                let key = try inputs.deriveSessionKey(into: &report)
                let data = try CryptoInput.bytes(inputs.data, option: "--data")
                let received = try CryptoInput.bytes(arqc, option: "--arqc", lengths: [8])
                valid = try EMV.isValidApplicationCryptogram(received, sessionKey: key, data: data, padding: inputs.cryptogramPadding)
                let computed = try EMV.applicationCryptogram(sessionKey: key, data: data, padding: inputs.cryptogramPadding)
                report.add("arqc", "received ARQC", hex: received)
                report.add("computedARQC", "computed ARQC", hex: computed)
                report.add("valid", "valid", flag: valid)
                report.verdict = valid ? "VALID" : "INVALID"
                report.print(json: output.json)
            }
            if !valid { throw ExitCode.failure }
        }
    }
}

/// `termtool arpc`: the issuer's response cryptogram (EMV 4.4 Book 2 clause 8.2).
struct ARPCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arpc",
        abstract: "Compute an ARPC with method 1 (ARC) or method 2 (CSU).",
        discussion: """
            Method 1 (EMV Book 2 8.2.1): ARPC = TDES(SK)[ARQC XOR (ARC || 000000000000)], 8 bytes; --arc is the \
            2-byte authorisation response code (tag 8A) in hex: the ASCII code "00" is 3030. Method 2 (8.2.2): the \
            leftmost 4 bytes of ISO 9797-1 MAC algorithm 3 (padding 2) over ARQC || CSU || proprietary \
            authentication data; --csu is the 4-byte card status update, --pad up to 8 bytes of proprietary data.

            Example (method 1):
              $ termtool arpc --method 1 \\
                  --session-key AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB \\
                  --arqc 1234567890ABCDEF --arc 0000
              method  1
              ARPC    F5E6F44147E2F1B0

            Example (method 2):
              $ termtool arpc --method 2 \\
                  --session-key AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB \\
                  --arqc 1234567890ABCDEF --csu 00000000
              method  2
              ARPC    9308BEBC
            """
    )

    enum Method: String, ExpressibleByArgument, CaseIterable {
        case one = "1", two = "2"
    }

    @Option(help: "ARPC method: 1 or 2.")
    var method: Method

    @Option(help: "The AC session key, 16 bytes hex (see `termtool arqc generate` to derive it).")
    var sessionKey: String

    @Option(help: "The ARQC the card sent, 8 bytes hex.")
    var arqc: String

    @Option(help: "Method 1: the authorisation response code, 2 bytes hex.")
    var arc: String?

    @Option(help: "Method 2: the card status update, 4 bytes hex.")
    var csu: String?

    @Option(help: "Method 2: proprietary authentication data, 0 to 8 bytes hex.")
    var pad: String?

    @OptionGroup var output: CryptoOutputOptions

    func run() throws {
        try CryptoTool.run {
            let key = try CryptoInput.secret(sessionKey, option: "--session-key", lengths: [16], what: "session key")
            let cryptogram = try CryptoInput.bytes(arqc, option: "--arqc", lengths: [8])
            var report = CryptoReport()
            report.add("method", "method", number: method == .one ? 1 : 2)
            let arpc: [UInt8]
            switch method {
            case .one:
                guard csu == nil, pad == nil else { throw CryptoInputError("--csu and --pad are for method 2") }
                guard let arc else { throw CryptoInputError("method 1 needs --arc, the authorisation response code") }
                let code = try CryptoInput.bytes(arc, option: "--arc", lengths: [2])
                arpc = try EMV.arpcMethod1(sessionKey: key, arqc: cryptogram, authorisationResponseCode: code)
            case .two:
                guard arc == nil else { throw CryptoInputError("--arc is for method 1") }
                guard let csu else { throw CryptoInputError("method 2 needs --csu, the card status update") }
                let status = try CryptoInput.bytes(csu, option: "--csu", lengths: [4])
                let proprietary = try pad.map { try CryptoInput.bytes($0, option: "--pad", range: 0...8) } ?? []
                arpc = try EMV.arpcMethod2(
                    sessionKey: key, arqc: cryptogram, cardStatusUpdate: status, proprietaryAuthenticationData: proprietary)
            }
            report.add("arpc", "ARPC", hex: arpc)
            report.print(json: output.json)
        }
    }
}
