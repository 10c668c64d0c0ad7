// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* vip add / set / del: each one transaction, one flip. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "cli.h"
#include "instance.h"
#include "names.h"
#include "parse.h"

int parse_vip_key(const struct cli_args *args, const char *s, struct udplb_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	key->proto = IPPROTO_UDP;
	switch (lb_parse_addr_port(s, &key->addr, &key->port, true)) {
	case 0:
		return 0;
	case -EDOM:
		return cli_usage_err(args->cmd,
				     "'%s': a VIP cannot be on 0/8, 127/8, multicast or broadcast",
				     s);
	default:
		return cli_usage_err(args->cmd,
				     "'%s' is not a VIP:PORT (IPv4 address and port 1-65535)", s);
	}
}

static int vip_add(struct instance *inst, struct lb_state *state, void *arg, struct lb_err *err)
{
	(void)inst;
	return lb_vip_add(state, arg, err);
}

static int do_vip_add(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct lb_vip vip = {};

	if (parse_vip_key(args, args->pos[1], &vip.key))
		return EXIT_USAGE;
	vip.fwd = cli_opt_num(args, "fwd", UDPLB_FWD_DSR);
	vip.hash_mode = cli_opt_num(args, "hash", UDPLB_HASH_5TUPLE);
	vip.ring_size = cli_opt_num(args, "ring-size", UDPLB_RING_DEFAULT);
	vip.flags = cli_opt_num(args, "flags", 0);
	return inst_change(ctx, args, vip_add, &vip, false);
}

struct vip_set_req {
	struct udplb_vip_key key;
	const struct cli_args *args;
};

/* The options given replace the VIP's settings; the others keep their live value. */
static int vip_set(struct instance *inst, struct lb_state *state, void *arg, struct lb_err *err)
{
	const struct vip_set_req *req = arg;
	const struct lb_vip *cur = lb_vip_find(state, &req->key);
	struct lb_vip vip = { .key = req->key };

	(void)inst;
	if (cur)
		vip = *cur;
	vip.fwd = cli_opt_num(req->args, "fwd", vip.fwd);
	vip.hash_mode = cli_opt_num(req->args, "hash", vip.hash_mode);
	vip.ring_size = cli_opt_num(req->args, "ring-size", vip.ring_size);
	vip.flags = cli_opt_num(req->args, "flags", vip.flags);
	return lb_vip_set(state, &vip, err); /* -ENOENT (and its message) for an unknown VIP */
}

static int do_vip_set(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct vip_set_req req = { .args = args };

	if (parse_vip_key(args, args->pos[1], &req.key))
		return EXIT_USAGE;
	if (!cli_opt(args, "fwd") && !cli_opt(args, "hash") && !cli_opt(args, "ring-size") &&
	    !cli_opt(args, "flags"))
		return cli_usage_err(args->cmd,
				     "nothing to change (--fwd, --hash, --ring-size, --flags)");
	return inst_change(ctx, args, vip_set, &req, true);
}

static int vip_del(struct instance *inst, struct lb_state *state, void *arg, struct lb_err *err)
{
	(void)inst;
	return lb_vip_del(state, arg, err);
}

static int do_vip_del(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct udplb_vip_key key;

	if (parse_vip_key(args, args->pos[1], &key))
		return EXIT_USAGE;
	return inst_change(ctx, args, vip_del, &key, true);
}

#define VIP_OPTS(dflt)                                                                             \
	CLI_OPT_ENUM("fwd", lb_fwd_names,                                                          \
		     "forwarding: L2 direct server return or IP-in-IP" dflt("dsr")),               \
		CLI_OPT_ENUM("hash", lb_hash_names,                                                \
			     "what picks the backend of a new flow" dflt("5tuple")),               \
		CLI_OPT_UINT("ring-size", "M", 1, UDPLB_RING_SLOTS,                                \
			     "Maglev ring size, a prime" dflt("65537")),                           \
		CLI_OPT_FLAGS("flags", lb_vip_flag_names,                                          \
			      "drop fragments / invalid packets to the VIP instead of passing "    \
			      "them" dflt("none")),                                                \
		PIN_DIR_OPT

#define DEFAULT_IS(v) " (default " v ")"
#define KEEP(v) " (default: unchanged)"

static const struct cli_opt vip_add_opts[] = {
	VIP_OPTS(DEFAULT_IS),
	FORCE_OPT,
	{},
};

static const struct cli_opt vip_set_opts[] = {
	VIP_OPTS(KEEP),
	FORCE_OPT,
	{},
};

static const struct cli_opt vip_del_opts[] = {
	PIN_DIR_OPT,
	FORCE_OPT,
	{},
};

const struct cli_cmd vip_cmds[] = {
	{ "vip", "add", "DEV VIP:PORT", 2, 2, vip_add_opts, do_vip_add,
	  "Add a UDP virtual service. It takes traffic once it has backends." },
	{ "vip", "set", "DEV VIP:PORT", 2, 2, vip_set_opts, do_vip_set,
	  "Change forwarding, hash, ring size or flags of a VIP in one flip; its backends stay.\n"
	  "Returns once no packet can still be steered by the old settings." },
	{ "vip", "del", "DEV VIP:PORT", 2, 2, vip_del_opts, do_vip_del,
	  "Remove a virtual service and its backends; returns once no packet can still be\n"
	  "steered by the old configuration." },
	{},
};
