/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the files of the udplb control-plane library share and nobody else sees: error helpers,
 * the canonical orders, validation rules, the live tables as read from the maps and the tables a
 * configuration gives (the plan).
 */
#ifndef __UDPLB_LIB_INTERNAL_H
#define __UDPLB_LIB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "lb.h"

/* Write one line into @err (when not NULL), set errno, return @code (a negative errno). */
__attribute__((format(printf, 3, 4))) int lb_fail(struct lb_err *err, int code, const char *fmt,
						  ...);

static inline void lb_err_clear(struct lb_err *err)
{
	if (err)
		err->msg[0] = '\0';
}

/* Orders: VIPs by (addr, port, proto), backends by (addr, port), numerically (host order). */
static inline int lb_cmp_u32(__u32 a, __u32 b)
{
	return a < b ? -1 : a > b;
}

int lb_vip_key_cmp(const struct udplb_vip_key *a, const struct udplb_vip_key *b);
int lb_backend_ident_cmp(__be32 a_addr, __be16 a_port, __be32 b_addr, __be16 b_port);
/* qsort() comparators: of struct lb_vip / lb_backend, and of pointers to lb_backend. */
int lb_vip_cmp(const void *pa, const void *pb);
int lb_backend_cmp(const void *pa, const void *pb);
int lb_backend_ptr_cmp(const void *pa, const void *pb);
/* Sorted pointer arrays (free() them); NULL when out of memory. */
const struct lb_vip **lb_sorted_vips(const struct lb_state *s);
const struct lb_backend **lb_sorted_backends(const struct lb_vip *vip);
/* Binary search in a sorted array: where @key is (*found) or would be inserted. */
__u32 lb_sorted_pos(const void *base, __u32 n, size_t size, const void *key,
		    int (*cmp)(const void *elem, const void *key), bool *found);
/* Grow a dynamic array to hold @need elements. */
int lb_grow(void **arr, __u32 *cap, __u32 need, size_t elem);

/* Validation (validate.c). */
bool lb_addr_ok(__be32 addr);
int lb_check_vip(const struct lb_vip *v, struct lb_err *err);
int lb_check_backend(const struct lb_vip *v, const struct lb_backend *b, struct lb_err *err);
__u64 lb_ring_total(const struct lb_state *s);
int lb_check_maps(const struct lb_maps *m, struct lb_err *err);

/* The live VIP map and backend table (live.c). */
struct lb_live {
	__u32 nr_vips;
	struct udplb_vip_key *keys;
	struct udplb_vip *vals;
	__u32 nr_slots; /* backend slots read: the array's length, at most max_entries */
	struct udplb_backend *slots;
	__u64 generation; /* the live generation these tables belong to */
};

/*
 * Read the live VIPs and backend slots, consistent with one generation (retried while flips land
 * in between; -EAGAIN when they keep coming).
 */
int lb_live_read(struct lb_maps *m, struct lb_live *l, struct lb_err *err);
void lb_live_free(struct lb_live *l);
long lb_live_vip_by_key(const struct lb_live *l, const struct udplb_vip_key *key);
/*
 * The only two places that read a live structure (abmap_array_read(), abmap_hash_read()): in
 * bulk, consistent, with the generation the content belongs to. lb_live_array_read(): elements [start, start + count) of @arr into @values, zeroed
 * past the array's live length (*len). lb_live_hash_read(): every key and value of @hash (at
 * most @max) into @keys and @values, *n of them. -EAGAIN: a flip landed during the read.
 */
int lb_live_array_read(struct abmap *arr, __u32 start, __u32 count, void *values, __u32 *len,
		       __u64 *generation);
int lb_live_hash_read(struct abmap *hash, void *keys, void *values, __u32 max, __u32 *n,
		      __u64 *generation);

/* A desired configuration in canonical order and the ids it gets (ids.c). */
struct lb_build {
	__u32 nr_vips;
	const struct lb_vip **vips;	/* desired VIPs, sorted */
	const struct lb_backend ***bes; /* their backends, sorted */
	__u32 *vip_ids;			/* per sorted VIP */
	__u32 **be_ids;			/* per sorted backend */
};

/* Sort @desired into @b (ids not yet assigned). */
int lb_build_init(struct lb_build *b, const struct lb_state *desired, struct lb_err *err);
void lb_build_free(struct lb_build *b);
/* Ids: kept when live in @l, else the lowest free, in canonical order. */
int lb_assign_ids(struct lb_build *b, const struct lb_live *l, __u32 max_slots, struct lb_err *err);

/* The four tables of a configuration (tables.c). */
struct lb_plan {
	__u32 nr_vips;
	struct udplb_vip_key *keys; /* sorted */
	struct udplb_vip *vals;
	__u32 nr_words;
	__u64 *filter;
	__u32 nr_slots;
	struct udplb_backend *slots;
	__u32 ring_len; /* the rings, then the trailer when it fits */
	__u32 *ring;
	__u32 rings_len;  /* the rings alone */
	bool rings_built; /* else ring[] is unset (lb_plan_build_lite()) */
	bool has_trailer;
	__u64 inputs; /* digest of what the rings are built from (seed, ids, weights, sizes) */
};

/*
 * After the rings, which the data plane reads at [ring_off, ring_off + ring_size) only, the ring
 * array holds a trailer when it fits: a digest of the rings' inputs and a hash of their content.
 * An unchanged commit then checks the live rings against the trailer (one bulk read and a hash)
 * instead of rebuilding every Maglev table. Rings without a valid trailer (written by an older
 * version, or altered) are rebuilt and compared in full.
 */
#define LB_TRAILER_MAGIC 0x726c6275U /* "ublr" */
#define LB_TRAILER_WORDS 6	     /* magic, version, inputs (2), content hash (2) */

void lb_trailer_write(__u32 *at, __u64 inputs, __u64 content);
/* 1 if @at is a trailer of @inputs whose content hash is @content. */
int lb_trailer_matches(const __u32 *at, __u64 inputs, __u64 content);
/* Hash of the rings' content (change detection, not cryptographic). */
__u64 lb_ring_hash(const __u32 *ring, __u32 n);

/*
 * The tables @desired gives, ids kept from @l (the live tables; empty: a fresh instance), sized
 * for maps of @max (entries of vips, vip_filter, backends, ring).
 */
struct lb_plan_limits {
	__u32 vips, filter_words, backends, ring;
};
int lb_plan_build(const struct lb_plan_limits *max, const struct lb_state *desired,
		  const struct lb_live *l, __u32 seed, struct lb_plan *p, struct lb_err *err);
/* lb_plan_build() without building the rings (their inputs digest is set). */
int lb_plan_build_lite(const struct lb_plan_limits *max, const struct lb_state *desired,
		       const struct lb_live *l, __u32 seed, struct lb_plan *p, struct lb_err *err);
void lb_plan_free(struct lb_plan *p);
struct lb_plan_limits lb_maps_limits(const struct lb_maps *m);

#endif /* __UDPLB_LIB_INTERNAL_H */
