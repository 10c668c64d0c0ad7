/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * udplbd's policy: from the configuration file (dconf.h) and one health state per backend, the
 * configuration the data plane should have (struct lb_state, for lb_commit()) and whether each
 * VIP is available (what a routing announcement follows).
 *
 * Per VIP, with H = its healthy backends (health UP or UNKNOWN, and not drained in the file):
 *   - a DOWN backend: "on-down remove" leaves it out (its flows move: conntrack entries pointing
 *     at a missing slot stop matching); "on-down drain" keeps it as UDPLB_BACKEND_DRAINING (out
 *     of the ring, existing flows stay);
 *   - H >= min-healthy: every other backend as the file says;
 *   - H < min-healthy with a fallback: the fallback is the only ACTIVE backend (it takes every new
 *     flow); the healthy backends become DRAINING, so their existing flows stay;
 *   - H < min-healthy without a fallback: as the first rule, the healthy ones keep serving.
 * The VIP is available when H >= min-healthy or its fallback serves (the fallback has no check).
 * UNKNOWN (no result yet) counts as UP, as keepalived adds a real server before its first check;
 * the controller (ctl.h) starts a backend at its check's initial state instead (health/check.h:
 * "initial down" by default), and a backend without a check (or "check none") is UP.
 * The health library's enum lb_health_state maps as DOWN -> LB_POLICY_DOWN, UP -> LB_POLICY_UP.
 */
#ifndef __UDPLB_DAEMON_POLICY_H
#define __UDPLB_DAEMON_POLICY_H

#include <stdbool.h>
#include <linux/types.h>

#include "daemon/dconf.h"

enum lb_policy_health {
	LB_POLICY_UNKNOWN = 0, /* no result yet: counts as up */
	LB_POLICY_UP = 1,
	LB_POLICY_DOWN = 2,
};

extern const struct lb_names lb_policy_health_names; /* unknown, up, down */

/* What the policy made of one VIP. */
struct lb_vip_avail {
	struct udplb_vip_key key;
	__u32 backends; /* configured */
	__u32 healthy;	/* H above */
	bool available; /* H >= min-healthy, or the fallback serves */
	bool fallback;	/* the fallback takes the new flows */
};

/*
 * The desired state of @d given @health[i] (enum lb_policy_health) for d->backends[i] (@health NULL:
 * all UNKNOWN). @desired is initialized by this call (free it with lb_state_free(), also on
 * error). @avail, when not NULL, gets d->nr_vips entries in d->vips order.
 * Returns 0, -ENOMEM, or what the model refuses (cannot happen for a configuration
 * lb_dconf_parse() accepted: it checks the worst case, every backend kept plus the fallback).
 */
int lb_policy(const struct lb_dconf *d, const __u8 *health, struct lb_state *desired,
	      struct lb_vip_avail *avail, struct lb_err *err);

#endif /* __UDPLB_DAEMON_POLICY_H */
