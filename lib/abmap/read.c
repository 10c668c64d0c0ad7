// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bulk reads of a structure's live side, with the generation they belong to.
 *
 * A reader takes no lock. It reads the generation, then the live side, then the generation
 * again, as a seqlock reader does: a writer waits only for BPF programs to leave a retired side,
 * not for readers in userspace, so after a flip (and its grace period) it may rewrite the very
 * side being read. Equal generations prove that no flip landed in between, so the side stayed
 * live and no writer touched it; otherwise the read is repeated.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Reads tried before giving up with -EAGAIN (a writer flipping faster than we can read). */
#define READ_TRIES 16

typedef int (*side_reader_t)(struct abmap *map, int side, void *ctx);

static int read_generation(struct abmap_group *g, __u64 *gen)
{
	struct abmap_pointer ptr;
	int err = g->be->ptr_read(g, &ptr);

	*gen = ptr.generation;
	return err;
}

/* Run @read on the live side until no flip lands during it. */
static int read_live(struct abmap *map, side_reader_t read, void *ctx, __u64 *generation)
{
	__u64 before, after;
	int tries, err;

	for (tries = 0; tries < READ_TRIES; tries++) {
		err = read_generation(map->group, &before);
		if (err)
			return err;
		err = read(map, before & 1, ctx);
		/* The side's content must be loaded before the generation is checked again. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (read_generation(map->group, &after))
			return -EIO;
		if (before == after) {
			if (generation)
				*generation = before;
			return err;
		}
	}
	pr_warn("structure (map id %u): the group flipped during each of %d reads\n", map->id_a,
		READ_TRIES);
	return -EAGAIN;
}

struct array_read {
	__u32 start;
	__u32 count;
	void *values;
	__u32 len;
};

static void copy_from_mmap(const struct abmap *map, const struct abmap_side *s, __u32 start,
			   void *values, __u32 n)
{
	size_t stride = array_stride(map), vs = map->value_size;
	const __u8 *src = (const __u8 *)s->mem + (size_t)start * stride;
	__u32 i;

	if (stride == vs) {
		memcpy(values, src, (size_t)n * vs);
		return;
	}
	for (i = 0; i < n; i++)
		memcpy((__u8 *)values + (size_t)i * vs, src + (size_t)i * stride, vs);
}

static int array_read_side(struct abmap *map, int side, void *arg)
{
	const struct backend_ops *be = map->group->be;
	struct abmap_side *s = &map->sides[side];
	struct array_read *r = arg;
	__u32 i, index;
	int err;

	err = map_len(map, side, &r->len);
	if (err || !r->count)
		return err;
	if (s->mem) {
		copy_from_mmap(map, s, r->start, r->values, r->count);
		return 0;
	}
	if (be->read_range) {
		err = be->read_range(s, r->start, r->values, r->count);
		if (err != -EOPNOTSUPP)
			return err;
	}
	for (i = 0, err = 0; !err && i < r->count; i++) {
		index = r->start + i;
		err = kind_read(s, &index, (__u8 *)r->values + (size_t)i * map->value_size);
	}
	return err;
}

int abmap_array_read(struct abmap *array, __u32 start, __u32 count, void *values, __u32 *len,
		     __u64 *generation)
{
	struct array_read r = { .start = start, .count = count, .values = values };
	int err;

	if (!array || !array->kind->is_array || (count && !values))
		return libabmap_err(-EINVAL);
	if (start > array->max_entries || count > array->max_entries - start) {
		pr_warn("elements [%u, %u + %u) are past the array's %u entries\n", start, start,
			count, array->max_entries);
		return libabmap_err(-EINVAL);
	}
	err = read_live(array, array_read_side, &r, generation);
	if (!err && len)
		*len = r.len;
	return libabmap_err(err);
}

struct hash_read {
	void *keys; /* room for max_entries */
	void *values;
	__u32 n;
};

/* Key by key, through the kind's operations: user kinds, or a store without batch reads. */
static int hash_read_each(struct abmap *map, struct abmap_side *s, struct hash_read *r)
{
	size_t ks = map->key_size, vs = map->value_size;
	const void *prev = NULL;
	__u8 *key;
	int err;

	/* A map holds at most max_entries keys. */
	for (r->n = 0; r->n < map->max_entries; r->n++) {
		key = (__u8 *)r->keys + r->n * ks;
		err = kind_next_key(s, prev, key);
		if (err == -ENOENT)
			return 0;
		if (!err)
			err = kind_read(s, key, (__u8 *)r->values + r->n * vs);
		if (err)
			return err;
		prev = key;
	}
	return 0;
}

static int hash_read_side(struct abmap *map, int side, void *arg)
{
	const struct abmap_kind_ops *ops = &map->kind->ops;
	const struct backend_ops *be = map->group->be;
	struct abmap_side *s = &map->sides[side];
	struct hash_read *r = arg;
	int err;

	/* The store's own bulk read is the kind's content only when the kind uses plain I/O. */
	if (be->read_all && !ops->read && !ops->next_key) {
		err = be->read_all(s, r->keys, r->values, &r->n);
		if (err != -EOPNOTSUPP)
			return err;
	}
	return hash_read_each(map, s, r);
}

int abmap_hash_read(struct abmap *hash, void *keys, void *values, __u32 max, __u32 *n,
		    __u64 *generation)
{
	struct hash_read r = { .keys = keys, .values = values };
	bool staged;
	int err;

	if (!hash || hash->kind->is_array || !n || (max && (!keys || !values)))
		return libabmap_err(-EINVAL);
	/* Read into the caller's buffers when they can hold any content, else stage it here. */
	staged = max < hash->max_entries;
	if (staged) {
		r.keys = malloc((size_t)hash->max_entries * hash->key_size);
		r.values = malloc((size_t)hash->max_entries * hash->value_size);
	}
	err = r.keys && r.values ? read_live(hash, hash_read_side, &r, generation) : -ENOMEM;
	if (!err) {
		*n = r.n;
		if (r.n > max)
			err = -ENOSPC;
		else if (staged && r.n)
			memcpy(keys, r.keys, (size_t)r.n * hash->key_size);
		if (!err && staged && r.n)
			memcpy(values, r.values, (size_t)r.n * hash->value_size);
	}
	if (staged) {
		free(r.keys);
		free(r.values);
	}
	return libabmap_err(err);
}
