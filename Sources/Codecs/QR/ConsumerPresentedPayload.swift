/// An EMVCo consumer-presented QR code (EMV QRCPS Consumer-Presented Mode v1.1 §3): Base64 text of BER-TLV data
/// objects — Payload Format Indicator '85' = "CPV01", one or more Application Templates '61' (AID '4F', label '50',
/// track 2 '57', PAN '5A', ... and an Application Specific Transparent Template '63'), and an optional Common Data
/// Template '62' (which may hold a Common Data Transparent Template '64').
///
/// The payload holds card data (PAN, track 2 equivalent, cryptogram): never log it; render it through
/// ``EMVDataDictionary`` masking.
public struct ConsumerPresentedPayload: Sendable, Equatable {
    /// Payload Format Indicator, tag '85'.
    public static let payloadFormatIndicatorTag = TLVTag(0x85)
    /// Application Template, tag '61'.
    public static let applicationTemplateTag = TLVTag(0x61)
    /// Common Data Template, tag '62'.
    public static let commonDataTemplateTag = TLVTag(0x62)
    /// Application Specific Transparent Template, tag '63'.
    public static let applicationSpecificTransparentTemplateTag = TLVTag(0x63)
    /// Common Data Transparent Template, tag '64'.
    public static let commonDataTransparentTemplateTag = TLVTag(0x64)
    /// The one payload format this version reads: "CPV01".
    public static let payloadFormatIndicator: [UInt8] = Array("CPV01".utf8)

    /// The top-level data objects in order: '85', the '61' templates, the optional '62'.
    public let nodes: [TLVNode]

    /// The Application Templates '61', in order of preference.
    public var applicationTemplates: [TLVNode] { nodes.filter { $0.tag == Self.applicationTemplateTag } }
    /// The Common Data Template '62', if present.
    public var commonDataTemplate: TLVNode? { nodes.first { $0.tag == Self.commonDataTemplateTag } }

    /// The first occurrence of `tag` in the first application template, else in the common data template (the
    /// CPM rule: an application template's data overrides the common data).
    public func dataObject(_ tag: TLVTag) -> TLVNode? {
        if let first = applicationTemplates.first, let node = first.firstDescendant(tag) { return node }
        return commonDataTemplate?.firstDescendant(tag)
    }

    /// Parses Base64 text.
    ///
    /// - Throws: ``QRCodecError`` (`invalidBase64`, `malformedConsumerPresented`).
    public init(base64 text: some StringProtocol) throws {
        guard let bytes = Base64.decode(text) else {
            throw QRCodecError(.invalidBase64, reason: "not padded Base64 text")
        }
        try self.init(tlvEncoded: bytes)
    }

    /// Parses the BER-TLV bytes.
    ///
    /// - Throws: ``QRCodecError/Code/malformedConsumerPresented``.
    public init(tlvEncoded bytes: [UInt8]) throws {
        let nodes: [TLVNode]
        do {
            nodes = try TLVNode.sequence(tlvEncoded: bytes, rules: .strict)
        } catch let error as EMVCodecError {
            throw QRCodecError(.malformedConsumerPresented, offset: error.offset, reason: "not BER-TLV: \(error.code)")
        }
        guard let first = nodes.first, first.tag == Self.payloadFormatIndicatorTag,
            Array(first.value) == Self.payloadFormatIndicator
        else {
            throw QRCodecError(.malformedConsumerPresented, offset: 0, reason: "payload format indicator '85' CPV01 must come first")
        }
        let rest = nodes.dropFirst()
        guard rest.contains(where: { $0.tag == Self.applicationTemplateTag }) else {
            throw QRCodecError(.malformedConsumerPresented, reason: "no application template '61'")
        }
        guard rest.allSatisfy({ $0.tag == Self.applicationTemplateTag || $0.tag == Self.commonDataTemplateTag }),
            rest.filter({ $0.tag == Self.commonDataTemplateTag }).count <= 1
        else {
            throw QRCodecError(.malformedConsumerPresented, reason: "only '61' templates and one '62' may follow '85'")
        }
        self.nodes = nodes
    }

    /// The BER-TLV bytes.
    public var tlvEncoded: [UInt8] { TLVNode.serialize(nodes) }

    /// The Base64 text.
    public var base64: String { Base64.encode(tlvEncoded) }
}
