#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import DeviceKit
import LinuxDevices
import SystemPackage
import Testing

private struct EvdevTestTimedOut: Error {}

/// Real `struct input_event` records (linux/input.h) for feeding the evdev drivers through a pipe.
enum EvdevRecords {
    /// One record.
    static func record(_ type: Int32, _ code: Int32, _ value: Int32) -> [UInt8] {
        var event = input_event()
        event.type = UInt16(type)
        event.code = UInt16(code)
        event.value = value
        return withUnsafeBytes(of: &event) { Array($0) }
    }

    /// An `EV_KEY` record followed by `SYN_REPORT`, as the kernel sends a key change.
    static func key(_ code: Int32, _ value: Int32) -> [UInt8] {
        record(EV_KEY, code, value) + record(EV_SYN, SYN_REPORT, 0)
    }

    /// A press and a release.
    static func tap(_ code: Int32) -> [UInt8] { key(code, 1) + key(code, 0) }

    /// Polls `condition` every 5 ms for up to `timeoutMilliseconds`.
    static func eventually(timeoutMilliseconds: Int = 2000, _ condition: () -> Bool) async -> Bool {
        for _ in 0..<(timeoutMilliseconds / 5) {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    /// How many threads of this process carry `name` (/proc/self/task/*/comm).
    static func threads(named name: String) -> Int {
        guard let directory = opendir("/proc/self/task") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !tid.hasPrefix(".") else { continue }
            let fd = open("/proc/self/task/\(tid)/comm", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }  // the thread ended meanwhile
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, buffer.count)
            close(fd)
            guard n > 0 else { continue }
            let comm = String(decoding: buffer[..<n], as: UTF8.self)
            if comm.hasSuffix("\n") ? String(comm.dropLast()) == name : comm == name { count += 1 }
        }
        return count
    }

    /// Collects `stream` until it ends, `count` elements arrive, or the timeout passes (which fails the test).
    static func collect<Element: Sendable>(
        _ stream: AsyncThrowingStream<Element, any Error>, count: Int = .max, timeoutMilliseconds: Int = 3000
    ) async throws -> (elements: [Element], error: (any Error)?) {
        try await withThrowingTaskGroup(of: ([Element], (any Error)?).self) { group in
            group.addTask {
                var elements: [Element] = []
                do {
                    for try await element in stream {
                        elements.append(element)
                        if elements.count == count { break }
                    }
                    return (elements, nil)
                } catch {
                    return (elements, error)
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(timeoutMilliseconds))
                throw EvdevTestTimedOut()
            }
            defer { group.cancelAll() }
            // Force-unwrap: the group has two child tasks, so next() returns at least once.
            return try await group.next()!
        }
    }
}

// Serialized: one test counts the suite's reader threads by name.
@Suite(.serialized) struct EvdevKeypadTests {
    @Test func inputEventIsTheKernelRecord() {
        #expect(MemoryLayout<input_event>.size == clinux_input_event_size)
        #if arch(x86_64) || arch(arm64)
        #expect(clinux_input_event_size == 24)
        #endif
    }

    @Test func mapsKeyCodesAndIgnoresAutorepeatAndUnknownKeys() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        let keypad = try EvdevKeypad(takingOwnershipOf: readEnd, name: "pipe-keypad")
        var bytes = EvdevRecords.tap(KEY_1)
        bytes += EvdevRecords.key(KEY_KP5, 1) + EvdevRecords.key(KEY_KP5, 2) + EvdevRecords.key(KEY_KP5, 2)
        bytes += EvdevRecords.key(KEY_KP5, 0)
        bytes += EvdevRecords.tap(KEY_A)  // no key: ignored
        for code in [KEY_KPDOT, KEY_KPENTER, KEY_ESC, KEY_DELETE, KEY_F3, KEY_UP, KEY_DOWN, KEY_COMPOSE, KEY_0] {
            bytes += EvdevRecords.key(code, 1)
        }
        bytes += EvdevRecords.key(KEY_0, 0)
        try writeEnd.writeAll(bytes)
        try writeEnd.close()

        let (events, error) = try await EvdevRecords.collect(keypad.keyEvents())
        withExtendedLifetime(keypad) {}
        let expected: [KeyEvent] = [
            KeyEvent(.digit1, .pressed), KeyEvent(.digit1, .released),
            KeyEvent(.digit5, .pressed), KeyEvent(.digit5, .released),
            KeyEvent(.dot, .pressed), KeyEvent(.enter, .pressed), KeyEvent(.cancel, .pressed),
            KeyEvent(.clear, .pressed), KeyEvent(.f3, .pressed), KeyEvent(.up, .pressed), KeyEvent(.down, .pressed),
            KeyEvent(.menu, .pressed), KeyEvent(.digit0, .pressed), KeyEvent(.digit0, .released),
        ]
        #expect(events == expected)
        // The writer closed its end: the device is gone.
        #expect((error as? EvdevError)?.code == .deviceVanished)
    }

    @Test func recordsSplitAcrossWritesAreReassembled() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        let keypad = try EvdevKeypad(takingOwnershipOf: readEnd, name: "pipe-keypad")
        let stream = keypad.keyEvents()
        let bytes = EvdevRecords.tap(KEY_9)
        try writeEnd.writeAll(bytes[..<30])
        try await Task.sleep(for: .milliseconds(20))
        try writeEnd.writeAll(bytes[30...])
        let (events, _) = try await EvdevRecords.collect(stream, count: 2)
        withExtendedLifetime(keypad) {}
        #expect(events == [KeyEvent(.digit9, .pressed), KeyEvent(.digit9, .released)])
        try writeEnd.close()
    }

    @Test func boardKeymapOverridesAndExtendsTheDefaults() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        // A matrix-keypad linux,keymap that sends KEY_A for "00" and KEY_ENTER for F4.
        let keypad = try EvdevKeypad(
            takingOwnershipOf: readEnd, name: "pipe-keypad",
            keymapOverride: [UInt16(KEY_A): .doubleZero, UInt16(KEY_ENTER): .f4])
        #expect(keypad.keymap[UInt16(KEY_KPENTER)] == .enter)
        try writeEnd.writeAll(EvdevRecords.tap(KEY_A) + EvdevRecords.tap(KEY_ENTER))
        try writeEnd.close()
        let (events, _) = try await EvdevRecords.collect(keypad.keyEvents())
        withExtendedLifetime(keypad) {}
        #expect(
            events == [
                KeyEvent(.doubleZero, .pressed), KeyEvent(.doubleZero, .released),
                KeyEvent(.f4, .pressed), KeyEvent(.f4, .released),
            ])
    }

    @Test func lostEventsReleaseHeldKeysAndDropTheIncompleteBatch() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        let keypad = try EvdevKeypad(takingOwnershipOf: readEnd, name: "pipe-keypad")
        var bytes = EvdevRecords.key(KEY_2, 1) + EvdevRecords.key(KEY_2, 0)  // release of a key never pressed: ignored
        bytes += EvdevRecords.key(KEY_0, 0)
        bytes += EvdevRecords.key(KEY_2, 1)
        bytes += EvdevRecords.record(EV_SYN, SYN_DROPPED, 0)
        bytes += EvdevRecords.record(EV_KEY, KEY_3, 1)  // part of the lost batch
        bytes += EvdevRecords.record(EV_SYN, SYN_REPORT, 0)
        bytes += EvdevRecords.tap(KEY_4)
        try writeEnd.writeAll(bytes)
        try writeEnd.close()
        let (events, _) = try await EvdevRecords.collect(keypad.keyEvents())
        withExtendedLifetime(keypad) {}
        // A pipe cannot answer EVIOCGKEY, so the held key is taken as released.
        #expect(
            events == [
                KeyEvent(.digit2, .pressed), KeyEvent(.digit2, .released),
                KeyEvent(.digit2, .pressed), KeyEvent(.digit2, .released),
                KeyEvent(.digit4, .pressed), KeyEvent(.digit4, .released),
            ])
    }

    @Test func newStreamTakesOverFromThePreviousOne() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        let keypad = try EvdevKeypad(takingOwnershipOf: readEnd, name: "pipe-keypad")
        try writeEnd.writeAll(EvdevRecords.tap(KEY_7))
        let (first, _) = try await EvdevRecords.collect(keypad.keyEvents(), count: 2)
        #expect(first == [KeyEvent(.digit7, .pressed), KeyEvent(.digit7, .released)])
        // The second stream stops and joins the first stream's thread before it reads.
        let second = keypad.keyEvents()
        try writeEnd.writeAll(EvdevRecords.tap(KEY_8))
        try writeEnd.close()
        let (events, error) = try await EvdevRecords.collect(second)
        withExtendedLifetime(keypad) {}
        #expect(events == [KeyEvent(.digit8, .pressed), KeyEvent(.digit8, .released)])
        #expect((error as? EvdevError)?.code == .deviceVanished)
    }

    @Test func cancellingTheConsumerStopsTheIdleReaderThread() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        defer { try? writeEnd.close() }
        let keypad = try EvdevKeypad(takingOwnershipOf: readEnd, name: "pipe-keypad")
        let stream = keypad.keyEvents()
        let consumer = Task { for try await _ in stream {} }
        #expect(await EvdevRecords.eventually { EvdevRecords.threads(named: "keypad-evdev") == 1 })
        consumer.cancel()
        // The reader sleeps in poll with no data; only the stop signal can end it.
        #expect(await EvdevRecords.eventually { EvdevRecords.threads(named: "keypad-evdev") == 0 })
        withExtendedLifetime(keypad) {}
    }

    @Test func stopEndsTheStreamPlainlyAndJoinsTheThread() async throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        defer { try? writeEnd.close() }
        let keypad = try EvdevKeypad(takingOwnershipOf: readEnd, name: "pipe-keypad")
        let stream = keypad.keyEvents()
        try writeEnd.writeAll(EvdevRecords.tap(KEY_5))
        #expect(await EvdevRecords.eventually { EvdevRecords.threads(named: "keypad-evdev") == 1 })
        try await Task.sleep(for: .milliseconds(20))
        keypad.stop()
        #expect(EvdevRecords.threads(named: "keypad-evdev") == 0)
        let (events, error) = try await EvdevRecords.collect(stream)
        #expect(events == [KeyEvent(.digit5, .pressed), KeyEvent(.digit5, .released)])
        #expect(error == nil)
    }

    @Test func readsRecordsFromAPathAndReportsEndOfFileAsAVanishedDevice() async throws {
        var template = Array("/tmp/evdev-records-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }  // !: a non-empty array
        defer { unlink(path) }
        let file = FileDescriptor(rawValue: fd)
        try file.writeAll(EvdevRecords.tap(KEY_KP3))
        try file.close()

        // A regular file is no evdev node: EVIOCGRAB fails with ENOTTY and is skipped.
        let keypad = try EvdevKeypad(path: path)
        let (events, error) = try await EvdevRecords.collect(keypad.keyEvents())
        withExtendedLifetime(keypad) {}
        #expect(events == [KeyEvent(.digit3, .pressed), KeyEvent(.digit3, .released)])
        let vanished = try #require(error as? EvdevError)
        #expect(vanished.code == .deviceVanished)
        #expect(vanished.description.contains(path))
    }

    @Test func missingDeviceIsAnOpenError() {
        #expect(throws: EvdevError(.open, device: "", reason: "")) {
            try EvdevKeypad(path: "/dev/input/event-does-not-exist")
        }
    }
}
