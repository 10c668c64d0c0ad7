// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Transactions on the in-memory fake: several structures staged and flipped together, untouched
 * structures kept, element updates and deletes, abort, the writer lock, staging errors, and the
 * incremental cost of small commits.
 */
#include "unit_helpers.h"

#define ARR_MAX 16
#define NOLEN_MAX 8
#define HASH_MAX 16

/* struct ut_fixture: arr ARR_MAX, nolen NOLEN_MAX, hash HASH_MAX entries. */
static int setup(void **state)
{
	return ut_fixture_setup(state, ARR_MAX, NOLEN_MAX, HASH_MAX);
}

/* Snapshot of everything in the fixture: generation, both sides of every structure. */
static void snap_all(struct ut_fixture *f, struct ut_snap *snap)
{
	__u32 keys[UT_MODEL_KEYS], i;

	for (i = 0; i < UT_MODEL_KEYS; i++)
		keys[i] = i;
	ut_snap_gen(snap, f->group);
	ut_snap_array(snap, f->arr);
	ut_snap_array(snap, f->nolen);
	ut_snap_hash(snap, f->hash, keys, UT_MODEL_KEYS);
}

static void test_multi_commit(void **state)
{
	struct ut_fixture *f = *state;
	__u64 a0[4], a1[6], n0[NOLEN_MAX], n1[NOLEN_MAX], hv0[3] = { 100, 200, 300 };
	__u64 hv1[3] = { 222, 777, 999 }, v = 9999, gen0;
	__u32 hk0[3] = { 1, 2, 3 }, hk1[3] = { 2, 7, 9 }, hgone[2] = { 1, 3 }, idx = 3;
	struct abmap_txn *txn;

	ut_fill_u64(a0, 4, 10);
	ut_fill_u64(a1, 6, 20);
	ut_fill_u64(n0, NOLEN_MAX, 500);
	memcpy(n1, n0, sizeof(n1));
	n1[3] = 9999;
	ut_ok(abmap_array_set(f->arr, a0, 4));
	ut_ok(abmap_array_set(f->nolen, n0, NOLEN_MAX));
	ut_ok(abmap_hash_set(f->hash, hk0, hv0, 3));
	gen0 = ut_gen(f->group);

	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_array_set(txn, f->arr, a1, 6));
	ut_ok(abmap_txn_update(txn, f->nolen, &idx, &v));
	ut_ok(abmap_txn_hash_set(txn, f->hash, hk1, hv1, 3));

	/* Staged, not live. */
	assert_int_equal(ut_gen(f->group), gen0);
	ut_assert_array_live(f->group, f->arr, a0, 4, 4);
	ut_assert_array_live(f->group, f->nolen, n0, NOLEN_MAX, NOLEN_MAX);
	ut_assert_hash_live(f->group, f->hash, hk0, hv0, 3);

	ut_ok(abmap_txn_commit(txn));

	/* One flip, everything live together, the old content on the passive sides. */
	assert_int_equal(ut_gen(f->group), gen0 + 1);
	ut_assert_array_live(f->group, f->arr, a1, 6, 6);
	ut_assert_array_side(f->arr, ut_passive(f->group), a0, 4, 4);
	ut_assert_array_live(f->group, f->nolen, n1, NOLEN_MAX, NOLEN_MAX);
	ut_assert_array_side(f->nolen, ut_passive(f->group), n0, NOLEN_MAX, NOLEN_MAX);
	ut_assert_hash_live(f->group, f->hash, hk1, hv1, 3);
	ut_assert_hash_live_absent(f->group, f->hash, hgone, 2);
	ut_assert_hash_side(f->hash, ut_passive(f->group), hk0, hv0, 3);
	ut_assert_hash_side_absent(f->hash, ut_passive(f->group), &hk1[1], 2);
}

static void test_untouched_synced(void **state)
{
	struct ut_fixture *f = *state;
	__u64 x1[6], x2[3], hv1[3] = { 10, 20, 30 }, hv2[2] = { 33, 44 }, v = 42;
	__u32 hk1[3] = { 1, 2, 3 }, hk2[2] = { 3, 4 }, gone[2] = { 1, 2 }, idx = 0;
	__u64 n[NOLEN_MAX] = { 0 };
	struct abmap_txn *txn;
	int round;

	ut_fill_u64(x1, 6, 1000);
	ut_fill_u64(x2, 3, 2000);
	ut_ok(abmap_array_set(f->arr, x1, 6));
	ut_ok(abmap_hash_set(f->hash, hk1, hv1, 3));

	/* Change both in the last flip: their passive sides now hold stale content. */
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_array_set(txn, f->arr, x2, 3));
	ut_ok(abmap_txn_hash_set(txn, f->hash, hk2, hv2, 2));
	ut_ok(abmap_txn_commit(txn));
	ut_assert_array_side(f->arr, ut_passive(f->group), x1, 6, 6);
	ut_assert_hash_side(f->hash, ut_passive(f->group), hk1, hv1, 3);

	for (round = 0; round < 3; round++) {
		/* A transaction touching only another structure. */
		txn = ut_txn_begin(f->group);
		v = 42 + (__u64)round;
		n[0] = v;
		ut_ok(abmap_txn_update(txn, f->nolen, &idx, &v));
		ut_ok(abmap_txn_commit(txn));
		ut_assert_array_live(f->group, f->nolen, n, NOLEN_MAX, NOLEN_MAX);

		/* The untouched structures keep their content on the new live side... */
		ut_assert_array_live(f->group, f->arr, x2, 3, 3);
		ut_assert_hash_live(f->group, f->hash, hk2, hv2, 2);
		ut_assert_hash_live_absent(f->group, f->hash, gone, 2);
		/* ...and from the second such flip on, on both sides. */
		if (round) {
			ut_assert_array_side(f->arr, ut_passive(f->group), x2, 3, 3);
			ut_assert_hash_side(f->hash, ut_passive(f->group), hk2, hv2, 2);
			ut_assert_hash_side_absent(f->hash, ut_passive(f->group), gone, 2);
		}
	}
}

static void commit_update(struct abmap_group *group, struct abmap *map, __u32 key, __u64 val)
{
	struct abmap_txn *txn = ut_txn_begin(group);

	ut_ok(abmap_txn_update(txn, map, &key, &val));
	ut_ok(abmap_txn_commit(txn));
}

static void commit_delete(struct abmap_group *group, struct abmap *map, __u32 key)
{
	struct abmap_txn *txn = ut_txn_begin(group);

	ut_ok(abmap_txn_delete(txn, map, &key));
	ut_ok(abmap_txn_commit(txn));
}

static void test_update_grows_array(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[3] = { 1, 2, 3 }, want[ARR_MAX] = { 1, 2, 3 }, before[ARR_MAX];
	struct abmap_txn *txn;
	__u32 idx;
	__u64 val = 5;

	ut_ok(abmap_array_set(f->arr, v, 3));

	/* Index at the length and past it: grows to index + 1, new slots zero. */
	commit_update(f->group, f->arr, 6, 66);
	want[6] = 66;
	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, 7);
	ut_assert_array_side(f->arr, ut_passive(f->group), v, 3, 3);

	commit_update(f->group, f->arr, 7, 77);
	want[7] = 77;
	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, 8);

	/* Inside the length: only that slot changes. */
	memcpy(before, want, sizeof(before));
	commit_update(f->group, f->arr, 1, 11);
	want[1] = 11;
	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, 8);
	ut_assert_array_side(f->arr, ut_passive(f->group), before, ARR_MAX, 8);

	/* Up to the last slot. */
	commit_update(f->group, f->arr, ARR_MAX - 1, 1515);
	want[ARR_MAX - 1] = 1515;
	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, ARR_MAX);

	/* Past max_entries: refused. */
	txn = ut_txn_begin(f->group);
	idx = ARR_MAX;
	ut_assert_fails(abmap_txn_update(txn, f->arr, &idx, &val));
	abmap_txn_abort(txn);
	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, ARR_MAX);
}

static void test_grow_after_shrink(void **state)
{
	struct ut_fixture *f = *state;
	__u64 big[10], small[3] = { 7, 8, 9 }, want[ARR_MAX] = { 7, 8, 9 };

	ut_fill_u64(big, 10, 100);
	ut_ok(abmap_array_set(f->arr, big, 10));
	ut_ok(abmap_array_set(f->arr, small, 3));
	/*
	 * The side written next still holds the 10 values: growing to 6 must show zeros in
	 * slots 3 and 4, not the values of two generations ago.
	 */
	commit_update(f->group, f->arr, 5, 55);
	want[5] = 55;
	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, 6);
	ut_assert_array_side(f->arr, ut_passive(f->group), small, 3, 3);

	/* Same through an update inside the old tail, on the other side. */
	commit_update(f->group, f->arr, 8, 88);
	want[8] = 88;
	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, 9);
}

static void test_delete_array(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[6], want[ARR_MAX] = { 0 }, n[NOLEN_MAX], x = 123;
	__u32 idx;

	ut_fill_u64(v, 6, 60);
	memcpy(want, v, sizeof(v));
	ut_fill_u64(n, NOLEN_MAX, 80);
	ut_ok(abmap_array_set(f->arr, v, 6));
	ut_ok(abmap_array_set(f->nolen, n, NOLEN_MAX));

	/* Zeroes the slot, keeps the length. */
	commit_delete(f->group, f->arr, 2);
	want[2] = 0;
	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, 6);
	ut_assert_array_side(f->arr, ut_passive(f->group), v, 6, 6);
	idx = 2;
	x = 123;
	ut_ok(abmap_array_get(f->arr, idx, &x));
	assert_int_equal(x, 0);

	/* The last slot: zeroed. */
	commit_delete(f->group, f->arr, 5);
	x = 123;
	idx = 5;
	ut_ok(abmap_fake_peek(f->arr, ut_live(f->group), &idx, &x));
	assert_int_equal(x, 0);

	/* Without a length map. */
	commit_delete(f->group, f->nolen, 7);
	n[7] = 0;
	ut_assert_array_live(f->group, f->nolen, n, NOLEN_MAX, NOLEN_MAX);
}

static void test_hash_update_delete(void **state)
{
	struct ut_fixture *f = *state;
	__u32 k0[3] = { 1, 2, 3 }, k1[3] = { 2, 3, 4 }, absent[2] = { 1, 99 }, key;
	__u64 v0[3] = { 10, 20, 30 }, v1[3] = { 22, 30, 40 }, val;
	struct abmap_txn *txn;
	__u64 gen;

	ut_ok(abmap_hash_set(f->hash, k0, v0, 3));
	gen = ut_gen(f->group);

	txn = ut_txn_begin(f->group);
	key = 2;
	val = 22;
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val)); /* overwrite */
	key = 4;
	val = 40;
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val)); /* insert */
	key = 1;
	ut_ok(abmap_txn_delete(txn, f->hash, &key));
	key = 99;
	ut_ok(abmap_txn_delete(txn, f->hash, &key)); /* absent: not an error */
	ut_ok(abmap_txn_commit(txn));

	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_hash_live(f->group, f->hash, k1, v1, 3);
	ut_assert_hash_live_absent(f->group, f->hash, absent, 2);
	ut_assert_hash_side(f->hash, ut_passive(f->group), k0, v0, 3);
	ut_assert_hash_side_absent(f->hash, ut_passive(f->group), &k1[2], 1);

	/* A transaction made only of a delete of an absent key commits. */
	commit_delete(f->group, f->hash, 12345);
	ut_assert_hash_live(f->group, f->hash, k1, v1, 3);
	/* And the next writes start from the right content on both sides. */
	commit_update(f->group, f->hash, 5, 50);
	ut_assert_hash_live(f->group, f->hash, k1, v1, 3);
	key = 5;
	val = 0;
	ut_ok(abmap_get(f->hash, &key, &val));
	assert_int_equal(val, 50);
	ut_assert_hash_live_absent(f->group, f->hash, absent, 2);
}

static void test_ops_in_order(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[4] = { 1, 2, 3, 4 }, w[2] = { 70, 71 }, want[ARR_MAX] = { 1, 111, 0, 4, 0, 555 };
	__u32 hk[2] = { 1, 2 }, key, gone[1] = { 2 }, hk_want[3] = { 1, 3 };
	__u64 hv[2] = { 10, 20 }, val, hv_want[3] = { 11, 33 };
	struct abmap_txn *txn;

	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_array_set(txn, f->arr, v, 4));
	key = 1;
	val = 111;
	ut_ok(abmap_txn_update(txn, f->arr, &key, &val));
	key = 2;
	ut_ok(abmap_txn_delete(txn, f->arr, &key));
	key = 5;
	val = 555;
	ut_ok(abmap_txn_update(txn, f->arr, &key, &val));

	ut_ok(abmap_txn_hash_set(txn, f->hash, hk, hv, 2));
	key = 3;
	val = 33;
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	key = 1;
	ut_ok(abmap_txn_delete(txn, f->hash, &key));
	val = 11;
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val)); /* delete then update: present */
	key = 2;
	val = 22;
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	ut_ok(abmap_txn_delete(txn, f->hash, &key)); /* update then delete: absent */
	ut_ok(abmap_txn_commit(txn));

	ut_assert_array_live(f->group, f->arr, want, ARR_MAX, 6);
	ut_assert_hash_live(f->group, f->hash, hk_want, hv_want, 2);
	ut_assert_hash_live_absent(f->group, f->hash, gone, 1);

	/* A whole set after updates replaces them; the last whole set wins. */
	txn = ut_txn_begin(f->group);
	key = 9;
	val = 999;
	ut_ok(abmap_txn_update(txn, f->arr, &key, &val));
	ut_ok(abmap_txn_array_set(txn, f->arr, v, 4));
	ut_ok(abmap_txn_array_set(txn, f->arr, w, 2));
	ut_ok(abmap_txn_commit(txn));
	ut_assert_array_live(f->group, f->arr, w, 2, 2);
}

static void test_abort(void **state)
{
	struct ut_fixture *f = *state;
	__u64 a[5] = { 1, 2, 3, 4, 5 }, b[2] = { 8, 9 }, hv[2] = { 10, 20 }, val = 77;
	__u32 hk[2] = { 1, 2 }, key = 3;
	struct ut_snap s0 = { 0 }, s2 = { 0 };
	struct abmap_txn *txn;

	ut_ok(abmap_array_set(f->arr, a, 5));
	ut_ok(abmap_hash_set(f->hash, hk, hv, 2));
	snap_all(f, &s0);

	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_array_set(txn, f->arr, b, 2));
	ut_ok(abmap_txn_update(txn, f->nolen, &key, &val));
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	ut_ok(abmap_txn_delete(txn, f->hash, &hk[0]));
	/* Staging writes nothing live. */
	ut_assert_array_live(f->group, f->arr, a, 5, 5);
	abmap_txn_abort(txn);

	/* Nothing changed, on either side. */
	snap_all(f, &s2);
	ut_snap_assert_equal(&s0, &s2);
	ut_snap_free(&s0);
	ut_snap_free(&s2);

	abmap_txn_abort(NULL);

	/* The lock was released: a new transaction starts and commits. */
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_array_set(txn, f->arr, b, 2));
	ut_ok(abmap_txn_commit(txn));
	ut_assert_array_live(f->group, f->arr, b, 2, 2);
	ut_assert_hash_live(f->group, f->hash, hk, hv, 2);
	ut_assert_array_live(f->group, f->nolen, NULL, 0, NOLEN_MAX);
}

static void clobber(void *p, size_t n)
{
	memset(p, 0xff, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/* Stage from this frame's stack; the frame is gone (and reused) by the time of the commit. */
static void stage_from_stack(struct abmap_txn *txn, struct ut_fixture *f)
{
	__u64 a[4] = { 41, 42, 43, 44 }, hv[2] = { 401, 402 }, val = 4444;
	__u32 hk[2] = { 4, 5 }, key = 2;

	ut_ok(abmap_txn_array_set(txn, f->arr, a, 4));
	ut_ok(abmap_txn_hash_set(txn, f->hash, hk, hv, 2));
	ut_ok(abmap_txn_update(txn, f->nolen, &key, &val));
	clobber(a, sizeof(a));
	clobber(hv, sizeof(hv));
	clobber(hk, sizeof(hk));
	clobber(&key, sizeof(key));
	clobber(&val, sizeof(val));
}

static void scribble_stack(void)
{
	volatile unsigned char junk[4096];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = 0xee;
}

static void test_staged_data_copied(void **state)
{
	struct ut_fixture *f = *state;
	__u64 a[4] = { 41, 42, 43, 44 }, hv[2] = { 401, 402 }, n[NOLEN_MAX] = { 0, 0, 4444 };
	__u64 b[3] = { 5, 6, 7 }, val = 6;
	__u32 hk[2] = { 4, 5 }, key = 1;
	struct abmap_txn *txn;

	txn = ut_txn_begin(f->group);
	stage_from_stack(txn, f);
	scribble_stack();
	ut_ok(abmap_txn_commit(txn));
	ut_assert_array_live(f->group, f->arr, a, 4, 4);
	ut_assert_hash_live(f->group, f->hash, hk, hv, 2);
	ut_assert_array_live(f->group, f->nolen, n, NOLEN_MAX, NOLEN_MAX);

	/* Buffers of this frame, overwritten before the commit. */
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_array_set(txn, f->arr, b, 3));
	ut_ok(abmap_txn_update(txn, f->nolen, &key, &val));
	clobber(b, sizeof(b));
	clobber(&key, sizeof(key));
	clobber(&val, sizeof(val));
	ut_ok(abmap_txn_commit(txn));
	b[0] = 5;
	b[1] = 6;
	b[2] = 7;
	n[1] = 6;
	ut_assert_array_live(f->group, f->arr, b, 3, 3);
	ut_assert_array_live(f->group, f->nolen, n, NOLEN_MAX, NOLEN_MAX);
}

static void test_second_writer_busy(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[2] = { 1, 2 }, gen = ut_gen(f->group);
	struct abmap_txn *txn, *txn2;

	txn = ut_txn_begin(f->group);
	ut_assert_null_errno(abmap_txn_begin(f->group), EBUSY);
	/* A one-structure set is a transaction too. */
	ut_assert_ret(abmap_array_set(f->arr, v, 2), -EBUSY);
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_array_live(f->group, f->arr, NULL, 0, 0);
	abmap_txn_abort(txn);

	/* Released by abort. */
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_array_set(txn, f->arr, v, 2));
	ut_ok(abmap_txn_commit(txn));
	/* Released by commit. */
	txn2 = ut_txn_begin(f->group);
	abmap_txn_abort(txn2);
	ut_ok(abmap_array_set(f->arr, v, 1));
	ut_assert_array_live(f->group, f->arr, v, 1, 1);
}

static void test_stage_errors(void **state)
{
	struct ut_fixture *f = *state;
	__u64 vals[ARR_MAX + 2] = { 0 }, v = 1;
	__u32 keys[HASH_MAX + 1], dup[3] = { 4, 5, 4 }, key = 0, idx = ARR_MAX;
	struct ut_snap s0 = { 0 }, s1 = { 0 };
	struct abmap_txn *txn;
	__u32 i;

	for (i = 0; i < HASH_MAX + 1; i++)
		keys[i] = i;
	snap_all(f, &s0);
	txn = ut_txn_begin(f->group);

	ut_assert_ret(abmap_txn_array_set(txn, f->arr, vals, ARR_MAX + 1), -E2BIG);
	ut_assert_ret(abmap_txn_array_set(txn, f->nolen, vals, NOLEN_MAX + 1), -E2BIG);
	ut_assert_ret(abmap_txn_hash_set(txn, f->hash, keys, vals, HASH_MAX + 1), -E2BIG);
	ut_assert_ret(abmap_txn_hash_set(txn, f->hash, dup, vals, 3), -EINVAL);
	/* Wrong kind. */
	ut_assert_ret(abmap_txn_array_set(txn, f->hash, vals, 1), -EINVAL);
	ut_assert_ret(abmap_txn_hash_set(txn, f->arr, keys, vals, 1), -EINVAL);
	/* Index past max_entries. */
	ut_assert_fails(abmap_txn_update(txn, f->arr, &idx, &v));
	ut_assert_fails(abmap_txn_delete(txn, f->arr, &idx));
	/* NULL arguments. */
	ut_assert_ret(abmap_txn_array_set(NULL, f->arr, vals, 1), -EINVAL);
	ut_assert_ret(abmap_txn_array_set(txn, NULL, vals, 1), -EINVAL);
	ut_assert_ret(abmap_txn_array_set(txn, f->arr, NULL, 1), -EINVAL);
	ut_assert_ret(abmap_txn_hash_set(NULL, f->hash, keys, vals, 1), -EINVAL);
	ut_assert_ret(abmap_txn_hash_set(txn, NULL, keys, vals, 1), -EINVAL);
	ut_assert_ret(abmap_txn_hash_set(txn, f->hash, NULL, vals, 1), -EINVAL);
	ut_assert_ret(abmap_txn_hash_set(txn, f->hash, keys, NULL, 1), -EINVAL);
	ut_assert_ret(abmap_txn_update(NULL, f->hash, &key, &v), -EINVAL);
	ut_assert_ret(abmap_txn_update(txn, NULL, &key, &v), -EINVAL);
	ut_assert_ret(abmap_txn_update(txn, f->hash, NULL, &v), -EINVAL);
	ut_assert_ret(abmap_txn_update(txn, f->hash, &key, NULL), -EINVAL);
	ut_assert_ret(abmap_txn_delete(NULL, f->hash, &key), -EINVAL);
	ut_assert_ret(abmap_txn_delete(txn, NULL, &key), -EINVAL);
	ut_assert_ret(abmap_txn_delete(txn, f->hash, NULL), -EINVAL);
	ut_assert_ret(abmap_txn_commit(NULL), -EINVAL);
	abmap_txn_abort(txn);

	snap_all(f, &s1);
	ut_snap_assert_equal(&s0, &s1);
	ut_snap_free(&s0);
	ut_snap_free(&s1);
}

static void test_foreign_group(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap_group *g2 = ut_group_new();
	struct abmap *a2 = ut_array_new(g2, sizeof(__u64), 4, 0);
	struct abmap *h2 = ut_hash_new(g2, sizeof(__u32), sizeof(__u64), 4);
	__u64 v = 5, vals[2] = { 1, 2 }, gen2 = ut_gen(g2);
	__u32 key = 1, keys[2] = { 1, 2 };
	struct abmap_txn *txn;

	txn = ut_txn_begin(f->group);
	ut_assert_ret(abmap_txn_update(txn, a2, &key, &v), -EINVAL);
	ut_assert_ret(abmap_txn_update(txn, h2, &key, &v), -EINVAL);
	ut_assert_ret(abmap_txn_delete(txn, h2, &key), -EINVAL);
	ut_assert_ret(abmap_txn_array_set(txn, a2, vals, 2), -EINVAL);
	ut_assert_ret(abmap_txn_hash_set(txn, h2, keys, vals, 2), -EINVAL);
	ut_ok(abmap_txn_update(txn, f->arr, &key, &v));
	ut_ok(abmap_txn_commit(txn));

	assert_int_equal(ut_gen(g2), gen2);
	ut_assert_array_side(a2, ABMAP_SIDE_A, NULL, 0, 0);
	ut_assert_array_side(a2, ABMAP_SIDE_B, NULL, 0, 0);
	ut_assert_hash_side_absent(h2, ABMAP_SIDE_A, keys, 2);
	ut_assert_hash_side_absent(h2, ABMAP_SIDE_B, keys, 2);
	abmap_group_free(g2);
}

static void test_hash_full(void **state)
{
	struct ut_fixture *f = *state;
	__u32 keys[HASH_MAX], key, i;
	__u64 vals[HASH_MAX], val, gen;
	struct ut_snap s0 = { 0 }, s1 = { 0 };
	struct abmap_txn *txn;
	int ret;

	for (i = 0; i < HASH_MAX; i++) {
		keys[i] = i;
		vals[i] = 100 + i;
	}
	ut_ok(abmap_hash_set(f->hash, keys, vals, HASH_MAX));
	gen = ut_gen(f->group);
	snap_all(f, &s0);

	/* One key too many: refused when staged or when committed; nothing becomes live. */
	txn = ut_txn_begin(f->group);
	key = 20;
	val = 2000;
	ret = abmap_txn_update(txn, f->hash, &key, &val);
	if (ret) {
		assert_true(ret < 0);
		abmap_txn_abort(txn);
	} else {
		ut_assert_fails(abmap_txn_commit(txn));
	}
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
	ut_assert_hash_live_absent(f->group, f->hash, &key, 1);
	if (ret) {
		snap_all(f, &s1);
		ut_snap_assert_equal(&s0, &s1);
	}

	/* Delete one, insert one: fits. */
	txn = ut_txn_begin(f->group);
	key = 0;
	ut_ok(abmap_txn_delete(txn, f->hash, &key));
	key = 20;
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	ut_ok(abmap_txn_commit(txn));
	assert_int_equal(ut_gen(f->group), gen + 1);
	keys[0] = 20;
	vals[0] = 2000;
	ut_assert_hash_live(f->group, f->hash, keys, vals, HASH_MAX);
	key = 0;
	ut_assert_hash_live_absent(f->group, f->hash, &key, 1);
	ut_snap_free(&s0);
	ut_snap_free(&s1);
}

static void test_free_busy(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v = 3;
	__u32 key = 0;
	struct abmap_txn *txn;

	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_update(txn, f->arr, &key, &v));
	ut_assert_ret(abmap_free(f->arr), -EBUSY);
	abmap_txn_abort(txn);
	ut_ok(abmap_free(f->arr));
	f->arr = NULL;
	commit_update(f->group, f->nolen, 0, 9);
}

/* Flips and grace-period waits so far. */
static unsigned long flips_and_graces(struct ut_fixture *f)
{
	return abmap_fake_count(f->group, ABMAP_FAKE_FLIP) * 1000 +
	       abmap_fake_count(f->group, ABMAP_FAKE_GRACE);
}

/* An empty transaction does not flip, and spends no grace period. */
static void test_empty_commit(void **state)
{
	struct ut_fixture *f = *state;
	__u64 a[3] = { 3, 2, 1 };
	unsigned long ops;
	__u64 gen;

	ut_ok(abmap_array_set(f->arr, a, 3));
	gen = ut_gen(f->group);
	ops = flips_and_graces(f);
	ut_ok(abmap_txn_commit(ut_txn_begin(f->group)));
	assert_int_equal(ut_gen(f->group), gen);
	assert_int_equal(flips_and_graces(f), ops);
	ut_assert_array_live(f->group, f->arr, a, 3, 3);
	commit_update(f->group, f->arr, 0, 33);
	a[0] = 33;
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, a, 3, 3);
}

#define MANY 256
#define MANY_KEYS 400

/* Assert one side of a u32 -> u64 hash over the keys 0..MANY_KEYS-1. */
static void assert_many_hash_side(struct abmap *h, int side, const bool *present, const __u64 *vals)
{
	__u32 k;
	__u64 v;
	int ret;

	for (k = 0; k < MANY_KEYS; k++) {
		ret = abmap_fake_peek(h, side, &k, &v);
		if (present[k] && (ret || v != vals[k]))
			fail_msg("side %d key %u: ret %d value %llu, expected %llu", side, k, ret,
				 (unsigned long long)v, (unsigned long long)vals[k]);
		if (!present[k] && ret != -ENOENT)
			fail_msg("side %d key %u: ret %d, expected -ENOENT", side, k, ret);
	}
}

/*
 * One transaction changing more elements than the library tracks one by one: the next commits
 * must still carry the whole content over to the other side.
 */
static void test_many_updates_then_small(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap *arr = ut_array_new(f->group, sizeof(__u64), MANY, 0);
	struct abmap *h = ut_hash_new(f->group, sizeof(__u32), sizeof(__u64), MANY);
	__u64 *aval = calloc(MANY, sizeof(__u64)), *hval = calloc(MANY_KEYS, sizeof(__u64));
	__u64 *prev_a = calloc(MANY, sizeof(__u64)), *prev_h = calloc(MANY_KEYS, sizeof(__u64));
	bool *hpresent = calloc(MANY_KEYS, sizeof(bool)), *prev_p = calloc(MANY_KEYS, sizeof(bool));
	__u32 i, key, keys[50], alen = 50, prev_len;
	struct abmap_txn *txn;
	__u64 val;
	int round;

	assert_true(aval && hval && prev_a && prev_h && hpresent && prev_p);
	for (i = 0; i < 50; i++) {
		aval[i] = i + 1;
		keys[i] = i * 3;
		hval[i * 3] = 1000 + i;
		hpresent[i * 3] = true;
	}
	ut_ok(abmap_array_set(arr, aval, 50));
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_hash_set(txn, h, keys, hval, 0));
	for (i = 0; i < 50; i++)
		ut_ok(abmap_txn_update(txn, h, &keys[i], &hval[keys[i]]));
	ut_ok(abmap_txn_commit(txn));

	memcpy(prev_a, aval, MANY * sizeof(__u64));
	memcpy(prev_h, hval, MANY_KEYS * sizeof(__u64));
	memcpy(prev_p, hpresent, MANY_KEYS * sizeof(bool));
	prev_len = alen;

	/*
	 * 150 array updates (growing it), 120 hash inserts or overwrites (170 keys at most), 40
	 * deletes.
	 */
	txn = ut_txn_begin(f->group);
	for (i = 0; i < 150; i++) {
		key = (i * 37 + 5) % MANY;
		val = 0x100000 + i;
		ut_ok(abmap_txn_update(txn, arr, &key, &val));
		aval[key] = val;
		if (key + 1 > alen)
			alen = key + 1;
	}
	for (i = 0; i < 120; i++) {
		key = (i * 11 + 1) % MANY_KEYS;
		val = 0x200000 + i;
		ut_ok(abmap_txn_update(txn, h, &key, &val));
		hval[key] = val;
		hpresent[key] = true;
	}
	for (i = 0; i < 40; i++) {
		key = i * 6;
		ut_ok(abmap_txn_delete(txn, h, &key));
		hval[key] = 0;
		hpresent[key] = false;
	}
	ut_ok(abmap_txn_commit(txn));
	ut_assert_array_live(f->group, arr, aval, MANY, alen);
	ut_assert_array_side(arr, ut_passive(f->group), prev_a, MANY, prev_len);
	assert_many_hash_side(h, ut_live(f->group), hpresent, hval);
	assert_many_hash_side(h, ut_passive(f->group), prev_p, prev_h);

	/* Small commits of another structure: both sides end up with the whole content. */
	for (round = 0; round < 2; round++) {
		commit_update(f->group, f->nolen, 0, 40 + (__u64)round);
		ut_assert_array_live(f->group, arr, aval, MANY, alen);
		assert_many_hash_side(h, ut_live(f->group), hpresent, hval);
	}
	ut_assert_array_side(arr, ut_passive(f->group), aval, MANY, alen);
	assert_many_hash_side(h, ut_passive(f->group), hpresent, hval);
	free(aval);
	free(hval);
	free(prev_a);
	free(prev_h);
	free(hpresent);
	free(prev_p);
}

/* ---------------------------------------------------------------------------------------------
 * Incremental cost: a small commit replays the previous delta plus its own, not the structure.
 */

#define BIG 1000
#define SMALL_COST 8

static unsigned long writes(struct abmap_group *group)
{
	return abmap_fake_count(group, ABMAP_FAKE_WRITE);
}

static void test_incremental_array(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap *big = ut_array_new(f->group, sizeof(__u32), BIG, 0);
	__u32 *model = calloc(BIG, sizeof(__u32)), *prev = calloc(BIG, sizeof(__u32));
	unsigned long c0, delta;
	struct abmap_txn *txn;
	__u32 i, idx, val;

	assert_non_null(model);
	assert_non_null(prev);
	for (i = 0; i < BIG; i++)
		model[i] = i * 7 + 1;
	c0 = writes(f->group);
	ut_ok(abmap_array_set(big, model, BIG));
	assert_true(writes(f->group) - c0 >= BIG);

	/*
	 * The first small commit may replay the whole set into the other side; from the second
	 * on, each must write only a few elements.
	 */
	for (i = 0; i < 25; i++) {
		idx = (i * 379 + 11) % BIG;
		val = 0x10000 + i;
		memcpy(prev, model, BIG * sizeof(__u32));
		model[idx] = val;
		c0 = writes(f->group);
		txn = ut_txn_begin(f->group);
		ut_ok(abmap_txn_update(txn, big, &idx, &val));
		ut_ok(abmap_txn_commit(txn));
		delta = writes(f->group) - c0;
		if (i == 0)
			continue;
		if (delta < 1 || delta > SMALL_COST)
			fail_msg("commit %u updating 1 of %u elements made %lu writes (max %u)", i,
				 BIG, delta, SMALL_COST);
	}
	ut_assert_array_live(f->group, big, model, BIG, BIG);
	ut_assert_array_side(big, ut_passive(f->group), prev, BIG, BIG);
	free(model);
	free(prev);
}

static void test_incremental_neighbour(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap *big = ut_array_new(f->group, sizeof(__u32), BIG, 0);
	__u32 *model = calloc(BIG, sizeof(__u32));
	unsigned long c0, delta;
	__u64 n[NOLEN_MAX] = { 0 };
	__u32 i, idx = 3, val = 5;
	int round;

	assert_non_null(model);
	for (i = 0; i < BIG; i++)
		model[i] = i + 1;
	ut_ok(abmap_array_set(big, model, BIG));
	/* Warm-up: replays the whole set once. */
	{
		struct abmap_txn *txn = ut_txn_begin(f->group);

		ut_ok(abmap_txn_update(txn, big, &idx, &val));
		ut_ok(abmap_txn_commit(txn));
		model[idx] = val;
	}
	/* Commits of another structure: the big one needs at most its last small delta. */
	for (round = 0; round < 6; round++) {
		c0 = writes(f->group);
		commit_update(f->group, f->nolen, (__u32)round, 100 + (__u64)round);
		n[round] = 100 + (__u64)round;
		delta = writes(f->group) - c0;
		if (delta < 1 || delta > SMALL_COST)
			fail_msg("round %d: commit of 1 element next to an untouched %u-element "
				 "array made %lu writes (max %u)",
				 round, BIG, delta, SMALL_COST);
	}
	ut_assert_array_live(f->group, big, model, BIG, BIG);
	ut_assert_array_side(big, ut_passive(f->group), model, BIG, BIG);
	ut_assert_array_live(f->group, f->nolen, n, NOLEN_MAX, NOLEN_MAX);
	free(model);
}

static void test_incremental_hash(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap *h = ut_hash_new(f->group, sizeof(__u32), sizeof(__u64), BIG);
	__u32 *keys = calloc(BIG, sizeof(__u32)), i, key;
	__u64 *vals = calloc(BIG, sizeof(__u64)), val;
	unsigned long c0, delta;
	struct abmap_txn *txn;

	assert_non_null(keys);
	assert_non_null(vals);
	for (i = 0; i < BIG; i++) {
		keys[i] = i * 13 + 5;
		vals[i] = i;
	}
	ut_ok(abmap_hash_set(h, keys, vals, BIG));
	commit_update(f->group, h, keys[0], 1); /* warm-up */
	vals[0] = 1;

	for (i = 1; i < 21; i++) {
		c0 = writes(f->group);
		txn = ut_txn_begin(f->group);
		key = keys[i * 37 % BIG];
		if (i % 3 == 0) {
			/* Delete, then insert again two commits later. */
			ut_ok(abmap_txn_delete(txn, h, &key));
		} else {
			val = 0x5000 + i;
			ut_ok(abmap_txn_update(txn, h, &key, &val));
			vals[i * 37 % BIG] = val;
		}
		ut_ok(abmap_txn_commit(txn));
		delta = writes(f->group) - c0;
		if (delta < 1 || delta > SMALL_COST)
			fail_msg("hash commit %u changing 1 of %u keys made %lu writes (max %u)", i,
				 BIG, delta, SMALL_COST);
		if (i % 3 == 0) {
			ut_assert_hash_live_absent(f->group, h, &key, 1);
			commit_update(f->group, h, key, vals[i * 37 % BIG]);
		}
	}
	ut_assert_hash_live(f->group, h, keys, vals, BIG);
	free(keys);
	free(vals);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UT_FIXTURE_TEST(test_multi_commit, setup),
		UT_FIXTURE_TEST(test_untouched_synced, setup),
		UT_FIXTURE_TEST(test_update_grows_array, setup),
		UT_FIXTURE_TEST(test_grow_after_shrink, setup),
		UT_FIXTURE_TEST(test_delete_array, setup),
		UT_FIXTURE_TEST(test_hash_update_delete, setup),
		UT_FIXTURE_TEST(test_ops_in_order, setup),
		UT_FIXTURE_TEST(test_abort, setup),
		UT_FIXTURE_TEST(test_staged_data_copied, setup),
		UT_FIXTURE_TEST(test_second_writer_busy, setup),
		UT_FIXTURE_TEST(test_stage_errors, setup),
		UT_FIXTURE_TEST(test_foreign_group, setup),
		UT_FIXTURE_TEST(test_hash_full, setup),
		UT_FIXTURE_TEST(test_free_busy, setup),
		UT_FIXTURE_TEST(test_empty_commit, setup),
		UT_FIXTURE_TEST(test_many_updates_then_small, setup),
		UT_FIXTURE_TEST(test_incremental_array, setup),
		UT_FIXTURE_TEST(test_incremental_neighbour, setup),
		UT_FIXTURE_TEST(test_incremental_hash, setup),
	};

	ut_main_init();
	return cmocka_run_group_tests_name("txn", tests, NULL, NULL);
}
