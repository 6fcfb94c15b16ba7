#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#endif

/// A child process the test converses with: lines written to its stdin while it runs, its stdout and stderr in
/// files the test polls (`waitForOutput`), so a script can wait for a screen instead of sleeping. Killed with
/// SIGKILL in `deinit` if still running.
public final class InteractiveProcess {
    public let pid: pid_t
    private var input: Int32
    private let outputDirectory: String
    private var exitStatus: Int32?

    public init(_ argv: [String], environment: [String: String]) throws {
        var fds: [Int32] = [-1, -1]
        let failed = PseudoTerminal.descriptorLock.withLock { _ -> Int32? in
            guard pipe(&fds) == 0 else { return errno }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return nil
        }
        if let failed { throw TestKitError("pipe: errno \(failed)") }
        outputDirectory = try makeTemporaryDirectory("interactive")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputDirectory + "/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, outputDirectory + "/stderr", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var child = pid_t()
        let rc = spawn(&child, argv, environment: environment, actions: &actions)
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            removeTree(outputDirectory)
            throw TestKitError("posix_spawn \(argv[0]): \(String(cString: strerror(rc)))")
        }
        pid = child
        input = fds[1]
    }

    deinit {
        closeInput()
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        removeTree(outputDirectory)
    }

    /// Writes `text` to the child's stdin (a broken pipe is ignored: the child's exit tells the rest).
    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count, input >= 0 {
            let n = bytes[offset...].withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// Closes stdin: the child sees end of input.
    public func closeInput() {
        if input >= 0 {
            close(input)
            input = -1
        }
    }

    /// Waits until stdout contains `text` at or after character offset `from` (bounded by `timeout`); returns the
    /// offset just past the first match, or `nil` on timeout or when the child exited without writing it.
    public func waitForOutput(_ text: String, from: Int = 0, timeout: Duration = .seconds(30)) -> Int? {
        waitForOutput(anyOf: [text], from: from, timeout: timeout)?.end
    }

    /// Waits until stdout contains one of `texts` at or after `from`; returns which one came first and the offset
    /// just past it, or `nil` on timeout or exit.
    public func waitForOutput(anyOf texts: [String], from: Int = 0, timeout: Duration = .seconds(30)) -> (index: Int, end: Int)? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let out = Array(stdout.utf8)
            var best: (index: Int, start: Int, end: Int)?
            for (index, text) in texts.enumerated() {
                let needle = Array(text.utf8)
                guard out.count >= needle.count, from <= out.count - needle.count else { continue }
                for start in from...(out.count - needle.count) where out[start..<(start + needle.count)].elementsEqual(needle) {
                    if best.map({ start < $0.start }) ?? true { best = (index, start, start + needle.count) }
                    break
                }
            }
            if let best { return (best.index, best.end) }
            if exitStatus != nil || ContinuousClock.now >= deadline { return nil }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                continue  // one last look at what it wrote
            }
            usleep(10_000)
        }
    }

    /// Waits up to `timeout` for the exit; returns the exit status (128 + signal when killed), or `nil` on timeout.
    public func wait(timeout: Duration) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                exitStatus = code
                return code
            }
            usleep(2000)
        }
        return nil
    }

    public var stdout: String { (try? readTextFile(outputDirectory + "/stdout")) ?? "" }
    public var stderr: String { (try? readTextFile(outputDirectory + "/stderr")) ?? "" }
}
