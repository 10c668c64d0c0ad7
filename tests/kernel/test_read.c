// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bulk reads of a live side on real maps: abmap_array_read() through mmap() and through
 * bpf_map_lookup_batch(), abmap_hash_read() through batches, and a reader racing a writer that
 * flips without pause, where only the second look at the generation keeps the reads consistent.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abmap/testing.h"
#include "ktest.h"

static void array_read(bool mmapable, bool with_len)
{
	__u32 v[100], got[128], len = 0, i;
	int ptr, a, b, lf = 0;
	struct abmap_group *g;
	struct abmap *arr;
	__u64 gen = 0;

	ktest_begin();
	ptr = ktest_pointer_map();
	a = ktest_array_map("kt_ra", sizeof(__u32), 128, mmapable);
	b = ktest_array_map("kt_rb", sizeof(__u32), 128, mmapable);
	if (with_len)
		lf = ktest_len_map();
	g = ktest_group(ptr, 0);
	arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b,
			&(struct abmap_opts){ .sz = sizeof(struct abmap_opts), .len_fd = lf });
	assert_non_null(arr);
	for (i = 0; i < 100; i++)
		v[i] = 7 * i + 1;
	assert_int_equal(abmap_array_set(arr, v, 100), 0);
	assert_int_equal(abmap_array_set(arr, v, 60), 0);

	memset(got, 0xa5, sizeof(got));
	assert_int_equal(abmap_array_read(arr, 0, 128, got, &len, &gen), 0);
	assert_int_equal(gen, ktest_group_gen(g));
	assert_int_equal(len, with_len ? 60 : 128);
	assert_memory_equal(got, v, 60 * sizeof(__u32));
	for (i = 60; i < 128; i++)
		assert_int_equal(got[i], 0);

	/* A range that starts past 0 (the batch resumes after index start - 1) and ends at max. */
	assert_int_equal(abmap_array_read(arr, 50, 78, got, NULL, NULL), 0);
	assert_memory_equal(got, &v[50], 10 * sizeof(__u32));
	assert_int_equal(got[10], 0);
	assert_int_equal(abmap_array_read(arr, 127, 1, got, NULL, NULL), 0);
	assert_int_equal(abmap_array_read(arr, 1, 128, got, NULL, NULL), -EINVAL);
}

static void test_array_read_mmap(void **state)
{
	(void)state;
	array_read(true, true);
}

static void test_array_read_batch(void **state)
{
	(void)state;
	array_read(false, true);
}

static void test_array_read_nolen(void **state)
{
	(void)state;
	array_read(false, false);
}

static void test_hash_read(void **state)
{
	enum { MAX = 1000 };
	__u32 *keys = calloc(MAX, sizeof(__u32)), *got_keys = calloc(MAX, sizeof(__u32)), n = 0, i;
	__u64 *vals = calloc(MAX, sizeof(__u64)), *got_vals = calloc(MAX, sizeof(__u64)), gen = 0;
	bool *seen = calloc(MAX * 3, sizeof(bool));
	struct abmap_group *g;
	struct abmap *h;
	int ptr, a, b;

	(void)state;
	ktest_begin();
	assert_true(keys && got_keys && vals && got_vals && seen);
	ptr = ktest_pointer_map();
	a = ktest_hash_map("kt_rha", sizeof(__u32), sizeof(__u64), MAX);
	b = ktest_hash_map("kt_rhb", sizeof(__u32), sizeof(__u64), MAX);
	g = ktest_group(ptr, 0);
	h = abmap_new(g, ABMAP_KIND_HASH, a, b, NULL);
	assert_non_null(h);

	assert_int_equal(abmap_hash_read(h, got_keys, got_vals, MAX, &n, &gen), 0);
	assert_int_equal(n, 0);
	for (i = 0; i < MAX; i++) {
		keys[i] = 3 * i;
		vals[i] = 1000000 + i;
	}
	assert_int_equal(abmap_hash_set(h, keys, vals, MAX), 0);
	assert_int_equal(abmap_hash_read(h, got_keys, got_vals, MAX, &n, &gen), 0);
	assert_int_equal(gen, ktest_group_gen(g));
	assert_int_equal(n, MAX);
	for (i = 0; i < n; i++) {
		assert_true(got_keys[i] % 3 == 0 && got_keys[i] < 3 * MAX);
		assert_false(seen[got_keys[i]]);
		seen[got_keys[i]] = true;
		assert_int_equal(got_vals[i], 1000000 + got_keys[i] / 3);
	}

	/* Smaller buffers: -ENOSPC with the size needed; exactly enough: every pair. */
	assert_int_equal(abmap_hash_set(h, keys, vals, 300), 0);
	assert_int_equal(abmap_hash_read(h, got_keys, got_vals, 299, &n, NULL), -ENOSPC);
	assert_int_equal(n, 300);
	assert_int_equal(abmap_hash_read(h, got_keys, got_vals, 300, &n, NULL), 0);
	assert_int_equal(n, 300);
	for (i = 0; i < n; i++)
		assert_int_equal(got_vals[i], 1000000 + got_keys[i] / 3);
	free(keys);
	free(got_keys);
	free(vals);
	free(got_vals);
	free(seen);
}

/*
 * The race: a writer (its own group on the same pointer map, no grace period) replaces the
 * whole array of u64 (no padding in the mmap) with content number g (every element g) at each flip to generation g. Right
 * after a flip it rewrites the side that was just live, while a reader may still copy it.
 */
#define RACE_ENTRIES (1U << 17)
#define RACE_SECONDS 30
/* One torn naive copy proves the race happens (under ASan the window is rarer). */
#define RACE_MIN_TORN 1

struct race {
	struct abmap *writer_arr;
	struct abmap_group *writer;
	volatile bool stop;
	int err;
	__u64 flips;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	__u64 *vals = malloc(RACE_ENTRIES * sizeof(__u64));
	__u32 i;
	__u64 gen;

	while (vals && !r->stop && !r->err) {
		r->err = abmap_group_generation(r->writer, &gen);
		for (i = 0; !r->err && i < RACE_ENTRIES; i++)
			vals[i] = gen + 1;
		if (!r->err)
			r->err = abmap_array_set(r->writer_arr, vals, RACE_ENTRIES);
		r->flips++;
	}
	if (!vals)
		r->err = -ENOMEM;
	free(vals);
	return NULL;
}

/* Elements of @vals that are not content number @gen. */
static __u32 count_wrong(const __u64 *vals, __u64 gen)
{
	__u32 i, wrong = 0;

	for (i = 0; i < RACE_ENTRIES; i++)
		wrong += vals[i] != gen;
	return wrong;
}

/* What a hand-rolled reader does: read the generation, copy the live side element by element. */
static __u64 naive_read(struct abmap_group *g, void *const mem[2], __u64 *vals)
{
	__u64 gen = ktest_group_gen(g);
	const volatile __u64 *side = mem[gen & 1];
	__u32 i;

	for (i = 0; i < RACE_ENTRIES; i++)
		vals[i] = side[i];
	return gen;
}

static void test_array_read_racing_flips(void **state)
{
	__u64 *vals = malloc(RACE_ENTRIES * sizeof(__u64));
	__u64 gen, reads = 0, naive_reads = 0, naive_torn = 0, again = 0, deadline;
	struct abmap_group_opts go;
	struct race r = { 0 };
	struct abmap_group *g;
	struct abmap *arr;
	void *mem[2];
	pthread_t th;
	int ptr, a, b, err;

	(void)state;
	ktest_begin();
	assert_non_null(vals);
	ktest_defer(free, vals);
	ptr = ktest_pointer_map();
	a = ktest_array_map("kt_race_a", sizeof(__u64), RACE_ENTRIES, true);
	b = ktest_array_map("kt_race_b", sizeof(__u64), RACE_ENTRIES, true);
	g = ktest_group(ptr, 0);
	arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b, NULL);
	assert_non_null(arr);
	ktest_group_opts(&go, -1);
	r.writer = ktest_track_group(abmap_group_new(ptr, &go));
	assert_int_equal(abmap_testing_set_no_grace(r.writer, true), 0);
	r.writer_arr = abmap_new(r.writer, ABMAP_KIND_ARRAY, a, b, NULL);
	assert_non_null(r.writer_arr);
	mem[0] = mmap(NULL, RACE_ENTRIES * sizeof(__u64), PROT_READ, MAP_SHARED, a, 0);
	mem[1] = mmap(NULL, RACE_ENTRIES * sizeof(__u64), PROT_READ, MAP_SHARED, b, 0);
	assert_true(mem[0] != MAP_FAILED && mem[1] != MAP_FAILED);

	assert_int_equal(pthread_create(&th, NULL, race_writer, &r), 0);
	deadline = ktest_now_ns() + RACE_SECONDS * 1000000000ULL;
	/* Until the naive reader has been caught out a few times (or time is up). */
	while (ktest_now_ns() < deadline && (naive_torn < RACE_MIN_TORN || reads < 100)) {
		gen = naive_read(g, mem, vals);
		naive_reads++;
		naive_torn += count_wrong(vals, gen) != 0;

		err = abmap_array_read(arr, 0, RACE_ENTRIES, vals, NULL, &gen);
		if (err == -EAGAIN) {
			again++;
			continue;
		}
		assert_int_equal(err, 0);
		reads++;
		if (gen && count_wrong(vals, gen))
			fail_msg(
				"abmap_array_read: %u elements of generation %llu are not its content (read %llu)",
				count_wrong(vals, gen), (unsigned long long)gen,
				(unsigned long long)reads);
	}
	r.stop = true;
	pthread_join(th, NULL);
	print_message(
		"%llu flips, %llu consistent reads (%llu gave up), naive reader torn %llu of %llu\n",
		(unsigned long long)r.flips, (unsigned long long)reads, (unsigned long long)again,
		(unsigned long long)naive_torn, (unsigned long long)naive_reads);
	assert_int_equal(r.err, 0);
	/* Negative control: the race really rewrites sides under readers. */
	if (naive_torn < RACE_MIN_TORN)
		fail_msg(
			"the naive reader saw only %llu torn copies in %llu: the race did not happen",
			(unsigned long long)naive_torn, (unsigned long long)naive_reads);
	assert_true(reads >= 100);
	munmap(mem[0], RACE_ENTRIES * sizeof(__u64));
	munmap(mem[1], RACE_ENTRIES * sizeof(__u64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_array_read_mmap),	     KTEST(test_array_read_batch),
		KTEST(test_array_read_nolen),	     KTEST(test_hash_read),
		KTEST(test_array_read_racing_flips),
	};

	return cmocka_run_group_tests_name("kernel/read", tests, NULL, NULL);
}
