// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 8: per-packet cost of A/B lookup shapes, through BPF_PROG_TEST_RUN (kernel-reported
 * ns per iteration, one 64-byte UDP frame), against an XDP program that only returns XDP_PASS.
 *
 * The programs are the kernel test's (tests/kernel/abmap_inline.bpf.c, skeleton
 * "abmap_inline"): one lookup in a plain ARRAY; a naive A/B lookup whose map pointer is chosen
 * before one call site (the verifier keeps the helper call); the naive `if` form (inlined or not
 * as clang compiles it); 2 abmap_lookup() in XDP and in tc; a load balancer's shape (parse, 6
 * lookups); 8 lookups in a loop and through bpf_loop(). test_inline asserts which of them the
 * verifier inlines; this table says what that is worth. Every A/B shape runs with side A and
 * with side B live (the pointer map is written before each run, untimed).
 *
 * Every measured run is checked: its verdict, and the value the program published in .bss,
 * which must come from the live side.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "abmap.h"
#include "bench.h"
#include "packet.h"
#include "abmap_inline.h"
#include "abmap_inline.skel.h"

enum shape_id {
	S_PASS,
	S_SINGLE,
	S_NAIVE,
	S_NAIVE_IF,
	S_INLINE,
	S_TC,
	S_LB,
	S_LOOP,
	S_CB,
	NR_SHAPES,
};

struct shape {
	const char *prog; /* program name in abmap_inline.bpf.c */
	const char *what;
	bool tc;
	bool ab; /* reads the pointer: one row per side */
};

static const struct shape shapes[NR_SHAPES] = {
	[S_PASS] = { "pass_xdp", "XDP_PASS baseline", false, false },
	[S_SINGLE] = { "single_xdp", "1 lookup, one plain ARRAY", false, false },
	[S_NAIVE] = { "naive_xdp", "pointer + 1 naive A/B lookup (helper call)", false, true },
	[S_NAIVE_IF] = { "naive_if_xdp", "pointer + 1 naive `if` A/B lookup", false, true },
	[S_INLINE] = { "inline_xdp", "pointer + 2 abmap_lookup()", false, true },
	[S_TC] = { "inline_tc", "tc: pointer + 2 abmap_lookup()", true, true },
	[S_LB] = { "inline_lb", "parse + pointer + 6 lookups (LB shape)", false, true },
	[S_LOOP] = { "inline_loop", "pointer + 8 abmap_lookup() in a loop", false, true },
	[S_CB] = { "inline_cb", "pointer + 8 abmap_lookup() via bpf_loop", false, true },
};

struct inline_contender {
	enum shape_id shape;
	int side; /* ABMAP_SIDE_A or ABMAP_SIDE_B; A for the shapes without a pointer */
	int fd;
	int row;
};

/* ---------------------------------------------------------------------------------------------
 * Maps: both sides hold the same layout, with a different tag (what test_inline stores too)
 */

static int put(const struct bpf_map *map, __u32 key, const void *value)
{
	return bpf_map_update_elem(bpf_map__fd(map), &key, value, BPF_ANY) ? -errno : 0;
}

static int fill_side(struct abmap_inline *s, int side)
{
	__u64 tag = side ? TAG_B : TAG_A;
	__u32 i, v;
	int e = 0;

	for (i = 0; !e && i < BACKEND_ENTRIES; i++) {
		struct backend be = { .addr = i, .weight = i, .tag = tag + i };

		e = put(side ? s->maps.backends_b : s->maps.backends_a, i, &be);
	}
	for (i = 0; !e && i < VIP_ENTRIES; i++) {
		struct vip vip = { .first_backend = FIRST_BACKEND + i,
				   .nr_backends = VIP_BACKENDS };

		e = put(side ? s->maps.vips_b : s->maps.vips_a, i, &vip);
	}
	for (i = 0; !e && i < SMALL_ENTRIES; i++) {
		v = CFG_BASE + i;
		e = put(side ? s->maps.cfg_b : s->maps.cfg_a, i, &v);
		v = (__u32)tag + i;
		if (!e)
			e = put(side ? s->maps.naive_b : s->maps.naive_a, i, &v);
	}
	v = BACKEND_ENTRIES;
	return e ? e : put(s->maps.backends_len, side, &v);
}

static int fill(struct abmap_inline *s)
{
	__u32 i, v;
	int e;

	e = fill_side(s, ABMAP_SIDE_A);
	if (!e)
		e = fill_side(s, ABMAP_SIDE_B);
	for (i = 0; !e && i < SMALL_ENTRIES; i++) {
		v = PLAIN_BASE + i;
		e = put(s->maps.plain, i, &v);
	}
	return e;
}

/* Make @side live: generation 2 + side (the side is the low bit, not the whole value). */
static int set_side(struct abmap_inline *s, int side)
{
	struct abmap_pointer p;

	memset(&p, 0, sizeof(p));
	p.generation = 2 + (__u64)side;
	return put(s->maps.ptr, 0, &p);
}

/* ---------------------------------------------------------------------------------------------
 * What each program publishes, and what it must be (rx queue 0: key 0 where the key is a queue)
 */

static __u64 *seen_of(struct abmap_inline *s, enum shape_id id)
{
	switch (id) {
	case S_SINGLE:
		return &s->bss->single_seen;
	case S_NAIVE:
	case S_NAIVE_IF:
		return &s->bss->naive_seen;
	case S_INLINE:
		return &s->bss->xdp_seen;
	case S_TC:
		return &s->bss->tc_seen;
	case S_LB:
		return &s->bss->lb_seen;
	case S_LOOP:
		return &s->bss->loop_seen;
	case S_CB:
		return &s->bss->cb_seen;
	default:
		return NULL;
	}
}

static __u64 want_of(enum shape_id id, int side)
{
	__u64 tag = side ? TAG_B : TAG_A, sum = LOOP_SLOTS * tag;
	__u32 i;

	switch (id) {
	case S_SINGLE:
		return PLAIN_BASE;
	case S_NAIVE:
	case S_NAIVE_IF:
		return (__u32)tag;
	case S_INLINE:
		return tag + FIRST_BACKEND;
	case S_TC:
		return tag + CFG_BASE;
	case S_LB: /* VIP LB_PORT % 64; its heaviest backend is its last one */
		return tag + FIRST_BACKEND + LB_PORT % VIP_ENTRIES + VIP_BACKENDS - 1;
	case S_LOOP:
	case S_CB:
		for (i = 0; i < LOOP_SLOTS; i++)
			sum += i;
		return sum;
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------------------------------------
 * Runs
 */

static void make_frame(struct frame *f)
{
	struct tl_udp4 spec = {
		.dst_mac = { 0x02, 0, 0, 0, 0, 0x02 },
		.src_mac = { 0x02, 0, 0, 0, 0, 0x01 },
		.saddr = htonl(0x0a000001),
		.daddr = htonl(0x0a000002),
		.sport = htons(12345),
		.dport = htons(LB_PORT),
		.payload = 22,
	};

	memset(f, 0, sizeof(*f));
	f->len = (__u32)tl_udp4_build(&spec, f->data, sizeof(f->data));
}

/* One checked run of @c, @repeat iterations; returns ns/packet, or -errno with @msg. */
static long measure(struct abmap_inline *s, const struct inline_contender *c,
		    const struct frame *in, __u32 repeat, char *msg, size_t len)
{
	const struct shape *sh = &shapes[c->shape];
	__u32 want_ret = sh->tc ? TC_ACT_OK : XDP_PASS;
	__u64 *seen = seen_of(s, c->shape);
	int e;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = in->len,
		    .repeat = repeat);

	e = set_side(s, c->side);
	if (e) {
		snprintf(msg, len, "writing the pointer map: %s", strerror(-e));
		return e;
	}
	if (seen)
		*seen = 0;
	if (bpf_prog_test_run_opts(c->fd, &o)) {
		e = -errno;
		snprintf(msg, len, "bpf_prog_test_run_opts(%s): %s", sh->prog, strerror(-e));
		return e;
	}
	if (o.retval != want_ret) {
		snprintf(msg, len, "%s returned %u, expected %u", sh->prog, o.retval, want_ret);
		return -EBADMSG;
	}
	if (seen && *seen != want_of(c->shape, c->side)) {
		snprintf(msg, len, "%s saw %#llx on side %c, expected %#llx", sh->prog,
			 (unsigned long long)*seen, c->side ? 'B' : 'A',
			 (unsigned long long)want_of(c->shape, c->side));
		return -EBADMSG;
	}
	return o.duration;
}

static void add_row(struct table *t, struct inline_contender *c, enum shape_id id, int side)
{
	char name[96];

	if (shapes[id].ab)
		snprintf(name, sizeof(name), "side %c: %s", side ? 'B' : 'A', shapes[id].what);
	else
		snprintf(name, sizeof(name), "%s", shapes[id].what);
	c->shape = id;
	c->side = side;
	/* Row 0 is the XDP_PASS baseline: every ratio is against it. */
	c->row = table_row(t, name, "ns", id == S_PASS ? -1 : 0);
}

/* Rows: the shapes without a pointer, then every A/B shape for side A, then for side B. */
static unsigned int add_rows(struct table *t, struct inline_contender *cs)
{
	unsigned int n = 0;
	int side, id;

	for (id = 0; id < NR_SHAPES; id++)
		if (!shapes[id].ab)
			add_row(t, &cs[n++], (enum shape_id)id, ABMAP_SIDE_A);
	for (side = ABMAP_SIDE_A; side <= ABMAP_SIDE_B; side++)
		for (id = 0; id < NR_SHAPES; id++)
			if (shapes[id].ab)
				add_row(t, &cs[n++], (enum shape_id)id, side);
	return n;
}

static void run_all(struct table *t, struct abmap_inline *s, struct inline_contender *cs,
		    unsigned int nc)
{
	char err[BENCH_MSG_LEN];
	struct frame in;
	unsigned int i, r, k;

	make_frame(&in);
	for (i = 0; i < nc; i++) {
		struct bpf_program *p =
			bpf_object__find_program_by_name(s->obj, shapes[cs[i].shape].prog);

		cs[i].fd = p ? bpf_program__fd(p) : -1;
		if (cs[i].fd < 0)
			row_fail(t, cs[i].row, "no program %s", shapes[cs[i].shape].prog);
		else if (measure(s, &cs[i], &in, cfg.pkt_rep < 1000 ? cfg.pkt_rep : 1000, err,
				 sizeof(err)) < 0)
			row_fail(t, cs[i].row, "warm-up: %s", err);
	}
	for (r = 0; r < cfg.reps; r++) {
		for (k = 0; k < nc; k++) {
			const struct inline_contender *c = &cs[(r + k) % nc];
			long ns;

			if (t->rows[c->row].state == ROW_FAILED)
				continue;
			ns = measure(s, c, &in, cfg.pkt_rep, err, sizeof(err));
			if (ns < 0)
				row_fail(t, c->row, "%s", err);
			else
				row_add(t, c->row, (double)ns);
		}
	}
}

struct table *bench_inline(void)
{
	struct inline_contender cs[2 * NR_SHAPES];
	struct abmap_inline *s;
	unsigned int nc;
	struct table *t;
	int e;

	t = table_new(
		"inline", "vs XDP_PASS",
		"8. A/B lookup shapes, per packet, BPF_PROG_TEST_RUN, 64-byte UDP, repeat %s, "
		"kernel-reported (%u runs each, interleaved)",
		grp(cfg.pkt_rep), cfg.reps);
	if (!t)
		return NULL;
	nc = add_rows(t, cs);
	table_note(t,
		   "programs of tests/kernel/abmap_inline.bpf.c; test_inline asserts that "
		   "abmap_lookup() is inlined and the naive form is not; every run's verdict and "
		   "the value it read from the live side are checked");
	table_note(t, "the tc row runs on an skb: its test run costs more than XDP's before any "
		      "lookup (see table 4's TC_ACT_OK baseline), and its ratio includes that");
	if (!cfg.kernel) {
		table_skip_all(t, "needs root (BPF programs)");
		return t;
	}
	s = abmap_inline__open_and_load();
	if (!s) {
		table_fail_all(t, "loading abmap_inline: %s", strerror(errno));
		return t;
	}
	e = fill(s);
	if (e) {
		table_fail_all(t, "filling abmap_inline's maps: %s", strerror(-e));
		abmap_inline__destroy(s);
		return t;
	}
	progress("8: A/B lookup shapes, repeat %u", cfg.pkt_rep);
	run_all(t, s, cs, nc);
	abmap_inline__destroy(s);
	return t;
}
