/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/**
 * @file abmap_fake.h
 * @brief libabmap's in-memory store, for unit tests of controllers: same semantics, no kernel.
 *
 * A fake group and its structures behave as kernel ones do for a writer (arrays cannot delete,
 * hashes fill up at max_entries, a flip switches every structure), and every call of abmap.h
 * works on them. On top, a test can read either side directly, count the store's operations
 * and make one of them fail.
 */
#ifndef __LIBABMAP_FAKE_H
#define __LIBABMAP_FAKE_H

#include "abmap.h"

#ifdef __cplusplus
extern "C" {
#endif

enum abmap_fake_op {
	ABMAP_FAKE_WRITE, /* any element write or delete on any side, including the length */
	ABMAP_FAKE_FLIP,  /* the pointer store */
	ABMAP_FAKE_GRACE, /* a grace-period wait */
	__ABMAP_FAKE_OP_MAX,
};

/** Fake array without a length map (abmap_fake_array_new() @p flags). */
#define ABMAP_FAKE_NO_LEN (1U << 0)

/**
 * @brief Create a group whose maps live in memory.
 * @param opts options, may be NULL (lock options are ignored: the lock is in memory).
 * @return the group, or NULL with errno set.
 */
ABMAP_API struct abmap_group *abmap_fake_group_new(const struct abmap_group_opts *opts);

/**
 * @brief Create a fake array structure (u32 index) with a length map unless ABMAP_FAKE_NO_LEN.
 * @return the structure, or NULL with errno set.
 */
ABMAP_API struct abmap *abmap_fake_array_new(struct abmap_group *group, __u32 value_size,
					     __u32 max_entries, __u32 flags);

/**
 * @brief Create a fake hash structure.
 * @return the structure, or NULL with errno set.
 */
ABMAP_API struct abmap *abmap_fake_hash_new(struct abmap_group *group, __u32 key_size,
					    __u32 value_size, __u32 max_entries);

/**
 * @brief Create a fake structure of any registered kind.
 *
 * The kind's @c validate sees a struct bpf_map_info with @p type and the sizes. Storage behaves
 * as an ARRAY (u32 index, no deletes) for BPF_MAP_TYPE_ARRAY, else as a HASH.
 * @return the structure, or NULL with errno set (ENOENT: unknown kind; EINVAL: refused).
 */
ABMAP_API struct abmap *abmap_fake_new(struct abmap_group *group, const char *kind,
				       enum bpf_map_type type, __u32 key_size, __u32 value_size,
				       __u32 max_entries);

/**
 * @brief Read one side of a fake structure directly, whatever is live.
 * @param side ABMAP_SIDE_A or ABMAP_SIDE_B.
 * @return 0 or -ENOENT (absent key; arrays: index >= max_entries).
 */
ABMAP_API int abmap_fake_peek(struct abmap *map, int side, const void *key, void *value);

/**
 * @brief Read the length of one side of a fake array (max_entries without a length map).
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_fake_peek_len(struct abmap *array, int side, __u32 *len);

/**
 * @brief Make the @p nth next operation of type @p op (1 = the very next) fail with @p err.
 *
 * Each type has at most one pending failure: it fires once, then the type is disarmed. Arming
 * a type again replaces its pending failure (the count restarts from this call); @p nth 0 or
 * @p err 0 disarms it.
 * @param err a negative errno, or 0 to disarm.
 * @return 0, or -EINVAL (not a fake group, unknown @p op, positive @p err).
 */
ABMAP_API int abmap_fake_fail(struct abmap_group *group, enum abmap_fake_op op, unsigned int nth,
			      int err);

/**
 * @brief Number of operations of type @p op performed so far (failed ones included).
 */
ABMAP_API unsigned long abmap_fake_count(struct abmap_group *group, enum abmap_fake_op op);

#ifdef __cplusplus
}
#endif

#endif /* __LIBABMAP_FAKE_H */
