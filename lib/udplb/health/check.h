/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A health check's specification (what to probe, how often, how results damp) and its config
 * syntax: the words after the `check` keyword of a `vip` or `backend` line, e.g.
 *
 *   none
 *   udp send 68656c6c6f expect 6f6bXX min-reply 2
 *   udp expect none                    (no reply expected: only an ICMP unreachable fails)
 *   dns name health.example. type A interval 2s timeout 1s rise 2 fall 3
 *   dns rcode NXDOMAIN                 (the reply's rcode must be NXDOMAIN; no answer needed)
 *   exec /usr/local/bin/probe.sh timeout 3s
 *
 * Grammar: KIND [OPTION VALUE]..., options in any order, each at most once.
 *   kind     none | udp | dns | exec PATH (absolute path, run without a shell; the backend is in
 *            its environment: UDPLB_BACKEND_ADDR, UDPLB_BACKEND_PORT, UDPLB_VIP, UDPLB_VIP_PORT)
 *   common   port N (1-65535; default the backend's) | path direct|via-lb | interval D |
 *            timeout D | jitter D | rise N | fall N (1-1000) | initial up|down
 *            D = decimal digits then "ms" or "s" (200ms, 2s); interval and timeout 1ms-3600s,
 *            jitter 0-3600s (each target's first probe waits a random 0..jitter)
 *   udp      send HEX (even number of hex digits, at most LB_CHECK_PAYLOAD_MAX bytes; default
 *            empty datagram) | expect PATTERN (hex, X = any nibble) or "none" | min-reply N |
 *            max-reply N (bytes, 0-65507; max-reply 0 = no bound)
 *   dns      name NAME (default ".") | type A|NS|CNAME|SOA|PTR|MX|TXT|AAAA|SRV|ANY (default SOA) |
 *            rcode NOERROR|FORMERR|SERVFAIL|NXDOMAIN|NOTIMP|REFUSED|answer (default "answer":
 *            NOERROR with at least one answer record)
 * `none` takes no options (the backend is always up). Defaults (lb_check_defaults()) follow GLB:
 * interval 2s, timeout 1s, rise 2, fall 3, initial down, no jitter, path direct.
 */
#ifndef __UDPLB_HEALTH_CHECK_H
#define __UDPLB_HEALTH_CHECK_H

#include <stddef.h>
#include <linux/types.h>

#include "lb.h"
#include "names.h"

enum lb_check_kind {
	LB_CHECK_NONE = 0,
	LB_CHECK_UDP,
	LB_CHECK_DNS,
	LB_CHECK_EXEC,
};

enum lb_check_path {
	LB_CHECK_PATH_DIRECT = 0, /* to the backend's own address */
	LB_CHECK_PATH_VIA_LB,	  /* to the VIP at the backend's MAC (not implemented yet) */
};

enum lb_health_state {
	LB_HEALTH_DOWN = 0,
	LB_HEALTH_UP,
};

/* lb_check.dns.rcode: no particular rcode, NOERROR with at least one answer. */
#define LB_DNS_RCODE_ANSWER (-1)

#define LB_CHECK_PAYLOAD_MAX 512
#define LB_CHECK_DNS_NAME_MAX 254 /* text, with the trailing dot */
#define LB_CHECK_CMD_MAX 512
#define LB_CHECK_REPLY_MAX 65507
#define LB_CHECK_TIME_MAX_MS 3600000U
#define LB_CHECK_COUNT_MAX 1000U

struct lb_check {
	__u8 kind;	   /* enum lb_check_kind */
	__u8 path;	   /* enum lb_check_path */
	__u8 initial;	   /* enum lb_health_state */
	__be16 port;	   /* 0 = the backend's port */
	__u32 interval_ms; /* from the start of one probe to the start of the next */
	__u32 timeout_ms;  /* a probe without an answer by then fails */
	__u32 jitter_ms; /* the first probe starts a random 0..jitter_ms after the target is added */
	__u32 rise;	 /* consecutive passes that bring a down backend up */
	__u32 fall;	 /* consecutive failures that bring an up backend down */
	struct {
		__u16 send_len;
		__u16 expect_len; /* bytes of the pattern; 0 = any reply */
		bool expect_none; /* no reply expected: silence until the timeout passes */
		__u32 min_reply;
		__u32 max_reply; /* 0 = no bound */
		__u8 send[LB_CHECK_PAYLOAD_MAX];
		__u8 expect[LB_CHECK_PAYLOAD_MAX];	/* the pattern, X nibbles zero */
		__u8 expect_mask[LB_CHECK_PAYLOAD_MAX]; /* 0xf0/0x0f/0xff: nibbles that must match */
	} udp;
	struct {
		char name[LB_CHECK_DNS_NAME_MAX + 1];
		__u16 type;
		__s16 rcode; /* 0-15, or LB_DNS_RCODE_ANSWER */
	} dns;
	struct {
		char cmd[LB_CHECK_CMD_MAX];
	} exec;
};

extern const struct lb_names lb_check_kind_names;   /* none, udp, dns, exec */
extern const struct lb_names lb_check_path_names;   /* direct, via-lb */
extern const struct lb_names lb_health_state_names; /* down, up */
extern const struct lb_names lb_dns_type_names;	    /* A, NS, ..., ANY */
extern const struct lb_names lb_dns_rcode_names;    /* NOERROR, ..., REFUSED */

/* Zero @c and set the defaults: kind none, interval 2s, timeout 1s, rise 2, fall 3, down. */
void lb_check_defaults(struct lb_check *c);

/*
 * Parse the @n words after `check` into @c (defaults first, then the words). -EINVAL with one
 * line in @err naming the word and what is wrong (the caller prefixes FILE:LINE); @c is then
 * unspecified.
 */
int lb_check_parse(char *const *words, int n, struct lb_check *c, struct lb_err *err);

/*
 * Write @c back in the same syntax (kind, its options, then every common option that differs
 * from the defaults), NUL-terminated. Returns the length, or -ENOSPC when @len is too small.
 * LB_CHECK_FMT_LEN always suffices. lb_check_parse() of the words gives @c back.
 */
#define LB_CHECK_FMT_LEN                                                                           \
	(2 * LB_CHECK_PAYLOAD_MAX * 2 + LB_CHECK_DNS_NAME_MAX + LB_CHECK_CMD_MAX + 256)
int lb_check_format(const struct lb_check *c, char *buf, size_t len);

#endif /* __UDPLB_HEALTH_CHECK_H */
