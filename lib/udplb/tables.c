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
	p->ring_len = (__u32)lb_ring_total(desired);
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
	/* No active backend: every slot UDPLB_NO_BACKEND, the ring keeps its place. */
	ret = maglev_build(mb, nmb, v->ring_size, seed, p->ring + off);
	if (ret)
		return lb_fail(err, ret, "VIP %s: building its Maglev ring: %s",
			       lb_fmt_vip(&v->key, name, sizeof(name)), strerror(-ret));
	return 0;
}

int lb_plan_build(const struct lb_plan_limits *max, const struct lb_state *desired,
		  const struct lb_live *l, __u32 seed, struct lb_plan *p, struct lb_err *err)
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
	for (i = 0; !ret && i < b.nr_vips; i++) {
		ret = fill_vip(p, &b, i, off, seed, mb, err);
		off += b.vips[i]->ring_size;
	}
	free(mb);
	lb_build_free(&b);
	if (ret)
		lb_plan_free(p);
	return ret;
}
