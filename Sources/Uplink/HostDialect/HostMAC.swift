public import Codecs
public import PaymentCrypto

/// A MAC working key of the host protocol (docs/host-interface.md §11): the key field 64/128 is computed under,
/// delivered by key exchange (0800 `101`) as a TR-31 key block in field 63 of the 0810.
///
/// - ``Algorithm/retailMAC``: ISO/IEC 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC), padding method 2, under a
///   16-byte TDES key; TR-31 key usage `M3`, algorithm `T`.
/// - ``Algorithm/aesCMAC``: AES-CMAC (NIST SP 800-38B), leftmost 8 bytes, under a 16-, 24- or 32-byte AES key;
///   TR-31 key usage `M6`, algorithm `A`.
///
/// The key lives only in ``SecretBytes``; reflection and string interpolation show the algorithm, never the key.
public struct HostMACKey: Sendable, CustomStringConvertible {
    /// How the MAC is computed.
    public enum Algorithm: String, Sendable, Equatable, CaseIterable {
        /// ISO/IEC 9797-1 MAC algorithm 3, padding method 2, 16-byte TDES key (TR-31 usage `M3`, algorithm `T`).
        case retailMAC = "M3"
        /// AES-CMAC, leftmost 8 bytes (TR-31 usage `M6`, algorithm `A`).
        case aesCMAC = "M6"

        /// The TR-31 key usage of a key of this algorithm.
        public var keyUsage: String { rawValue }
        /// The TR-31 algorithm of a key of this algorithm.
        public var keyBlockAlgorithm: Character { self == .retailMAC ? "T" : "A" }
        /// The key lengths this algorithm takes.
        public var keyLengths: [Int] { self == .retailMAC ? [16] : [16, 24, 32] }
    }

    /// The MAC algorithm.
    public let algorithm: Algorithm
    private let key: SecretBytes

    /// A key of `algorithm`.
    /// - Throws: ``UplinkError/Code-swift.enum/protocolViolation`` when `key` has a length the algorithm does not take.
    public init(_ algorithm: Algorithm, key: SecretBytes) throws {
        guard algorithm.keyLengths.contains(key.count) else {
            throw UplinkError(.protocolViolation, "a \(algorithm.rawValue) MAC key of \(key.count) bytes")
        }
        self.algorithm = algorithm
        self.key = key
    }

    public var description: String { "HostMACKey(\(algorithm.rawValue))" }

    /// The key's bytes, for tests that make sure the key never reaches a log (package only).
    package func withUnsafeKeyBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try key.withUnsafeBytes(body)
    }

    /// The eight-byte MAC of `data` (the packed message up to the MAC field): the closure
    /// ``HostDialect/pack(_:mac:)`` and ``HostDialect/unpack(_:mac:)`` take.
    /// - Throws: ``CryptoError`` from the cipher.
    public func authenticationCode(_ data: [UInt8]) throws -> [UInt8] {
        switch algorithm {
        case .retailMAC: try ISO9797MAC.algorithm3(data, key: key, padding: .method2)
        case .aesCMAC: try AES.CMAC.authenticationCode(for: data, key: key, length: HostDialect.macLength)
        }
    }

    /// Why a key exchange's block was refused (the terminal keeps no key and sends no MACed message).
    public enum Refusal: Sendable, Equatable {
        /// The block's MAC does not verify under the KBPK (another terminal's KBPK, a changed block).
        case notAuthentic
        /// Not a key block of a supported version, or malformed.
        case malformed
        /// A key block, but not of a MAC working key: usage, algorithm, mode of use, exportability or key length.
        case wrongAttributes
    }

    /// Unwraps the key block of a key exchange (field 63 of the 0810 to an 0800 `101`) under the terminal's KBPK and
    /// checks that it holds a MAC working key: key usage `M3` with algorithm `T` (a 16-byte TDES key) or `M6` with
    /// algorithm `A`; mode of use `C` (the terminal both generates — requests — and verifies — responses — under the
    /// one key, so a `G` or `V` key does not do); exportability `N` (a working key never leaves the terminal).
    /// - Returns: the key, or why the block was refused, with a sentence naming no key material.
    public static func unwrap(keyBlock: String, kbpk: SecretBytes) -> Result<HostMACKey, KeyExchangeRefused> {
        let header: TR31Header
        let key: SecretBytes
        do {
            (header, key) = try TR31.unwrap(keyBlock, kbpk: kbpk)
        } catch let error as CryptoError {
            switch error.code {
            case .authenticationFailure:
                return .failure(.init(.notAuthentic, "the key block's MAC does not verify under this terminal's KBPK"))
            default:
                return .failure(.init(.malformed, "not a usable key block: \(error.reason)"))
            }
        } catch {
            return .failure(.init(.malformed, "not a usable key block"))
        }
        guard let algorithm = Algorithm(rawValue: header.keyUsage) else {
            return .failure(.init(.wrongAttributes, "key usage \(header.keyUsage) is not M3 or M6 (a MAC key)"))
        }
        guard header.algorithm == algorithm.keyBlockAlgorithm else {
            return .failure(.init(.wrongAttributes, "algorithm \(header.algorithm) does not go with key usage \(header.keyUsage)"))
        }
        guard header.modeOfUse == "C" else {
            return .failure(.init(.wrongAttributes, "mode of use \(header.modeOfUse) is not C (generate and verify)"))
        }
        guard header.exportability == "N" else {
            return .failure(.init(.wrongAttributes, "exportability \(header.exportability) is not N: a working key never leaves the terminal"))
        }
        guard let made = try? HostMACKey(algorithm, key: key) else {
            return .failure(.init(.wrongAttributes, "a \(algorithm.rawValue) key of \(key.count) bytes"))
        }
        return .success(made)
    }

    /// A refused key exchange block: ``Refusal`` and a sentence for the log (never key material).
    public struct KeyExchangeRefused: Error, Sendable, Equatable, CustomStringConvertible {
        public let refusal: Refusal
        public let reason: String
        public init(_ refusal: Refusal, _ reason: String) {
            self.refusal = refusal
            self.reason = reason
        }
        public var description: String { "key exchange refused (\(refusal)): \(reason)" }
    }

    /// The key as the host sends it: a TR-31 block (version B for a TDES KBPK and `M3`, D for `M6`) with the
    /// attributes ``unwrap(keyBlock:kbpk:)`` requires, key version `00`, under `kbpk`.
    /// - Throws: ``CryptoError`` for a KBPK the block version does not take.
    public func keyBlock(kbpk: SecretBytes, random: some RandomSource) throws -> String {
        let header = TR31Header(
            version: algorithm == .retailMAC ? .b : .d, keyUsage: algorithm.keyUsage, algorithm: algorithm.keyBlockAlgorithm,
            modeOfUse: "C", keyVersionNumber: "00", exportability: "N")
        return try TR31.wrap(key: key, header: header, kbpk: kbpk, random: random)
    }

    /// A fresh random key of `algorithm` (the host's, at each key exchange).
    /// - Throws: ``CryptoError`` when `random` cannot deliver.
    public static func random(_ algorithm: Algorithm, using random: some RandomSource) throws -> HostMACKey {
        var bytes = try random.bytes(16)
        defer { for index in bytes.indices { bytes[index] = 0 } }
        return try HostMACKey(algorithm, key: SecretBytes(bytes))
    }

    /// Whether `message` must carry a MAC: every message but network management (0800/0810), §11.
    public static func isRequired(for message: ISO8583.Message) -> Bool {
        HostMessageType(rawValue: message.mti)?.carriesMAC ?? !message.mti.hasPrefix("08")
    }
}
