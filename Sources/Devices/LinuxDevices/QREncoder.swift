#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CQREncode
public import DeviceKit

/// Encodes text as a QR code symbol with libqrencode: the one owner of libqrencode's `QRcode` objects (each is
/// freed with `QRcode_free` before ``encode(_:level:)`` returns).
///
/// The text's UTF-8 bytes are split into numeric, alphanumeric and 8-bit segments (`QRcode_encodeString` with hint
/// `QR_MODE_8`, case-sensitive), never Kanji mode: a reader decodes exactly the bytes given. The smallest version
/// that holds the data is chosen.
public enum QREncoder {
    /// Error correction level (ISO/IEC 18004 §6.5.1).
    public enum ErrorCorrection: Sendable, Equatable {
        /// `QR_ECLEVEL_L`, about 7 % of codewords restorable.
        case low
        /// `QR_ECLEVEL_M`, about 15 %.
        case medium
        /// `QR_ECLEVEL_Q`, about 25 %.
        case quartile
        /// `QR_ECLEVEL_H`, about 30 %.
        case high

        var cLevel: QRecLevel {
            switch self {
            case .low: QR_ECLEVEL_L
            case .medium: QR_ECLEVEL_M
            case .quartile: QR_ECLEVEL_Q
            case .high: QR_ECLEVEL_H
            }
        }
    }

    /// Why a text could not be encoded.
    public struct EncodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Code: Sendable, Equatable {
            /// The text holds a NUL character (a C string cannot carry it).
            case containsNUL
            /// Too long for version 40 at this level (`ERANGE`), or the text is empty.
            case tooLong
            /// libqrencode failed otherwise (`ENOMEM`, `EINVAL`); `errno` is kept.
            case libraryFailure(Int32)
        }

        public let code: Code
        public init(code: Code) { self.code = code }
        public var description: String { "QREncoder.EncodingError.\(code)" }
        /// Equality compares the code, as the module's other errors do.
        public static func == (lhs: EncodingError, rhs: EncodingError) -> Bool { lhs.code == rhs.code }
    }

    /// The QR symbol of `text`.
    ///
    /// - Throws: ``EncodingError``.
    public static func encode(_ text: String, level: ErrorCorrection = .medium) throws -> QRMatrix {
        guard !text.utf8.contains(0) else { throw EncodingError(code: .containsNUL) }
        guard !text.isEmpty else { throw EncodingError(code: .tooLong) }
        let symbol: UnsafeMutablePointer<QRcode>? = text.withCString { cString in
            QRcode_encodeString(cString, 0, level.cLevel, QR_MODE_8, 1)
        }
        guard let symbol else {
            let code = errno
            throw EncodingError(code: code == ERANGE ? .tooLong : .libraryFailure(code))
        }
        defer { QRcode_free(symbol) }
        let width = Int(symbol.pointee.width)
        guard width > 0, let data = symbol.pointee.data else { throw EncodingError(code: .libraryFailure(0)) }
        // Bit 0 of each byte is the module's colour (1 = dark); the other bits describe the module's role.
        let modules = UnsafeBufferPointer(start: data, count: width * width).map { $0 & 1 == 1 }
        return QRMatrix(size: width, modules: modules)
    }
}
