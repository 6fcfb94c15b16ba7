import Codecs
import PaymentCrypto
import TestKit
import Testing
import Uplink

/// ``HostMACKey``: the MAC of docs/host-interface.md §11 and the key exchange block that carries its key.
@Suite struct HostMACKeyTests {
    static let kbpk = SecretBytes(hexEncoded: "89E88CF7931444F334BD7547FC3F380C")!  // the simulator boards' TEST KBPK

    /// The §12 example frame verifies under the documented test key through ``HostMACKey``, and one flipped byte in a
    /// MACed field does not.
    @Test func documentedExampleFrameVerifies() throws {
        let key = try HostMACKey(.retailMAC, key: HostFixtures.macKey)
        let frame = try #require(Hex.decode(HostDialectTests.documentedSaleFrame))
        let message = try HostDialect.unpack(frame.dropFirst(2), mac: key.authenticationCode)
        #expect(message.bytes(64).map(Hex.encode) == "5EADB893416F4193")
        var tampered = frame
        tampered[40] ^= 0x01
        #expect(throws: ISO8583Error.self) { try HostDialect.unpack(tampered.dropFirst(2), mac: key.authenticationCode) }
    }

    /// A retail MAC key and an AES-CMAC key go through the key block the host sends and come out usable; the AES key
    /// MACs with AES-CMAC's leftmost 8 bytes.
    @Test(arguments: HostMACKey.Algorithm.allCases)
    func keyBlockRoundTrip(_ algorithm: HostMACKey.Algorithm) throws {
        let random = SystemRandom()
        let key = try HostMACKey.random(algorithm, using: random)
        let block = try key.keyBlock(kbpk: Self.kbpk, random: random)
        #expect(block.hasPrefix(algorithm == .retailMAC ? "B" : "D"))
        #expect(block.dropFirst(5).hasPrefix(algorithm == .retailMAC ? "M3TC00N" : "M6AC00N"))
        let unwrapped = try HostMACKey.unwrap(keyBlock: block, kbpk: Self.kbpk).get()
        #expect(unwrapped.algorithm == algorithm)
        let data = Array("0200 message up to the MAC".utf8)
        #expect(try unwrapped.authenticationCode(data) == key.authenticationCode(data))
        #expect(try key.authenticationCode(data).count == 8)
        if algorithm == .aesCMAC {
            let full = try key.withUnsafeKeyBytes { try AES.CMAC.authenticationCode(for: data, key: SecretBytes(Array($0))) }
            #expect(try key.authenticationCode(data) == Array(full.prefix(8)))
        }
        #expect(!"\(key)".contains(key.withUnsafeKeyBytes { Hex.encode(Array($0)) }))
    }

    /// The terminal's checks on the block: another KBPK, a PIN key, a generate-only or verify-only key, an
    /// exportable key, a mismatched algorithm are all refused.
    @Test func unsuitableBlocksAreRefused() throws {
        let random = SystemRandom()
        let key = SecretBytes(hexEncoded: "00112233445566778899AABBCCDDEEFF")!
        func block(_ usage: String, _ algorithm: Character, _ mode: Character, _ exportability: Character) throws -> String {
            try TR31.wrap(
                key: key,
                header: TR31Header(
                    version: .b, keyUsage: usage, algorithm: algorithm, modeOfUse: mode, exportability: exportability),
                kbpk: Self.kbpk, random: random)
        }
        func refusal(_ block: String, kbpk: SecretBytes = HostMACKeyTests.kbpk) -> HostMACKey.Refusal? {
            if case .failure(let refused) = HostMACKey.unwrap(keyBlock: block, kbpk: kbpk) { return refused.refusal }
            return nil
        }
        #expect(refusal(try block("M3", "T", "C", "N")) == nil)
        #expect(refusal(try block("M3", "T", "C", "N"), kbpk: SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210")!) == .notAuthentic)
        #expect(refusal(try block("P0", "T", "E", "N")) == .wrongAttributes)
        #expect(refusal(try block("M3", "T", "G", "N")) == .wrongAttributes)
        #expect(refusal(try block("M3", "T", "V", "N")) == .wrongAttributes)
        #expect(refusal(try block("M3", "T", "C", "E")) == .wrongAttributes)
        #expect(refusal(try block("M3", "A", "C", "N")) == .wrongAttributes)
        #expect(refusal("B0096M3TC00N0000" + String(repeating: "0", count: 80)) == .notAuthentic)
        #expect(refusal("not a key block") == .malformed)
    }
}
