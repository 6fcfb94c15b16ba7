import Codecs
import Testing

@Suite struct CommandAPDUTests {
    /// Published commands: the four cases of ISO/IEC 7816-4 §5.1 as the EMV Contact Interface Specification
    /// Annex A1–A4 examples use them (in openemv/emv-utils tests/emv_ttl_pcsc_test.c), and openemv's GPO commands.
    static let published: [(hex: String, apduCase: CommandAPDU.Case, dataCount: Int, expected: Int?)] = [
        ("12345678", .one, 0, nil),
        ("00B2010C00", .two, 0, 256),
        ("00B2010C1C", .two, 0, 0x1C),
        ("0082000004DEADBEEF", .three, 4, nil),
        ("00A404000E315041592E5359532E444446303100", .four, 14, 256),
        ("80A8000005830360F0C800", .four, 5, 256),
    ]

    @Test(arguments: published.indices)
    func roundTrip(_ index: Int) throws {
        let vector = Self.published[index]
        let encoded = bytes(vector.hex)
        let command = try CommandAPDU(apduEncoded: encoded)
        #expect(command.apduCase == vector.apduCase)
        #expect(command.data.count == vector.dataCount)
        #expect(command.expectedLength == vector.expected)
        #expect(command.encoded == encoded)
        #expect(try CommandAPDU(apduEncoded: encoded[...]) == command, "from a slice")
    }

    @Test func prefixesParseOnlyWhenTheyAreThemselvesACase() {
        // SELECT PSE: 4 bytes = case 1, 5 bytes = case 2 (Le = 0E), 19 bytes = case 3; every other prefix fails.
        let select = bytes("00A404000E315041592E5359532E444446303100")
        for count in 0..<select.count {
            let code = codecErrorCode { _ = try CommandAPDU(apduEncoded: select.prefix(count)) }
            switch count {
            case 4, 5, 19: #expect(code == nil, "prefix of \(count)")
            default: #expect(code == .malformedCommandAPDU, "prefix of \(count)")
            }
        }
        #expect(codecErrorCode { _ = try CommandAPDU(apduEncoded: select + [0x00]) } == .malformedCommandAPDU)
    }

    @Test func refusals() {
        #expect(
            codecErrorCode { _ = try CommandAPDU(apduEncoded: bytes("00A40400 00000E")) } == .extendedLengthUnsupported)
        #expect(
            codecErrorCode { _ = try CommandAPDU(apduEncoded: bytes("00B2010C 000100")) } == .extendedLengthUnsupported)
        #expect(
            codecErrorCode {
                _ = try CommandAPDU(cla: 0, ins: 0xDA, p1: 0, p2: 0, data: Array(repeating: 0, count: 256))
            } == .commandDataTooLong)
        #expect(
            codecErrorCode { _ = try CommandAPDU(cla: 0, ins: 0xB0, p1: 0, p2: 0, expectedLength: 0) }
                == .invalidExpectedLength)
        #expect(
            codecErrorCode { _ = try CommandAPDU(cla: 0, ins: 0xB0, p1: 0, p2: 0, expectedLength: 257) }
                == .invalidExpectedLength)
        #expect(codecErrorCode { _ = try CommandAPDU.readRecord(0, shortFileIdentifier: 1) } == .malformedCommandAPDU)
        #expect(codecErrorCode { _ = try CommandAPDU.readRecord(1, shortFileIdentifier: 31) } == .malformedCommandAPDU)
        #expect(codecErrorCode { _ = try CommandAPDU.getData(TLVTag(0xDF8101)) } == .malformedCommandAPDU)
        #expect(
            codecErrorCode {
                _ = try CommandAPDU.getProcessingOptions(pdolRelatedData: Array(repeating: 0, count: 254))
            }
                == .commandDataTooLong)
    }

    @Test func emvCommands() throws {
        #expect(
            try CommandAPDU.select(name: Array("2PAY.SYS.DDF01".utf8)).encoded
                == bytes("00A404000E325041592E5359532E444446303100"))
        #expect(
            try CommandAPDU.select(name: bytes("A0000000041010"), next: true).encoded
                == bytes("00A4040207A000000004101000"))
        #expect(try CommandAPDU.readRecord(1, shortFileIdentifier: 2).encoded == bytes("00B2011400"))
        #expect(try CommandAPDU.getResponse(length: 0x26).encoded == bytes("00C0000026"))
        #expect(try CommandAPDU.getData(.applicationTransactionCounter).encoded == bytes("80CA9F3600"))
        #expect(try CommandAPDU.getChallenge().encoded == bytes("0084000000"))
        #expect(
            try CommandAPDU.internalAuthenticate(ddolRelatedData: bytes("DEADBEEF")).encoded
                == bytes("0088000004DEADBEEF00"))
        #expect(
            try CommandAPDU.externalAuthenticate(issuerAuthenticationData: bytes("0102030405060708")).apduCase == .three
        )
        let genAC = try CommandAPDU.generateApplicationCryptogram(referenceControl: 0x80, cdolRelatedData: [1, 2, 3])
        #expect(genAC.encoded == bytes("80AE80000301020300"))
    }

    @Test func descriptionsCarryNoData() throws {
        let pinLike = try CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x80, data: bytes("241234FFFFFFFFFF"))
        #expect("\(pinLike)" == "00200080 Lc=8")
        #expect(!"\(pinLike)".contains("1234"))
        let response = ResponseAPDU(data: bytes("5A084761739001010119"), statusWord: .normalProcessing)
        #expect("\(response)" == "10 bytes SW=9000")
    }
}

@Suite struct ResponseAPDUTests {
    @Test func parseAndEncode() throws {
        let response = try ResponseAPDU(apduEncoded: Vectors.gpoFormat2 + [0x90, 0x00])
        #expect(response.data == Vectors.gpoFormat2)
        #expect(response.statusWord == .normalProcessing && response.statusWord.isNormalProcessing)
        #expect(response.encoded == Vectors.gpoFormat2 + [0x90, 0x00])
        #expect(try ResponseAPDU(apduEncoded: [0x6A, 0x82]).data.isEmpty)
        #expect(codecErrorCode { _ = try ResponseAPDU(apduEncoded: []) } == .responseTooShort)
        #expect(codecErrorCode { _ = try ResponseAPDU(apduEncoded: [0x90]) } == .responseTooShort)
        #expect(
            codecErrorCode { _ = try ResponseAPDU(apduEncoded: [UInt8](repeating: 0, count: 65_539)) }
                == .responseTooLong)
    }

    @Test func statusWords() {
        #expect(StatusWord(sw1: 0x63, sw2: 0xC2).remainingTries == 2)
        #expect(StatusWord(sw1: 0x63, sw2: 0x00).remainingTries == nil)
        #expect(StatusWord.selectedFileInvalidated.isWarning)
        #expect(StatusWord(rawValue: 0x6110).hasResponseBytesAvailable)
        #expect(StatusWord(rawValue: 0x6C1C).isWrongExpectedLength)
        #expect("\(StatusWord.functionNotSupported)" == "6A81")
    }
}

/// A scripted card: checks each command against the script and answers the scripted response.
final class ScriptedTransport {
    private var script: [(command: [UInt8], response: [UInt8])]
    private(set) var sent: [[UInt8]] = []

    init(_ script: [(String, String)]) { self.script = script.map { (bytes($0.0), bytes($0.1)) } }

    func transmit(_ command: [UInt8]) throws -> [UInt8] {
        sent.append(command)
        guard !script.isEmpty else {
            Issue.record("unexpected command \(Hex.encode(command))")
            return [0x6F, 0x00]
        }
        let next = script.removeFirst()
        #expect(command == next.command, "sent \(Hex.encode(command)), script expects \(Hex.encode(next.command))")
        return next.response
    }

    var finished: Bool { script.isEmpty }
}

/// The T=0 rules over a transport, with the exchanges of the EMV Contact Interface Specification v1.0 Annex A as
/// openemv/emv-utils writes them for PC/SC (tests/emv_ttl_pcsc_test.c).
@Suite struct APDUExchangeTests {
    static let selectPSE = "00A404000E315041592E5359532E444446303100"
    static let readRecord = "00B2010C00"
    /// The PSE FCI of Annex A4 and the record of Annex A2.
    static let fci = "6F24840E315041592E5359532E4444463031A5128801015F2D08656E6573667264659F110101"
    static let record = "701A61184F07A0000000031010500A564953412044454249548701 01"

    func run(_ command: String, _ script: [(String, String)], options: APDUExchange.Options = .default) throws
        -> (ResponseAPDU, ScriptedTransport)
    {
        let transport = ScriptedTransport(script)
        let response = try APDUExchange.run(try CommandAPDU(apduEncoded: bytes(command)), options: options) {
            try transport.transmit($0)
        }
        #expect(transport.finished, "every scripted exchange happened")
        return (response, transport)
    }

    @Test func annexA1toA4NormalAndErrorProcessing() throws {
        #expect(try run("12345678", [("12345678", "9000")]).0 == ResponseAPDU(statusWord: .normalProcessing))
        #expect(try run("12345678", [("12345678", "6A81")]).0.statusWord == .functionNotSupported)
        // A2: READ RECORD with Le=00, 6C1C, resend with Le=1C.
        let a2 = try run(Self.readRecord, [(Self.readRecord, "6C1C"), ("00B2010C1C", Self.record + "9000")]).0
        #expect(a2 == ResponseAPDU(data: bytes(Self.record), statusWord: .normalProcessing))
        #expect(try run(Self.readRecord, [(Self.readRecord, "6A81")]).0.statusWord == .functionNotSupported)
        let late = try run(Self.readRecord, [(Self.readRecord, "6C1C"), ("00B2010C1C", "6581")]).0
        #expect(late == ResponseAPDU(statusWord: StatusWord(rawValue: 0x6581)))
        // A3: EXTERNAL AUTHENTICATE, case 3.
        #expect(try run("0082000004DEADBEEF", [("0082000004DEADBEEF", "9000")]).0.statusWord == .normalProcessing)
        // A4: SELECT, 6126, GET RESPONSE with Le=26.
        let a4 = try run(Self.selectPSE, [(Self.selectPSE, "6126"), ("00C0000026", Self.fci + "9000")]).0
        #expect(a4 == ResponseAPDU(data: bytes(Self.fci), statusWord: .normalProcessing))
        let a4late = try run(Self.selectPSE, [(Self.selectPSE, "6126"), ("00C0000026", "6581")]).0
        #expect(a4late.data.isEmpty && a4late.statusWord.rawValue == 0x6581)
    }

    @Test func annexA5andA6ChainedProcedureBytes() throws {
        // A5: 6C then 61 then a partial answer with 61 again; the data is concatenated.
        let a5 = try run(
            Self.readRecord,
            [
                (Self.readRecord, "6C1C"),
                ("00B2010C1C", "611C"),
                ("00C000001C", "701A61184F07A0000000031010 610F"),
                ("00C000000F", "500A56495341204445424954870101 9000"),
            ]
        ).0
        #expect(a5 == ResponseAPDU(data: bytes(Self.record), statusWord: .normalProcessing))
        // A6: several 61xx in a row.
        let a6 = try run(
            Self.selectPSE,
            [
                (Self.selectPSE, "6126"),
                ("00C0000026", "6F24840E315041592E5359532E4444 6114"),
                ("00C0000014", "463031A5128801015F2D08656E6573667264659F110101 9000"),
            ]
        ).0
        #expect(a6.data == bytes(Self.fci) && a6.statusWord == .normalProcessing)
    }

    @Test func annexA7WarningsOnCase4() throws {
        // First example: 6286 to SELECT; GET RESPONSE Le=00; 6C26; GET RESPONSE Le=26; data returned with 6286.
        let first = try run(
            Self.selectPSE,
            [
                (Self.selectPSE, "6286"), ("00C0000000", "6C26"), ("00C0000026", Self.fci + "9000"),
            ]
        ).0
        #expect(first == ResponseAPDU(data: bytes(Self.fci), statusWord: StatusWord(rawValue: 0x6286)))
        // Second example: 6126, then the data comes with the warning 6286.
        let second = try run(Self.selectPSE, [(Self.selectPSE, "6126"), ("00C0000026", Self.fci + "6286")]).0
        #expect(second == ResponseAPDU(data: bytes(Self.fci), statusWord: StatusWord(rawValue: 0x6286)))
        // No data behind the warning (a T=1 card): the warning alone.
        let bare = try run(Self.selectPSE, [(Self.selectPSE, "6283"), ("00C0000000", "6985")]).0
        #expect(bare == ResponseAPDU(statusWord: .selectedFileInvalidated))
        // Switched off: the warning is the answer.
        let off = try run(
            Self.selectPSE, [(Self.selectPSE, "6283")], options: APDUExchange.Options(fetchesDataAfterWarning: false)
        ).0
        #expect(off == ResponseAPDU(statusWord: .selectedFileInvalidated))
        // A warning to a case 2 command is final: nothing to fetch.
        #expect(try run(Self.readRecord, [(Self.readRecord, "6283")]).0.statusWord == .selectedFileInvalidated)
    }

    @Test func limits() throws {
        let looping = ScriptedTransport(
            Array(repeating: ("00C0000010", "00112233445566778899AABBCCDDEEFF 6110"), count: 40))
        var sent = 0
        let tooMany = codecErrorCode {
            _ = try APDUExchange.run(try .getResponse(length: 0x10)) { command in
                sent += 1
                return try looping.transmit(command)
            }
        }
        #expect(tooMany == .tooManyExchanges)
        #expect(sent == APDUExchange.Options.default.maximumExchanges)

        let small = APDUExchange.Options(maximumResponseLength: 20)
        let transport = ScriptedTransport([(Self.selectPSE, "6126"), ("00C0000026", Self.fci + "9000")])
        let tooLong = codecErrorCode {
            _ = try APDUExchange.run(try CommandAPDU(apduEncoded: bytes(Self.selectPSE)), options: small) {
                try transport.transmit($0)
            }
        }
        #expect(tooLong == .responseTooLong)

        // An empty answer (a pulled card behind PC/SC) is an error, not a response.
        #expect(codecErrorCode { _ = try APDUExchange.run(try .getChallenge()) { _ in [] } } == .responseTooShort)
        // Transport errors pass through unchanged.
        struct Pulled: Error {}
        #expect(throws: Pulled.self) { _ = try APDUExchange.run(try .getChallenge()) { _ in throw Pulled() } }
    }

    @Test func drivenStepByStepWithoutIO() throws {
        var exchange = APDUExchange(command: try .select(name: Array("1PAY.SYS.DDF01".utf8)))
        #expect(exchange.firstTransmission == bytes(Self.selectPSE))
        #expect(try exchange.receive(bytes("6126")) == .transmit(bytes("00C0000026")))
        let done = try exchange.receive(bytes(Self.fci + "9000"))
        #expect(done == .complete(ResponseAPDU(data: bytes(Self.fci), statusWord: .normalProcessing)))
        #expect(exchange.exchangeCount == 2)
    }
}
