/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * udplbd's configuration file (later udplb.conf(5)): the apply format (../conf.h) plus the
 * instance and health settings, one item a line, '#' starts a comment anywhere:
 *
 *	device DEV [mode xdp|xdp-generic|tc]	the interface the daemon attaches to (required,
 *						once; mode: default xdp)
 *	hash-seed N				as in the apply format (0-4294967295)
 *	metrics ADDR:PORT			the Prometheus endpoint (default: none)
 *	vip ADDR:PORT [fwd ...] [hash ...] [ring-size N] [flags ...]	as in the apply format
 *	  check KIND [ARGS...]			the VIP's health check (default: none, so its
 *						backends count as healthy)
 *	  on-down remove|drain			a backend whose check fails: out of the ring and
 *						its flows move (remove, the default), or out of the
 *						ring with its existing flows kept (drain)
 *	  min-healthy N [fallback ADDR[:PORT] [mac MAC|none]]
 *						N (1-4096, default 1) healthy backends keep the VIP
 *						available; below N the fallback (a sorry server,
 *						keepalived's quorum) takes every new flow
 *	  backend ADDR[:PORT] [weight W] [mac MAC|none] [drain] [check KIND [ARGS...]]
 *						as in the apply format; its own check replaces the
 *						VIP's ("check none": no check for this backend)
 *
 * The lines after a vip line up to the next vip line belong to it (indentation is optional and
 * only for the reader). check, on-down and min-healthy each at most once per VIP, in any order
 * among its backend lines. The words after "check" are the check specification of the health
 * library (lib/udplb/health/check.h, lb_check_parse()); a backend line's options end at its
 * word "check". The writer writes a check as lb_check_format() gives it (defaults left out).
 * A backend with "drain" in the file is administratively drained: it never counts as healthy.
 * A fallback has no check (it is the last resort); its port must be the VIP's and it may not
 * also be a backend of the VIP. Like backends, a fallback without a mac word has its next
 * hop's MAC resolved by the daemon; "mac none" leaves it to the data plane's FIB lookup.
 *
 * Every error is one line "FILE:LINE: ..." naming the word at fault; a missing device line is
 * reported at the last line. lb_dconf_write() writes a file lb_dconf_parse() reads back to the
 * same configuration (every field explicit).
 */
#ifndef __UDPLB_DAEMON_DCONF_H
#define __UDPLB_DAEMON_DCONF_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "conf.h"
#include "health/check.h"
#include "names.h"

/* Longest interface name plus its NUL (IFNAMSIZ). */
#define LB_DCONF_DEV_LEN 16
/* Largest min-healthy. */
#define LB_DCONF_MAX_MIN_HEALTHY 4096

enum lb_on_down {
	LB_ON_DOWN_REMOVE = 0, /* out of the ring, existing flows move (conntrack stops matching) */
	LB_ON_DOWN_DRAIN = 1,  /* out of the ring, existing flows stay (UDPLB_BACKEND_DRAINING) */
};

extern const struct lb_names lb_on_down_names; /* remove, drain */

/* A check given in the file: the words after "check" (health/check.h). */
struct lb_dconf_check {
	struct lb_check *spec; /* as parsed; NULL: no check given here */
	char *text;	       /* lb_check_format() of spec: equal checks, equal texts */
	unsigned long line;    /* where it was given (0 when none) */
};

struct lb_dconf_backend {
	struct udplb_vip_key vip;
	__be32 addr;
	__be16 port;
	bool resolve;		     /* no mac word: the daemon resolves the next hop's MAC */
	unsigned long line;	     /* its backend line */
	struct lb_dconf_check check; /* its own check (text NULL: the VIP's) */
};

struct lb_dconf_vip {
	struct udplb_vip_key key;
	unsigned long line; /* its vip line */
	struct lb_dconf_check check;
	__u8 on_down;			/* enum lb_on_down */
	unsigned long on_down_line;	/* 0: the default */
	__u32 min_healthy;		/* 1..LB_DCONF_MAX_MIN_HEALTHY */
	unsigned long min_healthy_line; /* 0: the default */
	bool has_fallback;
	bool fallback_resolve;	    /* the fallback had no mac word */
	struct lb_backend fallback; /* addr, port (the VIP's), MAC; weight 1, ACTIVE */
};

struct lb_dconf {
	struct lb_conf conf; /* VIPs and backends (the file's drain words included), hash-seed */
	char device[LB_DCONF_DEV_LEN]; /* "" until the device line */
	__u8 mode;		       /* enum udplb_mode: XDP, XDP_GENERIC or TC */
	bool has_metrics;
	__be32 metrics_addr;
	__be16 metrics_port;
	/* Sorted by key (lb_dconf_vip_find()). */
	__u32 nr_vips;
	__u32 cap_vips;
	struct lb_dconf_vip *vips;
	/* Sorted by (VIP key, addr, port) (lb_dconf_backend_find()). */
	__u32 nr_backends;
	__u32 cap_backends;
	struct lb_dconf_backend *backends;
};

void lb_dconf_init(struct lb_dconf *d);
void lb_dconf_free(struct lb_dconf *d);

/*
 * Read a whole file into @d (lb_dconf_init() first). Returns 0, -EINVAL with "NAME:LINE: what
 * is wrong" in @err, -ENOMEM, or a read error. On error @d holds part of the file: free it.
 */
int lb_dconf_parse(FILE *f, const char *name, struct lb_dconf *d, struct lb_err *err);
int lb_dconf_parse_mem(const char *buf, size_t len, const char *name, struct lb_dconf *d,
		       struct lb_err *err);

/* Write @d so that lb_dconf_parse() reads it back to the same configuration. 0 or -EIO. */
int lb_dconf_write(FILE *f, const struct lb_dconf *d);

/* The VIP's settings; NULL when @key is not a VIP of @d. Proto 0 means UDP. */
const struct lb_dconf_vip *lb_dconf_vip_find(const struct lb_dconf *d,
					     const struct udplb_vip_key *key);
/* A backend's settings (port 0: the VIP's); NULL when unknown. */
const struct lb_dconf_backend *lb_dconf_backend_find(const struct lb_dconf *d,
						     const struct udplb_vip_key *vip, __be32 addr,
						     __be16 port);
/* The check that applies to @b: its own, else its VIP's; NULL: none (the backend is up). */
const struct lb_dconf_check *lb_dconf_backend_check(const struct lb_dconf *d,
						    const struct lb_dconf_backend *b);

/* Order of VIP keys and of backends in @d (negative, 0, positive). */
int lb_dconf_vip_cmp(const struct udplb_vip_key *a, const struct udplb_vip_key *b);
int lb_dconf_backend_cmp(const struct lb_dconf_backend *a, const struct lb_dconf_backend *b);

#endif /* __UDPLB_DAEMON_DCONF_H */
