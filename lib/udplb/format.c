// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Text of addresses, VIPs and differences, into the caller's buffer (the library never prints). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "internal.h"
#include "names.h"

const char *lb_fmt_addr_port(__be32 addr, __be16 port, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = addr };

	if (!inet_ntop(AF_INET, &a, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, "%s:%u", ip, ntohs(port));
	return buf;
}

const char *lb_fmt_vip(const struct udplb_vip_key *key, char *buf, size_t len)
{
	char ap[LB_ADDR_STRLEN];
	const char *p = lb_name(&lb_proto_names, key->proto);

	lb_fmt_addr_port(key->addr, key->port, ap, sizeof(ap));
	if (p)
		snprintf(buf, len, "%s/%s", ap, p);
	else
		snprintf(buf, len, "%s/%u", ap, key->proto);
	return buf;
}

static const char *fmt_mac(const struct lb_backend *b, char *buf, size_t len)
{
	if (!b->has_mac)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", b->mac[0], b->mac[1], b->mac[2],
			 b->mac[3], b->mac[4], b->mac[5]);
	return buf;
}

/* snprintf() appender: keeps going after truncation, remembers it. */
struct out {
	char *buf;
	size_t len, pos;
	bool trunc;
};

__attribute__((format(printf, 2, 3))) static void out_add(struct out *o, const char *fmt, ...)
{
	size_t room = o->pos < o->len ? o->len - o->pos : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + (o->pos < o->len ? o->pos : o->len - 1), room ? room : 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room)
		o->trunc = true;
	o->pos += n;
}

/* VIP flags as the apply format and status write them ("drop-frags,drop-invalid", "none"). */
static const char *vip_flags_str(__u16 flags, char *buf, size_t len)
{
	lb_flags_fmt(&lb_vip_flag_names, flags, buf, len);
	return buf;
}

static void fmt_vip_change(struct out *o, const struct lb_vip *a, const struct lb_vip *b)
{
	char fa[LB_FLAGS_STRLEN], fb[LB_FLAGS_STRLEN];
	const char *sep = ": ";

	if (a->fwd != b->fwd) {
		out_add(o, "%sfwd %s -> %s", sep,
			lb_name_fmt(&lb_fwd_names, a->fwd, fa, sizeof(fa)),
			lb_name_fmt(&lb_fwd_names, b->fwd, fb, sizeof(fb)));
		sep = ", ";
	}
	if (a->hash_mode != b->hash_mode) {
		out_add(o, "%shash %s -> %s", sep,
			lb_name_fmt(&lb_hash_names, a->hash_mode, fa, sizeof(fa)),
			lb_name_fmt(&lb_hash_names, b->hash_mode, fb, sizeof(fb)));
		sep = ", ";
	}
	if (a->flags != b->flags) {
		out_add(o, "%sflags %s -> %s", sep, vip_flags_str(a->flags, fa, sizeof(fa)),
			vip_flags_str(b->flags, fb, sizeof(fb)));
		sep = ", ";
	}
	if (a->ring_size != b->ring_size)
		out_add(o, "%sring %u -> %u", sep, a->ring_size, b->ring_size);
}

static void fmt_backend_change(struct out *o, const struct lb_backend *a,
			       const struct lb_backend *b)
{
	char ma[LB_NAME_STRLEN], mb[LB_NAME_STRLEN];
	const char *sep = ": ";

	if (a->weight != b->weight) {
		out_add(o, "%sweight %u -> %u", sep, a->weight, b->weight);
		sep = ", ";
	}
	if (a->state != b->state) {
		out_add(o, "%sstate %s -> %s", sep,
			lb_name_fmt(&lb_backend_state_names, a->state, ma, sizeof(ma)),
			lb_name_fmt(&lb_backend_state_names, b->state, mb, sizeof(mb)));
		sep = ", ";
	}
	if (a->has_mac != b->has_mac || (a->has_mac && memcmp(a->mac, b->mac, sizeof(a->mac))))
		out_add(o, "%smac %s -> %s", sep, fmt_mac(a, ma, sizeof(ma)),
			fmt_mac(b, mb, sizeof(mb)));
}

int lb_diff_format(const struct lb_diff_item *item, char *buf, size_t len)
{
	const struct lb_vip *v;
	const struct lb_backend *b;
	char vname[LB_ADDR_STRLEN], bname[LB_ADDR_STRLEN], mac[24], flags[LB_FLAGS_STRLEN];
	char n1[LB_NAME_STRLEN], n2[LB_NAME_STRLEN];
	struct out o = { .buf = buf, .len = len };
	char sign;

	if (!item || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	v = item->vip_new ? item->vip_new : item->vip_old;
	if (!v)
		return -EINVAL;
	sign = item->op == LB_DIFF_ADD ? '+' : item->op == LB_DIFF_DEL ? '-' : '~';
	lb_fmt_vip(&v->key, vname, sizeof(vname));
	if (!item->backend_old && !item->backend_new) {
		out_add(&o, "%c vip %s", sign, vname);
		if (item->op == LB_DIFF_ADD)
			out_add(&o, " (fwd %s, hash %s, ring %u, flags %s)",
				lb_name_fmt(&lb_fwd_names, v->fwd, n1, sizeof(n1)),
				lb_name_fmt(&lb_hash_names, v->hash_mode, n2, sizeof(n2)),
				v->ring_size, vip_flags_str(v->flags, flags, sizeof(flags)));
		else if (item->op == LB_DIFF_CHANGE && item->vip_old && item->vip_new)
			fmt_vip_change(&o, item->vip_old, item->vip_new);
		return o.trunc ? -ENOSPC : 0;
	}
	b = item->backend_new ? item->backend_new : item->backend_old;
	lb_fmt_addr_port(b->addr, b->port, bname, sizeof(bname));
	out_add(&o, "%c backend %s of vip %s", sign, bname, vname);
	if (item->op == LB_DIFF_ADD)
		out_add(&o, " (weight %u, %s, mac %s)", b->weight,
			lb_name_fmt(&lb_backend_state_names, b->state, n1, sizeof(n1)),
			fmt_mac(b, mac, sizeof(mac)));
	else if (item->op == LB_DIFF_CHANGE && item->backend_old && item->backend_new)
		fmt_backend_change(&o, item->backend_old, item->backend_new);
	return o.trunc ? -ENOSPC : 0;
}
