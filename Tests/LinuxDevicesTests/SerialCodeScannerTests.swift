#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LinuxDevices
import TestKit
import Testing

private struct ScanTimedOut: Error {}

/// Reads `count` codes from `stream`, failing after `timeoutMilliseconds`. The iterating task is cancelled when
/// this returns, which ends the stream.
private func takeCodes(
    _ count: Int, from stream: AsyncThrowingStream<String, any Error>, timeoutMilliseconds: Int = 3000
) async throws -> [String] {
    try await withThrowingTaskGroup(of: [String].self) { group in
        group.addTask {
            var codes: [String] = []
            for try await code in stream {
                codes.append(code)
                if codes.count == count { break }
            }
            return codes
        }
        group.addTask {
            try await Task.sleep(for: .milliseconds(timeoutMilliseconds))
            throw ScanTimedOut()
        }
        defer { group.cancelAll() }
        // Force-unwrap: the group has two child tasks, so next() returns at least once.
        return try await group.next()!
    }
}

/// The error that ends `stream` (after any codes), or `nil` if it ends plainly.
private func streamEndingError(of stream: AsyncThrowingStream<String, any Error>) async throws -> (any Error)? {
    try await withThrowingTaskGroup(of: (any Error)?.self) { group in
        group.addTask {
            do {
                for try await _ in stream {}
                return nil
            } catch {
                return error
            }
        }
        group.addTask {
            try await Task.sleep(for: .milliseconds(3000))
            throw ScanTimedOut()
        }
        defer { group.cancelAll() }
        // Force-unwrap: the group has two child tasks.
        return try await group.next()!
    }
}

/// Polls `condition` every 5 ms until it holds or `timeoutMilliseconds` pass; returns whether it held.
private func waitUntil(timeoutMilliseconds: Int = 2000, _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .milliseconds(timeoutMilliseconds))
    while clock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

@Suite struct SerialCodeScannerTests {
    static let codes = ["00020101021229300012D156000000000510A93FO3230Q31280012D15600000001", "6921734900215", "扫码"]

    @Test(arguments: [LineSuffix.cr, .lf, .crlf])
    func yieldsCodesFromCoalescedAndSplitWrites(_ suffix: LineSuffix) async throws {
        let pty = try PseudoTerminal()
        let scanner = SerialCodeScanner(path: pty.slavePath, suffix: suffix)
        let stream = scanner.codes()
        #expect(await waitUntil { scanner.isListening })

        // Coalesced: three codes in one write.
        try pty.send(Self.codes.flatMap { Array($0.utf8) + suffix.bytes })
        // Split: one code byte by byte, with a pause inside it so the reader sees separate reads.
        let split = Array("SPLIT-123".utf8) + suffix.bytes
        try pty.send(Array(split[..<4]))
        try await Task.sleep(for: .milliseconds(20))
        for byte in split[4...] { try pty.send([byte]) }

        let received = try await takeCodes(4, from: stream)
        #expect(received == Self.codes + ["SPLIT-123"])
        #expect(scanner.droppedLineCount == 0)
        scanner.stop()
        #expect(!scanner.isListening)
    }

    @Test func oversizeAndGarbledLinesAreDroppedAndReadingGoesOn() async throws {
        let pty = try PseudoTerminal()
        let scanner = SerialCodeScanner(path: pty.slavePath, suffix: .cr, maxCodeLength: 16)
        let stream = scanner.codes()
        #expect(await waitUntil { scanner.isListening })
        try pty.send(Array(repeating: UInt8(ascii: "X"), count: 200) + [0x0D])
        try pty.send([0xC3, 0x28, 0x0D])  // not UTF-8
        try pty.send("\r")  // empty line: no code
        try pty.send("GOOD-1\r")
        #expect(try await takeCodes(1, from: stream) == ["GOOD-1"])
        #expect(scanner.droppedLineCount == 2)
    }

    @Test func streamEndsWithVanishedWhenThePortGoesAway() async throws {
        let pty = try PseudoTerminal()
        let scanner = SerialCodeScanner(path: pty.slavePath)
        let stream = scanner.codes()
        #expect(await waitUntil { scanner.isListening })
        try pty.send("LAST\r")
        try await Task.sleep(for: .milliseconds(20))
        pty.closeMaster()
        var codes: [String] = []
        var ending: (any Error)?
        do {
            for try await code in stream { codes.append(code) }
        } catch {
            ending = error
        }
        #expect(codes == ["LAST"])
        #expect((ending as? SerialError)?.code == .vanished)
        #expect((ending as? SerialError)?.path == pty.slavePath)
        #expect(await waitUntil { !scanner.isListening })
    }

    @Test func cancellingTheConsumerStopsTheReaderPromptly() async throws {
        let pty = try PseudoTerminal()
        let scanner = SerialCodeScanner(path: pty.slavePath)
        let stream = scanner.codes()
        #expect(await waitUntil { scanner.isListening })
        let consumer = Task {
            var count = 0
            for try await _ in stream { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(20))
        consumer.cancel()
        // No byte ever arrives: a reader that waited for one instead of its stop signal would never stop. The bound is
        // loose on purpose (a loaded 2-core CI machine); the speed itself is not what this checks.
        // waitUntil polls the condition; under a starved cooperative pool its own wake-ups may come late, so the
        // elapsed wall time is not asserted (a reader that never stops fails the condition itself).
        #expect(await waitUntil(timeoutMilliseconds: 5000) { !scanner.isListening })
        _ = try? await consumer.value
    }

    @Test func aSecondStreamTakesThePortOver() async throws {
        let pty = try PseudoTerminal()
        let scanner = SerialCodeScanner(path: pty.slavePath)
        let first = scanner.codes()
        #expect(await waitUntil { scanner.isListening })
        let second = scanner.codes()
        #expect(try await streamEndingError(of: first) == nil)
        #expect(await waitUntil { scanner.isListening })
        try pty.send("AGAIN\r")
        #expect(try await takeCodes(1, from: second) == ["AGAIN"])
    }

    @Test func openFailureEndsTheStream() async throws {
        let scanner = SerialCodeScanner(path: "/dev/ttyDoesNotExist9")
        let error = try await streamEndingError(of: scanner.codes())
        #expect((error as? SerialError)?.code == .openFailed)
        #expect(!scanner.isListening)
    }
}
