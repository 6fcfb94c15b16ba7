import DeviceKit
import Testing

private let amber = PixelColor(red: 255, green: 176, blue: 0)
private let navy = PixelColor(red: 0, green: 0, blue: 128)

/// Checks that the `cells`-wide block at grid cell (`column`, `row`) shows `glyph` at `scale`, set pixels in `fore`,
/// clear ones in `back`. Returns the number of wrong canvas pixels.
private func mismatches(
    _ canvas: PixelCanvas, column: Int, row: Int, cells: Int = 1, glyph: Glyph, scale: Int, fore: PixelColor,
    back: PixelColor
) -> Int {
    var wrong = 0
    for y in 0..<16 * scale {
        for x in 0..<8 * cells * scale {
            let expected = glyph.isSet(x: x / scale, y: y / scale) ? fore : back
            if canvas[column * 8 * scale + x, row * 16 * scale + y] != expected { wrong += 1 }
        }
    }
    return wrong
}

@Test func rasterizesAChineseString() throws {
    var grid = CharacterGrid(columns: 13, rows: 2)
    grid.write("付款：中文 OK", column: 0, row: 0)
    let rasterizer = GridRasterizer(foreground: amber, background: navy)
    let canvas = rasterizer.render(grid)
    #expect(canvas.width == 104 && canvas.height == 32)
    let font = UnifontSubset()
    // Five wide characters at columns 0, 2, 4, 6, 8, each 16x16 over its cell and the continuation cell after it.
    for (index, character) in "付款：中文".unicodeScalars.enumerated() {
        let glyph = try #require(font.glyph(for: character))
        #expect(glyph.width == 16)
        #expect(grid[2 * index + 1, 0] == .continuation)
        #expect(
            mismatches(canvas, column: 2 * index, row: 0, cells: 2, glyph: glyph, scale: 1, fore: amber, back: navy)
                == 0, "\(character)")
    }
    // "中" has its vertical stroke in pixel column 7 of every row, so the glyph really spans the continuation cell.
    #expect(canvas[6 * 8 + 7, 0] == amber)
    #expect(canvas[6 * 8 + 12, 4] == amber)  // right edge of the box of 中, in the continuation cell
    // Then a blank and two narrow glyphs.
    for (column, character) in [(10, " "), (11, "O"), (12, "K")] as [(Int, Unicode.Scalar)] {
        let glyph = try #require(font.glyph(for: character))
        #expect(glyph.width == 8)
        #expect(mismatches(canvas, column: column, row: 0, glyph: glyph, scale: 1, fore: amber, back: navy) == 0)
    }
    // Row 1 is blank: all background.
    #expect((16..<32).allSatisfy { y in (0..<104).allSatisfy { x in canvas[x, y] == navy } })
}

@Test func inverseCellsSwapColours() throws {
    var grid = CharacterGrid(columns: 4, rows: 1)
    grid.write("A", column: 0, row: 0)
    grid.write("A中", column: 1, row: 0, inverse: true)
    let canvas = GridRasterizer(foreground: .white, background: .black).render(grid)
    let a = try #require(UnifontSubset().glyph(for: "A"))
    let zhong = try #require(UnifontSubset().glyph(for: "中"))
    #expect(mismatches(canvas, column: 0, row: 0, glyph: a, scale: 1, fore: .white, back: .black) == 0)
    #expect(mismatches(canvas, column: 1, row: 0, glyph: a, scale: 1, fore: .black, back: .white) == 0)
    #expect(mismatches(canvas, column: 2, row: 0, cells: 2, glyph: zhong, scale: 1, fore: .black, back: .white) == 0)
}

@Test(arguments: GridRasterizer.scales)
func scalesEveryFontPixel(scale: Int) throws {
    var grid = CharacterGrid(columns: 3, rows: 1)
    grid.write("A中", column: 0, row: 0)
    let rasterizer = GridRasterizer(scale: scale)
    let canvas = rasterizer.render(grid)
    #expect(canvas.width == 24 * scale && canvas.height == 16 * scale)
    #expect(rasterizer.canvasSize(for: grid) == (24 * scale, 16 * scale))
    let a = try #require(UnifontSubset().glyph(for: "A"))
    let zhong = try #require(UnifontSubset().glyph(for: "中"))
    #expect(mismatches(canvas, column: 0, row: 0, glyph: a, scale: scale, fore: .white, back: .black) == 0)
    #expect(mismatches(canvas, column: 1, row: 0, cells: 2, glyph: zhong, scale: scale, fore: .white, back: .black) == 0)
}

@Test func missingGlyphsDrawTheReplacementBox() {
    var grid = CharacterGrid(columns: 3, rows: 1)
    grid.write("\u{E000}中", column: 0, row: 0)
    let canvas = GridRasterizer(font: LayeredFont([])).render(grid)
    #expect(mismatches(canvas, column: 0, row: 0, glyph: .replacement(width: 8), scale: 1, fore: .white, back: .black) == 0)
    #expect(
        mismatches(canvas, column: 1, row: 0, cells: 2, glyph: .replacement(width: 16), scale: 1, fore: .white, back: .black)
            == 0)
}

@Test func orphanContinuationAndClippedWideCell() throws {
    // Cells set one by one can break the grid's own invariants; the rasterizer still paints every pixel.
    var grid = CharacterGrid(columns: 3, rows: 1)
    grid[0, 0] = CharacterGrid.Cell(scalar: "A")
    grid[1, 0] = CharacterGrid.Cell(scalar: nil, inverse: true)  // continuation with no wide character before it
    grid[2, 0] = CharacterGrid.Cell(scalar: "中")  // wide character in the last column: clipped to one cell
    var canvas = PixelCanvas(width: 24, height: 16, fill: amber)
    GridRasterizer().draw(grid, on: &canvas)
    #expect((0..<16).allSatisfy { y in (8..<16).allSatisfy { x in canvas[x, y] == .white } })
    let zhong = try #require(UnifontSubset().glyph(for: "中"))
    #expect(mismatches(canvas, column: 2, row: 0, glyph: zhong, scale: 1, fore: .white, back: .black) == 0)
}

@Test func drawsOnlyTheRequestedRowsAtAnOrigin() {
    var grid = CharacterGrid(columns: 2, rows: 3)
    grid.clearRow(0, inverse: true)
    grid.clearRow(1, inverse: true)
    grid.clearRow(2, inverse: true)
    var canvas = PixelCanvas(width: 40, height: 60, fill: amber)
    GridRasterizer().draw(grid, on: &canvas, rows: 1..<2, originX: 4, originY: 2)
    // Row 1 of the grid covers canvas x 4..<20, y 18..<34; nothing else changes.
    var wrong = 0
    for y in 0..<60 {
        for x in 0..<40 {
            let inside = (4..<20).contains(x) && (18..<34).contains(y)
            if canvas[x, y] != (inside ? .white : amber) { wrong += 1 }
        }
    }
    #expect(wrong == 0)
    // Drawing past the canvas edge is clipped, not a crash.
    GridRasterizer(scale: 4).draw(grid, on: &canvas, originX: 30, originY: 50)
    #expect(canvas[39, 59] == .white)
}

@Test func canvasPixelsAndRectangles() {
    var canvas = PixelCanvas(width: 4, height: 3)
    #expect(canvas.rgb.count == 36 && canvas.rgb.allSatisfy { $0 == 0 })
    canvas[3, 2] = amber
    #expect(canvas[3, 2] == amber)
    #expect(Array(canvas.rgb.suffix(3)) == [255, 176, 0])
    canvas.fill(x: -2, y: 1, width: 3, height: 10, color: navy)  // clipped to x 0, y 1...2
    #expect(canvas[0, 1] == navy && canvas[0, 2] == navy && canvas[1, 1] == .black && canvas[0, 0] == .black)
    canvas.fill(x: 5, y: 0, width: 2, height: 2, color: navy)  // wholly outside
    canvas.fill(x: 0, y: 0, width: -1, height: 2, color: navy)  // empty
    #expect(canvas[3, 0] == .black)
    #expect(Array(canvas.row(2)) == [0, 0, 128, 0, 0, 0, 0, 0, 0, 255, 176, 0])
    #expect(canvas.greyscale() == [0, 0, 0, 0, 15, 0, 0, 0, 15, 0, 0, amber.luma])
    #expect(PixelColor.white.luma == 255 && PixelColor.black.luma == 0 && PixelColor(grey: 128).isLight)
}
