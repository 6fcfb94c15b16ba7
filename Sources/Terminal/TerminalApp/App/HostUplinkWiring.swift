import Logging
import ServiceLifecycle
import Uplink

/// What the runtime starts for the host link (issue 6), kept out of `Runtime.swift`: on a hardware board the
/// rtnetlink ``ConnectivityMonitor`` (Wi-Fi preferred, cellular metered), and the store-and-forward uploader as a
/// service. The sim board has no real interfaces: its acquirer (built in, or external on loopback) counts as
/// always reachable, and failed deliveries are retried with ``ReconnectBackoff``.
struct HostUplinkWiring: Sendable {
    /// The monitor of a hardware board; `nil` on the sim board or when netlink is unavailable.
    let connectivity: ConnectivityMonitor?
    /// The services to add to the runtime's group.
    let services: [ServiceGroupConfiguration.ServiceConfiguration]
    /// The store-and-forward uploader (settlement drains its queue first), when there is a host link.
    var uploader: StoreAndForwardUploader? = nil

    static func start(profile: BoardProfile, payments: Payments, clock: any TerminalClock, logger: Logger) -> HostUplinkWiring {
        var monitor: ConnectivityMonitor?
        if profile.kind != .simulator {
            do {
                monitor = try ConnectivityMonitor.start(wifi: profile.network.wifi, cellular: profile.network.cellular) { state in
                    logger.info("connectivity", metadata: ["state": "\(state)"])
                }
            } catch {
                logger.error("no connectivity monitor: the idle screen falls back to the interface poller", metadata: ["error": "\(error)"])
            }
        }
        let connectivity: @Sendable () -> ConnectivityState
        if let monitor {
            connectivity = { monitor.state }
        } else if profile.kind == .simulator {
            connectivity = { .online(via: .wifi, metered: false, interface: "loopback") }
        } else {
            connectivity = { .online(via: .wifi, metered: false, interface: "unknown") }  // no monitor: try, back off
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let uploader = payments.makeUploader(connectivity: connectivity, clock: clock, logger: logger)
        if let uploader {
            services.append(.init(service: uploader, successTerminationBehavior: .ignore))
        }
        return HostUplinkWiring(connectivity: monitor, services: services, uploader: uploader)
    }

    func stop() { connectivity?.stop() }
}
