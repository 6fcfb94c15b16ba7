/// The rules a BER-TLV parse follows: EMV's leniencies as explicit flags, in the way `ASN1.EncodingRules` makes BER
/// and DER explicit.
public struct TLVRules: Sendable, Equatable {
    /// Whether `00` and `FF` bytes may stand before, between and after objects (also inside templates) and are
    /// skipped: EMV Book 3 Annex B ("Before, between, or after TLV-coded data objects, '00' or 'FF' bytes without any
    /// meaning may occur"). Without it such a byte where a tag should start is ``EMVCodecError/Code/invalidTag``.
    public var allowsPadding: Bool
    /// Whether a long-form length may use more bytes than needed (`81 05` for 5): BER allows it (ISO/IEC 8825-1
    /// §8.1.3.5 note 2), DER does not. The parsed node keeps its original bytes either way; the serializer always
    /// writes minimal lengths.
    public var allowsNonMinimalLengths: Bool
    /// How deeply constructed objects may nest (the top level is depth 1). Real EMV data nests at most five deep
    /// (`6F` › `A5` › `BF0C` › `61` › `4F`).
    public var maximumDepth: Int

    /// Creates rules.
    public init(allowsPadding: Bool, allowsNonMinimalLengths: Bool, maximumDepth: Int = 10) {
        precondition(maximumDepth >= 1, "TLVRules.maximumDepth must be at least 1")
        self.allowsPadding = allowsPadding
        self.allowsNonMinimalLengths = allowsNonMinimalLengths
        self.maximumDepth = maximumDepth
    }

    /// What card responses need: padding skipped, BER lengths, depth 10.
    public static let emv = TLVRules(allowsPadding: true, allowsNonMinimalLengths: true)
    /// No padding and minimal lengths only: every accepted input is exactly what the serializer writes, so a parse
    /// followed by ``TLVSerializer`` gives the input back byte for byte.
    public static let strict = TLVRules(allowsPadding: false, allowsNonMinimalLengths: false)
}

/// One BER-TLV data object (EMV Book 3 Annex B): a ``TLVTag``, and either a primitive value or, when the tag is
/// constructed, the objects nested in it.
///
/// A parsed node keeps ``encodedBytes`` and ``value`` as slices of the input, not copies: the bytes a signature or
/// hash covers (static data to authenticate, the record templates of EMV Book 2 §5.4) are used exactly as the card
/// sent them, never a re-serialization. Unknown and proprietary tags are kept the same way and come back unchanged.
public struct TLVNode: Sendable, Hashable {
    /// The tag.
    public let tag: TLVTag
    /// The whole object as encoded: tag, length and value.
    public let encodedBytes: ArraySlice<UInt8>
    /// The value field: the content bytes (for a constructed object, the encoding of its children with any padding).
    public let value: ArraySlice<UInt8>
    /// The nested objects of a constructed tag, in order (padding dropped); empty for a primitive tag.
    public let children: [TLVNode]

    /// A node from parts already consistent with each other (the parser's and the serializer's).
    init(tag: TLVTag, encodedBytes: ArraySlice<UInt8>, value: ArraySlice<UInt8>, children: [TLVNode]) {
        self.tag = tag
        self.encodedBytes = encodedBytes
        self.value = value
        self.children = children
    }

    /// A primitive object with `value`. Traps when `tag` is constructed (use ``init(tag:children:)``).
    public init(tag: TLVTag, value: some Collection<UInt8>) {
        precondition(!tag.isConstructed, "TLVNode(tag: \(tag), value:) with a constructed tag; pass children")
        var serializer = TLVSerializer()
        serializer.appendPrimitive(tag: tag, value: value)
        let encoded = serializer.serializedBytes[...]
        self.init(tag: tag, encodedBytes: encoded, value: encoded.suffix(value.count), children: [])
    }

    /// A constructed object holding `children`. Traps when `tag` is primitive (use ``init(tag:value:)``).
    public init(tag: TLVTag, children: [TLVNode]) {
        precondition(tag.isConstructed, "TLVNode(tag: \(tag), children:) with a primitive tag; pass a value")
        var serializer = TLVSerializer()
        serializer.appendConstructed(tag: tag) { inner in
            for child in children { inner.append(child) }
        }
        let encoded = serializer.serializedBytes[...]
        let valueCount = children.reduce(0) { $0 + TLVSerializer.canonicalCount(of: $1) }
        self.init(tag: tag, encodedBytes: encoded, value: encoded.suffix(valueCount), children: children)
    }

    /// Whether the tag is constructed (the value is a sequence of objects).
    public var isConstructed: Bool { tag.isConstructed }

    /// The first direct child with `tag`.
    public func child(_ tag: TLVTag) -> TLVNode? { children.first { $0.tag == tag } }

    /// The first object with `tag` in this node's subtree (itself included), depth first in document order.
    public func firstDescendant(_ tag: TLVTag) -> TLVNode? {
        if self.tag == tag { return self }
        for child in children {
            if let found = child.firstDescendant(tag) { return found }
        }
        return nil
    }

    /// Two nodes are equal when their tags, values and children are; the original encodings may differ (padding,
    /// non-minimal lengths).
    public static func == (lhs: TLVNode, rhs: TLVNode) -> Bool {
        guard lhs.tag == rhs.tag, lhs.children == rhs.children else { return false }
        return lhs.isConstructed || lhs.value.elementsEqual(rhs.value)
    }

    /// Hashes what ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(tag)
        if isConstructed {
            hasher.combine(children)
        } else {
            for byte in value { hasher.combine(byte) }
        }
    }
}

extension Array where Element == TLVNode {
    /// The first object with `tag` among these nodes and their descendants, depth first in document order.
    public func firstDescendant(_ tag: TLVTag) -> TLVNode? {
        for node in self {
            if let found = node.firstDescendant(tag) { return found }
        }
        return nil
    }
}
