// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Groups and grace periods.
 *
 * After a flip, programs that read the pointer before it may still be reading the retired side.
 * A flip therefore returns at once and asks a background thread to wait out one grace period
 * (membarrier, see kernel.c); only a later write into that retired side waits for whatever is
 * left of it. The passed grace period is recorded in the pointer map so that other writers,
 * including later processes, do not wait again.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_LOCK_DIR "/run/abmap"

struct abmap_group *group_alloc(const struct backend_ops *be, const struct abmap_group_opts *opts)
{
	const char *lock_dir = OPTS_GET(opts, lock_dir, NULL);
	struct abmap_group *g;

	if (!OPTS_VALID(opts, abmap_group_opts))
		return libabmap_err_ptr(-EINVAL);
	g = calloc(1, sizeof(*g));
	if (!g)
		return libabmap_err_ptr(-ENOMEM);
	g->be = be;
	g->lock_dir = strdup(lock_dir ? lock_dir : DEFAULT_LOCK_DIR);
	if (!g->lock_dir) {
		free(g);
		return libabmap_err_ptr(-ENOMEM);
	}
	g->lock_timeout_ms = OPTS_GET(opts, lock_timeout_ms, 0);
	g->pid = getpid();
	g->no_grace = testing_default_no_grace();
	g->lock_fd = -1;
	g->ptr_fd = -1;
	g->mim_fd = -1;
	g->mim_inner_fd = -1;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	return g;
}

static void *grace_worker(void *arg)
{
	struct abmap_group *g = arg;

	pthread_mutex_lock(&g->mu);
	while (!g->stopping || g->grace_requested > g->grace_done) {
		__u64 target = g->grace_requested;
		int err;

		if (target <= g->grace_done) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		pthread_mutex_unlock(&g->mu);
		err = g->be->grace_wait(g);
		if (!err)
			g->be->ptr_raise_grace(g, target);
		pthread_mutex_lock(&g->mu);
		if (err) {
			g->grace_err = err;
			g->grace_requested = g->grace_done;
		} else if (target > g->grace_done) {
			g->grace_done = target;
		}
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Caller holds g->mu. */
static int start_worker(struct abmap_group *g)
{
	int err;

	if (g->worker_started)
		return 0;
	err = -pthread_create(&g->worker, NULL, grace_worker, g);
	if (err) {
		pr_warn("cannot start the grace-period thread: %s\n", strerror(-err));
		return err;
	}
	g->worker_started = true;
	return 0;
}

void group_request_grace(struct abmap_group *g, __u64 gen)
{
	if (g->no_grace || !g->be->async_grace)
		return;
	pthread_mutex_lock(&g->mu);
	if (gen > g->grace_requested && gen > g->grace_done) {
		g->grace_requested = gen;
		/* Without a thread the grace period is simply waited for by the next writer. */
		if (!start_worker(g))
			pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
}

static int wait_grace_inline(struct abmap_group *g, __u64 gen)
{
	int err = g->be->grace_wait(g);

	if (err)
		return err;
	g->be->ptr_raise_grace(g, gen);
	pthread_mutex_lock(&g->mu);
	if (gen > g->grace_done)
		g->grace_done = gen;
	pthread_mutex_unlock(&g->mu);
	return 0;
}

/* Wait until the flip to @gen is past its grace period. */
int group_wait_grace(struct abmap_group *g, __u64 gen)
{
	int err = 0;

	if (g->no_grace)
		return 0;
	pthread_mutex_lock(&g->mu);
	if (g->grace_done >= gen) {
		pthread_mutex_unlock(&g->mu);
		return 0;
	}
	if (!g->be->async_grace || start_worker(g)) {
		pthread_mutex_unlock(&g->mu);
		return wait_grace_inline(g, gen);
	}
	if (gen > g->grace_requested) {
		g->grace_requested = gen;
		pthread_cond_broadcast(&g->cv);
	}
	while (g->grace_done < gen && !g->grace_err)
		pthread_cond_wait(&g->cv, &g->mu);
	if (g->grace_done < gen) {
		err = g->grace_err;
		g->grace_err = 0;
		pr_warn("grace period wait failed: %s\n", strerror(-err));
	}
	pthread_mutex_unlock(&g->mu);
	return err;
}

static void stop_worker(struct abmap_group *g)
{
	pthread_mutex_lock(&g->mu);
	g->stopping = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (g->worker_started)
		pthread_join(g->worker, NULL);
	g->worker_started = false;
}

void abmap_group_free(struct abmap_group *g)
{
	if (!g)
		return;
	abmap_txn_abort(g->txn);
	session_cancel_deferred(g);
	while (g->maps)
		map_destroy(g->maps);
	stop_worker(g);
	g->be->group_free(g);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g->lock_dir);
	free(g);
}

int abmap_group_sync(struct abmap_group *g)
{
	struct abmap_pointer ptr;
	int err;

	if (!g)
		return libabmap_err(-EINVAL);
	err = g->be->ptr_read(g, &ptr);
	if (err)
		return libabmap_err(err);
	if (g->no_grace)
		return 0;
	/* Another writer may have flipped since: wait for the newest flip, whoever made it. */
	if (ptr.generation > g->grace_done && ptr.grace_gen >= ptr.generation && !g->var_mode) {
		pthread_mutex_lock(&g->mu);
		g->grace_done = ptr.generation;
		pthread_mutex_unlock(&g->mu);
		return 0;
	}
	return libabmap_err(group_wait_grace(g, ptr.generation));
}

int abmap_group_pointer_fd(const struct abmap_group *g)
{
	if (!g)
		return libabmap_err(-EINVAL);
	if (g->ptr_fd < 0)
		return libabmap_err(-EOPNOTSUPP);
	return g->ptr_fd;
}

int abmap_group_generation(struct abmap_group *g, __u64 *generation)
{
	struct abmap_pointer ptr;
	int err;

	if (!g || !generation)
		return libabmap_err(-EINVAL);
	err = g->be->ptr_read(g, &ptr);
	if (err)
		return libabmap_err(err);
	*generation = ptr.generation;
	return 0;
}

int abmap_group_state(struct abmap_group *g, struct abmap_pointer *state)
{
	if (!g || !state)
		return libabmap_err(-EINVAL);
	return libabmap_err(g->be->ptr_read(g, state));
}
