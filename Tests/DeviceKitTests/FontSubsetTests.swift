import DeviceKit
import LinuxDevices
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// unifont.hex from Debian's `unifont` package, when installed.
private let systemUnifont = "/usr/share/unifont/unifont.hex"
private let systemUnifontExists = access(systemUnifont, R_OK) == 0

/// The repository root, from this file's path (Tests/DeviceKitTests/FontSubsetTests.swift).
private let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

// MARK: - Glyph

@Test func glyphParsesUnifontHex() throws {
    let a = try #require(Glyph(unifontHex: "0000000018242442427E424242420000"))
    #expect(a.width == 8)
    #expect(a.row(4) == 0x1800)
    #expect(a.row(9) == 0x7E00)
    #expect(a.isSet(x: 3, y: 4) && a.isSet(x: 4, y: 4) && !a.isSet(x: 2, y: 4))
    #expect(!a.isSet(x: 8, y: 9))  // right of an 8-pixel glyph
    let wide = try #require(Glyph(unifontHex: String(repeating: "8001", count: 16)))
    #expect(wide.width == 16)
    #expect(wide.isSet(x: 0, y: 15) && wide.isSet(x: 15, y: 0) && !wide.isSet(x: 7, y: 7))
    #expect(Glyph(width: 16, rows: wide.rows) == wide)
    #expect(Glyph(unifontHex: "00") == nil)
    #expect(Glyph(unifontHex: String(repeating: "G", count: 32)) == nil)
    #expect(Glyph(unifontHex: String(repeating: "0", count: 48)) == nil)
}

@Test(arguments: [8, 16])
func replacementGlyphIsAVisibleBox(width: Int) {
    let box = Glyph.replacement(width: width)
    #expect(box.width == width)
    for x in 1...width - 2 {
        #expect(box.isSet(x: x, y: 1) && box.isSet(x: x, y: 14))
    }
    for y in 1...14 {
        #expect(box.isSet(x: 1, y: y) && box.isSet(x: width - 2, y: y))
    }
    #expect(box.rows[0] == 0 && box.rows[15] == 0)
    #expect(box.isSet(x: width / 2, y: 8) || box.isSet(x: width / 2 - 1, y: 8))  // the cross
}

// MARK: - Built-in subset

@Test func subsetHasTheKnownGlyphs() throws {
    let font = UnifontSubset()
    // Bits as in Unifont 15's unifont.hex.
    #expect(font.glyph(for: "A") == Glyph(unifontHex: "0000000018242442427E424242420000"))
    #expect(
        font.glyph(for: "中")
            == Glyph(unifontHex: "01000100010001003FF8210821082108210821083FF821080100010001000100"))
    #expect(font.glyph(for: "\u{E000}") == nil)  // private use: not in the subset
    #expect(font.glyphOrReplacement(for: "\u{E000}") == .replacement(width: 8))
    #expect(font.glyphOrReplacement(for: "\u{9FA6}").width == 16)  // wide, whether present or the wide box
}

@Test func subsetCoversItsRanges() {
    let font = UnifontSubset()
    for value in UInt32(0x20)...0x7E {
        #expect(font.glyph(for: Unicode.Scalar(value)!)?.width == 8, "U+\(String(value, radix: 16))")
    }
    for value in [0xA0, 0xE9, 0xFF, 0x2014, 0x2026, 0x2500, 0x256C, 0x3001, 0x3002, 0xFF01, 0xFF08, 0xFFE5, 0xFFFD] {
        #expect(font.glyph(for: Unicode.Scalar(UInt32(value))!) != nil, "U+\(String(value, radix: 16))")
    }
    // The 3755 level-1 GB 2312 hanzi: all CJK Unified Ideographs. First and last of the level (啊 B0A1, 座 D7F9),
    // and some of the amount and payment vocabulary.
    let hanzi = UnifontSubset.scalars.filter { (0x4E00...0x9FFF).contains($0.value) }
    #expect(hanzi.count >= 3755)
    for character in "啊座金额支付成功失败请插卡输入密码取消确认元" {
        for scalar in character.unicodeScalars {
            #expect(font.glyph(for: scalar)?.width == 16, "\(scalar)")
        }
    }
    #expect(UnifontSubset.glyphCount == UnifontSubset.scalars.count)
}

/// Every character of the UI string tables (any non-ASCII character, or `\u{...}` escape, in a Swift file under
/// Sources/Terminal) must be in the committed subset: rerun Sources/Tools/gen-font-subset after adding strings.
@Test func subsetCoversEveryCharacterOfTheUISources() throws {
    let files = swiftFiles(under: repositoryRoot + "/Sources/Terminal")
    try #require(!files.isEmpty, "no Swift files under \(repositoryRoot)/Sources/Terminal")
    let font = UnifontSubset()
    let unavailable = Set(UnifontSubset.unavailable)
    var missing: [String] = []
    for file in files {
        let text = try #require(readFile(file))
        for scalar in uiScalars(in: text) where font.glyph(for: scalar) == nil && !unavailable.contains(scalar) {
            missing.append("U+\(String(scalar.value, radix: 16, uppercase: true)) in \(file)")
        }
    }
    #expect(missing.isEmpty, "characters without a glyph, run Sources/Tools/gen-font-subset: \(missing)")
}

/// Every glyph of the subset is the same as in the system's unifont.hex (the generator copied it faithfully), and
/// the full-file loader agrees with the subset on "A" and "中".
@Test(.enabled(if: systemUnifontExists))
func subsetMatchesSystemUnifont() throws {
    let text = try #require(readFile(systemUnifont))
    func line(_ code: String) -> Substring? {
        guard let range = text.firstRange(of: "\n" + code + ":") else { return nil }
        return text[range.upperBound...].prefix { $0 != "\n" }
    }
    #expect(UnifontSubset().glyph(for: "A") == Glyph(unifontHex: try #require(line("0041"))))
    #expect(UnifontSubset().glyph(for: "中") == Glyph(unifontHex: try #require(line("4E2D"))))

    let full = try HexFontFile(contentsOfFile: systemUnifont)
    #expect(full.glyphCount > 50_000)
    for scalar in UnifontSubset.scalars {
        #expect(full.glyph(for: scalar) == UnifontSubset().glyph(for: scalar), "U+\(String(scalar.value, radix: 16))")
    }
}

// MARK: - HexFontFile and LayeredFont

@Test func hexFontFileParsesLinesAndReportsTheBadOne() throws {
    let font = try HexFontFile(
        parsing: "0041:0000000018242442427E424242420000\r\n\n4e2d:"
            + String(repeating: "F", count: 64) + "\n0041:" + String(repeating: "0", count: 32))
    #expect(font.glyphCount == 2)
    #expect(font.glyph(for: "A") == Glyph(unifontHex: String(repeating: "0", count: 32)))  // the later line wins
    #expect(font.glyph(for: "中")?.width == 16)
    #expect(font.glyph(for: "B") == nil)

    for (text, line) in [
        ("0041:00\n", 1), ("0041:0000000018242442427E424242420000\nzz41:0000000018242442427E424242420000", 2),
        ("D800:0000000018242442427E424242420000", 1), ("41:0000000018242442427E424242420000", 1),
    ] {
        #expect {
            try HexFontFile(parsing: text)
        } throws: { error in
            (error as? FontError)?.code == .malformedLine && (error as? FontError)?.line == line
        }
    }
}

@Test func hexFontFileReportsAMissingFile() {
    #expect {
        try HexFontFile(contentsOfFile: "/nonexistent/unifont.hex")
    } throws: { error in
        (error as? FontError)?.code == .fileUnreadable && (error as? FontError)?.errno == ENOENT
    }
}

@Test func hexFontFileReadsARealFile() throws {
    var template = Array("/tmp/font-test-XXXXXX".utf8CString)
    let fd = mkstemp(&template)
    try #require(fd >= 0)
    let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    defer { unlink(path) }
    let bytes = Array(("E000:" + String(repeating: "AA55", count: 16) + "\n").utf8)
    #expect(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count)
    close(fd)
    let file = try HexFontFile(contentsOfFile: path)
    #expect(file.glyph(for: "\u{E000}")?.row(0) == 0xAA55)

    // Layered under the subset: the subset answers first, the file fills what it lacks.
    let layered = LayeredFont([UnifontSubset(), file])
    #expect(layered.glyph(for: "A") == UnifontSubset().glyph(for: "A"))
    #expect(layered.glyph(for: "\u{E000}") == file.glyph(for: "\u{E000}"))
    #expect(layered.glyph(for: "\u{E001}") == nil)
    #expect(LayeredFont([]).glyphOrReplacement(for: "中") == .replacement(width: 16))
}

/// Running the generator twice gives the same bytes, and the committed file is what it generates now.
@Test(.enabled(if: systemUnifontExists && access("/usr/bin/python3", X_OK) == 0))
func generatorIsDeterministic() throws {
    let script = repositoryRoot + "/Sources/Tools/gen-font-subset"
    var outputs: [String] = []
    for run in 0..<2 {
        let output = "/tmp/font-subset-\(getpid())-\(run).swift"
        defer { unlink(output) }
        let status = system("timeout 60 /usr/bin/python3 '\(script)' --output '\(output)' 2>/dev/null")
        try #require(status == 0)
        outputs.append(try #require(readFile(output)))
    }
    let identical = outputs[0] == outputs[1]
    #expect(identical)
    let committed = try #require(readFile(repositoryRoot + "/Sources/Devices/DeviceKit/UnifontSubset.swift"))
    let upToDate = committed == outputs[0]
    #expect(upToDate, "UnifontSubset.swift is out of date: run Sources/Tools/gen-font-subset")
}

// MARK: - Helpers: the generator's scan, redone independently

/// Non-ASCII scalars written literally, and those written as `\u{...}` escapes, as gen-font-subset collects them.
private func uiScalars(in text: String) -> Set<Unicode.Scalar> {
    var found = Set(text.unicodeScalars.filter { $0.value > 0x7F })
    let scalars = Array(text.unicodeScalars)
    var i = 0
    while i + 3 < scalars.count {
        if scalars[i] == "\\", scalars[i + 1] == "u", scalars[i + 2] == "{" {
            var j = i + 3
            var value: UInt32 = 0
            while j < scalars.count, j - i - 3 < 8, let digit = Int(String(scalars[j]), radix: 16) {
                value = value << 4 | UInt32(digit)
                j += 1
            }
            if j > i + 3, j < scalars.count, scalars[j] == "}", value > 0x7F, let scalar = Unicode.Scalar(value) {
                found.insert(scalar)
            }
        }
        i += 1
    }
    return found
}

/// Every `*.swift` file under `directory`, recursively (C `opendir`, `readdir`, `stat`).
private func swiftFiles(under directory: String) -> [String] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var files: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        let path = directory + "/" + name
        var info = stat()
        guard stat(path, &info) == 0 else { continue }
        if info.st_mode & S_IFMT == S_IFDIR {
            files += swiftFiles(under: path)
        } else if name.hasSuffix(".swift") {
            files.append(path)
        }
    }
    return files.sorted()
}

/// The whole file as UTF-8 text, or `nil`.
private func readFile(_ path: String) -> String? {
    guard let stream = fopen(path, "rb") else { return nil }
    defer { fclose(stream) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, stream) }
        if n == 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
