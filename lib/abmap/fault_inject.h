/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Test-only fault injection into the kernel store (not installed, not exported by the shared
 * library: tests link libabmap.a).
 *
 * Every syscall (and every store into the mmapped pointer) the kernel store makes counts as a
 * call of one site; a site can be armed to fail its Nth next call once with a chosen errno, the
 * way the kernel would have failed it. Counters are process-wide and atomic (grace periods run
 * in a background thread).
 */
#ifndef __ABMAP_FAULT_INJECT_H
#define __ABMAP_FAULT_INJECT_H

#include <stdbool.h>

#define FAULT_INJECT_API __attribute__((visibility("hidden")))

enum fault_site {
	FAULT_LOOKUP,	    /* bpf_map_lookup_elem() of an element */
	FAULT_UPDATE,	    /* bpf_map_update_elem() of an element */
	FAULT_DELETE,	    /* bpf_map_delete_elem() */
	FAULT_NEXT_KEY,	    /* bpf_map_get_next_key() */
	FAULT_LOOKUP_BATCH, /* bpf_map_lookup_batch() (one call per chunk) */
	FAULT_UPDATE_BATCH, /* bpf_map_update_batch() */
	FAULT_LEN_LOOKUP,   /* bpf_map_lookup_elem() of an array's length */
	FAULT_LEN_UPDATE,   /* bpf_map_update_elem() of an array's length */
	FAULT_PTR_MARK,	    /* store marking the passive side as being written */
	FAULT_FLIP,	    /* the pointer store that flips the group */
	FAULT_GET_FD_BY_ID, /* bpf_map_get_fd_by_id() (members recorded in the pointer) */
	FAULT_LOCK_OPEN,    /* mkdir() + open() of the lock file (first session of a group) */
	FAULT_FLOCK,	    /* flock(LOCK_EX | LOCK_NB) */
	FAULT_MEMBARRIER,   /* membarrier(MEMBARRIER_CMD_GLOBAL): a grace period */
	FAULT_MIM_CREATE,   /* bpf_map_create() of the map-in-map grace fallback */
	FAULT_MIM_UPDATE,   /* bpf_map_update_elem() of the map-in-map grace fallback */
	FAULT_MMAP,	    /* mmap() of a side or of the pointer (when a structure is attached) */
	FAULT_DUP,	    /* fcntl(F_DUPFD_CLOEXEC) of a caller's fd (attach) */
	FAULT_MAP_INFO,	    /* bpf_obj_get_info_by_fd() (attach) */
	NR_FAULT_SITES,
};

/* Name of a site, for messages. */
FAULT_INJECT_API const char *fault_inject_site_name(enum fault_site site);

/* Make the @nth next call (1 = the very next) of @site fail once with @err (a negative errno). */
FAULT_INJECT_API void fault_inject_arm(enum fault_site site, unsigned long nth, int err);

/* Disarm every site. */
FAULT_INJECT_API void fault_inject_disarm(void);

/* Calls of @site since the process started (failed ones included). */
FAULT_INJECT_API unsigned long fault_inject_count(enum fault_site site);

/*
 * Negative control of the writer-race test: @skip makes the writer lock a no-op (sessions of
 * different processes then overlap).
 */
FAULT_INJECT_API void fault_inject_skip_lock(bool skip);

/* The library's side: count a call of @site; 0, or the armed negative errno. */
FAULT_INJECT_API int fault_inject_hit(enum fault_site site);

/*
 * In the kernel store, each syscall first asks whether a test armed its site; disarmed, that is
 * one atomic increment.
 */
#define FAULT(site) fault_inject_hit(site)
FAULT_INJECT_API bool fault_inject_lock_skipped(void);

#endif /* __ABMAP_FAULT_INJECT_H */
