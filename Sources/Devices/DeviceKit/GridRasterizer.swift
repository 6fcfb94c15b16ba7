/// Draws a ``CharacterGrid`` onto a ``PixelCanvas`` with a ``BitmapFont``: what every pixel display driver does
/// with a frame.
///
/// Each cell is 8x16 font pixels, each font pixel `scale` x `scale` canvas pixels. A wide character's glyph (16x16)
/// covers its cell and the ``CharacterGrid/Cell/continuation`` cell after it, which is therefore skipped. An inverse
/// cell swaps foreground and background. A glyph narrower than its cells is drawn at the left with background after
/// it; a glyph wider than its cells (a 16-pixel Unifont symbol in a one-cell character) is clipped to the cells.
/// A character the font lacks draws as the ``Glyph/replacement(width:)`` box.
public struct GridRasterizer: Sendable {
    /// Font pixels across one cell.
    public static let cellWidth = 8
    /// Font pixels down one cell.
    public static let cellHeight = 16
    /// The scales a rasterizer accepts.
    public static let scales = 1...4

    /// The font glyphs come from.
    public let font: any BitmapFont
    /// Colour of set glyph pixels (background of inverse cells).
    public let foreground: PixelColor
    /// Colour of clear glyph pixels (foreground of inverse cells).
    public let background: PixelColor
    /// Canvas pixels per font pixel, in each direction.
    public let scale: Int

    /// A rasterizer.
    ///
    /// - Parameters:
    ///   - font: the glyphs; by default the built-in ``UnifontSubset``.
    ///   - foreground: colour of glyph strokes.
    ///   - background: colour around them.
    ///   - scale: 1 to 4 (see ``scales``).
    /// - Precondition: `scale` is in ``scales``.
    public init(
        font: any BitmapFont = UnifontSubset(), foreground: PixelColor = .white, background: PixelColor = .black,
        scale: Int = 1
    ) {
        precondition(Self.scales.contains(scale), "rasterizer scale must be in \(Self.scales), got \(scale)")
        self.font = font
        self.foreground = foreground
        self.background = background
        self.scale = scale
    }

    /// Canvas pixels one cell covers across.
    public var cellPixelWidth: Int { Self.cellWidth * scale }
    /// Canvas pixels one cell covers down.
    public var cellPixelHeight: Int { Self.cellHeight * scale }

    /// The canvas size that holds `grid` exactly.
    public func canvasSize(for grid: CharacterGrid) -> (width: Int, height: Int) {
        (grid.columns * cellPixelWidth, grid.rows * cellPixelHeight)
    }

    /// A new canvas, exactly the grid's size, with the grid drawn on it.
    public func render(_ grid: CharacterGrid) -> PixelCanvas {
        let size = canvasSize(for: grid)
        var canvas = PixelCanvas(width: size.width, height: size.height, fill: background)
        draw(grid, on: &canvas)
        return canvas
    }

    /// Draws `grid` (or some of its rows) onto `canvas`, the top-left cell at (`originX`, `originY`). Every pixel
    /// of the drawn rows' cells is painted, so stale pixels from an earlier frame never remain; pixels outside the
    /// canvas are clipped away.
    ///
    /// - Parameters:
    ///   - grid: the frame.
    ///   - canvas: the image to draw on.
    ///   - rows: the grid rows to draw; all by default. Rows outside the grid are ignored.
    ///   - originX: canvas column of the grid's left edge.
    ///   - originY: canvas row of the grid's top edge.
    public func draw(
        _ grid: CharacterGrid, on canvas: inout PixelCanvas, rows: Range<Int>? = nil, originX: Int = 0,
        originY: Int = 0
    ) {
        let rows = (rows ?? 0..<grid.rows).clamped(to: 0..<grid.rows)
        for row in rows {
            var column = 0
            while column < grid.columns {
                let cell = grid[column, row]
                let x = originX + column * cellPixelWidth
                let y = originY + row * cellPixelHeight
                guard let scalar = cell.scalar else {
                    // A continuation cell is covered by the wide glyph before it, drawn below with a span of two; one
                    // without a wide character before it (a grid edited cell by cell) is painted blank.
                    let (_, back) = colors(inverse: cell.inverse)
                    canvas.fill(x: x, y: y, width: cellPixelWidth, height: cellPixelHeight, color: back)
                    column += 1
                    continue
                }
                let span = min(CharacterGrid.cellWidth(of: scalar), grid.columns - column)
                drawGlyph(
                    font.glyphOrReplacement(for: scalar), cells: span, inverse: cell.inverse, x: x, y: y,
                    on: &canvas)
                column += span
            }
        }
        if let overlay = grid.qrOverlay, !rows.isEmpty {
            let clip = (originY + rows.lowerBound * cellPixelHeight)..<(originY + rows.upperBound * cellPixelHeight)
            drawQR(overlay, columns: grid.columns, originX: originX, originY: originY, clipY: clip, on: &canvas)
        }
    }

    /// Where a QR overlay lands: the symbol's top-left pixel and the pixels a module takes, with the quiet zone (4
    /// modules, 2 when 4 do not fit); `nil` when not even one pixel a module fits.
    public func qrPlacement(_ overlay: QROverlay, columns: Int, originX: Int = 0, originY: Int = 0)
        -> (x: Int, y: Int, module: Int, quietZone: Int)?
    {
        let bandWidth = columns * cellPixelWidth
        let bandHeight = overlay.rows.count * cellPixelHeight
        for quiet in [QRMatrix.standardQuietZone, 2] {
            let span = overlay.matrix.size + 2 * quiet
            let module = min(bandWidth, bandHeight) / span
            if module >= 1 {
                let side = span * module
                return (
                    originX + (bandWidth - side) / 2 + quiet * module,
                    originY + overlay.rows.lowerBound * cellPixelHeight + (bandHeight - side) / 2 + quiet * module,
                    module, quiet
                )
            }
        }
        return nil
    }

    /// Paints the QR symbol and its quiet zone, only inside the pixel rows `clipY`: light modules in the lighter of
    /// the two colours, dark ones in the darker, whatever the display's foreground is.
    private func drawQR(
        _ overlay: QROverlay, columns: Int, originX: Int, originY: Int, clipY: Range<Int>, on canvas: inout PixelCanvas
    ) {
        guard let place = qrPlacement(overlay, columns: columns, originX: originX, originY: originY) else { return }
        let (light, dark) = foreground.luma >= background.luma ? (foreground, background) : (background, foreground)
        let size = overlay.matrix.size
        func paint(_ x: Int, _ y: Int, _ width: Int, _ height: Int, _ color: PixelColor) {
            let top = max(y, clipY.lowerBound)
            let bottom = min(y + height, clipY.upperBound)
            if bottom > top { canvas.fill(x: x, y: top, width: width, height: bottom - top, color: color) }
        }
        let quiet = place.quietZone * place.module
        paint(place.x - quiet, place.y - quiet, size * place.module + 2 * quiet, size * place.module + 2 * quiet, light)
        for y in 0..<size {
            var x = 0
            while x < size {
                guard overlay.matrix[x, y] else {
                    x += 1
                    continue
                }
                var end = x + 1
                while end < size, overlay.matrix[end, y] { end += 1 }
                paint(place.x + x * place.module, place.y + y * place.module, (end - x) * place.module, place.module, dark)
                x = end
            }
        }
    }

    private func colors(inverse: Bool) -> (fore: PixelColor, back: PixelColor) {
        inverse ? (background, foreground) : (foreground, background)
    }

    /// Draws one glyph across `cells` cells at canvas point (`x`, `y`), painting runs of equal pixels as rectangles.
    private func drawGlyph(_ glyph: Glyph, cells: Int, inverse: Bool, x: Int, y: Int, on canvas: inout PixelCanvas) {
        let (fore, back) = colors(inverse: inverse)
        let pixelsAcross = cells * Self.cellWidth
        for glyphRow in 0..<Glyph.height {
            let top = y + glyphRow * scale
            var runStart = 0
            var runIsSet = glyph.isSet(x: 0, y: glyphRow)
            for glyphColumn in 1...pixelsAcross {
                let isSet = glyphColumn < pixelsAcross && glyph.isSet(x: glyphColumn, y: glyphRow)
                if glyphColumn == pixelsAcross || isSet != runIsSet {
                    canvas.fill(
                        x: x + runStart * scale, y: top, width: (glyphColumn - runStart) * scale, height: scale,
                        color: runIsSet ? fore : back)
                    runStart = glyphColumn
                    runIsSet = isSet
                }
            }
        }
    }
}
