import CLinux
public import DeviceKit
public import SystemPackage

/// A keypad behind a Linux input device (`/dev/input/eventN`): a USB keypad, or the kernel's own `matrix-keypad` /
/// `gpio-keys` drivers configured in the device tree.
///
/// Reads `struct input_event` records (linux/input.h) on a ``DeviceThread`` and maps `EV_KEY` codes to ``Key``s:
/// value 1 is a press, 0 a release, 2 (autorepeat) is ignored. The device is grabbed (`EVIOCGRAB`) so that its keys
/// reach nobody else. After the kernel reports lost events (`SYN_DROPPED`), the key state is read back
/// (`EVIOCGKEY`) and the differences are reported; a descriptor that cannot tell (not an evdev node) reports every
/// held key as released.
public final class EvdevKeypad: KeypadDevice {
    /// The codes of linux/input-event-codes.h the keypad understands without a board keymap: the digits of the
    /// main block and of the keypad, dot, Enter, Esc (Cancel), Backspace and Delete (Clear), F1–F4, Up, Down, and
    /// Menu / Compose (Menu).
    public static let defaultKeymap: [UInt16: Key] = {
        var map: [UInt16: Key] = [:]
        let digits: [Key] = [.digit0, .digit1, .digit2, .digit3, .digit4, .digit5, .digit6, .digit7, .digit8, .digit9]
        let mainDigits = [KEY_0, KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9]
        let keypadDigits = [KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4, KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9]
        for (index, key) in digits.enumerated() {
            map[UInt16(mainDigits[index])] = key
            map[UInt16(keypadDigits[index])] = key
        }
        let others: [(Int32, Key)] = [
            (KEY_DOT, .dot), (KEY_KPDOT, .dot),
            (KEY_ENTER, .enter), (KEY_KPENTER, .enter),
            (KEY_ESC, .cancel),
            (KEY_BACKSPACE, .clear), (KEY_DELETE, .clear),
            (KEY_F1, .f1), (KEY_F2, .f2), (KEY_F3, .f3), (KEY_F4, .f4),
            (KEY_UP, .up), (KEY_DOWN, .down),
            (KEY_MENU, .menu), (KEY_COMPOSE, .menu),
        ]
        for (code, key) in others { map[UInt16(code)] = key }
        return map
    }()

    /// The code-to-key map in use: ``defaultKeymap`` with the board's override applied.
    public let keymap: [UInt16: Key]

    /// Tracks keys and decodes records; handed from one stream's device thread to the next.
    ///
    /// `@unchecked Sendable`: only the body of a ``DeviceThreadStreamRunner`` loop touches it, and the runner joins
    /// a loop's thread before it starts the next, so one thread at a time uses it; `inUse` checks that at run time.
    private final class ReaderState: @unchecked Sendable {
        let input: EvdevInput
        var tracker: EvdevKeyTracker
        private var inUse = false

        init(input: EvdevInput, keymap: [UInt16: Key]) {
            self.input = input
            tracker = EvdevKeyTracker(keymap: keymap)
        }

        func run(stop: StopSignal, emit: (KeyEvent) -> Void) throws {
            precondition(!inUse, "two threads read one evdev keypad")
            inUse = true
            defer { inUse = false }
            while let events = try input.nextEvents(stop: stop) {
                for event in events {
                    for keyEvent in tracker.process(event, keysDown: input.keysDown) { emit(keyEvent) }
                }
            }
            // Stopped: records not yet read stay in the kernel's queue (or the pipe) for the next stream.
        }
    }

    private let state: ReaderState
    private let runner = DeviceThreadStreamRunner<KeyEvent>(threadName: "keypad-evdev", bufferLimit: 256)

    /// Opens and grabs the input device at `path`.
    /// - Parameters:
    ///   - path: The event device, such as `/dev/input/event0` or a `/dev/input/by-path/…` link.
    ///   - keymapOverride: Code-to-key entries that replace or extend ``defaultKeymap``: for a `matrix-keypad` whose
    ///     device tree `linux,keymap` uses other codes.
    /// - Throws: ``EvdevError`` (``EvdevError/Code/open``, ``EvdevError/Code/grab``).
    public convenience init(path: String, keymapOverride: [UInt16: Key] = [:]) throws(EvdevError) {
        try self.init(input: EvdevInput(path: path), keymapOverride: keymapOverride)
    }

    /// Takes over a descriptor that carries `struct input_event` records: an evdev node (then grabbed) or, in
    /// tests, the read end of a pipe.
    /// - Parameters:
    ///   - descriptor: The descriptor; the keypad closes it, also when this initializer throws.
    ///   - name: A name for errors and logs.
    ///   - keymapOverride: As for ``init(path:keymapOverride:)``.
    /// - Throws: ``EvdevError/Code/grab`` when the node is grabbed by another process.
    public convenience init(
        takingOwnershipOf descriptor: FileDescriptor, name: String, keymapOverride: [UInt16: Key] = [:]
    ) throws(EvdevError) {
        try self.init(input: EvdevInput(takingOwnershipOf: descriptor, name: name), keymapOverride: keymapOverride)
    }

    private init(input: EvdevInput, keymapOverride: [UInt16: Key]) {
        keymap = Self.defaultKeymap.merging(keymapOverride) { _, override in override }
        state = ReaderState(input: input, keymap: keymap)
    }

    /// Key presses and releases until the stream ends or the device fails (an ``EvdevError``,
    /// ``EvdevError/Code/deviceVanished`` when it is unplugged). A new call ends the previous stream first. Keep the
    /// keypad alive while the stream is read: releasing it stops the thread and finishes the stream.
    public func keyEvents() -> AsyncThrowingStream<KeyEvent, any Error> {
        let state = self.state
        return runner.start { stop, yield in
            try state.run(stop: stop, emit: yield)
        }
    }

    /// Ends the current stream, if any, and waits for its thread to end (the stream finishes plainly). The keypad
    /// stays open: a later call of ``keyEvents()`` starts reading again.
    public func stop() { runner.stop() }
}

/// Turns `EV_KEY` records into ``KeyEvent``s: one press per press, one release per release of a pressed key,
/// autorepeat ignored, and a resynchronisation after `SYN_DROPPED`. Pure: the key state is read through a closure.
struct EvdevKeyTracker {
    let keymap: [UInt16: Key]
    /// Codes (with a key) that were reported pressed and not yet released.
    private(set) var down: [UInt16] = []
    /// Between `SYN_DROPPED` and the next `SYN_REPORT`: records are incomplete and are dropped.
    private var dropping = false

    init(keymap: [UInt16: Key]) { self.keymap = keymap }

    mutating func process(_ event: EvdevEvent, keysDown: () -> Set<UInt16>?) -> [KeyEvent] {
        if event.type == EvdevEvent.typeSync {
            if event.code == EvdevEvent.syncDropped {
                dropping = true
            } else if event.code == EvdevEvent.syncReport, dropping {
                dropping = false
                return resynchronize(keysDown() ?? [])
            }
            return []
        }
        guard !dropping, event.type == EvdevEvent.typeKey, let key = keymap[event.code] else { return [] }
        switch event.value {
        case EvdevEvent.keyPressed where !down.contains(event.code):
            down.append(event.code)
            return [KeyEvent(key, .pressed)]
        case EvdevEvent.keyReleased:
            guard let index = down.firstIndex(of: event.code) else { return [] }
            down.remove(at: index)
            return [KeyEvent(key, .released)]
        default:
            return []  // autorepeat (2), or a press of a key already down
        }
    }

    /// Reports what changed while events were lost: releases of keys no longer down, then presses of new ones.
    private mutating func resynchronize(_ nowDown: Set<UInt16>) -> [KeyEvent] {
        var events: [KeyEvent] = []
        for code in down where !nowDown.contains(code) {
            if let key = keymap[code] { events.append(KeyEvent(key, .released)) }
        }
        down.removeAll { !nowDown.contains($0) }
        for code in nowDown.sorted() where keymap[code] != nil && !down.contains(code) {
            down.append(code)
            if let key = keymap[code] { events.append(KeyEvent(key, .pressed)) }
        }
        return events
    }
}
