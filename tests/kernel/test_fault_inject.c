// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fault injection into the kernel store (lib/abmap/fault_inject.h): every syscall of a commit
 * fails once, in turn.
 *
 * A scenario (a transaction over arrays on every write path and two hashes; deferred changes
 * and a switchover; a new group object, as a restarted controller, attaching and committing) is
 * first run clean to count the calls of every site. Then, for each site and each call index i,
 * a fresh fixture runs the scenario with the i-th call of that site failing once with -EIO, and:
 * - the live side of every structure is byte-identical to before and the generation unchanged
 *   (or, when a fallback took over, the new content is live, one flip later);
 * - no lock is held (a second group object takes the lock at once) and no fd leaks;
 * - the next clean commit succeeds and its content is live.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#include "abmap/fault_inject.h"
#include "abmap/testing.h"

#define ARR_MAX 16
#define HASH_MAX 8
#define KEY_SPACE 24
#define FIRST_VERSION 3 /* the fixture holds version 2 live, version 1 passive */

enum { S_MMAP, S_BATCH, S_ELEM, S_HASH, S_HASH2, NR_S };

static const char *const s_names[NR_S] = { "mmap array", "batch array", "element array",
					   "hash (element changes)", "hash (whole sets)" };

struct fx {
	int ptr;
	int fd[NR_S][2];
	int len_fd[NR_S]; /* -1: none */
	struct abmap_group *group;
	struct abmap *s[NR_S];
	__u32 ver[NR_S]; /* version of each structure's live content */
};

static bool is_hash(int s)
{
	return s == S_HASH || s == S_HASH2;
}

static int create_map(enum bpf_map_type type, const char *name, __u32 key_size, __u32 value_size,
		      __u32 max_entries, __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	int fd = bpf_map_create(type, name, key_size, value_size, max_entries, &o);

	if (fd < 0)
		fail_msg("bpf_map_create %s: %s", name, strerror(-fd));
	return fd;
}

/*
 * Grace periods (membarrier, ~10 ms each here) only where they are under test: the other runs
 * would spend most of their time waiting for them.
 */
static bool with_grace;

static struct abmap_group *group_open(int ptr, int lock_timeout_ms)
{
	struct abmap_group_opts o;
	struct abmap_group *g;

	ktest_group_opts(&o, lock_timeout_ms);
	g = abmap_group_new(ptr, &o);
	if (g && !with_grace)
		abmap_testing_set_no_grace(g, true);
	return g;
}

/* Attach the fixture's five structures to @g; NULL entries on failure (errno set). */
static int attach_all(struct fx *f, struct abmap_group *g, struct abmap **out)
{
	static const enum abmap_write_path paths[NR_S] = { ABMAP_WRITE_MMAP, ABMAP_WRITE_BATCH,
							   ABMAP_WRITE_ELEMENT, ABMAP_WRITE_AUTO,
							   ABMAP_WRITE_AUTO };
	int s;

	for (s = 0; s < NR_S; s++) {
		LIBABMAP_OPTS(abmap_opts, o, .write_path = paths[s]);

		if (f->len_fd[s] >= 0)
			o.len_fd = f->len_fd[s];
		out[s] = abmap_new(g, is_hash(s) ? "hash" : "array", f->fd[s][0], f->fd[s][1], &o);
		if (!out[s])
			return -errno;
	}
	return 0;
}

/* Content of version @v: arrays of a varying length, hashes of HASH_MAX keys (full). */
static __u32 array_content(int s, __u32 v, __u32 *vals)
{
	__u32 len = s == S_ELEM ? ARR_MAX : 3 + (v * 7 + s) % 10, i;

	memset(vals, 0, ARR_MAX * sizeof(*vals));
	for (i = 0; i < len; i++)
		vals[i] = v * 1000 + s * 100 + i + 1;
	return len;
}

static void hash_content(int s, __u32 v, __u32 *keys, __u64 *vals)
{
	__u32 j;

	for (j = 0; j < HASH_MAX; j++) {
		keys[j] = (3 * v + j + s) % KEY_SPACE;
		vals[j] = (__u64)v << 32 | (__u64)s << 16 | keys[j];
	}
}

/* Stage version @v of every structure, each in its own way. */
static int stage_all(struct abmap_txn *txn, struct abmap **st, __u32 v)
{
	__u32 vals[ARR_MAX], keys[HASH_MAX], len, i;
	__u64 hv[HASH_MAX];
	bool wanted[KEY_SPACE] = { false };
	int err;

	len = array_content(S_MMAP, v, vals);
	err = abmap_txn_array_set(txn, st[S_MMAP], vals, len);
	len = array_content(S_BATCH, v, vals);
	err = err ?: abmap_txn_array_set(txn, st[S_BATCH], vals, len);
	array_content(S_ELEM, v, vals);
	for (i = 0; !err && i < ARR_MAX; i++)
		err = abmap_txn_update(txn, st[S_ELEM], &i, &vals[i]);
	/* Inserts staged before the deletes that make room in the full hash. */
	hash_content(S_HASH, v, keys, hv);
	for (i = 0; !err && i < HASH_MAX; i++) {
		err = abmap_txn_update(txn, st[S_HASH], &keys[i], &hv[i]);
		wanted[keys[i]] = true;
	}
	for (i = 0; !err && i < KEY_SPACE; i++) {
		if (!wanted[i])
			err = abmap_txn_delete(txn, st[S_HASH], &i);
	}
	hash_content(S_HASH2, v, keys, hv);
	return err ?: abmap_txn_hash_set(txn, st[S_HASH2], keys, hv, HASH_MAX);
}

static int commit_all(struct abmap_group *g, struct abmap **st, __u32 v)
{
	struct abmap_txn *txn = abmap_txn_begin(g);
	int err;

	if (!txn)
		return -errno;
	err = stage_all(txn, st, v);
	if (err) {
		abmap_txn_abort(txn);
		fail_msg("staging version %u: %s", v, strerror(-err));
	}
	return abmap_txn_commit(txn);
}

/* A scenario: 0 or the error; *pending: a deferred change is left pending (lock held). */
struct scenario {
	const char *name;
	int (*run)(struct fx *f, __u32 v, bool *pending);
	unsigned int touched; /* structures at version v after success (bit per structure) */
};

static void grace_sync(struct abmap_group *g)
{
	/* A grace period that fails once is retried by the next writer: not the commit's error. */
	abmap_group_sync(g);
}

static int run_txn(struct fx *f, __u32 v, bool *pending)
{
	int err = commit_all(f->group, f->s, v);

	*pending = false;
	if (!err)
		grace_sync(f->group);
	return err;
}

static int run_deferred(struct fx *f, __u32 v, bool *pending)
{
	struct abmap_switchover *h1, *h2;
	__u32 vals[ARR_MAX], keys[HASH_MAX], len;
	__u64 hv[HASH_MAX];
	int err;

	*pending = false;
	len = array_content(S_BATCH, v, vals);
	err = abmap_array_set_and_defer_switchover(f->s[S_BATCH], vals, len, &h1);
	if (err)
		return err;
	hash_content(S_HASH2, v, keys, hv);
	err = abmap_hash_set_and_defer_switchover(f->s[S_HASH2], keys, hv, HASH_MAX, &h2);
	if (err) {
		assert_int_equal(abmap_switchover_cancel(h1), 0);
		return err;
	}
	err = abmap_switchover(h1);
	if (err) {
		/* The batch array's change stays pending; withdraw the hash's. */
		assert_int_equal(abmap_switchover_cancel(h2), 0);
		*pending = true;
		return err;
	}
	assert_int_equal(abmap_switchover(h2), 0);
	grace_sync(f->group);
	return 0;
}

/* A second group object attaches everything and commits, as a restarted controller would. */
static int run_new_writer(struct fx *f, __u32 v, bool *pending)
{
	struct abmap *st[NR_S];
	struct abmap_group *g = group_open(f->ptr, 0);
	int err;

	*pending = false;
	if (!g)
		return -errno;
	err = attach_all(f, g, st);
	if (!err)
		err = commit_all(g, st, v);
	if (!err)
		grace_sync(g);
	abmap_group_free(g);
	return err;
}

static const struct scenario scenarios[] = {
	{ "transaction", run_txn, (1u << NR_S) - 1 },
	{ "deferred switchover", run_deferred, 1u << S_BATCH | 1u << S_HASH2 },
	{ "new writer", run_new_writer, (1u << NR_S) - 1 },
};

/* Live side of every structure, read with plain syscalls (not counted by the hook). */
struct snap {
	__u32 arr[NR_S][ARR_MAX];
	__u32 len[NR_S];
	__u32 nkeys[NR_S];
	__u32 keys[NR_S][KEY_SPACE];
	__u64 vals[NR_S][KEY_SPACE];
};

static int live_side(struct fx *f)
{
	return ktest_generation(f->ptr) & 1;
}

static void snap_hash(int fd, struct snap *sn, int s)
{
	__u32 key, *prev = NULL, k;
	__u64 val;
	bool present[KEY_SPACE] = { false };
	__u64 vals[KEY_SPACE];

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		assert_true(key < KEY_SPACE);
		assert_int_equal(bpf_map_lookup_elem(fd, &key, &val), 0);
		present[key] = true;
		vals[key] = val;
		prev = &key;
	}
	for (k = 0; k < KEY_SPACE; k++) {
		if (!present[k])
			continue;
		sn->keys[s][sn->nkeys[s]] = k;
		sn->vals[s][sn->nkeys[s]++] = vals[k];
	}
}

static void snap_live(struct fx *f, struct snap *sn)
{
	int live = live_side(f), s;
	__u32 i;

	memset(sn, 0, sizeof(*sn));
	for (s = 0; s < NR_S; s++) {
		if (is_hash(s)) {
			snap_hash(f->fd[s][live], sn, s);
			continue;
		}
		for (i = 0; i < ARR_MAX; i++)
			assert_int_equal(bpf_map_lookup_elem(f->fd[s][live], &i, &sn->arr[s][i]),
					 0);
		sn->len[s] = ARR_MAX;
		if (f->len_fd[s] >= 0)
			sn->len[s] = ktest_u32(f->len_fd[s], live);
	}
}

/* What the live side must hold for versions @ver. */
static void snap_expected(const __u32 *ver, struct snap *sn)
{
	__u32 keys[HASH_MAX], j, k;
	__u64 vals[HASH_MAX];
	int s;

	memset(sn, 0, sizeof(*sn));
	for (s = 0; s < NR_S; s++) {
		if (!is_hash(s)) {
			sn->len[s] = array_content(s, ver[s], sn->arr[s]);
			continue;
		}
		hash_content(s, ver[s], keys, vals);
		for (k = 0; k < KEY_SPACE; k++) {
			for (j = 0; j < HASH_MAX; j++) {
				if (keys[j] != k)
					continue;
				sn->keys[s][sn->nkeys[s]] = k;
				sn->vals[s][sn->nkeys[s]++] = vals[j];
			}
		}
	}
}

static void assert_snap_equal(const struct snap *got, const struct snap *want, const char *what)
{
	int s;

	for (s = 0; s < NR_S; s++) {
		if (memcmp(got->arr[s], want->arr[s], sizeof(got->arr[s])) ||
		    got->len[s] != want->len[s] || got->nkeys[s] != want->nkeys[s] ||
		    memcmp(got->keys[s], want->keys[s], sizeof(got->keys[s])) ||
		    memcmp(got->vals[s], want->vals[s], sizeof(got->vals[s])))
			fail_msg("%s: live side of the %s differs", what, s_names[s]);
	}
}

/* Hundreds of expected failures: count libabmap's messages instead of printing them. */
static unsigned long log_lines;

static int count_print(enum abmap_print_level level, const char *fmt, va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	log_lines++;
	return 0;
}

static void restore_print(void *prev)
{
	abmap_set_print(prev);
}

static void quiet_log(void)
{
	ktest_defer(restore_print, abmap_set_print(count_print));
}

/* Nobody holds the writer lock: a second group object gets it without waiting. */
static void assert_unlocked(struct fx *f, const char *what)
{
	struct abmap_group *g = group_open(f->ptr, 0);
	struct abmap *st[NR_S];
	struct abmap_txn *txn;

	assert_non_null(g);
	/* Every structure recorded in the pointer must be attached to write. */
	assert_int_equal(attach_all(f, g, st), 0);
	txn = abmap_txn_begin(g);
	if (!txn)
		fail_msg("%s: the writer lock is still held (%s)", what, strerror(errno));
	abmap_txn_abort(txn);
	abmap_group_free(g);
}

static void fx_new(struct fx *f)
{
	int s, side;
	__u32 v;

	memset(f, 0, sizeof(*f));
	f->ptr = create_map(BPF_MAP_TYPE_ARRAY, "fi_ptr", 4, sizeof(struct abmap_pointer), 1,
			    BPF_F_MMAPABLE);
	for (s = 0; s < NR_S; s++) {
		f->len_fd[s] = -1;
		for (side = 0; side < 2; side++) {
			if (is_hash(s))
				f->fd[s][side] =
					create_map(BPF_MAP_TYPE_HASH, "fi_hash", 4, 8, HASH_MAX, 0);
			else
				f->fd[s][side] = create_map(BPF_MAP_TYPE_ARRAY, "fi_arr", 4, 4,
							    ARR_MAX,
							    s == S_MMAP ? BPF_F_MMAPABLE : 0);
		}
		if (s == S_MMAP || s == S_BATCH)
			f->len_fd[s] = create_map(BPF_MAP_TYPE_ARRAY, "fi_len", 4, 4, 2, 0);
	}
	f->group = group_open(f->ptr, 0);
	assert_non_null(f->group);
	assert_int_equal(attach_all(f, f->group, f->s), 0);
	for (v = 1; v < FIRST_VERSION; v++)
		assert_int_equal(commit_all(f->group, f->s, v), 0);
	assert_int_equal(abmap_group_sync(f->group), 0);
	for (s = 0; s < NR_S; s++)
		f->ver[s] = FIRST_VERSION - 1;
}

static void fx_free(struct fx *f)
{
	int s;

	abmap_group_free(f->group);
	close(f->ptr);
	for (s = 0; s < NR_S; s++) {
		close(f->fd[s][0]);
		close(f->fd[s][1]);
		if (f->len_fd[s] >= 0)
			close(f->len_fd[s]);
	}
}

static void counts(unsigned long *n)
{
	int i;

	for (i = 0; i < NR_FAULT_SITES; i++)
		n[i] = fault_inject_count(i);
}

struct totals {
	unsigned int sites;	/* sites reached by some scenario */
	unsigned int points;	/* call points failed */
	unsigned int succeeded; /* the scenario succeeded anyway (a fallback took over) */
	bool site_seen[NR_FAULT_SITES];
};

/* A second site failing in the same run (the fallback of the first), or none. */
struct second_fault {
	int site; /* -1: none */
	unsigned long nth;
};

static const struct second_fault no_second = { -1, 0 };

/* Fail call @nth of @site in a fresh fixture; check the state, recover, check again. */
static void inject_one(const struct scenario *sc, int site, unsigned long nth,
		       struct second_fault also, struct totals *t)
{
	struct snap before, after, want;
	unsigned long c0, c1;
	bool pending;
	__u64 gen0;
	int fds0 = ktest_count_fds(), fds1, err, s;
	char what[160];
	struct fx f;

	snprintf(what, sizeof(what), "%s, %s call %lu failing%s%s", sc->name,
		 fault_inject_site_name(site), nth, also.site >= 0 ? " and the first " : "",
		 also.site >= 0 ? fault_inject_site_name(also.site) : "");
	fx_new(&f);
	snap_live(&f, &before);
	gen0 = ktest_generation(f.ptr);
	fds1 = ktest_count_fds();

	c0 = fault_inject_count(site);
	c1 = also.site >= 0 ? fault_inject_count(also.site) : 0;
	fault_inject_arm(site, nth, -EIO);
	if (also.site >= 0)
		fault_inject_arm(also.site, also.nth, -EIO);
	err = sc->run(&f, FIRST_VERSION, &pending);
	fault_inject_disarm();
	if (fault_inject_count(site) - c0 < nth)
		fail_msg("%s: the scenario made only %lu calls", what,
			 fault_inject_count(site) - c0);
	if (also.site >= 0 && fault_inject_count(also.site) - c1 < also.nth)
		fail_msg("%s: the second fault was not reached", what);

	snap_live(&f, &after);
	if (err) {
		assert_snap_equal(&after, &before, what);
		if (ktest_generation(f.ptr) != gen0)
			fail_msg("%s: generation moved", what);
	} else {
		for (s = 0; s < NR_S; s++)
			if (sc->touched & 1u << s)
				f.ver[s] = FIRST_VERSION;
		snap_expected(f.ver, &want);
		assert_snap_equal(&after, &want, what);
		assert_int_equal(ktest_generation(f.ptr), gen0 + 1);
		t->succeeded++;
	}
	if (!pending)
		assert_unlocked(&f, what);
	/* A failed membarrier switches the group to the map-in-map fallback (two maps it keeps). */
	if (site != FAULT_MEMBARRIER && ktest_count_fds() != fds1)
		fail_msg("%s: %d fds before, %d after", what, fds1, ktest_count_fds());

	/* The next clean commit succeeds and is live; then nothing is locked. */
	gen0 = ktest_generation(f.ptr);
	if (commit_all(f.group, f.s, FIRST_VERSION + 1))
		fail_msg("%s: the next commit failed: %s", what, strerror(errno));
	for (s = 0; s < NR_S; s++)
		f.ver[s] = FIRST_VERSION + 1;
	snap_live(&f, &after);
	snap_expected(f.ver, &want);
	assert_snap_equal(&after, &want, what);
	assert_int_equal(ktest_generation(f.ptr), gen0 + 1);
	assert_unlocked(&f, what);
	fx_free(&f);
	if (ktest_count_fds() != fds0)
		fail_msg("%s: %d fds before the fixture, %d after", what, fds0, ktest_count_fds());
	t->points++;
	if (!t->site_seen[site]) {
		t->site_seen[site] = true;
		t->sites++;
	}
	if (also.site >= 0 && !t->site_seen[also.site]) {
		t->site_seen[also.site] = true;
		t->sites++;
	}
}

static void run_scenario(const struct scenario *sc, struct totals *t)
{
	unsigned long c0[NR_FAULT_SITES], c1[NR_FAULT_SITES], n;
	bool pending;
	struct fx f;
	int site;

	fx_new(&f);
	counts(c0);
	assert_int_equal(sc->run(&f, FIRST_VERSION, &pending), 0);
	counts(c1);
	fx_free(&f);
	printf("# %s:", sc->name);
	for (site = 0; site < NR_FAULT_SITES; site++)
		if (c1[site] > c0[site])
			printf(" %s %lu", fault_inject_site_name(site), c1[site] - c0[site]);
	printf("\n");
	fflush(stdout);
	for (site = 0; site < NR_FAULT_SITES; site++) {
		for (n = 1; n <= c1[site] - c0[site]; n++)
			inject_one(sc, site, n, no_second, t);
	}
}

static void test_every_call_fails_once(void **state)
{
	struct totals t = { 0 };
	size_t i;

	(void)state;
	ktest_begin();
	quiet_log();
	with_grace = false;
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run_scenario(&scenarios[i], &t);

	/*
	 * Grace periods: the transaction's (the flip's, waited by abmap_group_sync()); a refused
	 * membarrier falls back to a map-in-map update, which then fails at each of its calls.
	 */
	with_grace = true;
	inject_one(&scenarios[0], FAULT_MEMBARRIER, 1, no_second, &t);
	inject_one(&scenarios[0], FAULT_MEMBARRIER, 1, (struct second_fault){ FAULT_MIM_CREATE, 1 },
		   &t);
	inject_one(&scenarios[0], FAULT_MEMBARRIER, 1, (struct second_fault){ FAULT_MIM_CREATE, 2 },
		   &t);
	inject_one(&scenarios[0], FAULT_MEMBARRIER, 1, (struct second_fault){ FAULT_MIM_UPDATE, 1 },
		   &t);
	with_grace = false;
	printf("# fault injection: %u call points failed at %u sites of %d; %u scenarios succeeded "
	       "anyway; %lu library messages\n",
	       t.points, t.sites, NR_FAULT_SITES, t.succeeded, log_lines);
	assert_int_equal(t.sites, NR_FAULT_SITES - 1); /* get_fd_by_id: test_member_check_fails */
}

/*
 * A writer that does not attach every structure recorded in the pointer is refused; a failed
 * check of whether such a structure still exists refuses too (only ENOENT means it is gone).
 */
static void test_member_check_fails(void **state)
{
	struct abmap *st[NR_S];
	struct abmap_group *g;
	struct snap before, after;
	__u64 gen0;
	struct fx f;

	(void)state;
	ktest_begin();
	quiet_log();
	fx_new(&f);
	snap_live(&f, &before);
	gen0 = ktest_generation(f.ptr);
	g = group_open(f.ptr, 0);
	assert_non_null(g);
	assert_int_equal(attach_all(&f, g, st), 0);
	assert_int_equal(abmap_free(st[S_HASH2]), 0);
	errno = 0;
	assert_null(abmap_txn_begin(g));
	assert_int_equal(errno, EINVAL);
	fault_inject_arm(FAULT_GET_FD_BY_ID, 1, -EIO);
	errno = 0;
	assert_null(abmap_txn_begin(g));
	assert_int_equal(errno, EIO);
	fault_inject_disarm();
	abmap_group_free(g);
	snap_live(&f, &after);
	assert_snap_equal(&after, &before, "member check");
	assert_int_equal(ktest_generation(f.ptr), gen0);
	assert_unlocked(&f, "member check");
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_every_call_fails_once),
		KTEST(test_member_check_fails),
	};

	return cmocka_run_group_tests_name("fault_inject", tests, NULL, NULL);
}
