public import DeviceKit

/// How an ESC/POS printer model wants its receipts.
public struct EscPosConfiguration: Sendable, Equatable {
    /// How text is turned into bytes.
    public enum TextEncoding: Sendable, Equatable {
        /// GB18030 through glibc `iconv(3)`: the Chinese printers' font (ASCII stays ASCII).
        case gb18030
        /// 7-bit ASCII; every other character prints as `?`.
        case ascii
    }

    /// How text is turned into bytes.
    public var textEncoding: TextEncoding
    /// Whether to send `FS &` after `ESC @` and `FS .` before the cut. Some Chinese firmware powers up in
    /// Kanji (Chinese) mode, others need `FS &` before they read GB18030 double-byte characters. Sending it to a
    /// printer that is already in that mode is harmless.
    public var selectsKanjiMode: Bool
    /// QR module size in dots, 1 ... 16 (6 dots on a 203 dpi head gives a ~25 mm code for a 33-module symbol).
    public var qrModuleSize: Int
    /// QR error correction level.
    public var qrErrorCorrection: EscPosCommand.QRErrorCorrection
    /// Where QR codes are placed across the paper.
    public var qrAlignment: PrintDocument.Alignment

    /// Creates a configuration; the defaults suit a GB18030 printer that needs no `FS &`, with centered
    /// 6-dot, level-M QR codes.
    public init(
        textEncoding: TextEncoding = .gb18030, selectsKanjiMode: Bool = false, qrModuleSize: Int = 6,
        qrErrorCorrection: EscPosCommand.QRErrorCorrection = .medium, qrAlignment: PrintDocument.Alignment = .center
    ) {
        precondition((1...16).contains(qrModuleSize), "QR module size must be 1...16 dots, got \(qrModuleSize)")
        self.textEncoding = textEncoding
        self.selectsKanjiMode = selectsKanjiMode
        self.qrModuleSize = qrModuleSize
        self.qrErrorCorrection = qrErrorCorrection
        self.qrAlignment = qrAlignment
    }
}

/// Turns a ``PrintDocument`` into the ESC/POS byte stream for one receipt. Pure: no I/O (``EscPosPrinter`` sends
/// the bytes).
///
/// The stream is:
/// ```
/// ESC @                          initialize
/// [FS &]                         if selectsKanjiMode
/// per text line: [ESC a n] [ESC E n] [GS ! n]  (only the settings that differ from the line before)
///                <text bytes> LF
/// per QR code:   [ESC a n] GS ( k ... (model 2, module size, error correction, store, print)
/// per feed:      ESC d n
/// [FS .]                         if selectsKanjiMode
/// GS V 66 0                      feed to the cutter and cut partially
/// ```
/// Text is sanitised before encoding: a newline inside a text element starts a new line with the same style,
/// and every other control character (C0, DEL, C1) prints as `?`, so that no text can smuggle a command (`ESC`,
/// `GS`, `DLE`...) into the stream.
public struct EscPosRenderer: Sendable {
    /// The printer's settings.
    public let configuration: EscPosConfiguration

    /// Creates a renderer.
    public init(configuration: EscPosConfiguration = EscPosConfiguration()) {
        self.configuration = configuration
    }

    /// The printer state the stream has set so far (after `ESC @`: left, not emphasized, normal size).
    private struct Style: Equatable {
        var alignment: PrintDocument.Alignment = .left
        var emphasis = false
        var doubleSize = false
    }

    /// Renders `document`, ending with the partial cut.
    ///
    /// - Throws: ``SerialError`` with ``SerialError/Code/encoderUnavailable`` (no GB18030 converter) or
    ///   ``SerialError/Code/qrPayloadOutOfRange`` (a QR payload over 7089 bytes).
    public func render(_ document: PrintDocument) throws -> [UInt8] {
        let encode = try textEncoder()
        var out = EscPosCommand.initialize
        if configuration.selectsKanjiMode { out += EscPosCommand.selectKanjiMode }
        var style = Style()
        for element in document.elements {
            switch element {
            case .text(let text, let alignment, let emphasis, let doubleSize):
                let wanted = Style(alignment: alignment, emphasis: emphasis, doubleSize: doubleSize)
                for line in Self.lines(of: text) {
                    out += Self.changes(from: style, to: wanted)
                    style = wanted
                    out += encode(line)
                    out += EscPosCommand.lineFeed
                }
            case .qrCode(let payload):
                let bytes = Array(payload.utf8)
                guard !bytes.isEmpty else { continue }  // nothing to encode; an empty symbol is not printable
                if style.alignment != configuration.qrAlignment {
                    out += EscPosCommand.justification(configuration.qrAlignment)
                    style.alignment = configuration.qrAlignment
                }
                out += try EscPosCommand.qrCode(
                    bytes, moduleSize: configuration.qrModuleSize, errorCorrection: configuration.qrErrorCorrection)
            case .feed(let lines):
                var left = max(0, lines)
                while left > 0 {
                    let now = min(left, 255)
                    out += EscPosCommand.printAndFeed(lines: UInt8(now))
                    left -= now
                }
            }
        }
        if configuration.selectsKanjiMode { out += EscPosCommand.cancelKanjiMode }
        out += EscPosCommand.partialCut()
        return out
    }

    /// The commands that take the printer from `current` to `wanted`, in the order ESC a, ESC E, GS !.
    private static func changes(from current: Style, to wanted: Style) -> [UInt8] {
        var out: [UInt8] = []
        if current.alignment != wanted.alignment { out += EscPosCommand.justification(wanted.alignment) }
        if current.emphasis != wanted.emphasis { out += EscPosCommand.emphasis(wanted.emphasis) }
        if current.doubleSize != wanted.doubleSize { out += EscPosCommand.characterSize(doubled: wanted.doubleSize) }
        return out
    }

    /// The text's lines (split at LF; a CR right before the LF is dropped), with every other control character
    /// replaced by `?`. Works on Unicode scalars: as a `Character`, CR LF is one grapheme, not an LF.
    static func lines(of text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var pendingCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                pendingCR = false
                continue
            }
            if pendingCR {
                current.append("?")
                pendingCR = false
            }
            switch scalar.value {
            case 0x0D: pendingCR = true
            case 0x00...0x1F, 0x7F...0x9F: current.append("?")
            default: current.append(scalar)
            }
        }
        if pendingCR { current.append("?") }
        lines.append(String(current))
        return lines
    }

    /// The text encoder for this configuration.
    private func textEncoder() throws -> (String) -> [UInt8] {
        switch configuration.textEncoding {
        case .gb18030:
            let converter = try IconvConverter(targetEncoding: "GB18030")
            return { converter.convert($0) }
        case .ascii:
            return { text in text.unicodeScalars.map { $0.isASCII ? UInt8($0.value) : IconvConverter.replacement } }
        }
    }
}
