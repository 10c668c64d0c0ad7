/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * udplbd's notifications to systemd (Type=notify) through libsystemd's sd_notify(): READY,
 * RELOADING (then READY again), STOPPING, STATUS texts and the watchdog keep-alive. Without
 * NOTIFY_SOCKET in the environment (not started by systemd) every call is a no-op returning 0.
 *
 * The watchdog is a timerfd the daemon's event loop polls: it fires at half of WATCHDOG_USEC
 * (systemd's advice), and lb_notify_watchdog() then sends WATCHDOG=1. A loop that hangs stops
 * sending, and systemd restarts the daemon, which is the point.
 */
#ifndef __UDPLB_DAEMON_NOTIFY_H
#define __UDPLB_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <linux/types.h>

#include "lb.h"

struct lb_notify {
	bool enabled;	   /* NOTIFY_SOCKET was set at lb_notify_open() */
	__u64 interval_us; /* WATCHDOG=1 period (half of WATCHDOG_USEC); 0: no watchdog */
	int timer_fd;	   /* fires every interval_us; -1: no watchdog */
};

/*
 * Read the environment (NOTIFY_SOCKET; WATCHDOG_USEC when WATCHDOG_PID is ours) and arm the
 * watchdog timer. 0, or a negative errno with @err filled (timerfd failure).
 */
int lb_notify_open(struct lb_notify *n, struct lb_err *err);
/* Close the timer. Safe on a zeroed or closed struct with timer_fd -1. */
void lb_notify_close(struct lb_notify *n);

/* "READY=1" plus "STATUS=@status" when @status is not NULL: startup done, or reload done. */
int lb_notify_ready(struct lb_notify *n, const char *status);
/* "RELOADING=1" (+ STATUS): a SIGHUP reload starts; follow it with lb_notify_ready(). */
int lb_notify_reloading(struct lb_notify *n, const char *status);
/* "STOPPING=1" (+ STATUS): shutting down. */
int lb_notify_stopping(struct lb_notify *n, const char *status);
/* "STATUS=..." alone (printf format): what `systemctl status` shows. */
__attribute__((format(printf, 2, 3))) int lb_notify_status(struct lb_notify *n, const char *fmt,
							   ...);

/* The fd to poll for EPOLLIN, or -1 without watchdog. */
int lb_notify_watchdog_fd(const struct lb_notify *n);
/* The timer fired: read it and send "WATCHDOG=1". 0 (also when nothing is due), or -errno. */
int lb_notify_watchdog(struct lb_notify *n);

#endif /* __UDPLB_DAEMON_NOTIFY_H */
