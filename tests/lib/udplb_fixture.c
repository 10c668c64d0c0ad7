// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The udplb fixture of the tests and the bench (udplb_fixture.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "udplb_fixture.h"
#include "udplb.skel.h"

static int fail(struct lb_err *err, int code, const char *what)
{
	if (err)
		snprintf(err->msg, sizeof(err->msg), "%s: %s", what, strerror(-code));
	return code;
}

static int obj_fd(const struct bpf_object *obj, const char *name, bool prog)
{
	if (prog) {
		const struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

		return p ? bpf_program__fd(p) : -ENOENT;
	} else {
		const struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

		return m ? bpf_map__fd(m) : -ENOENT;
	}
}

int tl_udplb_open_obj(struct tl_udplb *fx, const struct bpf_object *obj,
		      const struct abmap_group_opts *gopts, struct lb_err *err)
{
	int ret;

	fx->obj = obj;
	fx->xdp_fd = obj_fd(obj, "udplb_xdp", true);
	fx->tc_fd = obj_fd(obj, "udplb_tc", true);
	fx->config_fd = obj_fd(obj, "config", false);
	fx->reasons_fd = obj_fd(obj, "reasons", false);
	fx->conntrack_fd = obj_fd(obj, "conntrack", false);
	fx->pool_fd = obj_fd(obj, "pool", false);
	if (fx->xdp_fd < 0 || fx->tc_fd < 0 || fx->config_fd < 0 || fx->reasons_fd < 0 ||
	    fx->conntrack_fd < 0 || fx->pool_fd < 0)
		return fail(err, -ENOENT, "the object lacks a udplb program or map");
	ret = lb_maps_open_obj(&fx->maps, obj, gopts);
	if (ret)
		return fail(err, ret, "lb_maps_open_obj");
	return 0;
}

int tl_udplb_load(struct tl_udplb *fx, const struct abmap_group_opts *gopts, struct lb_err *err)
{
	int ret;

	memset(fx, 0, sizeof(*fx));
	fx->skel = udplb__open_and_load();
	if (!fx->skel)
		return fail(err, -errno, "loading the udplb skeleton");
	ret = tl_udplb_open_obj(fx, fx->skel->obj, gopts, err);
	if (ret)
		tl_udplb_close(fx);
	return ret;
}

void tl_udplb_close(struct tl_udplb *fx)
{
	if (fx->maps.group)
		lb_maps_close(&fx->maps);
	if (fx->skel)
		udplb__destroy(fx->skel);
	memset(fx, 0, sizeof(*fx));
}

int tl_udplb_config(struct tl_udplb *fx, __u32 hash_seed, __be32 ipip_src, int ifindex)
{
	struct udplb_config cfg = { .hash_seed = hash_seed, .ipip_src = ipip_src };
	__u32 zero = 0;

	cfg.ifindex = ifindex;
	if (bpf_map_update_elem(fx->config_fd, &zero, &cfg, BPF_ANY))
		return -errno;
	fx->hash_seed = hash_seed;
	return 0;
}

int tl_udplb_commit(struct tl_udplb *fx, const struct lb_state *s, struct lb_err *err)
{
	struct lb_commit_opts o;
	int ret;

	memset(&o, 0, sizeof(o));
	ret = lb_commit(&fx->maps, s, &o);
	if (err)
		*err = o.err;
	return ret;
}

int tl_udplb_reason(const struct tl_udplb *fx, __u32 reason, __u64 *sum)
{
	int n = libbpf_num_possible_cpus(), i, ret = 0;
	__u64 *v;

	if (n <= 0)
		return n ? n : -EINVAL;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fx->reasons_fd, &reason, v))
		ret = -errno;
	for (*sum = 0, i = 0; !ret && i < n; i++)
		*sum += v[i];
	free(v);
	return ret;
}

struct lb_backend tl_backend(__be32 addr, __be16 port, __u16 weight, __u8 state, __u64 mac_tag)
{
	struct lb_backend b;
	int i;

	memset(&b, 0, sizeof(b));
	b.addr = addr;
	b.port = port;
	b.weight = weight;
	b.state = state;
	b.has_mac = true;
	b.mac[0] = 0x02;
	for (i = 5; i >= 1; i--, mac_tag >>= 8)
		b.mac[i] = (__u8)mac_tag;
	return b;
}

struct lb_vip tl_vip(__be32 addr, __be16 port, __u8 fwd, __u32 ring_size)
{
	struct lb_vip v;

	memset(&v, 0, sizeof(v));
	v.key.addr = addr;
	v.key.port = port;
	v.fwd = fwd;
	v.ring_size = ring_size;
	return v;
}

int tl_udplb_ct_clear(const struct tl_udplb *fx)
{
	struct udplb_flow key, next;

	while (!bpf_map_get_next_key(fx->conntrack_fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(fx->conntrack_fd, &key))
			return -errno;
	}
	return errno == ENOENT ? 0 : -errno;
}

int tl_udplb_sim(struct tl_udplb *fx, struct lb_sim **sim, struct lb_err *err)
{
	return lb_sim_from_maps(&fx->maps, sim, err);
}

int tl_run(int prog_fd, const void *frame, __u32 len, struct tl_run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	r->retval = opts.retval;
	r->out_len = opts.data_size_out;
	return 0;
}
