// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hashes kept at max_entries, on the fake store:
 * - a commit that swaps keys must not block the next commits of the group (the catch-up replays
 *   the previous delta deletes first, and a failed replay falls back to a full compare);
 * - staged changes succeed when the final content fits, whatever their order;
 * - a change cancelled through any handle of its structure reports -ECANCELED, even after
 *   another structure's switchover flipped the group.
 */
#include "unit_helpers.h"

#include <time.h>

#define ARR_MAX 8
#define NOLEN_MAX 4
#define HASH_MAX 8
#define KEY_SPACE 24 /* keys of the randomized test: 0..KEY_SPACE-1 */

static int setup(void **state)
{
	return ut_fixture_setup(state, ARR_MAX, NOLEN_MAX, HASH_MAX);
}

/* Keys first..first+n-1, values key * 10 + round. */
static void fill(__u32 *keys, __u64 *vals, __u32 first, __u32 n, unsigned int round)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		keys[i] = first + i;
		vals[i] = (__u64)(first + i) * 10 + round;
	}
}

/* Replace every key of a full hash, twice, then commit only the array: all must succeed. */
static void test_replace_all_then_array(void **state)
{
	struct ut_fixture *f = *state;
	__u32 keys[HASH_MAX];
	__u64 vals[HASH_MAX], arr[2] = { 7, 8 };
	unsigned int round;

	for (round = 0; round < 6; round++) {
		fill(keys, vals, (round % 3) * HASH_MAX, HASH_MAX, round);
		ut_ok(abmap_hash_set(f->hash, keys, vals, HASH_MAX));
		ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
		/* The next commit catches the hash up although it touches only the array. */
		arr[0] = round;
		ut_ok(abmap_array_set(f->arr, arr, 2));
		ut_assert_array_live(f->group, f->arr, arr, 2, 2);
		ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
	}
}

/* Swap a single key of a full hash (delete one, insert another) many times in a row. */
static void test_swap_one_key(void **state)
{
	struct ut_fixture *f = *state;
	__u32 keys[HASH_MAX], key;
	__u64 vals[HASH_MAX], val;
	struct abmap_txn *txn;
	unsigned int round;

	fill(keys, vals, 0, HASH_MAX, 0);
	ut_ok(abmap_hash_set(f->hash, keys, vals, HASH_MAX));
	for (round = 1; round < 40; round++) {
		__u32 slot = round % HASH_MAX;

		txn = ut_txn_begin(f->group);
		ut_ok(abmap_txn_delete(txn, f->hash, &keys[slot]));
		key = keys[slot] + HASH_MAX * 7;
		val = round;
		ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
		ut_ok(abmap_txn_commit(txn));
		keys[slot] = key;
		vals[slot] = val;
		ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
	}
}

/* Insert staged before the delete that makes room: the final content fits, so it succeeds. */
static void test_staged_insert_before_delete(void **state)
{
	struct ut_fixture *f = *state;
	__u32 keys[HASH_MAX], key = 100, gone = 3, i;
	__u64 vals[HASH_MAX], val = 1000;
	struct abmap_txn *txn;

	fill(keys, vals, 0, HASH_MAX, 0);
	ut_ok(abmap_hash_set(f->hash, keys, vals, HASH_MAX));
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	ut_ok(abmap_txn_delete(txn, f->hash, &gone));
	ut_ok(abmap_txn_commit(txn));
	keys[gone] = key;
	vals[gone] = val;
	ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
	ut_assert_hash_live_absent(f->group, f->hash, &gone, 1);

	/* Many inserts first, then as many deletes, plus a key inserted then deleted again. */
	txn = ut_txn_begin(f->group);
	for (i = 0; i < HASH_MAX / 2; i++) {
		key = 200 + i;
		val = 2000 + i;
		ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	}
	key = 300;
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	for (i = 0; i < HASH_MAX / 2; i++)
		ut_ok(abmap_txn_delete(txn, f->hash, &keys[i]));
	ut_ok(abmap_txn_delete(txn, f->hash, &key));
	ut_ok(abmap_txn_commit(txn));
	for (i = 0; i < HASH_MAX / 2; i++) {
		ut_assert_hash_live_absent(f->group, f->hash, &keys[i], 1);
		keys[i] = 200 + i;
		vals[i] = 2000 + i;
	}
	ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
	ut_assert_hash_live_absent(f->group, f->hash, &key, 1);

	/* The final content does not fit: refused, nothing changes. */
	txn = ut_txn_begin(f->group);
	key = 400;
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	ut_assert_fails(abmap_txn_commit(txn));
	ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
	/* ...and the group still commits. */
	ut_ok(abmap_txn_commit(ut_txn_begin(f->group)));
	ut_ok(abmap_hash_set(f->hash, keys, vals, HASH_MAX - 1));
	ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX - 1);
}

/* Element changes staged before a whole content of the same hash do not count against it. */
static void test_staged_before_whole_set(void **state)
{
	struct ut_fixture *f = *state;
	__u32 keys[HASH_MAX], key = 500;
	__u64 vals[HASH_MAX], val = 5;
	struct abmap_txn *txn;

	fill(keys, vals, 0, HASH_MAX, 0);
	ut_ok(abmap_hash_set(f->hash, keys, vals, HASH_MAX));
	fill(keys, vals, HASH_MAX, HASH_MAX, 1);
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	ut_ok(abmap_txn_hash_set(txn, f->hash, keys, vals, HASH_MAX));
	ut_ok(abmap_txn_commit(txn));
	ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
	ut_assert_hash_live_absent(f->group, f->hash, &key, 1);
}

/* Model of the randomized test. */
struct model {
	bool present[KEY_SPACE];
	__u64 val[KEY_SPACE];
	__u32 count;
	__u64 arr[ARR_MAX];
	__u32 arr_len;
};

static __u32 rnd(__u32 *seed, __u32 n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) % n;
}

static void model_assert_live(struct ut_fixture *f, const struct model *m)
{
	__u32 keys[KEY_SPACE], absent[KEY_SPACE], nk = 0, na = 0, k;
	__u64 vals[KEY_SPACE];

	for (k = 0; k < KEY_SPACE; k++) {
		if (m->present[k]) {
			keys[nk] = k;
			vals[nk++] = m->val[k];
		} else {
			absent[na++] = k;
		}
	}
	ut_assert_hash_live(f->group, f->hash, keys, vals, nk);
	ut_assert_hash_live_absent(f->group, f->hash, absent, na);
	ut_assert_array_live(f->group, f->arr, m->arr, ARR_MAX, m->arr_len);
}

/* A random present key, or a random absent one. */
static __u32 pick(const struct model *m, __u32 *seed, bool present)
{
	__u32 k = rnd(seed, KEY_SPACE);

	while (m->present[k] != present)
		k = (k + 1) % KEY_SPACE;
	return k;
}

/*
 * Stage swaps: delete @n present keys and insert @n absent ones; each delete staged before its
 * insert, or (@any_order) in a random order.
 */
static void stage_swaps(struct abmap_txn *txn, struct ut_fixture *f, struct model *m, __u32 *seed,
			__u32 n, unsigned int round, bool any_order)
{
	__u32 i, del, ins;
	__u64 val;

	for (i = 0; i < n; i++) {
		del = pick(m, seed, true);
		m->present[del] = false;
		ins = pick(m, seed, false);
		val = (__u64)round << 8 | ins;
		if (!any_order || rnd(seed, 2)) {
			ut_ok(abmap_txn_delete(txn, f->hash, &del));
			ut_ok(abmap_txn_update(txn, f->hash, &ins, &val));
			m->present[ins] = true;
		} else {
			ut_ok(abmap_txn_update(txn, f->hash, &ins, &val));
			ut_ok(abmap_txn_delete(txn, f->hash, &del));
			/* Inserting the key just deleted, then deleting it: absent. */
			m->present[ins] = ins != del;
		}
		m->val[ins] = val;
	}
}

/* A whole new content of HASH_MAX keys (a random subset of the key space). */
static void stage_replace(struct abmap_txn *txn, struct ut_fixture *f, struct model *m, __u32 *seed,
			  unsigned int round)
{
	__u32 keys[HASH_MAX], i, k;
	__u64 vals[HASH_MAX];

	memset(m->present, 0, sizeof(m->present));
	for (i = 0; i < HASH_MAX; i++) {
		k = pick(m, seed, false);
		m->present[k] = true;
		m->val[k] = (__u64)round << 8 | k | 1ull << 40;
		keys[i] = k;
		vals[i] = m->val[k];
	}
	ut_ok(abmap_txn_hash_set(txn, f->hash, keys, vals, HASH_MAX));
}

/*
 * Thousands of random commits on a hash kept at max_entries (swaps of some keys, replacements
 * of all), some also touching the array or only the array: every commit must succeed.
 */
static void run_random_at_capacity(struct ut_fixture *f, bool any_order)
{
	struct model m = { 0 };
	struct abmap_txn *txn;
	__u32 seed = 12345, i;
	unsigned int round;
	time_t start = time(NULL);

	txn = ut_txn_begin(f->group);
	stage_replace(txn, f, &m, &seed, 0);
	ut_ok(abmap_txn_commit(txn));
	for (round = 1; round < 4000 && time(NULL) - start < 5; round++) {
		__u32 what = rnd(&seed, 8);

		txn = ut_txn_begin(f->group);
		if (what < 4)
			stage_swaps(txn, f, &m, &seed, 1 + rnd(&seed, HASH_MAX), round, any_order);
		else if (what < 6)
			stage_replace(txn, f, &m, &seed, round);
		if (what >= 5) {
			m.arr_len = rnd(&seed, ARR_MAX + 1);
			memset(m.arr, 0, sizeof(m.arr));
			for (i = 0; i < m.arr_len; i++)
				m.arr[i] = round * 100 + i + 1;
			ut_ok(abmap_txn_array_set(txn, f->arr, m.arr, m.arr_len));
		}
		ut_ok(abmap_txn_commit(txn));
		if (round % 16 == 0 || what >= 6)
			model_assert_live(f, &m);
	}
	model_assert_live(f, &m);
	assert_true(round > 500);
}

static void test_random_at_capacity(void **state)
{
	run_random_at_capacity(*state, false);
}

/* Same, with each swap's insert staged before or after its delete at random. */
static void test_random_any_order(void **state)
{
	run_random_at_capacity(*state, true);
}

/* Defect 12: a change cancelled through one handle, then another structure's switchover. */
static void test_cancelled_after_other_flip(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap_switchover *h1, *h2, *other;
	__u64 a[2] = { 1, 2 }, b[2] = { 3, 4 }, n[1] = { 9 };
	__u64 gen = ut_gen(f->group);

	ut_ok(abmap_array_set_and_defer_switchover(f->arr, a, 2, &h1));
	ut_ok(abmap_array_set_and_defer_switchover(f->arr, b, 2, &h2));
	ut_ok(abmap_array_set_and_defer_switchover(f->nolen, n, 1, &other));
	/* Cancelling through h2 cancels every pending change of f->arr, h1's too. */
	ut_ok(abmap_switchover_cancel(h2));
	ut_ok(abmap_switchover(other));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_ret(abmap_switchover(h1), -ECANCELED);
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, NULL, 0, 0);

	/* Same through abmap_switchover_cancel(). */
	ut_ok(abmap_array_set_and_defer_switchover(f->arr, a, 2, &h1));
	ut_ok(abmap_array_set_and_defer_switchover(f->arr, b, 2, &h2));
	ut_ok(abmap_array_set_and_defer_switchover(f->nolen, n, 1, &other));
	ut_ok(abmap_switchover_cancel(h1));
	ut_ok(abmap_switchover(other));
	ut_ok(abmap_switchover_cancel(h2)); /* was -EALREADY */
	ut_assert_array_live(f->group, f->arr, NULL, 0, 0);

	/* A change that was flipped still reports 0 / -EALREADY. */
	ut_ok(abmap_array_set_and_defer_switchover(f->arr, a, 2, &h1));
	ut_ok(abmap_array_set_and_defer_switchover(f->nolen, n, 1, &other));
	ut_ok(abmap_switchover(other));
	ut_ok(abmap_switchover(h1));
	ut_ok(abmap_array_set_and_defer_switchover(f->arr, b, 2, &h1));
	ut_ok(abmap_array_set_and_defer_switchover(f->nolen, n, 1, &other));
	ut_ok(abmap_switchover(other));
	ut_assert_ret(abmap_switchover_cancel(h1), -EALREADY);
	ut_assert_array_live(f->group, f->arr, b, 2, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UT_FIXTURE_TEST(test_replace_all_then_array, setup),
		UT_FIXTURE_TEST(test_swap_one_key, setup),
		UT_FIXTURE_TEST(test_staged_insert_before_delete, setup),
		UT_FIXTURE_TEST(test_staged_before_whole_set, setup),
		UT_FIXTURE_TEST(test_random_at_capacity, setup),
		UT_FIXTURE_TEST(test_random_any_order, setup),
		UT_FIXTURE_TEST(test_cancelled_after_other_flip, setup),
	};

	ut_main_init();
	return cmocka_run_group_tests_name("full_hash", tests, NULL, NULL);
}
