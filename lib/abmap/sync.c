// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writing one structure's passive side.
 *
 * Invariant: map->diff holds every key where the passive and the live side may differ, valid
 * while map->diff_gen equals the live generation. A flip swaps the sides, and the set of keys
 * where they differ is symmetric, so after a flip the same set stays valid for the new
 * generation. Catching the passive side up is then "copy these keys from live", and every write
 * adds its key to the set *before* writing, so a failure half-way leaves the set still covering
 * everything that may be wrong. When the set is unknown (another process wrote last, or the set
 * overflowed) both sides are compared in full.
 *
 * Arrays keep every slot at or past their length zero, on both sides, so a length map plus the
 * slots below it say everything.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int map_len(struct abmap *map, int side, __u32 *len)
{
	if (!map->has_len) {
		*len = map->max_entries;
		return 0;
	}
	return map->group->be->len_read(map, side, len);
}

static int set_len(struct abmap *map, int passive, __u32 len)
{
	map->diff_len = true;
	return map->group->be->len_write(map, passive, len);
}

static int copy_len(struct abmap *map, int passive)
{
	__u32 live_len, passive_len;
	int err;

	if (!map->has_len)
		return 0;
	err = map_len(map, !passive, &live_len);
	if (!err)
		err = map_len(map, passive, &passive_len);
	if (!err && live_len != passive_len)
		err = map->group->be->len_write(map, passive, live_len);
	return err;
}

/*
 * Copy the keys of map->diff from live, in two passes: the keys live lacks are erased first,
 * then the others are written, so that a hash at max_entries never sees an insert before the
 * delete that makes room for it (the passive side then never holds more keys than live).
 */
static int replay_diff(struct abmap *map, int passive)
{
	size_t vs = map->value_size;
	__u32 n = map->diff.count, nr = 0, pos = 0;
	const void **keys = malloc(((size_t)n + 1) * sizeof(*keys));
	__u8 *vals = malloc(((size_t)n + 1) * vs);
	const void *key;
	int err = keys && vals ? 0 : -ENOMEM;

	while (!err && (key = keyset_next(&map->diff, &pos))) {
		err = kind_read(&map->sides[!passive], key, vals + nr * vs);
		if (err == -ENOENT) {
			err = kind_erase(&map->sides[passive], key);
			continue;
		}
		if (!err)
			keys[nr++] = key;
	}
	for (pos = 0; !err && pos < nr; pos++)
		err = kind_write(&map->sides[passive], keys[pos], vals + pos * vs);
	free(keys);
	free(vals);
	if (!err && map->diff_len)
		err = copy_len(map, passive);
	return err;
}

/* Read elements 0..n-1 of one array side into @values. */
static int array_read_all(struct abmap *map, int side, void *values, __u32 n)
{
	const struct backend_ops *be = map->group->be;
	struct abmap_side *s = &map->sides[side];
	__u32 i;
	int err;

	if (be->read_range && !map->no_batch) {
		err = be->read_range(s, 0, values, n);
		if (err != -EOPNOTSUPP)
			return err;
	}
	for (i = 0; i < n; i++) {
		err = kind_read(s, &i, (__u8 *)values + (size_t)i * map->value_size);
		if (err)
			return err;
	}
	return 0;
}

/* Write @n elements given by index list @keys (NULL: indexes 0..n-1) on one side. */
static int array_write_elems(struct abmap *map, int side, const __u32 *keys, const void *values,
			     __u32 n)
{
	const struct backend_ops *be = map->group->be;
	struct abmap_side *s = &map->sides[side];
	__u32 i;
	int err;

	if (!n)
		return 0;
	if (!keys)
		keys = map->iota;
	if (!s->mem && be->update_batch && !map->no_batch) {
		err = be->update_batch(s, keys, values, n);
		if (err != -EOPNOTSUPP)
			return err;
	}
	for (i = 0; i < n; i++) {
		err = kind_write(s, &keys[i], (const __u8 *)values + (size_t)i * map->value_size);
		if (err)
			return err;
	}
	return 0;
}

static int array_copy_all(struct abmap *map, int passive)
{
	size_t vs = map->value_size, n = map->max_entries;
	__u8 *live = NULL, *pas = NULL, *vals = NULL;
	__u32 *keys = NULL, nr = 0, i;
	int err;

	if (map->sides[0].mem && map->sides[1].mem) {
		memcpy(map->sides[passive].mem, map->sides[!passive].mem, n * array_stride(map));
		return copy_len(map, passive);
	}
	live = malloc(n * vs);
	pas = malloc(n * vs);
	vals = malloc(n * vs);
	keys = malloc(n * sizeof(*keys));
	err = live && pas && vals && keys ? 0 : -ENOMEM;
	if (!err)
		err = array_read_all(map, !passive, live, n);
	if (!err)
		err = array_read_all(map, passive, pas, n);
	for (i = 0; !err && i < n; i++) {
		if (!memcmp(live + i * vs, pas + i * vs, vs))
			continue;
		keys[nr] = i;
		memcpy(vals + (size_t)nr * vs, live + i * vs, vs);
		nr++;
	}
	if (!err)
		err = array_write_elems(map, passive, keys, vals, nr);
	if (!err)
		err = copy_len(map, passive);
	free(live);
	free(pas);
	free(vals);
	free(keys);
	return err;
}

/* Every key present on one side. */
static int collect_keys(struct abmap *map, int side, __u8 **keys_out, __u32 *n_out)
{
	struct abmap_side *s = &map->sides[side];
	size_t ks = map->key_size;
	__u32 n = 0, cap = 64;
	__u8 *keys = malloc(cap * ks);
	const void *prev = NULL;
	int err;

	if (!keys)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			__u8 *bigger = realloc(keys, (size_t)cap * 2 * ks);

			if (!bigger) {
				free(keys);
				return -ENOMEM;
			}
			keys = bigger;
			cap *= 2;
			if (prev)
				prev = keys + (size_t)(n - 1) * ks;
		}
		err = kind_next_key(s, prev, keys + (size_t)n * ks);
		if (err == -ENOENT)
			break;
		if (err) {
			free(keys);
			return err;
		}
		prev = keys + (size_t)n * ks;
		n++;
	}
	*keys_out = keys;
	*n_out = n;
	return 0;
}

/* Generic full comparison: remove what live lacks, write what differs. */
static int generic_copy_all(struct abmap *map, int passive)
{
	size_t ks = map->key_size;
	__u8 *keys = NULL, *a = malloc(map->value_size), *b = malloc(map->value_size);
	__u32 n = 0, i;
	int err = a && b ? 0 : -ENOMEM;

	if (!err)
		err = collect_keys(map, passive, &keys, &n);
	for (i = 0; !err && i < n; i++) {
		err = kind_read(&map->sides[!passive], keys + i * ks, a);
		if (err == -ENOENT)
			err = kind_erase(&map->sides[passive], keys + i * ks);
	}
	free(keys);
	keys = NULL;
	if (!err)
		err = collect_keys(map, !passive, &keys, &n);
	for (i = 0; !err && i < n; i++) {
		const void *key = keys + i * ks;

		err = kind_read(&map->sides[!passive], key, a);
		if (err)
			break;
		err = kind_read(&map->sides[passive], key, b);
		if (err && err != -ENOENT)
			break;
		if (err == -ENOENT || memcmp(a, b, map->value_size))
			err = kind_write(&map->sides[passive], key, a);
	}
	free(keys);
	free(a);
	free(b);
	return err;
}

int map_catch_up(struct abmap *map, int passive)
{
	struct abmap_group *g = map->group;
	int err;

	if (map->ready)
		return 0;
	if (map->diff_gen == g->gen && !map->diff.all) {
		err = replay_diff(map, passive);
		/*
		 * The set still covers every key that may differ, but a replay that failed once
		 * may fail the same way again: the next attempt compares both sides in full.
		 */
		if (err)
			keyset_set_all(&map->diff);
	} else {
		pr_debug("structure (map id %u): comparing both sides in full\n", map->id_a);
		err = map->kind->is_array ? array_copy_all(map, passive) :
					    generic_copy_all(map, passive);
	}
	if (err)
		return err;
	keyset_clear(&map->diff);
	map->diff_len = false;
	map->diff_gen = g->gen;
	map->ready = true;
	return 0;
}

/*
 * After writing a whole content: the sides now differ exactly at @changed (and in length if
 * @len_differs); after a failure, anywhere. Takes over @changed.
 */
static int adopt_changes(struct abmap *map, struct keyset *changed, bool len_differs, int err)
{
	map->diff_len = len_differs || (err && map->kind->is_array);
	if (err) {
		keyset_free(changed);
		keyset_set_all(&map->diff);
		return err;
	}
	keyset_free(&map->diff);
	map->diff = *changed;
	/* Exact, measured against the live side: valid for this generation. */
	map->diff_gen = map->group->gen;
	return 0;
}

/* Highest slot + 1 that may be non-zero on the passive side of an array. */
static int array_dirty_limit(struct abmap *map, int passive, __u32 *limit)
{
	bool known = map->diff_gen == map->group->gen && !map->diff.all;

	*limit = map->max_entries;
	if (!map->has_len || !known || map->sides[passive].mem)
		return 0;
	return map_len(map, passive, limit);
}

/* Element compare and copy; the common 4- and 8-byte values become single loads and stores. */
static inline bool elem_equal(const void *a, const void *b, size_t size)
{
	__u64 x = 0, y = 0;

	switch (size) {
	case 4:
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		return x == y;
	case 8:
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return x == y;
	default:
		return !memcmp(a, b, size);
	}
}

static inline void elem_copy(void *dst, const void *src, size_t size)
{
	switch (size) {
	case 4:
		memcpy(dst, src, 4);
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	default:
		memcpy(dst, src, size);
	}
}

static const void *new_elem(const struct abmap *map, const void *values, __u32 n, __u32 i,
			    const void *zero)
{
	return i < n ? (const __u8 *)values + (size_t)i * map->value_size : zero;
}

/*
 * Indexes where the new content (@n values, zero past them) differs from the live side: once
 * the passive side holds the new content, the sides differ exactly there.
 */
static int array_changes(struct abmap *map, int passive, const void *values, __u32 n,
			 struct keyset *changed, bool *len_differs)
{
	struct abmap_side *live = &map->sides[!passive];
	size_t vs = map->value_size, step = live->mem ? array_stride(map) : vs;
	__u8 *zero = calloc(1, vs), *buf = NULL;
	const __u8 *base = live->mem;
	__u32 live_len = 0, hi, i, nr;
	int err;

	err = zero ? map_len(map, !passive, &live_len) : -ENOMEM;
	*len_differs = map->has_len && n != live_len;
	hi = n > live_len ? n : live_len;
	if (!err && !base) {
		buf = malloc((size_t)hi * vs + 1);
		err = buf ? array_read_all(map, !passive, buf, hi) : -ENOMEM;
		base = buf;
	}
	/* Count first: a content that mostly changed is cheaper to mark "all" than to list. */
	for (i = 0, nr = 0; !err && i < hi && nr <= changed->limit; i++)
		nr += !elem_equal(base + i * step, new_elem(map, values, n, i, zero), vs);
	if (nr > changed->limit)
		keyset_set_all(changed);
	for (i = 0; !err && i < hi && !changed->all; i++) {
		if (!elem_equal(base + i * step, new_elem(map, values, n, i, zero), vs))
			keyset_add(changed, &i);
	}
	free(buf);
	free(zero);
	return err;
}

/*
 * Where the passive side must be written to hold the new content: where the new content
 * differs from live, plus where the passive side differs from live right now (changes
 * earlier in this session). Catches the passive side up first.
 */
static int keys_to_write(struct abmap *map, int passive, const struct keyset *changed,
			 struct keyset *todo)
{
	const void *key;
	__u32 pos = 0;
	int err;

	err = map_catch_up(map, passive);
	if (err)
		return err;
	while ((key = keyset_next(&map->diff, &pos)))
		keyset_add(todo, key);
	pos = 0;
	while ((key = keyset_next(changed, &pos)))
		keyset_add(todo, key);
	keyset_set_all(&map->diff);
	return todo->all ? -ENOMEM : 0;
}

/* Passive side caught up: write only the changed elements. */
static int write_changes(struct abmap *map, int passive, const struct keyset *changed,
			 const void *values, __u32 n)
{
	size_t vs = map->value_size;
	__u32 *keys = malloc((changed->count + 1) * sizeof(*keys)), nr = 0, pos = 0;
	__u8 *vals = malloc((changed->count + 1) * vs), *zero = calloc(1, vs);
	const __u32 *key;
	int err = keys && vals && zero ? 0 : -ENOMEM;

	while (!err && (key = keyset_next(changed, &pos))) {
		keys[nr] = *key;
		memcpy(vals + nr * vs, new_elem(map, values, n, *key, zero), vs);
		nr++;
	}
	if (!err)
		err = array_write_elems(map, passive, keys, vals, nr);
	if (!err && map->has_len)
		err = set_len(map, passive, n);
	free(keys);
	free(vals);
	free(zero);
	return err;
}

/* Write every slot that may matter: the new values and zeroes up to the dirty limit. */
static int write_whole(struct abmap *map, int passive, const void *values, __u32 n)
{
	struct abmap_side *s = &map->sides[passive];
	size_t stride = array_stride(map);
	__u8 *mem = s->mem;
	__u32 limit, i;
	void *zeros;
	int err;

	err = array_dirty_limit(map, passive, &limit);
	if (err)
		return err;
	keyset_set_all(&map->diff);
	if (mem) {
		if (stride == map->value_size) {
			memcpy(mem, values, (size_t)n * stride);
		} else {
			for (i = 0; i < n; i++)
				elem_copy(mem + i * stride,
					  (const __u8 *)values + (size_t)i * map->value_size,
					  map->value_size);
		}
		memset(mem + (size_t)n * stride, 0, (size_t)(map->max_entries - n) * stride);
		return map->has_len ? set_len(map, passive, n) : 0;
	}
	err = array_write_elems(map, passive, NULL, values, n);
	if (!err && limit > n) {
		zeros = calloc(limit - n, map->value_size);
		err = zeros ? array_write_elems(map, passive, map->iota + n, zeros, limit - n) :
			      -ENOMEM;
		free(zeros);
	}
	if (!err && map->has_len)
		err = set_len(map, passive, n);
	return err;
}

int map_write_array(struct abmap *map, int passive, const void *values, __u32 n)
{
	bool known = map->ready || (map->diff_gen == map->group->gen && !map->diff.all);
	struct keyset changed, todo;
	bool len_differs = true;
	int err;

	keyset_init(&changed, sizeof(__u32), map->diff.limit);
	keyset_init(&todo, sizeof(__u32), UINT32_MAX);
	err = array_changes(map, passive, values, n, &changed, &len_differs);
	if (err)
		goto out;
	/* Without mmap, syscalls dominate: when few elements change, write only those. */
	if (!map->sides[passive].mem && known && !changed.all) {
		err = keys_to_write(map, passive, &changed, &todo);
		if (!err)
			err = write_changes(map, passive, &todo, values, n);
	} else {
		err = write_whole(map, passive, values, n);
	}
out:
	keyset_free(&todo);
	return adopt_changes(map, &changed, len_differs, err);
}

static int keyset_of(struct keyset *set, const void *keys, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++)
		keyset_add(set, (const __u8 *)keys + (size_t)i * set->key_size);
	return set->all ? -ENOMEM : 0;
}

/* Keys where the new content differs from the live side (see array_changes()). */
static int hash_changes(struct abmap *map, int passive, const void *keys, const void *values,
			__u32 n, const struct keyset *wanted, struct keyset *changed)
{
	size_t ks = map->key_size, vs = map->value_size;
	__u8 *live_keys = NULL, *buf = malloc(vs);
	__u32 nr_live = 0, i;
	int err = buf ? 0 : -ENOMEM;

	for (i = 0; !err && i < n && !changed->all; i++) {
		err = kind_read(&map->sides[!passive], (const __u8 *)keys + i * ks, buf);
		if (err == -ENOENT || (!err && memcmp(buf, (const __u8 *)values + i * vs, vs)))
			keyset_add(changed, (const __u8 *)keys + i * ks);
		if (err == -ENOENT)
			err = 0;
	}
	if (!err && !changed->all)
		err = collect_keys(map, !passive, &live_keys, &nr_live);
	for (i = 0; !err && i < nr_live && !changed->all; i++) {
		if (!keyset_has(wanted, live_keys + i * ks))
			keyset_add(changed, live_keys + i * ks);
	}
	free(live_keys);
	free(buf);
	return err;
}

/* Passive side caught up: write or erase only the changed keys. */
static int hash_write_changes(struct abmap *map, int passive, const void *keys, const void *values,
			      __u32 n, const struct keyset *wanted, const struct keyset *changed)
{
	struct abmap_side *s = &map->sides[passive];
	size_t ks = map->key_size;
	const void *key;
	__u32 i, pos = 0;
	int err = 0;

	/* Erase first: the new keys may need the room (max_entries). */
	while (!err && (key = keyset_next(changed, &pos))) {
		if (!keyset_has(wanted, key))
			err = kind_erase(s, key);
	}
	for (i = 0; !err && i < n; i++) {
		key = (const __u8 *)keys + i * ks;
		if (keyset_has(changed, key))
			err = kind_write(s, key,
					 (const __u8 *)values + (size_t)i * map->value_size);
	}
	return err;
}

static int hash_write_whole(struct abmap *map, int passive, const void *keys, const void *values,
			    __u32 n, const struct keyset *wanted)
{
	const struct backend_ops *be = map->group->be;
	struct abmap_side *s = &map->sides[passive];
	size_t ks = map->key_size;
	__u8 *old = NULL;
	__u32 nr_old = 0, i;
	int err;

	err = collect_keys(map, passive, &old, &nr_old);
	for (i = 0; !err && i < nr_old; i++) {
		if (!keyset_has(wanted, old + i * ks))
			err = kind_erase(s, old + i * ks);
	}
	free(old);
	if (err)
		return err;
	if (!map->kind->ops.write && be->update_batch && !map->no_batch) {
		err = be->update_batch(s, keys, values, n);
		if (err != -EOPNOTSUPP)
			return err;
	}
	for (i = 0, err = 0; !err && i < n; i++)
		err = kind_write(s, (const __u8 *)keys + i * ks,
				 (const __u8 *)values + (size_t)i * map->value_size);
	return err;
}

int map_write_hash(struct abmap *map, int passive, const void *keys, const void *values, __u32 n)
{
	bool known = map->ready || (map->diff_gen == map->group->gen && !map->diff.all);
	struct keyset wanted, changed, todo;
	int err;

	keyset_init(&todo, map->key_size, UINT32_MAX);
	keyset_init(&wanted, map->key_size, UINT32_MAX);
	keyset_init(&changed, map->key_size, map->diff.limit);
	err = keyset_of(&wanted, keys, n);
	if (!err)
		err = hash_changes(map, passive, keys, values, n, &wanted, &changed);
	if (!err && known && !changed.all) {
		err = keys_to_write(map, passive, &changed, &todo);
		if (!err)
			err = hash_write_changes(map, passive, keys, values, n, &wanted, &todo);
	} else if (!err) {
		keyset_set_all(&map->diff);
		err = hash_write_whole(map, passive, keys, values, n, &wanted);
	}
	keyset_free(&wanted);
	keyset_free(&todo);
	return adopt_changes(map, &changed, false, err);
}

int map_write_one(struct abmap *map, int passive, const void *key, const void *value)
{
	__u32 len;
	int err;

	keyset_add(&map->diff, key);
	if (map->kind->is_array && map->has_len) {
		err = map_len(map, passive, &len);
		if (err)
			return err;
		if (*(const __u32 *)key >= len) {
			err = kind_write(&map->sides[passive], key, value);
			return err ?: set_len(map, passive, *(const __u32 *)key + 1);
		}
	}
	return kind_write(&map->sides[passive], key, value);
}

int map_erase_one(struct abmap *map, int passive, const void *key)
{
	keyset_add(&map->diff, key);
	return kind_erase(&map->sides[passive], key);
}

/* Does the passive side hold something else than the live one at @key? (errors: yes) */
static bool key_differs(struct abmap *map, int passive, const void *key, void *a, void *b)
{
	int err_a = kind_read(&map->sides[!passive], key, a);
	int err_b = kind_read(&map->sides[passive], key, b);

	if (err_a || err_b)
		return err_a != -ENOENT || err_b != -ENOENT;
	return memcmp(a, b, map->value_size);
}

/*
 * Does the passive side differ from the live one, once caught up and written? Looks only where
 * they may differ (map->diff) and stops at the first difference, so a real change costs a read
 * or two and a change undone in the same transaction is found to be none. Errors count as
 * differences: a flip is always correct.
 */
bool map_sides_differ(struct abmap *map, int passive)
{
	__u8 *a = NULL, *b = NULL;
	__u32 live_len, passive_len, pos = 0;
	const void *key;
	bool differ;

	if (map->diff.all)
		return true;
	if (map->diff_len && (map_len(map, !passive, &live_len) ||
			      map_len(map, passive, &passive_len) || live_len != passive_len))
		return true;
	if (!map->diff.count)
		return false;
	a = malloc(map->value_size);
	b = malloc(map->value_size);
	differ = !a || !b;
	while (!differ && (key = keyset_next(&map->diff, &pos)))
		differ = key_differs(map, passive, key, a, b);
	free(a);
	free(b);
	return differ;
}
