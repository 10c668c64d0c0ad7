/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every map udplb opens from a pin is checked against what the program it ships declares before
 * any read or write: a pin of another map (other value size, other type) would otherwise make a
 * lookup write past a fixed-size buffer, or hand the data plane's readers the wrong structure.
 */
#ifndef __UDPLB_MAP_CHECK_H
#define __UDPLB_MAP_CHECK_H

#include <linux/types.h>

#include "lb.h"

struct bpf_map;

/* What a map must be. */
struct lb_map_want {
	const char *name;
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 map_flags;
};

/* The declaration of @map in a (not necessarily loaded) BPF object. */
void lb_map_want_of(const struct bpf_map *map, struct lb_map_want *want);

/*
 * 0 when the map behind @fd has exactly @want's type, sizes, max_entries and flags; else -EINVAL
 * with @err naming the map, the property and both values (-errno when @fd is no map).
 */
int lb_map_check(int fd, const struct lb_map_want *want, struct lb_err *err);

#endif /* __UDPLB_MAP_CHECK_H */
