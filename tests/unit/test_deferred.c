// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ebpfstruct-style deferred switchover on the in-memory fake: the passive side is written at
 * once, the first switchover flips every deferred change of the group, later handles are no-ops,
 * cancel restores the passive side, a transaction commit flips pending deferred changes too.
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

static struct abmap_switchover *defer_array(struct abmap *arr, const __u64 *vals, __u32 n)
{
	struct abmap_switchover *so = NULL;

	ut_ok(abmap_array_set_and_defer_switchover(arr, vals, n, &so));
	assert_non_null(so);
	return so;
}

static struct abmap_switchover *defer_hash(struct abmap *hash, const __u32 *keys, const __u64 *vals,
					   __u32 n)
{
	struct abmap_switchover *so = NULL;

	ut_ok(abmap_hash_set_and_defer_switchover(hash, keys, vals, n, &so));
	assert_non_null(so);
	return so;
}

static void test_defer_array(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v1[5], v2[3], gen;
	struct abmap_switchover *so;

	ut_fill_u64(v1, 5, 10);
	ut_fill_u64(v2, 3, 20);
	ut_ok(abmap_array_set(f->arr, v1, 5));
	gen = ut_gen(f->group);

	so = defer_array(f->arr, v2, 3);
	/* Written into the passive side now; live side and generation unchanged. */
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_array_live(f->group, f->arr, v1, 5, 5);
	ut_assert_array_side(f->arr, ut_passive(f->group), v2, 3, 3);

	ut_ok(abmap_switchover(so));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, v2, 3, 3);
	ut_assert_array_side(f->arr, ut_passive(f->group), v1, 5, 5);
}

/* A switchover flips even when the deferred content equals the live one (unlike a commit). */
static void test_defer_identical_flips(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[3] = { 7, 8, 9 }, gen;

	ut_ok(abmap_array_set(f->arr, v, 3));
	gen = ut_gen(f->group);
	ut_ok(abmap_switchover(defer_array(f->arr, v, 3)));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, v, 3, 3);
	/* A commit carrying a pending deferred change flips too. */
	defer_array(f->arr, v, 3);
	ut_ok(abmap_txn_commit(ut_txn_begin(f->group)));
	assert_int_equal(ut_gen(f->group), gen + 2);
}

static void test_defer_hash(void **state)
{
	struct ut_fixture *f = *state;
	__u32 k1[3] = { 1, 2, 3 }, k2[2] = { 3, 4 }, gone[2] = { 1, 2 };
	__u64 v1[3] = { 10, 20, 30 }, v2[2] = { 33, 40 }, gen;
	struct abmap_switchover *so;

	ut_ok(abmap_hash_set(f->hash, k1, v1, 3));
	gen = ut_gen(f->group);

	so = defer_hash(f->hash, k2, v2, 2);
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_hash_live(f->group, f->hash, k1, v1, 3);
	ut_assert_hash_side(f->hash, ut_passive(f->group), k2, v2, 2);
	ut_assert_hash_side_absent(f->hash, ut_passive(f->group), gone, 2);

	ut_ok(abmap_switchover(so));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_hash_live(f->group, f->hash, k2, v2, 2);
	ut_assert_hash_live_absent(f->group, f->hash, gone, 2);
	ut_assert_hash_side(f->hash, ut_passive(f->group), k1, v1, 3);
}

static void test_first_switchover_flips_all(void **state)
{
	struct ut_fixture *f = *state;
	__u64 a1[4], a2[6], n1[NOLEN_MAX], n2[NOLEN_MAX], hv1[2] = { 1, 2 }, hv2[1] = { 9 };
	__u32 hk1[2] = { 5, 6 }, hk2[1] = { 7 };
	struct abmap_switchover *so_a, *so_h, *so_n;
	__u64 gen;

	ut_fill_u64(a1, 4, 100);
	ut_fill_u64(a2, 6, 200);
	ut_fill_u64(n1, NOLEN_MAX, 300);
	ut_fill_u64(n2, NOLEN_MAX, 400);
	ut_ok(abmap_array_set(f->arr, a1, 4));
	ut_ok(abmap_array_set(f->nolen, n1, NOLEN_MAX));
	ut_ok(abmap_hash_set(f->hash, hk1, hv1, 2));
	gen = ut_gen(f->group);

	so_a = defer_array(f->arr, a2, 6);
	so_h = defer_hash(f->hash, hk2, hv2, 1);
	so_n = defer_array(f->nolen, n2, NOLEN_MAX);
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_array_live(f->group, f->arr, a1, 4, 4);
	ut_assert_array_live(f->group, f->nolen, n1, NOLEN_MAX, NOLEN_MAX);
	ut_assert_hash_live(f->group, f->hash, hk1, hv1, 2);

	/* Any handle: the first switchover flips all three at once. */
	ut_ok(abmap_switchover(so_h));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, a2, 6, 6);
	ut_assert_array_live(f->group, f->nolen, n2, NOLEN_MAX, NOLEN_MAX);
	ut_assert_hash_live(f->group, f->hash, hk2, hv2, 1);
	ut_assert_hash_live_absent(f->group, f->hash, hk1, 2);

	/* The others: 0, no second flip, nothing changes. */
	ut_ok(abmap_switchover(so_a));
	ut_ok(abmap_switchover(so_n));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, a2, 6, 6);
	ut_assert_array_side(f->arr, ut_passive(f->group), a1, 4, 4);
	ut_assert_array_side(f->nolen, ut_passive(f->group), n1, NOLEN_MAX, NOLEN_MAX);
	ut_assert_hash_side(f->hash, ut_passive(f->group), hk1, hv1, 2);
}

static void test_stale_handle_does_not_flip_newer(void **state)
{
	struct ut_fixture *f = *state;
	__u64 a1[2] = { 1, 2 }, a2[3] = { 3, 4, 5 }, hv[1] = { 8 }, gen;
	__u32 hk[1] = { 8 };
	struct abmap_switchover *so1, *so2, *so3;

	so1 = defer_array(f->arr, a1, 2);
	so2 = defer_hash(f->hash, hk, hv, 1);
	gen = ut_gen(f->group);
	ut_ok(abmap_switchover(so1));
	assert_int_equal(ut_gen(f->group), gen + 1);

	/* A newer deferred change: the old handle must not flip it. */
	so3 = defer_array(f->arr, a2, 3);
	ut_ok(abmap_switchover(so2));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, a1, 2, 2);
	ut_assert_array_side(f->arr, ut_passive(f->group), a2, 3, 3);
	ut_assert_hash_live(f->group, f->hash, hk, hv, 1);

	ut_ok(abmap_switchover(so3));
	assert_int_equal(ut_gen(f->group), gen + 2);
	ut_assert_array_live(f->group, f->arr, a2, 3, 3);
	ut_assert_hash_live(f->group, f->hash, hk, hv, 1);
}

static void test_cancel_before_flip(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v1[4], v2[7], hv1[2] = { 10, 20 }, hv2[2] = { 30, 40 }, gen, n[NOLEN_MAX] = { 5 };
	__u32 hk1[2] = { 1, 2 }, hk2[2] = { 3, 4 };
	struct abmap_switchover *so_a, *so_h;
	struct abmap_txn *txn;
	__u32 idx = 0;
	__u64 val = 5;

	ut_fill_u64(v1, 4, 1);
	ut_fill_u64(v2, 7, 50);
	/* Same content twice: both sides hold v1 / hk1. */
	ut_ok(abmap_array_set(f->arr, v1, 4));
	ut_ok(abmap_array_set(f->arr, v1, 4));
	ut_ok(abmap_hash_set(f->hash, hk1, hv1, 2));
	ut_ok(abmap_hash_set(f->hash, hk1, hv1, 2));
	gen = ut_gen(f->group);

	so_a = defer_array(f->arr, v2, 7);
	so_h = defer_hash(f->hash, hk2, hv2, 2);
	ut_assert_array_side(f->arr, ut_passive(f->group), v2, 7, 7);

	/* Cancel the array's change: its passive side equals the live one again. */
	ut_ok(abmap_switchover_cancel(so_a));
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_array_side(f->arr, ABMAP_SIDE_A, v1, 4, 4);
	ut_assert_array_side(f->arr, ABMAP_SIDE_B, v1, 4, 4);
	ut_assert_hash_side(f->hash, ut_passive(f->group), hk2, hv2, 2);

	/* The hash's change still flips; the array keeps v1. */
	ut_ok(abmap_switchover(so_h));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, v1, 4, 4);
	ut_assert_hash_live(f->group, f->hash, hk2, hv2, 2);
	ut_assert_hash_live_absent(f->group, f->hash, hk1, 2);

	/* Cancel the only pending change: nothing left to flip. */
	so_a = defer_array(f->arr, v2, 7);
	ut_ok(abmap_switchover_cancel(so_a));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_side(f->arr, ABMAP_SIDE_A, v1, 4, 4);
	ut_assert_array_side(f->arr, ABMAP_SIDE_B, v1, 4, 4);

	/* A later commit does not resurrect the cancelled content. */
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_update(txn, f->nolen, &idx, &val));
	ut_ok(abmap_txn_commit(txn));
	ut_assert_array_live(f->group, f->arr, v1, 4, 4);
	ut_assert_array_live(f->group, f->nolen, n, NOLEN_MAX, NOLEN_MAX);
	ut_assert_hash_live(f->group, f->hash, hk2, hv2, 2);
}

/* Cancel when the passive side was stale before the deferred write: it ends up equal to live. */
static void test_cancel_stale_passive(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v1[6], v2[3], v3[5], gen;
	struct abmap_switchover *so;

	ut_fill_u64(v1, 6, 10);
	ut_fill_u64(v2, 3, 20);
	ut_fill_u64(v3, 5, 30);
	ut_ok(abmap_array_set(f->arr, v1, 6));
	ut_ok(abmap_array_set(f->arr, v2, 3));
	/* Passive holds v1, live v2. */
	ut_assert_array_side(f->arr, ut_passive(f->group), v1, 6, 6);
	gen = ut_gen(f->group);

	so = defer_array(f->arr, v3, 5);
	ut_assert_array_side(f->arr, ut_passive(f->group), v3, 5, 5);
	ut_ok(abmap_switchover_cancel(so));
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_array_live(f->group, f->arr, v2, 3, 3);
	ut_assert_array_side(f->arr, ut_passive(f->group), v2, 3, 3);
}

static void test_cancel_restores_hash(void **state)
{
	struct ut_fixture *f = *state;
	__u32 k1[3] = { 1, 2, 3 }, k2[2] = { 3, 9 }, nine[1] = { 9 };
	__u64 v1[3] = { 10, 20, 30 }, v2[2] = { 99, 90 }, gen;
	struct abmap_switchover *so;

	ut_ok(abmap_hash_set(f->hash, k1, v1, 3));
	ut_ok(abmap_hash_set(f->hash, k1, v1, 3));
	gen = ut_gen(f->group);
	so = defer_hash(f->hash, k2, v2, 2);
	ut_ok(abmap_switchover_cancel(so));
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_hash_side(f->hash, ABMAP_SIDE_A, k1, v1, 3);
	ut_assert_hash_side(f->hash, ABMAP_SIDE_B, k1, v1, 3);
	ut_assert_hash_side_absent(f->hash, ABMAP_SIDE_A, nine, 1);
	ut_assert_hash_side_absent(f->hash, ABMAP_SIDE_B, nine, 1);
}

static void test_cancel_after_flip(void **state)
{
	struct ut_fixture *f = *state;
	__u64 a[2] = { 1, 2 }, hv[1] = { 7 }, gen = ut_gen(f->group);
	__u32 hk[1] = { 70 };
	struct abmap_switchover *so_a, *so_h;

	so_a = defer_array(f->arr, a, 2);
	so_h = defer_hash(f->hash, hk, hv, 1);
	ut_ok(abmap_switchover(so_a));
	assert_int_equal(ut_gen(f->group), gen + 1);

	ut_assert_ret(abmap_switchover_cancel(so_h), -EALREADY);
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_hash_live(f->group, f->hash, hk, hv, 1);
	ut_assert_array_live(f->group, f->arr, a, 2, 2);
}

static void test_commit_flips_deferred(void **state)
{
	struct ut_fixture *f = *state;
	__u64 a1[3] = { 1, 2, 3 }, a2[2] = { 8, 9 }, hv[1] = { 5 }, val = 77, gen;
	__u64 n[NOLEN_MAX] = { 0, 77 }, n2[NOLEN_MAX] = { 0, 77, 88 };
	__u32 hk[1] = { 5 }, idx = 1;
	struct abmap_switchover *so_a, *so_h;
	struct abmap_txn *txn;

	ut_ok(abmap_array_set(f->arr, a1, 3));
	gen = ut_gen(f->group);

	so_a = defer_array(f->arr, a2, 2);
	so_h = defer_hash(f->hash, hk, hv, 1);
	/* A transaction may start while deferred changes are pending (same writer). */
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_update(txn, f->nolen, &idx, &val));
	ut_ok(abmap_txn_commit(txn));

	/* One flip made the transaction and both deferred changes live. */
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, a2, 2, 2);
	ut_assert_array_side(f->arr, ut_passive(f->group), a1, 3, 3);
	ut_assert_hash_live(f->group, f->hash, hk, hv, 1);
	ut_assert_array_live(f->group, f->nolen, n, NOLEN_MAX, NOLEN_MAX);

	/* Their handles: switchover is a no-op, cancel is too late. */
	ut_ok(abmap_switchover(so_a));
	ut_assert_ret(abmap_switchover_cancel(so_h), -EALREADY);
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, a2, 2, 2);

	/* abmap_array_set() of another structure is a transaction: it flips deferred changes. */
	so_a = defer_array(f->arr, a1, 3);
	ut_ok(abmap_array_set(f->nolen, n2, 3));
	assert_int_equal(ut_gen(f->group), gen + 2);
	ut_assert_array_live(f->group, f->arr, a1, 3, 3);
	ut_assert_array_live(f->group, f->nolen, n2, NOLEN_MAX, NOLEN_MAX);
	ut_ok(abmap_switchover(so_a));
	assert_int_equal(ut_gen(f->group), gen + 2);
}

/*
 * A transaction touching a structure with a pending deferred change applies on top of it: the
 * deferred content is what the transaction's element operations modify (not documented in so
 * many words; this pins down the behaviour "the commit also flips deferred changes" implies).
 */
static void test_txn_on_top_of_deferred(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v1[3] = { 1, 2, 3 }, v2[4] = { 10, 20, 30, 40 }, want[4] = { 10, 99, 30, 40 };
	__u64 val = 99, gen;
	struct abmap_switchover *so;
	struct abmap_txn *txn;
	__u32 idx = 1;

	ut_ok(abmap_array_set(f->arr, v1, 3));
	gen = ut_gen(f->group);
	so = defer_array(f->arr, v2, 4);
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_update(txn, f->arr, &idx, &val));
	ut_ok(abmap_txn_commit(txn));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, want, 4, 4);
	ut_ok(abmap_switchover(so));
	assert_int_equal(ut_gen(f->group), gen + 1);

	/* A whole set in the transaction replaces the deferred content. */
	so = defer_array(f->arr, v1, 3);
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_array_set(txn, f->arr, v2, 2));
	ut_ok(abmap_txn_commit(txn));
	ut_assert_array_live(f->group, f->arr, v2, 2, 2);
	ut_ok(abmap_switchover(so));
	assert_int_equal(ut_gen(f->group), gen + 2);
}

static void test_defer_same_structure_twice(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v1[2] = { 1, 2 }, v2[3] = { 3, 4, 5 }, v3[4] = { 6, 7, 8, 9 }, gen;
	struct abmap_switchover *so1, *so2;

	ut_ok(abmap_array_set(f->arr, v1, 2));
	gen = ut_gen(f->group);
	so1 = defer_array(f->arr, v2, 3);
	so2 = defer_array(f->arr, v3, 4);
	ut_assert_array_live(f->group, f->arr, v1, 2, 2);
	ut_assert_array_side(f->arr, ut_passive(f->group), v3, 4, 4);

	/* The latest content wins. */
	ut_ok(abmap_switchover(so1));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, v3, 4, 4);
	ut_ok(abmap_switchover(so2));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_side(f->arr, ut_passive(f->group), v1, 2, 2);
}

static void test_defer_untouched_synced(void **state)
{
	struct ut_fixture *f = *state;
	__u64 x1[5], x2[2] = { 70, 71 }, hv[1] = { 3 };
	__u32 hk[1] = { 3 };
	struct abmap_switchover *so;

	ut_fill_u64(x1, 5, 40);
	ut_ok(abmap_array_set(f->arr, x1, 5));
	/* The last flip changed arr: its passive side is stale (x1). */
	ut_ok(abmap_array_set(f->arr, x2, 2));
	ut_assert_array_side(f->arr, ut_passive(f->group), x1, 5, 5);

	so = defer_hash(f->hash, hk, hv, 1);
	ut_ok(abmap_switchover(so));
	ut_assert_hash_live(f->group, f->hash, hk, hv, 1);
	ut_assert_array_live(f->group, f->arr, x2, 2, 2);

	/* Again, so arr has been carried over twice. */
	so = defer_hash(f->hash, hk, hv, 0);
	ut_ok(abmap_switchover(so));
	ut_assert_hash_live_absent(f->group, f->hash, hk, 1);
	ut_assert_array_live(f->group, f->arr, x2, 2, 2);
	ut_assert_array_side(f->arr, ut_passive(f->group), x2, 2, 2);
}

static void test_txn_abort_keeps_deferred(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[3] = { 4, 5, 6 }, val = 1, gen = ut_gen(f->group);
	__u32 key = 1;
	struct abmap_switchover *so;
	struct abmap_txn *txn;

	so = defer_array(f->arr, v, 3);
	txn = ut_txn_begin(f->group);
	ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
	abmap_txn_abort(txn);

	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_array_side(f->arr, ut_passive(f->group), v, 3, 3);
	ut_ok(abmap_switchover(so));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, v, 3, 3);
	ut_assert_hash_live_absent(f->group, f->hash, &key, 1);
}

static void test_free_busy_deferred(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[1] = { 1 };
	struct abmap_switchover *so;

	so = defer_array(f->arr, v, 1);
	ut_assert_ret(abmap_free(f->arr), -EBUSY);
	ut_ok(abmap_switchover(so));
	ut_ok(abmap_free(f->arr));
	f->arr = NULL;
}

/*
 * A handle may outlive the structure it was made for: once its change has been flipped (or
 * cancelled through another handle) the structure has nothing pending, and abmap_free() may
 * free it before the handle is used. The library may refuse that free with -EBUSY while the
 * handle exists; if it frees, the handle must not touch the freed structure (ASan checks).
 */
static void test_handle_outlives_structure(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap *extra = ut_array_new(f->group, sizeof(__u64), 4, 0);
	__u64 v1[2] = { 1, 2 }, v2[3] = { 3, 4, 5 }, gen;
	struct abmap_switchover *so1, *so2;
	int ret;

	/* Flipped by another handle's switchover. */
	so1 = defer_array(f->arr, v1, 2);
	so2 = defer_array(extra, v2, 3);
	gen = ut_gen(f->group);
	ut_ok(abmap_switchover(so1));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, extra, v2, 3, 3);
	ret = abmap_free(extra);
	if (ret) {
		assert_int_equal(ret, -EBUSY);
		ut_ok(abmap_switchover(so2));
		ut_ok(abmap_free(extra));
	} else {
		ut_ok(abmap_switchover(so2));
	}
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, v1, 2, 2);

	/* Cancelled through another handle of the same structure. */
	extra = ut_array_new(f->group, sizeof(__u64), 4, 0);
	so1 = defer_array(extra, v1, 2);
	so2 = defer_array(extra, v2, 3);
	ut_ok(abmap_switchover_cancel(so1));
	ret = abmap_free(extra);
	if (ret) {
		assert_int_equal(ret, -EBUSY);
		abmap_switchover(so2); /* result unspecified: its change was cancelled */
		ut_ok(abmap_free(extra));
	} else {
		abmap_switchover(so2);
	}
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, v1, 2, 2);
}

static void test_defer_errors(void **state)
{
	struct ut_fixture *f = *state;
	__u64 vals[ARR_MAX + 1], hv[HASH_MAX + 1] = { 0 };
	__u32 hk[HASH_MAX + 1], dup[2] = { 3, 3 }, i, idx;
	struct ut_snap s0 = { 0 }, s1 = { 0 };
	struct abmap_switchover *so = NULL;

	ut_fill_u64(vals, ARR_MAX + 1, 1);
	for (i = 0; i < HASH_MAX + 1; i++)
		hk[i] = i;
	ut_ok(abmap_array_set(f->arr, vals, 3));
	ut_ok(abmap_hash_set(f->hash, hk, hv, 3));

	ut_snap_gen(&s0, f->group);
	ut_snap_array(&s0, f->arr);
	ut_snap_hash(&s0, f->hash, hk, HASH_MAX + 1);

	ut_assert_ret(abmap_array_set_and_defer_switchover(f->arr, vals, ARR_MAX + 1, &so), -E2BIG);
	ut_assert_ret(abmap_hash_set_and_defer_switchover(f->hash, hk, hv, HASH_MAX + 1, &so),
		      -E2BIG);
	ut_assert_ret(abmap_hash_set_and_defer_switchover(f->hash, dup, hv, 2, &so), -EINVAL);
	ut_assert_ret(abmap_array_set_and_defer_switchover(f->hash, vals, 1, &so), -EINVAL);
	ut_assert_ret(abmap_hash_set_and_defer_switchover(f->arr, hk, hv, 1, &so), -EINVAL);
	ut_assert_ret(abmap_array_set_and_defer_switchover(NULL, vals, 1, &so), -EINVAL);
	ut_assert_ret(abmap_array_set_and_defer_switchover(f->arr, NULL, 1, &so), -EINVAL);
	ut_assert_ret(abmap_array_set_and_defer_switchover(f->arr, vals, 1, NULL), -EINVAL);
	ut_assert_ret(abmap_hash_set_and_defer_switchover(NULL, hk, hv, 1, &so), -EINVAL);
	ut_assert_ret(abmap_hash_set_and_defer_switchover(f->hash, NULL, hv, 1, &so), -EINVAL);
	ut_assert_ret(abmap_hash_set_and_defer_switchover(f->hash, hk, NULL, 1, &so), -EINVAL);
	ut_assert_ret(abmap_hash_set_and_defer_switchover(f->hash, hk, hv, 1, NULL), -EINVAL);
	ut_assert_ret(abmap_switchover(NULL), -EINVAL);
	ut_assert_ret(abmap_switchover_cancel(NULL), -EINVAL);

	/* Nothing is pending: both sides and the generation are as they were. */
	ut_snap_gen(&s1, f->group);
	ut_snap_array(&s1, f->arr);
	ut_snap_hash(&s1, f->hash, hk, HASH_MAX + 1);
	ut_snap_assert_equal(&s0, &s1);
	ut_snap_free(&s0);
	ut_snap_free(&s1);

	/* And the group is usable: no lock or pending state left behind. */
	so = defer_array(f->arr, vals, 5);
	ut_ok(abmap_switchover(so));
	ut_assert_array_live(f->group, f->arr, vals, 5, 5);
	idx = 4;
	ut_ok(abmap_array_get(f->arr, idx, &vals[ARR_MAX]));
	assert_int_equal(vals[ARR_MAX], 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UT_FIXTURE_TEST(test_defer_array, setup),
		UT_FIXTURE_TEST(test_defer_hash, setup),
		UT_FIXTURE_TEST(test_defer_identical_flips, setup),
		UT_FIXTURE_TEST(test_first_switchover_flips_all, setup),
		UT_FIXTURE_TEST(test_stale_handle_does_not_flip_newer, setup),
		UT_FIXTURE_TEST(test_cancel_before_flip, setup),
		UT_FIXTURE_TEST(test_cancel_stale_passive, setup),
		UT_FIXTURE_TEST(test_cancel_restores_hash, setup),
		UT_FIXTURE_TEST(test_cancel_after_flip, setup),
		UT_FIXTURE_TEST(test_commit_flips_deferred, setup),
		UT_FIXTURE_TEST(test_txn_on_top_of_deferred, setup),
		UT_FIXTURE_TEST(test_defer_same_structure_twice, setup),
		UT_FIXTURE_TEST(test_defer_untouched_synced, setup),
		UT_FIXTURE_TEST(test_txn_abort_keeps_deferred, setup),
		UT_FIXTURE_TEST(test_free_busy_deferred, setup),
		UT_FIXTURE_TEST(test_handle_outlives_structure, setup),
		UT_FIXTURE_TEST(test_defer_errors, setup),
	};

	ut_main_init();
	return cmocka_run_group_tests_name("deferred", tests, NULL, NULL);
}
