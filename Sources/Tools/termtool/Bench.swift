#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser

/// Prints the runtime's figures: start → READY on the sim board, idle CPU, resident memory at idle, binary size.
///
/// Each run starts the real `terminal` binary headless on the sim board with a fresh state directory and a
/// NOTIFY_SOCKET this tool listens on, exactly as systemd would, and reads CPU and memory from /proc.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure start-up, idle CPU, idle memory and binary size.")

    @Option(help: "The terminal binary (default: next to termtool).")
    var terminal: String?

    @Option(help: "The board profile to start.")
    var board: String = "board/sim/board.toml"

    @Option(help: "How many starts to time.")
    var starts: Int = 5

    @Option(help: "Seconds to sample idle CPU over.")
    var idleSeconds: Int = 10

    func run() throws {
        let binary = terminal ?? Self.sibling("terminal")
        var st = stat()
        guard stat(binary, &st) == 0 else { throw ValidationError("no terminal binary at \(binary); build it first (swift build -c release)") }
        print("binary: \(binary)")
        print("binary size: \(Self.mebibytes(Int(st.st_size))) (\(st.st_size) bytes)")
        // What a firmware image would carry: the binary without symbols (binutils' strip, when installed).
        let stripped = "/tmp/termtool-bench-stripped-\(getpid())"
        if system("strip -o '\(stripped)' '\(binary)' 2>/dev/null") == 0, stat(stripped, &st) == 0 {
            print("stripped size: \(Self.mebibytes(Int(st.st_size))) (\(st.st_size) bytes)")
            unlink(stripped)
        }

        var readyTimes: [Double] = []
        for i in 0..<starts {
            let instance = try Instance(binary: binary, board: board)
            readyTimes.append(instance.readyMilliseconds)
            if i < starts - 1 { try instance.stop() } else {
                // The last instance stays up for the idle figures.
                usleep(1_000_000)
                let (cpu0, wall0) = (try instance.cpuTicks(), Self.monotonicSeconds())
                usleep(UInt32(idleSeconds) * 1_000_000)
                let (cpu1, wall1) = (try instance.cpuTicks(), Self.monotonicSeconds())
                let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
                let cpuPercent = Double(cpu1 - cpu0) / ticksPerSecond / (wall1 - wall0) * 100
                let memory = try instance.memory()
                print("idle CPU over \(idleSeconds) s: \(Self.format(cpuPercent, 2)) % of one core")
                print("resident memory at idle: \(memory.rss / 1024) MiB (VmRSS \(memory.rss) KiB, peak VmHWM \(memory.peak) KiB)")
                let stopped = try instance.stop()
                print("shutdown at end of input: \(Self.format(stopped, 1)) ms")
            }
        }
        readyTimes.sort()
        print("start → READY=1 (\(starts) starts): median \(Self.format(readyTimes[readyTimes.count / 2], 1)) ms, min \(Self.format(readyTimes.first!, 1)) ms, max \(Self.format(readyTimes.last!, 1)) ms")
    }

    static func sibling(_ name: String) -> String {
        let me = CommandLine.arguments[0]
        guard let slash = me.lastIndex(of: "/") else { return name }
        return String(me[..<slash]) + "/" + name
    }

    static func mebibytes(_ bytes: Int) -> String { format(Double(bytes) / 1_048_576, 2) + " MiB" }

    static func format(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if let dot = text.firstIndex(of: ".") {
            let fraction = text.distance(from: dot, to: text.endIndex) - 1
            if fraction < decimals { text += String(repeating: "0", count: decimals - fraction) }
        }
        return text
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// One running terminal: spawned headless with its stdin on a pipe we hold open, NOTIFY_SOCKET on a socket we read.
private final class Instance {
    let pid: pid_t
    let readyMilliseconds: Double
    private let input: Int32
    private let socketPath: String
    private let stateDirectory: String

    init(binary: String, board: String) throws {
        var template = Array("/tmp/termtool-bench-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw ValidationError("mkdtemp failed") }
        stateDirectory = String(cString: dir)
        socketPath = stateDirectory + "/notify.sock"

        let sock = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard sock >= 0 else { throw ValidationError("socket failed") }
        defer { close(sock) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw ValidationError("bind \(socketPath) failed") }

        var stdinPipe: [Int32] = [-1, -1]
        guard pipe(&stdinPipe) == 0 else { throw ValidationError("pipe failed") }
        _ = fcntl(stdinPipe[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = [binary, "run", "--board", board, "--headless", "--state-dir", stateDirectory, "--log-level", "warning"]
        let env = ["NOTIFY_SOCKET=\(socketPath)", "HOME=\(stateDirectory)", "PATH=/usr/bin:/bin"]
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        let start = Bench.monotonicSeconds()
        var child = pid_t()
        guard posix_spawn(&child, binary, &actions, nil, cArgv, cEnv) == 0 else { throw ValidationError("cannot start \(binary)") }
        close(stdinPipe[0])
        pid = child
        input = stdinPipe[1]

        // Wait for READY=1 (30 s at most).
        var ready: Double?
        while ready == nil {
            var p = pollfd(fd: sock, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 30_000) == 1 else { throw ValidationError("no READY=1 within 30 s") }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(sock, &buffer, buffer.count, 0)
            if n > 0, String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").contains("READY=1") {
                ready = (Bench.monotonicSeconds() - start) * 1000
            }
        }
        readyMilliseconds = ready!  // the loop above only ends with a value
    }

    /// utime + stime of the process, in clock ticks (proc(5), /proc/PID/stat fields 14 and 15).
    func cpuTicks() throws -> Int {
        let text = try Self.read("/proc/\(pid)/stat")
        guard let close = text.lastIndex(of: ")") else { throw ValidationError("bad /proc/\(pid)/stat") }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { throw ValidationError("bad /proc/\(pid)/stat") }
        return user + system
    }

    func memory() throws -> (rss: Int, peak: Int) {
        let text = try Self.read("/proc/\(pid)/status")
        func value(_ key: String) -> Int {
            for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
                return Int(line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
            }
            return 0
        }
        return (value("VmRSS"), value("VmHWM"))
    }

    /// Closes stdin (end of headless input) and waits; returns how long the exit took, in milliseconds.
    @discardableResult
    func stop() throws -> Double {
        let start = Bench.monotonicSeconds()
        close(input)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let elapsed = (Bench.monotonicSeconds() - start) * 1000
        unlink(socketPath)
        _ = system("rm -rf '\(stateDirectory)'")
        return elapsed
    }

    static func read(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("cannot open \(path)") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = Glibc.read(fd, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }
}
