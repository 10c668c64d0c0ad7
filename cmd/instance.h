/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __UDPLB_INSTANCE_H
#define __UDPLB_INSTANCE_H

#include "cli.h"
#include "lb.h"

/* Pinned maps of an instance, by the names the BPF program gives them. */
enum inst_map {
	INST_PTR,
	INST_VIPS_A,
	INST_VIPS_B,
	INST_FILTER_A,
	INST_FILTER_B,
	INST_BACKENDS_A,
	INST_BACKENDS_B,
	INST_RING_A,
	INST_RING_B,
	INST_CONNTRACK,
	INST_CONFIG,
	INST_VIP_STATS,
	INST_BACKEND_STATS,
	INST_REASONS,
	INST_POOL,
	__INST_MAP_MAX,
};

struct instance {
	const char *dev;
	int ifindex;
	int fd[__INST_MAP_MAX];
	struct lb_maps maps;
};

const char *inst_map_name(enum inst_map map);
/* Privileges, netns, device, pins, libabmap group: everything a config command needs. */
int inst_open(struct cli_ctx *ctx, const struct cli_args *args, struct instance *inst);
void inst_close(struct instance *inst);
int inst_read_config(const struct instance *inst, struct udplb_config *cfg);

/* How long a command waits for another writer's lock before giving up. */
#define INST_LOCK_TIMEOUT_MS 10000

/* Live configuration; prints the error. */
int inst_read(struct instance *inst, struct lb_state *state);
/* Commit @desired in one flip; with @sync, return only after the grace period. Prints errors. */
int inst_commit(struct instance *inst, const struct lb_state *desired, bool sync);

typedef int (*inst_change_fn)(struct instance *inst, struct lb_state *state, void *arg,
			      struct lb_err *err);
/* open, read, change, commit, close: the body of every configuration command. Exit code. */
int inst_change(struct cli_ctx *ctx, const struct cli_args *args, inst_change_fn change, void *arg,
		bool sync);
const char *mode_name(enum udplb_mode mode);

/* Every command on a device takes --pin-dir. */
#define PIN_DIR_OPT                                                                                \
	{                                                                                          \
		.name = "pin-dir", .arg = CLI_STR, .metavar = "DIR",                               \
		.help = "pin directory (default " UDPLB_PIN_ROOT "/ns<netns>/DEV)"                 \
	}
int cli_ensure_bpffs(void);
int cli_check_bpffs(void);
int cli_mkdir_p(const char *path);

/* prog.c: what udplb has attached to a device now. */
void inst_attachment(int ifindex, enum udplb_mode *mode, __u32 *prog_id);

/* backend.c: MACs from the neighbour table. */
int resolve_mac(const char *dev, __be32 addr, __u8 mac[6]);
int backend_fill_mac(const char *dev, const struct lb_vip *vip, struct lb_backend *b,
		     struct lb_err *err);

#endif /* __UDPLB_INSTANCE_H */
