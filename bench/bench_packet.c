// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 4: per-packet cost through BPF_PROG_TEST_RUN (kernel-reported ns per iteration,
 * 64-byte UDP frames), for the XDP and the tc entry point; and the udplb fixture that benchmarks
 * 3, 4 and 6 share.
 *
 * The fixture loads udplb (skeleton "udplb") and the bench's programs (bench_progs.bpf.c, whose
 * lb_ptr reuses udplb's pointer map), and configures udplb through its control plane
 * (lb_maps_open_obj() + lb_commit()): a DSR VIP and an IP-in-IP VIP with FX_BACKENDS backends each,
 * MACs stored (no bpf_fib_lookup()), Maglev rings of 65,537 slots. The process is in a private
 * network namespace (bench.c), so test runs use its loopback device.
 *
 * Every measured run is checked: its verdict, its output frame (the last iteration's: DSR MACs
 * of the backend the ring gives that flow, or the IP-in-IP outer header and the unchanged inner
 * packet), and udplb's reason counters, which must have moved by exactly the number of
 * iterations (conntrack hits, conntrack inserts, non-VIP passes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "lb_sim.h"
#include "packet.h"
#include "udplb_fixture.h"
#include "udplb_shared.h"
#include "udplb.skel.h"
#include "bench_progs.skel.h"

struct lbfx fx;

#define IP4(a, b, c, d) (((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (__u32)(d))

#define FX_DSR_VIP IP4(10, 0, 0, 10)
#define FX_IPIP_VIP IP4(10, 0, 0, 11)
#define FX_OTHER_DST IP4(10, 9, 9, 9)
#define FX_CLIENT IP4(198, 51, 100, 7)
#define FX_CLIENT_PORT 40000
#define FX_IPIP_SRC IP4(10, 1, 0, 1)
#define FX_HASH_SEED 0x5eed1234U
#define FX_NEW_SRC_BASE IP4(11, 0, 0, 0)

static const __u8 lb_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0xff, 0x0b };
static const __u8 client_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c };

/* ---------------------------------------------------------------------------------------------
 * Fixture
 */

static int add_vip(struct lb_state *s, __u32 addr, __u8 fwd, __u32 be_net, struct lb_err *le)
{
	struct lb_vip v;
	__u32 i;
	int e;

	memset(&v, 0, sizeof(v));
	v.key.addr = htonl(addr);
	v.key.port = htons(FX_VIP_PORT);
	v.key.proto = IPPROTO_UDP;
	v.fwd = fwd;
	v.hash_mode = UDPLB_HASH_5TUPLE;
	v.ring_size = UDPLB_RING_DEFAULT;
	e = lb_vip_add(s, &v, le);
	for (i = 0; !e && i < FX_BACKENDS; i++) {
		struct lb_backend b = tl_backend(htonl(be_net + i + 1), htons(FX_VIP_PORT), 1,
						 UDPLB_BACKEND_ACTIVE, (__u16)(i + 1));

		e = lb_backend_add(s, &v.key, &b, le);
	}
	return e;
}

/*
 * udplb again, on @fx.lb's maps but with a conntrack that holds every flow of a run (plus the
 * warm-up): the new flows of a run are inserted, none evicts another. Emptied before each run.
 */
static int room_load(char *err, size_t len)
{
	struct bpf_map *map;
	int e;

	fx.room_entries = cfg.pkt_rep + cfg.pkt_rep / 2 + 65536;
	fx.lb_room = udplb__open();
	if (!fx.lb_room) {
		e = -errno;
		snprintf(err, len, "opening udplb: %s", strerror(-e));
		return e;
	}
	bpf_object__for_each_map(map, fx.lb_room->obj) {
		const char *name = bpf_map__name(map);

		if (!strcmp(name, "conntrack")) {
			e = bpf_map__set_max_entries(map, fx.room_entries);
		} else {
			struct bpf_map *orig = bpf_object__find_map_by_name(fx.lb->obj, name);

			e = orig ? bpf_map__reuse_fd(map, bpf_map__fd(orig)) : -ENOENT;
		}
		if (e) {
			snprintf(err, len, "preparing udplb's map %s: %s", name, strerror(-e));
			return e;
		}
	}
	e = udplb__load(fx.lb_room);
	if (e)
		snprintf(err, len, "loading udplb with a conntrack of %u flows: %s",
			 fx.room_entries, strerror(-e));
	return e;
}

/* Empty the large conntrack (between runs, untimed). */
static int room_drain(void)
{
	enum { CHUNK = 8192 };
	struct udplb_flow *keys = malloc(CHUNK * sizeof(*keys));
	struct udplb_ct *vals = malloc(CHUNK * sizeof(*vals));
	int fd = bpf_map__fd(fx.lb_room->maps.conntrack), e = 0;
	__u32 batch = 0;
	bool first = true;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	if (!keys || !vals) {
		e = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = CHUNK;

		e = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &batch, &batch, keys, vals,
						    &count, &bo);
		first = false;
		if (e) {
			e = errno == ENOENT ? 0 : -errno;
			break;
		}
	}
	if (!e && !bpf_map_get_next_key(fd, NULL, keys))
		e = -ENOTEMPTY;
out:
	free(keys);
	free(vals);
	return e;
}

int lbfx_setup(char *err, size_t len)
{
	struct lb_commit_opts co;
	struct abmap_group_opts go;
	struct udplb_config conf;
	struct lb_state s;
	struct lb_err le;
	__u32 zero = 0;
	int e;

	if (fx.ready)
		return 0;
	memset(&fx, 0, sizeof(fx));
	fx.ncpus = libbpf_num_possible_cpus();
	if (fx.ncpus <= 0) {
		snprintf(err, len, "libbpf_num_possible_cpus: %s", strerror(-fx.ncpus));
		return fx.ncpus ? fx.ncpus : -EINVAL;
	}
	fx.lb = udplb__open_and_load();
	if (!fx.lb) {
		e = -errno;
		snprintf(err, len, "loading udplb: %s", strerror(-e));
		return e;
	}
	e = room_load(err, len);
	if (e)
		goto fail;
	fx.bp = bench_progs__open();
	if (!fx.bp) {
		e = -errno;
		snprintf(err, len, "opening bench_progs: %s", strerror(-e));
		goto fail;
	}
	e = bpf_map__reuse_fd(fx.bp->maps.lb_ptr, bpf_map__fd(fx.lb->maps.udplb_ptr));
	if (!e)
		e = bench_progs__load(fx.bp);
	if (e) {
		snprintf(err, len, "loading bench_progs: %s", strerror(-e));
		goto fail;
	}

	bench_group_opts(&go);
	e = lb_maps_open_obj(&fx.maps, fx.lb->obj, &go);
	if (e) {
		snprintf(err, len, "lb_maps_open_obj: %s", strerror(-e));
		goto fail;
	}

	lb_state_init(&s);
	memset(&le, 0, sizeof(le));
	e = add_vip(&s, FX_DSR_VIP, UDPLB_FWD_DSR, IP4(10, 2, 0, 0), &le);
	if (!e)
		e = add_vip(&s, FX_IPIP_VIP, UDPLB_FWD_IPIP, IP4(10, 3, 0, 0), &le);
	if (!e) {
		memset(&co, 0, sizeof(co));
		e = lb_commit(&fx.maps, &s, &co);
		if (e)
			le = co.err;
	}
	lb_state_free(&s);
	if (!e)
		e = lb_sim_from_maps(&fx.maps, &fx.sim, &le);
	if (e) {
		snprintf(err, len, "configuring udplb: %s (%s)", strerror(e < 0 ? -e : e), le.msg);
		goto fail;
	}
	fx.dsr_key.addr = htonl(FX_DSR_VIP);
	fx.dsr_key.port = htons(FX_VIP_PORT);
	fx.dsr_key.proto = IPPROTO_UDP;
	fx.ipip_key = fx.dsr_key;
	fx.ipip_key.addr = htonl(FX_IPIP_VIP);
	fx.hash_seed = FX_HASH_SEED;
	fx.ipip_src = htonl(FX_IPIP_SRC);

	memset(&conf, 0, sizeof(conf));
	conf.hash_seed = fx.hash_seed;
	conf.ipip_src = fx.ipip_src;
	conf.ifindex = 1; /* lo */
	if (bpf_map_update_elem(bpf_map__fd(fx.lb->maps.config), &zero, &conf, BPF_ANY)) {
		e = -errno;
		snprintf(err, len, "writing udplb's config: %s", strerror(-e));
		goto fail;
	}
	fx.ready = true;
	return 0;
fail:
	lbfx_teardown();
	return e ? e : -EINVAL;
}

void lbfx_teardown(void)
{
	lb_sim_free(fx.sim);
	lb_maps_close(&fx.maps);
	bench_progs__destroy(fx.bp);
	udplb__destroy(fx.lb_room);
	udplb__destroy(fx.lb);
	memset(&fx, 0, sizeof(fx));
}

/* ---------------------------------------------------------------------------------------------
 * Frames
 */

/* Ethernet + IPv4 (20) + UDP (8) + 22 bytes of payload = 64 bytes (tests/lib/packet.h). */
static void frame_build(struct frame *f, __u32 daddr)
{
	struct tl_udp4 spec = {
		.saddr = htonl(FX_CLIENT),
		.daddr = htonl(daddr),
		.sport = htons(FX_CLIENT_PORT),
		.dport = htons(FX_VIP_PORT),
		.payload = 22,
	};

	memset(f, 0, sizeof(*f));
	memcpy(spec.dst_mac, lb_mac, ETH_ALEN);
	memcpy(spec.src_mac, client_mac, ETH_ALEN);
	f->len = (__u32)tl_udp4_build(&spec, f->data, sizeof(f->data));
}

void frame_dsr(struct frame *f)
{
	frame_build(f, FX_DSR_VIP);
}

void frame_ipip(struct frame *f)
{
	frame_build(f, FX_IPIP_VIP);
}

void frame_other(struct frame *f)
{
	frame_build(f, FX_OTHER_DST);
}

/* ---------------------------------------------------------------------------------------------
 * Checks
 */

/* The backend udplb's live tables give the flow of IPv4 header @ip: the flow simulator's. */
static int predict(const __u8 *ip, __u32 *id, struct udplb_backend *be)
{
	struct udplb_flow flow = tl_ip4_flow(ip);
	struct lb_sim_result r;
	int e;

	e = lb_sim_flow(fx.sim, &flow, fx.hash_seed, &r);
	if (e)
		return e;
	*id = r.backend_id;
	*be = *lb_sim_backend(fx.sim, r.backend_id);
	return 0;
}

/* Conntrack (of the room instance if @room) holds backend @id for the flow of @ip. */
static int ct_holds(bool room, const __u8 *ip, __u32 id)
{
	struct udplb *lb = room ? fx.lb_room : fx.lb;
	struct udplb_flow flow = tl_ip4_flow(ip);
	struct udplb_ct ct;

	if (bpf_map_lookup_elem(bpf_map__fd(lb->maps.conntrack), &flow, &ct))
		return -errno;
	return ct.backend_id == id ? 0 : -EBADMSG;
}

/* Bytes of IPv4 packets @a and @b equal, except source address, port and IP checksum if @vary. */
static bool ip_equal(const __u8 *a, const __u8 *b, __u32 len, bool vary)
{
	__u32 i;

	for (i = 0; i < len; i++) {
		if (vary && ((i >= 10 && i < 16) || (i >= 20 && i < 22)))
			continue;
		if (a[i] != b[i])
			return false;
	}
	return true;
}

enum out_kind {
	OUT_SAME, /* passed untouched */
	OUT_DSR,  /* MACs rewritten */
	OUT_IPIP, /* encapsulated */
};

/*
 * Source MAC of a forwarded frame: the destination MAC of the frame udplb received. DSR rewrites
 * the MACs in place and the test run reuses the buffer, so from the second iteration on that is
 * the previous iteration's backend (any backend of the VIP when every iteration is a new flow).
 * The IP-in-IP front program puts the original Ethernet header back every iteration.
 */
static bool smac_ok(enum out_kind kind, bool vary, __u32 repeat, const struct udplb_backend *be,
		    const struct frame *out)
{
	const __u8 *smac = out->data + ETH_ALEN;
	unsigned int id;

	if (kind == OUT_IPIP || repeat == 1)
		return !memcmp(smac, lb_mac, ETH_ALEN);
	if (!vary)
		return !memcmp(smac, be->mac, ETH_ALEN);
	id = (unsigned int)smac[4] << 8 | smac[5];
	return smac[0] == 0x02 && !smac[1] && !smac[2] && !smac[3] && id >= 1 && id <= FX_BACKENDS;
}

static int check_output(enum out_kind kind, bool vary, bool new_flow, bool room, __u32 repeat,
			const struct frame *in, const struct frame *out, char *msg, size_t len)
{
	const __u8 *inner = out->data + ETH_HLEN;
	struct udplb_backend be;
	__u32 id, ip_len = in->len - ETH_HLEN;
	int e;

	if (kind == OUT_SAME) {
		if (out->len != in->len || memcmp(out->data, in->data, ETH_HLEN) ||
		    !ip_equal(inner, in->data + ETH_HLEN, ip_len, vary)) {
			snprintf(msg, len, "the packet changed");
			return -EBADMSG;
		}
		return 0;
	}
	if (kind == OUT_IPIP) {
		const __u8 *outer = out->data + ETH_HLEN;
		__u32 tot = (__u32)(in->data[ETH_HLEN + 2] << 8 | in->data[ETH_HLEN + 3]);

		if (out->len != in->len + 20) {
			snprintf(msg, len, "ipip output of %u bytes, expected %u", out->len,
				 in->len + 20);
			return -EBADMSG;
		}
		inner = outer + 20;
		e = predict(inner, &id, &be);
		if (e) {
			snprintf(msg, len, "predicting the backend: %s", strerror(-e));
			return e;
		}
		if (outer[0] != 0x45 || outer[9] != IPPROTO_IPIP || tl_csum16(outer, 20) != 0 ||
		    (__u32)(outer[2] << 8 | outer[3]) != tot + 20 ||
		    memcmp(outer + 12, &fx.ipip_src, 4) || memcmp(outer + 16, &be.addr, 4)) {
			snprintf(msg, len, "bad outer IPv4 header");
			return -EBADMSG;
		}
	} else {
		if (out->len != in->len) {
			snprintf(msg, len, "dsr output of %u bytes, expected %u", out->len,
				 in->len);
			return -EBADMSG;
		}
		e = predict(inner, &id, &be);
		if (e) {
			snprintf(msg, len, "predicting the backend: %s", strerror(-e));
			return e;
		}
	}
	if (memcmp(out->data, be.mac, ETH_ALEN) || !smac_ok(kind, vary, repeat, &be, out) ||
	    out->data[12] != 0x08 || out->data[13] != 0x00) {
		snprintf(msg, len, "MACs are not those of backend %u (the ring's choice)", id);
		return -EBADMSG;
	}
	if (!ip_equal(inner, in->data + ETH_HLEN, ip_len, vary)) {
		snprintf(msg, len, "the %s packet changed", kind == OUT_IPIP ? "inner" : "IPv4");
		return -EBADMSG;
	}
	if (vary && !memcmp(inner + 12, in->data + ETH_HLEN + 12, 4) &&
	    !memcmp(inner + 20, in->data + ETH_HLEN + 20, 2)) {
		snprintf(msg, len, "the front program did not give the flow a new source");
		return -EBADMSG;
	}
	if (new_flow) {
		e = ct_holds(room, inner, id);
		if (e) {
			snprintf(msg, len,
				 "conntrack does not hold backend %u for the last flow: %s", id,
				 strerror(-e));
			return e;
		}
	}
	return 0;
}

static int read_reasons(__u64 sums[__UDPLB_R_MAX])
{
	__u64 *vals = calloc(fx.ncpus, sizeof(*vals));
	__u32 r;
	int cpu, e = 0;

	if (!vals)
		return -ENOMEM;
	for (r = 0; r < __UDPLB_R_MAX; r++) {
		if (bpf_map_lookup_elem(bpf_map__fd(fx.lb->maps.reasons), &r, vals)) {
			e = -errno;
			break;
		}
		sums[r] = 0;
		for (cpu = 0; cpu < fx.ncpus; cpu++)
			sums[r] += vals[cpu];
	}
	free(vals);
	return e;
}

/* ---------------------------------------------------------------------------------------------
 * Contenders
 */

enum prog_id {
	P_PASS,
	P_PLAIN,
	P_AB,
	P_LB,
	P_FRONT,
};

struct pkt_contender {
	const char *name;
	bool tc;
	enum prog_id prog;
	enum prog_id jump; /* P_FRONT: tail-call target, P_LB or P_PASS */
	bool vary, restore;
	bool ipip_frame, other_frame;
	bool prerun;	 /* one iteration first (conntrack entry for a hit) */
	int want_reason; /* reason that must move by the iteration count, -1: none */
	int want_extra;	 /* second such reason, -1: none */
	bool lb;	 /* a udplb run: no ERROR, FORWARDED moves with CT_* */
	bool room;	 /* through fx.lb_room: conntrack emptied first, never evicts */
	enum out_kind out;
	int row;
};

static int prog_fd(bool tc, bool room, enum prog_id p)
{
	const struct bench_progs *b = fx.bp;
	const struct udplb *lb = room ? fx.lb_room : fx.lb;

	switch (p) {
	case P_PASS:
		return bpf_program__fd(tc ? b->progs.pass_tc : b->progs.pass_xdp);
	case P_PLAIN:
		return bpf_program__fd(tc ? b->progs.plain_tc : b->progs.plain_xdp);
	case P_AB:
		return bpf_program__fd(tc ? b->progs.ab_tc : b->progs.ab_xdp);
	case P_LB:
		return bpf_program__fd(tc ? lb->progs.udplb_tc : lb->progs.udplb_xdp);
	case P_FRONT:
		return bpf_program__fd(tc ? b->progs.front_tc : b->progs.front_xdp);
	}
	return -1;
}

static int set_jump(bool tc, bool room, enum prog_id target)
{
	int fd = prog_fd(tc, room, target);
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(tc ? fx.bp->maps.jmp_tc : fx.bp->maps.jmp_xdp), &zero,
				&fd, BPF_ANY))
		return -errno;
	return 0;
}

static __u32 want_retval(const struct pkt_contender *c)
{
	if (c->out == OUT_SAME)
		return c->tc ? TC_ACT_OK : XDP_PASS;
	return c->tc ? TC_ACT_REDIRECT : XDP_TX;
}

struct run_result {
	__u32 retval, duration;
	struct frame out;
};

static int test_run(int fd, const struct frame *in, __u32 repeat, struct run_result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = in->len,
		    .data_out = res->out.data, .data_size_out = sizeof(res->out.data),
		    .repeat = repeat);

	memset(res, 0, sizeof(*res));
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	res->retval = o.retval;
	res->duration = o.duration;
	res->out.len = o.data_size_out;
	return 0;
}

/* The lookup contenders: side B live, holding `want`; side A holds something else. */
#define LOOKUP_WANT 0x5eed0001U

static int lookup_setup(void)
{
	struct abmap_pointer p;
	__u32 i, other = ~LOOKUP_WANT, want = LOOKUP_WANT, zero = 0;

	fx.bp->bss->want = LOOKUP_WANT;
	for (i = 0; i < 64; i++) {
		if (bpf_map_update_elem(bpf_map__fd(fx.bp->maps.plain_vals), &i, &want, BPF_ANY) ||
		    bpf_map_update_elem(bpf_map__fd(fx.bp->maps.ab_vals_b), &i, &want, BPF_ANY) ||
		    bpf_map_update_elem(bpf_map__fd(fx.bp->maps.ab_vals_a), &i, &other, BPF_ANY))
			return -errno;
	}
	memset(&p, 0, sizeof(p));
	p.generation = 3;
	if (bpf_map_update_elem(bpf_map__fd(fx.bp->maps.ab_ptr), &zero, &p, BPF_ANY))
		return -errno;
	return 0;
}

/* Prepare the front program and the frame of contender @c. */
static int contender_prepare(const struct pkt_contender *c, struct frame *in)
{
	int e = 0;

	if (c->ipip_frame)
		frame_ipip(in);
	else if (c->other_frame)
		frame_other(in);
	else
		frame_dsr(in);
	if (c->prog == P_FRONT) {
		fx.bp->bss->vary_source = c->vary;
		fx.bp->bss->restore_ipip = c->restore;
		fx.bp->bss->watch = 0;
		fx.bp->bss->src_base = FX_NEW_SRC_BASE;
		memcpy(fx.bp->bss->orig_eth, in->data, ETH_HLEN);
		e = set_jump(c->tc, c->room, c->jump);
	}
	return e;
}

/* One measured run of @c with @repeat iterations; returns ns/packet, or -errno with @msg. */
static long measure(const struct pkt_contender *c, __u32 repeat, char *msg, size_t len)
{
	__u64 before[__UDPLB_R_MAX], after[__UDPLB_R_MAX];
	struct run_result res;
	struct frame in;
	int fd = prog_fd(c->tc, c->room, c->prog), e;

	if (c->room) {
		e = room_drain();
		if (e) {
			snprintf(msg, len, "emptying conntrack: %s", strerror(-e));
			return e;
		}
	}
	e = contender_prepare(c, &in);
	if (e) {
		snprintf(msg, len, "setting the tail call: %s", strerror(-e));
		return e;
	}
	if (c->prerun) {
		e = test_run(fd, &in, 1, &res);
		if (e || res.retval != want_retval(c)) {
			snprintf(msg, len, "first packet: %s, verdict %u", strerror(-e),
				 res.retval);
			return e ? e : -EBADMSG;
		}
	}
	if (c->lb) {
		e = read_reasons(before);
		if (e) {
			snprintf(msg, len, "reading udplb's counters: %s", strerror(-e));
			return e;
		}
	}
	e = test_run(fd, &in, repeat, &res);
	if (e) {
		snprintf(msg, len, "bpf_prog_test_run_opts: %s", strerror(-e));
		return e;
	}
	if (res.retval != want_retval(c)) {
		snprintf(msg, len, "verdict %u, expected %u", res.retval, want_retval(c));
		return -EBADMSG;
	}
	e = check_output(c->out, c->vary, c->want_reason == UDPLB_R_CT_NEW, c->room, repeat, &in,
			 &res.out, msg, len);
	if (e)
		return e;
	if (c->lb) {
		e = read_reasons(after);
		if (e) {
			snprintf(msg, len, "reading udplb's counters: %s", strerror(-e));
			return e;
		}
		if (c->want_reason >= 0 &&
		    after[c->want_reason] - before[c->want_reason] != repeat) {
			snprintf(msg, len, "counter %d moved by %llu in %u iterations",
				 c->want_reason,
				 (unsigned long long)(after[c->want_reason] -
						      before[c->want_reason]),
				 repeat);
			return -EBADMSG;
		}
		if (c->want_extra >= 0 && after[c->want_extra] - before[c->want_extra] != repeat) {
			snprintf(msg, len, "counter %d moved by %llu in %u iterations",
				 c->want_extra,
				 (unsigned long long)(after[c->want_extra] - before[c->want_extra]),
				 repeat);
			return -EBADMSG;
		}
		if (after[UDPLB_R_ERROR] != before[UDPLB_R_ERROR]) {
			snprintf(msg, len, "udplb counted helper errors");
			return -EBADMSG;
		}
	}
	return res.duration;
}

struct table *bench_packet(void)
{
	/* clang-format off */
	static const struct pkt_contender proto[] = {
		{ .name = "XDP_PASS baseline", .prog = P_PASS, .out = OUT_SAME },
		{ .name = "plain ARRAY lookup", .prog = P_PLAIN, .out = OUT_SAME },
		{ .name = "A/B ARRAY lookup (abmap_bpf.h)", .prog = P_AB, .out = OUT_SAME },
		{ .name = "udplb: non-VIP UDP, passed", .prog = P_LB, .other_frame = true,
		  .lb = true, .want_reason = UDPLB_R_NOT_VIP, .want_extra = -1, .out = OUT_SAME },
		{ .name = "udplb: dsr, conntrack hit", .prog = P_LB, .prerun = true, .lb = true,
		  .want_reason = UDPLB_R_CT_HIT, .want_extra = UDPLB_R_FORWARDED, .out = OUT_DSR },
		{ .name = "udplb: dsr, new flow (Maglev + ct insert)", .prog = P_FRONT,
		  .jump = P_LB, .vary = true, .lb = true, .room = true,
		  .want_reason = UDPLB_R_CT_NEW, .want_extra = UDPLB_R_FORWARDED, .out = OUT_DSR },
		{ .name = "udplb: dsr, new flow, ct full (insert evicts)", .prog = P_FRONT,
		  .jump = P_LB, .vary = true, .lb = true, .want_reason = UDPLB_R_CT_NEW,
		  .want_extra = UDPLB_R_FORWARDED, .out = OUT_DSR },
		{ .name = "  front program alone (new source + tail call)", .prog = P_FRONT,
		  .jump = P_PASS, .vary = true, .out = OUT_SAME },
		{ .name = "udplb: ipip, conntrack hit (front restores)", .prog = P_FRONT,
		  .jump = P_LB, .restore = true, .ipip_frame = true, .prerun = true, .lb = true,
		  .want_reason = UDPLB_R_CT_HIT, .want_extra = UDPLB_R_FORWARDED, .out = OUT_IPIP },
		{ .name = "udplb: ipip, new flow (front restores)", .prog = P_FRONT, .jump = P_LB,
		  .restore = true, .vary = true, .ipip_frame = true, .lb = true, .room = true,
		  .want_reason = UDPLB_R_CT_NEW, .want_extra = UDPLB_R_FORWARDED, .out = OUT_IPIP },
	};
	/* clang-format on */
	const unsigned int np = ARRAY_SIZE(proto), nc = 2 * np;
	struct pkt_contender cs[2 * ARRAY_SIZE(proto)];
	char err[BENCH_MSG_LEN], name[96];
	unsigned int i, r, k;
	struct table *t;
	int e;

	t = table_new("packet", "vs baseline",
		      "4. Per packet, BPF_PROG_TEST_RUN, 64-byte UDP, repeat %s, kernel-reported "
		      "(%u runs each, interleaved)",
		      grp(cfg.pkt_rep), cfg.reps);
	if (!t)
		return NULL;
	for (i = 0; i < nc; i++) {
		struct pkt_contender *c = &cs[i];
		int base = i < np ? 0 : (int)np;

		*c = proto[i % np];
		c->tc = i >= np;
		snprintf(name, sizeof(name), "%s %s", c->tc ? "tc: " : "xdp:",
			 c->tc && c->prog == P_PASS ? "TC_ACT_OK baseline" : c->name);
		/* Rows in order: the baseline is row base, the plain lookup base + 1. */
		c->row = table_row(t, name, "ns", c->prog == P_AB ? base + 1 : base);
		switch (i % np) {
		case 2:
			row_target(t, c->row, TGT_DELTA_MAX, 3);
			break;
		case 3:
			row_target(t, c->row, TGT_RATIO_MAX, 2);
			break;
		case 4:
		case 8:
			row_target(t, c->row, TGT_RATIO_MAX, 7);
			break;
		case 5:
		case 6:
		case 9:
			row_target(t, c->row, TGT_RATIO_MAX, 25);
			break;
		}
	}
	table_note(t,
		   "new-flow runs give every iteration a new source (front program, tail call) "
		   "and check that conntrack inserts (CT_NEW) equal iterations; \"new flow\" "
		   "rows run a udplb instance on the same maps whose conntrack holds %s flows and "
		   "is emptied before each run (no insert evicts); \"ct full\" runs udplb's own "
		   "conntrack (LRU, %s flows), full after the first runs: every insert evicts",
		   grp(cfg.pkt_rep + cfg.pkt_rep / 2 + 65536), grp(UDPLB_CT_ENTRIES));
	table_note(t, "ipip rows go through the front program, which strips the previous "
		      "iteration's outer header: they include its cost (see the front-alone row)");
	table_note(t,
		   "every run's verdict, last output frame (backend MACs, outer header, inner "
		   "packet) and reason counters are checked; %d backends per VIP, MACs stored",
		   FX_BACKENDS);
	if (!cfg.kernel) {
		table_skip_all(t, "needs root (BPF programs)");
		return t;
	}
	e = lbfx_setup(err, sizeof(err));
	if (e) {
		table_fail_all(t, "%s", err);
		return t;
	}
	e = lookup_setup();
	if (e) {
		table_fail_all(t, "preparing the lookup maps: %s", strerror(-e));
		return t;
	}
	progress("4: per-packet cost, repeat %u", cfg.pkt_rep);
	/*
	 * Warm-up, checked like the measured runs. The "ct full" rows fill udplb's conntrack
	 * first (full mode), so that every insert of every measured run evicts.
	 */
	for (i = 0; i < nc; i++) {
		bool fill = !cfg.smoke && cs[i].vary && cs[i].lb && !cs[i].room;
		__u32 n = fill ? UDPLB_CT_ENTRIES : cfg.pkt_rep < 1000 ? cfg.pkt_rep : 1000;
		long ns = measure(&cs[i], n, err, sizeof(err));

		if (ns < 0)
			row_fail(t, cs[i].row, "warm-up: %s", err);
	}
	for (r = 0; r < cfg.reps; r++) {
		for (k = 0; k < nc; k++) {
			struct pkt_contender *c = &cs[(r + k) % nc];
			long ns;

			if (t->rows[c->row].state == ROW_FAILED)
				continue;
			ns = measure(c, cfg.pkt_rep, err, sizeof(err));
			if (ns < 0)
				row_fail(t, c->row, "%s", err);
			else
				row_add(t, c->row, (double)ns);
		}
	}
	fx.bp->bss->vary_source = 0;
	fx.bp->bss->restore_ipip = 0;
	return t;
}
