// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply -f FILE: make the whole desired state live in one flip (the format: lib/udplb/conf.h).
 * save: print the live state in that format. Applying the same file twice changes nothing, and
 * applying what save printed changes nothing either.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "conf.h"
#include "instance.h"
#include "names.h"

static int read_file(const char *file, struct lb_conf *c)
{
	struct lb_err err = {};
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	int ret;

	if (!f) {
		ret = -errno;
		cli_err("%s: %s", file, strerror(-ret));
		return ret;
	}
	ret = lb_conf_parse(f, file, c, &err);
	if (f != stdin)
		fclose(f);
	if (ret)
		cli_err("%s", err.msg);
	return ret;
}

/*
 * A dry run sends nothing (resolving a MAC sends a datagram and waits): a backend the file
 * leaves to the neighbour table shows the MAC it has live, or none when it is new.
 */
static void live_macs(const struct lb_state *live, struct lb_conf *c)
{
	const struct lb_backend *old;
	const struct lb_vip *lv;
	struct lb_backend *b;
	struct lb_vip *v;
	__u32 i;

	for (i = 0; i < c->nr_resolve; i++) {
		v = lb_vip_find(&c->state, &c->resolve[i].vip);
		b = v ? lb_backend_find(v, c->resolve[i].addr, c->resolve[i].port) : NULL;
		lv = lb_vip_find(live, &c->resolve[i].vip);
		old = lv ? lb_backend_find(lv, c->resolve[i].addr, c->resolve[i].port) : NULL;
		if (b && old && old->has_mac) {
			b->has_mac = true;
			memcpy(b->mac, old->mac, sizeof(b->mac));
		}
	}
}

/* MACs of the backends the file leaves to the neighbour table. */
static int fill_macs(const char *dev, struct lb_conf *c)
{
	struct lb_err err = {};
	struct lb_backend *b;
	struct lb_vip *v;
	__u32 i;
	int ret;

	for (i = 0; i < c->nr_resolve; i++) {
		v = lb_vip_find(&c->state, &c->resolve[i].vip);
		b = v ? lb_backend_find(v, c->resolve[i].addr, c->resolve[i].port) : NULL;
		if (!b)
			continue;
		ret = backend_fill_mac(dev, v, b, &err);
		if (ret) {
			cli_err("%s", err.msg);
			return ret;
		}
	}
	return 0;
}

static void vip_fields(const char *key, const struct lb_vip *v)
{
	char name[LB_NAME_STRLEN], flags[LB_FLAGS_STRLEN];

	out_obj_begin(key);
	out_str("fwd", lb_name_fmt(&lb_fwd_names, v->fwd, name, sizeof(name)));
	out_str("hash", lb_name_fmt(&lb_hash_names, v->hash_mode, name, sizeof(name)));
	out_u64("ring_size", v->ring_size);
	lb_flags_fmt(&lb_vip_flag_names, v->flags, flags, sizeof(flags));
	out_str("flags", flags);
	out_obj_end();
}

static void backend_fields(const char *key, const struct lb_backend *b)
{
	char name[LB_NAME_STRLEN], mac[18];

	out_obj_begin(key);
	out_u64("weight", b->weight);
	out_str("state", lb_name_fmt(&lb_backend_state_names, b->state, name, sizeof(name)));
	out_str("mac", b->has_mac ? fmt_mac(b->mac, mac) : "");
	out_obj_end();
}

static const char *const op_names[] = {
	[LB_DIFF_ADD] = "add",
	[LB_DIFF_DEL] = "del",
	[LB_DIFF_CHANGE] = "change",
};

/* JSON: {"op", "object", "vip", ["backend"], ["before"], ["after"]}; text: lb_diff_format(). */
static int print_diff(void *ctx, const struct lb_diff_item *item)
{
	const struct lb_vip *v = item->vip_new ? item->vip_new : item->vip_old;
	const struct lb_backend *b = item->backend_new ? item->backend_new : item->backend_old;
	char line[512], addr[LB_ADDR_STRLEN];

	if (!*(bool *)ctx) {
		lb_diff_format(item, line, sizeof(line));
		out_str(NULL, line);
		return 0;
	}
	out_obj_begin(NULL);
	out_str("op", op_names[item->op]);
	out_str("object", b ? "backend" : "vip");
	out_str("vip", lb_fmt_addr_port(v->key.addr, v->key.port, addr, sizeof(addr)));
	if (b) {
		out_str("backend", lb_fmt_addr_port(b->addr, b->port, addr, sizeof(addr)));
		if (item->backend_old)
			backend_fields("before", item->backend_old);
		if (item->backend_new)
			backend_fields("after", item->backend_new);
	} else {
		if (item->vip_old)
			vip_fields("before", item->vip_old);
		if (item->vip_new)
			vip_fields("after", item->vip_new);
	}
	out_obj_end();
	return 0;
}

static void print_seed_diff(bool json, __u32 before, __u32 after)
{
	char line[64];

	if (!json) {
		snprintf(line, sizeof(line), "~ hash-seed: %u -> %u", before, after);
		out_str(NULL, line);
		return;
	}
	out_obj_begin(NULL);
	out_str("op", "change");
	out_str("object", "hash-seed");
	out_obj_begin("before");
	out_u64("hash_seed", before);
	out_obj_end();
	out_obj_begin("after");
	out_u64("hash_seed", after);
	out_obj_end();
	out_obj_end();
}

static int dry_run(struct cli_ctx *ctx, const struct instance *inst, const struct lb_state *live,
		   const struct lb_conf *desired)
{
	struct udplb_config cfg = {};

	if (inst_read_config(inst, &cfg)) {
		cli_err("cannot read the configuration map: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	out_arr_begin(NULL);
	if (desired->has_seed && desired->hash_seed != cfg.hash_seed)
		print_seed_diff(ctx->json, cfg.hash_seed, desired->hash_seed);
	lb_diff(live, &desired->state, print_diff, &ctx->json);
	out_arr_end();
	out_finish();
	return EXIT_OK;
}

static int write_seed(const struct instance *inst, __u32 seed)
{
	struct udplb_config cfg;
	int ret;

	ret = lb_instance_read_config(inst, &cfg);
	if (ret || cfg.hash_seed == seed)
		return ret;
	cfg.hash_seed = seed;
	return lb_instance_write_config(inst, &cfg);
}

static int do_apply(struct cli_ctx *ctx, const struct cli_args *args)
{
	const char *file = cli_opt(args, "file");
	struct lb_conf desired;
	struct lb_state live;
	struct instance inst;
	int ret = EXIT_RUNTIME;

	if (!file)
		return cli_usage_err(args->cmd, "missing -f FILE");
	lb_conf_init(&desired);
	if (read_file(file, &desired))
		goto out_desired;
	if (inst_open(ctx, args, &inst))
		goto out_desired;
	if (inst_read(&inst, &live))
		goto out_close;
	if (cli_flag(args, "dry-run")) {
		live_macs(&live, &desired);
		ret = dry_run(ctx, &inst, &live, &desired);
	} else if (inst_check_managed(&inst, args)) {
		ret = EXIT_RUNTIME;
	} else if (fill_macs(inst.dev, &desired)) {
		ret = EXIT_RUNTIME;
	} else if (!inst_commit(&inst, &desired.state, true)) {
		ret = desired.has_seed && write_seed(&inst, desired.hash_seed) ? EXIT_RUNTIME :
										 EXIT_OK;
		if (ret)
			cli_err("committed, but cannot write the hash seed: %s", strerror(errno));
	}
	lb_state_free(&live);
out_close:
	inst_close(&inst);
out_desired:
	lb_conf_free(&desired);
	return ret;
}

static int do_save(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct udplb_config cfg = {};
	struct lb_conf live;
	struct instance inst;
	int ret = EXIT_RUNTIME;

	lb_conf_init(&live);
	if (inst_open(ctx, args, &inst))
		return EXIT_RUNTIME;
	if (inst_read(&inst, &live.state))
		goto out_close;
	if (inst_read_config(&inst, &cfg)) {
		cli_err("cannot read the configuration map: %s", strerror(errno));
		goto out_state;
	}
	live.has_seed = true;
	live.hash_seed = cfg.hash_seed;
	if (lb_conf_write(stdout, &live))
		cli_err("cannot write the configuration: %s", strerror(errno));
	else
		ret = EXIT_OK;
out_state:
	lb_conf_free(&live);
out_close:
	inst_close(&inst);
	return ret;
}

static const struct cli_opt apply_opts[] = {
	CLI_OPT_STR("file", 'f', "FILE", "desired state ('-': standard input)"),
	CLI_OPT_FLAG("dry-run", "print the differences from the live state, change nothing"),
	PIN_DIR_OPT,
	FORCE_OPT,
	{},
};

static const struct cli_opt save_opts[] = {
	PIN_DIR_OPT,
	{},
};

const struct cli_cmd apply_cmds[] = {
	{ NULL, "apply", "DEV", 1, 1, apply_opts, do_apply,
	  "Make the configuration in FILE the live one, in one flip. Lines:\n"
	  "  hash-seed N\n"
	  "  vip ADDR:PORT [fwd dsr|ipip] [hash 5tuple|src-ip] [ring-size M]\n"
	  "      [flags drop-frags,drop-invalid|none]\n"
	  "  backend ADDR[:PORT] [weight W] [mac MAC|none] [drain]   (belongs to the vip above)\n"
	  "A backend without 'mac' gets its MAC from the neighbour table. Errors name FILE:LINE.\n"
	  "Applying the same file twice changes nothing." },
	{ NULL, "save", "DEV", 1, 1, save_opts, do_save,
	  "Print the live configuration in the format apply reads: 'udplb apply DEV -f' of it\n"
	  "changes nothing, and on another instance reproduces the same tables." },
	{},
};
