import Codecs
import TestKit
import Testing

/// The EMVCo MPM specification's example payload (EMV QRCPS MPM v1.1, the "BEST TRANSPORT / BEIJING" sample).
let emvcoSample =
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT"
    + "6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME9132"
    + "0016A0112233449988770708123456786304A13A"

/// The EMVCo CPM specification's examples (EMV QRCPS CPM v1.1): two application templates and common data, and one
/// application template with track 2 equivalent data.
let cpmExample = "hQVDUFYwMWETTwegAAAAVVVVUAhQcm9kdWN0MWETTwegAAAAZmZmUAhQcm9kdWN0MmJJWggSNFZ4kBI0WF8gDkNBUkRIT0xERVIvRU1WXy0IcnVlc2RlZW5kIZ8QBwYBCgMAAACfJghYT9OF+iNLzJ82AgABnzcEbVjvEw=="
let cpmTrack2Example = "hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8="

@Suite("QR codecs: EMVCo MPM and CPM, CRC, Base64, classification")
struct QRCodecTests {
    @Test("CRC-16/CCITT-FALSE check value: \"123456789\" gives 29B1")
    func crcCheckValue() {
        #expect(CRC16CCITTFalse.checksum(Array("123456789".utf8)) == 0x29B1)
        #expect(CRC16CCITTFalse.hexString(0x0A3F) == "0A3F")
    }

    @Test("The EMVCo MPM sample decodes to the published tree, CRC A13A over the UTF-8 bytes")
    func mpmSample() throws {
        let payload = try MerchantPresentedPayload(parsing: emvcoSample)
        #expect(payload.crcIsValid)
        #expect(payload.statedCRC == 0xA13A)
        #expect(payload.dataObjects.map(\.id) == ["00", "01", "29", "31", "52", "58", "59", "60", "64", "54", "53", "55", "62", "91", "63"])
        #expect(payload.object("01")?.value == "12")
        #expect(payload.object("29")?.children == [MPMDataObject(id: "00", value: "D15600000000"), MPMDataObject(id: "05", value: "A93FO3230Q")])
        #expect(payload.object("31")?.child("03")?.value == "12345678")
        #expect(payload.object("59")?.value == "BEST TRANSPORT")
        #expect(payload.object("64")?.child("00")?.value == "ZH")
        // Lengths count characters: "最佳运输" is 04 characters, 12 UTF-8 bytes.
        #expect(payload.object("64")?.child("01")?.value == "最佳运输")
        #expect(payload.object("64")?.child("02")?.value == "北京")
        #expect(payload.object("64")?.value.unicodeScalars.count == 20)
        #expect(payload.object("54")?.value == "23.72")
        #expect(payload.object("53")?.value == "156")
        #expect(payload.object("62")?.children?.map(\.id) == ["03", "06", "07", "09"])
        #expect(payload.object("62")?.child("07")?.value == "A6008667")
        #expect(payload.object("91")?.child("00")?.value == "A011223344998877")
        #expect(MerchantPresentedPayload.encode(payload.dataObjects) == emvcoSample)
    }

    @Test("A changed character fails the CRC; structure errors throw with their code")
    func mpmErrors() throws {
        let damaged = String(emvcoSample.replacing("BEIJING", with: "BEIJINC"))
        #expect(try MerchantPresentedPayload(parsing: damaged).crcIsValid == false)
        #expect(throws: QRCodecError(.missingPayloadFormatIndicator, reason: "")) {
            try MerchantPresentedPayload(parsing: "0102126304ABCD")
        }
        #expect(throws: QRCodecError(.malformedCRC, reason: "")) { try MerchantPresentedPayload(parsing: "000201") }
        #expect(throws: QRCodecError(.truncatedValue, reason: "")) { try MerchantPresentedPayload(parsing: "0002015910AB") }
        #expect(throws: QRCodecError(.malformedDataObject, reason: "")) { try MerchantPresentedPayload(parsing: "0002010A") }
        #expect(throws: QRCodecError(.malformedCRC, reason: "")) { try MerchantPresentedPayload(parsing: "0002016304+FFF") }
        // A malformed additional data template is an error; a network's account template may hold any text.
        #expect(throws: QRCodecError(.malformedDataObject, reason: "")) {
            try MerchantPresentedPayload(parsing: MerchantPresentedPayload.appendingCRC(to: "0002016203XYZ"))
        }
        let opaque = try MerchantPresentedPayload(parsing: MerchantPresentedPayload.appendingCRC(to: "0002012603XYZ"))
        #expect(opaque.object("26")?.children == nil && opaque.object("26")?.value == "XYZ")
    }

    @Test("The builder writes objects in ID order with the CRC last; the terminal's payload round-trips")
    func mpmBuilder() throws {
        let qr = MerchantPresentedQR(
            merchantAccounts: [.init(id: 26, globallyUniqueIdentifier: "CN.COM.EXAMPLE.QRSIM", details: [MPMDataObject(id: "01", value: "123456789012345")])],
            merchantCategoryCode: "5812", currencyCode: "156", amount: "23.72", countryCode: "CN",
            merchantName: "BEST TRANSPORT", merchantCity: "BEIJING",
            additionalData: .init(referenceLabel: "ORDER0001", terminalLabel: "T1"),
            alternateLanguage: .init(languagePreference: "ZH", merchantName: "最佳运输", merchantCity: "北京"))
        let text = try qr.encoded()
        #expect(text == "00020101021226430020CN.COM.EXAMPLE.QRSIM0115123456789012345520458125303156540523.725802CN5914BEST TRANSPORT6007BEIJING62190509ORDER00010702T164200002ZH0104最佳运输0202北京63045CE2")
        let parsed = try MerchantPresentedPayload(parsing: text)
        #expect(parsed.crcIsValid)
        #expect(parsed.dataObjects.dropLast() == (try qr.dataObjects())[...])
    }

    @Test("The builder refuses fields outside their formats")
    func mpmBuilderRefusals() {
        func build(_ change: (inout MerchantPresentedQR) -> Void) throws {
            var qr = MerchantPresentedQR(
                merchantAccounts: [.init(id: 26, globallyUniqueIdentifier: "CN.X")], merchantCategoryCode: "5812",
                currencyCode: "156", amount: "1.00", countryCode: "CN", merchantName: "A", merchantCity: "B")
            change(&qr)
            _ = try qr.encoded()
        }
        #expect(throws: Never.self) { try build { _ in } }
        let invalid = QRCodecError(.invalidField, reason: "")
        #expect(throws: invalid) { try build { $0.merchantName = String(repeating: "N", count: 26) } }
        #expect(throws: invalid) { try build { $0.merchantCity = String(repeating: "城", count: 16) } }
        #expect(throws: invalid) { try build { $0.merchantCategoryCode = "58a2" } }
        #expect(throws: invalid) { try build { $0.amount = "1.2.3" } }
        #expect(throws: invalid) { try build { $0.amount = nil } }
        #expect(throws: invalid) { try build { $0.countryCode = "cn" } }
        #expect(throws: invalid) { try build { $0.merchantAccounts = [] } }
        #expect(throws: invalid) { try build { $0.merchantAccounts = [.init(id: 52, globallyUniqueIdentifier: "X")] } }
        #expect(throws: invalid) { try build { $0.additionalData = .init(referenceLabel: String(repeating: "R", count: 26)) } }
        #expect(throws: invalid) { try build { $0.merchantName = "A\u{0}B" } }
    }

    @Test("Amounts in minor units as ID 54 text")
    func amountText() {
        #expect(MerchantPresentedQR.amountText(minorUnits: 2372, exponent: 2) == "23.72")
        #expect(MerchantPresentedQR.amountText(minorUnits: 5, exponent: 2) == "0.05")
        #expect(MerchantPresentedQR.amountText(minorUnits: 500, exponent: 0) == "500")
    }

    @Test("Random valid field sets round-trip and their CRC verifies (FUZZ_SEED)")
    func mpmProperty() throws {
        var rng = SplitMix(state: fuzzSeed(default: 0x51C0_DE01))
        let latin = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -.&*")
        let hanzi = Array("最佳运输北京上海模拟商户咖啡茶餐厅超市便利店书店")
        func text(_ alphabet: [Character], _ range: ClosedRange<Int>) -> String {
            String((0..<Int.random(in: range, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
        }
        for _ in 0..<500 {
            var accounts: [MerchantPresentedQR.MerchantAccount] = []
            for id in Set((0..<Int.random(in: 1...3, using: &rng)).map { _ in Int.random(in: 2...51, using: &rng) }) {
                if id <= 25 {
                    accounts.append(.init(id: id, globallyUniqueIdentifier: "", details: [MPMDataObject(id: "00", value: text(latin, 1...40))]))
                } else {
                    accounts.append(.init(id: id, globallyUniqueIdentifier: text(latin, 1...32), details: [MPMDataObject(id: "01", value: text(latin, 1...20))]))
                }
            }
            let dynamic = Bool.random(using: &rng)
            let qr = MerchantPresentedQR(
                pointOfInitiation: dynamic ? .dynamicCode : .staticCode, merchantAccounts: accounts,
                merchantCategoryCode: text(Array("0123456789"), 4...4), currencyCode: text(Array("0123456789"), 3...3),
                amount: dynamic ? MerchantPresentedQR.amountText(minorUnits: Int.random(in: 1...99_999_999, using: &rng), exponent: 2) : nil,
                countryCode: text(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 2...2), merchantName: text(latin + hanzi, 1...25),
                merchantCity: text(latin + hanzi, 1...15),
                postalCode: Bool.random(using: &rng) ? text(latin, 1...10) : nil,
                additionalData: .init(referenceLabel: text(latin, 1...25), terminalLabel: Bool.random(using: &rng) ? text(latin, 1...8) : nil),
                alternateLanguage: Bool.random(using: &rng) ? .init(languagePreference: "ZH", merchantName: text(hanzi, 1...25), merchantCity: text(hanzi, 1...15)) : nil)
            let encoded = try qr.encoded()
            let parsed = try MerchantPresentedPayload(parsing: encoded)
            #expect(parsed.crcIsValid)
            #expect(Array(parsed.dataObjects.dropLast()) == (try qr.dataObjects()))
            #expect(MerchantPresentedPayload.encode(parsed.dataObjects) == encoded)
        }
    }

    @Test("Random text never traps the MPM parser; mutated payloads parse or throw QRCodecError (FUZZ_SEED)")
    func mpmParserRobust() {
        var rng = SplitMix(state: fuzzSeed(default: 0xF00D))
        let alphabet = Array("0123456789ABC北京 ")
        let base = Array(emvcoSample)
        for round in 0..<3_000 {
            var chars = base
            if round % 2 == 0 {
                chars = (0..<Int.random(in: 0...60, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    chars[Int.random(in: 0..<chars.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                }
            }
            do {
                _ = try MerchantPresentedPayload(parsing: String(chars))
            } catch is QRCodecError {
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test("The CPM examples decode to the published trees")
    func cpmExamples() throws {
        let payload = try ConsumerPresentedPayload(base64: cpmExample)
        #expect(Hex.encode(payload.tlvEncoded) == "8505435056303161134F07A0000000555555500850726F647563743161134F07A0000000666666500850726F647563743262495A0812345678901234585F200E43415244484F4C4445522F454D565F2D08727565736465656E64219F100706010A030000009F2608584FD385FA234BCC9F360200019F37046D58EF13")
        #expect(payload.applicationTemplates.count == 2)
        #expect(payload.applicationTemplates.map { $0.child(TLVTag(0x4F)).map { Hex.encode($0.value) } } == ["A0000000555555", "A0000000666666"])
        #expect(payload.applicationTemplates.map { $0.child(TLVTag(0x50)).map { String(decoding: $0.value, as: UTF8.self) } } == ["Product1", "Product2"])
        #expect(payload.dataObject(TLVTag(0x5A)).map { Hex.encode($0.value) } == "1234567890123458")
        #expect(payload.dataObject(TLVTag(0x5F20)).map { String(decoding: $0.value, as: UTF8.self) } == "CARDHOLDER/EMV")
        let transparent = try #require(payload.commonDataTemplate?.child(ConsumerPresentedPayload.commonDataTransparentTemplateTag))
        #expect(transparent.children.map(\.tag) == [TLVTag(0x9F10), TLVTag(0x9F26), TLVTag(0x9F36), TLVTag(0x9F37)])
        #expect(payload.base64 == cpmExample)

        let track2 = try ConsumerPresentedPayload(base64: cpmTrack2Example)
        #expect(track2.applicationTemplates.count == 1)
        #expect(track2.dataObject(TLVTag(0x57)).map { Hex.encode($0.value) } == "1234567890123458D191220112345F")
        #expect(track2.commonDataTemplate == nil)
    }

    @Test("CPM structure errors")
    func cpmErrors() {
        #expect(throws: QRCodecError(.invalidBase64, reason: "")) { try ConsumerPresentedPayload(base64: "hQVDUFYwMW!") }
        // '85' "CPV02": an unknown format version.
        #expect(throws: QRCodecError(.malformedConsumerPresented, reason: "")) {
            try ConsumerPresentedPayload(tlvEncoded: [0x85, 0x05] + Array("CPV02".utf8) + [0x61, 0x00])
        }
        // No application template.
        #expect(throws: QRCodecError(.malformedConsumerPresented, reason: "")) {
            try ConsumerPresentedPayload(tlvEncoded: [0x85, 0x05] + Array("CPV01".utf8))
        }
        // Something other than '61'/'62' at the top.
        #expect(throws: QRCodecError(.malformedConsumerPresented, reason: "")) {
            try ConsumerPresentedPayload(tlvEncoded: [0x85, 0x05] + Array("CPV01".utf8) + [0x61, 0x00, 0x5A, 0x01, 0x12])
        }
        // Truncated TLV.
        #expect(throws: QRCodecError(.malformedConsumerPresented, reason: "")) {
            try ConsumerPresentedPayload(tlvEncoded: [0x85, 0x05] + Array("CPV01".utf8) + [0x61, 0x05, 0x4F])
        }
    }

    @Test("Base64: RFC 4648 §10 vectors, and non-canonical text refused")
    func base64() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            if !encoded.isEmpty { #expect(Base64.decode(encoded) == Array(plain.utf8)) }
        }
        for bad in ["Zg=", "Zg=a", "Z===", "Zh==", "Zm9vYg=\u{0}", "Zm 9", "=Zm9"] { #expect(Base64.decode(bad) == nil, "\(bad)") }
    }

    @Test("Classification: WeChat, Alipay, UnionPay, EMVCo CPM; everything else refused with the reason")
    func classification() throws {
        typealias C = CustomerPresentedCode
        #expect(C.classify("134567890123456789") == .payment(.walletCode(wallet: .weChatPay, authCode: "134567890123456789")))
        #expect(C.classify(" 104567890123456789\r\n") == .payment(.walletCode(wallet: .weChatPay, authCode: "104567890123456789")))
        #expect(C.classify("13456789012345678") == .refused(.wrongLength(.weChatPay, digits: 17)))
        #expect(C.classify("284567890123456789") == .payment(.walletCode(wallet: .alipay, authCode: "284567890123456789")))
        #expect(C.classify("2545678901234567") == .payment(.walletCode(wallet: .alipay, authCode: "2545678901234567")))
        #expect(C.classify("301234567890123456789012") == .payment(.walletCode(wallet: .alipay, authCode: "301234567890123456789012")))
        #expect(C.classify("3012345678901234567890123") == .refused(.wrongLength(.alipay, digits: 25)))
        #expect(C.classify("254567890123456") == .refused(.wrongLength(.alipay, digits: 15)))
        #expect(C.classify("6212345678901234567") == .payment(.walletCode(wallet: .unionPay, authCode: "6212345678901234567")))
        #expect(C.classify("621234567890123456") == .refused(.wrongLength(.unionPay, digits: 18)))
        #expect(C.classify("164567890123456789") == .refused(.notAPaymentCode))
        #expect(C.classify("6901234567892") == .refused(.notAPaymentCode))  // an EAN-13 product barcode
        #expect(C.classify("https://example.com/pay") == .refused(.notAPaymentCode))
        #expect(C.classify("") == .refused(.empty))
        #expect(C.classify(emvcoSample) == .refused(.merchantPresented))
        guard case .payment(.consumerPresented(let payload, let text)) = C.classify(cpmExample) else {
            Issue.record("CPM example not classified")
            return
        }
        #expect(text == cpmExample && payload.applicationTemplates.count == 2)
        #expect(C.classify("hQVDUFYwMWE=") == .refused(.malformedConsumerPresented(.malformedConsumerPresented)))
    }

    @Test("Masking keeps the first 6 and last 4")
    func masking() {
        #expect(CustomerPresentedCode.masked("134567890123456789") == "134567********6789")
        #expect(CustomerPresentedCode.masked("QR123") == "*R123")
    }
}
