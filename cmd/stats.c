// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* stats: per-CPU counters summed, per VIP, per backend and per pass/drop reason. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "instance.h"
#include "names.h"

struct snapshot {
	struct udplb_counter vip[UDPLB_MAX_VIPS];
	struct udplb_counter backend[UDPLB_MAX_BACKENDS];
	__u64 reason[__UDPLB_R_MAX];
	double time;
};

/* Sum a per-CPU value made of u64 fields. */
static int read_percpu(int fd, __u32 key, __u64 *sum, size_t nr_u64)
{
	int cpus = libbpf_num_possible_cpus(), c;
	__u64 *vals;
	size_t i;

	if (cpus < 0)
		return cpus;
	vals = calloc((size_t)cpus, nr_u64 * sizeof(__u64));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		free(vals);
		return -errno;
	}
	memset(sum, 0, nr_u64 * sizeof(__u64));
	for (c = 0; c < cpus; c++) {
		for (i = 0; i < nr_u64; i++)
			sum[i] += vals[(size_t)c * nr_u64 + i];
	}
	free(vals);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int take_snapshot(const struct instance *inst, const struct lb_state *state,
			 struct snapshot *s)
{
	__u32 i, j;
	int err = 0;

	s->time = now_s();
	for (i = 0; !err && i < state->nr_vips; i++) {
		const struct lb_vip *v = &state->vips[i];

		/* lb_read() bounds every id; checked again where they index fixed arrays. */
		if (v->id >= UDPLB_MAX_VIPS)
			return -EUCLEAN;
		err = read_percpu(inst->fd[INST_VIP_STATS], v->id, (__u64 *)&s->vip[v->id], 2);
		for (j = 0; !err && j < v->nr_backends; j++)
			err = v->backends[j].id >= UDPLB_MAX_BACKENDS ?
				      -EUCLEAN :
				      read_percpu(inst->fd[INST_BACKEND_STATS], v->backends[j].id,
						  (__u64 *)&s->backend[v->backends[j].id], 2);
	}
	for (i = 0; !err && i < __UDPLB_R_MAX; i++)
		err = read_percpu(inst->fd[INST_REASONS], i, &s->reason[i], 1);
	return err;
}

static void print_counter(const struct udplb_counter *c, const struct udplb_counter *prev,
			  double dt)
{
	out_u64("packets", c->packets);
	out_u64("bytes", c->bytes);
	if (prev) {
		out_f64("pps", (c->packets - prev->packets) / dt);
		out_f64("bps", (c->bytes - prev->bytes) * 8 / dt);
	}
}

static void print_stats(const struct lb_state *state, const struct snapshot *s,
			const struct snapshot *prev)
{
	double dt = prev ? s->time - prev->time : 0;
	char addr[INET_ADDRSTRLEN];
	__u32 i, j;

	out_obj_begin(NULL);
	out_arr_begin("vips");
	for (i = 0; i < state->nr_vips; i++) {
		const struct lb_vip *v = &state->vips[i];

		out_obj_begin(NULL);
		out_str("vip", fmt_ipv4(v->key.addr, addr));
		out_u64("port", ntohs(v->key.port));
		print_counter(&s->vip[v->id], prev ? &prev->vip[v->id] : NULL, dt);
		out_arr_begin("backends");
		for (j = 0; j < v->nr_backends; j++) {
			__u32 id = v->backends[j].id;

			out_obj_begin(NULL);
			out_str("addr", fmt_ipv4(v->backends[j].addr, addr));
			out_u64("port", ntohs(v->backends[j].port));
			print_counter(&s->backend[id], prev ? &prev->backend[id] : NULL, dt);
			out_obj_end();
		}
		out_arr_end();
		out_obj_end();
	}
	out_arr_end();
	out_obj_begin("reasons");
	for (i = 0; i < __UDPLB_R_MAX; i++)
		out_u64(lb_name_fmt(&lb_reason_names, i, addr, sizeof(addr)), s->reason[i]);
	out_obj_end();
	out_obj_end();
	out_finish();
}

/*
 * Every @seconds a snapshot and the rates, until SIGINT or SIGTERM. The signals stay blocked and
 * are waited for with the interval as timeout: one that arrives at any point (even between two
 * checks of a flag) ends the wait at once.
 */
static int watch_loop(const struct instance *inst, const struct lb_state *state, __u64 seconds,
		      struct snapshot *cur, struct snapshot *prev)
{
	struct timespec interval = { .tv_sec = seconds };
	struct snapshot *t;
	sigset_t stop, old;
	int sig;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	for (;;) {
		sig = sigtimedwait(&stop, NULL, &interval);
		if (sig < 0 && errno == EINTR)
			continue;
		if (sig >= 0)
			break;
		t = prev, prev = cur, cur = t;
		if (take_snapshot(inst, state, cur)) {
			cli_err("cannot read the counters: %s", strerror(errno));
			break;
		}
		print_stats(state, cur, prev);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return sig >= 0 ? EXIT_OK : EXIT_RUNTIME;
}

static int do_stats(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct snapshot *cur = calloc(1, sizeof(*cur)), *prev = calloc(1, sizeof(*prev));
	struct lb_state state;
	struct instance inst;
	__u64 watch = 0;
	int ret = EXIT_RUNTIME;

	watch = cli_opt_num(args, "watch", 0);
	if (!cur || !prev) {
		free(cur);
		free(prev);
		return EXIT_RUNTIME;
	}
	if (inst_open(ctx, args, &inst))
		goto out_free;
	if (inst_read(&inst, &state))
		goto out_close;
	if (take_snapshot(&inst, &state, cur)) {
		cli_err("cannot read the counters: %s", strerror(errno));
		goto out_state;
	}
	if (!watch) {
		print_stats(&state, cur, NULL);
		ret = EXIT_OK;
		goto out_state;
	}
	ret = watch_loop(&inst, &state, watch, cur, prev);
out_state:
	lb_state_free(&state);
out_close:
	inst_close(&inst);
out_free:
	free(cur);
	free(prev);
	return ret;
}

static const struct cli_opt stats_opts[] = {
	CLI_OPT_UINT("watch", "SECONDS", 1, 3600, "print rates every SECONDS until interrupted"),
	PIN_DIR_OPT,
	{},
};

const struct cli_cmd stats_cmds[] = {
	{ NULL, "stats", "DEV", 1, 1, stats_opts, do_stats,
	  "Show packet and byte counters per VIP and backend, and why packets were passed or\n"
	  "dropped. --watch adds rates (pps, bps) per interval." },
	{},
};
