// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fault injection on the in-memory fake: a write or flip failing at any point of a commit, of a
 * deferred staging, of a switchover or of a cancel leaves the live side of every structure and
 * the generation untouched, and the next writer repairs the passive side.
 *
 * The loops rebuild the same state for nth = 1, 2, 3, ..., make the nth operation of one type
 * fail in the same commit, and stop once that commit completes without reaching the fault: so
 * every write (or flip) of the commit is failed once.
 */
#include "unit_helpers.h"

#define A_MAX 12 /* array with a length map */
#define B_MAX 8	 /* array without a length map */
#define H_MAX 16 /* hash, keys 0..H_KEYS-1 */
#define H_KEYS 10
#define MAX_ROUNDS 5000

/* Expected content of the three structures. */
struct world {
	struct ut_model a, b, h;
};

/* struct ut_fixture: arr A_MAX (world.a), nolen B_MAX (world.b), hash H_MAX (world.h). */
static int setup(void **state)
{
	return ut_fixture_setup(state, A_MAX, B_MAX, H_MAX);
}

static const char *op_name(enum abmap_fake_op op)
{
	return op == ABMAP_FAKE_WRITE ? "write" : op == ABMAP_FAKE_FLIP ? "flip" : "grace";
}

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->b.len = B_MAX;
}

static void assert_world_side(struct ut_fixture *f, int side, const struct world *w)
{
	ut_assert_array_model_side(f->arr, side, &w->a);
	ut_assert_array_model_side(f->nolen, side, &w->b);
	ut_assert_hash_model_side(f->hash, side, &w->h, H_KEYS);
}

/* Live side through the fake and through the public readers. */
static void assert_world_live(struct ut_fixture *f, const struct world *w)
{
	__u32 k;
	__u64 v;

	assert_world_side(f, ut_live(f->group), w);
	ut_assert_array_live(f->group, f->arr, w->a.val, A_MAX, w->a.len);
	ut_assert_array_live(f->group, f->nolen, w->b.val, B_MAX, B_MAX);
	for (k = 0; k < H_KEYS; k++) {
		if (w->h.present[k]) {
			ut_ok(abmap_get(f->hash, &k, &v));
			assert_int_equal(v, w->h.val[k]);
		} else {
			ut_assert_ret(abmap_get(f->hash, &k, &v), -ENOENT);
		}
	}
}

/*
 * Stage round @r into @txn and apply it to @w. Every round replaces A (its length moves up and
 * down); B changes on even rounds, H on rounds not divisible by 3, so some rounds leave B or H
 * untouched while their passive side is stale.
 */
static void stage_round(struct abmap_txn *txn, struct ut_fixture *f, unsigned int r,
			struct world *w)
{
	__u64 vals[A_MAX], val;
	__u32 n = 3 + r % 7, i, key;

	for (i = 0; i < n; i++)
		vals[i] = (__u64)r * 1000 + i + 1;
	ut_ok(abmap_txn_array_set(txn, f->arr, vals, n));
	memset(w->a.val, 0, sizeof(w->a.val));
	memcpy(w->a.val, vals, n * sizeof(__u64));
	w->a.len = n;

	if (r % 2 == 0) {
		key = r % B_MAX;
		val = 7000 + r;
		ut_ok(abmap_txn_update(txn, f->nolen, &key, &val));
		w->b.val[key] = val;
		key = (r + 3) % B_MAX;
		ut_ok(abmap_txn_delete(txn, f->nolen, &key));
		w->b.val[key] = 0;
	}

	if (r % 3) {
		key = r % H_KEYS;
		val = 9000 + r;
		ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
		w->h.present[key] = true;
		w->h.val[key] = val;
		key = (r + 5) % H_KEYS;
		ut_ok(abmap_txn_delete(txn, f->hash, &key));
		w->h.present[key] = false;
		w->h.val[key] = 0;
	}
}

/* Give the structures some content. */
static void start(struct ut_fixture *f, struct world *cur)
{
	struct abmap_txn *txn;
	__u32 key;
	__u64 val;

	world_init(cur);
	txn = ut_txn_begin(f->group);
	stage_round(txn, f, 1, cur);
	for (key = 0; key < H_KEYS; key += 2) {
		val = 100 + key;
		ut_ok(abmap_txn_update(txn, f->hash, &key, &val));
		cur->h.present[key] = true;
		cur->h.val[key] = val;
	}
	ut_ok(abmap_txn_commit(txn));
	assert_world_live(f, cur);
}

/*
 * A new group brought to the same state every time: round 1 (start()), then rounds 2..@upto-1
 * committed cleanly, so the passive sides are stale in the ways those rounds leave them.
 */
static void fresh(struct ut_fixture *f, struct world *cur, unsigned int upto)
{
	struct abmap_txn *txn;
	unsigned int r;

	abmap_group_free(f->group);
	memset(f, 0, sizeof(*f));
	assert_int_equal(ut_fixture_init(f, A_MAX, B_MAX, H_MAX), 0);
	start(f, cur);
	for (r = 2; r < upto; r++) {
		txn = ut_txn_begin(f->group);
		stage_round(txn, f, r, cur);
		ut_ok(abmap_txn_commit(txn));
	}
	assert_world_live(f, cur);
}

static unsigned long count(struct ut_fixture *f, enum abmap_fake_op op)
{
	return abmap_fake_count(f->group, op);
}

/*
 * For nth = 1, 2, ...: from the same state, fail the nth @op of the commit of round @round; the
 * commit must return @err and change nothing live. Then either retry the same content
 * (@retry_same) or commit a different transaction that touches only B; both must show exactly
 * the expected content. Returns the number of faults injected.
 */
static unsigned int commit_fault_loop(struct ut_fixture *f, enum abmap_fake_op op, int err,
				      bool retry_same, unsigned int round)
{
	struct world cur, next;
	struct abmap_pointer ptr;
	unsigned long c0, used;
	unsigned int nth, faults = 0;
	struct abmap_txn *txn;
	__u64 gen, val;
	__u32 key;
	int ret;

	for (nth = 1;; nth++) {
		if (nth > MAX_ROUNDS)
			fail_msg("commits never got past an injected %s fault", op_name(op));
		fresh(f, &cur, round);
		gen = ut_gen(f->group);
		next = cur;
		ut_ok(abmap_fake_fail(f->group, op, nth, err));
		c0 = count(f, op);
		txn = ut_txn_begin(f->group);
		stage_round(txn, f, round, &next);
		errno = 0;
		ret = abmap_txn_commit(txn);
		used = count(f, op) - c0;

		if (ret == 0) {
			if (used >= nth)
				fail_msg("round %u: %s #%u of the commit was made to fail, yet the "
					 "commit returned 0 (%lu %s ops)",
					 round, op_name(op), nth, used, op_name(op));
			assert_int_equal(ut_gen(f->group), gen + 1);
			assert_world_live(f, &next);
			assert_world_side(f, ut_passive(f->group), &cur);
			break;
		}

		faults++;
		if (ret != err)
			fail_msg("round %u nth %u: commit returned %d, expected the injected %d",
				 round, nth, ret, err);
		assert_int_equal(errno, -err);
		if (used < nth)
			fail_msg("round %u nth %u: commit failed after %lu %s ops, before the "
				 "injected fault",
				 round, nth, used, op_name(op));

		/* Nothing live changed. */
		if (ut_gen(f->group) != gen)
			fail_msg("round %u nth %u: failed commit changed the generation", round,
				 nth);
		assert_world_live(f, &cur);
		if (op == ABMAP_FAKE_WRITE) {
			/* A partly written passive side is recorded as unknown. */
			ut_ok(abmap_group_state(f->group, &ptr));
			if (ptr.passive_gen != ABMAP_GEN_UNKNOWN)
				fail_msg("round %u nth %u: passive_gen %llu after a failed write, "
					 "expected ABMAP_GEN_UNKNOWN",
					 round, nth, (unsigned long long)ptr.passive_gen);
		}

		/* The lock was released by the failed commit. */
		txn = ut_txn_begin(f->group);
		next = cur;
		if (retry_same) {
			/* The same content again, no fault: exactly the new content. */
			stage_round(txn, f, round, &next);
		} else {
			/* Something else: the partly written structures are repaired from live. */
			key = round % B_MAX;
			val = 123456 + nth;
			ut_ok(abmap_txn_update(txn, f->nolen, &key, &val));
			next.b.val[key] = val;
		}
		ut_ok(abmap_txn_commit(txn));
		assert_int_equal(ut_gen(f->group), gen + 1);
		assert_world_live(f, &next);
		assert_world_side(f, ut_passive(f->group), &cur);
	}
	if (!faults)
		fail_msg("round %u: no injected %s fault was ever reached", round, op_name(op));
	return faults;
}

/* Rounds 7, 8, 9: A and H change (B stale); all three change; only A changes (B, H stale). */
static const unsigned int fault_rounds[] = { 7, 8, 9 };

static void commit_fault_rounds(struct ut_fixture *f, enum abmap_fake_op op, int err, bool retry)
{
	unsigned int i, faults;

	for (i = 0; i < UT_ARRAY_SIZE(fault_rounds); i++) {
		faults = commit_fault_loop(f, op, err, retry, fault_rounds[i]);
		print_message("  round %u: failed %u %s position(s) of the commit\n",
			      fault_rounds[i], faults, op_name(op));
	}
}

static void test_commit_write_fault_retry(void **state)
{
	commit_fault_rounds(*state, ABMAP_FAKE_WRITE, -EIO, true);
}

static void test_commit_write_fault_other_txn(void **state)
{
	commit_fault_rounds(*state, ABMAP_FAKE_WRITE, -EIO, false);
}

static void test_commit_flip_fault_retry(void **state)
{
	commit_fault_rounds(*state, ABMAP_FAKE_FLIP, -EIO, true);
}

static void test_commit_flip_fault_other_txn(void **state)
{
	commit_fault_rounds(*state, ABMAP_FAKE_FLIP, -ENOSPC, false);
}

/*
 * Deferred: round @r replaces A (even rounds) or H (odd rounds) with
 * abmap_*_set_and_defer_switchover(). Applies the content to @w; returns the call's result.
 */
static int defer_round(struct ut_fixture *f, unsigned int r, struct world *w,
		       struct abmap_switchover **so)
{
	__u64 vals[A_MAX];
	__u32 keys[3], n, i;

	if (r % 2 == 0) {
		n = 2 + r % 8;
		for (i = 0; i < n; i++)
			vals[i] = (__u64)r * 100 + i + 1;
		memset(w->a.val, 0, sizeof(w->a.val));
		memcpy(w->a.val, vals, n * sizeof(__u64));
		w->a.len = n;
		return abmap_array_set_and_defer_switchover(f->arr, vals, n, so);
	}
	keys[0] = r % H_KEYS;
	keys[1] = (r + 1) % H_KEYS;
	keys[2] = (r + 4) % H_KEYS;
	memset(w->h.present, 0, sizeof(w->h.present));
	memset(w->h.val, 0, sizeof(w->h.val));
	for (i = 0; i < 3; i++) {
		vals[i] = (__u64)r * 10 + keys[i];
		w->h.present[keys[i]] = true;
		w->h.val[keys[i]] = vals[i];
	}
	return abmap_hash_set_and_defer_switchover(f->hash, keys, vals, 3, so);
}

static void assert_deferred_passive(struct ut_fixture *f, unsigned int r, const struct world *w)
{
	if (r % 2 == 0)
		ut_assert_array_model_side(f->arr, ut_passive(f->group), &w->a);
	else
		ut_assert_hash_model_side(f->hash, ut_passive(f->group), &w->h, H_KEYS);
}

/*
 * For nth = 1, 2, ...: from the same state, fail the nth @op of a deferred set of round @round
 * and its switchover. A failed staging leaves nothing pending (retried: flips the content); a
 * failed switchover leaves the change pending (a handle-less commit flips it).
 */
static unsigned int deferred_fault_loop(struct ut_fixture *f, enum abmap_fake_op op, int err,
					unsigned int round)
{
	struct abmap_switchover *so;
	struct world cur, next, tmp;
	unsigned int nth, faults = 0;
	struct abmap_txn *txn;
	unsigned long c0;
	__u64 gen;
	int ret;

	for (nth = 1;; nth++) {
		if (nth > MAX_ROUNDS)
			fail_msg("deferred changes never got past an injected %s fault",
				 op_name(op));
		fresh(f, &cur, round);
		gen = ut_gen(f->group);
		next = cur;
		ut_ok(abmap_fake_fail(f->group, op, nth, err));
		c0 = count(f, op);
		so = NULL;
		errno = 0;
		ret = defer_round(f, round, &next, &so);
		if (ret) {
			/* Staging failed: nothing pending, nothing live changed. */
			faults++;
			if (ret != err)
				fail_msg("nth %u: deferred set returned %d, expected %d", nth, ret,
					 err);
			assert_int_equal(errno, -err);
			if (count(f, op) - c0 < nth)
				fail_msg("nth %u: deferred set failed before the injected fault",
					 nth);
			assert_int_equal(ut_gen(f->group), gen);
			assert_world_live(f, &cur);

			/* Retry: stages, then flips exactly the new content. */
			tmp = cur;
			so = NULL;
			ut_ok(defer_round(f, round, &tmp, &so));
			assert_non_null(so);
			assert_memory_equal(&tmp, &next, sizeof(tmp));
			assert_int_equal(ut_gen(f->group), gen);
			assert_world_live(f, &cur);
			assert_deferred_passive(f, round, &next);
			ut_ok(abmap_switchover(so));
		} else {
			assert_non_null(so);
			assert_int_equal(ut_gen(f->group), gen);
			assert_world_live(f, &cur);
			assert_deferred_passive(f, round, &next);
			errno = 0;
			ret = abmap_switchover(so);
			if (ret) {
				/* The flip failed: still nothing live changed, still pending. */
				faults++;
				if (ret != err)
					fail_msg("nth %u: switchover returned %d, expected %d", nth,
						 ret, err);
				assert_int_equal(errno, -err);
				if (count(f, op) - c0 < nth)
					fail_msg("nth %u: switchover failed before the injected "
						 "fault",
						 nth);
				assert_int_equal(ut_gen(f->group), gen);
				assert_world_live(f, &cur);
				/* A handle-less commit flips the pending change. */
				txn = ut_txn_begin(f->group);
				ut_ok(abmap_txn_commit(txn));
			} else if (count(f, op) - c0 >= nth) {
				fail_msg("%s #%u was made to fail, yet the deferred set and its "
					 "switchover returned 0",
					 op_name(op), nth);
			}
		}
		assert_int_equal(ut_gen(f->group), gen + 1);
		assert_world_live(f, &next);
		assert_world_side(f, ut_passive(f->group), &cur);
		if (!ret)
			break;
	}
	if (!faults)
		fail_msg("round %u: no injected %s fault was ever reached", round, op_name(op));
	return faults;
}

static void deferred_fault_rounds(struct ut_fixture *f, enum abmap_fake_op op, int err)
{
	unsigned int i, faults;

	/* An array (B and H stale) and a hash (A stale) deferred. */
	for (i = 0; i < UT_ARRAY_SIZE(fault_rounds); i++) {
		faults = deferred_fault_loop(f, op, err, fault_rounds[i]);
		print_message("  round %u: failed %u %s position(s) of a deferred set\n",
			      fault_rounds[i], faults, op_name(op));
	}
}

static void test_deferred_write_fault(void **state)
{
	deferred_fault_rounds(*state, ABMAP_FAKE_WRITE, -EIO);
}

static void test_deferred_flip_fault(void **state)
{
	deferred_fault_rounds(*state, ABMAP_FAKE_FLIP, -EIO);
}

/*
 * A write fault while abmap_switchover_cancel() restores the passive side: whatever the cancel
 * returns, the withdrawn content must never become live, also not through the next commit.
 */
static void test_cancel_write_fault(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap_switchover *so;
	struct world cur, next, withdrawn;
	unsigned int nth, faults = 0, round;
	struct abmap_txn *txn;
	unsigned long c0, used;
	__u64 gen, val;
	__u32 key;
	int ret;

	for (round = 8; round <= 9; round++) {
		for (nth = 1;; nth++) {
			assert_true(nth < MAX_ROUNDS);
			fresh(f, &cur, round);
			gen = ut_gen(f->group);
			withdrawn = cur;
			so = NULL;
			ut_ok(defer_round(f, round, &withdrawn, &so));
			assert_non_null(so);

			ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_WRITE, nth, -EIO));
			c0 = count(f, ABMAP_FAKE_WRITE);
			ret = abmap_switchover_cancel(so);
			used = count(f, ABMAP_FAKE_WRITE) - c0;
			if (ret != 0 && ret != -EIO)
				fail_msg("nth %u: cancel returned %d", nth, ret);
			assert_int_equal(ut_gen(f->group), gen);
			assert_world_live(f, &cur);

			/* The next commit touches only B: the rest keeps its live content. */
			next = cur;
			txn = ut_txn_begin(f->group);
			key = round % B_MAX;
			val = 555000 + nth;
			ut_ok(abmap_txn_update(txn, f->nolen, &key, &val));
			next.b.val[key] = val;
			ret = abmap_txn_commit(txn);
			if (used < nth && ret) {
				/* The fault was not reached by the cancel but by this commit. */
				assert_int_equal(ret, -EIO);
				assert_int_equal(ut_gen(f->group), gen);
				assert_world_live(f, &cur);
				txn = ut_txn_begin(f->group);
				ut_ok(abmap_txn_update(txn, f->nolen, &key, &val));
				ret = abmap_txn_commit(txn);
			}
			ut_ok(ret);
			assert_int_equal(ut_gen(f->group), gen + 1);
			assert_world_live(f, &next);
			assert_world_side(f, ut_passive(f->group), &cur);
			if (used < nth)
				break;
			faults++;
		}
	}
	if (!faults)
		fail_msg("no injected write fault was reached by a cancel");
	print_message("  failed %u write position(s) of cancels\n", faults);
}

/* abmap_hash_set() and abmap_array_set(), one-structure transactions, under write faults. */
static void test_set_write_fault(void **state)
{
	struct ut_fixture *f = *state;
	struct world cur, next;
	unsigned int nth, faults = 0;
	__u32 keys[4], i, n;
	__u64 vals[A_MAX], gen;
	bool hash;
	int ret;

	start(f, &cur);
	for (nth = 1;; nth++) {
		assert_true(nth < MAX_ROUNDS);
		gen = ut_gen(f->group);
		next = cur;
		hash = nth % 2;
		if (hash) {
			memset(next.h.present, 0, sizeof(next.h.present));
			memset(next.h.val, 0, sizeof(next.h.val));
			for (i = 0; i < 4; i++) {
				keys[i] = (nth + i * 3) % H_KEYS;
				vals[i] = nth * 16 + i;
				next.h.present[keys[i]] = true;
				next.h.val[keys[i]] = vals[i];
			}
			n = 4;
		} else {
			n = 1 + nth % A_MAX;
			ut_fill_u64(vals, n, (__u64)nth << 8);
			memset(next.a.val, 0, sizeof(next.a.val));
			memcpy(next.a.val, vals, n * sizeof(__u64));
			next.a.len = n;
		}
		ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_WRITE, nth, -EIO));
		ret = hash ? abmap_hash_set(f->hash, keys, vals, n) :
			     abmap_array_set(f->arr, vals, n);
		if (ret == 0) {
			assert_int_equal(ut_gen(f->group), gen + 1);
			assert_world_live(f, &next);
			assert_world_side(f, ut_passive(f->group), &cur);
			break;
		}
		faults++;
		assert_int_equal(ret, -EIO);
		assert_int_equal(ut_gen(f->group), gen);
		assert_world_live(f, &cur);
		ut_ok(hash ? abmap_hash_set(f->hash, keys, vals, n) :
			     abmap_array_set(f->arr, vals, n));
		assert_int_equal(ut_gen(f->group), gen + 1);
		assert_world_live(f, &next);
		assert_world_side(f, ut_passive(f->group), &cur);
		cur = next;
	}
	assert_true(faults > 0);
}

/* The injected error is the one returned, and the operations are counted. */
static void test_fault_error_and_counts(void **state)
{
	struct ut_fixture *f = *state;
	__u64 vals[5] = { 1, 2, 3, 4, 5 }, gen = ut_gen(f->group);
	unsigned long w0, f0;

	w0 = count(f, ABMAP_FAKE_WRITE);
	f0 = count(f, ABMAP_FAKE_FLIP);
	ut_ok(abmap_array_set(f->arr, vals, 5));
	assert_true(count(f, ABMAP_FAKE_WRITE) - w0 >= 5);
	assert_true(count(f, ABMAP_FAKE_FLIP) - f0 >= 1);

	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_WRITE, 1, -ENOSPC));
	w0 = count(f, ABMAP_FAKE_WRITE);
	ut_assert_ret(abmap_array_set(f->arr, vals, 2), -ENOSPC);
	/* The failed write is counted. */
	assert_true(count(f, ABMAP_FAKE_WRITE) - w0 >= 1);
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, vals, 5, 5);

	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_FLIP, 1, -EPERM));
	ut_assert_ret(abmap_array_set(f->arr, vals, 3), -EPERM);
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, vals, 5, 5);

	/* Faults are one-shot. */
	ut_ok(abmap_array_set(f->arr, vals, 3));
	assert_int_equal(ut_gen(f->group), gen + 2);
	ut_assert_array_live(f->group, f->arr, vals, 3, 3);
	ut_assert_array_side(f->arr, ut_passive(f->group), vals, 5, 5);
}

/* Disarming (nth 0 or err 0) and re-arming (replaces the pending fault, counts anew). */
static void test_fault_disarm_rearm(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[2][2] = { { 1, 2 }, { 3, 4 } }, gen = ut_gen(f->group);

	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_FLIP, 1, -EPERM));
	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_FLIP, 0, -EPERM));
	ut_ok(abmap_array_set(f->arr, v[0], 2));
	assert_int_equal(ut_gen(f->group), gen + 1);

	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_FLIP, 1, -EPERM));
	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_FLIP, 1, 0));
	ut_ok(abmap_array_set(f->arr, v[1], 2));
	assert_int_equal(ut_gen(f->group), gen + 2);

	/* Re-arming replaces: the 1st next flip was armed, then the 2nd next: only that fails. */
	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_FLIP, 1, -EPERM));
	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_FLIP, 2, -EIO));
	ut_ok(abmap_array_set(f->arr, v[0], 2));
	ut_assert_ret(abmap_array_set(f->arr, v[1], 2), -EIO);
	ut_ok(abmap_array_set(f->arr, v[1], 2));
	assert_int_equal(ut_gen(f->group), gen + 4);
	ut_assert_array_live(f->group, f->arr, v[1], 2, 2);
}

/* A fault on the nth write counts from the call, across several commits. */
static void test_fault_spans_commits(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[2][2] = { { 1, 2 }, { 3, 4 } }, gen;
	unsigned long w0, per_commit;
	int ret, i;

	/* Alternating two contents (an identical one would not flip): each commit costs the same. */
	ut_ok(abmap_array_set(f->arr, v[0], 2));
	ut_ok(abmap_array_set(f->arr, v[1], 2));
	w0 = count(f, ABMAP_FAKE_WRITE);
	ut_ok(abmap_array_set(f->arr, v[0], 2));
	per_commit = count(f, ABMAP_FAKE_WRITE) - w0;
	assert_true(per_commit >= 1);

	gen = ut_gen(f->group);
	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_WRITE, (unsigned int)(per_commit * 3 + 1),
			      -EIO));
	for (i = 0; i < 10; i++) {
		ret = abmap_array_set(f->arr, v[(i + 1) % 2], 2);
		if (ret)
			break;
	}
	assert_int_equal(ret, -EIO);
	/* Commits before the fault went through; the failed one did not flip. */
	assert_int_equal(i, 3);
	assert_int_equal(ut_gen(f->group), gen + (__u64)i);
	ut_assert_array_live(f->group, f->arr, v[i % 2], 2, 2);
}

/* ---------------------------------------------------------------------------------------------
 * Grace periods (ABMAP_FAKE_GRACE): a writer waits one before rewriting a retired side.
 */

static void test_grace_before_rewrite(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[4] = { 1, 2, 3, 4 };
	struct abmap_pointer ptr;
	unsigned long g0;
	int i;

	ut_ok(abmap_array_set(f->arr, v, 1));
	/* Each later commit rewrites the side retired by the previous flip: one wait each. */
	g0 = count(f, ABMAP_FAKE_GRACE);
	for (i = 2; i <= 4; i++)
		ut_ok(abmap_array_set(f->arr, v, (__u32)i));
	if (count(f, ABMAP_FAKE_GRACE) - g0 < 3)
		fail_msg("3 commits rewriting retired sides waited %lu grace periods",
			 count(f, ABMAP_FAKE_GRACE) - g0);
	ut_assert_array_live(f->group, f->arr, v, 4, 4);

	/* After an explicit sync the passed grace period is recorded: no second wait. */
	ut_ok(abmap_group_sync(f->group));
	ut_ok(abmap_group_state(f->group, &ptr));
	assert_int_equal(ptr.grace_gen, ptr.generation);
	g0 = count(f, ABMAP_FAKE_GRACE);
	ut_ok(abmap_array_set(f->arr, v, 2));
	assert_int_equal(count(f, ABMAP_FAKE_GRACE) - g0, 0);
	ut_assert_array_live(f->group, f->arr, v, 2, 2);
}

static void test_grace_fault(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v[3] = { 7, 8, 9 }, gen;
	unsigned long w0;

	ut_ok(abmap_array_set(f->arr, v, 1));
	gen = ut_gen(f->group);

	/* The wait before writing fails: nothing written, nothing flipped. */
	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_GRACE, 1, -EINTR));
	w0 = count(f, ABMAP_FAKE_WRITE);
	ut_assert_ret(abmap_array_set(f->arr, v, 3), -EINTR);
	assert_int_equal(ut_gen(f->group), gen);
	ut_assert_array_live(f->group, f->arr, v, 1, 1);
	assert_int_equal(count(f, ABMAP_FAKE_WRITE) - w0, 0);

	/* The next writer waits again and succeeds. */
	ut_ok(abmap_array_set(f->arr, v, 3));
	assert_int_equal(ut_gen(f->group), gen + 1);
	ut_assert_array_live(f->group, f->arr, v, 3, 3);
	ut_assert_array_side(f->arr, ut_passive(f->group), v, 1, 1);

	/* abmap_group_sync() reports a failed wait, and succeeds when asked again. */
	ut_ok(abmap_fake_fail(f->group, ABMAP_FAKE_GRACE, 1, -EINTR));
	ut_assert_ret(abmap_group_sync(f->group), -EINTR);
	ut_ok(abmap_group_sync(f->group));
}

static void test_unsafe_no_grace(void **state)
{
	struct abmap_group *group;
	struct abmap *arr;
	__u64 v[3] = { 1, 2, 3 };
	unsigned long g0;
	int i;

	(void)state;
	group = abmap_fake_group_new(NULL);
	assert_non_null(group);
	ut_ok(abmap_testing_set_no_grace(group, true));
	arr = ut_array_new(group, sizeof(__u64), 4, 0);
	g0 = abmap_fake_count(group, ABMAP_FAKE_GRACE);
	for (i = 0; i < 5; i++)
		ut_ok(abmap_array_set(arr, v, 1 + (__u32)i % 3));
	assert_int_equal(abmap_fake_count(group, ABMAP_FAKE_GRACE) - g0, 0);
	ut_assert_array_live(group, arr, v, 2, 2);
	abmap_group_free(group);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UT_FIXTURE_TEST(test_commit_write_fault_retry, setup),
		UT_FIXTURE_TEST(test_commit_write_fault_other_txn, setup),
		UT_FIXTURE_TEST(test_commit_flip_fault_retry, setup),
		UT_FIXTURE_TEST(test_commit_flip_fault_other_txn, setup),
		UT_FIXTURE_TEST(test_deferred_write_fault, setup),
		UT_FIXTURE_TEST(test_deferred_flip_fault, setup),
		UT_FIXTURE_TEST(test_cancel_write_fault, setup),
		UT_FIXTURE_TEST(test_set_write_fault, setup),
		UT_FIXTURE_TEST(test_fault_error_and_counts, setup),
		UT_FIXTURE_TEST(test_fault_spans_commits, setup),
		UT_FIXTURE_TEST(test_fault_disarm_rearm, setup),
		UT_FIXTURE_TEST(test_grace_before_rewrite, setup),
		UT_FIXTURE_TEST(test_grace_fault, setup),
		UT_FIXTURE_TEST(test_unsafe_no_grace, setup),
	};

	ut_main_init();
	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
