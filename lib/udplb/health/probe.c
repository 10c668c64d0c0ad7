// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One probe: dispatch to the check kind, and what every kind shares (clock, completion). */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "kinds.h"

__u64 lb_health_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

void lb_probe_init(struct lb_probe *p)
{
	p->fd = -1;
	p->sock = -1;
	p->busy = false;
	p->fd_new = false;
	p->kind = LB_CHECK_NONE;
	p->start_ns = 0;
	p->pid = 0;
	p->query_len = 0;
}

int lb_probe_done(struct lb_probe *p, struct lb_probe_result *r, __u8 cause, int detail)
{
	__u64 rtt_ns = lb_health_now_ns() - p->start_ns;

	r->cause = cause;
	r->detail = detail;
	r->rtt_us = rtt_ns / 1000 > UINT32_MAX ? UINT32_MAX : (__u32)(rtt_ns / 1000);
	/* The kept socket stays open; anything else (a pidfd) was for this probe only. */
	if (p->fd >= 0 && p->fd != p->sock) {
		close(p->fd);
		p->fd_new = false;
	}
	p->fd = -1;
	p->pid = 0;
	p->busy = false;
	return LB_PROBE_DONE;
}

__be16 lb_probe_port(const struct lb_check *c, const struct lb_probe_target *t)
{
	return c->port ? c->port : t->port;
}

int lb_probe_start(struct lb_probe *p, const struct lb_check *c, const struct lb_probe_target *t,
		   struct lb_probe_result *r)
{
	if (lb_probe_busy(p))
		lb_probe_cancel(p);
	p->kind = c->kind;
	p->start_ns = lb_health_now_ns();
	p->busy = true;
	if (c->kind == LB_CHECK_NONE)
		return lb_probe_done(p, r, LB_PROBE_PASS, 0);
	if (c->path != LB_CHECK_PATH_DIRECT)
		return lb_probe_done(p, r, LB_PROBE_ERROR, EOPNOTSUPP);
	switch (c->kind) {
	case LB_CHECK_UDP:
		return lb_udp_start(p, c, t, r);
	case LB_CHECK_DNS:
		return lb_dns_start(p, c, t, r);
	case LB_CHECK_EXEC:
		return lb_exec_start(p, c, t, r);
	default:
		return lb_probe_done(p, r, LB_PROBE_ERROR, EINVAL);
	}
}

int lb_probe_on_readable(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	if (!lb_probe_busy(p)) {
		if (p->sock >= 0)
			lb_udp_drain(p->sock);
		return LB_PROBE_PENDING;
	}
	switch (p->kind) {
	case LB_CHECK_UDP:
		return lb_udp_readable(p, c, r);
	case LB_CHECK_DNS:
		return lb_dns_readable(p, c, r);
	case LB_CHECK_EXEC:
		return lb_exec_readable(p, c, r);
	default:
		return lb_probe_done(p, r, LB_PROBE_ERROR, EINVAL);
	}
}

int lb_probe_on_timeout(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	/* A reply (or an ICMP error) that is already queued counts: look before giving up. */
	if (p->kind == LB_CHECK_UDP)
		return lb_udp_timeout(p, c, r);
	if (p->kind == LB_CHECK_EXEC)
		return lb_exec_timeout(p, c, r);
	if (lb_probe_busy(p) && lb_probe_on_readable(p, c, r) == LB_PROBE_DONE)
		return LB_PROBE_DONE;
	return lb_probe_done(p, r, LB_PROBE_TIMEOUT, 0);
}

void lb_probe_cancel(struct lb_probe *p)
{
	if (p->kind == LB_CHECK_EXEC)
		lb_exec_cancel(p);
	if (p->fd >= 0 && p->fd != p->sock)
		close(p->fd);
	if (p->sock >= 0)
		close(p->sock);
	p->fd = -1;
	p->sock = -1;
	p->pid = 0;
	p->busy = false;
	p->fd_new = false;
}
