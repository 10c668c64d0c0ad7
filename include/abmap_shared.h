/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Layout shared by libabmap (userspace) and BPF programs (abmap_bpf.h).
 *
 * A group is one pointer map plus any number of A/B structures. The pointer map is a 1-entry
 * BPF_F_MMAPABLE ARRAY whose value is struct abmap_pointer. Programs read @generation once per
 * invocation: the live side of every structure in the group is (generation & 1), so a writer flips
 * the whole group with one 8-byte store. The remaining fields are bookkeeping for writers (a
 * restarted controller or a one-shot CLI resumes from them); programs never read them.
 */
#ifndef __ABMAP_SHARED_H
#define __ABMAP_SHARED_H

#include <linux/types.h>

#define ABMAP_SIDE_A 0
#define ABMAP_SIDE_B 1

/* Generation marker: the passive side's content is not known (a write was interrupted). */
#define ABMAP_GEN_UNKNOWN (~0ULL)

/* Structures a group records in its pointer map (side A map ids), checked by every writer. */
#define ABMAP_MAX_STRUCTS 32

struct abmap_pointer {
	/* Live side = generation & 1. The only field programs read. */
	__u64 generation;
	/* Every flip up to this generation is past its grace period: its retired side is free. */
	__u64 grace_gen;
	/* Generation whose content the passive side holds, or ABMAP_GEN_UNKNOWN. */
	__u64 passive_gen;
	/* CLOCK_REALTIME of the last flip, in ns. */
	__u64 flip_time_ns;
	/* Random token of the last writer session that wrote the passive side or flipped: a
	 * writer that finds another token knows someone else wrote and compares both sides. */
	__u64 writer_token;
	/* Process that made the last flip (informational). */
	__u32 writer_pid;
	/* Number of valid entries in struct_ids. */
	__u32 nr_structs;
	/* Map id of side A of every structure of the group, as of the last flip. */
	__u32 struct_ids[ABMAP_MAX_STRUCTS];
};

#endif /* __ABMAP_SHARED_H */
