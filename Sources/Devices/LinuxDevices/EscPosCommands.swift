public import DeviceKit

/// The ESC/POS commands the receipt printer driver sends, as exact byte sequences.
///
/// Every sequence is taken from the Epson "ESC/POS Command Reference" (the command pages named in each doc
/// comment; the same commands are implemented by the Chinese 58/80 mm thermal printers that call themselves
/// "ESC/POS compatible"). Values are bytes on the wire: ESC = 0x1B, GS = 0x1D, FS = 0x1C, LF = 0x0A.
public enum EscPosCommand {
    /// `ESC @` = 1B 40, "Initialize printer": clears the print buffer and resets the modes (justification,
    /// emphasis, character size, Kanji mode) to their power-on values.
    public static let initialize: [UInt8] = [0x1B, 0x40]

    /// `LF` = 0A, "Print and line feed": prints the buffer and feeds one line.
    public static let lineFeed: [UInt8] = [0x0A]

    /// `ESC a n` = 1B 61 n, "Select justification": n = 0 left, 1 centered, 2 right. Takes effect only at the
    /// beginning of a line in standard mode; it also positions 2D codes.
    public static func justification(_ alignment: PrintDocument.Alignment) -> [UInt8] {
        let n: UInt8 =
            switch alignment {
            case .left: 0
            case .center: 1
            case .right: 2
            }
        return [0x1B, 0x61, n]
    }

    /// `ESC E n` = 1B 45 n, "Turn emphasized mode on/off": n = 1 on, 0 off (only the lowest bit counts).
    /// Applies to alphanumeric and Kanji (Chinese) characters alike.
    public static func emphasis(_ on: Bool) -> [UInt8] {
        [0x1B, 0x45, on ? 1 : 0]
    }

    /// `GS ! n` = 1D 21 n, "Select character size": bits 4-6 hold (width multiplier - 1) and bits 0-2 hold
    /// (height multiplier - 1); n = 0x11 is double width and double height, n = 0x00 normal size. Unlike `ESC !`,
    /// it applies to Kanji (Chinese) characters too.
    public static func characterSize(doubled: Bool) -> [UInt8] {
        [0x1D, 0x21, doubled ? 0x11 : 0x00]
    }

    /// `FS &` = 1C 26, "Select Kanji character mode": bytes >= 0x80 are read as double-byte (on Chinese models:
    /// GB2312 / GB18030) characters until `FS .`.
    public static let selectKanjiMode: [UInt8] = [0x1C, 0x26]

    /// `FS .` = 1C 2E, "Cancel Kanji character mode".
    public static let cancelKanjiMode: [UInt8] = [0x1C, 0x2E]

    /// `ESC d n` = 1B 64 n, "Print and feed n lines" (0 ... 255).
    public static func printAndFeed(lines: UInt8) -> [UInt8] {
        [0x1B, 0x64, lines]
    }

    /// `GS V m n` with m = 66 = 1D 56 42 n, "Select cut mode and cut paper", function B: feeds the paper to the
    /// cutting position plus n vertical motion units and cuts, leaving one point uncut (partial cut). n = 0 feeds
    /// just far enough that the last printed line is above the cutter.
    public static func partialCut(feedUnits: UInt8 = 0) -> [UInt8] {
        [0x1D, 0x56, 66, feedUnits]
    }

    /// QR Code error correction level, function 169 of `GS ( k`.
    public enum QRErrorCorrection: UInt8, Sendable, CaseIterable {
        /// L, recovers about 7 % of the symbol (n = 48).
        case low = 48
        /// M, about 15 % (n = 49).
        case medium = 49
        /// Q, about 25 % (n = 50).
        case quartile = 50
        /// H, about 30 % (n = 51).
        case high = 51
    }

    /// The largest payload function 180 stores: (pL + pH × 256) = k + 3 may be at most 7092.
    public static let maxQRPayloadLength = 7089

    /// The five `GS ( k` functions that print a QR code (`GS ( k` = 1D 28 6B pL pH cn fn ..., cn = 49 = QR):
    ///
    /// 1. function 165, "Select the model": 1D 28 6B 04 00 31 41 32 00 (n1 = 50: model 2, n2 = 0);
    /// 2. function 167, "Set the size of module": 1D 28 6B 03 00 31 43 n (n dots, 1 ... 16);
    /// 3. function 169, "Select the error correction level": 1D 28 6B 03 00 31 45 n (48 L, 49 M, 50 Q, 51 H);
    /// 4. function 180, "Store the data in the symbol storage area": 1D 28 6B pL pH 31 50 30 d1 ... dk with
    ///    pL + pH × 256 = k + 3 (the 3 counts cn, fn and m = 48);
    /// 5. function 181, "Print the symbol data in the symbol storage area": 1D 28 6B 03 00 31 51 30.
    ///
    /// - Parameters:
    ///   - payload: the bytes to encode (the UTF-8 of the text); 1 ... ``maxQRPayloadLength`` bytes.
    ///   - moduleSize: dots per module, 1 ... 16.
    ///   - errorCorrection: the error correction level.
    /// - Throws: ``SerialError`` with ``SerialError/Code/qrPayloadOutOfRange`` when the payload is empty or does
    ///   not fit.
    public static func qrCode(
        _ payload: [UInt8], moduleSize: Int, errorCorrection: QRErrorCorrection
    ) throws -> [UInt8] {
        precondition((1...16).contains(moduleSize), "QR module size must be 1...16 dots, got \(moduleSize)")
        guard (1...maxQRPayloadLength).contains(payload.count) else { throw SerialError(.qrPayloadOutOfRange) }
        let stored = payload.count + 3
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payload.count + 40)
        bytes += [0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00]
        bytes += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, UInt8(moduleSize)]
        bytes += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, errorCorrection.rawValue]
        bytes += [0x1D, 0x28, 0x6B, UInt8(stored & 0xFF), UInt8(stored >> 8), 0x31, 0x50, 0x30]
        bytes += payload
        bytes += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]
        return bytes
    }
}
