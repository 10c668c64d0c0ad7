// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Torn-read detector. Every element of the A/B arrays "ga" and "gb" holds the generation of the
 * commit that made it live. One invocation reads the group's pointer once, then nr_elems elements
 * of ga, optionally busy-loops, then nr_elems elements of gb; any element that differs from the
 * snapshot's generation means the writer rewrote the side while this program was still reading
 * it: a torn read.
 *
 * Configuration and counters are globals (.bss), set and read by the test through the skeleton.
 * One reader thread runs the program (BPF_PROG_TEST_RUN), so plain increments are enough.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abmap_bpf.h"

#define TORN_ENTRIES 1024

ABMAP_POINTER_MAP(ptr);
ABMAP_ARRAY(ga, __u64, TORN_ENTRIES);
ABMAP_ARRAY(gb, __u64, TORN_ENTRIES);

/* Configuration. */
__u32 nr_elems;	  /* elements read per array, <= TORN_ENTRIES */
__u32 spin_loops; /* busy-loop iterations between the two arrays... */
__u32 spin_mask;  /* ...in invocations where (reads & spin_mask) == 0 */

/* Results. */
__u64 reads;	   /* invocations (snapshots) */
__u64 torn;	   /* invocations that saw at least one element != snapshot generation */
__u64 bad_elems;   /* elements != snapshot generation */
__u64 gen_changes; /* times the snapshot generation differed from the previous invocation's */
__u64 last_gen;
__u64 first_bad_gen; /* snapshot generation and element value of the first torn read */
__u64 first_bad_val;

struct read_ctx {
	struct abmap_snapshot snap;
	__u64 bad; /* 0 or 1 */
	__u64 bad_val;
};

/* One element @v of the snapshot's side (NULL: stop the loop). */
static __always_inline int check_elem(struct read_ctx *c, __u64 *v)
{
	__u64 val;

	if (!v)
		return 1;
	val = *(volatile __u64 *)v;
	if (val != c->snap.generation) {
		/* A flag, not a count, on the stack: the verifier's callback states converge. */
		c->bad = 1;
		c->bad_val = val;
		bad_elems++;
	}
	return 0;
}

/* One callback per array: each lookup names its map, so the verifier inlines it. */
static int read_ga(__u32 index, void *arg)
{
	struct read_ctx *c = arg;
	__u32 key = index;

	return check_elem(c, abmap_lookup(&c->snap, ga, &key));
}

static int read_gb(__u32 index, void *arg)
{
	struct read_ctx *c = arg;
	__u32 key = index;

	return check_elem(c, abmap_lookup(&c->snap, gb, &key));
}

static int spin(__u32 index, void *arg)
{
	/* An empty callback: bpf_loop still calls it, a few ns per iteration. */
	(void)index;
	(void)arg;
	return 0;
}

SEC("xdp")
int torn_read(struct xdp_md *ctx)
{
	struct read_ctx c = {};
	__u32 n = nr_elems;

	if (n > TORN_ENTRIES)
		n = TORN_ENTRIES;
	if (abmap_snapshot_read(&ptr, &c.snap))
		return XDP_ABORTED;

	bpf_loop(n, read_ga, &c, 0);
	if (spin_loops && (reads & spin_mask) == 0)
		bpf_loop(spin_loops, spin, &c, 0);
	bpf_loop(n, read_gb, &c, 0);

	reads++;
	if (c.snap.generation != last_gen) {
		gen_changes++;
		last_gen = c.snap.generation;
	}
	if (c.bad) {
		if (!torn) {
			first_bad_gen = c.snap.generation;
			first_bad_val = c.bad_val;
		}
		torn++;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
