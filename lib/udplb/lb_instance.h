/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * An instance is udplb on one device of one network namespace. Its maps are pinned in
 * LB_PIN_ROOT/ns<inode of the netns>/<DEV>/ (or a directory of the caller's choice), so every
 * later process finds the same configuration, conntrack and counters. This module names the pins,
 * checks or mounts bpffs, opens the pinned maps as an lb_maps group, and runs the
 * read-modify-commit loop every configuration change goes through.
 *
 * Conventions as in lb.h: 0 or a negative errno, and one line in @err the caller prints.
 */
#ifndef __UDPLB_LB_INSTANCE_H
#define __UDPLB_LB_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

#include "lb.h"

#define LB_BPFFS_ROOT "/sys/fs/bpf"
#define LB_PIN_ROOT LB_BPFFS_ROOT "/udplb"
#define LB_PATH_MAX 512

/* Pinned maps of an instance, by the names the BPF program gives them. */
enum lb_pin {
	LB_PIN_PTR,
	LB_PIN_VIPS_A,
	LB_PIN_VIPS_B,
	LB_PIN_FILTER_A,
	LB_PIN_FILTER_B,
	LB_PIN_BACKENDS_A,
	LB_PIN_BACKENDS_B,
	LB_PIN_RING_A,
	LB_PIN_RING_B,
	LB_PIN_CONNTRACK,
	LB_PIN_CONFIG,
	LB_PIN_VIP_STATS,
	LB_PIN_BACKEND_STATS,
	LB_PIN_REASONS,
	LB_PIN_POOL,
	__LB_PIN_MAX,
};

/* "udplb_ptr", "vips_a", ...; NULL when out of range. */
const char *lb_pin_name(enum lb_pin pin);

/* bpffs at LB_BPFFS_ROOT: -ENOENT (and why, e.g. a private /sys under 'ip netns exec') if not. */
int lb_bpffs_check(struct lb_err *err);
/* lb_bpffs_check(), mounting bpffs (mode 0700) when it is absent from this mount namespace. */
int lb_bpffs_mount(struct lb_err *err);
/* The default pin directory of @dev in the current network namespace. */
int lb_pin_dir_default(const char *dev, char *buf, size_t len, struct lb_err *err);
/* mkdir -p with owner-only permissions. */
int lb_pin_dir_create(const char *path, struct lb_err *err);
/* Remove the pins in @dir, @dir, and its empty parents up to LB_PIN_ROOT. */
int lb_pin_dir_remove(const char *dir, struct lb_err *err);

struct lb_instance {
	char dev[IF_NAMESIZE];
	int ifindex;
	char pin_dir[LB_PATH_MAX];
	int fd[__LB_PIN_MAX]; /* -1 when closed */
	struct lb_maps maps;
};

/*
 * Open the instance on @dev (a device of the current network namespace): its pins in @pin_dir
 * (NULL: the default), the configuration group with @gopts (may be NULL). -ENODEV: no such
 * device; -ENOENT: udplb is not loaded there (bpffs missing or a pin missing).
 */
int lb_instance_open(struct lb_instance *inst, const char *dev, const char *pin_dir,
		     const struct abmap_group_opts *gopts, struct lb_err *err);
/* Close every fd and the group; safe on a closed or zeroed-then-failed instance. */
void lb_instance_close(struct lb_instance *inst);
/* The data plane's settings (config map). */
int lb_instance_read_config(const struct lb_instance *inst, struct udplb_config *cfg);
int lb_instance_write_config(const struct lb_instance *inst, const struct udplb_config *cfg);

/*
 * Commit @desired in one flip (lb_commit()); with @expect_generation, only if nobody committed
 * since that generation (-EAGAIN otherwise). With @sync, return once the grace period is over:
 * removed or drained backends then get no more packets. Return 0, LB_COMMIT_UNCHANGED or a
 * negative errno (after a flip whose grace-period wait failed: that error, @err says so).
 */
int lb_instance_commit(struct lb_instance *inst, const struct lb_state *desired, bool sync,
		       const __u64 *expect_generation, struct lb_err *err);

/* An edit of the live configuration: 0 or a negative errno with @err set. */
typedef int (*lb_change_fn)(struct lb_state *state, void *arg, struct lb_err *err);

/* How often lb_instance_change() starts over when another writer commits in between. */
#define LB_CHANGE_TRIES 5

/*
 * Read the live configuration, let @change edit it, commit it (one flip, or nothing on any
 * error). The commit only goes through if nobody committed since the read; otherwise start over
 * (up to LB_CHANGE_TRIES times), so two concurrent writers never lose each other's change.
 * Return: as lb_instance_commit().
 */
int lb_instance_change(struct lb_instance *inst, lb_change_fn change, void *arg, bool sync,
		       struct lb_err *err);

#endif /* __UDPLB_LB_INSTANCE_H */
