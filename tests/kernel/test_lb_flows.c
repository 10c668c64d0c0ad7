// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The udplb control plane (lib/udplb) driving the real data plane (bpf/udplb.bpf.c): packets run
 * through udplb_xdp with BPF_PROG_TEST_RUN, inside a private network namespace (XDP test runs use
 * the caller's loopback device).
 *
 *  - conntrack keeps a flow on its backend across commits that add or remove OTHER backends (and
 *    VIPs that move the ring offsets); the flow moves, to where the ring says, only when its own
 *    backend is removed, even when a new backend takes the freed slot id;
 *  - a draining backend keeps its flows and gets no new ones; all drained: old flows stay, new
 *    ones get no backend;
 *  - consistency under flips: a reader on CPU 0 runs packets of new flows while a writer on CPU 1
 *    commits two configurations in turn. X: ring of 4099, backends 10.1.0.i with MACs
 *    02:aa:..:i, weights 1..8; Y: ring of 4093, backends 10.2.0.i with MACs 02:bb:..:i, weights
 *    8..1 (IP-in-IP, so the output shows the backend's address and MAC). For every flow the test
 *    knows X's and Y's choice (same hash, each side's ring); an output equal to neither is a mix
 *    of two configurations: the ring (or the VIP) read on one side, the backend on the other.
 *    Negative control: the same data plane with a pointer read per structure (udplb_torn.bpf.c),
 *    same workload, must show mixes (its reader is slowed down until it does); the real one
 *    must show none over >= 10^6 packets and >= 1,000 flips;
 *  - a full-size configuration committed, read back and found unchanged on real maps.
 *
 * One packet per BPF_PROG_TEST_RUN call: repeat > 1 installs the program in the XDP dispatcher
 * for every call (two synchronize_rcu(), ~24 ms, see test_torn.c), and only the last
 * iteration's output would come back. Each call gets a new 5-tuple from the reader.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/libbpf.h>

#include "ktest.h"
#include "lb.h"
#include "lb_sim.h"
#include "packet.h"
#include "udplb_fixture.h"
#include "udplb.skel.h"
#include "udplb_torn.skel.h"

#define IP(a, b, c, d) htonl(((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (d))
#define VIP_ADDR IP(10, 0, 0, 10)
#define VIP_PORT 53
#define HASH_SEED 0x5eed0001U
#define NR_FLOWS 3000

/* Stress limits. */
#define MIN_PACKETS 1000000ULL
#define MIN_FLIPS 1000ULL
#define STRESS_MAX_MS 90000
#define CTRL_MIN_MIXES 20
#define CTRL_STAGE_MIN_MS 1000
#define CTRL_STAGE_MAX_MS 5000
#define STRESS_BACKENDS 8

static const __u8 lb_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const __u8 client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

/* A 64-byte test frame (tests/lib/packet.h). */
struct pkt {
	__u8 data[64];
	size_t len;
};

/* What came out of one test run. */
struct out {
	__u32 act;
	__u8 mac[6];  /* destination MAC */
	__be32 daddr; /* outer destination (ipip), else the packet's */
	bool ipip;
};

/*
 * One instance under test: a skeleton opened through the tests' fixture (tests/lib), its maps as
 * lb_maps, its XDP program, and a simulator of its live tables (rebuilt after each flip).
 */
struct lbt {
	struct tl_udplb fx;
	struct lb_maps maps;
	int prog_fd;
};

/* The simulator of the test's instance (one per test, freed at teardown). */
static struct {
	struct lb_sim *sim;
	struct abmap_group *group;
	__u64 gen;
} sim_cache;

/* ---------------------------------------------------------------------------------------------
 * Setup
 */

static void enter_netns(void)
{
	static bool done;

	if (done)
		return;
	if (unshare(CLONE_NEWNET))
		fail_msg("%s: unshare(CLONE_NEWNET): %s", ktest_name(), strerror(errno));
	done = true;
}

static void udplb_destroy_cb(void *arg)
{
	udplb__destroy(arg);
}

static void udplb_torn_destroy_cb(void *arg)
{
	udplb_torn__destroy(arg);
}

static void sim_free_cb(void *arg)
{
	(void)arg;
	lb_sim_free(sim_cache.sim);
	memset(&sim_cache, 0, sizeof(sim_cache));
}

static void lbt_attach(struct lbt *t, const struct bpf_object *obj)
{
	struct abmap_group_opts go;
	struct lb_err err;
	int ret;

	memset(t, 0, sizeof(*t));
	ktest_group_opts(&go, 0);
	ret = tl_udplb_open_obj(&t->fx, obj, &go, &err);
	if (ret)
		fail_msg("%s: %s", ktest_name(), err.msg);
	t->maps = t->fx.maps;
	ktest_track_group(t->maps.group);
	t->prog_fd = t->fx.xdp_fd;
	ret = tl_udplb_config(&t->fx, HASH_SEED, IP(10, 0, 0, 100), 1);
	if (ret)
		fail_msg("%s: writing the config map: %s", ktest_name(), strerror(-ret));
	ktest_defer(sim_free_cb, NULL);
}

static struct udplb *load_udplb(struct lbt *t)
{
	struct udplb *skel;

	skel = udplb__open_and_load();
	if (!skel)
		fail_msg("%s: loading the udplb skeleton: %s", ktest_name(), strerror(errno));
	ktest_defer(udplb_destroy_cb, skel);
	lbt_attach(t, skel->obj);
	return skel;
}

static struct udplb_torn *load_torn(struct lbt *t)
{
	struct udplb_torn *skel;

	skel = udplb_torn__open_and_load();
	if (!skel)
		fail_msg("%s: loading the udplb_torn skeleton: %s", ktest_name(), strerror(errno));
	ktest_defer(udplb_torn_destroy_cb, skel);
	lbt_attach(t, skel->obj);
	return skel;
}

/* The simulator of the live tables, rebuilt when the generation moved. */
static const struct lb_sim *lbt_sim(struct lbt *t)
{
	struct lb_err err;
	__u64 gen;

	if (abmap_group_generation(t->maps.group, &gen))
		fail_msg("reading the generation");
	if (sim_cache.sim && sim_cache.group == t->maps.group && gen == sim_cache.gen)
		return sim_cache.sim;
	lb_sim_free(sim_cache.sim);
	sim_cache.sim = NULL;
	if (lb_sim_from_maps(&t->maps, &sim_cache.sim, &err))
		fail_msg("%s: lb_sim_from_maps: %s", ktest_name(), err.msg);
	sim_cache.group = t->maps.group;
	sim_cache.gen = gen;
	return sim_cache.sim;
}

static void lbt_commit(struct lbt *t, const struct lb_state *s)
{
	struct lb_commit_opts o;
	int ret;

	memset(&o, 0, sizeof(o));
	ret = lb_commit(&t->maps, s, &o);
	if (ret != 0)
		fail_msg("%s: lb_commit returned %d: %s", ktest_name(), ret,
			 ret < 0 ? o.err.msg : "unchanged");
}

/* Sum of a per-CPU reason counter. */
static __u64 reason(struct lbt *t, __u32 r)
{
	__u64 sum;
	int ret = tl_udplb_reason(&t->fx, r, &sum);

	if (ret)
		fail_msg("reading reason %u: %s", r, strerror(-ret));
	return sum;
}

/* ---------------------------------------------------------------------------------------------
 * Configurations
 */

/* Backend MAC: 02:<grp>:00:00:00:<i>. */
static struct lb_backend backend(__be32 addr, __u16 weight, __u8 state, __u8 grp, __u8 i)
{
	return tl_backend(addr, htons(VIP_PORT), weight, state, (__u64)grp << 32 | i);
}

static void add_vip(struct lb_state *s, __be32 addr, __u8 fwd, __u32 ring)
{
	struct lb_vip v = tl_vip(addr, htons(VIP_PORT), fwd, ring);
	struct lb_err err;

	if (lb_vip_add(s, &v, &err))
		fail_msg("lb_vip_add: %s", err.msg);
}

static void add_be(struct lb_state *s, __be32 vip, const struct lb_backend *b)
{
	struct udplb_vip_key k = { .addr = vip, .port = htons(VIP_PORT) };
	struct lb_err err;

	if (lb_backend_add(s, &k, b, &err))
		fail_msg("lb_backend_add: %s", err.msg);
}

/* Active backends 10.1.0.@first..@last of VIP_ADDR, weight 1, MAC 02:aa:00:00:00:<i>. */
static void add_backends(struct lb_state *s, __u32 first, __u32 last)
{
	struct lb_backend b;
	__u32 i;

	for (i = first; i <= last; i++) {
		b = backend(IP(10, 1, 0, i), 1, UDPLB_BACKEND_ACTIVE, 0xaa, (__u8)i);
		add_be(s, VIP_ADDR, &b);
	}
}

static void set_be(struct lb_state *s, const struct lb_backend *b)
{
	struct udplb_vip_key k = { .addr = VIP_ADDR, .port = htons(VIP_PORT) };
	struct lb_err err;

	if (lb_backend_set(s, &k, b, &err))
		fail_msg("lb_backend_set: %s", err.msg);
}

static void del_be(struct lb_state *s, __be32 addr)
{
	struct udplb_vip_key k = { .addr = VIP_ADDR, .port = htons(VIP_PORT) };
	struct lb_err err;

	if (lb_backend_del(s, &k, addr, 0, &err))
		fail_msg("lb_backend_del: %s", err.msg);
}

/* Live slot id of backend @addr of the test VIP. */
static __u32 live_id(struct lbt *t, __be32 addr)
{
	struct udplb_vip_key k = { .addr = VIP_ADDR, .port = htons(VIP_PORT) };
	struct lb_backend *b;
	struct lb_state s;
	struct lb_err err;
	__u32 id;

	if (lb_read(&t->maps, &s, &err))
		fail_msg("lb_read: %s", err.msg);
	b = lb_backend_find(lb_vip_find(&s, &k), addr, 0);
	if (!b)
		fail_msg("backend %08x is not live", ntohl(addr));
	id = b->id;
	lb_state_free(&s);
	return id;
}

/* ---------------------------------------------------------------------------------------------
 * Packets
 */

static void make_pkt(struct pkt *p, __be32 saddr, __u16 sport)
{
	struct tl_udp4 spec = {
		.saddr = saddr,
		.daddr = VIP_ADDR,
		.sport = htons(sport),
		.dport = htons(VIP_PORT),
		.payload = 22,
	};

	memcpy(spec.dst_mac, lb_mac, 6);
	memcpy(spec.src_mac, client_mac, 6);
	p->len = tl_udp4_build(&spec, p->data, sizeof(p->data));
	assert_int_equal(p->len, 64);
}

/* Run one packet; 0 or -errno of the test run. */
static int run_pkt(int prog_fd, const struct pkt *p, struct out *o)
{
	struct tl_out parsed;
	struct tl_run r;
	int err;

	err = tl_run(prog_fd, p->data, (__u32)p->len, &r);
	if (err)
		return err;
	memset(o, 0, sizeof(*o));
	o->act = r.retval;
	if (tl_out_parse(r.out, r.out_len, &parsed))
		return -EPROTO;
	memcpy(o->mac, parsed.dst_mac, 6);
	o->ipip = parsed.ipip;
	o->daddr = parsed.daddr;
	return 0;
}

static struct udplb_flow flow_of(__be32 saddr, __u16 sport)
{
	struct udplb_flow f;

	memset(&f, 0, sizeof(f));
	f.saddr = saddr;
	f.daddr = VIP_ADDR;
	f.sport = htons(sport);
	f.dport = htons(VIP_PORT);
	f.proto = IPPROTO_UDP;
	return f;
}

/* Flow @i of a batch: source 172.16.x.y, port 10000 + i. */
static __be32 flow_saddr(__u32 batch, __u32 i)
{
	return IP(172, 16 + batch, (i >> 8) & 0xff, i & 0xff);
}

static __u16 flow_sport(__u32 i)
{
	return (__u16)(10000 + i);
}

/* Send flow @i of @batch, expect XDP_TX in DSR mode, return the backend index (MAC's last byte). */
static int send_flow(struct lbt *t, __u32 batch, __u32 i, struct out *o)
{
	struct pkt p;
	int err;

	make_pkt(&p, flow_saddr(batch, i), flow_sport(i));
	err = run_pkt(t->prog_fd, &p, o);
	if (err)
		fail_msg("%s: bpf_prog_test_run_opts: %s", ktest_name(), strerror(-err));
	if (o->act != XDP_TX)
		return -1;
	return o->mac[5];
}

/* What the control plane's tables say for flow @i of @batch: the backend index (its MAC's last
 * byte), from the flow simulator (the data plane's lookup, in userspace). */
static int ring_choice(struct lbt *t, __u32 batch, __u32 i)
{
	struct udplb_flow f = flow_of(flow_saddr(batch, i), flow_sport(i));
	struct lb_sim_result r;

	if (lb_sim_flow(lbt_sim(t), &f, HASH_SEED, &r))
		return -1;
	return r.mac[5];
}

/* ---------------------------------------------------------------------------------------------
 * Conntrack
 */

/* A test's start: udplb in a private namespace, the DSR VIP with backends 1..@n committed. */
static void start_dsr(struct lbt *t, struct lb_state *s, __u32 n)
{
	ktest_begin();
	enter_netns();
	load_udplb(t);
	lb_state_init(s);
	add_vip(s, VIP_ADDR, UDPLB_FWD_DSR, 0);
	add_backends(s, 1, n);
	lbt_commit(t, s);
}

static void test_conntrack(void **state)
{
	static int be_of[NR_FLOWS];
	__u32 i, stayed_by_ct = 0, moved = 0, on_new = 0, id4, reused = 0;
	__u64 hits0;
	struct lb_state s;
	struct lb_backend b;
	struct out o;
	struct lbt t;
	int got;

	(void)state;
	start_dsr(&t, &s, 6);

	/* New flows: each goes where the control plane's tables say. */
	for (i = 0; i < NR_FLOWS; i++) {
		be_of[i] = send_flow(&t, 0, i, &o);
		if (be_of[i] < 0)
			fail_msg("flow %u: action %u, expected XDP_TX", i, o.act);
		if (be_of[i] != ring_choice(&t, 0, i))
			fail_msg("flow %u: data plane chose backend %d, the ring says %d", i,
				 be_of[i], ring_choice(&t, 0, i));
		assert_memory_equal(o.mac, ((__u8[]){ 0x02, 0xaa, 0, 0, 0, (__u8)be_of[i] }), 6);
		assert_int_equal(o.daddr, VIP_ADDR); /* DSR: the IP header is untouched */
	}

	/* 1. Add other backends and a VIP that sorts first (every ring offset moves). */
	add_vip(&s, IP(10, 0, 0, 9), UDPLB_FWD_DSR, 0);
	b = backend(IP(10, 1, 9, 1), 1, UDPLB_BACKEND_ACTIVE, 0xaa, 99);
	add_be(&s, IP(10, 0, 0, 9), &b);
	add_backends(&s, 7, 8);
	lbt_commit(&t, &s);
	hits0 = reason(&t, UDPLB_R_CT_HIT);
	for (i = 0; i < NR_FLOWS; i++) {
		got = send_flow(&t, 0, i, &o);
		if (got != be_of[i])
			fail_msg("after adding backends: flow %u moved from backend %d to %d", i,
				 be_of[i], got);
		stayed_by_ct += ring_choice(&t, 0, i) != be_of[i];
	}
	assert_int_equal(reason(&t, UDPLB_R_CT_HIT) - hits0, NR_FLOWS);
	for (i = 0; i < NR_FLOWS; i++) {
		got = send_flow(&t, 1, i, &o);
		assert_int_equal(got, ring_choice(&t, 1, i));
		on_new += got == 7 || got == 8;
	}
	print_message("add 2 backends: %u of %u flows kept by conntrack although the ring now "
		      "says otherwise; %u of %u new flows on the new backends\n",
		      stayed_by_ct, NR_FLOWS, on_new, NR_FLOWS);
	assert_true(stayed_by_ct > 0);
	assert_true(on_new > 0);

	/* 2. Remove backend 2: only its flows move, to the ring's choice. */
	del_be(&s, IP(10, 1, 0, 2));
	lbt_commit(&t, &s);
	for (i = 0; i < NR_FLOWS; i++) {
		got = send_flow(&t, 0, i, &o);
		if (be_of[i] != 2) {
			if (got != be_of[i])
				fail_msg("after removing backend 2: flow %u moved from %d to %d", i,
					 be_of[i], got);
			continue;
		}
		moved++;
		assert_int_not_equal(got, 2);
		assert_int_equal(got, ring_choice(&t, 0, i));
		be_of[i] = got;
	}
	print_message("remove backend 2: its %u flows moved, the other %u stayed\n", moved,
		      NR_FLOWS - moved);
	assert_true(moved > 0);

	/*
	 * 3. Remove backend 4 and add 9 and 10: they take the freed slot ids (2's and 4's), so
	 * conntrack entries of 4's flows name a slot that now holds another backend. Those flows
	 * must go where the ring says, not to the slot's new owner by id.
	 */
	id4 = live_id(&t, IP(10, 1, 0, 4));
	del_be(&s, IP(10, 1, 0, 4));
	add_backends(&s, 9, 10);
	lbt_commit(&t, &s);
	assert_true(live_id(&t, IP(10, 1, 0, 9)) == id4 || live_id(&t, IP(10, 1, 0, 10)) == id4);
	moved = 0;
	for (i = 0; i < NR_FLOWS; i++) {
		got = send_flow(&t, 0, i, &o);
		if (be_of[i] != 4) {
			if (got != be_of[i])
				fail_msg("after removing backend 4: flow %u moved from %d to %d", i,
					 be_of[i], got);
			continue;
		}
		moved++;
		assert_int_not_equal(got, 4);
		assert_int_equal(got, ring_choice(&t, 0, i));
		reused += got == 9 || got == 10;
	}
	print_message("remove backend 4, add 9 and 10 into the freed slots: its %u flows moved to "
		      "the ring's choice (%u of them to 9 or 10 by the ring)\n",
		      moved, reused);
	assert_true(moved > 0);
	lb_state_free(&s);
}

/* ---------------------------------------------------------------------------------------------
 * Draining
 */

static void test_draining(void **state)
{
	static int be_of[NR_FLOWS];
	__u32 i, on2 = 0;
	__u64 nb0;
	struct lb_state s;
	struct lb_backend b;
	struct out o;
	struct lbt t;
	int got;

	(void)state;
	start_dsr(&t, &s, 4);
	for (i = 0; i < NR_FLOWS; i++) {
		be_of[i] = send_flow(&t, 0, i, &o);
		assert_true(be_of[i] >= 1 && be_of[i] <= 4);
		on2 += be_of[i] == 2;
	}
	assert_true(on2 > 0);

	/* Drain backend 2: its flows stay, new flows avoid it. */
	b = backend(IP(10, 1, 0, 2), 1, UDPLB_BACKEND_DRAINING, 0xaa, 2);
	set_be(&s, &b);
	lbt_commit(&t, &s);
	for (i = 0; i < NR_FLOWS; i++) {
		got = send_flow(&t, 0, i, &o);
		if (got != be_of[i])
			fail_msg("after draining 2: flow %u moved from %d to %d", i, be_of[i], got);
	}
	for (i = 0; i < NR_FLOWS; i++) {
		got = send_flow(&t, 1, i, &o);
		assert_true(got >= 1 && got <= 4);
		assert_int_not_equal(got, 2);
	}
	print_message("drain backend 2: its %u flows stayed, %u new flows avoided it\n", on2,
		      NR_FLOWS);

	/* Drain all: existing flows stay, new ones find no backend (passed). */
	for (i = 1; i <= 4; i++) {
		b = backend(IP(10, 1, 0, i), 1, UDPLB_BACKEND_DRAINING, 0xaa, (__u8)i);
		set_be(&s, &b);
	}
	lbt_commit(&t, &s);
	for (i = 0; i < NR_FLOWS; i++)
		assert_int_equal(send_flow(&t, 0, i, &o), be_of[i]);
	nb0 = reason(&t, UDPLB_R_NO_BACKEND);
	for (i = 0; i < 100; i++) {
		assert_int_equal(send_flow(&t, 2, i, &o), -1);
		assert_int_equal(o.act, XDP_PASS);
	}
	assert_int_equal(reason(&t, UDPLB_R_NO_BACKEND) - nb0, 100);

	/* Only 2 active again: every new flow goes to it; the old ones still stay. */
	b = backend(IP(10, 1, 0, 2), 1, UDPLB_BACKEND_ACTIVE, 0xaa, 2);
	set_be(&s, &b);
	lbt_commit(&t, &s);
	for (i = 0; i < NR_FLOWS; i++)
		assert_int_equal(send_flow(&t, 3, i, &o), 2);
	for (i = 0; i < NR_FLOWS; i++)
		assert_int_equal(send_flow(&t, 0, i, &o), be_of[i]);
	lb_state_free(&s);
}

/* ---------------------------------------------------------------------------------------------
 * Consistency under flips
 */

/* The two configurations, and simulators of the live tables each gives. */
struct cfg_tables {
	struct lb_state state;
	__u32 ring_size;
	struct lb_sim *sim;
};

struct stress {
	struct lbt *t;
	struct cfg_tables cfg[2];
	int stop;
	/* writer */
	__u64 flips;
	int writer_err;
	char writer_msg[LB_ERR_LEN];
	/* reader */
	__u64 packets, mixes, bad_act, seen[2], switches;
	/* mixes by kind: [backends side][ring read on the same side (VIP other) / other side] */
	__u64 kinds[2][2], unexplained;
	int reader_err;
	__u32 first_mix_flow;
	struct out first_mix;
	int pin_err;
};

static void make_cfg(struct lb_state *s, int which)
{
	struct lb_backend b;
	__u32 i;

	lb_state_init(s);
	add_vip(s, VIP_ADDR, UDPLB_FWD_IPIP, which ? 4093 : 4099);
	for (i = 1; i <= STRESS_BACKENDS; i++) {
		b = backend(IP(10, 1 + which, 0, i), (__u16)(which ? STRESS_BACKENDS + 1 - i : i),
			    UDPLB_BACKEND_ACTIVE, which ? 0xbb : 0xaa, (__u8)i);
		add_be(s, VIP_ADDR, &b);
	}
}

/* Commit configuration @which and keep a simulator of the live tables it gives. */
static void capture_cfg(struct stress *st, int which)
{
	struct cfg_tables *c = &st->cfg[which];
	const __u32 *ring;
	struct lb_err err;
	__u32 i, len;

	make_cfg(&c->state, which);
	lbt_commit(st->t, &c->state);
	c->ring_size = c->state.vips[0].ring_size;
	if (lb_sim_from_maps(&st->t->maps, &c->sim, &err))
		fail_msg("lb_sim_from_maps: %s", err.msg);
	ring = lb_sim_ring(c->sim, &len);
	assert_true(len >= c->ring_size);
	for (i = 0; i < c->ring_size; i++)
		assert_true(ring[i] < STRESS_BACKENDS);
	for (i = 0; i < STRESS_BACKENDS; i++)
		assert_int_equal(lb_sim_backend(c->sim, i)->state, UDPLB_BACKEND_ACTIVE);
}

static void free_cfgs(struct stress *st)
{
	int i;

	for (i = 0; i < 2; i++) {
		lb_state_free(&st->cfg[i].state);
		lb_sim_free(st->cfg[i].sim);
	}
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static bool stopped(struct stress *st)
{
	return __atomic_load_n(&st->stop, __ATOMIC_RELAXED);
}

static void *writer_main(void *arg)
{
	struct stress *st = arg;
	struct lb_commit_opts o;
	int which = 0, ret;

	ret = pin_cpu(1);
	if (ret)
		__atomic_store_n(&st->pin_err, ret, __ATOMIC_RELAXED);
	while (!stopped(st)) {
		memset(&o, 0, sizeof(o));
		ret = lb_commit(&st->t->maps, &st->cfg[which].state, &o);
		if (ret) {
			st->writer_err = ret;
			snprintf(st->writer_msg, sizeof(st->writer_msg), "%s",
				 ret > 0 ? "nothing to commit" : o.err.msg);
			break;
		}
		__atomic_add_fetch(&st->flips, 1, __ATOMIC_RELAXED);
		which ^= 1;
	}
	return NULL;
}

/* Does output @o agree with configuration @c for flow @f? */
static bool matches(const struct cfg_tables *c, const struct udplb_flow *f, const struct out *o)
{
	struct lb_sim_result r;

	return !lb_sim_flow(c->sim, f, HASH_SEED, &r) && o->daddr == r.addr &&
	       !memcmp(o->mac, r.mac, 6);
}

/*
 * Which reads of a mixed packet came from which side: the backend entry's side is its MAC's
 * group; its slot id came from some ring slot. Look for it in X's and Y's ring array, indexed
 * with X's and Y's ring size (the VIP entry's side).
 */
static void classify_mix(struct stress *st, const struct udplb_flow *f, const struct out *o)
{
	__u32 h = udplb_flow_hash(f, HASH_SEED, UDPLB_HASH_5TUPLE), id, side, vside, rside, len;
	bool found = false;

	side = o->mac[1] == 0xbb;
	for (id = 0; id < STRESS_BACKENDS; id++) {
		if (!memcmp(lb_sim_backend(st->cfg[side].sim, id)->mac, o->mac, 6))
			break;
	}
	for (vside = 0; vside < 2 && !found; vside++) {
		for (rside = 0; rside < 2 && !found; rside++) {
			const __u32 *ring = lb_sim_ring(st->cfg[rside].sim, &len);
			__u32 idx = h % st->cfg[vside].ring_size;

			/* past a ring's end: what follows it in the array (trailer, zeros) */
			if ((idx < len ? ring[idx] : 0) == id &&
			    !(vside == side && rside == side)) {
				st->kinds[side][rside != side]++;
				found = true;
			}
		}
	}
	if (!found)
		st->unexplained++;
}

static void *reader_main(void *arg)
{
	struct stress *st = arg;
	__u32 n = 0;
	int last = -1, ret;

	ret = pin_cpu(0);
	if (ret)
		__atomic_store_n(&st->pin_err, ret, __ATOMIC_RELAXED);
	while (!stopped(st)) {
		/* A new 5-tuple for every packet: 2^32 flows before any repeats. */
		__be32 saddr = htonl(0xac100000U + (n >> 16));
		__u16 sport = (__u16)n;
		struct udplb_flow f = flow_of(saddr, sport);
		bool x, y;
		struct pkt p;
		struct out o;

		make_pkt(&p, saddr, sport);
		ret = run_pkt(st->t->prog_fd, &p, &o);
		if (ret) {
			st->reader_err = ret;
			break;
		}
		n++;
		if (o.act != XDP_TX || !o.ipip) {
			st->bad_act++;
			continue;
		}
		x = matches(&st->cfg[0], &f, &o);
		y = matches(&st->cfg[1], &f, &o);
		if (!x && !y) {
			if (!st->mixes) {
				st->first_mix = o;
				st->first_mix_flow = n - 1;
			}
			st->mixes++;
			classify_mix(st, &f, &o);
		} else if (x != y) {
			int cur = y;

			st->seen[cur]++;
			if (last >= 0 && cur != last)
				st->switches++;
			last = cur;
		}
		__atomic_store_n(&st->packets, n, __ATOMIC_RELAXED);
	}
	return NULL;
}

struct stop_at {
	__u64 min_packets, min_flips, min_switches, min_mixes, min_ms, max_ms;
};

static void stress_run(struct stress *st, const struct stop_at *at, __u64 *elapsed_ms)
{
	pthread_t rt, wt;
	__u64 t0, ms;
	int err;

	st->stop = 0;
	st->flips = st->packets = st->mixes = st->bad_act = st->switches = 0;
	st->seen[0] = st->seen[1] = 0;
	memset(st->kinds, 0, sizeof(st->kinds));
	st->unexplained = 0;
	st->writer_err = st->reader_err = st->pin_err = 0;
	t0 = ktest_now_ns();
	/* No assertion between the thread starts and the joins. */
	err = pthread_create(&rt, NULL, reader_main, st);
	if (err)
		fail_msg("pthread_create: %s", strerror(err));
	err = pthread_create(&wt, NULL, writer_main, st);
	if (err) {
		__atomic_store_n(&st->stop, 1, __ATOMIC_RELAXED);
		pthread_join(rt, NULL);
		fail_msg("pthread_create: %s", strerror(err));
	}
	for (;;) {
		usleep(20000);
		ms = (ktest_now_ns() - t0) / 1000000;
		if (ms >= at->max_ms || st->writer_err || st->reader_err)
			break;
		if (ms < at->min_ms ||
		    __atomic_load_n(&st->packets, __ATOMIC_RELAXED) < at->min_packets ||
		    __atomic_load_n(&st->flips, __ATOMIC_RELAXED) < at->min_flips ||
		    __atomic_load_n(&st->switches, __ATOMIC_RELAXED) < at->min_switches ||
		    __atomic_load_n(&st->mixes, __ATOMIC_RELAXED) < at->min_mixes)
			continue;
		break;
	}
	__atomic_store_n(&st->stop, 1, __ATOMIC_RELAXED);
	pthread_join(wt, NULL);
	pthread_join(rt, NULL);
	*elapsed_ms = (ktest_now_ns() - t0) / 1000000;
	if (st->pin_err)
		printf("  warning: sched_setaffinity: %s (threads not pinned)\n",
		       strerror(-st->pin_err));
	if (st->writer_err)
		fail_msg("%s: writer: lb_commit returned %d: %s", ktest_name(), st->writer_err,
			 st->writer_msg);
	if (st->reader_err)
		fail_msg("%s: reader: bpf_prog_test_run_opts: %s", ktest_name(),
			 strerror(-st->reader_err));
}

static void stress_report(const char *label, const struct stress *st, __u64 ms, __u32 spin)
{
	printf("  flips [%s]: packets %llu, flips %llu, mixes %llu, bad verdicts %llu, "
	       "X %llu / Y %llu packets, reader saw %llu switches, %.1f s, spin %u\n",
	       label, (unsigned long long)st->packets, (unsigned long long)st->flips,
	       (unsigned long long)st->mixes, (unsigned long long)st->bad_act,
	       (unsigned long long)st->seen[0], (unsigned long long)st->seen[1],
	       (unsigned long long)st->switches, ms / 1000.0, spin);
	if (st->mixes) {
		printf("    mixes by kind: backend entry of X with ring of Y %llu, of Y with ring "
		       "of X %llu; ring and backend of one side, VIP entry of the other %llu; "
		       "unexplained %llu\n",
		       (unsigned long long)st->kinds[0][1], (unsigned long long)st->kinds[1][1],
		       (unsigned long long)(st->kinds[0][0] + st->kinds[1][0]),
		       (unsigned long long)st->unexplained);
		printf("    first mix: packet %u went to %u.%u.%u.%u with MAC "
		       "%02x:%02x:%02x:%02x:%02x:%02x\n",
		       st->first_mix_flow, ((__u8 *)&st->first_mix.daddr)[0],
		       ((__u8 *)&st->first_mix.daddr)[1], ((__u8 *)&st->first_mix.daddr)[2],
		       ((__u8 *)&st->first_mix.daddr)[3], st->first_mix.mac[0],
		       st->first_mix.mac[1], st->first_mix.mac[2], st->first_mix.mac[3],
		       st->first_mix.mac[4], st->first_mix.mac[5]);
	}
	fflush(stdout);
}

/* Without flips, every packet agrees with the live configuration: the detector is sound. */
static void stress_sanity(struct stress *st)
{
	__u32 i, which;

	for (which = 0; which < 2; which++) {
		lbt_commit(st->t, &st->cfg[which].state);
		for (i = 0; i < 2000; i++) {
			struct udplb_flow f = flow_of(IP(192, 168, which, i & 0xff), (__u16)i);
			struct pkt p;
			struct out o;

			make_pkt(&p, f.saddr, (__u16)i);
			assert_int_equal(run_pkt(st->t->prog_fd, &p, &o), 0);
			assert_int_equal(o.act, XDP_TX);
			assert_true(o.ipip);
			assert_true(matches(&st->cfg[which], &f, &o));
		}
	}
}

/*
 * First the same workload as test_flips_consistent (>= 10^6 packets, >= 1,000 flips) with no
 * busy loop, for a like-for-like count; if that shows fewer than CTRL_MIN_MIXES mixes, shorter
 * stages with a slower reader until one does.
 */
static void test_flips_torn_control(void **state)
{
	static const __u32 spins[] = { 0, 300, 1500, 6000, 24000 };
	struct stop_at full = {
		.min_packets = MIN_PACKETS,
		.min_flips = MIN_FLIPS,
		.max_ms = STRESS_MAX_MS,
	};
	struct stop_at at = {
		.min_mixes = CTRL_MIN_MIXES,
		.min_ms = CTRL_STAGE_MIN_MS,
		.max_ms = CTRL_STAGE_MAX_MS,
	};
	struct udplb_torn *skel;
	struct stress st;
	struct lbt t;
	__u64 ms = 0;
	__u32 i;

	(void)state;
	ktest_begin();
	enter_netns();
	skel = load_torn(&t);
	memset(&st, 0, sizeof(st));
	st.t = &t;
	capture_cfg(&st, 0);
	capture_cfg(&st, 1);
	stress_sanity(&st);
	for (i = 0; i < sizeof(spins) / sizeof(spins[0]); i++) {
		skel->bss->spin_loops = spins[i];
		stress_run(&st, i ? &at : &full, &ms);
		stress_report("pointer read per lookup", &st, ms, spins[i]);
		if (st.mixes >= CTRL_MIN_MIXES)
			break;
	}
	free_cfgs(&st);
	if (!st.mixes)
		fail_msg("%s: no mixed configuration with a pointer read per lookup, even with a "
			 "busy loop of %u iterations: this test cannot tell a snapshot from none",
			 ktest_name(), spins[sizeof(spins) / sizeof(spins[0]) - 1]);
}

static void test_flips_consistent(void **state)
{
	struct stop_at at = {
		.min_packets = MIN_PACKETS,
		.min_flips = MIN_FLIPS,
		.min_switches = MIN_FLIPS,
		.max_ms = STRESS_MAX_MS,
	};
	struct stress st;
	struct lbt t;
	__u64 ms = 0;

	(void)state;
	ktest_begin();
	enter_netns();
	load_udplb(&t);
	memset(&st, 0, sizeof(st));
	st.t = &t;
	capture_cfg(&st, 0);
	capture_cfg(&st, 1);
	stress_sanity(&st);
	stress_run(&st, &at, &ms);
	stress_report("snapshot once (udplb_xdp)", &st, ms, 0);
	free_cfgs(&st);
	if (st.mixes || st.bad_act)
		fail_msg("%s: %llu packets mixed two configurations, %llu were not forwarded",
			 ktest_name(), (unsigned long long)st.mixes,
			 (unsigned long long)st.bad_act);
	if (st.packets < MIN_PACKETS || st.flips < MIN_FLIPS || st.switches < MIN_FLIPS)
		fail_msg("%s: not enough overlap in %.1f s: %llu packets (want %llu), %llu flips, "
			 "reader saw %llu switches (want %llu)",
			 ktest_name(), ms / 1000.0, (unsigned long long)st.packets,
			 (unsigned long long)MIN_PACKETS, (unsigned long long)st.flips,
			 (unsigned long long)st.switches, (unsigned long long)MIN_FLIPS);
}

/*
 * The control plane on real maps at full size: committed, read back, unchanged, and the data
 * plane agrees (the cost is measured by make bench, table 7).
 */
static void test_full_size(void **state)
{
	struct lb_commit_opts o;
	struct lb_state s, r;
	struct lb_backend b;
	struct lb_err err;
	struct lbt t;
	__u32 v, i;
	struct out out;

	(void)state;
	ktest_begin();
	enter_netns();
	load_udplb(&t);
	lb_state_init(&s);
	for (v = 0; v < 16; v++) {
		__be32 vip = v ? IP(10, 0, 1, v) : VIP_ADDR;

		add_vip(&s, vip, UDPLB_FWD_DSR, 0);
		for (i = 0; i < UDPLB_MAX_BACKENDS / 16; i++) {
			b = backend(IP(10, 1 + v, i >> 8, 1 + (i & 0xff)), (__u16)(1 + i % 5),
				    UDPLB_BACKEND_ACTIVE, 0xaa, (__u8)i);
			add_be(&s, vip, &b);
		}
	}
	memset(&o, 0, sizeof(o));
	assert_int_equal(lb_commit(&t.maps, &s, &o), 0);
	if (lb_read(&t.maps, &r, &err))
		fail_msg("lb_read: %s", err.msg);
	assert_int_equal(lb_diff(&r, &s, NULL, NULL), 0);
	assert_int_equal(lb_commit(&t.maps, &r, &o), LB_COMMIT_UNCHANGED);
	/* The data plane agrees with the tables. */
	for (i = 0; i < 200; i++) {
		int got = send_flow(&t, 0, i, &out);

		assert_true(got >= 0);
		assert_int_equal(got, ring_choice(&t, 0, i));
	}
	lb_state_free(&r);
	lb_state_free(&s);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		KTEST(test_conntrack),
		KTEST(test_draining),
		KTEST(test_full_size),
		KTEST(test_flips_torn_control),
		KTEST(test_flips_consistent),
	};
	/* clang-format on */

	return cmocka_run_group_tests_name("kernel/lb_flows", tests, NULL, NULL);
}
