// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/daemon/counters.c on real per-CPU maps: every CPU's share is counted once, the
 * reasons come by index, a key out of range or a closed map is an error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "ktest.h"
#include "daemon/counters.h"

#define NR_IDS 4

/* Each CPU c holds (c + 1) * @scale in every field of @key's value. */
static void fill_percpu(int fd, __u32 key, size_t nr_u64, __u64 scale)
{
	int cpus = libbpf_num_possible_cpus(), c;
	__u64 *vals = calloc((size_t)cpus, nr_u64 * sizeof(*vals));
	size_t i;

	assert_non_null(vals);
	for (c = 0; c < cpus; c++)
		for (i = 0; i < nr_u64; i++)
			vals[(size_t)c * nr_u64 + i] = (c + 1) * scale * (i + 1);
	assert_int_equal(bpf_map_update_elem(fd, &key, vals, BPF_ANY), 0);
	free(vals);
}

static void test_counters(void **state)
{
	__u64 cpus, tri, reasons[__UDPLB_R_MAX];
	struct udplb_counter c;
	struct lb_instance inst;
	__u32 r;

	(void)state;
	ktest_begin();
	cpus = libbpf_num_possible_cpus();
	tri = cpus * (cpus + 1) / 2; /* 1 + 2 + ... + cpus */
	memset(&inst, 0, sizeof(inst));
	for (r = 0; r < __LB_PIN_MAX; r++)
		inst.fd[r] = -1;
	inst.fd[LB_PIN_VIP_STATS] = ktest_map(BPF_MAP_TYPE_PERCPU_ARRAY, "vip_stats", 4,
					      sizeof(struct udplb_counter), NR_IDS, 0);
	inst.fd[LB_PIN_BACKEND_STATS] = ktest_map(BPF_MAP_TYPE_PERCPU_ARRAY, "backend_stats", 4,
						  sizeof(struct udplb_counter), NR_IDS, 0);
	inst.fd[LB_PIN_REASONS] =
		ktest_map(BPF_MAP_TYPE_PERCPU_ARRAY, "reasons", 4, 8, __UDPLB_R_MAX, 0);
	fill_percpu(inst.fd[LB_PIN_VIP_STATS], 2, 2, 10);
	fill_percpu(inst.fd[LB_PIN_BACKEND_STATS], 3, 2, 1000);
	for (r = 0; r < __UDPLB_R_MAX; r++)
		fill_percpu(inst.fd[LB_PIN_REASONS], r, 1, r);

	assert_int_equal(lb_counters_vip(&inst, 2, &c), 0);
	assert_int_equal(c.packets, 10 * tri);
	assert_int_equal(c.bytes, 20 * tri);
	assert_int_equal(lb_counters_vip(&inst, 1, &c), 0);
	assert_int_equal(c.packets, 0);
	assert_int_equal(lb_counters_backend(&inst, 3, &c), 0);
	assert_int_equal(c.packets, 1000 * tri);
	assert_int_equal(c.bytes, 2000 * tri);
	assert_int_equal(lb_counters_reasons(&inst, reasons), 0);
	for (r = 0; r < __UDPLB_R_MAX; r++)
		assert_int_equal(reasons[r], r * tri);

	assert_int_equal(lb_counters_vip(&inst, NR_IDS, &c), -ENOENT);
	assert_int_equal(errno, ENOENT);
	inst.fd[LB_PIN_BACKEND_STATS] = -1;
	assert_int_equal(lb_counters_backend(&inst, 0, &c), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_counters),
	};

	return cmocka_run_group_tests_name("kernel/counters", tests, NULL, NULL);
}
