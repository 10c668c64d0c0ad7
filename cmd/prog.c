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
#include "names.h"
#include "pin_check.h"
#include "udplb.skel.h"

#define UDPLB_DEFAULT_SEED 0x75d91b5u

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

static __be32 first_ipv4(const char *dev)
{
	struct ifaddrs *ifa, *it;
	__be32 addr = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (it = ifa; it && !addr; it = it->ifa_next) {
		if (it->ifa_addr && it->ifa_addr->sa_family == AF_INET &&
		    !strcmp(it->ifa_name, dev))
			addr = ((struct sockaddr_in *)it->ifa_addr)->sin_addr.s_addr;
	}
	freeifaddrs(ifa);
	return addr;
}

static int pin_maps(struct udplb *skel, const char *dir)
{
	struct bpf_map *map;
	char path[600];
	int err;

	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

static int write_config(struct udplb *skel, const struct cli_args *args, const char *dev,
			int ifindex, enum udplb_mode mode)
{
	int fd = bpf_map__fd(skel->maps.config);
	struct udplb_config cfg = {};
	__u32 zero = 0;
	int err;

	err = bpf_map_lookup_elem(fd, &zero, &cfg) ? -errno : 0;
	if (err)
		return err;
	/* A new instance gets the default seed: every LB node then hashes flows alike. */
	if (!(cfg.flags & UDPLB_CFG_MODE_MASK) && !cfg.hash_seed)
		cfg.hash_seed = UDPLB_DEFAULT_SEED;
	cfg.hash_seed = cli_opt_num(args, "hash-seed", cfg.hash_seed);
	cfg.ifindex = ifindex;
	cfg.ipip_src = first_ipv4(dev) ?: cfg.ipip_src;
	cfg.flags = (cfg.flags & ~UDPLB_CFG_MODE_MASK) | mode;
	return bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

static int print_loaded(const char *dev, enum udplb_mode mode, int prog_fd, const char *dir,
			bool replaced)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	bpf_obj_get_info_by_fd(prog_fd, &info, &len);
	out_obj_begin(NULL);
	out_str("dev", dev);
	out_str("mode", mode_str(mode));
	out_u64("prog_id", info.id);
	out_str("pin_dir", dir);
	out_str("action", replaced ? "replaced" : "loaded");
	out_obj_end();
	out_finish();
	return EXIT_OK;
}

static int do_load(struct cli_ctx *ctx, const struct cli_args *args)
{
	const char *dev = args->pos[0];
	enum udplb_mode mode = cli_opt_num(args, "mode", UDPLB_MODE_XDP);
	struct lb_attachment old;
	struct lb_err lerr = {};
	struct udplb *skel;
	int ifindex, prog_fd, err;

	/* Every option was checked when parsed (cli_parse_args()): nothing below is refused late. */
	if (mode == UDPLB_MODE_NONE)
		return cli_usage_err(args->cmd, "--mode must be xdp, xdp-generic or tc");
	ctx->pin_dir = cli_opt(args, "pin-dir");
	if (cli_check_privileges() || cli_enter_netns(ctx) || cli_ifindex(dev, &ifindex) ||
	    cli_ensure_bpffs() || cli_pin_dir(ctx, dev))
		return EXIT_RUNTIME;
	old = lb_attachment_query(ifindex);
	if (old.mode != UDPLB_MODE_NONE && !lb_prog_is_udplb(old.prog_id)) {
		cli_err("%s already has a %s program (id %u) that udplb did not load", dev,
			mode_str(old.mode), old.prog_id);
		return EXIT_RUNTIME;
	}
	if (old.mode != UDPLB_MODE_NONE && old.mode != mode && !cli_flag(args, "force")) {
		cli_err("udplb runs on %s in %s mode; changing to %s cannot be atomic (use --force)",
			dev, mode_str(old.mode), mode_str(mode));
		return EXIT_RUNTIME;
	}
	err = lb_pin_dir_create(ctx->pin_dir, &lerr);
	if (!err)
		err = lb_pin_dir_check_present(ctx->pin_dir, &lerr);
	if (err) {
		cli_err("%s", lerr.msg);
		return EXIT_RUNTIME;
	}
	skel = udplb__open();
	err = skel ? pin_maps(skel, ctx->pin_dir) : -errno;
	if (!err)
		err = udplb__load(skel);
	if (err) {
		cli_err("cannot load the BPF program: %s (pinned maps in %s from another udplb version? run 'udplb unload %s' first; UDPLB_DEBUG=1 shows libbpf's log)",
			strerror(-err), ctx->pin_dir, dev);
		udplb__destroy(skel);
		return EXIT_RUNTIME;
	}
	prog_fd = bpf_program__fd(mode == UDPLB_MODE_TC ? skel->progs.udplb_tc :
							  skel->progs.udplb_xdp);
	err = write_config(skel, args, dev, ifindex, mode);
	if (!err && old.mode != UDPLB_MODE_NONE && old.mode != mode)
		err = lb_detach(ifindex, &old);
	if (!err)
		err = lb_attach(ifindex, mode, prog_fd, &old);
	if (err) {
		cli_err("cannot attach to %s in %s mode: %s", dev, mode_str(mode), strerror(-err));
		udplb__destroy(skel);
		return EXIT_RUNTIME;
	}
	err = print_loaded(dev, mode, prog_fd, ctx->pin_dir, old.mode == mode);
	udplb__destroy(skel);
	return err;
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
