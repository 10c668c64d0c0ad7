/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Next-hop MACs of backends from the kernel's neighbour table (netlink RTM_GETNEIGH). Storing the
 * MAC in the backend entry saves the data plane a FIB lookup per packet; dsr needs it (backends on
 * the same link), ipip takes it when the backend is on-link.
 *
 * Resolution is an explicit step, separate from the model: a lookup only reads kernel state, a
 * probe sends a datagram to make the kernel resolve an unknown neighbour (a dry run must not).
 */
#ifndef __UDPLB_LB_NEIGH_H
#define __UDPLB_LB_NEIGH_H

#include "lb.h"

/* How long a probe waits for the kernel to resolve a neighbour. */
#define LB_NEIGH_WAIT_MS 1500

enum lb_resolve {
	LB_RESOLVE_LOOKUP, /* the neighbour table only: sends nothing, never fails */
	LB_RESOLVE_PROBE,  /* lookup, else a datagram and a wait; dsr backends must resolve */
};

/* The valid (complete) neighbour entry of @addr on @ifindex: 0, -ENOENT, or another -errno. */
int lb_neigh_lookup(int ifindex, __be32 addr, __u8 mac[6]);
/* lb_neigh_lookup(); if absent, a datagram to @addr (discard port) out of @ifindex, then poll
 * the table for @wait_ms. -EHOSTUNREACH when it stays unresolved. */
int lb_neigh_probe(int ifindex, __be32 addr, unsigned int wait_ms, __u8 mac[6]);

/*
 * Fill in the MAC of a backend of @vip that has none (has_mac false) from @ifindex's neighbours.
 * With LB_RESOLVE_PROBE, a dsr backend that does not resolve is an error (-EHOSTUNREACH); ipip
 * backends are best effort (routed ones keep has_mac false: the data plane looks them up).
 */
int lb_backend_resolve_mac(int ifindex, const struct lb_vip *vip, struct lb_backend *b,
			   enum lb_resolve how, struct lb_err *err);
/* lb_backend_resolve_mac() for every backend of @s. */
int lb_state_resolve_macs(struct lb_state *s, int ifindex, enum lb_resolve how, struct lb_err *err);

#endif /* __UDPLB_LB_NEIGH_H */
