#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One private pcscd at a time in a test process.
///
/// libpcsclite reads `PCSCLITE_CSOCK_NAME` once per process and keeps it, so every suite that starts its own pcscd
/// (LinuxDevicesTests' `PCSCRig`, VirtualCardsTests' vpcd bridge test) uses the same socket path and run
/// directory, `/tmp/terminal-pcsc-<pid>` (``pcscRunDirectory``). Suites run in parallel: each rig holds this lock
/// (an `flock` on `<run directory>.lock`, which also excludes other open file descriptions in the same process)
/// from the start of its daemon to its end.
public final class PCSCDaemonLock {
    private var descriptor: Int32

    /// Waits for the lock (bounded by `timeout`).
    /// - Throws: ``TestKitError`` when another rig holds it longer than `timeout`.
    public init(timeout: Duration = .seconds(120)) throws {
        let path = pcscRunDirectory + ".lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TestKitError("open \(path): errno \(errno)") }
        let deadline = ContinuousClock.now + timeout
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < deadline else {
                close(descriptor)
                descriptor = -1
                throw TestKitError("another pcscd rig held \(path) for \(timeout)")
            }
            usleep(20_000)
        }
    }

    /// Releases the lock (also done on deinit).
    public func release() {
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

/// The `/run` directory of the test process's private pcscd: from `PCSCLITE_CSOCK_NAME` when whoever runs the tests
/// set it (`…/pcscd/pcscd.comm`), else `/tmp/terminal-pcsc-<pid>`, which is then exported for libpcsclite.
public let pcscRunDirectory: String = {
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
