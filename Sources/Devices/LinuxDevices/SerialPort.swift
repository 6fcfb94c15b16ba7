#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// What one ``SerialPort/read(upTo:timeoutMilliseconds:stop:)`` saw.
public enum SerialReadOutcome: Sendable, Equatable {
    /// Bytes arrived (never empty).
    case data([UInt8])
    /// Nothing arrived within the timeout.
    case timedOut
    /// The stop signal fired.
    case stopped
}

/// An open, configured serial tty: a UART (`/dev/ttyS0`, `/dev/ttyAMA0`), a USB adapter (`/dev/ttyUSB0`,
/// `/dev/ttyACM0`) or a pseudo-terminal.
///
/// The port is the only owner of its file descriptor and closes it in `deinit` (exactly once, never retried).
/// It opens the tty with `O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK` (so neither a missing carrier nor a
/// controlling-terminal takeover can block or hijack the process), claims it with `TIOCEXCL`, puts it in raw
/// mode with the given ``SerialConfiguration``, reads the settings back to check the driver took them, and
/// discards whatever was queued before (`tcflush(TCIOFLUSH)`). The descriptor stays non-blocking: reads wait in
/// `poll(2)` (with a timeout and an optional ``StopSignal``), writes wait in `poll(2)` for `POLLOUT`.
///
/// A port is used from one thread at a time (it is not `Sendable`). A device that disappears (USB adapter pulled,
/// pty master closed) makes reads and writes throw ``SerialError/Code/vanished``; the owner drops the port and
/// opens a new one when the device is back.
public final class SerialPort {
    /// The path the port was opened with.
    public let path: String
    /// The configuration applied (and verified) at open.
    public let configuration: SerialConfiguration
    /// The tty, owned by this object.
    private let descriptor: FileDescriptor

    /// Opens and configures the tty at `path`.
    ///
    /// - Parameters:
    ///   - path: the device node, e.g. `/dev/ttyUSB0` or a stable `/dev/serial/by-id/...` link.
    ///   - configuration: speed, format and flow control.
    /// - Throws: ``SerialError`` with ``SerialError/Code/openFailed``, ``SerialError/Code/notATerminal``,
    ///   ``SerialError/Code/configurationFailed`` or ``SerialError/Code/configurationRejected``.
    public init(path: String, configuration: SerialConfiguration) throws {
        self.path = path
        self.configuration = configuration
        let flags = O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK
        var fd: CInt
        repeat { fd = open(path, flags) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw SerialError(.openFailed, path: path, errno: Errno(rawValue: errno)) }
        let descriptor = FileDescriptor(rawValue: fd)
        do {
            try Self.configure(descriptor, path: path, configuration: configuration)
        } catch {
            // Never retry close(2): on Linux the descriptor is released even when close reports an error.
            try? descriptor.close()
            throw error
        }
        self.descriptor = descriptor
    }

    deinit {
        try? descriptor.close()
    }

    private static func configure(
        _ descriptor: FileDescriptor, path: String, configuration: SerialConfiguration
    ) throws(SerialError) {
        let current: termios
        do {
            current = try descriptor.terminalAttributes()
        } catch {
            let code: SerialError.Code = error == .inappropriateIOCTLForDevice ? .notATerminal : .configurationFailed
            throw SerialError(code, path: path, errno: error)
        }
        do {
            // TIOCEXCL (tty_ioctl(4)): further open(2)s of this tty fail with EBUSY, so a second driver or a
            // getty cannot read the scanner's bytes behind our back. (CAP_SYS_ADMIN bypasses it.)
            try descriptor.claimTerminalExclusively()
        } catch {
            throw SerialError(.configurationFailed, path: path, errno: error)
        }
        var wanted = current
        configuration.apply(to: &wanted)
        do {
            try descriptor.setTerminalAttributes(wanted)
        } catch {
            throw SerialError(.configurationFailed, path: path, errno: error)
        }
        let actual: termios
        do {
            actual = try descriptor.terminalAttributes()
        } catch {
            throw SerialError(.configurationFailed, path: path, errno: error)
        }
        guard SerialConfiguration.isApplied(in: actual, wanted: wanted) else {
            throw SerialError(.configurationRejected, path: path)
        }
        do {
            try descriptor.flushTerminal()
        } catch {
            throw SerialError(.configurationFailed, path: path, errno: error)
        }
    }

    /// The settings the tty holds now (`tcgetattr(3)`), as a ``SerialConfiguration``; `nil` when they are
    /// outside what the type expresses.
    ///
    /// - Throws: ``SerialError`` (``SerialError/Code/vanished`` when the device is gone).
    public func currentConfiguration() throws -> SerialConfiguration? {
        do {
            return SerialConfiguration(attributes: try descriptor.terminalAttributes())
        } catch {
            if SerialError.meansVanished(error) { throw SerialError.vanished(path, errno: error) }
            throw SerialError(.configurationFailed, path: path, errno: error)
        }
    }

    /// Reads what is available, waiting up to `timeoutMilliseconds` for the first byte.
    ///
    /// - Parameters:
    ///   - maxBytes: the most bytes to return.
    ///   - timeoutMilliseconds: how long to wait; `-1` waits until data arrives, the stop signal fires or the
    ///     device vanishes.
    ///   - stop: fired from another thread to end the wait at once.
    /// - Returns: the bytes, ``SerialReadOutcome/timedOut`` or ``SerialReadOutcome/stopped``.
    /// - Throws: ``SerialError`` with ``SerialError/Code/vanished`` (EIO, ENXIO, ENODEV, POLLHUP, end of file on
    ///   a hung-up tty) or ``SerialError/Code/readFailed``.
    public func read(
        upTo maxBytes: Int = 4096, timeoutMilliseconds: Int32, stop: StopSignal? = nil
    ) throws -> SerialReadOutcome {
        precondition(maxBytes > 0, "SerialPort.read needs room for at least one byte, got \(maxBytes)")
        let clock = ContinuousClock()
        let deadline = timeoutMilliseconds < 0 ? nil : clock.now.advanced(by: .milliseconds(timeoutMilliseconds))
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        while true {
            let remaining = deadline.map { Self.milliseconds(until: $0, clock: clock) } ?? -1
            let outcome: PollOutcome
            do {
                outcome = try pollReadable(descriptor, stop: stop, timeoutMilliseconds: remaining)
            } catch {
                throw SerialError(.readFailed, path: path, errno: error)
            }
            switch outcome {
            case .stopped: return .stopped
            case .timedOut: return .timedOut
            case .readable: break
            }
            let count = buffer.withUnsafeMutableBytes { raw in
                system_read(descriptor.rawValue, raw.baseAddress, raw.count)
            }
            if count > 0 { return .data(Array(buffer[..<count])) }
            if count == 0 {
                // poll said readable and read(2) says end of file: the tty was hung up (a pty whose master
                // closed, a USB adapter that went away while open). With VMIN = VTIME = 0 and O_NONBLOCK an
                // idle line reports EAGAIN, never 0.
                throw SerialError.vanished(path)
            }
            let error = Errno(rawValue: errno)
            switch error {
            case .interrupted:
                continue
            case .resourceTemporarilyUnavailable:
                // A spurious wake-up, or a hang-up condition that read(2) reports as would-block.
                if try hasHungUp() { throw SerialError.vanished(path, errno: error) }
                if let deadline, clock.now >= deadline { return .timedOut }
            default:
                if SerialError.meansVanished(error) { throw SerialError.vanished(path, errno: error) }
                throw SerialError(.readFailed, path: path, errno: error)
            }
        }
    }

    /// Writes every byte, looping on partial writes, retrying `EINTR`, and waiting in `poll(2)` for `POLLOUT`
    /// when the tty's output queue is full (`EAGAIN`).
    ///
    /// - Parameters:
    ///   - bytes: what to send.
    ///   - stallTimeoutMilliseconds: how long one wait for room may last before the write gives up (a printer
    ///     holding CTS low because it is out of paper stalls forever otherwise). `-1` waits forever.
    /// - Throws: ``SerialError`` with ``SerialError/Code/vanished``, ``SerialError/Code/timedOut`` or
    ///   ``SerialError/Code/writeFailed``. After a throw an unknown prefix of `bytes` has been sent.
    public func writeAll(_ bytes: [UInt8], stallTimeoutMilliseconds: Int32 = 5000) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                // Force-unwrap: the loop runs only while offset < bytes.count, so the buffer is not empty.
                system_write(descriptor.rawValue, raw.baseAddress! + offset, raw.count - offset)
            }
            if count > 0 {
                offset += count
                continue
            }
            let error = count == 0 ? Errno.resourceTemporarilyUnavailable : Errno(rawValue: errno)
            switch error {
            case .interrupted:
                continue
            case .resourceTemporarilyUnavailable:
                try waitWritable(timeoutMilliseconds: stallTimeoutMilliseconds)
            default:
                if SerialError.meansVanished(error) { throw SerialError.vanished(path, errno: error) }
                throw SerialError(.writeFailed, path: path, errno: error)
            }
        }
    }

    /// Discards bytes received but not read, and bytes written but not sent (`tcflush(TCIOFLUSH)`).
    ///
    /// - Throws: ``SerialError`` (``SerialError/Code/vanished`` when the device is gone).
    public func discardPendingData() throws {
        do {
            try descriptor.flushTerminal()
        } catch {
            if SerialError.meansVanished(error) { throw SerialError.vanished(path, errno: error) }
            throw SerialError(.configurationFailed, path: path, errno: error)
        }
    }

    /// Waits for room in the output queue.
    private func waitWritable(timeoutMilliseconds: Int32) throws {
        var fds = pollfd(fd: descriptor.rawValue, events: Int16(POLLOUT), revents: 0)
        while true {
            let rc = poll(&fds, 1, timeoutMilliseconds)
            if rc < 0 {
                if errno == EINTR { continue }
                throw SerialError(.writeFailed, path: path, errno: Errno(rawValue: errno))
            }
            if rc == 0 { throw SerialError(.timedOut, path: path) }
            if fds.revents & Int16(POLLHUP | POLLERR) != 0 { throw SerialError.vanished(path) }
            if fds.revents & Int16(POLLNVAL) != 0 {
                throw SerialError(.writeFailed, path: path, errno: .badFileDescriptor)
            }
            return
        }
    }

    /// Whether the tty reports a hang-up or error condition right now (a zero-timeout `poll(2)`).
    private func hasHungUp() throws -> Bool {
        var fds = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        var rc: CInt
        repeat { rc = poll(&fds, 1, 0) } while rc < 0 && errno == EINTR
        guard rc >= 0 else { throw SerialError(.readFailed, path: path, errno: Errno(rawValue: errno)) }
        return fds.revents & Int16(POLLHUP | POLLERR) != 0
    }

    private static func milliseconds(until deadline: ContinuousClock.Instant, clock: ContinuousClock) -> Int32 {
        let left = clock.now.duration(to: deadline)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        // Round up so that a wait never ends a fraction of a millisecond before the deadline.
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}

@available(*, unavailable, message: "a SerialPort is owned and used by one thread")
extension SerialPort: Sendable {}

// MARK: libc call sites (file scope, where `read` / `write` name the libc functions, not the methods above)

/// `read(2)`.
private func system_read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// `write(2)`.
private func system_write(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}

// MARK: termios system calls, in swift-system's shape (one libc call site each, errno as a typed throw)

extension FileDescriptor {
    /// The terminal attributes (`tcgetattr(3)`).
    func terminalAttributes() throws(Errno) -> termios {
        var attributes = termios()
        try Self.retryingInterrupts { tcgetattr(rawValue, &attributes) }
        return attributes
    }

    /// Sets the terminal attributes at once (`tcsetattr(3)` with `TCSANOW`: not `TCSAFLUSH`, which would also
    /// discard input that is already queued; the port flushes explicitly after it has checked the settings).
    func setTerminalAttributes(_ attributes: termios) throws(Errno) {
        var attributes = attributes
        try Self.retryingInterrupts { tcsetattr(rawValue, TCSANOW, &attributes) }
    }

    /// Discards queued input and output (`tcflush(3)` with `TCIOFLUSH`).
    func flushTerminal() throws(Errno) {
        try Self.retryingInterrupts { tcflush(rawValue, TCIOFLUSH) }
    }

    /// Puts the tty in exclusive mode (`ioctl(TIOCEXCL)`, tty_ioctl(4)).
    func claimTerminalExclusively() throws(Errno) {
        try Self.retryingInterrupts { ioctl(rawValue, UInt(TIOCEXCL)) }
    }

    /// Runs a libc call that returns -1 and sets errno on failure, retrying `EINTR`.
    private static func retryingInterrupts(_ call: () -> CInt) throws(Errno) {
        while true {
            if call() != -1 { return }
            let error = Errno(rawValue: errno)
            if error != .interrupted { throw error }
        }
    }
}
