// libFuzzer target for the EMV codecs of module Codecs: BER-TLV (both rule sets), DOLs, command and response APDUs
// and the T=0 exchange layer. Built by run-fuzz.sh together with Sources/Codecs/*.swift into one module (SwiftPM cannot
// declare a fuzzer product without a Package.swift change), so no `import Codecs` here.
//
// Properties checked on every input; a violation traps, which libFuzzer reports as a crash with the input saved:
//   - strict TLV: parsed => serializes to the same bytes, and the nodes' encodedBytes tile the input;
//   - EMV TLV:    parsed => its canonical serialization parses strictly to an equal tree and re-serializes unchanged;
//   - framing:    a framed length lies within the input and a single-object parse of that frame succeeds or fails
//                 only with an EMVCodecError;
//   - DOL, command APDU, response APDU: parsed => encode to the same bytes;
//   - exchange:   with the input cut into card answers, an exchange ends within its limits.
// Every rejection must be an EMVCodecError (anything else traps).

func check(_ condition: Bool, _ what: StaticString) {
    if !condition { fatalError("property violated: \(what)") }
}

func codecOnly(_ body: () throws -> Void) {
    do {
        try body()
    } catch is EMVCodecError {
    } catch {
        fatalError("non-codec error: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []

    codecOnly {
        let nodes = try TLVNode.sequence(tlvEncoded: input, rules: .strict)
        check(TLVNode.serialize(nodes) == input, "strict TLV round trip")
        check(nodes.flatMap { Array($0.encodedBytes) } == input, "encodedBytes tile the input")
    }
    codecOnly {
        let nodes = try TLVNode.sequence(tlvEncoded: input, rules: .emv)
        let canonical = TLVNode.serialize(nodes)
        let again = try TLVNode.sequence(tlvEncoded: canonical, rules: .strict)
        check(again == nodes, "canonical form parses to the same tree")
        check(TLVNode.serialize(again) == canonical, "canonical form is stable")
        _ = EMVDataDictionary.render(nodes)
    }
    codecOnly {
        if let framed = try TLVNode.frameLength(in: input[...]) {
            check(framed > 0 && framed <= input.count, "frame within the input")
            codecOnly { _ = try TLVNode(tlvEncoded: input[..<framed]) }
        }
    }
    codecOnly {
        let dol = try DataObjectList(dolEncoded: input)
        check(dol.encoded == input, "DOL round trip")
        check(dol.relatedData { _ in [0x12, 0x34, 0x56] }.count == dol.relatedDataLength, "DOL related data length")
    }
    codecOnly {
        let command = try CommandAPDU(apduEncoded: input)
        check(command.encoded == input, "command APDU round trip")
    }
    codecOnly {
        let response = try ResponseAPDU(apduEncoded: input)
        check(response.encoded == input, "response APDU round trip")
    }

    // The input as a card's answers: [length][answer bytes]... ; when they run out the card answers 9000.
    var answers: [[UInt8]] = []
    var rest = input[...]
    while let count = rest.popFirst() {
        answers.append(Array(rest.prefix(Int(count) % 40)))
        rest = rest.dropFirst(Int(count) % 40)
    }
    codecOnly {
        let withData = (input.first ?? 0) & 1 == 1
        let command = try CommandAPDU(
            cla: 0x00, ins: 0xA4, p1: 0x04, p2: 0x00, data: withData ? [0xA0, 0x00, 0x00, 0x00, 0x04] : [],
            expectedLength: (input.first ?? 0) & 2 == 2 ? 256 : nil)
        let options = APDUExchange.Options(maximumExchanges: 16, maximumResponseLength: 1024)
        var transmissions = 0
        var next = 0
        let response = try APDUExchange.run(command, options: options) { sent in
            transmissions += 1
            check(transmissions <= options.maximumExchanges, "exchange limit")
            check(sent.count >= 4, "commands have a header")
            defer { next += 1 }
            return next < answers.count ? answers[next] : [0x90, 0x00]
        }
        check(response.data.count <= options.maximumResponseLength, "response limit")
    }
    return 0
}
