import CLinux

/// Whether the terminal can reach the acquirer, and over which link, for payment purposes.
///
/// Online means: an IPv4 default route in the main table whose interface is the board's Wi-Fi or cellular
/// interface and is up. A link that is up but has no default route is offline for payments.
public enum ConnectivityState: Sendable, Equatable, CustomStringConvertible {
    /// The kind of link a default route goes through, as the board profile names the interfaces.
    public enum Link: String, Sendable, Equatable {
        /// The board's Wi-Fi interface (NetworkManager route metric 600).
        case wifi
        /// The board's cellular modem (NetworkManager route metric 700); billed by volume.
        case cellular
    }

    /// A default route through `interface`; `metered` links (cellular) should carry only what must go now.
    case online(via: Link, metered: Bool = false, interface: String)
    /// No usable default route through the board's links.
    case offline

    /// Whether a default route is usable.
    public var isOnline: Bool {
        if case .online = self { return true }
        return false
    }

    /// Whether the link in use is billed by volume (cellular).
    public var isMetered: Bool {
        if case .online(_, let metered, _) = self { return metered }
        return false
    }

    /// "online via wifi (wlan0)", "online via cellular (wwan0, metered)" or "offline".
    public var description: String {
        switch self {
        case .online(let link, let metered, let interface):
            return "online via \(link.rawValue) (\(interface)\(metered ? ", metered" : ""))"
        case .offline:
            return "offline"
        }
    }
}

/// The kernel's view of links and IPv4 default routes, kept up to date from rtnetlink events, and the
/// ``ConnectivityState`` it implies. A pure value: ``ConnectivityMonitor`` feeds it; tests feed it crafted events.
public struct ConnectivityTable: Sendable, Equatable {
    /// Known interfaces by index.
    public private(set) var links: [Int32: NetlinkLink] = [:]
    /// IPv4 default routes of the main table.
    public private(set) var defaultRoutes: Set<NetlinkDefaultRoute> = []

    /// An empty table (offline).
    public init() {}

    /// Applies one event.
    ///
    /// - Returns: whether the route table should be read again: the kernel flushes the IPv4 routes of an interface
    ///   that goes administratively down or loses an address without sending RTM_DELROUTE for them. The table
    ///   already drops the routes of a link that went down or away; a removed address needs a fresh dump.
    @discardableResult
    public mutating func apply(_ event: NetlinkEvent) -> Bool {
        switch event {
        case .link(let link):
            let wasUp = links[link.index].map { $0.flags & clinux_IFF_UP != 0 } ?? true
            links[link.index] = link
            let isUp = link.flags & clinux_IFF_UP != 0
            if !isUp { dropRoutes(of: link.index) }
            return wasUp && !isUp
        case .linkRemoved(let index):
            links[index] = nil
            dropRoutes(of: index)
            return true
        case .addressChanged(_, let removed):
            return removed
        case .defaultRoute(let route):
            defaultRoutes.insert(route)
            return false
        case .defaultRouteRemoved(let route):
            defaultRoutes.remove(route)
            return false
        case .dumpDone, .error, .malformed:
            return false
        }
    }

    /// Replaces every link with the result of a link dump.
    public mutating func replaceLinks(_ dumped: [NetlinkLink]) {
        links = Dictionary(dumped.map { ($0.index, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// Replaces every default route with the result of a route dump.
    public mutating func replaceDefaultRoutes(_ dumped: Set<NetlinkDefaultRoute>) {
        defaultRoutes = dumped
    }

    private mutating func dropRoutes(of index: Int32) {
        defaultRoutes = defaultRoutes.filter { $0.interfaceIndex != index }
    }

    /// The connectivity for a board whose Wi-Fi and cellular interfaces have these names.
    ///
    /// Among the default routes through a usable (``NetlinkLink/isUsable``) Wi-Fi or cellular interface, the one
    /// with the lowest metric wins, as in the kernel's own route choice; at equal metrics Wi-Fi wins. Routes through
    /// other interfaces are ignored.
    public func state(wifi: String?, cellular: String?) -> ConnectivityState {
        var best: (metric: UInt32, rank: Int, link: ConnectivityState.Link, name: String)?
        for route in defaultRoutes {
            guard let link = links[route.interfaceIndex], link.isUsable, !link.name.isEmpty else { continue }
            let kind: ConnectivityState.Link
            if link.name == wifi {
                kind = .wifi
            } else if link.name == cellular {
                kind = .cellular
            } else {
                continue
            }
            let rank = kind == .wifi ? 0 : 1
            if let current = best, (current.metric, current.rank) <= (route.metric, rank) { continue }
            best = (route.metric, rank, kind, link.name)
        }
        guard let best else { return .offline }
        return .online(via: best.link, metered: best.link == .cellular, interface: best.name)
    }
}
