// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hashes kept at max_entries on real BPF maps (the kernel refuses an insert into a full HASH
 * with -E2BIG, preallocated or not):
 * - commits that swap or replace keys never block the group's next commits;
 * - staged changes succeed when the final content fits, whatever their order;
 * - a change cancelled through any handle of its structure reports -ECANCELED even after
 *   another structure's switchover flipped the group.
 * Each test also compares the live side read back from the maps with a model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abmap/testing.h"
#include "ktest.h"

#define HASH_MAX 8
#define ARR_MAX 8
#define KEY_SPACE 24

struct fixture {
	int ptr;
	struct abmap_group *group;
	struct abmap *hash; /* u32 -> u64 */
	struct abmap *arr;  /* u32 values, with a length map */
	int hash_fd[2];
	int arr_fd[2];
};

static void fixture_init(struct fixture *f, __u32 hash_flags)
{
	struct abmap_group_opts go;
	LIBABMAP_OPTS(abmap_opts, ao);

	ktest_begin();
	f->ptr = ktest_pointer_map();
	ktest_group_opts(&go, 1000);
	f->group = ktest_track_group(abmap_group_new(f->ptr, &go));
	assert_int_equal(abmap_testing_set_no_grace(f->group, true), 0);
	f->hash_fd[0] = ktest_map(BPF_MAP_TYPE_HASH, "fh_a", 4, 8, HASH_MAX, hash_flags);
	f->hash_fd[1] = ktest_map(BPF_MAP_TYPE_HASH, "fh_b", 4, 8, HASH_MAX, hash_flags);
	f->hash = abmap_new(f->group, "hash", f->hash_fd[0], f->hash_fd[1], NULL);
	assert_non_null(f->hash);
	f->arr_fd[0] = ktest_array_map("fa_a", 4, ARR_MAX, false);
	f->arr_fd[1] = ktest_array_map("fa_b", 4, ARR_MAX, false);
	ao.len_fd = ktest_len_map();
	f->arr = abmap_new(f->group, "array", f->arr_fd[0], f->arr_fd[1], &ao);
	assert_non_null(f->arr);
}

struct model {
	bool present[KEY_SPACE];
	__u64 val[KEY_SPACE];
	__u32 arr[ARR_MAX];
	__u32 arr_len;
};

static int live(struct fixture *f)
{
	return ktest_group_gen(f->group) & 1;
}

/* The live maps hold exactly the model (and the library's readers agree). */
static void model_assert_live(struct fixture *f, const struct model *m)
{
	__u32 keys[KEY_SPACE], nk = 0, k, len = ~0u;
	__u64 vals[KEY_SPACE], v;

	for (k = 0; k < KEY_SPACE; k++) {
		if (m->present[k]) {
			keys[nk] = k;
			vals[nk++] = m->val[k];
			assert_int_equal(abmap_get(f->hash, &k, &v), 0);
			assert_int_equal(v, m->val[k]);
		} else {
			assert_int_equal(abmap_get(f->hash, &k, &v), -ENOENT);
		}
	}
	ktest_assert_hash(f->hash_fd[live(f)], keys, vals, nk);
	ktest_assert_array(f->arr_fd[live(f)], m->arr, m->arr_len, ARR_MAX);
	assert_int_equal(abmap_array_len(f->arr, &len), 0);
	assert_int_equal(len, m->arr_len);
}

static __u32 rnd(__u32 *seed, __u32 n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) % n;
}

static __u32 pick(const struct model *m, __u32 *seed, bool present)
{
	__u32 k = rnd(seed, KEY_SPACE);

	while (m->present[k] != present)
		k = (k + 1) % KEY_SPACE;
	return k;
}

static void stage_replace(struct abmap_txn *txn, struct fixture *f, struct model *m, __u32 *seed,
			  unsigned int round)
{
	__u32 keys[HASH_MAX], i, k;
	__u64 vals[HASH_MAX];

	memset(m->present, 0, sizeof(m->present));
	for (i = 0; i < HASH_MAX; i++) {
		k = pick(m, seed, false);
		m->present[k] = true;
		m->val[k] = (__u64)round << 8 | k;
		keys[i] = k;
		vals[i] = m->val[k];
	}
	assert_int_equal(abmap_txn_hash_set(txn, f->hash, keys, vals, HASH_MAX), 0);
}

/* Delete @n present keys and insert as many absent ones; @any_order: insert maybe first. */
static void stage_swaps(struct abmap_txn *txn, struct fixture *f, struct model *m, __u32 *seed,
			__u32 n, unsigned int round, bool any_order)
{
	__u32 i, del, ins;
	__u64 val;

	for (i = 0; i < n; i++) {
		del = pick(m, seed, true);
		m->present[del] = false;
		ins = pick(m, seed, false);
		val = (__u64)round << 8 | ins | 1ull << 40;
		if (!any_order || rnd(seed, 2)) {
			assert_int_equal(abmap_txn_delete(txn, f->hash, &del), 0);
			assert_int_equal(abmap_txn_update(txn, f->hash, &ins, &val), 0);
			m->present[ins] = true;
		} else {
			assert_int_equal(abmap_txn_update(txn, f->hash, &ins, &val), 0);
			assert_int_equal(abmap_txn_delete(txn, f->hash, &del), 0);
			m->present[ins] = ins != del;
		}
		m->val[ins] = val;
	}
}

static void stage_array(struct abmap_txn *txn, struct fixture *f, struct model *m, __u32 *seed,
			unsigned int round)
{
	__u32 i;

	m->arr_len = rnd(seed, ARR_MAX + 1);
	memset(m->arr, 0, sizeof(m->arr));
	for (i = 0; i < m->arr_len; i++)
		m->arr[i] = round * 100 + i + 1;
	assert_int_equal(abmap_txn_array_set(txn, f->arr, m->arr, m->arr_len), 0);
}

/* Random commits on a full hash for up to @seconds; every one must succeed. */
static void run_random(__u32 hash_flags, bool any_order, unsigned int max_rounds)
{
	struct fixture f;
	struct model m = { 0 };
	struct abmap_txn *txn;
	__u32 seed = 777 + hash_flags, what;
	unsigned int round;
	time_t start;

	fixture_init(&f, hash_flags);
	txn = abmap_txn_begin(f.group);
	assert_non_null(txn);
	stage_replace(txn, &f, &m, &seed, 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	start = time(NULL);
	for (round = 1; round < max_rounds && time(NULL) - start < 3; round++) {
		what = rnd(&seed, 8);
		txn = abmap_txn_begin(f.group);
		assert_non_null(txn);
		if (what < 4)
			stage_swaps(txn, &f, &m, &seed, 1 + rnd(&seed, HASH_MAX), round, any_order);
		else if (what < 6)
			stage_replace(txn, &f, &m, &seed, round);
		if (what >= 5)
			stage_array(txn, &f, &m, &seed, round);
		if (abmap_txn_commit(txn))
			fail_msg("round %u (kind %u): commit failed: %s", round, what,
				 strerror(errno));
		if (round % 8 == 0 || what >= 6)
			model_assert_live(&f, &m);
	}
	model_assert_live(&f, &m);
	printf("# %u random commits on a full hash (flags %#x, any order %d)\n", round, hash_flags,
	       any_order);
	assert_true(round > 300);
}

/* Replace every key, then commit only the array: the catch-up of the hash must not fail. */
static void test_replace_all_then_array(void **state)
{
	struct fixture f;
	struct model m = { 0 };
	__u32 keys[HASH_MAX], i;
	__u64 vals[HASH_MAX];
	unsigned int round;

	(void)state;
	fixture_init(&f, 0);
	for (round = 0; round < 6; round++) {
		memset(m.present, 0, sizeof(m.present));
		for (i = 0; i < HASH_MAX; i++) {
			keys[i] = (round % 3) * HASH_MAX + i;
			vals[i] = keys[i] * 10 + round;
			m.present[keys[i]] = true;
			m.val[keys[i]] = vals[i];
		}
		assert_int_equal(abmap_hash_set(f.hash, keys, vals, HASH_MAX), 0);
		m.arr_len = 2;
		m.arr[0] = round;
		m.arr[1] = 5;
		assert_int_equal(abmap_array_set(f.arr, m.arr, 2), 0);
		model_assert_live(&f, &m);
	}
}

static void test_random_at_capacity(void **state)
{
	(void)state;
	run_random(0, false, 3000);
}

static void test_random_at_capacity_no_prealloc(void **state)
{
	(void)state;
	run_random(BPF_F_NO_PREALLOC, false, 3000);
}

/* Staged insert before the delete that makes room: only the final content counts. */
static void test_random_any_order(void **state)
{
	(void)state;
	run_random(0, true, 3000);
}

/* The same in a fixed case: insert first on a full hash, then the delete. */
static void test_staged_insert_before_delete(void **state)
{
	struct fixture f;
	struct model m = { 0 };
	struct abmap_txn *txn;
	__u32 keys[HASH_MAX], key = 20, i;
	__u64 vals[HASH_MAX], val = 2000;

	(void)state;
	fixture_init(&f, 0);
	for (i = 0; i < HASH_MAX; i++) {
		keys[i] = i;
		vals[i] = 100 + i;
		m.present[i] = true;
		m.val[i] = vals[i];
	}
	assert_int_equal(abmap_hash_set(f.hash, keys, vals, HASH_MAX), 0);
	txn = abmap_txn_begin(f.group);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_update(txn, f.hash, &key, &val), 0);
	assert_int_equal(abmap_txn_delete(txn, f.hash, &keys[0]), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	m.present[0] = false;
	m.present[key] = true;
	m.val[key] = val;
	model_assert_live(&f, &m);

	/* A final content over max_entries is refused and changes nothing. */
	txn = abmap_txn_begin(f.group);
	assert_non_null(txn);
	key = 21;
	assert_int_equal(abmap_txn_update(txn, f.hash, &key, &val), 0);
	assert_int_equal(abmap_txn_commit(txn), -E2BIG);
	model_assert_live(&f, &m);
	assert_int_equal(abmap_array_set(f.arr, keys, 1), 0);
	m.arr[0] = keys[0];
	m.arr_len = 1;
	model_assert_live(&f, &m);
}

/* Defect 12 on real maps: cancelled through one handle, then another structure flips. */
static void test_cancelled_after_other_flip(void **state)
{
	struct abmap_switchover *h1, *h2, *other;
	__u32 a[2] = { 1, 2 }, b[2] = { 3, 4 }, key = 1;
	__u64 v = 9;
	struct fixture f;
	__u64 gen;

	(void)state;
	fixture_init(&f, 0);
	gen = ktest_group_gen(f.group);
	assert_int_equal(abmap_array_set_and_defer_switchover(f.arr, a, 2, &h1), 0);
	assert_int_equal(abmap_array_set_and_defer_switchover(f.arr, b, 2, &h2), 0);
	assert_int_equal(abmap_hash_set_and_defer_switchover(f.hash, &key, &v, 1, &other), 0);
	assert_int_equal(abmap_switchover_cancel(h2), 0);
	assert_int_equal(abmap_switchover(other), 0);
	assert_int_equal(ktest_group_gen(f.group), gen + 1);
	assert_int_equal(abmap_switchover(h1), -ECANCELED);
	assert_int_equal(ktest_group_gen(f.group), gen + 1);
	ktest_assert_array(f.arr_fd[live(&f)], NULL, 0, ARR_MAX);
	ktest_assert_hash(f.hash_fd[live(&f)], &key, &v, 1);

	/* abmap_switchover_cancel() of a cancelled change: 0, not -EALREADY. */
	assert_int_equal(abmap_array_set_and_defer_switchover(f.arr, a, 2, &h1), 0);
	assert_int_equal(abmap_array_set_and_defer_switchover(f.arr, b, 2, &h2), 0);
	assert_int_equal(abmap_hash_set_and_defer_switchover(f.hash, NULL, NULL, 0, &other), 0);
	assert_int_equal(abmap_switchover_cancel(h1), 0);
	assert_int_equal(abmap_switchover(other), 0);
	assert_int_equal(abmap_switchover_cancel(h2), 0);
	ktest_assert_array(f.arr_fd[live(&f)], NULL, 0, ARR_MAX);
	ktest_assert_hash(f.hash_fd[live(&f)], NULL, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_replace_all_then_array),	    KTEST(test_random_at_capacity),
		KTEST(test_random_at_capacity_no_prealloc), KTEST(test_random_any_order),
		KTEST(test_staged_insert_before_delete),    KTEST(test_cancelled_after_other_flip),
	};

	return cmocka_run_group_tests_name("full_hash", tests, NULL, NULL);
}
