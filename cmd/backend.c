// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * backend add / del / set / drain: each one transaction, one flip. Backend MACs (dsr: the
 * backend itself; ipip: the backend when on-link) come from the namespace's neighbour table
 * (lib/udplb/neigh.c) and are stored in the backend entry, which saves the data plane a FIB
 * lookup per packet.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "instance.h"
#include "parse.h"

struct backend_req {
	struct udplb_vip_key vip;
	struct lb_backend backend;
	int nr;			 /* backend set: how many */
	struct lb_backend *list; /* backend set */
};

static int parse_backend(const struct cli_args *args, const char *s,
			 const struct udplb_vip_key *vip, struct lb_backend *b)
{
	int err;

	memset(b, 0, sizeof(*b));
	err = lb_parse_addr_port(s, &b->addr, &b->port, false);
	if (err == -EDOM)
		return cli_usage_err(
			args->cmd,
			"'%s': a backend cannot be on 0/8, 127/8, multicast or broadcast", s);
	if (err)
		return cli_usage_err(args->cmd, "'%s' is not a BACKEND_IP[:PORT]", s);
	if (!b->port)
		b->port = vip->port;
	b->weight = 1;
	b->state = UDPLB_BACKEND_ACTIVE;
	return 0;
}

static int parse_request(const struct cli_args *args, struct backend_req *req)
{
	memset(req, 0, sizeof(*req));
	if (parse_vip_key(args, args->pos[1], &req->vip))
		return EXIT_USAGE;
	if (args->nr_pos > 2 && parse_backend(args, args->pos[2], &req->vip, &req->backend))
		return EXIT_USAGE;
	req->backend.weight = cli_opt_num(args, "weight", 1);
	req->backend.has_mac = cli_opt_mac(args, "mac", req->backend.mac);
	return 0;
}

static int backend_add(struct instance *inst, struct lb_state *state, void *arg, struct lb_err *err)
{
	struct backend_req *req = arg;
	struct lb_vip *vip = lb_vip_find(state, &req->vip);
	int ret;

	ret = lb_backend_add(state, &req->vip, &req->backend, err);
	if (ret)
		return ret;
	return backend_fill_mac(inst->dev, vip,
				lb_backend_find(vip, req->backend.addr, req->backend.port), err);
}

static int backend_del(struct instance *inst, struct lb_state *state, void *arg, struct lb_err *err)
{
	struct backend_req *req = arg;

	(void)inst;
	return lb_backend_del(state, &req->vip, req->backend.addr, req->backend.port, err);
}

static int backend_drain(struct instance *inst, struct lb_state *state, void *arg,
			 struct lb_err *err)
{
	struct backend_req *req = arg;
	struct lb_vip *vip = lb_vip_find(state, &req->vip);
	struct lb_backend b, *cur;

	(void)inst;
	cur = vip ? lb_backend_find(vip, req->backend.addr, req->backend.port) : NULL;
	if (!cur)
		return lb_backend_del(state, &req->vip, req->backend.addr, req->backend.port, err);
	b = *cur;
	b.state = UDPLB_BACKEND_DRAINING;
	return lb_backend_set(state, &req->vip, &b, err);
}

/* Replace the list: backends that stay keep weight, state and MAC; new ones get --weight. */
static int backend_set(struct instance *inst, struct lb_state *state, void *arg, struct lb_err *err)
{
	struct backend_req *req = arg;
	struct lb_vip *vip = lb_vip_find(state, &req->vip);
	struct lb_backend *cur;
	__u32 i;
	int j, ret, keep;

	if (!vip)
		return lb_backend_del(state, &req->vip, 0, 0, err);
	for (i = 0; i < vip->nr_backends;) {
		cur = &vip->backends[i];
		for (keep = 0, j = 0; j < req->nr && !keep; j++)
			keep = req->list[j].addr == cur->addr && req->list[j].port == cur->port;
		if (keep) {
			i++;
			continue;
		}
		ret = lb_backend_del(state, &req->vip, cur->addr, cur->port, err);
		if (ret)
			return ret;
	}
	for (j = 0; j < req->nr; j++) {
		if (lb_backend_find(vip, req->list[j].addr, req->list[j].port))
			continue;
		ret = lb_backend_add(state, &req->vip, &req->list[j], err);
		if (!ret)
			ret = backend_fill_mac(
				inst->dev, vip,
				lb_backend_find(vip, req->list[j].addr, req->list[j].port), err);
		if (ret)
			return ret;
	}
	return 0;
}

static int do_backend_add(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct backend_req req;

	if (parse_request(args, &req))
		return EXIT_USAGE;
	return inst_change(ctx, args, backend_add, &req, false);
}

static int do_backend_del(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct backend_req req;

	if (parse_request(args, &req))
		return EXIT_USAGE;
	return inst_change(ctx, args, backend_del, &req, true);
}

static int do_backend_drain(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct backend_req req;

	if (parse_request(args, &req))
		return EXIT_USAGE;
	return inst_change(ctx, args, backend_drain, &req, true);
}

static int backend_ident_cmp(const void *pa, const void *pb)
{
	const struct lb_backend *a = pa, *b = pb;

	if (a->addr != b->addr)
		return ntohl(a->addr) < ntohl(b->addr) ? -1 : 1;
	return ntohs(a->port) < ntohs(b->port) ? -1 : ntohs(a->port) > ntohs(b->port);
}

/* Sorted, so that thousands of backends are checked in n log n. */
static int check_unique(const struct cli_args *args, const struct lb_backend *list, int nr)
{
	struct lb_backend *sorted = malloc((nr ? nr : 1) * sizeof(*sorted));
	char name[LB_ADDR_STRLEN];
	int i, ret = 0;

	if (!sorted) {
		cli_err("out of memory");
		return EXIT_RUNTIME;
	}
	memcpy(sorted, list, nr * sizeof(*sorted));
	qsort(sorted, nr, sizeof(*sorted), backend_ident_cmp);
	for (i = 1; i < nr && !ret; i++) {
		if (!backend_ident_cmp(&sorted[i - 1], &sorted[i]))
			ret = cli_usage_err(args->cmd, "backend %s is listed twice",
					    lb_fmt_addr_port(sorted[i].addr, sorted[i].port, name,
							     sizeof(name)));
	}
	free(sorted);
	return ret;
}

static int do_backend_set(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct lb_backend *list;
	struct backend_req req;
	int i, ret;

	if (parse_request(args, &req))
		return EXIT_USAGE;
	list = calloc(args->nr_pos, sizeof(*list));
	if (!list) {
		cli_err("out of memory");
		return EXIT_RUNTIME;
	}
	req.list = list;
	for (i = 2; i < args->nr_pos; i++, req.nr++) {
		ret = parse_backend(args, args->pos[i], &req.vip, &list[req.nr]);
		if (ret)
			goto out;
		list[req.nr].weight = req.backend.weight;
	}
	ret = check_unique(args, list, req.nr);
	if (!ret)
		ret = inst_change(ctx, args, backend_set, &req, true);
out:
	free(list);
	return ret;
}

static const struct cli_opt backend_add_opts[] = {
	CLI_OPT_UINT("weight", "W", 1, 65535, "share of new flows, 1-65535 (default 1)"),
	{ .name = "mac",
	  .arg = CLI_MAC,
	  .metavar = "MAC",
	  .help = "backend (next hop) MAC; default: from the neighbour table" },
	PIN_DIR_OPT,
	FORCE_OPT,
	{},
};

static const struct cli_opt backend_set_opts[] = {
	CLI_OPT_UINT("weight", "W", 1, 65535, "weight of backends new to the list (default 1)"),
	PIN_DIR_OPT,
	FORCE_OPT,
	{},
};

static const struct cli_opt backend_del_opts[] = {
	PIN_DIR_OPT,
	FORCE_OPT,
	{},
};

const struct cli_cmd backend_cmds[] = {
	{ "backend", "add", "DEV VIP:PORT BACKEND_IP[:PORT]", 3, 3, backend_add_opts,
	  do_backend_add,
	  "Add a backend to a VIP. Its port must be the VIP's (dsr and ipip keep ports)." },
	{ "backend", "del", "DEV VIP:PORT BACKEND_IP[:PORT]", 3, 3, backend_del_opts,
	  do_backend_del, "Remove a backend; returns once no new datagram can go to it." },
	{ "backend", "set", "DEV VIP:PORT BACKEND_IP[:PORT]...", 2, -1, backend_set_opts,
	  do_backend_set,
	  "Replace a VIP's whole backend list in one flip; backends that stay keep their\n"
	  "weight, state and MAC." },
	{ "backend", "drain", "DEV VIP:PORT BACKEND_IP[:PORT]", 3, 3, backend_del_opts,
	  do_backend_drain,
	  "Stop sending new flows to a backend; its existing flows stay. Returns once no new\n"
	  "flow can go to it." },
	{},
};
