/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pinned map of udplbd's backend health (UDPLB_HEALTH_PIN in the instance's pin directory,
 * struct udplb_health by struct udplb_health_key): the daemon writes every probe result into it,
 * resumes from it after a restart, and `udplb status` / `udplb health` read it. Checked like
 * every pin (trusted_path.h: ours alone; map_check.h: exactly this map's declaration).
 */
#ifndef __UDPLB_HEALTH_PIN_H
#define __UDPLB_HEALTH_PIN_H

#include <stdbool.h>

#include "health/engine.h"
#include "lb.h"

/* Open the map in @pin_dir, creating it (mode 0600) when absent: *fd. 0 or -errno with @err. */
int health_pin_open(const char *pin_dir, int *fd, struct lb_err *err);
/* Open an existing map read-only for status: the fd, -ENOENT when absent, -errno with @err. */
int health_pin_open_existing(const char *pin_dir, struct lb_err *err);
void health_pin_close(int fd);

/* Write @t's health (fd -1: nothing). */
void health_pin_store(int fd, const struct lb_health_target *t);
/* Read back the health of @id into @h: 0, -ENOENT. */
int health_pin_load(int fd, const struct lb_probe_target *id, struct lb_health *h);
void health_pin_delete(int fd, const struct lb_probe_target *id);
/*
 * Delete every entry @keep() rejects (backends gone from the file while no daemon ran).
 * Returns how many were deleted, or -ENOMEM.
 */
int health_pin_prune(int fd, bool (*keep)(void *ctx, const struct lb_probe_target *id), void *ctx);
/* The saved entry of @id itself (for status). 0 or -ENOENT. */
int health_pin_lookup(int fd, const struct lb_probe_target *id, struct udplb_health *v);

#endif /* __UDPLB_HEALTH_PIN_H */
