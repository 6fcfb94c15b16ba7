#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a finished child process left behind.
public struct ProcessResult: Sendable {
    /// The exit status (`WEXITSTATUS`), or 128 + the signal number when it was killed.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var timedOut: Bool
}

/// An error of the test kit itself (a syscall that failed while setting up a test).
public struct TestKitError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs `argv` (an absolute path first) with `posix_spawn`: `stdin` bytes fed through a pipe (or /dev/null),
/// stdout and stderr captured, SIGKILL after `timeout`. `environment` is the child's whole environment, plus PATH
/// and HOME from this process unless given.
public func runProcess(
    _ argv: [String], stdin input: [UInt8]? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(60)
) throws -> ProcessResult {
    var outPipe: [Int32] = [-1, -1]
    var errPipe: [Int32] = [-1, -1]
    var inPipe: [Int32] = [-1, -1]
    for i in 0..<3 {
        var fds: [Int32] = [-1, -1]
        // Under the lock: no other test's child may inherit a pipe end between pipe() and close-on-exec.
        let failed = PseudoTerminal.descriptorLock.withLock { _ -> Int32? in
            guard pipe(&fds) == 0 else { return errno }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return nil
        }
        if let failed { throw TestKitError("pipe: errno \(failed)") }
        switch i {
        case 0: outPipe = fds
        case 1: errPipe = fds
        default: inPipe = fds
        }
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if input != nil {
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

    var pid = pid_t()
    let spawned = spawn(&pid, argv, environment: environment, actions: &actions)
    close(outPipe[1])
    close(errPipe[1])
    close(inPipe[0])
    defer {
        close(outPipe[0])
        close(errPipe[0])
    }
    guard spawned == 0 else {
        close(inPipe[1])
        throw TestKitError("posix_spawn \(argv[0]): \(String(cString: strerror(spawned)))")
    }

    var pendingInput = input ?? []
    var inputFD: Int32? = inPipe[1]
    if pendingInput.isEmpty {
        close(inPipe[1])
        inputFD = nil
    } else {
        _ = fcntl(inPipe[1], F_SETFL, fcntl(inPipe[1], F_GETFL) | O_NONBLOCK)
    }
    var out: [UInt8] = []
    var err: [UInt8] = []
    var openReaders: Set<Int32> = [outPipe[0], errPipe[0]]
    let deadline = ContinuousClock.now + timeout
    var timedOut = false
    var buffer = [UInt8](repeating: 0, count: 16384)
    while !openReaders.isEmpty {
        let remaining = deadline - ContinuousClock.now
        if remaining <= .zero {
            timedOut = true
            kill(pid, SIGKILL)
            break
        }
        var fds = openReaders.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if let fd = inputFD { fds.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
        let ready = poll(&fds, nfds_t(fds.count), 100)
        if ready < 0, errno == EINTR { continue }
        guard ready >= 0 else { throw TestKitError("poll: errno \(errno)") }
        for pfd in fds where pfd.revents != 0 {
            if pfd.fd == inputFD {
                let n = pendingInput.withUnsafeBytes { write(pfd.fd, $0.baseAddress, $0.count) }
                if n > 0 { pendingInput.removeFirst(n) }
                if pendingInput.isEmpty || (n < 0 && errno != EAGAIN && errno != EINTR) {
                    close(pfd.fd)
                    inputFD = nil
                }
                continue
            }
            let n = buffer.withUnsafeMutableBytes { read(pfd.fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            if n <= 0 {
                openReaders.remove(pfd.fd)
            } else if pfd.fd == outPipe[0] {
                out += buffer[..<n]
            } else {
                err += buffer[..<n]
            }
        }
    }
    if let fd = inputFD { close(fd) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return ProcessResult(status: code, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self), timedOut: timedOut)
}

/// The repository's root: the folder that holds Package.swift, found from this file's path.
public func repositoryRoot(_ file: String = #filePath) -> String {
    var path = file
    while let slash = path.lastIndex(of: "/") {
        path = String(path[..<slash])
        if access(path + "/Package.swift", F_OK) == 0 { return path }
    }
    return "."
}

/// A built product of this package (`terminal`, `termtool`), next to the running test bundle.
public func builtProduct(_ name: String) throws -> String {
    var candidates: [String] = []
    if let exe = CommandLine.arguments.first, let slash = exe.lastIndex(of: "/") {
        var dir = String(exe[..<slash])
        // Linux: .build/debug/<package>PackageTests.xctest is a file; macOS: a bundle directory tree.
        while dir.hasSuffix(".xctest") || dir.hasSuffix("/Contents/MacOS") || dir.hasSuffix("/Contents") {
            dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
        }
        candidates.append(dir + "/" + name)
    }
    candidates.append(repositoryRoot() + "/.build/debug/" + name)
    guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else {
        throw TestKitError("no built \(name) in \(candidates); run `swift build` before `swift test`")
    }
    return found
}

/// A fresh temporary directory (mkdtemp), removed by the caller with ``removeTree(_:)``.
public func makeTemporaryDirectory(_ prefix: String = "terminal-test") throws -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw TestKitError("mkdtemp: errno \(errno)") }
    return String(cString: made)
}

/// `rm -rf path` for test directories.
public func removeTree(_ path: String) {
    guard path.hasPrefix("/tmp/") else { return }
    _ = try? runProcess(["/bin/rm", "-rf", path], timeout: .seconds(30))
}

/// Reads a whole file as text.
public func readTextFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TestKitError("open \(path): errno \(errno)") }
    defer { close(fd) }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0, errno == EINTR { continue }
        guard n >= 0 else { throw TestKitError("read \(path): errno \(errno)") }
        if n == 0 { break }
        data += buffer[..<n]
    }
    return String(decoding: data, as: UTF8.self)
}

/// Writes a whole file (mode 0644).
public func writeTextFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw TestKitError("open \(path): errno \(errno)") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { throw TestKitError("write \(path): errno \(errno)") }
        offset += n
    }
}

/// Whether `python3` runs here (the cross-check scripts need it).
public let pythonIsAvailable: Bool = (try? runProcess(["/usr/bin/env", "python3", "-c", "import zlib, struct"], timeout: .seconds(30)).status) == 0

/// Decodes a PNG with Tests/scripts/png_check.py (Python's zlib, independent of our encoder): "width height
/// colour-type crc32-of-pixels", or `nil` when the file is rejected.
public func decodePNGWithPython(_ path: String) -> String? {
    guard let result = try? runProcess(["/usr/bin/env", "python3", repositoryRoot() + "/Tests/scripts/png_check.py", path], timeout: .seconds(60)),
        result.status == 0
    else { return nil }
    return result.stdout.split(separator: "\n").first.map(String.init)
}

/// `posix_spawn` of `argv` with `environment` (plus this process's PATH and HOME unless given), under the lock that
/// keeps test descriptors from leaking into children. Returns posix_spawn's result.
func spawn(_ pid: inout pid_t, _ argv: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t) -> Int32 {
    var env = environment
    for name in ["PATH", "HOME"] where env[name] == nil {
        if let value = getenv(name) { env[name] = String(cString: value) }
    }
    let cArgv = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        cArgv.forEach { free($0) }
        cEnv.forEach { free($0) }
    }
    return PseudoTerminal.descriptorLock.withLock { _ in posix_spawn(&pid, argv[0], &actions, nil, cArgv, cEnv) }
}
