/// A command APDU with short lengths (ISO/IEC 7816-4 §5.1): the header CLA INS P1 P2, an optional data field
/// (Nc = 1…255 bytes, announced by Lc) and an optional expected response length (Ne = 1…256, written as Le, where
/// `00` means 256).
///
/// The four cases of §5.1 follow from which parts are present: case 1 header only, case 2 with Le, case 3 with data,
/// case 4 with data and Le. Extended lengths are not supported (EMV uses short ones only) and are refused when
/// parsing.
///
/// ``description`` shows the header and the lengths but never the data field, which can hold a PIN block or
/// cardholder data.
public struct CommandAPDU: Sendable, Hashable, CustomStringConvertible {
    /// The class byte.
    public let cla: UInt8
    /// The instruction byte.
    public let ins: UInt8
    /// Parameter 1.
    public let p1: UInt8
    /// Parameter 2.
    public let p2: UInt8
    /// The data field (empty in cases 1 and 2).
    public let data: [UInt8]
    /// Ne, the maximum number of response data bytes expected (1…256), or `nil` when no Le field is sent
    /// (cases 1 and 3).
    public let expectedLength: Int?

    /// The case of ISO/IEC 7816-4 §5.1 (and EMV Book 1 §9.3.1.1).
    public enum Case: Sendable, Equatable {
        /// No data, no response data expected.
        case one
        /// No data, response data expected (Le).
        case two
        /// Data (Lc), no response data expected.
        case three
        /// Data and response data expected.
        case four
    }

    /// Creates a command.
    /// - Parameters:
    ///   - data: The data field, at most 255 bytes.
    ///   - expectedLength: Ne, 1…256, or `nil` for no Le field.
    /// - Throws: ``EMVCodecError/Code/commandDataTooLong`` or ``EMVCodecError/Code/invalidExpectedLength``.
    public init(
        cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], expectedLength: Int? = nil
    ) throws {
        guard data.count <= 255 else {
            throw EMVCodecError(.commandDataTooLong, reason: "command data of more than 255 bytes (short Lc)")
        }
        if let expectedLength, !(1...256).contains(expectedLength) {
            throw EMVCodecError(.invalidExpectedLength, reason: "expected length outside 1...256 (short Le)")
        }
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.expectedLength = expectedLength
    }

    /// Parses a command with short lengths; the body after the header decides the case (ISO/IEC 7816-4 §5.1, table 1
    /// and the decoding rules under it):
    /// - no body: case 1;
    /// - one byte: case 2, Le (`00` = 256);
    /// - first body byte B1 ≠ 0 and body = 1 + B1 bytes: case 3; 2 + B1 bytes: case 4;
    /// - first body byte `00` with two or more body bytes: an extended length, refused.
    /// - Throws: ``EMVCodecError/Code/malformedCommandAPDU`` or ``EMVCodecError/Code/extendedLengthUnsupported``.
    public init(apduEncoded bytes: some Collection<UInt8>) throws {
        let all = Array(bytes)
        guard all.count >= 4 else {
            throw EMVCodecError(.malformedCommandAPDU, offset: all.count, reason: "command shorter than its header")
        }
        let body = all[4...]
        var data: [UInt8] = []
        var le: Int?
        if let b1 = body.first {
            if body.count == 1 {
                le = b1 == 0 ? 256 : Int(b1)
            } else if b1 == 0 {
                throw EMVCodecError(
                    .extendedLengthUnsupported, offset: 4, reason: "extended-length command APDU")
            } else if body.count == 1 + Int(b1) {
                data = Array(body.dropFirst())
            } else if body.count == 2 + Int(b1) {
                data = Array(body.dropFirst().dropLast())
                le = body.last == 0 ? 256 : body.last.map { Int($0) }
            } else {
                throw EMVCodecError(
                    .malformedCommandAPDU, offset: 4, reason: "body length matches none of cases 2, 3 and 4")
            }
        }
        try self.init(cla: all[0], ins: all[1], p1: all[2], p2: all[3], data: data, expectedLength: le)
    }

    /// Which of the four cases this command is.
    public var apduCase: Case {
        switch (data.isEmpty, expectedLength == nil) {
        case (true, true): return .one
        case (true, false): return .two
        case (false, true): return .three
        case (false, false): return .four
        }
    }

    /// The encoding: header, then Lc and data when there is data, then Le when a response is expected.
    public var encoded: [UInt8] {
        var out: [UInt8] = [cla, ins, p1, p2]
        out.reserveCapacity(5 + data.count + 1)
        if !data.isEmpty {
            out.append(UInt8(data.count))
            out.append(contentsOf: data)
        }
        if let expectedLength { out.append(UInt8(truncatingIfNeeded: expectedLength)) }  // 256 is written 00
        return out
    }

    /// The same command with another Ne (for a resend after `6Cxx`).
    public func withExpectedLength(_ length: Int) throws -> CommandAPDU {
        try CommandAPDU(cla: cla, ins: ins, p1: p1, p2: p2, data: data, expectedLength: length)
    }

    /// "00A40400 Lc=14 Le=256": the header and lengths, never the data.
    public var description: String {
        var text = Hex.encode([cla, ins, p1, p2])
        if !data.isEmpty { text += " Lc=\(data.count)" }
        if let expectedLength { text += " Le=\(expectedLength)" }
        return text
    }
}

extension CommandAPDU {
    /// SELECT by DF name (EMV Book 1 §11.3.2): `00 A4 04 00|02 Lc name 00`, the first or the next occurrence.
    /// - Parameter name: The AID or DDF name (5–16 bytes for an AID; the PPSE/PSE names are 14 bytes).
    public static func select(name: some Collection<UInt8>, next: Bool = false) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x04, p2: next ? 0x02 : 0x00, data: Array(name), expectedLength: 256)
    }

    /// GET RESPONSE (ISO/IEC 7816-4 §7.6.1; EMV Book 1 §9.3.1.3): `00 C0 00 00 Le`.
    public static func getResponse(length: Int) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x00, ins: 0xC0, p1: 0x00, p2: 0x00, expectedLength: length)
    }

    /// READ RECORD (EMV Book 3 §6.5.11): `00 B2 record (SFI << 3 | 4) 00`.
    /// - Throws: ``EMVCodecError/Code/malformedCommandAPDU`` when `record` is 0 or `shortFileIdentifier` is outside
    ///   1…30 (an AFL must be checked before, but a card's bad AFL must not crash the terminal).
    public static func readRecord(_ record: UInt8, shortFileIdentifier: UInt8) throws -> CommandAPDU {
        guard record != 0, (1...30).contains(shortFileIdentifier) else {
            throw EMVCodecError(.malformedCommandAPDU, reason: "READ RECORD needs record 1...255 and SFI 1...30")
        }
        return try CommandAPDU(
            cla: 0x00, ins: 0xB2, p1: record, p2: shortFileIdentifier << 3 | 0x04, expectedLength: 256)
    }

    /// GET PROCESSING OPTIONS (EMV Book 3 §6.5.8): `80 A8 00 00 Lc 83 L data 00`, the PDOL related data wrapped in
    /// the command template `83`.
    public static func getProcessingOptions(pdolRelatedData: [UInt8]) throws -> CommandAPDU {
        guard pdolRelatedData.count <= 253 else {
            throw EMVCodecError(.commandDataTooLong, reason: "PDOL related data of more than 253 bytes")
        }
        let template = TLVNode(tag: .commandTemplate, value: pdolRelatedData)
        return try CommandAPDU(
            cla: 0x80, ins: 0xA8, p1: 0x00, p2: 0x00, data: Array(template.encodedBytes), expectedLength: 256)
    }

    /// GENERATE APPLICATION CRYPTOGRAM (EMV Book 3 §6.5.5): `80 AE P1 00 Lc data 00`.
    /// - Parameters:
    ///   - referenceControl: P1: the cryptogram type in bits 8–7 (`00` AAC, `40` TC, `80` ARQC) and bit 5 for a CDA
    ///     signature (Book 3 table 12).
    ///   - cdolRelatedData: The CDOL1 or CDOL2 related data.
    public static func generateApplicationCryptogram(
        referenceControl: UInt8, cdolRelatedData: [UInt8]
    ) throws -> CommandAPDU {
        try CommandAPDU(
            cla: 0x80, ins: 0xAE, p1: referenceControl, p2: 0x00, data: cdolRelatedData, expectedLength: 256)
    }

    /// INTERNAL AUTHENTICATE (EMV Book 3 §6.5.9): `00 88 00 00 Lc DDOL-related-data 00`.
    public static func internalAuthenticate(ddolRelatedData: [UInt8]) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x00, ins: 0x88, p1: 0x00, p2: 0x00, data: ddolRelatedData, expectedLength: 256)
    }

    /// EXTERNAL AUTHENTICATE (EMV Book 3 §6.5.4): `00 82 00 00 Lc issuer-authentication-data` (case 3).
    public static func externalAuthenticate(issuerAuthenticationData: [UInt8]) throws -> CommandAPDU {
        try CommandAPDU(cla: 0x00, ins: 0x82, p1: 0x00, p2: 0x00, data: issuerAuthenticationData)
    }

    /// GET CHALLENGE (EMV Book 3 §6.5.6): `00 84 00 00 00`; the card answers an 8-byte unpredictable number.
    public static func getChallenge() throws -> CommandAPDU {
        try CommandAPDU(cla: 0x00, ins: 0x84, p1: 0x00, p2: 0x00, expectedLength: 256)
    }

    /// GET DATA (EMV Book 3 §6.5.7): `80 CA tag 00` for a one- or two-byte tag such as ATC `9F36`, Last Online ATC
    /// Register `9F13`, PIN Try Counter `9F17` or Log Format `9F4F`.
    public static func getData(_ tag: TLVTag) throws -> CommandAPDU {
        guard tag.byteCount <= 2 else {
            throw EMVCodecError(.malformedCommandAPDU, reason: "GET DATA takes a one- or two-byte tag in P1 P2")
        }
        return try CommandAPDU(
            cla: 0x80, ins: 0xCA, p1: UInt8(truncatingIfNeeded: tag.rawValue >> 8),
            p2: UInt8(truncatingIfNeeded: tag.rawValue), expectedLength: 256)
    }
}
