// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The probe engine: targets sorted by identity (lookup, status order), a binary min-heap of their
 * deadlines behind one timerfd, and every probe's fd in one epoll set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>

#include "engine.h"
#include "../internal.h" /* lib/udplb/internal.h, not lib/abmap/internal.h */

#define EVENTS_PER_WAIT 64
#define NS_PER_MS 1000000ULL
/*
 * Timer granularity: deadlines are rounded up to a tick, so one timerfd wake-up serves every
 * probe due in it and the timerfd is re-armed at most once per tick (timerfd_settime() was the
 * costliest system call per probe with 4,096 targets).
 */
#define TICK_NS (4 * NS_PER_MS)

struct lb_health_engine {
	int epfd;
	int tfd;
	lb_health_change_fn on_change;
	lb_health_result_fn on_result;
	void *ctx;
	struct lb_health_target **targets; /* sorted by identity */
	__u32 nr, cap;
	struct lb_health_target **heap; /* by due_ns */
	__u32 heap_nr, heap_cap;
	__u64 rng;
	__u64 armed_ns; /* the timerfd's deadline, 0 = disarmed */
};

/* ---- the deadline heap ---- */

static void heap_set(struct lb_health_engine *e, __u32 i, struct lb_health_target *t)
{
	e->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct lb_health_engine *e, __u32 i)
{
	struct lb_health_target *t = e->heap[i];

	while (i > 0 && e->heap[(i - 1) / 2]->due_ns > t->due_ns) {
		heap_set(e, i, e->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(e, i, t);
}

static void heap_down(struct lb_health_engine *e, __u32 i)
{
	struct lb_health_target *t = e->heap[i];

	for (;;) {
		__u32 c = 2 * i + 1;

		if (c >= e->heap_nr)
			break;
		if (c + 1 < e->heap_nr && e->heap[c + 1]->due_ns < e->heap[c]->due_ns)
			c++;
		if (e->heap[c]->due_ns >= t->due_ns)
			break;
		heap_set(e, i, e->heap[c]);
		i = c;
	}
	heap_set(e, i, t);
}

/* The heap has room for every target: lb_health_engine_add() grows both arrays together. */
static void heap_push(struct lb_health_engine *e, struct lb_health_target *t)
{
	heap_set(e, e->heap_nr++, t);
	heap_up(e, t->heap_idx);
}

static void heap_remove(struct lb_health_engine *e, struct lb_health_target *t)
{
	__u32 i = t->heap_idx;

	if (i >= e->heap_nr || e->heap[i] != t)
		return;
	e->heap_nr--;
	if (i == e->heap_nr)
		return;
	heap_set(e, i, e->heap[e->heap_nr]);
	heap_down(e, i);
	heap_up(e, e->heap[i]->heap_idx);
}

static void reschedule(struct lb_health_engine *e, struct lb_health_target *t, __u64 due_ns)
{
	heap_remove(e, t);
	t->due_ns = due_ns;
	heap_push(e, t);
}

/* Arm the timerfd for the tick of the earliest deadline (absolute), or disarm it. */
static int arm_timer(struct lb_health_engine *e)
{
	struct itimerspec its = { 0 };
	__u64 due = 0;

	if (e->heap_nr)
		due = (e->heap[0]->due_ns / TICK_NS + 1) * TICK_NS;
	if (due == e->armed_ns)
		return 0;
	its.it_value.tv_sec = (time_t)(due / 1000000000ULL);
	its.it_value.tv_nsec = (long)(due % 1000000000ULL);
	if (timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL))
		return -errno;
	e->armed_ns = due;
	return 0;
}

/* ---- targets by identity ---- */

static int id_cmp(const struct lb_probe_target *a, const struct lb_probe_target *b)
{
	if (a->vip.addr != b->vip.addr)
		return ntohl(a->vip.addr) < ntohl(b->vip.addr) ? -1 : 1;
	if (a->vip.port != b->vip.port)
		return ntohs(a->vip.port) < ntohs(b->vip.port) ? -1 : 1;
	if (a->vip.proto != b->vip.proto)
		return a->vip.proto < b->vip.proto ? -1 : 1;
	if (a->addr != b->addr)
		return ntohl(a->addr) < ntohl(b->addr) ? -1 : 1;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	return 0;
}

static int target_cmp(const void *elem, const void *key)
{
	const struct lb_health_target *const *t = elem;

	return id_cmp(&(*t)->id, key);
}

/* Index of @id, or of where it would go (*found false). */
static __u32 lookup(const struct lb_health_engine *e, const struct lb_probe_target *id, bool *found)
{
	return lb_sorted_pos(e->targets, e->nr, sizeof(*e->targets), id, target_cmp, found);
}

struct lb_health_target *lb_health_engine_find(struct lb_health_engine *e,
					       const struct lb_probe_target *id)
{
	bool found;
	__u32 i = lookup(e, id, &found);

	return found ? e->targets[i] : NULL;
}

__u32 lb_health_engine_count(const struct lb_health_engine *e)
{
	return e->nr;
}

struct lb_health_target *lb_health_engine_at(struct lb_health_engine *e, __u32 i)
{
	return i < e->nr ? e->targets[i] : NULL;
}

int lb_health_engine_fd(const struct lb_health_engine *e)
{
	return e->epfd;
}

/* ---- life cycle ---- */

struct lb_health_engine *lb_health_engine_new(lb_health_change_fn on_change, void *ctx,
					      struct lb_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct lb_health_engine *e = calloc(1, sizeof(*e));
	int ret;

	if (!e) {
		lb_fail(err, -ENOMEM, "health engine: out of memory");
		return NULL;
	}
	e->on_change = on_change;
	e->ctx = ctx;
	e->tfd = -1;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd >= 0)
		e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->epfd < 0 || e->tfd < 0 || epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->tfd, &ev)) {
		ret = -errno;
		lb_health_engine_free(e);
		lb_fail(err, ret, "health engine: epoll or timerfd: %s", strerror(-ret));
		return NULL;
	}
	if (getrandom(&e->rng, sizeof(e->rng), GRND_NONBLOCK) != sizeof(e->rng))
		e->rng = lb_health_now_ns();
	e->rng |= 1;
	return e;
}

void lb_health_engine_on_result(struct lb_health_engine *e, lb_health_result_fn on_result)
{
	e->on_result = on_result;
}

void lb_health_engine_free(struct lb_health_engine *e)
{
	__u32 i;

	if (!e)
		return;
	for (i = 0; i < e->nr; i++) {
		lb_probe_cancel(&e->targets[i]->probe);
		free(e->targets[i]);
	}
	free(e->targets);
	free(e->heap);
	if (e->tfd >= 0)
		close(e->tfd);
	if (e->epfd >= 0)
		close(e->epfd);
	free(e);
}

/* xorshift64: spreading first probes needs no cryptographic quality. */
static __u64 next_random(struct lb_health_engine *e)
{
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return e->rng;
}

static __u64 first_due(struct lb_health_engine *e, const struct lb_check *c)
{
	__u64 jitter = c->jitter_ms ? next_random(e) % ((__u64)c->jitter_ms * NS_PER_MS + 1) : 0;

	return lb_health_now_ns() + jitter;
}

static int check_runnable(const struct lb_check *c, struct lb_err *err)
{
	if (c->kind > LB_CHECK_EXEC)
		return lb_fail(err, -EINVAL, "health check: unknown kind %u", c->kind);
	if (c->kind != LB_CHECK_NONE && (!c->interval_ms || !c->timeout_ms || !c->rise || !c->fall))
		return lb_fail(err, -EINVAL,
			       "health check: interval, timeout, rise and fall must "
			       "not be 0");
	return 0;
}

/* Start (or restart) probing @t from a fresh schedule; a `none` check is up, unscheduled. */
static void start_schedule(struct lb_health_engine *e, struct lb_health_target *t)
{
	lb_probe_cancel(&t->probe);
	heap_remove(e, t);
	if (t->check.kind == LB_CHECK_NONE) {
		t->health.state = LB_HEALTH_UP;
		return;
	}
	t->due_ns = first_due(e, &t->check);
	heap_push(e, t);
}

static void update_target(struct lb_health_engine *e, struct lb_health_target *t,
			  const struct lb_check *c, void *user)
{
	t->user = user;
	t->stale = false;
	if (memcmp(&t->check, c, sizeof(*c))) {
		t->check = *c;
		start_schedule(e, t);
	}
}

static int grow(struct lb_health_engine *e)
{
	if (lb_grow((void **)&e->targets, &e->cap, e->nr + 1, sizeof(*e->targets)))
		return -ENOMEM;
	if (lb_grow((void **)&e->heap, &e->heap_cap, e->nr + 1, sizeof(*e->heap)))
		return -ENOMEM;
	return 0;
}

int lb_health_engine_add(struct lb_health_engine *e, const struct lb_probe_target *id,
			 const struct lb_check *c, const struct lb_health *resume, void *user,
			 struct lb_err *err)
{
	struct lb_health_target *t;
	bool found;
	__u32 i;
	int ret;

	ret = check_runnable(c, err);
	if (ret)
		return ret;
	i = lookup(e, id, &found);
	if (found) {
		update_target(e, e->targets[i], c, user);
		ret = arm_timer(e);
		return ret ? lb_fail(err, ret, "health engine: timerfd: %s", strerror(-ret)) :
			     LB_HEALTH_KEPT;
	}
	t = calloc(1, sizeof(*t));
	if (!t || grow(e)) {
		free(t);
		return lb_fail(err, -ENOMEM, "health engine: out of memory");
	}
	t->id = *id;
	t->check = *c;
	t->user = user;
	t->heap_idx = UINT32_MAX;
	lb_probe_init(&t->probe);
	if (resume)
		t->health = *resume;
	else
		lb_health_init(&t->health, c);
	memmove(&e->targets[i + 1], &e->targets[i], (e->nr - i) * sizeof(*e->targets));
	e->targets[i] = t;
	e->nr++;
	start_schedule(e, t);
	ret = arm_timer(e);
	return ret ? lb_fail(err, ret, "health engine: timerfd: %s", strerror(-ret)) : 0;
}

static void remove_at(struct lb_health_engine *e, __u32 i)
{
	struct lb_health_target *t = e->targets[i];

	lb_probe_cancel(&t->probe);
	heap_remove(e, t);
	free(t);
	memmove(&e->targets[i], &e->targets[i + 1], (e->nr - i - 1) * sizeof(*e->targets));
	e->nr--;
}

int lb_health_engine_del(struct lb_health_engine *e, const struct lb_probe_target *id)
{
	bool found;
	__u32 i = lookup(e, id, &found);

	if (!found) {
		errno = ENOENT;
		return -ENOENT;
	}
	remove_at(e, i);
	return arm_timer(e);
}

void lb_health_engine_mark(struct lb_health_engine *e)
{
	__u32 i;

	for (i = 0; i < e->nr; i++)
		e->targets[i]->stale = true;
}

__u32 lb_health_engine_sweep(struct lb_health_engine *e)
{
	__u32 i = 0, removed = 0;

	while (i < e->nr) {
		if (e->targets[i]->stale) {
			remove_at(e, i);
			removed++;
		} else {
			i++;
		}
	}
	arm_timer(e);
	return removed;
}

/* ---- the loop ---- */

/* A probe ended: count it, schedule the next one, report a change. Returns 1 on a change. */
static int complete(struct lb_health_engine *e, struct lb_health_target *t,
		    const struct lb_probe_result *r)
{
	/* From when it was due, not when it started: timer ticks must not stretch the interval. */
	__u64 next = t->sched_ns + (__u64)t->check.interval_ms * NS_PER_MS;
	__u64 now = lb_health_now_ns();
	bool changed = lb_health_update(&t->health, &t->check, r);

	reschedule(e, t, next > now ? next : now);
	if (e->on_result)
		e->on_result(e->ctx, t, r);
	if (changed && e->on_change)
		e->on_change(e->ctx, t, (enum lb_health_state)t->health.state, r);
	return changed;
}

/* Start @t's probe; its fd joins the epoll set, its deadline becomes the timeout. */
static int start_probe(struct lb_health_engine *e, struct lb_health_target *t)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };
	struct lb_probe_result r;

	t->sched_ns = t->due_ns;
	if (lb_probe_start(&t->probe, &t->check, &t->id, &r) == LB_PROBE_DONE)
		return complete(e, t, &r);
	/* A kept socket stays in the set (closing it removes it); only new fds join. */
	if (t->probe.fd_new && epoll_ctl(e->epfd, EPOLL_CTL_ADD, t->probe.fd, &ev)) {
		int ret = errno;

		lb_probe_cancel(&t->probe);
		r.cause = LB_PROBE_ERROR;
		r.detail = ret;
		r.rtt_us = 0;
		return complete(e, t, &r);
	}
	t->probe.fd_new = false;
	reschedule(e, t, t->probe.start_ns + (__u64)t->check.timeout_ms * NS_PER_MS);
	return 0;
}

/* Every deadline that has passed: start a probe, or time one out. */
static int run_timers(struct lb_health_engine *e)
{
	__u64 now = lb_health_now_ns(), expirations;
	int changes = 0;

	/* Only to clear its readiness; the heap says what is due. */
	if (read(e->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return -errno;
	if (e->armed_ns && now >= e->armed_ns)
		e->armed_ns = 0; /* expired: arm_timer() must set it again even for the same tick */
	while (e->heap_nr && e->heap[0]->due_ns <= now) {
		struct lb_health_target *t = e->heap[0];
		struct lb_probe_result r;

		if (lb_probe_busy(&t->probe)) {
			lb_probe_on_timeout(&t->probe, &t->check, &r);
			changes += complete(e, t, &r);
		} else {
			changes += start_probe(e, t);
		}
	}
	return changes;
}

static int run_events(struct lb_health_engine *e, int timeout_ms)
{
	struct epoll_event ev[EVENTS_PER_WAIT];
	int n, i, changes = 0;

	do {
		n = epoll_wait(e->epfd, ev, EVENTS_PER_WAIT, timeout_ms);
		if (n < 0)
			return errno == EINTR ? changes : -errno;
		for (i = 0; i < n; i++) {
			struct lb_health_target *t = ev[i].data.ptr;
			struct lb_probe_result r;

			if (!t)
				continue; /* the timerfd: run_timers() looks at the heap */
			if (lb_probe_on_readable(&t->probe, &t->check, &r) == LB_PROBE_DONE)
				changes += complete(e, t, &r);
		}
		timeout_ms = 0;
	} while (n == EVENTS_PER_WAIT);
	return changes;
}

static int run(struct lb_health_engine *e, int timeout_ms)
{
	int changes, more, ret;

	changes = run_events(e, timeout_ms);
	if (changes < 0)
		return changes;
	more = run_timers(e);
	if (more < 0)
		return more;
	ret = arm_timer(e);
	return ret ? ret : changes + more;
}

int lb_health_engine_process(struct lb_health_engine *e)
{
	return run(e, 0);
}

int lb_health_engine_run_once(struct lb_health_engine *e, int timeout_ms)
{
	return run(e, timeout_ms);
}
