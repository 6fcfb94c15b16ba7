#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import Testing
import TestKit
import Uplink

// MARK: - Crafting rtnetlink messages (host-endian, 4-byte aligned, as the kernel writes them)

private func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

private func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }

private func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
    padded(le(UInt16(4 + value.count)) + le(type) + value)
}

private func message(_ type: UInt16, _ body: [UInt8], flags: UInt16 = 0, sequence: UInt32 = 0) -> [UInt8] {
    padded(le(UInt32(16 + body.count)) + le(type) + le(flags) + le(sequence) + le(UInt32(0)) + body)
}

private let up = clinux_IFF_UP | clinux_IFF_RUNNING | clinux_IFF_LOWER_UP

private func linkMessage(_ index: Int32, _ name: String, operState: UInt8? = clinux_IF_OPER_UP, flags: UInt32 = up, removed: Bool = false) -> [UInt8] {
    var body: [UInt8] = [0, 0] + le(UInt16(1)) + le(index) + le(flags) + le(UInt32(0))  // ifinfomsg (ARPHRD_ETHER)
    body += attribute(clinux_IFLA_IFNAME, Array(name.utf8) + [0])
    if let operState { body += attribute(clinux_IFLA_OPERSTATE, [operState]) }
    return message(removed ? clinux_RTM_DELLINK : clinux_RTM_NEWLINK, body)
}

private func routeMessage(
    oif: Int32, metric: UInt32?, destinationLength: UInt8 = 0, family: UInt8 = UInt8(AF_INET), table: UInt8 = 254,
    type: UInt8 = 1, removed: Bool = false
) -> [UInt8] {
    var body: [UInt8] = [family, destinationLength, 0, 0, table, 4, 0, type] + le(UInt32(0))  // rtmsg: proto static
    body += attribute(clinux_RTA_TABLE, le(UInt32(table)))
    if destinationLength > 0 { body += attribute(clinux_RTA_DST, [10, 0, 0, 0]) }
    body += attribute(clinux_RTA_GATEWAY, [10, 1, 0, 1])
    if let metric { body += attribute(clinux_RTA_PRIORITY, le(metric)) }
    body += attribute(clinux_RTA_OIF, le(UInt32(bitPattern: oif)))
    return message(removed ? clinux_RTM_DELROUTE : clinux_RTM_NEWROUTE, body)
}

private func parse(_ bytes: [UInt8]) -> [NetlinkEvent] { NetlinkParser.parse(bytes[...]) }

@Suite("rtnetlink parsing")
struct NetlinkParserTests {
    @Test("RTM_NEWLINK and RTM_DELLINK: index, IFLA_IFNAME, IFLA_OPERSTATE, flags")
    func links() {
        #expect(parse(linkMessage(3, "wlan0")) == [.link(NetlinkLink(index: 3, name: "wlan0", operationalState: clinux_IF_OPER_UP, flags: up))])
        #expect(parse(linkMessage(4, "wwan0", operState: nil, flags: clinux_IFF_UP)) == [
            .link(NetlinkLink(index: 4, name: "wwan0", operationalState: nil, flags: clinux_IFF_UP))
        ])
        #expect(parse(linkMessage(3, "wlan0", removed: true)) == [.linkRemoved(index: 3)])
    }

    @Test("RTM_NEWROUTE/RTM_DELROUTE: IPv4 default routes of the main table with RTA_OIF and RTA_PRIORITY; others ignored")
    func routes() {
        #expect(parse(routeMessage(oif: 3, metric: 600)) == [.defaultRoute(NetlinkDefaultRoute(interfaceIndex: 3, metric: 600))])
        #expect(parse(routeMessage(oif: 4, metric: nil, removed: true)) == [
            .defaultRouteRemoved(NetlinkDefaultRoute(interfaceIndex: 4, metric: 0))
        ])
        #expect(parse(routeMessage(oif: 3, metric: 600, destinationLength: 24)) == [])  // not a default route
        #expect(parse(routeMessage(oif: 3, metric: 600, family: UInt8(AF_INET6))) == [])
        #expect(parse(routeMessage(oif: 3, metric: 600, table: 255)) == [])  // local table
        #expect(parse(routeMessage(oif: 3, metric: 600, type: 2)) == [])  // RTN_LOCAL
    }

    @Test("several messages in one datagram, NLMSG_DONE, NLMSG_ERROR, acknowledgements and addresses")
    func batches() {
        let ack = message(clinux_NLMSG_ERROR, le(Int32(0)) + [UInt8](repeating: 0, count: 16))
        let refused = message(clinux_NLMSG_ERROR, le(Int32(-EBUSY)) + [UInt8](repeating: 0, count: 16))
        let address = message(clinux_RTM_DELADDR, [UInt8(AF_INET), 24, 0, 0] + le(UInt32(3)) + attribute(1, [10, 1, 0, 2]))
        let datagram = linkMessage(3, "wlan0") + routeMessage(oif: 3, metric: 600) + ack + refused + address
            + message(clinux_NLMSG_DONE, le(Int32(0)))
        #expect(parse(datagram) == [
            .link(NetlinkLink(index: 3, name: "wlan0", operationalState: clinux_IF_OPER_UP, flags: up)),
            .defaultRoute(NetlinkDefaultRoute(interfaceIndex: 3, metric: 600)),
            .error(-EBUSY),
            .addressChanged(index: 3, removed: true),
            .dumpDone,
        ])
    }

    @Test("every strict prefix of a message is refused or yields nothing; lengths that lie stop the parse")
    func truncation() {
        let whole = linkMessage(3, "wlan0") + routeMessage(oif: 3, metric: 600)
        for cut in 1..<whole.count {
            let events = parse(Array(whole[..<cut]))
            // The first message parses only when whole; a cut inside a message is malformed.
            #expect(events.last == .malformed || events == [.link(NetlinkLink(index: 3, name: "wlan0", operationalState: clinux_IF_OPER_UP, flags: up))],
                    "cut at \(cut): \(events)")
        }
        var lying = linkMessage(3, "wlan0")
        lying[0] = 0xFF  // nlmsg_len beyond the datagram
        #expect(parse(lying) == [.malformed])
        var short = linkMessage(3, "wlan0")
        short[0] = 8  // nlmsg_len below the header
        #expect(parse(short) == [.malformed])
        // A bad attribute length skips that message but not the next.
        var badAttribute = linkMessage(3, "wlan0")
        badAttribute[32] = 0xFF
        #expect(parse(badAttribute + routeMessage(oif: 3, metric: 1)) == [.defaultRoute(NetlinkDefaultRoute(interfaceIndex: 3, metric: 1))])
        #expect(parse([]) == [])
    }

    @Test("seeded mutation fuzzing: flipped, inserted, removed and truncated bytes never trap")
    func fuzz() {
        var rng = SplitMix(state: fuzzSeed(default: 0x6E65_746C_696E_6B21))
        let seeds = [
            linkMessage(3, "wlan0") + routeMessage(oif: 3, metric: 600),
            routeMessage(oif: 4, metric: 700, removed: true) + message(clinux_NLMSG_DONE, le(Int32(0))),
            linkMessage(4, "wwan0", operState: nil, flags: clinux_IFF_UP) + message(clinux_NLMSG_ERROR, le(Int32(-1))),
        ]
        var parsedEvents = 0
        for _ in 0..<20_000 {
            var bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                let position = Int(rng.next() % UInt64(max(bytes.count, 1)))
                switch rng.next() % 4 {
                case 0 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: min(position, bytes.count))
                case 2 where !bytes.isEmpty: bytes.remove(at: position)
                default: bytes = Array(bytes.prefix(position))
                }
            }
            // Slices that do not start at index 0, as a receive buffer's would not.
            let framed = [0xEE, 0xEE] + bytes
            parsedEvents += NetlinkParser.parse(framed[2...]).count
        }
        #expect(parsedEvents > 0)
    }

    @Test("dump requests: nlmsghdr + ifinfomsg / rtmsg(AF_INET) with NLM_F_REQUEST | NLM_F_DUMP")
    func requests() {
        let link = NetlinkRequest.dump(clinux_RTM_GETLINK, sequence: 7)
        #expect(link.count == 32)
        #expect(Array(link[0..<4]) == le(UInt32(32)))
        #expect(Array(link[4..<6]) == le(clinux_RTM_GETLINK))
        #expect(Array(link[6..<8]) == le(clinux_NLM_F_REQUEST | clinux_NLM_F_DUMP))
        #expect(Array(link[8..<12]) == le(UInt32(7)))
        let route = NetlinkRequest.dump(clinux_RTM_GETROUTE, sequence: 8)
        #expect(route.count == 28)
        #expect(route[16] == UInt8(AF_INET))
    }
}

@Suite("Connectivity state from links and default routes")
struct ConnectivityTableTests {
    private func table(_ datagrams: [UInt8]...) -> ConnectivityTable {
        var table = ConnectivityTable()
        for d in datagrams { for e in NetlinkParser.parse(d[...]) { table.apply(e) } }
        return table
    }

    @Test("Wi-Fi preferred when both have a default route (metric 600 vs 700); cellular is metered")
    func preferWifi() {
        let both = table(linkMessage(3, "wlan0"), linkMessage(4, "wwan0"), routeMessage(oif: 3, metric: 600), routeMessage(oif: 4, metric: 700))
        #expect(both.state(wifi: "wlan0", cellular: "wwan0") == .online(via: .wifi, interface: "wlan0"))
        let cellularOnly = table(linkMessage(3, "wlan0"), linkMessage(4, "wwan0"), routeMessage(oif: 4, metric: 700))
        #expect(cellularOnly.state(wifi: "wlan0", cellular: "wwan0") == .online(via: .cellular, metered: true, interface: "wwan0"))
        #expect(cellularOnly.state(wifi: "wlan0", cellular: "wwan0").description == "online via cellular (wwan0, metered)")
    }

    @Test("the lowest metric wins, whatever the kind; equal metrics go to Wi-Fi")
    func metric() {
        let cheaperCellular = table(linkMessage(3, "wlan0"), linkMessage(4, "wwan0"), routeMessage(oif: 3, metric: 800), routeMessage(oif: 4, metric: 700))
        #expect(cheaperCellular.state(wifi: "wlan0", cellular: "wwan0") == .online(via: .cellular, metered: true, interface: "wwan0"))
        let tie = table(linkMessage(3, "wlan0"), linkMessage(4, "wwan0"), routeMessage(oif: 4, metric: 100), routeMessage(oif: 3, metric: 100))
        #expect(tie.state(wifi: "wlan0", cellular: "wwan0") == .online(via: .wifi, interface: "wlan0"))
    }

    @Test("a link without a default route, a down link, and routes through other interfaces are offline")
    func offline() {
        #expect(table(linkMessage(3, "wlan0")).state(wifi: "wlan0", cellular: "wwan0") == .offline)
        let carrierLost = table(linkMessage(3, "wlan0"), routeMessage(oif: 3, metric: 600), linkMessage(3, "wlan0", operState: 2, flags: clinux_IFF_UP))
        #expect(carrierLost.state(wifi: "wlan0", cellular: nil) == .offline)
        let ethernet = table(linkMessage(2, "eth0"), routeMessage(oif: 2, metric: 100))
        #expect(ethernet.state(wifi: "wlan0", cellular: "wwan0") == .offline)
        #expect(ConnectivityTable().state(wifi: nil, cellular: nil) == .offline)
    }

    @Test("administratively down drops the link's routes (the kernel flushes them silently); up again needs a new route")
    func adminDown() {
        var t = table(linkMessage(3, "wlan0"), linkMessage(4, "wwan0"), routeMessage(oif: 3, metric: 600), routeMessage(oif: 4, metric: 700))
        let needsDump = t.apply(NetlinkParser.parse(linkMessage(3, "wlan0", operState: 2, flags: 0)[...])[0])
        #expect(needsDump)
        #expect(t.state(wifi: "wlan0", cellular: "wwan0") == .online(via: .cellular, metered: true, interface: "wwan0"))
        t.apply(NetlinkParser.parse(linkMessage(3, "wlan0")[...])[0])
        #expect(t.state(wifi: "wlan0", cellular: "wwan0") == .online(via: .cellular, metered: true, interface: "wwan0"))
        t.apply(NetlinkParser.parse(routeMessage(oif: 3, metric: 600)[...])[0])
        #expect(t.state(wifi: "wlan0", cellular: "wwan0") == .online(via: .wifi, interface: "wlan0"))
        t.apply(NetlinkParser.parse(routeMessage(oif: 3, metric: 600, removed: true)[...])[0])
        t.apply(NetlinkParser.parse(linkMessage(4, "wwan0", removed: true)[...])[0])
        #expect(t.state(wifi: "wlan0", cellular: "wwan0") == .offline)
    }

    @Test("a modem without operational state counts as up with carrier (IF_OPER_UNKNOWN + IFF_LOWER_UP)")
    func unknownOperState() {
        let modem = table(linkMessage(5, "wwan0", operState: clinux_IF_OPER_UNKNOWN, flags: clinux_IFF_UP | clinux_IFF_LOWER_UP), routeMessage(oif: 5, metric: 700))
        #expect(modem.state(wifi: "wlan0", cellular: "wwan0").isOnline)
        let noCarrier = table(linkMessage(5, "wwan0", operState: clinux_IF_OPER_UNKNOWN, flags: clinux_IFF_UP), routeMessage(oif: 5, metric: 700))
        #expect(noCarrier.state(wifi: "wlan0", cellular: "wwan0") == .offline)
    }
}

@Suite("Connectivity monitor on this machine's rtnetlink")
struct ConnectivityMonitorTests {
    @Test("starts with a real dump, reports the first state at once, and stops promptly")
    func startStop() throws {
        let seen = Mutex<[ConnectivityState]>([])
        let monitor = try ConnectivityMonitor.start(wifi: "nonexistent0", cellular: "nonexistent1") { state in
            seen.withLock { $0.append(state) }
        }
        #expect(seen.withLock { $0 } == [.offline])
        #expect(monitor.state == .offline)
        let start = ContinuousClock.now
        monitor.stop()
        #expect(ContinuousClock.now - start < .milliseconds(500))
    }
}

import Synchronization
