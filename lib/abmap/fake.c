// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * In-memory backend, so controllers can be unit-tested without a kernel. It keeps the kernel's
 * rules that matter to a writer (arrays cannot delete, hashes fill up at max_entries, next_key
 * of a missing key restarts) and counts and fails operations on request.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct fake_group {
	struct abmap_pointer ptr;
	unsigned long count[__ABMAP_FAKE_OP_MAX];
	unsigned int fail_in[__ABMAP_FAKE_OP_MAX];
	int fail_err[__ABMAP_FAKE_OP_MAX];
	__u32 next_id;
};

struct fake_side {
	__u8 *values;
	__u8 *keys; /* hashes */
	__u8 *used; /* hashes */
};

static struct fake_group *fg(struct abmap_group *g)
{
	return g->fake;
}

static int fake_op(struct abmap_group *g, enum abmap_fake_op op)
{
	struct fake_group *f = fg(g);

	f->count[op]++;
	if (f->fail_in[op] && !--f->fail_in[op])
		return f->fail_err[op];
	return 0;
}

static struct fake_side *fs(struct abmap_side *s)
{
	return s->fake;
}

static __u8 *value_at(struct abmap_side *s, __u32 slot)
{
	return fs(s)->values + (size_t)slot * s->map->value_size;
}

/* Slot of @key, or -1. */
static long find(struct abmap_side *s, const void *key)
{
	struct abmap *map = s->map;
	__u32 i;

	if (map->fake_array)
		return *(const __u32 *)key < map->max_entries ? (long)*(const __u32 *)key : -1;
	for (i = 0; i < map->max_entries; i++) {
		if (fs(s)->used[i] &&
		    !memcmp(fs(s)->keys + (size_t)i * map->key_size, key, map->key_size))
			return i;
	}
	return -1;
}

static int fake_lookup(struct abmap_side *s, const void *key, void *value)
{
	long slot = find(s, key);

	if (slot < 0)
		return -ENOENT;
	memcpy(value, value_at(s, slot), s->map->value_size);
	return 0;
}

static int fake_update(struct abmap_side *s, const void *key, const void *value)
{
	struct abmap *map = s->map;
	long slot;
	int err;
	__u32 i;

	err = fake_op(map->group, ABMAP_FAKE_WRITE);
	if (err)
		return err;
	slot = find(s, key);
	if (slot < 0 && map->fake_array)
		return -E2BIG;
	for (i = 0; slot < 0 && i < map->max_entries; i++) {
		if (!fs(s)->used[i])
			slot = i;
	}
	if (slot < 0)
		return -E2BIG;
	if (!map->fake_array) {
		fs(s)->used[slot] = 1;
		memcpy(fs(s)->keys + (size_t)slot * map->key_size, key, map->key_size);
	}
	memcpy(value_at(s, slot), value, map->value_size);
	return 0;
}

static int fake_delete(struct abmap_side *s, const void *key)
{
	long slot;
	int err;

	err = fake_op(s->map->group, ABMAP_FAKE_WRITE);
	if (err)
		return err;
	if (s->map->fake_array)
		return -EINVAL;
	slot = find(s, key);
	if (slot < 0)
		return -ENOENT;
	fs(s)->used[slot] = 0;
	return 0;
}

static int fake_next_key(struct abmap_side *s, const void *key, void *next_key)
{
	struct abmap *map = s->map;
	long slot = key ? find(s, key) : -1;
	__u32 i;

	if (map->fake_array) {
		i = slot < 0 ? 0 : slot + 1;
		if (i >= map->max_entries)
			return -ENOENT;
		*(__u32 *)next_key = i;
		return 0;
	}
	for (i = slot < 0 ? 0 : slot + 1; i < map->max_entries; i++) {
		if (fs(s)->used[i]) {
			memcpy(next_key, fs(s)->keys + (size_t)i * map->key_size, map->key_size);
			return 0;
		}
	}
	return -ENOENT;
}

static int fake_read_range(struct abmap_side *s, __u32 start, void *values, __u32 n)
{
	if (!s->map->fake_array)
		return -EOPNOTSUPP;
	memcpy(values, value_at(s, start), (size_t)n * s->map->value_size);
	return 0;
}

static int fake_read_all(struct abmap_side *s, void *keys, void *values, __u32 *n)
{
	struct abmap *map = s->map;
	__u32 i;

	if (map->fake_array)
		return -EOPNOTSUPP;
	for (i = 0, *n = 0; i < map->max_entries; i++) {
		if (!fs(s)->used[i])
			continue;
		memcpy((__u8 *)keys + (size_t)*n * map->key_size,
		       fs(s)->keys + (size_t)i * map->key_size, map->key_size);
		memcpy((__u8 *)values + (size_t)*n * map->value_size, value_at(s, i),
		       map->value_size);
		(*n)++;
	}
	return 0;
}

static int fake_len_read(struct abmap *map, int side, __u32 *len)
{
	*len = ((__u32 *)map->fake_len)[side];
	return 0;
}

static int fake_len_write(struct abmap *map, int side, __u32 len)
{
	int err = fake_op(map->group, ABMAP_FAKE_WRITE);

	if (!err)
		((__u32 *)map->fake_len)[side] = len;
	return err;
}

static void fake_side_free(struct abmap_side *s)
{
	struct fake_side *f = s->fake;

	if (!f)
		return;
	free(f->values);
	free(f->keys);
	free(f->used);
	free(f);
	s->fake = NULL;
	if (s->side == ABMAP_SIDE_A) {
		free(s->map->fake_len);
		s->map->fake_len = NULL;
	}
}

static int fake_ptr_read(struct abmap_group *g, struct abmap_pointer *ptr)
{
	*ptr = fg(g)->ptr;
	return 0;
}

static int fake_ptr_flip(struct abmap_group *g, const struct abmap_pointer *next)
{
	__u64 grace_gen = fg(g)->ptr.grace_gen;
	int err = fake_op(g, ABMAP_FAKE_FLIP);

	if (err)
		return err;
	fg(g)->ptr = *next;
	fg(g)->ptr.grace_gen = grace_gen;
	return 0;
}

static int fake_ptr_mark(struct abmap_group *g, __u64 passive_gen, __u64 token)
{
	fg(g)->ptr.passive_gen = passive_gen;
	fg(g)->ptr.writer_token = token;
	return 0;
}

static void fake_ptr_raise_grace(struct abmap_group *g, __u64 gen)
{
	if (gen > fg(g)->ptr.grace_gen)
		fg(g)->ptr.grace_gen = gen;
}

static int fake_grace_wait(struct abmap_group *g)
{
	return fake_op(g, ABMAP_FAKE_GRACE);
}

static int fake_lock(struct abmap_group *g)
{
	(void)g;
	return 0;
}

static void fake_unlock(struct abmap_group *g)
{
	(void)g;
}

static void fake_group_free(struct abmap_group *g)
{
	free(g->fake);
}

const struct backend_ops fake_backend = {
	.lookup = fake_lookup,
	.update = fake_update,
	.delete = fake_delete,
	.next_key = fake_next_key,
	.read_range = fake_read_range,
	.read_all = fake_read_all,
	.len_read = fake_len_read,
	.len_write = fake_len_write,
	.side_free = fake_side_free,
	.ptr_read = fake_ptr_read,
	.ptr_flip = fake_ptr_flip,
	.ptr_mark = fake_ptr_mark,
	.ptr_raise_grace = fake_ptr_raise_grace,
	.grace_wait = fake_grace_wait,
	.lock = fake_lock,
	.unlock = fake_unlock,
	.group_free = fake_group_free,
	.async_grace = false,
};

struct abmap_group *abmap_fake_group_new(const struct abmap_group_opts *opts)
{
	struct abmap_group *g = group_alloc(&fake_backend, opts);

	if (!g)
		return NULL;
	g->fake = calloc(1, sizeof(struct fake_group));
	if (!g->fake) {
		abmap_group_free(g);
		return libabmap_err_ptr(-ENOMEM);
	}
	return g;
}

static bool is_fake(const struct abmap_group *g)
{
	return g && g->be == &fake_backend;
}

static struct fake_side *fake_side_alloc(const struct abmap *map)
{
	struct fake_side *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->values = calloc(map->max_entries, map->value_size);
	if (!map->fake_array) {
		f->keys = calloc(map->max_entries, map->key_size);
		f->used = calloc(map->max_entries, 1);
	}
	if (!f->values || (!map->fake_array && (!f->keys || !f->used))) {
		free(f->values);
		free(f->keys);
		free(f->used);
		free(f);
		return NULL;
	}
	return f;
}

static struct abmap *fake_new(struct abmap_group *g, const char *kind_name, enum bpf_map_type type,
			      __u32 key_size, __u32 value_size, __u32 max_entries, bool with_len)
{
	struct bpf_map_info info = {
		.type = type,
		.key_size = key_size,
		.value_size = value_size,
		.max_entries = max_entries,
		.name = "fake",
	};
	struct kind *kind;
	struct abmap *map;
	int side, err;

	if (!is_fake(g) || !kind_name || !key_size || !value_size || !max_entries)
		return libabmap_err_ptr(-EINVAL);
	kind = map_attach_kind(g, kind_name);
	if (!kind)
		return NULL;
	info.id = fg(g)->next_id + 1;
	err = kind->ops.validate(&info);
	if (err) {
		kind_put(kind);
		return libabmap_err_ptr(err);
	}
	map = map_alloc(g, kind, key_size, value_size, max_entries);
	if (!map) {
		kind_put(kind);
		return libabmap_err_ptr(-ENOMEM);
	}
	map->id_a = ++fg(g)->next_id;
	map->fake_array = type == BPF_MAP_TYPE_ARRAY;
	map->has_len = with_len;
	map->fake_len = calloc(2, sizeof(__u32));
	for (side = 0; side < 2; side++)
		map->sides[side].fake = fake_side_alloc(map);
	if (!map->fake_len || !map->sides[0].fake || !map->sides[1].fake) {
		map_link(map);
		map_destroy(map);
		return libabmap_err_ptr(-ENOMEM);
	}
	map_link(map);
	return map;
}

struct abmap *abmap_fake_array_new(struct abmap_group *g, __u32 value_size, __u32 max_entries,
				   __u32 flags)
{
	if (flags & ~ABMAP_FAKE_NO_LEN)
		return libabmap_err_ptr(-EINVAL);
	return fake_new(g, "array", BPF_MAP_TYPE_ARRAY, sizeof(__u32), value_size, max_entries,
			!(flags & ABMAP_FAKE_NO_LEN));
}

struct abmap *abmap_fake_hash_new(struct abmap_group *g, __u32 key_size, __u32 value_size,
				  __u32 max_entries)
{
	return fake_new(g, "hash", BPF_MAP_TYPE_HASH, key_size, value_size, max_entries, false);
}

struct abmap *abmap_fake_new(struct abmap_group *g, const char *kind, enum bpf_map_type type,
			     __u32 key_size, __u32 value_size, __u32 max_entries)
{
	if (type == BPF_MAP_TYPE_ARRAY && key_size != sizeof(__u32))
		return libabmap_err_ptr(-EINVAL);
	return fake_new(g, kind, type, key_size, value_size, max_entries, false);
}

int abmap_fake_peek(struct abmap *map, int side, const void *key, void *value)
{
	if (!map || !is_fake(map->group) || (side != ABMAP_SIDE_A && side != ABMAP_SIDE_B) ||
	    !key || !value)
		return libabmap_err(-EINVAL);
	return libabmap_err(fake_lookup(&map->sides[side], key, value));
}

int abmap_fake_peek_len(struct abmap *array, int side, __u32 *len)
{
	if (!array || !is_fake(array->group) || !array->kind->is_array ||
	    (side != ABMAP_SIDE_A && side != ABMAP_SIDE_B) || !len)
		return libabmap_err(-EINVAL);
	return libabmap_err(map_len(array, side, len));
}

int abmap_fake_fail(struct abmap_group *g, enum abmap_fake_op op, unsigned int nth, int err)
{
	if (!is_fake(g) || op < 0 || op >= __ABMAP_FAKE_OP_MAX || err >= 0)
		return libabmap_err(-EINVAL);
	fg(g)->fail_in[op] = nth;
	fg(g)->fail_err[op] = err;
	return 0;
}

unsigned long abmap_fake_count(struct abmap_group *g, enum abmap_fake_op op)
{
	if (!is_fake(g) || op < 0 || op >= __ABMAP_FAKE_OP_MAX)
		return 0;
	return fg(g)->count[op];
}
