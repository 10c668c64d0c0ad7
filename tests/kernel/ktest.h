/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared helpers of the kernel tests (tests/kernel): privilege check, BPF maps, pins, lock
 * directories and a per-test cleanup list that runs on every path.
 *
 * Every test calls ktest_begin() first and is registered with KTEST() (cmocka_unit_test_teardown
 * with ktest_teardown), so whatever the test created through these helpers is closed, unpinned
 * and removed even when an assertion fails half-way.
 */
#ifndef __KTEST_H
#define __KTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "abmap.h"

/* Register a test whose resources are released by ktest_teardown(). */
#define KTEST(f) cmocka_unit_test_teardown(f, ktest_teardown)

/*
 * Start a test: skip it (or fail it when CI=true) if this process cannot create BPF maps, make
 * sure bpffs is mounted, create the test's lock directory and pin directory.
 */
#define ktest_begin() ktest_begin_named(__func__)
void ktest_begin_named(const char *test);

/* cmocka teardown: run every pending cleanup, newest first. */
int ktest_teardown(void **state);

/* Cleanups. @fn(@arg) runs at teardown unless released earlier with ktest_release(). */
typedef void (*ktest_cleanup_fn)(void *arg);
void ktest_defer(ktest_cleanup_fn fn, void *arg);
/* Run the pending cleanup (@fn, @arg) now and forget it. Fails the test if it is not pending. */
void ktest_release(ktest_cleanup_fn fn, void *arg);

/* Name of the running test, its lock directory (for abmap_group_opts) and bpffs directory. */
const char *ktest_name(void);
const char *ktest_lock_dir(void);
const char *ktest_pin_dir(void);

/* Maps. All assert success and are closed at teardown. */
int ktest_map(enum bpf_map_type type, const char *name, __u32 key_size, __u32 value_size,
	      __u32 max_entries, __u32 flags);
/* Same, but returns -errno on failure instead of failing the test. */
int ktest_map_try(enum bpf_map_type type, const char *name, __u32 key_size, __u32 value_size,
		  __u32 max_entries, __u32 flags);
/* 1-entry BPF_F_MMAPABLE ARRAY of struct abmap_pointer. */
int ktest_pointer_map(void);
/* ARRAY, u32 key; BPF_F_MMAPABLE when @mmapable. */
int ktest_array_map(const char *name, __u32 value_size, __u32 max_entries, bool mmapable);
/* 2-entry u32 ARRAY holding an A/B array's lengths. */
int ktest_len_map(void);
/* HASH. */
int ktest_hash_map(const char *name, __u32 key_size, __u32 value_size, __u32 max_entries);
/* Close @fd at teardown (e.g. one from bpf_obj_get()). */
int ktest_track_fd(int fd);
/* Close a tracked fd now. */
void ktest_close(int fd);
/* Map id of @fd. */
__u32 ktest_map_id(int fd);
/* How many fds this process has open (leak checks: the same before and after). */
int ktest_count_fds(void);

/* Pin @fd as @name in the test's bpffs directory; unpinned at teardown. */
void ktest_pin(int fd, const char *name);
/* bpf_obj_get() of a pin made by ktest_pin(); the fd is tracked. */
int ktest_obj_get(const char *name);

/* Group options with the test's lock directory. */
void ktest_group_opts(struct abmap_group_opts *opts, int lock_timeout_ms);
/* abmap_group_new() with the test's lock directory; asserts success; freed at teardown. */
struct abmap_group *ktest_group(int pointer_fd, int lock_timeout_ms);
/* Track a group created by the caller. */
struct abmap_group *ktest_track_group(struct abmap_group *group);
/* abmap_group_free() a tracked group now. */
void ktest_group_free(struct abmap_group *group);

/* Map content. All assert success. */
struct abmap_pointer ktest_pointer(int pointer_fd);
__u64 ktest_generation(int pointer_fd);
__u64 ktest_group_gen(struct abmap_group *group);
__u32 ktest_u32(int fd, __u32 key);
__u64 ktest_u64(int fd, __u32 key);
void ktest_set_u32(int fd, __u32 key, __u32 value);
/* Read @n consecutive u32 elements of an ARRAY. */
void ktest_read_u32s(int fd, __u32 *values, __u32 n);
/* Assert that ARRAY @fd holds @values[0..n) then zeroes up to @max_entries. */
void ktest_assert_array(int fd, const __u32 *values, __u32 n, __u32 max_entries);
/* Assert that two ARRAY maps of u32 hold the same @max_entries elements. */
void ktest_assert_arrays_equal(int fd1, int fd2, __u32 max_entries);
/*
 * Assert that a HASH of u32 keys and u64 values holds exactly these @n pairs.
 */
void ktest_assert_hash(int fd, const __u32 *keys, const __u64 *values, __u32 n);
/* Assert that two HASH maps of u32 keys and u64 values hold the same pairs. */
void ktest_assert_hashes_equal(int fd1, int fd2);
/* Number of keys of a HASH with u32 keys. */
__u32 ktest_hash_count(int fd);

/* Log capture: count libabmap log lines (ktest_log_lines()), keep the last one. */
void ktest_capture_log(void);
unsigned int ktest_log_lines(void);
const char *ktest_log_last(void);

/* CLOCK_MONOTONIC in ns. */
__u64 ktest_now_ns(void);

/* Keep this thread on the CPU it runs on (timings) until teardown; does nothing if it cannot. */
void ktest_pin_cpu(void);
/* Sort @n values in ascending order (medians of timings). */
void ktest_sort_u32(__u32 *values, size_t n);

#endif /* __KTEST_H */
