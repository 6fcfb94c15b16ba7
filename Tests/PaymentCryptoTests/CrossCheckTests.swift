#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PaymentCrypto
import TestKit
import Testing

/// Randomized cross-checks against implementations nobody here wrote: PyPI `psec` (PIN blocks 0/3/4, TR-31 B and D,
/// retail MAC, CBC-MAC) and `pyemv` (ARQC, ARPC 1 and 2, session keys, ICC master key option A, retail MAC).
///
/// Runs only when `CRYPTO_CROSSCHECK_PYTHON` names a Python with those packages installed, which
/// `Tests/scripts/crypto-crosscheck.sh` sets up (pinned versions) before running this suite; a plain `swift test`
/// skips it and needs no network. The test makes random cases with this module, sends them as tab-separated lines
/// to `Tests/scripts/crypto_crosscheck/peer.py`, and compares the peers' answers byte for byte, in both directions
/// where the peer also produces (psec's own PIN blocks and key blocks are decoded and unwrapped here).
@Suite struct CrossCheckTests {
    static var python: String? { getenv("CRYPTO_CROSSCHECK_PYTHON").map { String(cString: $0) } }

    static var casesPerFunction: Int {
        getenv("CRYPTO_CROSSCHECK_CASES").flatMap { Int(String(cString: $0)) } ?? 1000
    }

    /// A case: the line for the peer and the check of its answer (which returns a failure description or nil).
    struct Case {
        let function: String
        let line: [String]
        let check: ([String]) throws -> String?
    }

    /// Random values from the system DRBG.
    struct Draw {
        let random = SystemRandom()
        func bytes(_ n: Int) throws -> [UInt8] { try random.bytes(n) }
        func int(_ range: ClosedRange<Int>) throws -> Int {
            let v = try bytes(4).reduce(0) { $0 << 8 | Int($1) }
            return range.lowerBound + v % (range.upperBound - range.lowerBound + 1)
        }
        func digits(_ n: Int) throws -> String { String(try bytes(n).map { Character(String($0 % 10)) }) }
        func pan(_ range: ClosedRange<Int>) throws -> String { try digits(int(range)) }
    }

    @Test(.enabled(if: python != nil, "set CRYPTO_CROSSCHECK_PYTHON (Tests/scripts/crypto-crosscheck.sh does)"))
    func crossCheckAgainstPyemvAndPsec() throws {
        let python = try #require(Self.python)
        let n = Self.casesPerFunction
        let d = Draw()
        var cases: [Case] = []

        for _ in 0..<n {
            // ISO 9564 format 0: deterministic, compared byte for byte.
            let pin = try d.digits(d.int(4...12))
            let pan = try d.pan(13...19)
            let ours0 = try PINBlock.encode(format: .format0, pin: digits(pin), pan: pan, random: d.random)
            cases.append(Case(function: "pinblock-0", line: ["pin0", pin, pan]) { a in
                a[0] == hex(ours0) ? nil : "format 0 block differs"
            })
        }
        for _ in 0..<n {
            // Format 3: psec decodes ours; we decode psec's.
            let pin = try d.digits(d.int(4...12))
            let pan = try d.pan(13...19)
            let ours = try PINBlock.encode(format: .format3, pin: digits(pin), pan: pan, random: d.random)
            cases.append(Case(function: "pinblock-3", line: ["pin3", pin, pan, hex(ours)]) { a in
                guard a[0] == pin else { return "psec decodes our format 3 block to another PIN" }
                let theirs = try PINBlock.decode(secret(a[1]), pan: pan)
                return theirs.format == .format3 && text(theirs.pin) == pin ? nil : "psec's format 3 block decodes differently"
            })
        }
        for _ in 0..<n {
            // Format 4: psec deciphers ours; we decipher psec's, and re-encipher its PIN field to the same bytes.
            let pin = try d.digits(d.int(4...12))
            let pan = try d.pan(1...19)
            let key = try d.bytes([16, 24, 32][d.int(0...2)])
            let ours = try PINBlock.encipherFormat4(pin: digits(pin), pan: pan, key: SecretBytes(key), random: d.random)
            cases.append(Case(function: "pinblock-4", line: ["pin4", pin, pan, hex(key), hex(ours)]) { a in
                guard a[0] == pin else { return "psec deciphers our format 4 block to another PIN" }
                guard text(try PINBlock.decipherFormat4(bytes(a[1]), pan: pan, key: SecretBytes(key))) == pin else {
                    return "psec's format 4 block deciphers differently"
                }
                guard hex(try PINBlock.format4PANField(pan: pan)) == a[3] else { return "format 4 PAN field differs" }
                let pinField = secret(a[2])
                let again = try PINBlock.encipherFormat4(pin: digits(pin), pan: pan, key: SecretBytes(key),
                                                         random: FixedRandom(pinField.withUnsafeBytes { Array($0.suffix(8)) }))
                return hex(again) == a[1] ? nil : "format 4 encipherment differs from psec's for the same random bytes"
            })
        }
        for version in ["B", "D"] {
            for _ in 0..<n {
                // TR-31: psec unwraps ours; we unwrap psec's.
                let kbpk = try d.bytes(version == "B" ? [16, 24][d.int(0...1)] : [16, 24, 32][d.int(0...2)])
                let key = try d.bytes(version == "B" ? [8, 16, 24][d.int(0...2)] : [16, 24, 32][d.int(0...2)])
                let usage = ["P0", "K0", "B1", "M3", "D0"][try d.int(0...4)]
                let algorithm: Character = version == "B" ? "T" : "A"
                let header = TR31Header(version: version == "B" ? .b : .d, keyUsage: usage, algorithm: algorithm,
                                        modeOfUse: "B", exportability: "N")
                let ours = try TR31.wrap(key: SecretBytes(key), header: header, kbpk: SecretBytes(kbpk), random: d.random)
                let psecHeader = "\(version)0000\(usage)\(algorithm)B00N0000"
                cases.append(Case(function: "tr31-\(version)", line: ["tr31", hex(kbpk), ours, psecHeader, hex(key)]) { a in
                    guard a[0] == hex(key) else { return "psec unwraps our \(version) block to another key" }
                    let (h, k) = try TR31.unwrap(a[1], kbpk: SecretBytes(kbpk))
                    return hex(k) == hex(key) && h.keyUsage == usage ? nil : "psec's \(version) block unwraps differently"
                })
            }
        }
        for _ in 0..<n {
            // ISO 9797-1 MAC algorithm 3 (retail MAC), both padding methods, truncations.
            let key = try d.bytes(16)
            let data = try d.bytes(d.int(0...72))
            let padding = try d.int(1...2)
            let length = try d.int(4...8)
            let ours = try ISO9797MAC.algorithm3(data, key: SecretBytes(key), padding: padding == 1 ? .method1 : .method2, length: length)
            cases.append(Case(function: "retail-mac", line: ["mac3", hex(key), hex(data), String(padding), String(length)]) { a in
                a[0] == hex(ours) && a[1] == hex(ours) ? nil : "retail MAC differs (psec \(a[0] == hex(ours)), pyemv \(a[1] == hex(ours)))"
            })
        }
        for _ in 0..<n {
            // ISO 9797-1 MAC algorithm 1 with TDES.
            let key = try d.bytes([16, 24][d.int(0...1)])
            let data = try d.bytes(d.int(1...72))
            let padding = try d.int(1...2)
            let ours = try ISO9797MAC.algorithm1(data, key: SecretBytes(key), padding: padding == 1 ? .method1 : .method2)
            cases.append(Case(function: "cbc-mac", line: ["mac1", hex(key), hex(data), String(padding)]) { a in
                a[0] == hex(ours) ? nil : "CBC-MAC differs"
            })
        }
        for _ in 0..<n {
            // ARQC with the cryptogram version's padding.
            let sk = try d.bytes(16)
            let data = try d.bytes(d.int(20...64))
            let padding = try d.int(1...2)
            let ours = try EMV.applicationCryptogram(sessionKey: SecretBytes(sk), data: data, padding: padding == 1 ? .method1 : .method2)
            cases.append(Case(function: "arqc", line: ["arqc", hex(sk), hex(data), String(padding)]) { a in
                a[0] == hex(ours) ? nil : "ARQC differs"
            })
        }
        for _ in 0..<n {
            let sk = try d.bytes(16)
            let arqc = try d.bytes(8)
            let arc = try d.bytes(2)
            let ours = try EMV.arpcMethod1(sessionKey: SecretBytes(sk), arqc: arqc, authorisationResponseCode: arc)
            cases.append(Case(function: "arpc-1", line: ["arpc1", hex(sk), hex(arqc), hex(arc)]) { a in
                a[0] == hex(ours) ? nil : "ARPC method 1 differs"
            })
        }
        for _ in 0..<n {
            let sk = try d.bytes(16)
            let arqc = try d.bytes(8)
            let csu = try d.bytes(4)
            let prop = try d.bytes(d.int(0...8))
            let ours = try EMV.arpcMethod2(sessionKey: SecretBytes(sk), arqc: arqc, cardStatusUpdate: csu, proprietaryAuthenticationData: prop)
            cases.append(Case(function: "arpc-2", line: ["arpc2", hex(sk), hex(arqc), hex(csu), prop.isEmpty ? "-" : hex(prop)]) { a in
                a[0] == hex(ours) ? nil : "ARPC method 2 differs"
            })
        }
        for _ in 0..<n {
            // EMV common session key (R = ATC || 00…) and the Mastercard SKD (R = ATC || 0000 || UN).
            let mk = try d.bytes(16)
            let atc = UInt16(try d.int(0...0xFFFF))
            let common = try EMV.commonSessionKey(iccMasterKey: SecretBytes(mk), atc: atc)
            cases.append(Case(function: "session-key-common", line: ["sk", hex(mk), hex([UInt8(atc >> 8), UInt8(atc & 0xFF), 0, 0, 0, 0, 0, 0])]) { a in
                a[0] == hex(common) ? nil : "common session key differs"
            })
            let un = try d.bytes(4)
            let mastercard = try EMV.mastercardSessionKey(iccMasterKey: SecretBytes(mk), atc: atc, unpredictableNumber: un)
            cases.append(Case(function: "session-key-mastercard", line: ["sk", hex(mk), hex([UInt8(atc >> 8), UInt8(atc & 0xFF), 0, 0] + un)]) { a in
                a[0] == hex(mastercard) ? nil : "Mastercard session key differs"
            })
        }
        for _ in 0..<n {
            let imk = try d.bytes(16)
            let pan = try d.pan(12...19)
            let psn = UInt8(try d.int(0...9) << 4 | d.int(0...9))
            let ours = try EMV.iccMasterKeyOptionA(issuerMasterKey: SecretBytes(imk), pan: pan, panSequenceNumber: psn)
            cases.append(Case(function: "icc-mk-option-a", line: ["mka", hex(imk), pan, hex([psn])]) { a in
                a[0] == hex(ours) ? nil : "ICC master key differs"
            })
        }

        // One round trip to the peers.
        var input = ""
        for (i, c) in cases.enumerated() {
            input += ([c.line[0], String(i)] + c.line.dropFirst()).joined(separator: "\t") + "\n"
        }
        let script = repositoryRoot() + "/Tests/scripts/crypto_crosscheck/peer.py"
        let result = try runProcess([python, script], stdin: Array(input.utf8), timeout: .seconds(300))
        try #require(result.status == 0 && !result.timedOut, "peer.py failed: \(result.stderr.suffix(2000))")

        var passed: [String: Int] = [:]
        var failed: [String: Int] = [:]
        var answered = Set<Int>()
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let id = Int(fields[0]), id < cases.count else { continue }
            answered.insert(id)
            let c = cases[id]
            let answer = Array(fields.dropFirst())
            var problem: String?
            if answer.first == "ERROR" {
                problem = "the peer rejected the case (\(answer.dropFirst().joined()))"
            } else {
                do { problem = try c.check(answer) } catch { problem = "our side failed: \(error)" }
            }
            if let problem {
                failed[c.function, default: 0] += 1
                // Test keys and data are random and not secret; the description names only the function.
                Issue.record("\(c.function) case \(id): \(problem)")
            } else {
                passed[c.function, default: 0] += 1
            }
        }
        for id in 0..<cases.count where !answered.contains(id) { failed[cases[id].function, default: 0] += 1 }

        let total = passed.values.reduce(0, +)
        let bad = failed.values.reduce(0, +)
        var summary = ""
        for function in Set(cases.map(\.function)).sorted() {
            summary += "  \(function): \(passed[function] ?? 0) passed, \(failed[function] ?? 0) failed\n"
        }
        summary += "crypto cross-check: \(total) passed, \(bad) failed\n"
        print(summary, terminator: "")
        if let path = getenv("CRYPTO_CROSSCHECK_SUMMARY").map({ String(cString: $0) }) {
            try writeTextFile(path, summary)
        }
        #expect(bad == 0)
        #expect(total == cases.count)
    }
}
