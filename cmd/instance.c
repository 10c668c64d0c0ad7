// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An instance is udplb on one device of one network namespace. Its maps are pinned in
 * /sys/fs/bpf/udplb/ns<inode of the netns>/<DEV>/ (or --pin-dir), so every later invocation,
 * from any process, finds the same configuration, conntrack and counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "abmap/testing.h"
#include "cli.h"
#include "instance.h"

#define BPF_FS_MAGIC 0xcafe4a11
#define BPF_FS_ROOT "/sys/fs/bpf"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1U << (cap % 32));
}

int cli_check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data) ||
	    !(has_cap(data, CAP_BPF) || has_cap(data, CAP_SYS_ADMIN)) ||
	    !has_cap(data, CAP_NET_ADMIN) || !has_cap(data, CAP_SYS_ADMIN)) {
		cli_err("needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)");
		return -EPERM;
	}
	return 0;
}

int cli_enter_netns(struct cli_ctx *ctx)
{
	char path[256];
	int fd, err;

	if (!ctx->netns)
		return 0;
	if (strchr(ctx->netns, '/'))
		snprintf(path, sizeof(path), "%s", ctx->netns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", ctx->netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_err("network namespace '%s': %s", ctx->netns, strerror(errno));
		return -errno;
	}
	err = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	if (err)
		cli_err("cannot enter network namespace '%s': %s", ctx->netns, strerror(-err));
	return err;
}

int cli_ifindex(const char *dev, int *ifindex)
{
	*ifindex = if_nametoindex(dev);
	if (!*ifindex) {
		cli_err("device '%s' not found%s", dev, errno == ENODEV ? "" : "");
		return -ENODEV;
	}
	return 0;
}

static bool bpffs_mounted(void)
{
	struct statfs st;

	return !statfs(BPF_FS_ROOT, &st) && st.f_type == BPF_FS_MAGIC;
}

static bool other_mount_ns(const struct stat *self, const char *proc_path)
{
	struct stat st;

	return !stat(proc_path, &st) && st.st_ino != self->st_ino;
}

/*
 * `ip netns exec` unshares the mount namespace and mounts a fresh /sys: bpffs mounted there would
 * vanish with this process. Compare with init's and with the parent's (ip execs us, so our
 * parent is the shell that ran ip); either may be unreadable in a sandbox.
 */
static bool private_mount_ns(void)
{
	char parent[64];
	struct stat self;

	if (stat("/proc/self/ns/mnt", &self))
		return false;
	snprintf(parent, sizeof(parent), "/proc/%d/ns/mnt", (int)getppid());
	return other_mount_ns(&self, "/proc/1/ns/mnt") || other_mount_ns(&self, parent);
}

static const char private_sys_hint[] =
	"bpffs is not mounted in this mount namespace: under 'ip netns exec' /sys is private and pins would vanish; use 'udplb -n NETNS ...' instead";

/* Commands other than load: pins can only be where bpffs is. */
int cli_check_bpffs(void)
{
	if (bpffs_mounted())
		return 0;
	if (private_mount_ns())
		cli_err("%s", private_sys_hint);
	else
		cli_err("bpffs is not mounted at %s: udplb is not loaded", BPF_FS_ROOT);
	return -ENOENT;
}

int cli_ensure_bpffs(void)
{
	if (bpffs_mounted())
		return 0;
	if (private_mount_ns()) {
		cli_err("%s", private_sys_hint);
		return -ENOENT;
	}
	if (mount("bpf", BPF_FS_ROOT, "bpf", 0, "mode=0700")) {
		cli_err("cannot mount bpffs at %s: %s", BPF_FS_ROOT, strerror(errno));
		return -errno;
	}
	return 0;
}

int cli_pin_dir(struct cli_ctx *ctx, const char *dev)
{
	struct stat st;

	if (ctx->pin_dir)
		return 0;
	if (stat("/proc/self/ns/net", &st)) {
		cli_err("cannot identify the network namespace: %s", strerror(errno));
		return -errno;
	}
	snprintf(ctx->pin_buf, sizeof(ctx->pin_buf), "%s/ns%lu/%s", UDPLB_PIN_ROOT,
		 (unsigned long)st.st_ino, dev);
	ctx->pin_dir = ctx->pin_buf;
	return 0;
}

/* mkdir -p with owner-only permissions. */
int cli_mkdir_p(const char *path)
{
	char buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_pin(const char *dir, const char *name)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

static const char *const map_names[__INST_MAP_MAX] = {
	[INST_PTR] = "udplb_ptr",
	[INST_VIPS_A] = "vips_a",
	[INST_VIPS_B] = "vips_b",
	[INST_FILTER_A] = "vip_filter_a",
	[INST_FILTER_B] = "vip_filter_b",
	[INST_BACKENDS_A] = "backends_a",
	[INST_BACKENDS_B] = "backends_b",
	[INST_RING_A] = "ring_a",
	[INST_RING_B] = "ring_b",
	[INST_CONNTRACK] = "conntrack",
	[INST_CONFIG] = "config",
	[INST_VIP_STATS] = "vip_stats",
	[INST_BACKEND_STATS] = "backend_stats",
	[INST_REASONS] = "reasons",
	[INST_POOL] = "pool",
};

const char *inst_map_name(enum inst_map map)
{
	return map_names[map];
}

/* Abmap log lines become the CLI's one error line. */
static int abmap_print(enum abmap_print_level level, const char *fmt, va_list args)
{
	if (level != ABMAP_WARN)
		return 0;
	fputs("udplb: ", stderr);
	return vfprintf(stderr, fmt, args);
}

/* Tests: UDPLB_TEST_PAUSE_BEFORE_FLIP=SECONDS stops a writer with its passive side written. */
static int pause_before_flip(void *ctx)
{
	unsigned int seconds = atoi(ctx);

	fprintf(stderr, "udplb: pausing %u s before the flip (UDPLB_TEST_PAUSE_BEFORE_FLIP)\n",
		seconds);
	while (seconds)
		seconds = sleep(seconds);
	return 0;
}

int inst_open(struct cli_ctx *ctx, const struct cli_args *args, struct instance *inst)
{
	LIBABMAP_OPTS(abmap_group_opts, gopts, .lock_timeout_ms = INST_LOCK_TIMEOUT_MS);
	const char *dev = args->pos[0];
	struct lb_map_fds fds;
	int i, err;

	ctx->pin_dir = cli_opt(args, "pin-dir");
	memset(inst, 0, sizeof(*inst));
	for (i = 0; i < __INST_MAP_MAX; i++)
		inst->fd[i] = -1;
	inst->dev = dev;
	err = cli_check_privileges();
	if (!err)
		err = cli_enter_netns(ctx);
	if (!err)
		err = cli_check_bpffs();
	if (!err)
		err = cli_ifindex(dev, &inst->ifindex);
	if (!err)
		err = cli_pin_dir(ctx, dev);
	if (err)
		return err;
	for (i = 0; i < __INST_MAP_MAX; i++) {
		inst->fd[i] = open_pin(ctx->pin_dir, map_names[i]);
		if (inst->fd[i] < 0) {
			err = inst->fd[i];
			if (err == -ENOENT)
				cli_err("udplb is not loaded on %s (no pinned map %s/%s): run 'udplb load %s' first",
					dev, ctx->pin_dir, map_names[i], dev);
			else
				cli_err("cannot open %s/%s: %s", ctx->pin_dir, map_names[i],
					strerror(-err));
			inst_close(inst);
			return err;
		}
	}
	abmap_set_print(abmap_print);
	fds.ptr = inst->fd[INST_PTR];
	for (i = 0; i < 2; i++) {
		fds.vips[i] = inst->fd[INST_VIPS_A + i];
		fds.vip_filter[i] = inst->fd[INST_FILTER_A + i];
		fds.backends[i] = inst->fd[INST_BACKENDS_A + i];
		fds.ring[i] = inst->fd[INST_RING_A + i];
	}
	err = lb_maps_open(&inst->maps, &fds, &gopts);
	if (err) {
		cli_err("cannot open the configuration of %s: %s", dev, strerror(-err));
		inst_close(inst);
		return err;
	}
	if (getenv("UDPLB_TEST_PAUSE_BEFORE_FLIP"))
		abmap_testing_set_before_flip(inst->maps.group, pause_before_flip,
					      getenv("UDPLB_TEST_PAUSE_BEFORE_FLIP"));
	return 0;
}

void inst_close(struct instance *inst)
{
	int i;

	if (inst->maps.group)
		lb_maps_close(&inst->maps);
	for (i = 0; i < __INST_MAP_MAX; i++) {
		if (inst->fd[i] >= 0)
			close(inst->fd[i]);
		inst->fd[i] = -1;
	}
}

int inst_read_config(const struct instance *inst, struct udplb_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(inst->fd[INST_CONFIG], &zero, cfg) ? -errno : 0;
}

const char *mode_name(enum udplb_mode mode)
{
	switch (mode) {
	case UDPLB_MODE_XDP:
		return "xdp";
	case UDPLB_MODE_XDP_GENERIC:
		return "xdp-generic";
	case UDPLB_MODE_TC:
		return "tc";
	default:
		return "none";
	}
}

static void print_err(int ret, const struct lb_err *err)
{
	if (err->msg[0])
		cli_err("%s", err->msg);
	else
		cli_err("%s", strerror(-ret));
}

/* The live configuration and the generation it belongs to. */
static int read_at(struct instance *inst, struct lb_state *state, __u64 *gen, struct lb_err *err)
{
	__u64 after;
	int ret, tries;

	for (tries = 0; tries < 8; tries++) {
		ret = abmap_group_generation(inst->maps.group, gen);
		if (!ret)
			ret = lb_read(&inst->maps, state, err);
		if (!ret)
			ret = abmap_group_generation(inst->maps.group, &after);
		if (ret || after == *gen)
			return ret;
		lb_state_free(state);
	}
	snprintf(err->msg, sizeof(err->msg), "the configuration keeps changing while read");
	return -EAGAIN;
}

int inst_read(struct instance *inst, struct lb_state *state)
{
	struct lb_err err = {};
	__u64 gen;
	int ret;

	ret = read_at(inst, state, &gen, &err);
	if (ret)
		print_err(ret, &err);
	return ret;
}

static int commit(struct instance *inst, const struct lb_state *desired, bool sync,
		  const __u64 *expect, bool quiet_again)
{
	struct lb_commit_opts opts = {};
	int ret;

	if (expect) {
		opts.check_generation = true;
		opts.expect_generation = *expect;
	}
	ret = lb_commit(&inst->maps, desired, &opts);
	if (ret < 0) {
		if (!(quiet_again && ret == -EAGAIN))
			print_err(ret, &opts.err);
		return ret;
	}
	/* Removed or drained backends: return once no packet can still be steered to them. */
	if (sync && ret != LB_COMMIT_UNCHANGED) {
		ret = abmap_group_sync(inst->maps.group);
		if (ret)
			cli_err("committed, but waiting for the grace period failed: %s",
				strerror(-ret));
	}
	return ret < 0 ? ret : 0;
}

int inst_commit(struct instance *inst, const struct lb_state *desired, bool sync)
{
	return commit(inst, desired, sync, NULL, false);
}

#define CHANGE_TRIES 5

/*
 * Read, let @change edit the configuration, commit: one flip, or nothing on any error. The
 * commit only goes through if nobody committed since the read; otherwise start over, so two
 * concurrent commands never lose each other's change.
 */
int inst_change(struct cli_ctx *ctx, const struct cli_args *args, inst_change_fn change, void *arg,
		bool sync)
{
	struct lb_err err = {};
	struct lb_state state;
	struct instance inst;
	int ret, tries;
	__u64 gen;

	if (inst_open(ctx, args, &inst))
		return EXIT_RUNTIME;
	for (tries = 1; tries <= CHANGE_TRIES; tries++) {
		ret = read_at(&inst, &state, &gen, &err);
		if (ret) {
			print_err(ret, &err);
			break;
		}
		ret = change(&inst, &state, arg, &err);
		if (ret)
			print_err(ret, &err);
		else
			ret = commit(&inst, &state, sync, &gen, tries < CHANGE_TRIES);
		lb_state_free(&state);
		if (ret != -EAGAIN)
			break;
	}
	inst_close(&inst);
	return ret ? EXIT_RUNTIME : EXIT_OK;
}
