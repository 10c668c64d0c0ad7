// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A 65,536-entry u32 array committed in full on each write path: BPF_F_MMAPABLE maps (mmap
 * path), plain maps (batch path) and, for comparison, libabmap's per-element path, against a
 * per-element bpf_map_update_elem() loop and one bpf_map_update_batch() call that do not use
 * libabmap. Correctness is asserted; times are only printed (a shared 2-vCPU machine is too
 * noisy to assert them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define ENTRIES 65536
#define ROUNDS 5

static void free_buf(void *arg)
{
	free(arg);
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p)
		fail_msg("out of memory");
	ktest_defer(free_buf, p);
	return p;
}

static void fill(__u32 *v, __u32 round)
{
	__u32 i;

	for (i = 0; i < ENTRIES; i++)
		v[i] = i * 2654435761u + round * 7919u + 1;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static void print_times(const char *label, __u64 *ns, int n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("  %-38s 65536 x u32: median %8.3f ms (min %.3f, max %.3f, n=%d), "
	       "%6.1f ns/elem\n",
	       label, ns[n / 2] / 1e6, ns[0] / 1e6, ns[n - 1] / 1e6, n,
	       (double)ns[n / 2] / ENTRIES);
	fflush(stdout);
}

/* Every 509th element and the last one of the live side, through the kernel and the library. */
static void check_sample(struct abmap *arr, int live, const __u32 *v)
{
	__u32 i, got;

	for (i = 0; i < ENTRIES; i += 509) {
		assert_int_equal(ktest_u32(live, i), v[i]);
		assert_int_equal(abmap_array_get(arr, i, &got), 0);
		assert_int_equal(got, v[i]);
	}
	assert_int_equal(ktest_u32(live, ENTRIES - 1), v[ENTRIES - 1]);
}

static const char *const path_names[] = {
	[ABMAP_WRITE_AUTO] = "auto",
	[ABMAP_WRITE_MMAP] = "mmap",
	[ABMAP_WRITE_BATCH] = "batch",
	[ABMAP_WRITE_ELEMENT] = "element",
};

static void time_commits(bool mmapable, bool with_len, enum abmap_write_path path)
{
	__u64 ns[ROUNDS], t0, t1, gen = 0;
	struct abmap_group *g;
	struct abmap *arr;
	int ptr, a, b, lf = 0, r;
	__u32 *v, len;
	char label[64];

	ptr = ktest_pointer_map();
	a = ktest_array_map("kt_wp_a", 4, ENTRIES, mmapable);
	b = ktest_array_map("kt_wp_b", 4, ENTRIES, mmapable);
	if (with_len)
		lf = ktest_len_map();
	LIBABMAP_OPTS(abmap_opts, o, .len_fd = lf, .write_path = path);
	g = ktest_group(ptr, 0);
	arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b, &o);
	assert_non_null(arr);
	v = xmalloc(ENTRIES * sizeof(*v));

	/* Warm-up (first write after opening), untimed. */
	fill(v, 0);
	assert_int_equal(abmap_array_set(arr, v, ENTRIES), 0);
	for (r = 0; r < ROUNDS; r++) {
		fill(v, r + 1);
		/* Outside the timed region: the retired side's grace period. */
		assert_int_equal(abmap_group_sync(g), 0);
		t0 = ktest_now_ns();
		assert_int_equal(abmap_array_set(arr, v, ENTRIES), 0);
		t1 = ktest_now_ns();
		ns[r] = t1 - t0;
		gen = ktest_generation(ptr);
		assert_int_equal(gen, r + 2);
		check_sample(arr, (gen & 1) ? b : a, v);
		if (with_len) {
			assert_int_equal(ktest_u32(lf, gen & 1), ENTRIES);
			assert_int_equal(abmap_array_len(arr, &len), 0);
			assert_int_equal(len, ENTRIES);
		}
	}
	snprintf(label, sizeof(label), "%s, %smmapable%s:", path_names[path],
		 mmapable ? "" : "not ", with_len ? ", len map" : "");
	print_times(label, ns, ROUNDS);

	/* The retired side still holds the previous round (fill(v, ROUNDS - 1)), in full. */
	fill(v, ROUNDS - 1);
	ktest_assert_array((gen & 1) ? a : b, v, ENTRIES, ENTRIES);
}

static void test_mmap_path(void **state)
{
	(void)state;
	ktest_begin();
	time_commits(true, false, ABMAP_WRITE_MMAP);
}

static void test_mmap_path_len(void **state)
{
	(void)state;
	ktest_begin();
	time_commits(true, true, ABMAP_WRITE_MMAP);
}

static void test_auto_mmapable(void **state)
{
	(void)state;
	ktest_begin();
	time_commits(true, false, ABMAP_WRITE_AUTO);
}

static void test_batch_path(void **state)
{
	(void)state;
	ktest_begin();
	time_commits(false, false, ABMAP_WRITE_BATCH);
}

static void test_auto_not_mmapable(void **state)
{
	(void)state;
	ktest_begin();
	time_commits(false, false, ABMAP_WRITE_AUTO);
}

static void test_element_path(void **state)
{
	(void)state;
	ktest_begin();
	time_commits(false, false, ABMAP_WRITE_ELEMENT);
}

/* Baselines without libabmap. */
static void test_baselines(void **state)
{
	__u64 ns[3], t0;
	__u32 *v, *keys, i;
	int fd, r;
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);

	(void)state;
	ktest_begin();
	fd = ktest_array_map("kt_wp_base", 4, ENTRIES, false);
	v = xmalloc(ENTRIES * sizeof(*v));
	keys = xmalloc(ENTRIES * sizeof(*keys));
	for (i = 0; i < ENTRIES; i++)
		keys[i] = i;

	for (r = 0; r < 3; r++) {
		fill(v, r);
		t0 = ktest_now_ns();
		for (i = 0; i < ENTRIES; i++)
			if (bpf_map_update_elem(fd, &keys[i], &v[i], BPF_ANY))
				fail_msg("bpf_map_update_elem(%u): %s", i, strerror(errno));
		ns[r] = ktest_now_ns() - t0;
		assert_int_equal(ktest_u32(fd, ENTRIES - 1), v[ENTRIES - 1]);
	}
	print_times("baseline update_elem loop:", ns, 3);

	for (r = 0; r < 3; r++) {
		__u32 count = ENTRIES;

		fill(v, r + 10);
		t0 = ktest_now_ns();
		if (bpf_map_update_batch(fd, keys, v, &count, &bo))
			fail_msg("bpf_map_update_batch: %s", strerror(errno));
		ns[r] = ktest_now_ns() - t0;
		assert_int_equal(count, ENTRIES);
		assert_int_equal(ktest_u32(fd, 12345), v[12345]);
	}
	print_times("baseline update_batch:", ns, 3);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		KTEST(test_mmap_path),
		KTEST(test_mmap_path_len),
		KTEST(test_auto_mmapable),
		KTEST(test_batch_path),
		KTEST(test_auto_not_mmapable),
		KTEST(test_element_path),
		KTEST(test_baselines),
	};
	/* clang-format on */

	return cmocka_run_group_tests_name("kernel/writepaths", tests, NULL, NULL);
}
