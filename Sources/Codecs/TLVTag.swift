/// A BER-TLV tag: one to four bytes (EMV Book 3 Annex B1, ISO/IEC 8825-1 §8.1.2).
///
/// The tag is kept as the big-endian number its bytes spell, so `TLVTag(0x9F02)` is the two bytes `9F 02` and
/// `TLVTag(0x5A)` the one byte `5A`; the encoding, not the ASN.1 tag number, is what identifies a data element in EMV
/// (and EMV's two-byte tags such as `9F02` are long-form encodings of small tag numbers, which X.690 would not allow;
/// BER as EMV uses it does).
///
/// Encoding rules checked by every initializer:
/// - first byte: bits 8–7 class, bit 6 constructed, bits 5–1 the tag number or `11111` when subsequent bytes follow
///   (Annex B1, table B-1);
/// - subsequent bytes: bit 8 set when another byte follows (table B-2);
/// - at most four bytes in all: a cap of ours; EMV and ISO/IEC 7816-4 tags have at most three;
/// - a first byte other than `00` and `FF` (ISO/IEC 7816-4 §5.2.2.1; EMV uses them as padding).
///
/// The EMV data elements the kernel uses are static members (``applicationPrimaryAccountNumber`` and the others in
/// EMVTags.swift), in the way `ASN1Identifier` names its tags.
public struct TLVTag: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The tag's bytes read as a big-endian number, e.g. `0x9F02`.
    public let rawValue: UInt32

    /// The largest number of bytes a tag may have here.
    public static let maximumByteCount = 4

    /// The class of a tag: bits 8–7 of its first byte (ISO/IEC 8825-1 §8.1.2.2, table 1).
    public enum TagClass: Sendable, Equatable {
        /// `00`: universal (ASN.1 types).
        case universal
        /// `01`: application (most EMV tags, `4F`–`7F`, `5F..`).
        case application
        /// `10`: context-specific (EMV's `80`–`9F..`, `A5`, `BF0C`).
        case contextSpecific
        /// `11`: private (`C0`–`FF`: proprietary tags such as `DF..`).
        case `private`
    }

    /// A tag from its number, such as `TLVTag(0x9F02)`. Traps when the number is not a valid tag encoding: a tag
    /// literal is the programmer's to get right. Use ``init(rawValue:)`` for numbers that come from input.
    public init(_ rawValue: UInt32) {
        guard let tag = TLVTag(rawValue: rawValue) else {
            preconditionFailure("TLVTag(0x\(String(rawValue, radix: 16, uppercase: true))) is not a valid BER-TLV tag")
        }
        self = tag
    }

    /// A tag from its number, or `nil` when the number is not a valid tag encoding (see the type's rules).
    public init?(rawValue: UInt32) {
        var bytes: [UInt8] = []
        var value = rawValue
        repeat {
            bytes.insert(UInt8(truncatingIfNeeded: value), at: 0)
            value >>= 8
        } while value != 0
        guard TLVTag.isValidEncoding(bytes[...]) else { return nil }
        self.rawValue = rawValue
    }

    /// A tag from its bytes, or `nil` when they are not exactly one valid tag.
    public init?(bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        guard TLVTag.isValidEncoding(array[...]) else { return nil }
        rawValue = array.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Builds a tag from bytes already checked by ``isValidEncoding(_:)``.
    init(validatedBytes bytes: ArraySlice<UInt8>) {
        rawValue = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Whether `bytes` are exactly one tag: the continuation rules of EMV Book 3 Annex B1, at most four bytes, and a
    /// first byte other than `00` and `FF`, which ISO/IEC 7816-4 §5.2.2.1 declares invalid as the first byte of a tag
    /// (EMV uses them as padding between objects; `00` first is also why ``rawValue`` has no leading zero bytes).
    static func isValidEncoding(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first, first != 0x00, first != 0xFF, bytes.count <= maximumByteCount else {
            return false
        }
        if first & 0x1F != 0x1F { return bytes.count == 1 }
        guard bytes.count >= 2 else { return false }
        // Every subsequent byte but the last has bit 8 set; the last has it clear.
        for index in bytes.indices.dropFirst() {
            let more = bytes[index] & 0x80 != 0
            if more != (index != bytes.index(before: bytes.endIndex)) { return false }
        }
        return true
    }

    /// The tag's bytes, as they appear in an encoding.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        var value = rawValue
        repeat {
            out.insert(UInt8(truncatingIfNeeded: value), at: 0)
            value >>= 8
        } while value != 0
        return out
    }

    /// The number of bytes of the tag (1…4).
    public var byteCount: Int {
        var count = 1
        var value = rawValue >> 8
        while value != 0 {
            count += 1
            value >>= 8
        }
        return count
    }

    /// The first byte, which holds the class and the constructed bit.
    var firstByte: UInt8 { UInt8(truncatingIfNeeded: rawValue >> (8 * UInt32(byteCount - 1))) }

    /// Whether the value is itself a sequence of TLV objects: bit 6 of the first byte (ISO/IEC 8825-1 §8.1.2.5).
    public var isConstructed: Bool { firstByte & 0x20 != 0 }

    /// The tag's class, from bits 8–7 of the first byte.
    public var tagClass: TagClass {
        switch firstByte >> 6 {
        case 0: return .universal
        case 1: return .application
        case 2: return .contextSpecific
        default: return .private
        }
    }

    /// Upper-case hex of the tag's bytes, as EMV writes tags: "9F02".
    public var description: String { Hex.encode(bytes) }

    /// Orders tags by their bytes, shorter tags with the same leading bytes first (the order of ``rawValue`` for
    /// tags of equal length).
    public static func < (lhs: TLVTag, rhs: TLVTag) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
