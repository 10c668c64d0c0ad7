/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Flow simulator: which backend the data plane picks for a new flow (no conntrack entry), from
 * the same tables and the same hash (udplb_flow_hash() in udplb_shared.h) as bpf/udplb.bpf.c:
 * prefilter bit, VIP lookup, Maglev ring slot vip.ring_off + hash % ring_size, and a ring entry
 * only counts when its backend is ACTIVE and belongs to the VIP. Conntrack (flows keep their
 * backend across changes) is not modelled: the answer is the one a new flow gets.
 *
 * Uses: "where does this client go", "which flows move if I apply this file" (simulate both
 * configurations), and the test that proves control plane and data plane agree.
 */
#ifndef __UDPLB_LB_SIM_H
#define __UDPLB_LB_SIM_H

#include "lb.h"

struct lb_sim;

/* The live tables of @maps (one generation). */
int lb_sim_from_maps(struct lb_maps *maps, struct lb_sim **out, struct lb_err *err);
/*
 * The tables @desired gives on empty maps of the data plane's sizes (ids then follow canonical
 * order: on an instance with history, ids may differ but backends, as addresses, do not).
 */
int lb_sim_from_state(const struct lb_state *desired, __u32 maglev_seed, struct lb_sim **out,
		      struct lb_err *err);
void lb_sim_free(struct lb_sim *sim);

struct lb_sim_result {
	__u32 vip_id;
	__u32 backend_id; /* slot in the backend table */
	__be32 addr;	  /* the backend */
	__be16 port;
	bool has_mac; /* the backend entry's next-hop MAC (else the data plane looks it up) */
	__u8 mac[6];
	__u8 fwd; /* the VIP's enum udplb_fwd */
};

/*
 * The backend of a new flow (@flow as the data plane builds it: saddr, daddr, sport, dport,
 * proto IPPROTO_UDP, pad zero) under the instance's flow hash seed @hash_seed
 * (udplb_config.hash_seed). Return 0; -ENOENT: not addressed to a VIP (the packet passes);
 * -EHOSTUNREACH: a VIP whose ring gives no usable backend (e.g. all drained).
 */
int lb_sim_flow(const struct lb_sim *sim, const struct udplb_flow *flow, __u32 hash_seed,
		struct lb_sim_result *r);

/*
 * The tables behind the answers, for tools and tests that look at them: the ring array (*len
 * entries: every VIP's ring at its ring_off) and backend slot @id (NULL past the table).
 */
const __u32 *lb_sim_ring(const struct lb_sim *sim, __u32 *len);
const struct udplb_backend *lb_sim_backend(const struct lb_sim *sim, __u32 id);

#endif /* __UDPLB_LB_SIM_H */
