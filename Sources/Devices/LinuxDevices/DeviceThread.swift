#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import SystemPackage
import Synchronization
import CLinux

/// A thread of its own for a driver that blocks in system calls (poll, read), so that blocking never happens on
/// Swift's cooperative thread pool.
public final class DeviceThread: Sendable {
    private let handle: Mutex<pthread_t?>

    private init(handle: pthread_t) { self.handle = Mutex(handle) }

    /// Starts `body` on a new thread. The thread ends when `body` returns.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(Errno) -> DeviceThread {
        let box = Unmanaged.passRetained(Body { clinux_set_thread_name(name); body() })
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            // Safe: `raw` is the retained `Body` passed below; this thread takes over that retain.
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw Errno(rawValue: rc)
        }
        return DeviceThread(handle: thread)
    }

    /// Waits for the thread to end. Call it at most once; later calls return at once.
    public func join() {
        let thread = handle.withLock { h -> pthread_t? in
            defer { h = nil }
            return h
        }
        if let thread { pthread_join(thread, nil) }
    }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}

/// A stop signal a device thread can wait on in `poll` beside its device: an eventfd that becomes readable once
/// ``fire()`` is called. Waiting on it instead of a short poll timeout keeps an idle driver at zero CPU.
public final class StopSignal: Sendable {
    /// The eventfd; owned by this object and closed in `deinit`.
    public let descriptor: FileDescriptor
    private let fired = Atomic<Bool>(false)

    public init() throws(Errno) {
        let fd = eventfd(0, clinux_EFD_CLOEXEC | clinux_EFD_NONBLOCK)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        descriptor = FileDescriptor(rawValue: fd)
    }

    deinit { try? descriptor.close() }

    /// Whether ``fire()`` has been called.
    public var isFired: Bool { fired.load(ordering: .acquiring) }

    /// Wakes every `poll` that waits on ``descriptor``; idempotent.
    public func fire() {
        guard !fired.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var one: UInt64 = 1
        _ = write(descriptor.rawValue, &one, 8)
    }
}

/// What ``pollReadable(_:stop:timeoutMilliseconds:)`` saw.
public enum PollOutcome: Sendable, Equatable {
    /// The device has data (or an error / hang-up condition that a read will report).
    case readable
    /// The stop signal fired.
    case stopped
    /// Nothing happened within the timeout.
    case timedOut
}

/// Waits until `descriptor` is readable, `stop` fires, or the timeout passes (`-1` waits forever).
/// Retries EINTR; other errors are thrown.
public func pollReadable(
    _ descriptor: FileDescriptor, stop: StopSignal?, timeoutMilliseconds: Int32
) throws(Errno) -> PollOutcome {
    var fds = [pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
    if let stop { fds.append(pollfd(fd: stop.descriptor.rawValue, events: Int16(POLLIN), revents: 0)) }
    while true {
        let rc = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
        if rc < 0 {
            if errno == EINTR { continue }
            throw Errno(rawValue: errno)
        }
        if rc == 0 { return .timedOut }
        if fds.count > 1, fds[1].revents != 0 { return .stopped }
        return .readable
    }
}
