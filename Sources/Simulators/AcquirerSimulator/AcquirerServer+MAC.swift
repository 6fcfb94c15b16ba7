import Codecs
import PaymentCrypto
import Synchronization
public import Uplink

/// The simulated host's side of the MAC (docs/host-interface.md §11).
///
/// - Key exchange (0800 `101`): a fresh random retail MAC key (TR-31 usage `M3`, algorithm `T`, mode `C`,
///   exportability `N`) per terminal (field 41), sent in field 63 of the 0810 as a key block under that terminal's
///   KBPK (the terminal management service's, else ``AcquirerServer/Configuration/keyBlockProtectionKey``). It
///   replaces the terminal's key; the keys live in memory only, so a restarted simulator answers `A0` until the
///   terminal exchanges keys again.
/// - Every other message but network management must carry a MAC that verifies under its terminal's key: a missing
///   or wrong one is answered `A0` and nothing is booked (MACed under the terminal's key when there is one, else
///   without MAC).
/// - Every answer but an 0810 is MACed on its way out: the books keep answers without MAC, so a repeat gets the
///   stored answer with a new MAC (§8).
public final class AcquirerMACKeys: Sendable {
    private let keys = Mutex<[String: HostMACKey]>([:])

    public init() {}

    /// The key in force for `terminalID` (field 41, blanks trimmed).
    public func key(for terminalID: String) -> HostMACKey? { keys.withLock { $0[terminalID] } }

    func set(_ key: HostMACKey, for terminalID: String) { keys.withLock { $0[terminalID] = key } }

    /// Forgets every terminal's key (a host that lost them: each terminal's next MACed message gets `A0`).
    public func forgetAll() { keys.withLock { $0.removeAll() } }
}

extension AcquirerServer.Worker {
    /// The answer to one request, MAC checked and added around ``respond(to:)``.
    func respondAuthenticated(to bytes: [UInt8]) -> [UInt8] {
        guard let message = try? HostDialect.unpack(bytes[...], mac: nil) else { return formatError() }
        let terminal = (message.text(41) ?? "").trimmingCharacters(" ")
        guard HostMACKey.isRequired(for: message) else {
            if message.mti == HostMessageType.networkManagementRequest.rawValue,
                message.text(70) == NetworkManagementCode.keyExchange.rawValue
            {
                return keyExchangeAnswer(message, terminal: terminal)
            }
            return respond(to: bytes)
        }
        let key = server.macKeys.key(for: terminal)
        guard let key, (try? HostDialect.unpack(bytes[...], mac: key.authenticationCode)) != nil else {
            // A0: MAC verification failed; nothing is booked.
            guard let refusal = try? HostMessages.response(to: message, responseCode: .macVerificationFailed) else {
                return formatError()
            }
            let packed = try? key.map { try HostDialect.pack(refusal, mac: $0.authenticationCode) } ?? HostDialect.pack(refusal)
            return packed ?? formatError()
        }
        // The rest of the simulator sees the message as it was before MACs: without field 64/128.
        var plain = message
        plain[64] = nil
        plain[128] = nil
        guard let unMACed = try? HostDialect.pack(plain) else { return formatError() }
        let answer = respond(to: unMACed)
        guard let response = try? HostDialect.unpack(answer[...], mac: nil), HostMACKey.isRequired(for: response) else {
            return answer
        }
        return (try? HostDialect.pack(response, mac: key.authenticationCode)) ?? formatError()
    }

    /// `answer` with the byte just before its MAC (the last byte of a MACed field) flipped (fault mode
    /// ``AcquirerServer/Fault/corruptAnswer``).
    static func flippingOneByte(_ answer: [UInt8]) -> [UInt8] {
        var corrupted = answer
        let index = corrupted.count - HostDialect.macLength - 1
        if index >= 0 { corrupted[index] ^= 0x01 }
        return corrupted
    }

    /// Whether `bytes` are an 0800 `101` (key exchange).
    static func isKeyExchange(_ bytes: [UInt8]) -> Bool {
        guard let message = try? HostDialect.unpack(bytes[...], mac: nil) else { return false }
        return message.mti == HostMessageType.networkManagementRequest.rawValue
            && message.text(70) == NetworkManagementCode.keyExchange.rawValue
    }

    /// The 0810 to a key exchange: a new MAC key for `terminal` in field 63, or `96` when it cannot be made.
    func keyExchangeAnswer(_ message: ISO8583.Message, terminal: String) -> [UInt8] {
        let random = SystemRandom()
        guard let kbpk = server.keyBlockProtectionKey, let key = try? HostMACKey.random(.retailMAC, using: random),
            let block = try? key.keyBlock(kbpk: kbpk, random: random),
            let response = try? HostMessages.response(to: message, responseCode: .approved, fields: [63: .text(block)]),
            let packed = try? HostDialect.pack(response)
        else {
            let failed = try? HostMessages.response(to: message, responseCode: .systemMalfunction)
            return failed.flatMap { try? HostDialect.pack($0) } ?? formatError()
        }
        server.macKeys.set(key, for: terminal)
        return packed
    }
}
