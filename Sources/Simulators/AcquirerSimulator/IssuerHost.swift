import Codecs
public import PaymentCrypto
public import VirtualCards

/// The issuer behind the acquirer simulator: decides an online chip authorisation with real cryptography.
///
/// For a request it finds the issuer by PAN range in the test issuers file (docs/virtual-cards.md), derives the ICC
/// master key (option A) and the AC session key for the card's ATC, recomputes the ARQC over the data the virtual
/// cards MAC (amounts, country, TVR, currency, date, type, UN from field 55, then AIP, ATC and the CVR from '9F10'),
/// checks a DUKPT-enciphered online PIN against the card's PIN, applies the response-code rules below, and answers
/// with '91' (ARPC method 1 || ARC) and, for the script card, issuer scripts in '71'/'72' with secure-messaging MACs.
///
/// Response-code rules (documented in docs/acquirer-simulator.md):
/// - no issuer for the PAN: `15`; an ARQC missing or wrong: `05` (and no ARPC, so the card sees a failed issuer
///   authentication if it asks);
/// - wrong online PIN: `55`;
/// - amount ending in `.51` (minor units % 100 == 51): `51` insufficient funds; `.05`: `05` do not honour;
///   at or above `limit`: `61` exceeds withdrawal limit;
/// - otherwise `00` with a six-digit authorisation code.
public struct IssuerHost: Sendable {
    public struct Request: Sendable, Equatable {
        public var transactionReference: String
        public var pan: String
        public var panSequenceNumber: Int?
        public var amount: Int
        /// Field 55 as received.
        public var iccData: [UInt8]
        public var pinBlock: [UInt8]?
        public var keySerialNumber: [UInt8]?
        public init(
            transactionReference: String, pan: String, panSequenceNumber: Int?, amount: Int, iccData: [UInt8],
            pinBlock: [UInt8]?, keySerialNumber: [UInt8]?
        ) {
            self.transactionReference = transactionReference
            self.pan = pan
            self.panSequenceNumber = panSequenceNumber
            self.amount = amount
            self.iccData = iccData
            self.pinBlock = pinBlock
            self.keySerialNumber = keySerialNumber
        }
    }

    public struct Decision: Sendable, Equatable {
        public var responseCode: String
        public var authorizationCode: String?
        /// Field 55 of the response: '91' and scripts.
        public var iccData: [UInt8]
        /// Why, for the simulator's log and ledger (no card data).
        public var reason: String
    }

    public let issuers: TestIssuers
    /// The base derivation key of the terminals' DUKPT PIN keys (the simulator's is X9.24-1's published test BDK).
    let pinBaseDerivationKey: SecretBytes
    /// The PIN a card's cardholder knows, by PAN (the virtual cards': their profile's PIN).
    let expectedPIN: @Sendable (String) -> String?
    /// PAN prefixes whose approvals carry issuer scripts (the `issuer-script` card).
    let scriptedPANPrefixes: [String]
    public let limit: Int

    public init(
        issuers: TestIssuers, pinBaseDerivationKey: SecretBytes, expectedPIN: @escaping @Sendable (String) -> String?,
        scriptedPANPrefixes: [String] = [], limit: Int = 5_000_000
    ) {
        self.issuers = issuers
        self.pinBaseDerivationKey = pinBaseDerivationKey
        self.expectedPIN = expectedPIN
        self.scriptedPANPrefixes = scriptedPANPrefixes
        self.limit = limit
    }

    /// The data objects of field 55 whose values the virtual cards MAC, in order, with their lengths.
    static let cryptogramTags: [(UInt32, Int)] = [
        (0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2), (0x9A, 3), (0x9C, 1), (0x9F37, 4),
    ]

    public func authorize(_ request: Request) -> Decision {
        guard let issuer = issuers.issuer(forPAN: request.pan) else {
            return Decision(responseCode: "15", authorizationCode: nil, iccData: [], reason: "no issuer for this PAN")
        }
        let objects = Self.values(request.iccData)
        guard let arqc = objects[0x9F26], arqc.count == 8, let atcBytes = objects[0x9F36], atcBytes.count == 2,
            let aip = objects[0x82], aip.count == 2, let iad = objects[0x9F10], iad.count >= 7
        else {
            return Decision(responseCode: "05", authorizationCode: nil, iccData: [], reason: "field 55 lacks the ARQC data")
        }
        let atc = UInt16(atcBytes[0]) << 8 | UInt16(atcBytes[1])
        var input: [UInt8] = []
        for (tag, length) in Self.cryptogramTags {
            let value = objects[tag] ?? []
            input += value.count >= length ? Array(value.suffix(length)) : [UInt8](repeating: 0, count: length - value.count) + value
        }
        input += aip + atcBytes + Array(iad[3...6])
        let sessionKey: SecretBytes
        do {
            let psn = request.panSequenceNumber.map { UInt8(($0 / 10) << 4 | ($0 % 10)) }
            let masterKey = try EMV.iccMasterKeyOptionA(issuerMasterKey: issuer.masterKeyAC, pan: request.pan, panSequenceNumber: psn)
            sessionKey = try EMV.commonSessionKey(iccMasterKey: masterKey, atc: atc)
            guard try EMV.isValidApplicationCryptogram(arqc, sessionKey: sessionKey, data: input, padding: issuer.cryptogramPadding) else {
                return Decision(responseCode: "05", authorizationCode: nil, iccData: [], reason: "ARQC does not verify")
            }
        } catch {
            return Decision(responseCode: "96", authorizationCode: nil, iccData: [], reason: "issuer key error")
        }

        var code = "00"
        var reason = "approved"
        if let block = request.pinBlock {
            if !pinMatches(block: block, ksn: request.keySerialNumber, pan: request.pan) {
                code = "55"
                reason = "wrong online PIN"
            }
        }
        if code == "00" {
            if request.amount % 100 == 51 {
                (code, reason) = ("51", "insufficient funds (amount rule .51)")
            } else if request.amount % 100 == 5 {
                (code, reason) = ("05", "do not honour (amount rule .05)")
            } else if request.amount >= limit {
                (code, reason) = ("61", "over the issuer's limit")
            }
        }
        // ARC: '00' → "00"; declines carry their code as ARC too (ASCII, EMV Book 4 A6).
        let arc = Array(code.utf8)
        var response: [UInt8] = []
        // The issuer file's `arpc_method`: the virtual cards check method 1, so an issuer set to method 2 is how a
        // test gets "host approved, card declined" (the card's second GENERATE AC answers an AAC).
        switch issuer.arpcMethod {
        case .method1:
            if let arpc = try? EMV.arpcMethod1(sessionKey: sessionKey, arqc: arqc, authorisationResponseCode: arc) {
                response += TLVNode(tag: TLVTag(0x91), value: arpc + arc).encodedBytes
            }
        case .method2:
            let csu: [UInt8] = [0x00, 0x00, 0x00, 0x00]
            if let arpc = try? EMV.arpcMethod2(sessionKey: sessionKey, arqc: arqc, cardStatusUpdate: csu) {
                response += TLVNode(tag: TLVTag(0x91), value: arpc + csu).encodedBytes
            }
        }
        if code == "00", scriptedPANPrefixes.contains(where: { request.pan.hasPrefix($0) }) {
            response += scripts(issuer: issuer, request: request, arqc: arqc, atc: atcBytes)
        }
        let authorizationCode = code == "00" ? Self.authorizationCode(request.transactionReference) : nil
        return Decision(responseCode: code, authorizationCode: authorizationCode, iccData: response, reason: reason)
    }

    /// Deterministic six digits per transaction reference (the same request repeated gets the same code).
    static func authorizationCode(_ reference: String) -> String {
        var hash: UInt64 = 1_469_598_103_934_665_603
        for byte in reference.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let digits = String(hash % 1_000_000)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    func pinMatches(block: [UInt8], ksn: [UInt8]?, pan: String) -> Bool {
        guard let ksn, let serial = try? TDESDUKPT.KeySerialNumber(ksn),
            let initial = try? TDESDUKPT.initialKey(baseDerivationKey: pinBaseDerivationKey, keySerialNumber: serial),
            let transactionKey = try? TDESDUKPT.transactionKey(initialKey: initial, keySerialNumber: serial),
            let clear = try? TDESDUKPT.decryptPINBlock(block, transactionKey: transactionKey),
            let decoded = try? PINBlock.decode(clear, pan: pan), let expected = expectedPIN(pan)
        else { return false }
        return decoded.pin == SecretBytes(Array(expected.utf8))
    }

    /// One '72' script (after GENERATE AC 2): PUT DATA raising the upper consecutive offline limit to 10, MACed under
    /// the SMI session key (R = ARQC) over CLA INS P1 P2 Lc || ATC || ARQC || data (docs/virtual-cards.md).
    func scripts(issuer: TestIssuers.Issuer, request: Request, arqc: [UInt8], atc: [UInt8]) -> [UInt8] {
        do {
            let psn = request.panSequenceNumber.map { UInt8(($0 / 10) << 4 | ($0 % 10)) }
            let smiMaster = try EMV.iccMasterKeyOptionA(issuerMasterKey: issuer.masterKeySMI, pan: request.pan, panSequenceNumber: psn)
            let smi = try EMV.commonSessionKey(iccMasterKey: smiMaster, diversification: arqc)
            let data: [UInt8] = [0x0A]
            let header: [UInt8] = [0x04, 0xDA, 0x9F, 0x23, UInt8(data.count + 8)]
            let mac = try ISO9797MAC.algorithm3(header + atc + arqc + data, key: smi, padding: .method2)
            let command = header + data + mac
            let script = TLVNode(tag: TLVTag(0x72), children: [
                TLVNode(tag: TLVTag(0x9F18), value: [0x00, 0x00, 0x00, 0x01]),
                TLVNode(tag: TLVTag(0x86), value: command),
            ])
            return Array(script.encodedBytes)
        } catch {
            return []
        }
    }

    /// The primitive objects of field 55 by tag number (first occurrence), from any depth.
    static func values(_ bytes: [UInt8]) -> [UInt32: [UInt8]] {
        var out: [UInt32: [UInt8]] = [:]
        func walk(_ nodes: [TLVNode]) {
            for node in nodes {
                if node.isConstructed { walk(node.children) } else if out[node.tag.rawValue] == nil { out[node.tag.rawValue] = Array(node.value) }
            }
        }
        walk((try? TLVNode.sequence(tlvEncoded: bytes)) ?? [])
        return out
    }
}
