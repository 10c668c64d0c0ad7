// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names of udplb's enums and flags, both ways (names.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "udplb_shared.h"

#define TABLE(var, what_, ...)                                                                     \
	static const struct lb_name var##_entries[] = { __VA_ARGS__ };                             \
	const struct lb_names var = { what_, var##_entries,                                        \
				      sizeof(var##_entries) / sizeof(var##_entries[0]) }

TABLE(lb_fwd_names, "fwd", { UDPLB_FWD_DSR, "dsr" }, { UDPLB_FWD_IPIP, "ipip" });
TABLE(lb_hash_names, "hash", { UDPLB_HASH_5TUPLE, "5tuple" }, { UDPLB_HASH_SRC_IP, "src-ip" });
TABLE(lb_backend_state_names, "backend state", { UDPLB_BACKEND_FREE, "free" },
      { UDPLB_BACKEND_ACTIVE, "active" }, { UDPLB_BACKEND_DRAINING, "draining" });
TABLE(lb_vip_flag_names, "vip flag", { UDPLB_VIP_F_DROP_FRAGS, "drop-frags" },
      { UDPLB_VIP_F_DROP_INVALID, "drop-invalid" });
TABLE(lb_proto_names, "protocol", { IPPROTO_UDP, "udp" }, { IPPROTO_TCP, "tcp" });
TABLE(lb_mode_names, "mode", { UDPLB_MODE_NONE, "none" }, { UDPLB_MODE_XDP, "xdp" },
      { UDPLB_MODE_XDP_GENERIC, "xdp-generic" }, { UDPLB_MODE_TC, "tc" });
/* JSON keys of `udplb stats`: underscores. */
TABLE(lb_reason_names, "reason", { UDPLB_R_FORWARDED, "forwarded" }, { UDPLB_R_NOT_IP, "not_ip" },
      { UDPLB_R_NOT_UDP, "not_udp" }, { UDPLB_R_NOT_VIP, "not_vip" },
      { UDPLB_R_TRUNCATED, "truncated" }, { UDPLB_R_FRAGMENT, "fragment" }, { UDPLB_R_TTL, "ttl" },
      { UDPLB_R_NO_BACKEND, "no_backend" }, { UDPLB_R_NO_ROUTE, "no_route" },
      { UDPLB_R_KILL_SWITCH, "kill_switch" }, { UDPLB_R_ERROR, "error" },
      { UDPLB_R_CT_HIT, "ct_hit" }, { UDPLB_R_CT_NEW, "ct_new" }, { UDPLB_R_DROPPED, "dropped" });
TABLE(lb_pool_key_names, "pool key", { UDPLB_POOL_KILL_SWITCH, "kill-switch" },
      { UDPLB_POOL_PACKETS, "packets" }, { UDPLB_POOL_XDP_PACKETS, "xdp-packets" },
      { UDPLB_POOL_TC_PACKETS, "tc-packets" });

const char *lb_name(const struct lb_names *t, __u32 value)
{
	size_t i;

	for (i = 0; i < t->nr; i++) {
		if (t->names[i].value == value)
			return t->names[i].name;
	}
	return NULL;
}

const char *lb_name_fmt(const struct lb_names *t, __u32 value, char *buf, size_t len)
{
	const char *name = lb_name(t, value);

	if (name)
		return name;
	snprintf(buf, len, "unknown(%u)", value);
	return buf;
}

int lb_name_value(const struct lb_names *t, const char *name, __u32 *value)
{
	size_t i;

	for (i = 0; name && i < t->nr; i++) {
		if (!strcmp(t->names[i].name, name)) {
			*value = t->names[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

const char *lb_names_list(const struct lb_names *t, const char *sep, char *buf, size_t len)
{
	size_t i, pos = 0;
	int n;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < t->nr && pos < len; i++) {
		n = snprintf(buf + pos, len - pos, "%s%s", i ? sep : "", t->names[i].name);
		if (n < 0)
			break;
		pos += n;
	}
	return buf;
}

/* Append ",word" (no comma first) at *pos. */
static int append(char *buf, size_t len, size_t *pos, const char *word)
{
	int n;

	if (*pos >= len)
		return -ENOSPC;
	n = snprintf(buf + *pos, len - *pos, "%s%s", *pos ? "," : "", word);
	if (n < 0 || (size_t)n >= len - *pos)
		return -ENOSPC;
	*pos += n;
	return 0;
}

int lb_flags_fmt(const struct lb_names *t, __u32 flags, char *buf, size_t len)
{
	__u32 rest = flags;
	size_t i, pos = 0;
	char hex[16];
	int err = 0;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (!flags)
		return append(buf, len, &pos, "none");
	for (i = 0; !err && i < t->nr; i++) {
		if (flags & t->names[i].value) {
			err = append(buf, len, &pos, t->names[i].name);
			rest &= ~t->names[i].value;
		}
	}
	if (!err && rest) {
		snprintf(hex, sizeof(hex), "%#x", rest);
		err = append(buf, len, &pos, hex);
	}
	return err;
}

int lb_flags_parse(const struct lb_names *t, const char *s, __u32 *flags)
{
	const char *p = s, *end;
	__u32 out = 0, bit;
	char word[64];
	size_t n;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "none")) {
		*flags = 0;
		return 0;
	}
	for (;;) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		if (!n || n >= sizeof(word))
			return -EINVAL;
		memcpy(word, p, n);
		word[n] = '\0';
		if (lb_name_value(t, word, &bit))
			return -EINVAL;
		out |= bit;
		if (!end)
			break;
		p = end + 1;
	}
	*flags = out;
	return 0;
}
