// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Attach, detach and query the data plane on a device (lb_attach.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lb_attach.h"

#define UDPLB_TC_HANDLE 0x1d1b
#define UDPLB_TC_PRIO 1

const char *lb_mode_name(enum udplb_mode mode)
{
	switch (mode) {
	case UDPLB_MODE_XDP:
		return "xdp";
	case UDPLB_MODE_XDP_GENERIC:
		return "xdp-generic";
	case UDPLB_MODE_TC:
		return "tc";
	default:
		return "none";
	}
}

static __u32 xdp_flags(enum udplb_mode mode)
{
	return mode == UDPLB_MODE_XDP ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

static void tc_hook_opts(int ifindex, struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = BPF_TC_INGRESS;
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->handle = UDPLB_TC_HANDLE;
	opts->priority = UDPLB_TC_PRIO;
}

struct lb_attachment lb_attachment_query(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, xq);
	struct lb_attachment at = { UDPLB_MODE_NONE, 0 };
	struct bpf_tc_hook hook;
	struct bpf_tc_opts to;

	if (!bpf_xdp_query(ifindex, 0, &xq)) {
		if (xq.attach_mode == XDP_ATTACHED_DRV) {
			at.mode = UDPLB_MODE_XDP;
			at.prog_id = xq.drv_prog_id;
			return at;
		}
		if (xq.attach_mode == XDP_ATTACHED_SKB) {
			at.mode = UDPLB_MODE_XDP_GENERIC;
			at.prog_id = xq.skb_prog_id;
			return at;
		}
	}
	tc_hook_opts(ifindex, &hook, &to);
	if (!bpf_tc_query(&hook, &to)) {
		at.mode = UDPLB_MODE_TC;
		at.prog_id = to.prog_id;
	}
	return at;
}

bool lb_prog_is_udplb(__u32 id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	bool ours;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "udplb_", 6);
	close(fd);
	return ours;
}

int lb_detach(int ifindex, const struct lb_attachment *at)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts to;

	if (at->mode == UDPLB_MODE_TC) {
		tc_hook_opts(ifindex, &hook, &to);
		return bpf_tc_detach(&hook, &to);
	}
	return bpf_xdp_detach(ifindex, xdp_flags(at->mode), NULL);
}

static int attach_tc(int ifindex, int prog_fd)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts to;
	int err;

	tc_hook_opts(ifindex, &hook, &to);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	to.prog_fd = prog_fd;
	to.flags = BPF_TC_F_REPLACE;
	return bpf_tc_attach(&hook, &to);
}

int lb_attach(int ifindex, enum udplb_mode mode, int prog_fd, const struct lb_attachment *old)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
	__u32 flags;
	int err, old_fd = -1;

	if (mode == UDPLB_MODE_TC)
		return attach_tc(ifindex, prog_fd);
	flags = xdp_flags(mode);
	if (old->mode == mode && old->prog_id) {
		old_fd = bpf_prog_get_fd_by_id(old->prog_id);
		if (old_fd < 0)
			return -errno;
		xo.old_prog_fd = old_fd;
		flags |= XDP_FLAGS_REPLACE;
	} else {
		flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
	}
	err = bpf_xdp_attach(ifindex, prog_fd, flags, &xo);
	if (old_fd >= 0)
		close(old_fd);
	return err;
}
