// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Differences between two configurations, as structured items (lb_diff()): what a dry run shows
 * and what an apply would change. Ids and ring offsets are not compared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool vip_conf_equal(const struct lb_vip *a, const struct lb_vip *b)
{
	return a->fwd == b->fwd && a->hash_mode == b->hash_mode && a->flags == b->flags &&
	       a->ring_size == b->ring_size;
}

static bool backend_conf_equal(const struct lb_backend *a, const struct lb_backend *b)
{
	return a->weight == b->weight && a->state == b->state && a->has_mac == b->has_mac &&
	       (!a->has_mac || !memcmp(a->mac, b->mac, sizeof(a->mac)));
}

static int emit(lb_diff_fn fn, void *ctx, int *count, enum lb_diff_op op, const struct lb_vip *vo,
		const struct lb_vip *vn, const struct lb_backend *bo, const struct lb_backend *bn)
{
	struct lb_diff_item item = {
		.op = op,
		.vip_old = vo,
		.vip_new = vn,
		.backend_old = bo,
		.backend_new = bn,
	};

	(*count)++;
	return fn ? fn(ctx, &item) : 0;
}

static int diff_backends(const struct lb_vip *vo, const struct lb_vip *vn, lb_diff_fn fn, void *ctx,
			 int *count)
{
	const struct lb_backend **bo = NULL, **bn = NULL;
	__u32 no = vo ? vo->nr_backends : 0, nn = vn ? vn->nr_backends : 0, i = 0, j = 0;
	int ret = 0;

	bo = vo ? lb_sorted_backends(vo) : calloc(1, sizeof(*bo));
	bn = vn ? lb_sorted_backends(vn) : calloc(1, sizeof(*bn));
	if (!bo || !bn) {
		ret = -ENOMEM;
		goto out;
	}
	while (!ret && (i < no || j < nn)) {
		int c = i >= no ? 1 :
			j >= nn ? -1 :
				  lb_backend_ident_cmp(bo[i]->addr, bo[i]->port, bn[j]->addr,
						       bn[j]->port);

		if (c < 0) {
			ret = emit(fn, ctx, count, LB_DIFF_DEL, vo, vn, bo[i++], NULL);
		} else if (c > 0) {
			ret = emit(fn, ctx, count, LB_DIFF_ADD, vo, vn, NULL, bn[j++]);
		} else {
			if (!backend_conf_equal(bo[i], bn[j]))
				ret = emit(fn, ctx, count, LB_DIFF_CHANGE, vo, vn, bo[i], bn[j]);
			i++;
			j++;
		}
	}
out:
	free(bo);
	free(bn);
	return ret;
}

int lb_diff(const struct lb_state *live, const struct lb_state *desired, lb_diff_fn fn, void *ctx)
{
	const struct lb_vip **vo = NULL, **vn = NULL;
	__u32 i = 0, j = 0;
	int ret = 0, count = 0;

	if (!live || !desired || (live->nr_vips && !live->vips) ||
	    (desired->nr_vips && !desired->vips))
		return -EINVAL;
	vo = lb_sorted_vips(live);
	vn = lb_sorted_vips(desired);
	if (!vo || !vn) {
		ret = -ENOMEM;
		goto out;
	}
	while (!ret && (i < live->nr_vips || j < desired->nr_vips)) {
		int c = i >= live->nr_vips    ? 1 :
			j >= desired->nr_vips ? -1 :
						lb_vip_key_cmp(&vo[i]->key, &vn[j]->key);

		if (c < 0) {
			ret = emit(fn, ctx, &count, LB_DIFF_DEL, vo[i], NULL, NULL, NULL);
			if (!ret)
				ret = diff_backends(vo[i], NULL, fn, ctx, &count);
			i++;
		} else if (c > 0) {
			ret = emit(fn, ctx, &count, LB_DIFF_ADD, NULL, vn[j], NULL, NULL);
			if (!ret)
				ret = diff_backends(NULL, vn[j], fn, ctx, &count);
			j++;
		} else {
			if (!vip_conf_equal(vo[i], vn[j]))
				ret = emit(fn, ctx, &count, LB_DIFF_CHANGE, vo[i], vn[j], NULL,
					   NULL);
			if (!ret)
				ret = diff_backends(vo[i], vn[j], fn, ctx, &count);
			i++;
			j++;
		}
	}
out:
	free(vo);
	free(vn);
	return ret ? ret : count;
}
