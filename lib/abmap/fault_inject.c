// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test-only fault injection into the kernel store (see fault_inject.h). Disarmed, a call costs
 * one relaxed atomic increment and one load, next to a syscall.
 */
#include "fault_inject.h"

#include <stddef.h>

static unsigned long calls[NR_FAULT_SITES];
static unsigned long fail_at[NR_FAULT_SITES]; /* call number that fails; 0: none */
static int fail_err[NR_FAULT_SITES];
static bool skip_lock;

static const char *const site_names[NR_FAULT_SITES] = {
	[FAULT_LOOKUP] = "lookup",
	[FAULT_UPDATE] = "update",
	[FAULT_DELETE] = "delete",
	[FAULT_NEXT_KEY] = "next_key",
	[FAULT_LOOKUP_BATCH] = "lookup_batch",
	[FAULT_UPDATE_BATCH] = "update_batch",
	[FAULT_LEN_LOOKUP] = "len_lookup",
	[FAULT_LEN_UPDATE] = "len_update",
	[FAULT_PTR_MARK] = "ptr_mark",
	[FAULT_FLIP] = "flip",
	[FAULT_GET_FD_BY_ID] = "get_fd_by_id",
	[FAULT_LOCK_OPEN] = "lock_open",
	[FAULT_FLOCK] = "flock",
	[FAULT_MEMBARRIER] = "membarrier",
	[FAULT_MIM_CREATE] = "mim_create",
	[FAULT_MIM_UPDATE] = "mim_update",
	[FAULT_MMAP] = "mmap",
	[FAULT_DUP] = "dup",
	[FAULT_MAP_INFO] = "map_info",
};

const char *fault_inject_site_name(enum fault_site site)
{
	return (unsigned int)site < NR_FAULT_SITES ? site_names[site] : "?";
}

void fault_inject_arm(enum fault_site site, unsigned long nth, int err)
{
	if ((unsigned int)site >= NR_FAULT_SITES || !nth || err >= 0)
		return;
	__atomic_store_n(&fail_err[site], err, __ATOMIC_RELAXED);
	__atomic_store_n(&fail_at[site], __atomic_load_n(&calls[site], __ATOMIC_RELAXED) + nth,
			 __ATOMIC_RELEASE);
}

void fault_inject_disarm(void)
{
	size_t i;

	for (i = 0; i < NR_FAULT_SITES; i++)
		__atomic_store_n(&fail_at[i], 0, __ATOMIC_RELEASE);
}

unsigned long fault_inject_count(enum fault_site site)
{
	return (unsigned int)site < NR_FAULT_SITES ?
		       __atomic_load_n(&calls[site], __ATOMIC_RELAXED) :
		       0;
}

void fault_inject_skip_lock(bool skip)
{
	__atomic_store_n(&skip_lock, skip, __ATOMIC_RELAXED);
}

bool fault_inject_lock_skipped(void)
{
	return __atomic_load_n(&skip_lock, __ATOMIC_RELAXED);
}

int fault_inject_hit(enum fault_site site)
{
	unsigned long n = __atomic_add_fetch(&calls[site], 1, __ATOMIC_RELAXED);
	unsigned long at = __atomic_load_n(&fail_at[site], __ATOMIC_ACQUIRE);

	if (!at || n != at)
		return 0;
	/* Once: only the caller that clears the trigger fails. */
	if (!__atomic_compare_exchange_n(&fail_at[site], &at, 0, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return 0;
	return __atomic_load_n(&fail_err[site], __ATOMIC_RELAXED);
}
