// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* vip add / vip del: each one transaction, one flip. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "cli.h"
#include "instance.h"
#include "names.h"

int parse_vip_key(const struct cli_args *args, const char *s, struct udplb_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	key->proto = IPPROTO_UDP;
	if (parse_addr_port(s, &key->addr, &key->port, true))
		return cli_usage_err(args->cmd,
				     "'%s' is not a VIP:PORT (IPv4 address and port 1-65535)", s);
	return 0;
}

/* An enum option: absent keeps *out (the default). */
static int parse_enum(const struct lb_names *t, const char *s, __u8 *out)
{
	__u32 v;

	if (!s)
		return 0;
	if (lb_name_value(t, s, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_fwd(const char *s, __u8 *fwd)
{
	return parse_enum(&lb_fwd_names, s, fwd);
}

int parse_hash(const char *s, __u8 *mode)
{
	return parse_enum(&lb_hash_names, s, mode);
}

static int vip_add(struct instance *inst, struct lb_state *state, void *arg, struct lb_err *err)
{
	(void)inst;
	return lb_vip_add(state, arg, err);
}

static int do_vip_add(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct lb_vip vip = {};
	__u64 ring = UDPLB_RING_DEFAULT;

	if (parse_vip_key(args, args->pos[1], &vip.key))
		return EXIT_USAGE;
	if (parse_fwd(cli_opt(args, "fwd"), &vip.fwd))
		return cli_usage_err(args->cmd, "--fwd must be dsr or ipip");
	if (parse_hash(cli_opt(args, "hash"), &vip.hash_mode))
		return cli_usage_err(args->cmd, "--hash must be 5tuple or src-ip");
	if (cli_opt_uint(args, "ring-size", UDPLB_RING_SLOTS, &ring))
		return EXIT_USAGE;
	vip.ring_size = ring;
	return inst_change(ctx, args, vip_add, &vip, false);
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

static const struct cli_opt vip_add_opts[] = {
	{ "fwd", 0, CLI_STR, "dsr|ipip",
	  "forwarding: L2 direct server return (default) or IP-in-IP" },
	{ "hash", 0, CLI_STR, "5tuple|src-ip",
	  "what picks the backend of a new flow (default 5tuple)" },
	{ "ring-size", 0, CLI_UINT, "M", "Maglev ring size, a prime (default 65537)" },
	PIN_DIR_OPT,
	{},
};

static const struct cli_opt vip_del_opts[] = {
	PIN_DIR_OPT,
	{},
};

const struct cli_cmd vip_cmds[] = {
	{ "vip", "add", "DEV VIP:PORT", 2, 2, vip_add_opts, do_vip_add,
	  "Add a UDP virtual service. It takes traffic once it has backends." },
	{ "vip", "del", "DEV VIP:PORT", 2, 2, vip_del_opts, do_vip_del,
	  "Remove a virtual service and its backends; returns once no packet can still be\n"
	  "steered by the old configuration." },
	{},
};
