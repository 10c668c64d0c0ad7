// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-CPU counters summed (BPF_MAP_TYPE_PERCPU_ARRAY: one value per possible CPU). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/counters.h"

int lb_counters_sum(int fd, __u32 key, __u64 *sum, size_t nr_u64)
{
	int cpus = libbpf_num_possible_cpus(), c, ret = 0;
	__u64 *vals;
	size_t i;

	if (cpus < 0) {
		errno = -cpus;
		return cpus;
	}
	vals = calloc((size_t)cpus, nr_u64 * sizeof(*vals));
	if (!vals) {
		errno = ENOMEM;
		return -ENOMEM;
	}
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		ret = -errno;
		free(vals);
		errno = -ret;
		return ret;
	}
	memset(sum, 0, nr_u64 * sizeof(*sum));
	for (c = 0; c < cpus; c++)
		for (i = 0; i < nr_u64; i++)
			sum[i] += vals[(size_t)c * nr_u64 + i];
	free(vals);
	return 0;
}

/* struct udplb_counter is two u64 fields (packets, bytes), as the per-CPU value is laid out. */
_Static_assert(sizeof(struct udplb_counter) == 2 * sizeof(__u64), "udplb_counter layout");

int lb_counters_vip(const struct lb_instance *inst, __u32 vip_id, struct udplb_counter *c)
{
	return lb_counters_sum(inst->fd[LB_PIN_VIP_STATS], vip_id, (__u64 *)c, 2);
}

int lb_counters_backend(const struct lb_instance *inst, __u32 backend_id, struct udplb_counter *c)
{
	return lb_counters_sum(inst->fd[LB_PIN_BACKEND_STATS], backend_id, (__u64 *)c, 2);
}

int lb_counters_reasons(const struct lb_instance *inst, __u64 reasons[__UDPLB_R_MAX])
{
	__u32 r;
	int ret;

	for (r = 0; r < __UDPLB_R_MAX; r++) {
		ret = lb_counters_sum(inst->fd[LB_PIN_REASONS], r, &reasons[r], 1);
		if (ret)
			return ret;
	}
	return 0;
}
