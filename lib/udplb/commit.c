// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lb_commit(): validate, take the group's writer lock (abmap_txn_begin()), read the live VIP ids
 * and backend slots, plan ids and build the four tables in full (ids.c, tables.c), compare them
 * with the live ones (equal: abort, nothing written, LB_COMMIT_UNCHANGED), stage them and
 * commit: one flip.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* 1 if the first @n live elements of @arr equal @want, 0 if not, or a negative errno. */
static int live_array_is(struct abmap *arr, const void *want, __u32 n)
{
	size_t bytes = (size_t)n * abmap_value_size(arr);
	void *live = malloc(bytes + 1);
	__u64 gen;
	__u32 len;
	int ret;

	if (!live)
		return -ENOMEM;
	ret = lb_live_array_read(arr, 0, n, live, &len, &gen);
	if (!ret)
		ret = !memcmp(live, want, bytes);
	free(live);
	return ret;
}

/* 1 if the VIP entries, backend slots and prefilter of @p are live, 0 if not, or -errno. */
static int tables_are_live(struct lb_maps *m, const struct lb_plan *p, const struct lb_live *l)
{
	struct udplb_backend zero_slot;
	__u32 i;

	if (l->nr_vips != p->nr_vips)
		return 0;
	for (i = 0; i < p->nr_vips; i++) {
		long k = lb_live_vip_by_key(l, &p->keys[i]);

		if (k < 0 || memcmp(&l->vals[k], &p->vals[i], sizeof(p->vals[i])))
			return 0;
	}
	memset(&zero_slot, 0, sizeof(zero_slot));
	for (i = 0; i < p->nr_slots; i++) {
		const struct udplb_backend *e = i < l->nr_slots ? &l->slots[i] : &zero_slot;

		if (memcmp(e, &p->slots[i], sizeof(*e)))
			return 0;
	}
	return live_array_is(m->vip_filter, p->filter, p->nr_words);
}

/*
 * 1 if the live rings carry a trailer for @p's inputs that their content matches: they are the
 * rings @p gives, without building them. 0 if not (or no trailer), or -errno.
 */
static int rings_vouched(struct lb_maps *m, const struct lb_plan *p)
{
	__u32 *live, len;
	__u64 gen;
	int ret;

	if (!p->has_trailer)
		return 0;
	live = malloc(((size_t)p->ring_len + 1) * sizeof(*live));
	if (!live)
		return -ENOMEM;
	ret = lb_live_array_read(m->ring, 0, p->ring_len, live, &len, &gen);
	if (!ret)
		ret = lb_trailer_matches(live + p->rings_len, p->inputs,
					 lb_ring_hash(live, p->rings_len));
	free(live);
	return ret;
}

/*
 * Does @desired give the live tables? 1 (yes), 0 (no: @p is the plan to stage), or -errno. No
 * Maglev ring is built when the live trailer vouches for the live rings.
 */
static int plan_is_live(struct lb_maps *m, const struct lb_state *desired, const struct lb_live *l,
			__u32 seed, struct lb_plan *p, struct lb_err *err)
{
	struct lb_plan_limits max = lb_maps_limits(m);
	int tables, vouched, ret;

	ret = lb_plan_build_lite(&max, desired, l, seed, p, err);
	if (ret)
		return ret;
	tables = tables_are_live(m, p, l);
	vouched = tables == 1 ? rings_vouched(m, p) : 0;
	lb_plan_free(p);
	if (tables < 0 || vouched)
		return tables < 0 ? tables : vouched;
	ret = lb_plan_build(&max, desired, l, seed, p, err);
	if (ret || tables != 1)
		return ret;
	/* Same VIPs, so the same ring ranges: compare them (the rest is never read). */
	return live_array_is(m->ring, p->ring, p->rings_len);
}

/* Under the writer lock: fail with -EAGAIN unless the generation is the expected one. */
static int check_generation(struct lb_maps *maps, struct lb_commit_opts *opts)
{
	int ret;

	if (!opts->check_generation)
		return 0;
	ret = abmap_group_generation(maps->group, &opts->generation);
	if (ret)
		return lb_fail(&opts->err, ret, "reading the generation: %s", strerror(-ret));
	if (opts->generation != opts->expect_generation)
		return lb_fail(&opts->err, -EAGAIN,
			       "the configuration changed (generation %llu, expected %llu)",
			       (unsigned long long)opts->generation,
			       (unsigned long long)opts->expect_generation);
	return 0;
}

/*
 * The tables @desired gives against the live ones. Return 0 (the plan differs), 1 (it is live
 * already) or a negative errno.
 */
static int plan_against_live(struct lb_maps *maps, const struct lb_state *desired, __u32 seed,
			     struct lb_plan *p, struct lb_err *err)
{
	struct lb_live l;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = lb_live_read(maps, &l, err);
	if (ret == -EAGAIN) /* under the writer lock nobody flips: the key walk did not end */
		ret = lb_fail(err, -EIO, "the VIP map's key walk did not end");
	if (ret)
		return ret;
	ret = plan_is_live(maps, desired, &l, seed, p, err);
	if (ret < 0 && !err->msg[0])
		lb_fail(err, ret, "reading the live tables: %s", strerror(-ret));
	lb_live_free(&l);
	if (ret)
		lb_plan_free(p);
	return ret;
}

static int stage_plan(struct abmap_txn *txn, struct lb_maps *maps, const struct lb_plan *p)
{
	int ret;

	ret = abmap_txn_hash_set(txn, maps->vips, p->keys, p->vals, p->nr_vips);
	if (!ret)
		ret = abmap_txn_array_set(txn, maps->vip_filter, p->filter, p->nr_words);
	if (!ret)
		ret = abmap_txn_array_set(txn, maps->backends, p->slots, p->nr_slots);
	if (!ret)
		ret = abmap_txn_array_set(txn, maps->ring, p->ring, p->ring_len);
	return ret;
}

int lb_commit(struct lb_maps *maps, const struct lb_state *desired, struct lb_commit_opts *opts)
{
	struct lb_commit_opts dummy;
	struct abmap_txn *txn;
	struct lb_plan p;
	int ret;

	if (!opts) {
		memset(&dummy, 0, sizeof(dummy));
		opts = &dummy;
	}
	lb_err_clear(&opts->err);
	ret = lb_check_maps(maps, &opts->err);
	if (!ret)
		ret = lb_state_validate(desired, &opts->err);
	if (ret)
		return ret;
	txn = abmap_txn_begin(maps->group);
	if (!txn) {
		ret = -errno;
		return lb_fail(&opts->err, ret, "cannot start a transaction: %s%s", strerror(-ret),
			       ret == -EBUSY ? " (another writer holds the lock)" : "");
	}
	/* Under the writer lock: nobody flips between this read and our commit. */
	ret = check_generation(maps, opts);
	if (!ret)
		ret = plan_against_live(maps, desired,
					opts->maglev_seed ? opts->maglev_seed : LB_MAGLEV_SEED, &p,
					&opts->err);
	if (ret) {
		/* Error, or nothing to do. */
		abmap_txn_abort(txn);
		if (ret < 0)
			return ret;
		abmap_group_generation(maps->group, &opts->generation);
		return LB_COMMIT_UNCHANGED;
	}
	ret = stage_plan(txn, maps, &p);
	lb_plan_free(&p);
	if (ret) {
		abmap_txn_abort(txn);
		return lb_fail(&opts->err, ret, "staging the new tables: %s", strerror(-ret));
	}
	ret = abmap_txn_commit(txn);
	if (ret)
		return lb_fail(&opts->err, ret,
			       "commit failed, the live configuration is unchanged: %s",
			       strerror(-ret));
	abmap_group_generation(maps->group, &opts->generation);
	return 0;
}
