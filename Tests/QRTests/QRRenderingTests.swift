#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
import DeviceKit
import LinuxDevices
import TerminalApp
import TerminalUI
import TestKit
import Testing

let zbarimgPath = "/usr/bin/zbarimg"
let zbarimgIsAvailable = access(zbarimgPath, X_OK) == 0

/// Writes `bytes` to a new file.
func writeBytes(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw TestKitError("open \(path): errno \(errno)") }
    defer { close(fd) }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw TestKitError("short write to \(path)") }
}

/// What zbarimg (Debian zbar-tools, not our code) reads from a PNG: the symbol's raw bytes.
func zbarDecode(_ canvas: PixelCanvas) throws -> [UInt8] {
    let directory = try makeTemporaryDirectory("qr-render")
    defer { removeTree(directory) }
    let path = directory + "/frame.png"
    try writeBytes(path, PNGEncoder.encode(width: canvas.width, height: canvas.height, colorType: .truecolor, pixels: canvas.rgb))
    let result = try runProcess([zbarimgPath, "--raw", "-q", "-Sbinary", path], timeout: .seconds(60))
    var bytes = Array(result.stdout.utf8)
    if bytes.last == 0x0A { bytes.removeLast() }
    return bytes
}

/// The terminal's own payload for a sale: Chinese merchant name and city (template 64), the order reference.
func terminalPayload(amount: Int = 2372, reference: String = "QR0123456789ABCDEFGHIJKLM") throws -> String {
    try MerchantPresentedQR(
        merchantAccounts: [.init(id: 26, globallyUniqueIdentifier: "CN.COM.EXAMPLE.QRSIM", details: [MPMDataObject(id: "01", value: "SIM00001")])],
        merchantCategoryCode: "5812", currencyCode: "156", amount: MerchantPresentedQR.amountText(minorUnits: amount, exponent: 2),
        countryCode: "CN", merchantName: "Demo Shop", merchantCity: "Shanghai",
        additionalData: .init(referenceLabel: reference, terminalLabel: "SIM00001"),
        alternateLanguage: .init(languagePreference: "ZH", merchantName: "模拟商户", merchantCity: "上海")
    ).encoded()
}

@Suite("QR rendering: libqrencode symbols, half blocks, pixel displays")
struct QRRenderingTests {
    @Test("libqrencode: version 1 for a short text, the smallest version that holds a payload, errors")
    func encoder() throws {
        let small = try QREncoder.encode("HELLO")
        #expect(small.size == 21 && small.version == 1)
        // The finder pattern's corner modules are dark; the separator beside it is light.
        #expect(small[0, 0] && small[6, 6] && !small[7, 0])
        let payload = try QREncoder.encode(try terminalPayload())
        #expect(payload.size == 17 + 4 * payload.version)
        #expect((5...10).contains(payload.version))
        #expect(throws: QREncoder.EncodingError(code: .containsNUL)) { try QREncoder.encode("A\u{0}B") }
        #expect(throws: QREncoder.EncodingError(code: .tooLong)) { try QREncoder.encode(String(repeating: "漢", count: 3000)) }
    }

    @Test("Half blocks: two module rows a line, light modules as ink, quiet zone around")
    func halfBlocks() {
        // 2x2 symbol (not a real QR): dark at (0,0) and (1,1).
        let matrix = QRMatrix(size: 2, modules: [true, false, false, true])
        let lines = matrix.halfBlockLines(quietZone: 1)
        // Line 1: quiet row over symbol row 0 (dark, light); line 2: symbol row 1 (light, dark) over a quiet row.
        #expect(lines == ["█▀██", "██▄█"])
    }

    @Test("The QR screen puts the symbol over the body rows; text displays keep the reference", arguments: [Language.zhCN, .en])
    func screen(language: Language) throws {
        let matrix = try QREncoder.encode(try terminalPayload())
        let grid = ScreenRenderer(columns: 40, rows: 15).render(
            .qrCode(.init(amount: 2372, currency: Currency(code: "CNY")!, matrix: matrix, reference: "QR0123****JKLM")),
            language: language)
        #expect(grid.qrOverlay == QROverlay(matrix: matrix, rows: 1..<14))
        #expect(grid.plainText.contains("QR0123****JKLM"))
        #expect(grid.text(ofRow: 0).contains(language == .en ? "CNY 23.72" : "¥23.72"))
    }

    @Test("A 320x240 pixel display shows a symbol zbarimg reads byte for byte", .enabled(if: zbarimgIsAvailable))
    func pixelDisplayDecodes() throws {
        let payload = try terminalPayload()
        let matrix = try QREncoder.encode(payload)
        let grid = ScreenRenderer(columns: 40, rows: 15).render(
            .qrCode(.init(amount: 2372, currency: Currency(code: "CNY")!, matrix: matrix, reference: "ref")), language: .zhCN)
        let rasterizer = GridRasterizer(scale: 1)
        let canvas = rasterizer.render(grid)
        #expect(canvas.width == 320 && canvas.height == 240)
        let overlay = try #require(grid.qrOverlay)
        let placement = try #require(rasterizer.qrPlacement(overlay, columns: 40))
        #expect(placement.module >= 3)
        #expect(try zbarDecode(canvas) == Array(payload.utf8))
        // Row-by-row drawing (what the framebuffer does) paints the same pixels.
        var rows = PixelCanvas(width: 320, height: 240)
        for row in 0..<15 { rasterizer.draw(grid, on: &rows, rows: row..<row + 1) }
        #expect(rows == canvas)
    }

    @Test("The simulator window's half-block symbol reads back byte for byte", .enabled(if: zbarimgIsAvailable))
    func halfBlocksDecode() throws {
        let payload = try terminalPayload()
        let lines = try QREncoder.encode(payload).halfBlockLines(quietZone: 2)
        // Each character as a terminal draws it: 4 pixels across, its upper and lower halves 4 pixels each; ink is
        // light (white on black, as the window draws the code).
        let columns = lines[0].unicodeScalars.count
        var canvas = PixelCanvas(width: columns * 4 + 16, height: lines.count * 8 + 16, fill: .white)
        for (row, line) in lines.enumerated() {
            for (column, scalar) in line.unicodeScalars.enumerated() {
                let upperLight = scalar == "█" || scalar == "▀"
                let lowerLight = scalar == "█" || scalar == "▄"
                canvas.fill(x: 8 + column * 4, y: 8 + row * 8, width: 4, height: 4, color: upperLight ? .white : .black)
                canvas.fill(x: 8 + column * 4, y: 8 + row * 8 + 4, width: 4, height: 4, color: lowerLight ? .white : .black)
            }
        }
        #expect(try zbarDecode(canvas) == Array(payload.utf8))
    }
}

@Suite("QR in the simulator window")
struct QRAnsiWindowTests {
    @Test("The ANSI window draws the symbol below the frame in half blocks, white on black")
    func ansiWindow() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let matrix = try QREncoder.encode("HELLO")
        let grid = ScreenRenderer(columns: 40, rows: 15).render(
            .qrCode(.init(amount: 100, currency: Currency(code: "CNY")!, matrix: matrix, reference: "ref")), language: .en)
        let display = AnsiDisplay(geometry: .text(columns: 40, rows: 15, wideGlyphs: true), fd: fds[1])
        try display.show(grid)
        close(fds[1])
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in matrix.halfBlockLines(quietZone: 2) {
            #expect(text.contains("\u{1B}[97;40m" + line + "\u{1B}[0m"))
        }
    }
}
