// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one event loop: signals (signalfd), the commit tick (timerfd) and the probe engine's fd.
 * Health changes found between two ticks are committed together at the tick: one flip.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "udplbd.h"

void udplbd_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int udplbd_block_signals(void)
{
	sigset_t set;

	udplbd_signals(&set);
	return sigprocmask(SIG_BLOCK, &set, NULL) ? -errno : 0;
}

static int open_fds(struct udplbd *d)
{
	struct itimerspec its = {
		.it_interval = { .tv_nsec = UDPLBD_TICK_MS * 1000000L },
		.it_value = { .tv_nsec = UDPLBD_TICK_MS * 1000000L },
	};
	int fds[3], i;
	sigset_t set;

	udplbd_signals(&set);
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->tick_fd < 0 || d->epoll_fd < 0 ||
	    timerfd_settime(d->tick_fd, 0, &its, NULL))
		return -errno;
	fds[0] = d->sig_fd;
	fds[1] = d->tick_fd;
	fds[2] = lb_health_engine_fd(d->engine);
	for (i = 0; i < 3; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };

		if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fds[i], &ev))
			return -errno;
	}
	return 0;
}

static void close_fds(struct udplbd *d)
{
	int *fds[] = { &d->sig_fd, &d->tick_fd, &d->epoll_fd };

	for (unsigned int i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* SIGHUP: parse aside; keep running the current configuration when the file is invalid. */
static void reload(struct udplbd *d)
{
	struct lb_dconf conf;

	lb_dconf_init(&conf);
	ulog(UDPLBD_INFO, "SIGHUP: reloading %s", d->opts->file);
	if (udplbd_parse(d->opts->file, &conf)) {
		ulog(UDPLBD_WARNING, "reload refused: the running configuration stays");
	} else if (strcmp(conf.device, d->ctl.conf.device) || conf.mode != d->ctl.conf.mode) {
		ulog(UDPLBD_WARNING,
		     "reload refused: device and mode cannot change while running (restart udplbd)");
	} else if (!udplbd_apply_conf(d, &conf)) {
		udplbd_commit(d, "reload");
	}
	lb_dconf_free(&conf);
}

static void on_signal(struct udplbd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else {
			ulog(UDPLBD_NOTICE, "%s: stopping (the data plane %s)",
			     strsignal(si.ssi_signo),
			     d->opts->unload_on_exit ? "is unloaded" : "keeps running");
			d->stop = true;
		}
	}
}

static void on_tick(struct udplbd *d)
{
	__u64 expirations;

	if (read(d->tick_fd, &expirations, sizeof(expirations)) < 0)
		return;
	udplbd_commit(d, "health");
}

int udplbd_run(struct udplbd *d)
{
	int ret = open_fds(d);

	if (ret) {
		ulog(UDPLBD_ERR, "event loop: %s", strerror(-ret));
		close_fds(d);
		return ret;
	}
	ulog(UDPLBD_NOTICE, "running (pid %d, file %s)", getpid(), d->opts->file);
	while (!d->stop) {
		struct epoll_event ev[4];
		int n = epoll_wait(d->epoll_fd, ev, 4, -1);

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			ulog(UDPLBD_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == d->sig_fd)
				on_signal(d);
			else if (ev[i].data.fd == d->tick_fd)
				on_tick(d);
			else if (lb_health_engine_process(d->engine) < 0)
				ulog(UDPLBD_ERR, "probe engine: %s", strerror(errno));
		}
	}
	close_fds(d);
	return ret;
}
