/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which udplbd manages an instance (UDPLB_DAEMON_PIN, struct udplb_daemon). The daemon records
 * itself at start and clears the record at exit; a record whose process is gone (SIGKILL, crash)
 * or whose pid now belongs to another process (start time differs) does not count.
 */
#ifndef __UDPLB_DAEMON_PIN_H
#define __UDPLB_DAEMON_PIN_H

#include "lb.h"

/* Record this process, managing with @conf, in @pin_dir (the pin created 0600 when absent). */
int lb_daemon_record(const char *pin_dir, const char *conf, int *fd, struct lb_err *err);
/* Clear the record (at exit) and close @fd. */
void lb_daemon_clear(int fd);
/*
 * The live daemon managing the instance in @pin_dir: 1 and *@out filled, 0 when none (no pin,
 * cleared, or its process is gone), or a negative errno with @err (an untrusted pin).
 */
int lb_daemon_managing(const char *pin_dir, struct udplb_daemon *out, struct lb_err *err);

#endif /* __UDPLB_DAEMON_PIN_H */
