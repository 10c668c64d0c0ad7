// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* udplbd's policy: health states -> the desired configuration (policy.h). */
#include <errno.h>
#include <string.h>

#include "daemon/policy.h"
#include "udplb_shared.h"

static const struct lb_name health_entries[] = {
	{ LB_POLICY_UNKNOWN, "unknown" },
	{ LB_POLICY_UP, "up" },
	{ LB_POLICY_DOWN, "down" },
};
const struct lb_names lb_policy_health_names = { "health", health_entries, 3 };

/* The health of backend @b of @vip (UNKNOWN when @d does not know it or @health is NULL). */
static enum lb_policy_health health_of(const struct lb_dconf *d, const __u8 *health,
				       const struct udplb_vip_key *vip, const struct lb_backend *b)
{
	const struct lb_dconf_backend *db;

	if (!health)
		return LB_POLICY_UNKNOWN;
	db = lb_dconf_backend_find(d, vip, b->addr, b->port);
	return db ? health[db - d->backends] : LB_POLICY_UNKNOWN;
}

static bool counts_healthy(const struct lb_backend *b, enum lb_policy_health h)
{
	return h != LB_POLICY_DOWN && b->state == UDPLB_BACKEND_ACTIVE;
}

/*
 * The backend as the policy wants it in @out; false when it stays out of the state.
 * @use_fallback: the fallback takes the new flows.
 */
static bool policy_backend(const struct lb_dconf_vip *v, const struct lb_backend *b,
			   enum lb_policy_health h, bool use_fallback, struct lb_backend *out)
{
	*out = *b;
	if (h == LB_POLICY_DOWN) {
		if (v->on_down == LB_ON_DOWN_REMOVE)
			return false;
		out->state = UDPLB_BACKEND_DRAINING;
	} else if (use_fallback) {
		out->state = UDPLB_BACKEND_DRAINING;
	}
	return true;
}

static int policy_vip(const struct lb_dconf *d, const __u8 *health, const struct lb_vip *sv,
		      struct lb_state *desired, struct lb_vip_avail *avail, struct lb_err *err)
{
	const struct lb_dconf_vip *v = lb_dconf_vip_find(d, &sv->key);
	struct lb_dconf_vip none = { .key = sv->key, .min_healthy = 1 };
	struct lb_vip copy = *sv;
	struct lb_backend b;
	bool use_fallback;
	__u32 j, healthy = 0;
	int ret;

	if (!v) /* cannot happen for a parsed file: the defaults */
		v = &none;
	copy.nr_backends = copy.cap_backends = 0;
	copy.backends = NULL;
	ret = lb_vip_add(desired, &copy, err);
	if (ret)
		return ret;
	for (j = 0; j < sv->nr_backends; j++)
		healthy += counts_healthy(&sv->backends[j],
					  health_of(d, health, &sv->key, &sv->backends[j]));
	use_fallback = v->has_fallback && healthy < v->min_healthy;
	for (j = 0; j < sv->nr_backends; j++) {
		enum lb_policy_health h = health_of(d, health, &sv->key, &sv->backends[j]);

		if (!policy_backend(v, &sv->backends[j], h, use_fallback, &b))
			continue;
		ret = lb_backend_add(desired, &sv->key, &b, err);
		if (ret)
			return ret;
	}
	if (use_fallback) {
		ret = lb_backend_add(desired, &sv->key, &v->fallback, err);
		if (ret)
			return ret;
	}
	if (avail) {
		memset(avail, 0, sizeof(*avail));
		avail->key = sv->key;
		avail->backends = sv->nr_backends;
		avail->healthy = healthy;
		avail->fallback = use_fallback;
		avail->available = healthy >= v->min_healthy || use_fallback;
	}
	return 0;
}

int lb_policy(const struct lb_dconf *d, const __u8 *health, struct lb_state *desired,
	      struct lb_vip_avail *avail, struct lb_err *err)
{
	const struct lb_state *s = &d->conf.state;
	struct lb_vip_avail *a;
	__u32 i;
	int ret;

	lb_state_init(desired);
	for (i = 0; i < s->nr_vips; i++) {
		const struct lb_dconf_vip *v = lb_dconf_vip_find(d, &s->vips[i].key);

		/* d->vips and the state's VIPs are the same set; avail follows d->vips */
		a = avail && v ? &avail[v - d->vips] : NULL;
		ret = policy_vip(d, health, &s->vips[i], desired, a, err);
		if (ret)
			return ret;
	}
	return 0;
}
