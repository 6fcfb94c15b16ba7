import EMVKernel
import TerminalApp
import TestKit
import Testing

/// Randomised bad input for the parsers of this layer: every mutation of a valid board profile and every random
/// line of headless input gives a value or a typed error, never a crash. A fixed seed keeps runs reproducible;
/// FUZZ_SEED overrides it.
@Suite struct ParserFuzzTests {
    static let seed = fuzzSeed(default: 0x5EED_2026)

    static let alphabet = Array("[]=\"'#,.\n 0x-_\\u{}abcXYZ019".utf8) + [0xFF, 0x00, 0xE4, 0xB8]

    /// `original` with 1 to 4 random byte changes, removals, insertions or a truncation.
    static func mutated(_ original: [UInt8], using rng: inout SplitMix) -> [UInt8] {
        var bytes = original
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: bytes[at] = alphabet.randomElement(using: &rng)!
            case 1: bytes.remove(at: at)
            case 2: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
            default: bytes = Array(bytes[..<at])  // truncated file
            }
        }
        return bytes
    }

    /// The parameter set payloads a host sends (terminal settings, the prepaid lost-card list), mutated: a value or a
    /// ParametersFileError naming a field, never a crash.
    @Test func mutatedParameterSetPayloads() {
        var rng = SplitMix(state: Self.seed)
        let terminal = Array("merchant-name = \"Demo Store\"\nlanguage = \"zh-CN\"\noffline-floor-limit = 5000\nallow-metered-downloads = false\n".utf8)
        let prepaid = Array("lost-cards = [\n  \"10000000000000000099\",\n  \"1000000000000000000A\",\n]\n".utf8)
        var refused = 0
        for round in 0..<4000 {
            do {
                if round.isMultiple(of: 2) {
                    _ = try TerminalSettingsParameters(parsing: Self.mutated(terminal, using: &rng))
                } else {
                    _ = try PrepaidParameters(parsing: Self.mutated(prepaid, using: &rng))
                }
            } catch let error as ParametersFileError {
                #expect(!error.field.isEmpty && !error.message.isEmpty)
                refused += 1
            } catch {
                Issue.record("not a ParametersFileError: \(error)")
            }
        }
        #expect(refused > 100 && refused < 4000, "\(refused) refused")
    }

    @Test func mutatedBoardProfiles() throws {
        let original = Array(try readTextFile(repositoryRoot() + "/board/rpi4/board.toml").utf8)
        var rng = SplitMix(state: Self.seed)
        var accepted = 0
        for _ in 0..<3000 {
            let text = String(decoding: Self.mutated(original, using: &rng), as: UTF8.self)
            do {
                _ = try BoardProfile.parse(text, file: "fuzz.toml")
                accepted += 1
            } catch {
                #expect(error.file == "fuzz.toml")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(accepted < 3000, "mutations must be caught now and then")
    }

    @Test func randomHeadlessLines() {
        var rng = SplitMix(state: Self.seed ^ 0xABCD)
        let words = ["INSERT", "TAP", "SCAN", "WAIT", "REMOVE", "ENTER", "00", "F5", "", " ", "\t", "#", "-1", "99999999999999999999", "visa", "中文", "\u{0}"]
        for _ in 0..<5000 {
            let line = (0..<Int.random(in: 0...4, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            do {
                _ = try HeadlessCommand.parse(line, line: 1)
            } catch {
                #expect(error.line == 1)
            }
        }
    }

    @Test func randomKeyboardBytes() {
        var rng = SplitMix(state: Self.seed ^ 0x1234)
        var decoder = SimulatorKeyDecoder()
        for _ in 0..<20_000 {
            let chunk = (0..<Int.random(in: 0...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = decoder.feed(chunk)
            if Bool.random(using: &rng) { _ = decoder.flush() }
        }
    }
}
