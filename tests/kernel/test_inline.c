// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A/B array lookups made through abmap_bpf.h must stay inlined by the verifier.
 *
 * The verifier replaces bpf_map_lookup_elem() on an ARRAY by a few instructions only when every
 * path reaching a call instruction passes the same map. If clang merges the lookups of the two
 * sides into one call site with a phi'd map pointer, the call is "poisoned" and stays a real
 * helper call: 26 ns instead of 10 ns per packet (DESIGN.md section 3).
 *
 * The test loads abmap_inline.bpf.c, reads back each program's translated ("xlated") code and
 * decodes it with xlated.c: a helper call (BPF_JMP | BPF_CALL, src_reg 0) whose target resolves
 * through /proc/kallsyms to *map_lookup_elem is a lookup that was not inlined; the sequence
 * emitted by array_map_gen_lookup() is one that was, and the ld_imm64 that loads r1 before it
 * names the map.
 * A naive program is the negative control: it must show the helper call, or the test cannot fail.
 *
 * What each of these programs costs per packet is measured by the bench (make bench, table 8,
 * bench/bench_inline.c), not here: a test asserts, the bench measures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include "abmap_inline.h"
#include "ktest.h"
#include "xlated.h"
#include "abmap_inline.skel.h"

/* Map ids of the loaded object, to name the maps the inlined lookups read. */
static struct {
	__u32 id;
	const char *name;
} map_names[32];
static unsigned int nr_map_names;

static void skel_destroy(void *skel)
{
	abmap_inline__destroy(skel);
	nr_map_names = 0;
}

static struct abmap_inline *skel_load(void)
{
	struct abmap_inline *skel;
	struct bpf_map *map;

	skel = abmap_inline__open_and_load();
	if (!skel)
		fail_msg("%s: abmap_inline__open_and_load: %s", ktest_name(), strerror(errno));
	ktest_defer(skel_destroy, skel);
	nr_map_names = 0;
	bpf_object__for_each_map(map, skel->obj) {
		if (nr_map_names >= sizeof(map_names) / sizeof(map_names[0]))
			break;
		map_names[nr_map_names].id = ktest_map_id(bpf_map__fd(map));
		map_names[nr_map_names].name = bpf_map__name(map);
		nr_map_names++;
	}
	return skel;
}

static const char *map_name(__u32 id)
{
	unsigned int i;

	for (i = 0; i < nr_map_names; i++)
		if (map_names[i].id == id)
			return map_names[i].name;
	return "?";
}

static __u32 map_id(const struct bpf_map *map)
{
	return ktest_map_id(bpf_map__fd(map));
}

/* -------------------------------------------------------------------------------------------
 * Decoder (xlated.c), with this test's report of each program
 */

/* Said once, at the first call: without __bpf_call_base no helper call can be named. */
static void note_call_base(void)
{
	static bool done;

	if (!done && !xlated_call_base())
		printf("  note: __bpf_call_base not in /proc/kallsyms: every helper call counts "
		       "as a lookup call\n");
	done = true;
}

/*
 * Decode @prog into @xp and print what it holds. Returns its helper calls to *map_lookup_elem,
 * or to an address kallsyms cannot name (the test errs on failing).
 */
static unsigned int decode(const struct bpf_program *prog, struct xlated_prog *xp)
{
	unsigned int i, lookup_calls = 0;

	xlated_scan(prog, xp);
	printf("  %-13s prog id %-5u %3u insns:", bpf_program__name(prog), xp->prog_id, xp->insns);
	for (i = 0; i < xp->nr_items; i++) {
		const struct xlated_item *it = &xp->items[i];

		switch (it->kind) {
		case XLATED_HELPER:
			note_call_base();
			if (!it->sym[0]) {
				printf(" [%u: call helper#%d (unresolved)]", it->insn, it->imm);
				lookup_calls++;
				break;
			}
			if (strstr(it->sym, "map_lookup_elem"))
				lookup_calls++;
			printf(" [%u: call %s]", it->insn, it->sym);
			break;
		case XLATED_OTHER_CALL:
			note_call_base();
			break;
		case XLATED_ARRAY:
			printf(" [%u: inlined %s]", it->insn,
			       it->map_id ? map_name(it->map_id) : "(map unknown)");
			break;
		default: /* no PERCPU_ARRAY in abmap_inline.bpf.c */
			break;
		}
	}
	printf("\n  %-13s inlined array lookups %u, helper calls %u (map_lookup_elem %u), "
	       "bpf-to-bpf/kfunc calls %u\n",
	       "", xp->count[XLATED_ARRAY], xp->count[XLATED_HELPER], lookup_calls,
	       xp->count[XLATED_OTHER_CALL]);
	return lookup_calls;
}

static unsigned int inlined_on(const struct xlated_prog *xp, __u32 id)
{
	return xlated_count_map(xp, XLATED_ARRAY, id);
}

/*
 * Every lookup of @prog is inlined, and so is at least one lookup of each of @maps. Prints what
 * is wrong and returns the number of problems, so that one run reports every program.
 */
static unsigned int check_all_inlined(const struct bpf_program *prog, const struct bpf_map **maps,
				      unsigned int nr_maps)
{
	unsigned int i, problems = 0, lookup_calls;
	struct xlated_prog xp;

	lookup_calls = decode(prog, &xp);
	if (lookup_calls) {
		printf("  FAIL: %s (prog id %u) makes %u real bpf_map_lookup_elem call(s): an A/B "
		       "lookup through abmap_bpf.h was not inlined\n",
		       bpf_program__name(prog), xp.prog_id, lookup_calls);
		problems++;
	}
	for (i = 0; i < nr_maps; i++) {
		__u32 id = map_id(maps[i]);

		if (!inlined_on(&xp, id)) {
			printf("  FAIL: %s (prog id %u): no inlined lookup of map %s (id %u)\n",
			       bpf_program__name(prog), xp.prog_id, bpf_map__name(maps[i]), id);
			problems++;
		}
	}
	return problems;
}

/* -------------------------------------------------------------------------------------------
 * Inlining
 */

static void test_abmap_lookups_inlined(void **state)
{
	unsigned int problems = 0;
	struct abmap_inline *s;
	(void)state;

	ktest_begin();
	s = skel_load();
	{
		const struct bpf_map *m[] = { s->maps.ptr, s->maps.vips_a, s->maps.vips_b,
					      s->maps.backends_a, s->maps.backends_b };

		problems += check_all_inlined(s->progs.inline_xdp, m, 5);
	}
	{
		const struct bpf_map *m[] = { s->maps.ptr, s->maps.cfg_a, s->maps.cfg_b,
					      s->maps.backends_a, s->maps.backends_b };

		problems += check_all_inlined(s->progs.inline_tc, m, 5);
	}
	{
		const struct bpf_map *m[] = { s->maps.ptr,	  s->maps.cfg_a,
					      s->maps.cfg_b,	  s->maps.vips_a,
					      s->maps.vips_b,	  s->maps.backends_len,
					      s->maps.backends_a, s->maps.backends_b };

		problems += check_all_inlined(s->progs.inline_lb, m, 8);
	}
	{
		const struct bpf_map *m[] = { s->maps.ptr, s->maps.backends_a, s->maps.backends_b };

		problems += check_all_inlined(s->progs.inline_loop, m, 3);
		problems += check_all_inlined(s->progs.inline_cb, m, 3);
	}
	{
		const struct bpf_map *m[] = { s->maps.plain };

		problems += check_all_inlined(s->progs.single_xdp, m, 1);
	}
	if (problems)
		fail_msg(
			"%s: %u problem(s) above: the verifier did not inline every A/B array lookup "
			"(a helper call costs ~2.5x, DESIGN.md section 3); inspect with `bpftool prog "
			"dump xlated id N`",
			ktest_name(), problems);
}

/* The control: the naive form must keep a real helper call, or the test above proves nothing. */
static void test_naive_lookup_not_inlined(void **state)
{
	__u32 id_a, id_b, id_ptr;
	unsigned int lookup_calls;
	struct xlated_prog xp;
	struct abmap_inline *s;
	(void)state;

	ktest_begin();
	s = skel_load();
	id_a = map_id(s->maps.naive_a);
	id_b = map_id(s->maps.naive_b);
	id_ptr = map_id(s->maps.ptr);

	lookup_calls = decode(s->progs.naive_xdp, &xp);
	if (lookup_calls < 1)
		fail_msg(
			"%s: naive_xdp (prog id %u): no bpf_map_lookup_elem helper call found: the "
			"negative control does not work, so the inlining test could not fail",
			ktest_name(), xp.prog_id);
	if (inlined_on(&xp, id_a) || inlined_on(&xp, id_b))
		fail_msg("%s: naive_xdp: the verifier inlined a lookup of naive_a/naive_b: the "
			 "negative control does not work",
			 ktest_name());
	/* The decoder does recognise the inlined pointer lookup in the same program. */
	if (inlined_on(&xp, id_ptr) != 1)
		fail_msg("%s: naive_xdp: expected 1 inlined lookup of the pointer map, found %u",
			 ktest_name(), inlined_on(&xp, id_ptr));

	/* DESIGN.md's `if (side) lookup(B) else lookup(A)`: reported, it depends on clang. */
	lookup_calls = decode(s->progs.naive_if_xdp, &xp);
	printf("  naive_if_xdp: clang %s the two lookups (%u helper lookup call(s), "
	       "%u inlined lookup(s) of naive_a/naive_b)\n",
	       lookup_calls ? "merged" : "did not merge", lookup_calls,
	       inlined_on(&xp, id_a) + inlined_on(&xp, id_b));
}

/* -------------------------------------------------------------------------------------------
 * The programs read the side the pointer selects (a decoder test alone would not notice a
 * helper that is inlined but wrong).
 */

struct test_pkt {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	__u8 payload[22];
} __attribute__((packed));

_Static_assert(sizeof(struct test_pkt) == 64, "64-byte packet");

static void make_pkt(struct test_pkt *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->eth.h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(p->eth.h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	p->eth.h_proto = htons(ETH_P_IP);
	p->ip.version = 4;
	p->ip.ihl = 5;
	p->ip.ttl = 64;
	p->ip.protocol = IPPROTO_UDP;
	p->ip.tot_len = htons(sizeof(*p) - sizeof(p->eth));
	p->ip.saddr = htonl(0x0a000001);
	p->ip.daddr = htonl(0x0a000002);
	p->udp.source = htons(12345);
	p->udp.dest = htons(LB_PORT);
	p->udp.len = htons(sizeof(*p) - sizeof(p->eth) - sizeof(p->ip));
}

static void update(const struct bpf_map *map, __u32 key, const void *value)
{
	if (bpf_map_update_elem(bpf_map__fd(map), &key, value, BPF_ANY))
		fail_msg("%s: update of %s[%u]: %s", ktest_name(), bpf_map__name(map), key,
			 strerror(errno));
}

static void fill_side(struct abmap_inline *s, int side)
{
	__u64 tag = side ? TAG_B : TAG_A;
	__u32 i, v;

	for (i = 0; i < BACKEND_ENTRIES; i++) {
		struct backend be = { .addr = i, .weight = i, .tag = tag + i };

		update(side ? s->maps.backends_b : s->maps.backends_a, i, &be);
	}
	for (i = 0; i < VIP_ENTRIES; i++) {
		struct vip vip = { .first_backend = FIRST_BACKEND + i,
				   .nr_backends = VIP_BACKENDS };

		update(side ? s->maps.vips_b : s->maps.vips_a, i, &vip);
	}
	for (i = 0; i < SMALL_ENTRIES; i++) {
		v = CFG_BASE + i;
		update(side ? s->maps.cfg_b : s->maps.cfg_a, i, &v);
		v = (__u32)tag + i;
		update(side ? s->maps.naive_b : s->maps.naive_a, i, &v);
	}
	v = BACKEND_ENTRIES;
	update(s->maps.backends_len, side, &v);
}

static void fill(struct abmap_inline *s)
{
	__u32 i, v;

	fill_side(s, ABMAP_SIDE_A);
	fill_side(s, ABMAP_SIDE_B);
	for (i = 0; i < SMALL_ENTRIES; i++) {
		v = PLAIN_BASE + i;
		update(s->maps.plain, i, &v);
	}
}

static void set_generation(struct abmap_inline *s, __u64 gen)
{
	struct abmap_pointer p;

	memset(&p, 0, sizeof(p));
	p.generation = gen;
	update(s->maps.ptr, 0, &p);
}

/* One run of @prog on the test packet, which must return @want_retval. */
static void run(const struct bpf_program *prog, __u32 want_retval)
{
	struct test_pkt pkt;
	int err;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);

	make_pkt(&pkt);
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err)
		fail_msg("%s: bpf_prog_test_run_opts(%s): %s", ktest_name(),
			 bpf_program__name(prog), strerror(errno));
	if (opts.retval != want_retval)
		fail_msg("%s: %s returned %u, expected %u", ktest_name(), bpf_program__name(prog),
			 opts.retval, want_retval);
}

static void check_seen(const char *what, __u64 got, __u64 want)
{
	if (got != want)
		fail_msg("%s: %s: program saw %#llx, expected %#llx", ktest_name(), what,
			 (unsigned long long)got, (unsigned long long)want);
}

static void test_programs_read_live_side(void **state)
{
	struct abmap_inline *s;
	int side;
	(void)state;

	ktest_begin();
	s = skel_load();
	fill(s);
	for (side = ABMAP_SIDE_A; side <= ABMAP_SIDE_B; side++) {
		__u64 tag = side ? TAG_B : TAG_A, sum = LOOP_SLOTS * tag;
		__u32 i;

		for (i = 0; i < LOOP_SLOTS; i++)
			sum += i;
		/* Generations 2 and 3: the side is the low bit, not the whole value. */
		set_generation(s, 2 + side);

		run(s->progs.inline_xdp, XDP_PASS);
		check_seen("inline_xdp", s->bss->xdp_seen, tag + FIRST_BACKEND);
		run(s->progs.inline_tc, TC_ACT_OK);
		check_seen("inline_tc", s->bss->tc_seen, tag + CFG_BASE);
		run(s->progs.inline_lb, XDP_PASS);
		/* VIP LB_PORT % 64; its heaviest backend is its last one. */
		check_seen("inline_lb", s->bss->lb_seen,
			   tag + FIRST_BACKEND + LB_PORT % VIP_ENTRIES + VIP_BACKENDS - 1);
		run(s->progs.inline_loop, XDP_PASS);
		check_seen("inline_loop", s->bss->loop_seen, sum);
		run(s->progs.inline_cb, XDP_PASS);
		check_seen("inline_cb", s->bss->cb_seen, sum);
		run(s->progs.naive_xdp, XDP_PASS);
		check_seen("naive_xdp", s->bss->naive_seen, (__u32)tag);
		run(s->progs.naive_if_xdp, XDP_PASS);
		check_seen("naive_if_xdp", s->bss->naive_seen, (__u32)tag);
	}
	run(s->progs.single_xdp, XDP_PASS);
	check_seen("single_xdp", s->bss->single_seen, PLAIN_BASE);
}

/* An optional argument selects tests by pattern (cmocka_set_test_filter), e.g. "*inlined". */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_abmap_lookups_inlined),
		KTEST(test_naive_lookup_not_inlined),
		KTEST(test_programs_read_live_side),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
