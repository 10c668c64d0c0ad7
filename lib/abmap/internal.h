/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __ABMAP_INTERNAL_H
#define __ABMAP_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abmap.h"

#define __printf(a, b) __attribute__((format(printf, a, b)))

#ifndef offsetofend
#define offsetofend(TYPE, FIELD) (offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))
#endif

/* Options structs (libbpf style): fields past the caller's @sz read as their default. */
static inline bool opts_valid(const void *opts, size_t user_sz, size_t known_sz)
{
	const __u8 *p = opts;

	if (!opts)
		return true;
	if (user_sz < sizeof(size_t))
		return false;
	for (; known_sz < user_sz; known_sz++) {
		if (p[known_sz])
			return false;
	}
	return true;
}

#define OPTS_VALID(opts, type)                                                                     \
	(!(opts) || opts_valid((opts), (opts)->sz, offsetofend(struct type, type##__last_field)))
#define OPTS_HAS(opts, field) ((opts) && (opts)->sz >= offsetofend(typeof(*(opts)), field))
#define OPTS_GET(opts, field, fallback) (OPTS_HAS(opts, field) ? (opts)->field : (fallback))

void abmap_log(enum abmap_print_level level, const char *fmt, ...) __printf(2, 3);
#define pr_warn(fmt, ...) abmap_log(ABMAP_WARN, "libabmap: " fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) abmap_log(ABMAP_INFO, "libabmap: " fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) abmap_log(ABMAP_DEBUG, "libabmap: " fmt, ##__VA_ARGS__)

/* Return -err with errno set, as every int-returning public function does. */
static inline int libabmap_err(int err)
{
	if (err < 0)
		errno = -err;
	return err;
}

/* Return NULL with errno set to -err. */
static inline void *libabmap_err_ptr(int err)
{
	errno = err < 0 ? -err : err;
	return NULL;
}

/* Set of fixed-size keys: where the two sides of a structure may differ. */
struct keyset {
	__u32 key_size;
	__u32 count;
	__u32 cap;   /* slots, power of two */
	__u32 limit; /* past this many keys, give up and mark @all */
	bool all;
	__u8 *used;
	__u8 *keys;
};

void keyset_init(struct keyset *set, __u32 key_size, __u32 limit);
void keyset_free(struct keyset *set);
void keyset_clear(struct keyset *set);
/* Add a key; on allocation failure the set degrades to @all, which is always correct. */
void keyset_add(struct keyset *set, const void *key);
bool keyset_has(const struct keyset *set, const void *key);
void keyset_set_all(struct keyset *set);
/* Iterate: returns the next key at or after slot *pos, or NULL. */
const void *keyset_next(const struct keyset *set, __u32 *pos);

/* Map I/O of one side of a structure: kernel (mmap, batch, per element) or in-memory fake. */
struct abmap_side {
	struct abmap *map;
	int side;
	int fd;
	void *mem; /* mmap of the values (kernel, BPF_F_MMAPABLE) */
	size_t mem_size;
	void *fake; /* fake storage */
};

struct backend_ops {
	int (*lookup)(struct abmap_side *s, const void *key, void *value);
	int (*update)(struct abmap_side *s, const void *key, const void *value);
	int (*delete)(struct abmap_side *s, const void *key);
	int (*next_key)(struct abmap_side *s, const void *key, void *next_key);
	/* Optional: update @n elements at once; -EOPNOTSUPP makes the caller go per element. */
	int (*update_batch)(struct abmap_side *s, const void *keys, const void *values, __u32 n);
	/* Optional: read array elements [@start, @start + @n) at once. */
	int (*read_range)(struct abmap_side *s, __u32 start, void *values, __u32 n);
	/* Optional: every key and value of a hash side (buffers of max_entries); *@n: how many. */
	int (*read_all)(struct abmap_side *s, void *keys, void *values, __u32 *n);
	int (*len_read)(struct abmap *map, int side, __u32 *len);
	int (*len_write)(struct abmap *map, int side, __u32 len);
	void (*side_free)(struct abmap_side *s);

	int (*ptr_read)(struct abmap_group *g, struct abmap_pointer *ptr);
	/* Publish @next: every field first, generation last (one release store). */
	int (*ptr_flip)(struct abmap_group *g, const struct abmap_pointer *next);
	/* Record that the passive side is being written by session @token. */
	int (*ptr_mark)(struct abmap_group *g, __u64 passive_gen, __u64 token);
	/* Optional: refuse to write when recorded structures of the group are not attached. */
	int (*check_members)(struct abmap_group *g, const struct abmap_pointer *ptr);
	void (*ptr_raise_grace)(struct abmap_group *g, __u64 gen);
	int (*grace_wait)(struct abmap_group *g);
	/* Writer lock across processes; the in-memory session flag covers one group object. */
	int (*lock)(struct abmap_group *g);
	void (*unlock)(struct abmap_group *g);
	void (*group_free)(struct abmap_group *g);
	/* Grace periods run in a background thread (kernel) or inline (fake). */
	bool async_grace;
};

extern const struct backend_ops kernel_backend;
extern const struct backend_ops fake_backend;

struct kind {
	struct abmap_kind_ops ops;
	bool builtin;
	bool is_array;
	int users;
	struct kind *next;
};

struct kind *kind_get(const char *name);
void kind_put(struct kind *kind);
int kind_read(struct abmap_side *s, const void *key, void *value);
int kind_write(struct abmap_side *s, const void *key, const void *value);
int kind_erase(struct abmap_side *s, const void *key);
int kind_next_key(struct abmap_side *s, const void *key, void *next_key);

struct abmap {
	struct abmap_group *group;
	struct kind *kind;
	struct abmap_side sides[2];
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 map_flags;
	__u32 id_a;
	__u32 id_b;
	__u32 len_id;
	int len_fd;    /* kernel length map, -1 without */
	bool no_batch; /* ABMAP_WRITE_ELEMENT */
	bool has_len;
	void *fake_len;	 /* fake length storage */
	bool fake_array; /* fake storage indexed by u32, no deletes */

	/* Keys (and length) where passive and live may differ, valid while diff_gen is live. */
	struct keyset diff;
	bool diff_len;
	__u64 diff_gen;
	/* Passive side caught up in the current write session. */
	bool ready;
	/* Deferred changes pending; cancel_epoch invalidates handles of cancelled changes. */
	bool deferred;
	__u64 cancel_epoch;
	/* Switchover handles not yet released: the structure must outlive them. */
	__u32 handles;
	/* Staged in the open transaction. */
	bool staged;

	__u32 *iota; /* 0..max_entries-1, batch keys of arrays */
	struct abmap *next;
};

struct abmap_group {
	const struct backend_ops *be;
	struct abmap *maps;
	int nr_maps;
	__u64 gen;		  /* live generation as last read or flipped */
	struct abmap_pointer ptr; /* pointer record as last read */

	/* Write session: from the first staged write to the flip, abort or last cancel. */
	bool in_session;
	bool marked;	  /* passive marked unknown in this session */
	__u64 token_base; /* writer tokens: base + 2 * session number */
	__u64 sessions;
	__u32 pid; /* recorded with every flip (informational) */
	struct abmap_txn *txn;
	int nr_deferred;
	struct abmap_switchover *handles;

	/* Grace periods. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t worker;
	bool worker_started;
	bool stopping;
	__u64 grace_requested;
	__u64 grace_done;
	int grace_err;
	/* Test hooks (testing.h). */
	bool no_grace;
	int (*before_flip)(void *ctx);
	void *before_flip_ctx;

	/* Lock. */
	char *lock_dir;
	int lock_timeout_ms;
	int lock_fd;

	/* Kernel pointer. */
	int ptr_fd;
	__u32 ptr_id;
	void *ptr_mem;
	size_t ptr_mem_size;
	/* Compatibility mode: pointer is a variable. */
	bool var_mode;
	size_t var_off;
	size_t var_size;
	/* Map-in-map used for grace periods where membarrier is refused. */
	int mim_fd;
	int mim_inner_fd;

	void *fake;
};

struct abmap_group *group_alloc(const struct backend_ops *be, const struct abmap_group_opts *opts);
void group_request_grace(struct abmap_group *g, __u64 gen);
int group_wait_grace(struct abmap_group *g, __u64 gen);
struct abmap *map_attach(struct abmap_group *g, struct kind *kind, int fd_a, int fd_b,
			 const struct abmap_opts *opts);
struct abmap *map_alloc(struct abmap_group *g, struct kind *kind, __u32 key_size, __u32 value_size,
			__u32 max_entries);
struct kind *map_attach_kind(struct abmap_group *g, const char *kind_name);
void map_link(struct abmap *map);
void map_destroy(struct abmap *map);

/* sync.c: bring one structure's passive side up to date; write content. */
int map_len(struct abmap *map, int side, __u32 *len);
int map_catch_up(struct abmap *map, int passive);
int map_write_array(struct abmap *map, int passive, const void *values, __u32 n);
int map_write_hash(struct abmap *map, int passive, const void *keys, const void *values, __u32 n);
int map_write_one(struct abmap *map, int passive, const void *key, const void *value);
int map_erase_one(struct abmap *map, int passive, const void *key);
bool map_sides_differ(struct abmap *map, int passive);

/* txn.c */
int session_begin(struct abmap_group *g);
void session_end_if_idle(struct abmap_group *g);
void session_cancel_deferred(struct abmap_group *g);

static inline size_t array_stride(const struct abmap *map)
{
	return (map->value_size + 7) & ~(size_t)7;
}

static inline int passive_side(const struct abmap_group *g)
{
	return !(g->gen & 1);
}

/* testing.c: abmap_testing_set_default_no_grace() */
bool testing_default_no_grace(void);

/* lock.c: the kernel store's writer lock */
int kernel_lock(struct abmap_group *g);
void kernel_unlock(struct abmap_group *g);

#endif /* __ABMAP_INTERNAL_H */
