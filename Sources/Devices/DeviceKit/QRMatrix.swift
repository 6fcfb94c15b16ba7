/// A QR code symbol as its modules: `size` x `size` squares, dark (`true`) or light, without the quiet zone. What
/// screens and printers draw; `LinuxDevices.QREncoder` (libqrencode) makes one from a payload.
public struct QRMatrix: Sendable, Equatable {
    /// Modules across (and down): 21 for version 1, 4 more each version, 177 for version 40.
    public let size: Int
    /// Row-major, top row first; `true` is a dark module.
    public let modules: [Bool]

    /// A matrix from its modules.
    ///
    /// - Precondition: `size` is positive and `modules` has `size * size` entries.
    public init(size: Int, modules: [Bool]) {
        precondition(size > 0 && modules.count == size * size, "a QR matrix needs size*size modules, got \(modules.count) for size \(size)")
        self.size = size
        self.modules = modules
    }

    /// Whether module (`x`, `y`) is dark; modules outside the symbol (the quiet zone) are light.
    public subscript(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else { return false }
        return modules[y * size + x]
    }

    /// The QR version (1-40) its size implies.
    public var version: Int { (size - 17) / 4 }

    /// The light border ISO/IEC 18004 asks for around a symbol, in modules.
    public static let standardQuietZone = 4

    /// The symbol as text, two module rows a line, with block characters: '█' both light, '▀' upper light, '▄'
    /// lower light, ' ' both dark. Light modules are drawn as the character's ink, so the text shows a correctly
    /// coloured code where ink is light on a dark background (a terminal drawing light on black, the displays'
    /// white-on-black rasterizer). `quietZone` light modules surround the symbol.
    public func halfBlockLines(quietZone: Int = 2) -> [String] {
        let span = size + 2 * quietZone
        var lines: [String] = []
        lines.reserveCapacity((span + 1) / 2)
        var y = 0
        while y < span {
            var line = String.UnicodeScalarView()
            for x in 0..<span {
                let upperLight = !self[x - quietZone, y - quietZone]
                // After a last odd row the lower half is more quiet zone: light.
                let lowerLight = y + 1 >= span || !self[x - quietZone, y + 1 - quietZone]
                switch (upperLight, lowerLight) {
                case (true, true): line.append("\u{2588}")
                case (true, false): line.append("\u{2580}")
                case (false, true): line.append("\u{2584}")
                case (false, false): line.append(" ")
                }
            }
            lines.append(String(line))
            y += 2
        }
        return lines
    }
}
