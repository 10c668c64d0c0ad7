// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A writer that stops and another that starts from the pinned maps: state and content survive,
 * passive sides are brought up to date (and repaired), the recorded member list is enforced, and
 * two processes writing the same group are serialized by the writer lock.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "ktest.h"

#define N 16

/* The maps of one group: s1 = mmapable array with a length map, s2 = plain array, h = hash. */
struct fds {
	int ptr, a1, b1, len1, a2, b2, ha, hb;
};

struct group {
	struct abmap_group *g;
	struct abmap *s1, *s2, *h;
};

static const char *const pin_names[] = { "ptr", "a1", "b1", "len1", "a2", "b2", "ha", "hb" };

static int *fd_slot(struct fds *f, int i)
{
	int *slots[] = { &f->ptr, &f->a1, &f->b1, &f->len1, &f->a2, &f->b2, &f->ha, &f->hb };

	return slots[i];
}

static void create_pinned(struct fds *f)
{
	unsigned int i;

	f->ptr = ktest_pointer_map();
	f->a1 = ktest_array_map("kt_a1", 4, N, true);
	f->b1 = ktest_array_map("kt_b1", 4, N, true);
	f->len1 = ktest_len_map();
	f->a2 = ktest_array_map("kt_a2", 4, N, false);
	f->b2 = ktest_array_map("kt_b2", 4, N, false);
	f->ha = ktest_hash_map("kt_ha", 4, 8, 32);
	f->hb = ktest_hash_map("kt_hb", 4, 8, 32);
	for (i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++)
		ktest_pin(*fd_slot(f, i), pin_names[i]);
}

static void close_all(struct fds *f)
{
	unsigned int i;

	for (i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++) {
		ktest_close(*fd_slot(f, i));
		*fd_slot(f, i) = -1;
	}
}

static void reopen_pins(struct fds *f)
{
	unsigned int i;

	for (i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++)
		*fd_slot(f, i) = ktest_obj_get(pin_names[i]);
}

static void open_group(struct group *gr, const struct fds *f, bool with_h)
{
	LIBABMAP_OPTS(abmap_opts, o, .len_fd = f->len1);

	gr->g = ktest_group(f->ptr, 0);
	gr->s1 = abmap_new(gr->g, ABMAP_KIND_ARRAY, f->a1, f->b1, &o);
	assert_non_null(gr->s1);
	gr->s2 = abmap_new(gr->g, ABMAP_KIND_ARRAY, f->a2, f->b2, NULL);
	assert_non_null(gr->s2);
	gr->h = NULL;
	if (with_h) {
		gr->h = abmap_new(gr->g, ABMAP_KIND_HASH, f->ha, f->hb, NULL);
		assert_non_null(gr->h);
	}
}

static void fill(__u32 *v, __u32 n, __u32 base)
{
	__u32 i;

	for (i = 0; i < n; i++)
		v[i] = base + i;
}

/* Content of the two commits made before every restart. */
static __u32 x1[5], y1[N], x2[7], y2[N];
static __u32 hk1[] = { 1, 2 }, hk2[] = { 3, 4, 5 };
static __u64 hv1[] = { 1, 2 }, hv2[] = { 30, 40, 50 };

/* One transaction setting all three: s1 to @nx values @x, s2 to @y (N values), h to @nh pairs. */
static void commit_all(struct group *gr, const __u32 *x, __u32 nx, const __u32 *y, const __u32 *hk,
		       const __u64 *hv, __u32 nh)
{
	struct abmap_txn *txn = abmap_txn_begin(gr->g);

	assert_non_null(txn);
	assert_int_equal(abmap_txn_array_set(txn, gr->s1, x, nx), 0);
	assert_int_equal(abmap_txn_array_set(txn, gr->s2, y, N), 0);
	assert_int_equal(abmap_txn_hash_set(txn, gr->h, hk, hv, nh), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
}

/* gen 1 and gen 2 into s1, s2, h; live side after: A. */
static void two_commits(struct group *gr)
{
	fill(x1, 5, 100);
	fill(y1, N, 200);
	fill(x2, 7, 300);
	fill(y2, N, 400);
	commit_all(gr, x1, 5, y1, hk1, hv1, 2);
	commit_all(gr, x2, 7, y2, hk2, hv2, 3);
	assert_int_equal(ktest_group_gen(gr->g), 2);
}

/* Stop the writer: free the group, close every fd, reopen the pins. Returns the record. */
static struct abmap_pointer restart(struct group *gr, struct fds *f)
{
	struct abmap_pointer p;

	ktest_group_free(gr->g);
	gr->g = NULL;
	p = ktest_pointer(f->ptr);
	assert_int_equal(p.generation, 2);
	close_all(f);
	reopen_pins(f);
	return p;
}

static void check_after_restart(struct group *gr, struct fds *f)
{
	__u32 v, len, i, k;
	__u64 hv;

	assert_int_equal(ktest_group_gen(gr->g), 2);
	assert_int_equal(ktest_generation(f->ptr), 2);
	assert_int_equal(abmap_array_len(gr->s1, &len), 0);
	assert_int_equal(len, 7);
	for (i = 0; i < 7; i++) {
		assert_int_equal(abmap_array_get(gr->s1, i, &v), 0);
		assert_int_equal(v, x2[i]);
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(abmap_array_get(gr->s2, i, &v), 0);
		assert_int_equal(v, y2[i]);
	}
	for (i = 0; i < 3; i++) {
		k = hk2[i];
		assert_int_equal(abmap_get(gr->h, &k, &hv), 0);
		assert_int_equal(hv, hv2[i]);
	}
	k = hk1[0];
	assert_int_equal(abmap_get(gr->h, &k, &hv), -ENOENT);
}

/* gen 3: one element of s1 changes; everything else goes live on B with gen 2's content. */
static void commit_one_change_and_check(struct group *gr, struct fds *f)
{
	struct abmap_txn *txn;
	__u32 idx = 0, val = 4242, e[7];

	txn = abmap_txn_begin(gr->g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_update(txn, gr->s1, &idx, &val), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(ktest_group_gen(gr->g), 3);
	assert_int_equal(ktest_generation(f->ptr), 3);

	memcpy(e, x2, sizeof(e));
	e[0] = 4242;
	ktest_assert_array(f->b1, e, 7, N);
	assert_int_equal(ktest_u32(f->len1, ABMAP_SIDE_B), 7);
	ktest_assert_array(f->a1, x2, 7, N);
	assert_int_equal(ktest_u32(f->len1, ABMAP_SIDE_A), 7);
	ktest_assert_array(f->b2, y2, N, N);
	ktest_assert_arrays_equal(f->a2, f->b2, N);
	ktest_assert_hash(f->hb, hk2, hv2, 3);
	ktest_assert_hashes_equal(f->ha, f->hb);
}

/* A test's start: pinned maps, a group on them with every structure, generations 1 and 2. */
static void start_after_two_commits(struct group *gr, struct fds *f)
{
	ktest_begin();
	create_pinned(f);
	open_group(gr, f, true);
	two_commits(gr);
}

static void test_restart_resume(void **state)
{
	struct abmap_pointer p;
	struct group gr;
	struct fds f;

	(void)state;
	start_after_two_commits(&gr, &f);
	/* The retired side B holds gen 1: the next writer has something to bring up to date. */
	ktest_assert_array(f.b1, x1, 5, N);
	ktest_assert_array(f.b2, y1, N, N);
	ktest_assert_hash(f.hb, hk1, hv1, 2);

	p = restart(&gr, &f);
	open_group(&gr, &f, true);
	check_after_restart(&gr, &f);
	commit_one_change_and_check(&gr, &f);

	/* abmap_group_free() waits for the running grace period and records it. */
	if (p.grace_gen != 2)
		fail_msg(
			"%s: after abmap_group_free: grace_gen %llu, expected 2 (the free waits for "
			"the running grace period and records it)",
			ktest_name(), (unsigned long long)p.grace_gen);
}

static void test_restart_repairs_passive(void **state)
{
	__u32 key;
	__u64 v64 = 0xbad;
	struct group gr;
	struct fds f;

	(void)state;
	start_after_two_commits(&gr, &f);
	restart(&gr, &f);

	/* Scribble on the passive side B of every structure behind the library's back. */
	ktest_set_u32(f.b1, 3, 0xbad);
	ktest_set_u32(f.b1, 12, 0xbad); /* past the length */
	ktest_set_u32(f.len1, ABMAP_SIDE_B, N);
	ktest_set_u32(f.b2, 5, 0xbad);
	ktest_set_u32(f.b2, N - 1, 0xbad);
	key = 77;
	assert_int_equal(bpf_map_update_elem(f.hb, &key, &v64, BPF_ANY), 0);
	key = 1;
	assert_int_equal(bpf_map_update_elem(f.hb, &key, &v64, BPF_ANY), 0);

	open_group(&gr, &f, true);
	check_after_restart(&gr, &f);
	/* The new live side B has no trace of the scribbles. */
	commit_one_change_and_check(&gr, &f);
}

/* The pointer map records the group's structures: a writer must attach them all. */
static void test_member_list(void **state)
{
	struct abmap_txn *txn;
	struct group gr;
	struct fds f;
	__u32 idx = 0, val = 1;
	struct abmap_pointer p;
	int err;

	(void)state;
	start_after_two_commits(&gr, &f);
	p = ktest_pointer(f.ptr);
	assert_int_equal(p.nr_structs, 3);
	restart(&gr, &f);

	/* Without h. */
	open_group(&gr, &f, false);
	txn = abmap_txn_begin(gr.g);
	if (txn) {
		assert_int_equal(abmap_txn_update(txn, gr.s1, &idx, &val), 0);
		err = abmap_txn_commit(txn);
	} else {
		err = -errno;
	}
	if (err >= 0)
		fail_msg("%s: commit without the recorded hash attached succeeded (gen %llu), "
			 "expected an error",
			 ktest_name(), (unsigned long long)ktest_generation(f.ptr));
	assert_int_equal(ktest_generation(f.ptr), 2);
	ktest_assert_array(f.a1, x2, 7, N);

	/* Attach it: the commit goes through. */
	gr.h = abmap_new(gr.g, ABMAP_KIND_HASH, f.ha, f.hb, NULL);
	assert_non_null(gr.h);
	commit_one_change_and_check(&gr, &f);
}

/* -------------------------------------------------------------------------------------------
 * Two processes
 */

struct child {
	pid_t pid;
	int ready[2]; /* child -> parent */
	int go[2];    /* parent -> child */
};

static void child_cleanup(void *arg)
{
	struct child *c = arg;
	int i;

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
	for (i = 0; i < 2; i++) {
		if (c->ready[i] >= 0)
			close(c->ready[i]);
		if (c->go[i] >= 0)
			close(c->go[i]);
		c->ready[i] = c->go[i] = -1;
	}
}

/*
 * Fork a child holding the other ends of the ready and go pipes, killed and closed at teardown.
 * Returns true in the child (fatal signals back to their defaults, killed with the parent), false
 * in the parent.
 */
static bool child_fork(struct child *c)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	unsigned int i;

	memset(c, -1, sizeof(*c));
	c->pid = 0;
	assert_int_equal(pipe(c->ready), 0);
	assert_int_equal(pipe(c->go), 0);
	ktest_defer(child_cleanup, c);
	fflush(NULL);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		/* cmocka's handlers would run the parent's remaining tests here. */
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(c->ready[0]);
		close(c->go[1]);
		return true;
	}
	close(c->ready[1]);
	close(c->go[0]);
	c->ready[1] = c->go[0] = -1;
	return false;
}

#define CHILD_COMMIT_DELAY_US 300000

/* Child: hold a transaction open until told to go, then commit after a delay. Never returns. */
static void child_main(const struct fds *f, struct child *c)
{
	struct abmap_group_opts go;
	struct abmap_group *g;
	struct abmap_txn *txn;
	struct abmap *s;
	__u32 idx = 0, val = 111;
	char ch = 'r';
	int rc = 0;

	LIBABMAP_OPTS(abmap_opts, o, .len_fd = f->len1);
	ktest_group_opts(&go, 0);
	g = abmap_group_new(f->ptr, &go);
	if (!g)
		_exit(20);
	s = abmap_new(g, ABMAP_KIND_ARRAY, f->a1, f->b1, &o);
	if (!s)
		_exit(21);
	txn = abmap_txn_begin(g);
	if (!txn)
		_exit(22);
	if (abmap_txn_update(txn, s, &idx, &val))
		_exit(23);
	if (write(c->ready[1], &ch, 1) != 1)
		_exit(24);
	if (read(c->go[0], &ch, 1) != 1)
		_exit(25);
	usleep(CHILD_COMMIT_DELAY_US);
	if (abmap_txn_commit(txn))
		rc = 26;
	abmap_group_free(g);
	_exit(rc);
}

static void wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) != 1)
		fail_msg("%s: the child did not answer within %d ms", ktest_name(), timeout_ms);
}

static void test_two_processes(void **state)
{
	static struct child c;
	struct abmap_group *g0, *g1;
	struct abmap_txn *txn;
	struct abmap *s0, *s1;
	__u32 idx, val, v[2];
	__u64 t0, waited_ms;
	int status, err;
	struct fds f;
	char ch = 'g';

	(void)state;
	ktest_begin();
	f.ptr = ktest_pointer_map();
	f.a1 = ktest_array_map("kt_a1", 4, N, true);
	f.b1 = ktest_array_map("kt_b1", 4, N, true);
	f.len1 = ktest_len_map();
	LIBABMAP_OPTS(abmap_opts, o, .len_fd = f.len1);

	if (child_fork(&c))
		child_main(&f, &c);

	/* The child holds its transaction open. */
	wait_readable(c.ready[0], 10000);
	assert_int_equal(read(c.ready[0], &ch, 1), 1);

	/* lock_timeout_ms = 0: EBUSY at once. */
	g0 = ktest_group(f.ptr, 0);
	s0 = abmap_new(g0, ABMAP_KIND_ARRAY, f.a1, f.b1, &o);
	assert_non_null(s0);
	errno = 0;
	t0 = ktest_now_ns();
	txn = abmap_txn_begin(g0);
	if (txn) {
		abmap_txn_abort(txn);
		fail_msg("%s: abmap_txn_begin succeeded while another process holds the lock",
			 ktest_name());
	}
	assert_int_equal(errno, EBUSY);
	assert_true(ktest_now_ns() - t0 < 1000000000ULL);
	v[0] = 5;
	assert_int_equal(abmap_array_set(s0, v, 1), -EBUSY);
	assert_int_equal(ktest_generation(f.ptr), 0);

	/* A long enough timeout: waits for the child's commit, then sees its flip. */
	g1 = ktest_group(f.ptr, 10000);
	s1 = abmap_new(g1, ABMAP_KIND_ARRAY, f.a1, f.b1, &o);
	assert_non_null(s1);
	assert_int_equal(ktest_group_gen(g1), 0);
	ch = 'g';
	assert_int_equal(write(c.go[1], &ch, 1), 1);
	t0 = ktest_now_ns();
	txn = abmap_txn_begin(g1);
	waited_ms = (ktest_now_ns() - t0) / 1000000;
	if (!txn)
		fail_msg("%s: abmap_txn_begin with a 10 s timeout failed after %llu ms: %s",
			 ktest_name(), (unsigned long long)waited_ms, strerror(errno));
	printf("  second writer waited %llu ms for the lock (child commits after %d ms)\n",
	       (unsigned long long)waited_ms, CHILD_COMMIT_DELAY_US / 1000);
	assert_true(waited_ms >= CHILD_COMMIT_DELAY_US / 1000 / 2);
	assert_int_equal(ktest_generation(f.ptr), 1);
	idx = 1;
	val = 222;
	err = abmap_txn_update(txn, s1, &idx, &val);
	if (err) {
		abmap_txn_abort(txn);
		fail_msg("%s: abmap_txn_update: %s", ktest_name(), strerror(-err));
	}
	assert_int_equal(abmap_txn_commit(txn), 0);

	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	c.pid = 0;
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("%s: child exited with %d", ktest_name(), WEXITSTATUS(status));

	/* Both changes, serialized: gen 2 (live A) = [111, 222], length 2. */
	assert_int_equal(ktest_generation(f.ptr), 2);
	assert_int_equal(ktest_group_gen(g0), 2);
	v[0] = 111;
	v[1] = 222;
	ktest_assert_array(f.a1, v, 2, N);
	assert_int_equal(ktest_u32(f.len1, ABMAP_SIDE_A), 2);
	v[0] = 111;
	ktest_assert_array(f.b1, v, 1, N);
	assert_int_equal(abmap_array_get(s0, 0, &val), 0);
	assert_int_equal(val, 111);
	assert_int_equal(abmap_array_get(s0, 1, &val), 0);
	assert_int_equal(val, 222);

	/* The lock is free; the first group (stale in memory) writes on top of both. */
	v[0] = 7;
	assert_int_equal(abmap_array_set(s0, v, 1), 0);
	assert_int_equal(ktest_generation(f.ptr), 3);
	ktest_assert_array(f.b1, v, 1, N);
}

/* -------------------------------------------------------------------------------------------
 * A writer that dies (or frees its group) with a deferred change pending
 */

/* gen 2 live on A; the next commit changes s2 only: s1's new live side must be x2. */
static void check_deferred_junk_not_published(struct group *gr, struct fds *f)
{
	struct abmap_txn *txn;
	__u32 idx = 0, val = 5151, e[N];

	txn = abmap_txn_begin(gr->g);
	assert_non_null(txn);
	assert_int_equal(abmap_txn_update(txn, gr->s2, &idx, &val), 0);
	assert_int_equal(abmap_txn_commit(txn), 0);
	assert_int_equal(ktest_generation(f->ptr), 3);
	ktest_assert_array(f->b1, x2, 7, N);
	assert_int_equal(ktest_u32(f->len1, ABMAP_SIDE_B), 7);
	memcpy(e, y2, sizeof(e));
	e[0] = 5151;
	ktest_assert_array(f->b2, e, N, N);
	ktest_assert_hash(f->hb, hk2, hv2, 3);
}

static void test_free_cancels_deferred(void **state)
{
	struct abmap_switchover *so = NULL;
	__u32 junk[N];
	struct group gr;
	struct fds f;

	(void)state;
	start_after_two_commits(&gr, &f);
	fill(junk, N, 0xdead0);
	assert_int_equal(abmap_array_set_and_defer_switchover(gr.s1, junk, N, &so), 0);
	ktest_assert_array(f.b1, junk, N, N);

	/* The handle is owned by the group: freeing the group cancels and frees it. */
	ktest_group_free(gr.g);
	assert_int_equal(ktest_generation(f.ptr), 2);
	ktest_assert_array(f.a1, x2, 7, N);
	assert_int_equal(ktest_u32(f.len1, ABMAP_SIDE_A), 7);

	open_group(&gr, &f, true);
	check_after_restart(&gr, &f);
	check_deferred_junk_not_published(&gr, &f);
}

static void test_killed_writer_deferred(void **state)
{
	static struct child c;
	struct abmap_pointer p;
	struct group gr;
	struct fds f;
	char ch;
	int status;

	(void)state;
	start_after_two_commits(&gr, &f);
	ktest_group_free(gr.g);

	if (child_fork(&c)) {
		struct abmap_switchover *so = NULL;
		struct abmap_group_opts go;
		struct abmap_group *g;
		struct abmap *s1;
		__u32 junk[N];

		LIBABMAP_OPTS(abmap_opts, o, .len_fd = f.len1);
		ktest_group_opts(&go, 0);
		g = abmap_group_new(f.ptr, &go);
		if (!g)
			_exit(20);
		s1 = abmap_new(g, ABMAP_KIND_ARRAY, f.a1, f.b1, &o);
		if (!s1 || !abmap_new(g, ABMAP_KIND_ARRAY, f.a2, f.b2, NULL) ||
		    !abmap_new(g, ABMAP_KIND_HASH, f.ha, f.hb, NULL))
			_exit(21);
		fill(junk, N, 0xdead0);
		if (abmap_array_set_and_defer_switchover(s1, junk, N, &so))
			_exit(22);
		ch = 'r';
		if (write(c.ready[1], &ch, 1) != 1)
			_exit(23);
		/* Killed here, holding the lock and the deferred change. */
		if (read(c.go[0], &ch, 1) < 0)
			_exit(24);
		_exit(25);
	}
	wait_readable(c.ready[0], 10000);
	assert_int_equal(read(c.ready[0], &ch, 1), 1);
	kill(c.pid, SIGKILL);
	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	c.pid = 0;
	assert_true(WIFSIGNALED(status));

	/* The child's junk sits on the passive side, marked as such. */
	p = ktest_pointer(f.ptr);
	assert_int_equal(p.generation, 2);
	if (p.passive_gen != ABMAP_GEN_UNKNOWN)
		fail_msg("%s: a writer died with the passive side half-written: passive_gen %llu, "
			 "expected ABMAP_GEN_UNKNOWN",
			 ktest_name(), (unsigned long long)p.passive_gen);
	assert_int_equal(ktest_u32(f.b1, 0), 0xdead0);

	/* The lock died with the child; the next writer must not publish the junk. */
	open_group(&gr, &f, true);
	check_after_restart(&gr, &f);
	check_deferred_junk_not_published(&gr, &f);
}

/* -------------------------------------------------------------------------------------------
 * Lock timeouts in one process (two group objects)
 */

struct waiter {
	struct abmap_group *g;
	struct abmap_txn *txn;
	int err;
	int done;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->txn = abmap_txn_begin(w->g);
	w->err = w->txn ? 0 : -errno;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_lock_timeout(void **state)
{
	struct abmap_group_opts go;
	struct abmap_group *g1, *g2, *g3;
	struct abmap_txn *t1, *t2;
	struct waiter w;
	pthread_t th;
	char path[PATH_MAX];
	__u64 t0, ms;
	int ptr, err;

	(void)state;
	ktest_begin();
	ptr = ktest_pointer_map();
	g1 = ktest_group(ptr, 0);
	g2 = ktest_group(ptr, 200);
	ktest_group_opts(&go, -1);
	g3 = ktest_track_group(abmap_group_new(ptr, &go));

	t1 = abmap_txn_begin(g1);
	assert_non_null(t1);
	snprintf(path, sizeof(path), "%s/%u.lock", ktest_lock_dir(), ktest_map_id(ptr));
	if (access(path, F_OK))
		fail_msg("%s: lock file %s: %s", ktest_name(), path, strerror(errno));

	/* 200 ms, then EBUSY. */
	t0 = ktest_now_ns();
	errno = 0;
	t2 = abmap_txn_begin(g2);
	ms = (ktest_now_ns() - t0) / 1000000;
	if (t2) {
		abmap_txn_abort(t2);
		abmap_txn_abort(t1);
		fail_msg("%s: second writer got the lock", ktest_name());
	}
	assert_int_equal(errno, EBUSY);
	printf("  lock_timeout_ms = 200: EBUSY after %llu ms\n", (unsigned long long)ms);
	if (ms < 150 || ms > 2000) {
		abmap_txn_abort(t1);
		fail_msg("%s: lock_timeout_ms = 200 gave up after %llu ms", ktest_name(),
			 (unsigned long long)ms);
	}

	/* < 0: waits as long as it takes. */
	memset(&w, 0, sizeof(w));
	w.g = g3;
	err = pthread_create(&th, NULL, waiter_main, &w);
	if (err) {
		abmap_txn_abort(t1);
		fail_msg("pthread_create: %s", strerror(err));
	}
	usleep(500000);
	err = __atomic_load_n(&w.done, __ATOMIC_ACQUIRE);
	abmap_txn_abort(t1);
	pthread_join(th, NULL);
	if (w.txn)
		abmap_txn_abort(w.txn);
	if (err)
		fail_msg("%s: lock_timeout_ms = -1 returned (%s) while the lock was held",
			 ktest_name(), strerror(-w.err));
	if (!w.txn)
		fail_msg("%s: lock_timeout_ms = -1: %s after the lock was released", ktest_name(),
			 strerror(-w.err));
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		KTEST(test_restart_resume),
		KTEST(test_restart_repairs_passive),
		KTEST(test_member_list),
		KTEST(test_two_processes),
		KTEST(test_free_cancels_deferred),
		KTEST(test_killed_writer_deferred),
		KTEST(test_lock_timeout),
	};
	/* clang-format on */

	return cmocka_run_group_tests_name("kernel/restart", tests, NULL, NULL);
}
