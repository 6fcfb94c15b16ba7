import Codecs
import PaymentCrypto
import TestKit
import Testing

/// `termtool keys`: factory provisioning from a TR-31 key block, then the listing a support engineer sees.
@Suite struct TermtoolKeysTests {
    @Test func provisionFromATR31BlockThenList() throws {
        let dir = try makeTemporaryDirectory("termtool-keys")
        defer { removeTree(dir) }
        try writeTextFile(dir + "/serial", "10000000abcdef01")
        let kbpk = SecretBytes(try SystemRandom().bytes(16))
        let bdk = SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210")!
        let ksn = try TDESDUKPT.KeySerialNumber(Hex.decode("FFFF9876543210E00000")!)
        let header = TR31Header(version: .b, keyUsage: "B1", algorithm: "T", modeOfUse: "X", exportability: "N",
                                optionalBlocks: [TR31OptionalBlock(id: "KS", data: "FFFF9876543210E00000")])
        let block = try TR31.wrap(key: TDESDUKPT.initialKey(baseDerivationKey: bdk, keySerialNumber: ksn), header: header, kbpk: kbpk, random: SystemRandom())
        let termtool = try builtProduct("termtool")
        let kbpkHex = kbpk.withUnsafeBytes { Hex.encode($0) }
        let provision = try runProcess([termtool, "keys", "provision", "--dir", dir + "/keys", "--device-secret", dir + "/serial",
                                        "--kbpk", kbpkHex, "--pin-key-block", block])
        #expect(provision.status == 0, "\(provision.stderr)")
        #expect(provision.stdout.contains("pin next KSN FFFF9876543210E00001"))
        #expect(!provision.stdout.contains("TEST KEY"))
        let list = try runProcess([termtool, "keys", "list", "--dir", dir + "/keys", "--device-secret", dir + "/serial"])
        #expect(list.status == 0 && list.stdout.contains("data-key") && list.stdout.contains("derived from the device"))
        // Another device's secret opens nothing.
        try writeTextFile(dir + "/other", "20000000abcdef02")
        let other = try runProcess([termtool, "keys", "list", "--dir", dir + "/keys", "--device-secret", dir + "/other"])
        #expect(other.status != 0)
        #expect(!other.stderr.contains(kbpkHex))
    }
}
