// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Id planning: a VIP keeps its id and a backend (VIP, addr:port) keeps its slot across commits;
 * new ones get the lowest free id, taken in canonical order, so one configuration committed to
 * empty maps gives the same ids whatever order it was built in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A live backend slot, sorted by identity to find kept backends. */
struct live_slot {
	__u32 vip_id;
	__be32 addr;
	__be16 port;
	__u32 slot;
};

static int live_slot_cmp(const void *pa, const void *pb)
{
	const struct live_slot *a = pa, *b = pb;
	int c = lb_cmp_u32(a->vip_id, b->vip_id);

	if (!c)
		c = lb_backend_ident_cmp(a->addr, a->port, b->addr, b->port);
	return c ? c : lb_cmp_u32(a->slot, b->slot);
}

static long live_slot_find(const struct live_slot *ls, __u32 n, __u32 vip_id, __be32 addr,
			   __be16 port)
{
	__u32 lo = 0, hi = n;

	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;
		int c = lb_cmp_u32(ls[mid].vip_id, vip_id);

		if (!c)
			c = lb_backend_ident_cmp(ls[mid].addr, ls[mid].port, addr, port);
		if (!c) {
			/* The first of equal identities (a duplicate is left to be freed). */
			while (mid > lo && !lb_cmp_u32(ls[mid - 1].vip_id, vip_id) &&
			       !lb_backend_ident_cmp(ls[mid - 1].addr, ls[mid - 1].port, addr,
						     port))
				mid--;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Lowest i >= *from with !used[i], or n; ids are handed out in increasing order. */
static __u32 lowest_free(const bool *used, __u32 n, __u32 *from)
{
	__u32 i;

	for (i = *from; i < n && used[i]; i++)
		;
	*from = i;
	return i;
}

void lb_build_free(struct lb_build *b)
{
	__u32 i;

	for (i = 0; i < b->nr_vips; i++) {
		if (b->bes)
			free(b->bes[i]);
		if (b->be_ids)
			free(b->be_ids[i]);
	}
	free(b->vips);
	free(b->bes);
	free(b->vip_ids);
	free(b->be_ids);
	memset(b, 0, sizeof(*b));
}

int lb_build_init(struct lb_build *b, const struct lb_state *desired, struct lb_err *err)
{
	__u32 nr = desired->nr_vips, i;
	int ret;

	memset(b, 0, sizeof(*b));
	b->nr_vips = nr;
	b->vips = lb_sorted_vips(desired);
	b->bes = calloc(nr + 1, sizeof(*b->bes));
	b->vip_ids = calloc(nr + 1, sizeof(*b->vip_ids));
	b->be_ids = calloc(nr + 1, sizeof(*b->be_ids));
	ret = b->vips && b->bes && b->vip_ids && b->be_ids ? 0 : -ENOMEM;
	for (i = 0; !ret && i < nr; i++) {
		b->bes[i] = lb_sorted_backends(b->vips[i]);
		b->be_ids[i] = calloc(b->vips[i]->nr_backends + 1, sizeof(**b->be_ids));
		if (!b->bes[i] || !b->be_ids[i])
			ret = -ENOMEM;
	}
	if (ret) {
		lb_build_free(b);
		return lb_fail(err, ret, "out of memory");
	}
	return 0;
}

/* VIPs that are live keep their id (live_idx[i]: index in @l, or -1); others the lowest free. */
static void assign_vip_ids(struct lb_build *b, const struct lb_live *l, long *live_idx)
{
	bool vip_used[UDPLB_MAX_VIPS] = { false };
	__u32 i, from = 0;

	for (i = 0; i < b->nr_vips; i++) {
		long k = lb_live_vip_by_key(l, &b->vips[i]->key);
		__u32 id = k >= 0 ? l->vals[k].id : UDPLB_MAX_VIPS;

		live_idx[i] = -1;
		if (k >= 0 && id < UDPLB_MAX_VIPS && !vip_used[id]) {
			vip_used[id] = true;
			b->vip_ids[i] = id;
			live_idx[i] = k;
		}
	}
	for (i = 0; i < b->nr_vips; i++) {
		if (live_idx[i] >= 0)
			continue;
		b->vip_ids[i] = lowest_free(vip_used, UDPLB_MAX_VIPS, &from);
		vip_used[b->vip_ids[i]] = true; /* nr_vips <= UDPLB_MAX_VIPS: always found */
	}
}

/* Live backend slots, sorted by identity; returns how many. */
static __u32 collect_live_slots(const struct lb_live *l, __u32 max_slots, struct live_slot *ls)
{
	__u32 i, n = 0;

	for (i = 0; i < l->nr_slots && i < max_slots; i++) {
		const struct udplb_backend *e = &l->slots[i];

		if (e->state == UDPLB_BACKEND_FREE)
			continue;
		ls[n].vip_id = e->vip_id;
		ls[n].addr = e->addr;
		ls[n].port = e->port;
		ls[n].slot = i;
		n++;
	}
	qsort(ls, n, sizeof(*ls), live_slot_cmp);
	return n;
}

/* Backends of kept VIPs that are live keep their slot. */
static void keep_backend_slots(struct lb_build *b, const long *live_idx, const struct live_slot *ls,
			       __u32 nls, bool *slot_used)
{
	__u32 i, j;

	for (i = 0; i < b->nr_vips; i++) {
		for (j = 0; j < b->vips[i]->nr_backends; j++) {
			const struct lb_backend *be = b->bes[i][j];
			long k;

			b->be_ids[i][j] = UDPLB_NO_BACKEND;
			if (live_idx[i] < 0)
				continue;
			k = live_slot_find(ls, nls, b->vip_ids[i], be->addr, be->port);
			if (k >= 0 && !slot_used[ls[k].slot]) {
				slot_used[ls[k].slot] = true;
				b->be_ids[i][j] = ls[k].slot;
			}
		}
	}
}

static int new_backend_slots(struct lb_build *b, __u32 max_slots, bool *slot_used,
			     struct lb_err *err)
{
	char name[LB_ADDR_STRLEN];
	__u32 i, j, from = 0, id;

	for (i = 0; i < b->nr_vips; i++) {
		for (j = 0; j < b->vips[i]->nr_backends; j++) {
			if (b->be_ids[i][j] != UDPLB_NO_BACKEND)
				continue;
			id = lowest_free(slot_used, max_slots, &from);
			if (id >= max_slots)
				return lb_fail(
					err, -ENOSPC,
					"VIP %s: no free backend slot (the backend map has %u)",
					lb_fmt_vip(&b->vips[i]->key, name, sizeof(name)),
					max_slots);
			slot_used[id] = true;
			b->be_ids[i][j] = id;
		}
	}
	return 0;
}

int lb_assign_ids(struct lb_build *b, const struct lb_live *l, __u32 max_slots, struct lb_err *err)
{
	long *live_idx = calloc(b->nr_vips + 1, sizeof(*live_idx));
	bool *slot_used = calloc(max_slots + 1, sizeof(*slot_used));
	struct live_slot *ls = calloc(l->nr_slots + 1, sizeof(*ls));
	__u32 nls;
	int ret;

	if (!live_idx || !slot_used || !ls) {
		ret = lb_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	assign_vip_ids(b, l, live_idx);
	nls = collect_live_slots(l, max_slots, ls);
	keep_backend_slots(b, live_idx, ls, nls, slot_used);
	ret = new_backend_slots(b, max_slots, slot_used, err);
out:
	free(live_idx);
	free(slot_used);
	free(ls);
	return ret;
}
