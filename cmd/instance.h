/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The CLI's view of an instance: thin wrappers over lib/udplb (lb_instance.h) that take the
 * command's arguments and print the library's errors.
 */
#ifndef __UDPLB_INSTANCE_H
#define __UDPLB_INSTANCE_H

#include "cli.h"
#include "lb.h"
#include "lb_attach.h"
#include "lb_instance.h"
#include "lb_neigh.h"

/* The CLI's handle on an instance is the library's. */
#define instance lb_instance

/* Pinned maps by the CLI's old names (enum lb_pin). */
#define INST_PTR LB_PIN_PTR
#define INST_VIPS_A LB_PIN_VIPS_A
#define INST_FILTER_A LB_PIN_FILTER_A
#define INST_BACKENDS_A LB_PIN_BACKENDS_A
#define INST_RING_A LB_PIN_RING_A
#define INST_CONNTRACK LB_PIN_CONNTRACK
#define INST_CONFIG LB_PIN_CONFIG
#define INST_VIP_STATS LB_PIN_VIP_STATS
#define INST_BACKEND_STATS LB_PIN_BACKEND_STATS
#define INST_REASONS LB_PIN_REASONS
#define INST_POOL LB_PIN_POOL
#define __INST_MAP_MAX __LB_PIN_MAX
#define inst_map_name lb_pin_name
#define mode_name lb_mode_name

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

/* Every command on a device takes --pin-dir. */
#define PIN_DIR_OPT                                                                                \
	{                                                                                          \
		.name = "pin-dir", .arg = CLI_STR, .metavar = "DIR",                               \
		.help = "pin directory (default " UDPLB_PIN_ROOT "/ns<netns>/DEV)"                 \
	}
/* Commands that change the configuration of an instance udplbd may manage take --force. */
#define FORCE_OPT CLI_OPT_FLAG("force", "change it even though udplbd manages it (see README)")
/*
 * An instance a live udplbd manages is changed through its file, not by hand: refuses (prints
 * why, returns -EBUSY) unless --force.
 */
int inst_check_managed(const struct instance *inst, const struct cli_args *args);
int cli_ensure_bpffs(void);
int cli_check_bpffs(void);

/* health.c: udplbd's health map of @inst (-1 when absent; a refused one is reported). */
int health_open(const struct instance *inst);
/* The health fields of a backend (nothing when @fd is -1 or it has no entry). */
void health_fields(int fd, const struct udplb_vip_key *vip, __be32 addr, __be16 port);

/* prog.c: what udplb has attached to a device now. */
void inst_attachment(int ifindex, enum udplb_mode *mode, __u32 *prog_id);

/* MACs from the neighbour table (probing: sends a datagram when the neighbour is unknown). */
int backend_fill_mac(const char *dev, const struct lb_vip *vip, struct lb_backend *b,
		     struct lb_err *err);

#endif /* __UDPLB_INSTANCE_H */
