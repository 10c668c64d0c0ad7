/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The data plane's per-CPU counters of an instance, summed over every possible CPU, for the
 * metrics snapshot (metrics.h): the same sums `udplb stats` prints, so a scrape and the CLI
 * agree. Conventions as in lb.h: 0 or a negative errno (errno set too).
 */
#ifndef __UDPLB_DAEMON_COUNTERS_H
#define __UDPLB_DAEMON_COUNTERS_H

#include <stddef.h>
#include <linux/types.h>

#include "lb_instance.h"
#include "udplb_shared.h"

/* Sum the per-CPU value of @key in the per-CPU map @fd, a value of @nr_u64 u64 fields. */
int lb_counters_sum(int fd, __u32 key, __u64 *sum, size_t nr_u64);

/* Packets and bytes of the VIP whose stable id is @vip_id (struct lb_vip.id). */
int lb_counters_vip(const struct lb_instance *inst, __u32 vip_id, struct udplb_counter *c);
/* Packets and bytes of the backend whose stable id is @backend_id (struct lb_backend.id). */
int lb_counters_backend(const struct lb_instance *inst, __u32 backend_id, struct udplb_counter *c);
/* Packets by enum udplb_reason. */
int lb_counters_reasons(const struct lb_instance *inst, __u64 reasons[__UDPLB_R_MAX]);

#endif /* __UDPLB_DAEMON_COUNTERS_H */
