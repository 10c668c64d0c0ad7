/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The probe engine: every target's probes in ONE event loop (epoll, non-blocking sockets and
 * pidfds, one timerfd driving a heap of per-target deadlines), no threads.
 *
 * Two ways to drive it: lb_health_engine_run_once(e, timeout_ms) waits itself; or the daemon adds
 * lb_health_engine_fd() (an epoll fd, readable when a probe or a timer needs attention) to its own
 * epoll and calls lb_health_engine_process() when it is readable. Either calls on_change() for
 * every target whose state changed, from the calling thread; the callback must not add or remove
 * targets (collect the changes and commit them after the call returns: changes found in one call
 * are one batch).
 *
 * Targets are identified by (VIP addr, port, proto; backend addr, port). Adding a target that
 * exists keeps its health state and counters (reload): only its check, resume state and user
 * pointer are updated, and a probe in flight is abandoned only when the check changed. For a
 * reload, lb_health_engine_mark() then lb_health_engine_add() of every target of the new
 * configuration then lb_health_engine_sweep() removes exactly the targets that went away.
 *
 * Scheduling: a new target's first probe starts a random 0..jitter_ms after it is added; then
 * one probe every interval_ms from the start of the previous one (never two at once: a probe
 * slower than the interval delays the next). A `none` check never probes and is always up.
 */
#ifndef __UDPLB_HEALTH_ENGINE_H
#define __UDPLB_HEALTH_ENGINE_H

#include <stdbool.h>
#include <linux/types.h>

#include "check.h"
#include "probe.h"
#include "state.h"

struct lb_health_engine;

struct lb_health_target {
	struct lb_probe_target id; /* identity: VIP and backend */
	struct lb_check check;
	struct lb_health health; /* state, counters, last result: read freely */
	void *user;		 /* the caller's, untouched */
	/* The engine's own; do not modify. */
	struct lb_probe probe;
	__u64 due_ns;	/* idle: start of the next probe; busy: the probe's timeout */
	__u64 sched_ns; /* when the probe in flight was due to start (the cadence's base) */
	__u32 heap_idx;
	bool stale;
};

/* A target changed state to @state after the probe result @last. */
typedef void (*lb_health_change_fn)(void *ctx, const struct lb_health_target *t,
				    enum lb_health_state state, const struct lb_probe_result *last);

/* Every completed probe (for metrics: latency, failures by cause), before any on_change(). */
typedef void (*lb_health_result_fn)(void *ctx, const struct lb_health_target *t,
				    const struct lb_probe_result *r);

/* NULL with errno set (and @err filled) on failure. */
struct lb_health_engine *lb_health_engine_new(lb_health_change_fn on_change, void *ctx,
					      struct lb_err *err);
/* Also call @on_result (NULL: stop) for every completed probe, with the same ctx. */
void lb_health_engine_on_result(struct lb_health_engine *e, lb_health_result_fn on_result);
/* Abandons every probe in flight (children killed and reaped) and frees everything. */
void lb_health_engine_free(struct lb_health_engine *e);

/* lb_health_engine_add() result when the target existed and kept its state. */
#define LB_HEALTH_KEPT 1

/*
 * Add target @id probed as @c, or update it when it exists (returns LB_HEALTH_KEPT). @resume: the
 * health to start a new target from (e.g. read back from a pinned map after a restart), NULL:
 * the check's initial state; ignored for a target that exists. -EINVAL: @c is not a check the
 * engine can run (no such kind, zero interval/timeout/rise/fall); -ENOMEM.
 */
int lb_health_engine_add(struct lb_health_engine *e, const struct lb_probe_target *id,
			 const struct lb_check *c, const struct lb_health *resume, void *user,
			 struct lb_err *err);
/* Remove a target (its probe abandoned). -ENOENT when unknown. */
int lb_health_engine_del(struct lb_health_engine *e, const struct lb_probe_target *id);
/* The target, or NULL. Valid until it is removed. */
struct lb_health_target *lb_health_engine_find(struct lb_health_engine *e,
					       const struct lb_probe_target *id);
/* Number of targets, and the @i-th in identity order (NULL past the end), for status output. */
__u32 lb_health_engine_count(const struct lb_health_engine *e);
struct lb_health_target *lb_health_engine_at(struct lb_health_engine *e, __u32 i);

/* Reload: mark every target stale; add() unmarks; sweep() removes the stale ones (returns how many). */
void lb_health_engine_mark(struct lb_health_engine *e);
__u32 lb_health_engine_sweep(struct lb_health_engine *e);

/* The fd to poll (POLLIN / EPOLLIN) in a caller's event loop. */
int lb_health_engine_fd(const struct lb_health_engine *e);
/* Handle whatever is ready without blocking. Returns the number of state changes, or -errno. */
int lb_health_engine_process(struct lb_health_engine *e);
/* Wait up to @timeout_ms (-1: until something happens) then process. Same return. */
int lb_health_engine_run_once(struct lb_health_engine *e, int timeout_ms);

#endif /* __UDPLB_HEALTH_ENGINE_H */
