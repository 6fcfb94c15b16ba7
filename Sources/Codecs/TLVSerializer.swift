/// Writes BER-TLV: minimal lengths, no padding (the canonical form ``TLVRules/strict`` accepts).
///
/// A value type that appends to one buffer; a constructed object's length is back-filled once its content is
/// written, as `DER.Serializer` does. To send or store an object exactly as it was received, use its
/// ``TLVNode/encodedBytes`` instead.
public struct TLVSerializer: Sendable {
    /// The bytes written so far.
    public private(set) var serializedBytes: [UInt8]

    /// An empty serializer.
    public init() { serializedBytes = [] }

    /// Appends `node`, re-encoded: children one by one with minimal lengths and without the padding or non-minimal
    /// lengths the original may have had. A primitive value is copied unchanged.
    public mutating func append(_ node: TLVNode) {
        if node.isConstructed {
            appendConstructed(tag: node.tag) { inner in
                for child in node.children { inner.append(child) }
            }
        } else {
            appendPrimitive(tag: node.tag, value: node.value)
        }
    }

    /// Appends a primitive object.
    public mutating func appendPrimitive(tag: TLVTag, value: some Collection<UInt8>) {
        serializedBytes.reserveCapacity(serializedBytes.count + tag.byteCount + 5 + value.count)
        serializedBytes.append(contentsOf: tag.bytes)
        TLVSerializer.appendLength(value.count, to: &serializedBytes)
        serializedBytes.append(contentsOf: value)
    }

    /// Appends a constructed object whose content `body` writes; the length is filled in afterwards.
    public mutating func appendConstructed(tag: TLVTag, _ body: (inout TLVSerializer) throws -> Void) rethrows {
        serializedBytes.append(contentsOf: tag.bytes)
        let lengthIndex = serializedBytes.endIndex
        serializedBytes.append(0)  // placeholder for a short-form length, widened below when needed
        try body(&self)
        let contentCount = serializedBytes.endIndex - lengthIndex - 1
        var length: [UInt8] = []
        TLVSerializer.appendLength(contentCount, to: &length)
        serializedBytes.replaceSubrange(lengthIndex..<(lengthIndex + 1), with: length)
    }

    /// Appends a length field in its shortest form (ISO/IEC 8825-1 §8.1.3.4 short form below 128, else §8.1.3.5
    /// long form `81`–`84`). Traps above `UInt32.max`, which no EMV object approaches.
    static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        guard let value = UInt32(exactly: length) else {
            preconditionFailure("TLV length \(length) does not fit the four-byte length form")
        }
        let count = lengthFieldCount(value)
        if count == 1 {
            bytes.append(UInt8(value))
            return
        }
        bytes.append(0x80 | UInt8(count - 1))
        for shift in stride(from: 8 * (count - 2), through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    /// The size of the shortest length field for `value`, including its first byte.
    static func lengthFieldCount(_ value: UInt32) -> Int {
        switch value {
        case 0..<0x80: return 1
        case 0x80..<0x100: return 2
        case 0x100..<0x1_0000: return 3
        case 0x1_0000..<0x100_0000: return 4
        default: return 5
        }
    }

    /// The size of `node`'s canonical encoding (what ``append(_:)`` writes).
    static func canonicalCount(of node: TLVNode) -> Int {
        let content = node.isConstructed ? node.children.reduce(0) { $0 + canonicalCount(of: $1) } : node.value.count
        return node.tag.byteCount + lengthFieldCount(UInt32(truncatingIfNeeded: content)) + content
    }
}

extension TLVNode {
    /// The canonical encoding of `nodes` one after another (see ``TLVSerializer/append(_:)``).
    public static func serialize(_ nodes: [TLVNode]) -> [UInt8] {
        var serializer = TLVSerializer()
        for node in nodes { serializer.append(node) }
        return serializer.serializedBytes
    }
}
