// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "map_check.h"

void lb_map_want_of(const struct bpf_map *map, struct lb_map_want *want)
{
	want->name = bpf_map__name(map);
	want->type = bpf_map__type(map);
	want->key_size = bpf_map__key_size(map);
	want->value_size = bpf_map__value_size(map);
	want->max_entries = bpf_map__max_entries(map);
	want->map_flags = bpf_map__map_flags(map);
}

static int mismatch(const struct lb_map_want *want, const char *what, __u32 got, __u32 expect,
		    struct lb_err *err)
{
	if (err)
		snprintf(err->msg, sizeof(err->msg),
			 "pinned map %s is not udplb's: %s is %u, expected %u", want->name, what,
			 got, expect);
	errno = EINVAL;
	return -EINVAL;
}

int lb_map_check(int fd, const struct lb_map_want *want, struct lb_err *err)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "pinned %s: not a map (%s)",
				 want->name, strerror(errno));
		return -errno;
	}
	if (info.type != want->type)
		return mismatch(want, "map type", info.type, want->type, err);
	if (info.key_size != want->key_size)
		return mismatch(want, "key size", info.key_size, want->key_size, err);
	if (info.value_size != want->value_size)
		return mismatch(want, "value size", info.value_size, want->value_size, err);
	if (info.max_entries != want->max_entries)
		return mismatch(want, "max_entries", info.max_entries, want->max_entries, err);
	if (info.map_flags != want->map_flags)
		return mismatch(want, "map flags", info.map_flags, want->map_flags, err);
	return 0;
}
