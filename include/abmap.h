/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/**
 * @file abmap.h
 * @brief libabmap: double-buffered (A/B) BPF maps that switch together.
 *
 * A *group* is one pointer map plus structures (arrays, hashes, user-registered kinds) that each
 * exist twice, as side A and side B. BPF programs read the group's generation once and look up
 * side (generation & 1) of every structure. Writers stage changes into the passive side of any
 * number of structures, then flip the group with one store.
 *
 * Conventions (as libbpf): functions returning int return 0 or a negative errno and also set
 * errno; constructors return NULL and set errno. Options structs start with @c sz, filled in by
 * LIBABMAP_OPTS(). A group and its structures are used by one thread at a time; two groups opened
 * on the same pointer map (threads or processes) are serialized by the writer lock.
 */
#ifndef __LIBABMAP_H
#define __LIBABMAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/types.h>

#include "abmap_shared.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ABMAP_API __attribute__((visibility("default")))

/** Version of this header; abmap_version() gives the library's. Bumped with the soname. */
#define LIBABMAP_MAJOR_VERSION 1
#define LIBABMAP_MINOR_VERSION 0

/**
 * @brief Version of the library actually linked, "MAJOR.MINOR" (e.g. "1.0"); compare with
 *        LIBABMAP_MAJOR_VERSION / LIBABMAP_MINOR_VERSION of the header built against.
 */
ABMAP_API const char *abmap_version(void);

/** Declare and zero an options struct with its @c sz set, e.g. LIBABMAP_OPTS(abmap_group_opts, o). */
#define LIBABMAP_OPTS(TYPE, NAME, ...)                                                             \
	struct TYPE NAME = ({                                                                      \
		memset(&NAME, 0, sizeof(struct TYPE));                                             \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };                           \
	})

struct abmap_group;
struct abmap;
struct abmap_txn;
struct abmap_switchover;
struct abmap_side;

enum abmap_print_level {
	ABMAP_WARN,
	ABMAP_INFO,
	ABMAP_DEBUG,
};

typedef int (*abmap_print_fn_t)(enum abmap_print_level level, const char *fmt, va_list args);

/**
 * @brief Route libabmap's log lines through @p fn.
 * @param fn callback, or NULL to silence the library. The default prints warnings and info to
 *           stderr.
 * @return the previous callback.
 */
ABMAP_API abmap_print_fn_t abmap_set_print(abmap_print_fn_t fn);

/* ---------------------------------------------------------------------------------------------
 * Groups
 */

struct abmap_group_opts {
	size_t sz;
	/*
	 * Writer lock: 0 = fail with -EBUSY when another writer holds it, > 0 = wait up to that many
	 * milliseconds, then -EBUSY; < 0 = wait without limit.
	 */
	int lock_timeout_ms;
	/* Directory of lock files, default "/run/abmap" (created 0700 when missing). */
	const char *lock_dir;
	size_t : 0;
};
#define abmap_group_opts__last_field lock_dir

/**
 * @brief Open a group on a pointer map.
 *
 * The state (generation, grace-period and sync marks) is read from the kernel, never assumed: a
 * restarted controller continues where the last writer stopped. If the last flip's grace period is
 * not recorded as passed, the first write into the retired side waits for one.
 *
 * @param pointer_fd 1-entry BPF_MAP_TYPE_ARRAY, BPF_F_MMAPABLE, u32 key,
 *                   value struct abmap_pointer. The group keeps its own reference.
 * @param opts options, may be NULL.
 * @return the group, or NULL with errno set (-EINVAL: the map does not fit; the log says why).
 */
ABMAP_API struct abmap_group *abmap_group_new(int pointer_fd, const struct abmap_group_opts *opts);

/**
 * @brief Open a group whose pointer is a variable in an existing map (compatibility mode).
 *
 * For programs that keep the live side in a global, e.g. a @c __u8 in a skeleton's @c .bss, as
 * ebpfstruct does. Only the side (0 or 1) is stored there; the generation is counted in memory,
 * so the first write after opening always waits one grace period and re-compares both sides.
 * Generations are therefore per group object: a new one (in a new process too) restarts at 2
 * when side A is live, 3 when side B is, whatever earlier writers counted; only their parity
 * (the side) is shared, and a reader cannot tell two flips by another process from none.
 *
 * @param map_fd BPF_F_MMAPABLE ARRAY map holding the variable in its entry 0 (e.g. @c .bss).
 * @param offset byte offset of the variable in the value.
 * @param size size of the variable: 1, 4 or 8.
 * @param opts options, may be NULL.
 * @return the group, or NULL with errno set.
 */
ABMAP_API struct abmap_group *abmap_group_new_var(int map_fd, size_t offset, size_t size,
						  const struct abmap_group_opts *opts);

/**
 * @brief Free a group and every structure attached to it.
 *
 * Pending deferred changes are cancelled (the live side is untouched) and their switchover
 * handles freed; the writer lock is released; a grace period still running in the background
 * is waited for and recorded.
 * @param group group, may be NULL.
 */
ABMAP_API void abmap_group_free(struct abmap_group *group);

/**
 * @brief Wait until no program can still be reading a retired side.
 *
 * After this returns, every program invocation that started before the last flip has finished,
 * so e.g. no packet is still being steered by the previous configuration. Records the passed
 * grace period in the pointer map, so later writers (other processes too) do not wait again.
 * @param group group.
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_group_sync(struct abmap_group *group);

/**
 * @brief The fd of the group's pointer map (compatibility mode: of the map holding the
 *        variable). The group owns it (do not close it).
 * @return the fd, -EINVAL, or -EOPNOTSUPP for a group of the fake store.
 */
ABMAP_API int abmap_group_pointer_fd(const struct abmap_group *group);

/**
 * @brief Read the live generation from the kernel.
 * @param group group.
 * @param generation out: the generation; its low bit is the live side.
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_group_generation(struct abmap_group *group, __u64 *generation);

/**
 * @brief Read the whole pointer record (generation, grace and sync marks, flip time).
 *
 * In compatibility mode only @c generation is meaningful (counted in memory).
 * @param group group.
 * @param state out.
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_group_state(struct abmap_group *group, struct abmap_pointer *state);

/* ---------------------------------------------------------------------------------------------
 * Kinds: how a structure is written. "array" and "hash" are built in; users may add more.
 */

struct abmap_kind_ops {
	size_t sz;
	/* Unique name, used by abmap_new(). */
	const char *name;
	/*
	 * Check that a map may serve as one side of this kind (map type, key size, flags). Return
	 * 0 or -EINVAL; log the property that does not fit. Both sides are also checked to be
	 * identical by the library.
	 */
	int (*validate)(const struct bpf_map_info *info);
	/* May a program of @type use the structure? NULL: any. */
	bool (*prog_type_ok)(enum bpf_prog_type type);
	/*
	 * One-side I/O. NULL selects the default, the plain map operation through
	 * abmap_side_lookup(), abmap_side_update(), abmap_side_delete() and
	 * abmap_side_next_key(). @read returns -ENOENT for an absent key.
	 */
	int (*read)(struct abmap_side *side, const void *key, void *value);
	int (*write)(struct abmap_side *side, const void *key, const void *value);
	int (*erase)(struct abmap_side *side, const void *key);
	int (*next_key)(struct abmap_side *side, const void *key, void *next_key);
	size_t : 0;
};
#define abmap_kind_ops__last_field next_key

/**
 * @brief Register a kind of structure.
 *
 * @c name and @c validate are required: validation is what stops a map of the wrong type or
 * key size from being written through this kind. The other operations are optional.
 * @param ops operations; the library copies the struct, @c name must stay valid until the kind
 *            is unregistered.
 * @return 0, -EEXIST if the name is taken, -EINVAL on a malformed @p ops (no @c name, no
 *         @c validate, unknown non-zero fields past the caller's @c sz).
 */
ABMAP_API int abmap_kind_register(const struct abmap_kind_ops *ops);

/**
 * @brief Unregister a kind.
 * @param name kind name.
 * @return 0, -ENOENT if unknown, -EBUSY while a structure of this kind exists, -EPERM for a
 *         built-in kind.
 */
ABMAP_API int abmap_kind_unregister(const char *name);

/** Map lookup on one side, through the group's backend (kernel or fake). -ENOENT if absent. */
ABMAP_API int abmap_side_lookup(struct abmap_side *side, const void *key, void *value);
/** Map update on one side (BPF_ANY). */
ABMAP_API int abmap_side_update(struct abmap_side *side, const void *key, const void *value);
/** Map delete on one side. -ENOENT if absent. */
ABMAP_API int abmap_side_delete(struct abmap_side *side, const void *key);
/** First key (@p key NULL) or the key after @p key on one side; -ENOENT at the end. */
ABMAP_API int abmap_side_next_key(struct abmap_side *side, const void *key, void *next_key);
/** Key and value size of the structure a side belongs to. */
ABMAP_API __u32 abmap_side_key_size(const struct abmap_side *side);
/** @copydoc abmap_side_key_size */
ABMAP_API __u32 abmap_side_value_size(const struct abmap_side *side);

/* ---------------------------------------------------------------------------------------------
 * Structures
 */

/* How a kernel structure's sides are written. */
enum abmap_write_path {
	ABMAP_WRITE_AUTO = 0, /* mmap() if BPF_F_MMAPABLE, else batch, else per element */
	ABMAP_WRITE_MMAP,     /* plain stores into an mmap() of the map (BPF_F_MMAPABLE arrays) */
	ABMAP_WRITE_BATCH,    /* bpf_map_update_batch() */
	ABMAP_WRITE_ELEMENT,  /* one bpf_map_update_elem() per element */
};

struct abmap_opts {
	size_t sz;
	/* Arrays: u32 ARRAY of >= 2 entries holding each side's length (key = side), 0 for none. */
	int len_fd;
	/* Force a write path (benchmarks, tests); -EINVAL if the map does not allow it. */
	enum abmap_write_path write_path;
	size_t : 0;
};
#define abmap_opts__last_field write_path

/** Names of the built-in kinds, for abmap_new() (a typo is then a compile error). */
#define ABMAP_KIND_ARRAY "array"
#define ABMAP_KIND_HASH "hash"

/**
 * @brief The two sides' fds of an A/B structure declared as maps @p name_a and @p name_b (as the
 *        macros of abmap_bpf.h do), from a libbpf skeleton: the @c fd_a, @c fd_b arguments of
 *        abmap_new(). Needs libbpf.h, which skeletons include.
 *
 * @code
 * backends = abmap_new(group, ABMAP_KIND_ARRAY, ABMAP_SKEL_PAIR(skel, backends), &opts);
 * @endcode
 */
#define ABMAP_SKEL_PAIR(skel, name)                                                                \
	bpf_map__fd((skel)->maps.name##_a), bpf_map__fd((skel)->maps.name##_b)

/**
 * @brief Attach a structure of any registered kind to a group.
 *
 * Both maps must exist and be identical (type, key and value size, max_entries, flags) and fit
 * the kind; on mismatch returns NULL with errno EINVAL and logs the property. The structure
 * keeps its own references to the fds. A map may serve only one role in a group (one side of
 * one structure, a length map, the pointer). A group with a recorded member list (see
 * struct abmap_pointer) refuses to start a write (-EINVAL) until every recorded structure whose
 * maps still exist is attached.
 *
 * There is no typed constructor per kind: it would take the same arguments. Arrays
 * (ABMAP_KIND_ARRAY): two BPF_MAP_TYPE_ARRAY maps (u32 key), optionally a length map in
 * @p opts; BPF_F_MMAPABLE maps are written through mmap(). Hashes (ABMAP_KIND_HASH): two
 * BPF_MAP_TYPE_HASH maps.
 *
 * @param group group.
 * @param kind kind name (ABMAP_KIND_ARRAY, ABMAP_KIND_HASH or a registered one).
 * @param fd_a map of side A.
 * @param fd_b map of side B.
 * @param opts options, may be NULL.
 * @return the structure, or NULL with errno set.
 */
ABMAP_API struct abmap *abmap_new(struct abmap_group *group, const char *kind, int fd_a, int fd_b,
				  const struct abmap_opts *opts);

/**
 * @brief Detach and free a structure. Fails with -EBUSY while it has staged or deferred changes.
 * @param map structure, may be NULL.
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_free(struct abmap *map);

/**
 * @brief Check that programs of @p type may use the structure.
 * @return 0, or -EOPNOTSUPP if the kind refuses that program type.
 */
ABMAP_API int abmap_check_prog(const struct abmap *map, enum bpf_prog_type type);

/**
 * @brief The fd of one side of a structure. The structure owns it (do not close it); it stays
 *        valid until abmap_free() or abmap_group_free().
 * @param side ABMAP_SIDE_A or ABMAP_SIDE_B.
 * @return the fd, -EINVAL, or -EOPNOTSUPP for a structure of the fake store.
 */
ABMAP_API int abmap_fd(const struct abmap *map, int side);

/**
 * @brief The kernel map id of one side of a structure.
 * @param side ABMAP_SIDE_A or ABMAP_SIDE_B.
 * @return the id, or 0 (bad arguments; side B of a fake structure).
 */
ABMAP_API __u32 abmap_map_id(const struct abmap *map, int side);

/** @brief The group a structure belongs to (NULL for NULL). */
ABMAP_API struct abmap_group *abmap_group_of(const struct abmap *map);

/** Key size of a structure (4 for arrays). */
ABMAP_API __u32 abmap_key_size(const struct abmap *map);
/** Value size of a structure. */
ABMAP_API __u32 abmap_value_size(const struct abmap *map);
/** max_entries of a structure. */
ABMAP_API __u32 abmap_max_entries(const struct abmap *map);

/**
 * @brief Read one element of the live side.
 * @return 0, -ENOENT if absent (arrays: index past the length).
 */
ABMAP_API int abmap_get(struct abmap *map, const void *key, void *value);

/**
 * @brief Iterate the keys of the live side: the first key when @p key is NULL, else the key
 *        after @p key (arrays: indexes below the length).
 *
 * A flip between two calls restarts nothing: the iteration continues on whichever side is live
 * at each call, so iterate inside a write session (or with no writer) for a consistent view.
 * @return 0, or -ENOENT after the last key.
 */
ABMAP_API int abmap_next_key(struct abmap *map, const void *key, void *next_key);

/**
 * @brief abmap_get() for arrays, with a typed index: element @p index of the live side.
 * @return 0, -ENOENT at or past the length, -EINVAL if not an array.
 */
ABMAP_API int abmap_array_get(struct abmap *array, __u32 index, void *value);

/**
 * @brief Length of the live side of an array (max_entries when it has no length map).
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_array_len(struct abmap *array, __u32 *len);

/**
 * @brief Read elements [@p start, @p start + @p count) of an array's live side in one go,
 *        together with the generation they belong to.
 *
 * Consistent without taking the writer lock: the generation is read before and after the
 * elements, and the read is repeated when a flip landed in between (after a flip and its grace
 * period a writer may rewrite the side being read). Fast: one memcpy() from an mmap() of
 * BPF_F_MMAPABLE maps, else bpf_map_lookup_batch() (one element at a time where the kernel
 * refuses batches). Slots at or past the length read as zero. In compatibility mode
 * (abmap_group_new_var()) only the side is stored, so two flips by another process during one
 * read go unnoticed.
 *
 * @param array array structure.
 * @param start first index.
 * @param count number of elements; @p start + @p count must not exceed max_entries.
 * @param values out: @p count * value_size bytes (may be NULL when @p count is 0).
 * @param len out, may be NULL: the live length (max_entries without a length map).
 * @param generation out, may be NULL: the generation the elements and the length belong to.
 * @return 0, -EINVAL (not an array, range past max_entries), -EAGAIN if the group flipped
 *         during every one of a bounded number of attempts, or another negative errno.
 */
ABMAP_API int abmap_array_read(struct abmap *array, __u32 start, __u32 count, void *values,
			       __u32 *len, __u64 *generation);

/**
 * @brief Read every key and value of a hash's live side in one go, together with the
 *        generation they belong to.
 *
 * Consistent as abmap_array_read() is. Fast: bpf_map_lookup_batch() (one element at a time
 * where the kernel refuses batches, and for kinds with their own read or next_key operation).
 * Keys come in the map's iteration order.
 *
 * @param hash hash structure (or any structure of a kind other than "array").
 * @param keys out: room for @p max keys.
 * @param values out: room for @p max values.
 * @param max capacity of @p keys and @p values, in elements.
 * @param n out: the number of elements read; with -ENOSPC, the number needed.
 * @param generation out, may be NULL: the generation the content belongs to.
 * @return 0, -ENOSPC if the live side holds more than @p max elements, -EINVAL, -EAGAIN (see
 *         abmap_array_read()), or another negative errno.
 */
ABMAP_API int abmap_hash_read(struct abmap *hash, void *keys, void *values, __u32 max, __u32 *n,
			      __u64 *generation);

/* ---------------------------------------------------------------------------------------------
 * Transactions: stage changes to several structures of one group, then flip once.
 */

/**
 * @brief Start a transaction; takes the group's writer lock (see struct abmap_group_opts).
 *
 * Lock: flock() on "<lock_dir>/<pointer map id>.lock" (compatibility mode: the id of the map
 * holding the variable), so writers in other processes and other group objects are serialized.
 * The lock is held until the transaction and every deferred change end.
 *
 * @return the transaction, or NULL with errno set (EBUSY: another writer).
 */
ABMAP_API struct abmap_txn *abmap_txn_begin(struct abmap_group *group);

/**
 * @brief Stage the whole content of an array: @p n values, the rest zeroed, length @p n.
 * @param values n * value_size bytes; copied, so a stack buffer is fine.
 * @return 0, -E2BIG if @p n > max_entries, -EINVAL if not an array of this group.
 */
ABMAP_API int abmap_txn_array_set(struct abmap_txn *txn, struct abmap *array, const void *values,
				  __u32 n);

/**
 * @brief Stage the whole content of a hash: exactly these @p n keys.
 * @return 0, -E2BIG if @p n > max_entries, -EINVAL on a duplicate key or a foreign structure.
 */
ABMAP_API int abmap_txn_hash_set(struct abmap_txn *txn, struct abmap *hash, const void *keys,
				 const void *values, __u32 n);

/**
 * @brief Stage one element. Arrays: key is a u32 index < max_entries; an index at or past the
 *        length grows the array to index + 1 (new slots zero).
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_txn_update(struct abmap_txn *txn, struct abmap *map, const void *key,
			       const void *value);

/**
 * @brief Stage the removal of one element. Arrays: zeroes the slot (ARRAY maps cannot delete).
 *        Hashes: removing an absent key is not an error.
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_txn_delete(struct abmap_txn *txn, struct abmap *map, const void *key);

/**
 * @brief Apply the transaction: bring the passive side of every structure of the group up to
 *        date, write the staged changes, flip once.
 *
 * Also flips changes deferred with abmap_*_set_and_defer_switchover(). On any failure before
 * the flip the live side is untouched and the error returned; the passive side is repaired by
 * the next writer, and a failure never keeps the group from committing later.
 *
 * The result depends on the final content only, not on the order the changes were staged in:
 * the staged changes of a hash are applied deletes first (per key, the last staged change
 * counts; a whole content discards what was staged for that structure before it), so on a hash
 * at max_entries an insert staged before the delete that makes room succeeds, and -E2BIG means
 * that the final content has more than max_entries keys.
 *
 * Returns at once after the flip: the grace period runs in the background and only the next
 * write into the retired side waits for what is left of it.
 *
 * No change, no flip: when the transaction is empty, or every structure's content after all its
 * staged operations is identical to the live one (a change undone in the same transaction is
 * none), and no deferred change is pending, nothing flips, the generation stays and no grace
 * period starts; 0 is returned. The same holds for abmap_array_set() and abmap_hash_set().
 *
 * @param txn transaction; freed whatever the result.
 * @return 0 or a negative errno.
 */
ABMAP_API int abmap_txn_commit(struct abmap_txn *txn);

/**
 * @brief Drop a transaction's staged changes; nothing is written.
 * @param txn transaction, may be NULL; freed.
 */
ABMAP_API void abmap_txn_abort(struct abmap_txn *txn);

/* ---------------------------------------------------------------------------------------------
 * ebpfstruct-style calls
 */

/**
 * @brief Replace an array's content and flip its group (a one-structure transaction); no flip
 *        when the content equals the live one (see abmap_txn_commit()).
 */
ABMAP_API int abmap_array_set(struct abmap *array, const void *values, __u32 n);

/**
 * @brief Replace a hash's content and flip its group (a one-structure transaction); no flip when
 *        the content equals the live one (see abmap_txn_commit()).
 */
ABMAP_API int abmap_hash_set(struct abmap *hash, const void *keys, const void *values, __u32 n);

/**
 * @brief Write an array's new content into its passive side now; flip later.
 *
 * Takes the group's writer lock until the change is switched over or cancelled.
 * @param so out: handle for abmap_switchover() or abmap_switchover_cancel().
 * @return 0 or a negative errno (nothing is pending then).
 */
ABMAP_API int abmap_array_set_and_defer_switchover(struct abmap *array, const void *values, __u32 n,
						   struct abmap_switchover **so);

/** @brief Hash counterpart of abmap_array_set_and_defer_switchover(). */
ABMAP_API int abmap_hash_set_and_defer_switchover(struct abmap *hash, const void *keys,
						  const void *values, __u32 n,
						  struct abmap_switchover **so);

/**
 * @brief Flip the group, making live every change deferred since the last flip.
 *
 * If a later switchover or commit already flipped this change, returns 0 and does nothing.
 * Otherwise it always flips, even when the deferred content equals the live one.
 * @param so handle; freed whatever the result.
 * @return 0, -ECANCELED if the change was cancelled (through any handle of its structure), or
 *         another negative errno: the flip failed, the change stays pending and the group's
 *         next commit or switchover flips it.
 */
ABMAP_API int abmap_switchover(struct abmap_switchover *so);

/**
 * @brief Withdraw a deferred change: the structure's passive side is restored.
 *
 * Cancels every pending deferred change of that structure. abmap_free() refuses with -EBUSY
 * while handles of the structure exist; abmap_group_free() frees every handle still
 * outstanding (they must not be used afterwards).
 * @param so handle; freed whatever the result.
 * @return 0 (also when the change was already cancelled, through any handle of its structure),
 *         or -EALREADY if the change was already flipped.
 */
ABMAP_API int abmap_switchover_cancel(struct abmap_switchover *so);

#ifdef __cplusplus
}
#endif

#endif /* __LIBABMAP_H */
