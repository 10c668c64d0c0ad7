// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The dns check: one query over UDP, the reply's rcode and answer count. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "kinds.h"

#define DNS_HDR 12
#define DNS_F_QR 0x8000
#define DNS_F_RD 0x0100
#define DNS_CLASS_IN 1

static void put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/* @name in wire form at @out (at most @len bytes); its length or -EINVAL / -ENOSPC. */
static int encode_name(const char *name, __u8 *out, size_t len)
{
	size_t used = 0;
	const char *label = name, *dot;

	if (!strcmp(name, "."))
		name = label = "";
	while (*label) {
		size_t n;

		dot = strchr(label, '.');
		n = dot ? (size_t)(dot - label) : strlen(label);
		if (n == 0 || n > 63)
			return -EINVAL;
		if (used + 1 + n + 1 > len || used + 1 + n + 1 > 255)
			return -ENOSPC;
		out[used++] = (__u8)n;
		memcpy(out + used, label, n);
		used += n;
		label += n + (dot ? 1 : 0);
	}
	if (used + 1 > len)
		return -ENOSPC;
	out[used++] = 0;
	return (int)used;
}

int lb_dns_query_build(__u8 *buf, size_t len, __u16 id, const char *name, __u16 type)
{
	int n;

	if (len < DNS_HDR + 1 + 4)
		return -ENOSPC;
	memset(buf, 0, DNS_HDR);
	put16(buf, id);
	put16(buf + 2, DNS_F_RD);
	put16(buf + 4, 1); /* qdcount */
	n = encode_name(name, buf + DNS_HDR, len - DNS_HDR - 4);
	if (n < 0)
		return n;
	put16(buf + DNS_HDR + n, type);
	put16(buf + DNS_HDR + n + 2, DNS_CLASS_IN);
	return DNS_HDR + n + 4;
}

/* Same bytes, letters compared without case (resolvers may randomize it, "0x20"). */
static bool same_question(const __u8 *a, const __u8 *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		__u8 x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

int lb_dns_reply_parse(const __u8 *query, size_t qlen, const __u8 *reply, size_t rlen, int *rcode,
		       __u16 *ancount)
{
	__u16 flags;

	if (qlen < DNS_HDR || rlen < qlen)
		return -EBADMSG;
	if (get16(reply) != get16(query))
		return -EBADMSG;
	flags = get16(reply + 2);
	if (!(flags & DNS_F_QR) || (flags & 0x7800) != (get16(query + 2) & 0x7800))
		return -EBADMSG;
	if (get16(reply + 4) != 1)
		return -EBADMSG;
	/* The question is the query's, byte for byte (case aside). */
	if (!same_question(query + DNS_HDR, reply + DNS_HDR, qlen - DNS_HDR))
		return -EBADMSG;
	*rcode = flags & 0xf;
	*ancount = get16(reply + 6);
	return 0;
}

static __u16 random_id(void)
{
	static __u16 fallback;
	__u16 id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) == sizeof(id))
		return id;
	fallback = (__u16)(fallback * 31421u + 6927u + (__u16)lb_health_now_ns());
	return fallback;
}

int lb_dns_start(struct lb_probe *p, const struct lb_check *c, const struct lb_probe_target *t,
		 struct lb_probe_result *r)
{
	int n, ret;

	n = lb_dns_query_build(p->query, sizeof(p->query), random_id(), c->dns.name, c->dns.type);
	if (n < 0)
		return lb_probe_done(p, r, LB_PROBE_ERROR, -n);
	p->query_len = (__u16)n;
	ret = lb_probe_socket(p, t->addr, lb_probe_port(c, t));
	if (ret)
		return lb_probe_done(p, r, LB_PROBE_ERROR, -ret);
	if (send(p->fd, p->query, p->query_len, 0) < 0)
		return lb_probe_done(
			p, r, errno == ECONNREFUSED ? LB_PROBE_REFUSED : LB_PROBE_ERROR, errno);
	return LB_PROBE_PENDING;
}

static int verdict(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r,
		   int rcode, __u16 ancount)
{
	if (c->dns.rcode != LB_DNS_RCODE_ANSWER)
		return lb_probe_done(p, r, rcode == c->dns.rcode ? LB_PROBE_PASS : LB_PROBE_RCODE,
				     rcode == c->dns.rcode ? 0 : rcode);
	if (rcode)
		return lb_probe_done(p, r, LB_PROBE_RCODE, rcode);
	return lb_probe_done(p, r, ancount ? LB_PROBE_PASS : LB_PROBE_NOANSWER, 0);
}

int lb_dns_readable(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	__u8 buf[1500];
	__u16 ancount;
	int rcode;
	ssize_t n;

	/* Replies that are not the answer to our query (late, forged) are dropped: read on. */
	for (;;) {
		n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return LB_PROBE_PENDING;
			return lb_probe_done(
				p, r, errno == ECONNREFUSED ? LB_PROBE_REFUSED : LB_PROBE_ERROR,
				errno);
		}
		if (!lb_dns_reply_parse(p->query, p->query_len, buf, (size_t)n, &rcode, &ancount))
			return verdict(p, c, r, rcode, ancount);
	}
}
