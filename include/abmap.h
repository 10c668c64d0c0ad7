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
	/*
	 * Tests only: never wait for a grace period before rewriting a retired side. Programs still
	 * reading it see torn data. Exists so tests can show the grace period matters.
	 */
	bool unsafe_no_grace;
	/*
	 * Tests only: called after every passive side is written, just before the flip (e.g. to
	 * kill a writer there). A non-zero return aborts the commit with that error.
	 */
	int (*before_flip)(void *ctx);
	void *before_flip_ctx;
	size_t : 0;
};
#define abmap_group_opts__last_field before_flip_ctx

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
 * @param ops operations; the library copies the struct, @c name must stay valid until the kind
 *            is unregistered.
 * @return 0, -EEXIST if the name is taken, -EINVAL on a malformed @p ops.
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
 * @param group group.
 * @param kind kind name ("array", "hash" or a registered one).
 * @param fd_a map of side A.
 * @param fd_b map of side B.
 * @param opts options, may be NULL.
 * @return the structure, or NULL with errno set.
 */
ABMAP_API struct abmap *abmap_new(struct abmap_group *group, const char *kind, int fd_a, int fd_b,
				  const struct abmap_opts *opts);

/**
 * @brief Attach an array structure: two BPF_MAP_TYPE_ARRAY maps (u32 key), optionally a length
 *        map in @p opts. BPF_F_MMAPABLE maps are written through mmap().
 * @return the structure, or NULL with errno set.
 */
ABMAP_API struct abmap *abmap_array_new(struct abmap_group *group, int fd_a, int fd_b,
					const struct abmap_opts *opts);

/**
 * @brief Attach a hash structure: two BPF_MAP_TYPE_HASH maps.
 * @return the structure, or NULL with errno set.
 */
ABMAP_API struct abmap *abmap_hash_new(struct abmap_group *group, int fd_a, int fd_b,
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

/** @brief abmap_get() for arrays: element @p index of the live side. */
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

/** @brief abmap_get() for hashes. */
ABMAP_API int abmap_hash_get(struct abmap *hash, const void *key, void *value);

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
 * the next writer. Returns at once after the flip: the grace period runs in the background and
 * only the next write into the retired side waits for what is left of it.
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

/** @brief Replace an array's content and flip its group (a one-structure transaction). */
ABMAP_API int abmap_array_set(struct abmap *array, const void *values, __u32 n);

/** @brief Replace a hash's content and flip its group (a one-structure transaction). */
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
 * @return 0, or -EALREADY if the change was already flipped.
 */
ABMAP_API int abmap_switchover_cancel(struct abmap_switchover *so);

/* ---------------------------------------------------------------------------------------------
 * In-memory fake, for unit tests of controllers: same semantics, no kernel.
 */

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
 * @param err a negative errno.
 * @return 0 or -EINVAL.
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

#endif /* __LIBABMAP_H */
