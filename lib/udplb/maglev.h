/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maglev consistent-hashing lookup table (Eisenbud et al., NSDI 2016), weighted variant.
 *
 * maglev_build() fills a table of M slots (M prime) with backend ids. The data plane picks a flow's
 * backend as table[flow_hash % M]. Removing or adding one of N backends moves about 1/N of the
 * slots, and every slot that moves belongs to (or goes to) the backend that changed, give or take
 * a few percent.
 *
 * The table depends only on the SET of backends (identity = addr:port, with their weights and ids)
 * and the seed: not on the order of the input array, its address, or the host's byte order, so
 * every LB node given the same configuration builds a byte-identical table.
 */
#ifndef __UDPLB_MAGLEV_H
#define __UDPLB_MAGLEV_H

#include <stdbool.h>
#include <linux/types.h>

/* Default table size: a prime, large enough for ~650 slots per backend with 100 backends. */
#define MAGLEV_DEFAULT_M 65537

/* Slot value when no backend has a weight > 0. Never a valid backend id. */
#define MAGLEV_NO_BACKEND 0xffffffffU

struct maglev_backend {
	__be32 addr;  /* IPv4 address, network byte order (as stored for the data plane) */
	__be16 port;  /* UDP port, network byte order */
	__u16 weight; /* relative share of the slots; 0 = drained, not in the table */
	__u32 id;     /* caller's stable backend id, stored in the table; != MAGLEV_NO_BACKEND */
};

/*
 * maglev_build() - fill table[0..m-1] with the ids of @backends.
 * @backends: @n backends in any order; may be NULL only when @n is 0.
 * @n:        number of backends, at most @m.
 * @m:        table size; must be prime (see maglev_is_prime()), MAGLEV_DEFAULT_M normally.
 * @seed:     perturbs every backend's permutation; all LB nodes must use the same seed.
 * @table:    m entries, written completely on success, untouched on failure.
 *
 * Each backend with weight w > 0 gets about m * w / (sum of weights) slots (within a slot or two):
 * backends take turns in rounds, in (addr, port) order; in every round each backend adds its
 * weight to a credit and takes a turn when the credit reaches the largest weight, so a backend with
 * the largest weight takes a turn every round. A turn claims the next free slot of the backend's
 * permutation (offset + j * skip) % m, offset and skip coming from two independent hashes of the
 * backend's address, port and @seed. Backends with weight 0 are ignored except for validation,
 * so draining a backend gives the same table as removing it.
 *
 * When no backend has a weight > 0 (including @n == 0), every slot is set to MAGLEV_NO_BACKEND
 * and 0 is returned.
 *
 * Ids are stored verbatim; they should be unique, which is not checked.
 *
 * The cost is about m * ln(m) slot probes plus, for the turns, O(m) when weights are similar and
 * O(m * log(n)) when they are very uneven: ~1 ms for m = 65537 and 1,000 backends.
 *
 * Return: 0, or a negative errno:
 *   -EINVAL  @table NULL, @backends NULL with @n > 0, @m not prime, @n > @m, two backends with
 *            the same addr:port, or a backend id equal to MAGLEV_NO_BACKEND;
 *   -ENOMEM  out of memory for the working state (O(n + m / 8) bytes).
 */
int maglev_build(const struct maglev_backend *backends, __u32 n, __u32 m, __u32 seed, __u32 *table);

/* maglev_is_prime() - true if @x is prime (deterministic, exact for every 32-bit value). */
bool maglev_is_prime(__u32 x);

/*
 * maglev_hash64() - the 64-bit seeded hash maglev_build() derives permutations from.
 *
 * Reads @data byte by byte, so the result does not depend on the host's byte order or alignment.
 * Exposed for tools and tests that need a flow hash of the same quality (e.g. hashing a 5-tuple
 * to index the table).
 */
__u64 maglev_hash64(const void *data, __u32 len, __u64 seed);

/*
 * maglev_permutation() - the permutation of one backend: the slots it prefers are
 * (offset + j * skip) % m for j = 0, 1, ... (m prime; offset in [0, m-1], skip in [1, m-1]).
 * Return: 0, or -EINVAL if @b, @offset or @skip is NULL or @m is not prime.
 */
int maglev_permutation(const struct maglev_backend *b, __u32 m, __u32 seed, __u32 *offset,
		       __u32 *skip);

#endif /* __UDPLB_MAGLEV_H */
