public import Codecs

/// Our acquirer host protocol: ISO 8583:1987 messages with BCD numerics, a binary bitmap and a two-byte big-endian
/// length frame, as docs/host-interface.md specifies.
///
/// ``spec`` is the field table. ``pack(_:mac:)`` and ``unpack(_:mac:)`` add the MAC (field 64, or 128 when the
/// secondary bitmap is present) through a closure, so the key handling stays in the caller (the working key and its
/// key exchange block: ``HostMACKey``, whose ``HostMACKey/authenticationCode(_:)`` is that closure); ``frame(_:)`` and
/// ``frameLength(in:)`` add and find the length frame. The typed builders and readers are in ``HostMessages`` and
/// ``HostResponse``.
public enum HostDialect {
    /// The largest message (without its two length bytes) either side sends or accepts.
    public static let maximumMessageSize = 4096

    /// The bytes the MAC occupies (field 64 or 128).
    public static let macLength = 8

    /// The field table of docs/host-interface.md §3. Numerics are BCD, right-justified with a leading `0` pad nibble;
    /// the PAN and track 2 are left-justified with a trailing `F`; length prefixes are BCD (one byte for LLVAR, two
    /// for LLLVAR) and count digits for numerics and track 2, bytes otherwise; text is ASCII.
    public static let spec = ISO8583.Spec(
        mtiEncoding: .bcd,
        fields: [
            .init(
                2, "Primary account number", .llvar, maxLength: 19, content: .numeric,
                padding: .right(nibble: 0x0F), isSensitive: true),
            .init(3, "Processing code", .fixed, maxLength: 6, content: .numeric),
            .init(4, "Amount, transaction", .fixed, maxLength: 12, content: .numeric),
            .init(7, "Transmission date and time (UTC, MMDDhhmmss)", .fixed, maxLength: 10, content: .numeric),
            .init(11, "System trace audit number", .fixed, maxLength: 6, content: .numeric),
            .init(12, "Time, local transaction (hhmmss)", .fixed, maxLength: 6, content: .numeric),
            .init(13, "Date, local transaction (MMDD)", .fixed, maxLength: 4, content: .numeric),
            .init(14, "Date, expiration (YYMM)", .fixed, maxLength: 4, content: .numeric, isSensitive: true),
            .init(15, "Date, settlement (MMDD)", .fixed, maxLength: 4, content: .numeric),
            .init(22, "POS entry mode", .fixed, maxLength: 3, content: .numeric),
            .init(23, "Card sequence number", .fixed, maxLength: 3, content: .numeric),
            .init(25, "POS condition code", .fixed, maxLength: 2, content: .numeric),
            .init(
                35, "Track 2 data", .llvar, maxLength: 37, content: .track2,
                padding: .right(nibble: 0x0F), isSensitive: true),
            .init(37, "Retrieval reference number", .fixed, maxLength: 12, content: .alphanumeric),
            .init(38, "Authorization identification response", .fixed, maxLength: 6, content: .alphanumeric),
            .init(39, "Response code", .fixed, maxLength: 2, content: .alphanumeric),
            .init(41, "Card acceptor terminal identification", .fixed, maxLength: 8, content: .alphanumericSpecial),
            .init(42, "Card acceptor identification code", .fixed, maxLength: 15, content: .alphanumericSpecial),
            .init(49, "Currency code, transaction", .fixed, maxLength: 3, content: .numeric),
            .init(52, "PIN data (encrypted PIN block)", .fixed, maxLength: 8, content: .binary, isSensitive: true),
            .init(53, "Security related control information (DUKPT KSN)", .llvar, maxLength: 12, content: .binary),
            .init(54, "Additional amounts", .lllvar, maxLength: 120, content: .alphanumericSpecial),
            .init(55, "ICC system related data", .lllvar, maxLength: 255, content: .berTLV, isSensitive: true),
            .init(60, "Reserved private: batch number", .fixed, maxLength: 6, content: .numeric),
            .init(
                61, "Reserved private: original transaction data", .lllvar, maxLength: 34,
                content: .alphanumericSpecial),
            .init(
                62, "Reserved private: tagged data (idempotency key, QR, prepaid, reason)", .lllvar,
                maxLength: 999, content: .alphanumericSpecial),
            .init(
                63, "Reserved private: settlement totals, key blocks", .lllvar, maxLength: 999,
                content: .alphanumericSpecial),
            .init(64, "Message authentication code", .fixed, maxLength: 8, content: .binary),
            .init(70, "Network management information code", .fixed, maxLength: 3, content: .numeric),
            .init(72, "Data record (terminal management file transfer chunk)", .lllvar, maxLength: 999, content: .binary),
            .init(90, "Original data elements", .fixed, maxLength: 42, content: .numeric),
            .init(128, "Message authentication code (secondary)", .fixed, maxLength: 8, content: .binary),
        ])

    // MARK: Framing

    /// Prefixes a packed message with its length as two big-endian bytes (docs/host-interface.md §2).
    /// - Throws: ``ISO8583Error/Code/invalidFrame`` for an empty message or one over ``maximumMessageSize``.
    public static func frame(_ message: [UInt8]) throws -> [UInt8] {
        guard !message.isEmpty, message.count <= maximumMessageSize else {
            throw ISO8583Error(.invalidFrame, reason: "a message of \(message.count) bytes cannot be framed")
        }
        return [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }

    /// How many bytes from the front of `buffer` make up the first whole frame (two length bytes and the message),
    /// or `nil` when more bytes are needed.
    /// - Throws: ``ISO8583Error/Code/invalidFrame`` when the length is zero or over ``maximumMessageSize`` (the
    ///   connection is then out of step and must be closed).
    public static func frameLength(in buffer: ArraySlice<UInt8>) throws -> Int? {
        guard buffer.count >= 2 else { return nil }
        let length = Int(buffer[buffer.startIndex]) << 8 | Int(buffer[buffer.startIndex + 1])
        guard length > 0, length <= maximumMessageSize else {
            throw ISO8583Error(
                .invalidFrame, offset: 0, reason: "frame length \(length) outside 1…\(maximumMessageSize)")
        }
        return buffer.count >= 2 + length ? 2 + length : nil
    }

    // MARK: Packing with the MAC

    /// Packs `message` without a MAC (network management: 0800/0810). Any field 64/128 in it is packed as given.
    /// - Throws: ``ISO8583Error`` from ``ISO8583/pack(_:spec:)``.
    public static func pack(_ message: ISO8583.Message) throws -> [UInt8] {
        try ISO8583.pack(message, spec: spec)
    }

    /// Packs `message` with its MAC: field 64, or field 128 when a field above 64 is present (the MAC is always the
    /// last field). `mac` gets the packed message up to the MAC field (MTI, bitmap(s) with the MAC bit set, every
    /// other field) and returns at least eight bytes, of which the leftmost eight are sent.
    /// - Parameters:
    ///   - message: The message; any field 64 or 128 in it is replaced.
    ///   - mac: Computes the MAC (ISO 9797-1 algorithm 3 or AES-CMAC under the terminal's MAC key).
    /// - Throws: ``ISO8583Error`` from packing, ``ISO8583Error/Code/invalidFieldContent`` when `mac` returns fewer
    ///   than eight bytes, or whatever `mac` throws.
    public static func pack(_ message: ISO8583.Message, mac: ([UInt8]) throws -> [UInt8]) throws -> [UInt8] {
        var message = message
        message[64] = nil
        message[128] = nil
        let macField = message.fieldNumbers.contains { $0 > 64 } ? 128 : 64
        message[macField] = .binary([UInt8](repeating: 0, count: macLength))
        var packed = try ISO8583.pack(message, spec: spec)
        let code = try mac(Array(packed.dropLast(macLength)))
        guard code.count >= macLength else {
            throw ISO8583Error(
                .invalidFieldContent, field: macField, reason: "the MAC function returned \(code.count) bytes")
        }
        packed.replaceSubrange((packed.count - macLength)..., with: code.prefix(macLength))
        return packed
    }

    /// Unpacks a message (without its length frame) and, when `mac` is given, verifies its MAC.
    /// - Parameters:
    ///   - bytes: The message.
    ///   - mac: Computes the MAC as ``pack(_:mac:)`` does; `nil` skips verification (network management).
    /// - Returns: The message.
    /// - Throws: ``ISO8583Error`` from ``ISO8583/unpack(_:spec:)-(ArraySlice<UInt8>,_)``;
    ///   ``ISO8583Error/Code/missingField`` when `mac` is given and the message has no MAC as its last field;
    ///   ``ISO8583Error/Code/macVerificationFailed`` when the MAC does not verify.
    public static func unpack(_ bytes: ArraySlice<UInt8>, mac: (([UInt8]) throws -> [UInt8])?) throws -> ISO8583.Message
    {
        let message = try ISO8583.unpack(bytes, spec: spec)
        guard let mac else { return message }
        let numbers = message.fieldNumbers
        guard let last = numbers.last, last == 64 || last == 128, !(last == 128 && numbers.contains(64)),
            let received = message.bytes(last)
        else {
            throw ISO8583Error(.missingField, field: 64, reason: "no MAC as the last field")
        }
        let expected = try mac(Array(bytes.dropLast(macLength)))
        // Constant time over the eight bytes: the comparison does not stop at the first difference.
        var difference: UInt8 = expected.count >= macLength ? 0 : 1
        for (a, b) in zip(expected.prefix(macLength), received) { difference |= a ^ b }
        guard difference == 0 else {
            throw ISO8583Error(.macVerificationFailed, field: last, reason: "the MAC does not verify")
        }
        return message
    }
}
