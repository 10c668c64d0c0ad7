/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * BPF-side reader API of libabmap.
 *
 * Declare a group's pointer map and its A/B structures with the macros below; their layout is
 * what abmap_group_new() and abmap_new() accept. In a program, read the
 * pointer once into a snapshot and pass that snapshot to every lookup, so all structures are read
 * from the same side:
 *
 *	struct abmap_snapshot snap;
 *
 *	if (abmap_snapshot_read(&my_ptr, &snap))
 *		return XDP_PASS;
 *	vip = abmap_lookup(&snap, vips, &key);
 *	be = abmap_lookup(&snap, backends, &idx);
 *
 * Negative control: defining ABMAP_NEGATIVE_CONTROL_REREAD before including this header makes
 * every abmap_lookup() and abmap_array_len() read the group's pointer again instead of using the
 * snapshot, the bug the snapshot prevents: a flip landing between two lookups of one invocation
 * mixes two configurations. Build a copy of your program with it to prove that your consistency
 * test can see a mix; never ship it. ABMAP_NEGATIVE_CONTROL_DELAY(), if defined before the
 * include, runs before each of those re-reads (e.g. a bpf_loop() busy loop) to widen the window.
 */
#ifndef __ABMAP_BPF_H
#define __ABMAP_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abmap_shared.h"

struct abmap_snapshot {
	__u64 generation;
	__u32 side;
#ifdef ABMAP_NEGATIVE_CONTROL_REREAD
	void *pointer_map; /* read again by every lookup */
#endif
};

/* The group's pointer: a 1-entry mmapable array of struct abmap_pointer. */
#define ABMAP_POINTER_MAP(name)                                                                    \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(max_entries, 1);                                                            \
		__uint(map_flags, BPF_F_MMAPABLE);                                                 \
		__type(key, __u32);                                                                \
		__type(value, struct abmap_pointer);                                               \
	} name SEC(".maps")

#define __ABMAP_ARRAY_SIDE(name, value_type, entries, flags)                                       \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(max_entries, entries);                                                      \
		__uint(map_flags, flags);                                                          \
		__type(key, __u32);                                                                \
		__type(value, value_type);                                                         \
	} name SEC(".maps")

#define __ABMAP_HASH_SIDE(name, key_type, value_type, entries, flags)                              \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, entries);                                                      \
		__uint(map_flags, flags);                                                          \
		__type(key, key_type);                                                             \
		__type(value, value_type);                                                         \
	} name SEC(".maps")

/* An A/B array: maps NAME_a and NAME_b, written by libabmap through mmap(). */
#define ABMAP_ARRAY(name, value_type, entries)                                                     \
	__ABMAP_ARRAY_SIDE(name##_a, value_type, entries, BPF_F_MMAPABLE);                         \
	__ABMAP_ARRAY_SIDE(name##_b, value_type, entries, BPF_F_MMAPABLE)

/* An A/B array with map flags of your choice (e.g. 0: written with batch updates). */
#define ABMAP_ARRAY_FLAGS(name, value_type, entries, flags)                                        \
	__ABMAP_ARRAY_SIDE(name##_a, value_type, entries, flags);                                  \
	__ABMAP_ARRAY_SIDE(name##_b, value_type, entries, flags)

/* The length map of an A/B array: NAME_len, entry = side. */
#define ABMAP_ARRAY_LEN(name) __ABMAP_ARRAY_SIDE(name##_len, __u32, 2, 0)

/* An A/B hash: maps NAME_a and NAME_b. */
#define ABMAP_HASH(name, key_type, value_type, entries)                                            \
	__ABMAP_HASH_SIDE(name##_a, key_type, value_type, entries, 0);                             \
	__ABMAP_HASH_SIDE(name##_b, key_type, value_type, entries, 0)

/*
 * Pinned-by-name variants of the declarations above (same layout, plus
 * __uint(pinning, LIBBPF_PIN_BY_NAME)): at load, libbpf reuses a map already pinned as
 * "<pin root>/<map name>" if it matches, else creates the map and pins it there. The pin root is
 * bpf_object_open_opts.pin_root_path, /sys/fs/bpf by default: loaders (tests especially) should
 * set their own, so that two instances do not share maps by accident.
 */
#define ABMAP_POINTER_MAP_PINNED(name)                                                             \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(max_entries, 1);                                                            \
		__uint(map_flags, BPF_F_MMAPABLE);                                                 \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                                               \
		__type(key, __u32);                                                                \
		__type(value, struct abmap_pointer);                                               \
	} name SEC(".maps")

#define __ABMAP_ARRAY_SIDE_PINNED(name, value_type, entries, flags)                                \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(max_entries, entries);                                                      \
		__uint(map_flags, flags);                                                          \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                                               \
		__type(key, __u32);                                                                \
		__type(value, value_type);                                                         \
	} name SEC(".maps")

#define __ABMAP_HASH_SIDE_PINNED(name, key_type, value_type, entries, flags)                       \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, entries);                                                      \
		__uint(map_flags, flags);                                                          \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                                               \
		__type(key, key_type);                                                             \
		__type(value, value_type);                                                         \
	} name SEC(".maps")

#define ABMAP_ARRAY_PINNED(name, value_type, entries)                                              \
	__ABMAP_ARRAY_SIDE_PINNED(name##_a, value_type, entries, BPF_F_MMAPABLE);                  \
	__ABMAP_ARRAY_SIDE_PINNED(name##_b, value_type, entries, BPF_F_MMAPABLE)

#define ABMAP_ARRAY_FLAGS_PINNED(name, value_type, entries, flags)                                 \
	__ABMAP_ARRAY_SIDE_PINNED(name##_a, value_type, entries, flags);                           \
	__ABMAP_ARRAY_SIDE_PINNED(name##_b, value_type, entries, flags)

#define ABMAP_ARRAY_LEN_PINNED(name) __ABMAP_ARRAY_SIDE_PINNED(name##_len, __u32, 2, 0)

#define ABMAP_HASH_PINNED(name, key_type, value_type, entries)                                     \
	__ABMAP_HASH_SIDE_PINNED(name##_a, key_type, value_type, entries, 0);                      \
	__ABMAP_HASH_SIDE_PINNED(name##_b, key_type, value_type, entries, 0)

/*
 * Read the group's generation once. Every lookup of this invocation must use @snap: reading
 * the pointer again could observe a flip in between and mix two configurations.
 */
static __always_inline int abmap_snapshot_read(void *pointer_map, struct abmap_snapshot *snap)
{
	struct abmap_pointer *ptr;
	__u32 zero = 0;

	ptr = bpf_map_lookup_elem(pointer_map, &zero);
	if (!ptr)
		return -1;
	snap->generation = *(volatile __u64 *)&ptr->generation;
	snap->side = snap->generation & 1;
#ifdef ABMAP_NEGATIVE_CONTROL_REREAD
	snap->pointer_map = pointer_map;
#endif
	return 0;
}

#ifdef ABMAP_NEGATIVE_CONTROL_REREAD
#ifndef ABMAP_NEGATIVE_CONTROL_DELAY
#define ABMAP_NEGATIVE_CONTROL_DELAY() ((void)0)
#endif
/* The side a lookup uses: the group's pointer read now, not @snap's (negative control only). */
static __always_inline __u32 __abmap_side(const struct abmap_snapshot *snap)
{
	struct abmap_snapshot now = {};

	ABMAP_NEGATIVE_CONTROL_DELAY();
	if (abmap_snapshot_read(snap->pointer_map, &now))
		return snap->side;
	return now.side;
}
#else
static __always_inline __u32 __abmap_side(const struct abmap_snapshot *snap)
{
	return snap->side;
}
#endif

/*
 * One lookup call site per side. The empty asm keeps clang from merging the two calls into one
 * with a phi'd map pointer, which the verifier cannot inline (a real helper call, ~2.5x slower).
 */
static __always_inline void *__abmap_lookup(const struct abmap_snapshot *snap, void *map_a,
					    void *map_b, const void *key)
{
	void *value;

	if (__abmap_side(snap)) {
		value = bpf_map_lookup_elem(map_b, key);
		asm volatile("" : "+r"(value));
	} else {
		value = bpf_map_lookup_elem(map_a, key);
		asm volatile("" : "+r"(value));
	}
	return value;
}

/* Look up @key in the side of A/B structure @name selected by @snap. */
#define abmap_lookup(snap, name, key) __abmap_lookup((snap), &name##_a, &name##_b, (key))

/* Length of the side of A/B array @name selected by @snap (0 if the length map is missing). */
#define abmap_array_len(snap, name)                                                                \
	({                                                                                         \
		__u32 __side = __abmap_side(snap);                                                 \
		__u32 *__len = bpf_map_lookup_elem(&name##_len, &__side);                          \
		__len ? *__len : 0;                                                                \
	})

#endif /* __ABMAP_BPF_H */
