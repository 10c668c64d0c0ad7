/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Strict parsers of the values an operator types (command line and apply file): decimal numbers
 * in exact ranges, IPv4 addresses and ports, MAC addresses. No octal, no hex, no sign, no
 * blanks, no leading zeros: "053" is an error, not port 43.
 *
 * Return 0, -EINVAL (not the expected syntax) or -ERANGE (well formed, out of range); the MAC and
 * address parsers return -EDOM for a well-formed value that cannot be used (multicast, ...).
 * Addresses and ports come out in network byte order.
 */
#ifndef __UDPLB_PARSE_H
#define __UDPLB_PARSE_H

#include <stdbool.h>
#include <linux/types.h>

/* A decimal number from @min to @max. */
int lb_parse_u64(const char *s, __u64 min, __u64 max, __u64 *out);
int lb_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);

/* A dotted-quad IPv4 address. */
int lb_parse_ipv4(const char *s, __be32 *addr);
/*
 * An address a VIP or a backend can have: not 0.0.0.0/8, 127.0.0.0/8, multicast (224/4),
 * reserved (240/4) or broadcast.
 */
bool lb_addr_usable(__be32 addr);
/*
 * "ADDR:PORT" (port 1-65535), or "ADDR" when !@port_required (then *port = 0). -EDOM: the address
 * is not usable (lb_addr_usable()).
 */
int lb_parse_addr_port(const char *s, __be32 *addr, __be16 *port, bool port_required);

/*
 * "02:00:00:00:00:01": six octets of exactly two hex digits each, ':' between them. -EDOM:
 * a group (multicast or broadcast) or all-zero MAC, which no next hop has.
 */
int lb_parse_mac(const char *s, __u8 mac[6]);

#endif /* __UDPLB_PARSE_H */
