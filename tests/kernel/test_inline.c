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
 * decodes it: a helper call (BPF_JMP | BPF_CALL, src_reg 0) whose target resolves through
 * /proc/kallsyms to *map_lookup_elem is a lookup that was not inlined; the sequence emitted by
 * array_map_gen_lookup() is one that was, and the ld_imm64 that loads r1 before it names the map.
 * A naive program is the negative control: it must show the helper call, or the test cannot fail.
 *
 * The last test prints (does not assert) the per-packet cost of each program measured with
 * BPF_PROG_TEST_RUN on a 64-byte UDP packet.
 */
#include <errno.h>
#include <sched.h>
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

#include "ktest.h"
#include "abmap_inline.skel.h"

#define VIP_ENTRIES 64
#define BACKEND_ENTRIES 256
#define SMALL_ENTRIES 16
#define LOOP_SLOTS 8
#define FIRST_BACKEND 10 /* vips[k].first_backend = FIRST_BACKEND + k */
#define VIP_BACKENDS 3	 /* vips[k].nr_backends */
#define CFG_BASE 20	 /* cfg[k] = CFG_BASE + k */
#define LB_PORT 4101	 /* UDP destination port of the test packet: VIP 4101 % 64 = 5 */
#define TAG_A 0xa0000ULL /* backend tags, side A and side B */
#define TAG_B 0xb0000ULL
#define PLAIN_BASE 0x5000

#define MAX_INLINED 128
#define COST_REPEAT 1000000
#define COST_ROUNDS 3

/* Must match abmap_inline.bpf.c. */
struct vip {
	__u32 addr;
	__u16 port;
	__u16 flags;
	__u32 first_backend;
	__u32 nr_backends;
};

struct backend {
	__u32 addr;
	__u32 weight;
	__u8 mac[6];
	__u16 port;
	__u64 tag;
};

/* What the decoder found in one program's xlated code. */
struct xlated_stats {
	__u32 prog_id;
	__u32 insns;
	/* Helper calls (src_reg 0), of any helper. */
	unsigned int helper_calls;
	/* Helper calls to *map_lookup_elem, or to an address kallsyms cannot name. */
	unsigned int lookup_calls;
	/* Calls to subprograms (bpf-to-bpf) and kfuncs: not helpers, reported only. */
	unsigned int other_calls;
	/* Inlined ARRAY lookups and the map id each one uses (0: not found). */
	unsigned int inlined;
	__u32 inlined_map[MAX_INLINED];
};

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
 * Kernel symbols: xlated helper calls hold (function - __bpf_call_base) in imm, like bpftool.
 */

/* Address of @name, or 0 (not found or hidden by kptr_restrict). */
static unsigned long long ksym_addr(const char *name)
{
	unsigned long long addr, found = 0;
	char sym[256], type;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return 0;
	while (fscanf(f, "%llx %c %255s%*[^\n]", &addr, &type, sym) == 3) {
		if (!strcmp(sym, name)) {
			found = addr;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Name of the text symbol at exactly @addr: false if none. */
static bool ksym_name(unsigned long long want, char *name, size_t size)
{
	unsigned long long addr;
	char sym[256], type;
	bool found = false;
	FILE *f;

	if (!want)
		return false;
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	while (fscanf(f, "%llx %c %255s%*[^\n]", &addr, &type, sym) == 3) {
		if (addr == want && (type == 'T' || type == 't')) {
			snprintf(name, size, "%s", sym);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static unsigned long long call_base(void)
{
	static unsigned long long base;
	static bool done;

	if (!done) {
		base = ksym_addr("__bpf_call_base");
		done = true;
		if (!base)
			printf("  note: __bpf_call_base not in /proc/kallsyms: every helper call counts "
			       "as a lookup call\n");
	}
	return base;
}

/* -------------------------------------------------------------------------------------------
 * Decoder
 */

static struct bpf_insn *xlated_insns(int prog_fd, __u32 *nr, __u32 *prog_id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), size;
	struct bpf_insn *insns;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		fail_msg("%s: bpf_obj_get_info_by_fd(prog %d): %s", ktest_name(), prog_fd,
			 strerror(errno));
	size = info.xlated_prog_len;
	if (!size || size % sizeof(*insns))
		fail_msg("%s: program %u: xlated_prog_len %u (not root, or kernel.kptr_restrict "
			 "hides the code?)",
			 ktest_name(), info.id, size);
	insns = calloc(1, size);
	assert_non_null(insns);
	ktest_defer(free, insns);

	*prog_id = info.id;
	memset(&info, 0, sizeof(info));
	info.xlated_prog_len = size;
	info.xlated_prog_insns = (__u64)(unsigned long)insns;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		fail_msg("%s: bpf_obj_get_info_by_fd(prog %d, xlated): %s", ktest_name(), prog_fd,
			 strerror(errno));
	if (info.xlated_prog_len != size)
		fail_msg("%s: program %u: xlated code changed size (%u -> %u)", ktest_name(),
			 *prog_id, size, info.xlated_prog_len);
	*nr = size / sizeof(*insns);
	return insns;
}

static bool is_ld_imm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW);
}

/* Does @insn write register @reg? (Calls clobber r0-r5.) */
static bool writes_reg(const struct bpf_insn *insn, int reg)
{
	switch (BPF_CLASS(insn->code)) {
	case BPF_LD:
		/* Legacy packet loads (BPF_ABS/BPF_IND) clobber r0-r5 like calls. */
		if (BPF_MODE(insn->code) != BPF_IMM)
			return reg <= BPF_REG_5;
		return insn->dst_reg == reg;
	case BPF_ALU:
	case BPF_ALU64:
	case BPF_LDX:
		return insn->dst_reg == reg;
	case BPF_JMP:
	case BPF_JMP32:
		return BPF_OP(insn->code) == BPF_CALL && reg <= BPF_REG_5;
	default:
		return false;
	}
}

/*
 * Does array_map_gen_lookup()'s sequence start at @i? With r1 = map, r2 = key:
 *
 *	r1 += offsetof(struct bpf_array, value)
 *	r0 = *(u32 *)(r2 + 0)
 *	if r0 >= max_entries goto pc+3		(pc+4 with the Spectre v1 mask below)
 *	[w0 &= index_mask]
 *	r0 <<= ilog2(elem_size)  or  r0 *= elem_size
 *	r0 += r1
 *	goto pc+1
 *	r0 = 0
 *
 * Returns its length, 0 if it does not match.
 */
static __u32 inlined_array_lookup(const struct bpf_insn *in, __u32 i, __u32 nr)
{
	__u32 n = i;

	if (n + 7 > nr)
		return 0;
	if (in[n].code != (BPF_ALU64 | BPF_ADD | BPF_K) || in[n].dst_reg != BPF_REG_1)
		return 0;
	n++;
	if (in[n].code != (BPF_LDX | BPF_MEM | BPF_W) || in[n].dst_reg != BPF_REG_0 ||
	    in[n].src_reg != BPF_REG_2 || in[n].off != 0)
		return 0;
	n++;
	if (in[n].code != (BPF_JMP | BPF_JGE | BPF_K) || in[n].dst_reg != BPF_REG_0 ||
	    (in[n].off != 3 && in[n].off != 4))
		return 0;
	if (in[n++].off == 4) {
		if (in[n].code != (BPF_ALU | BPF_AND | BPF_K) || in[n].dst_reg != BPF_REG_0)
			return 0;
		n++;
	}
	if (n + 4 > nr)
		return 0;
	if ((in[n].code != (BPF_ALU64 | BPF_LSH | BPF_K) &&
	     in[n].code != (BPF_ALU64 | BPF_MUL | BPF_K)) ||
	    in[n].dst_reg != BPF_REG_0)
		return 0;
	n++;
	if (in[n].code != (BPF_ALU64 | BPF_ADD | BPF_X) || in[n].dst_reg != BPF_REG_0 ||
	    in[n].src_reg != BPF_REG_1)
		return 0;
	n++;
	if (in[n].code != (BPF_JMP | BPF_JA) || in[n].off != 1)
		return 0;
	n++;
	if (in[n].code != (BPF_ALU64 | BPF_MOV | BPF_K) || in[n].dst_reg != BPF_REG_0 ||
	    in[n].imm != 0)
		return 0;
	return n + 1 - i;
}

/*
 * Map id loaded into r1 before insn @i: the nearest earlier instruction writing r1 must be a
 * ld_imm64 of a map (the dump gives src_reg BPF_PSEUDO_MAP_FD and imm = map id). 0 otherwise.
 */
static __u32 r1_map_id(const struct bpf_insn *in, __u32 i)
{
	while (i-- > 0) {
		/* The second half of a ld_imm64 is not an instruction of its own. */
		if (i > 0 && is_ld_imm64(&in[i - 1]))
			continue;
		if (!writes_reg(&in[i], BPF_REG_1))
			continue;
		if (is_ld_imm64(&in[i]) && in[i].src_reg == BPF_PSEUDO_MAP_FD)
			return (__u32)in[i].imm;
		return 0;
	}
	return 0;
}

static void decode(const struct bpf_program *prog, struct xlated_stats *st)
{
	char name[256];
	struct bpf_insn *in;
	__u32 i, nr, len;

	memset(st, 0, sizeof(*st));
	in = xlated_insns(bpf_program__fd(prog), &nr, &st->prog_id);
	st->insns = nr;

	printf("  %-13s prog id %-5u %3u insns:", bpf_program__name(prog), st->prog_id, nr);
	for (i = 0; i < nr; i++) {
		const struct bpf_insn *insn = &in[i];

		if (is_ld_imm64(insn)) {
			i++;
			continue;
		}
		if (insn->code == (BPF_JMP | BPF_CALL)) {
			unsigned long long base = call_base();

			if (insn->src_reg != 0) {
				st->other_calls++;
				continue;
			}
			st->helper_calls++;
			/* A call kallsyms cannot name counts as a lookup: the test errs on failing. */
			if (!base || !ksym_name(base + (long long)insn->imm, name, sizeof(name))) {
				snprintf(name, sizeof(name), "helper#%d (unresolved)", insn->imm);
				st->lookup_calls++;
			} else if (strstr(name, "map_lookup_elem")) {
				st->lookup_calls++;
			}
			printf(" [%u: call %s]", i, name);
			continue;
		}
		len = inlined_array_lookup(in, i, nr);
		if (len) {
			__u32 id = r1_map_id(in, i);

			if (st->inlined < MAX_INLINED)
				st->inlined_map[st->inlined] = id;
			st->inlined++;
			printf(" [%u: inlined %s]", i, id ? map_name(id) : "(map unknown)");
			i += len - 1;
		}
	}
	printf("\n  %-13s inlined array lookups %u, helper calls %u (map_lookup_elem %u), "
	       "bpf-to-bpf/kfunc calls %u\n",
	       "", st->inlined, st->helper_calls, st->lookup_calls, st->other_calls);
}

static unsigned int inlined_on(const struct xlated_stats *st, __u32 id)
{
	unsigned int i, n = 0;

	for (i = 0; i < st->inlined && i < MAX_INLINED; i++)
		n += st->inlined_map[i] == id;
	return n;
}

/*
 * Every lookup of @prog is inlined, and so is at least one lookup of each of @maps. Prints what
 * is wrong and returns the number of problems, so that one run reports every program.
 */
static unsigned int check_all_inlined(const struct bpf_program *prog, const struct bpf_map **maps,
				      unsigned int nr_maps)
{
	unsigned int i, problems = 0;
	struct xlated_stats st;

	decode(prog, &st);
	if (st.lookup_calls) {
		printf("  FAIL: %s (prog id %u) makes %u real bpf_map_lookup_elem call(s): an A/B "
		       "lookup through abmap_bpf.h was not inlined\n",
		       bpf_program__name(prog), st.prog_id, st.lookup_calls);
		problems++;
	}
	for (i = 0; i < nr_maps; i++) {
		__u32 id = map_id(maps[i]);

		if (!inlined_on(&st, id)) {
			printf("  FAIL: %s (prog id %u): no inlined lookup of map %s (id %u)\n",
			       bpf_program__name(prog), st.prog_id, bpf_map__name(maps[i]), id);
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
	struct xlated_stats st;
	struct abmap_inline *s;
	(void)state;

	ktest_begin();
	s = skel_load();
	id_a = map_id(s->maps.naive_a);
	id_b = map_id(s->maps.naive_b);
	id_ptr = map_id(s->maps.ptr);

	decode(s->progs.naive_xdp, &st);
	if (st.lookup_calls < 1)
		fail_msg(
			"%s: naive_xdp (prog id %u): no bpf_map_lookup_elem helper call found: the "
			"negative control does not work, so the inlining test could not fail",
			ktest_name(), st.prog_id);
	if (inlined_on(&st, id_a) || inlined_on(&st, id_b))
		fail_msg("%s: naive_xdp: the verifier inlined a lookup of naive_a/naive_b: the "
			 "negative control does not work",
			 ktest_name());
	/* The decoder does recognise the inlined pointer lookup in the same program. */
	if (inlined_on(&st, id_ptr) != 1)
		fail_msg("%s: naive_xdp: expected 1 inlined lookup of the pointer map, found %u",
			 ktest_name(), inlined_on(&st, id_ptr));

	/* DESIGN.md's `if (side) lookup(B) else lookup(A)`: reported, it depends on clang. */
	decode(s->progs.naive_if_xdp, &st);
	printf("  naive_if_xdp: clang %s the two lookups (%u helper lookup call(s), "
	       "%u inlined lookup(s) of naive_a/naive_b)\n",
	       st.lookup_calls ? "merged" : "did not merge", st.lookup_calls,
	       inlined_on(&st, id_a) + inlined_on(&st, id_b));
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

/* One run (@repeat times) of @prog on the test packet; returns the kernel's ns per run. */
static __u32 run(const struct bpf_program *prog, __u32 repeat, __u32 want_retval)
{
	struct test_pkt pkt;
	int err;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &pkt, .data_size_in = sizeof(pkt),
		    .repeat = repeat);

	make_pkt(&pkt);
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err)
		fail_msg("%s: bpf_prog_test_run_opts(%s): %s", ktest_name(),
			 bpf_program__name(prog), strerror(errno));
	if (opts.retval != want_retval)
		fail_msg("%s: %s returned %u, expected %u", ktest_name(), bpf_program__name(prog),
			 opts.retval, want_retval);
	return opts.duration;
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

		run(s->progs.inline_xdp, 1, XDP_PASS);
		check_seen("inline_xdp", s->bss->xdp_seen, tag + FIRST_BACKEND);
		run(s->progs.inline_tc, 1, TC_ACT_OK);
		check_seen("inline_tc", s->bss->tc_seen, tag + CFG_BASE);
		run(s->progs.inline_lb, 1, XDP_PASS);
		/* VIP LB_PORT % 64; its heaviest backend is its last one. */
		check_seen("inline_lb", s->bss->lb_seen,
			   tag + FIRST_BACKEND + LB_PORT % VIP_ENTRIES + VIP_BACKENDS - 1);
		run(s->progs.inline_loop, 1, XDP_PASS);
		check_seen("inline_loop", s->bss->loop_seen, sum);
		run(s->progs.inline_cb, 1, XDP_PASS);
		check_seen("inline_cb", s->bss->cb_seen, sum);
		run(s->progs.naive_xdp, 1, XDP_PASS);
		check_seen("naive_xdp", s->bss->naive_seen, (__u32)tag);
		run(s->progs.naive_if_xdp, 1, XDP_PASS);
		check_seen("naive_if_xdp", s->bss->naive_seen, (__u32)tag);
	}
	run(s->progs.single_xdp, 1, XDP_PASS);
	check_seen("single_xdp", s->bss->single_seen, PLAIN_BASE);
}

/* -------------------------------------------------------------------------------------------
 * Cost (printed, not asserted: timing depends on the machine and its load)
 */

static void restore_affinity(void *arg)
{
	if (sched_setaffinity(0, sizeof(cpu_set_t), arg))
		fprintf(stderr, "ktest: cannot restore the CPU affinity: %s\n", strerror(errno));
	free(arg);
}

/* Run the timing on one CPU: test_run's cpu option is ignored for XDP and refused for skb. */
static void pin_cpu(void)
{
	cpu_set_t *old = malloc(sizeof(*old)), one;
	int cpu = sched_getcpu();

	assert_non_null(old);
	if (cpu < 0 || sched_getaffinity(0, sizeof(*old), old)) {
		free(old);
		return;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		free(old);
		return;
	}
	ktest_defer(restore_affinity, old);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static void cost(const struct bpf_program *prog, __u32 want_retval, const char *what)
{
	__u32 ns[COST_ROUNDS];
	int i;

	run(prog, 1000, want_retval); /* warm up */
	for (i = 0; i < COST_ROUNDS; i++)
		ns[i] = run(prog, COST_REPEAT, want_retval);
	qsort(ns, COST_ROUNDS, sizeof(ns[0]), cmp_u32);
	printf("  %-13s %4u ns/pkt (min %u, max %u of %d x %d runs)  %s\n", bpf_program__name(prog),
	       ns[COST_ROUNDS / 2], ns[0], ns[COST_ROUNDS - 1], COST_ROUNDS, COST_REPEAT, what);
}

static void test_cost_per_packet(void **state)
{
	struct abmap_inline *s;
	int side;
	(void)state;

	ktest_begin();
	s = skel_load();
	fill(s);
	pin_cpu();
	printf("  BPF_PROG_TEST_RUN, 64-byte UDP packet, kernel-reported median ns/pkt:\n");
	cost(s->progs.pass_xdp, XDP_PASS, "XDP_PASS only");
	cost(s->progs.single_xdp, XDP_PASS, "one lookup, one plain ARRAY");
	for (side = ABMAP_SIDE_A; side <= ABMAP_SIDE_B; side++) {
		set_generation(s, side);
		printf("  side %c:\n", side ? 'B' : 'A');
		cost(s->progs.naive_xdp, XDP_PASS, "pointer + 1 naive A/B lookup (helper call)");
		cost(s->progs.naive_if_xdp, XDP_PASS, "pointer + 1 naive `if` A/B lookup");
		cost(s->progs.inline_xdp, XDP_PASS, "pointer + 2 abmap_lookup()");
		cost(s->progs.inline_tc, TC_ACT_OK, "tc: pointer + 2 abmap_lookup()");
		cost(s->progs.inline_lb, XDP_PASS, "parse + pointer + 6 lookups (LB)");
		cost(s->progs.inline_loop, XDP_PASS, "pointer + 8 abmap_lookup() in a loop");
		cost(s->progs.inline_cb, XDP_PASS, "pointer + 8 abmap_lookup() via bpf_loop");
	}
}

/* An optional argument selects tests by pattern (cmocka_set_test_filter), e.g. "*inlined". */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_abmap_lookups_inlined),
		KTEST(test_naive_lookup_not_inlined),
		KTEST(test_programs_read_live_side),
		KTEST(test_cost_per_packet),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
