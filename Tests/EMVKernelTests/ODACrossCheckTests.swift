#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
import EMVKernel
import PaymentCrypto
import TestKit
import Testing

/// Cross-check against an implementation nobody here wrote: vectors made by Tests/scripts/oda_crosscheck/oda_peer.py
/// (keys from the PyPI `cryptography` package, certificates and signed data built in Python and signed with raw RSA
/// in Python). The committed file Tests/scripts/oda_crosscheck/oda-vectors.txt always runs; the script
/// Tests/scripts/oda-crosscheck.sh also makes a fresh file with new keys and points `ODA_VECTORS` at it.
@Suite struct ODACrossCheckTests {
    static var path: String {
        getenv("ODA_VECTORS").map { String(cString: $0) } ?? repositoryRoot() + "/Tests/scripts/oda_crosscheck/oda-vectors.txt"
    }

    struct Record {
        var kind: String
        var fields: [String: String]
        var line: Int
        func hexField(_ key: String) -> [UInt8] {
            guard let text = fields[key], text != "-" else { return [] }
            return hex(text)
        }
        var name: String { "\(kind) \(fields["name"] ?? "") (line \(line))" }
    }

    static func records() throws -> [Record] {
        var out: [Record] = []
        for (number, line) in try readTextFile(path).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = line.split(separator: " ")
            var fields: [String: String] = [:]
            for pair in parts.dropFirst() {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
            }
            out.append(Record(kind: String(parts[0]), fields: fields, line: number + 1))
        }
        return out
    }

    /// "ok", the failure reason's case name, or "any" (some failure).
    func check<T>(_ result: Result<T, ODAFailure>, _ record: Record) -> T? {
        let expected = record.fields["expect"] ?? "ok"
        switch result {
        case .success(let value):
            #expect(expected == "ok", "\(record.name): verified, expected \(expected)")
            return value
        case .failure(let failure):
            if expected != "any" { #expect("\(failure.reason)" == expected, "\(record.name): \(failure.reason)") }
            #expect(expected != "ok", "\(record.name): \(failure.reason), expected ok")
            return nil
        }
    }

    @Test func ourImplementationAgreesWithThePythonVectors() throws {
        let records = try Self.records()
        #expect(records.count >= 20)
        var caKey: CAPublicKey?
        var issuerKey: RecoveredPublicKey?
        var iccKey: RecoveredPublicKey?
        for r in records {
            let today = EMVDate(yymmdd: r.hexField("today"))
            switch r.kind {
            case "ca":
                caKey = try CAPublicKey(
                    rid: r.hexField("rid"), index: r.hexField("index")[0], modulus: r.hexField("modulus"),
                    exponent: r.hexField("exponent"), expiry: EMVDate(year: 2049, month: 12, day: 31)!,
                    checksum: r.hexField("checksum"))
            case "issuer":
                let ca = try #require(caKey, "\(r.name): no ca record before")
                let serial = r.hexField("revoked")
                let revocations = CertificateRevocationList(
                    serial.isEmpty ? [] : [.init(rid: ca.rid, caIndex: ca.index, serialNumber: serial)])
                let result = OfflineDataAuthentication.recoverIssuerPublicKey(
                    certificate: r.hexField("cert"), remainder: r.hexField("remainder"), exponent: r.hexField("exponent"),
                    caKey: ca, pan: r.hexField("pan"), today: try #require(today), revocations: revocations)
                if let key = check(result, r) {
                    #expect(key.modulus == r.hexField("modulus"), "\(r.name)")
                    issuerKey = key
                }
            case "icc":
                let result = OfflineDataAuthentication.recoverICCPublicKey(
                    certificate: r.hexField("cert"), remainder: r.hexField("remainder"), exponent: r.hexField("exponent"),
                    issuerKey: try #require(issuerKey), staticData: r.hexField("static"), pan: r.hexField("pan"),
                    today: try #require(today))
                if let key = check(result, r) {
                    #expect(key.modulus == r.hexField("modulus"), "\(r.name)")
                    iccKey = key
                }
            case "sda":
                let result = OfflineDataAuthentication.verifySignedStaticApplicationData(
                    r.hexField("ssad"), issuerKey: try #require(issuerKey), staticData: r.hexField("static"))
                if let dac = check(result, r) { #expect(dac == r.hexField("dac"), "\(r.name)") }
            case "dda":
                let result = OfflineDataAuthentication.verifySignedDynamicApplicationData(
                    r.hexField("sdad"), iccKey: try #require(iccKey), terminalDynamicData: r.hexField("ddol"))
                if let number = check(result, r) { #expect(number == r.hexField("number"), "\(r.name)") }
            case "cda":
                let result = OfflineDataAuthentication.verifyCombinedDynamicSignature(
                    r.hexField("sdad"), iccKey: try #require(iccKey), unpredictableNumber: r.hexField("un"),
                    cryptogramInformationData: r.hexField("cid")[0], transactionDataHashInput: r.hexField("tx"))
                if let contents = check(result, r) {
                    #expect(contents.iccDynamicNumber == r.hexField("number") && contents.applicationCryptogram == r.hexField("ac"), "\(r.name)")
                }
            case "pin":
                let digits = Array(try #require(r.fields["digits"]).utf8).map { $0 - UInt8(ascii: "0") }
                let block = try OfflinePIN.plaintextPINBlock(digits: digits[...])
                #expect(block.withUnsafeBytes { Array($0) } == r.hexField("block"), "\(r.name)")
                let enciphered = try OfflineDataAuthentication.encipherPIN(
                    pinBlock: block, iccUnpredictableNumber: r.hexField("challenge"), key: try #require(iccKey),
                    random: FixedRandom(byte: r.hexField("pad")[0]))
                #expect(enciphered == r.hexField("enciphered"), "\(r.name)")
            default:
                Issue.record("\(r.name): unknown record kind")
            }
        }
        #expect(caKey != nil && issuerKey != nil && iccKey != nil)
    }
}
