package import PaymentCrypto

/// Seals journal values with AES-256-GCM (NIST SP 800-38D) and computes the keyed PAN hash.
///
/// Keys: the key store's `data-key` (32 bytes, itself sealed under the device KEK in the key store) is the root;
/// HKDF-SHA256 (RFC 5869) derives from it one key per purpose, so the sealing key, the PAN-index key and the key
/// check never share a key:
/// - `store aes-256-gcm v1`: seals values;
/// - `store pan-index hmac-sha256 v1`: the PAN look-up hash (HMAC-SHA256 of the PAN digits);
/// - `store key-check v1`: the check value kept in `journal_key`.
///
/// A sealed value is `01 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`. The nonce is 96 random bits from the
/// ``RandomSource`` for each seal: nothing to persist, so a crash or a restored backup can never replay a counter.
/// The additional authenticated data binds the value to its table, row key (`txn_ref`), column and the schema
/// that defined it, so a value copied to another row or column does not open.
package struct RecordSealer: Sendable {
    /// The format byte in front of every sealed value.
    static let formatVersion: UInt8 = 1
    /// The schema that defined the sealed columns (part of the associated data).
    static let schema = "0003-journal"

    let sealingKey: SecretBytes
    let indexKey: SecretBytes
    let checkValue: [UInt8]
    let random: any RandomSource

    package init(dataKey: SecretBytes, random: any RandomSource) throws {
        guard dataKey.count == 32 else { throw StoreError(.wrongKey, "the data key must be 32 bytes, not \(dataKey.count)") }
        let salt = Array("payment-terminal store".utf8)
        sealingKey = try HKDF.sha256(inputKeyMaterial: dataKey, salt: salt, info: Array("store aes-256-gcm v1".utf8), outputByteCount: 32)
        indexKey = try HKDF.sha256(inputKeyMaterial: dataKey, salt: salt, info: Array("store pan-index hmac-sha256 v1".utf8), outputByteCount: 32)
        let checkKey = try HKDF.sha256(inputKeyMaterial: dataKey, salt: salt, info: Array("store key-check v1".utf8), outputByteCount: 32)
        checkValue = try HMAC.sha256(Array("payment-terminal store key check".utf8), key: checkKey)
        self.random = random
    }

    static func associatedData(table: String, rowKey: String, column: String) -> [UInt8] {
        Array("payment-terminal store|\(schema)|\(table)|\(rowKey)|\(column)".utf8)
    }

    /// Seals `value` for `column` of the row `rowKey` in `table`.
    package func seal(_ value: some CryptoBytes, table: String = "transactions", rowKey: String, column: String) throws -> [UInt8] {
        let nonce = try random.bytes(12)
        guard nonce.count == 12 else { throw StoreError(.invalid, "the random source gave a short nonce") }
        let box = try AES.GCM.seal(value, key: sealingKey, nonce: nonce, authenticating: Self.associatedData(table: table, rowKey: rowKey, column: column))
        return [Self.formatVersion] + nonce + box.ciphertext + box.tag
    }

    /// Opens a sealed value; `nil` when it does not open (tampered, moved to another row or column, or a wrong
    /// key): the caller raises the alarm.
    package func open(_ sealed: [UInt8], table: String = "transactions", rowKey: String, column: String) -> SecretBytes? {
        guard sealed.count >= 1 + 12 + 16, sealed[sealed.startIndex] == Self.formatVersion else { return nil }
        let body = sealed.dropFirst()
        let nonce = Array(body.prefix(12))
        let ciphertext = Array(body.dropFirst(12).dropLast(16))
        let tag = Array(body.suffix(16))
        return try? AES.GCM.open(.init(ciphertext: ciphertext, tag: tag), key: sealingKey, nonce: nonce,
                                 authenticating: Self.associatedData(table: table, rowKey: rowKey, column: column))
    }

    /// HMAC-SHA256 of the PAN digits under the PAN-index key: equal PANs give equal hashes, and without the key
    /// the hash says nothing (a bare SHA-256 of a PAN falls to a dictionary of BIN ranges in minutes).
    package func panHash(_ pan: SecretBytes) throws -> [UInt8] {
        try HMAC.sha256(pan, key: indexKey)
    }
}

/// A PAN split into what the journal keeps in clear: the masked form (first six and last four) and the last four.
struct PANView {
    var masked: String
    var last4: String

    /// `nil` when `pan` is not 12–19 ASCII digits.
    init?(_ pan: SecretBytes) {
        guard let view = pan.withUnsafeBytes({ raw -> PANView? in
            guard (12...19).contains(raw.count), raw.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            // PCI DSS 3.4: at most the first six and last four digits are shown; shorter PANs keep fewer.
            let head = raw.count >= 16 ? 6 : raw.count - 10
            var masked = ""
            var last4 = ""
            for (i, byte) in raw.enumerated() {
                if i < head || i >= raw.count - 4 { masked.append(Character(Unicode.Scalar(byte))) } else { masked.append("*") }
                if i >= raw.count - 4 { last4.append(Character(Unicode.Scalar(byte))) }
            }
            return PANView(masked: masked, last4: last4)
        }) else { return nil }
        self = view
    }

    private init(masked: String, last4: String) {
        self.masked = masked
        self.last4 = last4
    }
}
