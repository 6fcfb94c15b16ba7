import Codecs
public import PaymentCrypto

/// Key download by the simulated host (docs/host-interface.md §13.5, docs/terminal-management.md "Key download").
///
/// Two kinds of file in the served directory offer a new DUKPT initial key (directory kind `K`, version `N` from
/// 1 to 99, the highest offered):
/// - `pin-key-N.ksn`: the new initial KSN as 20 hex digits. The host derives the initial key (IPEK) from its TEST
///   BDK (ANSI X9.24-1) and wraps it in a TR-31 block — version B, usage `B1`, algorithm `T`, mode `X`, key version
///   `N`, exportability `N`, the KSN in a `KS` optional block — under the TEST KBPK of the simulator boards. The
///   block is made once per file (its SHA-256 is announced) and kept while the file does not change.
/// - `pin-key-N.tr31`: a ready key block, served as it is (a block made elsewhere, e.g. with psec, or a bad one).
///
/// When a terminal reports `00` for such an object, the host takes the key's initial KSN as that terminal's PIN key:
/// from then on a PIN block under another key (the old one) does not decrypt for it (``pinKeySerialNumber(_:terminalID:)``).
extension TerminalManagementHost {
    /// The key block protection key of the simulator boards and of the simulated host: a TEST key, published here
    /// (never on a hardware board, whose KBPK is injected at the factory).
    public static let testKeyBlockProtectionKey = SecretBytes([
        0x89, 0xE8, 0x8C, 0xF7, 0x93, 0x14, 0x44, 0xF3, 0x34, 0xBD, 0x75, 0x47, 0xFC, 0x3F, 0x38, 0x0C,
    ])

    /// The key block offered for `name` in `directory` (`.tr31` as it is, `.ksn` wrapped once and kept), or `nil`.
    func keyBlock(_ name: String, path: String) -> [UInt8]? {
        guard let bytes = Self.read(path, offset: 0, count: 10_000) else { return nil }
        if name.hasSuffix(".tr31") { return bytes }
        guard let bdk = pinBaseDerivationKey, let kbpk = keyBlockProtectionKey,
            let version = Int(name.dropFirst("pin-key-".count).dropLast(".ksn".count)), (1...99).contains(version)
        else { return nil }
        let text = String(decoding: bytes.filter { $0 > 0x20 }, as: UTF8.self).uppercased()
        if let made = cachedKeyBlock(name: name, source: text) { return made }
        guard text.utf8.count == 20, let ksnBytes = Hex.decode(text), let ksn = try? TDESDUKPT.KeySerialNumber(ksnBytes).initial,
            let initialKey = try? TDESDUKPT.initialKey(baseDerivationKey: bdk, keySerialNumber: ksn)
        else { return nil }
        let digits = version < 10 ? "0\(version)" : "\(version)"
        let header = TR31Header(
            version: .b, keyUsage: "B1", algorithm: "T", modeOfUse: "X", keyVersionNumber: digits, exportability: "N",
            optionalBlocks: [TR31OptionalBlock(id: "KS", data: Hex.encode(ksn.bytes))])
        guard let block = try? TR31.wrap(key: initialKey, header: header, kbpk: kbpk, random: SystemRandom()) else { return nil }
        let made = Array(block.utf8)
        rememberKeyBlock(name: name, source: text, block: made)
        return made
    }

    /// The initial KSN a key block announces in its clear header (`KS` optional block), without the KBPK.
    static func initialKeySerialNumber(ofKeyBlock block: [UInt8]) -> [UInt8]? {
        // Header (TR-31:2018 A.5): 16 characters, then optional blocks of ID (2) ‖ length (2 hex) ‖ data.
        guard block.count > 16, let count = Int(String(decoding: block[12..<14], as: UTF8.self)) else { return nil }
        var at = 16
        for _ in 0..<count {
            guard at + 4 <= block.count, let length = Int(String(decoding: block[at + 2..<at + 4], as: UTF8.self), radix: 16),
                length >= 4, at + length <= block.count
            else { return nil }
            if block[at] == UInt8(ascii: "K"), block[at + 1] == UInt8(ascii: "S") {
                return Hex.decode(String(decoding: block[at + 4..<at + length], as: UTF8.self))
                    .flatMap { try? TDESDUKPT.KeySerialNumber($0).initial.bytes }
            }
            at += length
        }
        return nil
    }

    /// Field 53 as the issuer should see it for terminal `terminalID` (field 41): `nil` — so the PIN does not
    /// decrypt — when the terminal has loaded a downloaded key and `ksn` is not under it.
    public func pinKeySerialNumber(_ ksn: [UInt8]?, terminalID: String?) -> [UInt8]? {
        guard let ksn else { return nil }
        let terminal = (terminalID ?? "").trimmingCharacters(" ")
        guard let loaded = loadedPINKey(terminal) else { return ksn }
        guard let serial = try? TDESDUKPT.KeySerialNumber(ksn), serial.initial.bytes == loaded else { return nil }
        return ksn
    }
}

extension String {
    func trimmingCharacters(_ character: Character) -> String {
        var text = Substring(self)
        while text.last == character { text = text.dropLast() }
        while text.first == character { text = text.dropFirst() }
        return String(text)
    }
}
