// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The torn-read proof.
 *
 * torn.bpf.c reads the group's pointer once, then elements of two A/B arrays, and counts the
 * invocations that saw an element not stamped with the snapshot's generation. A reader thread on
 * CPU 0 runs it through BPF_PROG_TEST_RUN in a loop; a writer thread on CPU 1 commits both arrays
 * continuously, stamping every element with the generation its commit makes live.
 *
 *  - negative control (abmap_testing_set_no_grace()): the writer rewrites a retired side while programs still
 *    read it; torn reads must be observed, or this test could not fail. The reader gets slower
 *    (a busy loop between the two arrays in some invocations) until they are.
 *  - grace period (default): same reader, 0 torn reads over >= 10^6 reads and >= 1,000 flips.
 *
 * One invocation per BPF_PROG_TEST_RUN call (repeat = 1). With repeat > 1 an XDP test run
 * installs the program in the XDP dispatcher and removes it afterwards
 * (bpf_prog_change_xdp(), two synchronize_rcu() per call): measured ~24 ms per call here, so
 * a repeat of 1,000 reads ~40k invocations/s and one of 1 reads ~440k/s.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abmap/testing.h"
#include "ktest.h"
#include "torn.skel.h"

/* The Makefile names skeletons after the file without ".bpf.c" (torn); accept either. */
#ifdef __TORN_BPF_SKEL_H__
#define TORN(x) torn_bpf##x
#else
#define TORN(x) torn##x
#endif

#define ENTRIES 1024 /* TORN_ENTRIES in torn.bpf.c */
#define NR_ELEMS 64  /* elements read per array per invocation */
#define MIN_READS 1000000ULL
#define MIN_FLIPS 1000ULL
#define GRACE_MAX_MS 45000
#define CTRL_STAGE_MIN_MS 500
#define CTRL_STAGE_MAX_MS 3000
/* The control escalates the reader's busy loop until a stage sees this many torn reads. */
#define CTRL_MIN_TORN 20
#define READER_REPEAT 1 /* invocations per BPF_PROG_TEST_RUN call, see above */

/* Reader configuration, chosen by the negative control and reused by the grace-period run. */
struct reader_cfg {
	__u32 spin_us;
	__u32 spin_loops;
	__u32 spin_mask;
	__u32 repeat;
};

static struct reader_cfg chosen = { .spin_us = 100, .spin_mask = 63 };
static bool chosen_valid;

struct run {
	struct TORN() * skel;
	struct abmap_group *g;
	struct abmap *ga, *gb;
	int prog_fd;
	__u32 repeat;
	int stop;
	/* results */
	__u64 flips;
	__u64 calls;
	int writer_err;
	const char *writer_what;
	int reader_err;
	int pin_err;
	__u64 elapsed_ms;
	__u64 reads, torn, bad_elems, gen_changes, first_bad_gen, first_bad_val;
};

static void skel_destroy(void *arg)
{
	TORN(__destroy)(arg);
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static bool stopped(struct run *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
}

static void *reader_main(void *arg)
{
	struct run *r = arg;
	char pkt[64];
	int err;

	err = pin_cpu(0);
	if (err)
		__atomic_store_n(&r->pin_err, err, __ATOMIC_RELAXED);
	memset(pkt, 0, sizeof(pkt));
	while (!stopped(r)) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
			    .repeat = r->repeat);

		if (bpf_prog_test_run_opts(r->prog_fd, &opts)) {
			r->reader_err = -errno;
			break;
		}
		if (opts.retval != XDP_PASS) {
			r->reader_err = -EPROTO;
			break;
		}
		__atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *writer_main(void *arg)
{
	struct run *r = arg;
	struct abmap_txn *txn;
	__u64 *vals, gen;
	int err, i;

	err = pin_cpu(1);
	if (err)
		__atomic_store_n(&r->pin_err, err, __ATOMIC_RELAXED);
	vals = malloc(ENTRIES * sizeof(*vals));
	if (!vals) {
		r->writer_err = -ENOMEM;
		r->writer_what = "malloc";
		return NULL;
	}
	while (!stopped(r)) {
		err = abmap_group_generation(r->g, &gen);
		if (err) {
			r->writer_what = "abmap_group_generation";
			break;
		}
		for (i = 0; i < ENTRIES; i++)
			vals[i] = gen + 1;
		txn = abmap_txn_begin(r->g);
		if (!txn) {
			err = -errno;
			r->writer_what = "abmap_txn_begin";
			break;
		}
		err = abmap_txn_array_set(txn, r->ga, vals, ENTRIES);
		if (!err)
			err = abmap_txn_array_set(txn, r->gb, vals, ENTRIES);
		if (err) {
			abmap_txn_abort(txn);
			r->writer_what = "abmap_txn_array_set";
			break;
		}
		err = abmap_txn_commit(txn);
		if (err) {
			r->writer_what = "abmap_txn_commit";
			break;
		}
		__atomic_add_fetch(&r->flips, 1, __ATOMIC_RELAXED);
	}
	r->writer_err = err;
	free(vals);
	return NULL;
}

static struct TORN() * load_skel(void)
{
	struct TORN() * skel;

	skel = TORN(__open_and_load)();
	if (!skel)
		fail_msg("%s: opening the torn skeleton: %s", ktest_name(), strerror(errno));
	ktest_defer(skel_destroy, skel);
	return skel;
}

/* Average ns of one invocation with @spin_loops busy-loop iterations in every invocation. */
static double invocation_ns(struct TORN() * skel, __u32 spin_loops, __u32 repeat)
{
	char pkt[64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = repeat);
	double best = 1e18;
	int i;

	memset(pkt, 0, sizeof(pkt));
	skel->bss->nr_elems = NR_ELEMS;
	skel->bss->spin_loops = spin_loops;
	skel->bss->spin_mask = 0;
	for (i = 0; i < 3; i++) {
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.torn_read), &opts))
			fail_msg("%s: bpf_prog_test_run_opts: %s", ktest_name(), strerror(errno));
		assert_int_equal(opts.retval, XDP_PASS);
		if (opts.duration < best)
			best = opts.duration;
	}
	return best;
}

static __u32 next_pow2(__u64 x)
{
	__u32 p = 1;

	while (p < x && p < (1U << 20))
		p <<= 1;
	return p;
}

/*
 * Reader config for a busy loop of @spin_us: the loop runs in 1 of (mask + 1) invocations, mask
 * chosen so the loop adds ~2 us per invocation on average (>= 10^6 reads stay affordable).
 */
static struct reader_cfg make_cfg(struct TORN() * skel, __u32 spin_us)
{
	struct reader_cfg c = { .spin_us = spin_us };
	double base, per_iter;

	base = invocation_ns(skel, 0, 1000);
	per_iter = (invocation_ns(skel, 10000, 100) - base) / 10000.0;
	if (per_iter < 0.1)
		per_iter = 0.1;
	c.spin_loops = spin_us ? (__u32)(spin_us * 1000.0 / per_iter) : 0;
	if (c.spin_loops > (1U << 23))
		c.spin_loops = 1U << 23; /* bpf_loop's limit */
	c.spin_mask = spin_us ? next_pow2(spin_us / 2 + 1) - 1 : 0;
	c.repeat = READER_REPEAT;
	printf("  reader: %d elements per array, %.0f ns per invocation, busy loop %u us "
	       "(%u iterations of %.1f ns) in 1 of %u invocations, repeat %u\n",
	       NR_ELEMS, base, spin_us, c.spin_loops, per_iter, c.spin_mask + 1, c.repeat);
	return c;
}

struct stop_at {
	__u64 min_flips, min_reads, min_gen_changes, min_ms, max_ms;
	__u64 min_torn; /* negative control: keep going until this many torn reads */
};

static void do_run(struct run *r, const struct reader_cfg *cfg, bool unsafe,
		   const struct stop_at *st)
{
	volatile struct TORN(__bss) *bss = r->skel->bss;
	struct abmap_group_opts go;
	pthread_t rt, wt;
	__u64 t0, now, gen;
	int err;

	ktest_group_opts(&go, 0);
	r->g = ktest_track_group(abmap_group_new(bpf_map__fd(r->skel->maps.ptr), &go));
	assert_int_equal(abmap_testing_set_no_grace(r->g, unsafe), 0);
	r->ga = abmap_new(r->g, ABMAP_KIND_ARRAY, ABMAP_SKEL_PAIR(r->skel, ga), NULL);
	assert_non_null(r->ga);
	r->gb = abmap_new(r->g, ABMAP_KIND_ARRAY, ABMAP_SKEL_PAIR(r->skel, gb), NULL);
	assert_non_null(r->gb);
	r->prog_fd = bpf_program__fd(r->skel->progs.torn_read);
	r->repeat = cfg->repeat;
	r->stop = 0;
	r->flips = r->calls = 0;
	r->writer_err = r->reader_err = r->pin_err = 0;
	r->writer_what = NULL;

	gen = ktest_group_gen(r->g);
	bss->nr_elems = NR_ELEMS;
	bss->spin_loops = cfg->spin_loops;
	bss->spin_mask = cfg->spin_mask;
	bss->reads = bss->torn = bss->bad_elems = bss->gen_changes = 0;
	bss->first_bad_gen = bss->first_bad_val = 0;
	bss->last_gen = gen;

	/* No assertion between the thread starts and the joins. */
	t0 = ktest_now_ns();
	err = pthread_create(&rt, NULL, reader_main, r);
	if (err)
		fail_msg("pthread_create: %s", strerror(err));
	err = pthread_create(&wt, NULL, writer_main, r);
	if (err) {
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
		pthread_join(rt, NULL);
		fail_msg("pthread_create: %s", strerror(err));
	}
	for (;;) {
		__u64 flips = __atomic_load_n(&r->flips, __ATOMIC_RELAXED);
		__u64 ms;

		usleep(20000);
		now = ktest_now_ns();
		ms = (now - t0) / 1000000;
		if (ms >= st->max_ms)
			break;
		if (r->writer_err || r->reader_err || r->writer_what)
			break;
		if (ms < st->min_ms || flips < st->min_flips || bss->reads < st->min_reads ||
		    bss->gen_changes < st->min_gen_changes)
			continue;
		if (bss->torn < st->min_torn)
			continue;
		break;
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	pthread_join(wt, NULL);
	pthread_join(rt, NULL);
	r->elapsed_ms = (ktest_now_ns() - t0) / 1000000;
	r->reads = bss->reads;
	r->torn = bss->torn;
	r->bad_elems = bss->bad_elems;
	r->gen_changes = bss->gen_changes;
	r->first_bad_gen = bss->first_bad_gen;
	r->first_bad_val = bss->first_bad_val;

	if (r->pin_err)
		printf("  warning: sched_setaffinity: %s (threads not pinned)\n",
		       strerror(-r->pin_err));
	if (r->writer_err || r->writer_what)
		fail_msg("%s: writer: %s: %s", ktest_name(), r->writer_what ?: "?",
			 strerror(-r->writer_err));
	if (r->reader_err)
		fail_msg("%s: reader: bpf_prog_test_run_opts: %s", ktest_name(),
			 strerror(-r->reader_err));
	/* Frees the group (waits for the last grace period unless unsafe). */
	ktest_group_free(r->g);
	r->g = NULL;
}

static void report(const char *label, const struct run *r, const struct reader_cfg *cfg)
{
	printf("  torn-read [%s]: reads %llu, flips %llu (reader saw %llu), torn %llu "
	       "(elements %llu), %.1f s, busy loop %u us in 1 of %u reads\n",
	       label, (unsigned long long)r->reads, (unsigned long long)r->flips,
	       (unsigned long long)r->gen_changes, (unsigned long long)r->torn,
	       (unsigned long long)r->bad_elems, r->elapsed_ms / 1000.0, cfg->spin_us,
	       cfg->spin_mask + 1);
	if (r->torn)
		printf("    first torn read: snapshot generation %llu, element %llu\n",
		       (unsigned long long)r->first_bad_gen, (unsigned long long)r->first_bad_val);
	fflush(stdout);
}

static void test_torn_no_grace_control(void **state)
{
	static const __u32 spins_us[] = { 20, 100, 400, 1600 };
	struct TORN() * skel;
	struct reader_cfg cfg;
	struct run r;
	unsigned int i;

	(void)state;
	ktest_begin();
	skel = load_skel();
	memset(&r, 0, sizeof(r));
	r.skel = skel;
	for (i = 0; i < sizeof(spins_us) / sizeof(spins_us[0]); i++) {
		struct stop_at st = {
			.min_flips = MIN_FLIPS,
			.min_ms = CTRL_STAGE_MIN_MS,
			.max_ms = CTRL_STAGE_MAX_MS,
			.min_torn = CTRL_MIN_TORN,
		};

		cfg = make_cfg(skel, spins_us[i]);
		do_run(&r, &cfg, true, &st);
		report("no grace period", &r, &cfg);
		if (r.torn >= CTRL_MIN_TORN && r.flips >= MIN_FLIPS)
			break;
	}
	if (!r.torn)
		fail_msg("%s: no grace period: no torn read in %llu reads over %llu flips even "
			 "with a %u us reader: this test cannot tell a grace period from none",
			 ktest_name(), (unsigned long long)r.reads, (unsigned long long)r.flips,
			 cfg.spin_us);
	chosen = cfg;
	chosen_valid = true;
}

static void test_torn_grace_period(void **state)
{
	struct stop_at st = {
		.min_flips = MIN_FLIPS,
		.min_reads = MIN_READS,
		.min_gen_changes = MIN_FLIPS,
		.max_ms = GRACE_MAX_MS,
	};
	struct TORN() * skel;
	struct reader_cfg cfg;
	struct run r;

	(void)state;
	ktest_begin();
	skel = load_skel();
	memset(&r, 0, sizeof(r));
	r.skel = skel;
	if (!chosen_valid)
		printf("  (negative control did not choose a reader; using a %u us busy loop)\n",
		       chosen.spin_us);
	cfg = make_cfg(skel, chosen.spin_us);
	do_run(&r, &cfg, false, &st);
	report("grace period", &r, &cfg);
	if (r.torn)
		fail_msg("%s: %llu torn reads with the grace period (first: snapshot generation "
			 "%llu, element %llu)",
			 ktest_name(), (unsigned long long)r.torn,
			 (unsigned long long)r.first_bad_gen, (unsigned long long)r.first_bad_val);
	if (r.reads < MIN_READS || r.flips < MIN_FLIPS || r.gen_changes < MIN_FLIPS)
		fail_msg("%s: not enough overlap in %.1f s: %llu reads (want %llu), %llu flips, "
			 "reader saw %llu (want %llu)",
			 ktest_name(), r.elapsed_ms / 1000.0, (unsigned long long)r.reads,
			 (unsigned long long)MIN_READS, (unsigned long long)r.flips,
			 (unsigned long long)r.gen_changes, (unsigned long long)MIN_FLIPS);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		KTEST(test_torn_no_grace_control),
		KTEST(test_torn_grace_period),
	};
	/* clang-format on */

	return cmocka_run_group_tests_name("kernel/torn", tests, NULL, NULL);
}
