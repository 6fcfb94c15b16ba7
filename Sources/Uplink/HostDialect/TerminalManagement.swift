public import Codecs

/// Terminal management (TMS) over our host protocol: the 0800/0810 exchanges of docs/host-interface.md §13 that list
/// what the host offers (parameter set, item catalogue, update package), download an object in chunks from an
/// offset, report what the terminal did with it, and send the stock sold.
///
/// Every text travels in field 63 (ans..999); a chunk's bytes in field 72 (b..999). Like every 0800 these carry no
/// MAC: the objects that change the terminal's behaviour are signed (parameter sets, update packages) and checked
/// against the whole object's SHA-256 the directory announced.
public enum TerminalManagement {
    /// Field 70 of the terminal management exchanges.
    public enum Code: String, Sendable, CaseIterable {
        /// `821` directory: what the host offers.
        case directory = "821"
        /// `822` file transfer: one chunk of an offered object.
        case fileTransfer = "822"
        /// `823` result report: what the terminal did with a downloaded object.
        case resultReport = "823"
        /// `824` stock report: the items sold since the last report (the host answers with its stock levels).
        case stockReport = "824"
        /// `825` log upload: one chunk of the terminal's recent log (the host answers with the bytes it holds).
        case logUpload = "825"
    }

    /// The most bytes one chunk carries (field 72 is b..999).
    public static let maximumChunk = 960

    /// What an offered object is.
    public enum Kind: String, Sendable, CaseIterable {
        /// `P` a signed parameter set (docs/terminal-management.md).
        case parameters = "P"
        /// `C` the item catalogue with stock levels.
        case catalogue = "C"
        /// `U` a signed update package (docs/update-package.md).
        case update = "U"
        /// `K` a new DUKPT initial key: an ANSI X9.143 / TR-31 key block (usage `B1`) wrapped under the terminal's key
        /// block protection key; its version is the block's key version number (docs/host-interface.md §13.5).
        case key = "K"
        /// `L` a request for the terminal's recent log: version = the request number, size = the most bytes wanted,
        /// SHA-256 all zeros; the terminal uploads with `825` (docs/host-interface.md §13.6).
        case log = "L"
    }

    /// One entry of the directory (field 63 of the 0810 answering `821`): `kind,name,version,size,sha256`.
    public struct Offer: Sendable, Hashable {
        /// What the object is.
        public var kind: Kind
        /// The name to download it by: 1…32 characters of `[A-Za-z0-9._-]`.
        public var name: String
        /// Its version: 1…16 characters of `[0-9.]` (an integer for parameter sets and catalogues, `MAJOR.MINOR.PATCH`
        /// for update packages).
        public var version: String
        /// Its length in bytes.
        public var size: Int
        /// The SHA-256 of the whole object, 32 bytes.
        public var sha256: [UInt8]

        /// Makes an offer.
        public init(kind: Kind, name: String, version: String, size: Int, sha256: [UInt8]) {
            (self.kind, self.name, self.version, self.size, self.sha256) = (kind, name, version, size, sha256)
        }

        /// `kind,name,version,size,sha256` (lower-case hex).
        public var encoded: String {
            "\(kind.rawValue),\(name),\(version),\(size),\(Hex.encode(sha256).lowercased())"
        }

        /// Reads one entry.
        /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 63).
        public init(encoded text: Substring) throws {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 5, let kind = Kind(rawValue: String(parts[0])), TerminalManagement.isName(parts[1]),
                (1...16).contains(parts[2].utf8.count), parts[2].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }),
                parts[3].utf8.count <= 12, HostFormat.isDigits(String(parts[3])), let size = Int(parts[3]),
                parts[4].utf8.count == 64, let digest = Hex.decode(String(parts[4]))
            else {
                throw ISO8583Error(.invalidFieldContent, field: 63, reason: "a directory entry is kind,name,version,size,sha256")
            }
            self.init(kind: kind, name: String(parts[1]), version: String(parts[2]), size: size, sha256: digest)
        }

        /// Reads a whole directory (entries separated by `;`; empty or absent: nothing offered).
        public static func list(encoded text: String?) throws -> [Offer] {
            guard let text, !text.isEmpty else { return [] }
            return try text.split(separator: ";").map { try Offer(encoded: $0) }
        }
    }

    /// The header of a chunk (field 63 of the 0810 answering `822`): `name,offset,total,crc32` with the CRC-32
    /// (ISO-HDLC, as zlib) of field 72 as eight upper-case hex digits.
    public struct ChunkHeader: Sendable, Hashable {
        public var name: String
        public var offset: Int
        public var total: Int
        public var crc32: UInt32

        /// Makes a header.
        public init(name: String, offset: Int, total: Int, crc32: UInt32) {
            (self.name, self.offset, self.total, self.crc32) = (name, offset, total, crc32)
        }

        /// Field 63.
        public var encoded: String {
            let hex = String(crc32, radix: 16, uppercase: true)
            return "\(name),\(offset),\(total)," + String(repeating: "0", count: 8 - hex.count) + hex
        }

        /// Reads field 63.
        /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 63).
        public init(encoded text: String) throws {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 4, TerminalManagement.isName(parts[0]), let offset = Int(parts[1]), let total = Int(parts[2]),
                HostFormat.isDigits(String(parts[1])), HostFormat.isDigits(String(parts[2])), parts[1].count <= 12,
                parts[2].count <= 12, parts[3].utf8.count == 8, let crc = UInt32(parts[3], radix: 16)
            else {
                throw ISO8583Error(.invalidFieldContent, field: 63, reason: "a chunk header is name,offset,total,crc32")
            }
            self.init(name: String(parts[0]), offset: offset, total: total, crc32: crc)
        }
    }

    /// What the terminal did with an object (the third part of an `823` report).
    public enum Result: String, Sendable, CaseIterable {
        /// `00` applied (a parameter set or catalogue) or installed (an update: it commits once healthy).
        case applied = "00"
        /// `S1` refused: no trusted signature (bad, unknown or revoked key, unsigned).
        case badSignature = "S1"
        /// `V1` refused: not newer than what the terminal has (versions never go backwards).
        case notNewer = "V1"
        /// `H1` refused: the downloaded bytes do not have the announced SHA-256.
        case hashMismatch = "H1"
        /// `F1` refused: the object is malformed (manifest, payload, file format).
        case invalid = "F1"
        /// `W1` waiting: the terminal will apply it later (a transaction in flight, a metered link).
        case deferred = "W1"
        /// `K1` refused: a key block whose attributes do not make it a DUKPT initial key for this terminal (key usage,
        /// algorithm, mode of use, exportability), or a terminal without a key block protection key.
        case keyRefused = "K1"
    }

    // MARK: Messages

    /// An 0800 terminal management request; `text` goes in field 63.
    public static func request(
        _ code: Code, text: String?, stan: Int, transmission: HostDateTime, terminalID: String, merchantID: String? = nil
    ) -> ISO8583.Message {
        var message = ISO8583.Message(mti: HostMessageType.networkManagementRequest.rawValue)
        message[7] = .text(transmission.transmissionField)
        message[11] = .text(HostFormat.digits(stan, 6))
        message[41] = .text(HostFormat.padded(terminalID, 8))
        if let merchantID { message[42] = .text(HostFormat.padded(merchantID, 15)) }
        if let text, !text.isEmpty { message[63] = .text(text) }
        message[70] = .text(code.rawValue)
        return message
    }

    /// The `822` request text: `name,offset,length`.
    public static func chunkRequest(name: String, offset: Int, length: Int) -> String { "\(name),\(offset),\(length)" }

    /// Reads an `822` request text.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 63).
    public static func parseChunkRequest(_ text: String) throws -> (name: String, offset: Int, length: Int) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 3, isName(parts[0]), parts[1].count <= 12, parts[2].count <= 3, HostFormat.isDigits(String(parts[1])),
            HostFormat.isDigits(String(parts[2])), let offset = Int(parts[1]), let length = Int(parts[2]), (1...maximumChunk).contains(length)
        else {
            throw ISO8583Error(.invalidFieldContent, field: 63, reason: "a chunk request is name,offset,length (1…\(maximumChunk))")
        }
        return (String(parts[0]), offset, length)
    }

    /// The `823` report text: `name,version,result,reason` (the reason printable ASCII, commas allowed, cut to fit).
    public static func report(name: String, version: String, result: Result, reason: String) -> String {
        let head = "\(name),\(version),\(result.rawValue),"
        let printable = String(decoding: reason.utf8.map { $0 >= 0x20 && $0 <= 0x7E ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        return head + String(decoding: Array(printable.utf8.prefix(max(0, 999 - head.utf8.count))), as: UTF8.self)
    }

    /// Reads an `823` report text.
    public static func parseReport(_ text: String) throws -> (name: String, version: String, result: Result, reason: String) {
        let parts = text.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, isName(parts[0]), let result = Result(rawValue: String(parts[2])) else {
            throw ISO8583Error(.invalidFieldContent, field: 63, reason: "a report is name,version,result,reason")
        }
        return (String(parts[0]), String(parts[1]), result, String(parts[3]))
    }

    /// Stock counts as `code:count` pairs separated by `;` (the `824` request: items sold, as negative changes;
    /// its answer: the host's stock levels).
    public static func stock(_ counts: [(code: String, count: Int)]) -> String {
        counts.map { "\($0.code):\($0.count)" }.joined(separator: ";")
    }

    /// Reads `code:count` pairs.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 63).
    public static func parseStock(_ text: String?) throws -> [(code: String, count: Int)] {
        guard let text, !text.isEmpty else { return [] }
        return try text.split(separator: ";").map { pair in
            let parts = pair.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, isName(parts[0]), let count = Int(parts[1]) else {
                throw ISO8583Error(.invalidFieldContent, field: 63, reason: "stock is code:count pairs")
            }
            return (String(parts[0]), count)
        }
    }

    /// The answer to an `825` chunk (field 63 of the 0810): `name,received` — the bytes of the upload the host holds,
    /// from offset 0 without a gap; the terminal goes on from there.
    public static func uploadAcknowledgement(name: String, received: Int) -> String { "\(name),\(received)" }

    /// Reads an `825` answer.
    /// - Throws: ``ISO8583Error/Code/invalidFieldContent`` (field 63).
    public static func parseUploadAcknowledgement(_ text: String) throws -> (name: String, received: Int) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, isName(parts[0]), parts[1].count <= 12, HostFormat.isDigits(String(parts[1])), let received = Int(parts[1]) else {
            throw ISO8583Error(.invalidFieldContent, field: 63, reason: "an upload acknowledgement is name,received")
        }
        return (String(parts[0]), received)
    }

    /// 1…32 characters of `[A-Za-z0-9._-]`.
    public static func isName(_ text: Substring) -> Bool {
        (1...32).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F
                    || $0 == 0x2D
            }
    }
}
