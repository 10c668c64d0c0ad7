// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Structures: creation common to both backends, reads of the live side. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Past this many changed keys a full copy is as cheap as replaying them one by one. */
static __u32 diff_limit(__u32 max_entries)
{
	__u32 limit = max_entries / 4;

	return limit < 64 ? 64 : limit;
}

struct abmap *map_alloc(struct abmap_group *g, struct kind *kind, __u32 key_size, __u32 value_size,
			__u32 max_entries)
{
	struct abmap *map;
	__u32 i;

	map = calloc(1, sizeof(*map));
	if (!map)
		return NULL;
	map->group = g;
	map->kind = kind;
	map->key_size = key_size;
	map->value_size = value_size;
	map->max_entries = max_entries;
	map->len_fd = -1;
	map->sides[0].map = map;
	map->sides[0].side = ABMAP_SIDE_A;
	map->sides[0].fd = -1;
	map->sides[1].map = map;
	map->sides[1].side = ABMAP_SIDE_B;
	map->sides[1].fd = -1;
	/* Nothing is known about the two sides until they have been compared. */
	map->diff_gen = ABMAP_GEN_UNKNOWN;
	keyset_init(&map->diff, key_size, diff_limit(max_entries));
	if (kind->is_array) {
		map->iota = malloc((size_t)max_entries * sizeof(*map->iota));
		if (!map->iota) {
			free(map);
			return NULL;
		}
		for (i = 0; i < max_entries; i++)
			map->iota[i] = i;
	}
	return map;
}

/* The kind of a structure about to be attached to @g (a reference), or NULL with errno. */
struct kind *map_attach_kind(struct abmap_group *g, const char *kind_name)
{
	struct kind *kind;

	if (g->in_session) {
		pr_warn("cannot attach a structure while a write is in progress\n");
		return libabmap_err_ptr(-EBUSY);
	}
	kind = kind_get(kind_name);
	if (!kind) {
		pr_warn("unknown structure kind '%s'\n", kind_name);
		return libabmap_err_ptr(-ENOENT);
	}
	return kind;
}

/* Link a fully set-up structure into its group. */
void map_link(struct abmap *map)
{
	struct abmap_group *g = map->group;

	map->next = g->maps;
	g->maps = map;
	g->nr_maps++;
	/* The passive side must be caught up before the group's next flip. */
	map->ready = false;
}

void map_destroy(struct abmap *map)
{
	struct abmap_group *g = map->group;
	struct abmap **pp;

	for (pp = &g->maps; *pp; pp = &(*pp)->next) {
		if (*pp == map) {
			*pp = map->next;
			g->nr_maps--;
			break;
		}
	}
	g->be->side_free(&map->sides[0]);
	g->be->side_free(&map->sides[1]);
	keyset_free(&map->diff);
	kind_put(map->kind);
	free(map->iota);
	free(map);
}

int abmap_free(struct abmap *map)
{
	if (!map)
		return 0;
	if (map->staged || map->deferred || map->handles) {
		pr_warn("structure (map id %u) has pending changes or switchover handles; commit, abort or release them first\n",
			map->id_a);
		return libabmap_err(-EBUSY);
	}
	map_destroy(map);
	return 0;
}

static bool valid_side(int side)
{
	return side == ABMAP_SIDE_A || side == ABMAP_SIDE_B;
}

int abmap_fd(const struct abmap *map, int side)
{
	if (!map || !valid_side(side))
		return libabmap_err(-EINVAL);
	if (map->sides[side].fd < 0)
		return libabmap_err(-EOPNOTSUPP);
	return map->sides[side].fd;
}

__u32 abmap_map_id(const struct abmap *map, int side)
{
	if (!map || !valid_side(side))
		return 0;
	return side == ABMAP_SIDE_A ? map->id_a : map->id_b;
}

struct abmap_group *abmap_group_of(const struct abmap *map)
{
	return map ? map->group : NULL;
}

__u32 abmap_key_size(const struct abmap *map)
{
	return map ? map->key_size : 0;
}

__u32 abmap_value_size(const struct abmap *map)
{
	return map ? map->value_size : 0;
}

__u32 abmap_max_entries(const struct abmap *map)
{
	return map ? map->max_entries : 0;
}

static int live_side(struct abmap *map, int *side)
{
	__u64 gen;
	int err;

	err = abmap_group_generation(map->group, &gen);
	if (err)
		return err;
	*side = gen & 1;
	return 0;
}

/*
 * The live side, and for arrays its length (max_entries for other kinds): reads stop there,
 * since slots past an array's length are not content.
 */
static int live_bounds(struct abmap *map, int *side, __u32 *len)
{
	int err = live_side(map, side);

	*len = map->max_entries;
	if (!err && map->kind->is_array)
		err = map_len(map, *side, len);
	return err;
}

int abmap_get(struct abmap *map, const void *key, void *value)
{
	__u32 len;
	int side, err;

	if (!map || !key || !value)
		return libabmap_err(-EINVAL);
	err = live_bounds(map, &side, &len);
	if (err)
		return libabmap_err(err);
	if (map->kind->is_array && *(const __u32 *)key >= len)
		return libabmap_err(-ENOENT);
	return libabmap_err(kind_read(&map->sides[side], key, value));
}

int abmap_next_key(struct abmap *map, const void *key, void *next_key)
{
	__u32 len, next;
	int side, err;

	if (!map || !next_key)
		return libabmap_err(-EINVAL);
	err = live_bounds(map, &side, &len);
	if (err)
		return libabmap_err(err);
	if (map->kind->is_array) {
		next = key ? *(const __u32 *)key + 1 : 0;
		if (next >= len)
			return libabmap_err(-ENOENT);
	}
	return libabmap_err(kind_next_key(&map->sides[side], key, next_key));
}

int abmap_array_get(struct abmap *array, __u32 index, void *value)
{
	if (!array || !array->kind->is_array)
		return libabmap_err(-EINVAL);
	return abmap_get(array, &index, value);
}

int abmap_array_len(struct abmap *array, __u32 *len)
{
	int side;

	if (!array || !len || !array->kind->is_array)
		return libabmap_err(-EINVAL);
	return libabmap_err(live_bounds(array, &side, len));
}
