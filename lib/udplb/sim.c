// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The flow simulator (lb_sim.h): the data plane's new-flow decision over a copy of the tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "internal.h"
#include "lb_sim.h"

/* The tables, as the data plane reads them (struct lb_plan: keys sorted, ring from offset 0). */
struct lb_sim {
	struct lb_plan t;
};

static int sim_alloc(struct lb_sim **out, struct lb_err *err)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : lb_fail(err, -ENOMEM, "out of memory");
}

int lb_sim_from_state(const struct lb_state *desired, __u32 maglev_seed, struct lb_sim **out,
		      struct lb_err *err)
{
	struct lb_plan_limits max = { .vips = UDPLB_MAX_VIPS,
				      .filter_words = UDPLB_FILTER_WORDS,
				      .backends = UDPLB_MAX_BACKENDS,
				      .ring = UDPLB_RING_SLOTS };
	struct lb_live empty = {};
	int ret;

	lb_err_clear(err);
	ret = lb_state_validate(desired, err);
	if (!ret)
		ret = sim_alloc(out, err);
	if (ret)
		return ret;
	ret = lb_plan_build(&max, desired, &empty, maglev_seed ? maglev_seed : LB_MAGLEV_SEED,
			    &(*out)->t, err);
	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

/* End of the last VIP's ring: how much of the ring array the VIPs use. */
static __u32 ring_end(const struct lb_live *l)
{
	__u32 i, end = 0;

	for (i = 0; i < l->nr_vips; i++) {
		__u64 e = (__u64)l->vals[i].ring_off + l->vals[i].ring_size;

		if (e > end)
			end = e > UDPLB_RING_SLOTS ? UDPLB_RING_SLOTS : (__u32)e;
	}
	return end;
}

/* The filter and the ring of the generation @l was read at. */
static int read_arrays(struct lb_maps *m, const struct lb_live *l, struct lb_plan *t)
{
	__u64 gen;
	__u32 len;
	int ret;

	t->nr_words = abmap_max_entries(m->vip_filter);
	t->filter = calloc(t->nr_words + 1, sizeof(*t->filter));
	/* The rings and what follows them (the trailer): what a lookup past a ring would see. */
	t->ring_len = ring_end(l) + LB_TRAILER_WORDS;
	if (t->ring_len > abmap_max_entries(m->ring))
		t->ring_len = abmap_max_entries(m->ring);
	t->ring = calloc((size_t)t->ring_len + 1, sizeof(*t->ring));
	if (!t->filter || !t->ring)
		return -ENOMEM;
	ret = lb_live_array_read(m->vip_filter, 0, t->nr_words, t->filter, &len, &gen);
	if (!ret && gen != l->generation)
		ret = -EAGAIN;
	if (!ret)
		ret = lb_live_array_read(m->ring, 0, t->ring_len, t->ring, &len, &gen);
	if (!ret && gen != l->generation)
		ret = -EAGAIN;
	return ret;
}

int lb_sim_from_maps(struct lb_maps *maps, struct lb_sim **out, struct lb_err *err)
{
	struct lb_live l;
	int ret, tries;

	lb_err_clear(err);
	ret = lb_check_maps(maps, err);
	if (!ret)
		ret = sim_alloc(out, err);
	for (tries = 0, ret = ret ? ret : -EAGAIN; ret == -EAGAIN && tries < 8; tries++) {
		lb_plan_free(&(*out)->t);
		ret = lb_live_read(maps, &l, err);
		if (ret)
			break;
		ret = read_arrays(maps, &l, &(*out)->t);
		/* The plan takes over the live VIPs and slots. */
		(*out)->t.nr_vips = l.nr_vips;
		(*out)->t.keys = l.keys;
		(*out)->t.vals = l.vals;
		(*out)->t.nr_slots = l.nr_slots;
		(*out)->t.slots = l.slots;
	}
	if (ret && *out) {
		lb_sim_free(*out);
		*out = NULL;
	}
	if (ret)
		return err && err->msg[0] ?
			       ret :
			       lb_fail(err, ret, "reading the live tables: %s", strerror(-ret));
	return 0;
}

void lb_sim_free(struct lb_sim *sim)
{
	if (!sim)
		return;
	lb_plan_free(&sim->t);
	free(sim);
}

static const struct udplb_vip *sim_vip(const struct lb_plan *t, const struct udplb_flow *f)
{
	__u32 bit = udplb_filter_bit(f->daddr, f->dport), i;
	struct udplb_vip_key key = { .addr = f->daddr, .port = f->dport, .proto = IPPROTO_UDP };

	if (bit / 64 >= t->nr_words || !((t->filter[bit / 64] >> (bit & 63)) & 1))
		return NULL;
	for (i = 0; i < t->nr_vips; i++) {
		if (!memcmp(&t->keys[i], &key, sizeof(key)))
			return &t->vals[i];
	}
	return NULL;
}

int lb_sim_flow(const struct lb_sim *sim, const struct udplb_flow *flow, __u32 hash_seed,
		struct lb_sim_result *r)
{
	const struct udplb_vip *vip = sim_vip(&sim->t, flow);
	const struct udplb_backend *be;
	__u32 slot, id;

	memset(r, 0, sizeof(*r));
	if (!vip)
		return -ENOENT;
	r->vip_id = vip->id;
	r->fwd = vip->fwd;
	if (!vip->ring_size)
		return -EHOSTUNREACH;
	slot = vip->ring_off + udplb_flow_hash(flow, hash_seed, vip->hash_mode) % vip->ring_size;
	if (slot >= sim->t.ring_len)
		return -EHOSTUNREACH;
	id = sim->t.ring[slot];
	if (id == UDPLB_NO_BACKEND || id >= sim->t.nr_slots)
		return -EHOSTUNREACH;
	be = &sim->t.slots[id];
	if (be->state != UDPLB_BACKEND_ACTIVE || be->vip_id != vip->id)
		return -EHOSTUNREACH;
	r->backend_id = id;
	r->addr = be->addr;
	r->port = be->port;
	r->has_mac = be->flags & UDPLB_BACKEND_F_MAC;
	memcpy(r->mac, be->mac, sizeof(r->mac));
	return 0;
}

const __u32 *lb_sim_ring(const struct lb_sim *sim, __u32 *len)
{
	*len = sim->t.ring_len;
	return sim->t.ring;
}

const struct udplb_backend *lb_sim_backend(const struct lb_sim *sim, __u32 id)
{
	return id < sim->t.nr_slots ? &sim->t.slots[id] : NULL;
}
