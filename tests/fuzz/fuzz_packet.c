// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_packet: mutated frames through the real udplb object (both entry points, with
 * BPF_PROG_TEST_RUN), each result checked against a model of udplb's decisions written here from
 * the documented behaviour (bpf/udplb.bpf.c's header and README), not from its code:
 *
 *  - the verdict is one of PASS, DROP, TX, REDIRECT (never ABORTED) and the one the model expects,
 *    with the reason counters it expects (one primary reason, plus CT_NEW/CT_HIT/DROPPED);
 *  - a frame udplb does not forward comes out byte-identical;
 *  - a forwarded frame goes to the backend the model picks (the ring slot of the flow's hash; on a
 *    second run of the same frame, conntrack's choice), which is a configured backend of the VIP:
 *    dsr changes the MACs only; ipip adds an outer IPv4 header (valid checksum, fields as
 *    documented) and leaves the inner packet, padding included, unchanged;
 *  - the counters add up: pool packets and the entry point's count +1, vip_stats of the matched
 *    VIP and backend_stats of the chosen backend +1 packet, +frame length bytes.
 *
 * Input: byte 0 selects the entry point (bit 0: tc, else XDP) and whether the frame runs twice
 * (bit 1: the second run must hit conntrack); the rest is the Ethernet frame (at most MAX_FRAME
 * bytes). Seeds: tests/fuzz/corpus/packet/ (made by tests/fuzz/packet_seeds.py).
 *
 * Needs root (BPF, a network namespace). Everything runs in a private network namespace
 * (unshare() at start-up): XDP test runs use the calling namespace's loopback device, and the
 * fib lookup of a backend without a MAC must find no route there. The configuration is written
 * straight into side A of the group (generation 0), not through libabmap: this target tests the
 * data plane. Without root it says so and exits 0, or 1 under CI=true.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "udplb_shared.h"
#include "udplb.skel.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAME 1600
#define HASH_SEED 0x2545f491U
#define IPIP_SRC 0x0aff0001U /* 10.255.0.1 */
#define IPIP_HLEN 20

/* ---------------------------------------------------------------------------------------------
 * The configuration (host order)
 */

struct vip_conf {
	__u32 addr;
	__u16 port;
	__u8 fwd;
	__u8 hash_mode;
	__u16 flags;
	__u32 ring_size;
	__u32 ring[8];
};

#define NOB UDPLB_NO_BACKEND
#define FWD_BOGUS 7

/* VIP id = index. ring_off is the sum of the rings before. */
static const struct vip_conf vips[] = {
	[1] = { 0x0a000001, 53, UDPLB_FWD_DSR, UDPLB_HASH_5TUPLE, 0, 7, { 1, 2, 1, 2, 1, 2, 1 } },
	[2] = { 0x0a000002, 53, UDPLB_FWD_IPIP, UDPLB_HASH_5TUPLE, 0, 5, { 3, 4, 3, 4, 9 } },
	[3] = { 0x0a000003,
		443,
		UDPLB_FWD_DSR,
		UDPLB_HASH_5TUPLE,
		UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID,
		3,
		{ 5, 5, 5 } },
	/* Only holes, a draining backend and another VIP's backend: no backend. */
	[4] = { 0x0a000004, 53, UDPLB_FWD_DSR, UDPLB_HASH_5TUPLE, 0, 3, { NOB, 6, 1 } },
	[5] = { 0x0a000005,
		4433,
		UDPLB_FWD_IPIP,
		UDPLB_HASH_SRC_IP,
		UDPLB_VIP_F_DROP_INVALID,
		3,
		{ 7, 7, 7 } },
	/* Backend without a MAC: the fib lookup finds no route in the namespace. */
	[6] = { 0x0a000006, 53, UDPLB_FWD_DSR, UDPLB_HASH_5TUPLE, 0, 2, { 8, 8 } },
	[7] = { 0x0a000007, 53, UDPLB_FWD_DSR, UDPLB_HASH_5TUPLE, 0, 0, { 0 } },
	/* A forwarding mode the data plane does not know. */
	[8] = { 0x0a000008, 53, FWD_BOGUS, UDPLB_HASH_5TUPLE, 0, 1, { 1 } },
};
#define NR_VIPS (sizeof(vips) / sizeof(vips[0]))

/* A filter bit set for a VIP address with another port: the hash lookup misses. */
#define FP_ADDR 0x0a000001
#define FP_PORT 54

struct be_conf {
	__u32 addr;
	__u32 vip;
	__u8 state;
	bool mac;
};

static const struct be_conf backends[] = {
	[1] = { 0x0a010001, 1, UDPLB_BACKEND_ACTIVE, true },
	[2] = { 0x0a010002, 1, UDPLB_BACKEND_ACTIVE, true },
	[3] = { 0x0a010003, 2, UDPLB_BACKEND_ACTIVE, true },
	[4] = { 0x0a010004, 2, UDPLB_BACKEND_ACTIVE, true },
	[5] = { 0x0a010005, 3, UDPLB_BACKEND_ACTIVE, true },
	[6] = { 0x0a010006, 4, UDPLB_BACKEND_DRAINING, true },
	[7] = { 0x0a010007, 5, UDPLB_BACKEND_ACTIVE, true },
	[8] = { 0x0a010008, 6, UDPLB_BACKEND_ACTIVE, false },
	[9] = { 0x0a010009, 2, UDPLB_BACKEND_ACTIVE, true },
};
#define NR_BACKENDS (sizeof(backends) / sizeof(backends[0]))

static void be_mac(__u32 id, __u8 mac[ETH_ALEN])
{
	static const __u8 base[ETH_ALEN] = { 0x02, 0xbe, 0x00, 0x00, 0x00, 0x00 };

	memcpy(mac, base, ETH_ALEN);
	mac[5] = (__u8)id;
}

/* ---------------------------------------------------------------------------------------------
 * Setup
 */

static struct udplb *lb;
static int ncpus;
/* Checked runs by primary reason and entry point (printed at exit), and refused ones. */
static unsigned long long runs[__UDPLB_R_MAX][2], refused;

static void die(const char *what, int err)
{
	fprintf(stderr, "fuzz_packet: %s: %s\n", what, strerror(err));
	exit(1);
}

static void update(const struct bpf_map *map, const void *key, const void *value)
{
	if (bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY))
		die(bpf_map__name(map), errno);
}

static void lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket", errno);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		die("SIOCGIFFLAGS lo", errno);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		die("SIOCSIFFLAGS lo", errno);
	close(fd);
}

static void set_filter_bit(__u64 *words, __u32 addr, __u16 port)
{
	__u32 bit = udplb_filter_bit(htonl(addr), htons(port));

	words[bit / 64] |= 1ULL << (bit % 64);
}

static void write_vips(void)
{
	static __u64 words[UDPLB_FILTER_WORDS];
	__u32 i, j, off = 0;

	for (i = 1; i < NR_VIPS; i++) {
		struct udplb_vip_key key = { .addr = htonl(vips[i].addr),
					     .port = htons(vips[i].port),
					     .proto = IPPROTO_UDP };
		struct udplb_vip val = { .id = i,
					 .fwd = vips[i].fwd,
					 .hash_mode = vips[i].hash_mode,
					 .flags = vips[i].flags,
					 .ring_off = off,
					 .ring_size = vips[i].ring_size };

		update(lb->maps.vips_a, &key, &val);
		for (j = 0; j < vips[i].ring_size; j++) {
			__u32 slot = off + j;

			update(lb->maps.ring_a, &slot, &vips[i].ring[j]);
		}
		off += vips[i].ring_size;
		set_filter_bit(words, vips[i].addr, vips[i].port);
	}
	set_filter_bit(words, FP_ADDR, FP_PORT);
	for (i = 0; i < UDPLB_FILTER_WORDS; i++)
		update(lb->maps.vip_filter_a, &i, &words[i]);
}

static void write_config(void)
{
	struct udplb_config cfg = { .hash_seed = HASH_SEED, .ipip_src = htonl(IPIP_SRC) };
	__u32 i, zero = 0;

	write_vips();
	for (i = 1; i < NR_BACKENDS; i++) {
		struct udplb_backend be = { .addr = htonl(backends[i].addr),
					    .state = backends[i].state,
					    .vip_id = backends[i].vip };

		if (backends[i].mac) {
			be_mac(i, be.mac);
			be.flags = UDPLB_BACKEND_F_MAC;
		}
		update(lb->maps.backends_a, &i, &be);
	}
	update(lb->maps.config, &zero, &cfg);
}

static void print_runs(void)
{
	static const char *const names[__UDPLB_R_MAX] = {
		"forwarded", "not_ip", "not_udp",    "not_vip",	 "truncated",
		"fragment",  "ttl",    "no_backend", "no_route", "kill_switch",
		"error",     "ct_hit", "ct_new",     "dropped",
	};
	int i;

	fprintf(stderr, "fuzz_packet: checked runs by reason (xdp/tc):");
	for (i = 0; i < __UDPLB_R_MAX; i++)
		if (runs[i][0] || runs[i][1])
			fprintf(stderr, " %s %llu/%llu", names[i], runs[i][0], runs[i][1]);
	fprintf(stderr, "; refused by the test run %llu\n", refused);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *ci = getenv("CI");

	(void)argc;
	(void)argv;
	if (geteuid() != 0) {
		fprintf(stderr, "fuzz_packet: needs root (BPF programs, a network namespace)%s\n",
			ci && !strcmp(ci, "true") ? ": failing, CI=true" : ": skipped");
		exit(ci && !strcmp(ci, "true") ? 1 : 0);
	}
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)", errno);
	lo_up();
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		die("libbpf_num_possible_cpus", -ncpus);
	lb = udplb__open_and_load();
	if (!lb)
		die("loading udplb", errno);
	write_config();
	atexit(print_runs);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The model
 */

enum verdict { V_PASS, V_DROP, V_TX, V_REDIRECT, V_ABORTED, V_UNKNOWN };

struct expect {
	enum verdict verdict;
	__u32 reason;
	__u32 extra; /* __UDPLB_R_MAX: none */
	__u32 vip;   /* matched VIP, 0: none */
	__u32 be;    /* forwarded: backend id */
	__u8 fwd;
	bool vlan;
	__u32 l3; /* offset of the IPv4 header */
	struct udplb_flow flow;
	bool has_flow;
};

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static void set_reason(struct expect *e, __u32 reason, enum verdict v, __u32 extra)
{
	e->reason = reason;
	e->verdict = v;
	e->extra = extra;
}

/* The VIP flag check: pass, or drop and count DROPPED. */
static void reject(struct expect *e, __u32 reason, __u16 drop_flag)
{
	if (vips[e->vip].flags & drop_flag)
		set_reason(e, reason, V_DROP, UDPLB_R_DROPPED);
	else
		set_reason(e, reason, V_PASS, __UDPLB_R_MAX);
}

/* Layers up to UDP: false with the verdict set when udplb must not look further. */
static bool model_headers(const __u8 *f, __u32 len, struct expect *e, bool *bad_len, bool *mf)
{
	__u16 proto, frag, tot, ulen;
	__u32 ihl;

	if (len < ETH_HLEN)
		goto truncated;
	proto = get16(f + 12);
	e->l3 = ETH_HLEN;
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		if (len < ETH_HLEN + 4)
			goto truncated;
		proto = get16(f + 16);
		e->l3 += 4;
		e->vlan = true;
	}
	if (proto != ETH_P_IP) {
		set_reason(e, UDPLB_R_NOT_IP, V_PASS, __UDPLB_R_MAX);
		return false;
	}
	if (len < e->l3 + 20)
		goto truncated;
	if (f[e->l3] >> 4 != 4) {
		set_reason(e, UDPLB_R_NOT_IP, V_PASS, __UDPLB_R_MAX);
		return false;
	}
	ihl = (f[e->l3] & 0xf) * 4U;
	if (ihl < 20)
		goto truncated;
	if (f[e->l3 + 9] != IPPROTO_UDP) {
		set_reason(e, UDPLB_R_NOT_UDP, V_PASS, __UDPLB_R_MAX);
		return false;
	}
	frag = get16(f + e->l3 + 6);
	if (frag & 0x1fff) {
		set_reason(e, UDPLB_R_FRAGMENT, V_PASS, __UDPLB_R_MAX);
		return false;
	}
	*mf = frag & 0x2000;
	if (len < e->l3 + ihl + 8)
		goto truncated;
	/* Lengths: the IPv4 packet within the frame (padding allowed), UDP within the packet. */
	tot = get16(f + e->l3 + 2);
	ulen = get16(f + e->l3 + ihl + 4);
	*bad_len = tot < ihl + 8 || tot > len - e->l3 || (!*mf && (ulen < 8 || ulen > tot - ihl));
	memcpy(&e->flow.saddr, f + e->l3 + 12, 4);
	memcpy(&e->flow.daddr, f + e->l3 + 16, 4);
	memcpy(&e->flow.sport, f + e->l3 + ihl, 2);
	memcpy(&e->flow.dport, f + e->l3 + ihl + 2, 2);
	e->flow.proto = IPPROTO_UDP;
	e->has_flow = true;
	return true;

truncated:
	set_reason(e, UDPLB_R_TRUNCATED, V_PASS, __UDPLB_R_MAX);
	return false;
}

static __u32 find_vip(const struct udplb_flow *flow)
{
	__u32 i;

	for (i = 1; i < NR_VIPS; i++)
		if (flow->daddr == htonl(vips[i].addr) && flow->dport == htons(vips[i].port))
			return i;
	return 0;
}

/* The ring's backend for the flow, 0 if none may take it. */
static __u32 ring_backend(__u32 vip, const struct udplb_flow *flow)
{
	const struct vip_conf *v = &vips[vip];
	__u32 id;

	if (!v->ring_size)
		return 0;
	id = v->ring[udplb_flow_hash(flow, HASH_SEED, v->hash_mode) % v->ring_size];
	if (id == NOB || id >= NR_BACKENDS || backends[id].state != UDPLB_BACKEND_ACTIVE ||
	    backends[id].vip != vip)
		return 0;
	return id;
}

/*
 * What udplb does with frame @f. @ct_be: the backend conntrack holds for the flow (a previous
 * run), 0 if none.
 */
static void model(const __u8 *f, __u32 len, bool tc, __u32 ct_be, struct expect *e)
{
	bool bad_len = false, mf = false;
	const struct vip_conf *v;

	memset(e, 0, sizeof(*e));
	set_reason(e, UDPLB_R_ERROR, V_PASS, __UDPLB_R_MAX);
	if (!model_headers(f, len, e, &bad_len, &mf))
		return;
	e->vip = find_vip(&e->flow);
	if (!e->vip) {
		set_reason(e, bad_len ? UDPLB_R_TRUNCATED : UDPLB_R_NOT_VIP, V_PASS, __UDPLB_R_MAX);
		return;
	}
	v = &vips[e->vip];
	if (bad_len) {
		reject(e, UDPLB_R_TRUNCATED, UDPLB_VIP_F_DROP_INVALID);
		return;
	}
	if (mf) {
		reject(e, UDPLB_R_FRAGMENT, UDPLB_VIP_F_DROP_FRAGS);
		return;
	}
	if (f[e->l3 + 8] <= 1) {
		set_reason(e, UDPLB_R_TTL, V_PASS, __UDPLB_R_MAX);
		return;
	}
	if (v->fwd != UDPLB_FWD_DSR && v->fwd != UDPLB_FWD_IPIP)
		return; /* ERROR, set above */
	e->be = ct_be ? ct_be : ring_backend(e->vip, &e->flow);
	if (!e->be) {
		set_reason(e, UDPLB_R_NO_BACKEND, V_PASS, __UDPLB_R_MAX);
		return;
	}
	if (!backends[e->be].mac) {
		set_reason(e, UDPLB_R_NO_ROUTE, V_PASS, __UDPLB_R_MAX);
		return;
	}
	e->fwd = v->fwd;
	set_reason(e, UDPLB_R_FORWARDED, tc ? V_REDIRECT : V_TX,
		   ct_be ? UDPLB_R_CT_HIT : UDPLB_R_CT_NEW);
}

/* ---------------------------------------------------------------------------------------------
 * Running and checking
 */

struct counters {
	__u64 reasons[__UDPLB_R_MAX];
	__u64 pool[4];
	struct udplb_counter vip, be;
};

static __u64 percpu_u64_sum(const struct bpf_map *map, __u32 key)
{
	__u64 vals[ncpus], sum = 0;
	int cpu;

	if (bpf_map_lookup_elem(bpf_map__fd(map), &key, vals))
		die(bpf_map__name(map), errno);
	for (cpu = 0; cpu < ncpus; cpu++)
		sum += vals[cpu];
	return sum;
}

static struct udplb_counter percpu_counter_sum(const struct bpf_map *map, __u32 key)
{
	struct udplb_counter vals[ncpus], sum = { 0, 0 };
	int cpu;

	if (bpf_map_lookup_elem(bpf_map__fd(map), &key, vals))
		die(bpf_map__name(map), errno);
	for (cpu = 0; cpu < ncpus; cpu++) {
		sum.packets += vals[cpu].packets;
		sum.bytes += vals[cpu].bytes;
	}
	return sum;
}

/* The counters this packet may move: its VIP's and backend's (0: a spare slot). */
static void read_counters(struct counters *c, __u32 vip, __u32 be)
{
	__u32 i;

	for (i = 0; i < __UDPLB_R_MAX; i++)
		c->reasons[i] = percpu_u64_sum(lb->maps.reasons, i);
	for (i = 0; i < 4; i++)
		if (bpf_map_lookup_elem(bpf_map__fd(lb->maps.pool), &i, &c->pool[i]))
			die("pool", errno);
	c->vip = percpu_counter_sum(lb->maps.vip_stats, vip);
	c->be = percpu_counter_sum(lb->maps.backend_stats, be);
}

static enum verdict verdict_of(bool tc, __u32 retval)
{
	if (tc) {
		switch (retval) {
		case TC_ACT_OK:
			return V_PASS;
		case TC_ACT_SHOT:
			return V_DROP;
		case TC_ACT_REDIRECT:
			return V_REDIRECT;
		}
		return V_UNKNOWN;
	}
	switch (retval) {
	case XDP_ABORTED:
		return V_ABORTED;
	case XDP_DROP:
		return V_DROP;
	case XDP_PASS:
		return V_PASS;
	case XDP_TX:
		return V_TX;
	case XDP_REDIRECT:
		return V_REDIRECT;
	}
	return V_UNKNOWN;
}

static const char *const verdict_names[] = { "PASS", "DROP", "TX", "REDIRECT", "ABORTED", "?" };

#define fail(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_packet: " __VA_ARGS__);                                      \
		fprintf(stderr, "\n");                                                             \
		abort();                                                                           \
	} while (0)

static __u16 csum16(const __u8 *p, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The outer header: every field as documented, valid checksum. */
static void check_outer(const __u8 *o, const __u8 *inner, __u32 be)
{
	__u16 inner_df = get16(inner + 6) & 0x4000;
	__u32 saddr, daddr;

	memcpy(&saddr, o + 12, 4);
	memcpy(&daddr, o + 16, 4);
	if (o[0] != 0x45 || o[1] != inner[1] || o[8] != 64 || o[9] != IPPROTO_IPIP)
		fail("outer header: version/ihl %#x tos %#x ttl %u proto %u", o[0], o[1], o[8],
		     o[9]);
	if (get16(o + 2) != (__u16)(get16(inner + 2) + IPIP_HLEN))
		fail("outer total length %u, inner %u", get16(o + 2), get16(inner + 2));
	if (get16(o + 6) != inner_df || (inner_df && get16(o + 4)))
		fail("outer frag_off %#x id %u, inner DF %#x", get16(o + 6), get16(o + 4),
		     inner_df);
	if (saddr != htonl(IPIP_SRC) || daddr != htonl(backends[be].addr))
		fail("outer %#x -> %#x, backend %u is %#x", ntohl(saddr), ntohl(daddr), be,
		     backends[be].addr);
	if (csum16(o, IPIP_HLEN))
		fail("outer header checksum %#x does not verify", get16(o + 10));
}

/* The output of a forwarded frame: backend's MACs, then the rest as the forwarding mode says. */
static void check_forwarded(const __u8 *in, __u32 len, const __u8 *out, __u32 out_len, bool tc,
			    const struct expect *e)
{
	__u8 mac[ETH_ALEN];
	__u32 l2_out;

	be_mac(e->be, mac);
	if (memcmp(out, mac, ETH_ALEN) || memcmp(out + ETH_ALEN, in, ETH_ALEN))
		fail("forwarded frame: MACs are not backend %u's <- the frame's destination",
		     e->be);
	if (e->fwd == UDPLB_FWD_DSR) {
		if (out_len != len || memcmp(out + 2 * ETH_ALEN, in + 2 * ETH_ALEN, len - 12))
			fail("dsr changed more than the MACs (%u -> %u bytes)", len, out_len);
		return;
	}
	/* tc moves an in-packet tag into the skb's metadata: the output's L2 header is 14 bytes. */
	l2_out = tc ? ETH_HLEN : e->l3;
	if (out_len != len - e->l3 + l2_out + IPIP_HLEN)
		fail("ipip output of %u bytes from %u", out_len, len);
	if (memcmp(out + 12, in + 12 + (e->l3 - l2_out), l2_out - 12))
		fail("ipip: the L2 header after the MACs changed");
	check_outer(out + l2_out, in + e->l3, e->be);
	if (memcmp(out + l2_out + IPIP_HLEN, in + e->l3, len - e->l3))
		fail("ipip: the inner packet changed");
}

static void check_counters(const struct counters *b, const struct counters *a, bool tc,
			   const struct expect *e, __u32 len)
{
	__u64 want;
	__u32 i;

	for (i = 0; i < __UDPLB_R_MAX; i++) {
		want = (i == e->reason) + (i == e->extra);
		if (a->reasons[i] - b->reasons[i] != want)
			fail("reason %u moved by %llu, expected %llu (primary %u, extra %u)", i,
			     (unsigned long long)(a->reasons[i] - b->reasons[i]),
			     (unsigned long long)want, e->reason, e->extra);
	}
	if (a->pool[UDPLB_POOL_PACKETS] - b->pool[UDPLB_POOL_PACKETS] != 1 ||
	    a->pool[UDPLB_POOL_XDP_PACKETS] - b->pool[UDPLB_POOL_XDP_PACKETS] != !tc ||
	    a->pool[UDPLB_POOL_TC_PACKETS] - b->pool[UDPLB_POOL_TC_PACKETS] != tc)
		fail("pool packet counts do not add up");
	if (a->vip.packets - b->vip.packets != (e->vip != 0) ||
	    a->vip.bytes - b->vip.bytes != (e->vip ? len : 0))
		fail("vip_stats[%u] moved by %llu packets", e->vip,
		     (unsigned long long)(a->vip.packets - b->vip.packets));
	want = e->reason == UDPLB_R_FORWARDED;
	if (a->be.packets - b->be.packets != want || a->be.bytes - b->be.bytes != want * len)
		fail("backend_stats[%u] moved by %llu packets", e->be,
		     (unsigned long long)(a->be.packets - b->be.packets));
}

/* One run of @f through an entry point, checked. Returns the backend it went to, or 0. */
static __u32 run_checked(const __u8 *f, __u32 len, bool tc, __u32 ct_be)
{
	static __u8 out[MAX_FRAME + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	struct counters before, after;
	struct expect e;
	enum verdict got;
	int fd, err;

	model(f, len, tc, ct_be, &e);
	read_counters(&before, e.vip, e.be);
	fd = bpf_program__fd(tc ? lb->progs.udplb_tc : lb->progs.udplb_xdp);
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err == -EINVAL) {
		refused++; /* frames the test run refuses (too short for their ethertype) */
		return 0;
	}
	if (err)
		fail("bpf_prog_test_run_opts (%s, %u bytes): %s", tc ? "tc" : "xdp", len,
		     strerror(-err));
	read_counters(&after, e.vip, e.be);
	got = verdict_of(tc, opts.retval);
	if (got == V_ABORTED || got == V_UNKNOWN)
		fail("%s returned %u (%s)", tc ? "tc" : "xdp", opts.retval, verdict_names[got]);
	if (got != e.verdict)
		fail("%s: verdict %s, the model says %s (reason %u, vip %u, backend %u)",
		     tc ? "tc" : "xdp", verdict_names[got], verdict_names[e.verdict], e.reason,
		     e.vip, e.be);
	if (e.reason == UDPLB_R_FORWARDED)
		check_forwarded(f, len, out, opts.data_size_out, tc, &e);
	else if (opts.data_size_out != len || memcmp(out, f, len))
		fail("%s: a frame not forwarded (reason %u) changed", tc ? "tc" : "xdp", e.reason);
	check_counters(&before, &after, tc, &e, len);
	runs[e.reason][tc]++;
	return e.reason == UDPLB_R_FORWARDED ? e.be : 0;
}

/* Conntrack's entry for the frame's flow, if the model finds one. */
static void forget_flow(const __u8 *f, __u32 len)
{
	struct expect e;

	model(f, len, false, 0, &e);
	if (e.has_flow)
		bpf_map_delete_elem(bpf_map__fd(lb->maps.conntrack), &e.flow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static __u8 frame[MAX_FRAME];
	bool tc, twice;
	__u32 len, be;

	if (size < 1 || size - 1 > MAX_FRAME)
		return 0;
	tc = data[0] & 1;
	twice = data[0] & 2;
	len = (__u32)(size - 1);
	memcpy(frame, data + 1, len);
	forget_flow(frame, len);
	be = run_checked(frame, len, tc, 0);
	if (twice)
		run_checked(frame, len, tc, be);
	forget_flow(frame, len);
	return 0;
}
