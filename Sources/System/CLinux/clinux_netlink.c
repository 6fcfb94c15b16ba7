#include "clinux_netlink.h"
#include <stddef.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/if.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

const int clinux_NETLINK_ROUTE = NETLINK_ROUTE;
const unsigned int clinux_RTMGRP_LINK = RTMGRP_LINK;
const unsigned int clinux_RTMGRP_IPV4_IFADDR = RTMGRP_IPV4_IFADDR;
const unsigned int clinux_RTMGRP_IPV4_ROUTE = RTMGRP_IPV4_ROUTE;

const unsigned short clinux_NLMSG_NOOP = NLMSG_NOOP;
const unsigned short clinux_NLMSG_ERROR = NLMSG_ERROR;
const unsigned short clinux_NLMSG_DONE = NLMSG_DONE;
const unsigned short clinux_NLMSG_OVERRUN = NLMSG_OVERRUN;
const unsigned short clinux_RTM_NEWLINK = RTM_NEWLINK;
const unsigned short clinux_RTM_DELLINK = RTM_DELLINK;
const unsigned short clinux_RTM_GETLINK = RTM_GETLINK;
const unsigned short clinux_RTM_NEWADDR = RTM_NEWADDR;
const unsigned short clinux_RTM_DELADDR = RTM_DELADDR;
const unsigned short clinux_RTM_NEWROUTE = RTM_NEWROUTE;
const unsigned short clinux_RTM_DELROUTE = RTM_DELROUTE;
const unsigned short clinux_RTM_GETROUTE = RTM_GETROUTE;

const unsigned short clinux_NLM_F_REQUEST = NLM_F_REQUEST;
const unsigned short clinux_NLM_F_MULTI = NLM_F_MULTI;
const unsigned short clinux_NLM_F_DUMP = NLM_F_DUMP;

const unsigned short clinux_IFLA_IFNAME = IFLA_IFNAME;
const unsigned short clinux_IFLA_OPERSTATE = IFLA_OPERSTATE;
const unsigned char clinux_IF_OPER_UNKNOWN = IF_OPER_UNKNOWN;
const unsigned char clinux_IF_OPER_DOWN = IF_OPER_DOWN;
const unsigned char clinux_IF_OPER_UP = IF_OPER_UP;
const unsigned int clinux_IFF_UP = IFF_UP;
const unsigned int clinux_IFF_RUNNING = IFF_RUNNING;
const unsigned int clinux_IFF_LOWER_UP = IFF_LOWER_UP;

const unsigned short clinux_RTA_DST = RTA_DST;
const unsigned short clinux_RTA_OIF = RTA_OIF;
const unsigned short clinux_RTA_GATEWAY = RTA_GATEWAY;
const unsigned short clinux_RTA_PRIORITY = RTA_PRIORITY;
const unsigned short clinux_RTA_TABLE = RTA_TABLE;
const unsigned char clinux_RT_TABLE_MAIN = RT_TABLE_MAIN;
const unsigned char clinux_RTN_UNICAST = RTN_UNICAST;

const unsigned int clinux_nlmsghdr_size = sizeof(struct nlmsghdr);
const unsigned int clinux_ifinfomsg_size = sizeof(struct ifinfomsg);
const unsigned int clinux_rtmsg_size = sizeof(struct rtmsg);
const unsigned int clinux_ifaddrmsg_size = sizeof(struct ifaddrmsg);
const unsigned int clinux_rtattr_size = sizeof(struct rtattr);
const unsigned int clinux_sockaddr_nl_size = sizeof(struct sockaddr_nl);

/* The offsets Sources/Uplink/ConnectivityNetlink.swift reads (the kernel ABI, identical on every architecture). */
_Static_assert(sizeof(struct nlmsghdr) == 16, "struct nlmsghdr is 16 bytes");
_Static_assert(offsetof(struct nlmsghdr, nlmsg_type) == 4 && offsetof(struct nlmsghdr, nlmsg_flags) == 6 &&
               offsetof(struct nlmsghdr, nlmsg_seq) == 8 && offsetof(struct nlmsghdr, nlmsg_pid) == 12,
               "struct nlmsghdr is len u32, type u16, flags u16, seq u32, pid u32");
_Static_assert(sizeof(struct ifinfomsg) == 16 && offsetof(struct ifinfomsg, ifi_index) == 4 &&
               offsetof(struct ifinfomsg, ifi_flags) == 8, "struct ifinfomsg: family, pad, type, index@4, flags@8");
_Static_assert(sizeof(struct rtmsg) == 12 && offsetof(struct rtmsg, rtm_dst_len) == 1 &&
               offsetof(struct rtmsg, rtm_table) == 4 && offsetof(struct rtmsg, rtm_type) == 7,
               "struct rtmsg: family, dst_len@1, src_len, tos, table@4, protocol, scope, type@7, flags");
_Static_assert(sizeof(struct rtattr) == 4, "struct rtattr is len u16, type u16");
_Static_assert(sizeof(struct ifaddrmsg) == 8, "struct ifaddrmsg is 8 bytes");
_Static_assert(sizeof(struct nlmsgerr) >= 4 && offsetof(struct nlmsgerr, error) == 0, "struct nlmsgerr starts with int error");
_Static_assert(NLMSG_ALIGNTO == 4 && RTA_ALIGNTO == 4, "netlink messages and attributes are 4-byte aligned");

int clinux_netlink_open_route(unsigned int groups, int receive_buffer) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) return -1;
    if (receive_buffer > 0) (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    struct sockaddr_nl address;
    memset(&address, 0, sizeof address);
    address.nl_family = AF_NETLINK;
    address.nl_groups = groups;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}
