// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 7: the control plane on real maps (a udplb instance loaded through the tests' fixture,
 * tests/lib): what a one-shot `udplb apply` costs when the file matches the live configuration,
 * lb_read() then lb_commit() returning LB_COMMIT_UNCHANGED (nothing written, no flip), for
 * 16 VIPs x 256 backends with the default rings of 65,537 slots. The unchanged check reads the
 * live tables in bulk (abmap_array_read(): one copy of the mmapped rings) and rebuilds the
 * Maglev rings to compare them. Also the first commit of that configuration, for scale.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "bench.h"
#include "udplb_fixture.h"

#define AP_VIPS 16
#define AP_BACKENDS 256

static int build_config(struct lb_state *s, struct lb_err *err)
{
	__u32 i, j;
	int e = 0;

	lb_state_init(s);
	for (i = 0; !e && i < AP_VIPS; i++) {
		struct lb_vip v = { .fwd = UDPLB_FWD_DSR };

		v.key.addr = htonl(0x0a460000u + i + 1); /* 10.70.0.i */
		v.key.port = htons(53);
		e = lb_vip_add(s, &v, err);
		for (j = 0; !e && j < AP_BACKENDS; j++) {
			/* 10.71.i.j+1; state 0: lb_backend_add() makes it active */
			struct lb_backend b = tl_backend(htonl(0x0a470000u + i * 256 + j + 1),
							 htons(53), 1 + j % 4, 0,
							 (__u8)i << 8 | (__u8)j);

			e = lb_backend_add(s, &v.key, &b, err);
		}
	}
	return e;
}

/* One unchanged apply: read the live state, commit the file's state. */
static int unchanged_apply(struct tl_udplb *fx, const struct lb_state *file, double *ms,
			   struct lb_err *err)
{
	struct lb_state live;
	__u64 t0, t1;
	int e;

	t0 = now_ns();
	e = lb_read(&fx->maps, &live, err);
	if (!e)
		e = tl_udplb_commit(fx, file, err);
	t1 = now_ns();
	lb_state_free(&live);
	*ms = (t1 - t0) / 1e6;
	return e;
}

static void measure(struct table *t, int row_first, int row_same, struct tl_udplb *fx,
		    const struct lb_state *s)
{
	struct lb_err err = {};
	unsigned int r;
	__u64 t0, t1;
	double ms;
	int e;

	t0 = now_ns();
	e = tl_udplb_commit(fx, s, &err);
	t1 = now_ns();
	if (e) {
		table_fail_all(t, "first commit: %d: %s", e, err.msg);
		return;
	}
	row_add(t, row_first, (t1 - t0) / 1e6);
	progress("7: unchanged apply, %u VIPs x %u backends", AP_VIPS, AP_BACKENDS);
	for (r = 0; r < cfg.reps; r++) {
		e = unchanged_apply(fx, s, &ms, &err);
		if (e != LB_COMMIT_UNCHANGED) {
			row_fail(t, row_same, "lb_commit returned %d, not LB_COMMIT_UNCHANGED: %s",
				 e, err.msg);
			return;
		}
		row_add(t, row_same, ms);
	}
}

struct table *bench_apply(void)
{
	struct abmap_group_opts go;
	struct tl_udplb fx;
	struct lb_err err = {};
	struct lb_state s;
	int first, same, e;
	struct table *t;

	t = table_new("apply", "", "7. Control plane on real maps: apply of %u VIPs x %u backends",
		      AP_VIPS, AP_BACKENDS);
	if (!t)
		return NULL;
	first = table_row(t, "first commit (empty maps -> 16 x 256)", "ms", -1);
	same = table_row(t, "unchanged `apply` of 16 VIPs x 256 backends", "ms", -1);
	row_target(t, same, TGT_MAX, 5);
	table_note(t, "unchanged: lb_read() + lb_commit() returning LB_COMMIT_UNCHANGED (no write, "
		      "no flip); rings of 65,537 slots, weights 1..4, MACs stored");
	if (!cfg.kernel) {
		table_skip_all(t, "needs root (BPF maps)");
		return t;
	}
	bench_group_opts(&go);
	e = build_config(&s, &err);
	if (!e)
		e = tl_udplb_load(&fx, &go, &err);
	if (e) {
		table_fail_all(t, "setup: %s", err.msg);
		lb_state_free(&s);
		return t;
	}
	measure(t, first, same, &fx, &s);
	tl_udplb_close(&fx);
	lb_state_free(&s);
	return t;
}
