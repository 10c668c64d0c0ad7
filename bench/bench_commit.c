// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmarks 1 and 2: what a commit costs.
 *
 * 1. A whole 65,536-entry u32 array staged and flipped: libabmap's default path on an mmapable
 *    map against libabmap's batch and per-element paths and against raw libbpf loops (one
 *    bpf_map_update_batch() into the passive side then a pointer update, as ebpfstruct does; one
 *    bpf_map_update_elem() per element then a pointer update). Every contender has its own maps
 *    and group, so no catch-up of another contender's structures is measured. Every value
 *    changes in every round. Each timed commit starts after the previous flip's grace period
 *    (abmap_group_sync() or membarrier, outside the timed region).
 *
 * 2. One entry changed in a committed array and in a committed hash (begin + stage one element
 *    + commit), at 4K, 64K and 1M entries: the cost must not depend on the size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bench.h"

/* ---------------------------------------------------------------------------------------------
 * Maps
 */

static int map_create(enum bpf_map_type type, const char *name, __u32 key_size, __u32 value_size,
		      __u32 entries, __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	int fd = bpf_map_create(type, name, key_size, value_size, entries, &o);

	return fd < 0 ? -errno : fd;
}

static int pointer_map(const char *name)
{
	return map_create(BPF_MAP_TYPE_ARRAY, name, 4, sizeof(struct abmap_pointer), 1,
			  BPF_F_MMAPABLE);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---------------------------------------------------------------------------------------------
 * 1. Whole-array commits
 */

enum full_kind {
	FULL_LIB, /* abmap_array_set() with a write path */
	FULL_RAW_BATCH,
	FULL_RAW_ELEM,
};

struct full_contender {
	const char *name;
	enum full_kind kind;
	enum abmap_write_path path;
	bool mmapable;
	int row;
	int ptr, a, b;
	__u32 live; /* raw: live side */
	struct abmap_group *g;
	struct abmap *arr;
};

static int full_setup(struct full_contender *c, __u32 n, char *err, size_t len)
{
	struct abmap_group_opts go;

	c->ptr = c->a = c->b = -1;
	if (c->kind == FULL_LIB)
		c->ptr = pointer_map("bench1_ptr");
	else
		c->ptr = map_create(BPF_MAP_TYPE_ARRAY, "bench1_side", 4, 4, 1, 0);
	c->a = map_create(BPF_MAP_TYPE_ARRAY, "bench1_a", 4, 4, n,
			  c->mmapable ? BPF_F_MMAPABLE : 0);
	c->b = map_create(BPF_MAP_TYPE_ARRAY, "bench1_b", 4, 4, n,
			  c->mmapable ? BPF_F_MMAPABLE : 0);
	if (c->ptr < 0 || c->a < 0 || c->b < 0) {
		snprintf(err, len, "creating maps: %s", strerror(errno));
		return -errno;
	}
	if (c->kind != FULL_LIB)
		return 0;
	bench_group_opts(&go);
	c->g = abmap_group_new(c->ptr, &go);
	if (!c->g) {
		snprintf(err, len, "abmap_group_new: %s", strerror(errno));
		return -errno;
	}
	LIBABMAP_OPTS(abmap_opts, o, .write_path = c->path);
	c->arr = abmap_new(c->g, ABMAP_KIND_ARRAY, c->a, c->b, &o);
	if (!c->arr) {
		snprintf(err, len, "abmap_new: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void full_teardown(struct full_contender *c)
{
	abmap_group_free(c->g);
	c->g = NULL;
	close_fd(&c->ptr);
	close_fd(&c->a);
	close_fd(&c->b);
}

/* Stage the whole contents and flip. Returns 0 or -errno. */
static int full_commit(struct full_contender *c, const __u32 *keys, const __u32 *vals, __u32 n)
{
	__u32 passive = !c->live, zero = 0, i, count = n;
	int fd = passive ? c->b : c->a;
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);

	switch (c->kind) {
	case FULL_LIB:
		return abmap_array_set(c->arr, vals, n);
	case FULL_RAW_BATCH:
		if (bpf_map_update_batch(fd, keys, vals, &count, &bo))
			return -errno;
		if (count != n)
			return -EIO;
		break;
	case FULL_RAW_ELEM:
		for (i = 0; i < n; i++)
			if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY))
				return -errno;
		break;
	}
	if (bpf_map_update_elem(c->ptr, &zero, &passive, BPF_ANY))
		return -errno;
	c->live = passive;
	return 0;
}

/* The grace period of the previous flip, outside the timed region. */
static int full_wait(struct full_contender *c)
{
	return c->kind == FULL_LIB ? abmap_group_sync(c->g) : grace_period();
}

/* Does the live side hold @vals? Checks a sample through the kernel. */
static int full_check(struct full_contender *c, const __u32 *vals, __u32 n)
{
	__u64 gen = 0;
	__u32 i, got;
	int fd;

	if (c->kind == FULL_LIB) {
		if (abmap_group_generation(c->g, &gen))
			return -errno;
		fd = (gen & 1) ? c->b : c->a;
	} else {
		fd = c->live ? c->b : c->a;
	}
	for (i = 0; i < n; i = i + 509 < n || i == n - 1 ? i + 509 : n - 1) {
		if (bpf_map_lookup_elem(fd, &i, &got))
			return -errno;
		if (got != vals[i])
			return -EBADMSG;
	}
	return 0;
}

static void full_fill(__u32 *v, __u32 n, __u32 round)
{
	__u32 i;

	for (i = 0; i < n; i++)
		v[i] = i * 2654435761u + round * 7919u + 1;
}

struct table *bench_commit_full(void)
{
	struct full_contender cs[] = {
		{ .name = "libabmap default path (mmapable map: mmap)",
		  .kind = FULL_LIB,
		  .path = ABMAP_WRITE_AUTO,
		  .mmapable = true },
		{ .name = "libabmap batch path (plain map)",
		  .kind = FULL_LIB,
		  .path = ABMAP_WRITE_BATCH },
		{ .name = "libabmap per-element path (plain map)",
		  .kind = FULL_LIB,
		  .path = ABMAP_WRITE_ELEMENT },
		{ .name = "bpf_map_update_batch + flip (ebpfstruct)", .kind = FULL_RAW_BATCH },
		{ .name = "bpf_map_update_elem per element + flip", .kind = FULL_RAW_ELEM },
	};
	const unsigned int nc = ARRAY_SIZE(cs);
	__u32 n = cfg.smoke ? 4096 : 65536, *keys = NULL, *vals = NULL, i, r, k;
	char err[BENCH_MSG_LEN];
	struct table *t;

	t = table_new("commit_full", "vs libabmap",
		      "1. Commit of a %s-entry u32 array: stage the whole contents + flip "
		      "(%u runs each, interleaved)",
		      grp(n), cfg.reps);
	if (!t)
		return NULL;
	for (i = 0; i < nc; i++)
		cs[i].row = table_row(t, cs[i].name, "ms", 0);
	row_target(t, cs[0].row, TGT_MAX, 0.2);
	row_target(t, cs[3].row, TGT_RATIO_MIN, 40);
	table_note(t, "every value changes in every round; the previous flip's grace period is "
		      "waited for outside the timed region; each contender has its own maps");
	if (!cfg.kernel) {
		table_skip_all(t, "needs root (BPF maps)");
		return t;
	}
	for (i = 0; i < nc; i++)
		cs[i].ptr = cs[i].a = cs[i].b = -1;

	progress("1: whole-array commits, %s entries", grp(n));
	keys = malloc(n * sizeof(*keys));
	vals = malloc(n * sizeof(*vals));
	if (!keys || !vals) {
		table_fail_all(t, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		keys[i] = i;
	for (i = 0; i < nc; i++) {
		if (full_setup(&cs[i], n, err, sizeof(err))) {
			row_fail(t, cs[i].row, "%s", err);
			continue;
		}
		/* Warm-up: the first write after opening, untimed. */
		full_fill(vals, n, 0);
		if (full_commit(&cs[i], keys, vals, n))
			row_fail(t, cs[i].row, "first commit: %s", strerror(errno));
	}
	for (r = 0; r < cfg.reps; r++) {
		for (k = 0; k < nc; k++) {
			struct full_contender *c = &cs[(r + k) % nc];
			__u64 t0, t1;
			int e;

			if (t->rows[c->row].state == ROW_FAILED)
				continue;
			full_fill(vals, n, r + 1);
			e = full_wait(c);
			if (e) {
				row_fail(t, c->row, "grace period wait: %s", strerror(-e));
				continue;
			}
			t0 = now_ns();
			e = full_commit(c, keys, vals, n);
			t1 = now_ns();
			if (e) {
				row_fail(t, c->row, "commit: %s", strerror(-e));
				continue;
			}
			e = full_check(c, vals, n);
			if (e) {
				row_fail(t, c->row,
					 "the live side does not hold the new contents: %s",
					 strerror(-e));
				continue;
			}
			row_add(t, c->row, (t1 - t0) / 1e6);
		}
	}
out:
	for (i = 0; i < nc; i++)
		full_teardown(&cs[i]);
	free(keys);
	free(vals);
	return t;
}

/* ---------------------------------------------------------------------------------------------
 * 2. One-entry commits
 */

struct one_contender {
	bool hash;
	__u32 n;
	int row;
	int ptr, a, b;
	struct abmap_group *g;
	struct abmap *m;
};

static __u32 hash_key(__u32 i)
{
	return i * 2654435761u; /* a bijection of u32: distinct keys */
}

static int one_setup(struct one_contender *c, char *err, size_t len)
{
	struct abmap_group_opts go;
	__u32 *keys = NULL, *vals = NULL, i;
	int e = 0;

	c->ptr = pointer_map("bench2_ptr");
	if (c->hash) {
		c->a = map_create(BPF_MAP_TYPE_HASH, "bench2_a", 4, 4, c->n, 0);
		c->b = map_create(BPF_MAP_TYPE_HASH, "bench2_b", 4, 4, c->n, 0);
	} else {
		c->a = map_create(BPF_MAP_TYPE_ARRAY, "bench2_a", 4, 4, c->n, BPF_F_MMAPABLE);
		c->b = map_create(BPF_MAP_TYPE_ARRAY, "bench2_b", 4, 4, c->n, BPF_F_MMAPABLE);
	}
	if (c->ptr < 0 || c->a < 0 || c->b < 0) {
		snprintf(err, len, "creating maps of %u entries: %s", c->n, strerror(errno));
		return -errno;
	}
	bench_group_opts(&go);
	c->g = abmap_group_new(c->ptr, &go);
	if (!c->g) {
		snprintf(err, len, "abmap_group_new: %s", strerror(errno));
		return -errno;
	}
	c->m = c->hash ? abmap_new(c->g, ABMAP_KIND_HASH, c->a, c->b, NULL) :
			 abmap_new(c->g, ABMAP_KIND_ARRAY, c->a, c->b, NULL);
	if (!c->m) {
		snprintf(err, len, "attaching the structure: %s", strerror(errno));
		return -errno;
	}
	keys = malloc(c->n * sizeof(*keys));
	vals = malloc(c->n * sizeof(*vals));
	if (!keys || !vals) {
		snprintf(err, len, "out of memory");
		e = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c->n; i++) {
		keys[i] = hash_key(i);
		vals[i] = i + 1;
	}
	/* The committed table (untimed). */
	e = c->hash ? abmap_hash_set(c->m, keys, vals, c->n) : abmap_array_set(c->m, vals, c->n);
	if (e) {
		snprintf(err, len, "committing %u entries: %s", c->n, strerror(-e));
		goto out;
	}
out:
	free(keys);
	free(vals);
	return e;
}

static void one_teardown(struct one_contender *c)
{
	abmap_group_free(c->g);
	c->g = NULL;
	close_fd(&c->ptr);
	close_fd(&c->a);
	close_fd(&c->b);
}

/* Change one existing entry and flip; the whole transaction is timed by the caller. */
static int one_commit(struct one_contender *c, __u32 idx, __u32 value)
{
	struct abmap_txn *txn;
	__u32 key = c->hash ? hash_key(idx) : idx;
	int e;

	txn = abmap_txn_begin(c->g);
	if (!txn)
		return -errno;
	e = abmap_txn_update(txn, c->m, &key, &value);
	if (e) {
		abmap_txn_abort(txn);
		return e;
	}
	return abmap_txn_commit(txn);
}

static int one_check(struct one_contender *c, __u32 idx, __u32 value)
{
	__u32 key = c->hash ? hash_key(idx) : idx, got = 0;
	int e = abmap_get(c->m, &key, &got);

	if (e)
		return e;
	return got == value ? 0 : -EBADMSG;
}

struct table *bench_commit_one(void)
{
	static const __u32 full_sizes[] = { 4096, 65536, 1048576 };
	static const __u32 smoke_sizes[] = { 256, 1024, 4096 };
	const __u32 *sizes = cfg.smoke ? smoke_sizes : full_sizes;
	struct one_contender cs[6];
	const unsigned int nc = ARRAY_SIZE(cs);
	char err[BENCH_MSG_LEN], name[96];
	struct table *t;
	unsigned int i, r, k;

	t = table_new("commit_one", "vs smallest",
		      "2. Commit changing 1 entry of a committed table: begin + stage + flip "
		      "(%u runs each, interleaved)",
		      cfg.reps);
	if (!t)
		return NULL;
	for (i = 0; i < nc; i++) {
		struct one_contender *c = &cs[i];

		memset(c, 0, sizeof(*c));
		c->ptr = c->a = c->b = -1;
		c->hash = i >= 3;
		c->n = sizes[i % 3];
		snprintf(name, sizeof(name), "%s, %s %s",
			 c->hash ? "hash (u32 -> u32)" : "array (u32)", grp(c->n),
			 c->hash ? "keys" : "entries");
		/* Rows are added in order: the smallest array is row 0, the smallest hash row 3. */
		c->row = table_row(t, name, "us", c->hash ? 3 : 0);
		row_target(t, c->row, TGT_MAX, 20);
		if (i % 3 == 2)
			row_target(t, c->row, TGT_RATIO_MAX, 2);
	}
	table_note(t,
		   "arrays are BPF_F_MMAPABLE (written through mmap, libabmap's default), hashes "
		   "through one bpf() call per key; one existing entry changes per commit; the "
		   "previous flip's grace period is waited for outside the timed region");
	if (!cfg.kernel) {
		table_skip_all(t, "needs root (BPF maps)");
		return t;
	}
	progress("2: one-entry commits, %s .. %s entries", grp(sizes[0]), grp(sizes[2]));
	for (i = 0; i < nc; i++) {
		if (one_setup(&cs[i], err, sizeof(err))) {
			row_fail(t, cs[i].row, "%s", err);
			continue;
		}
		/* Warm-up (untimed): the first incremental commit catches up the whole table. */
		if (one_commit(&cs[i], 0, 0xfffffffe))
			row_fail(t, cs[i].row, "first incremental commit: %s", strerror(errno));
	}
	for (r = 0; r < cfg.reps; r++) {
		for (k = 0; k < nc; k++) {
			struct one_contender *c = &cs[(r + k) % nc];
			__u32 idx = (r * 2654435761u + 12345u) % c->n, value = 0x80000000u + r;
			__u64 t0, t1;
			int e;

			if (t->rows[c->row].state == ROW_FAILED)
				continue;
			e = abmap_group_sync(c->g);
			if (e) {
				row_fail(t, c->row, "abmap_group_sync: %s", strerror(-e));
				continue;
			}
			t0 = now_ns();
			e = one_commit(c, idx, value);
			t1 = now_ns();
			if (e) {
				row_fail(t, c->row, "commit: %s", strerror(-e));
				continue;
			}
			e = one_check(c, idx, value);
			if (e) {
				row_fail(t, c->row, "the live side does not hold the change: %s",
					 strerror(-e));
				continue;
			}
			row_add(t, c->row, (t1 - t0) / 1e3);
		}
	}
	for (i = 0; i < nc; i++)
		one_teardown(&cs[i]);
	return t;
}
