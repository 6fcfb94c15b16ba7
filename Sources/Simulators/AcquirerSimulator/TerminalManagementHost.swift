#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Codecs
public import PaymentCrypto
import Synchronization
public import Uplink

/// The acquirer simulator's terminal management service (docs/host-interface.md §13): it offers the objects in a
/// directory, serves them in chunks, books the terminals' result reports and keeps the stock levels of the catalogue.
///
/// The directory holds at most one object of each kind that matters, found by its file name:
/// `parameters-VERSION.tpar` (a signed parameter set, `termtool tms params`), `catalogue-VERSION.toml` (an item
/// catalogue) and `update-VERSION.tpkg` (a signed update package). The highest version of each kind is offered; the
/// directory is read again at every `821`, so dropping a new file in publishes it. Result reports are kept in
/// memory (``reports``) and appended to `reports.log` in the directory.
public final class TerminalManagementHost: Sendable {
    /// A result report as the host received it.
    public struct Report: Sendable, Equatable {
        public var terminalID: String
        public var name: String
        public var version: String
        public var result: TerminalManagement.Result
        public var reason: String
    }

    /// The directory served.
    public let directory: String
    private let state = Mutex(State())

    private struct State {
        var reports: [Report] = []
        /// The host's stock levels (from the newest catalogue, then moved by the stock reports).
        var stock: [String: Int]?
        var stockCatalogueVersion = -1
        /// Stock reports already applied, by reference (a repeat is answered, not applied twice).
        var appliedStockReports: Set<String> = []
        /// Key blocks made from `pin-key-N.ksn` files: name → (file text, block).
        var keyBlocks: [String: (source: String, block: [UInt8])] = [:]
        /// The initial KSN of the downloaded PIN key each terminal reported loaded (`823` `00`).
        var loadedPINKeys: [String: [UInt8]] = [:]
    }

    /// The TEST BDK that `pin-key-N.ksn` keys are derived from (the issuer's), and the KBPK they are wrapped under.
    let pinBaseDerivationKey: SecretBytes?
    let keyBlockProtectionKey: SecretBytes?

    /// Serves `directory`. With `pinBaseDerivationKey` and `keyBlockProtectionKey`, `pin-key-N.ksn` files offer new
    /// DUKPT initial keys derived from that BDK (TerminalManagementHost+Keys.swift).
    public init(directory: String, pinBaseDerivationKey: SecretBytes? = nil, keyBlockProtectionKey: SecretBytes? = nil) {
        self.directory = directory
        self.pinBaseDerivationKey = pinBaseDerivationKey
        self.keyBlockProtectionKey = keyBlockProtectionKey
    }

    func cachedKeyBlock(name: String, source: String) -> [UInt8]? {
        state.withLock { state in state.keyBlocks[name].flatMap { $0.source == source ? $0.block : nil } }
    }

    func rememberKeyBlock(name: String, source: String, block: [UInt8]) {
        state.withLock { $0.keyBlocks[name] = (source, block) }
    }

    /// Up to `length` bytes of an offered object from `offset` (a key block as made, other objects from their file).
    func chunk(_ entry: (offer: TerminalManagement.Offer, path: String), offset: Int, length: Int) -> [UInt8]? {
        if entry.offer.kind == .key {
            return keyBlock(entry.offer.name, path: entry.path).map { Array($0.dropFirst(offset).prefix(length)) }
        }
        return Self.read(entry.path, offset: offset, count: min(length, entry.offer.size - offset))
    }

    /// The initial KSN of the key `terminalID` reported loaded: from memory, else from `DIR/pin-keys.log` (so a
    /// restarted host still knows).
    func loadedPINKey(_ terminalID: String) -> [UInt8]? {
        if let known = state.withLock({ $0.loadedPINKeys[terminalID] }) { return known }
        guard let bytes = Self.read(directory + "/pin-keys.log", offset: 0, count: 1 << 20) else { return nil }
        let last = String(decoding: bytes, as: UTF8.self).split(separator: "\n").last { $0.hasPrefix(terminalID + " ") }
        return last.flatMap { Hex.decode(String($0.dropFirst(terminalID.count + 1))) }
    }

    /// The result reports received so far, oldest first.
    public var reports: [Report] { state.withLock { $0.reports } }

    /// The host's stock level of each item (nil before the catalogue was read).
    public var stockLevels: [String: Int]? {
        _ = try? offers()
        return state.withLock { $0.stock }
    }

    /// Changes the host's stock level of `code` (a delivery booked in the back office).
    public func setStock(_ code: String, _ count: Int) {
        _ = try? offers()
        state.withLock { $0.stock?[code] = count }
    }

    /// The answer to a terminal management 0800 by `host`, or — without a host — "nothing offered" to `821` and `12`
    /// (invalid transaction) to the rest; `nil` when `message` is not a terminal management 0800. These exchanges are
    /// never booked in the ledger.
    public static func answer(_ message: ISO8583.Message, host: TerminalManagementHost?) -> [UInt8]? {
        if let host { return host.respond(to: message) }
        guard message.mti == HostMessageType.networkManagementRequest.rawValue,
            let code = message.text(70).flatMap(TerminalManagement.Code.init(rawValue:))
        else { return nil }
        let responseCode = code == .directory ? HostResponseCode.approved : HostResponseCode(rawValue: "12") ?? .doNotHonour
        guard let response = try? HostMessages.response(to: message, responseCode: responseCode) else { return nil }
        return try? HostDialect.pack(response)
    }

    /// The answer to a terminal management 0800, or `nil` when `message` is not one (other 0800s go on to the
    /// rest of the simulator).
    public func respond(to message: ISO8583.Message) -> [UInt8]? {
        guard message.mti == HostMessageType.networkManagementRequest.rawValue,
            let code = message.text(70).flatMap(TerminalManagement.Code.init(rawValue:))
        else { return nil }
        var fields: [Int: ISO8583.FieldValue] = [:]
        var responseCode = HostResponseCode.approved
        switch code {
        case .directory:
            let terminalID = (message.text(41) ?? "").trimmingCharacters(" ")
            // A log request is offered until this terminal's upload for it is complete.
            if let offers = try? offers().filter({ $0.offer.kind != .log || !hasCompleteLog(terminalID: terminalID, name: $0.offer.name) }), !offers.isEmpty {
                fields[63] = .text(offers.map(\.offer.encoded).joined(separator: ";"))
            }
        case .fileTransfer:
            if let request = try? TerminalManagement.parseChunkRequest(message.text(63) ?? ""),
                let entry = (try? offers())?.first(where: { $0.offer.name == request.name })
            {
                if request.offset >= entry.offer.size {
                    responseCode = HostResponseCode(rawValue: "12") ?? .doNotHonour
                } else if let bytes = chunk(entry, offset: request.offset, length: request.length) {
                    fields[63] = .text(TerminalManagement.ChunkHeader(
                        name: request.name, offset: request.offset, total: entry.offer.size, crc32: CRC32.checksum(bytes)).encoded)
                    fields[72] = .binary(bytes)
                } else {
                    responseCode = HostResponseCode(rawValue: "96") ?? .doNotHonour
                }
            } else {
                // Unknown object (or a malformed request): "25", unable to locate.
                responseCode = HostResponseCode(rawValue: "25") ?? .doNotHonour
            }
        case .resultReport:
            if let report = try? TerminalManagement.parseReport(message.text(63) ?? "") {
                let entry = Report(
                    terminalID: (message.text(41) ?? "").trimmingTrailingSpaces, name: report.name, version: report.version,
                    result: report.result, reason: report.reason)
                state.withLock { $0.reports.append(entry) }
                if report.result == .applied, report.name.hasPrefix("pin-key-"),
                    let block = (try? offers())?.first(where: { $0.offer.name == report.name }).flatMap({ keyBlock($0.offer.name, path: $0.path) }),
                    let ksn = Self.initialKeySerialNumber(ofKeyBlock: block)
                {
                    // From now on this terminal's PINs must be under the key it loaded.
                    state.withLock { $0.loadedPINKeys[entry.terminalID] = ksn }
                    Self.append(directory + "/pin-keys.log", "\(entry.terminalID) \(Hex.encode(ksn))\n")
                }
                Self.append(directory + "/reports.log", "\(entry.terminalID) \(report.name) \(report.version) \(report.result.rawValue) \(report.reason)\n")
            } else {
                responseCode = HostResponseCode(rawValue: "30") ?? .doNotHonour
            }
        case .logUpload:
            (responseCode, fields) = receiveLogChunk(message)
        case .stockReport:
            _ = try? offers()
            let text = message.text(63) ?? ""
            let parts = text.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, let sold = try? TerminalManagement.parseStock(String(parts[1])) {
                let reference = String(parts[0])
                let levels = state.withLock { state -> [String: Int] in
                    if !state.appliedStockReports.contains(reference) {
                        state.appliedStockReports.insert(reference)
                        for (code, change) in sold { if let level = state.stock?[code] { state.stock?[code] = level + change } }
                    }
                    return state.stock ?? [:]
                }
                fields[63] = .text(TerminalManagement.stock(levels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
            } else {
                responseCode = HostResponseCode(rawValue: "30") ?? .doNotHonour
            }
        }
        guard let response = try? HostMessages.response(to: message, responseCode: responseCode, fields: fields) else { return nil }
        return try? HostDialect.pack(response)
    }

    /// The objects offered now: the highest version of each kind, with its file.
    func offers() throws -> [(offer: TerminalManagement.Offer, path: String)] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var best: [TerminalManagement.Kind: (version: [Int], name: String)] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard TerminalManagement.isName(name[...]) else { continue }
            for (kind, prefix, suffix) in [
                (TerminalManagement.Kind.parameters, "parameters-", ".tpar"), (.catalogue, "catalogue-", ".toml"), (.update, "update-", ".tpkg"),
                (.key, "pin-key-", ".ksn"), (.key, "pin-key-", ".tr31"), (.log, "log-request-", ""),
            ]
            where name.hasPrefix(prefix) && name.hasSuffix(suffix) {
                let version = name.dropFirst(prefix.count).dropLast(suffix.count)
                let parts = version.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
                guard !version.isEmpty, version.utf8.count <= 16, parts.allSatisfy({ $0 != nil }) else { continue }
                let numbers = parts.compactMap { $0 }
                if let current = best[kind], !current.version.lexicographicallyPrecedes(numbers) { continue }
                best[kind] = (numbers, name)
            }
        }
        var offers: [(TerminalManagement.Offer, String)] = []
        for kind in TerminalManagement.Kind.allCases {
            guard let chosen = best[kind] else { continue }
            let path = directory + "/" + chosen.name
            if kind == .log {
                offers.append((Self.logOffer(name: chosen.name, version: chosen.version.map(String.init).joined(separator: ".")), path))
                continue
            }
            guard let bytes = kind == .key ? keyBlock(chosen.name, path: path) : Self.read(path, offset: 0, count: 1 << 30) else { continue }
            let version = chosen.version.map(String.init).joined(separator: ".")
            offers.append((TerminalManagement.Offer(kind: kind, name: chosen.name, version: version, size: bytes.count, sha256: try SHA256.hash(bytes)), path))
            if kind == .catalogue, let catalogue = try? ItemCatalogue(parsing: bytes) {
                state.withLock { state in
                    // A newer catalogue resets the host's levels to its own (the back office published new counts).
                    if catalogue.version > state.stockCatalogueVersion {
                        state.stockCatalogueVersion = catalogue.version
                        state.stock = Dictionary(catalogue.items.map { ($0.code, $0.stock) }, uniquingKeysWith: { $1 })
                    }
                }
            }
        }
        return offers
    }

    static func read(_ path: String, offset: Int, count: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let wanted = max(0, min(count, Int(st.st_size) - offset))
        var bytes = [UInt8](repeating: 0, count: wanted)
        var done = 0
        while done < wanted {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, wanted - done, off_t(offset + done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return bytes
    }

    static func append(_ path: String, _ line: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var text = self
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }
}
