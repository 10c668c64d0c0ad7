// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * health: what udplbd last found about each backend it probes (its pinned health map), and the
 * health fields `status` adds to each backend when that map exists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "health/state.h"
#include "health_pin.h"
#include "instance.h"

int health_open(const struct instance *inst)
{
	struct lb_err err = {};
	int fd = health_pin_open_existing(inst->pin_dir, &err);

	if (fd < 0 && fd != -ENOENT)
		cli_err("%s (health not shown)", err.msg);
	return fd < 0 ? -1 : fd;
}

static void fmt_when(__u64 ns, char *buf, size_t len)
{
	time_t sec = ns / 1000000000ull;
	struct tm tm;

	if (!ns) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_fields(const struct udplb_health *h)
{
	struct lb_probe_result last = { .cause = h->last_cause, .rtt_us = h->last_rtt_us };
	struct lb_probe_result error = { .cause = h->error_cause, .detail = h->error_detail };
	char buf[LB_PROBE_RESULT_STRLEN], when[64];

	out_str("health", h->state ? "up" : "down");
	out_str("health_last", lb_probe_result_fmt(&last, buf, sizeof(buf)));
	out_u64("health_rtt_us", h->last_rtt_us);
	out_u64("health_passes", h->passes);
	out_u64("health_fails", h->fails);
	out_str("health_last_error",
		h->error_cause ? lb_probe_result_fmt(&error, buf, sizeof(buf)) : "");
	out_u64("health_probes", h->probes);
	out_u64("health_transitions", h->transitions);
	fmt_when(h->changed_ns, when, sizeof(when));
	out_str("health_changed", when);
}

void health_fields(int fd, const struct udplb_vip_key *vip, __be32 addr, __be16 port)
{
	struct lb_probe_target id = { .vip = *vip, .addr = addr, .port = port };
	struct udplb_health h;

	if (fd >= 0 && !health_pin_lookup(fd, &id, &h))
		print_fields(&h);
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct udplb_health_key *a = pa, *b = pb;
	__u32 x[4] = { ntohl(a->vip.addr), ntohs(a->vip.port), ntohl(a->addr), ntohs(a->port) };
	__u32 y[4] = { ntohl(b->vip.addr), ntohs(b->vip.port), ntohl(b->addr), ntohs(b->port) };

	for (int i = 0; i < 4; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

/* Every key of the map, sorted by (VIP, backend). NULL on error (errno set). */
static struct udplb_health_key *read_keys(int fd, __u32 *n)
{
	struct udplb_health_key *keys = calloc(UDPLB_HEALTH_MAX, sizeof(*keys));
	void *prev = NULL;

	*n = 0;
	if (!keys)
		return NULL;
	while (*n < UDPLB_HEALTH_MAX && !bpf_map_get_next_key(fd, prev, &keys[*n])) {
		prev = &keys[*n];
		(*n)++;
	}
	qsort(keys, *n, sizeof(*keys), key_cmp);
	return keys;
}

static int do_health(struct cli_ctx *ctx, const struct cli_args *args)
{
	char vip[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	struct udplb_health_key *keys;
	struct instance inst;
	struct udplb_health h;
	__u32 n, i;
	int fd;

	if (inst_open(ctx, args, &inst))
		return EXIT_RUNTIME;
	fd = health_open(&inst);
	if (fd < 0) {
		cli_err("no health map in %s: udplbd never ran on %s", inst.pin_dir, inst.dev);
		inst_close(&inst);
		return EXIT_RUNTIME;
	}
	keys = read_keys(fd, &n);
	out_arr_begin(NULL);
	for (i = 0; keys && i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &h))
			continue;
		out_obj_begin(NULL);
		out_str("vip", fmt_ipv4(keys[i].vip.addr, vip));
		out_u64("port", ntohs(keys[i].vip.port));
		out_str("backend", fmt_ipv4(keys[i].addr, addr));
		out_u64("backend_port", ntohs(keys[i].port));
		print_fields(&h);
		out_obj_end();
	}
	out_arr_end();
	out_finish();
	free(keys);
	close(fd);
	inst_close(&inst);
	return EXIT_OK;
}

static const struct cli_opt health_opts[] = {
	PIN_DIR_OPT,
	{},
};

const struct cli_cmd health_cmds[] = {
	{ NULL, "health", "DEV", 1, 1, health_opts, do_health,
	  "Show what udplbd last found about each backend it probes on DEV: state, last result,\n"
	  "round-trip time, consecutive passes/fails, last error (its pinned health map)." },
	{},
};
