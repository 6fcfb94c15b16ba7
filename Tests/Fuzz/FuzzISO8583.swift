// libFuzzer target for the ISO 8583 codec of module Codecs (Sources/Codecs/ISO8583), under the field table of our
// host protocol (docs/host-interface.md §3, copied here because Uplink is not compiled into the fuzzer). Built by
// run-fuzz.sh (FUZZ_TARGET=iso8583) together with the Codecs sources into one module, so no `import Codecs` here.
//
// Properties checked on every input; a violation traps, which libFuzzer reports as a crash with the input saved:
//   - unpack succeeds or throws an ISO8583Error, nothing else;
//   - unpacked => packs back to exactly the input (the codec accepts only canonical encodings);
//   - the message's description never contains the full PAN.

func check(_ condition: Bool, _ what: StaticString) {
    if !condition { fatalError("property violated: \(what)") }
}

let hostSpec = ISO8583.Spec(
    mtiEncoding: .bcd,
    fields: [
        .init(2, "PAN", .llvar, maxLength: 19, content: .numeric, padding: .right(nibble: 0x0F), isSensitive: true),
        .init(3, "Processing code", .fixed, maxLength: 6, content: .numeric),
        .init(4, "Amount", .fixed, maxLength: 12, content: .numeric),
        .init(7, "Transmission date and time", .fixed, maxLength: 10, content: .numeric),
        .init(11, "STAN", .fixed, maxLength: 6, content: .numeric),
        .init(12, "Local time", .fixed, maxLength: 6, content: .numeric),
        .init(13, "Local date", .fixed, maxLength: 4, content: .numeric),
        .init(14, "Expiry", .fixed, maxLength: 4, content: .numeric, isSensitive: true),
        .init(15, "Settlement date", .fixed, maxLength: 4, content: .numeric),
        .init(22, "POS entry mode", .fixed, maxLength: 3, content: .numeric),
        .init(23, "Card sequence number", .fixed, maxLength: 3, content: .numeric),
        .init(25, "POS condition code", .fixed, maxLength: 2, content: .numeric),
        .init(35, "Track 2", .llvar, maxLength: 37, content: .track2, padding: .right(nibble: 0x0F), isSensitive: true),
        .init(37, "RRN", .fixed, maxLength: 12, content: .alphanumeric),
        .init(38, "Authorization code", .fixed, maxLength: 6, content: .alphanumeric),
        .init(39, "Response code", .fixed, maxLength: 2, content: .alphanumeric),
        .init(41, "Terminal id", .fixed, maxLength: 8, content: .alphanumericSpecial),
        .init(42, "Merchant id", .fixed, maxLength: 15, content: .alphanumericSpecial),
        .init(49, "Currency", .fixed, maxLength: 3, content: .numeric),
        .init(52, "PIN block", .fixed, maxLength: 8, content: .binary, isSensitive: true),
        .init(53, "KSN", .llvar, maxLength: 12, content: .binary),
        .init(54, "Additional amounts", .lllvar, maxLength: 120, content: .alphanumericSpecial),
        .init(55, "ICC data", .lllvar, maxLength: 255, content: .berTLV, isSensitive: true),
        .init(60, "Batch number", .fixed, maxLength: 6, content: .numeric),
        .init(61, "Original data", .lllvar, maxLength: 34, content: .alphanumericSpecial),
        .init(62, "Tagged data", .lllvar, maxLength: 999, content: .alphanumericSpecial),
        .init(63, "Totals, key blocks", .lllvar, maxLength: 999, content: .alphanumericSpecial),
        .init(64, "MAC", .fixed, maxLength: 8, content: .binary),
        .init(70, "Network management code", .fixed, maxLength: 3, content: .numeric),
        .init(90, "Original data elements", .fixed, maxLength: 42, content: .numeric),
        .init(128, "MAC", .fixed, maxLength: 8, content: .binary),
    ])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    do {
        let message = try ISO8583.unpack(input, spec: hostSpec)
        let again = try ISO8583.pack(message, spec: hostSpec)
        check(again == input, "unpacked => packs to the same bytes")
        if let pan = message.text(2), pan.count > 10 {
            check(!message.description.contains(pan), "the description masks the PAN")
        }
    } catch is ISO8583Error {
    } catch {
        fatalError("non-codec error: \(error)")
    }
    return 0
}
