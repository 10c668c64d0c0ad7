// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libabmap on the in-memory fake: bulk reads of a live side with their generation
 * (abmap_array_read(), abmap_hash_read()), and their retry when a flip lands during a read.
 */
#include "unit_helpers.h"

#define ARR_MAX 16
#define HASH_MAX 16

static int setup(void **state)
{
	return ut_fixture_setup(state, ARR_MAX, ARR_MAX, HASH_MAX);
}

static void test_array_read(void **state)
{
	struct ut_fixture *f = *state;
	__u64 vals[5], got[ARR_MAX + 1], gen = 0, zero[ARR_MAX] = { 0 };
	__u32 len = 0;

	ut_fill_u64(vals, 5, 100);
	ut_ok(abmap_array_set(f->arr, vals, 5));

	memset(got, 0xa5, sizeof(got));
	ut_ok(abmap_array_read(f->arr, 0, ARR_MAX, got, &len, &gen));
	assert_int_equal(len, 5);
	assert_int_equal(gen, ut_gen(f->group));
	assert_memory_equal(got, vals, sizeof(vals));
	/* Slots past the length are zero; nothing past @count is written. */
	assert_memory_equal(&got[5], zero, (ARR_MAX - 5) * sizeof(__u64));
	assert_int_equal(got[ARR_MAX], 0xa5a5a5a5a5a5a5a5ULL);

	/* A range in the middle; len and generation may be NULL. */
	memset(got, 0, sizeof(got));
	ut_ok(abmap_array_read(f->arr, 3, 2, got, NULL, NULL));
	assert_memory_equal(got, &vals[3], 2 * sizeof(__u64));
	/* An empty range reads only the length. */
	ut_ok(abmap_array_read(f->arr, ARR_MAX, 0, NULL, &len, NULL));
	assert_int_equal(len, 5);

	/* Without a length map the length is max_entries. */
	ut_ok(abmap_array_set(f->nolen, vals, 2));
	ut_ok(abmap_array_read(f->nolen, 0, 2, got, &len, &gen));
	assert_int_equal(len, ARR_MAX);
	assert_memory_equal(got, vals, 2 * sizeof(__u64));
	assert_int_equal(gen, ut_gen(f->group));
}

static void test_array_read_bad(void **state)
{
	struct ut_fixture *f = *state;
	__u64 got[ARR_MAX + 1];

	ut_assert_ret(abmap_array_read(f->arr, 0, ARR_MAX + 1, got, NULL, NULL), -EINVAL);
	ut_assert_ret(abmap_array_read(f->arr, ARR_MAX, 1, got, NULL, NULL), -EINVAL);
	ut_assert_ret(abmap_array_read(f->arr, ARR_MAX + 1, 0, got, NULL, NULL), -EINVAL);
	ut_assert_ret(abmap_array_read(f->arr, 1, UINT32_MAX, got, NULL, NULL), -EINVAL);
	ut_assert_ret(abmap_array_read(f->arr, 0, 1, NULL, NULL, NULL), -EINVAL);
	ut_assert_ret(abmap_array_read(f->hash, 0, 1, got, NULL, NULL), -EINVAL);
	ut_assert_ret(abmap_array_read(NULL, 0, 1, got, NULL, NULL), -EINVAL);
}

/* Index of @key in @keys[0..n), or -1. */
static int find_u32(const __u32 *keys, __u32 n, __u32 key)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		if (keys[i] == key)
			return (int)i;
	}
	return -1;
}

/* @keys/@vals (any order) hold exactly the pairs of @want_keys/@want_vals. */
static void assert_same_pairs(const __u32 *keys, const __u64 *vals, __u32 n, const __u32 *want_keys,
			      const __u64 *want_vals, __u32 want_n)
{
	__u32 i;
	int at;

	assert_int_equal(n, want_n);
	for (i = 0; i < want_n; i++) {
		at = find_u32(keys, n, want_keys[i]);
		if (at < 0)
			fail_msg("key %u missing", want_keys[i]);
		assert_int_equal(vals[at], want_vals[i]);
	}
}

static void test_hash_read(void **state)
{
	struct ut_fixture *f = *state;
	__u32 k[10] = { 1, 2, 3, 5, 8, 13, 21, 34, 55, 89 }, keys[HASH_MAX], n = 0;
	__u64 v[10], vals[HASH_MAX], gen = 0;

	/* Empty: no buffers needed. */
	ut_ok(abmap_hash_read(f->hash, NULL, NULL, 0, &n, &gen));
	assert_int_equal(n, 0);

	ut_fill_u64(v, 10, 1000);
	ut_ok(abmap_hash_set(f->hash, k, v, 10));
	ut_ok(abmap_hash_read(f->hash, keys, vals, HASH_MAX, &n, &gen));
	assert_int_equal(gen, ut_gen(f->group));
	assert_same_pairs(keys, vals, n, k, v, 10);

	/* Buffers of exactly the content's size (smaller than max_entries). */
	memset(keys, 0, sizeof(keys));
	ut_ok(abmap_hash_read(f->hash, keys, vals, 10, &n, NULL));
	assert_same_pairs(keys, vals, n, k, v, 10);

	/* Too small: -ENOSPC and the size needed, buffers untouched. */
	memset(keys, 0xa5, sizeof(keys));
	n = 0;
	ut_assert_ret(abmap_hash_read(f->hash, keys, vals, 9, &n, NULL), -ENOSPC);
	assert_int_equal(n, 10);
	assert_int_equal(keys[0], 0xa5a5a5a5);
	ut_assert_ret(abmap_hash_read(f->hash, NULL, NULL, 0, &n, NULL), -ENOSPC);
	assert_int_equal(n, 10);

	/* Only the live side counts: a deferred content is not read. */
	ut_ok(abmap_hash_set_and_defer_switchover(f->hash, k, v, 2,
						  &(struct abmap_switchover *){ 0 }));
	ut_ok(abmap_hash_read(f->hash, keys, vals, HASH_MAX, &n, NULL));
	assert_same_pairs(keys, vals, n, k, v, 10);
}

static void test_hash_read_bad(void **state)
{
	struct ut_fixture *f = *state;
	__u32 keys[HASH_MAX], n;
	__u64 vals[HASH_MAX];

	ut_assert_ret(abmap_hash_read(f->arr, keys, vals, HASH_MAX, &n, NULL), -EINVAL);
	ut_assert_ret(abmap_hash_read(f->hash, keys, vals, HASH_MAX, NULL, NULL), -EINVAL);
	ut_assert_ret(abmap_hash_read(f->hash, NULL, vals, HASH_MAX, &n, NULL), -EINVAL);
	ut_assert_ret(abmap_hash_read(f->hash, keys, NULL, HASH_MAX, &n, NULL), -EINVAL);
	ut_assert_ret(abmap_hash_read(NULL, keys, vals, HASH_MAX, &n, NULL), -EINVAL);
}

/*
 * A kind whose read operation, at the 4th element of a read, commits twice: the group flips
 * away from the side being read and back, and the second commit rewrites that very side. A
 * reader that does not check the generation again sees the first elements of one content and
 * the rest of another.
 */
#define FLIP_KEYS 8
#define FLIP_AT 3

static struct {
	struct abmap *hash;
	unsigned int reads;
	unsigned int flips_left;
	bool busy;
	__u64 next_value;
} flipper;

/* Content number @value: keys 0..FLIP_KEYS-1, every value @value. */
static void flipper_set(struct abmap *hash, __u64 value)
{
	__u32 keys[FLIP_KEYS];
	__u64 vals[FLIP_KEYS];
	__u32 i;

	for (i = 0; i < FLIP_KEYS; i++) {
		keys[i] = i;
		vals[i] = value;
	}
	ut_ok(abmap_hash_set(hash, keys, vals, FLIP_KEYS));
}

static int flipper_read(struct abmap_side *side, const void *key, void *value)
{
	int err = abmap_side_lookup(side, key, value);

	if (err || flipper.busy || !flipper.hash)
		return err;
	if (flipper.reads++ % FLIP_KEYS == FLIP_AT && flipper.flips_left) {
		flipper.flips_left--;
		flipper.busy = true;
		flipper_set(flipper.hash, flipper.next_value++);
		flipper_set(flipper.hash, flipper.next_value++);
		flipper.busy = false;
	}
	return err;
}

static int flipper_validate(const struct bpf_map_info *info)
{
	return info->type == BPF_MAP_TYPE_HASH ? 0 : -EINVAL;
}

static struct abmap *flipper_setup(struct abmap_group *group, unsigned int flips)
{
	LIBABMAP_OPTS(abmap_kind_ops, ops, .name = "ut_flipper", .validate = flipper_validate,
		      .read = flipper_read);
	struct abmap *hash;

	ut_ok(abmap_kind_register(&ops));
	hash = abmap_fake_new(group, "ut_flipper", BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(__u64),
			      FLIP_KEYS);
	assert_non_null(hash);
	flipper_set(hash, 0);
	memset(&flipper, 0, sizeof(flipper));
	flipper.hash = hash;
	flipper.flips_left = flips;
	flipper.next_value = 1;
	return hash;
}

static void flipper_teardown(struct abmap *hash)
{
	flipper.hash = NULL;
	ut_ok(abmap_free(hash));
	ut_ok(abmap_kind_unregister("ut_flipper"));
}

static void test_hash_read_retries_after_flip(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap *hash = flipper_setup(f->group, 1);
	__u32 keys[FLIP_KEYS], n = 0, i, k;
	__u64 vals[FLIP_KEYS], gen = 0, gen0 = ut_gen(f->group), v;
	bool torn = false;

	ut_ok(abmap_hash_read(hash, keys, vals, FLIP_KEYS, &n, &gen));
	/* The first attempt was overtaken by two flips: the answer is the newest content. */
	assert_int_equal(gen, gen0 + 2);
	assert_int_equal(n, FLIP_KEYS);
	for (i = 0; i < n; i++)
		assert_int_equal(vals[i], 2);

	/* Negative control: the same interleaving read key by key is torn. */
	flipper.flips_left = 1;
	flipper.reads = 0;
	for (k = 0; k < FLIP_KEYS; k++) {
		ut_ok(abmap_get(hash, &k, &v));
		torn |= v != 2;
	}
	assert_true(torn);
	flipper_teardown(hash);
}

static void test_hash_read_gives_up(void **state)
{
	struct ut_fixture *f = *state;
	struct abmap *hash = flipper_setup(f->group, 1000);
	__u32 keys[FLIP_KEYS], n = 0;
	__u64 vals[FLIP_KEYS], gen = 0xdead;

	/* Flipped during every attempt: a bounded number of them, then -EAGAIN. */
	ut_assert_ret(abmap_hash_read(hash, keys, vals, FLIP_KEYS, &n, &gen), -EAGAIN);
	assert_int_equal(gen, 0xdead);
	assert_true(flipper.flips_left < 1000 && flipper.flips_left > 900);
	flipper_teardown(hash);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UT_FIXTURE_TEST(test_array_read, setup),
		UT_FIXTURE_TEST(test_array_read_bad, setup),
		UT_FIXTURE_TEST(test_hash_read, setup),
		UT_FIXTURE_TEST(test_hash_read_bad, setup),
		UT_FIXTURE_TEST(test_hash_read_retries_after_flip, setup),
		UT_FIXTURE_TEST(test_hash_read_gives_up, setup),
	};

	ut_main_init();
	return cmocka_run_group_tests_name("read", tests, NULL, NULL);
}
