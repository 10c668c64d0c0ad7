// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hostile pins (issue 9, defects 1 and 2): an unprivileged user prepares directories, links and
 * pins on a bpffs mounted 1777, as it is on this machine, before root uses them; a foreign map is
 * pinned where udplb expects its own. Each attack must be refused with a message naming the path
 * or the map, and nothing may be created below a refused directory.
 *
 * Every test works on a private bpffs instance mounted on a fresh directory of its own, so the
 * machine's /sys/fs/bpf is never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"
#include "map_check.h"
#include "trusted_path.h"

#define NOBODY 65534

static char mnt[128];

static void unmount_private_bpffs(void *arg)
{
	(void)arg;
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* A private bpffs like the machine's: mode 1777, owned by root. */
static void mount_private_bpffs(void)
{
	snprintf(mnt, sizeof(mnt), "/tmp/udplb-hardening-%d-XXXXXX", (int)getpid());
	assert_non_null(mkdtemp(mnt));
	assert_int_equal(chmod(mnt, 0755), 0);
	if (mount("bpf", mnt, "bpf", 0, "mode=1777")) {
		rmdir(mnt);
		fail_msg("mount bpffs on %s: %s", mnt, strerror(errno));
	}
	ktest_defer(unmount_private_bpffs, NULL);
}

/* Run @fn(@arg) in a child process as user nobody; assert it succeeded. */
static void as_nobody(int (*fn)(const char *), const char *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
			_exit(100);
		_exit(fn(arg) ? 101 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int mkdir_0755(const char *path)
{
	return mkdir(path, 0755);
}

static char *at(const char *rel)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", mnt, rel);
	return buf[i];
}

static void assert_refused(int ret, int code, const struct lb_err *err, const char *path,
			   const char *what)
{
	assert_int_equal(ret, code);
	if (!strstr(err->msg, path) || !strstr(err->msg, what))
		fail_msg("message '%s' does not name '%s' and '%s'", err->msg, path, what);
}

static void assert_owner_only_dir(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mode & 07777, 0700);
}

/* Positive control: a fresh tree is made 0700, and found trusted the second time. */
static void test_fresh_tree_created_owner_only(void **state)
{
	struct lb_err err = {};

	(void)state;
	ktest_begin();
	mount_private_bpffs();
	assert_int_equal(lb_trusted_dir(mnt, "udplb/ns1/eth0", true, &err), 0);
	assert_owner_only_dir(at("udplb"));
	assert_owner_only_dir(at("udplb/ns1"));
	assert_owner_only_dir(at("udplb/ns1/eth0"));
	assert_int_equal(lb_trusted_dir(mnt, "udplb/ns1/eth0", false, &err), 0);
	assert_int_equal(lb_trusted_dir(mnt, "udplb/ns1/eth1", false, &err), -ENOENT);
}

/* An unprivileged user creates udplb/ before root: refused, nothing made inside it. */
static void test_foreign_top_dir_refused(void **state)
{
	struct lb_err err = {};
	struct stat st;

	(void)state;
	ktest_begin();
	mount_private_bpffs();
	as_nobody(mkdir_0755, at("udplb"));
	assert_refused(lb_trusted_dir(mnt, "udplb/ns1/eth0", true, &err), -EPERM, &err, at("udplb"),
		       "uid 65534");
	assert_int_equal(stat(at("udplb/ns1"), &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* A DEV directory below a root-owned tree, owned by another user (made while parents were lax). */
static void test_foreign_dev_dir_refused(void **state)
{
	struct lb_err err = {};

	(void)state;
	ktest_begin();
	mount_private_bpffs();
	assert_int_equal(lb_trusted_dir(mnt, "udplb/ns1", true, &err), 0);
	assert_int_equal(mkdir(at("udplb/ns1/eth0"), 0700), 0);
	assert_int_equal(chown(at("udplb/ns1/eth0"), NOBODY, NOBODY), 0);
	assert_refused(lb_trusted_dir(mnt, "udplb/ns1/eth0", true, &err), -EPERM, &err,
		       at("udplb/ns1/eth0"), "uid 65534");
}

/* Root-owned but readable or writable by others: refused, the mode is named. */
static void test_lax_mode_refused(void **state)
{
	struct lb_err err = {};

	(void)state;
	ktest_begin();
	mount_private_bpffs();
	assert_int_equal(lb_trusted_dir(mnt, "udplb/ns1", true, &err), 0);
	assert_int_equal(chmod(at("udplb/ns1"), 0755), 0);
	assert_refused(lb_trusted_dir(mnt, "udplb/ns1/eth0", true, &err), -EPERM, &err,
		       at("udplb/ns1"), "0755");
}

static int symlink_to_tmp(const char *path)
{
	return symlink("/tmp", path);
}

/* A symbolic link in place of udplb/ is never followed. */
static void test_symlink_refused(void **state)
{
	struct lb_err err = {};

	(void)state;
	ktest_begin();
	mount_private_bpffs();
	as_nobody(symlink_to_tmp, at("udplb"));
	assert_refused(lb_trusted_dir(mnt, "udplb/ns1", true, &err), -ELOOP, &err, at("udplb"),
		       "symbolic link");
}

/* The base itself (a --pin-dir's parent) writable by everybody without the sticky bit. */
static void test_untrusted_base_refused(void **state)
{
	struct lb_err err = {};

	(void)state;
	ktest_begin();
	mount_private_bpffs();
	assert_int_equal(mkdir(at("open"), 0777), 0);
	assert_int_equal(chmod(at("open"), 0777), 0);
	assert_refused(lb_trusted_dir(at("open"), "pins", true, &err), -EPERM, &err, at("open"),
		       "writable by other users");
	assert_int_equal(chmod(at("open"), 01777), 0);
	assert_int_equal(lb_trusted_dir(at("open"), "pins", true, &err), 0);
}

/* Pins: ours and 0600 pass; another mode, another owner or a link are refused. */
static void test_pins(void **state)
{
	struct lb_err err = {};
	char dir[256];
	int fd;

	(void)state;
	ktest_begin();
	mount_private_bpffs();
	snprintf(dir, sizeof(dir), "%s", at("udplb/ns1/eth0"));
	assert_int_equal(lb_trusted_dir(mnt, "udplb/ns1/eth0", true, &err), 0);
	fd = ktest_array_map("hardening_pin", 8, 4, false);
	assert_int_equal(bpf_obj_pin(fd, at("udplb/ns1/eth0/pool")), 0);
	assert_int_equal(lb_trusted_pin(dir, "pool", &err), 0);
	assert_int_equal(lb_trusted_pin(dir, "missing", &err), -ENOENT);

	assert_int_equal(chmod(at("udplb/ns1/eth0/pool"), 0644), 0);
	assert_refused(lb_trusted_pin(dir, "pool", &err), -EPERM, &err, "pool", "0644");
	assert_int_equal(chmod(at("udplb/ns1/eth0/pool"), 0600), 0);
	assert_int_equal(chown(at("udplb/ns1/eth0/pool"), NOBODY, NOBODY), 0);
	assert_refused(lb_trusted_pin(dir, "pool", &err), -EPERM, &err, "pool", "uid 65534");

	assert_int_equal(symlink(at("udplb/ns1/eth0/pool"), at("udplb/ns1/eth0/config")), 0);
	assert_refused(lb_trusted_pin(dir, "config", &err), -ELOOP, &err, "config",
		       "symbolic link");
}

/* A foreign map in place of udplb's: every property that differs is named. */
static void test_map_check(void **state)
{
	struct lb_map_want want = {
		.name = "pool",
		.type = BPF_MAP_TYPE_ARRAY,
		.key_size = 4,
		.value_size = 8,
		.max_entries = 16,
	};
	struct lb_err err = {};

	(void)state;
	ktest_begin();
	assert_int_equal(lb_map_check(ktest_array_map("hardening_ok", 8, 16, false), &want, &err),
			 0);
	assert_refused(lb_map_check(ktest_array_map("hardening_big", 256, 16, false), &want, &err),
		       -EINVAL, &err, "pool", "value size is 256, expected 8");
	assert_refused(lb_map_check(ktest_hash_map("hardening_hash", 4, 8, 16), &want, &err),
		       -EINVAL, &err, "pool", "map type");
	assert_refused(lb_map_check(ktest_array_map("hardening_few", 8, 4, false), &want, &err),
		       -EINVAL, &err, "pool", "max_entries is 4, expected 16");
	assert_refused(lb_map_check(ktest_array_map("hardening_mmap", 8, 16, true), &want, &err),
		       -EINVAL, &err, "pool", "map flags");
	assert_int_not_equal(lb_map_check(ktest_track_fd(open("/dev/null", O_RDONLY)), &want, &err),
			     0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_fresh_tree_created_owner_only),
		KTEST(test_foreign_top_dir_refused),
		KTEST(test_foreign_dev_dir_refused),
		KTEST(test_lax_mode_refused),
		KTEST(test_symlink_refused),
		KTEST(test_untrusted_base_refused),
		KTEST(test_pins),
		KTEST(test_map_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
