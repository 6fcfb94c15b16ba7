import CLinux
import LinuxDevices
import SystemPackage
import Testing

/// Types ASCII text the way a keyboard-wedge scanner with a US layout does: Shift pressed around shifted
/// characters, then Enter.
private func wedgeTyping(_ text: String, enter: Int32? = KEY_ENTER) -> [UInt8] {
    let letters: [Int32] = [
        KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I, KEY_J, KEY_K, KEY_L, KEY_M,
        KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R, KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X, KEY_Y, KEY_Z,
    ]
    let digits: [Int32] = [KEY_0, KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9]
    let symbols: [Character: (Int32, Bool)] = [
        " ": (KEY_SPACE, false), "-": (KEY_MINUS, false), "_": (KEY_MINUS, true), "=": (KEY_EQUAL, false),
        "+": (KEY_EQUAL, true), "[": (KEY_LEFTBRACE, false), "{": (KEY_LEFTBRACE, true),
        "]": (KEY_RIGHTBRACE, false), "}": (KEY_RIGHTBRACE, true), ";": (KEY_SEMICOLON, false),
        ":": (KEY_SEMICOLON, true), "'": (KEY_APOSTROPHE, false), "\"": (KEY_APOSTROPHE, true),
        ",": (KEY_COMMA, false), "<": (KEY_COMMA, true), ".": (KEY_DOT, false), ">": (KEY_DOT, true),
        "/": (KEY_SLASH, false), "?": (KEY_SLASH, true), "\\": (KEY_BACKSLASH, false), "|": (KEY_BACKSLASH, true),
        "`": (KEY_GRAVE, false), "~": (KEY_GRAVE, true), "!": (KEY_1, true), "@": (KEY_2, true), "#": (KEY_3, true),
        "$": (KEY_4, true), "%": (KEY_5, true), "^": (KEY_6, true), "&": (KEY_7, true), "*": (KEY_8, true),
        "(": (KEY_9, true), ")": (KEY_0, true),
    ]
    var bytes: [UInt8] = []
    for character in text {
        let code: Int32
        let shifted: Bool
        if character.isASCII, character.isLetter, let lower = Character(character.lowercased()).asciiValue {
            code = letters[Int(lower - UInt8(ascii: "a"))]
            shifted = character.isUppercase
        } else if let digit = character.wholeNumberValue, character.isASCII {
            code = digits[digit]
            shifted = false
        } else if let symbol = symbols[character] {
            (code, shifted) = symbol
        } else {
            preconditionFailure("no US key types \(character)")
        }
        if shifted { bytes += EvdevRecords.key(KEY_LEFTSHIFT, 1) }
        bytes += EvdevRecords.tap(code)
        if shifted { bytes += EvdevRecords.key(KEY_LEFTSHIFT, 0) }
    }
    if let enter { bytes += EvdevRecords.tap(enter) }
    return bytes
}

@Suite struct EvdevCodeScannerTests {
    @Test func decodesLinesWithTheUSLayout() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        let scanner = try EvdevCodeScanner(takingOwnershipOf: readEnd, name: "pipe-scanner")
        let first = "https://pay.example/q?id=AB12-cd_34&amt=12.50"
        let second = #"Hello, World! {"x": [1|2]} <~`^%$#@*()+=;:'/\?>"#
        try writeEnd.writeAll(wedgeTyping(first) + wedgeTyping(second, enter: KEY_KPENTER))
        try writeEnd.close()
        let (codes, error) = try await EvdevRecords.collect(scanner.codes())
        withExtendedLifetime(scanner) {}
        #expect(codes == [first, second])
        #expect((error as? EvdevError)?.code == .deviceVanished)
    }

    @Test func ignoresUnknownKeysAutorepeatAndEmptyLines() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        let scanner = try EvdevCodeScanner(takingOwnershipOf: readEnd, name: "pipe-scanner")
        var bytes = EvdevRecords.tap(KEY_ENTER) + EvdevRecords.tap(KEY_KPENTER)  // empty lines
        bytes += EvdevRecords.tap(KEY_1) + EvdevRecords.tap(KEY_LEFTCTRL) + EvdevRecords.tap(KEY_F5)
        bytes += EvdevRecords.key(KEY_2, 1) + EvdevRecords.key(KEY_2, 2) + EvdevRecords.key(KEY_2, 0)
        bytes += EvdevRecords.tap(KEY_KP3) + EvdevRecords.tap(KEY_KPASTERISK) + EvdevRecords.tap(KEY_ENTER)
        // Caps Lock flips letters only; Shift flips them back.
        bytes += EvdevRecords.tap(KEY_CAPSLOCK) + EvdevRecords.tap(KEY_A) + EvdevRecords.tap(KEY_1)
        bytes += EvdevRecords.key(KEY_RIGHTSHIFT, 1) + EvdevRecords.tap(KEY_B) + EvdevRecords.key(KEY_RIGHTSHIFT, 0)
        bytes += EvdevRecords.tap(KEY_CAPSLOCK) + EvdevRecords.tap(KEY_C) + EvdevRecords.tap(KEY_ENTER)
        try writeEnd.writeAll(bytes)
        try writeEnd.close()
        let (codes, _) = try await EvdevRecords.collect(scanner.codes())
        withExtendedLifetime(scanner) {}
        #expect(codes == ["123*", "A1bc"])
    }

    @Test func endlessLineEndsTheStreamAndTheNextStreamSkipsItsRest() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        let scanner = try EvdevCodeScanner(takingOwnershipOf: readEnd, name: "pipe-scanner", maximumLength: 8)
        try writeEnd.writeAll(wedgeTyping("12345678") + wedgeTyping("0123456789abc") + wedgeTyping("ok"))
        try writeEnd.close()

        let (codes, error) = try await EvdevRecords.collect(scanner.codes())
        #expect(codes == ["12345678"], "a line of exactly the cap is fine")
        #expect((error as? EvdevError)?.code == .codeTooLong)

        let (rest, end) = try await EvdevRecords.collect(scanner.codes())
        withExtendedLifetime(scanner) {}
        #expect(rest == ["ok"])
        #expect((end as? EvdevError)?.code == .deviceVanished)
    }

    @Test func lostEventsDropTheLineInProgress() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        let scanner = try EvdevCodeScanner(takingOwnershipOf: readEnd, name: "pipe-scanner")
        var bytes = wedgeTyping("AB", enter: nil)
        bytes += EvdevRecords.record(EV_SYN, SYN_DROPPED, 0)
        bytes += EvdevRecords.record(EV_KEY, KEY_C, 1)
        bytes += EvdevRecords.record(EV_SYN, SYN_REPORT, 0)
        bytes += wedgeTyping("D") + wedgeTyping("next")
        try writeEnd.writeAll(bytes)
        try writeEnd.close()
        let (codes, _) = try await EvdevRecords.collect(scanner.codes())
        withExtendedLifetime(scanner) {}
        #expect(codes == ["next"])
    }

    @Test func defaultLengthCapHoldsTheLargestPaymentQRCodes() {
        #expect(EvdevCodeScanner.defaultMaximumLength == 4096)
    }
}
