#if canImport(Glibc)
    import Glibc
#endif
import Codecs
import PaymentCrypto
import TestKit
import Testing
import VirtualCards

/// The virtual cards against pyemv (run by Tests/scripts/vcard-crosscheck.sh, which sets VCARD_CROSSCHECK_PYTHON).
///
/// Round 1: every online-capable profile runs transactions with random amounts, dates and unpredictable numbers up
/// to an ARQC; pyemv (from board/sim/test-issuers.toml, not from the card's code) checks each ARQC and answers the
/// ARPC, the issuer script MAC and the enciphered new PIN. Round 2: the cards accept pyemv's ARPC (EXTERNAL
/// AUTHENTICATE or CDOL2 '91'), MACs and PIN data, and answer TC; pyemv checks each TC.
@Suite(.enabled(if: CrossCheckEnvironment.python != nil, "set VCARD_CROSSCHECK_PYTHON (Tests/scripts/vcard-crosscheck.sh)"))
struct PyEMVCrossCheckTests {

    struct Pending {
        var terminal: TestTerminal
        var aid: [UInt8]
        var pan: String
        var psn: String
        var arqc: [UInt8]
        var atc: [UInt8]
        var aip: [UInt8]
        var cdol1Data: [UInt8]
        var script: Bool
    }

    func peer(_ lines: [String]) throws -> [String] {
        let python = try #require(CrossCheckEnvironment.python)
        let directory = try makeTemporaryDirectory("vcard-crosscheck")
        defer { removeTree(directory) }
        try writeTextFile(directory + "/cases", lines.joined(separator: "\n") + "\n")
        let result = try runProcess(
            [python, repositoryRoot() + "/Tests/scripts/vcard_crosscheck/peer.py",
             repositoryRoot() + "/board/sim/test-issuers.toml", directory + "/cases"], timeout: .seconds(300))
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func cryptogramsARPCsAndScriptMACsAgreeWithPyEMV() throws {
        var rng = SplitMix(state: fuzzSeed(default: 0x5EED_CA4D))
        let profiles: [(String, [UInt8])] = [
            ("visa-credit", [0xA0, 0, 0, 0, 0x03, 0x10, 0x10]), ("mastercard-debit", [0xA0, 0, 0, 0, 0x04, 0x10, 0x10]),
            ("unionpay-debit", [0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01]), ("online-only", [0xA0, 0, 0, 0, 0x03, 0x10, 0x10]),
            ("issuer-script", [0xA0, 0, 0, 0, 0x03, 0x10, 0x10]), ("multi-app", [0xA0, 0, 0, 0, 0x03, 0x20, 0x10]),
        ]
        var pending: [Pending] = []
        var lines: [String] = []
        for (name, aid) in profiles {
            for _ in 0..<CrossCheckEnvironment.cases {
                var t = try TestTerminal(name)
                let amount = (0..<6).map { _ in UInt8.random(in: 0...0x99, using: &rng) & 0x0F | 0x10 }
                let un = (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let tvr = [UInt8.random(in: 0...255, using: &rng), 0, 0, 0, 0]
                let overrides: [UInt32: [UInt8]] = [0x9F02: amount, 0x9F37: un, 0x95: tvr, 0x9F1A: [0x01, 0x56]]
                let (aip, afl) = try t.start(aid: aid, pdolOverrides: overrides)
                try t.readRecords(afl: afl)
                let cdol1 = try #require(t.cardData[0x8C])
                let answer = try t.generateAC(0x80, cdol: cdol1, overrides: overrides)
                let arqc = try #require(answer.cryptogram)
                let pan = panDigits(try #require(t.cardData[0x5A]))
                let psn = Hex.encode(t.cardData[0x5F34] ?? [0])
                let padding = TestIssuers.builtIn.issuer(forPAN: pan)?.cryptogramPadding == .method1 ? "1" : "2"
                let input = try cryptogramInput(cdol1: cdol1, cdol1Data: answer.cdolData, aip: aip, atc: answer.atc, iad: answer.iad)
                lines.append("ac \(pan) \(psn) \(Hex.encode(answer.atc)) \(padding) \(Hex.encode(input)) \(Hex.encode(arqc))")
                lines.append("arpc \(pan) \(psn) \(Hex.encode(answer.atc)) \(Hex.encode(arqc)) 3030")
                let script = name == "issuer-script"
                if script {
                    let header: [UInt8] = [0x04, 0xDA, 0x9F, 0x14, 0x09]
                    lines.append("mac \(pan) \(psn) \(Hex.encode(arqc)) \(Hex.encode(header + answer.atc + arqc + [0x05]))")
                    lines.append("smc \(pan) \(psn) \(Hex.encode(arqc)) 24\(String(format4: pending.count))FFFFFFFFFF")
                }
                pending.append(Pending(
                    terminal: t, aid: aid, pan: pan, psn: psn, arqc: arqc, atc: answer.atc, aip: aip,
                    cdol1Data: answer.cdolData, script: script))
            }
        }
        var answers = try peer(lines)[...]
        var passed = 0
        var failed = 0
        func check(_ ok: Bool, _ what: String) {
            if ok { passed += 1 } else { failed += 1 }
            #expect(ok, "\(what)")
        }
        var tcLines: [String] = []
        for item in pending {
            guard answers.count >= (item.script ? 4 : 2) else {
                check(false, "pyemv answered too few lines")
                break
            }
            let acAnswer = answers.removeFirst()
            check(acAnswer == "ok", "ARQC of \(item.pan.prefix(8)): pyemv says \(acAnswer)")
            let arpc = Hex.decode(answers.removeFirst()) ?? []
            let t = item.terminal
            if item.script {
                let mac = Hex.decode(answers.removeFirst()) ?? []
                let sw = try t.send([0x04, 0xDA, 0x9F, 0x14, 0x09, 0x05] + mac).sw
                check(sw == 0x9000 && t.card.consecutiveOfflineLimits().lower == 5, "script MAC from pyemv: \(String(sw, radix: 16))")
                let pinData = Hex.decode(answers.removeFirst()) ?? []
                let pinMAC = try ISO9797MAC.algorithm3(
                    [0x84, 0x24, 0x00, 0x01, 0x10] + item.atc + item.arqc + pinData,
                    key: try smiSessionKey(pan: item.pan, arqc: item.arqc), padding: .method2)
                check(try t.send([0x84, 0x24, 0x00, 0x01, 0x10] + pinData + pinMAC).sw == 0x9000, "PIN change from pyemv data")
            }
            let cdol2 = try #require(t.cardData[0x8D])
            let arc = Array("00".utf8)
            var overrides: [UInt32: [UInt8]] = [:]
            if t.card.profile.applications[0].supportsIssuerAuthentication {
                check(try t.send(.externalAuthenticate(issuerAuthenticationData: arpc + arc)).sw == 0x9000, "ARPC from pyemv")
            } else {
                overrides[0x91] = arpc + arc
            }
            let tc = try t.generateAC(0x40, cdol: cdol2, overrides: overrides)
            check(tc.cid == 0x40, "TC after pyemv's ARPC")
            let input = try cryptogramInput(
                cdol1: try #require(t.cardData[0x8C]), cdol1Data: item.cdol1Data, cdol2: cdol2, cdol2Data: tc.cdolData,
                aip: item.aip, atc: tc.atc, iad: tc.iad)
            let padding = TestIssuers.builtIn.issuer(forPAN: item.pan)?.cryptogramPadding == .method1 ? "1" : "2"
            if let cryptogram = tc.cryptogram {
                tcLines.append("ac \(item.pan) \(item.psn) \(Hex.encode(tc.atc)) \(padding) \(Hex.encode(input)) \(Hex.encode(cryptogram))")
            }
        }
        for answer in try peer(tcLines) { check(answer == "ok", "TC: pyemv says \(answer)") }
        let line = "vcard cross-check: \(passed) passed, \(failed) failed\n"
        if let path = CrossCheckEnvironment.summaryPath { try writeTextFile(path, line) }
        print(line, terminator: "")
    }

    func smiSessionKey(pan: String, arqc: [UInt8]) throws -> SecretBytes {
        let issuer = try #require(TestIssuers.builtIn.issuer(forPAN: pan))
        let mk = try EMV.iccMasterKeyOptionA(issuerMasterKey: issuer.masterKeySMI, pan: pan, panSequenceNumber: 1)
        return try EMV.commonSessionKey(iccMasterKey: mk, diversification: arqc)
    }
}

/// Where the cross-check's peer and summary are (set by Tests/scripts/vcard-crosscheck.sh).
enum CrossCheckEnvironment {
    static let python: String? = getenv("VCARD_CROSSCHECK_PYTHON").map { String(cString: $0) }
    static let summaryPath: String? = getenv("VCARD_CROSSCHECK_SUMMARY").map { String(cString: $0) }
    static let cases: Int = getenv("VCARD_CROSSCHECK_CASES").flatMap { Int(String(cString: $0)) } ?? 40
}

extension String {
    /// Four PIN digits from a number (for varied new PINs).
    init(format4 n: Int) {
        let digits = String(1000 + n % 9000)
        self = digits
    }
}
