import LinuxDevices
import Testing

/// What a framer produced: a line or an error code.
private enum FramerEvent: Equatable, CustomStringConvertible {
    case line(String)
    case error(SerialError.Code)

    var description: String {
        switch self {
        case .line(let text): "line(\(text.debugDescription))"
        case .error(let code): "error(\(code))"
        }
    }
}

/// Feeds `chunks` one after the other and drains the framer after each.
private func runFramer(
    _ chunks: [[UInt8]], suffix: LineSuffix, maxLineLength: Int = 64
) -> (events: [FramerEvent], left: Int) {
    var framer = LineFramer(suffix: suffix, maxLineLength: maxLineLength)
    var events: [FramerEvent] = []
    for chunk in chunks {
        framer.append(chunk)
        while true {
            do {
                guard let line = try framer.nextLine() else { break }
                events.append(.line(line))
            } catch let error as SerialError {
                events.append(.error(error.code))
            } catch {
                Issue.record("unexpected error \(error)")
                break
            }
        }
    }
    return (events, framer.bufferedByteCount)
}

/// The same stream cut three ways: all at once, byte by byte, and in uneven chunks (1, 2, 3, ... bytes).
private func framerChunkings(_ stream: [UInt8]) -> [[[UInt8]]] {
    var uneven: [[UInt8]] = []
    var index = 0
    var size = 1
    while index < stream.count {
        let end = min(stream.count, index + size)
        uneven.append(Array(stream[index..<end]))
        index = end
        size = size % 7 + 1
    }
    return [[stream], stream.map { [$0] }, uneven]
}

@Suite struct SerialLineFramerTests {
    @Test(arguments: [LineSuffix.cr, .lf, .crlf, .bytes([0x03]), .bytes([0x1E, 0x04, 0x1E])])
    func splitsLinesForEverySuffixAndEveryChunking(_ suffix: LineSuffix) {
        let codes = ["6222020200112233445", "hQVDUFYwMV", "收款码", "x"]
        let stream = codes.flatMap { Array($0.utf8) + suffix.bytes } + Array("partial".utf8)
        for chunks in framerChunkings(stream) {
            let result = runFramer(chunks, suffix: suffix)
            #expect(result.events == codes.map { .line($0) })
            #expect(result.left == "partial".utf8.count)
        }
    }

    @Test func crlfSplitAcrossChunksIsOneSuffix() {
        let result = runFramer([Array("ABC\r".utf8), Array("\nDEF\r".utf8), [0x0A]], suffix: .crlf)
        #expect(result.events == [.line("ABC"), .line("DEF")])
        #expect(result.left == 0)
    }

    @Test func aLoneCRIsPartOfTheLineWhenTheSuffixIsCRLF() {
        let result = runFramer([Array("A\rB\r\n".utf8)], suffix: .crlf)
        #expect(result.events == [.line("A\rB")])
    }

    @Test func emptyLinesAreLines() {
        let result = runFramer([Array("\r\rX\r".utf8)], suffix: .cr)
        #expect(result.events == [.line(""), .line(""), .line("X")])
    }

    @Test(arguments: [LineSuffix.cr, .crlf])
    func oversizeLineIsReportedOnceAndTheFramerResyncs(_ suffix: LineSuffix) {
        let max = 8
        let stream =
            Array("12345678".utf8) + suffix.bytes  // exactly at the cap: accepted
            + Array(repeating: UInt8(ascii: "X"), count: 100) + suffix.bytes  // far over the cap
            + Array("123456789".utf8) + suffix.bytes  // one over the cap
            + Array("OK".utf8) + suffix.bytes
        for chunks in framerChunkings(stream) {
            let result = runFramer(chunks, suffix: suffix, maxLineLength: max)
            #expect(result.events == [.line("12345678"), .error(.lineTooLong), .error(.lineTooLong), .line("OK")])
            #expect(result.left == 0)
        }
    }

    @Test func memoryStaysBoundedWithoutASuffix() throws {
        var framer = LineFramer(suffix: .crlf, maxLineLength: 16)
        var errors = 0
        for _ in 0..<10_000 {
            framer.append(Array(repeating: UInt8(ascii: "Z"), count: 100))
            while true {
                do {
                    guard try framer.nextLine() == nil else { continue }
                    break
                } catch {
                    errors += 1
                }
            }
            #expect(framer.bufferedByteCount <= 17)
        }
        #expect(errors == 1)
        framer.append(Array("\r\nOK\r\n".utf8))
        #expect(try framer.nextLine() == "OK")
    }

    @Test func invalidUTF8IsAnErrorForThatLineOnly() {
        let stream: [UInt8] = [0x41, 0xFF, 0xFE, 0x0D] + Array("OK".utf8) + [0x0D] + [0xE6, 0x94, 0x0D] + [0x42, 0x0D]
        for chunks in framerChunkings(stream) {
            let result = runFramer(chunks, suffix: .cr)
            #expect(result.events == [.error(.invalidUTF8), .line("OK"), .error(.invalidUTF8), .line("B")])
        }
    }

    @Test func suffixNamesFromBoardProfiles() {
        #expect(LineSuffix(name: "cr") == .cr)
        #expect(LineSuffix(name: "LF") == .lf)
        #expect(LineSuffix(name: "CrLf") == .crlf)
        #expect(LineSuffix(name: "0x03") == .bytes([0x03]))
        #expect(LineSuffix(name: "1e04") == .bytes([0x1E, 0x04]))
        #expect(LineSuffix(name: "") == nil)
        #expect(LineSuffix(name: "0x3") == nil)
        #expect(LineSuffix(name: "zz") == nil)
        #expect(LineSuffix.bytes([0x1E, 0x04]).description == "0x1e04")
    }
}
