#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import DeviceKit

/// The simulator's receipt printer: each document becomes a text file in a directory, laid out on the 32 columns
/// of a 58 mm paper roll (a Chinese character takes two columns, as on the printer).
public final class TextFilePrinter: ReceiptPrinterDevice {
    public static let columns = 32
    public let directory: String
    private var sequence = 0

    public init(directory: String) {
        self.directory = directory
    }

    /// The document as the printer would lay it out.
    public static func render(_ document: PrintDocument) -> String {
        var lines: [String] = []
        for element in document.elements {
            switch element {
            case .text(let text, let alignment, _, let doubleSize):
                // The printer wraps at the paper's width; double size halves the characters per line.
                for piece in wrap(text, width: doubleSize ? columns / 2 : columns) {
                    let width = CharacterGrid.cellWidth(of: piece) * (doubleSize ? 2 : 1)
                    let shown = doubleSize ? piece.map { String($0) }.joined(separator: " ") : piece
                    let pad = max(0, columns - width)
                    switch alignment {
                    case .left: lines.append(shown)
                    case .center: lines.append(String(repeating: " ", count: pad / 2) + shown)
                    case .right: lines.append(String(repeating: " ", count: pad) + shown)
                    }
                }
            case .qrCode(let payload):
                lines.append("[QR " + payload + "]")
            case .feed(let count):
                lines += Array(repeating: "", count: max(0, count))
            }
        }
        return lines.joined(separator: "\n") + "\n" + String(repeating: "-", count: columns - 4) + " cut\n"
    }

    /// Splits text into pieces of at most `width` cells (a wide character counts two).
    static func wrap(_ text: String, width: Int) -> [String] {
        var pieces: [String] = []
        var current = ""
        var used = 0
        for scalar in text.unicodeScalars {
            let w = CharacterGrid.cellWidth(of: scalar)
            if used + w > width {
                pieces.append(current)
                current = ""
                used = 0
            }
            current.unicodeScalars.append(scalar)
            used += w
        }
        pieces.append(current)
        return pieces
    }

    public func print(_ document: PrintDocument) throws {
        sequence += 1
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let stamp = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))-\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
        try StateDirectory.makeDirectories(directory)
        try AtomicFile.store(directory + "/receipt-\(stamp)-\(getpid())-\(sequence).txt", Array(Self.render(document).utf8), mode: 0o644)
    }
}
