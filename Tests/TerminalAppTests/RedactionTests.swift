#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import SystemPackage
import Testing
import TerminalApp

/// A pipe whose write end feeds a ``LogSink``; the test reads the lines back from the read end.
private final class LogPipe {
    let read: FileDescriptor
    let write: FileDescriptor

    init() throws {
        (read, write) = try FileDescriptor.pipe(options: .closeOnExec)
    }

    deinit {
        try? read.close()
        try? write.close()
    }

    func logger(format: LogSink.Format, label: String = "test") -> Logger {
        let sink = LogSink(descriptor: write, format: format)
        return Logger(label: label) { label in RedactingLogHandler(label: label, sink: sink, logLevel: .trace) }
    }

    /// Everything written so far (the handler writes synchronously, so it is all in the pipe already).
    func lines() -> [String] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var pfd = pollfd(fd: read.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 0) == 1 else { break }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(read.rawValue, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            data += buffer[..<count]
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }
}

/// Test card numbers (Luhn-valid, from public test-card ranges): Visa 16, Amex 15, Maestro 19, a 13-digit Visa.
private let visa = "4761739001010119"
private let amex = "371449635398431"
private let maestro19 = "6759649826438453011"
private let visa13 = "4222222222222"

@Suite("log redaction")
struct RedactionTests {
    @Test("Luhn check (ISO/IEC 7812-1 Annex B)")
    func luhn() {
        for valid in [visa, amex, maestro19, visa13, "79927398713"] { #expect(Redaction.isLuhnValid(valid), "\(valid)") }
        for invalid in ["4761739001010118", "79927398710", "", "4761 7390", "12a4"] {
            #expect(!Redaction.isLuhnValid(invalid), "\(invalid)")
        }
    }

    @Test("MaskedPAN shows first six and last four only")
    func maskedPAN() {
        #expect(MaskedPAN(visa).description == "476173******0119")
        #expect(MaskedPAN("4761 7390-0101 0119").description == "476173******0119")
        #expect(MaskedPAN(amex).description == "371449*****8431")
        #expect(MaskedPAN(maestro19).description == "675964*********3011")
        #expect(MaskedPAN(visa13).description == "422222***2222")
        #expect(MaskedPAN("123456789012").description == "************")
        #expect(MaskedPAN(compressedNumeric: [0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19]).description == "476173******0119")
        #expect(MaskedPAN(compressedNumeric: [0x37, 0x14, 0x49, 0x63, 0x53, 0x98, 0x43, 0x1F]).description == "371449*****8431")
        #expect("\(MaskedPAN(visa))" == "476173******0119")
    }

    @Test(
        "PANs in free text are masked",
        arguments: [
            ("card \(visa) read", "card 476173******0119 read"),
            ("card 4761 7390 0101 0119 read", "card 476173******0119 read"),
            ("card 4761-7390-0101-0119.", "card 476173******0119."),
            ("amex=\(amex)", "amex=371449*****8431"),
            ("pan:\(maestro19)!", "pan:675964*********3011!"),
            ("short \(visa13)", "short 422222***2222"),
            ("two \(visa) and \(amex)", "two 476173******0119 and 371449*****8431"),
            ("card \(visa) 1225", "card 476173******0119 1225"),
            ("ref 12 \(visa)", "ref 12 476173******0119"),
            ("glued PAN\(visa)x", "glued PAN476173******0119x"),
        ])
    func pansInText(input: String, expected: String) {
        #expect(Redaction.redact(input) == expected)
    }

    @Test(
        "numbers that are not PANs are untouched",
        arguments: [
            "amount 4761739001010118 fails Luhn",  // 16 digits, Luhn fails
            "id 123456789012",  // 12 digits: too short
            "long 47617390010101190000",  // 20 digits: too long, and no PAN starts inside a digit run
            "spaced 4761  7390 0101 0119",  // a double space breaks the grouping (documented)
            "dotted 4761.7390.0101.0119",
            "no digits at all",
            "already masked 476173******0119",
        ])
    func nonPANsUntouched(input: String) {
        #expect(Redaction.redact(input) == input)
    }

    @Test(
        "track data is redacted wholesale",
        arguments: [
            (";\(visa)=25122011143804400000?", ";[REDACTED-TRACK]"),
            ("t2eq \(visa)D25122011143804400000F end", "t2eq [REDACTED-TRACK] end"),
            ("tlv 5713\(visa)D25122011143804400000F9F2701", "tlv [REDACTED-TRACK]"),
            ("lower \(visa)d2512201 next", "lower [REDACTED-TRACK] next"),
            ("%B\(visa)^CARDHOLDER/TEST^2512201100000000000?", "%[REDACTED-TRACK]"),
            ("%B\(visa)^DOE/JANE MS^25122011 rest", "%[REDACTED-TRACK] rest"),
        ])
    func trackData(input: String, expected: String) {
        #expect(Redaction.redact(input) == expected)
    }

    @Test("metadata keys that name secrets are redacted; KCV and key ids are not")
    func secretKeys() {
        for key in [
            "pin", "pinBlock", "pin_block", "track1", "track2", "track2Equivalent", "key", "sessionKey", "crypto.dataKey",
            "cvv", "CVC", "password", "authCode", "emv.track2", "online-pin", "ipek_key", "keys",
        ] {
            #expect(Redaction.kind(ofKey: key) == .secret, "\(key)")
        }
        for key in ["kcv", "key.kcv", "keyKcv", "keyId", "keypad", "amount", "txn.id", "key.slot"] {
            #expect(Redaction.kind(ofKey: key) == .plain, "\(key)")
        }
        for key in ["pan", "card.pan", "cardNumber", "primary_account_number"] {
            #expect(Redaction.kind(ofKey: key) == .pan, "\(key)")
        }
    }

    @Test("a record's message, metadata, nested metadata and error are redacted in the written line")
    func handlerRedactsEverything() throws {
        let pipe = try LogPipe()
        var logger = pipe.logger(format: .journal)
        logger[metadataKey: "terminal.id"] = "T-1"
        logger.error(
            "declined card \(visa)",
            error: RedactionTestFailure(),
            metadata: [
                "pinBlock": "041234FFFFFFFFFF",
                "card.pan": "4761739001010118",  // Luhn-failing, but under a PAN key
                "note": "customer typed 4761 7390 0101 0119",
                "track2": .dictionary(["raw": "whatever"]),
                "emv": .dictionary(["t57": "\(visa)D2512201", "sessionKey": "00112233", "kcv": "ABC123"]),
                "list": .array(["\(amex)", "plain"]),
                "key.kcv": "ABC123",
                "material": "\("0011223344556677", sensitivity: .secret)",
                "account": "\(visa13, sensitivity: .pan)",
            ])
        let lines = pipe.lines()
        try #require(lines.count == 1)
        let line = lines[0]
        #expect(
            line == "<3>test: declined card 476173******0119 account=422222***2222 card.pan=476173******0118 "
                + "emv=[kcv: ABC123, sessionKey: [REDACTED], t57: [REDACTED-TRACK]] "
                + "error.message=\"reader said 476173******0119\" error.type=TerminalAppTests.RedactionTestFailure "
                + "key.kcv=ABC123 list=[371449*****8431, plain] material=[REDACTED] "
                + "note=\"customer typed 476173******0119\" pinBlock=[REDACTED] terminal.id=T-1 track2=[REDACTED]")
        for secret in [visa, amex, visa13, "041234", "00112233", "0011223344556677", "4761 7390"] {
            #expect(!line.contains(secret), "\(secret) leaked")
        }
    }

    @Test("journal lines carry the sd-daemon(3) priority prefix and no timestamp")
    func journalFormat() throws {
        let pipe = try LogPipe()
        let logger = pipe.logger(format: .journal, label: "terminal.kernel")
        logger.trace("t")
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")
        #expect(
            pipe.lines() == [
                "<7>terminal.kernel: t", "<7>terminal.kernel: d", "<6>terminal.kernel: i", "<5>terminal.kernel: n",
                "<4>terminal.kernel: w", "<3>terminal.kernel: e", "<2>terminal.kernel: c",
            ])
    }

    @Test("plain lines start with a UTC ISO 8601 timestamp; control characters cannot break the line")
    func timestampedFormat() throws {
        let pipe = try LogPipe()
        let logger = pipe.logger(format: .timestamped)
        let before = LogTimestamp.now()
        logger.warning("two\nlines\u{1B}[2J", metadata: ["quote": "say \"hi\"", "empty": ""])
        let lines = pipe.lines()
        try #require(lines.count == 1)
        let line = lines[0]
        let stamp = String(line.prefix(24))
        #expect(isISO8601(stamp), "\(stamp)")
        #expect(stamp.prefix(10) == before.iso8601.prefix(10) || stamp.prefix(10) == LogTimestamp.now().iso8601.prefix(10))
        #expect(
            line.dropFirst(24) == " warning test: two\\nlines\\u{1B}[2J empty=\"\" quote=\"say \\\"hi\\\"\"")
    }

    @Test(
        "timestamps are formatted with gmtime_r",
        arguments: [
            (Int64(0), Int32(0), "1970-01-01T00:00:00.000Z"),
            (1_700_000_000, 123_456_789, "2023-11-14T22:13:20.123Z"),
            (951_782_400, 999_999_999, "2000-02-29T00:00:00.999Z"),
            (-1, 0, "1969-12-31T23:59:59.000Z"),
        ])
    func timestamps(seconds: Int64, nanoseconds: Int32, expected: String) {
        #expect(LogTimestamp(seconds: seconds, nanoseconds: nanoseconds).iso8601 == expected)
    }

    @Test("JOURNAL_STREAM counts only when it names the descriptor's device and inode (systemd.exec(7))")
    func journalStreamDetection() throws {
        let pipe = try LogPipe()
        var status = stat()
        try #require(fstat(pipe.write.rawValue, &status) == 0)
        let matching = "\(status.st_dev):\(status.st_ino)"
        #expect(LogSink.isJournalStream(pipe.write, environment: ["JOURNAL_STREAM": matching]))
        #expect(!LogSink.isJournalStream(pipe.write, environment: [:]))
        #expect(!LogSink.isJournalStream(pipe.write, environment: ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino + 1)"]))
        #expect(!LogSink.isJournalStream(pipe.write, environment: ["JOURNAL_STREAM": "garbage"]))
        #expect(LogSink.standardError(environment: [:]).format == .timestamped)
    }

    @Test("LoggingBootstrap installs the handler once")
    func bootstrapOnce() async {
        // LoggingSystem.bootstrap is process-wide and traps when repeated, so this runs in a child process.
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            guard LoggingBootstrap.bootstrap(level: .info, environment: [:]) else { exit(1) }
            guard !LoggingBootstrap.bootstrap(level: .debug, environment: [:]) else { exit(2) }
            let logger = Logger(label: "child")
            guard logger.logLevel == .info, logger.handler is RedactingLogHandler else { exit(3) }
            logger.debug("below the level")
            logger.info("bootstrapped", metadata: ["card": "\(visa)"])
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        let lines = stderr.split(separator: "\n").filter { $0.contains(" child: ") }
        #expect(lines.count == 1)
        #expect(lines.first?.hasSuffix(" info child: bootstrapped card=476173******0119") == true, "\(stderr)")
    }
}

struct RedactionTestFailure: Error, CustomStringConvertible {
    var description: String { "reader said \(visa)" }
}

private func isISO8601(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard bytes.count == 24 else { return false }
    for (index, byte) in bytes.enumerated() {
        switch index {
        case 4, 7: guard byte == UInt8(ascii: "-") else { return false }
        case 10: guard byte == UInt8(ascii: "T") else { return false }
        case 13, 16: guard byte == UInt8(ascii: ":") else { return false }
        case 19: guard byte == UInt8(ascii: ".") else { return false }
        case 23: guard byte == UInt8(ascii: "Z") else { return false }
        default: guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return false }
        }
    }
    return true
}
