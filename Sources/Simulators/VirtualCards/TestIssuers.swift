import Codecs
public import PaymentCrypto

/// TEST ONLY: the issuers of the virtual cards and their master keys, as `board/sim/test-issuers.toml` lists them
/// for the acquirer simulator (docs/virtual-cards.md, "Issuer keys file").
///
/// The file is a TOML subset (`Codecs.TOML`): one table `[issuers.<id>]` per issuer with `name`, `pan_prefixes`
/// (array of digit strings), `imk_ac`, `imk_smi`, `imk_smc` (16-byte hex), `arpc_method` (1 or 2) and
/// `cryptogram_padding` (`"method1"` or `"method2"`). The virtual cards carry the same text built in
/// (``builtInText``) because the module does no file I/O; a test checks that the committed file and the built-in
/// text agree.
public struct TestIssuers: Sendable {
    /// The ARPC method an issuer answers with (EMV Book 2 clause 8.2).
    public enum ARPCMethod: Int, Sendable, Equatable {
        /// Method 1: ARPC = TDES(SK_AC)[ARQC XOR ARC] (8.2.1); the ARC travels beside it in tag '91'.
        case method1 = 1
        /// Method 2: MAC over ARQC || CSU || proprietary data (8.2.2).
        case method2 = 2
    }

    /// TEST ONLY: one issuer and its master keys.
    public struct Issuer: Sendable {
        /// The table key, e.g. `visa-test`.
        public let id: String
        /// Display name.
        public let name: String
        /// PAN prefixes of the issuer's cards.
        public let panPrefixes: [String]
        /// TEST ONLY issuer master key for application cryptograms (IMK-AC).
        public let masterKeyAC: SecretBytes
        /// TEST ONLY issuer master key for secure-messaging integrity (IMK-SMI).
        public let masterKeySMI: SecretBytes
        /// TEST ONLY issuer master key for secure-messaging confidentiality (IMK-SMC).
        public let masterKeySMC: SecretBytes
        /// How the issuer computes ARPCs.
        public let arpcMethod: ARPCMethod
        /// The ISO/IEC 9797-1 padding of the application cryptogram input.
        public let cryptogramPadding: EMV.CryptogramPadding
    }

    /// The issuers, in file order.
    public let issuers: [Issuer]

    /// Parses the issuer keys file.
    /// - Throws: ``VirtualCardError`` ``VirtualCardError/Code/malformedIssuerFile`` naming the line and field (never
    ///   a key value).
    public static func parse(_ text: String) throws -> TestIssuers {
        let root: TOML.Table
        do {
            root = try TOML.parse(text)
        } catch {
            throw VirtualCardError(.malformedIssuerFile, "test issuers file: \(error)")
        }
        guard case .table(let table)? = root["issuers"] else {
            throw VirtualCardError(.malformedIssuerFile, "test issuers file: no [issuers.<id>] table")
        }
        var issuers: [Issuer] = []
        for id in table.keys {
            guard case .table(let entry)? = table[id] else {
                throw VirtualCardError(.malformedIssuerFile, "issuers.\(id) is not a table")
            }
            issuers.append(try Issuer(id: id, entry))
        }
        guard !issuers.isEmpty else { throw VirtualCardError(.malformedIssuerFile, "no issuer in the file") }
        return TestIssuers(issuers: issuers)
    }

    /// The issuer whose longest PAN prefix starts `pan`, or `nil`.
    public func issuer(forPAN pan: String) -> Issuer? {
        var best: (issuer: Issuer, length: Int)?
        for issuer in issuers {
            for prefix in issuer.panPrefixes where pan.hasPrefix(prefix) && prefix.count > (best?.length ?? 0) {
                best = (issuer, prefix.count)
            }
        }
        return best?.issuer
    }

    /// The issuer with table key `id`, or `nil`.
    public func issuer(id: String) -> Issuer? { issuers.first { $0.id == id } }

    /// TEST ONLY: the issuers the virtual cards are personalised with (``builtInText`` parsed).
    public static let builtIn: TestIssuers = {
        do {
            return try parse(builtInText)
        } catch {
            // The text is a constant of this file, checked by the tests: failing here is a programming error.
            preconditionFailure("the built-in test issuers text does not parse: \(error)")
        }
    }()

    /// TEST ONLY: the text of `board/sim/test-issuers.toml`, byte for byte (a test compares them).
    public static let builtInText = """
        # TEST ONLY issuer keys of the virtual cards (Sources/Simulators/VirtualCards) and the acquirer simulator.
        # These keys are published in this repository: they protect nothing and must never be loaded on a real terminal
        # or HSM. Format and use: docs/virtual-cards.md ("Issuer keys file").
        #
        # One table per issuer under [issuers.<id>]:
        #   name                display name
        #   pan_prefixes        the PAN prefixes (BIN ranges) of the issuer's virtual cards; the longest match wins
        #   imk_ac              issuer master key for application cryptograms (ARQC/TC/AAC, ARPC), 16 bytes hex
        #   imk_smi             issuer master key for secure-messaging integrity (issuer script MACs), 16 bytes hex
        #   imk_smc             issuer master key for secure-messaging confidentiality (PIN change data), 16 bytes hex
        #   arpc_method         1 (EMV Book 2 8.2.1) or 2 (8.2.2); the virtual cards check method 1
        #   cryptogram_padding  "method1" (zeros) or "method2" ('80' then zeros): ISO/IEC 9797-1 padding of the AC input
        # Key derivation: ICC master keys by option A (Book 2 A1.4.1) from PAN and PAN sequence number; session keys by
        # the EMV common session key derivation (A1.3.1), R = ATC || 00..00 for AC, R = the ARQC for SMI/SMC.

        [issuers.visa-test]
        name = "TEST ONLY Visa issuer"
        pan_prefixes = ["476173"]
        imk_ac = "FBA81FCAA659AE814025392540C4E77A"
        imk_smi = "D96B5E9917992B5CC9DF2CAE1D14C48E"
        imk_smc = "14DB69E35C3BE9BC067D1C49AEB70B74"
        arpc_method = 1
        cryptogram_padding = "method1"

        [issuers.mastercard-test]
        name = "TEST ONLY Mastercard issuer"
        pan_prefixes = ["541333"]
        imk_ac = "E56185D7BEA17471E7C0C01E161E1CF4"
        imk_smi = "2B5CC8DBBC9AA9459BAF26C49C86CECB"
        imk_smc = "6AD1825DE883510835854946C2571057"
        arpc_method = 1
        cryptogram_padding = "method2"

        [issuers.unionpay-test]
        name = "TEST ONLY UnionPay issuer"
        pan_prefixes = ["623012"]
        imk_ac = "90B1594E85AC13E50513D25FFBB00179"
        imk_smi = "1A94D35313577623B2A6226DEFA4E260"
        imk_smc = "76A094DD128102A61EBD96441E5BCB0E"
        arpc_method = 1
        cryptogram_padding = "method2"
        
        """
}

extension TestIssuers.Issuer {
    init(id: String, _ table: TOML.Table) throws {
        func string(_ key: String) throws -> String {
            guard case .string(let value, _)? = table[key] else {
                throw VirtualCardError(
                    .malformedIssuerFile, "issuers.\(id).\(key) (line \(table.line)): a string is required")
            }
            return value
        }
        func key(_ name: String) throws -> SecretBytes {
            let text = try string(name)
            guard let key = SecretBytes(hexEncoded: text), key.count == 16 else {
                throw VirtualCardError(
                    .malformedIssuerFile, "issuers.\(id).\(name) (line \(table[name]?.line ?? table.line)): 32 hex digits expected")
            }
            return key
        }
        self.id = id
        name = try string("name")
        guard case .array(let prefixes, let line)? = table["pan_prefixes"] else {
            throw VirtualCardError(.malformedIssuerFile, "issuers.\(id).pan_prefixes: an array of digit strings is required")
        }
        panPrefixes = try prefixes.map {
            guard case .string(let prefix, _) = $0, !prefix.isEmpty, prefix.utf8.allSatisfy({ (0x30...0x39).contains($0) })
            else {
                throw VirtualCardError(.malformedIssuerFile, "issuers.\(id).pan_prefixes (line \(line)): digits expected")
            }
            return prefix
        }
        masterKeyAC = try key("imk_ac")
        masterKeySMI = try key("imk_smi")
        masterKeySMC = try key("imk_smc")
        guard case .integer(let method, let methodLine)? = table["arpc_method"],
            let arpc = TestIssuers.ARPCMethod(rawValue: method)
        else {
            throw VirtualCardError(.malformedIssuerFile, "issuers.\(id).arpc_method: 1 or 2 expected")
        }
        _ = methodLine
        arpcMethod = arpc
        switch try string("cryptogram_padding") {
        case "method1": cryptogramPadding = .method1
        case "method2": cryptogramPadding = .method2
        default:
            throw VirtualCardError(
                .malformedIssuerFile, "issuers.\(id).cryptogram_padding: \"method1\" or \"method2\" expected")
        }
    }
}
