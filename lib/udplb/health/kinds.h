/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Internal to lib/udplb/health: each check kind's start / readable / timeout steps. */
#ifndef __UDPLB_HEALTH_KINDS_H
#define __UDPLB_HEALTH_KINDS_H

#include "probe.h"

/* Complete @p with @cause and @detail: fill @r, close the fd. Returns LB_PROBE_DONE. */
int lb_probe_done(struct lb_probe *p, struct lb_probe_result *r, __u8 cause, int detail);
/* The port a check probes: its own, else the backend's. */
__be16 lb_probe_port(const struct lb_check *c, const struct lb_probe_target *t);
/*
 * Make p->sock (kept between probes; created and connected to @addr:@port when missing, else
 * drained of stale replies and errors) the probe's fd. 0 or -errno.
 */
int lb_probe_socket(struct lb_probe *p, __be32 addr, __be16 port);
/* Read and drop whatever is queued on @fd (datagrams, a pending ICMP error). */
void lb_udp_drain(int fd);

int lb_udp_start(struct lb_probe *p, const struct lb_check *c, const struct lb_probe_target *t,
		 struct lb_probe_result *r);
int lb_udp_readable(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r);
int lb_udp_timeout(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r);

int lb_dns_start(struct lb_probe *p, const struct lb_check *c, const struct lb_probe_target *t,
		 struct lb_probe_result *r);
int lb_dns_readable(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r);

int lb_exec_start(struct lb_probe *p, const struct lb_check *c, const struct lb_probe_target *t,
		  struct lb_probe_result *r);
int lb_exec_readable(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r);
int lb_exec_timeout(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r);
void lb_exec_cancel(struct lb_probe *p);

#endif /* __UDPLB_HEALTH_KINDS_H */
