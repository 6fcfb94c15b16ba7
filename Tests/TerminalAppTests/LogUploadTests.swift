#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AcquirerSimulator
import Codecs
import Logging
@testable import TerminalApp
import TestKit
import Testing
import UpdatePackage
import Uplink

/// Log upload on the host's request (docs/terminal-management.md "Log upload", docs/host-interface.md §13.6): the
/// bounded ring of recent lines, the second redaction pass before sending, and the `825` chunks to the real acquirer
/// simulator over mutual TLS, resumed after a dropped link.
@Suite(.serialized) struct LogUploadTests {
    static let pan = "4761739001010119"
    static let track2 = "4761739001010119D22122011758928889"
    static let pinBlock = "8F3A5C7E9B1D2F40"
    static let key = "0123456789ABCDEFFEDCBA9876543210"

    /// Lines as a careless caller might log them: the PAN, track 2 equivalent data and a PIN-block-looking value in
    /// the message text (not under a secret key, so the handler's key rule does not catch the PIN block).
    static func logCarelessly(into ring: LogRing) {
        let sink = LogSink(descriptor: .init(rawValue: open("/dev/null", O_WRONLY | O_CLOEXEC)), format: .journal)
        let logger = Logger(label: "terminal.test") { label in RedactingLogHandler(label: label, sink: sink, ring: ring) }
        logger.info("card read \(pan) track \(track2)")
        logger.info("online PIN block \(pinBlock) under key \(key)")
        logger.info("card.data", metadata: ["pan": "\(pan)", "pinBlock": "\(pinBlock)"])
        // And one line that reached the ring without the handler (a bug elsewhere): the upload pass must catch it.
        ring.append(Array("raw \(pan) \(track2) \(pinBlock) \(key)\n".utf8))
    }

    static func expectClean(_ text: String) {
        #expect(!text.contains(pan), "no clear PAN: \(text)")
        #expect(!text.contains("D2212201175892888"), "no track data: \(text)")
        #expect(!text.contains(pinBlock), "no PIN block: \(text)")
        #expect(!text.contains(key) && !text.contains("0123456789ABCDEF"), "no key: \(text)")
        #expect(text.contains("476173******0119"), "the PAN masked 6/4: \(text)")
    }

    @Test func uploadTextIsRedactedAgain() throws {
        let dir = try makeTemporaryDirectory("logring")
        defer { removeTree(dir) }
        let ring = LogRing()
        ring.attach(path: dir + "/recent.log")
        Self.logCarelessly(into: ring)
        let raw = String(decoding: ring.contents(), as: UTF8.self)
        #expect(raw.contains("raw \(Self.pan)"), "the ring holds what it was given")
        let upload = String(decoding: LogRing.uploadText(ring.contents()), as: UTF8.self)
        Self.expectClean(upload)
        #expect(upload.contains(LogRing.hexPlaceholder) && upload.contains(Redaction.trackPlaceholder))
        #expect(upload.split(separator: "\n").count == 4, "\(upload)")
    }

    @Test func ringStaysUnderItsCap() throws {
        let dir = try makeTemporaryDirectory("logring")
        defer { removeTree(dir) }
        let ring = LogRing()
        ring.attach(path: dir + "/recent.log", capacity: 4096)
        for i in 0..<2000 { ring.append(Array("line \(i) of the log, with some words to fill it up\n".utf8)) }
        let kept = ring.contents()
        #expect(kept.count <= 4096, "\(kept.count) bytes")
        let text = String(decoding: kept, as: UTF8.self)
        #expect(text.hasSuffix("line 1999 of the log, with some words to fill it up\n"), "the newest line is kept")
        #expect(!text.contains("line 0 of"), "the oldest lines are dropped")
        #expect(text.hasPrefix("line "), "whole lines only")
        // A new ring on the same file (a restart) keeps the cap too.
        let again = LogRing()
        again.attach(path: dir + "/recent.log", capacity: 2048)
        #expect(again.contents().count <= 2048)
        // One huge line does not break the cap.
        again.append([UInt8](repeating: 0x41, count: 10_000) + [0x0A])
        #expect(again.contents().count <= 2048)
    }

    /// Fails every `825` after the first `allowed` ones (a link that drops in the middle of the upload).
    final class DroppingTransport: TerminalManagementTransport, @unchecked Sendable {
        let inner: HostAcquirerLink
        let allowed: Int
        let count = Locked(0)
        init(_ inner: HostAcquirerLink, allowed: Int) { (self.inner, self.allowed) = (inner, allowed) }
        func networkManagement(_ message: ISO8583.Message) async throws -> ISO8583.Message {
            if message.text(70) == TerminalManagement.Code.logUpload.rawValue {
                let n = count.withLock { value in value += 1; return value }
                if n > allowed { throw TestKitError("link dropped") }
            }
            return try await inner.networkManagement(message)
        }
    }

    func service(_ rig: TerminalManagementTests.Rig, ring: LogRing, transport: any TerminalManagementTransport, chunkSize: Int) throws -> TerminalManagementService {
        let stan = rig.stan
        let client = TerminalManagementClient(
            transport: transport, terminalID: "SIM00001", merchantID: "898310048990001",
            nextSTAN: { stan.withLock { value in value = value % 999_999 + 1; return value } },
            transmissionTime: { HostDateTime(month: 11, day: 28, hour: 9, minute: 30, second: 0) })
        return TerminalManagementService(
            configuration: .init(
                directory: rig.directory + "/downloads", keyring: rig.keyring, updateRoot: nil, board: "sim",
                firmwareVersion: try FirmwareVersion(parsing: "1.0.0"), storePath: rig.directory + "/terminal.sqlite", chunkSize: chunkSize),
            client: client, store: rig.store, journal: rig.journal, parameters: rig.parameters, connectivity: { .online(via: .wifi, interface: "lo") },
            today: { TerminalManagementTests.today }, now: { Int64(time(nil)) }, logRing: ring, logger: Logger(label: "test"))
    }

    @Test func uploadedInChunksResumedAfterADroppedLinkAndRedacted() async throws {
        let rig = try TerminalManagementTests.Rig()
        let ring = LogRing()
        ring.attach(path: rig.directory + "/recent.log")
        Self.logCarelessly(into: ring)
        for i in 0..<40 { ring.append(Array("sale \(i) approved amount=\(1000 + i)\n".utf8)) }
        try rig.publish("log-request-1", [])
        let expected = LogRing.uploadText(ring.contents())
        #expect(expected.count > 5 * 100, "several chunks")
        // The link drops after three chunks.
        let first = try await service(rig, ring: ring, transport: DroppingTransport(rig.link, allowed: 3), chunkSize: 100).synchronize()
        guard case .interrupted? = first.objects["log-request-1"] else {
            Issue.record("\(first)")
            return
        }
        let path = rig.host.uploadedLogPath(terminalID: "SIM00001", name: "log-request-1")
        #expect(access(path, F_OK) != 0)
        #expect(try readBinary(path + ".part").count == 300, "three chunks held")
        // Lines logged meanwhile do not change the upload in progress (its text was frozen at the first try).
        ring.append(Array("a line logged after the request\n".utf8))
        let second = try await service(rig, ring: ring, transport: rig.link, chunkSize: 100).synchronize()
        #expect(second.objects["log-request-1"] == .applied(version: "1"), "\(second)")
        let uploaded = try readBinary(path)
        #expect(uploaded == expected, "the host holds exactly the terminal's text, no chunk twice")
        Self.expectClean(String(decoding: uploaded, as: UTF8.self))
        #expect(rig.host.reports.last?.name == "log-request-1" && rig.host.reports.last?.result == .applied)
        #expect(access(rig.directory + "/downloads/log-request-1.upload", F_OK) != 0, "the frozen text is removed")
        // Done: the request is not offered to this terminal again.
        #expect(try await service(rig, ring: ring, transport: rig.link, chunkSize: 100).synchronize().objects.isEmpty)
    }

    @Test func emptyLogIsOneExchange() async throws {
        let rig = try TerminalManagementTests.Rig()
        let ring = LogRing()
        ring.attach(path: rig.directory + "/recent.log")
        try rig.publish("log-request-2", [])
        let report = try await service(rig, ring: ring, transport: rig.link, chunkSize: 100).synchronize()
        #expect(report.objects["log-request-2"] == .applied(version: "2"), "\(report)")
        #expect(try readBinary(rig.host.uploadedLogPath(terminalID: "SIM00001", name: "log-request-2")).isEmpty)
    }
}
