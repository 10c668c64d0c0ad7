// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 3: when does a flip take effect, and how long until its grace period has passed?
 *
 * The writer (this thread, on cfg.cpu) commits a one-entry change to udplb's configuration
 * group (an unused backend slot) and then calls abmap_group_sync(). The other CPU is
 *   - idle;
 *   - running probe_xdp in a loop (BPF_PROG_TEST_RUN, one invocation per call): a tiny program
 *     that records the time (bpf_ktime_get_ns(), CLOCK_MONOTONIC) of the first invocation that
 *     sees the new generation of udplb's pointer;
 *   - busy running udplb_xdp in the same way (front_xdp with watch set records the generation,
 *     then tail-calls udplb_xdp on a conntrack-hit packet).
 * Measured: commit start -> the commit returns; -> the first invocation on the other CPU that
 * reads the new generation; -> abmap_group_sync() returns. One invocation per test run call
 * (repeat 1): with repeat > 1 an XDP test run swaps the XDP dispatcher around the run, which
 * itself waits for RCU grace periods. The probe's own period bounds the visibility resolution.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "udplb_shared.h"
#include "udplb.skel.h"
#include "bench_progs.skel.h"

#define SLOT (UDPLB_MAX_BACKENDS - 1) /* a backend slot the configuration does not use */
#define WARM_CALLS 2000
#define VISIBLE_TIMEOUT_NS 2000000000ULL

enum mode {
	M_IDLE,
	M_PROBE,
	M_BUSY,
	NR_MODES,
};

struct other {
	pthread_t th;
	int prog_fd;
	__u32 want;
	struct frame in;
	int stop;
	__u64 calls;
	int err;
	__u32 bad_retval;
};

static void *other_main(void *arg)
{
	struct other *o = arg;
	int e = pin_to_cpu(cfg.other_cpu);

	if (e) {
		__atomic_store_n(&o->err, e, __ATOMIC_RELAXED);
		return NULL;
	}
	while (!__atomic_load_n(&o->stop, __ATOMIC_RELAXED)) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = o->in.data,
			    .data_size_in = o->in.len, .repeat = 1);

		if (bpf_prog_test_run_opts(o->prog_fd, &opts)) {
			__atomic_store_n(&o->err, -errno, __ATOMIC_RELAXED);
			break;
		}
		if (opts.retval != o->want) {
			o->bad_retval = opts.retval;
			__atomic_store_n(&o->err, -EBADMSG, __ATOMIC_RELAXED);
			break;
		}
		__atomic_add_fetch(&o->calls, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int other_start(struct other *o, enum mode mode)
{
	__u32 zero = 0;
	int fd, e;
	__u64 t0;

	memset(o, 0, sizeof(*o));
	frame_dsr(&o->in);
	fx.bp->bss->vary_source = 0;
	fx.bp->bss->restore_ipip = 0;
	fx.bp->bss->watch = 1;
	if (mode == M_PROBE) {
		o->prog_fd = bpf_program__fd(fx.bp->progs.probe_xdp);
		o->want = XDP_PASS;
	} else {
		fd = bpf_program__fd(fx.lb->progs.udplb_xdp);
		if (bpf_map_update_elem(bpf_map__fd(fx.bp->maps.jmp_xdp), &zero, &fd, BPF_ANY))
			return -errno;
		o->prog_fd = bpf_program__fd(fx.bp->progs.front_xdp);
		o->want = XDP_TX;
	}
	e = -pthread_create(&o->th, NULL, other_main, o);
	if (e)
		return e;
	t0 = now_ns();
	while (__atomic_load_n(&o->calls, __ATOMIC_RELAXED) < WARM_CALLS &&
	       !__atomic_load_n(&o->err, __ATOMIC_RELAXED) && now_ns() - t0 < 1000000000ULL)
		usleep(100);
	return 0;
}

static int other_stop(struct other *o)
{
	__atomic_store_n(&o->stop, 1, __ATOMIC_RELAXED);
	pthread_join(o->th, NULL);
	fx.bp->bss->watch = 0;
	return o->err;
}

/* Change the unused backend slot (its weight toggles) and flip. */
static int commit_one(unsigned int round)
{
	struct udplb_backend be;
	struct abmap_txn *txn;
	__u32 key = SLOT;
	int e;

	memset(&be, 0, sizeof(be));
	be.weight = (round & 1) ^ 1; /* 1 first: lb_commit() left it zero */
	txn = abmap_txn_begin(fx.maps.group);
	if (!txn)
		return -errno;
	e = abmap_txn_update(txn, fx.maps.backends, &key, &be);
	if (e) {
		abmap_txn_abort(txn);
		return e;
	}
	return abmap_txn_commit(txn);
}

struct table *bench_flip(void)
{
	static const char *const mode_names[NR_MODES] = { "other CPU idle",
							  "other CPU runs a probe program",
							  "other CPU busy running udplb_xdp" };
	int row_commit, row_commit_busy, row_vis_probe, row_vis_busy, row_sync_idle, row_sync_busy;
	double period_sum[NR_MODES] = { 0 };
	unsigned int period_n[NR_MODES] = { 0 }, r, k;
	char err[BENCH_MSG_LEN];
	unsigned int round = 0;
	struct table *t;
	int e;

	t = table_new("flip", "vs idle",
		      "3. Flip visibility and grace period: commit of 1 entry in udplb's group "
		      "(%u runs each, interleaved)",
		      cfg.reps);
	if (!t)
		return NULL;
	row_commit = table_row(t, "commit -> commit returns, other CPU idle", "us", -1);
	t->rows[row_commit].ref = row_commit;
	row_commit_busy = table_row(t, "commit -> commit returns, udplb_xdp busy on the other CPU",
				    "us", row_commit);
	row_vis_probe =
		table_row(t, "commit -> flip visible: probe program on the other CPU", "us", -1);
	row_vis_busy =
		table_row(t, "commit -> flip visible: udplb_xdp busy on the other CPU", "us", -1);
	row_sync_idle =
		table_row(t, "commit -> abmap_group_sync() returns, other CPU idle", "ms", -1);
	t->rows[row_sync_idle].ref = row_sync_idle;
	row_sync_busy = table_row(t, "commit -> abmap_group_sync() returns, udplb_xdp busy", "ms",
				  row_sync_idle);
	table_note(t, "visible = bpf_ktime_get_ns() of the first invocation on the other CPU that "
		      "reads the new generation, minus the commit's start (CLOCK_MONOTONIC both)");
	table_note(t, "the grace period is membarrier(MEMBARRIER_CMD_GLOBAL) = synchronize_rcu(), "
		      "run by libabmap's background thread after the flip; its length follows the "
		      "kernel's RCU and tick, not libabmap");
	if (!cfg.kernel) {
		table_skip_all(t, "needs root (BPF programs)");
		return t;
	}
	if (cfg.other_cpu < 0) {
		table_skip_all(t, "needs a second CPU");
		return t;
	}
	e = lbfx_setup(err, sizeof(err));
	if (e) {
		table_fail_all(t, "%s", err);
		return t;
	}
	progress("3: flip visibility and grace period");
	/* Untimed: the first commit after lb_commit() catches up the whole configuration. */
	e = abmap_group_sync(fx.maps.group);
	if (!e)
		e = commit_one(round++);
	if (e) {
		table_fail_all(t, "first commit: %s", strerror(-e));
		return t;
	}
	for (r = 0; r < cfg.reps; r++) {
		for (k = 0; k < NR_MODES; k++) {
			enum mode mode = (enum mode)((r + k) % NR_MODES);
			int row_vis = mode == M_PROBE ? row_vis_probe : row_vis_busy;
			__u64 gen0, t0, t1, t2, tr0, calls0 = 0;
			struct other o;

			if (mode != M_IDLE) {
				e = other_start(&o, mode);
				if (e) {
					row_fail(t, row_vis, "starting the other CPU's loop: %s",
						 strerror(-e));
					continue;
				}
				calls0 = __atomic_load_n(&o.calls, __ATOMIC_RELAXED);
			}
			tr0 = now_ns();
			e = abmap_group_sync(fx.maps.group);
			if (!e)
				e = abmap_group_generation(fx.maps.group, &gen0);
			if (e) {
				table_fail_all(t, "before the commit: %s", strerror(-e));
				if (mode != M_IDLE)
					other_stop(&o);
				goto out;
			}
			t0 = now_ns();
			e = commit_one(round++);
			t1 = now_ns();
			if (!e)
				e = abmap_group_sync(fx.maps.group);
			t2 = now_ns();
			if (e) {
				table_fail_all(t, "commit or sync: %s", strerror(-e));
				if (mode != M_IDLE)
					other_stop(&o);
				goto out;
			}
			if (mode == M_IDLE) {
				row_add(t, row_commit, (t1 - t0) / 1e3);
				row_add(t, row_sync_idle, (t2 - t0) / 1e6);
				continue;
			}
			/* The other CPU must see the new generation; then stop it. */
			while (__atomic_load_n(&fx.bp->bss->seen_gen, __ATOMIC_ACQUIRE) !=
				       gen0 + 1 &&
			       !__atomic_load_n(&o.err, __ATOMIC_RELAXED) &&
			       now_ns() - t0 < VISIBLE_TIMEOUT_NS)
				usleep(50);
			{
				__u64 seen =
					__atomic_load_n(&fx.bp->bss->seen_gen, __ATOMIC_ACQUIRE);
				__u64 seen_ns = fx.bp->bss->seen_ns;
				__u64 calls = __atomic_load_n(&o.calls, __ATOMIC_RELAXED) - calls0;
				__u64 tend = now_ns();

				e = other_stop(&o);
				if (e) {
					row_fail(t, row_vis, "other CPU: %s (verdict %u)",
						 strerror(-e), o.bad_retval);
					continue;
				}
				if (seen != gen0 + 1) {
					row_fail(
						t, row_vis,
						"the other CPU never saw generation %llu (saw %llu)",
						(unsigned long long)gen0 + 1,
						(unsigned long long)seen);
					continue;
				}
				row_add(t, row_vis, ((double)seen_ns - (double)t0) / 1e3);
				if (calls) {
					period_sum[mode] += (double)(tend - tr0) / calls / 1e3;
					period_n[mode]++;
				}
			}
			if (mode == M_BUSY) {
				row_add(t, row_commit_busy, (t1 - t0) / 1e3);
				row_add(t, row_sync_busy, (t2 - t0) / 1e6);
			}
		}
	}
	/* Leave the slot as lb_commit() wrote it. */
	e = abmap_group_sync(fx.maps.group);
	if (!e && (round & 1))
		e = commit_one(round);
	if (e)
		table_note(t, "restoring the backend slot: %s", strerror(-e));
	for (k = M_PROBE; k < NR_MODES; k++)
		if (period_n[k])
			table_note(t, "%s: one invocation every %.2f us on average", mode_names[k],
				   period_sum[k] / period_n[k]);
out:
	return t;
}
