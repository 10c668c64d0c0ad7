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
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "instance.h"

struct backend_req {
	struct udplb_vip_key vip;
	struct lb_backend backend;
	int nr;			 /* backend set: how many */
	struct lb_backend *list; /* backend set */
};

static int parse_backend(const struct cli_args *args, const char *s,
			 const struct udplb_vip_key *vip, struct lb_backend *b)
{
	memset(b, 0, sizeof(*b));
	if (parse_addr_port(s, &b->addr, &b->port, false))
		return cli_usage_err(args->cmd, "'%s' is not a BACKEND_IP[:PORT]", s);
	if (!b->port)
		b->port = vip->port;
	b->weight = 1;
	b->state = UDPLB_BACKEND_ACTIVE;
	return 0;
}

static int parse_request(const struct cli_args *args, struct backend_req *req)
{
	const char *mac = cli_opt(args, "mac");
	__u64 weight = 1;

	memset(req, 0, sizeof(*req));
	if (parse_vip_key(args, args->pos[1], &req->vip))
		return EXIT_USAGE;
	if (args->nr_pos > 2 && parse_backend(args, args->pos[2], &req->vip, &req->backend))
		return EXIT_USAGE;
	if (cli_opt_uint(args, "weight", 65535, &weight))
		return EXIT_USAGE;
	if (!weight)
		return cli_usage_err(args->cmd, "--weight must be 1 to 65535");
	req->backend.weight = weight;
	if (mac) {
		if (parse_mac(mac, req->backend.mac))
			return cli_usage_err(args->cmd, "--mac '%s' is not a MAC address", mac);
		req->backend.has_mac = true;
	}
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

static int do_backend_set(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct lb_backend list[CLI_MAX_POS];
	struct backend_req req;
	int i, j;

	if (parse_request(args, &req))
		return EXIT_USAGE;
	for (i = 2; i < args->nr_pos; i++) {
		if (parse_backend(args, args->pos[i], &req.vip, &list[i - 2]))
			return EXIT_USAGE;
		list[i - 2].weight = req.backend.weight;
		for (j = 0; j < i - 2; j++) {
			if (list[j].addr == list[i - 2].addr && list[j].port == list[i - 2].port)
				return cli_usage_err(args->cmd, "backend '%s' is listed twice",
						     args->pos[i]);
		}
	}
	req.list = list;
	req.nr = args->nr_pos - 2;
	return inst_change(ctx, args, backend_set, &req, true);
}

static const struct cli_opt backend_add_opts[] = {
	{ "weight", 0, CLI_UINT, "W", "share of new flows, 1-65535 (default 1)" },
	{ "mac", 0, CLI_STR, "MAC", "backend (next hop) MAC; default: from the neighbour table" },
	PIN_DIR_OPT,
	{},
};

static const struct cli_opt backend_set_opts[] = {
	{ "weight", 0, CLI_UINT, "W", "weight of backends new to the list (default 1)" },
	PIN_DIR_OPT,
	{},
};

static const struct cli_opt backend_del_opts[] = {
	PIN_DIR_OPT,
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
