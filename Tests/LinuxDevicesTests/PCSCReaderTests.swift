#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Codecs
import DeviceKit
@testable import LinuxDevices
import Synchronization
import TestKit
import Testing

/// The PC/SC driver against a real pcscd (pcsc-lite) with the vsmartcard-vpcd virtual reader and the Python virtual
/// card of Tests/scripts/vpcd_card.py (research/test-rig.md §1).
///
/// Each test starts its own pcscd in a private mount namespace (`unshare -m`) with `/run` bound to a directory of
/// ours, so a system pcscd is neither seen nor disturbed; libpcsclite finds ours through `PCSCLITE_CSOCK_NAME`.
/// pcscd reads a private reader.conf.d (`-c`) with one vpcd reader on a free loopback port; the card connects to
/// it. Every wait is bounded and every process is killed at the end.
@Suite(.serialized, .enabled(if: PCSCRig.unavailableReason == nil, "\(PCSCRig.unavailableReason ?? "")"))
struct PCSCReaderTests {
    /// The ATR of the T=1 virtual card: TS 3B, T0 87, TD1 01 (T=1), "EMVTEST", TCK.
    static let t1ATR = Hex.decode("3B8701454D5654455354CE")!
    /// The ATR of the T=0 virtual card: TS 3B, T0 07, "EMVTEST".
    static let t0ATR = Hex.decode("3B07454D5654455354")!
    /// The directory entry the card's PPSE lists.
    static let aid = Hex.decode("A0000000041010")!

    @Test func readerFoundByPrefixReportsTheCardWithItsATR() async throws {
        let rig = try PCSCRig()
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "Test VPCD")
        #expect(try reader.availableReaders() == ["Test VPCD 00 00", "Test VPCD 00 01"])
        let log = EventLog(reader.events())
        try rig.insertCard()
        #expect(await log.wait(for: .cardPresent(slot: .contact, atr: Self.t1ATR)), "\(log.snapshot)")
        rig.removeCard()
        #expect(await log.wait(for: .cardRemoved(slot: .contact)), "\(log.snapshot)")
        try rig.insertCard()
        #expect(await log.wait(count: 3), "\(log.snapshot)")
        #expect(log.snapshot.last == .cardPresent(slot: .contact, atr: Self.t1ATR))
        reader.stop()
        #expect(await log.waitFinished())
        #expect(log.failure == nil)
    }

    @Test func selectPPSEAndReadARecordOverT1() async throws {
        let rig = try PCSCRig()
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "Test VPCD", disposition: .reset)
        let log = EventLog(reader.events())
        try rig.insertCard()
        #expect(await log.wait(for: .cardPresent(slot: .contact, atr: Self.t1ATR)))
        let connection = try reader.connectSession(.contact)
        defer { connection.disconnect() }
        #expect(connection.transmissionProtocol == .t1)
        #expect(connection.atr == Self.t1ATR)
        #expect(connection.readerName == "Test VPCD 00 00")

        var transmissions = 0
        let send: ([UInt8]) throws -> [UInt8] = { command in
            transmissions += 1
            return try connection.transmit(command)
        }
        let fci = try APDUExchange.run(try .select(name: Array("2PAY.SYS.DDF01".utf8)), transmit: send)
        #expect(fci.statusWord == .normalProcessing)
        #expect(transmissions == 1, "a T=1 card answers in one exchange")
        let template = try TLVNode(tlvEncoded: fci.data)
        #expect(template.tag == .fileControlInformationTemplate)
        #expect(template.firstDescendant(.applicationIdentifier)?.value.elementsEqual(Self.aid) == true)

        let record = try APDUExchange.run(try .readRecord(1, shortFileIdentifier: 1), transmit: send)
        #expect(record.statusWord == .normalProcessing)
        let rendered = EMVDataDictionary.render(tlvEncoded: record.data)
        #expect(rendered.contains("5A Application Primary Account Number (PAN): 476173******0010"), "\(rendered)")
        #expect(!rendered.contains("4761739001010010"))

        let unknown = try APDUExchange.run(try .select(name: Hex.decode("A0000000031010")!), transmit: send)
        #expect(unknown.statusWord == .fileNotFound)

        connection.disconnect()
        connection.disconnect()
        #expect(
            catchPCSCError { _ = try connection.transmit([0x00, 0x84, 0x00, 0x00, 0x00]) }?.code == .connectionClosed)
    }

    @Test func t0CardGetsGetResponseAndResendThroughTheAPDULayer() async throws {
        let rig = try PCSCRig()
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "Test VPCD")
        let log = EventLog(reader.events())
        try rig.insertCard(t0: true)
        #expect(await log.wait(for: .cardPresent(slot: .contact, atr: Self.t0ATR)), "\(log.snapshot)")
        let connection = try reader.connectSession(.contact)
        defer { connection.disconnect() }
        #expect(connection.transmissionProtocol == .t0)

        // Without the APDU layer: the card answers a case 4 SELECT with 61xx only.
        let select = try CommandAPDU.select(name: Array("2PAY.SYS.DDF01".utf8))
        let bare = try ResponseAPDU(apduEncoded: try connection.transmit(select.encoded))
        #expect(bare.data.isEmpty && bare.statusWord.hasResponseBytesAvailable)

        var sent: [[UInt8]] = []
        let send: ([UInt8]) throws -> [UInt8] = { command in
            sent.append(command)
            return try connection.transmit(command)
        }
        let fci = try APDUExchange.run(select, transmit: send)
        #expect(fci.statusWord == .normalProcessing)
        #expect(sent.count == 2)
        #expect(sent.last.map { Array($0.prefix(4)) } == [0x00, 0xC0, 0x00, 0x00], "GET RESPONSE")
        #expect(try TLVNode(tlvEncoded: fci.data).firstDescendant(.applicationIdentifier) != nil)

        // READ RECORD with Le=00: the card says 6Cxx, the layer resends with Le=xx.
        sent = []
        let record = try APDUExchange.run(try .readRecord(1, shortFileIdentifier: 1), transmit: send)
        #expect(record.statusWord == .normalProcessing)
        #expect(sent.count == 2)
        #expect(sent.last?.last == UInt8(record.data.count))
        #expect(try TLVNode(tlvEncoded: record.data).tag == .readRecordResponseMessageTemplate)
    }

    @Test func cardPulledMidSessionIsATypedError() async throws {
        let rig = try PCSCRig()
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "Test VPCD")
        let log = EventLog(reader.events())
        try rig.insertCard()
        #expect(await log.wait(for: .cardPresent(slot: .contact, atr: Self.t1ATR)))
        let connection = try reader.connectSession(.contact)
        defer { connection.disconnect() }
        _ = try connection.transmit(try CommandAPDU.select(name: Array("2PAY.SYS.DDF01".utf8)).encoded)

        // The card closes its link during the APDU (its test control 80 EE): pcscd either fails the exchange or
        // answers it empty (test-rig.md §1.8); the driver sees the reader empty soon after and says so.
        let started = ContinuousClock.now
        let pulled = catchPCSCError { _ = try connection.transmit([0x80, 0xEE, 0x00, 0x00]) }
        #expect(pulled?.code == .removedCard, "\(String(describing: pulled))")
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(pulled.map { !"\($0)".contains("80EE") } == true)
        #expect(await log.wait(for: .cardRemoved(slot: .contact)), "\(log.snapshot)")
        let after = catchPCSCError { _ = try connection.transmit(try CommandAPDU.getChallenge().encoded) }
        #expect(after?.code == .removedCard, "\(String(describing: after))")

        #expect(catchPCSCError { _ = try reader.connect(.contact) }?.code == .noCard)
    }

    @Test func noMatchingReaderIsAClearError() throws {
        let rig = try PCSCRig()
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "ACS ACR39U")
        let error = catchPCSCError { _ = try reader.connect(.contact) }
        #expect(error?.code == .noReader)
        #expect(error.map { "\($0)".contains("'ACS ACR39U'") && "\($0)".contains("'Test VPCD 00 00'") } == true)
        #expect(catchPCSCError { _ = try reader.connect(.contactless) }?.code == .noReader)
        #expect(PCSCCardReader.matchReader("Test VPCD 00 01", in: try reader.availableReaders()) == "Test VPCD 00 01")
    }

    @Test func noReaderAtAllIsAClearErrorAndTheWatcherWaits() async throws {
        let rig = try PCSCRig(withReader: false)
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "Test VPCD")
        #expect(try reader.availableReaders().isEmpty)
        let error = catchPCSCError { _ = try reader.connect(.contact) }
        #expect(error?.code == .noReader)
        #expect(error.map { "\($0)".contains("no readers") } == true)
        // The watcher waits for the reader to appear (pcscd's PnP notification) without failing or spinning.
        let log = EventLog(reader.events())
        try await Task.sleep(for: .milliseconds(300))
        reader.stop()
        #expect(await log.waitFinished())
        #expect(log.snapshot.isEmpty && log.failure == nil)
    }

    @Test func pcscdStoppingEndsTheStreamWithATypedError() async throws {
        let rig = try PCSCRig()
        defer { rig.shutDown() }
        let reader = try PCSCCardReader(reader: "Test VPCD")
        let log = EventLog(reader.events())
        try rig.insertCard()
        #expect(await log.wait(for: .cardPresent(slot: .contact, atr: Self.t1ATR)))
        rig.stopDaemon()
        #expect(await log.waitFinished(), "\(log.snapshot)")
        let failure = log.failure as? PCSCError
        #expect(
            failure.map { [.serviceStopped, .serviceUnavailable].contains($0.code) } == true,
            "\(String(describing: log.failure))")
        #expect(catchPCSCError { _ = try PCSCCardReader(reader: "Test VPCD") }?.code == .serviceUnavailable)
    }

    @Test func theRigStopsOnceAndLeavesNoPcscdBehind() throws {
        let first = try PCSCRig()
        let group = try #require(first.daemonPID)
        // Wait for pcscd under `timeout`, then kill `timeout` alone: pcscd is left running in the group.
        let deadline = ContinuousClock.now + .seconds(10)
        while PCSCRig.liveMembers(ofGroup: group).count < 2 && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(PCSCRig.liveMembers(ofGroup: group).count == 2, "timeout and pcscd")
        kill(group, SIGKILL)
        first.shutDown()
        #expect(PCSCRig.liveMembers(ofGroup: group).isEmpty, "pcscd stopped with its parent gone")
        // A second shutdown (the `deinit` after a `defer`) leaves the next rig's run directory alone.
        let second = try PCSCRig()
        defer { second.shutDown() }
        first.shutDown()
        #expect(access(PCSCRig.runDirectory + "/pcscd/pcscd.comm", F_OK) == 0, "the second rig's socket is still there")
        #expect(try PCSCCardReader(reader: "Test VPCD").availableReaders().count == 2)
    }

    @Test func everyResultCodeHasAName() {
        let error = PCSCError.self
        #expect(error.statusName(0x8010_0069) == "SCARD_W_REMOVED_CARD")
        #expect(error.statusName(0x8010_001D) == "SCARD_E_NO_SERVICE")
        #expect(error.statusName(0x1234_5678) == nil)
    }
}

/// Catches the ``PCSCError`` `body` throws (records an issue for anything else or nothing).
func catchPCSCError(_ body: () throws -> Void) -> PCSCError? {
    do {
        try body()
        Issue.record("expected a PCSCError, nothing was thrown")
        return nil
    } catch let error as PCSCError {
        return error
    } catch {
        Issue.record("expected a PCSCError, got \(error)")
        return nil
    }
}

/// Collects a reader's events from its stream on a task, for bounded waits.
final class EventLog: Sendable {
    private struct Seen: Sendable {
        var events: [CardReaderEvent] = []
        var finished = false
        var failure: (any Error)?
    }

    private final class Box: Sendable {
        let seen = Mutex(Seen())
    }

    private let box = Box()
    private let task: Task<Void, Never>

    init(_ stream: AsyncThrowingStream<CardReaderEvent, any Error>) {
        let box = self.box
        task = Task {
            do {
                for try await event in stream { box.seen.withLock { $0.events.append(event) } }
                box.seen.withLock { $0.finished = true }
            } catch {
                box.seen.withLock {
                    $0.failure = error
                    $0.finished = true
                }
            }
        }
    }

    deinit { task.cancel() }

    var snapshot: [CardReaderEvent] { box.seen.withLock { $0.events } }
    var failure: (any Error)? { box.seen.withLock { $0.failure } }

    /// Waits up to `timeout` for `event` to have been seen.
    func wait(for event: CardReaderEvent, timeout: Duration = .seconds(10)) async -> Bool {
        await waitUntil(timeout) { $0.events.contains(event) }
    }

    /// Waits up to `timeout` for `count` events.
    func wait(count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        await waitUntil(timeout) { $0.events.count >= count }
    }

    /// Waits up to `timeout` for the stream to end.
    func waitFinished(timeout: Duration = .seconds(10)) async -> Bool { await waitUntil(timeout) { $0.finished } }

    private func waitUntil(_ timeout: Duration, _ condition: (Seen) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if box.seen.withLock({ condition($0) }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return box.seen.withLock { condition($0) }
    }
}

/// A private pcscd with one vpcd reader ("Test VPCD 00 00" and "… 00 01") and the virtual card process.
final class PCSCRig {
    static let pcscd = "/usr/sbin/pcscd"
    static let vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
    static let unshare = "/usr/bin/unshare"

    /// Why the rig cannot run here, or `nil`.
    static let unavailableReason: String? = {
        if access(pcscd, X_OK) != 0 { return "pcscd is not installed (apt-get install pcscd)" }
        if access(vpcdDriver, R_OK) != 0 { return "vsmartcard-vpcd is not installed (apt-get install vsmartcard-vpcd)" }
        if access(unshare, X_OK) != 0 { return "unshare (util-linux) is missing" }
        if geteuid() != 0 { return "a private pcscd needs root (mount namespace, /run)" }
        if !pythonIsAvailable { return "python3 is missing (the virtual card)" }
        let probe = try? runProcess([unshare, "-m", "--propagation", "private", "/bin/true"], timeout: .seconds(10))
        if probe?.status != 0 { return "cannot create a mount namespace here (unshare -m failed)" }
        return nil
    }()

    /// Where our pcscd's `/run` is, for the whole test process. libpcsclite reads `PCSCLITE_CSOCK_NAME` once, at
    /// its first call, and keeps it: so every rig of this process uses the same socket path (one rig at a time: the
    /// suite is serialized), and the variable must be set before any test of the process touches PC/SC. A value
    /// set by whoever runs the tests (`…/pcscd/pcscd.comm`) is honoured; otherwise it is set here.
    static let runDirectory: String = {
        let suffix = "/pcscd/pcscd.comm"
        if let preset = getenv("PCSCLITE_CSOCK_NAME").map({ String(cString: $0) }), preset.hasSuffix(suffix),
            preset.count > suffix.count
        {
            return String(preset.dropLast(suffix.count))
        }
        let path = "/tmp/terminal-pcsc-\(getpid())"
        setenv("PCSCLITE_CSOCK_NAME", path + suffix, 1)
        return path
    }()

    let configDirectory: String
    let port: Int
    /// Other suites start a pcscd on the same socket path (TestKit `PCSCDaemonLock`).
    private var lock: PCSCDaemonLock?
    private var daemon: SpawnedProcess?
    private var card: SpawnedProcess?
    private var isShutDown = false

    /// The pid of pcscd's parent (`timeout`), which also numbers their process group; `nil` once stopped.
    var daemonPID: pid_t? { daemon?.pid }

    /// Starts pcscd (with the vpcd reader configured, or none) and waits until it serves.
    init(withReader: Bool = true) throws {
        lock = try PCSCDaemonLock()
        let run = PCSCRig.runDirectory
        removeTree(run)
        mkdir(run, 0o755)
        configDirectory = try makeTemporaryDirectory("pcsc-conf")
        port = try PCSCRig.freePortPair()
        if withReader { try writeReaderConfig() }
        // pcscd 1.9.9 hard-codes /run/pcscd: in a mount namespace of its own, /run is our directory. `timeout`
        // ends it even if this test process dies without stopping it; it passes our SIGTERM on to pcscd.
        let script = "mount --bind \"$0\" /run && exec timeout 120 \(PCSCRig.pcscd) --foreground -c \"$1\""
        daemon = try SpawnedProcess(
            [PCSCRig.unshare, "-m", "--propagation", "private", "/bin/sh", "-c", script, run, configDirectory],
            environment: [:])
        try waitUntil("pcscd's socket", timeout: .seconds(10)) { access(run + "/pcscd/pcscd.comm", F_OK) == 0 }
        if withReader { try waitUntil("vpcd listening", timeout: .seconds(10)) { PCSCRig.isListening(self.port) } }
    }

    deinit { shutDown() }

    /// Kills the card and pcscd and removes the configuration, once: the tests call it in a `defer` and `deinit` calls
    /// it again, and a second run would remove the run directory after the lock was released — the directory of the
    /// rig that took the lock in between. A card or daemon that does not stop is recorded as an issue.
    func shutDown() {
        guard !isShutDown else { return }
        isShutDown = true
        removeCard()
        stopDaemon()
        removeTree(configDirectory)
        removeTree(PCSCRig.runDirectory)
        lock?.release()
        lock = nil
    }

    /// Starts the virtual card (T=1, or T=0 with `t0`); it connects to vpcd.
    func insertCard(t0: Bool = false) throws {
        removeCard()
        let script = repositoryRoot() + "/Tests/scripts/vpcd_card.py"
        card = try SpawnedProcess(
            ["/usr/bin/env", "python3", script, "--port", "\(port)"] + (t0 ? ["--t0"] : []), environment: [:])
    }

    /// Kills the card process (SIGKILL: a test process may pass on a blocked SIGTERM to its children): its
    /// connection closes, vpcd reports the card gone. Once per card; one that does not exit is recorded as an issue.
    func removeCard() {
        guard let card else { return }
        self.card = nil
        card.signal(SIGKILL)
        if card.wait(timeout: .seconds(5)) == nil {
            Issue.record("the virtual card (pid \(card.pid)) did not exit 5 s after SIGKILL")
        }
    }

    /// Stops pcscd, once: SIGTERM to `timeout`, which passes it on to pcscd; after 5 s SIGKILL to their process group
    /// (`timeout` leads a group of its own, pcscd in it: killing `timeout` alone would leave pcscd running). A daemon
    /// that exited by itself is not signalled (its pid may belong to another process by now). Stopped means nothing of
    /// the group is left alive; anything else is recorded as an issue.
    func stopDaemon() {
        guard let daemon else { return }
        self.daemon = nil
        let group = daemon.pid
        if daemon.wait(timeout: .milliseconds(10)) == nil {
            daemon.signal(SIGTERM)
            if daemon.wait(timeout: .seconds(5)) == nil {
                kill(-group, SIGKILL)
                daemon.signal(SIGKILL)
                if daemon.wait(timeout: .seconds(5)) == nil {
                    Issue.record("pcscd's timeout (pid \(group)) did not exit 5 s after SIGKILL")
                    return
                }
            }
        }
        // pcscd may outlive its parent (reparented; after a SIGTERM `timeout` exits only once pcscd has, so a member
        // left after a moment is an orphan); the group's number is not reused while a member lives.
        if !PCSCRig.waitUntilGroupIsGone(group, timeout: .seconds(1)) {
            kill(-group, SIGKILL)
            if !PCSCRig.waitUntilGroupIsGone(group, timeout: .seconds(5)) {
                Issue.record("pcscd's process group \(group) still has live processes after SIGKILL: \(PCSCRig.liveMembers(ofGroup: group))")
            }
        }
    }

    /// Waits up to `timeout` for no live process (zombies aside) to be left in process group `group`.
    static func waitUntilGroupIsGone(_ group: pid_t, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !liveMembers(ofGroup: group).isEmpty {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    /// The processes of group `group` that are not zombies, from `/proc/<pid>/stat` (`pid (comm) state ppid pgrp …`;
    /// `comm` may hold spaces and parentheses, so the fields are read after the last `)`). A zombie waits for a
    /// parent that may never reap it (PID 1 here need not be an init) and is harmless.
    static func liveMembers(ofGroup group: pid_t) -> [pid_t] {
        guard kill(-group, 0) == 0 else { return [] }  // ESRCH: the group is empty
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var members: [pid_t] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name), let stat = try? readTextFile("/proc/\(name)/stat"),
                let paren = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: paren)...].split(separator: " ")
            guard fields.count >= 3, fields[0] != "Z", fields[0] != "X", pid_t(fields[2]) == group else { continue }
            members.append(pid)
        }
        return members
    }

    private func writeReaderConfig() throws {
        let channel = "0x" + String(port, radix: 16, uppercase: true)
        try writeTextFile(
            configDirectory + "/vpcd-test",
            """
            FRIENDLYNAME "Test VPCD"
            DEVICENAME   /dev/null:\(channel)
            LIBPATH      \(PCSCRig.vpcdDriver)
            CHANNELID    \(channel)

            """)
    }

    private func waitUntil(_ what: String, timeout: Duration, _ condition: () -> Bool) throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestKitError("timed out waiting for \(what)") }
            if let status = daemon?.wait(timeout: .milliseconds(20)) {
                throw TestKitError("pcscd exited with \(status) while waiting for \(what): \(daemon?.stdout ?? "")")
            }
        }
    }

    /// An even port P with P and P+1 free on loopback: vpcd listens on both (one per slot).
    static func freePortPair() throws -> Int {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let port = Int.random(in: 20_000..<30_000, using: &generator) * 2
            if !isListening(port) && !isListening(port + 1) && canBind(port) && canBind(port + 1) { return port }
        }
        throw TestKitError("no free port pair for vpcd")
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = 0
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Whether a TCP socket listens on `port` (from /proc/net/tcp and tcp6; probing by connecting would look like a
    /// card to vpcd, test-rig.md §1.8).
    static func isListening(_ port: Int) -> Bool {
        let needle = ":" + String(port, radix: 16, uppercase: true).leftPadded(to: 4)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? readTextFile(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                if fields.count > 3, fields[1].hasSuffix(needle), fields[3] == "0A" { return true }
            }
        }
        return false
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The rules that turn reader states into card events, without pcscd: what the PnP and event-counter paths do when
/// a reader vanishes or a card is swapped between two waits (pcscd 1.9.9 cannot add or remove a vpcd reader while
/// it runs, so these are not reachable end to end here).
@Suite struct PCSCCardTrackerTests {
    // SCARD_STATE_* bits (pcsclite.h) and the event counter in the upper 16 bits.
    static let empty: UInt32 = 0x10
    static let present: UInt32 = 0x20
    static let changed: UInt32 = 0x02
    static let inUse: UInt32 = 0x100
    static let mute: UInt32 = 0x200
    static let unknown: UInt32 = 0x04
    static func counter(_ n: UInt32) -> UInt32 { n << 16 }
    static let atr: [UInt8] = [0x3B, 0x02, 0x14, 0x50]

    @Test func insertionSessionAndRemoval() {
        var tracker = PCSCCardTracker(slot: .contact)
        #expect(tracker.update(eventState: Self.empty | Self.changed, atr: []) == [])
        #expect(
            tracker.update(eventState: Self.present | Self.changed | Self.counter(1), atr: Self.atr)
                == [.cardPresent(slot: .contact, atr: Self.atr)])
        // A session opening changes INUSE only: no event.
        #expect(
            tracker.update(eventState: Self.present | Self.inUse | Self.changed | Self.counter(1), atr: Self.atr) == [])
        #expect(
            tracker.update(eventState: Self.empty | Self.changed | Self.counter(2), atr: []) == [
                .cardRemoved(slot: .contact)
            ])
        #expect(tracker.update(eventState: Self.empty | Self.counter(2), atr: []) == [])
    }

    @Test func cardSwappedBetweenTwoWaits() {
        var tracker = PCSCCardTracker(slot: .contact)
        _ = tracker.update(eventState: Self.present | Self.counter(1), atr: Self.atr)
        let other: [UInt8] = [0x3B, 0x00]
        #expect(
            tracker.update(eventState: Self.present | Self.changed | Self.counter(3), atr: other)
                == [.cardRemoved(slot: .contact), .cardPresent(slot: .contact, atr: other)])
    }

    @Test func muteCardThenLateATR() {
        var tracker = PCSCCardTracker(slot: .contactless)
        #expect(
            tracker.update(eventState: Self.present | Self.mute | Self.counter(1), atr: [])
                == [.cardPresent(slot: .contactless, atr: [])])
        #expect(
            tracker.update(eventState: Self.present | Self.counter(1), atr: Self.atr)
                == [.cardPresent(slot: .contactless, atr: Self.atr)])
    }

    @Test func readerVanishingWithACardReportsTheRemoval() {
        var tracker = PCSCCardTracker(slot: .contact)
        _ = tracker.update(eventState: Self.present | Self.counter(1), atr: Self.atr)
        #expect(PCSCCardTracker.readerVanished(Self.unknown | Self.changed))
        #expect(!PCSCCardTracker.readerVanished(Self.present | Self.changed))
        #expect(tracker.readerGone() == [.cardRemoved(slot: .contact)])
        #expect(tracker.readerGone() == [])
        // The reader is back with the same card (its counter restarted): reported present again.
        #expect(
            tracker.update(eventState: Self.present | Self.counter(1), atr: Self.atr)
                == [.cardPresent(slot: .contact, atr: Self.atr)])
    }

    @Test func readerMatchingPrefersTheExactName() {
        let names = ["ACS ACR39U ICC Reader 00 00", "ACS ACR39U ICC Reader 01 00", "ACS ACR39"]
        #expect(PCSCCardReader.matchReader("ACS ACR39U", in: names) == "ACS ACR39U ICC Reader 00 00")
        #expect(PCSCCardReader.matchReader("ACS ACR39", in: names) == "ACS ACR39")
        #expect(PCSCCardReader.matchReader("ACS ACR39U ICC Reader 01", in: names) == "ACS ACR39U ICC Reader 01 00")
        #expect(PCSCCardReader.matchReader("Gemalto", in: names) == nil)
    }
}
