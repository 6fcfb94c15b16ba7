#if canImport(Glibc)
    import Glibc
#endif
import Codecs
import DeviceKit
import LinuxDevices
import TestKit
import Testing
import VirtualCards

/// The vpcd bridge through a real pcscd: `termtool vcard` connects a virtual card to vsmartcard-vpcd, and
/// LinuxDevices' PCSCCardReader talks to it. The private pcscd is started as LinuxDevicesTests' PCSCRig does (own
/// mount namespace, `/run` bound to a directory of ours, a private reader.conf.d), under TestKit's PCSCDaemonLock.
@Suite(.serialized, .enabled(if: VPCDRig.unavailableReason == nil, "\(VPCDRig.unavailableReason ?? "")"))
struct VPCDBridgeTests {
    @Test func selectGPOAndReadRecordThroughPCSCD() async throws {
        let rig = try VPCDRig()
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "VCard VPCD", disposition: .reset)
        defer { reader.stop() }
        var events = reader.events().makeAsyncIterator()
        try rig.insertCard(profile: "visa-credit")
        var atr: [UInt8]?
        let deadline = ContinuousClock.now + .seconds(15)
        while atr == nil, ContinuousClock.now < deadline {
            if case .cardPresent(.contact, let seen)? = try await events.next() { atr = seen }
        }
        #expect(atr == Hex.decode("3B85015643415244C6"), "\(Hex.encode(atr ?? []))")
        let connection = try reader.connectSession(.contact)
        defer { connection.disconnect() }
        let send: ([UInt8]) throws -> [UInt8] = { try connection.transmit($0) }

        let started = ContinuousClock.now
        let pse = try APDUExchange.run(try .select(name: Array("1PAY.SYS.DDF01".utf8)), transmit: send)
        #expect(pse.statusWord == .normalProcessing)
        let fci = try APDUExchange.run(try .select(name: Hex.decode("A0000000031010")!), transmit: send)
        #expect(fci.statusWord == .normalProcessing)
        #expect(try TLVNode(tlvEncoded: fci.data).firstDescendant(.applicationLabel)?.value.elementsEqual(Array("VISA CREDIT".utf8)) == true)
        let gpo = try APDUExchange.run(try .getProcessingOptions(pdolRelatedData: []), transmit: send)
        #expect(gpo.statusWord == .normalProcessing && gpo.data.first == 0x80)
        let record = try APDUExchange.run(try .readRecord(1, shortFileIdentifier: 2), transmit: send)
        #expect(record.statusWord == .normalProcessing)
        let template = try TLVNode(tlvEncoded: record.data)
        #expect(template.child(.applicationPrimaryAccountNumber).map { Hex.encode($0.value) } == "4761731000000019")
        let atc = try APDUExchange.run(try .getData(TLVTag(0x9F36)), transmit: send)
        #expect(atc.data == [0x9F, 0x36, 0x02, 0x00, 0x01])
        let elapsed = ContinuousClock.now - started
        // Five APDUs: with TCP_QUICKACK they take a few ms each, without it ~40 ms each.
        #expect(elapsed < .milliseconds(150), "5 APDUs took \(elapsed)")
        print("vpcd bridge: 5 APDUs through pcscd in \(elapsed)")
    }
}

extension VPCDBridgeTests {
    @Test func pulledCardDropsTheLinkDuringGenerateAC() async throws {
        let rig = try VPCDRig()
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "VCard VPCD")
        defer { reader.stop() }
        var events = reader.events().makeAsyncIterator()
        try rig.insertCard(profile: "pulled")
        var present = false
        while !present {
            guard let event = try await events.next() else { break }
            if case .cardPresent = event { present = true }
        }
        #expect(present)
        let connection = try reader.connectSession(.contact)
        defer { connection.disconnect() }
        let send: ([UInt8]) throws -> [UInt8] = { try connection.transmit($0) }
        _ = try APDUExchange.run(try .select(name: Hex.decode("A0000000031010")!), transmit: send)
        _ = try APDUExchange.run(try .getProcessingOptions(pdolRelatedData: []), transmit: send)
        let generateAC = try CommandAPDU.generateApplicationCryptogram(
            referenceControl: 0x40, cdolRelatedData: [UInt8](repeating: 0, count: 33))
        var failed = false
        do {
            let response = try connection.transmit(generateAC.encoded)
            // pcscd may report the lost card as a mute answer rather than an error.
            failed = response.count < 2 || response.suffix(2) != [0x90, 0x00]
        } catch {
            failed = true
        }
        #expect(failed, "the GENERATE AC of a pulled card has no answer")
        var removed = false
        let deadline = ContinuousClock.now + .seconds(10)
        while !removed, ContinuousClock.now < deadline {
            guard let event = try await events.next() else { break }
            if case .cardRemoved = event { removed = true }
        }
        #expect(removed, "pcscd reports the card removed")
    }
}

/// A private pcscd with one vpcd reader ("VCard VPCD 00 00") and `termtool vcard` as the card.
final class VPCDRig {
    static let pcscd = "/usr/sbin/pcscd"
    static let vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
    static let unshare = "/usr/bin/unshare"

    static let unavailableReason: String? = {
        if access(pcscd, X_OK) != 0 { return "pcscd is not installed" }
        if access(vpcdDriver, R_OK) != 0 { return "vsmartcard-vpcd is not installed" }
        if access(unshare, X_OK) != 0 { return "unshare is missing" }
        if geteuid() != 0 { return "a private pcscd needs root (mount namespace, /run)" }
        if (try? builtProduct("termtool")) == nil { return "termtool is not built" }
        let probe = try? runProcess([unshare, "-m", "--propagation", "private", "/bin/true"], timeout: .seconds(10))
        if probe?.status != 0 { return "cannot create a mount namespace here" }
        return nil
    }()

    let lock: PCSCDaemonLock
    let configDirectory: String
    let port: Int
    private var daemon: SpawnedProcess?
    private var card: SpawnedProcess?

    init() throws {
        lock = try PCSCDaemonLock()
        let run = pcscRunDirectory
        removeTree(run)
        mkdir(run, 0o755)
        configDirectory = try makeTemporaryDirectory("vcard-pcsc-conf")
        port = try Self.freePortPair()
        let channel = "0x" + String(port, radix: 16, uppercase: true)
        try writeTextFile(
            configDirectory + "/vpcd-vcard",
            "FRIENDLYNAME \"VCard VPCD\"\nDEVICENAME   /dev/null:\(channel)\nLIBPATH      \(Self.vpcdDriver)\nCHANNELID    \(channel)\n")
        let script = "mount --bind \"$0\" /run && exec timeout 120 \(Self.pcscd) --foreground -c \"$1\""
        daemon = try SpawnedProcess(
            [Self.unshare, "-m", "--propagation", "private", "/bin/sh", "-c", script, run, configDirectory],
            environment: [:])
        try waitUntil("pcscd's socket") { access(run + "/pcscd/pcscd.comm", F_OK) == 0 }
        try waitUntil("vpcd listening") { Self.isListening(self.port) }
    }

    deinit { shutDown() }

    func insertCard(profile: String) throws {
        card = try SpawnedProcess(
            [try builtProduct("termtool"), "vcard", "--profile", profile, "--port", "\(port)", "--lifetime", "60"],
            environment: [:])
    }

    func shutDown() {
        for process in [card, daemon].compactMap({ $0 }) {
            process.signal(SIGTERM)
            if process.wait(timeout: .seconds(5)) == nil {
                process.signal(SIGKILL)
                _ = process.wait(timeout: .seconds(5))
            }
        }
        card = nil
        daemon = nil
        removeTree(configDirectory)
        removeTree(pcscRunDirectory)
        lock.release()
    }

    private func waitUntil(_ what: String, _ condition: () -> Bool) throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestKitError("timed out waiting for \(what)") }
            if let status = daemon?.wait(timeout: .milliseconds(20)) {
                throw TestKitError("pcscd exited with \(status) while waiting for \(what)")
            }
        }
    }

    /// An even port P with P and P+1 free: vpcd listens on both.
    static func freePortPair() throws -> Int {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let port = Int.random(in: 15_000..<20_000, using: &generator) * 2
            if !isListening(port) && !isListening(port + 1) { return port }
        }
        throw TestKitError("no free port pair for vpcd")
    }

    /// Whether a TCP socket listens on `port` (from /proc/net/tcp*, without connecting: a connection would look like
    /// a card to vpcd).
    static func isListening(_ port: Int) -> Bool {
        var hex = String(port, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? readTextFile(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                if fields.count > 3, fields[1].hasSuffix(":" + hex), fields[3] == "0A" { return true }
            }
        }
        return false
    }
}
