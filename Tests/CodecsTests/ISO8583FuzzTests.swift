#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Codecs
import TestKit
import Testing

/// Randomised input for ``ISO8583/unpack(_:spec:)-([UInt8],_)``, so CI exercises it without libFuzzer (the libFuzzer
/// driver is Tests/Fuzz/run-fuzz.sh with FUZZ_TARGET=iso8583). A fixed seed keeps runs reproducible; FUZZ_SEED varies
/// it and ISO8583_FUZZ_ROUNDS sets the number of inputs (default 30 000 per dialect). Properties:
/// - no input crashes; a rejection is always an ``ISO8583Error``;
/// - unpacked ⇒ packs back to exactly the input (the codec accepts only canonical encodings);
/// - random valid messages pack and unpack to themselves.
@Suite struct ISO8583FuzzTests {
    static let seed = fuzzSeed(default: 0x1508_3583)
    static let rounds: Int = {
        if let text = getenv("ISO8583_FUZZ_ROUNDS").map({ String(cString: $0) }), let value = Int(text) { return value }
        return 30_000
    }()

    /// A random value for `field`, valid under its spec.
    static func randomValue(_ field: ISO8583.FieldSpec, _ rng: inout SplitMix) -> ISO8583.FieldValue {
        let count = field.lengthKind == .fixed ? field.maxLength : Int.random(in: 0...field.maxLength, using: &rng)
        func characters(_ alphabet: String) -> String {
            let set = Array(alphabet)
            return String((0..<count).map { _ in set.randomElement(using: &rng)! })  // alphabets are non-empty literals
        }
        switch field.content {
        case .numeric: return .text(characters("0123456789"))
        case .track2: return .text(characters("0123456789="))
        case .alphanumeric: return .text(characters("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 "))
        case .alphanumericSpecial:
            return .text(
                String((0..<count).map { _ in Character(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng))) }))
        case .binary: return .binary((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case .berTLV:
            var nodes: [TLVNode] = []
            var size = 0
            let tags: [UInt32] = [0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x95, 0x9A, 0x9C, 0x5F2A, 0x82, 0x9F36, 0x9F5B, 0x91]
            while size < min(count, field.maxLength - 20) {
                let value = (0..<Int.random(in: 0...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng)
                }
                let node = TLVNode(tag: TLVTag(tags.randomElement(using: &rng)!), value: value)
                nodes.append(node)
                size += node.encodedBytes.count
            }
            return .tlv(nodes)
        }
    }

    /// A random valid message: a random subset of the spec's fields.
    static func randomMessage(_ spec: ISO8583.Spec, _ rng: inout SplitMix) -> ISO8583.Message {
        var message = ISO8583.Message(mti: String((0..<4).map { _ in "0123456789".randomElement(using: &rng)! }))
        for field in spec.fields where Bool.random(using: &rng) {
            message[field.number] = randomValue(field, &rng)
        }
        return message
    }

    /// Random bytes, or a packed valid message mutated one to four times.
    static func input(_ spec: ISO8583.Spec, _ rng: inout SplitMix) throws -> [UInt8] {
        if Int.random(in: 0..<16, using: &rng) == 0 {
            return (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        var bytes = try ISO8583.pack(randomMessage(spec, &rng), spec: spec)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
            case 1 where !bytes.isEmpty:
                bytes[at] = [0x00, 0x09, 0x0A, 0x99, 0x9A, 0xFF, 0x80, 0x20].randomElement(using: &rng)!
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
            case 3 where !bytes.isEmpty: bytes.remove(at: at)
            case 4: bytes = Array(bytes.prefix(at))
            default: if !bytes.isEmpty { bytes[at] = UInt8.random(in: 0...255, using: &rng) }
            }
        }
        return bytes
    }

    @Test(arguments: ["bcd", "ascii"])
    func randomAndMutatedMessages(name: String) throws {
        let spec = name == "bcd" ? ISO8583TestSpecs.bcd : ISO8583TestSpecs.ascii
        var rng = SplitMix(state: Self.seed ^ UInt64(name.utf8.count))
        var accepted = 0
        for _ in 0..<Self.rounds {
            let input = try Self.input(spec, &rng)
            do {
                let message = try ISO8583.unpack(input, spec: spec)
                accepted += 1
                #expect(try ISO8583.pack(message, spec: spec) == input, "round trip of \(Hex.encode(input))")
            } catch is ISO8583Error {
            } catch {
                Issue.record("non-codec error \(error) for \(Hex.encode(input))")
            }
        }
        // A fair share of the mutants stays valid, so the round-trip property was really exercised.
        #expect(accepted > Self.rounds / 20, "\(name): \(accepted) accepted")
    }

    @Test(arguments: ["bcd", "ascii"])
    func randomValidMessagesRoundTrip(name: String) throws {
        let spec = name == "bcd" ? ISO8583TestSpecs.bcd : ISO8583TestSpecs.ascii
        var rng = SplitMix(state: Self.seed ^ 0x5EED ^ UInt64(name.utf8.count))
        for _ in 0..<5_000 {
            let message = Self.randomMessage(spec, &rng)
            let packed = try ISO8583.pack(message, spec: spec)
            #expect(try ISO8583.unpack(packed, spec: spec) == message)
        }
    }
}
