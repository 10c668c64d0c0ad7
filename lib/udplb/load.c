// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The embedded BPF object (skeleton): open, pin its maps (reusing existing pins), load, write
 * the data plane's settings and attach (lb_load.h).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "lb_attach.h"
#include "lb_instance.h"
#include "lb_load.h"
#include "pin_check.h"
#include "udplb.skel.h"

static __be32 first_ipv4(const char *dev)
{
	struct ifaddrs *ifa, *it;
	__be32 addr = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (it = ifa; it && !addr; it = it->ifa_next) {
		if (it->ifa_addr && it->ifa_addr->sa_family == AF_INET &&
		    !strcmp(it->ifa_name, dev))
			addr = ((struct sockaddr_in *)it->ifa_addr)->sin_addr.s_addr;
	}
	freeifaddrs(ifa);
	return addr;
}

static int pin_maps(struct udplb *skel, const char *dir)
{
	struct bpf_map *map;
	char path[LB_PATH_MAX + 64];
	int err;

	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

static int write_config(struct udplb *skel, const struct lb_load_opts *o, const char *dev,
			int ifindex)
{
	int fd = bpf_map__fd(skel->maps.config);
	struct udplb_config cfg = {};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		return -errno;
	if (!(cfg.flags & UDPLB_CFG_MODE_MASK) && !cfg.hash_seed)
		cfg.hash_seed = LB_DEFAULT_HASH_SEED;
	if (o->set_seed)
		cfg.hash_seed = o->hash_seed;
	cfg.ifindex = ifindex;
	cfg.ipip_src = first_ipv4(dev) ?: cfg.ipip_src;
	cfg.flags = (cfg.flags & ~UDPLB_CFG_MODE_MASK) | o->mode;
	return bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

static int check_attached(const char *dev, const struct lb_attachment *old,
			  const struct lb_load_opts *o, struct lb_err *err)
{
	if (old->mode == UDPLB_MODE_NONE)
		return 0;
	if (!lb_prog_is_udplb(old->prog_id))
		return lb_fail(err, -EEXIST,
			       "%s already has a %s program (id %u) that udplb did not load", dev,
			       lb_mode_name(old->mode), old->prog_id);
	if (old->mode != o->mode && !o->force)
		return lb_fail(
			err, -EBUSY,
			"udplb runs on %s in %s mode; changing to %s cannot be atomic (use --force)",
			dev, lb_mode_name(old->mode), lb_mode_name(o->mode));
	return 0;
}

static int attach(struct udplb *skel, const char *dev, int ifindex, const struct lb_load_opts *o,
		  const struct lb_attachment *old, struct lb_err *err)
{
	int prog_fd = bpf_program__fd(o->mode == UDPLB_MODE_TC ? skel->progs.udplb_tc :
								 skel->progs.udplb_xdp);
	int ret = write_config(skel, o, dev, ifindex);

	if (!ret && old->mode != UDPLB_MODE_NONE && old->mode != o->mode)
		ret = lb_detach(ifindex, old);
	if (!ret)
		ret = lb_attach(ifindex, o->mode, prog_fd, old);
	if (ret)
		return lb_fail(err, ret, "cannot attach to %s in %s mode: %s", dev,
			       lb_mode_name(o->mode), strerror(-ret));
	return prog_fd;
}

int lb_load(const char *dev, int ifindex, const char *pin_dir, const struct lb_load_opts *o,
	    struct lb_load_info *info, struct lb_err *err)
{
	struct lb_attachment old = lb_attachment_query(ifindex);
	struct bpf_prog_info pinfo = {};
	__u32 len = sizeof(pinfo);
	struct udplb *skel;
	int ret, prog_fd;

	ret = check_attached(dev, &old, o, err);
	if (!ret)
		ret = lb_pin_dir_create(pin_dir, err);
	if (!ret)
		ret = lb_pin_dir_check_present(pin_dir, err);
	if (ret)
		return ret;
	skel = udplb__open();
	ret = skel ? pin_maps(skel, pin_dir) : -errno;
	if (!ret)
		ret = udplb__load(skel);
	if (ret) {
		udplb__destroy(skel);
		return lb_fail(
			err, ret,
			"cannot load the BPF program: %s (pinned maps in %s from another udplb version? run 'udplb unload %s' first; UDPLB_DEBUG=1 shows libbpf's log)",
			strerror(-ret), pin_dir, dev);
	}
	prog_fd = attach(skel, dev, ifindex, o, &old, err);
	if (prog_fd < 0) {
		udplb__destroy(skel);
		return prog_fd;
	}
	bpf_obj_get_info_by_fd(prog_fd, &pinfo, &len);
	info->replaced = old.mode == o->mode;
	info->prog_id = pinfo.id;
	udplb__destroy(skel);
	return 0;
}
