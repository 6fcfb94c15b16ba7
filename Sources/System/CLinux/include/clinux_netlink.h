#ifndef CLINUX_NETLINK_H
#define CLINUX_NETLINK_H
/* rtnetlink (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h; rtnetlink(7)): the constants the
   connectivity monitor (Sources/Uplink) needs to subscribe to link, address and route changes and to parse them.
   The kernel headers are included only by clinux_netlink.c, so their struct ifreq / IFF_* definitions never meet
   glibc's <net/if.h> in Swift; the message layouts the parser reads by offset are checked there with
   _Static_assert. */

/* Socket: AF_NETLINK protocol NETLINK_ROUTE, multicast groups RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE. */
extern const int clinux_NETLINK_ROUTE;
extern const unsigned int clinux_RTMGRP_LINK;
extern const unsigned int clinux_RTMGRP_IPV4_IFADDR;
extern const unsigned int clinux_RTMGRP_IPV4_ROUTE;

/* Message types (struct nlmsghdr.nlmsg_type). */
extern const unsigned short clinux_NLMSG_NOOP;
extern const unsigned short clinux_NLMSG_ERROR;
extern const unsigned short clinux_NLMSG_DONE;
extern const unsigned short clinux_NLMSG_OVERRUN;
extern const unsigned short clinux_RTM_NEWLINK;
extern const unsigned short clinux_RTM_DELLINK;
extern const unsigned short clinux_RTM_GETLINK;
extern const unsigned short clinux_RTM_NEWADDR;
extern const unsigned short clinux_RTM_DELADDR;
extern const unsigned short clinux_RTM_NEWROUTE;
extern const unsigned short clinux_RTM_DELROUTE;
extern const unsigned short clinux_RTM_GETROUTE;

/* Header flags (struct nlmsghdr.nlmsg_flags). */
extern const unsigned short clinux_NLM_F_REQUEST;
extern const unsigned short clinux_NLM_F_MULTI;
extern const unsigned short clinux_NLM_F_DUMP;

/* Link attributes (struct rtattr.rta_type after struct ifinfomsg) and RFC 2863 operational states (IF_OPER_*). */
extern const unsigned short clinux_IFLA_IFNAME;
extern const unsigned short clinux_IFLA_OPERSTATE;
extern const unsigned char clinux_IF_OPER_UNKNOWN;
extern const unsigned char clinux_IF_OPER_DOWN;
extern const unsigned char clinux_IF_OPER_UP;
/* Interface flags (struct ifinfomsg.ifi_flags): IFF_UP (administratively up), IFF_RUNNING, IFF_LOWER_UP (carrier). */
extern const unsigned int clinux_IFF_UP;
extern const unsigned int clinux_IFF_RUNNING;
extern const unsigned int clinux_IFF_LOWER_UP;

/* Route attributes (after struct rtmsg), the main table and the unicast route type. */
extern const unsigned short clinux_RTA_DST;
extern const unsigned short clinux_RTA_OIF;
extern const unsigned short clinux_RTA_GATEWAY;
extern const unsigned short clinux_RTA_PRIORITY;
extern const unsigned short clinux_RTA_TABLE;
extern const unsigned char clinux_RT_TABLE_MAIN;
extern const unsigned char clinux_RTN_UNICAST;

/* Sizes of the fixed headers: struct nlmsghdr (16), struct ifinfomsg (16), struct rtmsg (12), struct ifaddrmsg (8),
   struct rtattr (4), struct sockaddr_nl (12); NLMSG_ALIGNTO and RTA_ALIGNTO are 4. */
extern const unsigned int clinux_nlmsghdr_size;
extern const unsigned int clinux_ifinfomsg_size;
extern const unsigned int clinux_rtmsg_size;
extern const unsigned int clinux_ifaddrmsg_size;
extern const unsigned int clinux_rtattr_size;
extern const unsigned int clinux_sockaddr_nl_size;

/* Opens an rtnetlink socket (socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE)), bound
   (struct sockaddr_nl, port id chosen by the kernel) to the multicast `groups` (0 for a socket that only sends
   requests and reads their replies), with a receive buffer of at least `receive_buffer` bytes. Returns the
   descriptor, or -1 with errno set. */
int clinux_netlink_open_route(unsigned int groups, int receive_buffer);
#endif
