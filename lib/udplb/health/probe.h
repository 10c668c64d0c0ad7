/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One probe of one target, non-blocking: lb_probe_start() either completes at once or leaves an
 * fd to poll for POLLIN; when it is readable call lb_probe_on_readable(), and when the check's
 * timeout passes first, lb_probe_on_timeout(). Each of the three fills the result when it returns
 * LB_PROBE_DONE; the probe is then idle again. udp and dns probes keep their connected socket
 * from one probe to the next (opening and closing it was half of a probe's system calls); stale
 * replies and ICMP errors are drained before each send. lb_probe_cancel() closes it.
 *
 *   udp   a connected UDP socket sends the payload; the first reply decides (prefix match of the
 *         pattern, X nibbles free, length bounds); an ICMP port unreachable (ECONNREFUSED on
 *         recv) fails at once; with `expect none`, silence until the timeout passes.
 *   dns   a query (random id, RD) for the check's name and type over UDP; replies whose id or
 *         question differ are ignored; then rcode / answer count as the check says.
 *   exec  posix_spawn() of the command in its own process group, stdin and stdout /dev/null,
 *         stderr inherited, signal mask empty, the environment plus UDPLB_BACKEND_ADDR,
 *         UDPLB_BACKEND_PORT (the probed port), UDPLB_VIP, UDPLB_VIP_PORT; the fd is a pidfd;
 *         exit 0 passes; at the timeout the group is killed (SIGKILL) and the child reaped, so
 *         no zombie stays. The probe reaps its own child by pid: a caller's SIGCHLD handler
 *         must not reap with waitpid(-1), and SIGCHLD must not be SIG_IGN (children would
 *         vanish unreaped and the probe fail with LB_PROBE_ERROR, ECHILD).
 * The via-lb path is not implemented yet: such a probe completes at once with LB_PROBE_ERROR,
 * detail EOPNOTSUPP. A `none` check passes at once.
 */
#ifndef __UDPLB_HEALTH_PROBE_H
#define __UDPLB_HEALTH_PROBE_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#include "check.h"
#include "state.h"
#include "udplb_shared.h"

#define LB_PROBE_PENDING 0
#define LB_PROBE_DONE 1

/* 12-byte header, the name in wire form (at most 255), type and class. */
#define LB_DNS_QUERY_MAX (12 + 255 + 4)

/* What is probed: a backend (addr, port) of a VIP. Network byte order. */
struct lb_probe_target {
	struct udplb_vip_key vip;
	__be32 addr;
	__be16 port;
};

struct lb_probe {
	int fd;	     /* the fd to poll while busy (-1: none) */
	int sock;    /* udp, dns: the connected socket, kept from probe to probe (-1: none) */
	bool busy;   /* a probe is in flight */
	bool fd_new; /* fd is not in the caller's poll set yet: the event loop adds it, clears this */
	__u8 kind;   /* enum lb_check_kind of the probe in flight */
	__u64 start_ns;	 /* CLOCK_MONOTONIC */
	pid_t pid;	 /* exec: the child */
	__u16 query_len; /* dns: the query sent, to match the reply's id and question */
	__u8 query[LB_DNS_QUERY_MAX];
};

/* An idle probe. */
void lb_probe_init(struct lb_probe *p);
static inline bool lb_probe_busy(const struct lb_probe *p)
{
	return p->busy;
}

/* Start a probe of @t as @c says. LB_PROBE_PENDING (poll p->fd) or LB_PROBE_DONE (@r filled). */
int lb_probe_start(struct lb_probe *p, const struct lb_check *c, const struct lb_probe_target *t,
		   struct lb_probe_result *r);
/*
 * p->fd is readable. LB_PROBE_PENDING (nothing decisive yet: keep polling) or LB_PROBE_DONE.
 * Between probes the kept socket may still turn readable (a late reply): call this anyway, it
 * discards such datagrams and returns LB_PROBE_PENDING.
 */
int lb_probe_on_readable(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r);
/* The timeout passed: complete the probe (always LB_PROBE_DONE). */
int lb_probe_on_timeout(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r);
/* Abandon a probe in flight (kill and reap its child) and close everything it keeps. */
void lb_probe_cancel(struct lb_probe *p);

/* CLOCK_MONOTONIC in nanoseconds. */
__u64 lb_health_now_ns(void);

/*
 * DNS wire helpers. lb_dns_query_build(): the query for @name (text, "." = root) and @type with
 * id @id into @buf; returns its length, -EINVAL (bad name) or -ENOSPC. lb_dns_reply_parse():
 * 0 when @reply answers @query (same id, QR set, same question, names compared without case)
 * with *rcode and *ancount set; -EBADMSG otherwise.
 */
int lb_dns_query_build(__u8 *buf, size_t len, __u16 id, const char *name, __u16 type);
int lb_dns_reply_parse(const __u8 *query, size_t qlen, const __u8 *reply, size_t rlen, int *rcode,
		       __u16 *ancount);

#endif /* __UDPLB_HEALTH_PROBE_H */
