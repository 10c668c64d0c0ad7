// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Store-conformance scenarios (see conformance.h): what each side of every structure holds after
 * sets, transactions, shrinking and growing, errors, no-op commits; read back through the store
 * (either side) and through the public readers (live side, one element and in bulk).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define N 16
#define HASH_MAX 64
/* Hash scenarios use keys below this: every other one is checked absent. */
#define KEY_SPACE 1100
#define MAX_VALUE 16

static const struct cf_store *store;

static struct abmap_group *begin(const char *test)
{
	struct abmap_group *g = store->begin(test);

	assert_non_null(g);
	return g;
}

static int teardown(void **state)
{
	(void)state;
	store->end();
	return 0;
}

static __u64 gen_of(struct abmap_group *g)
{
	__u64 gen = ~0ULL;

	assert_int_equal(abmap_group_generation(g, &gen), 0);
	return gen;
}

static int live(struct abmap_group *g)
{
	return (int)(gen_of(g) & 1);
}

static void fill(__u32 *v, __u32 n, __u32 base)
{
	__u32 i;

	for (i = 0; i < n; i++)
		v[i] = base + i;
}

/* Side @side of an array: @n values from @vals, zero up to max_entries, length @len. */
static void assert_array_side(struct abmap *arr, int side, const void *vals, __u32 n, __u32 len)
{
	__u32 vs = abmap_value_size(arr), max = abmap_max_entries(arr), i, got_len = ~0U;
	__u8 buf[MAX_VALUE], zero[MAX_VALUE] = { 0 };

	assert_true(vs <= MAX_VALUE && n <= max);
	for (i = 0; i < max; i++) {
		memset(buf, 0xa5, sizeof(buf));
		assert_int_equal(store->peek(arr, side, &i, buf), 0);
		if (memcmp(buf, i < n ? (const __u8 *)vals + (size_t)i * vs : zero, vs))
			fail_msg("%s: side %d slot %u: %s", store->name, side, i,
				 i < n ? "not the expected value" : "not zero");
	}
	assert_int_equal(store->peek(arr, side, &max, buf), -ENOENT);
	assert_int_equal(store->peek_len(arr, side, &got_len), 0);
	if (got_len != len)
		fail_msg("%s: side %d: length %u, expected %u", store->name, side, got_len, len);
}

/* The live side as above, and as every public reader sees it. */
static void assert_array_live(struct abmap_group *g, struct abmap *arr, const void *vals, __u32 n,
			      __u32 len)
{
	__u32 vs = abmap_value_size(arr), max = abmap_max_entries(arr), i, got_len = ~0U;
	__u8 buf[MAX_VALUE], *all = calloc(max, vs);
	__u64 gen = ~0ULL;

	assert_non_null(all);
	assert_array_side(arr, live(g), vals, n, len);
	assert_int_equal(abmap_array_len(arr, &got_len), 0);
	assert_int_equal(got_len, len);
	for (i = 0; i < max; i++) {
		if (i >= len) {
			assert_int_equal(abmap_array_get(arr, i, buf), -ENOENT);
			continue;
		}
		assert_int_equal(abmap_array_get(arr, i, buf), 0);
		assert_int_equal(abmap_get(arr, &i, all), 0);
		assert_memory_equal(buf, all, vs);
		if (i < n)
			assert_memory_equal(buf, (const __u8 *)vals + (size_t)i * vs, vs);
	}
	assert_int_equal(abmap_array_read(arr, 0, max, all, &got_len, &gen), 0);
	assert_int_equal(got_len, len);
	assert_int_equal(gen, gen_of(g));
	if (n)
		assert_memory_equal(all, vals, (size_t)n * vs);
	for (i = n * vs; i < max * vs; i++)
		assert_int_equal(all[i], 0);
	free(all);
}

/* Position of @key in @keys[0..n), or -1. */
static int find_key(const __u32 *keys, __u32 n, __u32 key)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		if (keys[i] == key)
			return (int)i;
	}
	return -1;
}

/* Side @side of a u32 -> u64 hash holds exactly these @n pairs (within KEY_SPACE). */
static void assert_hash_side(struct abmap *h, int side, const __u32 *keys, const __u64 *vals,
			     __u32 n)
{
	__u32 k;
	__u64 v;
	int at, ret;

	for (k = 0; k < KEY_SPACE; k++) {
		at = find_key(keys, n, k);
		v = 0xa5a5;
		ret = store->peek(h, side, &k, &v);
		if (at < 0 && ret != -ENOENT)
			fail_msg("%s: side %d: key %u present (%d)", store->name, side, k, ret);
		if (at >= 0 && (ret || v != vals[at]))
			fail_msg("%s: side %d: key %u: %d, value %llu, expected %llu", store->name,
				 side, k, ret, (unsigned long long)v, (unsigned long long)vals[at]);
	}
}

static void assert_hash_live(struct abmap_group *g, struct abmap *h, const __u32 *keys,
			     const __u64 *vals, __u32 n)
{
	__u32 got_keys[HASH_MAX], got_n = ~0U, i;
	__u64 got_vals[HASH_MAX], v, gen = ~0ULL;
	int at;

	assert_hash_side(h, live(g), keys, vals, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(abmap_get(h, &keys[i], &v), 0);
		assert_int_equal(v, vals[i]);
	}
	assert_int_equal(abmap_hash_read(h, got_keys, got_vals, HASH_MAX, &got_n, &gen), 0);
	assert_int_equal(gen, gen_of(g));
	assert_int_equal(got_n, n);
	for (i = 0; i < got_n; i++) {
		at = find_key(keys, n, got_keys[i]);
		assert_true(at >= 0);
		assert_int_equal(got_vals[i], vals[at]);
	}
}

/* -------------------------------------------------------------------------------------------
 * Arrays
 */

static void array_story(bool with_len)
{
	__u32 v1[N], v2[N], v3[N], e4[N], e5[N], len, idx, val;
	struct abmap_group *g = begin(with_len ? "cf_array_len" : "cf_array_nolen");
	struct abmap *arr = store->array(g, sizeof(__u32), N, with_len);
	struct abmap_txn *txn;
	__u32 l0 = with_len ? 0 : N;

	assert_non_null(arr);
	assert_int_equal(abmap_key_size(arr), 4);
	assert_int_equal(abmap_value_size(arr), 4);
	assert_int_equal(abmap_max_entries(arr), N);
	assert_int_equal(gen_of(g), 0);
	assert_int_equal(abmap_array_len(arr, &len), 0);
	assert_int_equal(len, l0);

	/* gen 1: 10 elements into B; A (now passive) untouched. */
	fill(v1, 10, 100);
	assert_int_equal(abmap_array_set(arr, v1, 10), 0);
	assert_int_equal(gen_of(g), 1);
	assert_array_live(g, arr, v1, 10, with_len ? 10 : N);
	assert_array_side(arr, ABMAP_SIDE_A, NULL, 0, l0);

	/* gen 2: 12 elements into A; B, retired, keeps gen 1. */
	fill(v2, 12, 200);
	assert_int_equal(abmap_array_set(arr, v2, 12), 0);
	assert_int_equal(gen_of(g), 2);
	assert_array_live(g, arr, v2, 12, with_len ? 12 : N);
	assert_array_side(arr, ABMAP_SIDE_B, v1, 10, with_len ? 10 : N);

	/* gen 3: shrink to 3 into B, which held 10: its tail is zeroed. */
	fill(v3, 3, 300);
	assert_int_equal(abmap_array_set(arr, v3, 3), 0);
	assert_int_equal(gen_of(g), 3);
	assert_array_live(g, arr, v3, 3, with_len ? 3 : N);
	assert_array_side(arr, ABMAP_SIDE_A, v2, 12, with_len ? 12 : N);

	/* gen 4: grow by updating index 7, into A, which held 12 elements of gen 2. */
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	idx = 7;
	val = 777;
	assert_int_equal(abmap_txn_update(txn, arr, &idx, &val), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(gen_of(g), 4);
	memset(e4, 0, sizeof(e4));
	memcpy(e4, v3, 3 * sizeof(__u32));
	e4[7] = 777;
	assert_array_live(g, arr, e4, 8, with_len ? 8 : N);
	assert_array_side(arr, ABMAP_SIDE_B, v3, 3, with_len ? 3 : N);

	/* gen 5: delete index 1 (zeroes the slot, length unchanged), into B. */
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	idx = 1;
	assert_int_equal(abmap_txn_delete(txn, arr, &idx), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(gen_of(g), 5);
	memcpy(e5, e4, sizeof(e5));
	e5[1] = 0;
	assert_array_live(g, arr, e5, 8, with_len ? 8 : N);
	assert_array_side(arr, ABMAP_SIDE_A, e4, 8, with_len ? 8 : N);

	/* Errors change nothing. */
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	idx = N;
	assert_true(abmap_txn_update(txn, arr, &idx, &val) < 0);
	abmap_txn_abort(txn);
	assert_int_equal(abmap_array_set(arr, v1, N + 1), -E2BIG);
	assert_int_equal(gen_of(g), 5);
	assert_array_live(g, arr, e5, 8, with_len ? 8 : N);

	/* Full length, then empty. */
	fill(v1, N, 1000);
	assert_int_equal(abmap_array_set(arr, v1, N), 0);
	assert_int_equal(gen_of(g), 6);
	assert_array_live(g, arr, v1, N, N);
	assert_array_side(arr, ABMAP_SIDE_B, e5, 8, with_len ? 8 : N);
	assert_int_equal(abmap_array_set(arr, v1, 0), 0);
	assert_int_equal(gen_of(g), 7);
	assert_array_live(g, arr, NULL, 0, l0);
	assert_array_side(arr, ABMAP_SIDE_A, v1, N, N);
}

static void cf_array_len(void **state)
{
	(void)state;
	array_story(true);
}

static void cf_array_nolen(void **state)
{
	(void)state;
	array_story(false);
}

/* Twelve flips in a row: the live side alternates, the passive one keeps the previous content. */
static void cf_array_generation_alternates(void **state)
{
	struct abmap_group *g = begin(__func__);
	struct abmap *arr = store->array(g, sizeof(__u32), N, true);
	__u32 vals[4], prev[4] = { 0 };
	__u64 gen = gen_of(g);
	int i;

	(void)state;
	assert_non_null(arr);
	for (i = 0; i < 12; i++) {
		fill(vals, 4, (__u32)i * 10 + 1);
		assert_int_equal(abmap_array_set(arr, vals, 4), 0);
		assert_int_equal(gen_of(g), ++gen);
		assert_array_live(g, arr, vals, 4, 4);
		assert_array_side(arr, !live(g), prev, 4, i ? 4 : 0);
		memcpy(prev, vals, sizeof(prev));
	}
}

/* Values of 12 bytes: not a multiple of 8, so the kernel's mmap stride is wider than a value. */
struct odd_val {
	__u32 a, b, c;
};

static void cf_array_odd_value_size(void **state)
{
	struct abmap_group *g = begin(__func__);
	struct abmap *arr = store->array(g, sizeof(struct odd_val), 9, true);
	struct odd_val v1[9], v2[4];
	__u32 i;

	(void)state;
	assert_non_null(arr);
	assert_int_equal(abmap_value_size(arr), 12);
	for (i = 0; i < 9; i++)
		v1[i] = (struct odd_val){ i + 1, 100 + i, 1000 + i };
	for (i = 0; i < 4; i++)
		v2[i] = (struct odd_val){ ~i, 7 * i, 0xabcd0000 + i };
	assert_int_equal(abmap_array_set(arr, v1, 9), 0);
	assert_array_live(g, arr, v1, 9, 9);
	assert_int_equal(abmap_array_set(arr, v2, 4), 0);
	assert_array_live(g, arr, v2, 4, 4);
	assert_array_side(arr, !live(g), v1, 9, 9);
}

/* -------------------------------------------------------------------------------------------
 * Hashes (u32 key, u64 value)
 */

static void cf_hash(void **state)
{
	__u32 k1[] = { 1, 2, 3 }, k2[] = { 1, 3, 4 }, k3[] = { 10 }, kd[] = { 5, 5 }, key;
	__u64 v1[] = { 10, 20, 30 }, v2[] = { 11, 30, 40 }, v3[] = { 100 }, vd[] = { 1, 2 }, val;
	struct abmap_group *g = begin(__func__);
	struct abmap *h = store->hash(g, sizeof(__u32), sizeof(__u64), HASH_MAX);
	__u32 kbig[HASH_MAX + 1], i;
	__u64 vbig[HASH_MAX + 1];
	struct abmap_txn *txn;

	(void)state;
	assert_non_null(h);
	assert_int_equal(abmap_key_size(h), 4);
	assert_int_equal(abmap_value_size(h), 8);
	assert_int_equal(abmap_max_entries(h), HASH_MAX);

	/* gen 1: {1,2,3} into B; A stays empty. */
	assert_int_equal(abmap_hash_set(h, k1, v1, 3), 0);
	assert_int_equal(gen_of(g), 1);
	assert_hash_live(g, h, k1, v1, 3);
	assert_hash_side(h, ABMAP_SIDE_A, NULL, NULL, 0);
	key = 99;
	assert_int_equal(abmap_get(h, &key, &val), -ENOENT);

	/* gen 2: update 1, add 4, delete 2, delete an absent key; into A. */
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	key = 1;
	val = 11;
	assert_int_equal(abmap_txn_update(txn, h, &key, &val), 0);
	key = 4;
	val = 40;
	assert_int_equal(abmap_txn_update(txn, h, &key, &val), 0);
	key = 2;
	assert_int_equal(abmap_txn_delete(txn, h, &key), 0);
	key = 99;
	assert_int_equal(abmap_txn_delete(txn, h, &key), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(gen_of(g), 2);
	assert_hash_live(g, h, k2, v2, 3);
	assert_hash_side(h, ABMAP_SIDE_B, k1, v1, 3);

	/* gen 3: replace everything with {10}; B held {1,2,3}. */
	assert_int_equal(abmap_hash_set(h, k3, v3, 1), 0);
	assert_int_equal(gen_of(g), 3);
	assert_hash_live(g, h, k3, v3, 1);
	assert_hash_side(h, ABMAP_SIDE_A, k2, v2, 3);

	/* Duplicate key, too many keys: refused, nothing changes. */
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_hash_set(txn, h, kd, vd, 2), -EINVAL);
	abmap_txn_abort(txn);
	for (i = 0; i <= HASH_MAX; i++) {
		kbig[i] = 1000 + i;
		vbig[i] = i;
	}
	assert_int_equal(abmap_hash_set(h, kbig, vbig, HASH_MAX + 1), -E2BIG);
	assert_int_equal(gen_of(g), 3);
	assert_hash_live(g, h, k3, v3, 1);

	/* Full table, then empty. */
	assert_int_equal(abmap_hash_set(h, kbig, vbig, HASH_MAX), 0);
	assert_int_equal(gen_of(g), 4);
	assert_hash_live(g, h, kbig, vbig, HASH_MAX);
	assert_int_equal(abmap_hash_set(h, kbig, vbig, 0), 0);
	assert_int_equal(gen_of(g), 5);
	assert_hash_live(g, h, NULL, NULL, 0);
	assert_hash_side(h, ABMAP_SIDE_A, kbig, vbig, HASH_MAX);
}

/* -------------------------------------------------------------------------------------------
 * Several structures, no-op commits
 */

/* A transaction flips every structure at once; untouched ones read the same on both sides. */
static void cf_txn_multi(void **state)
{
	struct abmap_group *g = begin(__func__);
	struct abmap *a1 = store->array(g, sizeof(__u32), N, true);
	struct abmap *a2 = store->array(g, sizeof(__u32), N, false);
	struct abmap *h = store->hash(g, sizeof(__u32), sizeof(__u64), HASH_MAX);
	__u32 x[5], y[3], hk[2] = { 7, 8 };
	__u64 hv[2] = { 70, 80 };
	struct abmap_txn *txn;

	(void)state;
	assert_true(a1 && a2 && h);
	fill(x, 5, 10);
	fill(y, 3, 20);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, a1, x, 5), 0);
	assert_int_equal(abmap_txn_array_set(txn, a2, y, 3), 0);
	assert_int_equal(abmap_txn_hash_set(txn, h, hk, hv, 2), 0);
	/* Staged, not visible. */
	assert_int_equal(gen_of(g), 0);
	assert_array_live(g, a1, NULL, 0, 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(gen_of(g), 1);
	assert_array_live(g, a1, x, 5, 5);
	assert_array_live(g, a2, y, 3, N);
	assert_hash_live(g, h, hk, hv, 2);

	/* Only a1 changes: a2 and h are caught up on the side that becomes live. */
	assert_int_equal(abmap_array_set(a1, y, 3), 0);
	assert_int_equal(gen_of(g), 2);
	assert_array_live(g, a1, y, 3, 3);
	assert_array_live(g, a2, y, 3, N);
	assert_array_side(a2, !live(g), y, 3, N);
	assert_hash_live(g, h, hk, hv, 2);
	assert_hash_side(h, !live(g), hk, hv, 2);

	/* An aborted transaction changes nothing. */
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, a2, x, 5), 0);
	assert_int_equal(abmap_txn_delete(txn, h, &hk[0]), 0);
	abmap_txn_abort(txn);
	assert_int_equal(gen_of(g), 2);
	assert_array_live(g, a2, y, 3, N);
	assert_hash_live(g, h, hk, hv, 2);
}

/* No change, no flip: empty transactions, identical contents, a change undone. */
static void cf_no_change_no_flip(void **state)
{
	struct abmap_group *g = begin(__func__);
	struct abmap *arr = store->array(g, sizeof(__u32), N, true);
	struct abmap *h = store->hash(g, sizeof(__u32), sizeof(__u64), HASH_MAX);
	__u32 v[N], hk[3] = { 1, 2, 3 }, absent = 7, idx = 2, zero = 0;
	__u64 hv[3] = { 10, 20, 30 };
	struct abmap_txn *txn;

	(void)state;
	assert_true(arr && h);
	fill(v, N, 100);
	assert_int_equal(abmap_array_set(arr, v, N), 0);
	assert_int_equal(abmap_hash_set(h, hk, hv, 3), 0);
	assert_int_equal(gen_of(g), 2);

	assert_int_equal(abmap_txn_commit(abmap_txn_begin(g)), 0);
	assert_int_equal(abmap_array_set(arr, v, N), 0);
	assert_int_equal(abmap_hash_set(h, hk, hv, 3), 0);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_update(txn, arr, &idx, &v[idx]), 0);
	assert_int_equal(abmap_txn_update(txn, h, &hk[1], &hv[1]), 0);
	assert_int_equal(abmap_txn_delete(txn, h, &absent), 0);
	assert_int_equal(abmap_txn_update(txn, arr, &idx, &zero), 0);
	assert_int_equal(abmap_txn_update(txn, arr, &idx, &v[idx]), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(gen_of(g), 2);
	assert_array_live(g, arr, v, N, N);
	assert_hash_live(g, h, hk, hv, 3);

	/* Growing the length, even with a zero value, is a change. */
	idx = N - 1;
	assert_int_equal(abmap_array_set(arr, v, N - 1), 0);
	assert_int_equal(gen_of(g), 3);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_update(txn, arr, &idx, &zero), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(gen_of(g), 4);
	v[idx] = 0;
	assert_array_live(g, arr, v, N, N);

	/* A real change still flips, and both sides stay right. */
	idx = 2;
	v[idx] = 7;
	assert_int_equal(abmap_array_set(arr, v, N), 0);
	assert_int_equal(gen_of(g), 5);
	assert_array_live(g, arr, v, N, N);
	assert_hash_side(h, !live(g), hk, hv, 3);
}

/* -------------------------------------------------------------------------------------------
 * Deferred switchover (a1: length map; a2: none)
 */

static void cf_deferred(void **state)
{
	__u32 x1[6], y1[4], y2[8], z[N], w[3], v[5], u[2];
	struct abmap_switchover *so1 = NULL, *so2 = NULL, *so3 = NULL, *so4 = NULL, *so5 = NULL;
	struct abmap_group *g = begin(__func__);
	struct abmap *s1 = store->array(g, sizeof(__u32), N, true);
	struct abmap *s2 = store->array(g, sizeof(__u32), N, false);
	struct abmap_txn *txn;

	(void)state;
	assert_true(s1 && s2);
	/* Same content on both sides: committed (B), then deferred and switched over (A). */
	fill(x1, 6, 10);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, s1, x1, 6), 0);
	assert_int_equal(abmap_txn_array_set(txn, s2, x1, 6), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(abmap_array_set_and_defer_switchover(s1, x1, 6, &so1), 0);
	assert_int_equal(abmap_array_set_and_defer_switchover(s2, x1, 6, &so2), 0);
	assert_int_equal(abmap_switchover(so1), 0);
	assert_int_equal(abmap_switchover(so2), 0);
	assert_int_equal(gen_of(g), 2);
	assert_array_side(s1, ABMAP_SIDE_B, x1, 6, 6);
	assert_array_live(g, s1, x1, 6, 6);
	assert_array_side(s2, ABMAP_SIDE_B, x1, 6, N);
	assert_array_live(g, s2, x1, 6, N);

	/* Two deferred changes: written to the passive side B now, live A untouched. */
	fill(y1, 4, 100);
	fill(y2, 8, 200);
	assert_int_equal(abmap_array_set_and_defer_switchover(s1, y1, 4, &so1), 0);
	assert_non_null(so1);
	assert_int_equal(abmap_array_set_and_defer_switchover(s2, y2, 8, &so2), 0);
	assert_non_null(so2);
	assert_int_equal(gen_of(g), 2);
	assert_array_live(g, s1, x1, 6, 6);
	assert_array_live(g, s2, x1, 6, N);
	assert_array_side(s1, ABMAP_SIDE_B, y1, 4, 4);
	assert_array_side(s2, ABMAP_SIDE_B, y2, 8, N);
	/* Pending: the structure cannot be freed. */
	assert_int_equal(abmap_free(s1), -EBUSY);

	/* The first switchover flips both; the second is a no-op. */
	assert_int_equal(abmap_switchover(so1), 0);
	assert_int_equal(gen_of(g), 3);
	assert_array_live(g, s1, y1, 4, 4);
	assert_array_live(g, s2, y2, 8, N);
	assert_int_equal(abmap_switchover(so2), 0);
	assert_int_equal(gen_of(g), 3);

	/* Both sides equal again (gen 4: the same content, a switchover flips it). */
	assert_int_equal(abmap_array_set_and_defer_switchover(s1, y1, 4, &so3), 0);
	assert_int_equal(abmap_switchover(so3), 0);
	assert_int_equal(gen_of(g), 4);
	assert_array_live(g, s1, y1, 4, 4);
	assert_array_live(g, s2, y2, 8, N);

	/* Cancel: the passive side (B) is restored, nothing flips. */
	fill(z, N, 0xc0de);
	so3 = NULL;
	assert_int_equal(abmap_array_set_and_defer_switchover(s1, z, N, &so3), 0);
	assert_non_null(so3);
	assert_array_side(s1, ABMAP_SIDE_B, z, N, N);
	assert_int_equal(abmap_switchover_cancel(so3), 0);
	assert_int_equal(gen_of(g), 4);
	assert_array_live(g, s1, y1, 4, 4);
	assert_array_side(s1, ABMAP_SIDE_B, y1, 4, 4);

	/* A set on another structure flips the pending deferred change; cancel is too late. */
	fill(w, 3, 300);
	fill(v, 5, 400);
	assert_int_equal(abmap_array_set_and_defer_switchover(s1, w, 3, &so4), 0);
	assert_int_equal(abmap_array_set(s2, v, 5), 0);
	assert_int_equal(gen_of(g), 5);
	assert_array_live(g, s1, w, 3, 3);
	assert_array_live(g, s2, v, 5, N);
	assert_int_equal(abmap_switchover_cancel(so4), -EALREADY);
	assert_int_equal(gen_of(g), 5);
	assert_array_live(g, s1, w, 3, 3);

	/* A commit flips the deferred change too; the later switchover does nothing. */
	fill(u, 2, 600);
	assert_int_equal(abmap_array_set_and_defer_switchover(s1, u, 2, &so5), 0);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, s2, y2, 8), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(gen_of(g), 6);
	assert_array_live(g, s1, u, 2, 2);
	assert_array_live(g, s2, y2, 8, N);
	assert_int_equal(abmap_switchover(so5), 0);
	assert_int_equal(gen_of(g), 6);

	/* Nothing pending: the structure can be freed. */
	assert_int_equal(abmap_free(s2), 0);
}

static void cf_deferred_hash(void **state)
{
	__u32 k1[] = { 1, 2 }, k2[] = { 3 };
	__u64 v1[] = { 10, 20 }, v2[] = { 30 };
	struct abmap_group *g = begin(__func__);
	struct abmap *h = store->hash(g, sizeof(__u32), sizeof(__u64), 16);
	struct abmap_switchover *so = NULL;

	(void)state;
	assert_non_null(h);
	assert_int_equal(abmap_hash_set(h, k1, v1, 2), 0);
	assert_int_equal(abmap_hash_set_and_defer_switchover(h, k1, v1, 2, &so), 0);
	assert_int_equal(abmap_switchover(so), 0);
	assert_int_equal(gen_of(g), 2);
	assert_int_equal(abmap_hash_set_and_defer_switchover(h, k2, v2, 1, &so), 0);
	assert_non_null(so);
	assert_hash_side(h, ABMAP_SIDE_B, k2, v2, 1);
	assert_hash_live(g, h, k1, v1, 2);
	assert_int_equal(abmap_switchover_cancel(so), 0);
	assert_hash_side(h, ABMAP_SIDE_B, k1, v1, 2);
	assert_int_equal(gen_of(g), 2);

	so = NULL;
	assert_int_equal(abmap_hash_set_and_defer_switchover(h, k2, v2, 1, &so), 0);
	assert_int_equal(abmap_switchover(so), 0);
	assert_int_equal(gen_of(g), 3);
	assert_hash_live(g, h, k2, v2, 1);
	assert_hash_side(h, ABMAP_SIDE_A, k1, v1, 2);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_teardown(cf_array_len, teardown),
	cmocka_unit_test_teardown(cf_array_nolen, teardown),
	cmocka_unit_test_teardown(cf_array_generation_alternates, teardown),
	cmocka_unit_test_teardown(cf_array_odd_value_size, teardown),
	cmocka_unit_test_teardown(cf_hash, teardown),
	cmocka_unit_test_teardown(cf_txn_multi, teardown),
	cmocka_unit_test_teardown(cf_no_change_no_flip, teardown),
	cmocka_unit_test_teardown(cf_deferred, teardown),
	cmocka_unit_test_teardown(cf_deferred_hash, teardown),
};

int cf_run(const char *name, const struct cf_store *s)
{
	store = s;
	return _cmocka_run_group_tests(name, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
