// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The four structures of an instance as one libabmap group: on real maps (fds, a loaded BPF
 * object) or in memory (unit tests, dry runs), each checked against the data plane's layout.
 */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include <abmap_fake.h>

#include "internal.h"

_Static_assert(sizeof(struct udplb_vip_key) == 8, "struct udplb_vip_key has padding");
_Static_assert(sizeof(struct udplb_vip) == 16, "struct udplb_vip has padding");
_Static_assert(sizeof(struct udplb_backend) == 20, "struct udplb_backend has padding");

int lb_check_maps(const struct lb_maps *m, struct lb_err *err)
{
	if (!m || !m->group || !m->vips || !m->vip_filter || !m->backends || !m->ring)
		return lb_fail(err, -EINVAL, "the udplb maps are not attached");
	if (abmap_key_size(m->vips) != sizeof(struct udplb_vip_key) ||
	    abmap_value_size(m->vips) != sizeof(struct udplb_vip))
		return lb_fail(err, -EINVAL,
			       "the vips map has key/value sizes %u/%u, expected %zu/%zu",
			       abmap_key_size(m->vips), abmap_value_size(m->vips),
			       sizeof(struct udplb_vip_key), sizeof(struct udplb_vip));
	if (abmap_value_size(m->vip_filter) != sizeof(__u64) ||
	    abmap_max_entries(m->vip_filter) < UDPLB_FILTER_WORDS)
		return lb_fail(
			err, -EINVAL,
			"the vip_filter map has %u entries of %u bytes, expected >= %u of %zu",
			abmap_max_entries(m->vip_filter), abmap_value_size(m->vip_filter),
			UDPLB_FILTER_WORDS, sizeof(__u64));
	if (abmap_value_size(m->backends) != sizeof(struct udplb_backend))
		return lb_fail(err, -EINVAL,
			       "the backends map has values of %u bytes, expected %zu",
			       abmap_value_size(m->backends), sizeof(struct udplb_backend));
	if (abmap_value_size(m->ring) != sizeof(__u32))
		return lb_fail(err, -EINVAL, "the ring map has values of %u bytes, expected %zu",
			       abmap_value_size(m->ring), sizeof(__u32));
	return 0;
}

int lb_maps_open(struct lb_maps *maps, const struct lb_map_fds *fds,
		 const struct abmap_group_opts *opts)
{
	struct lb_maps m;
	int err;

	if (!maps || !fds)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.group = abmap_group_new(fds->ptr, opts);
	if (!m.group)
		return -errno;
	m.vips = abmap_new(m.group, "hash", fds->vips[0], fds->vips[1], NULL);
	if (m.vips)
		m.vip_filter =
			abmap_new(m.group, "array", fds->vip_filter[0], fds->vip_filter[1], NULL);
	if (m.vip_filter)
		m.backends = abmap_new(m.group, "array", fds->backends[0], fds->backends[1], NULL);
	if (m.backends)
		m.ring = abmap_new(m.group, "array", fds->ring[0], fds->ring[1], NULL);
	err = m.ring ? lb_check_maps(&m, NULL) : -errno;
	if (err) {
		abmap_group_free(m.group);
		return err;
	}
	*maps = m;
	return 0;
}

int lb_maps_fake(struct lb_maps *maps)
{
	struct lb_maps m;

	if (!maps)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.group = abmap_fake_group_new(NULL);
	if (!m.group)
		return -errno;
	m.vips = abmap_fake_hash_new(m.group, sizeof(struct udplb_vip_key),
				     sizeof(struct udplb_vip), UDPLB_MAX_VIPS);
	m.vip_filter = abmap_fake_array_new(m.group, sizeof(__u64), UDPLB_FILTER_WORDS, 0);
	m.backends =
		abmap_fake_array_new(m.group, sizeof(struct udplb_backend), UDPLB_MAX_BACKENDS, 0);
	m.ring = abmap_fake_array_new(m.group, sizeof(__u32), UDPLB_RING_SLOTS, 0);
	if (!m.vips || !m.vip_filter || !m.backends || !m.ring) {
		int err = -errno;

		abmap_group_free(m.group);
		return err ? err : -ENOMEM;
	}
	*maps = m;
	return 0;
}

void lb_maps_close(struct lb_maps *maps)
{
	if (!maps)
		return;
	abmap_group_free(maps->group);
	memset(maps, 0, sizeof(*maps));
}

int lb_maps_open_obj(struct lb_maps *maps, const struct bpf_object *obj,
		     const struct abmap_group_opts *opts)
{
	static const char *const names[] = { "udplb_ptr",    "vips_a",	     "vips_b",
					     "vip_filter_a", "vip_filter_b", "backends_a",
					     "backends_b",   "ring_a",	     "ring_b" };
	int fd[9];
	struct lb_map_fds fds;
	size_t i;

	if (!maps || !obj)
		return -EINVAL;
	for (i = 0; i < 9; i++) {
		const struct bpf_map *m = bpf_object__find_map_by_name(obj, names[i]);

		fd[i] = m ? bpf_map__fd(m) : -1;
		if (fd[i] < 0)
			return -ENOENT;
	}
	fds.ptr = fd[0];
	for (i = 0; i < 2; i++) {
		fds.vips[i] = fd[1 + i];
		fds.vip_filter[i] = fd[3 + i];
		fds.backends[i] = fd[5 + i];
		fds.ring[i] = fd[7 + i];
	}
	return lb_maps_open(maps, &fds, opts);
}
