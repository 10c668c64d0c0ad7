// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pool get|set|list: the instance's state pool, u64 values under u32 keys shared by the XDP
 * program, the tc program and userspace. Plain map writes, not A/B: a value changes at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "instance.h"
#include "names.h"
#include "parse.h"

static int parse_key(const char *s, __u32 *key)
{
	char names[128];
	__u64 v;

	if (!lb_name_value(&lb_pool_key_names, s, key))
		return 0;
	if (lb_parse_u64(s, 0, UDPLB_POOL_ENTRIES - 1, &v)) {
		cli_err("pool key '%s' is neither a number below %u nor a known name (%s)", s,
			UDPLB_POOL_ENTRIES,
			lb_names_list(&lb_pool_key_names, ", ", names, sizeof(names)));
		return -EINVAL;
	}
	*key = v;
	return 0;
}

static const char *key_name(__u32 key)
{
	return lb_name(&lb_pool_key_names, key);
}

static void print_entry(__u32 key, __u64 value)
{
	const char *name = key_name(key);

	out_obj_begin(NULL);
	out_u64("key", key);
	if (name)
		out_str("name", name);
	out_u64("value", value);
	out_obj_end();
}

static int do_pool(struct cli_ctx *ctx, const struct cli_args *args, const char *verb)
{
	struct instance inst;
	__u64 value = 0;
	__u32 key = 0;
	int fd, ret = EXIT_OK;

	if (args->nr_pos >= 2 && parse_key(args->pos[1], &key))
		return EXIT_USAGE;
	if (args->nr_pos >= 3 && lb_parse_u64(args->pos[2], 0, UINT64_MAX, &value))
		return cli_usage_err(args->cmd, "VALUE '%s' is not a decimal number from 0 to %llu",
				     args->pos[2], (unsigned long long)UINT64_MAX);
	if (inst_open(ctx, args, &inst))
		return EXIT_RUNTIME;
	fd = inst.fd[INST_POOL];
	if (!strcmp(verb, "set")) {
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY)) {
			cli_err("cannot set pool key %u: %s", key, strerror(errno));
			ret = EXIT_RUNTIME;
		}
	} else if (!strcmp(verb, "get")) {
		if (bpf_map_lookup_elem(fd, &key, &value)) {
			cli_err("cannot read pool key %u: %s", key, strerror(errno));
			ret = EXIT_RUNTIME;
		} else {
			print_entry(key, value);
			out_finish();
		}
	} else {
		out_arr_begin(NULL);
		for (key = 0; key < UDPLB_POOL_ENTRIES; key++) {
			if (!bpf_map_lookup_elem(fd, &key, &value) && (value || key_name(key)))
				print_entry(key, value);
		}
		out_arr_end();
		out_finish();
	}
	inst_close(&inst);
	return ret;
}

static int do_pool_get(struct cli_ctx *ctx, const struct cli_args *args)
{
	return do_pool(ctx, args, "get");
}

static int do_pool_set(struct cli_ctx *ctx, const struct cli_args *args)
{
	return do_pool(ctx, args, "set");
}

static int do_pool_list(struct cli_ctx *ctx, const struct cli_args *args)
{
	return do_pool(ctx, args, "list");
}

static const struct cli_opt pool_opts[] = {
	PIN_DIR_OPT,
	{},
};

const struct cli_cmd pool_cmds[] = {
	{ "pool", "get", "DEV KEY", 2, 2, pool_opts, do_pool_get,
	  "Print one state-pool value. KEY: a number, or kill-switch, packets, xdp-packets,\n"
	  "tc-packets." },
	{ "pool", "set", "DEV KEY VALUE", 3, 3, pool_opts, do_pool_set,
	  "Write one state-pool value (a plain write, effective at once). Setting kill-switch\n"
	  "to non-zero makes the program pass all traffic untouched." },
	{ "pool", "list", "DEV", 1, 1, pool_opts, do_pool_list,
	  "Print the named and the non-zero state-pool values." },
	{},
};
