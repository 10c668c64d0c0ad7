// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libabmap on real kernel maps: transactions across several structures, deferred switchover,
 * validation, accessors, user kinds, compatibility mode (arrays and hashes on their own: the
 * store-conformance suite, tests/conformance/).
 *
 * Side A is the first fd given to abmap_new(); the live side is generation & 1. Every check
 * reads the maps back with bpf_map_lookup_elem(), never through the library alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ktest.h"
#include "bss_ptr.skel.h"

/* The Makefile names skeletons after the file without ".bpf.c" (bss_ptr); accept either. */
#ifdef __BSS_PTR_BPF_SKEL_H__
#define BSS_PTR(x) bss_ptr_bpf##x
#else
#define BSS_PTR(x) bss_ptr##x
#endif

#define N 16

static void fill(__u32 *v, __u32 n, __u32 base)
{
	__u32 i;

	for (i = 0; i < n; i++)
		v[i] = base + i;
}

/* Generation from the library and from the pointer map itself. */
static void assert_gen(struct abmap_group *g, int ptr, __u64 want)
{
	__u64 lib = ktest_group_gen(g), kern = ktest_generation(ptr);

	if (lib != want || kern != want)
		fail_msg(
			"%s: generation: expected %llu, abmap_group_generation %llu, pointer map %llu",
			ktest_name(), (unsigned long long)want, (unsigned long long)lib,
			(unsigned long long)kern);
}

/*
 * Arrays and hashes on their own (sets, shrinking, growing, updates, deletes, errors, no-op
 * commits) are covered by the store-conformance suite (tests/conformance/, test_conformance).
 */

/* -------------------------------------------------------------------------------------------
 * Transactions over several structures
 */

struct snap6 {
	__u32 a1[N], b1[N], a2[N], b2[N], len[2];
	__u32 ha, hb;
};

static void take_snap(struct snap6 *s, int a1, int b1, int lf, int a2, int b2, int ha, int hb)
{
	ktest_read_u32s(a1, s->a1, N);
	ktest_read_u32s(b1, s->b1, N);
	ktest_read_u32s(a2, s->a2, N);
	ktest_read_u32s(b2, s->b2, N);
	ktest_read_u32s(lf, s->len, 2);
	s->ha = ktest_hash_count(ha);
	s->hb = ktest_hash_count(hb);
}

static bool has_id(const struct abmap_pointer *p, __u32 id)
{
	__u32 i;

	for (i = 0; i < p->nr_structs && i < ABMAP_MAX_STRUCTS; i++)
		if (p->struct_ids[i] == id)
			return true;
	return false;
}

static __u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static void test_txn_multi(void **state)
{
	__u32 x1[5], y1[8], x2[3], y2[8], x3[1], junk[N];
	__u32 hk1[] = { 1, 2 }, hk2[] = { 2, 7 }, key, idx, val32;
	__u64 hv1[] = { 1, 2 }, hv2[] = { 2, 70 }, val;
	int ptr, a1, b1, lf, a2, b2, ha, hb;
	struct abmap *s1, *s2, *h;
	struct snap6 before, after;
	struct abmap_pointer st;
	struct abmap_group *g;
	struct abmap_txn *txn;
	__u64 t0, t1;

	(void)state;
	ktest_begin();
	ptr = ktest_pointer_map();
	a1 = ktest_array_map("kt_a1", 4, N, true);
	b1 = ktest_array_map("kt_b1", 4, N, true);
	lf = ktest_len_map();
	a2 = ktest_array_map("kt_a2", 4, N, false);
	b2 = ktest_array_map("kt_b2", 4, N, false);
	ha = ktest_hash_map("kt_ha", 4, 8, 32);
	hb = ktest_hash_map("kt_hb", 4, 8, 32);
	LIBABMAP_OPTS(abmap_opts, o, .len_fd = lf);

	g = ktest_group(ptr, 0);
	s1 = abmap_new(g, ABMAP_KIND_ARRAY, a1, b1, &o);
	assert_non_null(s1);
	s2 = abmap_new(g, ABMAP_KIND_ARRAY, a2, b2, NULL);
	assert_non_null(s2);
	h = abmap_new(g, ABMAP_KIND_HASH, ha, hb, NULL);
	assert_non_null(h);

	/* gen 1: all three in one transaction. */
	fill(x1, 5, 1);
	fill(y1, 8, 10);
	t0 = realtime_ns();
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, s1, x1, 5), 0);
	assert_int_equal(abmap_txn_array_set(txn, s2, y1, 8), 0);
	assert_int_equal(abmap_txn_hash_set(txn, h, hk1, hv1, 2), 0);
	assert_gen(g, ptr, 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	t1 = realtime_ns();
	assert_gen(g, ptr, 1);
	ktest_assert_array(b1, x1, 5, N);
	assert_int_equal(ktest_u32(lf, ABMAP_SIDE_B), 5);
	ktest_assert_array(b2, y1, 8, N);
	ktest_assert_hash(hb, hk1, hv1, 2);

	/* The pointer record: state, writer, flip time, member list. */
	assert_int_equal(abmap_group_state(g, &st), 0);
	assert_int_equal(st.generation, 1);
	{
		struct abmap_pointer kp = ktest_pointer(ptr);

		assert_int_equal(kp.generation, st.generation);
		assert_int_equal(kp.writer_pid, (__u32)getpid());
		if (kp.flip_time_ns < t0 || kp.flip_time_ns > t1)
			fail_msg("flip_time_ns %llu not within the commit [%llu, %llu]",
				 (unsigned long long)kp.flip_time_ns, (unsigned long long)t0,
				 (unsigned long long)t1);
		assert_int_equal(kp.nr_structs, 3);
		assert_true(has_id(&kp, ktest_map_id(a1)));
		assert_true(has_id(&kp, ktest_map_id(a2)));
		assert_true(has_id(&kp, ktest_map_id(ha)));
	}

	/* gen 2: stage changes to all three; nothing is visible before the commit. */
	fill(x2, 3, 50);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, s1, x2, 3), 0);
	idx = 0;
	val32 = 99;
	assert_int_equal(abmap_txn_update(txn, s2, &idx, &val32), 0);
	key = 7;
	val = 70;
	assert_int_equal(abmap_txn_update(txn, h, &key, &val), 0);
	key = 1;
	assert_int_equal(abmap_txn_delete(txn, h, &key), 0);
	assert_gen(g, ptr, 1);
	ktest_assert_array(b1, x1, 5, N);
	ktest_assert_array(b2, y1, 8, N);
	ktest_assert_hash(hb, hk1, hv1, 2);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_gen(g, ptr, 2);
	ktest_assert_array(a1, x2, 3, N);
	assert_int_equal(ktest_u32(lf, ABMAP_SIDE_A), 3);
	memcpy(y2, y1, sizeof(y2));
	y2[0] = 99;
	ktest_assert_array(a2, y2, 8, N);
	ktest_assert_hash(ha, hk2, hv2, 2);
	/* The retired side B still holds gen 1. */
	ktest_assert_array(b1, x1, 5, N);
	ktest_assert_array(b2, y1, 8, N);
	ktest_assert_hash(hb, hk1, hv1, 2);

	/* gen 3: only s1 changes; s2 and h go live on B again and must carry gen 2's content. */
	fill(x3, 1, 500);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, s1, x3, 1), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_gen(g, ptr, 3);
	ktest_assert_array(b1, x3, 1, N);
	assert_int_equal(ktest_u32(lf, ABMAP_SIDE_B), 1);
	ktest_assert_array(b2, y2, 8, N);
	ktest_assert_arrays_equal(a2, b2, N);
	ktest_assert_hash(hb, hk2, hv2, 2);
	ktest_assert_hashes_equal(ha, hb);

	/* Abort: nothing written on either side, no flip. */
	take_snap(&before, a1, b1, lf, a2, b2, ha, hb);
	fill(junk, N, 0xbad0);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, s1, junk, N), 0);
	assert_int_equal(abmap_txn_array_set(txn, s2, junk, N), 0);
	assert_int_equal(abmap_txn_hash_set(txn, h, hk1, hv1, 2), 0);
	abmap_txn_abort(txn);
	take_snap(&after, a1, b1, lf, a2, b2, ha, hb);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_gen(g, ptr, 3);
	ktest_assert_hash(hb, hk2, hv2, 2);

	/* A commit after the abort works and the lock was released by the abort. */
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, s2, y1, 8), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_gen(g, ptr, 4);
	ktest_assert_array(a2, y1, 8, N);
	ktest_assert_array(a1, x3, 1, N);
	ktest_assert_hash(ha, hk2, hv2, 2);
}

/* -------------------------------------------------------------------------------------------
 * Deferred switchover
 */

/* Whether writer @g2 is locked out (its transaction refused with EBUSY) or may begin one. */
static void assert_writer_locked_out(struct abmap_group *g2, bool locked_out)
{
	struct abmap_txn *txn;

	errno = 0;
	txn = abmap_txn_begin(g2);
	if (locked_out) {
		assert_null(txn);
		assert_int_equal(errno, EBUSY);
	} else {
		assert_non_null(txn);
		abmap_txn_abort(txn);
	}
}

/*
 * A pending deferred change holds the writer lock: another writer (group object on the same
 * pointer map) is locked out until the switchover or the cancel. What the sides hold: the
 * store-conformance suite (cf_deferred).
 */
static void test_deferred_lock(void **state)
{
	__u32 x[6], y[4];
	struct abmap_switchover *so = NULL;
	struct abmap_group *g, *g2;
	struct abmap *s1;
	int ptr, a1, b1;

	(void)state;
	ktest_begin();
	ptr = ktest_pointer_map();
	a1 = ktest_array_map("kt_a1", 4, N, true);
	b1 = ktest_array_map("kt_b1", 4, N, true);
	g = ktest_group(ptr, 0);
	g2 = ktest_group(ptr, 0); /* a second writer on the same pointer map */
	s1 = abmap_new(g, ABMAP_KIND_ARRAY, a1, b1, NULL);
	assert_non_null(s1);
	/* g2 attaches the same structure: a writer must attach every recorded member. */
	assert_non_null(abmap_new(g2, ABMAP_KIND_ARRAY, a1, b1, NULL));
	fill(x, 6, 10);
	fill(y, 4, 100);
	assert_int_equal(abmap_array_set(s1, x, 6), 0);

	assert_int_equal(abmap_array_set_and_defer_switchover(s1, y, 4, &so), 0);
	assert_writer_locked_out(g2, true);
	assert_int_equal(abmap_switchover(so), 0);
	assert_gen(g, ptr, 2);
	assert_writer_locked_out(g2, false);

	so = NULL;
	assert_int_equal(abmap_array_set_and_defer_switchover(s1, x, 6, &so), 0);
	assert_writer_locked_out(g2, true);
	assert_int_equal(abmap_switchover_cancel(so), 0);
	assert_gen(g, ptr, 2);
	assert_writer_locked_out(g2, false);
}

/* -------------------------------------------------------------------------------------------
 * Validation
 */

#define assert_einval_null(expr)                                                                   \
	do {                                                                                       \
		unsigned int __lines = ktest_log_lines();                                          \
		void *__p;                                                                         \
		errno = 0;                                                                         \
		__p = (expr);                                                                      \
		if (__p)                                                                           \
			fail_msg("%s: %s succeeded, expected NULL/EINVAL", ktest_name(), #expr);   \
		if (errno != EINVAL)                                                               \
			fail_msg("%s: %s: expected errno EINVAL, got %d (%s)", ktest_name(),       \
				 #expr, errno, strerror(errno));                                   \
		if (ktest_log_lines() == __lines)                                                  \
			fail_msg("%s: %s: EINVAL without a log line saying why", ktest_name(),     \
				 #expr);                                                           \
	} while (0)

static void test_validation(void **state)
{
	int ptr, a4, a4b, b8, b32, bnm, bnm2, h1, h2, h8, len1, len8, p_nm, p_small, p_two, p_hash;
	struct abmap_group *g, *g2;
	struct abmap_opts o;
	struct abmap_txn *txn;
	struct abmap *arr, *hs, *foreign;
	__u32 vals[4] = { 1, 2, 3, 4 };
	__u32 hk[1] = { 1 };
	__u64 hv[1] = { 1 };

	(void)state;
	ktest_begin();
	ktest_capture_log();
	ptr = ktest_pointer_map();
	g = ktest_group(ptr, 0);

	a4 = ktest_array_map("kt_a4", 4, N, true);
	a4b = ktest_array_map("kt_a4b", 4, N, true);
	b8 = ktest_array_map("kt_b8", 8, N, true);
	b32 = ktest_array_map("kt_b32", 4, 2 * N, true);
	bnm = ktest_array_map("kt_bnm", 4, N, false);
	h1 = ktest_hash_map("kt_h1", 4, 4, N);
	h2 = ktest_hash_map("kt_h2", 4, 4, N);
	h8 = ktest_hash_map("kt_h8", 8, 4, N);
	len1 = ktest_map(BPF_MAP_TYPE_ARRAY, "kt_len1", 4, 4, 1, 0);
	len8 = ktest_map(BPF_MAP_TYPE_ARRAY, "kt_len8", 4, 8, 2, 0);

	/* A and B differ. */
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, a4, b8, NULL));
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, a4, b32, NULL));
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, a4, bnm, NULL));
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, bnm, a4, NULL));
	assert_einval_null(abmap_new(g, ABMAP_KIND_HASH, h1, h8, NULL));
	/* Wrong kind of map. */
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, h1, h2, NULL));
	assert_einval_null(abmap_new(g, ABMAP_KIND_HASH, a4, a4b, NULL));
	assert_einval_null(abmap_new(g, "array", h1, h2, NULL));
	/* Wrong length map. */
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.len_fd = len1;
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, a4, a4b, &o));
	o.len_fd = len8;
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, a4, a4b, &o));
	/* A write path the maps do not allow. */
	bnm2 = ktest_array_map("kt_bnm2", 4, N, false);
	o.len_fd = 0;
	o.write_path = ABMAP_WRITE_MMAP;
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, bnm, bnm2, &o));
	o.write_path = ABMAP_WRITE_AUTO;
	/* Unknown kind. */
	errno = 0;
	assert_null(abmap_new(g, "no-such-kind", a4, a4b, NULL));
	assert_true(errno != 0);

	/* Pointer maps that do not fit. */
	p_nm = ktest_map(BPF_MAP_TYPE_ARRAY, "kt_p_nm", 4, sizeof(struct abmap_pointer), 1, 0);
	p_small = ktest_map(BPF_MAP_TYPE_ARRAY, "kt_p_small", 4, 8, 1, BPF_F_MMAPABLE);
	p_two = ktest_map(BPF_MAP_TYPE_ARRAY, "kt_p_two", 4, sizeof(struct abmap_pointer), 2,
			  BPF_F_MMAPABLE);
	p_hash = ktest_map(BPF_MAP_TYPE_HASH, "kt_p_hash", 4, sizeof(struct abmap_pointer), 1, 0);
	assert_einval_null(abmap_group_new(p_nm, NULL));
	assert_einval_null(abmap_group_new(p_small, NULL));
	assert_einval_null(abmap_group_new(p_two, NULL));
	assert_einval_null(abmap_group_new(p_hash, NULL));
	/* Compatibility mode: variable size and place. */
	assert_einval_null(abmap_group_new_var(ptr, 0, 3, NULL));
	assert_einval_null(abmap_group_new_var(ptr, sizeof(struct abmap_pointer), 1, NULL));
	assert_einval_null(abmap_group_new_var(ptr, sizeof(struct abmap_pointer) - 4, 8, NULL));
	assert_einval_null(abmap_group_new_var(p_nm, 0, 1, NULL));

	/* Nothing above was attached: the good pair still fits and works. */
	arr = abmap_new(g, "array", a4, a4b, NULL);
	assert_non_null(arr);
	hs = abmap_new(g, ABMAP_KIND_HASH, h1, h2, NULL);
	assert_non_null(hs);
	assert_int_equal(abmap_array_set(arr, vals, 4), 0);
	assert_gen(g, ptr, 1);
	ktest_assert_array(a4b, vals, 4, N);

	/* Structures of another group, or of the wrong kind, are refused by a transaction. */
	g2 = ktest_group(ktest_pointer_map(), 0);
	foreign = abmap_new(g2, ABMAP_KIND_ARRAY, b8, ktest_array_map("kt_b8b", 8, N, true), NULL);
	assert_non_null(foreign);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, foreign, vals, 2), -EINVAL);
	assert_int_equal(abmap_txn_array_set(txn, hs, vals, 1), -EINVAL);
	assert_int_equal(abmap_txn_hash_set(txn, arr, hk, hv, 1), -EINVAL);
	assert_int_equal(abmap_txn_array_set(txn, arr, vals, N + 1), -E2BIG);
	abmap_txn_abort(txn);
	assert_gen(g, ptr, 1);
	assert_int_equal(abmap_array_set(hs, vals, 1), -EINVAL);
	assert_int_equal(abmap_hash_set(arr, hk, hv, 1), -EINVAL);
	assert_gen(g, ptr, 1);

	/* Freeing a structure detaches it; its maps can be attached again. */
	assert_int_equal(abmap_free(arr), 0);
	arr = abmap_new(g, ABMAP_KIND_ARRAY, a4, a4b, NULL);
	assert_non_null(arr);
}

/* Accessors: each side's fd and id, the group, the pointer map's fd. */
static void test_accessors(void **state)
{
	struct abmap_group *g;
	struct abmap *arr, *h;
	int ptr, a, b, ha, hb;

	(void)state;
	ktest_begin();
	ptr = ktest_pointer_map();
	a = ktest_array_map("kt_acc_a", 4, N, true);
	b = ktest_array_map("kt_acc_b", 4, N, true);
	ha = ktest_hash_map("kt_acc_ha", 4, 8, N);
	hb = ktest_hash_map("kt_acc_hb", 4, 8, N);
	g = ktest_group(ptr, 0);
	arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b, NULL);
	h = abmap_new(g, ABMAP_KIND_HASH, ha, hb, NULL);
	assert_non_null(arr);
	assert_non_null(h);

	/* The structure keeps its own fds (dups) of the same maps. */
	assert_true(abmap_fd(arr, ABMAP_SIDE_A) >= 0 && abmap_fd(arr, ABMAP_SIDE_A) != a);
	assert_int_equal(ktest_map_id(abmap_fd(arr, ABMAP_SIDE_A)), ktest_map_id(a));
	assert_int_equal(ktest_map_id(abmap_fd(arr, ABMAP_SIDE_B)), ktest_map_id(b));
	assert_int_equal(ktest_map_id(abmap_fd(h, ABMAP_SIDE_B)), ktest_map_id(hb));
	assert_int_equal(abmap_fd(h, 2), -EINVAL);
	assert_int_equal(abmap_map_id(arr, ABMAP_SIDE_A), ktest_map_id(a));
	assert_int_equal(abmap_map_id(arr, ABMAP_SIDE_B), ktest_map_id(b));
	assert_int_equal(abmap_map_id(h, ABMAP_SIDE_A), ktest_map_id(ha));
	assert_ptr_equal(abmap_group_of(arr), g);
	assert_int_equal(ktest_map_id(abmap_group_pointer_fd(g)), ktest_map_id(ptr));
}

/*
 * A map may serve as one side of one structure only: the same map as A and B, or a map shared
 * by two structures of a group, would make some "passive" side live, and writing it tears the
 * readers (or silently corrupts the other structure).
 */
static void test_validation_shared_maps(void **state)
{
	struct abmap_group *g;
	struct abmap *s1;
	int ptr, a, b, c;

	(void)state;
	ktest_begin();
	ktest_capture_log();
	ptr = ktest_pointer_map();
	a = ktest_array_map("kt_a", 4, N, true);
	b = ktest_array_map("kt_b", 4, N, true);
	c = ktest_array_map("kt_c", 4, N, true);
	g = ktest_group(ptr, 0);

	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, a, a, NULL));
	s1 = abmap_new(g, ABMAP_KIND_ARRAY, a, b, NULL);
	assert_non_null(s1);
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, b, a, NULL));
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, a, b, NULL));
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, c, a, NULL));
	assert_einval_null(abmap_new(g, ABMAP_KIND_ARRAY, b, c, NULL));
	/* Once detached, the maps are free again. */
	assert_int_equal(abmap_free(s1), 0);
	s1 = abmap_new(g, ABMAP_KIND_ARRAY, b, a, NULL);
	assert_non_null(s1);
}

/* -------------------------------------------------------------------------------------------
 * The pointer record: passive_gen and grace_gen as documented in abmap_shared.h
 */

static void test_pointer_record(void **state)
{
	struct abmap_switchover *so = NULL;
	struct abmap_pointer p, st;
	struct abmap_group *g;
	struct abmap *arr;
	__u32 v[4] = { 1, 2, 3, 4 };
	int ptr, a, b, i;

	(void)state;
	ktest_begin();
	ptr = ktest_pointer_map();
	a = ktest_array_map("kt_a", 4, N, true);
	b = ktest_array_map("kt_b", 4, N, true);
	g = ktest_group(ptr, 0);
	arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b, NULL);
	assert_non_null(arr);

	for (i = 1; i <= 3; i++) {
		v[0] = i;
		assert_int_equal(abmap_array_set(arr, v, 4), 0);
		p = ktest_pointer(ptr);
		assert_int_equal(p.generation, i);
		/* The passive side holds the previous generation's content. */
		if (p.passive_gen != (__u64)i - 1)
			fail_msg("after commit %d: passive_gen %llu, expected %d", i,
				 (unsigned long long)p.passive_gen, i - 1);
		assert_int_equal(abmap_group_state(g, &st), 0);
		assert_int_equal(st.generation, p.generation);
		assert_int_equal(st.passive_gen, p.passive_gen);
	}

	/* abmap_group_sync() records the passed grace period (its cost: make bench, bench_flip). */
	assert_int_equal(abmap_group_sync(g), 0);
	p = ktest_pointer(ptr);
	if (p.grace_gen < p.generation)
		fail_msg("after abmap_group_sync: grace_gen %llu < generation %llu",
			 (unsigned long long)p.grace_gen, (unsigned long long)p.generation);
	/* A second sync has nothing to wait for, and still succeeds. */
	assert_int_equal(abmap_group_sync(g), 0);

	/* A deferred change: the passive side holds no committed generation. */
	v[0] = 99;
	assert_int_equal(abmap_array_set_and_defer_switchover(arr, v, 4, &so), 0);
	p = ktest_pointer(ptr);
	assert_int_equal(p.generation, 3);
	if (p.passive_gen != ABMAP_GEN_UNKNOWN)
		fail_msg("deferred change pending: passive_gen %llu, expected ABMAP_GEN_UNKNOWN "
			 "(the passive side holds content of no generation)",
			 (unsigned long long)p.passive_gen);
	assert_int_equal(abmap_switchover(so), 0);
	p = ktest_pointer(ptr);
	assert_int_equal(p.generation, 4);
	assert_int_equal(p.passive_gen, 3);
}

/* -------------------------------------------------------------------------------------------
 * A user-registered kind on real maps: LRU hashes with the default I/O.
 */

static int lru_validate(const struct bpf_map_info *info)
{
	return info->type == BPF_MAP_TYPE_LRU_HASH && info->key_size == 4 ? 0 : -EINVAL;
}

static bool lru_prog_ok(enum bpf_prog_type type)
{
	return type == BPF_PROG_TYPE_XDP;
}

static void unregister_lru(void *arg)
{
	abmap_kind_unregister(arg);
}

static void test_user_kind(void **state)
{
	static const char name[] = "kt_lru";
	struct abmap_kind_ops ops;
	struct abmap_group *g;
	struct abmap_txn *txn;
	struct abmap *m;
	__u32 keys[3] = { 1, 2, 3 }, k;
	__u64 vals[3] = { 10, 20, 30 }, v;
	int ptr, a, b, h1, h2;

	(void)state;
	ktest_begin();
	memset(&ops, 0, sizeof(ops));
	ops.sz = sizeof(ops);
	ops.name = name;
	ops.validate = lru_validate;
	ops.prog_type_ok = lru_prog_ok;
	assert_int_equal(abmap_kind_register(&ops), 0);
	ktest_defer(unregister_lru, (void *)name);
	assert_int_equal(abmap_kind_register(&ops), -EEXIST);
	assert_int_equal(abmap_kind_unregister("array"), -EPERM);
	assert_int_equal(abmap_kind_unregister("hash"), -EPERM);
	assert_int_equal(abmap_kind_unregister("kt_no_such_kind"), -ENOENT);

	ptr = ktest_pointer_map();
	a = ktest_map(BPF_MAP_TYPE_LRU_HASH, "kt_lru_a", 4, 8, 64, 0);
	b = ktest_map(BPF_MAP_TYPE_LRU_HASH, "kt_lru_b", 4, 8, 64, 0);
	h1 = ktest_hash_map("kt_h1", 4, 8, 64);
	h2 = ktest_hash_map("kt_h2", 4, 8, 64);
	g = ktest_group(ptr, 0);
	errno = 0;
	assert_null(abmap_new(g, name, h1, h2, NULL));
	assert_int_equal(errno, EINVAL);
	m = abmap_new(g, name, a, b, NULL);
	assert_non_null(m);
	assert_int_equal(abmap_check_prog(m, BPF_PROG_TYPE_XDP), 0);
	assert_int_equal(abmap_check_prog(m, BPF_PROG_TYPE_SCHED_CLS), -EOPNOTSUPP);
	assert_int_equal(abmap_kind_unregister(name), -EBUSY);

	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	for (k = 0; k < 3; k++)
		assert_int_equal(abmap_txn_update(txn, m, &keys[k], &vals[k]), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	ktest_assert_hash(b, keys, vals, 3);
	assert_int_equal(ktest_hash_count(a), 0);
	k = 2;
	assert_int_equal(abmap_get(m, &k, &v), 0);
	assert_int_equal(v, 20);

	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	k = 2;
	assert_int_equal(abmap_txn_delete(txn, m, &k), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	keys[1] = 3;
	vals[1] = 30;
	ktest_assert_hash(a, keys, vals, 2);
	ktest_assert_hash(b, (__u32[]){ 1, 2, 3 }, (__u64[]){ 10, 20, 30 }, 3);

	ktest_group_free(g);
	ktest_release(unregister_lru, (void *)name);
	assert_int_equal(abmap_kind_unregister(name), -ENOENT);
}

/* -------------------------------------------------------------------------------------------
 * Compatibility mode: a __u8 in a skeleton's .bss
 */

static void skel_destroy(void *arg)
{
	BSS_PTR(__destroy)(arg);
}

/* The bss_ptr skeleton (destroyed at teardown), the fds of its .bss and of its A/B array. */
static struct BSS_PTR() * bss_ptr_load(int *bss_fd, int *a, int *b)
{
	struct BSS_PTR() *skel = BSS_PTR(__open_and_load)();

	if (!skel)
		fail_msg("%s: opening the bss_ptr skeleton: %s", ktest_name(), strerror(errno));
	ktest_defer(skel_destroy, skel);
	*bss_fd = bpf_map__fd(skel->maps.bss);
	*a = bpf_map__fd(skel->maps.cfg_a);
	*b = bpf_map__fd(skel->maps.cfg_b);
	return skel;
}

static __u32 run_xdp(int prog_fd)
{
	char pkt[64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);

	memset(pkt, 0, sizeof(pkt));
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		fail_msg("%s: bpf_prog_test_run_opts: %s", ktest_name(), strerror(errno));
	return opts.retval;
}

static void test_compat_bss(void **state)
{
	struct BSS_PTR() * skel;
	struct abmap_group_opts go;
	struct abmap_group *g;
	struct abmap *arr;
	__u32 v1[4], v2[2];
	size_t off, bss_size, i;
	unsigned char before[64];
	int bss_fd, a, b, prog;
	__u64 gen0, gen;

	(void)state;
	ktest_begin();
	skel = bss_ptr_load(&bss_fd, &a, &b);
	prog = bpf_program__fd(skel->progs.bss_ptr_read);
	off = offsetof(struct BSS_PTR(__bss), active_side);
	bss_size = sizeof(*skel->bss);
	assert_true(bss_size <= sizeof(before));

	/* Poison the rest of .bss: the library must store exactly one byte. */
	memset(skel->bss, 0x5a, bss_size);
	skel->bss->active_side = 0;
	memcpy(before, skel->bss, bss_size);

	ktest_group_opts(&go, 0);
	g = ktest_track_group(abmap_group_new_var(bss_fd, off, 1, &go));
	arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b, NULL);
	assert_non_null(arr);
	gen0 = ktest_group_gen(g);
	assert_int_equal(gen0 & 1, 0);

	fill(v1, 4, 11);
	assert_int_equal(abmap_array_set(arr, v1, 4), 0);
	assert_int_equal(skel->bss->active_side, 1);
	gen = ktest_group_gen(g);
	assert_int_equal(gen, gen0 + 1);
	ktest_assert_array(b, v1, 4, 16);
	for (i = 0; i < bss_size; i++)
		if (i != off)
			assert_int_equal(((unsigned char *)skel->bss)[i], before[i]);
	assert_int_equal(run_xdp(prog), XDP_PASS);
	assert_int_equal(skel->bss->seen, 11);
	assert_int_equal(skel->bss->seen_side, 1);

	fill(v2, 2, 22);
	assert_int_equal(abmap_array_set(arr, v2, 2), 0);
	assert_int_equal(skel->bss->active_side, 0);
	assert_int_equal(ktest_group_gen(g), gen0 + 2);
	ktest_assert_array(a, v2, 2, 16);
	ktest_assert_array(b, v1, 4, 16);
	assert_int_equal(run_xdp(prog), XDP_PASS);
	assert_int_equal(skel->bss->seen, 22);
	assert_int_equal(skel->bss->seen_side, 0);

	/* Reopen: the side is read back from the variable. */
	ktest_group_free(g);
	assert_int_equal(skel->bss->active_side, 0);
	g = ktest_track_group(abmap_group_new_var(bss_fd, off, 1, &go));
	arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b, NULL);
	assert_non_null(arr);
	assert_int_equal(ktest_group_gen(g) & 1, 0);
	assert_int_equal(abmap_array_get(arr, 1, v1), 0);
	assert_int_equal(v1[0], 23);
	fill(v1, 3, 33);
	assert_int_equal(abmap_array_set(arr, v1, 3), 0);
	assert_int_equal(skel->bss->active_side, 1);
	ktest_assert_array(b, v1, 3, 16);
	assert_int_equal(run_xdp(prog), XDP_PASS);
	assert_int_equal(skel->bss->seen, 33);
}

/* Variables of 4 and 8 bytes: exactly those bytes change, to 1 then 0. */
static void test_compat_sizes(void **state)
{
	struct BSS_PTR() * skel;
	struct abmap_group_opts go;
	unsigned char before[64];
	struct abmap_group *g;
	struct abmap *arr;
	size_t bss_size, off, size, i;
	__u32 v[2] = { 5, 6 };
	int bss_fd, a, b, pass;

	(void)state;
	ktest_begin();
	skel = bss_ptr_load(&bss_fd, &a, &b);
	bss_size = sizeof(*skel->bss);
	assert_true(bss_size <= sizeof(before));
	ktest_group_opts(&go, 0);

	for (pass = 0; pass < 2; pass++) {
		unsigned char *bytes = (unsigned char *)skel->bss;

		if (pass == 0) {
			off = offsetof(struct BSS_PTR(__bss), active32);
			size = 4;
		} else {
			off = offsetof(struct BSS_PTR(__bss), active64);
			size = 8;
		}
		memset(skel->bss, 0xa5, bss_size);
		memset(bytes + off, 0, size);
		memcpy(before, skel->bss, bss_size);

		g = ktest_track_group(abmap_group_new_var(bss_fd, off, size, &go));
		arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b, NULL);
		assert_non_null(arr);
		assert_int_equal(abmap_array_set(arr, v, 2), 0);
		if (size == 4)
			assert_int_equal(skel->bss->active32, 1);
		else
			assert_int_equal(skel->bss->active64, 1);
		for (i = 0; i < bss_size; i++)
			if (i < off || i >= off + size)
				assert_int_equal(bytes[i], before[i]);
		assert_int_equal(abmap_array_set(arr, v, 1), 0);
		if (size == 4)
			assert_int_equal(skel->bss->active32, 0);
		else
			assert_int_equal(skel->bss->active64, 0);
		ktest_assert_array(a, v, 1, 16);
		ktest_group_free(g);
	}
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		KTEST(test_txn_multi),
		KTEST(test_deferred_lock),
		KTEST(test_validation),
		KTEST(test_validation_shared_maps),
		KTEST(test_accessors),
		KTEST(test_pointer_record),
		KTEST(test_user_kind),
		KTEST(test_compat_bss),
		KTEST(test_compat_sizes),
	};
	/* clang-format on */

	return cmocka_run_group_tests_name("kernel/maps", tests, NULL, NULL);
}
