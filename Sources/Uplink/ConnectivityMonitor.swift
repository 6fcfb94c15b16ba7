#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import Synchronization

/// Watches the board's links through rtnetlink and reports ``ConnectivityState`` changes.
///
/// A thread of its own opens a `NETLINK_ROUTE` socket subscribed to `RTMGRP_LINK | RTMGRP_IPV4_ROUTE |
/// RTMGRP_IPV4_IFADDR`, reads the current links and routes with RTM_GETLINK and RTM_GETROUTE dumps, then waits in
/// poll on the socket and a stop eventfd (no CPU while nothing changes). Each event updates a ``ConnectivityTable``;
/// when a link goes down or loses an address (the kernel flushes its routes without telling) and when the socket
/// overflows (ENOBUFS), the tables are dumped again. `onChange` runs on the monitor's thread with the first state
/// and then with every change; keep it short (post to the event bus).
///
/// Optional NetworkManager `Metered` property (D-Bus) is not read: cellular counts as metered, Wi-Fi as not.
public final class ConnectivityMonitor: Sendable {
    /// The Wi-Fi interface name from the board profile.
    public let wifi: String?
    /// The cellular interface name from the board profile.
    public let cellular: String?

    /// The latest state, shared with the thread (which holds no reference to the monitor, so dropping the monitor
    /// stops it).
    private final class Shared: Sendable {
        let current = Mutex<ConnectivityState>(.offline)
    }

    private let shared = Shared()
    private let stopSignal: UplinkStopSignal
    private let thread: Mutex<UplinkThread?>

    private init(wifi: String?, cellular: String?, stopSignal: UplinkStopSignal) {
        self.wifi = wifi
        self.cellular = cellular
        self.stopSignal = stopSignal
        self.thread = Mutex(nil)
    }

    /// Opens the netlink sockets, reads the initial state (reported to `onChange` before this returns) and starts
    /// the monitor thread.
    ///
    /// - Parameters:
    ///   - wifi: the Wi-Fi interface (board profile), e.g. "wlan0"; `nil` when the board has none.
    ///   - cellular: the cellular interface, e.g. "wwan0"; `nil` when the board has none.
    ///   - onChange: called with the initial state and every change, on the monitor's thread.
    /// - Throws: ``UplinkError`` with ``UplinkError/Code/system`` when a netlink socket cannot be opened or the first
    ///   dump fails.
    public static func start(
        wifi: String?, cellular: String?, onChange: @escaping @Sendable (ConnectivityState) -> Void
    ) throws -> ConnectivityMonitor {
        let monitor = ConnectivityMonitor(wifi: wifi, cellular: cellular, stopSignal: try UplinkStopSignal())
        let groups = clinux_RTMGRP_LINK | clinux_RTMGRP_IPV4_ROUTE | clinux_RTMGRP_IPV4_IFADDR
        let events = try NetlinkSocket(groups: groups)
        let requests = try NetlinkSocket(groups: 0)
        var table = ConnectivityTable()
        try requests.resynchronize(&table, links: true)
        let first = table.state(wifi: wifi, cellular: cellular)
        monitor.shared.current.withLock { $0 = first }
        onChange(first)
        let shared = monitor.shared
        let stop = monitor.stopSignal
        let started = try UplinkThread.start(name: "connectivity") { [table] in
            run(
                events: events, requests: requests, stop: stop, shared: shared, wifi: wifi, cellular: cellular,
                table: table, last: first, onChange: onChange)
        }
        monitor.thread.withLock { $0 = started }
        return monitor
    }

    /// The latest state.
    public var state: ConnectivityState { shared.current.withLock { $0 } }

    /// Stops the thread and waits for it to end (also done when the monitor is released). Idempotent; don't call it
    /// from `onChange`.
    public func stop() {
        stopSignal.fire()
        let running = thread.withLock { t -> UplinkThread? in
            defer { t = nil }
            return t
        }
        running?.join()
    }

    deinit { stop() }

    private static func run(
        events: NetlinkSocket, requests: NetlinkSocket, stop stopSignal: UplinkStopSignal, shared: Shared, wifi: String?,
        cellular: String?, table initial: ConnectivityTable, last initialState: ConnectivityState,
        onChange: @Sendable (ConnectivityState) -> Void
    ) {
        var table = initial
        var last = initialState
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var fds = [
                pollfd(fd: events.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stopSignal.descriptor, events: Int16(POLLIN), revents: 0),
            ]
            let rc = poll(&fds, 2, -1)
            if rc < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            // A closed descriptor cannot recover; anything else (POLLERR after ENOBUFS) is consumed by recv below.
            if fds[0].revents & Int16(POLLNVAL) != 0 { return }
            var resync = false
            var fullResync = false
            // Drain every queued datagram before deciding, so one change is reported once.
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(events.descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    // ENOBUFS: the kernel dropped events; only a full dump tells what is true now.
                    if errno == ENOBUFS { fullResync = true }
                    break
                }
                if n == 0 { break }
                for event in NetlinkParser.parse(buffer[0..<n]) {
                    if table.apply(event) { resync = true }
                    if event == .malformed { fullResync = true }
                }
            }
            if fullResync || resync {
                try? requests.resynchronize(&table, links: fullResync)
            }
            let now = table.state(wifi: wifi, cellular: cellular)
            if now != last {
                last = now
                shared.current.withLock { $0 = now }
                onChange(now)
            }
        }
    }
}

/// An rtnetlink socket (owned; closed in `deinit`): one subscribed to the multicast groups for events, one without
/// groups for dump requests and their replies.
private final class NetlinkSocket: Sendable {
    let descriptor: Int32
    private let sequence = Atomic<UInt32>(1)

    init(groups: UInt32) throws {
        let fd = clinux_netlink_open_route(groups, 1 << 20)
        guard fd >= 0 else { throw UplinkError(.system, "cannot open an rtnetlink socket: errno \(errno)") }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Dumps the routes (and the links when `links`) and replaces them in `table`.
    func resynchronize(_ table: inout ConnectivityTable, links: Bool) throws {
        if links {
            let dumped = try dump(clinux_RTM_GETLINK)
            table.replaceLinks(dumped.compactMap { if case .link(let l) = $0 { return l } else { return nil } })
        }
        let routes = try dump(clinux_RTM_GETROUTE)
        table.replaceDefaultRoutes(Set(routes.compactMap { if case .defaultRoute(let r) = $0 { return r } else { return nil } }))
    }

    /// Sends a dump request and collects the events of its replies until NLMSG_DONE (2 s at most).
    private func dump(_ type: UInt16) throws -> [NetlinkEvent] {
        let request = NetlinkRequest.dump(type, sequence: sequence.add(1, ordering: .relaxed).newValue)
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { throw UplinkError(.system, "rtnetlink dump request failed: errno \(errno)") }
        let deadline = ContinuousClock.now + .seconds(2)
        var collected: [NetlinkEvent] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            try waitForSocket(descriptor, events: Int16(POLLIN), deadline: deadline, phase: .response)
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw UplinkError(.system, "rtnetlink dump read failed: errno \(errno)")
            }
            for event in NetlinkParser.parse(buffer[0..<n]) {
                switch event {
                case .dumpDone: return collected
                case .error(let code): throw UplinkError(.system, "rtnetlink dump refused: errno \(-code)")
                case .malformed: throw UplinkError(.system, "rtnetlink dump reply does not parse")
                default: collected.append(event)
                }
            }
        }
    }
}

/// A thread of its own for blocking work (the Uplink twin of LinuxDevices' DeviceThread, which Uplink must not
/// import).
final class UplinkThread: Sendable {
    private let handle: Mutex<pthread_t?>

    private init(handle: pthread_t) { self.handle = Mutex(handle) }

    /// Starts `body` on a new named thread.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws -> UplinkThread {
        let box = Unmanaged.passRetained(Body { clinux_set_thread_name(name); body() })
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            // Safe: `raw` is the retained `Body` passed below; this thread takes over that retain.
            guard let raw else { return nil }
            Unmanaged<Body>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw UplinkError(.system, "pthread_create failed: \(rc)")
        }
        return UplinkThread(handle: thread)
    }

    /// Waits for the thread to end; later calls return at once.
    func join() {
        let thread = handle.withLock { h -> pthread_t? in
            defer { h = nil }
            return h
        }
        if let thread { pthread_join(thread, nil) }
    }

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}

/// An eventfd that becomes readable once ``fire()`` is called, for a thread waiting in poll (the Uplink twin of
/// LinuxDevices' StopSignal).
final class UplinkStopSignal: Sendable {
    /// The eventfd; owned and closed in `deinit`.
    let descriptor: Int32
    private let fired = Atomic<Bool>(false)

    init() throws {
        let fd = eventfd(0, clinux_EFD_CLOEXEC | clinux_EFD_NONBLOCK)
        guard fd >= 0 else { throw UplinkError(.system, "eventfd failed: errno \(errno)") }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Wakes the waiting poll; idempotent.
    func fire() {
        guard !fired.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }
}
