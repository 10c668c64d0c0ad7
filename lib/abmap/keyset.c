// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Open-addressing set of fixed-size keys. It remembers where the two sides of a structure may
 * differ, so a commit copies only those keys. Once it grows past its limit it becomes "all keys",
 * which costs a full copy but is never wrong.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KEYSET_MIN_CAP 16

void keyset_init(struct keyset *set, __u32 key_size, __u32 limit)
{
	memset(set, 0, sizeof(*set));
	set->key_size = key_size;
	set->limit = limit;
}

void keyset_free(struct keyset *set)
{
	free(set->used);
	free(set->keys);
	set->used = NULL;
	set->keys = NULL;
	set->cap = 0;
	set->count = 0;
}

/* Past this many slots an empty set gives its memory back: scanning it would cost O(old size). */
#define KEYSET_KEEP_CAP 1024

void keyset_clear(struct keyset *set)
{
	if (set->cap > KEYSET_KEEP_CAP)
		keyset_free(set);
	else if (set->count)
		memset(set->used, 0, set->cap);
	set->count = 0;
	set->all = false;
}

void keyset_set_all(struct keyset *set)
{
	keyset_clear(set);
	set->all = true;
}

static __u32 key_hash(const void *key, __u32 size)
{
	const __u8 *p = key;
	__u32 h = 2166136261u;

	while (size--)
		h = (h ^ *p++) * 16777619u;
	return h ^ (h >> 15);
}

static __u32 find_slot(const struct keyset *set, const void *key, bool *found)
{
	__u32 mask = set->cap - 1;
	__u32 i = key_hash(key, set->key_size) & mask;

	while (set->used[i]) {
		if (!memcmp(set->keys + (size_t)i * set->key_size, key, set->key_size)) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
	*found = false;
	return i;
}

static int grow(struct keyset *set)
{
	__u32 cap = set->cap ? set->cap * 2 : KEYSET_MIN_CAP;
	struct keyset bigger = *set;
	__u32 i;

	bigger.cap = cap;
	bigger.count = 0;
	bigger.used = calloc(cap, 1);
	bigger.keys = malloc((size_t)cap * set->key_size);
	if (!bigger.used || !bigger.keys) {
		free(bigger.used);
		free(bigger.keys);
		return -ENOMEM;
	}
	for (i = 0; i < set->cap; i++) {
		bool found;
		__u32 slot;

		if (!set->used[i])
			continue;
		slot = find_slot(&bigger, set->keys + (size_t)i * set->key_size, &found);
		bigger.used[slot] = 1;
		memcpy(bigger.keys + (size_t)slot * set->key_size,
		       set->keys + (size_t)i * set->key_size, set->key_size);
		bigger.count++;
	}
	keyset_free(set);
	*set = bigger;
	return 0;
}

void keyset_add(struct keyset *set, const void *key)
{
	bool found;
	__u32 slot;

	if (set->all)
		return;
	if (set->count >= set->limit) {
		keyset_set_all(set);
		return;
	}
	if ((set->count + 1) * 4 > set->cap * 3 && grow(set)) {
		keyset_set_all(set);
		return;
	}
	slot = find_slot(set, key, &found);
	if (found)
		return;
	set->used[slot] = 1;
	memcpy(set->keys + (size_t)slot * set->key_size, key, set->key_size);
	set->count++;
}

bool keyset_has(const struct keyset *set, const void *key)
{
	bool found = false;

	if (set->all)
		return true;
	if (!set->count)
		return false;
	find_slot(set, key, &found);
	return found;
}

const void *keyset_next(const struct keyset *set, __u32 *pos)
{
	if (!set->count)
		return NULL;
	for (; *pos < set->cap; (*pos)++) {
		if (set->used[*pos])
			return set->keys + (size_t)(*pos)++ * set->key_size;
	}
	return NULL;
}
