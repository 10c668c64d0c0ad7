// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Trusted directories and pins: walk a path one component at a time with O_NOFOLLOW from an fd
 * of the previous one, so what is checked is what is used, and a symbolic link anywhere is
 * refused rather than followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "trusted_path.h"

#define PATH_LEN 512

/* An ancestor (/sys, /sys/fs/bpf, /run): nobody but root or us may change what it holds. */
static int check_ancestor(const char *path, const struct stat *st, struct lb_err *err)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me)
		return lb_fail(err, -EPERM,
			       "%s is owned by uid %u, not by root: refusing to use it", path,
			       (unsigned int)st->st_uid);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
		return lb_fail(
			err, -EPERM,
			"%s is writable by other users (mode %04o) and not sticky: refusing to use it",
			path, (unsigned int)(st->st_mode & 07777));
	return 0;
}

/* A directory or pin of udplb's own: ours alone. */
static int check_own(const char *path, const struct stat *st, struct lb_err *err)
{
	if (st->st_uid != geteuid())
		return lb_fail(
			err, -EPERM,
			"%s is owned by uid %u, not by uid %u: another user created it; remove it and retry",
			path, (unsigned int)st->st_uid, (unsigned int)geteuid());
	if (st->st_mode & 077)
		return lb_fail(err, -EPERM,
			       "%s has mode %04o: group or others have access, expected owner only",
			       path, (unsigned int)(st->st_mode & 07777));
	return 0;
}

/* Open @name below @dirfd as a directory, never through a symbolic link. */
static int open_dir_at(int dirfd, const char *name, const char *path, struct lb_err *err)
{
	struct stat st;
	int fd, e;

	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	e = errno;
	if (e == ENOENT)
		return lb_fail(err, -ENOENT, "%s does not exist", path);
	if (!fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode))
		return lb_fail(err, -ELOOP, "%s is a symbolic link: refusing to follow it", path);
	if (e == ENOTDIR)
		return lb_fail(err, -ENOTDIR, "%s is not a directory", path);
	return lb_fail(err, -e, "cannot open %s: %s", path, strerror(e));
}

/* One step of the walk: @name below @dirfd; the new fd replaces @dirfd. */
static int step(int *dirfd, const char *name, const char *path, bool own, bool create,
		struct lb_err *err)
{
	struct stat st;
	int fd, ret;

	if (create && mkdirat(*dirfd, name, 0700) && errno != EEXIST)
		return lb_fail(err, -errno, "cannot create %s: %s", path, strerror(errno));
	fd = open_dir_at(*dirfd, name, path, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		ret = lb_fail(err, -errno, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	ret = own ? check_own(path, &st, err) : check_ancestor(path, &st, err);
	if (ret) {
		close(fd);
		return ret;
	}
	close(*dirfd);
	*dirfd = fd;
	return 0;
}

/* Walk the components of @rel (relative to the directory @dirfd stands for, named @path). */
static int walk(int *dirfd, char *path, const char *rel, bool own, bool create, struct lb_err *err)
{
	char buf[PATH_LEN], *save, *name;
	size_t len;
	int ret = 0;

	if (snprintf(buf, sizeof(buf), "%s", rel) >= (int)sizeof(buf))
		return lb_fail(err, -ENAMETOOLONG, "path too long: %s", rel);
	for (name = strtok_r(buf, "/", &save); name && !ret; name = strtok_r(NULL, "/", &save)) {
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return lb_fail(err, -EINVAL, "'%s' in %s: use a plain path", name, rel);
		len = strlen(path);
		if (snprintf(path + len, PATH_LEN - len, "%s%s", len > 1 ? "/" : "", name) >=
		    (int)(PATH_LEN - len))
			return lb_fail(err, -ENAMETOOLONG, "path too long: %s", rel);
		ret = step(dirfd, name, path, own, create, err);
	}
	return ret;
}

int lb_trusted_dir(const char *base, const char *rel, bool create, struct lb_err *err)
{
	char path[PATH_LEN] = "/";
	struct stat st;
	int dirfd, ret;

	if (base[0] != '/')
		return lb_fail(err, -EINVAL, "%s: not an absolute path", base);
	dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return lb_fail(err, -errno, "cannot open /: %s", strerror(errno));
	ret = fstat(dirfd, &st) ? -errno : check_ancestor("/", &st, err);
	if (!ret)
		ret = walk(&dirfd, path, base, false, false, err);
	if (!ret)
		ret = walk(&dirfd, path, rel, true, create, err);
	close(dirfd);
	return ret;
}

int lb_trusted_pin(const char *dir, const char *name, struct lb_err *err)
{
	char path[PATH_LEN];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return lb_fail(err, -ENOENT, "%s does not exist", path);
		return lb_fail(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return lb_fail(err, -ELOOP, "%s is a symbolic link: refusing to follow it", path);
	if (!S_ISREG(st.st_mode))
		return lb_fail(err, -EPERM, "%s is not a pinned object", path);
	return check_own(path, &st, err);
}
