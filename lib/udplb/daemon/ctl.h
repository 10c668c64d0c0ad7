/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * udplbd's controller state, without the event loop: the configuration in force (dconf.h), one
 * health state per backend, reloads that keep the health of the backends that stay, and commits
 * that turn every change since the last one into ONE libabmap transaction.
 *
 * The daemon's loop, per scheduling tick: feed the probe results that changed a backend's state
 * (lb_ctl_set_health(), as many as there are), then call lb_ctl_commit() once: it commits only
 * when something changed, so a tick with ten state changes makes one flip, a quiet tick none,
 * and a change undone within the tick (down, then up) none either (LB_COMMIT_UNCHANGED).
 * On SIGHUP: lb_dconf_parse() the file aside; on error keep running and log the FILE:LINE
 * message; else lb_ctl_load() it (the change callback says which probes to start, stop or
 * restart) and lb_ctl_commit(): an identical file makes no flip.
 *
 * A backend is identified by (VIP key, addr, port). Its probe is the check that applies to it
 * (its own, else its VIP's), none when that is absent or "check none" (the backend is then UP).
 */
#ifndef __UDPLB_DAEMON_CTL_H
#define __UDPLB_DAEMON_CTL_H

#include <stdbool.h>
#include <linux/types.h>

#include "daemon/dconf.h"
#include "daemon/policy.h"

struct lb_ctl {
	struct lb_dconf conf; /* in force (empty until the first lb_ctl_load()) */
	__u8 *health;	      /* enum lb_policy_health of conf.backends[i] */
	/* Per conf.vips[i]: availability as of the last successful commit (NULL before one). */
	struct lb_vip_avail *avail;
	__u32 nr_avail;
	bool dirty; /* the desired state may differ from the last one committed */
	/*
	 * Optional, set by the caller: called on the desired state before each commit (e.g. to
	 * fill the MACs of backends whose conf.backends[].resolve is set); an error stops that
	 * commit (the state stays dirty).
	 */
	int (*prepare)(void *ctx, const struct lb_dconf *conf, struct lb_state *desired,
		       struct lb_err *err);
	/*
	 * Optional: after a successful commit, once per VIP whose availability changed (a VIP
	 * added available, one removed by a reload as unavailable): the hook a routing
	 * announcement follows (issue 15's vip-availability-changed).
	 */
	void (*avail_changed)(void *ctx, const struct lb_vip_avail *now);
	void *ctx; /* of both hooks */
};

enum lb_probe_change_op {
	LB_PROBE_ADDED,	  /* a new backend with a probe, or a probe for one that had none */
	LB_PROBE_REMOVED, /* a backend gone, or its probe gone (it becomes UP) */
	LB_PROBE_CHANGED, /* another check text (lb_check_format()) for a backend that stays */
};

struct lb_probe_change {
	enum lb_probe_change_op op;
	const struct lb_dconf_backend *old_backend; /* NULL: a new backend */
	const struct lb_dconf_backend *new_backend; /* NULL: a backend gone */
	const struct lb_dconf_check *old_check;	    /* NULL when ADDED */
	const struct lb_dconf_check *new_check;	    /* NULL when REMOVED */
};

/* Return 0 to continue, a negative errno to stop lb_ctl_load() (nothing changes then). */
typedef int (*lb_probe_change_fn)(void *ctx, const struct lb_probe_change *c);

void lb_ctl_init(struct lb_ctl *ctl);
void lb_ctl_free(struct lb_ctl *ctl);

/* The probe of a backend of @d: its check, NULL when it has none or "check none". */
const struct lb_dconf_check *lb_ctl_probe(const struct lb_dconf *d,
					  const struct lb_dconf_backend *b);

/*
 * Put @conf (a parsed file) in force; it is moved into @ctl (@conf is left empty, still to be
 * lb_dconf_free()d). Backends that stay keep their health, even when their check changed; a new
 * backend starts at its check's initial state, UP without a probe; a staying backend whose
 * probe is removed becomes UP. @fn (may be NULL) sees every probe change, in backend order,
 * while both configurations are alive. Marks the state dirty.
 * Returns the number of probe changes, -ENOMEM, or @fn's error (then @ctl and @conf are as
 * before the call).
 */
int lb_ctl_load(struct lb_ctl *ctl, struct lb_dconf *conf, lb_probe_change_fn fn, void *ctx);

/*
 * A backend's new health: 1 when it changed (the state is dirty), 0 when it already had it,
 * -ENOENT when the configuration has no such backend (port 0: the VIP's).
 */
int lb_ctl_set_health(struct lb_ctl *ctl, const struct udplb_vip_key *vip, __be32 addr, __be16 port,
		      enum lb_policy_health h);

/* The desired state now (lb_policy() with the current health); @avail: conf.nr_vips entries. */
int lb_ctl_desired(const struct lb_ctl *ctl, struct lb_state *desired, struct lb_vip_avail *avail,
		   struct lb_err *err);

/*
 * Commit every change since the last successful commit as one transaction. Not dirty: returns
 * LB_COMMIT_UNCHANGED without touching the maps. Else lb_commit()'s result: 0 after a flip,
 * LB_COMMIT_UNCHANGED when the live maps already held it, a negative errno (message in
 * opts->err) with the state left dirty so that the next call retries.
 */
int lb_ctl_commit(struct lb_ctl *ctl, struct lb_maps *maps, struct lb_commit_opts *opts);

#endif /* __UDPLB_DAEMON_CTL_H */
