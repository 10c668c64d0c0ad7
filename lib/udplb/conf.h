/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The apply format: a whole udplb configuration as text, one item a line, read by `udplb apply`
 * and written by `udplb save`:
 *
 *	# comment (also after an item)
 *	hash-seed 12345
 *	vip 10.0.0.1:53 [fwd dsr|ipip] [hash 5tuple|src-ip] [ring-size 65537] [flags LIST|none]
 *	backend 10.0.1.1[:53] [weight 1] [mac 02:00:00:00:00:01|none] [drain]
 *
 * A backend line belongs to the vip line above it. Values are exactly as on the command line
 * (parse.h, names.h). A backend without a mac word has its MAC resolved by the applier
 * (lb_conf.resolve); "mac none" means no MAC (the data plane does a FIB lookup).
 * lb_conf_write() gives text that lb_conf_parse() reads back to the same configuration.
 */
#ifndef __UDPLB_CONF_H
#define __UDPLB_CONF_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "lb.h"

/* Longest line accepted (a comment included), in bytes. */
#define LB_CONF_MAX_LINE 4096
/* Most words on one line. */
#define LB_CONF_MAX_WORDS 32

/* A backend whose MAC the file leaves to the neighbour table. */
struct lb_conf_backend_ref {
	struct udplb_vip_key vip;
	__be32 addr;
	__be16 port;
};

struct lb_conf {
	struct lb_state state;
	bool has_seed;
	__u32 hash_seed;
	__u32 nr_resolve;
	__u32 cap_resolve;
	struct lb_conf_backend_ref *resolve;
};

void lb_conf_init(struct lb_conf *c);
void lb_conf_free(struct lb_conf *c);

/*
 * Read a whole file into @c (lb_conf_init() first). On error, @err holds "NAME:LINE: what is
 * wrong" (@name is the file name to show) and the return is -EINVAL (bad content), -ENOMEM, or
 * the read error; @c then holds the lines before the bad one.
 */
int lb_conf_parse(FILE *f, const char *name, struct lb_conf *c, struct lb_err *err);
/* The same from memory (@len bytes, NUL bytes in it are errors). */
int lb_conf_parse_mem(const char *buf, size_t len, const char *name, struct lb_conf *c,
		      struct lb_err *err);

/* Write @c in the apply format (every field explicit, MACs as "mac none" when absent). */
int lb_conf_write(FILE *f, const struct lb_conf *c);
/* One vip line, every field explicit. */
void lb_conf_write_vip(FILE *f, const struct lb_vip *v);
/*
 * One backend line, every field explicit; @resolve: no mac word when it has no MAC (the applier
 * resolves it) instead of "mac none"; @tail (may be NULL): words appended before the newline.
 */
void lb_conf_write_backend(FILE *f, const struct lb_backend *b, bool resolve, const char *tail);

/* ---------------------------------------------------------------------------------------------
 * Extensions: formats that are the apply format plus items of their own (udplbd's file,
 * lib/udplb/daemon/dconf.h) read through this parser, so both share one grammar and one set of
 * messages.
 */

/* The line being read. */
struct lb_conf_line {
	const char *name;		 /* the file name errors show */
	unsigned long line;		 /* 1-based */
	char **w;			 /* its words, the comment cut off */
	int n;				 /* number of words (0 in lb_conf_ext.end) */
	const struct udplb_vip_key *vip; /* key of the last vip line, NULL before the first */
	struct lb_err *err;
};

/* "NAME:LINE: " and the message into l->err; returns -EINVAL. */
int lb_conf_line_err(const struct lb_conf_line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Hooks (each may be NULL). They return 0, or a negative errno with l->err set. */
struct lb_conf_ext {
	void *ctx;
	/* Items of the extension, listed in the "unknown item" message ("device, metrics"). */
	const char *items;
	/* A line whose first word the apply format does not know: -ENOENT when not the hook's. */
	int (*item)(void *ctx, const struct lb_conf_line *l);
	/* After a vip line was added to the state (@vip as parsed). */
	int (*vip)(void *ctx, const struct lb_conf_line *l, const struct lb_vip *vip);
	/*
	 * A backend line's options end at the word @backend_tail (e.g. "check"); after the backend
	 * was added, @backend gets the line with @tail, the index of that word (l->n when absent).
	 * @resolve: the line had no mac word.
	 */
	const char *backend_tail;
	int (*backend)(void *ctx, const struct lb_conf_line *l, const struct lb_backend *b,
		       bool resolve, int tail);
	/* After the last line (l->line is the number of lines, l->n is 0). */
	int (*end)(void *ctx, const struct lb_conf_line *l);
};

/* lb_conf_parse() and lb_conf_parse_mem() with extension hooks (@ext NULL: the apply format). */
int lb_conf_parse_ext(FILE *f, const char *name, struct lb_conf *c, const struct lb_conf_ext *ext,
		      struct lb_err *err);
int lb_conf_parse_mem_ext(const char *buf, size_t len, const char *name, struct lb_conf *c,
			  const struct lb_conf_ext *ext, struct lb_err *err);

#endif /* __UDPLB_CONF_H */
