#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// A text converter from UTF-8 to another character set through glibc's `iconv(3)`, e.g. GB18030 for the
/// Chinese fonts of receipt printers.
///
/// One object owns one `iconv_t` and closes it in `deinit` (`iconv_close(3)`). A conversion descriptor keeps shift
/// state, so an object is used by one thread at a time (it is not `Sendable`).
///
/// Characters the target cannot represent become `?` (iconv reports `EILSEQ`; the converter skips that one UTF-8
/// sequence and goes on). GB18030 covers all of Unicode, so with it `?` only appears for what is not text at all.
public final class IconvConverter {
    /// The target character set, as `iconv_open(3)` names it ("GB18030").
    public let targetEncoding: String
    /// The conversion descriptor; never `(iconv_t)-1`.
    private let descriptor: iconv_t

    /// Opens a converter from UTF-8 to `targetEncoding` (`iconv_open(targetEncoding, "UTF-8")`).
    ///
    /// - Throws: ``SerialError`` with ``SerialError/Code/encoderUnavailable`` when glibc has no such conversion
    ///   (the gconv modules, `/usr/lib/<triplet>/gconv/GB18030.so` in Debian's `libc6`, are missing).
    public init(targetEncoding: String = "GB18030") throws {
        let handle = iconv_open(targetEncoding, "UTF-8")
        // iconv_open(3) returns (iconv_t) -1 on failure, not NULL.
        guard let handle, Int(bitPattern: handle) != -1 else {
            throw SerialError(.encoderUnavailable, errno: Errno(rawValue: errno))
        }
        self.targetEncoding = targetEncoding
        self.descriptor = handle
    }

    deinit {
        iconv_close(descriptor)
    }

    /// The replacement for a character the target cannot encode.
    public static let replacement: UInt8 = 0x3F  // "?"

    /// Converts `text`; never fails (unencodable characters become `?`).
    public func convert(_ text: String) -> [UInt8] {
        // iconv(3) takes `char **`: hold the bytes as CChar from the start, so no memory is rebound.
        var input = text.utf8.map { CChar(bitPattern: $0) }
        guard !input.isEmpty else { return [] }
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 2)
        var chunk = [CChar](repeating: 0, count: 256)
        // Reset the shift state: iconv(cd, NULL, NULL, NULL, NULL) (iconv(3), "the conversion state is reset").
        _ = iconv(descriptor, nil, nil, nil, nil)
        input.withUnsafeMutableBufferPointer { inputBuffer in
            chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                // Force-unwraps: both arrays are non-empty, so both buffers have a base address.
                let chunkBase = chunkBuffer.baseAddress!
                var inPointer: UnsafeMutablePointer<CChar>? = inputBuffer.baseAddress!
                var inLeft = inputBuffer.count
                var finishing = false
                while true {
                    var outPointer: UnsafeMutablePointer<CChar>? = chunkBase
                    var outLeft = chunkBuffer.count
                    let rc: Int
                    if finishing {
                        // Flush any pending shift sequence: iconv(cd, NULL, NULL, &out, &outleft).
                        rc = iconv(descriptor, nil, nil, &outPointer, &outLeft)
                    } else {
                        rc = iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                    }
                    let error = errno
                    let produced = chunkBuffer.count - outLeft
                    output.append(contentsOf: chunkBuffer[..<produced].lazy.map { UInt8(bitPattern: $0) })
                    if rc != -1 {
                        if finishing { return }
                        finishing = true
                        continue
                    }
                    switch error {
                    case E2BIG:
                        continue  // the chunk was full and has been emptied into `output`
                    case EILSEQ, EINVAL:
                        // EILSEQ: a character the target cannot encode (or invalid input); EINVAL: an incomplete
                        // sequence at the end. Either way: one "?" and skip one UTF-8 sequence.
                        output.append(Self.replacement)
                        // Force-unwrap: iconv leaves inPointer at the offending byte inside the input buffer.
                        let lead = UInt8(bitPattern: inPointer!.pointee)
                        let skip = min(Self.utf8SequenceLength(lead: lead), inLeft)
                        inPointer = inPointer! + skip
                        inLeft -= skip
                        _ = iconv(descriptor, nil, nil, nil, nil)
                        if inLeft == 0 { finishing = true }
                    default:
                        output.append(Self.replacement)  // EBADF cannot happen with an owned descriptor
                        return
                    }
                }
            }
        }
        return output
    }

    /// The length of the UTF-8 sequence that starts with `lead` (1 for a stray continuation byte).
    private static func utf8SequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0xF0...0xF7: 4
        case 0xE0...0xEF: 3
        case 0xC0...0xDF: 2
        default: 1
        }
    }
}

@available(*, unavailable, message: "an iconv descriptor keeps conversion state and is used by one thread")
extension IconvConverter: Sendable {}
