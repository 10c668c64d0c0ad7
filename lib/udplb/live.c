// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live read-back: the VIP map and the backend table as they are in the data plane now, and the
 * model they describe (lb_read()), so a one-shot CLI needs no state of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Attempts before giving up on a configuration that keeps flipping. */
#define LB_READ_TRIES 8

/* Bulk reads: libabmap's consistent reads (one memcpy or batch, with the generation). */
int lb_live_array_read(struct abmap *arr, __u32 start, __u32 count, void *values, __u32 *len,
		       __u64 *generation)
{
	return abmap_array_read(arr, start, count, values, len, generation);
}

int lb_live_hash_read(struct abmap *hash, void *keys, void *values, __u32 max, __u32 *n,
		      __u64 *generation)
{
	return abmap_hash_read(hash, keys, values, max, n, generation);
}

void lb_live_free(struct lb_live *l)
{
	free(l->keys);
	free(l->vals);
	free(l->slots);
	memset(l, 0, sizeof(*l));
}

static int live_read_once(struct lb_maps *m, struct lb_live *l)
{
	__u32 max_vips = abmap_max_entries(m->vips), max_slots = abmap_max_entries(m->backends);
	__u64 gen_slots;
	int ret;

	l->keys = calloc(max_vips + 1, sizeof(*l->keys));
	l->vals = calloc(max_vips + 1, sizeof(*l->vals));
	l->slots = calloc(max_slots + 1, sizeof(*l->slots));
	if (!l->keys || !l->vals || !l->slots)
		return -ENOMEM;
	ret = lb_live_hash_read(m->vips, l->keys, l->vals, max_vips, &l->nr_vips, &l->generation);
	if (!ret)
		ret = lb_live_array_read(m->backends, 0, max_slots, l->slots, &l->nr_slots,
					 &gen_slots);
	if (!ret && gen_slots != l->generation)
		ret = -EAGAIN;
	if (l->nr_slots > max_slots)
		l->nr_slots = max_slots;
	return ret;
}

int lb_live_read(struct lb_maps *m, struct lb_live *l, struct lb_err *err)
{
	int ret = -EAGAIN, tries;

	for (tries = 0; ret == -EAGAIN && tries < LB_READ_TRIES; tries++) {
		memset(l, 0, sizeof(*l));
		ret = live_read_once(m, l);
		if (ret)
			lb_live_free(l);
	}
	if (ret == -EAGAIN)
		return lb_fail(err, ret, "the configuration kept changing while being read");
	if (ret)
		return lb_fail(err, ret, "reading the live configuration: %s", strerror(-ret));
	return 0;
}

/* Index of the live VIP with id @id, or -1. */
static long live_vip_by_id(const struct lb_live *l, __u32 id)
{
	__u32 i;

	for (i = 0; i < l->nr_vips; i++) {
		if (l->vals[i].id == id)
			return i;
	}
	return -1;
}

long lb_live_vip_by_key(const struct lb_live *l, const struct udplb_vip_key *key)
{
	__u32 i;

	for (i = 0; i < l->nr_vips; i++) {
		if (!memcmp(&l->keys[i], key, sizeof(*key)))
			return i;
	}
	return -1;
}

/* The live VIPs into @s, sorted, without backends. */
static int vips_to_state(const struct lb_live *l, struct lb_state *s, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN];
	__u32 i;

	if (!l->nr_vips)
		return 0;
	s->vips = calloc(l->nr_vips, sizeof(*s->vips));
	if (!s->vips)
		return lb_fail(err, -ENOMEM, "out of memory");
	s->cap_vips = l->nr_vips;
	for (i = 0; i < l->nr_vips; i++) {
		struct lb_vip *v = &s->vips[i];

		v->key = l->keys[i];
		v->id = l->vals[i].id;
		v->fwd = l->vals[i].fwd;
		v->hash_mode = l->vals[i].hash_mode;
		v->flags = l->vals[i].flags;
		v->ring_off = l->vals[i].ring_off;
		v->ring_size = l->vals[i].ring_size;
		s->nr_vips = i + 1;
		/* Ids index per-VIP arrays (counters) and the ring: never trust them unchecked. */
		if (v->id >= UDPLB_MAX_VIPS)
			return lb_fail(err, -EUCLEAN, "VIP %s: id %u is out of range (< %u)",
				       lb_fmt_vip(&v->key, name, sizeof(name)), v->id,
				       UDPLB_MAX_VIPS);
		if ((__u64)v->ring_off + v->ring_size > UDPLB_RING_SLOTS)
			return lb_fail(err, -EUCLEAN,
				       "VIP %s: ring %u+%u is past the ring map (%u slots)",
				       lb_fmt_vip(&v->key, name, sizeof(name)), v->ring_off,
				       v->ring_size, UDPLB_RING_SLOTS);
		if (live_vip_by_id(l, v->id) != i)
			return lb_fail(err, -EUCLEAN, "VIP %s: id %u is used twice",
				       lb_fmt_vip(&v->key, name, sizeof(name)), v->id);
	}
	qsort(s->vips, s->nr_vips, sizeof(*s->vips), lb_vip_cmp);
	return 0;
}

static struct lb_vip *vip_by_id(const struct lb_state *s, __u32 id)
{
	__u32 i;

	for (i = 0; i < s->nr_vips; i++) {
		if (s->vips[i].id == id)
			return &s->vips[i];
	}
	return NULL;
}

/* Live backend slot @i into its VIP of @s. */
static int slot_to_state(const struct udplb_backend *e, __u32 i, struct lb_state *s,
			 struct lb_err *err)
{
	char name[LB_ADDR_STRLEN], bname[LB_ADDR_STRLEN];
	struct lb_vip *v = vip_by_id(s, e->vip_id);
	struct lb_backend *b;

	if (!v)
		return lb_fail(err, -EUCLEAN,
			       "backend slot %u (%s) belongs to VIP id %u, which is not configured",
			       i, lb_fmt_addr_port(e->addr, e->port, bname, sizeof(bname)),
			       e->vip_id);
	if (e->state != UDPLB_BACKEND_ACTIVE && e->state != UDPLB_BACKEND_DRAINING)
		return lb_fail(err, -EUCLEAN, "backend slot %u (%s of VIP %s): bad state %u", i,
			       lb_fmt_addr_port(e->addr, e->port, bname, sizeof(bname)),
			       lb_fmt_vip(&v->key, name, sizeof(name)), e->state);
	if (lb_grow((void **)&v->backends, &v->cap_backends, v->nr_backends + 1,
		    sizeof(*v->backends)))
		return lb_fail(err, -ENOMEM, "out of memory");
	b = &v->backends[v->nr_backends++];
	memset(b, 0, sizeof(*b));
	b->addr = e->addr;
	b->port = e->port;
	b->weight = e->weight;
	b->state = e->state;
	b->has_mac = e->flags & UDPLB_BACKEND_F_MAC;
	if (b->has_mac)
		memcpy(b->mac, e->mac, sizeof(b->mac));
	b->id = i;
	return 0;
}

/* Sort each VIP's backends; a backend in two slots is something lb_commit() never writes. */
static int sort_backends(struct lb_state *s, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN], bname[LB_ADDR_STRLEN];
	__u32 i, j;

	for (i = 0; i < s->nr_vips; i++) {
		struct lb_vip *v = &s->vips[i];

		if (v->nr_backends)
			qsort(v->backends, v->nr_backends, sizeof(*v->backends), lb_backend_cmp);
		for (j = 1; j < v->nr_backends; j++) {
			if (lb_backend_cmp(&v->backends[j - 1], &v->backends[j]))
				continue;
			return lb_fail(err, -EUCLEAN, "backend %s of VIP %s has two slots",
				       lb_fmt_addr_port(v->backends[j].addr, v->backends[j].port,
							bname, sizeof(bname)),
				       lb_fmt_vip(&v->key, name, sizeof(name)));
		}
	}
	return 0;
}

/* The live tables as a model. */
static int live_to_state(const struct lb_live *l, struct lb_state *out, struct lb_err *err)
{
	struct lb_state s;
	__u32 i;
	int ret;

	lb_state_init(&s);
	ret = vips_to_state(l, &s, err);
	for (i = 0; !ret && i < l->nr_slots; i++) {
		if (l->slots[i].state != UDPLB_BACKEND_FREE)
			ret = slot_to_state(&l->slots[i], i, &s, err);
	}
	if (!ret)
		ret = sort_backends(&s, err);
	if (ret) {
		lb_state_free(&s);
		return ret;
	}
	*out = s;
	return 0;
}

int lb_read_at(struct lb_maps *maps, struct lb_state *out, __u64 *generation, struct lb_err *err)
{
	struct lb_live l;
	int ret;

	lb_err_clear(err);
	if (!out)
		return lb_fail(err, -EINVAL, "no output state");
	lb_state_init(out);
	ret = lb_check_maps(maps, err);
	if (!ret)
		ret = lb_live_read(maps, &l, err);
	if (ret)
		return ret;
	ret = live_to_state(&l, out, err);
	if (!ret && generation)
		*generation = l.generation;
	lb_live_free(&l);
	return ret;
}

int lb_read(struct lb_maps *maps, struct lb_state *out, struct lb_err *err)
{
	return lb_read_at(maps, out, NULL, err);
}
