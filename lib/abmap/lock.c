// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The writer lock of the kernel store: flock() on "<lock_dir>/<pointer map id>.lock". The
 * directory and the file must be the writer's own, or another user could let two writers in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fault_inject.h"
#include "internal.h"

static int lock_path(struct abmap_group *g, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%u.lock", g->lock_dir, g->ptr_id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * The lock directory and file decide who may write: if another user could replace them (a lock
 * dir it created first, a symbolic link), it could make two writers think they hold the lock.
 * Both must be ours alone, and no link is followed.
 */
static int check_lock_owner(const char *path, int fd, bool dir)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if ((dir && !S_ISDIR(st.st_mode)) || (!dir && !S_ISREG(st.st_mode))) {
		pr_warn("lock %s %s is not a %s\n", dir ? "directory" : "file", path,
			dir ? "directory" : "regular file");
		return -EPERM;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		pr_warn("lock %s %s is owned by uid %u with mode %04o: expected uid %u, mode 0700 (directory) or 0600 (file), refusing it\n",
			dir ? "directory" : "file", path, (unsigned int)st.st_uid,
			(unsigned int)(st.st_mode & 07777), (unsigned int)geteuid());
		return -EPERM;
	}
	return 0;
}

static int open_lock_dir(struct abmap_group *g)
{
	int fd, err;

	err = FAULT(FAULT_LOCK_OPEN);
	if (err) {
		pr_warn("cannot open lock directory %s: %s\n", g->lock_dir, strerror(-err));
		return err;
	}
	if (mkdir(g->lock_dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_warn("cannot create lock directory %s: %s\n", g->lock_dir, strerror(errno));
		return err;
	}
	fd = open(g->lock_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		struct stat st;

		err = -errno;
		if (!lstat(g->lock_dir, &st) && S_ISLNK(st.st_mode)) {
			pr_warn("lock directory %s is a symbolic link: refusing to follow it\n",
				g->lock_dir);
			return -ELOOP;
		}
		pr_warn("cannot open lock directory %s: %s\n", g->lock_dir, strerror(-err));
		return err;
	}
	err = check_lock_owner(g->lock_dir, fd, true);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int open_lock_file(struct abmap_group *g, const char *path)
{
	int dirfd, fd, err;
	char name[32];

	dirfd = open_lock_dir(g);
	if (dirfd < 0)
		return dirfd;
	snprintf(name, sizeof(name), "%u.lock", g->ptr_id);
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	err = fd < 0 ? -errno : check_lock_owner(path, fd, false);
	close(dirfd);
	if (fd < 0) {
		pr_warn("cannot open lock file %s: %s\n", path, strerror(-err));
		return err;
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int try_flock(int fd)
{
	int err = FAULT(FAULT_FLOCK);

	if (err)
		return err;
	return flock(fd, LOCK_EX | LOCK_NB) ? -errno : 0;
}

int kernel_lock(struct abmap_group *g)
{
	int waited = 0, fd, err;
	char path[4096];

	if (fault_inject_lock_skipped())
		return 0;
	err = lock_path(g, path, sizeof(path));
	if (err)
		return err;
	fd = g->lock_fd >= 0 ? g->lock_fd : open_lock_file(g, path);
	if (fd < 0)
		return fd;
	/* Kept open for the group's next sessions: a commit then costs no open()/close(). */
	g->lock_fd = fd;
	while ((err = try_flock(fd))) {
		if (err == -EINTR)
			continue;
		if (err != -EWOULDBLOCK) {
			pr_warn("cannot lock %s: %s\n", path, strerror(-err));
			return err;
		}
		if (g->lock_timeout_ms >= 0 && waited >= g->lock_timeout_ms) {
			pr_warn("another writer holds %s\n", path);
			return -EBUSY;
		}
		sleep_ms(1);
		waited++;
	}
	return 0;
}

void kernel_unlock(struct abmap_group *g)
{
	if (g->lock_fd >= 0)
		flock(g->lock_fd, LOCK_UN);
}
