/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Everything that crosses the boundary between the udplb BPF program and its control plane.
 * Included by bpf/udplb.bpf.c and by userspace (cmd/, tests/): declare each struct once, here.
 * Addresses and ports are in network byte order everywhere.
 *
 * The configuration is one libabmap group (pointer map "udplb_ptr"):
 *   vips_{a,b}        HASH   struct udplb_vip_key -> struct udplb_vip
 *   vip_filter_{a,b}  ARRAY  u64 bitmap words: bit udplb_filter_bit(daddr, dport) set for each VIP
 *   backends_{a,b}    ARRAY  struct udplb_backend, indexed by stable backend id
 *   ring_{a,b}        ARRAY  u32 backend ids: the Maglev rings of all VIPs, each at its vip->ring_off
 * and, outside the group (plain maps): conntrack (LRU), config, counters, the state pool.
 */
#ifndef __UDPLB_SHARED_H
#define __UDPLB_SHARED_H

#include <linux/types.h>

#define UDPLB_MAX_VIPS 256
#define UDPLB_MAX_BACKENDS 4096
#define UDPLB_RING_DEFAULT 65537
/* Room for 17 rings of the default size (or more, smaller ones). */
#define UDPLB_RING_SLOTS (17 * 65537)
#define UDPLB_CT_ENTRIES 262144
#define UDPLB_POOL_ENTRIES 256
#define UDPLB_NO_BACKEND 0xffffffffU

/* VIP prefilter: a bitmap of UDPLB_FILTER_BITS bits in u64 words. */
#define UDPLB_FILTER_BITS 16384
#define UDPLB_FILTER_WORDS (UDPLB_FILTER_BITS / 64)

enum udplb_fwd {
	UDPLB_FWD_DSR = 0,  /* rewrite MACs, XDP_TX / redirect; backends hold the VIP */
	UDPLB_FWD_IPIP = 1, /* outer IPv4 header to the backend */
};

enum udplb_hash_mode {
	UDPLB_HASH_5TUPLE = 0,
	UDPLB_HASH_SRC_IP = 1,
};

/* struct udplb_vip.flags */
#define UDPLB_VIP_F_DROP_FRAGS (1U << 0)   /* drop fragments to the VIP instead of passing */
#define UDPLB_VIP_F_DROP_INVALID (1U << 1) /* drop truncated/bad packets to the VIP */

struct udplb_vip_key {
	__be32 addr;
	__be16 port;
	__u8 proto; /* IPPROTO_UDP */
	__u8 pad;
};

struct udplb_vip {
	__u32 id;	 /* stable VIP id: index of its counters */
	__u8 fwd;	 /* enum udplb_fwd */
	__u8 hash_mode;	 /* enum udplb_hash_mode */
	__u16 flags;	 /* UDPLB_VIP_F_* */
	__u32 ring_off;	 /* first slot of its Maglev ring in ring_{a,b} */
	__u32 ring_size; /* M, prime; 0: no backend */
};

enum udplb_backend_state {
	UDPLB_BACKEND_FREE = 0,	    /* slot unused */
	UDPLB_BACKEND_ACTIVE = 1,   /* in the ring, takes new flows */
	UDPLB_BACKEND_DRAINING = 2, /* out of the ring, keeps its existing flows */
};

/* struct udplb_backend.flags */
#define UDPLB_BACKEND_F_MAC (1U << 0) /* mac is valid (else bpf_fib_lookup) */

struct udplb_backend {
	__be32 addr;
	__be16 port;
	__u16 weight;
	__u8 mac[6];
	__u8 state; /* enum udplb_backend_state */
	__u8 flags; /* UDPLB_BACKEND_F_* */
	__u32 vip_id;
};

struct udplb_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* Conntrack value: the backend's stable id and identity, so a reused slot is not mistaken. */
struct udplb_ct {
	__u32 backend_id;
	__be32 addr;
	__be16 port;
	__u16 pad;
	__u32 vip_id;
};

/* struct udplb_config.flags: how the instance is attached (written by `udplb load`). */
#define UDPLB_CFG_MODE_MASK 0x3U
enum udplb_mode {
	UDPLB_MODE_NONE = 0,
	UDPLB_MODE_XDP = 1,	    /* native XDP */
	UDPLB_MODE_XDP_GENERIC = 2, /* skb-mode XDP */
	UDPLB_MODE_TC = 3,	    /* tc clsact ingress */
};

/* Instance settings (1-entry ARRAY "config", not A/B). */
struct udplb_config {
	__u32 hash_seed;
	__be32 ipip_src; /* outer source address of ipip packets (the LB's address) */
	__u32 ifindex;	 /* device the program is attached to (tc redirects there) */
	__u32 flags;
};

struct udplb_counter {
	__u64 packets;
	__u64 bytes;
};

/* Per-CPU counters of why packets were passed or dropped (index of "reasons"). */
enum udplb_reason {
	UDPLB_R_FORWARDED = 0, /* load-balanced and sent */
	UDPLB_R_NOT_IP,	       /* not IPv4 (after at most one VLAN tag) */
	UDPLB_R_NOT_UDP,
	UDPLB_R_NOT_VIP,   /* UDP, no VIP:port matched */
	UDPLB_R_TRUNCATED, /* header cut short or lengths inconsistent */
	UDPLB_R_FRAGMENT,
	UDPLB_R_TTL,	     /* TTL <= 1 */
	UDPLB_R_NO_BACKEND,  /* VIP without live backend */
	UDPLB_R_NO_ROUTE,    /* no MAC stored and bpf_fib_lookup failed */
	UDPLB_R_KILL_SWITCH, /* pool[UDPLB_POOL_KILL_SWITCH] set: all traffic passed */
	UDPLB_R_ERROR,	     /* helper failure (adjust head, redirect, ...) */
	UDPLB_R_CT_HIT,	     /* (also forwarded) backend from conntrack */
	UDPLB_R_CT_NEW,	     /* (also forwarded) backend from the ring, conntrack inserted */
	UDPLB_R_DROPPED,     /* dropped per VIP flags */
	__UDPLB_R_MAX,
};

/* State pool: a u32-keyed ARRAY of u64 ("pool"), shared by both programs and userspace. */
enum udplb_pool_key {
	UDPLB_POOL_KILL_SWITCH = 0, /* non-zero: pass all traffic untouched */
	UDPLB_POOL_PACKETS = 1,	    /* packets seen by any entry point */
	UDPLB_POOL_XDP_PACKETS = 2,
	UDPLB_POOL_TC_PACKETS = 3,
	UDPLB_POOL_USER = 128, /* keys from here on are free for operators */
};

/* Seeded flow hash, shared by the program and userspace (tests predict backends with it). */
static inline __u32 udplb_hash_u32(__u32 h, __u32 v)
{
	h ^= v * 0xcc9e2d51u;
	h = (h << 15) | (h >> 17);
	h *= 0x1b873593u;
	return (h << 13 | h >> 19) * 5 + 0xe6546b64u;
}

static inline __u32 udplb_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static inline __u32 udplb_flow_hash(const struct udplb_flow *f, __u32 seed, __u8 hash_mode)
{
	__u32 h = seed;

	h = udplb_hash_u32(h, (__u32)f->saddr);
	if (hash_mode == UDPLB_HASH_5TUPLE) {
		h = udplb_hash_u32(h, (__u32)f->daddr);
		h = udplb_hash_u32(h, ((__u32)f->sport << 16) | f->dport);
		h = udplb_hash_u32(h, f->proto);
	}
	return udplb_hash_final(h);
}

/* Bit of the VIP prefilter for a destination. */
static inline __u32 udplb_filter_bit(__be32 daddr, __be16 dport)
{
	return udplb_hash_final(udplb_hash_u32((__u32)daddr, dport)) % UDPLB_FILTER_BITS;
}

/*
 * udplbd's health of one backend, pinned as "health" in the instance's pin directory so that a
 * restarted daemon resumes from it (the data plane never reads it). Created by the daemon.
 */
#define UDPLB_HEALTH_PIN "health"
#define UDPLB_HEALTH_MAX 65536

struct udplb_health_key {
	struct udplb_vip_key vip;
	__be32 addr;
	__be16 port;
	__u16 pad;
};

struct udplb_health {
	__u8 state;	  /* 0 down, 1 up */
	__u8 last_cause;  /* of the last probe: 0 pass, else why it failed (lb_probe_cause) */
	__u8 error_cause; /* of the last failure (0: none yet) */
	__u8 pad;
	__u32 passes;	    /* consecutive */
	__u32 fails;	    /* consecutive */
	__u32 last_rtt_us;  /* of the last probe */
	__s32 error_detail; /* rcode, exit status, signal or errno of the last failure */
	__u32 pad2;
	__u64 probes;	   /* completed */
	__u64 transitions; /* state changes */
	__u64 changed_ns;  /* CLOCK_REALTIME of the last state change (0: none seen) */
};

/*
 * The udplbd that manages an instance, pinned as "daemon" (an array of one entry) in its pin
 * directory: the CLI refuses to change a managed instance while that process lives.
 */
#define UDPLB_DAEMON_PIN "daemon"
#define UDPLB_DAEMON_PATH_LEN 256

struct udplb_daemon {
	__u32 pid; /* 0: no daemon (it stopped) */
	__u32 pad;
	__u64 start_time; /* the process's start time (/proc/PID/stat field 22): pid reuse check */
	char conf[UDPLB_DAEMON_PATH_LEN]; /* its configuration file (absolute path) */
};

#endif /* __UDPLB_SHARED_H */
