// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Decoder of xlated BPF code: see xlated.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktest.h"
#include "xlated.h"

unsigned long long xlated_call_base(void)
{
	static unsigned long long base;
	static bool done;
	unsigned long long addr;
	char sym[256], type;
	FILE *f;

	if (done)
		return base;
	done = true;
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return 0;
	while (fscanf(f, "%llx %c %255s%*[^\n]", &addr, &type, sym) == 3) {
		if (!strcmp(sym, "__bpf_call_base")) {
			base = addr;
			break;
		}
	}
	fclose(f);
	return base;
}

/* The xlated code of @prog_fd (freed at teardown), its length and the program's id. */
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

/* Is instruction @n (of @nr) @code with these registers? */
static bool insn_is(const struct bpf_insn *in, __u32 n, __u32 nr, __u8 code, __u8 dst, __u8 src)
{
	return n < nr && in[n].code == code && in[n].dst_reg == dst && in[n].src_reg == src;
}

/*
 * An inlined lookup at @i? The verifier's array_map_gen_lookup() and
 * percpu_array_map_gen_lookup() emit, with r1 = map and r2 = key:
 *
 *	r1 += offsetof(struct bpf_array, value or pptrs)
 *	r0 = *(u32 *)(r2 + 0)
 *	if r0 >= max_entries goto <null>
 *	[w0 &= index_mask]			(Spectre v1)
 *	ARRAY:   r0 <<= ilog2(size) or r0 *= size; r0 += r1
 *	PERCPU:  r0 <<= 3; r0 += r1; r0 = *(u64 *)(r0 + 0); r0 = this_cpu_ptr(r0)
 *	goto +1
 *	<null>: r0 = 0
 *
 * Returns the sequence's length (0: no match) and whether it is the per-CPU one.
 */
static __u32 match_inlined(const struct bpf_insn *in, __u32 i, __u32 nr, bool *percpu)
{
	__u32 n = i;

	if (!insn_is(in, n, nr, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0))
		return 0;
	n++;
	if (!insn_is(in, n, nr, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_2) || in[n].off)
		return 0;
	n++;
	if (!insn_is(in, n, nr, BPF_JMP | BPF_JGE | BPF_K, BPF_REG_0, 0))
		return 0;
	n++;
	if (insn_is(in, n, nr, BPF_ALU | BPF_AND | BPF_K, BPF_REG_0, 0))
		n++;
	if (!insn_is(in, n, nr, BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_0, 0) &&
	    !insn_is(in, n, nr, BPF_ALU64 | BPF_MUL | BPF_K, BPF_REG_0, 0))
		return 0;
	n++;
	if (!insn_is(in, n, nr, BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_0, BPF_REG_1))
		return 0;
	n++;
	*percpu = false;
	if (insn_is(in, n, nr, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_0)) {
		n++;
		/* BPF_MOV64_PERCPU_REG: mov with off BPF_ADDR_PERCPU (-1). */
		if (!insn_is(in, n, nr, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_0) ||
		    in[n].off != -1)
			return 0;
		n++;
		*percpu = true;
	}
	if (n >= nr || in[n].code != (BPF_JMP | BPF_JA) || in[n].off != 1)
		return 0;
	n++;
	if (!insn_is(in, n, nr, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0) || in[n].imm)
		return 0;
	/* The bounds check must jump to the r0 = 0. */
	if (in[i + 2].off != (__s16)(n - (i + 2) - 1))
		return 0;
	return n + 1 - i;
}

static void add_item(struct xlated_prog *xp, const struct bpf_insn *in, __u32 i,
		     enum xlated_kind kind)
{
	struct xlated_item *it = &xp->items[xp->nr_items++];

	it->kind = kind;
	it->insn = i;
	it->map_id = r1_map_id(in, i);
	it->imm = in[i].imm;
	xp->count[kind]++;
}

/* Name every helper call's target through one pass over /proc/kallsyms. */
static void resolve(struct xlated_prog *xp)
{
	unsigned long long base = xlated_call_base(), addr;
	char name[256], type;
	unsigned int i;
	FILE *f;

	f = base ? fopen("/proc/kallsyms", "r") : NULL;
	while (f && fscanf(f, "%llx %c %255s%*[^\n]", &addr, &type, name) == 3) {
		if (!addr || (type != 'T' && type != 't'))
			continue;
		for (i = 0; i < xp->nr_items; i++) {
			struct xlated_item *it = &xp->items[i];

			if (it->kind == XLATED_HELPER && !it->sym[0] &&
			    base + (long long)it->imm == addr)
				snprintf(it->sym, sizeof(it->sym), "%.127s", name);
		}
	}
	if (f)
		fclose(f);
	for (i = 0; i < xp->nr_items; i++)
		xp->unresolved += xp->items[i].kind == XLATED_HELPER && !xp->items[i].sym[0];
}

void xlated_scan(const struct bpf_program *prog, struct xlated_prog *xp)
{
	struct bpf_insn *in;
	__u32 i, nr, len;
	bool percpu;

	memset(xp, 0, sizeof(*xp));
	in = xlated_insns(bpf_program__fd(prog), &nr, &xp->prog_id);
	xp->insns = nr;
	/* At most one item per instruction. */
	xp->items = calloc(nr, sizeof(*xp->items));
	assert_non_null(xp->items);
	ktest_defer(free, xp->items);
	for (i = 0; i < nr; i++) {
		if (is_ld_imm64(&in[i])) {
			i++;
			continue;
		}
		if (in[i].code == (BPF_JMP | BPF_CALL)) {
			add_item(xp, in, i, in[i].src_reg ? XLATED_OTHER_CALL : XLATED_HELPER);
			continue;
		}
		len = match_inlined(in, i, nr, &percpu);
		if (len) {
			add_item(xp, in, i, percpu ? XLATED_PERCPU : XLATED_ARRAY);
			i += len - 1;
		}
	}
	resolve(xp);
}

unsigned int xlated_count_map(const struct xlated_prog *xp, enum xlated_kind kind, __u32 map_id)
{
	unsigned int i, n = 0;

	for (i = 0; i < xp->nr_items; i++)
		n += xp->items[i].kind == kind && xp->items[i].map_id == map_id;
	return n;
}
