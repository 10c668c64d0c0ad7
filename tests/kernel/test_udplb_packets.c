// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The udplb data plane (bpf/udplb.bpf.c) on packets, through BPF_PROG_TEST_RUN.
 *
 * Every test that runs packets does so in a private network namespace of its own (unshare() of
 * the test thread, undone at teardown; the namespace dies with its last reference, so nothing
 * outlives the test, even a crash): XDP and skb test runs use the calling namespace's loopback
 * device, and bpf_fib_lookup() its routes and neighbours. The namespace holds a veth pair with
 * fixed MACs, one address, one route via a gateway and permanent neighbours, and has IPv4
 * forwarding on.
 *
 * The configuration is written as the controller writes it: libabmap on the udplb_ptr group (one
 * transaction per configuration), config and pool with plain updates. The tables are written by
 * hand, not by lb_commit(): this test also feeds the data plane what the control plane never
 * writes (a ring of size 0, ring holes, a prefilter bit without a VIP). The maps are opened
 * through the control-plane library (lb_maps_open_obj()) and the expected backend of a flow
 * comes from its flow simulator over the live tables (lb_sim.h), not a copy of the lookup.
 *
 *   test_packets_xdp / _tc   one table of packets (built by a small builder), each with its
 *                            expected verdict, output bytes and counter changes, run through
 *                            each entry point
 *   test_conntrack_*         stickiness, stale entries, draining, both entry points
 *   test_lookups_inlined     the translated code makes no ARRAY/PERCPU_ARRAY lookup call and
 *                            reads no clock; a naive program is the decoder's negative control
 *   (the cost per packet is measured by make bench, table 4: a test asserts, the bench
 *   measures)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <linux/udp.h>
#include <linux/veth.h>

#include <bpf/libbpf.h>

#include "ktest.h"
#include "lb.h"
#include "lb_neigh.h"
#include "lb_sim.h"
#include "packet.h"
#include "xlated.h"
#include "udplb_shared.h"
#include "udplb.skel.h"
#include "udplb_front.skel.h"
#include "tc_nonlinear.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Host-order IPv4 address a.b.c.d. */
#define IP4(a, b, c, d) (((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (__u32)(d))

/* ---------------------------------------------------------------------------------------------
 * The fixture: namespace, VIPs, backends, rings
 */

#define HASH_SEED 0x5eed1234U
#define IPIP_SRC IP4(10, 1, 0, 1)

static const __u8 lb_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };	 /* our MAC */
static const __u8 client_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c }; /* sender */
static const __u8 veth_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x10, 0x01 };	 /* ulb0 */
static const __u8 peer_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x10, 0x02 };	 /* ulb1 */
static const __u8 neigh_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x20, 0x07 };	 /* 10.1.0.7 */
static const __u8 gw_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x20, 0xfe };	 /* 10.1.0.254 */

#define VETH "ulb0"
#define VETH_PEER "ulb1"
#define VETH_ADDR IP4(10, 1, 0, 1)
#define NEIGH_ADDR IP4(10, 1, 0, 7)
#define NO_NEIGH_ADDR IP4(10, 1, 0, 8)
#define GW_ADDR IP4(10, 1, 0, 254)
#define ROUTED_NET IP4(10, 3, 0, 0) /* /24 via GW_ADDR */
#define UNREACHABLE_ADDR IP4(192, 0, 2, 1)

enum {
	VIP_DSR = 1,   /* two backends, 5-tuple hash */
	VIP_IPIP,      /* one backend with a MAC */
	VIP_EMPTY,     /* ring size 0 */
	VIP_STRICT,    /* DROP_FRAGS | DROP_INVALID */
	VIP_FIB,       /* backend without MAC, neighbour known */
	VIP_NOROUTE,   /* backend without MAC, no neighbour */
	VIP_FIB_IPIP,  /* ipip, backend without MAC, routed via a gateway */
	VIP_DRAIN,     /* its only backend is draining */
	VIP_HOLE,      /* ring slots hold UDPLB_NO_BACKEND */
	VIP_UNREACH,   /* backend without MAC, no route */
	VIP_SRCHASH,   /* DSR, source-address hash */
	NR_VIPS_PLUS1, /* ids start at 1 */
};
#define NR_VIPS (NR_VIPS_PLUS1 - 1)

struct vip_def {
	__u32 addr; /* host order */
	__u16 port;
	__u8 fwd;
	__u8 hash_mode;
	__u16 flags;
	__u32 ring_off;
	__u32 ring_size;
};

#define VIP_PORT 53
#define VIP_ADDR(id) IP4(10, 0, 0, 9 + (id))

static const struct vip_def vip_defs[NR_VIPS_PLUS1] = {
	[VIP_DSR] = { VIP_ADDR(VIP_DSR), VIP_PORT, UDPLB_FWD_DSR, UDPLB_HASH_5TUPLE, 0, 0, 7 },
	[VIP_IPIP] = { VIP_ADDR(VIP_IPIP), VIP_PORT, UDPLB_FWD_IPIP, 0, 0, 7, 5 },
	[VIP_EMPTY] = { VIP_ADDR(VIP_EMPTY), VIP_PORT, UDPLB_FWD_DSR, 0, 0, 12, 0 },
	[VIP_STRICT] = { VIP_ADDR(VIP_STRICT), VIP_PORT, UDPLB_FWD_DSR, 0,
			 UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID, 12, 3 },
	[VIP_FIB] = { VIP_ADDR(VIP_FIB), VIP_PORT, UDPLB_FWD_DSR, 0, 0, 15, 3 },
	[VIP_NOROUTE] = { VIP_ADDR(VIP_NOROUTE), VIP_PORT, UDPLB_FWD_DSR, 0, 0, 18, 3 },
	[VIP_FIB_IPIP] = { VIP_ADDR(VIP_FIB_IPIP), VIP_PORT, UDPLB_FWD_IPIP, 0, 0, 21, 3 },
	[VIP_DRAIN] = { VIP_ADDR(VIP_DRAIN), VIP_PORT, UDPLB_FWD_DSR, 0, 0, 24, 3 },
	[VIP_HOLE] = { VIP_ADDR(VIP_HOLE), VIP_PORT, UDPLB_FWD_DSR, 0, 0, 27, 3 },
	[VIP_UNREACH] = { VIP_ADDR(VIP_UNREACH), VIP_PORT, UDPLB_FWD_DSR, 0, 0, 30, 3 },
	[VIP_SRCHASH] = { VIP_ADDR(VIP_SRCHASH), VIP_PORT, UDPLB_FWD_DSR, UDPLB_HASH_SRC_IP, 0, 33,
			  7 },
};

#define RING_LEN 40

/* Backend ids. */
enum {
	BE_A = 1, /* VIP_DSR */
	BE_B,	  /* VIP_DSR */
	BE_IPIP,
	BE_STRICT,
	BE_FIB,
	BE_NOROUTE,
	BE_FIB_IPIP,
	BE_DRAIN,
	BE_UNREACH,
	BE_SPARE, /* VIP_DSR, not in the ring at first */
	BE_SRC_A, /* VIP_SRCHASH */
	BE_SRC_B,
	NR_BACKENDS,
};

struct be_def {
	__u32 addr;
	__u32 vip;
	__u8 state;
	bool has_mac;
};

static const struct be_def be_defs[NR_BACKENDS] = {
	[BE_A] = { IP4(10, 2, 0, 1), VIP_DSR, UDPLB_BACKEND_ACTIVE, true },
	[BE_B] = { IP4(10, 2, 0, 2), VIP_DSR, UDPLB_BACKEND_ACTIVE, true },
	[BE_IPIP] = { IP4(10, 2, 0, 3), VIP_IPIP, UDPLB_BACKEND_ACTIVE, true },
	[BE_STRICT] = { IP4(10, 2, 0, 4), VIP_STRICT, UDPLB_BACKEND_ACTIVE, true },
	[BE_FIB] = { NEIGH_ADDR, VIP_FIB, UDPLB_BACKEND_ACTIVE, false },
	[BE_NOROUTE] = { NO_NEIGH_ADDR, VIP_NOROUTE, UDPLB_BACKEND_ACTIVE, false },
	[BE_FIB_IPIP] = { IP4(10, 3, 0, 9), VIP_FIB_IPIP, UDPLB_BACKEND_ACTIVE, false },
	[BE_DRAIN] = { IP4(10, 2, 0, 8), VIP_DRAIN, UDPLB_BACKEND_DRAINING, true },
	[BE_UNREACH] = { UNREACHABLE_ADDR, VIP_UNREACH, UDPLB_BACKEND_ACTIVE, false },
	[BE_SPARE] = { IP4(10, 2, 0, 10), VIP_DSR, UDPLB_BACKEND_ACTIVE, true },
	[BE_SRC_A] = { IP4(10, 2, 0, 11), VIP_SRCHASH, UDPLB_BACKEND_ACTIVE, true },
	[BE_SRC_B] = { IP4(10, 2, 0, 12), VIP_SRCHASH, UDPLB_BACKEND_ACTIVE, true },
};

/* A key whose filter bit is set without a VIP behind it. */
#define FP_ADDR VIP_ADDR(VIP_DSR)
#define FP_PORT 54

struct fixture {
	struct udplb *lb;
	struct udplb_front *front;
	struct lb_maps maps;
	struct lb_sim *sim; /* of the live tables, after fx_commit() */
	int ncpus;
	struct udplb_backend be[NR_BACKENDS];
	__u32 ring_ids[RING_LEN];
	__u64 filter_words[UDPLB_FILTER_WORDS];
	__u32 veth_ifindex;
};

static struct fixture fx;

static void be_mac(__u32 id, __u8 mac[ETH_ALEN])
{
	static const __u8 base[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0xbe, 0x00 };

	memcpy(mac, base, ETH_ALEN);
	mac[5] = (__u8)id;
}

static void fx_set_backend(__u32 id, __u32 addr, __u8 state, bool has_mac, __u32 vip)
{
	struct udplb_backend *b = &fx.be[id];

	memset(b, 0, sizeof(*b));
	b->addr = htonl(addr);
	b->port = htons(VIP_PORT);
	b->weight = 1;
	if (has_mac) {
		be_mac(id, b->mac);
		b->flags = UDPLB_BACKEND_F_MAC;
	}
	b->state = state;
	b->vip_id = vip;
}

static void fx_fill_ring(__u32 vip, const __u32 *ids, __u32 n)
{
	const struct vip_def *d = &vip_defs[vip];
	__u32 i;

	for (i = 0; i < d->ring_size; i++)
		fx.ring_ids[d->ring_off + i] = ids[i % n];
}

/* The ring of @vip holding only @id. */
static void fx_ring_of(__u32 vip, __u32 id)
{
	fx_fill_ring(vip, &id, 1);
}

static void filter_set(__u32 addr, __u16 port)
{
	__u32 bit = udplb_filter_bit(htonl(addr), htons(port));

	fx.filter_words[bit / 64] |= 1ULL << (bit % 64);
}

static bool filter_has(__u32 addr, __u16 port)
{
	__u32 bit = udplb_filter_bit(htonl(addr), htons(port));

	return fx.filter_words[bit / 64] & (1ULL << (bit % 64));
}

static void check_err(int err, const char *what)
{
	if (err)
		fail_msg("%s: %s: %s", ktest_name(), what, strerror(-err));
}

/* Write the whole configuration in one transaction, as a controller does. */
static void fx_commit(void)
{
	struct udplb_vip_key keys[NR_VIPS];
	struct udplb_vip vals[NR_VIPS];
	struct abmap_txn *txn;
	struct lb_err lerr;
	int i, err;

	memset(keys, 0, sizeof(keys));
	memset(vals, 0, sizeof(vals));
	for (i = 0; i < NR_VIPS; i++) {
		const struct vip_def *d = &vip_defs[i + 1];

		keys[i].addr = htonl(d->addr);
		keys[i].port = htons(d->port);
		keys[i].proto = IPPROTO_UDP;
		vals[i].id = i + 1;
		vals[i].fwd = d->fwd;
		vals[i].hash_mode = d->hash_mode;
		vals[i].flags = d->flags;
		vals[i].ring_off = d->ring_off;
		vals[i].ring_size = d->ring_size;
	}
	txn = abmap_txn_begin(fx.maps.group);
	if (!txn)
		fail_msg("%s: abmap_txn_begin: %s", ktest_name(), strerror(errno));
	err = abmap_txn_hash_set(txn, fx.maps.vips, keys, vals, NR_VIPS);
	if (!err)
		err = abmap_txn_array_set(txn, fx.maps.vip_filter, fx.filter_words,
					  UDPLB_FILTER_WORDS);
	if (!err)
		err = abmap_txn_array_set(txn, fx.maps.backends, fx.be, NR_BACKENDS);
	if (!err)
		err = abmap_txn_array_set(txn, fx.maps.ring, fx.ring_ids, RING_LEN);
	if (err) {
		abmap_txn_abort(txn);
		check_err(err, "staging the configuration");
	}
	check_err(abmap_txn_commit(txn), "abmap_txn_commit");
	lb_sim_free(fx.sim);
	fx.sim = NULL;
	if (lb_sim_from_maps(&fx.maps, &fx.sim, &lerr))
		fail_msg("%s: lb_sim_from_maps: %s", ktest_name(), lerr.msg);
}

static void update(const struct bpf_map *map, __u32 key, const void *value)
{
	if (bpf_map_update_elem(bpf_map__fd(map), &key, value, BPF_ANY))
		fail_msg("%s: update of %s[%u]: %s", ktest_name(), bpf_map__name(map), key,
			 strerror(errno));
}

static void set_pool(__u32 key, __u64 value)
{
	update(fx.lb->maps.pool, key, &value);
}

static void lb_destroy(void *arg)
{
	udplb__destroy(arg);
	fx.lb = NULL;
}

static void front_destroy(void *arg)
{
	udplb_front__destroy(arg);
	fx.front = NULL;
}

static void sim_destroy(void *arg)
{
	(void)arg;
	lb_sim_free(fx.sim);
	fx.sim = NULL;
}

/* Load both objects and write the default configuration. */
static void fx_setup(void)
{
	struct abmap_group_opts go;
	struct udplb_config cfg;
	__u32 i, ids[2];
	int err;

	memset(&fx, 0, sizeof(fx));
	fx.ncpus = libbpf_num_possible_cpus();
	assert_true(fx.ncpus > 0);
	fx.lb = udplb__open_and_load();
	if (!fx.lb)
		fail_msg("%s: udplb__open_and_load: %s", ktest_name(), strerror(errno));
	ktest_defer(lb_destroy, fx.lb);
	fx.front = udplb_front__open_and_load();
	if (!fx.front)
		fail_msg("%s: udplb_front__open_and_load: %s", ktest_name(), strerror(errno));
	ktest_defer(front_destroy, fx.front);

	ktest_group_opts(&go, 0);
	err = lb_maps_open_obj(&fx.maps, fx.lb->obj, &go);
	if (err)
		fail_msg("%s: lb_maps_open_obj: %s", ktest_name(), strerror(-err));
	ktest_track_group(fx.maps.group);
	ktest_defer(sim_destroy, NULL);

	for (i = 1; i < NR_BACKENDS; i++)
		fx_set_backend(i, be_defs[i].addr, be_defs[i].state, be_defs[i].has_mac,
			       be_defs[i].vip);
	ids[0] = BE_A;
	ids[1] = BE_B;
	fx_fill_ring(VIP_DSR, ids, 2);
	ids[0] = BE_SRC_A;
	ids[1] = BE_SRC_B;
	fx_fill_ring(VIP_SRCHASH, ids, 2);
	fx_ring_of(VIP_IPIP, BE_IPIP);
	fx_ring_of(VIP_STRICT, BE_STRICT);
	fx_ring_of(VIP_FIB, BE_FIB);
	fx_ring_of(VIP_NOROUTE, BE_NOROUTE);
	fx_ring_of(VIP_FIB_IPIP, BE_FIB_IPIP);
	fx_ring_of(VIP_DRAIN, BE_DRAIN);
	fx_ring_of(VIP_HOLE, UDPLB_NO_BACKEND);
	fx_ring_of(VIP_UNREACH, BE_UNREACH);
	for (i = 1; i <= NR_VIPS; i++)
		filter_set(vip_defs[i].addr, vip_defs[i].port);
	filter_set(FP_ADDR, FP_PORT);
	fx_commit();

	memset(&cfg, 0, sizeof(cfg));
	cfg.hash_seed = HASH_SEED;
	cfg.ipip_src = htonl(IPIP_SRC);
	update(fx.lb->maps.config, 0, &cfg);
}

/* ---------------------------------------------------------------------------------------------
 * Private network namespace (rtnetlink by hand: no iproute2 needed)
 */

struct nl_buf {
	union {
		struct nlmsghdr nh;
		char raw[1024];
	};
};

static struct nlmsghdr *nl_begin(struct nl_buf *b, __u16 type, __u16 flags, const void *hdr,
				 size_t hdr_len)
{
	memset(b, 0, sizeof(*b));
	b->nh.nlmsg_len = NLMSG_LENGTH(hdr_len);
	b->nh.nlmsg_type = type;
	b->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	memcpy(NLMSG_DATA(&b->nh), hdr, hdr_len);
	return &b->nh;
}

static struct rtattr *nl_attr(struct nlmsghdr *nh, __u16 type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	assert_true(NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) <= sizeof(struct nl_buf));
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

static void nl_nest_end(struct nlmsghdr *nh, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)nh + nh->nlmsg_len - (char *)nest);
}

static void nl_talk(struct nlmsghdr *nh, const char *what)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr nh;
		char raw[4096];
	} reply;
	struct nlmsgerr *err;
	ssize_t n;
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		fail_msg("%s: netlink socket: %s", ktest_name(), strerror(errno));
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fail_msg("%s: netlink %s: send: %s", ktest_name(), what, strerror(errno));
	}
	n = recv(fd, &reply, sizeof(reply), 0);
	close(fd);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(*err)) || reply.nh.nlmsg_type != NLMSG_ERROR)
		fail_msg("%s: netlink %s: no acknowledgement", ktest_name(), what);
	err = NLMSG_DATA(&reply.nh);
	if (err->error)
		fail_msg("%s: netlink %s: %s", ktest_name(), what, strerror(-err->error));
}

static void nl_veth_pair(void)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *linkinfo, *data, *peer;
	struct nlmsghdr *nh;
	struct nl_buf b;

	nh = nl_begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_attr(nh, IFLA_IFNAME, VETH, sizeof(VETH));
	nl_attr(nh, IFLA_ADDRESS, veth_mac, ETH_ALEN);
	linkinfo = nl_attr(nh, IFLA_LINKINFO, NULL, 0);
	nl_attr(nh, IFLA_INFO_KIND, "veth", sizeof("veth"));
	data = nl_attr(nh, IFLA_INFO_DATA, NULL, 0);
	peer = nl_attr(nh, VETH_INFO_PEER, &ifi, sizeof(ifi));
	nl_attr(nh, IFLA_IFNAME, VETH_PEER, sizeof(VETH_PEER));
	nl_attr(nh, IFLA_ADDRESS, peer_mac, ETH_ALEN);
	nl_nest_end(nh, peer);
	nl_nest_end(nh, data);
	nl_nest_end(nh, linkinfo);
	nl_talk(nh, "create veth pair");
}

static __u32 ifindex_of(const char *name)
{
	unsigned int idx = if_nametoindex(name);

	if (!idx)
		fail_msg("%s: if_nametoindex(%s): %s", ktest_name(), name, strerror(errno));
	return idx;
}

static void nl_link_up(const char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_buf b;

	ifi.ifi_index = (int)ifindex_of(name);
	ifi.ifi_flags = IFF_UP;
	ifi.ifi_change = IFF_UP;
	nl_talk(nl_begin(&b, RTM_NEWLINK, 0, &ifi, sizeof(ifi)), "link up");
}

static void nl_addr(__u32 ifindex, __u32 addr, __u8 prefix)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = prefix };
	struct nlmsghdr *nh;
	struct nl_buf b;
	__be32 a = htonl(addr);

	ifa.ifa_index = ifindex;
	nh = nl_begin(&b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_attr(nh, IFA_LOCAL, &a, sizeof(a));
	nl_attr(nh, IFA_ADDRESS, &a, sizeof(a));
	nl_talk(nh, "add address");
}

static void nl_neigh(__u32 ifindex, __u32 addr, const __u8 mac[ETH_ALEN])
{
	struct ndmsg nd = { .ndm_family = AF_INET, .ndm_state = NUD_PERMANENT };
	struct nlmsghdr *nh;
	struct nl_buf b;
	__be32 a = htonl(addr);

	nd.ndm_ifindex = (int)ifindex;
	nh = nl_begin(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &nd, sizeof(nd));
	nl_attr(nh, NDA_DST, &a, sizeof(a));
	nl_attr(nh, NDA_LLADDR, mac, ETH_ALEN);
	nl_talk(nh, "add neighbour");
}

static void nl_route_via(__u32 ifindex, __u32 dst, __u8 prefix, __u32 gw)
{
	struct rtmsg rt = {
		.rtm_family = AF_INET,
		.rtm_dst_len = prefix,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT,
		.rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
	};
	struct nlmsghdr *nh;
	struct nl_buf b;
	__be32 d = htonl(dst), g = htonl(gw);

	nh = nl_begin(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
	nl_attr(nh, RTA_DST, &d, sizeof(d));
	nl_attr(nh, RTA_GATEWAY, &g, sizeof(g));
	nl_attr(nh, RTA_OIF, &ifindex, sizeof(ifindex));
	nl_talk(nh, "add route");
}

static void write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		fail_msg("%s: writing %s: %s", ktest_name(), path, strerror(errno));
	close(fd);
}

static void leave_netns(void *arg)
{
	int fd = (int)(intptr_t)arg;

	if (setns(fd, CLONE_NEWNET))
		fprintf(stderr, "ktest: cannot return to the original network namespace: %s\n",
			strerror(errno));
	close(fd);
}

/*
 * Move this thread into a new network namespace set up for the fixtures; back at teardown. The
 * namespace has no name and no other reference: it disappears when the thread leaves it, or dies.
 */
static void enter_netns(void)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail_msg("%s: open /proc/thread-self/ns/net: %s", ktest_name(), strerror(errno));
	if (unshare(CLONE_NEWNET)) {
		int err = errno;

		close(fd);
		fail_msg("%s: unshare(CLONE_NEWNET): %s", ktest_name(), strerror(err));
	}
	ktest_defer(leave_netns, (void *)(intptr_t)fd);

	nl_link_up("lo");
	nl_veth_pair();
	nl_link_up(VETH);
	nl_link_up(VETH_PEER);
	fx.veth_ifindex = ifindex_of(VETH);
	nl_addr(fx.veth_ifindex, VETH_ADDR, 24);
	nl_neigh(fx.veth_ifindex, NEIGH_ADDR, neigh_mac);
	nl_neigh(fx.veth_ifindex, GW_ADDR, gw_mac);
	nl_route_via(fx.veth_ifindex, ROUTED_NET, 24, GW_ADDR);
	/* bpf_fib_lookup() makes a forwarding lookup: forwarding must be on (lo included). */
	write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1");
}

/* ---------------------------------------------------------------------------------------------
 * Packet builder
 */

struct pkt_spec {
	__u32 saddr, daddr; /* host order; 0: defaults */
	__u16 sport, dport;
	__u16 vlan_tpid; /* 0: untagged */
	__u16 vlan_tci;
	__u16 ethertype; /* 0: ETH_P_IP */
	__u8 version;	 /* 0: 4 */
	__u8 ihl;	 /* 0: 5 */
	__u8 proto;	 /* 0: UDP */
	__u8 tos;
	bool set_ttl; /* else TTL 64 */
	__u8 ttl;
	__u16 frag_off; /* host order, flags and offset */
	__u16 payload;	/* 0: 22 bytes (64-byte frame) */
	int tot_delta;	/* added to the IPv4 total length */
	int udp_delta;	/* added to the UDP length */
	__u16 cut;	/* truncate the frame to this many bytes, 0: no */
};

#define DEFAULT_SADDR IP4(198, 51, 100, 7)
#define DEFAULT_SPORT 40000
#define DEFAULT_PAYLOAD 22

/* Frames (struct tl_frame) come from the tests' one packet builder (tests/lib/packet.c). */

static __u32 spec_saddr(const struct pkt_spec *s)
{
	return s->saddr ? s->saddr : DEFAULT_SADDR;
}

static __u16 spec_sport(const struct pkt_spec *s)
{
	return s->sport ? s->sport : DEFAULT_SPORT;
}

static __u16 spec_dport(const struct pkt_spec *s)
{
	return s->dport ? s->dport : VIP_PORT;
}

/* The row's packet, its defaults filled in (addresses host order in rows, network here). */
static void build(const struct pkt_spec *s, struct tl_frame *p)
{
	struct tl_udp4 u = {
		.saddr = htonl(spec_saddr(s)),
		.daddr = htonl(s->daddr ? s->daddr : VIP_ADDR(VIP_DSR)),
		.sport = htons(spec_sport(s)),
		.dport = htons(spec_dport(s)),
		.payload = s->payload ? s->payload : DEFAULT_PAYLOAD,
		.vlan_tpid = s->vlan_tpid,
		.vlan_tci = s->vlan_tci,
		.ethertype = s->ethertype,
		.version = s->version,
		.ihl = s->ihl,
		.proto = s->proto,
		.tos = s->tos,
		.set_ttl = s->set_ttl,
		.ttl = s->ttl,
		.frag_off = s->frag_off,
		.ip_id = 0x1234,
		.tot_delta = s->tot_delta,
		.udp_delta = s->udp_delta,
		.cut = s->cut,
	};

	memcpy(u.dst_mac, lb_mac, ETH_ALEN);
	memcpy(u.src_mac, client_mac, ETH_ALEN);
	assert_int_equal(tl_udp4_frame(&u, p), 0);
}

static struct udplb_flow spec_flow(const struct pkt_spec *s)
{
	struct udplb_flow f;

	memset(&f, 0, sizeof(f));
	f.saddr = htonl(spec_saddr(s));
	f.daddr = htonl(s->daddr ? s->daddr : VIP_ADDR(VIP_DSR));
	f.sport = htons(spec_sport(s));
	f.dport = htons(spec_dport(s));
	f.proto = IPPROTO_UDP;
	return f;
}

/* Backend slot the live ring gives the packet's flow (the control plane's flow simulator). */
static __u32 predict(const struct pkt_spec *s, __u32 vip)
{
	struct udplb_flow f = spec_flow(s);
	struct lb_sim_result r;
	int ret = lb_sim_flow(fx.sim, &f, HASH_SEED, &r);

	if (ret)
		fail_msg("%s: the simulator gives flow to VIP %u no backend: %d", ktest_name(), vip,
			 ret);
	assert_int_equal(r.vip_id, vip);
	return r.backend_id;
}

/* ---------------------------------------------------------------------------------------------
 * Counters
 */

struct counters {
	__u64 reasons[__UDPLB_R_MAX];
	__u64 pool_packets, pool_xdp, pool_tc;
	struct udplb_counter vip[NR_VIPS_PLUS1];
	struct udplb_counter be[NR_BACKENDS];
};

static void read_percpu(const struct bpf_map *map, __u32 key, void *vals)
{
	if (bpf_map_lookup_elem(bpf_map__fd(map), &key, vals))
		fail_msg("%s: lookup of %s[%u]: %s", ktest_name(), bpf_map__name(map), key,
			 strerror(errno));
}

static void read_counters(struct counters *c)
{
	struct udplb_counter *pc = calloc(fx.ncpus, sizeof(*pc));
	__u64 *pu = calloc(fx.ncpus, sizeof(*pu));
	__u32 i;
	int cpu;

	assert_true(pc && pu);
	memset(c, 0, sizeof(*c));
	for (i = 0; i < __UDPLB_R_MAX; i++) {
		read_percpu(fx.lb->maps.reasons, i, pu);
		for (cpu = 0; cpu < fx.ncpus; cpu++)
			c->reasons[i] += pu[cpu];
	}
	for (i = 0; i < NR_VIPS_PLUS1; i++) {
		read_percpu(fx.lb->maps.vip_stats, i, pc);
		for (cpu = 0; cpu < fx.ncpus; cpu++) {
			c->vip[i].packets += pc[cpu].packets;
			c->vip[i].bytes += pc[cpu].bytes;
		}
	}
	for (i = 0; i < NR_BACKENDS; i++) {
		read_percpu(fx.lb->maps.backend_stats, i, pc);
		for (cpu = 0; cpu < fx.ncpus; cpu++) {
			c->be[i].packets += pc[cpu].packets;
			c->be[i].bytes += pc[cpu].bytes;
		}
	}
	free(pc);
	free(pu);
	c->pool_packets = ktest_u64(bpf_map__fd(fx.lb->maps.pool), UDPLB_POOL_PACKETS);
	c->pool_xdp = ktest_u64(bpf_map__fd(fx.lb->maps.pool), UDPLB_POOL_XDP_PACKETS);
	c->pool_tc = ktest_u64(bpf_map__fd(fx.lb->maps.pool), UDPLB_POOL_TC_PACKETS);
}

static const char *reason_name(__u32 r)
{
	static const char *const names[__UDPLB_R_MAX] = {
		[UDPLB_R_FORWARDED] = "FORWARDED",
		[UDPLB_R_NOT_IP] = "NOT_IP",
		[UDPLB_R_NOT_UDP] = "NOT_UDP",
		[UDPLB_R_NOT_VIP] = "NOT_VIP",
		[UDPLB_R_TRUNCATED] = "TRUNCATED",
		[UDPLB_R_FRAGMENT] = "FRAGMENT",
		[UDPLB_R_TTL] = "TTL",
		[UDPLB_R_NO_BACKEND] = "NO_BACKEND",
		[UDPLB_R_NO_ROUTE] = "NO_ROUTE",
		[UDPLB_R_KILL_SWITCH] = "KILL_SWITCH",
		[UDPLB_R_ERROR] = "ERROR",
		[UDPLB_R_CT_HIT] = "CT_HIT",
		[UDPLB_R_CT_NEW] = "CT_NEW",
		[UDPLB_R_DROPPED] = "DROPPED",
	};

	return r < __UDPLB_R_MAX && names[r] ? names[r] : "?";
}

/*
 * Empty conntrack. Deletes the key before the current one only after finding the next: always
 * restarting from the first key would rescan the emptied buckets, quadratic on a full table.
 */
static void ct_clear(void)
{
	int fd = bpf_map__fd(fx.lb->maps.conntrack);
	struct udplb_flow key, next;
	bool have = false;

	while (!bpf_map_get_next_key(fd, have ? &key : NULL, &next)) {
		if (have && bpf_map_delete_elem(fd, &key))
			fail_msg("%s: conntrack delete: %s", ktest_name(), strerror(errno));
		key = next;
		have = true;
	}
	if (have && bpf_map_delete_elem(fd, &key))
		fail_msg("%s: conntrack delete: %s", ktest_name(), strerror(errno));
	if (!bpf_map_get_next_key(fd, NULL, &next))
		fail_msg("%s: conntrack not empty after clearing", ktest_name());
}

static bool ct_get(const struct udplb_flow *f, struct udplb_ct *ct)
{
	return !bpf_map_lookup_elem(bpf_map__fd(fx.lb->maps.conntrack), f, ct);
}

static void ct_put(const struct udplb_flow *f, const struct udplb_ct *ct)
{
	if (bpf_map_update_elem(bpf_map__fd(fx.lb->maps.conntrack), f, ct, BPF_ANY))
		fail_msg("%s: conntrack update: %s", ktest_name(), strerror(errno));
}

/* ---------------------------------------------------------------------------------------------
 * One packet through one entry point
 */

enum verdict { V_PASS, V_DROP, V_TX, V_REDIRECT };
enum out_kind { O_SAME, O_DSR, O_IPIP };

struct entry {
	const char *name;
	bool tc;
};

static const struct entry ep_xdp = { "xdp", false };
static const struct entry ep_tc = { "tc", true };

static int prog_fd(const struct entry *ep)
{
	return bpf_program__fd(ep->tc ? fx.lb->progs.udplb_tc : fx.lb->progs.udplb_xdp);
}

static __u32 want_retval(const struct entry *ep, enum verdict v)
{
	switch (v) {
	case V_PASS:
		return ep->tc ? TC_ACT_OK : XDP_PASS;
	case V_DROP:
		return ep->tc ? TC_ACT_SHOT : XDP_DROP;
	case V_TX:
		return ep->tc ? TC_ACT_REDIRECT : XDP_TX;
	case V_REDIRECT:
		return ep->tc ? TC_ACT_REDIRECT : XDP_REDIRECT;
	}
	return ~0U;
}

struct row {
	const char *name;
	struct pkt_spec pkt;
	enum verdict verdict;
	enum out_kind out;
	__u32 backend; /* forwarded: expected backend, 0 = predicted from the ring */
	__u32 reason;  /* primary reason */
	__u32 extra;   /* CT_NEW, CT_HIT, DROPPED; 0 = none */
	__u32 vip;     /* VIP whose counters move, 0 = none */
	bool kill_switch;
};

struct result {
	__u8 out[512];
	__u32 out_len;
	__u32 retval;
};

static void run_once(const struct entry *ep, const struct tl_frame *in, struct result *res,
		     const char *what)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .data_out = res->out, .data_size_out = sizeof(res->out), .repeat = 1);

	memset(res, 0, sizeof(*res));
	if (bpf_prog_test_run_opts(prog_fd(ep), &opts))
		fail_msg("%s: [%s] %s: bpf_prog_test_run_opts: %s", ktest_name(), ep->name, what,
			 strerror(errno));
	res->out_len = opts.data_size_out;
	res->retval = opts.retval;
}

static void hexdump(const char *what, const __u8 *p, __u32 len)
{
	__u32 i;

	printf("    %s (%u bytes):", what, len);
	for (i = 0; i < len; i++)
		printf("%s%02x", i % 32 ? (i % 4 ? "" : " ") : "\n      ", p[i]);
	printf("\n");
}

/* Expected MACs of a forwarded packet to backend @id. */
static void expected_macs(__u32 id, __u8 dmac[ETH_ALEN], __u8 smac[ETH_ALEN], bool *redirect)
{
	*redirect = false;
	if (fx.be[id].flags & UDPLB_BACKEND_F_MAC) {
		memcpy(dmac, fx.be[id].mac, ETH_ALEN);
		memcpy(smac, lb_mac, ETH_ALEN);
		return;
	}
	/* Resolved by bpf_fib_lookup() through the veth, not the ingress device (lo). */
	*redirect = true;
	memcpy(smac, veth_mac, ETH_ALEN);
	if (id == BE_FIB_IPIP)
		memcpy(dmac, gw_mac, ETH_ALEN);
	else
		memcpy(dmac, neigh_mac, ETH_ALEN);
}

#define row_fail(ep, r, ...)                                                                       \
	do {                                                                                       \
		printf("  FAIL [%s] %s: ", (ep)->name, (r)->name);                                 \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		return false;                                                                      \
	} while (0)

static bool check_ipip(const struct entry *ep, const struct row *r, const struct tl_frame *in,
		       const struct result *res, __u32 id)
{
	/* tc moves an in-packet VLAN tag into the skb's metadata before encapsulating. */
	__u32 out_l3 = ep->tc ? ETH_HLEN : in->l3, inner_tot;
	struct iphdr outer, inner;

	if (res->out_len != in->len + sizeof(outer) - (in->l3 - out_l3))
		row_fail(ep, r, "output %u bytes, expected %zu", res->out_len,
			 in->len + sizeof(outer) - (in->l3 - out_l3));
	if (memcmp(res->out + 12, in->data + 12, out_l3 - 14) || res->out[out_l3 - 2] != 0x08 ||
	    res->out[out_l3 - 1] != 0x00)
		row_fail(ep, r, "L2 header after the MACs changed");
	memcpy(&outer, res->out + out_l3, sizeof(outer));
	memcpy(&inner, in->data + in->l3, sizeof(inner));
	inner_tot = ntohs(inner.tot_len);
	if (outer.version != 4 || outer.ihl != 5)
		row_fail(ep, r, "outer version/ihl %u/%u", outer.version, outer.ihl);
	if (outer.protocol != IPPROTO_IPIP || outer.ttl != 64)
		row_fail(ep, r, "outer proto %u ttl %u", outer.protocol, outer.ttl);
	/* DF set: never fragmented, id 0 (RFC 6864). DF clear: see test_ipip_ids. */
	if ((inner.frag_off & htons(0x4000)) && outer.id != 0)
		row_fail(ep, r, "outer id %u with DF set, expected 0", ntohs(outer.id));
	if (ntohs(outer.tot_len) != inner_tot + sizeof(outer))
		row_fail(ep, r, "outer total length %u, inner %u", ntohs(outer.tot_len), inner_tot);
	if (outer.tos != inner.tos || outer.frag_off != (inner.frag_off & htons(0x4000)))
		row_fail(ep, r, "outer tos %#x frag_off %#x, inner tos %#x frag_off %#x", outer.tos,
			 ntohs(outer.frag_off), inner.tos, ntohs(inner.frag_off));
	if (outer.saddr != htonl(IPIP_SRC) || outer.daddr != fx.be[id].addr)
		row_fail(ep, r, "outer %#x -> %#x, expected %#x -> %#x", ntohl(outer.saddr),
			 ntohl(outer.daddr), IPIP_SRC, ntohl(fx.be[id].addr));
	if (tl_csum16(res->out + out_l3, sizeof(outer)) != 0)
		row_fail(ep, r, "outer header checksum %#x does not verify", ntohs(outer.check));
	if (memcmp(res->out + out_l3 + sizeof(outer), in->data + in->l3, in->len - in->l3))
		row_fail(ep, r, "inner packet changed");
	return true;
}

static bool check_output(const struct entry *ep, const struct row *r, const struct tl_frame *in,
			 const struct result *res, __u32 id)
{
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	bool redirect;

	if (r->out == O_SAME) {
		if (res->out_len != in->len || memcmp(res->out, in->data, in->len))
			row_fail(ep, r, "packet changed");
		return true;
	}
	expected_macs(id, dmac, smac, &redirect);
	if (memcmp(res->out, dmac, ETH_ALEN) || memcmp(res->out + ETH_ALEN, smac, ETH_ALEN))
		row_fail(ep, r,
			 "MACs %02x:..:%02x <- %02x:..:%02x, expected %02x:..:%02x <- "
			 "%02x:..:%02x",
			 res->out[0], res->out[5], res->out[6], res->out[11], dmac[0], dmac[5],
			 smac[0], smac[5]);
	if (r->out == O_DSR) {
		if (res->out_len != in->len || memcmp(res->out + 12, in->data + 12, in->len - 12))
			row_fail(ep, r, "DSR changed more than the MACs");
		return true;
	}
	return check_ipip(ep, r, in, res, id);
}

static bool check_counters(const struct entry *ep, const struct row *r, const struct tl_frame *in,
			   const struct counters *before, const struct counters *after, __u32 id)
{
	__u64 want[__UDPLB_R_MAX] = { 0 };
	__u32 i;

	want[r->reason]++;
	if (r->extra)
		want[r->extra]++;
	for (i = 0; i < __UDPLB_R_MAX; i++)
		if (after->reasons[i] - before->reasons[i] != want[i])
			row_fail(ep, r, "reasons[%s] moved by %llu, expected %llu", reason_name(i),
				 (unsigned long long)(after->reasons[i] - before->reasons[i]),
				 (unsigned long long)want[i]);
	if (after->pool_packets - before->pool_packets != 1 ||
	    (ep->tc ? after->pool_tc - before->pool_tc : after->pool_xdp - before->pool_xdp) != 1 ||
	    (ep->tc ? after->pool_xdp - before->pool_xdp : after->pool_tc - before->pool_tc) != 0)
		row_fail(ep, r, "pool packet counters moved by %llu (xdp %llu, tc %llu)",
			 (unsigned long long)(after->pool_packets - before->pool_packets),
			 (unsigned long long)(after->pool_xdp - before->pool_xdp),
			 (unsigned long long)(after->pool_tc - before->pool_tc));
	for (i = 0; i < NR_VIPS_PLUS1; i++) {
		bool hit = r->vip && i == r->vip;
		__u64 p = after->vip[i].packets - before->vip[i].packets;
		__u64 b = after->vip[i].bytes - before->vip[i].bytes;

		if (p != hit || b != (hit ? in->len : 0))
			row_fail(ep, r, "vip_stats[%u] moved by %llu packets %llu bytes", i,
				 (unsigned long long)p, (unsigned long long)b);
	}
	for (i = 0; i < NR_BACKENDS; i++) {
		bool fwd = r->reason == UDPLB_R_FORWARDED && i == id;
		__u64 p = after->be[i].packets - before->be[i].packets;
		__u64 b = after->be[i].bytes - before->be[i].bytes;

		if (p != fwd || b != (fwd ? in->len : 0))
			row_fail(ep, r, "backend_stats[%u] moved by %llu packets %llu bytes", i,
				 (unsigned long long)p, (unsigned long long)b);
	}
	return true;
}

/* Run one row with an empty conntrack; true if everything matched (failures are printed). */
static bool run_row(const struct entry *ep, const struct row *r)
{
	struct counters before, after;
	struct result res;
	struct tl_frame in;
	__u32 id = 0, want;
	bool ok;

	build(&r->pkt, &in);
	if (r->reason == UDPLB_R_FORWARDED)
		id = r->backend ? r->backend : predict(&r->pkt, r->vip);
	ct_clear();
	read_counters(&before);
	if (r->kill_switch)
		set_pool(UDPLB_POOL_KILL_SWITCH, 1);
	run_once(ep, &in, &res, r->name);
	if (r->kill_switch)
		set_pool(UDPLB_POOL_KILL_SWITCH, 0);
	read_counters(&after);

	want = want_retval(ep, r->verdict);
	ok = res.retval == want;
	if (!ok)
		printf("  FAIL [%s] %s: verdict %u, expected %u\n", ep->name, r->name, res.retval,
		       want);
	ok = ok && check_output(ep, r, &in, &res, id);
	ok = ok && check_counters(ep, r, &in, &before, &after, id);
	if (ok && r->reason == UDPLB_R_FORWARDED) {
		struct udplb_flow f = spec_flow(&r->pkt);
		struct udplb_ct ct;

		if (!ct_get(&f, &ct) || ct.backend_id != id || ct.vip_id != r->vip ||
		    ct.addr != fx.be[id].addr || ct.port != fx.be[id].port) {
			printf("  FAIL [%s] %s: conntrack does not hold backend %u for the flow\n",
			       ep->name, r->name, id);
			ok = false;
		}
	}
	if (!ok) {
		hexdump("input", in.data, in.len);
		hexdump("output", res.out, res.out_len);
	}
	return ok;
}

/* ---------------------------------------------------------------------------------------------
 * The packet table
 */

/* A new flow to VIP @v forwarded (@verdict_, @out_) to backend @be (0: any). */
#define FORWARDED(n, v, verdict_, out_, be, ...)                                                   \
	{                                                                                          \
		.name = n, .pkt = { .daddr = VIP_ADDR(v), __VA_ARGS__ }, .verdict = verdict_,      \
		.out = out_, .backend = be, .reason = UDPLB_R_FORWARDED, .extra = UDPLB_R_CT_NEW,  \
		.vip = v                                                                           \
	}

#define FWD_DSR(n, ...) FORWARDED(n, VIP_DSR, V_TX, O_DSR, 0, __VA_ARGS__)

#define IHL_ROW(n) FWD_DSR("dsr: IP options, IHL " #n, .ihl = n, .sport = 1000 + n)

#define PASSED(n, r, v, ...)                                                                       \
	{                                                                                          \
		.name = n, .pkt = { __VA_ARGS__ }, .verdict = V_PASS, .out = O_SAME, .reason = r,  \
		.vip = v                                                                           \
	}

/* To VIP_IPIP, whose only backend is BE_IPIP. */
#define FWD_IPIP(n, ...) FORWARDED(n, VIP_IPIP, V_TX, O_IPIP, BE_IPIP, __VA_ARGS__)

/* Dropped by the DROP_FRAGS / DROP_INVALID VIP. */
#define STRICT_DROP(n, r, ...)                                                                     \
	{                                                                                          \
		.name = n, .pkt = { .daddr = VIP_ADDR(VIP_STRICT), __VA_ARGS__ },                  \
		.verdict = V_DROP, .out = O_SAME, .reason = r, .extra = UDPLB_R_DROPPED,           \
		.vip = VIP_STRICT                                                                  \
	}

/* With the kill switch on: passed untouched. */
#define KILLED(n, ...)                                                                             \
	{                                                                                          \
		.name = n, .pkt = { __VA_ARGS__ }, .verdict = V_PASS, .out = O_SAME,               \
		.reason = UDPLB_R_KILL_SWITCH, .kill_switch = true                                 \
	}

static const struct row rows[] = {
	/* Load-balanced. */
	FWD_DSR("dsr: VIP hit"),
	FWD_DSR("dsr: VIP hit, another flow", .sport = 40001),
	FWD_DSR("dsr: VIP hit, a third flow", .saddr = IP4(203, 0, 113, 9), .sport = 5),
	FWD_DSR("dsr: 802.1Q tagged", .vlan_tpid = ETH_P_8021Q, .vlan_tci = 0x2064),
	FWD_DSR("dsr: 802.1AD tagged", .vlan_tpid = ETH_P_8021AD, .vlan_tci = 0x0123),
	FWD_DSR("dsr: TTL 2", .set_ttl = true, .ttl = 2),
	FWD_DSR("dsr: UDP length shorter than the IP payload", .udp_delta = -4),
	FWD_DSR("dsr: Ethernet padding after the IP packet", .tot_delta = -6, .udp_delta = -6),
	FWD_DSR("dsr: larger packet", .payload = 200),
	IHL_ROW(6),
	IHL_ROW(7),
	IHL_ROW(8),
	IHL_ROW(9),
	IHL_ROW(10),
	IHL_ROW(11),
	IHL_ROW(12),
	IHL_ROW(13),
	IHL_ROW(14),
	IHL_ROW(15),
	FORWARDED("dsr: source-address hash", VIP_SRCHASH, V_TX, O_DSR, 0),
	FWD_IPIP("ipip: VIP hit"),
	FWD_IPIP("ipip: DF and TOS copied to the outer header", .frag_off = 0x4000, .tos = 0xb8),
	FWD_IPIP("ipip: IP options (IHL 9)", .ihl = 9),
	FWD_IPIP("ipip: 802.1Q tagged", .vlan_tpid = ETH_P_8021Q, .vlan_tci = 7),
	FWD_IPIP("ipip: Ethernet padding after the IP packet", .tot_delta = -6, .udp_delta = -6),

	/* Backends without a MAC: bpf_fib_lookup(). */
	FORWARDED("dsr: backend without MAC, neighbour known", VIP_FIB, V_REDIRECT, O_DSR, BE_FIB),
	FORWARDED("ipip: backend without MAC, routed via a gateway", VIP_FIB_IPIP, V_REDIRECT,
		  O_IPIP, BE_FIB_IPIP),
	PASSED("backend without MAC, no neighbour", UDPLB_R_NO_ROUTE, VIP_NOROUTE,
	       .daddr = VIP_ADDR(VIP_NOROUTE)),
	PASSED("backend without MAC, no route", UDPLB_R_NO_ROUTE, VIP_UNREACH,
	       .daddr = VIP_ADDR(VIP_UNREACH)),

	/* Not ours. */
	PASSED("wrong port", UDPLB_R_NOT_VIP, 0, .dport = 55),
	PASSED("filter bit set, no VIP behind it", UDPLB_R_NOT_VIP, 0, .daddr = FP_ADDR,
	       .dport = FP_PORT),
	PASSED("non-VIP address", UDPLB_R_NOT_VIP, 0, .daddr = IP4(10, 9, 9, 9)),
	PASSED("wrong protocol: TCP to the VIP", UDPLB_R_NOT_UDP, 0, .proto = IPPROTO_TCP),
	PASSED("wrong protocol: ICMP to the VIP", UDPLB_R_NOT_UDP, 0, .proto = IPPROTO_ICMP),
	PASSED("ARP", UDPLB_R_NOT_IP, 0, .ethertype = ETH_P_ARP),
	PASSED("IPv6 ethertype", UDPLB_R_NOT_IP, 0, .ethertype = ETH_P_IPV6),
	PASSED("IP version 6 in an IPv4 frame", UDPLB_R_NOT_IP, 0, .version = 6),
	PASSED("two VLAN tags (only one is parsed)", UDPLB_R_NOT_IP, 0, .vlan_tpid = ETH_P_8021AD,
	       .ethertype = ETH_P_8021Q),
	PASSED("VLAN tag, then ARP", UDPLB_R_NOT_IP, 0, .vlan_tpid = ETH_P_8021Q,
	       .ethertype = ETH_P_ARP),

	/* Fragments. */
	PASSED("non-first fragment", UDPLB_R_FRAGMENT, 0, .frag_off = 0x0005),
	PASSED("non-first fragment, MF, DROP_FRAGS VIP (VIP unknown: passed)", UDPLB_R_FRAGMENT, 0,
	       .daddr = VIP_ADDR(VIP_STRICT), .frag_off = 0x2010),
	PASSED("first fragment (MF)", UDPLB_R_FRAGMENT, VIP_DSR, .frag_off = 0x2000,
	       .udp_delta = 100),
	STRICT_DROP("first fragment (MF), DROP_FRAGS VIP", UDPLB_R_FRAGMENT, .frag_off = 0x2000,
		    .udp_delta = 100),

	/* Truncated at every header boundary, inconsistent lengths. */
	PASSED("truncated: Ethernet header only", UDPLB_R_TRUNCATED, 0, .cut = 14),
	PASSED("truncated: VLAN tag missing", UDPLB_R_TRUNCATED, 0, .vlan_tpid = ETH_P_8021Q,
	       .cut = 14),
	PASSED("truncated: half a VLAN tag", UDPLB_R_TRUNCATED, 0, .vlan_tpid = ETH_P_8021Q,
	       .cut = 16),
	PASSED("truncated: VLAN tag, no IP header", UDPLB_R_TRUNCATED, 0, .vlan_tpid = ETH_P_8021Q,
	       .cut = 18),
	PASSED("truncated: IPv4 header", UDPLB_R_TRUNCATED, 0, .cut = 14 + 19),
	PASSED("truncated: IPv4 header, VLAN", UDPLB_R_TRUNCATED, 0, .vlan_tpid = ETH_P_8021Q,
	       .cut = 18 + 12),
	PASSED("truncated: IP options", UDPLB_R_TRUNCATED, 0, .ihl = 10, .cut = 14 + 30),
	PASSED("truncated: IP options (IHL 15)", UDPLB_R_TRUNCATED, 0, .ihl = 15, .cut = 14 + 59),
	PASSED("truncated: UDP header", UDPLB_R_TRUNCATED, 0, .cut = 14 + 20 + 7),
	PASSED("truncated: UDP header after options", UDPLB_R_TRUNCATED, 0, .ihl = 15,
	       .cut = 14 + 60 + 4),
	PASSED("truncated: UDP header, VLAN", UDPLB_R_TRUNCATED, 0, .vlan_tpid = ETH_P_8021Q,
	       .cut = 18 + 20 + 1),
	PASSED("truncated: payload (IP total length > frame)", UDPLB_R_TRUNCATED, VIP_DSR,
	       .cut = 14 + 20 + 8 + 10),
	PASSED("IHL 4", UDPLB_R_TRUNCATED, 0, .ihl = 4),
	PASSED("bad IP total length: 1 byte over the frame", UDPLB_R_TRUNCATED, VIP_DSR,
	       .tot_delta = 1),
	PASSED("bad IP total length: shorter than IP + UDP headers", UDPLB_R_TRUNCATED, VIP_DSR,
	       .tot_delta = -(8 + DEFAULT_PAYLOAD + 1), .udp_delta = -DEFAULT_PAYLOAD),
	PASSED("bad IP total length, non-VIP", UDPLB_R_TRUNCATED, 0, .daddr = IP4(10, 9, 9, 9),
	       .tot_delta = 1),
	PASSED("bad UDP length: over the IP payload", UDPLB_R_TRUNCATED, VIP_DSR, .udp_delta = 1),
	PASSED("bad UDP length: under 8", UDPLB_R_TRUNCATED, VIP_DSR,
	       .udp_delta = -(DEFAULT_PAYLOAD + 1)),
	STRICT_DROP("bad IP total length, DROP_INVALID VIP", UDPLB_R_TRUNCATED, .tot_delta = 1),
	STRICT_DROP("truncated payload, DROP_INVALID VIP", UDPLB_R_TRUNCATED,
		    .cut = 14 + 20 + 8 + 1),
	PASSED("truncated UDP header, DROP_INVALID VIP (VIP unknown: passed)", UDPLB_R_TRUNCATED, 0,
	       .daddr = VIP_ADDR(VIP_STRICT), .cut = 14 + 20 + 3),

	/* TTL, backends, kill switch. */
	PASSED("TTL 0", UDPLB_R_TTL, VIP_DSR, .set_ttl = true, .ttl = 0),
	PASSED("TTL 1", UDPLB_R_TTL, VIP_DSR, .set_ttl = true, .ttl = 1),
	PASSED("VIP without backends (ring size 0)", UDPLB_R_NO_BACKEND, VIP_EMPTY,
	       .daddr = VIP_ADDR(VIP_EMPTY)),
	PASSED("ring slot without backend", UDPLB_R_NO_BACKEND, VIP_HOLE,
	       .daddr = VIP_ADDR(VIP_HOLE)),
	PASSED("ring backend draining (no new flows)", UDPLB_R_NO_BACKEND, VIP_DRAIN,
	       .daddr = VIP_ADDR(VIP_DRAIN)),
	KILLED("kill switch on: VIP hit passed"),
	KILLED("kill switch on: ipip VIP passed", .daddr = VIP_ADDR(VIP_IPIP)),
	KILLED("kill switch on: truncated frame passed", .cut = 14),
};

/*
 * BPF_PROG_TEST_RUN of skb programs refuses (EINVAL) a frame with nothing after the Ethernet
 * header, and an IPv4 frame shorter than an IPv4 header: those rows run through XDP only.
 */
static bool skb_test_run_refuses(const struct pkt_spec *s)
{
	struct tl_frame p;

	build(s, &p);
	if (p.len <= ETH_HLEN)
		return true;
	return !s->vlan_tpid && (!s->ethertype || s->ethertype == ETH_P_IP) &&
	       p.len < ETH_HLEN + sizeof(struct iphdr);
}

static void run_table(const struct entry *ep)
{
	unsigned int i, failed = 0, fwd = 0, skipped = 0;

	enter_netns();
	fx_setup();
	if (filter_has(VIP_ADDR(VIP_DSR), 55))
		printf("  note: the wrong-port row's filter bit is set: it tests the hash miss\n");
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		if (ep->tc && skb_test_run_refuses(&rows[i].pkt)) {
			printf("  [%s] %s: not run (the skb test run refuses the frame)\n",
			       ep->name, rows[i].name);
			skipped++;
			continue;
		}
		if (!run_row(ep, &rows[i]))
			failed++;
		fwd += rows[i].reason == UDPLB_R_FORWARDED;
	}
	printf("  [%s] %zu packets, %u forwarded, %u not run, %u failed\n", ep->name,
	       ARRAY_SIZE(rows), fwd, skipped, failed);
	if (failed)
		fail_msg("%s: %u of %zu packets did not match", ktest_name(), failed,
			 ARRAY_SIZE(rows));
}

static void test_packets_xdp(void **state)
{
	(void)state;
	ktest_begin();
	run_table(&ep_xdp);
}

static void test_packets_tc(void **state)
{
	(void)state;
	ktest_begin();
	run_table(&ep_tc);
}

/* ---------------------------------------------------------------------------------------------
 * IP ids of outer headers
 */

#define IPIP_ID_PACKETS 64

/*
 * Id of the outer header of @s encapsulated by @ep, after checking that it was encapsulated (the
 * table checks the rest of the header).
 */
static __u16 outer_id(const struct entry *ep, const struct pkt_spec *s)
{
	struct result res;
	struct iphdr outer;
	struct tl_frame in;

	build(s, &in);
	run_once(ep, &in, &res, "ipip id");
	if (res.retval != want_retval(ep, V_TX) || res.out_len < ETH_HLEN + sizeof(outer))
		fail_msg("%s: [%s] ipip packet not forwarded: verdict %u, %u bytes", ktest_name(),
			 ep->name, res.retval, res.out_len);
	memcpy(&outer, res.out + ETH_HLEN, sizeof(outer));
	if (outer.protocol != IPPROTO_IPIP || tl_csum16(res.out + ETH_HLEN, sizeof(outer)))
		fail_msg("%s: [%s] no valid outer header", ktest_name(), ep->name);
	return ntohs(outer.id);
}

/*
 * An outer header without DF may be fragmented on the way to the backend: fragments of two
 * packets with one id would be reassembled together. Packets with DF clear get distinct ids
 * (flows vary, the path stays the same: LB -> backend); with DF set the id stays 0.
 */
static void test_ipip_ids(void **state)
{
	const struct entry *eps[] = { &ep_xdp, &ep_tc };
	__u16 ids[IPIP_ID_PACKETS];
	__u32 e, i, j, dups;
	(void)state;

	ktest_begin();
	enter_netns();
	fx_setup();
	for (e = 0; e < ARRAY_SIZE(eps); e++) {
		struct pkt_spec df = { .daddr = VIP_ADDR(VIP_IPIP), .frag_off = 0x4000 };

		for (i = 0, dups = 0; i < IPIP_ID_PACKETS; i++) {
			struct pkt_spec s = { .daddr = VIP_ADDR(VIP_IPIP), .sport = 5000 + i };

			ids[i] = outer_id(eps[e], &s);
			for (j = 0; j < i && ids[j] != ids[i]; j++)
				;
			dups += j < i;
		}
		printf("  [%s] %u packets without DF: outer ids %u, %u, ... %u, %u repeated\n",
		       eps[e]->name, IPIP_ID_PACKETS, ids[0], ids[1], ids[IPIP_ID_PACKETS - 1],
		       dups);
		if (dups)
			fail_msg("%s: [%s] %u of %u outer ids (DF clear) repeat an earlier one",
				 ktest_name(), eps[e]->name, dups, IPIP_ID_PACKETS);
		if (outer_id(eps[e], &df) != 0)
			fail_msg("%s: [%s] outer id not 0 with DF set", ktest_name(), eps[e]->name);
	}
}

/* ---------------------------------------------------------------------------------------------
 * Non-linear skbs in tc: datagrams whose payload lies in the skb's pages
 */

#define TAP "dataplane0"
#define BIG_HDR (ETH_HLEN + 20 + 8) /* Ethernet, IPv4 without options, UDP */
#define BIG_MAX (BIG_HDR + 1472)

static const __u16 big_payloads[] = { 1200, 1232, 1350, 1400, 1472 };

static void close_fd(void *arg)
{
	close((int)(intptr_t)arg);
}

static void tc_nonlinear_destroy(void *arg)
{
	tc_nonlinear__destroy(arg);
}

/*
 * A TAP device whose writes become non-linear skbs: with IFF_NAPI_FRAGS, tun puts the first
 * iovec in the linear part and every further iovec in a page fragment (tun_napi_alloc_frags()),
 * then passes the skb through GRO and the receive path, tc ingress included.
 */
static int open_frags_tap(void)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		fail_msg("%s: open /dev/net/tun: %s", ktest_name(), strerror(errno));
	ktest_defer(close_fd, (void *)(intptr_t)fd);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_NAPI | IFF_NAPI_FRAGS;
	if (ioctl(fd, TUNSETIFF, &ifr))
		fail_msg("%s: TUNSETIFF %s with IFF_NAPI_FRAGS: %s", ktest_name(), TAP,
			 strerror(errno));
	return fd;
}

/* The udplb tc program behind the counting front, on @ifindex's clsact ingress. */
static struct tc_nonlinear *attach_counting_tc(__u32 ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	struct tc_nonlinear *cnt = tc_nonlinear__open_and_load();
	__u32 zero = 0;
	int fd;

	if (!cnt)
		fail_msg("%s: loading tc_nonlinear: %s", ktest_name(), strerror(errno));
	ktest_defer(tc_nonlinear_destroy, cnt);
	fd = bpf_program__fd(fx.lb->progs.udplb_tc);
	if (bpf_map_update_elem(bpf_map__fd(cnt->maps.jmp), &zero, &fd, BPF_ANY))
		fail_msg("%s: tail call to udplb_tc: %s", ktest_name(), strerror(errno));
	if (bpf_tc_hook_create(&hook))
		fail_msg("%s: clsact on %s: %s", ktest_name(), TAP, strerror(errno));
	opts.prog_fd = bpf_program__fd(cnt->progs.count_tc);
	if (bpf_tc_attach(&hook, &opts))
		fail_msg("%s: tc attach on %s: %s", ktest_name(), TAP, strerror(errno));
	return cnt;
}

/* An IPv4 UDP frame of @payload bytes to VIP @vip, source port @sport; returns its length. */
static __u32 build_big(__u8 *frame, __u32 vip, __u16 sport, __u16 payload)
{
	struct pkt_spec s = { .daddr = VIP_ADDR(vip), .sport = sport };
	struct tl_frame hdr;
	__u32 i;

	build(&s, &hdr);
	memcpy(frame, hdr.data, BIG_HDR);
	tl_put16(frame + ETH_HLEN + 2, (__u16)(20 + 8 + payload));
	tl_put16(frame + ETH_HLEN + 10, 0);
	tl_put16(frame + ETH_HLEN + 10, tl_csum16(frame + ETH_HLEN, 20));
	tl_put16(frame + ETH_HLEN + 20 + 4, (__u16)(8 + payload));
	tl_put16(frame + ETH_HLEN + 20 + 6, 0); /* no UDP checksum (IPv4) */
	for (i = 0; i < payload; i++)
		frame[BIG_HDR + i] = (__u8)(i * 13 + sport);
	return BIG_HDR + payload;
}

/* Write @frame as the headers plus three page fragments of payload. */
static void write_in_frags(int fd, __u8 *frame, __u32 len)
{
	__u32 rest = len - BIG_HDR, a = rest / 3, b = rest / 3;
	struct iovec iov[4] = {
		{ frame, BIG_HDR },
		{ frame + BIG_HDR, a },
		{ frame + BIG_HDR + a, b },
		{ frame + BIG_HDR + a + b, rest - a - b },
	};
	ssize_t n = writev(fd, iov, 4);

	if (n != (ssize_t)len)
		fail_msg("%s: writev of %u bytes to %s: %zd (%s)", ktest_name(), len, TAP, n,
			 strerror(errno));
}

/* The next IPv4 frame the device sends (udplb's redirect), skipping others; its length or 0. */
static __u32 read_ipv4_frame(int fd, __u8 *buf, __u32 size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (poll(&pfd, 1, 1000) == 1) {
		n = read(fd, buf, size);
		if (n >= ETH_HLEN && buf[12] == 0x08 && buf[13] == 0x00)
			return (__u32)n;
	}
	return 0;
}

/* One datagram through the TAP: balanced (forwarded out of the TAP) and intact, or a failure. */
static void big_datagram(int fd, __u32 vip, __u16 sport, __u16 payload)
{
	static __u8 in[BIG_MAX], out[BIG_MAX + 64];
	struct pkt_spec s = { .daddr = VIP_ADDR(vip), .sport = sport };
	__u32 len = build_big(in, vip, sport, payload), n, be, l3 = ETH_HLEN;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	bool redirect;

	write_in_frags(fd, in, len);
	n = read_ipv4_frame(fd, out, sizeof(out));
	if (!n)
		fail_msg("%s: %u-byte datagram to VIP %u was not forwarded out of %s", ktest_name(),
			 payload, vip, TAP);
	be = predict(&s, vip);
	expected_macs(be, dmac, smac, &redirect);
	if (memcmp(out, dmac, ETH_ALEN) || memcmp(out + ETH_ALEN, smac, ETH_ALEN))
		fail_msg("%s: %u-byte datagram: not the MACs of backend %u", ktest_name(), payload,
			 be);
	if (vip_defs[vip].fwd == UDPLB_FWD_IPIP) {
		if (n != len + 20 || out[l3 + 9] != IPPROTO_IPIP || tl_csum16(out + l3, 20))
			fail_msg("%s: %u-byte datagram: bad ipip output (%u bytes)", ktest_name(),
				 payload, n);
		l3 += 20;
	} else if (n != len) {
		fail_msg("%s: %u-byte datagram: %u bytes out", ktest_name(), payload, n);
	}
	if (memcmp(out + l3, in + ETH_HLEN, len - ETH_HLEN))
		fail_msg("%s: %u-byte datagram: the IPv4 packet changed", ktest_name(), payload);
}

/*
 * Datagrams of 1,200-1,472 bytes (QUIC Initials are >= 1,200) arriving in non-linear skbs are
 * balanced, in both forwarding modes. The front program proves the skbs udplb saw were
 * non-linear; udplb's counters must show them FORWARDED, none TRUNCATED.
 */
static void test_tc_nonlinear(void **state)
{
	static const __u32 vips[] = { VIP_DSR, VIP_IPIP };
	struct counters before, after;
	struct tc_nonlinear *cnt;
	__u32 v, i, sent = 0;
	__u64 fwd, trunc;
	int fd;
	(void)state;

	ktest_begin();
	enter_netns();
	fx_setup();
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	fd = open_frags_tap();
	nl_link_up(TAP);
	cnt = attach_counting_tc(ifindex_of(TAP));
	read_counters(&before);
	for (v = 0; v < ARRAY_SIZE(vips); v++)
		for (i = 0; i < ARRAY_SIZE(big_payloads); i++, sent++)
			big_datagram(fd, vips[v], (__u16)(6000 + sent), big_payloads[i]);
	read_counters(&after);
	fwd = after.reasons[UDPLB_R_FORWARDED] - before.reasons[UDPLB_R_FORWARDED];
	trunc = after.reasons[UDPLB_R_TRUNCATED] - before.reasons[UDPLB_R_TRUNCATED];
	printf("  %u datagrams of %u-%u bytes written in 4 iovecs: front saw %llu skbs, %llu "
	       "non-linear (shortest linear part %u bytes); udplb: %llu forwarded, %llu "
	       "truncated\n",
	       sent, big_payloads[0], big_payloads[ARRAY_SIZE(big_payloads) - 1],
	       (unsigned long long)cnt->bss->seen, (unsigned long long)cnt->bss->nonlinear,
	       cnt->data->min_linear, (unsigned long long)fwd, (unsigned long long)trunc);
	if (cnt->bss->nonlinear < sent)
		fail_msg("%s: only %llu of %u skbs were non-linear: the test proves nothing",
			 ktest_name(), (unsigned long long)cnt->bss->nonlinear, sent);
	if (fwd != sent || trunc)
		fail_msg("%s: %llu of %u forwarded, %llu truncated", ktest_name(),
			 (unsigned long long)fwd, sent, (unsigned long long)trunc);
}

/* ---------------------------------------------------------------------------------------------
 * Conntrack
 */

/* Send @s through @ep; returns the backend it went to (0: not forwarded) and the CT reason. */
static __u32 send_flow(const struct entry *ep, const struct pkt_spec *s, __u32 *ct_reason)
{
	struct counters before, after;
	struct result res;
	struct tl_frame in;
	__u32 i;

	build(s, &in);
	read_counters(&before);
	run_once(ep, &in, &res, "flow");
	read_counters(&after);
	*ct_reason = 0;
	if (after.reasons[UDPLB_R_CT_HIT] != before.reasons[UDPLB_R_CT_HIT])
		*ct_reason = UDPLB_R_CT_HIT;
	if (after.reasons[UDPLB_R_CT_NEW] != before.reasons[UDPLB_R_CT_NEW])
		*ct_reason = UDPLB_R_CT_NEW;
	if (res.retval != want_retval(ep, V_TX))
		return 0;
	for (i = 1; i < NR_BACKENDS; i++)
		if (fx.be[i].flags & UDPLB_BACKEND_F_MAC &&
		    !memcmp(res.out, fx.be[i].mac, ETH_ALEN))
			return i;
	fail_msg("%s: [%s] forwarded to an unknown MAC", ktest_name(), ep->name);
	return 0;
}

static void expect_flow(const struct entry *ep, const struct pkt_spec *s, __u32 want_be,
			__u32 want_reason, const char *what)
{
	__u32 reason, be = send_flow(ep, s, &reason);

	printf("  [%s] %-52s -> backend %u (%s)\n", ep->name, what, be, reason_name(reason));
	if (be != want_be || reason != want_reason)
		fail_msg("%s: [%s] %s: backend %u (%s), expected %u (%s)", ktest_name(), ep->name,
			 what, be, reason_name(reason), want_be, reason_name(want_reason));
}

/*
 * Next-hop MACs over rtnetlink (lib/udplb/neigh.c) in the test's namespace: a permanent
 * neighbour resolves to its MAC, an address without a neighbour entry does not, and a lookup
 * sends nothing (no entry appears for it).
 */
static void test_neigh_lookup(void **state)
{
	struct lb_vip dsr = { .fwd = UDPLB_FWD_DSR }, ipip = { .fwd = UDPLB_FWD_IPIP };
	struct lb_backend b = { .addr = htonl(NEIGH_ADDR) };
	struct lb_err err = {};
	__u8 mac[ETH_ALEN];

	(void)state;
	ktest_begin();
	enter_netns();
	assert_int_equal(lb_neigh_lookup(fx.veth_ifindex, htonl(NEIGH_ADDR), mac), 0);
	assert_memory_equal(mac, neigh_mac, ETH_ALEN);
	assert_int_equal(lb_neigh_lookup(fx.veth_ifindex, htonl(GW_ADDR), mac), 0);
	assert_memory_equal(mac, gw_mac, ETH_ALEN);
	assert_int_equal(lb_neigh_lookup(fx.veth_ifindex, htonl(NO_NEIGH_ADDR), mac), -ENOENT);
	assert_int_equal(lb_neigh_lookup(ifindex_of("lo"), htonl(NEIGH_ADDR), mac), -ENOENT);

	/* The backend step: lookup fills the MAC; unknown neighbours stay without (no probe). */
	assert_int_equal(lb_backend_resolve_mac(fx.veth_ifindex, &dsr, &b, LB_RESOLVE_LOOKUP, &err),
			 0);
	assert_true(b.has_mac);
	assert_memory_equal(b.mac, neigh_mac, ETH_ALEN);
	memset(&b, 0, sizeof(b));
	b.addr = htonl(NO_NEIGH_ADDR);
	assert_int_equal(lb_backend_resolve_mac(fx.veth_ifindex, &dsr, &b, LB_RESOLVE_LOOKUP, &err),
			 0);
	assert_false(b.has_mac);
	assert_int_equal(lb_neigh_lookup(fx.veth_ifindex, htonl(NO_NEIGH_ADDR), mac), -ENOENT);
	/* Another device's neighbours are not this one's. */
	assert_int_equal(
		lb_backend_resolve_mac(ifindex_of("lo"), &ipip, &b, LB_RESOLVE_LOOKUP, &err), 0);
	assert_false(b.has_mac);
}

/*
 * A conntrack test's start: the fixture in its namespace; returns the backend VIP_DSR's ring
 * gives flow @s, and in *@other the other one of VIP_DSR's two backends.
 */
static __u32 ct_test_start(const struct pkt_spec *s, __u32 *other)
{
	__u32 b;

	ktest_begin();
	enter_netns();
	fx_setup();
	b = predict(s, VIP_DSR);
	*other = b == BE_A ? BE_B : BE_A;
	return b;
}

static void test_conntrack_sticky(void **state)
{
	const struct entry *eps[] = { &ep_xdp, &ep_tc };
	struct pkt_spec s = { .sport = 777 };
	__u32 b, other, i;
	(void)state;

	b = ct_test_start(&s, &other);

	for (i = 0; i < ARRAY_SIZE(eps); i++) {
		ct_clear();
		expect_flow(eps[i], &s, b, UDPLB_R_CT_NEW, "new flow");
		expect_flow(eps[i], &s, b, UDPLB_R_CT_HIT, "same flow again");
		expect_flow(eps[i], &s, b, UDPLB_R_CT_HIT, "and again");
	}
	/* Both entry points share conntrack. */
	ct_clear();
	expect_flow(&ep_xdp, &s, b, UDPLB_R_CT_NEW, "new flow (xdp)");
	expect_flow(&ep_tc, &s, b, UDPLB_R_CT_HIT, "then through tc");

	/* The ring moves the flow's slot to the other backend: conntrack keeps the flow. */
	fx_ring_of(VIP_DSR, other);
	fx_commit();
	expect_flow(&ep_xdp, &s, b, UDPLB_R_CT_HIT, "ring changed, backend still active");
	ct_clear();
	expect_flow(&ep_xdp, &s, other, UDPLB_R_CT_NEW, "conntrack cleared: the ring decides");
}

static void test_conntrack_stale(void **state)
{
	struct pkt_spec s = { .sport = 4242 }, s2 = { .sport = 4243 };
	struct udplb_flow f = spec_flow(&s);
	__u32 b, other, ids[2];
	struct udplb_ct ct;
	(void)state;

	b = ct_test_start(&s, &other);

	/* Backend freed (and out of the ring): conntrack's entry is ignored, then replaced. */
	expect_flow(&ep_xdp, &s, b, UDPLB_R_CT_NEW, "new flow");
	fx.be[b].state = UDPLB_BACKEND_FREE;
	fx_ring_of(VIP_DSR, other);
	fx_commit();
	expect_flow(&ep_xdp, &s, other, UDPLB_R_CT_NEW,
		    "its backend FREE: re-chosen from the ring");
	assert_true(ct_get(&f, &ct));
	assert_int_equal(ct.backend_id, other);
	assert_int_equal(ct.addr, fx.be[other].addr);
	expect_flow(&ep_tc, &s, other, UDPLB_R_CT_HIT, "then sticks to the new one");

	/* Draining: existing flows stay, new flows go to the ring. */
	fx.be[b].state = UDPLB_BACKEND_ACTIVE;
	fx_ring_of(VIP_DSR, b);
	fx_commit();
	ct_clear();
	expect_flow(&ep_xdp, &s, b, UDPLB_R_CT_NEW, "flow on a backend about to drain");
	fx.be[b].state = UDPLB_BACKEND_DRAINING;
	fx_ring_of(VIP_DSR, other);
	fx_commit();
	expect_flow(&ep_xdp, &s, b, UDPLB_R_CT_HIT, "backend DRAINING: existing flow kept");
	expect_flow(&ep_xdp, &s2, other, UDPLB_R_CT_NEW, "backend DRAINING: new flow elsewhere");

	/* Same id, another identity (slot reused): the entry is stale. */
	fx.be[b].state = UDPLB_BACKEND_ACTIVE;
	fx.be[b].addr = htonl(IP4(10, 2, 0, 99));
	be_mac(b + 100, fx.be[b].mac);
	fx_ring_of(VIP_DSR, b);
	fx_commit();
	{
		__u32 reason, got = send_flow(&ep_xdp, &s, &reason);

		printf("  [xdp] %-52s -> %s\n", "backend slot reused by another address",
		       reason_name(reason));
		assert_int_equal(reason, UDPLB_R_CT_NEW);
		assert_int_equal(got, b); /* by its new MAC */
		assert_true(ct_get(&f, &ct));
		assert_int_equal(ct.backend_id, b);
		assert_int_equal(ct.addr, htonl(IP4(10, 2, 0, 99)));
	}

	/* An entry of another VIP (vip_id differs) is not used. */
	fx_set_backend(b, be_defs[b].addr, UDPLB_BACKEND_ACTIVE, true, VIP_DSR);
	ids[0] = BE_A;
	ids[1] = BE_B;
	fx_fill_ring(VIP_DSR, ids, 2);
	fx_commit();
	ct_clear();
	memset(&ct, 0, sizeof(ct));
	ct.backend_id = other;
	ct.addr = fx.be[other].addr;
	ct.port = fx.be[other].port;
	ct.vip_id = VIP_IPIP;
	ct_put(&f, &ct);
	expect_flow(&ep_xdp, &s, b, UDPLB_R_CT_NEW, "entry recorded for another VIP: ignored");
	/* And a valid hand-made entry is followed even against the ring. */
	ct.vip_id = VIP_DSR;
	ct_put(&f, &ct);
	expect_flow(&ep_tc, &s, other, UDPLB_R_CT_HIT, "valid entry against the ring: followed");
}

/* ---------------------------------------------------------------------------------------------
 * Translated code: which lookups are calls
 */

/* What the decoder (xlated.c) found in one program, with its helper calls sorted out. */
struct scan {
	struct xlated_prog xp;
	unsigned int bad_lookup_calls; /* any *map_lookup_elem call but the hash one */
	unsigned int htab_calls;
	unsigned int clock_calls;
};

#define HTAB_LOOKUP "__htab_map_lookup_elem"

static void scan_prog(const struct bpf_program *prog, struct scan *sc)
{
	const struct xlated_prog *xp = &sc->xp;
	unsigned int k;

	memset(sc, 0, sizeof(*sc));
	xlated_scan(prog, &sc->xp);
	printf("  %-10s prog id %u, %u insns, calls:", bpf_program__name(prog), xp->prog_id,
	       xp->insns);
	for (k = 0; k < xp->nr_items; k++) {
		const char *name = xp->items[k].sym;

		if (xp->items[k].kind != XLATED_HELPER)
			continue;
		printf(" %s", name[0] ? name : "(unresolved)");
		if (!name[0])
			continue;
		if (strstr(name, "ktime") || strstr(name, "jiffies"))
			sc->clock_calls++;
		if (!strstr(name, "map_lookup_elem"))
			continue;
		if (!strcmp(name, HTAB_LOOKUP))
			sc->htab_calls++;
		else
			sc->bad_lookup_calls++;
	}
	printf("\n  %-10s inlined ARRAY lookups %u, PERCPU_ARRAY lookups %u, bpf-to-bpf calls %u\n",
	       "", xp->count[XLATED_ARRAY], xp->count[XLATED_PERCPU], xp->count[XLATED_OTHER_CALL]);
}

/* Inlined lookups of @kind on @map. */
static unsigned int count_map(const struct scan *sc, enum xlated_kind kind,
			      const struct bpf_map *map)
{
	return xlated_count_map(&sc->xp, kind, ktest_map_id(bpf_map__fd(map)));
}

/* Hash lookup calls on @map. */
static unsigned int count_htab(const struct scan *sc, const struct bpf_map *map)
{
	__u32 id = ktest_map_id(bpf_map__fd(map));
	unsigned int i, c = 0;

	for (i = 0; i < sc->xp.nr_items; i++) {
		const struct xlated_item *it = &sc->xp.items[i];

		c += it->kind == XLATED_HELPER && !strcmp(it->sym, HTAB_LOOKUP) && it->map_id == id;
	}
	return c;
}

/* Assertions for one entry point; returns the number of problems (all printed). */
static unsigned int check_entry_code(const struct bpf_program *prog)
{
	const struct bpf_map *arrays[] = {
		fx.lb->maps.udplb_ptr,	fx.lb->maps.vip_filter_a, fx.lb->maps.vip_filter_b,
		fx.lb->maps.backends_a, fx.lb->maps.backends_b,	  fx.lb->maps.ring_a,
		fx.lb->maps.ring_b,	fx.lb->maps.config,	  fx.lb->maps.pool,
	};
	const struct bpf_map *percpus[] = { fx.lb->maps.reasons, fx.lb->maps.vip_stats,
					    fx.lb->maps.backend_stats };
	const struct bpf_map *hashes[] = { fx.lb->maps.vips_a, fx.lb->maps.vips_b,
					   fx.lb->maps.conntrack };
	const char *name = bpf_program__name(prog);
	unsigned int problems = 0, i, known = 0;
	struct scan sc;

#define PROBLEM(...)                                                                               \
	do {                                                                                       \
		printf("  FAIL: %s: ", name);                                                      \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		problems++;                                                                        \
	} while (0)

	scan_prog(prog, &sc);
	if (sc.xp.unresolved)
		PROBLEM("%u helper call(s) kallsyms cannot name: cannot prove anything",
			sc.xp.unresolved);
	if (sc.bad_lookup_calls)
		PROBLEM("%u ARRAY/PERCPU_ARRAY (or poisoned) lookup(s) left as helper calls",
			sc.bad_lookup_calls);
	if (sc.clock_calls)
		PROBLEM("reads a clock (%u call(s))", sc.clock_calls);
	if (sc.xp.count[XLATED_OTHER_CALL])
		PROBLEM("%u bpf-to-bpf call(s): the decision path should be inlined",
			sc.xp.count[XLATED_OTHER_CALL]);
	for (i = 0; i < ARRAY_SIZE(arrays); i++)
		if (!count_map(&sc, XLATED_ARRAY, arrays[i]))
			PROBLEM("no inlined lookup of %s", bpf_map__name(arrays[i]));
	for (i = 0; i < ARRAY_SIZE(percpus); i++)
		if (!count_map(&sc, XLATED_PERCPU, percpus[i]))
			PROBLEM("no inlined lookup of %s", bpf_map__name(percpus[i]));
	for (i = 0; i < ARRAY_SIZE(hashes); i++) {
		unsigned int c = count_htab(&sc, hashes[i]);

		known += c;
		if (!c)
			PROBLEM("no hash lookup call on %s", bpf_map__name(hashes[i]));
	}
	if (known != sc.htab_calls)
		PROBLEM("%u hash lookup call(s) on maps other than vips_a/vips_b/conntrack",
			sc.htab_calls - known);
#undef PROBLEM
	return problems;
}

static void test_lookups_inlined(void **state)
{
	unsigned int problems = 0;
	struct scan sc;
	(void)state;

	ktest_begin();
	fx_setup();
	problems += check_entry_code(fx.lb->progs.udplb_xdp);
	problems += check_entry_code(fx.lb->progs.udplb_tc);

	/* Negative control: the decoder must see the naive program's real lookup call. */
	scan_prog(fx.front->progs.naive_xdp, &sc);
	if (sc.bad_lookup_calls != 1 || sc.xp.unresolved) {
		printf("  FAIL: naive_xdp: the decoder found %u non-inlined lookup call(s), "
		       "expected 1\n",
		       sc.bad_lookup_calls);
		problems++;
	}
	if (problems)
		fail_msg("%s: %u problem(s), see above", ktest_name(), problems);
	printf("  udplb_xdp, udplb_tc: every ARRAY/PERCPU_ARRAY lookup inlined, only vips_a/b and "
	       "conntrack are calls, no clock, no subprogram\n");
}

/* An optional argument selects tests by pattern (cmocka_set_test_filter), e.g. "*conntrack*". */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_packets_xdp),      KTEST(test_packets_tc),
		KTEST(test_conntrack_sticky), KTEST(test_conntrack_stale),
		KTEST(test_lookups_inlined),  KTEST(test_neigh_lookup),
		KTEST(test_ipip_ids),	      KTEST(test_tc_nonlinear),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
