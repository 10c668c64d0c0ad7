// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udplb data plane: an XDP and a tc entry point sharing one decision path, udplb_decide().
 *
 *	parse      Ethernet, at most one 802.1Q/802.1AD tag, IPv4 (any IHL), UDP; every access is
 *	           bounds-checked and anything else passes untouched (udplb_parse())
 *	classify   VIP prefilter bitmap, then the VIP hash; lengths, fragments, TTL
 *	           (udplb_classify())
 *	choose     conntrack (LRU, 5-tuple -> stable backend id + identity), else the VIP's Maglev
 *	           ring indexed by the flow hash; new choices are written back to conntrack
 *	           (udplb_pick_backend())
 *	forward    DSR (rewrite MACs, back out of the ingress device) or IP-in-IP to the backend;
 *	           a backend without a stored MAC is resolved with bpf_fib_lookup()
 *	           (udplb_set_next_hop(), then the entry point's udplb_{xdp,tc}_forward())
 *
 * The configuration (vips, vip_filter, backends, ring) is one libabmap group: the pointer
 * "udplb_ptr" is read once per packet and that snapshot serves every lookup, so a packet never
 * sees two configurations. Conntrack, config, counters and the pool live outside the group.
 *
 * Every packet adds one to exactly one "primary" reason (FORWARDED, NOT_IP, NOT_UDP, NOT_VIP,
 * TRUNCATED, FRAGMENT, TTL, NO_BACKEND, NO_ROUTE, KILL_SWITCH or ERROR); a forwarded packet
 * also adds one to CT_HIT or CT_NEW (FORWARDED - CT_HIT - CT_NEW = conntrack inserts that
 * failed), a packet dropped because of a VIP flag also adds one to DROPPED. vip_stats counts
 * every packet matched to a VIP whatever became of it, backend_stats every packet forwarded.
 * Bytes are the packet's length as received.
 *
 * Performance: no clock reads; every ARRAY/PERCPU_ARRAY lookup is one the verifier inlines
 * (tests/kernel/test_udplb_packets.c asserts it on the translated code): only the VIP hash and
 * conntrack lookups are calls. bpf_fib_lookup() runs only for backends without a MAC.
 *
 * Behaviour worth knowing:
 *  - Non-first fragments carry no UDP header, so no VIP:port can be matched: they are counted as
 *    FRAGMENT and passed whatever their destination. UDPLB_VIP_F_DROP_FRAGS drops the first
 *    fragment (MF set, offset 0), which is enough to discard the datagram.
 *  - Length checks run before the VIP lookup: an inconsistent packet counts as TRUNCATED even
 *    when it is not for a VIP; a VIP is looked up for it only to honour DROP_INVALID.
 *  - A ring backend must be ACTIVE and belong to the VIP (backend.vip_id), else NO_BACKEND: a
 *    ring pointing elsewhere is a control-plane bug, never followed.
 *  - VLAN: XDP keeps an in-packet tag (ipip: outer header after the tag). tc: a tag already in
 *    the skb's metadata (the usual case at ingress) stays there and the device re-inserts it;
 *    an in-packet tag stays in place for DSR and moves into the metadata for ipip, because
 *    bpf_skb_adjust_room() refuses a frame whose protocol is the tag.
 *  - Backends with a stored MAC are on the ingress link: XDP_TX / redirect to the ingress
 *    device. The bpf_fib_lookup() fallback is a forwarding lookup (IPv4 forwarding must be on);
 *    when its route leaves through another device, the packet is redirected there.
 *  - ipip adds 20 bytes without an MTU check: the path to the backends needs that headroom.
 *  - The tc program is meant for the clsact ingress hook.
 *
 * A negative control for consistency tests (every lookup reading the pointer again) is built by
 * defining ABMAP_NEGATIVE_CONTROL_REREAD before including this file (abmap_bpf.h): see
 * tests/kernel/udplb_torn.bpf.c.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abmap_bpf.h"

/*
 * The shared hash functions are plain "static inline" (userspace uses them too) and clang keeps
 * them as BPF subprograms, a call each per packet: declared always-inline before their
 * definitions, they are inlined.
 */
struct udplb_flow;
static __always_inline __u32 udplb_flow_hash(const struct udplb_flow *f, __u32 seed,
					     __u8 hash_mode);
static __always_inline __u32 udplb_filter_bit(__be32 daddr, __be16 dport);

#include "udplb_shared.h"

#ifndef AF_INET
#define AF_INET 2
#endif
/* IPv4 frag_off bits (include/net/ip.h, not in the uapi). */
#define UDPLB_IP_DF 0x4000
#define UDPLB_IP_MF 0x2000
#define UDPLB_IP_OFFSET 0x1fff

/* ---------------------------------------------------------------------------------------------
 * Maps. Their names are the interface to userspace (skeleton "udplb").
 */

/* The configuration group. */
ABMAP_POINTER_MAP(udplb_ptr);
ABMAP_HASH(vips, struct udplb_vip_key, struct udplb_vip, UDPLB_MAX_VIPS);
ABMAP_ARRAY(vip_filter, __u64, UDPLB_FILTER_WORDS);
ABMAP_ARRAY(backends, struct udplb_backend, UDPLB_MAX_BACKENDS);
ABMAP_ARRAY(ring, __u32, UDPLB_RING_SLOTS);

/* Flow -> backend, aged out by the LRU itself (no clock reads). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, UDPLB_CT_ENTRIES);
	__type(key, struct udplb_flow);
	__type(value, struct udplb_ct);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct udplb_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UDPLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct udplb_counter);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UDPLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct udplb_counter);
} backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __UDPLB_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
} reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UDPLB_POOL_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} pool SEC(".maps");

/* IP ids of outer ipip headers that may be fragmented (DF clear): one sequence per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ipip_ids SEC(".maps");

/* ---------------------------------------------------------------------------------------------
 * Lookups
 */

/*
 * Plain (non-A/B) array element. The empty asm keeps clang from merging two lookups of
 * different maps into one call site with a phi'd map pointer, which the verifier could not
 * inline (see abmap_bpf.h).
 */
#define udplb_elem(map, index)                                                                     \
	({                                                                                         \
		__u32 __key = (index);                                                             \
		void *__val = bpf_map_lookup_elem(map, &__key);                                    \
		asm volatile("" : "+r"(__val));                                                    \
		__val;                                                                             \
	})

/* No extra reason. */
#define UDPLB_R_NONE __UDPLB_R_MAX

static __always_inline void udplb_count_reason(__u32 reason)
{
	__u64 *c = udplb_elem(&reasons, reason);

	if (c)
		*c += 1;
}

static __always_inline void udplb_count_vip(__u32 id, __u32 bytes)
{
	struct udplb_counter *c = udplb_elem(&vip_stats, id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void udplb_count_backend(__u32 id, __u32 bytes)
{
	struct udplb_counter *c = udplb_elem(&backend_stats, id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/*
 * Entry bookkeeping shared by every packet: the global and per-entry-point packet counts (atomic:
 * the pool is shared by all CPUs), then the kill switch. Returns true if everything must pass.
 */
static __always_inline bool udplb_enter(__u32 entry_counter)
{
	__u64 *v;

	v = udplb_elem(&pool, UDPLB_POOL_PACKETS);
	if (v)
		__sync_fetch_and_add(v, 1);
	v = udplb_elem(&pool, entry_counter);
	if (v)
		__sync_fetch_and_add(v, 1);
	v = udplb_elem(&pool, UDPLB_POOL_KILL_SWITCH);
	return v && *(volatile __u64 *)v;
}

/* ---------------------------------------------------------------------------------------------
 * Decision, shared by both entry points
 */

struct udplb_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

enum udplb_action {
	UDPLB_ACT_PASS = 0,
	UDPLB_ACT_DROP,
	UDPLB_ACT_FWD,
};

/* What udplb_decide() tells the entry point. */
struct udplb_verdict {
	__u32 reason;	  /* primary enum udplb_reason */
	__u32 extra;	  /* CT_HIT, CT_NEW, DROPPED or UDPLB_R_NONE */
	__u32 backend_id; /* UDPLB_ACT_FWD */
	__u32 ifindex;	  /* egress device if not the ingress one (fib result), else 0 */
	__be32 outer_saddr;
	__be32 outer_daddr;
	__be16 inner_len; /* IPv4 total length of the packet (ipip) */
	__be16 df;	  /* its DF bit, copied to the outer header (ipip) */
	__u8 tos;
	__u8 action; /* enum udplb_action */
	__u8 fwd;    /* enum udplb_fwd */
	__u8 vlan;   /* the frame carries a VLAN tag */
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
};

/* A UDP packet udplb_parse() accepted: every header lies within the frame. */
struct udplb_pkt {
	struct ethhdr *eth;
	struct iphdr *iph;
	struct udphdr *udp;
	__u32 ihl;	  /* IPv4 header length in bytes */
	bool more_frags;  /* MF set: the first fragment of a datagram (later ones are not parsed) */
	bool bad_lengths; /* the IPv4 or UDP length does not fit the frame */
};

static __always_inline void udplb_set(struct udplb_verdict *v, __u32 reason, __u8 action,
				      __u32 extra)
{
	v->reason = reason;
	v->action = action;
	v->extra = extra;
}

/* Pass, or drop when the VIP asks for it (@drop_flag in vip->flags). */
static __always_inline void udplb_reject(struct udplb_verdict *v, __u32 reason,
					 const struct udplb_vip *vip, __u16 drop_flag)
{
	if (vip->flags & drop_flag)
		udplb_set(v, reason, UDPLB_ACT_DROP, UDPLB_R_DROPPED);
	else
		udplb_set(v, reason, UDPLB_ACT_PASS, UDPLB_R_NONE);
}

/*
 * Parsing: each step returns false once the packet is not ours to balance, with v->reason set
 * (the packet passes: v->action is still UDPLB_ACT_PASS).
 */

/* Ethernet and at most one 802.1Q/802.1AD tag in front of IPv4. Sets pkt->eth, pkt->iph. */
static __always_inline bool udplb_parse_eth(void *data, void *data_end, struct udplb_pkt *pkt,
					    struct udplb_verdict *v)
{
	struct ethhdr *eth = data;
	struct udplb_vlan_hdr *vh;
	__u32 l2 = sizeof(*eth);
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		goto truncated;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			goto truncated;
		proto = vh->encap_proto;
		l2 += sizeof(*vh);
		v->vlan = 1;
	}
	if (proto != bpf_htons(ETH_P_IP)) {
		v->reason = UDPLB_R_NOT_IP;
		return false;
	}
	pkt->eth = eth;
	pkt->iph = data + l2;
	return true;

truncated:
	v->reason = UDPLB_R_TRUNCATED;
	return false;
}

/* IPv4 header (any IHL) of a UDP datagram's first or only fragment. Sets pkt->ihl. */
static __always_inline bool udplb_parse_ipv4(void *data_end, struct udplb_pkt *pkt,
					     struct udplb_verdict *v)
{
	struct iphdr *iph = pkt->iph;

	if ((void *)(iph + 1) > data_end)
		goto truncated;
	if (iph->version != 4) {
		v->reason = UDPLB_R_NOT_IP;
		return false;
	}
	pkt->ihl = iph->ihl * 4;
	if (pkt->ihl < sizeof(*iph))
		goto truncated;
	if (iph->protocol != IPPROTO_UDP) {
		v->reason = UDPLB_R_NOT_UDP;
		return false;
	}
	/* Not the first fragment: no UDP header, so no VIP:port to match. Passed, counted. */
	if (iph->frag_off & bpf_htons(UDPLB_IP_OFFSET)) {
		v->reason = UDPLB_R_FRAGMENT;
		return false;
	}
	pkt->more_frags = iph->frag_off & bpf_htons(UDPLB_IP_MF);
	return true;

truncated:
	v->reason = UDPLB_R_TRUNCATED;
	return false;
}

/*
 * Do the IPv4 and UDP lengths fit the packet? @len is the whole packet's length from @data, which
 * in tc may extend past data_end into the skb's pages (GRO, jumbo frames, many NICs): only the
 * headers need to be linear. Trailing Ethernet padding is fine. The UDP length of a first fragment
 * covers the whole datagram, so only an unfragmented one is checked.
 */
static __always_inline bool udplb_bad_lengths(const struct udplb_pkt *pkt, void *data, __u32 len)
{
	__u32 tot = bpf_ntohs(pkt->iph->tot_len);
	__u32 l3 = (void *)pkt->iph - data;
	__u32 avail = len > l3 ? len - l3 : 0;
	__u32 ulen;

	if (tot < pkt->ihl + sizeof(struct udphdr) || tot > avail)
		return true;
	if (pkt->more_frags)
		return false;
	ulen = bpf_ntohs(pkt->udp->len);
	/* As udp_rcv(): the UDP length may be shorter than the IP payload, not longer. */
	return ulen < sizeof(struct udphdr) || ulen > tot - pkt->ihl;
}

/*
 * Locate the headers of an IPv4 UDP packet of @len bytes in [data, data_end) and check its
 * lengths. Never writes the packet.
 */
static __always_inline bool udplb_parse(void *data, void *data_end, __u32 len,
					struct udplb_pkt *pkt, struct udplb_verdict *v)
{
	if (!udplb_parse_eth(data, data_end, pkt, v) || !udplb_parse_ipv4(data_end, pkt, v))
		return false;
	pkt->udp = (void *)pkt->iph + pkt->ihl;
	if ((void *)(pkt->udp + 1) > data_end) {
		v->reason = UDPLB_R_TRUNCATED;
		return false;
	}
	pkt->bad_lengths = udplb_bad_lengths(pkt, data, len);
	return true;
}

/* Classification. @snap is the packet's one snapshot of the configuration. */

/*
 * The VIP @pkt is addressed to, or NULL. Most misses end at the prefilter bit, an inlined array
 * read, without the hash lookup (a call).
 */
static __always_inline struct udplb_vip *udplb_find_vip(const struct abmap_snapshot *snap,
							const struct udplb_pkt *pkt)
{
	__u32 bit = udplb_filter_bit(pkt->iph->daddr, pkt->udp->dest);
	struct udplb_vip_key key = {};
	__u32 word = bit / 64;
	__u64 *filter;

	filter = abmap_lookup(snap, vip_filter, &word);
	if (!filter || !((*filter >> (bit & 63)) & 1))
		return NULL;
	key.addr = pkt->iph->daddr;
	key.port = pkt->udp->dest;
	key.proto = IPPROTO_UDP;
	return abmap_lookup(snap, vips, &key);
}

/* May @pkt go to a backend of @vip? If not, sets the verdict (pass, or drop per VIP flags). */
static __always_inline bool udplb_may_forward(const struct udplb_pkt *pkt,
					      const struct udplb_vip *vip, struct udplb_verdict *v)
{
	if (pkt->bad_lengths) {
		udplb_reject(v, UDPLB_R_TRUNCATED, vip, UDPLB_VIP_F_DROP_INVALID);
		return false;
	}
	if (pkt->more_frags) {
		udplb_reject(v, UDPLB_R_FRAGMENT, vip, UDPLB_VIP_F_DROP_FRAGS);
		return false;
	}
	if (pkt->iph->ttl <= 1) {
		v->reason = UDPLB_R_TTL;
		return false;
	}
	if (vip->fwd != UDPLB_FWD_DSR && vip->fwd != UDPLB_FWD_IPIP) {
		v->reason = UDPLB_R_ERROR;
		return false;
	}
	return true;
}

/*
 * The VIP to balance @pkt across, counted in its vip_stats whatever becomes of the packet; or
 * NULL with the verdict set.
 */
static __always_inline struct udplb_vip *udplb_classify(const struct abmap_snapshot *snap,
							const struct udplb_pkt *pkt, __u32 len,
							struct udplb_verdict *v)
{
	struct udplb_vip *vip = udplb_find_vip(snap, pkt);

	if (!vip) {
		/* An inconsistent packet is TRUNCATED whatever its destination. */
		v->reason = pkt->bad_lengths ? UDPLB_R_TRUNCATED : UDPLB_R_NOT_VIP;
		return NULL;
	}
	udplb_count_vip(vip->id, len);
	return udplb_may_forward(pkt, vip, v) ? vip : NULL;
}

/*
 * Backend choice. Each lookup returns the backend and its stable id in @id, or NULL.
 */

static __always_inline void udplb_flow_of(const struct udplb_pkt *pkt, struct udplb_flow *flow)
{
	*flow = (struct udplb_flow){
		.saddr = pkt->iph->saddr,
		.daddr = pkt->iph->daddr,
		.sport = pkt->udp->source,
		.dport = pkt->udp->dest,
		.proto = IPPROTO_UDP,
	};
}

/*
 * Is conntrack's choice still valid in this snapshot? The id alone is not enough: its slot may
 * since hold another backend, or the backend another VIP.
 */
static __always_inline bool udplb_ct_valid(const struct udplb_ct *ct,
					   const struct udplb_backend *be,
					   const struct udplb_vip *vip)
{
	return (be->state == UDPLB_BACKEND_ACTIVE || be->state == UDPLB_BACKEND_DRAINING) &&
	       be->addr == ct->addr && be->port == ct->port && be->vip_id == vip->id &&
	       ct->vip_id == vip->id;
}

/* Conntrack's backend for @flow, if it still serves the flow. */
static __always_inline struct udplb_backend *udplb_ct_backend(const struct abmap_snapshot *snap,
							      const struct udplb_flow *flow,
							      const struct udplb_vip *vip,
							      __u32 *id)
{
	struct udplb_backend *be;
	struct udplb_ct *ct;

	ct = bpf_map_lookup_elem(&conntrack, flow);
	if (!ct)
		return NULL;
	*id = ct->backend_id;
	be = abmap_lookup(snap, backends, id);
	if (!be || !udplb_ct_valid(ct, be, vip))
		return NULL;
	return be;
}

/*
 * The backend the VIP's Maglev ring gives @flow. It must be ACTIVE and the VIP's own: a ring
 * pointing elsewhere is a control-plane bug, never followed.
 */
static __always_inline struct udplb_backend *udplb_ring_backend(const struct abmap_snapshot *snap,
								const struct udplb_flow *flow,
								const struct udplb_vip *vip,
								__u32 seed, __u32 *id)
{
	struct udplb_backend *be;
	__u32 *ring_id;
	__u32 slot;

	if (!vip->ring_size)
		return NULL;
	slot = vip->ring_off + udplb_flow_hash(flow, seed, vip->hash_mode) % vip->ring_size;
	ring_id = abmap_lookup(snap, ring, &slot);
	if (!ring_id)
		return NULL;
	*id = *ring_id;
	if (*id == UDPLB_NO_BACKEND)
		return NULL;
	be = abmap_lookup(snap, backends, id);
	if (!be || be->state != UDPLB_BACKEND_ACTIVE || be->vip_id != vip->id)
		return NULL;
	return be;
}

/* Remember @be for @flow. Returns true if conntrack took it. */
static __always_inline bool udplb_ct_insert(const struct udplb_flow *flow, __u32 id,
					    const struct udplb_backend *be,
					    const struct udplb_vip *vip)
{
	struct udplb_ct ct = {
		.backend_id = id,
		.addr = be->addr,
		.port = be->port,
		.vip_id = vip->id,
	};

	return !bpf_map_update_elem(&conntrack, flow, &ct, BPF_ANY);
}

/*
 * Conntrack first, so a flow stays on its backend across ring changes while that backend
 * serves; else the ring, whose choice conntrack then remembers. Sets v->extra.
 */
static __always_inline struct udplb_backend *
udplb_pick_backend(const struct abmap_snapshot *snap, const struct udplb_flow *flow,
		   const struct udplb_vip *vip, __u32 seed, __u32 *id, struct udplb_verdict *v)
{
	struct udplb_backend *be;

	be = udplb_ct_backend(snap, flow, vip, id);
	if (be) {
		v->extra = UDPLB_R_CT_HIT;
		return be;
	}
	be = udplb_ring_backend(snap, flow, vip, seed, id);
	if (be && udplb_ct_insert(flow, *id, be, vip))
		v->extra = UDPLB_R_CT_NEW;
	return be;
}

/* What the entry point needs to rewrite the frame for @be, MACs aside. */
static __always_inline void udplb_set_forward(struct udplb_verdict *v, const struct udplb_pkt *pkt,
					      const struct udplb_vip *vip,
					      const struct udplb_config *cfg,
					      const struct udplb_backend *be, __u32 id)
{
	v->backend_id = id;
	v->fwd = vip->fwd;
	v->outer_saddr = cfg->ipip_src;
	v->outer_daddr = be->addr;
	v->inner_len = pkt->iph->tot_len;
	v->df = pkt->iph->frag_off & bpf_htons(UDPLB_IP_DF);
	v->tos = pkt->iph->tos;
	v->ifindex = 0;
	v->reason = UDPLB_R_FORWARDED;
	v->action = UDPLB_ACT_FWD;
}

/*
 * Resolve the next hop of a backend without a stored MAC. A forwarding lookup from the ingress
 * device: it needs IPv4 forwarding enabled on that device (else NO_ROUTE). Fills the MACs and,
 * when the route leaves through another device, the egress ifindex. On failure the packet
 * passes and loses its CT_HIT/CT_NEW too: those count forwarded packets only.
 */
static __always_inline void udplb_fib(void *ctx, __u32 ifindex, const struct iphdr *iph,
				      const struct udplb_backend *be, struct udplb_verdict *v)
{
	struct bpf_fib_lookup fib;
	long rc;

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = AF_INET;
	fib.l4_protocol = IPPROTO_UDP;
	fib.tos = iph->tos;
	fib.ipv4_src = v->fwd == UDPLB_FWD_IPIP ? v->outer_saddr : iph->saddr;
	fib.ipv4_dst = be->addr;
	fib.ifindex = ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc < 0) {
		udplb_set(v, UDPLB_R_ERROR, UDPLB_ACT_PASS, UDPLB_R_NONE);
		return;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		udplb_set(v, UDPLB_R_NO_ROUTE, UDPLB_ACT_PASS, UDPLB_R_NONE);
		return;
	}
	__builtin_memcpy(v->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(v->smac, fib.smac, ETH_ALEN);
	v->ifindex = fib.ifindex != ifindex ? fib.ifindex : 0;
}

/* The frame's new MACs. Stored ones save a route lookup (~17 ns) on every packet. */
static __always_inline void udplb_set_next_hop(void *ctx, __u32 ifindex,
					       const struct udplb_pkt *pkt,
					       const struct udplb_backend *be,
					       struct udplb_verdict *v)
{
	if (be->flags & UDPLB_BACKEND_F_MAC) {
		__builtin_memcpy(v->dmac, be->mac, ETH_ALEN);
		__builtin_memcpy(v->smac, pkt->eth->h_dest, ETH_ALEN);
	} else {
		udplb_fib(ctx, ifindex, pkt->iph, be, v);
	}
}

/*
 * Parse the frame in [data, data_end), classify it and choose what to do. Never writes the
 * packet: the entry point does that with its own helpers. @len is the whole packet's length (the
 * length checks and the counters), @ifindex the ingress device.
 */
static __always_inline void udplb_decide(void *ctx, void *data, void *data_end, __u32 len,
					 __u32 ifindex, struct udplb_verdict *v)
{
	struct abmap_snapshot snap;
	struct udplb_config *cfg;
	struct udplb_backend *be;
	struct udplb_flow flow;
	struct udplb_vip *vip;
	struct udplb_pkt pkt;
	__u32 id;

	v->extra = UDPLB_R_NONE;
	v->action = UDPLB_ACT_PASS;
	if (!udplb_parse(data, data_end, len, &pkt, v))
		return;
	/* The only pointer read of this packet: one snapshot serves every lookup below. */
	if (abmap_snapshot_read(&udplb_ptr, &snap)) {
		v->reason = UDPLB_R_ERROR;
		return;
	}
	vip = udplb_classify(&snap, &pkt, len, v);
	if (!vip)
		return;
	cfg = udplb_elem(&config, 0);
	if (!cfg) {
		v->reason = UDPLB_R_ERROR;
		return;
	}
	udplb_flow_of(&pkt, &flow);
	be = udplb_pick_backend(&snap, &flow, vip, cfg->hash_seed, &id, v);
	if (!be) {
		v->reason = UDPLB_R_NO_BACKEND;
		return;
	}
	udplb_set_forward(v, &pkt, vip, cfg, be, id);
	udplb_set_next_hop(ctx, ifindex, &pkt, be, v);
}

/* ---------------------------------------------------------------------------------------------
 * Rewriting the frame, shared by both entry points
 */

/*
 * How the entry points' udplb_*_forward() fail: before the frame was changed it can still pass
 * as received; after, it is neither the original nor a valid rewrite and must be dropped.
 */
#define UDPLB_FAIL_PASS (-1)
#define UDPLB_FAIL_DROP (-2)

static __always_inline __sum16 udplb_ipv4_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

/* Apart in the id space: each CPU's sequence starts elsewhere, so CPUs rarely repeat ids. */
#define UDPLB_IPIP_ID_CPU_STRIDE 0x9e37

/*
 * IP id of an outer header. With DF set the packet is never fragmented and the id means nothing
 * (RFC 6864): 0, at no cost. With DF clear, fragments of different packets from us to one backend
 * must not share an id within the reassembly timeout: a per-CPU sequence, as the kernel's tunnels
 * use a counter (ip_select_ident()), without an atomic operation.
 */
static __always_inline __be16 udplb_outer_id(const struct udplb_verdict *v)
{
	__u32 *seq;

	if (v->df)
		return 0;
	seq = udplb_elem(&ipip_ids, 0);
	if (!seq)
		return 0;
	*seq += 1;
	return bpf_htons((__u16)(*seq + bpf_get_smp_processor_id() * UDPLB_IPIP_ID_CPU_STRIDE));
}

/* Outer IPv4 header of an ipip packet, checksum included. */
static __always_inline void udplb_outer_ip(struct iphdr *o, const struct udplb_verdict *v)
{
	o->version = 4;
	o->ihl = 5;
	o->tos = v->tos;
	o->tot_len = bpf_htons(bpf_ntohs(v->inner_len) + sizeof(*o));
	o->id = udplb_outer_id(v);
	o->frag_off = v->df;
	o->ttl = 64;
	o->protocol = IPPROTO_IPIP;
	o->check = 0;
	o->saddr = v->outer_saddr;
	o->daddr = v->outer_daddr;
	o->check = udplb_ipv4_csum(o);
}

static __always_inline void udplb_set_macs(struct ethhdr *eth, const struct udplb_verdict *v)
{
	__builtin_memcpy(eth->h_dest, v->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, v->smac, ETH_ALEN);
}

/* Counters of a finished packet. */
static __always_inline void udplb_account(const struct udplb_verdict *v, __u32 len)
{
	udplb_count_reason(v->reason);
	if (v->extra != UDPLB_R_NONE)
		udplb_count_reason(v->extra);
	if (v->reason == UDPLB_R_FORWARDED)
		udplb_count_backend(v->backend_id, len);
}

/* ---------------------------------------------------------------------------------------------
 * XDP
 */

/*
 * ipip: room for the outer header in front of the frame. Only the L2 header's tail (type, tag)
 * moves forward into it, the MAC addresses being rewritten anyway; the outer header follows.
 */
static __always_inline int udplb_xdp_ipip(struct xdp_md *ctx, const struct udplb_verdict *v)
{
	void *data, *data_end;
	struct iphdr outer;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return UDPLB_FAIL_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	udplb_outer_ip(&outer, v);
	if (v->vlan) {
		if (data + sizeof(struct iphdr) + ETH_HLEN + sizeof(struct udplb_vlan_hdr) >
		    data_end)
			return UDPLB_FAIL_DROP;
		__builtin_memcpy(data + 2 * ETH_ALEN, data + sizeof(struct iphdr) + 2 * ETH_ALEN,
				 2 + sizeof(struct udplb_vlan_hdr));
		__builtin_memcpy(data + ETH_HLEN + sizeof(struct udplb_vlan_hdr), &outer,
				 sizeof(outer));
	} else {
		if (data + sizeof(struct iphdr) + ETH_HLEN > data_end)
			return UDPLB_FAIL_DROP;
		__builtin_memcpy(data + 2 * ETH_ALEN, data + sizeof(struct iphdr) + 2 * ETH_ALEN,
				 2);
		__builtin_memcpy(data + ETH_HLEN, &outer, sizeof(outer));
	}
	udplb_set_macs(data, v);
	return 0;
}

static __always_inline int udplb_xdp_dsr(struct xdp_md *ctx, const struct udplb_verdict *v)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + ETH_HLEN > data_end)
		return UDPLB_FAIL_PASS;
	udplb_set_macs(data, v);
	return 0;
}

/* Rewrite the frame for forwarding. Returns the XDP action or UDPLB_FAIL_*. */
static __always_inline int udplb_xdp_forward(struct xdp_md *ctx, const struct udplb_verdict *v)
{
	int err;

	if (v->fwd == UDPLB_FWD_IPIP)
		err = udplb_xdp_ipip(ctx, v);
	else
		err = udplb_xdp_dsr(ctx, v);
	if (err)
		return err;
	if (v->ifindex)
		return bpf_redirect(v->ifindex, 0);
	return XDP_TX;
}

SEC("xdp")
int udplb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udplb_verdict v = {};
	__u32 len = data_end - data;
	int act = XDP_PASS;

	if (udplb_enter(UDPLB_POOL_XDP_PACKETS)) {
		udplb_count_reason(UDPLB_R_KILL_SWITCH);
		return XDP_PASS;
	}
	udplb_decide(ctx, data, data_end, len, ctx->ingress_ifindex, &v);
	if (v.action == UDPLB_ACT_FWD) {
		act = udplb_xdp_forward(ctx, &v);
		if (act < 0) {
			udplb_set(&v, UDPLB_R_ERROR, UDPLB_ACT_PASS, UDPLB_R_NONE);
			act = act == UDPLB_FAIL_PASS ? XDP_PASS : XDP_DROP;
		}
	} else if (v.action == UDPLB_ACT_DROP) {
		act = XDP_DROP;
	}
	udplb_account(&v, len);
	return act;
}

/* ---------------------------------------------------------------------------------------------
 * tc (clsact, direct action)
 */

/* Largest header we parse: Ethernet, one tag, IPv4 with 40 bytes of options, UDP. */
#define UDPLB_MAX_HDR (ETH_HLEN + 4 + 60 + 8)

/*
 * Headers in a fragment page are out of the parser's reach: bring them into the linear part. Only
 * the headers: the payload may stay in the pages (the length checks use skb->len).
 */
static __always_inline void udplb_tc_pull_headers(struct __sk_buff *skb, __u32 len)
{
	if (skb->data_end - skb->data < UDPLB_MAX_HDR && skb->data_end - skb->data < len)
		bpf_skb_pull_data(skb, len < UDPLB_MAX_HDR ? len : UDPLB_MAX_HDR);
}

/*
 * bpf_skb_adjust_room() inserts after the MAC header and refuses a frame whose protocol is the
 * tag: move the tag into the skb's metadata, where the device puts it back on transmit (as for a
 * tag the NIC stripped). Returns 0 or UDPLB_FAIL_*.
 */
static __always_inline int udplb_tc_vlan_to_meta(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct udplb_vlan_hdr *vh = (void *)(eth + 1);
	__be16 tpid;
	__u16 tci;

	if ((void *)(vh + 1) > data_end)
		return UDPLB_FAIL_PASS;
	tpid = eth->h_proto;
	tci = bpf_ntohs(vh->tci);
	if (bpf_skb_vlan_pop(skb))
		return UDPLB_FAIL_PASS;
	if (bpf_skb_vlan_push(skb, tpid, tci))
		return UDPLB_FAIL_DROP;
	return 0;
}

/* ipip: the outer header after the MAC header. */
static __always_inline int udplb_tc_ipip(struct __sk_buff *skb, const struct udplb_verdict *v)
{
	void *data, *data_end;
	struct iphdr outer;
	int err;

	if (v->vlan) {
		err = udplb_tc_vlan_to_meta(skb);
		if (err)
			return err;
	}
	/*
	 * With the encapsulation metadata (GSO type, inner headers) if the skb takes it; one
	 * already marked as encapsulated refuses (-EALREADY): plain room then.
	 */
	if (bpf_skb_adjust_room(skb, sizeof(struct iphdr), BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) &&
	    bpf_skb_adjust_room(skb, sizeof(struct iphdr), BPF_ADJ_ROOM_MAC, 0))
		return v->vlan ? UDPLB_FAIL_DROP : UDPLB_FAIL_PASS;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ETH_HLEN + sizeof(struct iphdr) > data_end)
		return UDPLB_FAIL_DROP;
	udplb_outer_ip(&outer, v);
	__builtin_memcpy(data + ETH_HLEN, &outer, sizeof(outer));
	udplb_set_macs(data, v);
	return 0;
}

static __always_inline int udplb_tc_dsr(struct __sk_buff *skb, const struct udplb_verdict *v)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (data + ETH_HLEN > data_end)
		return UDPLB_FAIL_PASS;
	udplb_set_macs(data, v);
	return 0;
}

/* Same contract as udplb_xdp_forward(), tc actions. */
static __always_inline int udplb_tc_forward(struct __sk_buff *skb, const struct udplb_verdict *v)
{
	int err;

	if (v->fwd == UDPLB_FWD_IPIP)
		err = udplb_tc_ipip(skb, v);
	else
		err = udplb_tc_dsr(skb, v);
	if (err)
		return err;
	return bpf_redirect(v->ifindex ? v->ifindex : skb->ifindex, 0);
}

SEC("tc")
int udplb_tc(struct __sk_buff *skb)
{
	struct udplb_verdict v = {};
	void *data, *data_end;
	__u32 len = skb->len;
	int act = TC_ACT_OK;

	if (udplb_enter(UDPLB_POOL_TC_PACKETS)) {
		udplb_count_reason(UDPLB_R_KILL_SWITCH);
		return TC_ACT_OK;
	}
	udplb_tc_pull_headers(skb, len);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	udplb_decide(skb, data, data_end, len, skb->ifindex, &v);
	if (v.action == UDPLB_ACT_FWD) {
		act = udplb_tc_forward(skb, &v);
		if (act < 0) {
			udplb_set(&v, UDPLB_R_ERROR, UDPLB_ACT_PASS, UDPLB_R_NONE);
			act = act == UDPLB_FAIL_PASS ? TC_ACT_OK : TC_ACT_SHOT;
		}
	} else if (v.action == UDPLB_ACT_DROP) {
		act = TC_ACT_SHOT;
	}
	udplb_account(&v, len);
	return act;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
