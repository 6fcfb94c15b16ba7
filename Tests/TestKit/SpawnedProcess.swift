#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#endif

/// A child process that runs while the test talks to it (a daemon under test): stdin from /dev/null, stdout and
/// stderr into files the test reads at the end. Killed with SIGKILL in `deinit` if still running.
public final class SpawnedProcess {
    public let pid: pid_t
    private let outputDirectory: String
    private var exitStatus: Int32?

    public init(_ argv: [String], environment: [String: String]) throws {
        outputDirectory = try makeTemporaryDirectory("spawned")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputDirectory + "/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, outputDirectory + "/stderr", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var child = pid_t()
        let rc = spawn(&child, argv, environment: environment, actions: &actions)
        guard rc == 0 else { throw TestKitError("posix_spawn \(argv[0]): \(String(cString: strerror(rc)))") }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        removeTree(outputDirectory)
    }

    /// Sends a signal, unless the process was already reaped (``wait(timeout:)`` saw it exit): its pid may belong to
    /// another process by now.
    public func signal(_ number: Int32) {
        guard exitStatus == nil else { return }
        kill(pid, number)
    }

    /// Waits up to `timeout` for the exit; returns the exit status (128 + signal when killed), or `nil` on timeout.
    public func wait(timeout: Duration) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid {
                let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                exitStatus = code
                return code
            }
            usleep(5000)
        }
        return nil
    }

    public var stdout: String { (try? readTextFile(outputDirectory + "/stdout")) ?? "" }
    public var stderr: String { (try? readTextFile(outputDirectory + "/stderr")) ?? "" }
}
