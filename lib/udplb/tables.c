// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Table building: the four tables the data plane reads (vips, vip_filter, backends, ring), in
 * full, from a desired configuration whose ids are planned against the live tables (ids.c).
 * Rings are packed in canonical VIP order, so the same configuration gives byte-identical tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "maglev.h"

_Static_assert(UDPLB_NO_BACKEND == MAGLEV_NO_BACKEND, "ring filler must be the same value");

void lb_plan_free(struct lb_plan *p)
{
	free(p->keys);
	free(p->vals);
	free(p->filter);
	free(p->slots);
	free(p->ring);
	memset(p, 0, sizeof(*p));
}

struct lb_plan_limits lb_maps_limits(const struct lb_maps *m)
{
	struct lb_plan_limits max = {
		.vips = abmap_max_entries(m->vips),
		.filter_words = abmap_max_entries(m->vip_filter),
		.backends = abmap_max_entries(m->backends),
		.ring = abmap_max_entries(m->ring),
	};

	return max;
}

static int check_fits(const struct lb_plan_limits *max, const struct lb_state *desired,
		      struct lb_err *err)
{
	__u32 max_slots = max->backends < UDPLB_MAX_BACKENDS ? max->backends : UDPLB_MAX_BACKENDS;
	__u32 max_ring = max->ring < UDPLB_RING_SLOTS ? max->ring : UDPLB_RING_SLOTS;
	__u64 total = lb_ring_total(desired);

	if (desired->nr_vips > max->vips)
		return lb_fail(err, -ENOSPC, "%u VIPs do not fit the VIP map (%u entries)",
			       desired->nr_vips, max->vips);
	if (lb_state_nr_backends(desired) > max_slots)
		return lb_fail(err, -ENOSPC, "%u backends do not fit the backend map (%u entries)",
			       lb_state_nr_backends(desired), max_slots);
	if (total > max_ring)
		return lb_fail(err, -ENOSPC, "the rings need %llu slots, the ring map has %u",
			       (unsigned long long)total, max_ring);
	return 0;
}

static int plan_alloc(struct lb_plan *p, const struct lb_plan_limits *max,
		      const struct lb_state *desired, struct lb_err *err)
{
	__u32 nr = desired->nr_vips;

	memset(p, 0, sizeof(*p));
	p->nr_vips = nr;
	p->keys = calloc(nr + 1, sizeof(*p->keys));
	p->vals = calloc(nr + 1, sizeof(*p->vals));
	p->nr_words = max->filter_words;
	p->filter = calloc(p->nr_words + 1, sizeof(*p->filter));
	p->nr_slots = max->backends;
	p->slots = calloc(p->nr_slots + 1, sizeof(*p->slots));
	p->rings_len = (__u32)lb_ring_total(desired);
	p->has_trailer = (__u64)p->rings_len + LB_TRAILER_WORDS <=
			 (max->ring < UDPLB_RING_SLOTS ? max->ring : UDPLB_RING_SLOTS);
	p->ring_len = p->rings_len + (p->has_trailer ? LB_TRAILER_WORDS : 0);
	p->ring = malloc(((size_t)p->ring_len + 1) * sizeof(*p->ring));
	if (p->keys && p->vals && p->filter && p->slots && p->ring)
		return 0;
	lb_plan_free(p);
	return lb_fail(err, -ENOMEM, "out of memory");
}

/* Backend entries of VIP @i; its active backends into @mb (returns how many). */
static __u32 fill_backends(struct lb_plan *p, const struct lb_build *b, __u32 i,
			   struct maglev_backend *mb)
{
	const struct lb_vip *v = b->vips[i];
	__u32 j, nmb = 0;

	for (j = 0; j < v->nr_backends; j++) {
		const struct lb_backend *be = b->bes[i][j];
		struct udplb_backend *e = &p->slots[b->be_ids[i][j]];

		e->addr = be->addr;
		e->port = be->port;
		e->weight = be->weight;
		if (be->has_mac) {
			memcpy(e->mac, be->mac, sizeof(e->mac));
			e->flags |= UDPLB_BACKEND_F_MAC;
		}
		e->state = be->state;
		e->vip_id = b->vip_ids[i];
		if (be->state != UDPLB_BACKEND_ACTIVE)
			continue;
		mb[nmb].addr = be->addr;
		mb[nmb].port = be->port;
		mb[nmb].weight = be->weight;
		mb[nmb].id = b->be_ids[i][j];
		nmb++;
	}
	return nmb;
}

/* Word-wise multiply-xor hash (FNV-1a style on 64-bit words) with a final mix. */
static __u64 hash_word(__u64 h, __u64 w)
{
	return (h ^ w) * 0x100000001b3ULL;
}

static __u64 hash_final(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

__u64 lb_ring_hash(const __u32 *ring, __u32 n)
{
	/* Four independent lanes: the multiplies overlap (~4x faster than one chain). */
	__u64 h[4] = { 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9e3779b97f4a7c15ULL,
		       0xc2b2ae3d27d4eb4fULL };
	__u64 w[4];
	__u32 i, k;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(w, ring + i, sizeof(w));
		for (k = 0; k < 4; k++)
			h[k] = hash_word(h[k], w[k]);
	}
	for (; i < n; i++)
		h[0] = hash_word(h[0], ring[i]);
	for (k = 1; k < 4; k++)
		h[0] = hash_word(h[0], hash_final(h[k]));
	return hash_final(hash_word(h[0], n));
}

void lb_trailer_write(__u32 *at, __u64 inputs, __u64 content)
{
	at[0] = LB_TRAILER_MAGIC;
	at[1] = 1;
	at[2] = (__u32)inputs;
	at[3] = (__u32)(inputs >> 32);
	at[4] = (__u32)content;
	at[5] = (__u32)(content >> 32);
}

int lb_trailer_matches(const __u32 *at, __u64 inputs, __u64 content)
{
	__u32 want[LB_TRAILER_WORDS];

	lb_trailer_write(want, inputs, content);
	return !memcmp(at, want, sizeof(want));
}

/* What ring @nmb backends @mb of size @size at @off give: into the inputs digest. */
static __u64 digest_ring(__u64 h, __u32 off, __u32 size, const struct maglev_backend *mb, __u32 nmb)
{
	__u32 j;

	h = hash_word(h, (__u64)off << 32 | size);
	for (j = 0; j < nmb; j++) {
		h = hash_word(h, (__u64)mb[j].addr << 32 | (__u64)mb[j].port << 16 | mb[j].weight);
		h = hash_word(h, mb[j].id);
	}
	return hash_word(h, nmb);
}

/* VIP @i of @b at ring offset @off: its VIP entry, filter bit, backends and Maglev ring. */
static int fill_vip(struct lb_plan *p, const struct lb_build *b, __u32 i, __u32 off, __u32 seed,
		    struct maglev_backend *mb, struct lb_err *err)
{
	const struct lb_vip *v = b->vips[i];
	__u32 bit = udplb_filter_bit(v->key.addr, v->key.port), nmb;
	char name[LB_ADDR_STRLEN];
	int ret;

	p->keys[i] = v->key;
	p->vals[i].id = b->vip_ids[i];
	p->vals[i].fwd = v->fwd;
	p->vals[i].hash_mode = v->hash_mode;
	p->vals[i].flags = v->flags;
	p->vals[i].ring_off = off;
	p->vals[i].ring_size = v->ring_size;
	if (bit / 64 < p->nr_words)
		p->filter[bit / 64] |= 1ULL << (bit % 64);
	nmb = fill_backends(p, b, i, mb);
	p->inputs = digest_ring(p->inputs, off, v->ring_size, mb, nmb);
	if (!p->rings_built)
		return 0;
	/* No active backend: every slot UDPLB_NO_BACKEND, the ring keeps its place. */
	ret = maglev_build(mb, nmb, v->ring_size, seed, p->ring + off);
	if (ret)
		return lb_fail(err, ret, "VIP %s: building its Maglev ring: %s",
			       lb_fmt_vip(&v->key, name, sizeof(name)), strerror(-ret));
	return 0;
}

static int plan_build(const struct lb_plan_limits *max, const struct lb_state *desired,
		      const struct lb_live *l, __u32 seed, bool rings, struct lb_plan *p,
		      struct lb_err *err)
{
	__u32 max_slots = max->backends < UDPLB_MAX_BACKENDS ? max->backends : UDPLB_MAX_BACKENDS;
	struct maglev_backend *mb = NULL;
	struct lb_build b;
	__u32 i, off = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = check_fits(max, desired, err);
	if (ret)
		return ret;
	ret = lb_build_init(&b, desired, err);
	if (ret)
		return ret;
	ret = plan_alloc(p, max, desired, err);
	if (!ret) {
		mb = calloc(lb_state_nr_backends(desired) + 1, sizeof(*mb));
		if (!mb)
			ret = lb_fail(err, -ENOMEM, "out of memory");
	}
	if (!ret)
		ret = lb_assign_ids(&b, l, max_slots, err);
	p->rings_built = rings;
	p->inputs = hash_word(0xcbf29ce484222325ULL, seed);
	for (i = 0; !ret && i < b.nr_vips; i++) {
		ret = fill_vip(p, &b, i, off, seed, mb, err);
		off += b.vips[i]->ring_size;
	}
	p->inputs = hash_final(p->inputs);
	if (!ret && rings && p->has_trailer)
		lb_trailer_write(p->ring + p->rings_len, p->inputs,
				 lb_ring_hash(p->ring, p->rings_len));
	free(mb);
	lb_build_free(&b);
	if (ret)
		lb_plan_free(p);
	return ret;
}

int lb_plan_build(const struct lb_plan_limits *max, const struct lb_state *desired,
		  const struct lb_live *l, __u32 seed, struct lb_plan *p, struct lb_err *err)
{
	return plan_build(max, desired, l, seed, true, p, err);
}

int lb_plan_build_lite(const struct lb_plan_limits *max, const struct lb_state *desired,
		       const struct lb_live *l, __u32 seed, struct lb_plan *p, struct lb_err *err)
{
	return plan_build(max, desired, l, seed, false, p, err);
}
