/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared helpers of the libabmap unit tests (in-memory fake backend, no privileges).
 *
 * Every test file is one cmocka executable; include this header first.
 */
#ifndef __UNIT_HELPERS_H
#define __UNIT_HELPERS_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <abmap.h>
#include <abmap_fake.h>
#include <abmap/testing.h>

#define UT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Largest key or value size the helpers handle with stack buffers. */
#define UT_MAX_ELEM 64

/*
 * Assert that @expr returns @want (0 or a negative errno) and, when it is negative, that errno
 * was set to -@want as the header's conventions promise.
 */
#define ut_assert_ret(expr, want)                                                                  \
	do {                                                                                       \
		int __want = (want);                                                               \
		int __ret;                                                                         \
		errno = 0;                                                                         \
		__ret = (expr);                                                                    \
		if (__ret != __want)                                                               \
			fail_msg("%s returned %d (%s), expected %d (%s)", #expr, __ret,            \
				 strerror(-__ret), __want, strerror(-__want));                     \
		if (__want < 0 && errno != -__want)                                                \
			fail_msg("%s: errno %d (%s), expected %d", #expr, errno, strerror(errno),  \
				 -__want);                                                         \
	} while (0)

#define ut_ok(expr) ut_assert_ret(expr, 0)

/* Assert that @expr returns a negative errno and sets errno to match it. */
#define ut_assert_fails(expr)                                                                      \
	do {                                                                                       \
		int __ret;                                                                         \
		errno = 0;                                                                         \
		__ret = (expr);                                                                    \
		if (__ret >= 0)                                                                    \
			fail_msg("%s returned %d, expected a negative errno", #expr, __ret);       \
		if (errno != -__ret)                                                               \
			fail_msg("%s returned %d but errno is %d", #expr, __ret, errno);           \
	} while (0)

/* Assert that constructor call @expr returns NULL with errno @err. */
#define ut_assert_null_errno(expr, err)                                                            \
	do {                                                                                       \
		const void *__p;                                                                   \
		errno = 0;                                                                         \
		__p = (expr);                                                                      \
		if (__p)                                                                           \
			fail_msg("%s returned non-NULL, expected NULL", #expr);                    \
		if (errno != (err))                                                                \
			fail_msg("%s: errno %d (%s), expected %d (%s)", #expr, errno,              \
				 strerror(errno), (err), strerror(err));                           \
	} while (0)

/* ---------------------------------------------------------------------------------------------
 * Log capture: installed by ut_main_init() so failing paths do not flood the test output.
 * Set UT_VERBOSE=1 in the environment to also see the lines.
 */

struct ut_log {
	unsigned int lines;
	unsigned int by_level[3];
	char last[512];
};

static inline struct ut_log *ut_log(void)
{
	static struct ut_log log;

	return &log;
}

static inline void ut_log_reset(void)
{
	memset(ut_log(), 0, sizeof(struct ut_log));
}

__attribute__((format(printf, 2, 0))) static inline int ut_print(enum abmap_print_level level,
								 const char *fmt, va_list args)
{
	struct ut_log *log = ut_log();
	int n;

	n = vsnprintf(log->last, sizeof(log->last), fmt, args);
	log->lines++;
	if ((unsigned int)level < UT_ARRAY_SIZE(log->by_level))
		log->by_level[level]++;
	if (getenv("UT_VERBOSE"))
		fprintf(stderr, "[lib %d] %s", (int)level, log->last);
	return n;
}

/* Install the capture callback; returns the callback that was in place (the default). */
static inline abmap_print_fn_t ut_main_init(void)
{
	return abmap_set_print(ut_print);
}

/* ---------------------------------------------------------------------------------------------
 * Groups
 */

static inline struct abmap_group *ut_group_new(void)
{
	struct abmap_group *group = abmap_fake_group_new(NULL);

	assert_non_null(group);
	return group;
}

static inline __u64 ut_gen(struct abmap_group *group)
{
	__u64 gen = 0xdeadbeefULL;

	ut_ok(abmap_group_generation(group, &gen));
	return gen;
}

static inline int ut_live(struct abmap_group *group)
{
	return (int)(ut_gen(group) & 1);
}

static inline int ut_passive(struct abmap_group *group)
{
	return !ut_live(group);
}

/* abmap_txn_begin(), asserting success. */
static inline struct abmap_txn *ut_txn_begin(struct abmap_group *group)
{
	struct abmap_txn *txn;

	errno = 0;
	txn = abmap_txn_begin(group);
	if (!txn)
		fail_msg("abmap_txn_begin: NULL, errno %d (%s)", errno, strerror(errno));
	return txn;
}

/* ---------------------------------------------------------------------------------------------
 * The common fixture: one fake group holding a u64 array with a length map, a u64 array without
 * one and a u32 -> u64 hash.
 */

struct ut_fixture {
	struct abmap_group *group;
	struct abmap *arr;   /* u64, length map */
	struct abmap *nolen; /* u64, no length map (ABMAP_FAKE_NO_LEN) */
	struct abmap *hash;  /* u32 -> u64 */
};

/* Create the fixture's group and structures: 0, or -1 with nothing left allocated. */
static inline int ut_fixture_init(struct ut_fixture *f, __u32 arr_max, __u32 nolen_max,
				  __u32 hash_max)
{
	f->group = abmap_fake_group_new(NULL);
	if (!f->group)
		return -1;
	f->arr = abmap_fake_array_new(f->group, sizeof(__u64), arr_max, 0);
	f->nolen = abmap_fake_array_new(f->group, sizeof(__u64), nolen_max, ABMAP_FAKE_NO_LEN);
	f->hash = abmap_fake_hash_new(f->group, sizeof(__u32), sizeof(__u64), hash_max);
	if (!f->arr || !f->nolen || !f->hash) {
		abmap_group_free(f->group);
		f->group = NULL;
		return -1;
	}
	return 0;
}

/* Body of a cmocka setup: a new fixture in *@state. */
static inline int ut_fixture_setup(void **state, __u32 arr_max, __u32 nolen_max, __u32 hash_max)
{
	struct ut_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (ut_fixture_init(f, arr_max, nolen_max, hash_max)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* cmocka teardown of a fixture made by ut_fixture_setup(). */
static inline int ut_fixture_teardown(void **state)
{
	struct ut_fixture *f = *state;

	abmap_group_free(f->group);
	free(f);
	return 0;
}

/* Register test @f on a fixture made by @setup (a caller of ut_fixture_setup()). */
#define UT_FIXTURE_TEST(f, setup) cmocka_unit_test_setup_teardown(f, setup, ut_fixture_teardown)

/* ---------------------------------------------------------------------------------------------
 * Arrays: @vals holds @n values of the structure's value size.
 */

static inline struct abmap *ut_array_new(struct abmap_group *group, __u32 value_size,
					 __u32 max_entries, __u32 flags)
{
	struct abmap *arr = abmap_fake_array_new(group, value_size, max_entries, flags);

	assert_non_null(arr);
	return arr;
}

/*
 * Assert one side of a fake array: slots [0, n) equal @vals, slots [n, max_entries) are zero,
 * the length is @len, and index max_entries is absent.
 */
static inline void ut_assert_array_side(struct abmap *arr, int side, const void *vals, __u32 n,
					__u32 len)
{
	__u32 vsz = abmap_value_size(arr), max = abmap_max_entries(arr), i, got_len = ~0U;
	unsigned char buf[UT_MAX_ELEM], zero[UT_MAX_ELEM] = { 0 };

	assert_true(vsz > 0 && vsz <= UT_MAX_ELEM);
	assert_true(n <= max);
	for (i = 0; i < max; i++) {
		const void *want = i < n ? (const unsigned char *)vals + (size_t)i * vsz : zero;

		memset(buf, 0xa5, sizeof(buf));
		ut_ok(abmap_fake_peek(arr, side, &i, buf));
		if (memcmp(buf, want, vsz))
			fail_msg("side %d slot %u: %s", side, i,
				 i < n ? "differs from the expected value" : "not zero");
	}
	ut_assert_ret(abmap_fake_peek(arr, side, &max, buf), -ENOENT);
	ut_ok(abmap_fake_peek_len(arr, side, &got_len));
	if (got_len != len)
		fail_msg("side %d: length %u, expected %u", side, got_len, len);
}

/*
 * Assert the live content of an array, through the fake (live side) and through the public
 * readers: abmap_array_len(), abmap_array_get() (-ENOENT past the length) and abmap_get().
 */
static inline void ut_assert_array_live(struct abmap_group *group, struct abmap *arr,
					const void *vals, __u32 n, __u32 len)
{
	__u32 vsz = abmap_value_size(arr), max = abmap_max_entries(arr), i, got_len = ~0U;
	unsigned char buf[UT_MAX_ELEM], zero[UT_MAX_ELEM] = { 0 };

	ut_assert_array_side(arr, ut_live(group), vals, n, len);
	ut_ok(abmap_array_len(arr, &got_len));
	if (got_len != len)
		fail_msg("abmap_array_len: %u, expected %u", got_len, len);
	for (i = 0; i < max; i++) {
		const void *want = i < n ? (const unsigned char *)vals + (size_t)i * vsz : zero;

		memset(buf, 0xa5, sizeof(buf));
		if (i >= len) {
			ut_assert_ret(abmap_array_get(arr, i, buf), -ENOENT);
			ut_assert_ret(abmap_get(arr, &i, buf), -ENOENT);
			continue;
		}
		ut_ok(abmap_array_get(arr, i, buf));
		if (memcmp(buf, want, vsz))
			fail_msg("abmap_array_get(%u) differs", i);
		memset(buf, 0xa5, sizeof(buf));
		ut_ok(abmap_get(arr, &i, buf));
		if (memcmp(buf, want, vsz))
			fail_msg("abmap_get(%u) differs", i);
	}
	ut_assert_ret(abmap_array_get(arr, max, buf), -ENOENT);
}

/* ---------------------------------------------------------------------------------------------
 * Hashes: @keys and @vals hold @n keys and values of the structure's sizes.
 */

static inline struct abmap *ut_hash_new(struct abmap_group *group, __u32 key_size, __u32 value_size,
					__u32 max_entries)
{
	struct abmap *hash = abmap_fake_hash_new(group, key_size, value_size, max_entries);

	assert_non_null(hash);
	return hash;
}

/* Assert that side @side of a fake hash holds these @n keys with these values. */
static inline void ut_assert_hash_side(struct abmap *hash, int side, const void *keys,
				       const void *vals, __u32 n)
{
	__u32 ksz = abmap_key_size(hash), vsz = abmap_value_size(hash), i;
	unsigned char buf[UT_MAX_ELEM];

	assert_true(vsz > 0 && vsz <= UT_MAX_ELEM);
	for (i = 0; i < n; i++) {
		const unsigned char *key = (const unsigned char *)keys + (size_t)i * ksz;

		memset(buf, 0xa5, sizeof(buf));
		errno = 0;
		if (abmap_fake_peek(hash, side, key, buf))
			fail_msg("side %d: key #%u absent (errno %d)", side, i, errno);
		if (memcmp(buf, (const unsigned char *)vals + (size_t)i * vsz, vsz))
			fail_msg("side %d: value of key #%u differs", side, i);
	}
}

/* Assert that none of these @n keys is on side @side of a fake hash. */
static inline void ut_assert_hash_side_absent(struct abmap *hash, int side, const void *keys,
					      __u32 n)
{
	__u32 ksz = abmap_key_size(hash), i;
	unsigned char buf[UT_MAX_ELEM];

	for (i = 0; i < n; i++) {
		int ret = abmap_fake_peek(hash, side, (const unsigned char *)keys + (size_t)i * ksz,
					  buf);

		if (ret != -ENOENT)
			fail_msg("side %d: key #%u: peek returned %d, expected -ENOENT", side, i,
				 ret);
	}
}

/* Live content of a hash, through the fake and abmap_get(). */
static inline void ut_assert_hash_live(struct abmap_group *group, struct abmap *hash,
				       const void *keys, const void *vals, __u32 n)
{
	__u32 ksz = abmap_key_size(hash), vsz = abmap_value_size(hash), i;
	unsigned char buf[UT_MAX_ELEM];

	ut_assert_hash_side(hash, ut_live(group), keys, vals, n);
	for (i = 0; i < n; i++) {
		const unsigned char *key = (const unsigned char *)keys + (size_t)i * ksz;
		const unsigned char *val = (const unsigned char *)vals + (size_t)i * vsz;

		memset(buf, 0xa5, sizeof(buf));
		ut_ok(abmap_get(hash, key, buf));
		if (memcmp(buf, val, vsz))
			fail_msg("abmap_get: value of key #%u differs", i);
	}
}

static inline void ut_assert_hash_live_absent(struct abmap_group *group, struct abmap *hash,
					      const void *keys, __u32 n)
{
	__u32 ksz = abmap_key_size(hash), i;
	unsigned char buf[UT_MAX_ELEM];

	ut_assert_hash_side_absent(hash, ut_live(group), keys, n);
	for (i = 0; i < n; i++)
		ut_assert_ret(abmap_get(hash, (const unsigned char *)keys + (size_t)i * ksz, buf),
			      -ENOENT);
}

/* ---------------------------------------------------------------------------------------------
 * Models of small structures with u32 keys 0..UT_MODEL_KEYS-1 and u64 values, for tests that
 * apply many changes and compare whole structures.
 */

#define UT_MODEL_KEYS 32

struct ut_model {
	__u32 len;		     /* arrays: length; hashes: unused */
	bool present[UT_MODEL_KEYS]; /* hashes */
	__u64 val[UT_MODEL_KEYS];    /* arrays: slot values (0 past len); hashes: values */
};

/* Assert one side of a u64 array of max_entries <= UT_MODEL_KEYS against @m. */
static inline void ut_assert_array_model_side(struct abmap *arr, int side, const struct ut_model *m)
{
	assert_int_equal(abmap_value_size(arr), sizeof(__u64));
	assert_true(abmap_max_entries(arr) <= UT_MODEL_KEYS);
	ut_assert_array_side(arr, side, m->val, abmap_max_entries(arr), m->len);
}

/* Assert one side of a u32 -> u64 hash against @m over the keys 0..@nkeys-1. */
static inline void ut_assert_hash_model_side(struct abmap *hash, int side, const struct ut_model *m,
					     __u32 nkeys)
{
	__u32 k;
	__u64 v;

	assert_int_equal(abmap_key_size(hash), sizeof(__u32));
	assert_int_equal(abmap_value_size(hash), sizeof(__u64));
	assert_true(nkeys <= UT_MODEL_KEYS);
	for (k = 0; k < nkeys; k++) {
		int ret;

		v = 0xa5a5a5a5a5a5a5a5ULL;
		ret = abmap_fake_peek(hash, side, &k, &v);
		if (m->present[k]) {
			if (ret)
				fail_msg("side %d key %u: peek returned %d, expected present", side,
					 k, ret);
			if (v != m->val[k])
				fail_msg("side %d key %u: value %llu, expected %llu", side, k,
					 (unsigned long long)v, (unsigned long long)m->val[k]);
		} else if (ret != -ENOENT) {
			fail_msg("side %d key %u: peek returned %d, expected -ENOENT", side, k,
				 ret);
		}
	}
}

/* ---------------------------------------------------------------------------------------------
 * Snapshots of both sides, to assert that a failed or aborted operation changed nothing.
 */

struct ut_snap {
	size_t size;
	unsigned char *data;
};

static inline void ut_snap_put(struct ut_snap *snap, const void *p, size_t n)
{
	snap->data = realloc(snap->data, snap->size + n);
	assert_non_null(snap->data);
	memcpy(snap->data + snap->size, p, n);
	snap->size += n;
}

/* Append both sides of an array (lengths and every slot) to @snap. */
static inline void ut_snap_array(struct ut_snap *snap, struct abmap *arr)
{
	__u32 vsz = abmap_value_size(arr), max = abmap_max_entries(arr), i, len;
	unsigned char buf[UT_MAX_ELEM];
	int side;

	assert_true(vsz <= UT_MAX_ELEM);
	for (side = ABMAP_SIDE_A; side <= ABMAP_SIDE_B; side++) {
		ut_ok(abmap_fake_peek_len(arr, side, &len));
		ut_snap_put(snap, &len, sizeof(len));
		for (i = 0; i < max; i++) {
			memset(buf, 0, sizeof(buf));
			ut_ok(abmap_fake_peek(arr, side, &i, buf));
			ut_snap_put(snap, buf, vsz);
		}
	}
}

/* Append both sides of a hash, for each of the @n keys (presence and value), to @snap. */
static inline void ut_snap_hash(struct ut_snap *snap, struct abmap *hash, const void *keys, __u32 n)
{
	__u32 ksz = abmap_key_size(hash), vsz = abmap_value_size(hash), i;
	unsigned char buf[UT_MAX_ELEM];
	int side, ret;

	assert_true(vsz <= UT_MAX_ELEM);
	for (side = ABMAP_SIDE_A; side <= ABMAP_SIDE_B; side++) {
		for (i = 0; i < n; i++) {
			memset(buf, 0, sizeof(buf));
			ret = abmap_fake_peek(hash, side,
					      (const unsigned char *)keys + (size_t)i * ksz, buf);
			assert_true(ret == 0 || ret == -ENOENT);
			ut_snap_put(snap, &ret, sizeof(ret));
			ut_snap_put(snap, buf, vsz);
		}
	}
}

/* Append the generation to @snap. */
static inline void ut_snap_gen(struct ut_snap *snap, struct abmap_group *group)
{
	__u64 gen = ut_gen(group);

	ut_snap_put(snap, &gen, sizeof(gen));
}

static inline void ut_snap_assert_equal(const struct ut_snap *a, const struct ut_snap *b)
{
	size_t i;

	assert_int_equal(a->size, b->size);
	for (i = 0; i < a->size; i++) {
		if (a->data[i] != b->data[i])
			fail_msg("snapshots differ at byte %zu of %zu", i, a->size);
	}
}

static inline void ut_snap_free(struct ut_snap *snap)
{
	free(snap->data);
	snap->data = NULL;
	snap->size = 0;
}

/* Fill @vals with @n u64 values base + i. */
static inline void ut_fill_u64(__u64 *vals, __u32 n, __u64 base)
{
	__u32 i;

	for (i = 0; i < n; i++)
		vals[i] = base + i;
}

#endif /* __UNIT_HELPERS_H */
