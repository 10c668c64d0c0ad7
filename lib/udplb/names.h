/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names of udplb's enums and flags, both ways, one table each: the CLI, the apply format, the
 * diff and the JSON output all spell a value the same way, and a value no table knows prints as
 * "unknown(N)" instead of passing for a known one.
 */
#ifndef __UDPLB_NAMES_H
#define __UDPLB_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct lb_name {
	__u32 value;
	const char *name;
};

/* One enum (or, for flag tables, one bit per entry). */
struct lb_names {
	const char *what; /* "fwd", "hash mode": for error messages */
	const struct lb_name *names;
	size_t nr;
};

extern const struct lb_names lb_fwd_names;	     /* enum udplb_fwd: dsr, ipip */
extern const struct lb_names lb_hash_names;	     /* enum udplb_hash_mode: 5tuple, src-ip */
extern const struct lb_names lb_backend_state_names; /* enum udplb_backend_state */
extern const struct lb_names lb_vip_flag_names;	     /* UDPLB_VIP_F_* bits */
extern const struct lb_names lb_proto_names;	     /* IPPROTO_UDP, IPPROTO_TCP */
extern const struct lb_names lb_mode_names;	     /* enum udplb_mode: none, xdp, ... */
extern const struct lb_names lb_reason_names;	     /* enum udplb_reason: forwarded, ... */
extern const struct lb_names lb_pool_key_names;	     /* enum udplb_pool_key: kill-switch, ... */

/* The name of @value, or NULL when the table has none. */
const char *lb_name(const struct lb_names *t, __u32 value);
/* The name of @value, or "unknown(N)" written into @buf (LB_NAME_STRLEN bytes suffice). */
#define LB_NAME_STRLEN 24
const char *lb_name_fmt(const struct lb_names *t, __u32 value, char *buf, size_t len);
/* The value named @name (exact match). -EINVAL when no entry has that name. */
int lb_name_value(const struct lb_names *t, const char *name, __u32 *value);
/* Every name joined by @sep ("dsr|ipip"), for help texts and errors. */
const char *lb_names_list(const struct lb_names *t, const char *sep, char *buf, size_t len);

/*
 * Flags: names joined by ',' ("drop-frags,drop-invalid"), "none" for 0; bits without a name print
 * as one hex number ("drop-frags,0x80"). -ENOSPC when @len is too small.
 */
#define LB_FLAGS_STRLEN 128
int lb_flags_fmt(const struct lb_names *t, __u32 flags, char *buf, size_t len);
/* Inverse of lb_flags_fmt() for named bits only: "none" or names joined by ','. -EINVAL. */
int lb_flags_parse(const struct lb_names *t, const char *s, __u32 *flags);

#endif /* __UDPLB_NAMES_H */
