import ArgumentParser
import Codecs
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
import LinuxDevices

/// `termtool qr decode TEXT`, `termtool qr mpm ...`: EMVCo QR payloads both ways.
struct QRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qr",
        abstract: "EMVCo QR payment payloads: decode (MPM and CPM) and build (MPM).",
        subcommands: [Decode.self, MPM.self]
    )

    /// Names of the MPM data objects (EMV QRCPS MPM v1.1 §4.5-4.9).
    static func mpmName(_ id: String, parent: String?) -> String {
        if let parent {
            switch (parent, id) {
            case ("62", "01"): return "Bill Number"
            case ("62", "02"): return "Mobile Number"
            case ("62", "03"): return "Store Label"
            case ("62", "04"): return "Loyalty Number"
            case ("62", "05"): return "Reference Label"
            case ("62", "06"): return "Customer Label"
            case ("62", "07"): return "Terminal Label"
            case ("62", "08"): return "Purpose of Transaction"
            case ("62", "09"): return "Additional Consumer Data Request"
            case ("64", "00"): return "Language Preference"
            case ("64", "01"): return "Merchant Name—Alternate Language"
            case ("64", "02"): return "Merchant City—Alternate Language"
            case (_, "00"): return "Globally Unique Identifier"
            default: return "Payment Network Specific"
            }
        }
        switch Int(id) ?? -1 {
        case 0: return "Payload Format Indicator"
        case 1: return "Point of Initiation Method"
        case 2...51: return "Merchant Account Information"
        case 52: return "Merchant Category Code"
        case 53: return "Transaction Currency"
        case 54: return "Transaction Amount"
        case 55: return "Tip or Convenience Indicator"
        case 56: return "Value of Convenience Fee Fixed"
        case 57: return "Value of Convenience Fee Percentage"
        case 58: return "Country Code"
        case 59: return "Merchant Name"
        case 60: return "Merchant City"
        case 61: return "Postal Code"
        case 62: return "Additional Data Field Template"
        case 63: return "CRC"
        case 64: return "Merchant Information—Language Template"
        case 65...79: return "RFU for EMVCo"
        default: return "Unreserved Template"
        }
    }

    /// The tree of an MPM payload, one object a line, two spaces a level.
    static func renderMPM(_ payload: MerchantPresentedPayload) -> String {
        var out = ""
        func walk(_ objects: [MPMDataObject], parent: String?, indent: String) {
            for object in objects {
                if let children = object.children {
                    out += "\(indent)\(object.id) \(mpmName(object.id, parent: parent))\n"
                    walk(children, parent: object.id, indent: indent + "  ")
                } else {
                    out += "\(indent)\(object.id) \(mpmName(object.id, parent: parent)): \"\(object.value)\"\n"
                }
            }
        }
        walk(payload.dataObjects, parent: nil, indent: "")
        return out
    }

    /// The CPM tree: the CPM's own templates named (EMV QRCPS CPM v1.1 §3.3, tags '61'-'64' mean other things in
    /// EMV), every other object through the EMV dictionary, so PAN, track 2 and names stay masked.
    static func renderCPM(_ nodes: [TLVNode], indent: String) -> String {
        var out = ""
        for node in nodes {
            switch node.tag {
            case ConsumerPresentedPayload.payloadFormatIndicatorTag:
                out += "\(indent)85 Payload Format Indicator: \"\(String(decoding: node.value, as: UTF8.self))\"\n"
            case ConsumerPresentedPayload.applicationTemplateTag, ConsumerPresentedPayload.commonDataTemplateTag,
                ConsumerPresentedPayload.applicationSpecificTransparentTemplateTag,
                ConsumerPresentedPayload.commonDataTransparentTemplateTag:
                let name = [
                    0x61: "Application Template", 0x62: "Common Data Template",
                    0x63: "Application Specific Transparent Template", 0x64: "Common Data Transparent Template",
                ][node.tag.rawValue] ?? ""
                out += "\(indent)\(node.tag) \(name)\n"
                out += renderCPM(node.children, indent: indent + "  ")
            default:
                for line in EMVDataDictionary.render([node]).split(separator: "\n", omittingEmptySubsequences: true) {
                    out += indent + line + "\n"
                }
            }
        }
        return out
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the data-object tree of an EMVCo MPM payload (and check its CRC) or of a CPM payload (Base64).",
            discussion: """
                Exit status 1 when the text is neither, or an MPM CRC does not match. CPM card data (PAN, track 2,
                names) is masked as `termtool tlv decode` masks it.
                Example:
                  $ termtool qr decode '00020101021229300012D156000000000510A93FO3230Q31280012D1560000000103081234567852044111...6304A13A'
                """
        )

        @Argument(help: "The payload text (quote it: it holds spaces).")
        var text: String

        func run() throws {
            if text.hasPrefix("000201") {
                let payload = try MerchantPresentedPayload(parsing: text)
                let crc = CRC16CCITTFalse.hexString(payload.statedCRC)
                let verdict = payload.crcIsValid ? "valid" : "INVALID, computed \(CRC16CCITTFalse.hexString(payload.computedCRC))"
                print("EMVCo MPM (merchant-presented), CRC \(crc) \(verdict)")
                print(QRCommand.renderMPM(payload), terminator: "")
                if !payload.crcIsValid { throw ExitCode.failure }
                return
            }
            guard let bytes = Base64.decode(text) else {
                try CryptoTool.fail("neither an MPM payload (000201...) nor Base64 CPM text")
            }
            let payload = try ConsumerPresentedPayload(tlvEncoded: bytes)
            print("EMVCo CPM (consumer-presented), \(bytes.count) bytes")
            print(QRCommand.renderCPM(payload.nodes, indent: ""), terminator: "")
        }
    }

    struct MPM: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a dynamic EMVCo MPM payload from flags; print it, optionally as a PNG of its QR code.",
            discussion: """
                Example:
                  $ termtool qr mpm --amount 23.72 --merchant "BEST TRANSPORT" --city BEIJING \\
                        --merchant-zh 最佳运输 --city-zh 北京 --reference ORDER0001 --png /tmp/mpm.png
                """
        )

        @Option(help: "Amount as decimal text (e.g. 23.72); omit for a static code.")
        var amount: String?
        @Option(help: "ISO 4217 numeric currency.")
        var currency = "156"
        @Option(help: "Merchant name (up to 25 characters).")
        var merchant: String
        @Option(help: "Merchant city (up to 15 characters).")
        var city: String
        @Option(help: "Merchant name in Chinese (template 64).")
        var merchantZh: String?
        @Option(help: "Merchant city in Chinese (template 64).")
        var cityZh: String?
        @Option(help: "Order reference (62/05).")
        var reference: String?
        @Option(help: "Terminal label (62/07).")
        var terminal: String?
        @Option(help: "Merchant category code.")
        var mcc = "5812"
        @Option(help: "Country code.")
        var country = "CN"
        @Option(help: "Merchant account template ID (26-51).")
        var accountId = 26
        @Option(help: "Globally unique identifier of the merchant account template.")
        var guid = "CN.COM.EXAMPLE.QRSIM"
        @Option(help: "Merchant ID in the account template (sub-ID 01).")
        var merchantId = "123456789012345"
        @Option(help: "Write the QR code as a PNG here.")
        var png: String?
        @Option(help: "Pixels a module in the PNG.")
        var modulePixels = 4
        @Option(help: "Encode this text instead of building a payload (PNG of any text, for cross-checks).")
        var raw: String?
        @Option(help: "Time N payload builds + QR encodes and print the mean.")
        var bench: Int?

        func build() throws -> String {
            if let raw { return raw }
            return try MerchantPresentedQR(
                pointOfInitiation: amount == nil ? .staticCode : .dynamicCode,
                merchantAccounts: [.init(id: accountId, globallyUniqueIdentifier: guid, details: [MPMDataObject(id: "01", value: merchantId)])],
                merchantCategoryCode: mcc, currencyCode: currency, amount: amount, countryCode: country,
                merchantName: merchant, merchantCity: city,
                additionalData: reference == nil && terminal == nil ? nil : .init(referenceLabel: reference, terminalLabel: terminal),
                alternateLanguage: merchantZh.map { .init(languagePreference: "ZH", merchantName: $0, merchantCity: cityZh) }
            ).encoded()
        }

        func run() throws {
            let payload = try build()
            print(payload)
            if let count = bench, count > 0 {
                let clock = ContinuousClock()
                var size = 0
                let elapsed = try clock.measure {
                    for _ in 0..<count { size = try QREncoder.encode(try build()).size }
                }
                let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
                print("build + encode: \(Int(micros / Double(count))) µs mean over \(count) (symbol \(size)x\(size))")
            }
            if let png {
                let matrix = try QREncoder.encode(payload)
                let quiet = QRMatrix.standardQuietZone
                let side = (matrix.size + 2 * quiet) * modulePixels
                var canvas = PixelCanvas(width: side, height: side, fill: .white)
                for y in 0..<matrix.size {
                    for x in 0..<matrix.size where matrix[x, y] {
                        canvas.fill(x: (x + quiet) * modulePixels, y: (y + quiet) * modulePixels, width: modulePixels, height: modulePixels, color: .black)
                    }
                }
                let bytes = PNGEncoder.encode(width: side, height: side, colorType: .truecolor, pixels: canvas.rgb)
                try writeFile(png, bytes)
            }
        }
    }
}

/// Writes `bytes` to `path` (created or truncated, mode 0644).
private func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { try CryptoTool.fail("cannot create \(path)") }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            try CryptoTool.fail("cannot write \(path)")
        }
        offset += n
    }
}
