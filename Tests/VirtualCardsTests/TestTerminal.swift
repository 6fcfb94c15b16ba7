import Codecs
import PaymentCrypto
import Synchronization
import Testing
import VirtualCards

/// A deterministic random source for the cards (a counter: GET CHALLENGE and dynamic numbers are reproducible).
final class CountingRandom: RandomSource {
    private let counter = Mutex<UInt8>(0)

    func bytes(_ count: Int) throws -> [UInt8] {
        counter.withLock { value in
            (0..<count).map { _ in
                value &+= 1
                return value
            }
        }
    }
}

/// The terminal half of a test: sends APDUs to a virtual card and reads its answers. Deliberately small and
/// written from EMV Books 2 and 3, independently of the card code.
struct TestTerminal {
    let card: VirtualCard
    let connection: VirtualCardConnection
    /// Tag → value of everything read from the records (first occurrence).
    var cardData: [UInt32: [UInt8]] = [:]
    /// The records signed for ODA, as Book 2 5.4 concatenates them.
    var staticData: [UInt8] = []
    var pdolData: [UInt8] = []

    init(_ name: String) throws {
        let profile = try #require(VirtualCardProfile.named(name))
        card = try VirtualCard(profile: profile, random: CountingRandom())
        connection = VirtualCardConnection(card: card)
    }

    /// Sends a command; returns data and status word.
    func send(_ bytes: [UInt8]) throws -> (data: [UInt8], sw: UInt16) {
        let response = try connection.transmit(bytes)
        #expect(response.count >= 2)
        let sw = UInt16(response[response.count - 2]) << 8 | UInt16(response[response.count - 1])
        return (Array(response.dropLast(2)), sw)
    }

    func send(_ command: CommandAPDU) throws -> (data: [UInt8], sw: UInt16) { try send(command.encoded) }

    /// Terminal data for DOLs.
    static let terminalValues: [UInt32: [UInt8]] = [
        0x9F02: [0, 0, 0, 0, 0x12, 0x34], 0x9F03: [0, 0, 0, 0, 0, 0], 0x9F1A: [0x01, 0x56], 0x95: [0, 0, 0, 0, 0],
        0x5F2A: [0x01, 0x56], 0x9A: [0x26, 0x11, 0x27], 0x9C: [0x00], 0x9F37: [0xDE, 0xAD, 0xBE, 0xEF],
        0x9F35: [0x22], 0x9F34: [0x1F, 0x03, 0x02], 0x8A: Array("00".utf8),
    ]

    static func dolData(_ dol: [UInt8], overrides: [UInt32: [UInt8]] = [:]) throws -> [UInt8] {
        try DataObjectList(dolEncoded: dol).relatedData { tag in
            overrides[tag.rawValue] ?? terminalValues[tag.rawValue]
        }
    }

    /// SELECT the AID and GET PROCESSING OPTIONS; returns the AIP and AFL.
    mutating func start(aid: [UInt8], pdolOverrides: [UInt32: [UInt8]] = [:]) throws -> (aip: [UInt8], afl: [UInt8]) {
        let fci = try send(.select(name: aid))
        #expect(fci.sw == 0x9000)
        let template = try TLVNode(tlvEncoded: fci.data)
        var pdol: [UInt8] = []
        if let node = template.firstDescendant(TLVTag(0x9F38)) { pdol = Array(node.value) }
        pdolData = try Self.dolData(pdol, overrides: pdolOverrides)
        let gpo = try send(.getProcessingOptions(pdolRelatedData: pdolData))
        #expect(gpo.sw == 0x9000)
        let node = try TLVNode(tlvEncoded: gpo.data)
        if node.tag == TLVTag(0x80) {
            return (Array(node.value.prefix(2)), Array(node.value.dropFirst(2)))
        }
        let aip = try #require(node.child(TLVTag(0x82)))
        let afl = try #require(node.child(TLVTag(0x94)))
        return (Array(aip.value), Array(afl.value))
    }

    /// READ RECORD of every record in the AFL; keeps the data and the static data to authenticate.
    mutating func readRecords(afl: [UInt8]) throws {
        #expect(afl.count % 4 == 0)
        for entry in stride(from: 0, to: afl.count, by: 4) {
            let sfi = afl[entry] >> 3
            for record in afl[entry + 1]...afl[entry + 2] {
                let response = try send(.readRecord(record, shortFileIdentifier: sfi))
                #expect(response.sw == 0x9000)
                let template = try TLVNode(tlvEncoded: response.data)
                #expect(template.tag == TLVTag(0x70))
                if Int(record) - Int(afl[entry + 1]) < Int(afl[entry + 3]) { staticData += template.value }
                for child in template.children where cardData[child.tag.rawValue] == nil {
                    cardData[child.tag.rawValue] = Array(child.value)
                }
            }
        }
    }

    /// GENERATE AC: the parsed answer.
    func generateAC(_ p1: UInt8, cdol: [UInt8], overrides: [UInt32: [UInt8]] = [:]) throws -> GenerateACAnswer {
        let data = try Self.dolData(cdol, overrides: overrides)
        let response = try send(.generateApplicationCryptogram(referenceControl: p1, cdolRelatedData: data))
        #expect(response.sw == 0x9000)
        return try GenerateACAnswer(response.data, cdolData: data)
    }
}

/// A GENERATE AC answer, format 1 or 2.
struct GenerateACAnswer {
    var cid: UInt8
    var atc: [UInt8]
    var cryptogram: [UInt8]?
    var iad: [UInt8]
    var sdad: [UInt8]?
    var cdolData: [UInt8]
    /// The response objects but the SDAD, in order (for the CDA transaction data hash).
    var objectsButSDAD: [UInt8] = []

    init(_ bytes: [UInt8], cdolData: [UInt8]) throws {
        self.cdolData = cdolData
        let node = try TLVNode(tlvEncoded: bytes)
        if node.tag == TLVTag(0x80) {
            let v = Array(node.value)
            cid = v[0]
            atc = Array(v[1..<3])
            cryptogram = Array(v[3..<11])
            iad = Array(v[11...])
            return
        }
        #expect(node.tag == TLVTag(0x77))
        cid = try #require(node.child(TLVTag(0x9F27))?.value.first)
        atc = Array(try #require(node.child(TLVTag(0x9F36))).value)
        cryptogram = node.child(TLVTag(0x9F26)).map { Array($0.value) }
        iad = Array(try #require(node.child(TLVTag(0x9F10))).value)
        sdad = node.child(TLVTag(0x9F4B)).map { Array($0.value) }
        for child in node.children where child.tag != TLVTag(0x9F4B) { objectsButSDAD += child.encodedBytes }
    }

    var atcValue: UInt16 { UInt16(atc[0]) << 8 | UInt16(atc[1]) }
}

/// Independent recovery of EMV certificates and signatures (Book 2 5.3, 6.3, 6.5.2) with plain RSA public ops.
enum Recovery {
    struct Key {
        var modulus: [UInt8]
        var exponent: [UInt8]
        var certificateExpiry: [UInt8] = []
        var serial: [UInt8] = []
    }

    /// Recovers `data` with the public key and checks header '6A', trailer 'BC' and the format byte.
    static func open(_ data: [UInt8], _ key: Key, format: UInt8) throws -> [UInt8] {
        #expect(data.count == key.modulus.count)
        let recovered = try RSA.PublicKey(modulus: key.modulus, exponent: key.exponent).rawPublicOperation(data)
        #expect(recovered.first == 0x6A)
        #expect(recovered.last == 0xBC)
        #expect(recovered[1] == format)
        return recovered
    }

    /// Issuer (format 02) or ICC (format 04) public key certificate: the recovered key, after the hash check.
    static func certifiedKey(
        _ certificate: [UInt8], signer: Key, format: UInt8, remainder: [UInt8], exponent: [UInt8],
        extraHashData: [UInt8] = []
    ) throws -> (key: Key, hashMatches: Bool) {
        let r = try open(certificate, signer, format: format)
        let idLength = format == 0x02 ? 4 : 10
        var i = 2 + idLength
        let expiry = Array(r[i..<(i + 2)])
        i += 2
        let serial = Array(r[i..<(i + 3)])
        i += 3
        #expect(r[i] == 0x01 && r[i + 1] == 0x01)
        let keyLength = Int(r[i + 2])
        #expect(Int(r[i + 3]) == exponent.count)
        i += 4
        let room = signer.modulus.count - (format == 0x02 ? 36 : 42)
        let leftmost = Array(r[i..<(i + room)])
        let hash = Array(r[(r.count - 21)..<(r.count - 1)])
        let digest = try Insecure.SHA1.hash(Array(r[1..<(i + room)]) + remainder + exponent + extraHashData)
        let modulus = keyLength <= room ? Array(leftmost.prefix(keyLength)) : leftmost + remainder
        return (Key(modulus: modulus, exponent: exponent, certificateExpiry: expiry, serial: serial), digest == hash)
    }

    /// The CA key of a TestPKI entry.
    static func caKey(_ ca: TestPKI.TestOnlyCertificationAuthorityKey) -> Key {
        Key(modulus: ca.modulus, exponent: ca.exponent)
    }

    /// Signed dynamic application data (table 17): the ICC dynamic data, after the hash check over
    /// `terminalData`.
    static func dynamicData(_ sdad: [UInt8], icc: Key, terminalData: [UInt8]) throws -> (data: [UInt8], hashMatches: Bool) {
        let r = try open(sdad, icc, format: 0x05)
        #expect(r[2] == 0x01)
        let length = Int(r[3])
        let data = Array(r[4..<(4 + length)])
        let hash = Array(r[(r.count - 21)..<(r.count - 1)])
        let digest = try Insecure.SHA1.hash(Array(r[1..<(r.count - 21)]) + terminalData)
        return (data, digest == hash)
    }
}

/// The AC input of the virtual cards' documented layout, built by the test from the CDOL data it sent.
func cryptogramInput(cdol1: [UInt8], cdol1Data: [UInt8], cdol2: [UInt8]? = nil, cdol2Data: [UInt8] = [], aip: [UInt8],
                     atc: [UInt8], iad: [UInt8]) throws -> [UInt8] {
    var values: [UInt32: [UInt8]] = [:]
    func absorb(_ dol: [UInt8], _ data: [UInt8]) throws {
        var offset = 0
        for entry in try DataObjectList(dolEncoded: dol).entries {
            values[entry.tag.rawValue] = Array(data[offset..<(offset + entry.length)])
            offset += entry.length
        }
    }
    try absorb(cdol1, cdol1Data)
    if let cdol2 { try absorb(cdol2, cdol2Data) }
    var input: [UInt8] = []
    for (tag, length) in [(0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2), (0x9A, 3), (0x9C, 1), (0x9F37, 4)] {
        input += values[UInt32(tag)] ?? [UInt8](repeating: 0, count: length)
    }
    return input + aip + atc + Array(iad[3...6])
}

/// The ICC AC master key and session key of a PAN, from the TEST ONLY issuer file (not the card's code).
func sessionKeyAC(pan: String, psn: UInt8, atc: UInt16) throws -> (SecretBytes, EMV.CryptogramPadding) {
    let issuer = try #require(TestIssuers.builtIn.issuer(forPAN: pan))
    let mk = try EMV.iccMasterKeyOptionA(issuerMasterKey: issuer.masterKeyAC, pan: pan, panSequenceNumber: psn)
    return (try EMV.commonSessionKey(iccMasterKey: mk, atc: atc), issuer.cryptogramPadding)
}

/// The PAN digits of tag '5A'.
func panDigits(_ value: [UInt8]) -> String {
    String(Hex.encode(value).prefix { $0 != "F" && $0 != "f" })
}
