/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * udplb control plane: a desired configuration (VIPs and their backends) in memory, read back
 * from the live maps, compared, and committed as ONE libabmap transaction, so the data plane flips
 * from the old configuration to the new one in one step.
 *
 * The model (struct lb_state) holds what an operator configures. Everything the data plane needs
 * is derived from it by lb_commit():
 *   vips        HASH  key -> { stable id, fwd, hash_mode, flags, ring_off, ring_size }
 *   vip_filter  ARRAY u64 words, bit udplb_filter_bit(addr, port) of every VIP set
 *   backends    ARRAY struct udplb_backend by stable slot id (UDPLB_BACKEND_FREE when unused)
 *   ring        ARRAY u32 backend ids: each VIP's Maglev table at its ring_off; after the last
 *               ring, when it fits, a 6-word trailer (a digest of the rings' inputs and a hash of
 *               their content) that lets an unchanged commit skip rebuilding the rings
 * and everything in the model can be read back from those maps (lb_read()), so a one-shot CLI
 * needs no state of its own. The library is split by job (lib/udplb/): this header is the model,
 * the maps, read-back, commit and diff; lb_instance.h (pins, open, read-modify-commit),
 * lb_attach.h, lb_neigh.h (next-hop MACs) and lb_sim.h (flow simulator) build on it.
 *
 * Ids: a VIP keeps its id and a backend (VIP, addr:port) keeps its slot across commits; new ones
 * get the lowest free id, taken in (VIP addr, port, proto; backend addr, port) order. Rings are
 * packed in the same VIP order. So one configuration committed to empty maps gives byte-identical
 * tables whatever the order it was built in (and on every LB node that starts from empty maps);
 * nodes whose histories differ may number the same backends differently.
 *
 * Conventions: functions returning int return 0 or a negative errno; on -EINVAL, -EEXIST,
 * -ENOENT, -ENOSPC and -EUCLEAN they also write one line (no trailing newline) naming the
 * problem into @err when it is not NULL. Addresses and ports are in network byte order.
 */
#ifndef __UDPLB_LB_H
#define __UDPLB_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "abmap.h"
#include "udplb_shared.h"

struct bpf_object;

/* Default seed of every VIP's Maglev permutations: all LB nodes must use the same one. */
#define LB_MAGLEV_SEED 0x75646c62U /* "udlb" */

/* lb_commit() result when the live maps already hold the desired configuration. */
#define LB_COMMIT_UNCHANGED 1

#define LB_ERR_LEN 256

/* One-line description of the last error (empty when there is none). */
struct lb_err {
	char msg[LB_ERR_LEN];
};

/* The structures of one udplb instance, attached to one group by the caller. */
struct lb_maps {
	struct abmap_group *group;
	struct abmap *vips;	  /* hash struct udplb_vip_key -> struct udplb_vip */
	struct abmap *vip_filter; /* array of u64, >= UDPLB_FILTER_WORDS entries */
	struct abmap *backends;	  /* array of struct udplb_backend */
	struct abmap *ring;	  /* array of u32 */
};

struct lb_backend {
	__be32 addr;
	__be16 port;  /* must equal the VIP's port; lb_backend_add(): 0 = the VIP's port */
	__u16 weight; /* 1..65535: share of the VIP's ring among its active backends */
	__u8 state;   /* UDPLB_BACKEND_ACTIVE or _DRAINING; lb_backend_add(): 0 = ACTIVE */
	bool has_mac; /* mac is the next hop's MAC (else the data plane uses bpf_fib_lookup) */
	__u8 mac[6];
	__u32 id; /* lb_read(): live slot id; ignored elsewhere */
};

struct lb_vip {
	struct udplb_vip_key key; /* lb_vip_add(): proto 0 = IPPROTO_UDP */
	__u8 fwd;		  /* enum udplb_fwd */
	__u8 hash_mode;		  /* enum udplb_hash_mode */
	__u16 flags;		  /* UDPLB_VIP_F_* */
	__u32 ring_size;	  /* prime; lb_vip_add(): 0 = UDPLB_RING_DEFAULT */
	__u32 id;		  /* lb_read(): live VIP id; ignored elsewhere */
	__u32 ring_off;		  /* lb_read(): live ring offset; ignored elsewhere */
	__u32 nr_backends;
	__u32 cap_backends;
	struct lb_backend *backends; /* sorted by (addr, port) */
};

/*
 * Desired or live configuration. Zero-initialize (or lb_state_init()) before use; free with
 * lb_state_free(). VIPs are kept sorted by (addr, port, proto). Pointers returned by the find
 * functions are valid until the next add or delete on the same state.
 */
struct lb_state {
	__u32 nr_vips;
	__u32 cap_vips;
	struct lb_vip *vips;
};

void lb_state_init(struct lb_state *s);
void lb_state_free(struct lb_state *s);
/* Deep copy; @dst is overwritten (not freed first). */
int lb_state_copy(struct lb_state *dst, const struct lb_state *src);
/* Total number of backends. */
__u32 lb_state_nr_backends(const struct lb_state *s);

/*
 * Add a VIP (its backends are ignored). -EEXIST: same (addr, port, proto) exists; -EINVAL: bad
 * address, port, proto, fwd, hash_mode, flags or ring_size (not prime, too large); -ENOSPC:
 * UDPLB_MAX_VIPS reached or the rings would not fit in UDPLB_RING_SLOTS.
 */
int lb_vip_add(struct lb_state *s, const struct lb_vip *vip, struct lb_err *err);
/*
 * Replace fwd, hash_mode, flags and ring_size of an existing VIP (ring_size 0: keep it); its
 * backends stay. -ENOENT, -EINVAL, or -ENOSPC (ring too small for its backends or does not fit).
 */
int lb_vip_set(struct lb_state *s, const struct lb_vip *vip, struct lb_err *err);
/* Remove a VIP and its backends. -ENOENT if unknown. */
int lb_vip_del(struct lb_state *s, const struct udplb_vip_key *key, struct lb_err *err);
/* Find a VIP; a key with proto 0 means IPPROTO_UDP. */
struct lb_vip *lb_vip_find(const struct lb_state *s, const struct udplb_vip_key *key);

/*
 * Add a backend to a VIP. -ENOENT: unknown VIP; -EEXIST: that addr:port is already a backend of
 * the VIP; -EINVAL: bad address, port differing from the VIP's (dsr and ipip do not rewrite
 * ports), weight 0, bad state; -ENOSPC: UDPLB_MAX_BACKENDS reached or as many backends as ring
 * slots.
 */
int lb_backend_add(struct lb_state *s, const struct udplb_vip_key *vip, const struct lb_backend *b,
		   struct lb_err *err);
/*
 * Replace weight, state and MAC of an existing backend (identified by addr:port; port 0 = the
 * VIP's). Every field is taken from @b, with lb_backend_add()'s defaults (state 0 = ACTIVE): to
 * change one, start from the current backend (lb_backend_find()).
 */
int lb_backend_set(struct lb_state *s, const struct udplb_vip_key *vip, const struct lb_backend *b,
		   struct lb_err *err);
/* Remove a backend. -ENOENT: unknown VIP or backend. Port 0 = the VIP's port. */
int lb_backend_del(struct lb_state *s, const struct udplb_vip_key *vip, __be32 addr, __be16 port,
		   struct lb_err *err);
struct lb_backend *lb_backend_find(const struct lb_vip *v, __be32 addr, __be16 port);

/* Check a whole state against every rule above (lb_commit() does this first). */
int lb_state_validate(const struct lb_state *s, struct lb_err *err);

/* ---------------------------------------------------------------------------------------------
 * Maps
 */

struct lb_map_fds {
	int ptr;     /* the group's pointer map (udplb_ptr) */
	int vips[2]; /* side A, side B */
	int vip_filter[2];
	int backends[2];
	int ring[2];
};

/* Open a group on real maps and attach the four structures. */
int lb_maps_open(struct lb_maps *maps, const struct lb_map_fds *fds,
		 const struct abmap_group_opts *opts);
/*
 * The maps of a loaded udplb object (a skeleton's obj, or any object with the same map names:
 * udplb_ptr, vips_a/_b, vip_filter_a/_b, backends_a/_b, ring_a/_b). -ENOENT: a map is missing.
 */
int lb_maps_open_obj(struct lb_maps *maps, const struct bpf_object *obj,
		     const struct abmap_group_opts *opts);
/* In-memory maps of the sizes in udplb_shared.h (unit tests, dry runs). */
int lb_maps_fake(struct lb_maps *maps);
/* Free the group and its structures; @maps is zeroed. */
void lb_maps_close(struct lb_maps *maps);

/*
 * Read the live configuration into @out (initialized by this call; free with lb_state_free()).
 * Retries when a flip lands during the read; -EAGAIN if flips keep coming. -EUCLEAN: the maps hold
 * something lb_commit() never writes (a backend of an unknown VIP, a duplicate, a bad state).
 */
int lb_read(struct lb_maps *maps, struct lb_state *out, struct lb_err *err);
/* lb_read(), and the generation the configuration belongs to (for lb_commit_opts). */
int lb_read_at(struct lb_maps *maps, struct lb_state *out, __u64 *generation, struct lb_err *err);

struct lb_commit_opts {
	__u32 maglev_seed; /* 0: LB_MAGLEV_SEED */
	/*
	 * Read-modify-write: fail with -EAGAIN (nothing written) unless the live generation, under
	 * the writer lock, is still @expect_generation (the one @desired was derived from).
	 */
	bool check_generation;
	__u64 expect_generation;
	/* out */
	__u64 generation;  /* live generation when lb_commit() returned (unless it failed early) */
	struct lb_err err; /* one line when lb_commit() fails */
};

/*
 * Make @desired live in one flip. Holds the group's writer lock from reading the live ids to the
 * flip. Return: 0 after a flip, LB_COMMIT_UNCHANGED when the live maps already hold exactly the
 * tables @desired gives (nothing written, generation unchanged), or a negative errno with the
 * live side untouched (-EINVAL/-ENOSPC: @desired invalid or does not fit the maps; -EBUSY: another
 * writer; errors of libabmap).
 */
int lb_commit(struct lb_maps *maps, const struct lb_state *desired, struct lb_commit_opts *opts);

/* ---------------------------------------------------------------------------------------------
 * Differences, for dry runs
 */

enum lb_diff_op {
	LB_DIFF_ADD,
	LB_DIFF_DEL,
	LB_DIFF_CHANGE,
};

/* One difference: a VIP (backend_* NULL) or one backend of vip_*. */
struct lb_diff_item {
	enum lb_diff_op op;
	const struct lb_vip *vip_old; /* NULL when the VIP is added */
	const struct lb_vip *vip_new; /* NULL when the VIP is removed */
	const struct lb_backend *backend_old;
	const struct lb_backend *backend_new;
};

/* Return 0 to continue, a negative errno to stop lb_diff() with that value. */
typedef int (*lb_diff_fn)(void *ctx, const struct lb_diff_item *item);

/*
 * Call @fn for every difference from @live to @desired, VIPs in (addr, port, proto) order, each
 * VIP's own change first, then its backends in (addr, port) order. An added or removed VIP also
 * lists its backends as added or removed. Ids and ring offsets are not compared.
 * Return: the number of differences, or a negative errno.
 */
int lb_diff(const struct lb_state *live, const struct lb_state *desired, lb_diff_fn fn, void *ctx);

/* One line for a difference ("+ vip ...", "- backend ...", "~ backend ...: weight 1 -> 2"). */
int lb_diff_format(const struct lb_diff_item *item, char *buf, size_t len);

/* "10.0.0.1:53" and "10.0.0.1:53/udp" into @buf (LB_ADDR_STRLEN bytes are always enough). */
#define LB_ADDR_STRLEN 32
const char *lb_fmt_addr_port(__be32 addr, __be16 port, char *buf, size_t len);
const char *lb_fmt_vip(const struct udplb_vip_key *key, char *buf, size_t len);

#endif /* __UDPLB_LB_H */
