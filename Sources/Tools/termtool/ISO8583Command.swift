#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import ArgumentParser
import Codecs
import PaymentCrypto
import Uplink

/// `termtool iso8583`: pack and unpack messages of our host protocol (docs/host-interface.md), and time the codec.
struct ISO8583Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iso8583",
        abstract: "Pack, unpack and benchmark ISO 8583 messages of the host protocol (docs/host-interface.md).",
        subcommands: [Pack.self, Unpack.self, Samples.self, BenchCodec.self]
    )

    /// The text form of a message, one item a line: `mti 0200`, then `NUMBER VALUE` per field. VALUE is the text
    /// itself for numeric, alphanumeric and track 2 fields (everything after the first space), hex for binary fields
    /// and field 55. Messages are separated by a blank line.
    static let textFormat = """
        Message text: one line `mti NNNN`, then one line per field, `NUMBER VALUE`: the characters for numeric, \
        text and track 2 fields (everything after the first space, `=` as the track 2 separator), hex for binary \
        fields and field 55. A blank line separates messages.
        """

    struct MACOptions: ParsableArguments {
        @Option(
            help: ArgumentHelp(
                "A 16-byte MAC key in hex (test keys only): pack adds, unpack verifies the retail MAC "
                    + "(ISO 9797-1 algorithm 3, padding 2) in field 64/128.")
        )
        var macKey: String?

        func closure() throws -> (([UInt8]) throws -> [UInt8])? {
            guard let macKey else { return nil }
            let key = try CryptoInput.secret(macKey, option: "--mac-key", lengths: [16], what: "MAC key")
            return try HostMACKey(.retailMAC, key: key).authenticationCode
        }
    }

    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pack messages read from standard input; print each as one line of hex.",
            discussion: ISO8583Command.textFormat + """


                Example:
                  $ printf 'mti 0800\\n7 1127093015\\n11 000060\\n41 T0001234\\n70 301\\n' | termtool iso8583 pack
                  080082200000008000000400000000000000112709301500006054303030313233340301
                """
        )

        @OptionGroup var mac: MACOptions

        @Flag(help: "Prefix each message with its two-byte length frame.")
        var framed = false

        func run() throws {
            let mac = try mac.closure()
            var failures = 0
            for (index, block) in ISO8583Command.readBlocks().enumerated() {
                do {
                    let message = try ISO8583Command.parse(block)
                    var packed = try mac.map { try HostDialect.pack(message, mac: $0) } ?? HostDialect.pack(message)
                    if framed { packed = try HostDialect.frame(packed) }
                    print(Hex.encode(packed))
                } catch {
                    failures += 1
                    print("error \(ISO8583Command.describe(error))")
                    CryptoTool.writeStandardError("message \(index + 1): \(error)\n")
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    struct Unpack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unpack hex messages (one a line) from standard input; print each in the message text form.",
            discussion: ISO8583Command.textFormat + """


                The PAN is masked to its first six and last four digits; expiry, track 2, PIN block and field 55 are \
                replaced by their length unless --reveal is given (test data only).
                """
        )

        @OptionGroup var mac: MACOptions

        @Flag(help: "Each line starts with the two-byte length frame.")
        var framed = false

        @Flag(help: "Print sensitive fields in full (test data only).")
        var reveal = false

        func run() throws {
            let mac = try mac.closure()
            var failures = 0
            var first = true
            while let line = readLine() {
                let text = line.filter { !$0.isWhitespace }
                if text.isEmpty { continue }
                if !first { print("") }
                first = false
                do {
                    guard var bytes = Hex.decode(text)?[...] else {
                        throw ValidationError("not hex")
                    }
                    if framed {
                        guard try HostDialect.frameLength(in: bytes) == bytes.count else {
                            throw ISO8583Error(.invalidFrame, reason: "the frame length is not the line's length")
                        }
                        bytes = bytes.dropFirst(2)
                    }
                    let message = try HostDialect.unpack(bytes, mac: mac)
                    print(ISO8583Command.render(message, reveal: reveal))
                } catch {
                    failures += 1
                    print("error \(ISO8583Command.describe(error))")
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    struct BenchCodec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Time pack and unpack of an 0200 sale with field 55 (build with -c release for figures).",
            discussion: "Prints the message in hex (so a peer can time the same bytes) and the time per operation."
        )

        @Option(help: "Operations to time (each of pack and unpack).")
        var iterations = 200_000

        func run() throws {
            let message = try ISO8583Command.sampleSale()
            let packed = try HostDialect.pack(message)
            print("message: \(Hex.encode(packed))")
            print("bytes: \(packed.count)")
            var sink = 0
            for _ in 0..<1000 { sink &+= try HostDialect.pack(message).count }  // warm-up
            var start = Bench.monotonicSeconds()
            for _ in 0..<iterations { sink &+= try HostDialect.pack(message).count }
            let packTime = (Bench.monotonicSeconds() - start) / Double(iterations)
            start = Bench.monotonicSeconds()
            for _ in 0..<iterations { sink &+= try HostDialect.unpack(packed[...], mac: nil).fieldNumbers.count }
            let unpackTime = (Bench.monotonicSeconds() - start) / Double(iterations)
            print("pack: \(Bench.format(packTime * 1e6, 2)) µs per message (\(iterations) iterations)")
            print("unpack: \(Bench.format(unpackTime * 1e6, 2)) µs per message")
            print("pack + unpack: \(Bench.format((packTime + unpackTime) * 1e6, 2)) µs")
            if sink == 42 { print("") }  // keeps the loops from being optimised away
        }
    }

    // MARK: Text form

    static func readBlocks() -> [[String]] {
        var blocks: [[String]] = []
        var current: [String] = []
        while let line = readLine() {
            if line.allSatisfy(\.isWhitespace) {
                if !current.isEmpty { blocks.append(current) }
                current = []
            } else {
                current.append(line)
            }
        }
        if !current.isEmpty { blocks.append(current) }
        return blocks
    }

    static func parse(_ lines: [String]) throws -> ISO8583.Message {
        var message = ISO8583.Message(mti: "")
        for line in lines {
            let head = line.prefix { $0 != " " }
            let value = String(line.dropFirst(head.count + 1))
            if head == "mti" {
                message.mti = value
                continue
            }
            guard let number = Int(head), (2...128).contains(number), number != 65 else {
                throw ValidationError("not `mti NNNN` or `NUMBER VALUE`: field \(head)")
            }
            guard let field = HostDialect.spec.field(number) else {
                throw ISO8583Error(.unknownField, field: number, reason: "the host protocol has no field \(number)")
            }
            switch field.content {
            case .binary, .berTLV:
                guard let bytes = Hex.decode(value) else { throw ValidationError("field \(number): not hex") }
                message[number] = .binary(bytes)
            case .numeric, .alphanumeric, .alphanumericSpecial, .track2:
                message[number] = .text(value)
            }
        }
        return message
    }

    static func render(_ message: ISO8583.Message, reveal: Bool) -> String {
        var lines = ["mti \(message.mti)"]
        for number in message.fieldNumbers {
            guard let value = message[number] else { continue }
            let sensitive = HostDialect.spec.field(number)?.isSensitive ?? false
            let text: String
            switch value {
            case .text(let characters): text = characters
            case .binary, .tlv: text = Hex.encode(value.bytes ?? [])
            }
            if reveal || !sensitive {
                lines.append("\(number) \(text)")
            } else if number == 2 {
                lines.append("\(number) \(ISO8583.maskedPAN(text))")
            } else {
                lines.append("\(number) [\(text.count) characters redacted]")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? ISO8583Error { return "\(error.code) field \(error.field.map(String.init) ?? "-")" }
        return "input"
    }

    /// The benchmark's message: an 0200 contact-chip sale with PIN, KSN, track 2 equivalent and 14 ICC tags, and a
    /// placeholder MAC.
    static func sampleSale() throws -> ISO8583.Message {
        var message = try HostMessages.request(sampleRequest(.sale))
        message[64] = .binary([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08])
        return message
    }

    struct Samples: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one message of every MTI made by the typed builders (test card data), as `NAME HEX`.",
            discussion:
                "Requests, advices, reversals, uploads, settlement and network management, and a host response to "
                + "each; MACs under the documented test key. Used by Tests/scripts/iso8583-crosscheck.sh."
        )

        func run() throws {
            let key = try CryptoInput.secret(
                "0123456789ABCDEFFEDCBA9876543210", option: "test key", lengths: [16], what: "MAC key")
            // The terminal's own MAC path (HostMACKey), which Tests/scripts/iso8583-crosscheck.sh checks with pyemv.
            let mac = try HostMACKey(.retailMAC, key: key).authenticationCode
            for (name, message) in try ISO8583Command.sampleMessages() {
                let packed: [UInt8]
                if HostMessageType(rawValue: message.mti)?.carriesMAC == true {
                    packed = try HostDialect.pack(message, mac: mac)
                } else {
                    packed = try HostDialect.pack(message)
                }
                print("\(String(name.map { $0 == " " ? "-" : $0 })) \(Hex.encode(packed))")
            }
        }
    }

    /// A transaction of `kind` with test card data (an EMV test PAN).
    static func sampleRequest(_ kind: TransactionKind) -> TransactionRequest {
        let icc: [TLVNode] = [
            (0x9F26, "1D0E9AC4A3C5B1F7"), (0x9F27, "80"), (0x9F10, "06010A03A00000"), (0x9F37, "9A1B2C3D"),
            (0x9F36, "0027"), (0x95, "0000008000"), (0x9A, "261127"), (0x9C, "00"), (0x9F02, "000000001250"),
            (0x5F2A, "0156"), (0x82, "3800"), (0x9F1A, "0156"), (0x9F33, "E0F8C8"), (0x9F34, "420300"),
        ].map { TLVNode(tag: TLVTag($0.0), value: Hex.decode($0.1) ?? []) }
        var request = TransactionRequest(
            kind: kind, amount: 1250, currencyCode: "156", stan: 42,
            transmission: HostDateTime(month: 11, day: 27, hour: 9, minute: 30, second: 15),
            local: HostDateTime(month: 11, day: 27, hour: 17, minute: 30, second: 15),
            terminalID: "T0001234", merchantID: "104110070110001", batchNumber: 7, transactionReference: 42,
            entryMode: .contactChip,
            card: CardData(
                pan: "4761739001010119", expiry: "2212", panSequenceNumber: 1,
                track2: "4761739001010119=22122011758928889", iccData: icc),
            pinBlock: [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0],
            keySerialNumber: [0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x01])
        switch kind {
        case .void, .refund:
            request.original = OriginalTransaction(
                batchNumber: 7, stan: 41, localDate: "1127", retrievalReference: "332917000041",
                authorizationCode: "A1B2C3")
        case .qrPayment, .qrQuery, .qrOrder:
            request.entryMode = .qrCode
            request.card = CardData()
            request.pinBlock = nil
            request.keySerialNumber = nil
            request.qrCode = kind == .qrPayment ? "134501234567890123" : kind == .qrOrder ? "000201010212" : nil
            request.qrOrderReference = kind == .qrPayment ? nil : "QO20261127000042"
        case .prepaidActivation:
            request.prepaidActivationCode = "ACT-7731"
        case .sale, .preAuthorization, .balanceInquiry, .prepaidTopUp:
            break
        }
        return request
    }

    /// One message of every MTI from the typed builders, with a host response to each request.
    static func sampleMessages() throws -> [(String, ISO8583.Message)] {
        var requests: [(String, ISO8583.Message)] = []
        for kind in TransactionKind.allCases {
            requests.append(("\(kind)", try HostMessages.request(sampleRequest(kind))))
        }
        let sale = sampleRequest(.sale)
        requests += [
            ("advice", try HostMessages.offlineAdvice(sale, decision: .offlineApproved)),
            (
                "advice repeat",
                try HostMessages.offlineAdvice(sale, decision: .unableToGoOnlineApproved, isRepeat: true)
            ),
            (
                "completion advice",
                try HostMessages.offlineAdvice(
                    sale, decision: .approved, authorizationCode: "A1B2C3", issuerScriptResults: [0x20, 0, 0, 0, 0])
            ),
            ("reversal", try HostMessages.reversal(of: sale, reason: .timeout)),
            ("reversal repeat", try HostMessages.reversal(of: sale, reason: .timeout, isRepeat: true)),
            (
                "reversal advice",
                try HostMessages.reversal(
                    of: sale, reason: .cardDeclinedAfterApproval, issuerScriptResults: [0x20, 0, 0, 0, 0],
                    asAdvice: true)
            ),
            (
                "reversal advice repeat",
                try HostMessages.reversal(
                    of: sampleRequest(.qrPayment), reason: .lateResponse, asAdvice: true, isRepeat: true)
            ),
            (
                "batch upload",
                try HostMessages.batchUpload(
                    sale, responseCode: .approved, retrievalReference: "332917000042", authorizationCode: "A1B2C3")
            ),
        ]
        let totals = SettlementTotals(
            saleCount: 12, saleAmount: 99_900, refundCount: 1, refundAmount: 1250, currencyCode: "156")
        for afterUpload in [false, true] {
            requests.append(
                (
                    "settlement",
                    HostMessages.settlement(
                        terminalID: "T0001234", merchantID: "104110070110001", batchNumber: 7, stan: 50,
                        transmission: sale.transmission, local: sale.local, totals: totals,
                        afterBatchUpload: afterUpload)
                ))
        }
        for code in NetworkManagementCode.allCases {
            requests.append(
                (
                    "network \(code)",
                    HostMessages.networkManagement(
                        code, stan: 60, transmission: sale.transmission, terminalID: "T0001234",
                        merchantID: "104110070110001")
                ))
        }
        var out = requests
        for (name, request) in requests {
            var fields: [Int: ISO8583.FieldValue] = [:]
            switch request.mti {
            case "0100", "0200":
                fields[37] = .text("332917000042")
                fields[38] = .text("A1B2C3")
                if request[55] != nil {
                    fields[55] = .tlv([
                        TLVNode(tag: TLVTag(0x91), value: Hex.decode("3A4B5C6D7E8F90A13030") ?? []),
                        TLVNode(tag: TLVTag(0x8A), value: [0x30, 0x30]),
                    ])
                }
                if request.text(3) == "310000" || request.text(3) == "280000" {
                    fields[54] = .text(AdditionalAmount(amountType: "02", currencyCode: "156", amount: 123_456).encoded)
                }
            case "0500": fields[15] = .text("1128"); fields[63] = request[63]
            case "0800":
                if request.text(70) == "001" { fields[12] = .text("093016"); fields[13] = .text("1127") }
                if request.text(70) == "101" {
                    // A key exchange answer's shape (§11): an M3 key block, mode C, non-exportable (dummy key data).
                    fields[63] = .text("B0096M3TC00N0000" + String(repeating: "0", count: 80))
                }
            default: break
            }
            out.append(
                ("\(name) response", try HostMessages.response(to: request, responseCode: .approved, fields: fields)))
        }
        return out
    }
}
