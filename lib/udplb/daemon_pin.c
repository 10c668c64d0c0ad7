// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The managing daemon's record on bpffs (daemon_pin.h). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "daemon_pin.h"
#include "internal.h"
#include "lb_instance.h"
#include "map_check.h"
#include "trusted_path.h"

static const struct lb_map_want daemon_want = {
	.name = UDPLB_DAEMON_PIN,
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct udplb_daemon),
	.max_entries = 1,
};

/* Field 22 of /proc/PID/stat (after the parenthesised command name); 0 when unreadable. */
static __u64 proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After ") " come fields 3..: the start time is the 20th of them. */
	if (!p ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &t) != 1)
		return 0;
	return t;
}

static int open_checked(const char *pin_dir, struct lb_err *err)
{
	char path[LB_PATH_MAX + 64];
	int fd, ret;

	ret = lb_trusted_pin(pin_dir, UDPLB_DAEMON_PIN, err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, UDPLB_DAEMON_PIN);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return lb_fail(err, -errno, "cannot open %s: %s", path, strerror(errno));
	ret = lb_map_check(fd, &daemon_want, err);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int create(const char *pin_dir, struct lb_err *err)
{
	char path[LB_PATH_MAX + 64];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, UDPLB_DAEMON_PIN);
	fd = bpf_map_create(daemon_want.type, daemon_want.name, daemon_want.key_size,
			    daemon_want.value_size, daemon_want.max_entries, NULL);
	if (fd < 0)
		return lb_fail(err, -errno, "cannot create the daemon map: %s", strerror(errno));
	if (bpf_obj_pin(fd, path) || chmod(path, 0600)) {
		ret = -errno;
		close(fd);
		unlink(path);
		return lb_fail(err, ret, "cannot pin %s: %s", path, strerror(-ret));
	}
	return fd;
}

int lb_daemon_record(const char *pin_dir, const char *conf, int *fd, struct lb_err *err)
{
	struct udplb_daemon v = { .pid = getpid(), .start_time = proc_start_time(getpid()) };
	char abs[PATH_MAX];
	__u32 zero = 0;
	int ret = open_checked(pin_dir, err);

	if (ret == -ENOENT)
		ret = create(pin_dir, err);
	if (ret < 0)
		return ret;
	/* A longer path is cut: the record only names the file to an operator. */
	const char *path = realpath(conf, abs) ? abs : conf;
	size_t len = strnlen(path, sizeof(v.conf) - 1);

	memcpy(v.conf, path, len);
	if (bpf_map_update_elem(ret, &zero, &v, BPF_ANY)) {
		int e = -errno;

		close(ret);
		return lb_fail(err, e, "cannot record the daemon: %s", strerror(-e));
	}
	*fd = ret;
	return 0;
}

void lb_daemon_clear(int fd)
{
	struct udplb_daemon v = {};
	__u32 zero = 0;

	if (fd < 0)
		return;
	bpf_map_update_elem(fd, &zero, &v, BPF_ANY);
	close(fd);
}

int lb_daemon_managing(const char *pin_dir, struct udplb_daemon *out, struct lb_err *err)
{
	__u32 zero = 0;
	int fd = open_checked(pin_dir, err), ret;

	if (fd == -ENOENT) {
		lb_err_clear(err);
		return 0;
	}
	if (fd < 0)
		return fd;
	ret = bpf_map_lookup_elem(fd, &zero, out) ? -errno : 0;
	close(fd);
	if (ret)
		return lb_fail(err, ret, "cannot read %s/%s: %s", pin_dir, UDPLB_DAEMON_PIN,
			       strerror(-ret));
	out->conf[sizeof(out->conf) - 1] = '\0';
	if (!out->pid || (kill(out->pid, 0) && errno == ESRCH))
		return 0;
	return proc_start_time(out->pid) == out->start_time;
}
