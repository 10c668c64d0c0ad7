// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libabmap on the in-memory fake: groups, structure properties and limits, the pointer record,
 * accessors, bad arguments (what each side holds after sets: the store-conformance suite,
 * tests/conformance/, run on this fake and on real maps).
 */
#include <unistd.h>

#include "unit_helpers.h"

#define ARR_MAX 16

/* struct ut_fixture: arr and nolen ARR_MAX entries, hash 16. */
static int setup(void **state)
{
	return ut_fixture_setup(state, ARR_MAX, ARR_MAX, 16);
}

static void test_group_new_state(void **state)
{
	LIBABMAP_OPTS(abmap_group_opts, opts, .lock_timeout_ms = 10);
	struct ut_fixture *f = *state;
	struct abmap_pointer ptr;
	struct abmap_group *g2;
	__u64 gen;

	memset(&ptr, 0xa5, sizeof(ptr));
	gen = ut_gen(f->group);
	ut_ok(abmap_group_state(f->group, &ptr));
	assert_int_equal(ptr.generation, gen);
	assert_true(ptr.nr_structs <= ABMAP_MAX_STRUCTS);

	/* Options are accepted (lock options are ignored by the fake). */
	g2 = abmap_fake_group_new(&opts);
	assert_non_null(g2);
	ut_gen(g2);
	abmap_group_free(g2);

	/* Freeing NULL is allowed. */
	abmap_group_free(NULL);
}

static void test_array_new_props(void **state)
{
	struct ut_fixture *f = *state;
	__u32 len = 1234, max = ARR_MAX, idx;
	__u64 v = 7;

	assert_int_equal(abmap_key_size(f->arr), sizeof(__u32));
	assert_int_equal(abmap_value_size(f->arr), sizeof(__u64));
	assert_int_equal(abmap_max_entries(f->arr), ARR_MAX);
	assert_int_equal(abmap_key_size(f->nolen), sizeof(__u32));
	assert_int_equal(abmap_max_entries(f->nolen), ARR_MAX);
	assert_int_equal(abmap_key_size(f->hash), sizeof(__u32));
	assert_int_equal(abmap_value_size(f->hash), sizeof(__u64));
	assert_int_equal(abmap_max_entries(f->hash), 16);

	/* A new array with a length map is empty on both sides and zero everywhere. */
	ut_assert_array_side(f->arr, ABMAP_SIDE_A, NULL, 0, 0);
	ut_assert_array_side(f->arr, ABMAP_SIDE_B, NULL, 0, 0);
	ut_ok(abmap_array_len(f->arr, &len));
	assert_int_equal(len, 0);
	ut_assert_ret(abmap_array_get(f->arr, 0, &v), -ENOENT);
	ut_assert_array_live(f->group, f->arr, NULL, 0, 0);

	/* Without a length map the length is max_entries: every slot reads, as zero. */
	ut_assert_array_side(f->nolen, ABMAP_SIDE_A, NULL, 0, ARR_MAX);
	ut_assert_array_side(f->nolen, ABMAP_SIDE_B, NULL, 0, ARR_MAX);
	ut_ok(abmap_array_len(f->nolen, &len));
	assert_int_equal(len, ARR_MAX);
	idx = ARR_MAX - 1;
	ut_ok(abmap_array_get(f->nolen, idx, &v));
	assert_int_equal(v, 0);
	ut_assert_ret(abmap_array_get(f->nolen, max, &v), -ENOENT);

	/* A new hash is empty on both sides. */
	idx = 3;
	ut_assert_ret(abmap_fake_peek(f->hash, ABMAP_SIDE_A, &idx, &v), -ENOENT);
	ut_assert_ret(abmap_fake_peek(f->hash, ABMAP_SIDE_B, &idx, &v), -ENOENT);
	ut_assert_ret(abmap_get(f->hash, &idx, &v), -ENOENT);
}

static void test_array_set_limits(void **state)
{
	struct ut_fixture *f = *state;
	__u64 full[ARR_MAX + 1], dummy = 0;
	struct ut_snap before = { 0 }, after = { 0 };

	ut_fill_u64(full, ARR_MAX + 1, 9000);

	/* Exactly max_entries is fine. */
	ut_ok(abmap_array_set(f->arr, full, ARR_MAX));
	ut_assert_array_live(f->group, f->arr, full, ARR_MAX, ARR_MAX);

	/* One more: -E2BIG, nothing written, no flip. */
	ut_snap_gen(&before, f->group);
	ut_snap_array(&before, f->arr);
	ut_assert_ret(abmap_array_set(f->arr, full, ARR_MAX + 1), -E2BIG);
	ut_snap_gen(&after, f->group);
	ut_snap_array(&after, f->arr);
	ut_snap_assert_equal(&before, &after);
	ut_snap_free(&before);
	ut_snap_free(&after);

	/* Empty content: length 0, every slot zero on the live side. */
	ut_ok(abmap_array_set(f->arr, &dummy, 0));
	ut_assert_array_live(f->group, f->arr, NULL, 0, 0);
	ut_assert_array_side(f->arr, ut_passive(f->group), full, ARR_MAX, ARR_MAX);
}

/* Live-side key iteration follows the flip; arrays stop at their length. */
static void test_next_key_live(void **state)
{
	struct ut_fixture *f = *state;
	__u32 k1[3] = { 7, 8, 9 }, k2[2] = { 100, 200 }, key, next, seen;
	__u64 v[3] = { 1, 2, 3 };
	int err;

	ut_assert_ret(abmap_next_key(f->hash, NULL, &next), -ENOENT);
	ut_ok(abmap_hash_set(f->hash, k1, v, 3));
	ut_ok(abmap_hash_set_and_defer_switchover(f->hash, k2, v, 2,
						  &(struct abmap_switchover *){ 0 }));
	/* Deferred content is on the passive side: iteration still sees k1 only. */
	seen = 0;
	for (err = abmap_next_key(f->hash, NULL, &next); !err;
	     key = next, err = abmap_next_key(f->hash, &key, &next))
		seen |= next == 7 ? 1 : next == 8 ? 2 : next == 9 ? 4 : 8;
	assert_int_equal(err, -ENOENT);
	assert_int_equal(seen, 7);

	ut_ok(abmap_array_set(f->arr, v, 3));
	seen = 0;
	for (err = abmap_next_key(f->arr, NULL, &next); !err;
	     key = next, err = abmap_next_key(f->arr, &key, &next))
		seen++;
	assert_int_equal(err, -ENOENT);
	assert_int_equal(seen, 3);
	/* The array's set flipped the deferred hash too: now k2. */
	seen = 0;
	for (err = abmap_next_key(f->hash, NULL, &next); !err;
	     key = next, err = abmap_next_key(f->hash, &key, &next))
		seen |= next == 100 ? 1 : next == 200 ? 2 : 8;
	assert_int_equal(seen, 3);
	ut_assert_ret(abmap_next_key(NULL, NULL, &next), -EINVAL);
}

static int count_and_fail(void *ctx)
{
	int *calls = ctx;

	return ++*calls == 1 ? -EINTR : 0;
}

/* The before-flip test hook runs with the passive side written; its error aborts the commit. */
static void test_before_flip_hook(void **state)
{
	struct ut_fixture *unused = *state;
	int calls = 0;
	struct abmap_group *g = abmap_fake_group_new(NULL);
	struct abmap *a = abmap_fake_array_new(g, sizeof(__u64), 4, 0);
	__u64 v[2] = { 5, 6 }, got;

	(void)unused;
	assert_non_null(a);
	ut_ok(abmap_testing_set_before_flip(g, count_and_fail, &calls));
	ut_assert_ret(abmap_array_set(a, v, 2), -EINTR);
	assert_int_equal(calls, 1);
	assert_int_equal(ut_gen(g), 0);
	ut_ok(abmap_array_set(a, v, 2));
	assert_int_equal(calls, 2);
	assert_int_equal(ut_gen(g), 1);
	ut_ok(abmap_array_get(a, 1, &got));
	assert_int_equal(got, 6);
	abmap_group_free(g);
}

/* A 20-byte key, as a 5-tuple would be. */
struct flow_key {
	__u32 w[5];
};

static void test_hash_wide_key(void **state)
{
	struct ut_fixture *f = *state;
	struct flow_key keys[6], other;
	__u32 vals[6], i, v;
	struct abmap *h;

	h = ut_hash_new(f->group, sizeof(struct flow_key), sizeof(__u32), 8);
	assert_int_equal(abmap_key_size(h), 20);
	for (i = 0; i < 6; i++) {
		/* Keys that differ only in their last word. */
		keys[i] = (struct flow_key){ { 0x0a000001, 0x0a000002, 53, 17, i } };
		vals[i] = 1000 + i;
	}
	ut_ok(abmap_hash_set(h, keys, vals, 6));
	ut_assert_hash_live(f->group, h, keys, vals, 6);
	other = keys[0];
	other.w[4] = 99;
	ut_assert_ret(abmap_get(h, &other, &v), -ENOENT);
	ut_ok(abmap_hash_set(h, &keys[2], &vals[2], 2));
	ut_assert_hash_live(f->group, h, &keys[2], &vals[2], 2);
	ut_assert_hash_live_absent(f->group, h, keys, 2);
	ut_assert_hash_live_absent(f->group, h, &keys[4], 2);
}

/*
 * A hash with more keys than fit in one small buffer, carried over to the passive side by later
 * commits (the library copies or replays every key).
 */
static void test_hash_many_keys(void **state)
{
	struct ut_fixture *f = *state;
	enum { N = 300 };
	__u32 *keys = calloc(N, sizeof(__u32)), i, key;
	__u64 *vals = calloc(N, sizeof(__u64)), v[2] = { 1, 2 }, val;
	struct abmap *h;

	assert_non_null(keys);
	assert_non_null(vals);
	h = ut_hash_new(f->group, sizeof(__u32), sizeof(__u64), 512);
	for (i = 0; i < N; i++) {
		keys[i] = i * 7919 + 3;
		vals[i] = (__u64)i << 20;
	}
	ut_ok(abmap_hash_set(h, keys, vals, N));
	ut_assert_hash_live(f->group, h, keys, vals, N);

	/* Commits of another structure carry the hash over to both sides. */
	ut_ok(abmap_array_set(f->arr, v, 2));
	ut_assert_hash_live(f->group, h, keys, vals, N);
	ut_ok(abmap_array_set(f->arr, v, 1));
	ut_assert_hash_live(f->group, h, keys, vals, N);
	ut_assert_hash_side(h, ut_passive(f->group), keys, vals, N);

	/* Replace with a different, smaller set: the rest disappears from the live side. */
	ut_ok(abmap_hash_set(h, keys + 100, vals + 100, 150));
	ut_assert_hash_live(f->group, h, keys + 100, vals + 100, 150);
	ut_assert_hash_live_absent(f->group, h, keys, 100);
	ut_assert_hash_live_absent(f->group, h, keys + 250, N - 250);
	ut_ok(abmap_array_set(f->arr, v, 2));
	ut_assert_hash_live(f->group, h, keys + 100, vals + 100, 150);
	ut_assert_hash_live_absent(f->group, h, keys, 100);
	key = keys[0];
	ut_assert_ret(abmap_get(h, &key, &val), -ENOENT);
	free(keys);
	free(vals);
}

static void test_hash_set_limits(void **state)
{
	struct ut_fixture *f = *state;
	__u32 keys[17], dup[3] = { 4, 5, 4 };
	__u64 vals[17];
	struct ut_snap before = { 0 }, after = { 0 };
	__u32 i;

	for (i = 0; i < 17; i++) {
		keys[i] = i * 3 + 1;
		vals[i] = i;
	}
	ut_ok(abmap_hash_set(f->hash, keys, vals, 16));
	ut_assert_hash_live(f->group, f->hash, keys, vals, 16);

	ut_snap_gen(&before, f->group);
	ut_snap_hash(&before, f->hash, keys, 17);
	ut_snap_hash(&before, f->hash, dup, 3);
	/* More keys than max_entries. */
	ut_assert_ret(abmap_hash_set(f->hash, keys, vals, 17), -E2BIG);
	/* A duplicate key. */
	ut_assert_ret(abmap_hash_set(f->hash, dup, vals, 3), -EINVAL);
	ut_snap_gen(&after, f->group);
	ut_snap_hash(&after, f->hash, keys, 17);
	ut_snap_hash(&after, f->hash, dup, 3);
	ut_snap_assert_equal(&before, &after);
	ut_snap_free(&before);
	ut_snap_free(&after);
}

/* Accessors: fake structures have ids but no fds. */
static void test_accessors(void **state)
{
	struct ut_fixture *f = *state;
	char want[32];

	ut_assert_ret(abmap_fd(f->arr, ABMAP_SIDE_A), -EOPNOTSUPP);
	ut_assert_ret(abmap_fd(f->arr, 2), -EINVAL);
	ut_assert_ret(abmap_fd(NULL, ABMAP_SIDE_A), -EINVAL);
	assert_int_not_equal(abmap_map_id(f->arr, ABMAP_SIDE_A), 0);
	assert_int_not_equal(abmap_map_id(f->arr, ABMAP_SIDE_A),
			     abmap_map_id(f->hash, ABMAP_SIDE_A));
	assert_int_equal(abmap_map_id(f->arr, -1), 0);
	assert_int_equal(abmap_map_id(NULL, ABMAP_SIDE_A), 0);
	assert_ptr_equal(abmap_group_of(f->hash), f->group);
	assert_null(abmap_group_of(NULL));
	ut_assert_ret(abmap_group_pointer_fd(f->group), -EOPNOTSUPP);
	ut_assert_ret(abmap_group_pointer_fd(NULL), -EINVAL);

	snprintf(want, sizeof(want), "%d.%d", LIBABMAP_MAJOR_VERSION, LIBABMAP_MINOR_VERSION);
	assert_string_equal(abmap_version(), want);
}

static void test_pointer_state(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap_pointer ptr;
	__u64 vals[3] = { 1, 2, 3 };

	ut_ok(abmap_array_set(f->arr, vals, 3));
	ut_ok(abmap_array_set(f->arr, vals, 2));
	memset(&ptr, 0, sizeof(ptr));
	ut_ok(abmap_group_state(f->group, &ptr));
	assert_int_equal(ptr.generation, ut_gen(f->group));
	/* After a clean commit the passive side holds the previous generation. */
	assert_int_equal(ptr.passive_gen, ptr.generation - 1);
	assert_int_equal(ptr.writer_pid, (__u32)getpid());
	assert_true(ptr.flip_time_ns > 0);
	assert_true(ptr.grace_gen <= ptr.generation);

	/* After a sync, every flip up to the live generation is past its grace period. */
	ut_ok(abmap_group_sync(f->group));
	memset(&ptr, 0, sizeof(ptr));
	ut_ok(abmap_group_state(f->group, &ptr));
	assert_int_equal(ptr.grace_gen, ptr.generation);
}

static void test_two_groups_independent(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap_group *g2 = ut_group_new();
	struct abmap *a2 = ut_array_new(g2, sizeof(__u64), 4, 0);
	__u64 vals[2] = { 5, 6 }, other[3] = { 7, 8, 9 }, gen1 = ut_gen(f->group);

	ut_ok(abmap_array_set(a2, vals, 2));
	assert_int_equal(ut_gen(f->group), gen1);
	ut_assert_array_live(g2, a2, vals, 2, 2);
	ut_ok(abmap_array_set(f->arr, other, 3));
	ut_assert_array_live(g2, a2, vals, 2, 2);
	ut_assert_array_live(f->group, f->arr, other, 3, 3);
	abmap_group_free(g2);
}

static void test_free_structure(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap *extra = ut_array_new(f->group, sizeof(__u64), 4, 0);
	__u64 vals[2] = { 1, 2 };

	ut_ok(abmap_array_set(extra, vals, 2));
	ut_ok(abmap_free(extra));
	ut_ok(abmap_free(NULL));
	/* The group goes on with its remaining structures. */
	ut_ok(abmap_array_set(f->arr, vals, 2));
	ut_assert_array_live(f->group, f->arr, vals, 2, 2);
}

static void test_bad_input(void **state)
{
	struct ut_fixture *f = *state;
	__u64 v = 0, gen;
	__u32 key = 0, len;
	struct abmap_pointer ptr;

	/* Constructors. */
	ut_assert_null_errno(abmap_fake_array_new(NULL, 8, 4, 0), EINVAL);
	ut_assert_null_errno(abmap_fake_hash_new(NULL, 4, 8, 4), EINVAL);
	errno = 0;
	assert_null(abmap_fake_array_new(f->group, 0, 4, 0));
	assert_true(errno != 0);
	errno = 0;
	assert_null(abmap_fake_array_new(f->group, 8, 0, 0));
	assert_true(errno != 0);
	errno = 0;
	assert_null(abmap_fake_hash_new(f->group, 0, 8, 4));
	assert_true(errno != 0);
	ut_assert_null_errno(abmap_new(NULL, "array", 0, 0, NULL), EINVAL);
	ut_assert_null_errno(abmap_new(f->group, NULL, 0, 0, NULL), EINVAL);
	ut_assert_null_errno(abmap_new(NULL, ABMAP_KIND_ARRAY, 0, 0, NULL), EINVAL);
	ut_assert_null_errno(abmap_new(NULL, ABMAP_KIND_HASH, 0, 0, NULL), EINVAL);
	ut_assert_null_errno(abmap_txn_begin(NULL), EINVAL);

	/* Group calls. */
	ut_assert_ret(abmap_group_generation(NULL, &gen), -EINVAL);
	ut_assert_ret(abmap_group_generation(f->group, NULL), -EINVAL);
	ut_assert_ret(abmap_group_state(NULL, &ptr), -EINVAL);
	ut_assert_ret(abmap_group_state(f->group, NULL), -EINVAL);
	ut_assert_ret(abmap_group_sync(NULL), -EINVAL);

	/* Readers. */
	ut_assert_ret(abmap_get(NULL, &key, &v), -EINVAL);
	ut_assert_ret(abmap_get(f->arr, NULL, &v), -EINVAL);
	ut_assert_ret(abmap_get(f->arr, &key, NULL), -EINVAL);
	ut_assert_ret(abmap_array_get(NULL, 0, &v), -EINVAL);
	ut_assert_ret(abmap_array_get(f->arr, 0, NULL), -EINVAL);
	ut_assert_ret(abmap_array_len(NULL, &len), -EINVAL);
	ut_assert_ret(abmap_array_len(f->arr, NULL), -EINVAL);
	ut_assert_ret(abmap_get(NULL, &key, &v), -EINVAL);
	ut_assert_ret(abmap_get(f->hash, NULL, &v), -EINVAL);
	ut_assert_ret(abmap_get(f->hash, &key, NULL), -EINVAL);
	/* Array readers on a hash. */
	ut_assert_ret(abmap_array_get(f->hash, 0, &v), -EINVAL);
	ut_assert_ret(abmap_array_len(f->hash, &len), -EINVAL);

	/* Whole-content setters. */
	ut_assert_ret(abmap_array_set(NULL, &v, 1), -EINVAL);
	ut_assert_ret(abmap_array_set(f->arr, NULL, 1), -EINVAL);
	ut_assert_ret(abmap_array_set(f->hash, &v, 1), -EINVAL);
	ut_assert_ret(abmap_hash_set(NULL, &key, &v, 1), -EINVAL);
	ut_assert_ret(abmap_hash_set(f->hash, NULL, &v, 1), -EINVAL);
	ut_assert_ret(abmap_hash_set(f->hash, &key, NULL, 1), -EINVAL);
	ut_assert_ret(abmap_hash_set(f->arr, &key, &v, 1), -EINVAL);

	/* Fake accessors. */
	ut_assert_ret(abmap_fake_peek(NULL, ABMAP_SIDE_A, &key, &v), -EINVAL);
	ut_assert_ret(abmap_fake_peek(f->arr, ABMAP_SIDE_A, NULL, &v), -EINVAL);
	ut_assert_ret(abmap_fake_peek(f->arr, ABMAP_SIDE_A, &key, NULL), -EINVAL);
	ut_assert_ret(abmap_fake_peek(f->arr, 2, &key, &v), -EINVAL);
	ut_assert_ret(abmap_fake_peek(f->arr, -1, &key, &v), -EINVAL);
	ut_assert_ret(abmap_fake_peek_len(NULL, ABMAP_SIDE_A, &len), -EINVAL);
	ut_assert_ret(abmap_fake_peek_len(f->arr, ABMAP_SIDE_A, NULL), -EINVAL);
	ut_assert_ret(abmap_fake_peek_len(f->arr, 2, &len), -EINVAL);
	ut_assert_ret(abmap_fake_fail(NULL, ABMAP_FAKE_WRITE, 1, -EIO), -EINVAL);
	ut_assert_ret(abmap_fake_fail(f->group, __ABMAP_FAKE_OP_MAX, 1, -EIO), -EINVAL);
	ut_assert_ret(abmap_fake_fail(f->group, ABMAP_FAKE_WRITE, 1, EIO), -EINVAL);

	/* Other calls that take a structure. */
	ut_assert_ret(abmap_check_prog(NULL, BPF_PROG_TYPE_XDP), -EINVAL);

	/* Nothing above changed anything. */
	ut_assert_array_live(f->group, f->arr, NULL, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UT_FIXTURE_TEST(test_group_new_state, setup),
		UT_FIXTURE_TEST(test_next_key_live, setup),
		UT_FIXTURE_TEST(test_before_flip_hook, setup),
		UT_FIXTURE_TEST(test_array_new_props, setup),
		UT_FIXTURE_TEST(test_array_set_limits, setup),
		UT_FIXTURE_TEST(test_hash_wide_key, setup),
		UT_FIXTURE_TEST(test_hash_many_keys, setup),
		UT_FIXTURE_TEST(test_hash_set_limits, setup),
		UT_FIXTURE_TEST(test_accessors, setup),
		UT_FIXTURE_TEST(test_pointer_state, setup),
		UT_FIXTURE_TEST(test_two_groups_independent, setup),
		UT_FIXTURE_TEST(test_free_structure, setup),
		UT_FIXTURE_TEST(test_bad_input, setup),
	};

	ut_main_init();
	return cmocka_run_group_tests_name("fake_basic", tests, NULL, NULL);
}
