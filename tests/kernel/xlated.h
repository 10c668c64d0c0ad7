/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Decoder of a loaded program's translated ("xlated") code, as the verifier left it: which map
 * lookups it inlined and which helpers the program still calls (tests/kernel/test_inline.c,
 * test_udplb_packets.c).
 *
 * - A helper call (BPF_JMP | BPF_CALL, src_reg 0) holds (function - __bpf_call_base) in imm, like
 *   bpftool; its target is named through /proc/kallsyms (a text symbol at exactly that address).
 * - An inlined lookup is the sequence array_map_gen_lookup() (ARRAY) or
 *   percpu_array_map_gen_lookup() (PERCPU_ARRAY) emits in place of the call.
 * - The map of either is the one whose ld_imm64 (src_reg BPF_PSEUDO_MAP_FD, imm = map id in the
 *   dump) last wrote r1 before it.
 */
#ifndef __XLATED_H
#define __XLATED_H

#include <bpf/libbpf.h>
#include <linux/bpf.h>

enum xlated_kind {
	XLATED_HELPER,	   /* helper call (src_reg 0) */
	XLATED_OTHER_CALL, /* bpf-to-bpf or kfunc call (src_reg != 0) */
	XLATED_ARRAY,	   /* inlined ARRAY lookup */
	XLATED_PERCPU,	   /* inlined PERCPU_ARRAY lookup */
	XLATED_NR_KINDS,
};

/* One call or inlined lookup, in instruction order. */
struct xlated_item {
	enum xlated_kind kind;
	__u32 insn;    /* index of its (first) instruction */
	__u32 map_id;  /* map loaded into r1 before it, 0 if r1 came from elsewhere */
	__s32 imm;     /* calls: the instruction's imm */
	char sym[128]; /* XLATED_HELPER: kallsyms name of the target, "" if unresolved */
};

struct xlated_prog {
	__u32 prog_id;
	__u32 insns;
	unsigned int count[XLATED_NR_KINDS];
	unsigned int unresolved; /* helper calls kallsyms cannot name */
	unsigned int nr_items;
	struct xlated_item *items; /* freed at the test's teardown */
};

/* Address of __bpf_call_base (looked up once), 0 if /proc/kallsyms does not show it. */
unsigned long long xlated_call_base(void);

/* Decode @prog's xlated code into @xp; fails the test if the code cannot be read. */
void xlated_scan(const struct bpf_program *prog, struct xlated_prog *xp);

/* Number of items of @kind whose map is @map_id. */
unsigned int xlated_count_map(const struct xlated_prog *xp, enum xlated_kind kind, __u32 map_id);

#endif /* __XLATED_H */
