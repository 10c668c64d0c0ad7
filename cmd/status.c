// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* status: how the instance is attached and the live configuration, from the kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "instance.h"
#include "names.h"

static void fmt_time(__u64 ns, char *buf, size_t len)
{
	time_t sec = ns / 1000000000ull;
	struct tm tm;

	if (!ns) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(ns % 1000000000ull / 1000000));
}

static void print_backend(const struct lb_vip *v, const struct lb_backend *b, int health_fd)
{
	char addr[INET_ADDRSTRLEN], mac[18], name[LB_NAME_STRLEN];

	out_obj_begin(NULL);
	out_str("addr", fmt_ipv4(b->addr, addr));
	out_u64("port", ntohs(b->port));
	out_u64("id", b->id);
	out_u64("weight", b->weight);
	out_str("state", lb_name_fmt(&lb_backend_state_names, b->state, name, sizeof(name)));
	out_str("mac", b->has_mac ? fmt_mac(b->mac, mac) : "");
	health_fields(health_fd, &v->key, b->addr, b->port);
	out_obj_end();
}

static void print_vip(const struct lb_vip *v, int health_fd)
{
	char addr[INET_ADDRSTRLEN], name[LB_NAME_STRLEN], flags[LB_FLAGS_STRLEN];
	__u32 i;

	lb_flags_fmt(&lb_vip_flag_names, v->flags, flags, sizeof(flags));
	out_obj_begin(NULL);
	out_str("vip", fmt_ipv4(v->key.addr, addr));
	out_u64("port", ntohs(v->key.port));
	out_str("proto", lb_name_fmt(&lb_proto_names, v->key.proto, name, sizeof(name)));
	out_u64("id", v->id);
	out_str("fwd", lb_name_fmt(&lb_fwd_names, v->fwd, name, sizeof(name)));
	out_str("hash", lb_name_fmt(&lb_hash_names, v->hash_mode, name, sizeof(name)));
	out_u64("ring_size", v->ring_size);
	out_u64("ring_off", v->ring_off);
	out_str("flags", flags);
	out_arr_begin("backends");
	for (i = 0; i < v->nr_backends; i++)
		print_backend(v, &v->backends[i], health_fd);
	out_arr_end();
	out_obj_end();
}

static int do_status(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct abmap_pointer ptr = {};
	struct udplb_config cfg = {};
	enum udplb_mode mode;
	struct lb_state state;
	struct instance inst;
	char when[80], src[INET_ADDRSTRLEN], name[LB_NAME_STRLEN];
	__u32 prog_id, i;
	int err, health_fd;

	if (inst_open(ctx, args, &inst))
		return EXIT_RUNTIME;
	err = inst_read(&inst, &state);
	if (err) {
		inst_close(&inst);
		return EXIT_RUNTIME;
	}
	inst_read_config(&inst, &cfg);
	health_fd = health_open(&inst);
	abmap_group_state(inst.maps.group, &ptr);
	inst_attachment(inst.ifindex, &mode, &prog_id);
	fmt_time(ptr.flip_time_ns, when, sizeof(when));

	out_obj_begin(NULL);
	out_str("dev", inst.dev);
	out_str("mode", lb_name_fmt(&lb_mode_names, mode, name, sizeof(name)));
	out_u64("prog_id", prog_id);
	out_u64("generation", ptr.generation);
	out_str("last_commit", when);
	out_u64("hash_seed", cfg.hash_seed);
	out_str("ipip_src", fmt_ipv4(cfg.ipip_src, src));
	out_u64("ifindex", cfg.ifindex);
	out_str("pin_dir", ctx->pin_dir);
	out_arr_begin("vips");
	for (i = 0; i < state.nr_vips; i++)
		print_vip(&state.vips[i], health_fd);
	out_arr_end();
	out_obj_end();
	out_finish();
	lb_state_free(&state);
	if (health_fd >= 0)
		close(health_fd);
	inst_close(&inst);
	return EXIT_OK;
}

static const struct cli_opt status_opts[] = {
	PIN_DIR_OPT,
	{},
};

const struct cli_cmd status_cmds[] = {
	{ NULL, "status", "DEV", 1, 1, status_opts, do_status,
	  "Show how udplb is attached to DEV and its live configuration (read from the kernel)." },
	{},
};
