// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two writer processes race on one group (real maps, fork) for a few seconds, thousands of
 * commits. Each commit writes a pattern naming its generation and its writer into an array and
 * into a full hash (keys move with the generation). Checks:
 * - each writer, under the lock, finds the live side fully holding the pattern of the live
 *   generation (the other writer's last commit is fully visible, never half);
 * - a reader process reading the live side between two equal generation reads always finds
 *   the pattern of that generation, of one writer;
 * - the generations the two writers committed are, together, contiguous without duplicates,
 *   and each writer's own generations strictly increase;
 * - nothing deadlocks: the parent kills everything and fails after a timeout.
 * Negative control: with the writer lock disabled (a test-only switch in the store) the same
 * checks find duplicate generations or mixed content.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "abmap/testing.h"
#include "ktest.h"

#include "abmap/fault_inject.h"

#define ARR_MAX 16
#define HASH_MAX 8
#define KEY_SPACE 32
#define RUN_MS 2000
#define TIMEOUT_MS 20000
#define MAX_COMMITS 200000
#define NR_WRITERS 2
#define PARENT_ID 7 /* writer id of the initial content */

struct rec {
	__u64 gen;
};

/* Shared between the parent and its children (MAP_SHARED | MAP_ANONYMOUS). */
struct shared {
	int stop;
	__u32 nrecs[NR_WRITERS];
	struct rec recs[NR_WRITERS][MAX_COMMITS];
	unsigned long torn_under_lock[NR_WRITERS]; /* live content not the live generation's */
	unsigned long commit_errors[NR_WRITERS];
	unsigned long reader_checked, reader_mixed, reader_backwards;
	char first_error[256];
};

struct race {
	int ptr;
	int arr[2];
	int hash[2];
	struct shared *sh;
};

static __u64 arr_val(__u64 gen, __u32 w, __u32 i)
{
	return gen << 20 | (__u64)w << 16 | i;
}

static __u32 hash_key(__u64 gen, __u32 j)
{
	return (__u32)((gen * 3 + j) % KEY_SPACE);
}

static __u64 hash_val(__u64 gen, __u32 w, __u32 key)
{
	return gen << 20 | (__u64)w << 16 | key;
}

/* Keep the first error message of any child. */
static void note_error(struct shared *sh, const char *msg)
{
	if (!__atomic_load_n(&sh->first_error[0], __ATOMIC_RELAXED))
		snprintf(sh->first_error, sizeof(sh->first_error), "%s", msg);
}

/*
 * Does side @side hold the whole pattern of generation @gen, of one writer? Reads the maps with
 * plain syscalls. 0, or -1 (mixed or stale content).
 */
static int side_holds(struct race *r, int side, __u64 gen)
{
	__u32 i, key, *prev = NULL, nkeys = 0, w;
	bool wanted[KEY_SPACE] = { false };
	__u64 v;

	if (bpf_map_lookup_elem(r->arr[side], &(__u32){ 0 }, &v))
		return -1;
	w = (v >> 16) & 0xf;
	for (i = 0; i < ARR_MAX; i++) {
		if (bpf_map_lookup_elem(r->arr[side], &i, &v) || v != arr_val(gen, w, i))
			return -1;
	}
	for (i = 0; i < HASH_MAX; i++)
		wanted[hash_key(gen, i)] = true;
	while (!bpf_map_get_next_key(r->hash[side], prev, &key)) {
		if (key >= KEY_SPACE || !wanted[key] ||
		    bpf_map_lookup_elem(r->hash[side], &key, &v) || v != hash_val(gen, w, key))
			return -1;
		nkeys++;
		prev = &key;
	}
	return nkeys == HASH_MAX ? 0 : -1;
}

static struct abmap_group *open_group(struct race *r, struct abmap **arr, struct abmap **hash)
{
	struct abmap_group_opts o;
	struct abmap_group *g;

	/* No grace periods: a few seconds must hold thousands of commits (no program reads). */
	ktest_group_opts(&o, TIMEOUT_MS / 2);
	g = abmap_group_new(r->ptr, &o);
	if (!g)
		return NULL;
	abmap_testing_set_no_grace(g, true);
	*arr = abmap_new(g, "array", r->arr[0], r->arr[1], NULL);
	*hash = abmap_new(g, "hash", r->hash[0], r->hash[1], NULL);
	if (!*arr || !*hash) {
		abmap_group_free(g);
		return NULL;
	}
	return g;
}

/* Stage the pattern of generation @gen by writer @w. */
static int stage(struct abmap_txn *txn, struct abmap *arr, struct abmap *hash, __u64 gen, __u32 w)
{
	__u64 vals[ARR_MAX], hv[HASH_MAX];
	__u32 keys[HASH_MAX], i;
	int err;

	for (i = 0; i < ARR_MAX; i++)
		vals[i] = arr_val(gen, w, i);
	for (i = 0; i < HASH_MAX; i++) {
		keys[i] = hash_key(gen, i);
		hv[i] = hash_val(gen, w, keys[i]);
	}
	err = abmap_txn_array_set(txn, arr, vals, ARR_MAX);
	return err ?: abmap_txn_hash_set(txn, hash, keys, hv, HASH_MAX);
}

static void writer(struct race *r, __u32 w, bool no_lock)
{
	struct shared *sh = r->sh;
	struct abmap *arr, *hash;
	struct abmap_group *g;
	struct abmap_txn *txn;
	unsigned int seed = w + 1;
	char msg[200];
	__u64 gen;

	fault_inject_skip_lock(no_lock);
	abmap_set_print(NULL);
	g = open_group(r, &arr, &hash);
	if (!g) {
		snprintf(msg, sizeof(msg), "writer %u: cannot open the group: %s", w,
			 strerror(errno));
		note_error(sh, msg);
		_exit(2);
	}
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED) && sh->nrecs[w] < MAX_COMMITS) {
		txn = abmap_txn_begin(g);
		if (!txn) {
			snprintf(msg, sizeof(msg), "writer %u: abmap_txn_begin: %s", w,
				 strerror(errno));
			note_error(sh, msg);
			sh->commit_errors[w]++;
			continue;
		}
		/* Under the lock: the live side is the live generation's, whole. */
		if (abmap_group_generation(g, &gen) || side_holds(r, gen & 1, gen)) {
			snprintf(msg, sizeof(msg), "writer %u: live side is not generation %llu's",
				 w, (unsigned long long)gen);
			note_error(sh, msg);
			sh->torn_under_lock[w]++;
		}
		if (stage(txn, arr, hash, gen + 1, w)) {
			abmap_txn_abort(txn);
			_exit(3);
		}
		if (abmap_txn_commit(txn)) {
			snprintf(msg, sizeof(msg), "writer %u: commit failed: %s", w,
				 strerror(errno));
			note_error(sh, msg);
			sh->commit_errors[w]++;
			continue;
		}
		sh->recs[w][sh->nrecs[w]].gen = gen + 1;
		__atomic_store_n(&sh->nrecs[w], sh->nrecs[w] + 1, __ATOMIC_RELEASE);
		/*
		 * The lock is polled (flock LOCK_NB, 1 ms sleeps): without a pause here one writer
		 * would keep it for long runs and the two would rarely alternate.
		 */
		usleep(rand_r(&seed) % 400);
	}
	abmap_group_free(g);
	_exit(0);
}

/* Reads the live side between two reads of the generation (a seqlock): no lock, no group. */
static void reader(struct race *r)
{
	struct shared *sh = r->sh;
	struct abmap_pointer *p;
	__u64 g1, g2, last = 0;
	char msg[200];

	p = mmap(NULL, sizeof(*p), PROT_READ, MAP_SHARED, r->ptr, 0);
	if (p == MAP_FAILED)
		_exit(2);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		g1 = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
		if (g1 < last)
			sh->reader_backwards++;
		last = g1;
		if (side_holds(r, g1 & 1, g1) == 0) {
			sh->reader_checked++;
			continue;
		}
		/* Without grace periods a writer may rewrite this side once it is passive. */
		g2 = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
		if (g2 == g1) {
			snprintf(msg, sizeof(msg), "reader: generation %llu live, its side mixed",
				 (unsigned long long)g1);
			note_error(sh, msg);
			sh->reader_mixed++;
		}
	}
	_exit(0);
}

static void race_init(struct race *r)
{
	struct abmap *arr, *hash;
	struct abmap_group *g;
	struct abmap_txn *txn;
	__u64 gen;

	ktest_begin();
	r->ptr = ktest_pointer_map();
	r->arr[0] = ktest_map(BPF_MAP_TYPE_ARRAY, "race_a", 4, 8, ARR_MAX, 0);
	r->arr[1] = ktest_map(BPF_MAP_TYPE_ARRAY, "race_b", 4, 8, ARR_MAX, 0);
	r->hash[0] = ktest_hash_map("race_ha", 4, 8, HASH_MAX);
	r->hash[1] = ktest_hash_map("race_hb", 4, 8, HASH_MAX);
	r->sh = mmap(NULL, sizeof(*r->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		     0);
	assert_true(r->sh != MAP_FAILED);
	memset(r->sh, 0, sizeof(*r->sh));
	/* Initial content: generation 1's pattern. */
	g = open_group(r, &arr, &hash);
	assert_non_null(g);
	txn = abmap_txn_begin(g);
	assert_non_null(txn);
	assert_int_equal(abmap_group_generation(g, &gen), 0);
	assert_int_equal(stage(txn, arr, hash, gen + 1, PARENT_ID), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	abmap_group_free(g);
}

static __u64 ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000ull + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Fork the writers and the reader, stop them after @run_ms; false on a timeout (deadlock). */
static bool race_run(struct race *r, bool no_lock, int run_ms)
{
	pid_t pids[NR_WRITERS + 1];
	struct timespec t0;
	int i, status, left = NR_WRITERS + 1;
	pid_t pid;

	fflush(stdout);
	for (i = 0; i <= NR_WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (!pids[i]) {
			if (i < NR_WRITERS)
				writer(r, i, no_lock);
			reader(r);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left && ms_since(&t0) < TIMEOUT_MS) {
		if (ms_since(&t0) >= (__u64)run_ms)
			__atomic_store_n(&r->sh->stop, 1, __ATOMIC_RELAXED);
		pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			left--;
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				fail_msg("child %d ended with status %#x: %s", (int)pid, status,
					 r->sh->first_error);
			continue;
		}
		usleep(1000);
	}
	if (!left)
		return true;
	for (i = 0; i <= NR_WRITERS; i++)
		kill(pids[i], SIGKILL);
	while (waitpid(-1, &status, 0) > 0)
		;
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

struct verdict {
	unsigned long commits, duplicates, gaps, not_increasing, mixed;
	unsigned long alternations; /* consecutive generations committed by different writers */
};

/* Check the generations the writers recorded against the pointer's final generation. */
static void judge(struct race *r, __u64 first_gen, struct verdict *v)
{
	struct shared *sh = r->sh;
	__u64 *all, final_gen = ktest_generation(r->ptr);
	__u32 w, i, n = 0;

	memset(v, 0, sizeof(*v));
	all = calloc(NR_WRITERS * (size_t)MAX_COMMITS, sizeof(*all));
	assert_non_null(all);
	for (w = 0; w < NR_WRITERS; w++) {
		for (i = 0; i < sh->nrecs[w]; i++) {
			if (i && sh->recs[w][i].gen <= sh->recs[w][i - 1].gen)
				v->not_increasing++;
			all[n++] = sh->recs[w][i].gen << 1 | w;
		}
		v->mixed += sh->torn_under_lock[w];
	}
	v->mixed += sh->reader_mixed;
	qsort(all, n, sizeof(*all), cmp_u64);
	for (i = 0; i < n; i++) {
		if (i && all[i] >> 1 == all[i - 1] >> 1)
			v->duplicates++;
		else if (all[i] >> 1 != first_gen + 1 + i - v->duplicates)
			v->gaps++;
		if (i && (all[i] & 1) != (all[i - 1] & 1))
			v->alternations++;
	}
	if (final_gen != first_gen + n - v->duplicates)
		v->gaps++;
	v->commits = n;
	free(all);
}

/* Set up, race two writers (@no_lock: without the writer lock) for @run_ms, judge the result. */
static void race_and_judge(struct race *r, bool no_lock, int run_ms, struct verdict *v)
{
	__u64 first;

	race_init(r);
	first = ktest_generation(r->ptr);
	if (!race_run(r, no_lock, run_ms))
		fail_msg("%sthe writers did not finish within %d ms",
			 no_lock ? "" : "deadlock: ", TIMEOUT_MS);
	judge(r, first, v);
}

static void test_two_writers(void **state)
{
	struct verdict v;
	struct race r;

	(void)state;
	race_and_judge(&r, false, RUN_MS, &v);
	printf("# %lu commits (%u + %u, %lu changes of writer), reader checked %lu snapshots; errors: %lu duplicate "
	       "generations, %lu gaps, %lu not increasing, %lu mixed contents, %lu + %lu failed "
	       "commits\n",
	       v.commits, r.sh->nrecs[0], r.sh->nrecs[1], v.alternations, r.sh->reader_checked,
	       v.duplicates, v.gaps, v.not_increasing, v.mixed, r.sh->commit_errors[0],
	       r.sh->commit_errors[1]);
	if (r.sh->first_error[0])
		printf("# first error: %s\n", r.sh->first_error);
	assert_true(v.commits >= 1000);
	assert_true(v.alternations >= 100); /* the writers really raced */
	assert_true(r.sh->reader_checked >= 100);
	assert_int_equal(v.duplicates + v.gaps + v.not_increasing + v.mixed, 0);
	assert_int_equal(r.sh->commit_errors[0] + r.sh->commit_errors[1], 0);
	assert_int_equal(r.sh->reader_backwards, 0);
	assert_int_equal(side_holds(&r, ktest_generation(r.ptr) & 1, ktest_generation(r.ptr)), 0);
	munmap(r.sh, sizeof(*r.sh));
}

/* Negative control: the same race without the writer lock must be caught. */
static void test_two_writers_without_lock(void **state)
{
	struct verdict v;
	struct race r;

	(void)state;
	race_and_judge(&r, true, RUN_MS / 2, &v);
	printf("# without the lock: %lu commits, %lu duplicate generations, %lu gaps, %lu mixed "
	       "contents, %lu + %lu failed commits\n",
	       v.commits, v.duplicates, v.gaps, v.mixed, r.sh->commit_errors[0],
	       r.sh->commit_errors[1]);
	assert_true(v.duplicates + v.gaps + v.not_increasing + v.mixed > 0);
	munmap(r.sh, sizeof(*r.sh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_two_writers),
		KTEST(test_two_writers_without_lock),
	};

	return cmocka_run_group_tests_name("writer_race", tests, NULL, NULL);
}
