// libFuzzer target for the QR payment codecs of module Codecs (Sources/Codecs/QR): the EMVCo merchant-presented
// parser and builder, the consumer-presented parser, Base64 and code classification. Built by run-fuzz-qr.sh with
// Sources/Codecs/*.swift and Sources/Codecs/QR/*.swift into one module, so no `import Codecs` here.
//
// Properties checked on every input (the bytes as UTF-8 text, invalid sequences repaired); a violation traps:
//   - MPM: parsed => its objects re-encode to the same text, and the CRC verdict equals a CRC computed afresh;
//          a payload rebuilt from the parsed objects with a fresh CRC parses with a valid CRC;
//   - CPM: parsed (from the raw bytes as TLV, and from the text as Base64) => re-serializes to the same bytes;
//   - Base64: decoded => encodes back to the same text;
//   - classification: never traps; an accepted wallet code is all digits.
// Every rejection must be a QRCodecError (anything else traps).

func check(_ condition: Bool, _ what: StaticString) {
    if !condition { fatalError("property violated: \(what)") }
}

func codecOnly(_ body: () throws -> Void) {
    do {
        try body()
    } catch is QRCodecError {
    } catch {
        fatalError("non-codec error: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let text = String(decoding: input, as: UTF8.self)

    codecOnly {
        let payload = try MerchantPresentedPayload(parsing: text)
        check(MerchantPresentedPayload.encode(payload.dataObjects) == text, "MPM objects re-encode to the input")
        let covered = String(String.UnicodeScalarView(text.unicodeScalars.dropLast(4)))
        check(payload.computedCRC == CRC16CCITTFalse.checksum(covered.utf8), "MPM CRC computed over the UTF-8 bytes")
        let rebuilt = MerchantPresentedPayload.appendingCRC(to: MerchantPresentedPayload.encode(Array(payload.dataObjects.dropLast())))
        check(try MerchantPresentedPayload(parsing: rebuilt).crcIsValid, "a fresh CRC verifies")
    }
    codecOnly {
        let payload = try ConsumerPresentedPayload(tlvEncoded: input)
        check(payload.tlvEncoded == input, "CPM re-serializes to the input bytes")
    }
    codecOnly {
        let payload = try ConsumerPresentedPayload(base64: text)
        check(Base64.decode(payload.base64) == payload.tlvEncoded, "CPM Base64 round trip")
    }
    if let bytes = Base64.decode(text) { check(Base64.encode(bytes) == text, "Base64 is canonical") }
    if case .payment(.walletCode(_, let code)) = CustomerPresentedCode.classify(text) {
        check(code.unicodeScalars.allSatisfy { ("0"..."9").contains($0) }, "wallet codes are digits")
    }
    return 0
}
