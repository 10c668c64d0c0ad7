// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * load / unload: the BPF object embedded in this binary (skeleton), pinned maps, attachment.
 *
 * XDP is attached through netlink and tc through a clsact filter: both outlive this process
 * without a pinned link. Loading over a running instance reuses every pinned map (configuration,
 * conntrack, counters) and swaps the program atomically (XDP_FLAGS_REPLACE, BPF_TC_F_REPLACE).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "instance.h"
#include "lb_load.h"
#include "names.h"

static const char *mode_str(enum udplb_mode mode)
{
	const char *name = lb_name(&lb_mode_names, mode);

	return name ? name : "unknown";
}

void inst_attachment(int ifindex, enum udplb_mode *mode, __u32 *prog_id)
{
	struct lb_attachment at = lb_attachment_query(ifindex);

	*mode = at.mode;
	*prog_id = at.prog_id;
}

static void print_loaded(const char *dev, enum udplb_mode mode, const char *dir,
			 const struct lb_load_info *info)
{
	out_obj_begin(NULL);
	out_str("dev", dev);
	out_str("mode", mode_str(mode));
	out_u64("prog_id", info->prog_id);
	out_str("pin_dir", dir);
	out_str("action", info->replaced ? "replaced" : "loaded");
	out_obj_end();
	out_finish();
}

static int do_load(struct cli_ctx *ctx, const struct cli_args *args)
{
	const char *dev = args->pos[0];
	struct lb_load_opts o = {
		.mode = cli_opt_num(args, "mode", UDPLB_MODE_XDP),
		.set_seed = cli_opt(args, "hash-seed") != NULL,
		.hash_seed = cli_opt_num(args, "hash-seed", 0),
		.force = cli_flag(args, "force"),
	};
	struct lb_load_info info = {};
	struct lb_err lerr = {};
	int ifindex;

	/* Every option was checked when parsed (cli_parse_args()): nothing below is refused late. */
	if (o.mode == UDPLB_MODE_NONE)
		return cli_usage_err(args->cmd, "--mode must be xdp, xdp-generic or tc");
	ctx->pin_dir = cli_opt(args, "pin-dir");
	if (cli_check_privileges() || cli_enter_netns(ctx) || cli_ifindex(dev, &ifindex) ||
	    cli_ensure_bpffs() || cli_pin_dir(ctx, dev))
		return EXIT_RUNTIME;
	if (lb_load(dev, ifindex, ctx->pin_dir, &o, &info, &lerr)) {
		cli_err("%s", lerr.msg);
		return EXIT_RUNTIME;
	}
	print_loaded(dev, o.mode, ctx->pin_dir, &info);
	return EXIT_OK;
}

static int do_unload(struct cli_ctx *ctx, const struct cli_args *args)
{
	const char *dev = args->pos[0];
	struct lb_attachment at;
	struct lb_err lerr = {};
	int ifindex, err;

	ctx->pin_dir = cli_opt(args, "pin-dir");
	if (cli_check_privileges() || cli_enter_netns(ctx) || cli_ifindex(dev, &ifindex) ||
	    cli_pin_dir(ctx, dev))
		return EXIT_RUNTIME;
	at = lb_attachment_query(ifindex);
	if (at.mode != UDPLB_MODE_NONE && lb_prog_is_udplb(at.prog_id)) {
		err = lb_detach(ifindex, &at);
		if (err) {
			cli_err("cannot detach from %s: %s", dev, strerror(-err));
			return EXIT_RUNTIME;
		}
	} else if (access(ctx->pin_dir, F_OK)) {
		cli_err("udplb is not loaded on %s", dev);
		return EXIT_RUNTIME;
	}
	if (!access(ctx->pin_dir, F_OK) && lb_pin_dir_remove(ctx->pin_dir, &lerr)) {
		cli_err("%s", lerr.msg);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static const struct cli_opt load_opts[] = {
	{ .name = "mode",
	  .arg = CLI_ENUM,
	  .metavar = "xdp|xdp-generic|tc",
	  .help = "attach mode (default xdp)",
	  .names = &lb_mode_names },
	PIN_DIR_OPT,
	CLI_OPT_UINT("hash-seed", "N", 0, UINT32_MAX,
		     "flow hash seed, decimal (default: kept; a new instance 123572661)"),
	CLI_OPT_FLAG("force", "change the mode of a running instance (not atomic)"),
	{},
};

static const struct cli_opt unload_opts[] = {
	PIN_DIR_OPT,
	{},
};

const struct cli_cmd prog_cmds[] = {
	{ NULL, "load", "DEV", 1, 1, load_opts, do_load,
	  "Load udplb on DEV, or upgrade it in place: the maps (configuration, conntrack, counters)\n"
	  "are kept and the program is replaced atomically." },
	{ NULL, "unload", "DEV", 1, 1, unload_opts, do_unload,
	  "Detach udplb from DEV and remove its pinned maps." },
	{},
};
