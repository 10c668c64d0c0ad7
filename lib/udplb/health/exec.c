// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The exec check: a command with the backend in its environment; exit 0 = up. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kinds.h"

extern char **environ;

#define ENV_VARS 4
#define ENV_LEN 48

/* environ without UDPLB_* entries, plus ours: a NULL-terminated array to free(). */
static char **child_env(const struct lb_check *c, const struct lb_probe_target *t,
			char vars[ENV_VARS][ENV_LEN])
{
	char addr[INET_ADDRSTRLEN], vip[INET_ADDRSTRLEN];
	size_t n = 0, i, k = 0;
	char **env;

	inet_ntop(AF_INET, &t->addr, addr, sizeof(addr));
	inet_ntop(AF_INET, &t->vip.addr, vip, sizeof(vip));
	snprintf(vars[0], ENV_LEN, "UDPLB_BACKEND_ADDR=%s", addr);
	snprintf(vars[1], ENV_LEN, "UDPLB_BACKEND_PORT=%u", ntohs(lb_probe_port(c, t)));
	snprintf(vars[2], ENV_LEN, "UDPLB_VIP=%s", vip);
	snprintf(vars[3], ENV_LEN, "UDPLB_VIP_PORT=%u", ntohs(t->vip.port));
	while (environ && environ[n])
		n++;
	env = calloc(n + ENV_VARS + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "UDPLB_", 6))
			env[k++] = environ[i];
	for (i = 0; i < ENV_VARS; i++)
		env[k++] = vars[i];
	return env;
}

/* A child in its own process group (killed whole at the timeout), clean signal state. */
static int spawn(const char *cmd, char **env, pid_t *pid)
{
	static const int reset[] = { SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2 };
	char *argv[] = { (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t empty, def;
	size_t i;
	int ret;

	sigemptyset(&empty);
	sigemptyset(&def);
	for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		sigaddset(&def, reset[i]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &empty);
	posix_spawnattr_setsigdefault(&at, &def);
	ret = posix_spawn(pid, cmd, &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -ret;
}

/* Kill what is left of the child's group and reap the child (blocks only until it is dead). */
static int kill_and_reap(pid_t pid)
{
	int status = 0;

	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int lb_exec_start(struct lb_probe *p, const struct lb_check *c, const struct lb_probe_target *t,
		  struct lb_probe_result *r)
{
	char vars[ENV_VARS][ENV_LEN];
	char **env = child_env(c, t, vars);
	pid_t pid;
	int ret, fd;

	if (!env)
		return lb_probe_done(p, r, LB_PROBE_ERROR, ENOMEM);
	ret = spawn(c->exec.cmd, env, &pid);
	free(env);
	if (ret)
		return lb_probe_done(p, r, LB_PROBE_ERROR, -ret);
	/* A pidfd becomes readable when the child exits: the event loop polls it like a socket. */
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		ret = errno;
		kill_and_reap(pid);
		return lb_probe_done(p, r, LB_PROBE_ERROR, ret);
	}
	p->fd = fd;
	p->fd_new = true;
	p->pid = pid;
	return LB_PROBE_PENDING;
}

static int judge_status(struct lb_probe *p, struct lb_probe_result *r, int status)
{
	if (WIFEXITED(status))
		return lb_probe_done(p, r, WEXITSTATUS(status) ? LB_PROBE_EXIT : LB_PROBE_PASS,
				     WEXITSTATUS(status));
	return lb_probe_done(p, r, LB_PROBE_KILLED, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int lb_exec_readable(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	siginfo_t info = { 0 };
	int status = 0;

	(void)c;
	/* Look without reaping: while the child is a zombie its pid names only its group. */
	if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT))
		return errno == EINTR ? LB_PROBE_PENDING :
					lb_probe_done(p, r, LB_PROBE_ERROR, errno);
	if (info.si_pid == 0)
		return LB_PROBE_PENDING;
	/* Whatever the command left running in its group goes with it. */
	kill(-p->pid, SIGKILL);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	return judge_status(p, r, status);
}

int lb_exec_timeout(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	int status;

	if (!lb_probe_busy(p))
		return lb_probe_done(p, r, LB_PROBE_TIMEOUT, 0);
	if (lb_exec_readable(p, c, r) == LB_PROBE_DONE)
		return LB_PROBE_DONE;
	status = kill_and_reap(p->pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return lb_probe_done(p, r, LB_PROBE_TIMEOUT, SIGKILL);
	return judge_status(p, r, status);
}

void lb_exec_cancel(struct lb_probe *p)
{
	if (p->pid > 0)
		kill_and_reap(p->pid);
	p->pid = 0;
}
