#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Codecs
import TestKit
import Testing

/// Randomised input for the BER-TLV, DOL and APDU parsers, so CI exercises them without libFuzzer (the libFuzzer
/// driver is Tests/Fuzz/run-fuzz.sh). A fixed seed keeps runs reproducible; FUZZ_SEED varies it. Properties:
/// - no input crashes; a rejection is always an ``EMVCodecError``;
/// - strict TLV: parsed ⇒ serializes back to the same bytes; EMV rules: parsed ⇒ its canonical form parses
///   strictly to the same tree;
/// - DOLs and command/response APDUs: parsed ⇒ encode back to the same bytes;
/// - an exchange over a card answering garbage ends within its exchange limit.
@Suite struct TLVFuzzTests {
    static let seed = fuzzSeed(default: 0x7E57_2026)

    /// Valid encodings to mutate: the published vectors and a few edge shapes.
    static let corpus: [[UInt8]] =
        TLVTests.canonical + [
            Vectors.visaRecordPadded, Vectors.visaRecordMalformed, DOLTests.cdol1,
            bytes("00A404000E315041592E5359532E444446303100"),
            bytes("6F1A840E315041592E5359532E4444463031A5088801015F2D02656E"),
            bytes("5A81051122334455"), bytes("00FF5A0111FF00"),
        ]

    /// One input: random bytes, or a corpus entry mutated one to four times.
    static func input(_ rng: inout SplitMix) -> [UInt8] {
        if Int.random(in: 0..<8, using: &rng) == 0 {
            return (0..<Int.random(in: 0...48, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        var bytes = corpus.randomElement(using: &rng)!  // the corpus is a non-empty literal
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
            case 1 where !bytes.isEmpty:
                bytes[at] = [0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x85, 0xFF, 0x1F].randomElement(using: &rng)!
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
            case 3 where !bytes.isEmpty: bytes.remove(at: at)
            case 4: bytes = Array(bytes.prefix(at))
            case 5: bytes += corpus.randomElement(using: &rng)!
            default:
                if !bytes.isEmpty { bytes[at] = UInt8.random(in: 0...255, using: &rng) }
            }
        }
        return bytes
    }

    /// Runs `body`, which may throw only ``EMVCodecError``.
    static func expectCodecErrorOnly(_ input: [UInt8], _ body: () throws -> Void) {
        do {
            try body()
        } catch is EMVCodecError {
        } catch {
            Issue.record("non-codec error \(error) for \(Hex.encode(input))")
        }
    }

    @Test func randomAndMutatedTLV() {
        var rng = SplitMix(state: Self.seed)
        var accepted = (strict: 0, emv: 0)
        for round in 0..<100_000 {
            let input = Self.input(&rng)
            Self.expectCodecErrorOnly(input) {
                let nodes = try TLVNode.sequence(tlvEncoded: input, rules: .strict)
                accepted.strict += 1
                #expect(TLVNode.serialize(nodes) == input, "strict round trip of \(Hex.encode(input))")
                #expect(nodes.flatMap { Array($0.encodedBytes) } == input)
            }
            Self.expectCodecErrorOnly(input) {
                let nodes = try TLVNode.sequence(tlvEncoded: input, rules: .emv)
                accepted.emv += 1
                let canonical = TLVNode.serialize(nodes)
                let again = try TLVNode.sequence(tlvEncoded: canonical, rules: .strict)
                #expect(again == nodes, "canonical form of \(Hex.encode(input))")
                #expect(TLVNode.serialize(again) == canonical)
            }
            Self.expectCodecErrorOnly(input) {
                if let framed = try TLVNode.frameLength(in: input[...]) {
                    #expect(framed > 0 && framed <= input.count)
                }
            }
            if round % 16 == 0 { _ = EMVDataDictionary.render(tlvEncoded: input) }
        }
        // The mutations keep a fair share parseable, so the properties above were really exercised.
        #expect(accepted.strict > 10_000 && accepted.emv > accepted.strict, "\(accepted)")
    }

    @Test func randomAndMutatedDOLsAndAPDUs() {
        var rng = SplitMix(state: Self.seed ^ 0xA9D0)
        for _ in 0..<30_000 {
            let input = Self.input(&rng)
            Self.expectCodecErrorOnly(input) {
                let dol = try DataObjectList(dolEncoded: input)
                #expect(dol.encoded == input)
                #expect(dol.relatedData { _ in [0x12, 0x34] }.count == dol.relatedDataLength)
            }
            Self.expectCodecErrorOnly(input) {
                let command = try CommandAPDU(apduEncoded: input)
                #expect(command.encoded == input)
            }
            Self.expectCodecErrorOnly(input) {
                let response = try ResponseAPDU(apduEncoded: input)
                #expect(response.encoded == input)
            }
        }
    }

    @Test func exchangesWithACardAnsweringGarbage() throws {
        var rng = SplitMix(state: Self.seed ^ 0xE8C4)
        let procedureBytes: [[UInt8]] = [
            [0x61, 0x00], [0x61, 0x10], [0x6C, 0x05], [0x6C, 0x00], [0x62, 0x83], [0x90, 0x00], [0x91, 0x00],
        ]
        for _ in 0..<5_000 {
            let command = try CommandAPDU(
                cla: 0x00, ins: 0xA4, p1: 0x04, p2: 0x00,
                data: Bool.random(using: &rng) ? [0xA0, 0x00, 0x00, 0x00, 0x04] : [],
                expectedLength: Bool.random(using: &rng) ? 256 : nil)
            var transmissions = 0
            let options = APDUExchange.Options(maximumExchanges: 8, maximumResponseLength: 600)
            do {
                _ = try APDUExchange.run(command, options: options) { sent in
                    transmissions += 1
                    #expect(sent.count >= 4)
                    var answer = (0..<Int.random(in: 0...40, using: &rng)).map { _ in
                        UInt8.random(in: 0...255, using: &rng)
                    }
                    if Int.random(in: 0..<4, using: &rng) > 0 { answer += procedureBytes.randomElement(using: &rng)! }
                    return answer
                }
            } catch is EMVCodecError {
            } catch {
                Issue.record("non-codec error \(error)")
            }
            #expect(transmissions <= options.maximumExchanges)
        }
    }
}
