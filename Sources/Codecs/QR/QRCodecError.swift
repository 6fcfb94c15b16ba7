/// A failure of the QR payment codecs: EMVCo merchant-presented payloads (``MerchantPresentedPayload``), consumer-
/// presented payloads (``ConsumerPresentedPayload``) and their Base64 text.
///
/// Equality compares ``code`` only; tests assert on the code. An error never carries the text it was parsing (a
/// consumer-presented code holds a PAN or a payment token), only an ``offset`` into it and a fixed ``reason``.
public struct QRCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public enum Code: Sendable, Equatable, Hashable {
        // MARK: EMVCo MPM (EMV QRCPS Merchant-Presented Mode v1.1 §4.7)
        /// An ID or a length is not two decimal digits, or the text ends inside one.
        case malformedDataObject
        /// A value is shorter than its length says.
        case truncatedValue
        /// The payload does not start with the Payload Format Indicator "000201".
        case missingPayloadFormatIndicator
        /// The CRC data object "63" is missing, not four hexadecimal digits, or not the last object.
        case malformedCRC
        /// A template nests deeper than the format allows.
        case excessiveDepth
        /// A builder was given a field outside its format (length, charset, ID range).
        case invalidField

        // MARK: EMVCo CPM (EMV QRCPS Consumer-Presented Mode v1.1 §3)
        /// Not Base64 (RFC 4648 §4) text.
        case invalidBase64
        /// The Base64 text holds no BER-TLV, or not the CPM structure: Payload Format Indicator '85' = "CPV01" first,
        /// one or more Application Templates '61', an optional Common Data Template '62', nothing else.
        case malformedConsumerPresented
    }

    /// What was wrong.
    public let code: Code
    /// Where in the input (characters for MPM text, bytes for CPM), when known.
    public let offset: Int?
    /// A fixed explanation, free of input data.
    public let reason: String
    /// Where the error was raised.
    public let file: String
    public let line: Int

    public init(_ code: Code, offset: Int? = nil, reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.offset = offset
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String {
        "QRCodecError.\(code): \(reason)" + (offset.map { " at offset \($0)" } ?? "")
    }

    public static func == (lhs: QRCodecError, rhs: QRCodecError) -> Bool { lhs.code == rhs.code }
}
