// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Shared helpers of the kernel tests: see ktest.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "ktest.h"

#define BPFFS "/sys/fs/bpf"
#define BPFFS_MAGIC 0xcafe4a11
#define PIN_PREFIX "abmap_kt_"
#define LOCK_PREFIX "abmap-ktest-"
#define MAX_CLEANUPS 512

struct cleanup {
	ktest_cleanup_fn fn;
	void *arg;
};

static struct cleanup cleanups[MAX_CLEANUPS];
static int nr_cleanups;
static char cur_test[128];
static char lock_dir[PATH_MAX];
static char pin_dir[PATH_MAX];
static int can_bpf = -1;
static int probe_errno;

static unsigned int log_lines;
static char log_last[512];
static abmap_print_fn_t log_prev;
static bool log_captured;

/* ------------------------------------------------------------------------------------------- */

void ktest_defer(ktest_cleanup_fn fn, void *arg)
{
	if (nr_cleanups >= MAX_CLEANUPS)
		fail_msg("ktest: too many cleanups");
	cleanups[nr_cleanups].fn = fn;
	cleanups[nr_cleanups].arg = arg;
	nr_cleanups++;
}

void ktest_release(ktest_cleanup_fn fn, void *arg)
{
	int i;

	for (i = nr_cleanups - 1; i >= 0; i--) {
		if (cleanups[i].fn == fn && cleanups[i].arg == arg) {
			memmove(&cleanups[i], &cleanups[i + 1],
				(nr_cleanups - i - 1) * sizeof(cleanups[0]));
			nr_cleanups--;
			fn(arg);
			return;
		}
	}
	fail_msg("ktest: releasing a resource that is not tracked");
}

static void run_cleanups(void)
{
	while (nr_cleanups > 0) {
		struct cleanup c = cleanups[--nr_cleanups];

		c.fn(c.arg);
	}
}

int ktest_teardown(void **state)
{
	(void)state;
	run_cleanups();
	cur_test[0] = '\0';
	return 0;
}

static pid_t owner_pid;

static void unpin(void *arg);

/*
 * Killed by a timeout or ^C: unpin (unlink is async-signal-safe; the pin paths already exist),
 * then die of the same signal. Maps, lock files and the rest go with the process.
 */
static void fatal_signal(int sig)
{
	int i;

	if (getpid() == owner_pid) {
		for (i = nr_cleanups - 1; i >= 0; i--)
			if (cleanups[i].fn == unpin)
				unlink(cleanups[i].arg);
		if (pin_dir[0])
			rmdir(pin_dir);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void exit_cleanup(void)
{
	/* A test that exits without its teardown still unpins; a forked child never does. */
	if (getpid() != owner_pid)
		return;
	run_cleanups();
}

/* ------------------------------------------------------------------------------------------- */

static bool probe_bpf(void)
{
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "kt_probe", 4, 4, 1, NULL);
	if (fd < 0) {
		probe_errno = errno;
		return false;
	}
	close(fd);
	return true;
}

static void ensure_bpffs(void)
{
	struct statfs st;

	if (statfs(BPFFS, &st) == 0 && st.f_type == BPFFS_MAGIC)
		return;
	if (mount("bpf", BPFFS, "bpf", 0, NULL))
		fail_msg("%s: bpffs is not mounted on " BPFFS " and mount failed: %s", cur_test,
			 strerror(errno));
}

static void rm_dir_contents(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static void rm_dir(void *arg)
{
	const char *dir = arg;

	rm_dir_contents(dir);
	if (rmdir(dir) && errno != ENOENT)
		fprintf(stderr, "ktest: cannot remove %s: %s\n", dir, strerror(errno));
}

/* Remove directories "@parent/@prefix<pid>[_-]..." left by killed runs (their pid is gone). */
static void reap_stale(const char *parent, const char *prefix)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	d = opendir(parent);
	if (!d)
		return;
	while ((de = readdir(d))) {
		long pid;
		char *end;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		pid = strtol(de->d_name + strlen(prefix), &end, 10);
		if (end == de->d_name + strlen(prefix) || (*end != '_' && *end != '-') || pid <= 0)
			continue;
		if (pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		rm_dir(path);
	}
	closedir(d);
}

void ktest_begin_named(const char *test)
{
	static bool atexit_done;
	const char *ci = getenv("CI");

	snprintf(cur_test, sizeof(cur_test), "%s", test);
	if (can_bpf < 0)
		can_bpf = probe_bpf();
	if (!can_bpf) {
		if (ci && !strcmp(ci, "true"))
			fail_msg(
				"%s: needs root (CAP_BPF, CAP_SYS_ADMIN): cannot create a BPF map (%s)"
				" and CI=true forbids skipping",
				test, strerror(probe_errno));
		printf("SKIP: %s: needs root (CAP_BPF, CAP_SYS_ADMIN)\n", test);
		fflush(stdout);
		skip();
	}
	if (!atexit_done) {
		owner_pid = getpid();
		atexit(exit_cleanup);
		signal(SIGTERM, fatal_signal);
		signal(SIGINT, fatal_signal);
		signal(SIGHUP, fatal_signal);
		atexit_done = true;
	}
	ensure_bpffs();
	reap_stale(BPFFS, PIN_PREFIX);
	reap_stale("/tmp", LOCK_PREFIX);

	snprintf(lock_dir, sizeof(lock_dir), "/tmp/" LOCK_PREFIX "%d-XXXXXX", (int)getpid());
	if (!mkdtemp(lock_dir))
		fail_msg("%s: mkdtemp %s: %s", test, lock_dir, strerror(errno));
	ktest_defer(rm_dir, lock_dir);

	snprintf(pin_dir, sizeof(pin_dir), BPFFS "/" PIN_PREFIX "%d_%.40s", (int)getpid(), test);
	if (mkdir(pin_dir, 0700) && errno != EEXIST)
		fail_msg("%s: mkdir %s: %s", test, pin_dir, strerror(errno));
	ktest_defer(rm_dir, pin_dir);
}

const char *ktest_name(void)
{
	return cur_test;
}

const char *ktest_lock_dir(void)
{
	return lock_dir;
}

const char *ktest_pin_dir(void)
{
	return pin_dir;
}

/* ------------------------------------------------------------------------------------------- */

static void close_fd(void *arg)
{
	close((int)(intptr_t)arg);
}

int ktest_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int ktest_track_fd(int fd)
{
	assert_true(fd >= 0);
	ktest_defer(close_fd, (void *)(intptr_t)fd);
	return fd;
}

void ktest_close(int fd)
{
	ktest_release(close_fd, (void *)(intptr_t)fd);
}

int ktest_map_try(enum bpf_map_type type, const char *name, __u32 key_size, __u32 value_size,
		  __u32 max_entries, __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd;

	fd = bpf_map_create(type, name, key_size, value_size, max_entries, &opts);
	if (fd < 0)
		return -errno;
	return ktest_track_fd(fd);
}

int ktest_map(enum bpf_map_type type, const char *name, __u32 key_size, __u32 value_size,
	      __u32 max_entries, __u32 flags)
{
	int fd;

	fd = ktest_map_try(type, name, key_size, value_size, max_entries, flags);
	if (fd < 0)
		fail_msg(
			"%s: bpf_map_create(%s, type %d, key %u, value %u, entries %u, flags %#x): %s",
			cur_test, name, type, key_size, value_size, max_entries, flags,
			strerror(-fd));
	return fd;
}

int ktest_pointer_map(void)
{
	return ktest_map(BPF_MAP_TYPE_ARRAY, "kt_ptr", sizeof(__u32), sizeof(struct abmap_pointer),
			 1, BPF_F_MMAPABLE);
}

int ktest_array_map(const char *name, __u32 value_size, __u32 max_entries, bool mmapable)
{
	return ktest_map(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), value_size, max_entries,
			 mmapable ? BPF_F_MMAPABLE : 0);
}

int ktest_len_map(void)
{
	return ktest_map(BPF_MAP_TYPE_ARRAY, "kt_len", sizeof(__u32), sizeof(__u32), 2, 0);
}

int ktest_hash_map(const char *name, __u32 key_size, __u32 value_size, __u32 max_entries)
{
	return ktest_map(BPF_MAP_TYPE_HASH, name, key_size, value_size, max_entries, 0);
}

__u32 ktest_map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail_msg("%s: bpf_obj_get_info_by_fd(%d): %s", cur_test, fd, strerror(errno));
	return info.id;
}

/* ------------------------------------------------------------------------------------------- */

static void unpin(void *arg)
{
	if (unlink(arg) && errno != ENOENT)
		fprintf(stderr, "ktest: cannot unpin %s: %s\n", (char *)arg, strerror(errno));
	free(arg);
}

static char *pin_path(const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", pin_dir, name) < 0)
		fail_msg("ktest: out of memory");
	return path;
}

void ktest_pin(int fd, const char *name)
{
	char *path = pin_path(name);

	if (bpf_obj_pin(fd, path)) {
		int err = errno;

		free(path);
		fail_msg("%s: bpf_obj_pin(%s/%s): %s", cur_test, pin_dir, name, strerror(err));
	}
	ktest_defer(unpin, path);
}

int ktest_obj_get(const char *name)
{
	char *path = pin_path(name);
	int fd, err;

	fd = bpf_obj_get(path);
	err = errno;
	free(path);
	if (fd < 0)
		fail_msg("%s: bpf_obj_get(%s/%s): %s", cur_test, pin_dir, name, strerror(err));
	return ktest_track_fd(fd);
}

/* ------------------------------------------------------------------------------------------- */

void ktest_group_opts(struct abmap_group_opts *opts, int lock_timeout_ms)
{
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->lock_timeout_ms = lock_timeout_ms;
	opts->lock_dir = lock_dir;
}

static void group_free(void *arg)
{
	abmap_group_free(arg);
}

struct abmap_group *ktest_track_group(struct abmap_group *group)
{
	assert_non_null(group);
	ktest_defer(group_free, group);
	return group;
}

struct abmap_group *ktest_group(int pointer_fd, int lock_timeout_ms)
{
	struct abmap_group_opts opts;
	struct abmap_group *group;

	ktest_group_opts(&opts, lock_timeout_ms);
	group = abmap_group_new(pointer_fd, &opts);
	if (!group)
		fail_msg("%s: abmap_group_new: %s", cur_test, strerror(errno));
	return ktest_track_group(group);
}

void ktest_group_free(struct abmap_group *group)
{
	ktest_release(group_free, group);
}

/* ------------------------------------------------------------------------------------------- */

struct abmap_pointer ktest_pointer(int pointer_fd)
{
	struct abmap_pointer ptr;
	__u32 zero = 0;

	memset(&ptr, 0, sizeof(ptr));
	if (bpf_map_lookup_elem(pointer_fd, &zero, &ptr))
		fail_msg("%s: lookup of the pointer map: %s", cur_test, strerror(errno));
	return ptr;
}

__u64 ktest_generation(int pointer_fd)
{
	return ktest_pointer(pointer_fd).generation;
}

__u64 ktest_group_gen(struct abmap_group *group)
{
	__u64 gen = ~0ULL;
	int err;

	err = abmap_group_generation(group, &gen);
	if (err)
		fail_msg("%s: abmap_group_generation: %s", cur_test, strerror(-err));
	return gen;
}

static void lookup_key(int fd, __u32 key, void *value)
{
	if (bpf_map_lookup_elem(fd, &key, value))
		fail_msg("%s: lookup of key %u in map fd %d: %s", cur_test, key, fd,
			 strerror(errno));
}

__u32 ktest_u32(int fd, __u32 key)
{
	__u32 value = 0;

	lookup_key(fd, key, &value);
	return value;
}

__u64 ktest_u64(int fd, __u32 key)
{
	__u64 value = 0;

	lookup_key(fd, key, &value);
	return value;
}

void ktest_set_u32(int fd, __u32 key, __u32 value)
{
	if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
		fail_msg("%s: update of key %u in map fd %d: %s", cur_test, key, fd,
			 strerror(errno));
}

void ktest_read_u32s(int fd, __u32 *values, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++)
		values[i] = ktest_u32(fd, i);
}

void ktest_assert_array(int fd, const __u32 *values, __u32 n, __u32 max_entries)
{
	__u32 i, v;

	for (i = 0; i < max_entries; i++) {
		v = ktest_u32(fd, i);
		if (i < n && v != values[i])
			fail_msg("%s: map fd %d element %u: expected %u, got %u", cur_test, fd, i,
				 values[i], v);
		if (i >= n && v != 0)
			fail_msg("%s: map fd %d element %u (past %u): expected 0, got %u", cur_test,
				 fd, i, n, v);
	}
}

void ktest_assert_arrays_equal(int fd1, int fd2, __u32 max_entries)
{
	__u32 i, v1, v2;

	for (i = 0; i < max_entries; i++) {
		v1 = ktest_u32(fd1, i);
		v2 = ktest_u32(fd2, i);
		if (v1 != v2)
			fail_msg("%s: element %u differs: map fd %d has %u, map fd %d has %u",
				 cur_test, i, fd1, v1, fd2, v2);
	}
}

__u32 ktest_hash_count(int fd)
{
	__u32 key, next, n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		n++;
		key = next;
		prev = &key;
		if (n > 1U << 24)
			fail_msg("%s: hash fd %d: endless key walk", cur_test, fd);
	}
	return n;
}

void ktest_assert_hash(int fd, const __u32 *keys, const __u64 *values, __u32 n)
{
	__u32 i, count;
	__u64 v;

	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &v))
			fail_msg("%s: hash fd %d: key %u missing (%s)", cur_test, fd, keys[i],
				 strerror(errno));
		if (v != values[i])
			fail_msg("%s: hash fd %d: key %u: expected %llu, got %llu", cur_test, fd,
				 keys[i], (unsigned long long)values[i], (unsigned long long)v);
	}
	count = ktest_hash_count(fd);
	if (count != n)
		fail_msg("%s: hash fd %d: expected %u keys, found %u", cur_test, fd, n, count);
}

void ktest_assert_hashes_equal(int fd1, int fd2)
{
	__u32 key, next, n1 = 0, n2;
	void *prev = NULL;
	__u64 v1, v2;

	while (bpf_map_get_next_key(fd1, prev, &next) == 0) {
		key = next;
		prev = &key;
		n1++;
		if (bpf_map_lookup_elem(fd1, &key, &v1))
			fail_msg("%s: hash fd %d: lookup of key %u: %s", cur_test, fd1, key,
				 strerror(errno));
		if (bpf_map_lookup_elem(fd2, &key, &v2))
			fail_msg("%s: key %u is in hash fd %d, not in hash fd %d", cur_test, key,
				 fd1, fd2);
		if (v1 != v2)
			fail_msg("%s: key %u: hash fd %d has %llu, hash fd %d has %llu", cur_test,
				 key, fd1, (unsigned long long)v1, fd2, (unsigned long long)v2);
	}
	n2 = ktest_hash_count(fd2);
	if (n1 != n2)
		fail_msg("%s: hash fd %d has %u keys, hash fd %d has %u", cur_test, fd1, n1, fd2,
			 n2);
}

/* ------------------------------------------------------------------------------------------- */

static int capture_print(enum abmap_print_level level, const char *fmt, va_list args)
{
	va_list copy;

	va_copy(copy, args);
	vsnprintf(log_last, sizeof(log_last), fmt, copy);
	va_end(copy);
	log_lines++;
	fprintf(stderr, "  [abmap %d] %s", (int)level, log_last);
	if (!strchr(log_last, '\n'))
		fputc('\n', stderr);
	return 0;
}

static void restore_print(void *arg)
{
	(void)arg;
	abmap_set_print(log_prev);
	log_captured = false;
}

void ktest_capture_log(void)
{
	log_lines = 0;
	log_last[0] = '\0';
	if (log_captured)
		return;
	log_prev = abmap_set_print(capture_print);
	log_captured = true;
	ktest_defer(restore_print, NULL);
}

unsigned int ktest_log_lines(void)
{
	return log_lines;
}

const char *ktest_log_last(void)
{
	return log_last;
}

__u64 ktest_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static void restore_affinity(void *arg)
{
	if (sched_setaffinity(0, sizeof(cpu_set_t), arg))
		fprintf(stderr, "ktest: cannot restore the CPU affinity: %s\n", strerror(errno));
	free(arg);
}

void ktest_pin_cpu(void)
{
	cpu_set_t *old = malloc(sizeof(*old)), one;
	int cpu = sched_getcpu();

	assert_non_null(old);
	if (cpu < 0 || sched_getaffinity(0, sizeof(*old), old)) {
		free(old);
		return;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		free(old);
		return;
	}
	ktest_defer(restore_affinity, old);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

void ktest_sort_u32(__u32 *values, size_t n)
{
	qsort(values, n, sizeof(*values), cmp_u32);
}
