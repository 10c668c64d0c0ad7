// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* systemd notifications (sd_notify) and the watchdog timer of udplbd. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon/notify.h"
#include "internal.h"

/* Longest STATUS text sent; longer ones are cut. */
#define STATUS_LEN 256

static int arm_watchdog(struct lb_notify *n, struct lb_err *err)
{
	struct itimerspec its = { 0 };
	uint64_t usec = 0;
	int ret;

	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process. */
	ret = sd_watchdog_enabled(0, &usec);
	if (ret <= 0 || !usec)
		return 0;
	n->interval_us = usec / 2 ? usec / 2 : 1;
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (n->timer_fd < 0) {
		ret = -errno;
		n->interval_us = 0;
		return lb_fail(err, ret, "watchdog: timerfd_create: %s", strerror(-ret));
	}
	its.it_value.tv_sec = n->interval_us / 1000000;
	its.it_value.tv_nsec = (n->interval_us % 1000000) * 1000;
	its.it_interval = its.it_value;
	if (timerfd_settime(n->timer_fd, 0, &its, NULL)) {
		ret = -errno;
		lb_notify_close(n);
		return lb_fail(err, ret, "watchdog: timerfd_settime: %s", strerror(-ret));
	}
	return 0;
}

int lb_notify_open(struct lb_notify *n, struct lb_err *err)
{
	const char *sock = getenv("NOTIFY_SOCKET");

	memset(n, 0, sizeof(*n));
	n->timer_fd = -1;
	n->enabled = sock && *sock;
	if (!n->enabled)
		return 0;
	return arm_watchdog(n, err);
}

void lb_notify_close(struct lb_notify *n)
{
	if (n->timer_fd >= 0)
		close(n->timer_fd);
	n->timer_fd = -1;
	n->interval_us = 0;
}

/* Send @state (one or more "KEY=VALUE" lines); sd_notify's 0 (nobody listening) is fine. */
static int send_state(const struct lb_notify *n, const char *state)
{
	int ret;

	if (!n->enabled)
		return 0;
	ret = sd_notify(0, state);
	if (ret < 0) {
		errno = -ret;
		return ret;
	}
	return 0;
}

static int send_with_status(const struct lb_notify *n, const char *what, const char *status)
{
	char buf[32 + STATUS_LEN];

	if (!status)
		return send_state(n, what);
	snprintf(buf, sizeof(buf), "%s\nSTATUS=%s", what, status);
	return send_state(n, buf);
}

int lb_notify_ready(struct lb_notify *n, const char *status)
{
	return send_with_status(n, "READY=1", status);
}

int lb_notify_reloading(struct lb_notify *n, const char *status)
{
	return send_with_status(n, "RELOADING=1", status);
}

int lb_notify_stopping(struct lb_notify *n, const char *status)
{
	return send_with_status(n, "STOPPING=1", status);
}

int lb_notify_status(struct lb_notify *n, const char *fmt, ...)
{
	char buf[sizeof("STATUS=") + STATUS_LEN];
	va_list ap;

	strcpy(buf, "STATUS=");
	va_start(ap, fmt);
	vsnprintf(buf + strlen(buf), STATUS_LEN, fmt, ap);
	va_end(ap);
	return send_state(n, buf);
}

int lb_notify_watchdog_fd(const struct lb_notify *n)
{
	return n->timer_fd;
}

int lb_notify_watchdog(struct lb_notify *n)
{
	__u64 expirations;

	if (n->timer_fd < 0)
		return 0;
	if (read(n->timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations)) {
		if (errno == EAGAIN)
			return 0;
		return -errno;
	}
	return send_state(n, "WATCHDOG=1");
}
