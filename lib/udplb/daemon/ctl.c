// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* udplbd's controller state: reload diffing and coalesced commits (ctl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl.h"

void lb_ctl_init(struct lb_ctl *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
	lb_dconf_init(&ctl->conf);
}

void lb_ctl_free(struct lb_ctl *ctl)
{
	lb_dconf_free(&ctl->conf);
	free(ctl->health);
	free(ctl->avail);
	memset(ctl, 0, sizeof(*ctl));
}

const struct lb_dconf_check *lb_ctl_probe(const struct lb_dconf *d,
					  const struct lb_dconf_backend *b)
{
	const struct lb_dconf_check *c = lb_dconf_backend_check(d, b);

	return c && c->spec->kind != LB_CHECK_NONE ? c : NULL;
}

static __u8 initial_health(const struct lb_dconf *d, const struct lb_dconf_backend *b)
{
	const struct lb_dconf_check *c = lb_ctl_probe(d, b);

	if (!c)
		return LB_POLICY_UP;
	return c->spec->initial == LB_HEALTH_UP ? LB_POLICY_UP : LB_POLICY_DOWN;
}

/* The walk over the backends of the old and the new configuration, in their common order. */
struct reload {
	const struct lb_dconf *old, *new;
	const __u8 *old_health;
	__u8 *health; /* of new->backends */
	lb_probe_change_fn fn;
	void *ctx;
	int count;
};

static int report(struct reload *r, enum lb_probe_change_op op, const struct lb_dconf_backend *ob,
		  const struct lb_dconf_backend *nb, const struct lb_dconf_check *oc,
		  const struct lb_dconf_check *nc)
{
	struct lb_probe_change c = { op, ob, nb, op == LB_PROBE_ADDED ? NULL : oc,
				     op == LB_PROBE_REMOVED ? NULL : nc };

	r->count++;
	return r->fn ? r->fn(r->ctx, &c) : 0;
}

/* Backend @i of the old configuration and @j of the new one are the same backend. */
static int stays(struct reload *r, __u32 i, __u32 j)
{
	const struct lb_dconf_backend *ob = &r->old->backends[i], *nb = &r->new->backends[j];
	const struct lb_dconf_check *oc = lb_ctl_probe(r->old, ob), *nc = lb_ctl_probe(r->new, nb);

	r->health[j] = r->old_health[i];
	if (!oc && nc)
		return report(r, LB_PROBE_ADDED, ob, nb, NULL, nc);
	if (oc && !nc) {
		r->health[j] = LB_POLICY_UP; /* no probe: up */
		return report(r, LB_PROBE_REMOVED, ob, nb, oc, NULL);
	}
	if (oc && nc && strcmp(oc->text, nc->text))
		return report(r, LB_PROBE_CHANGED, ob, nb, oc, nc);
	return 0;
}

static int walk(struct reload *r)
{
	const struct lb_dconf *old = r->old, *new = r->new;
	const struct lb_dconf_check *c;
	__u32 i = 0, j = 0;
	int cmp, ret = 0;

	while (!ret && (i < old->nr_backends || j < new->nr_backends)) {
		if (i == old->nr_backends)
			cmp = 1;
		else if (j == new->nr_backends)
			cmp = -1;
		else
			cmp = lb_dconf_backend_cmp(&old->backends[i], &new->backends[j]);
		if (cmp < 0) {
			c = lb_ctl_probe(old, &old->backends[i]);
			ret = c ? report(r, LB_PROBE_REMOVED, &old->backends[i], NULL, c, NULL) : 0;
			i++;
		} else if (cmp > 0) {
			r->health[j] = initial_health(new, &new->backends[j]);
			c = lb_ctl_probe(new, &new->backends[j]);
			ret = c ? report(r, LB_PROBE_ADDED, NULL, &new->backends[j], NULL, c) : 0;
			j++;
		} else {
			ret = stays(r, i++, j++);
		}
	}
	return ret;
}

int lb_ctl_load(struct lb_ctl *ctl, struct lb_dconf *conf, lb_probe_change_fn fn, void *ctx)
{
	struct reload r = {
		.old = &ctl->conf, .new = conf, .old_health = ctl->health, .fn = fn, .ctx = ctx
	};
	int ret;

	r.health = calloc(conf->nr_backends ?: 1, sizeof(*r.health));
	if (!r.health)
		return -ENOMEM;
	ret = walk(&r);
	if (ret) {
		free(r.health);
		return ret;
	}
	lb_dconf_free(&ctl->conf);
	ctl->conf = *conf; /* moved: no pointer into the struct itself */
	lb_dconf_init(conf);
	free(ctl->health);
	ctl->health = r.health;
	ctl->dirty = true;
	return r.count;
}

int lb_ctl_set_health(struct lb_ctl *ctl, const struct udplb_vip_key *vip, __be32 addr, __be16 port,
		      enum lb_policy_health h)
{
	const struct lb_dconf_backend *b = lb_dconf_backend_find(&ctl->conf, vip, addr, port);
	__u8 *cur;

	if (!b)
		return -ENOENT;
	cur = &ctl->health[b - ctl->conf.backends];
	if (*cur == h)
		return 0;
	*cur = h;
	ctl->dirty = true;
	return 1;
}

int lb_ctl_desired(const struct lb_ctl *ctl, struct lb_state *desired, struct lb_vip_avail *avail,
		   struct lb_err *err)
{
	return lb_policy(&ctl->conf, ctl->health, desired, avail, err);
}

/* Call avail_changed for every VIP whose availability differs from the last commit's. */
static void report_avail(struct lb_ctl *ctl, const struct lb_vip_avail *now, __u32 nr)
{
	const struct lb_vip_avail *prev = ctl->avail;
	struct lb_vip_avail gone;
	__u32 i = 0, j = 0;
	int cmp;

	while (ctl->avail_changed && (i < ctl->nr_avail || j < nr)) {
		if (i == ctl->nr_avail)
			cmp = 1;
		else if (j == nr)
			cmp = -1;
		else
			cmp = lb_dconf_vip_cmp(&prev[i].key, &now[j].key);
		if (cmp < 0) { /* removed by a reload */
			if (prev[i].available) {
				memset(&gone, 0, sizeof(gone));
				gone.key = prev[i].key;
				ctl->avail_changed(ctl->ctx, &gone);
			}
			i++;
		} else if (cmp > 0) { /* new: was not announced */
			if (now[j].available)
				ctl->avail_changed(ctl->ctx, &now[j]);
			j++;
		} else {
			if (prev[i].available != now[j].available)
				ctl->avail_changed(ctl->ctx, &now[j]);
			i++, j++;
		}
	}
}

int lb_ctl_commit(struct lb_ctl *ctl, struct lb_maps *maps, struct lb_commit_opts *opts)
{
	__u32 nr = ctl->conf.nr_vips;
	struct lb_vip_avail *avail;
	struct lb_state desired;
	int ret;

	if (!ctl->dirty)
		return LB_COMMIT_UNCHANGED;
	avail = calloc(nr ?: 1, sizeof(*avail));
	if (!avail)
		return -ENOMEM;
	ret = lb_ctl_desired(ctl, &desired, avail, &opts->err);
	if (!ret && ctl->prepare)
		ret = ctl->prepare(ctl->ctx, &ctl->conf, &desired, &opts->err);
	if (!ret)
		ret = lb_commit(maps, &desired, opts);
	lb_state_free(&desired);
	if (ret < 0) {
		free(avail);
		return ret;
	}
	ctl->dirty = false;
	report_avail(ctl, avail, nr);
	free(ctl->avail);
	ctl->avail = avail;
	ctl->nr_avail = nr;
	return ret;
}
