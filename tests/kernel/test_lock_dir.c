// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The writer lock's directory and file (issue 9, defect 1): another user's directory, a lax
 * mode or a symbolic link must make the write fail with -EPERM/-ELOOP, never be used: whoever
 * controls the lock file can let two writers believe they hold the lock.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktest.h"

#define NOBODY 65534

static char dir[256];

static void remove_lock_dir(void *arg)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	(void)arg;
	if (lstat(dir, &st))
		return;
	if (S_ISLNK(st.st_mode)) {
		unlink(dir);
		return;
	}
	d = opendir(dir);
	while (d && (de = readdir(d)))
		unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* A group on a fresh pointer map whose lock directory is @dir; its first write takes the lock. */
static int first_write(void)
{
	LIBABMAP_OPTS(abmap_group_opts, opts, .lock_dir = dir);
	struct abmap_group *group;
	struct abmap_txn *txn;
	int err;

	group = ktest_track_group(abmap_group_new(ktest_pointer_map(), &opts));
	assert_non_null(group);
	txn = abmap_txn_begin(group);
	err = txn ? 0 : -errno;
	abmap_txn_abort(txn);
	ktest_group_free(group);
	return err;
}

static void setup_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/udplb-hardening-lock-%d", (int)getpid());
	ktest_defer(remove_lock_dir, NULL);
}

static void test_own_dir_works(void **state)
{
	struct stat st;

	(void)state;
	ktest_begin();
	setup_dir();
	assert_int_equal(first_write(), 0);
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_foreign_dir_refused(void **state)
{
	(void)state;
	ktest_begin();
	setup_dir();
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chown(dir, NOBODY, NOBODY), 0);
	assert_int_equal(first_write(), -EPERM);
}

static void test_lax_dir_refused(void **state)
{
	(void)state;
	ktest_begin();
	setup_dir();
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(first_write(), -EPERM);
}

static void test_symlink_dir_refused(void **state)
{
	(void)state;
	ktest_begin();
	setup_dir();
	assert_int_equal(symlink("/tmp", dir), 0);
	assert_int_equal(first_write(), -ELOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_own_dir_works),
		KTEST(test_foreign_dir_refused),
		KTEST(test_lax_dir_refused),
		KTEST(test_symlink_dir_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
