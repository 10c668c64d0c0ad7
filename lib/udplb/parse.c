// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Strict parsers of operator input (parse.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

int lb_parse_u64(const char *s, __u64 min, __u64 max, __u64 *out)
{
	__u64 v = 0;
	const char *p;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
	}
	for (p = s; *p; p++) {
		if (v > (UINT64_MAX - (__u64)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (__u64)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int lb_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	__u64 v;
	int err = lb_parse_u64(s, min, max, &v);

	if (!err)
		*out = v;
	return err;
}

int lb_parse_ipv4(const char *s, __be32 *addr)
{
	struct in_addr in;

	/* inet_pton() takes dotted-quad decimal only (no octal, hex or short forms). */
	if (!s || inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*addr = in.s_addr;
	return 0;
}

bool lb_addr_usable(__be32 addr)
{
	__u32 h = ntohl(addr);

	return (h >> 24) != 0 && (h >> 24) != 127 && (h >> 28) < 0xe;
}

int lb_parse_addr_port(const char *s, __be32 *addr, __be16 *port, bool port_required)
{
	char host[INET_ADDRSTRLEN];
	const char *colon;
	__u32 p = 0;
	size_t n;

	if (!s)
		return -EINVAL;
	colon = strchr(s, ':');
	if (!colon && port_required)
		return -EINVAL;
	n = colon ? (size_t)(colon - s) : strlen(s);
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (lb_parse_ipv4(host, addr))
		return -EINVAL;
	if (colon && lb_parse_u32(colon + 1, 1, 65535, &p))
		return -EINVAL;
	*port = htons(p);
	return lb_addr_usable(*addr) ? 0 : -EDOM;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lb_parse_mac(const char *s, __u8 mac[6])
{
	__u8 m[6];
	int i, hi, lo;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++, s += 3) {
		hi = hex_digit(s[0]);
		lo = hex_digit(s[1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[2] != ':'))
			return -EINVAL;
		m[i] = hi << 4 | lo;
	}
	if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return -EDOM;
	memcpy(mac, m, 6);
	return 0;
}
