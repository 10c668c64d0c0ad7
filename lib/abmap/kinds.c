// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kinds of structures. A kind says which maps may serve as a side and how one side is read and
 * written; the engine (sync.c, txn.c) only speaks to kinds. "array" and "hash" are built in;
 * users may register more (e.g. an LPM trie) at run time.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int array_validate(const struct bpf_map_info *info)
{
	if (info->type != BPF_MAP_TYPE_ARRAY) {
		pr_warn("map '%s' (id %u) has type %u, an array structure needs BPF_MAP_TYPE_ARRAY\n",
			info->name, info->id, info->type);
		return -EINVAL;
	}
	if (info->key_size != sizeof(__u32)) {
		pr_warn("map '%s' (id %u) has key size %u, arrays use 4-byte keys\n", info->name,
			info->id, info->key_size);
		return -EINVAL;
	}
	return 0;
}

static int hash_validate(const struct bpf_map_info *info)
{
	if (info->type != BPF_MAP_TYPE_HASH) {
		pr_warn("map '%s' (id %u) has type %u, a hash structure needs BPF_MAP_TYPE_HASH\n",
			info->name, info->id, info->type);
		return -EINVAL;
	}
	return 0;
}

static void *array_slot(struct abmap_side *s, const void *key)
{
	__u32 index = *(const __u32 *)key;

	if (index >= s->map->max_entries)
		return NULL;
	return (__u8 *)s->mem + (size_t)index * array_stride(s->map);
}

static int array_read(struct abmap_side *s, const void *key, void *value)
{
	void *slot;

	if (!s->mem)
		return abmap_side_lookup(s, key, value);
	slot = array_slot(s, key);
	if (!slot)
		return -ENOENT;
	memcpy(value, slot, s->map->value_size);
	return 0;
}

static int array_write(struct abmap_side *s, const void *key, const void *value)
{
	void *slot;

	if (!s->mem)
		return abmap_side_update(s, key, value);
	slot = array_slot(s, key);
	if (!slot)
		return -E2BIG;
	memcpy(slot, value, s->map->value_size);
	return 0;
}

/* ARRAY maps cannot delete (-EINVAL, and ENOTSUPP for batches): erasing zeroes the slot. */
static int array_erase(struct abmap_side *s, const void *key)
{
	void *zero = calloc(1, s->map->value_size);
	int err;

	if (!zero)
		return -ENOMEM;
	err = array_write(s, key, zero);
	free(zero);
	return err;
}

static int array_next_key(struct abmap_side *s, const void *key, void *next_key)
{
	__u32 next = key ? *(const __u32 *)key + 1 : 0;

	if (next >= s->map->max_entries)
		return -ENOENT;
	*(__u32 *)next_key = next;
	return 0;
}

static struct kind builtin_hash = {
	.ops = {
		.sz = sizeof(struct abmap_kind_ops),
		.name = "hash",
		.validate = hash_validate,
	},
	.builtin = true,
};

static struct kind builtin_array = {
	.ops = {
		.sz = sizeof(struct abmap_kind_ops),
		.name = "array",
		.validate = array_validate,
		.read = array_read,
		.write = array_write,
		.erase = array_erase,
		.next_key = array_next_key,
	},
	.builtin = true,
	.is_array = true,
	.next = &builtin_hash,
};

static pthread_mutex_t kinds_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kind *kinds = &builtin_array;

static struct kind *kind_find(const char *name)
{
	struct kind *k;

	for (k = kinds; k; k = k->next) {
		if (!strcmp(k->ops.name, name))
			return k;
	}
	return NULL;
}

struct kind *kind_get(const char *name)
{
	struct kind *k;

	pthread_mutex_lock(&kinds_mu);
	k = kind_find(name);
	if (k)
		k->users++;
	pthread_mutex_unlock(&kinds_mu);
	return k;
}

void kind_put(struct kind *kind)
{
	pthread_mutex_lock(&kinds_mu);
	kind->users--;
	pthread_mutex_unlock(&kinds_mu);
}

int abmap_kind_register(const struct abmap_kind_ops *ops)
{
	struct kind *k;
	int err = 0;

	if (!ops || ops->sz < offsetofend(struct abmap_kind_ops, validate) || !ops->name ||
	    !*ops->name || !ops->validate || !OPTS_VALID(ops, abmap_kind_ops))
		return libabmap_err(-EINVAL);
	k = calloc(1, sizeof(*k));
	if (!k)
		return libabmap_err(-ENOMEM);
	memcpy(&k->ops, ops, ops->sz < sizeof(k->ops) ? ops->sz : sizeof(k->ops));
	k->ops.sz = sizeof(k->ops);

	pthread_mutex_lock(&kinds_mu);
	if (kind_find(ops->name)) {
		err = -EEXIST;
	} else {
		k->next = kinds;
		kinds = k;
	}
	pthread_mutex_unlock(&kinds_mu);
	if (err) {
		free(k);
		pr_warn("kind '%s' is already registered\n", ops->name);
	}
	return libabmap_err(err);
}

int abmap_kind_unregister(const char *name)
{
	struct kind **pp, *k = NULL;
	int err = -ENOENT;

	if (!name)
		return libabmap_err(-EINVAL);
	pthread_mutex_lock(&kinds_mu);
	for (pp = &kinds; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->ops.name, name))
			continue;
		k = *pp;
		if (k->builtin) {
			err = -EPERM;
		} else if (k->users) {
			err = -EBUSY;
		} else {
			*pp = k->next;
			err = 0;
		}
		break;
	}
	pthread_mutex_unlock(&kinds_mu);
	if (!err)
		free(k);
	return libabmap_err(err);
}

int kind_read(struct abmap_side *s, const void *key, void *value)
{
	const struct abmap_kind_ops *ops = &s->map->kind->ops;

	return ops->read ? ops->read(s, key, value) : abmap_side_lookup(s, key, value);
}

int kind_write(struct abmap_side *s, const void *key, const void *value)
{
	const struct abmap_kind_ops *ops = &s->map->kind->ops;

	return ops->write ? ops->write(s, key, value) : abmap_side_update(s, key, value);
}

int kind_erase(struct abmap_side *s, const void *key)
{
	const struct abmap_kind_ops *ops = &s->map->kind->ops;
	int err;

	err = ops->erase ? ops->erase(s, key) : abmap_side_delete(s, key);
	return err == -ENOENT ? 0 : err;
}

int kind_next_key(struct abmap_side *s, const void *key, void *next_key)
{
	const struct abmap_kind_ops *ops = &s->map->kind->ops;

	return ops->next_key ? ops->next_key(s, key, next_key) :
			       abmap_side_next_key(s, key, next_key);
}

int abmap_side_lookup(struct abmap_side *side, const void *key, void *value)
{
	if (!side || !key || !value)
		return libabmap_err(-EINVAL);
	return libabmap_err(side->map->group->be->lookup(side, key, value));
}

int abmap_side_update(struct abmap_side *side, const void *key, const void *value)
{
	if (!side || !key || !value)
		return libabmap_err(-EINVAL);
	return libabmap_err(side->map->group->be->update(side, key, value));
}

int abmap_side_delete(struct abmap_side *side, const void *key)
{
	if (!side || !key)
		return libabmap_err(-EINVAL);
	return libabmap_err(side->map->group->be->delete (side, key));
}

int abmap_side_next_key(struct abmap_side *side, const void *key, void *next_key)
{
	if (!side || !next_key)
		return libabmap_err(-EINVAL);
	return libabmap_err(side->map->group->be->next_key(side, key, next_key));
}

__u32 abmap_side_key_size(const struct abmap_side *side)
{
	return side ? side->map->key_size : 0;
}

__u32 abmap_side_value_size(const struct abmap_side *side)
{
	return side ? side->map->value_size : 0;
}

int abmap_check_prog(const struct abmap *map, enum bpf_prog_type type)
{
	if (!map)
		return libabmap_err(-EINVAL);
	if (map->kind->ops.prog_type_ok && !map->kind->ops.prog_type_ok(type))
		return libabmap_err(-EOPNOTSUPP);
	return 0;
}
