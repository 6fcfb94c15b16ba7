import CLinux
public import DeviceKit
public import SystemPackage

/// A QR / barcode scanner in keyboard-wedge mode: it types each code as key presses on a Linux input device and
/// ends it with Enter.
///
/// Reads `struct input_event` records on a ``DeviceThread`` and decodes them with the US keyboard layout (Shift
/// and Caps Lock honoured, keypad digits and operators included). Each `KEY_ENTER` / `KEY_KPENTER` ends one code;
/// empty lines are skipped, keys without a character (Ctrl, Alt, function keys) are ignored. The device is grabbed
/// (`EVIOCGRAB`) so that the scanned text reaches nobody else.
public final class EvdevCodeScanner: CodeScannerDevice {
    /// The default length cap of one code: a QR code holds at most 4296 alphanumeric characters (ISO/IEC 18004,
    /// version 40-L); a payment QR code is far shorter.
    public static let defaultMaximumLength = 4096

    /// Decodes records; handed from one stream's device thread to the next.
    ///
    /// `@unchecked Sendable`: only the body of a ``DeviceThreadStreamRunner`` loop touches it, and the runner joins
    /// a loop's thread before it starts the next, so one thread at a time uses it; `inUse` checks that at run time.
    private final class ReaderState: @unchecked Sendable {
        let input: EvdevInput
        var decoder: EvdevWedgeDecoder
        /// Records read but not yet decoded when a stream ended with an error; the next stream starts with them.
        private var backlog: ArraySlice<EvdevEvent> = []
        private var inUse = false

        init(input: EvdevInput, maximumLength: Int) {
            self.input = input
            decoder = EvdevWedgeDecoder(maximumLength: maximumLength)
        }

        func run(stop: StopSignal, emit: (String) -> Void) throws {
            precondition(!inUse, "two threads read one evdev code scanner")
            inUse = true
            defer { inUse = false }
            while true {
                if backlog.isEmpty {
                    guard let events = try input.nextEvents(stop: stop) else { return }
                    backlog = events[...]
                }
                while let event = backlog.popFirst() {
                    switch decoder.process(event, keysDown: input.keysDown) {
                    case nil: break
                    case .code(let code): emit(code)
                    case .tooLong:
                        throw EvdevError(
                            .codeTooLong, device: input.name,
                            reason: "a scanned line reached \(decoder.maximumLength) characters with no Enter")
                    }
                }
            }
        }
    }

    private let state: ReaderState
    private let runner = DeviceThreadStreamRunner<String>(threadName: "scanner-evdev", bufferLimit: 64)

    /// Opens and grabs the scanner's input device.
    /// - Parameters:
    ///   - path: The event device, best a stable `/dev/input/by-id/…` link.
    ///   - maximumLength: The most characters one code may have (at least 1).
    /// - Throws: ``EvdevError`` (``EvdevError/Code/open``, ``EvdevError/Code/grab``).
    public convenience init(path: String, maximumLength: Int = EvdevCodeScanner.defaultMaximumLength) throws(EvdevError) {
        try self.init(input: EvdevInput(path: path), maximumLength: maximumLength)
    }

    /// Takes over a descriptor that carries `struct input_event` records: an evdev node (then grabbed) or, in
    /// tests, the read end of a pipe.
    /// - Parameters:
    ///   - descriptor: The descriptor; the scanner closes it, also when this initializer throws.
    ///   - name: A name for errors and logs.
    ///   - maximumLength: The most characters one code may have (at least 1).
    /// - Throws: ``EvdevError/Code/grab`` when the node is grabbed by another process.
    public convenience init(
        takingOwnershipOf descriptor: FileDescriptor, name: String,
        maximumLength: Int = EvdevCodeScanner.defaultMaximumLength
    ) throws(EvdevError) {
        try self.init(input: EvdevInput(takingOwnershipOf: descriptor, name: name), maximumLength: maximumLength)
    }

    private init(input: EvdevInput, maximumLength: Int) {
        precondition(maximumLength >= 1, "a code needs room for at least one character, got \(maximumLength)")
        state = ReaderState(input: input, maximumLength: maximumLength)
    }

    /// Each scanned code without its Enter, until the stream ends or the device fails (an ``EvdevError``).
    ///
    /// A line that reaches the length cap ends the stream with ``EvdevError/Code/codeTooLong``; the next call of
    /// `codes()` goes on reading and drops the rest of that line, up to its Enter. A new call ends the previous
    /// stream first. Keep the scanner alive while the stream is read: releasing it stops the thread and finishes
    /// the stream.
    public func codes() -> AsyncThrowingStream<String, any Error> {
        let state = self.state
        return runner.start { stop, yield in
            try state.run(stop: stop, emit: yield)
        }
    }

    /// Ends the current stream, if any, and waits for its thread to end (the stream finishes plainly). The scanner
    /// stays open: a later call of ``codes()`` starts reading again.
    public func stop() { runner.stop() }
}

/// Decodes keyboard-wedge key records into lines of text with the US layout. Pure: the key state is read through a
/// closure after lost events.
struct EvdevWedgeDecoder {
    enum Output: Equatable {
        /// A complete code (the Enter is not part of it).
        case code(String)
        /// The line reached the cap; the rest of it, up to its Enter, is dropped.
        case tooLong
    }

    /// Unshifted and shifted character of each key of the US layout (linux/input-event-codes.h codes).
    static let usLayout: [UInt16: (plain: Character, shifted: Character)] = {
        let letters: [(Int32, Character)] = [
            (KEY_A, "a"), (KEY_B, "b"), (KEY_C, "c"), (KEY_D, "d"), (KEY_E, "e"), (KEY_F, "f"), (KEY_G, "g"),
            (KEY_H, "h"), (KEY_I, "i"), (KEY_J, "j"), (KEY_K, "k"), (KEY_L, "l"), (KEY_M, "m"), (KEY_N, "n"),
            (KEY_O, "o"), (KEY_P, "p"), (KEY_Q, "q"), (KEY_R, "r"), (KEY_S, "s"), (KEY_T, "t"), (KEY_U, "u"),
            (KEY_V, "v"), (KEY_W, "w"), (KEY_X, "x"), (KEY_Y, "y"), (KEY_Z, "z"),
        ]
        let symbols: [(Int32, Character, Character)] = [
            (KEY_1, "1", "!"), (KEY_2, "2", "@"), (KEY_3, "3", "#"), (KEY_4, "4", "$"), (KEY_5, "5", "%"),
            (KEY_6, "6", "^"), (KEY_7, "7", "&"), (KEY_8, "8", "*"), (KEY_9, "9", "("), (KEY_0, "0", ")"),
            (KEY_MINUS, "-", "_"), (KEY_EQUAL, "=", "+"), (KEY_LEFTBRACE, "[", "{"), (KEY_RIGHTBRACE, "]", "}"),
            (KEY_SEMICOLON, ";", ":"), (KEY_APOSTROPHE, "'", "\""), (KEY_GRAVE, "`", "~"),
            (KEY_BACKSLASH, "\\", "|"), (KEY_COMMA, ",", "<"), (KEY_DOT, ".", ">"), (KEY_SLASH, "/", "?"),
            (KEY_SPACE, " ", " "), (KEY_TAB, "\t", "\t"),
            (KEY_KP0, "0", "0"), (KEY_KP1, "1", "1"), (KEY_KP2, "2", "2"), (KEY_KP3, "3", "3"), (KEY_KP4, "4", "4"),
            (KEY_KP5, "5", "5"), (KEY_KP6, "6", "6"), (KEY_KP7, "7", "7"), (KEY_KP8, "8", "8"), (KEY_KP9, "9", "9"),
            (KEY_KPDOT, ".", "."), (KEY_KPMINUS, "-", "-"), (KEY_KPPLUS, "+", "+"), (KEY_KPASTERISK, "*", "*"),
            (KEY_KPSLASH, "/", "/"),
        ]
        var map: [UInt16: (plain: Character, shifted: Character)] = [:]
        for (code, letter) in letters { map[UInt16(code)] = (letter, Character(letter.uppercased())) }
        for (code, plain, shifted) in symbols { map[UInt16(code)] = (plain, shifted) }
        return map
    }()

    private static let shiftCodes: Set<UInt16> = [UInt16(KEY_LEFTSHIFT), UInt16(KEY_RIGHTSHIFT)]
    private static let enterCodes: Set<UInt16> = [UInt16(KEY_ENTER), UInt16(KEY_KPENTER)]
    private static let capsLockCode = UInt16(KEY_CAPSLOCK)

    let maximumLength: Int
    private var line = ""
    private var lineLength = 0
    private var shiftsDown: Set<UInt16> = []
    private var capsLock = false
    /// The current line is incomplete (too long, or events were lost): drop it up to its Enter.
    private var discardingLine = false
    /// Between `SYN_DROPPED` and the next `SYN_REPORT`.
    private var dropping = false

    init(maximumLength: Int) { self.maximumLength = maximumLength }

    mutating func process(_ event: EvdevEvent, keysDown: () -> Set<UInt16>?) -> Output? {
        if event.type == EvdevEvent.typeSync {
            if event.code == EvdevEvent.syncDropped {
                dropping = true
                discardingLine = true
                line = ""
                lineLength = 0
            } else if event.code == EvdevEvent.syncReport, dropping {
                dropping = false
                shiftsDown = (keysDown() ?? []).intersection(Self.shiftCodes)
            }
            return nil
        }
        guard !dropping, event.type == EvdevEvent.typeKey else { return nil }
        if Self.shiftCodes.contains(event.code) {
            if event.value == EvdevEvent.keyReleased { shiftsDown.remove(event.code) } else { shiftsDown.insert(event.code) }
            return nil
        }
        guard event.value == EvdevEvent.keyPressed else { return nil }  // releases and autorepeat type nothing
        if event.code == Self.capsLockCode {
            capsLock.toggle()
            return nil
        }
        if Self.enterCodes.contains(event.code) {
            defer {
                line = ""
                lineLength = 0
                discardingLine = false
            }
            return discardingLine || lineLength == 0 ? nil : .code(line)
        }
        guard let characters = Self.usLayout[event.code], !discardingLine else { return nil }
        if lineLength >= maximumLength {
            line = ""
            lineLength = 0
            discardingLine = true
            return .tooLong
        }
        var shifted = !shiftsDown.isEmpty
        if capsLock, characters.plain.isLetter { shifted.toggle() }
        line.append(shifted ? characters.shifted : characters.plain)
        lineLength += 1
        return nil
    }
}
