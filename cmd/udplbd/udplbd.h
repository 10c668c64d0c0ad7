/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * udplbd: the health-checking controller of one udplb instance. One event loop (loop.c) owns
 * everything below; nothing runs on another thread.
 */
#ifndef __UDPLBD_H
#define __UDPLBD_H

#include <signal.h>
#include <stdbool.h>

#include "daemon/ctl.h"
#include "health/engine.h"
#include "lb_instance.h"

/* Exit codes: 0 stopped by a signal or --check passed, 1 runtime error, 2 invalid file or usage. */
#define UDPLBD_EXIT_RUNTIME 1
#define UDPLBD_EXIT_INVALID 2

/* How often health changes are gathered into one commit. */
#define UDPLBD_TICK_MS 100

struct udplbd_opts {
	const char *file;
	bool check_only;
	bool unload_on_exit;
	bool verbose;
};

struct udplbd {
	const struct udplbd_opts *opts;
	struct lb_ctl ctl;
	struct lb_instance inst;
	bool inst_open;
	struct lb_health_engine *engine;
	int health_fd; /* the pinned health map (health_pin.h), -1 when absent */
	int daemon_fd; /* our record (daemon_pin.h): operator commands are refused meanwhile */
	int sig_fd;
	int tick_fd;
	int epoll_fd;
	bool stop;
};

/* syslog priorities as journald reads them from a "<N>" line prefix. */
enum { UDPLBD_ERR = 3, UDPLBD_WARNING = 4, UDPLBD_NOTICE = 5, UDPLBD_INFO = 6, UDPLBD_DEBUG = 7 };

/* One line on stderr with its priority prefix; debug lines only with -v. */
__attribute__((format(printf, 2, 3))) void ulog(int prio, const char *fmt, ...);
void ulog_verbose(bool on);

/* Parse @file into @conf (lb_dconf_init() first); logs the FILE:LINE error. */
int udplbd_parse(const char *file, struct lb_dconf *conf);

/* setup.c: load or upgrade the data plane on the file's device and open the instance. */
int udplbd_setup(struct udplbd *d, const struct lb_dconf *conf);
/* Put @conf in force (moved into d->ctl), start/stop/restart probes; no commit. */
int udplbd_apply_conf(struct udplbd *d, struct lb_dconf *conf);
/* Commit what changed since the last commit (one flip at most); logs the result. */
int udplbd_commit(struct udplbd *d, const char *why);
/* Stop probes, close the instance; with --unload-on-exit detach the data plane and its pins. */
void udplbd_teardown(struct udplbd *d);

/*
 * loop.c: the signals the loop reads from its signalfd; blocked first thing in main(), before
 * any thread exists (libabmap's grace-period thread would otherwise take them and die of them).
 */
void udplbd_signals(sigset_t *set);
int udplbd_block_signals(void);
/* Run until SIGTERM/SIGINT. */
int udplbd_run(struct udplbd *d);

#endif /* __UDPLBD_H */
