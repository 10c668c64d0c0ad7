// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Maglev table builder (cmd/maglev.c): balance with equal and unequal weights, flow spread,
 * disruption when a backend is removed or added, determinism across input orders, agreement with
 * a naive reference implementation, input validation, and (printed, not asserted) build times.
 */
#include "unit_helpers.h"

#include <math.h>
#include <time.h>
#include <arpa/inet.h>

#include "maglev.h"

#define M MAGLEV_DEFAULT_M
#define SEED 0x5eed1234U

/* Backend i: 10.(i >> 8).(i & 0xff).1 : 7000 + i % 3, id 100 + i (ids are not indexes). */
static void make_backend(struct maglev_backend *b, __u32 i, __u16 weight)
{
	b->addr = htonl(0x0a000001U | ((i & 0xffffU) << 8));
	b->port = htons(7000 + i % 3);
	b->weight = weight;
	b->id = 100 + i;
}

static struct maglev_backend *make_backends(__u32 n, __u16 weight)
{
	struct maglev_backend *b = calloc(n ? n : 1, sizeof(*b));
	__u32 i;

	assert_non_null(b);
	for (i = 0; i < n; i++)
		make_backend(&b[i], i, weight);
	return b;
}

static __u32 *new_table(__u32 m)
{
	__u32 *t = malloc((size_t)m * sizeof(*t));

	assert_non_null(t);
	return t;
}

/* counts[i] = slots of id 100 + i; fails on any slot holding an id outside [100, 100 + n). */
static void count_slots(const __u32 *table, __u32 m, __u32 n, __u32 *counts)
{
	__u32 i;

	memset(counts, 0, n * sizeof(*counts));
	for (i = 0; i < m; i++) {
		if (table[i] < 100 || table[i] >= 100 + n)
			fail_msg("slot %u holds id %u, not one of the %u backends", i, table[i], n);
		counts[table[i] - 100]++;
	}
}

/* Assert every backend's count is within max(rel * expected, abs_min) of m * w / total. */
static void check_shares(const struct maglev_backend *b, __u32 n, const __u32 *counts, __u32 m,
			 double rel, double abs_min)
{
	double total = 0;
	__u32 i;

	for (i = 0; i < n; i++)
		total += b[i].weight;
	for (i = 0; i < n; i++) {
		double want = (double)m * b[i].weight / total;
		double tol = fmax(rel * want, abs_min);

		if (fabs(counts[i] - want) > tol)
			fail_msg("backend %u (weight %u): %u slots, expected %.2f +- %.2f", i,
				 b[i].weight, counts[i], want, tol);
	}
}

static void test_equal_weights(void **state)
{
	static const __u32 ns[] = { 1, 3, 10, 100, 1000 };
	__u32 *table = new_table(M);
	size_t k;

	(void)state;
	for (k = 0; k < UT_ARRAY_SIZE(ns); k++) {
		__u32 n = ns[k];
		struct maglev_backend *b = make_backends(n, 1);
		__u32 *counts = calloc(n, sizeof(*counts));
		__u32 lo = UINT32_MAX, hi = 0, i;

		assert_non_null(counts);
		ut_ok(maglev_build(b, n, M, SEED, table));
		count_slots(table, M, n, counts);
		check_shares(b, n, counts, M, 0.01, 1.0);
		for (i = 0; i < n; i++) {
			lo = counts[i] < lo ? counts[i] : lo;
			hi = counts[i] > hi ? counts[i] : hi;
		}
		print_message("equal weights N=%u: slots per backend %u..%u (m/N = %.2f)\n", n, lo,
			      hi, (double)M / n);
		free(counts);
		free(b);
	}
	free(table);
}

static void check_weighted(const __u16 *weights, __u32 n)
{
	struct maglev_backend *b = make_backends(n, 1);
	__u32 *counts = calloc(n, sizeof(*counts));
	__u32 *table = new_table(M);
	__u32 i;

	assert_non_null(counts);
	for (i = 0; i < n; i++)
		b[i].weight = weights[i];
	ut_ok(maglev_build(b, n, M, SEED, table));
	count_slots(table, M, n, counts);
	check_shares(b, n, counts, M, 0.01, 1.0);
	free(table);
	free(counts);
	free(b);
}

static void test_weights(void **state)
{
	static const __u16 w1234[] = { 1, 2, 3, 4 };
	static const __u16 w1110[] = { 1, 1, 10 };
	static const __u16 w_big[] = { 65535, 1, 65535, 2, 30000, 7 };
	__u16 skew[201];
	__u32 i;

	(void)state;
	check_weighted(w1234, UT_ARRAY_SIZE(w1234));
	check_weighted(w1110, UT_ARRAY_SIZE(w1110));
	check_weighted(w_big, UT_ARRAY_SIZE(w_big));
	/* wmax far above the average: the heap scheduler */
	skew[0] = 1000;
	for (i = 1; i < UT_ARRAY_SIZE(skew); i++)
		skew[i] = 1 + i % 5;
	check_weighted(skew, UT_ARRAY_SIZE(skew));
}

struct flow {
	__u8 saddr[4], daddr[4], sport[2], dport[2], proto;
};

static void test_flows(void **state)
{
	const __u32 n = 10, nflows = 100000;
	struct maglev_backend *b = make_backends(n, 1);
	__u32 *table = new_table(M);
	__u32 counts[10] = { 0 };
	__u32 i;

	(void)state;
	ut_ok(maglev_build(b, n, M, SEED, table));
	for (i = 0; i < nflows; i++) {
		/* clients 172.16.0.0/12, ephemeral ports, one VIP 192.0.2.10:53 */
		struct flow f = {
			.saddr = { 172, 16 | ((i >> 16) & 0x0f), (i >> 8) & 0xff, i & 0xff },
			.daddr = { 192, 0, 2, 10 },
			.sport = { 0x80 | ((i * 7) >> 8 & 0x7f), (i * 7) & 0xff },
			.dport = { 0, 53 },
			.proto = 17,
		};
		__u32 id = table[maglev_hash64(&f, sizeof(f), SEED) % M];

		assert_in_range(id, 100, 100 + n - 1);
		counts[id - 100]++;
	}
	for (i = 0; i < n; i++) {
		double want = (double)nflows / n;

		if (fabs(counts[i] - want) > 0.05 * want)
			fail_msg("backend %u: %u of %u flows, expected %.0f +- 5%%", i, counts[i],
				 nflows, want);
	}
	free(table);
	free(b);
}

/* Fraction of slots whose owner was not @skip_id and changed between @a and @b. */
static double moved_fraction(const __u32 *a, const __u32 *b, __u32 m, __u32 skip_id)
{
	__u32 i, moved = 0;

	for (i = 0; i < m; i++) {
		if (a[i] != skip_id && a[i] != b[i])
			moved++;
	}
	return (double)moved / m;
}

static void check_remove_add(__u32 n)
{
	struct maglev_backend *b = make_backends(n + 1, 1);
	struct maglev_backend *less = make_backends(n, 1);
	__u32 *full = new_table(M), *removed = new_table(M), *added = new_table(M);
	__u32 *drained = new_table(M);
	__u32 victim = n / 3, i, j;
	double frac;

	/* full: backends 0..n-1; removed: without the victim; added: 0..n */
	ut_ok(maglev_build(b, n, M, SEED, full));
	for (i = 0, j = 0; i < n; i++) {
		if (i != victim)
			less[j++] = b[i];
	}
	ut_ok(maglev_build(less, n - 1, M, SEED, removed));
	for (i = 0; i < M; i++)
		assert_int_not_equal(removed[i], b[victim].id);
	frac = moved_fraction(full, removed, M, b[victim].id);
	print_message("N=%u: removing one backend moves %.2f%% of the other backends' slots\n", n,
		      100 * frac);
	assert_true(frac <= 1.0 / n + 0.02);

	ut_ok(maglev_build(b, n + 1, M, SEED, added));
	frac = moved_fraction(full, added, M, MAGLEV_NO_BACKEND);
	print_message("N=%u: adding one backend changes the owner of %.2f%% of the slots\n", n,
		      100 * frac);
	assert_true(frac <= 1.0 / (n + 1) + 0.02);

	/* draining (weight 0) is the same as removing */
	b[victim].weight = 0;
	ut_ok(maglev_build(b, n, M, SEED, drained));
	assert_memory_equal(drained, removed, (size_t)M * sizeof(*drained));

	free(drained);
	free(added);
	free(removed);
	free(full);
	free(less);
	free(b);
}

static void test_remove_add(void **state)
{
	(void)state;
	check_remove_add(10);
	check_remove_add(100);
}

/* Same set of backends in another order and at another address gives the same table. */
static void test_determinism(void **state)
{
	const __u32 n = 100;
	struct maglev_backend *b = make_backends(n, 1);
	struct maglev_backend *rev = calloc(n, sizeof(*rev));
	struct maglev_backend *shuf = calloc(n, sizeof(*shuf));
	__u32 *t0 = new_table(M), *t1 = new_table(M), *t2 = new_table(M);
	__u32 i, x = 12345, diff = 0;

	(void)state;
	assert_non_null(rev);
	assert_non_null(shuf);
	for (i = 0; i < n; i++)
		b[i].weight = 1 + i % 7;
	for (i = 0; i < n; i++)
		rev[i] = b[n - 1 - i];
	memcpy(shuf, b, n * sizeof(*b));
	for (i = n - 1; i > 0; i--) { /* Fisher-Yates with a fixed LCG */
		struct maglev_backend tmp;
		__u32 k;

		x = x * 1103515245U + 12345U;
		k = (x >> 8) % (i + 1);
		tmp = shuf[i];
		shuf[i] = shuf[k];
		shuf[k] = tmp;
	}
	assert_memory_not_equal(b, shuf, n * sizeof(*b));

	ut_ok(maglev_build(b, n, M, SEED, t0));
	ut_ok(maglev_build(rev, n, M, SEED, t1));
	ut_ok(maglev_build(shuf, n, M, SEED, t2));
	assert_memory_equal(t0, t1, (size_t)M * sizeof(*t0));
	assert_memory_equal(t0, t2, (size_t)M * sizeof(*t0));

	ut_ok(maglev_build(b, n, M, SEED + 1, t1));
	for (i = 0; i < M; i++)
		diff += t0[i] != t1[i];
	print_message("seed + 1 changes %u of %u slots\n", diff, M);
	assert_true(diff > M / 2);

	free(t2);
	free(t1);
	free(t0);
	free(shuf);
	free(rev);
	free(b);
}

/*
 * Golden values: the table must be the same on every LB node, whatever its byte order or the
 * version of this code it runs. A change here changes every deployed table: make it on purpose.
 */
#define GOLDEN_HASH_EMPTY 0xe220a8397b1dcdafULL
#define GOLDEN_HASH_ABC 0x22eb3911f89a5b7cULL
#define GOLDEN_TABLE 0x13724aef21c707f1ULL

static void test_golden(void **state)
{
	static const __u8 abc[] = { 'a', 'b', 'c' };
	const __u32 n = 5;
	struct maglev_backend *b = make_backends(n, 1);
	__u32 *table = new_table(M);
	__u8 *bytes = malloc((size_t)M * 4);
	__u64 sum;
	__u32 i;

	(void)state;
	b[4].weight = 3;
	assert_int_equal(maglev_hash64(NULL, 0, 0), GOLDEN_HASH_EMPTY);
	assert_int_equal(maglev_hash64(abc, sizeof(abc), 1), GOLDEN_HASH_ABC);
	ut_ok(maglev_build(b, n, M, SEED, table));
	/* hash of the table serialized in little-endian order */
	assert_non_null(bytes);
	for (i = 0; i < M; i++) {
		bytes[4 * i] = table[i] & 0xff;
		bytes[4 * i + 1] = table[i] >> 8 & 0xff;
		bytes[4 * i + 2] = table[i] >> 16 & 0xff;
		bytes[4 * i + 3] = table[i] >> 24;
	}
	sum = maglev_hash64(bytes, M * 4, 0);
	free(bytes);
	print_message("golden table hash 0x%016llx\n", (unsigned long long)sum);
	assert_int_equal(sum, GOLDEN_TABLE);
	free(table);
	free(b);
}

static int cmp_ident(const void *pa, const void *pb)
{
	const struct maglev_backend *a = pa, *b = pb;
	int c = memcmp(&a->addr, &b->addr, 4);

	return c ? c : memcmp(&a->port, &b->port, 2);
}

/* Textbook weighted Maglev: modulo per probe, credit rounds over every backend. */
static void reference_build(const struct maglev_backend *in, __u32 n, __u32 m, __u32 seed,
			    __u32 *table)
{
	struct maglev_backend *b = calloc(n, sizeof(*b));
	__u32 *off = calloc(n, sizeof(*off)), *skip = calloc(n, sizeof(*skip));
	__u32 *j = calloc(n, sizeof(*j)), *credit = calloc(n, sizeof(*credit));
	__u32 filled = 0, wmax = 0, i;

	assert_true(b && off && skip && j && credit);
	memcpy(b, in, n * sizeof(*b));
	qsort(b, n, sizeof(*b), cmp_ident);
	for (i = 0; i < n; i++) {
		ut_ok(maglev_permutation(&b[i], m, seed, &off[i], &skip[i]));
		wmax = b[i].weight > wmax ? b[i].weight : wmax;
	}
	for (i = 0; i < m; i++)
		table[i] = MAGLEV_NO_BACKEND;
	while (filled < m) {
		for (i = 0; i < n && filled < m; i++) {
			__u32 pos;

			if (!b[i].weight)
				continue;
			credit[i] += b[i].weight;
			if (credit[i] < wmax)
				continue;
			credit[i] -= wmax;
			do {
				pos = (off[i] + (__u64)j[i]++ * skip[i]) % m;
			} while (table[pos] != MAGLEV_NO_BACKEND);
			table[pos] = b[i].id;
			filled++;
		}
	}
	free(credit);
	free(j);
	free(skip);
	free(off);
	free(b);
}

static void check_reference(const struct maglev_backend *b, __u32 n, __u32 m)
{
	__u32 *want = new_table(m), *got = new_table(m);

	reference_build(b, n, m, SEED, want);
	ut_ok(maglev_build(b, n, m, SEED, got));
	assert_memory_equal(got, want, (size_t)m * sizeof(*got));
	free(got);
	free(want);
}

static void test_reference(void **state)
{
	struct maglev_backend *b = make_backends(300, 1);
	__u32 i;

	(void)state;
	check_reference(b, 1, M);
	check_reference(b, 10, M);
	check_reference(b, 300, 1009);
	check_reference(b, 13, 13); /* n == m: one slot each */
	check_reference(b, 2, 2);
	check_reference(b, 1, 3);
	/* similar weights (round loop) */
	for (i = 0; i < 300; i++)
		b[i].weight = 2 + i % 3;
	check_reference(b, 50, M);
	/* very uneven weights (heap scheduler), some drained */
	for (i = 0; i < 300; i++)
		b[i].weight = i % 11 == 0 ? 0 : 1 + (i * 37) % 5;
	b[7].weight = 60000;
	check_reference(b, 300, M);
	check_reference(b, 300, 1013);
	b[7].weight = 40;
	check_reference(b, 300, M);
	free(b);
}

static void test_is_prime(void **state)
{
	static const __u32 primes[] = {
		2, 3, 5, 7, 13, 1009, 65521, 65537, 2147483647U, 4294967291U
	};
	static const __u32 composites[] = { 0, 1, 4, 9, 25, 65535, 65536, 65539 * 3, 4294967295U };
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(primes); i++)
		assert_true(maglev_is_prime(primes[i]));
	for (i = 0; i < UT_ARRAY_SIZE(composites); i++)
		assert_false(maglev_is_prime(composites[i]));
	assert_false(maglev_is_prime(65521U * 65537U)); /* trial division up to 65521 */
}

static void fill(__u32 *t, __u32 m, __u32 v)
{
	__u32 i;

	for (i = 0; i < m; i++)
		t[i] = v;
}

static void assert_all(const __u32 *t, __u32 m, __u32 v)
{
	__u32 i;

	for (i = 0; i < m; i++) {
		if (t[i] != v)
			fail_msg("slot %u: 0x%x, expected 0x%x", i, t[i], v);
	}
}

static void test_errors(void **state)
{
	struct maglev_backend *b = make_backends(20, 1);
	__u32 *table = new_table(M), off, skip;

	(void)state;
	/* m not prime; the table is left alone on failure */
	fill(table, M, 0xabcdabcd);
	assert_int_equal(maglev_build(b, 3, 0, SEED, table), -EINVAL);
	assert_int_equal(maglev_build(b, 3, 1, SEED, table), -EINVAL);
	assert_int_equal(maglev_build(b, 3, 65536, SEED, table), -EINVAL);
	assert_int_equal(maglev_build(b, 3, 65535, SEED, table), -EINVAL);
	assert_int_equal(maglev_permutation(b, 65536, SEED, &off, &skip), -EINVAL);
	/* n > m */
	assert_int_equal(maglev_build(b, 8, 7, SEED, table), -EINVAL);
	/* NULL */
	assert_int_equal(maglev_build(NULL, 3, M, SEED, table), -EINVAL);
	assert_int_equal(maglev_build(b, 3, M, SEED, NULL), -EINVAL);
	assert_int_equal(maglev_permutation(NULL, M, SEED, &off, &skip), -EINVAL);
	assert_all(table, M, 0xabcdabcd);
	/* duplicate addr:port, even with a different id or weight, even drained */
	b[5] = b[2];
	b[5].id = 999;
	assert_int_equal(maglev_build(b, 6, M, SEED, table), -EINVAL);
	b[5].weight = 0;
	assert_int_equal(maglev_build(b, 6, M, SEED, table), -EINVAL);
	assert_all(table, M, 0xabcdabcd);
	make_backend(&b[5], 5, 1);
	/* same addr with another port is fine (and same port, other addr: every other case) */
	b[5].addr = b[2].addr;
	b[5].port = htons(9999);
	ut_ok(maglev_build(b, 6, M, SEED, table));
	make_backend(&b[5], 5, 1);
	/* the id reserved for empty slots */
	fill(table, M, 0xabcdabcd);
	b[1].id = MAGLEV_NO_BACKEND;
	assert_int_equal(maglev_build(b, 3, M, SEED, table), -EINVAL);
	assert_all(table, M, 0xabcdabcd);
	make_backend(&b[1], 1, 1);

	/* no backend with a weight: every slot empty */
	b[0].weight = b[1].weight = b[2].weight = 0;
	ut_ok(maglev_build(b, 3, M, SEED, table));
	assert_all(table, M, MAGLEV_NO_BACKEND);
	fill(table, M, 0);
	ut_ok(maglev_build(NULL, 0, M, SEED, table));
	assert_all(table, M, MAGLEV_NO_BACKEND);
	fill(table, 7, 0);
	ut_ok(maglev_build(b, 0, 7, SEED, table));
	assert_all(table, 7, MAGLEV_NO_BACKEND);

	free(table);
	free(b);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double time_build(const struct maglev_backend *b, __u32 n, __u32 *table)
{
	double best = INFINITY;
	int r;

	for (r = 0; r < 5; r++) {
		double t0 = now_ns();

		ut_ok(maglev_build(b, n, M, SEED, table));
		best = fmin(best, now_ns() - t0);
	}
	return best;
}

/* Printed for the record, not asserted: timing depends on the machine and the sanitizers. */
static void test_build_time(void **state)
{
	static const __u32 ns[] = { 10, 100, 1000 };
	struct maglev_backend *b = make_backends(1000, 1);
	__u32 *table = new_table(M);
	size_t k;
	__u32 i;

	(void)state;
	for (k = 0; k < UT_ARRAY_SIZE(ns); k++)
		print_message("build time m=%u N=%u equal weights: %.3f ms (min of 5)\n", M, ns[k],
			      time_build(b, ns[k], table) / 1e6);
	for (i = 0; i < 1000; i++)
		b[i].weight = 1 + i % 10;
	print_message("build time m=%u N=1000 weights 1..10: %.3f ms (min of 5)\n", M,
		      time_build(b, 1000, table) / 1e6);
	b[0].weight = 10000;
	print_message("build time m=%u N=1000 one weight 10000, others 1..10: %.3f ms (min of 5)\n",
		      M, time_build(b, 1000, table) / 1e6);
	free(table);
	free(b);
}

int main(void)
{
	/* one test per line */
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_prime),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_equal_weights),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_flows),
		cmocka_unit_test(test_remove_add),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_build_time),
	};
	/* clang-format on */

	return cmocka_run_group_tests_name("maglev", tests, NULL, NULL);
}
