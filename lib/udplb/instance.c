// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* An instance: its pins on bpffs, its configuration group, its read-modify-commit loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "internal.h"
#include "lb_instance.h"
#include "pin_check.h"

#define BPF_FS_MAGIC 0xcafe4a11

static const char *const pin_names[__LB_PIN_MAX] = {
	[LB_PIN_PTR] = "udplb_ptr",
	[LB_PIN_VIPS_A] = "vips_a",
	[LB_PIN_VIPS_B] = "vips_b",
	[LB_PIN_FILTER_A] = "vip_filter_a",
	[LB_PIN_FILTER_B] = "vip_filter_b",
	[LB_PIN_BACKENDS_A] = "backends_a",
	[LB_PIN_BACKENDS_B] = "backends_b",
	[LB_PIN_RING_A] = "ring_a",
	[LB_PIN_RING_B] = "ring_b",
	[LB_PIN_CONNTRACK] = "conntrack",
	[LB_PIN_CONFIG] = "config",
	[LB_PIN_VIP_STATS] = "vip_stats",
	[LB_PIN_BACKEND_STATS] = "backend_stats",
	[LB_PIN_REASONS] = "reasons",
	[LB_PIN_POOL] = "pool",
};

const char *lb_pin_name(enum lb_pin pin)
{
	return (unsigned int)pin < __LB_PIN_MAX ? pin_names[pin] : NULL;
}

static bool bpffs_mounted(void)
{
	struct statfs st;

	return !statfs(LB_BPFFS_ROOT, &st) && st.f_type == BPF_FS_MAGIC;
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

static int private_sys(struct lb_err *err)
{
	return lb_fail(
		err, -ENOENT,
		"bpffs is not mounted in this mount namespace: under 'ip netns exec' /sys is "
		"private and pins would vanish; use 'udplb -n NETNS ...' instead");
}

int lb_bpffs_check(struct lb_err *err)
{
	if (bpffs_mounted())
		return 0;
	if (private_mount_ns())
		return private_sys(err);
	return lb_fail(err, -ENOENT, "bpffs is not mounted at %s: udplb is not loaded",
		       LB_BPFFS_ROOT);
}

int lb_bpffs_mount(struct lb_err *err)
{
	if (bpffs_mounted())
		return 0;
	if (private_mount_ns())
		return private_sys(err);
	if (mount("bpf", LB_BPFFS_ROOT, "bpf", 0, "mode=0700"))
		return lb_fail(err, -errno, "cannot mount bpffs at %s: %s", LB_BPFFS_ROOT,
			       strerror(errno));
	return 0;
}

int lb_pin_dir_default(const char *dev, char *buf, size_t len, struct lb_err *err)
{
	struct stat st;
	int n;

	if (stat("/proc/self/ns/net", &st))
		return lb_fail(err, -errno, "cannot identify the network namespace: %s",
			       strerror(errno));
	n = snprintf(buf, len, "%s/ns%lu/%s", LB_PIN_ROOT, (unsigned long)st.st_ino, dev);
	if (n < 0 || (size_t)n >= len)
		return lb_fail(err, -ENAMETOOLONG, "pin directory of '%s' too long", dev);
	return 0;
}

int lb_pin_dir_create(const char *path, struct lb_err *err)
{
	return lb_pin_dir_trusted(path, true, err);
}

static int remove_pins(const char *dir)
{
	char path[LB_PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && !ret)
			ret = -errno;
	}
	closedir(d);
	return ret;
}

int lb_pin_dir_remove(const char *dir, struct lb_err *err)
{
	char path[LB_PATH_MAX], *slash;
	int ret = lb_pin_dir_trusted(dir, false, err);

	if (ret)
		return ret;
	ret = remove_pins(dir);

	if (!ret && rmdir(dir))
		ret = -errno;
	if (ret)
		return lb_fail(err, ret, "cannot remove the pins in %s: %s", dir, strerror(-ret));
	/* The per-namespace directory goes with its last device, the root with the last one. */
	snprintf(path, sizeof(path), "%s", dir);
	while ((slash = strrchr(path, '/')) && slash != path) {
		*slash = '\0';
		if (strncmp(path, LB_PIN_ROOT, strlen(LB_PIN_ROOT)) || rmdir(path))
			break;
	}
	return 0;
}

static int open_pins(struct lb_instance *inst, struct lb_err *err)
{
	struct lb_map_want wants[__LB_PIN_MAX];
	int i, ret;

	ret = lb_pin_dir_trusted(inst->pin_dir, false, err);
	if (ret == -ENOENT)
		return lb_fail(
			err, -ENOENT,
			"udplb is not loaded on %s (no pin directory %s): run 'udplb load %s' "
			"first",
			inst->dev, inst->pin_dir, inst->dev);
	if (!ret)
		ret = lb_pin_wants(wants, err);
	for (i = 0; i < __LB_PIN_MAX && !ret; i++) {
		inst->fd[i] = lb_pin_open_checked(inst->pin_dir, i, &wants[i], err);
		if (inst->fd[i] == -ENOENT)
			return lb_fail(
				err, -ENOENT,
				"udplb is not loaded on %s (no pinned map %s/%s): run 'udplb "
				"load %s' first",
				inst->dev, inst->pin_dir, pin_names[i], inst->dev);
		if (inst->fd[i] < 0)
			ret = inst->fd[i];
	}
	return ret;
}

static int open_group(struct lb_instance *inst, const struct abmap_group_opts *gopts,
		      struct lb_err *err)
{
	struct lb_map_fds fds;
	int i, ret;

	fds.ptr = inst->fd[LB_PIN_PTR];
	for (i = 0; i < 2; i++) {
		fds.vips[i] = inst->fd[LB_PIN_VIPS_A + i];
		fds.vip_filter[i] = inst->fd[LB_PIN_FILTER_A + i];
		fds.backends[i] = inst->fd[LB_PIN_BACKENDS_A + i];
		fds.ring[i] = inst->fd[LB_PIN_RING_A + i];
	}
	ret = lb_maps_open(&inst->maps, &fds, gopts);
	if (ret)
		return lb_fail(err, ret, "cannot open the configuration of %s: %s", inst->dev,
			       strerror(-ret));
	return 0;
}

int lb_instance_open(struct lb_instance *inst, const char *dev, const char *pin_dir,
		     const struct abmap_group_opts *gopts, struct lb_err *err)
{
	int i, ret;

	lb_err_clear(err);
	memset(inst, 0, sizeof(*inst));
	for (i = 0; i < __LB_PIN_MAX; i++)
		inst->fd[i] = -1;
	if (!dev || strlen(dev) >= sizeof(inst->dev))
		return lb_fail(err, -ENODEV, "device '%s' not found", dev ? dev : "");
	strcpy(inst->dev, dev);
	inst->ifindex = if_nametoindex(dev);
	if (!inst->ifindex)
		return lb_fail(err, -ENODEV, "device '%s' not found", dev);
	ret = lb_bpffs_check(err);
	if (!ret && pin_dir &&
	    snprintf(inst->pin_dir, sizeof(inst->pin_dir), "%s", pin_dir) >=
		    (int)sizeof(inst->pin_dir))
		ret = lb_fail(err, -ENAMETOOLONG, "%s: path too long", pin_dir);
	if (!ret && !pin_dir)
		ret = lb_pin_dir_default(dev, inst->pin_dir, sizeof(inst->pin_dir), err);
	if (!ret)
		ret = open_pins(inst, err);
	if (!ret)
		ret = open_group(inst, gopts, err);
	if (ret)
		lb_instance_close(inst);
	return ret;
}

void lb_instance_close(struct lb_instance *inst)
{
	int i;

	if (inst->maps.group)
		lb_maps_close(&inst->maps);
	for (i = 0; i < __LB_PIN_MAX; i++) {
		if (inst->fd[i] >= 0)
			close(inst->fd[i]);
		inst->fd[i] = -1;
	}
}

int lb_instance_read_config(const struct lb_instance *inst, struct udplb_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(inst->fd[LB_PIN_CONFIG], &zero, cfg) ? -errno : 0;
}

int lb_instance_write_config(const struct lb_instance *inst, const struct udplb_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_update_elem(inst->fd[LB_PIN_CONFIG], &zero, cfg, BPF_ANY) ? -errno : 0;
}

int lb_instance_commit(struct lb_instance *inst, const struct lb_state *desired, bool sync,
		       const __u64 *expect_generation, struct lb_err *err)
{
	struct lb_commit_opts opts = {};
	int ret;

	if (expect_generation) {
		opts.check_generation = true;
		opts.expect_generation = *expect_generation;
	}
	ret = lb_commit(&inst->maps, desired, &opts);
	if (err)
		*err = opts.err;
	if (ret < 0 && err && !err->msg[0])
		lb_fail(err, ret, "commit failed: %s", strerror(-ret));
	if (ret || !sync)
		return ret;
	/* Removed or drained backends: return once no packet can still be steered to them. */
	ret = abmap_group_sync(inst->maps.group);
	if (ret)
		return lb_fail(err, ret, "committed, but waiting for the grace period failed: %s",
			       strerror(-ret));
	return 0;
}

int lb_instance_change(struct lb_instance *inst, lb_change_fn change, void *arg, bool sync,
		       struct lb_err *err)
{
	struct lb_state state;
	int ret = -EAGAIN, tries;
	__u64 gen;

	for (tries = 0; ret == -EAGAIN && tries < LB_CHANGE_TRIES; tries++) {
		ret = lb_read_at(&inst->maps, &state, &gen, err);
		if (ret)
			return ret;
		ret = change(&state, arg, err);
		if (!ret)
			ret = lb_instance_commit(inst, &state, sync, &gen, err);
		lb_state_free(&state);
	}
	return ret;
}
