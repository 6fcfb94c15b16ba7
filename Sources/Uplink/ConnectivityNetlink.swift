#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// An interface as an rtnetlink link message describes it (RTM_NEWLINK: struct ifinfomsg + attributes).
public struct NetlinkLink: Sendable, Equatable {
    /// The interface index (`ifi_index`).
    public var index: Int32
    /// The name (`IFLA_IFNAME`); empty when the message had none.
    public var name: String
    /// The RFC 2863 operational state (`IFLA_OPERSTATE`, `IF_OPER_*`); `nil` when the message had none.
    public var operationalState: UInt8?
    /// The interface flags (`ifi_flags`: `IFF_UP`, `IFF_RUNNING`, `IFF_LOWER_UP`, ...).
    public var flags: UInt32

    /// A link record.
    public init(index: Int32, name: String, operationalState: UInt8?, flags: UInt32) {
        self.index = index
        self.name = name
        self.operationalState = operationalState
        self.flags = flags
    }

    /// Whether the link can carry traffic: administratively up (`IFF_UP`) and operationally up (`IF_OPER_UP`), or,
    /// for drivers that report no operational state (`IF_OPER_UNKNOWN`, some modems and tun devices), up with
    /// carrier (`IFF_LOWER_UP` or `IFF_RUNNING`).
    public var isUsable: Bool {
        guard flags & clinux_IFF_UP != 0 else { return false }
        switch operationalState {
        case clinux_IF_OPER_UP: return true
        case nil, clinux_IF_OPER_UNKNOWN: return flags & (clinux_IFF_LOWER_UP | clinux_IFF_RUNNING) != 0
        default: return false
        }
    }
}

/// An IPv4 default route (destination 0.0.0.0/0, unicast) as an rtnetlink route message describes it.
public struct NetlinkDefaultRoute: Sendable, Hashable {
    /// The output interface index (`RTA_OIF`).
    public var interfaceIndex: Int32
    /// The route metric (`RTA_PRIORITY`; 0 when absent). NetworkManager uses 600 for Wi-Fi and 700 for WWAN.
    public var metric: UInt32
    /// The routing table (`RTA_TABLE`, else `rtm_table`).
    public var table: UInt32

    /// A default route record.
    public init(interfaceIndex: Int32, metric: UInt32, table: UInt32 = 254) {
        self.interfaceIndex = interfaceIndex
        self.metric = metric
        self.table = table
    }
}

/// What one rtnetlink message said, as far as connectivity is concerned.
public enum NetlinkEvent: Sendable, Equatable {
    /// RTM_NEWLINK: an interface appeared or changed.
    case link(NetlinkLink)
    /// RTM_DELLINK: the interface with this index is gone.
    case linkRemoved(index: Int32)
    /// RTM_NEWADDR or RTM_DELADDR on this interface (routes through it may have been flushed silently).
    case addressChanged(index: Int32, removed: Bool)
    /// RTM_NEWROUTE of an IPv4 default route in the main table.
    case defaultRoute(NetlinkDefaultRoute)
    /// RTM_DELROUTE of an IPv4 default route in the main table.
    case defaultRouteRemoved(NetlinkDefaultRoute)
    /// NLMSG_DONE: the end of a dump.
    case dumpDone
    /// NLMSG_ERROR with a non-zero error (a negative errno, as the kernel sends it); 0 (an acknowledgement) is
    /// not reported.
    case error(Int32)
    /// NLMSG_OVERRUN, or bytes that do not parse as netlink messages; the rest of the datagram was skipped.
    case malformed
}

/// rtnetlink message parsing (rtnetlink(7), linux/rtnetlink.h): a pure function over the bytes of one datagram.
///
/// Netlink is host-endian. Each message is a 16-byte `struct nlmsghdr` (length, type, flags, sequence, port id),
/// a fixed header (`struct ifinfomsg`, 16 bytes; `struct rtmsg`, 12 bytes; `struct ifaddrmsg`, 8 bytes) and
/// attributes (`struct rtattr`: 2-byte length, 2-byte type, payload), all 4-byte aligned. Every length is checked
/// against what remains; a message whose header lies stops the parse with ``NetlinkEvent/malformed``, a message
/// too short for its fixed header or with a bad attribute is skipped. Never traps on any input.
public enum NetlinkParser {
    /// The events of one datagram, in order. Messages of other types (routes in other tables, IPv6, non-default
    /// routes, NLMSG_NOOP, acknowledgements) produce none.
    public static func parse(_ datagram: ArraySlice<UInt8>) -> [NetlinkEvent] {
        var events: [NetlinkEvent] = []
        var rest = datagram
        let headerSize = Int(clinux_nlmsghdr_size)
        while !rest.isEmpty {
            guard rest.count >= headerSize, let length = readU32(rest, 0).flatMap({ Int(exactly: $0) }),
                length >= headerSize, length <= rest.count, let type = readU16(rest, 4)
            else {
                events.append(.malformed)
                break
            }
            let payload = rest.dropFirst(headerSize).prefix(length - headerSize)
            if let event = parseMessage(type: type, payload) { events.append(event) }
            // NLMSG_ALIGN: the next message starts at a multiple of 4; the kernel may omit the last padding.
            rest = rest.dropFirst(min(rest.count, (length + 3) & ~3))
        }
        return events
    }

    /// One message's event, from its type and the bytes after `struct nlmsghdr`.
    static func parseMessage(type: UInt16, _ payload: ArraySlice<UInt8>) -> NetlinkEvent? {
        switch type {
        case clinux_NLMSG_DONE: return .dumpDone
        case clinux_NLMSG_OVERRUN: return .malformed
        case clinux_NLMSG_ERROR:
            // struct nlmsgerr: int error, then the offending request's header.
            guard let raw = readU32(payload, 0) else { return .malformed }
            let error = Int32(bitPattern: raw)
            return error == 0 ? nil : .error(error)
        case clinux_RTM_NEWLINK, clinux_RTM_DELLINK:
            return parseLink(payload, removed: type == clinux_RTM_DELLINK)
        case clinux_RTM_NEWADDR, clinux_RTM_DELADDR:
            // struct ifaddrmsg: family u8, prefixlen u8, flags u8, scope u8, index u32.
            guard payload.count >= Int(clinux_ifaddrmsg_size), let index = readU32(payload, 4) else { return nil }
            return .addressChanged(index: Int32(bitPattern: index), removed: type == clinux_RTM_DELADDR)
        case clinux_RTM_NEWROUTE, clinux_RTM_DELROUTE:
            guard let route = parseDefaultRoute(payload) else { return nil }
            return type == clinux_RTM_NEWROUTE ? .defaultRoute(route) : .defaultRouteRemoved(route)
        default:
            return nil
        }
    }

    /// struct ifinfomsg (family u8, pad u8, type u16, index s32, flags u32, change u32) + IFLA_* attributes.
    private static func parseLink(_ payload: ArraySlice<UInt8>, removed: Bool) -> NetlinkEvent? {
        let fixed = Int(clinux_ifinfomsg_size)
        guard payload.count >= fixed, let rawIndex = readU32(payload, 4), let flags = readU32(payload, 8) else { return nil }
        let index = Int32(bitPattern: rawIndex)
        if removed { return .linkRemoved(index: index) }
        var link = NetlinkLink(index: index, name: "", operationalState: nil, flags: flags)
        guard let attributes = parseAttributes(payload.dropFirst(fixed)) else { return nil }
        for (type, value) in attributes {
            switch type {
            case clinux_IFLA_IFNAME:
                // A NUL-terminated string of at most IFNAMSIZ (16) bytes.
                let name = value.prefix { $0 != 0 }
                guard name.count < 16 else { return nil }
                link.name = String(decoding: name, as: UTF8.self)
            case clinux_IFLA_OPERSTATE:
                link.operationalState = value.first
            default: break
            }
        }
        return .link(link)
    }

    /// struct rtmsg (family, dst_len, src_len, tos, table, protocol, scope, type u8 each; flags u32) + RTA_*.
    /// Only IPv4 unicast routes to 0.0.0.0/0 in the main table count.
    private static func parseDefaultRoute(_ payload: ArraySlice<UInt8>) -> NetlinkDefaultRoute? {
        let fixed = Int(clinux_rtmsg_size)
        guard payload.count >= fixed else { return nil }
        let base = payload.startIndex
        let family = payload[base]
        let destinationLength = payload[base + 1]
        var table = UInt32(payload[base + 4])
        let routeType = payload[base + 7]
        guard family == UInt8(AF_INET), destinationLength == 0, routeType == clinux_RTN_UNICAST else { return nil }
        guard let attributes = parseAttributes(payload.dropFirst(fixed)) else { return nil }
        var interfaceIndex: Int32?
        var metric: UInt32 = 0
        for (type, value) in attributes {
            switch type {
            case clinux_RTA_OIF: interfaceIndex = readU32(value, 0).map { Int32(bitPattern: $0) }
            case clinux_RTA_PRIORITY: metric = readU32(value, 0) ?? 0
            case clinux_RTA_TABLE: table = readU32(value, 0) ?? table
            default: break
            }
        }
        guard let interfaceIndex, table == UInt32(clinux_RT_TABLE_MAIN) else { return nil }
        return NetlinkDefaultRoute(interfaceIndex: interfaceIndex, metric: metric, table: table)
    }

    /// The attributes (type, value) of an attribute area, or `nil` when one's length is impossible. Trailing bytes
    /// shorter than an attribute header are ignored (padding).
    static func parseAttributes(_ area: ArraySlice<UInt8>) -> [(UInt16, ArraySlice<UInt8>)]? {
        var attributes: [(UInt16, ArraySlice<UInt8>)] = []
        var rest = area
        let headerSize = Int(clinux_rtattr_size)
        while rest.count >= headerSize {
            guard let length = readU16(rest, 0).map(Int.init), let type = readU16(rest, 2),
                length >= headerSize, length <= rest.count
            else { return nil }
            // NLA_TYPE_MASK: the top two bits are the nested / byte-order flags.
            attributes.append((type & 0x3FFF, rest.dropFirst(headerSize).prefix(length - headerSize)))
            rest = rest.dropFirst(min(rest.count, (length + 3) & ~3))
        }
        return attributes
    }

    /// A host-endian u16 at `offset` from the slice's start, or `nil` past its end.
    static func readU16(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt16? {
        guard offset >= 0, bytes.count >= offset + 2 else { return nil }
        let i = bytes.startIndex + offset
        var value: UInt16 = 0
        withUnsafeMutableBytes(of: &value) { raw in
            raw[0] = bytes[i]
            raw[1] = bytes[i + 1]
        }
        return value
    }

    /// A host-endian u32 at `offset` from the slice's start, or `nil` past its end.
    static func readU32(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt32? {
        guard offset >= 0, bytes.count >= offset + 4 else { return nil }
        let i = bytes.startIndex + offset
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for k in 0..<4 { raw[k] = bytes[i + k] }
        }
        return value
    }
}

/// rtnetlink requests the monitor sends.
public enum NetlinkRequest {
    /// A dump request (`NLM_F_REQUEST | NLM_F_DUMP`): RTM_GETLINK with a zero `struct ifinfomsg`, or RTM_GETROUTE
    /// with a `struct rtmsg` for IPv4. Host-endian, as netlink is.
    public static func dump(_ type: UInt16, sequence: UInt32) -> [UInt8] {
        let fixed = Int(type == clinux_RTM_GETROUTE ? clinux_rtmsg_size : clinux_ifinfomsg_size)
        let length = Int(clinux_nlmsghdr_size) + fixed
        var message: [UInt8] = []
        message.reserveCapacity(length)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value) { message += $0 } }
        append(UInt32(length))
        append(type)
        append(clinux_NLM_F_REQUEST | clinux_NLM_F_DUMP)
        append(sequence)
        append(UInt32(0))  // port id: the kernel fills it in
        var body = [UInt8](repeating: 0, count: fixed)
        if type == clinux_RTM_GETROUTE { body[0] = UInt8(AF_INET) }  // rtm_family
        message += body
        return message
    }
}
