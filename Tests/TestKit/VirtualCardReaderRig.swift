#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A private pcscd with one vpcd reader ("VCard VPCD 00 00") and `termtool vcard` as the card, for suites outside
/// VirtualCardsTests (same rig as its VPCDBridgeTests: own mount namespace, `/run` bound to a directory of ours, a
/// private reader.conf.d, under ``PCSCDaemonLock``). Child processes reach this pcscd with ``environment``.
public final class VirtualCardReaderRig {
    static let pcscd = "/usr/sbin/pcscd"
    static let vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
    static let unshare = "/usr/bin/unshare"

    public static let unavailableReason: String? = {
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
    public let port: Int
    private var daemon: SpawnedProcess?
    private var card: SpawnedProcess?
    private var isShutDown = false

    public init() throws {
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

    /// What a child process needs to talk to this pcscd (libpcsclite's socket path).
    public var environment: [String: String] { ["PCSCLITE_CSOCK_NAME": pcscRunDirectory + "/pcscd/pcscd.comm"] }

    /// Attaches `termtool vcard --profile <profile>` to the reader.
    public func insertCard(profile: String) throws {
        card = try SpawnedProcess(
            [try builtProduct("termtool"), "vcard", "--profile", profile, "--port", "\(port)", "--lifetime", "60"],
            environment: [:])
    }

    public func shutDown() {
        // Once only: a second call (deinit after an explicit shutDown) would remove the run directory of the rig
        // that took the lock in between (its `mount --bind` then fails: pcscd "exited with 32").
        guard !isShutDown else { return }
        isShutDown = true
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
