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
/// LinuxDevices' PCSCCardReader talks to it. The private pcscd is TestKit's VirtualCardReaderRig (own mount namespace,
/// `/run` bound to a directory of ours, a private reader.conf.d, under PCSCDaemonLock).
@Suite(.serialized, .enabled(if: VirtualCardReaderRig.unavailableReason == nil, "\(VirtualCardReaderRig.unavailableReason ?? "")"))
struct VPCDBridgeTests {
    @Test func selectGPOAndReadRecordThroughPCSCD() async throws {
        let rig = try VirtualCardReaderRig()
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
        let rig = try VirtualCardReaderRig()
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
