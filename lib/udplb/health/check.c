// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The health check specification: defaults, parser and formatter of its config syntax. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "check.h"
#include "../internal.h" /* lib/udplb/internal.h, not lib/abmap/internal.h */
#include "parse.h"

#define NAMES(var, what_, table)                                                                   \
	const struct lb_names var = { .what = what_,                                               \
				      .names = table,                                              \
				      .nr = sizeof(table) / sizeof(table[0]) }

static const struct lb_name kind_table[] = {
	{ LB_CHECK_NONE, "none" },
	{ LB_CHECK_UDP, "udp" },
	{ LB_CHECK_DNS, "dns" },
	{ LB_CHECK_EXEC, "exec" },
};
static const struct lb_name path_table[] = {
	{ LB_CHECK_PATH_DIRECT, "direct" },
	{ LB_CHECK_PATH_VIA_LB, "via-lb" },
};
static const struct lb_name state_table[] = {
	{ LB_HEALTH_DOWN, "down" },
	{ LB_HEALTH_UP, "up" },
};
static const struct lb_name dns_type_table[] = {
	{ 1, "A" },   { 2, "NS" },   { 5, "CNAME" }, { 6, "SOA" },  { 12, "PTR" },
	{ 15, "MX" }, { 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" }, { 255, "ANY" },
};
static const struct lb_name dns_rcode_table[] = {
	{ 0, "NOERROR" },  { 1, "FORMERR" }, { 2, "SERVFAIL" },
	{ 3, "NXDOMAIN" }, { 4, "NOTIMP" },  { 5, "REFUSED" },
};

NAMES(lb_check_kind_names, "check kind", kind_table);
NAMES(lb_check_path_names, "probe path", path_table);
NAMES(lb_health_state_names, "health state", state_table);
NAMES(lb_dns_type_names, "DNS type", dns_type_table);
NAMES(lb_dns_rcode_names, "DNS rcode", dns_rcode_table);

void lb_check_defaults(struct lb_check *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = LB_CHECK_NONE;
	c->path = LB_CHECK_PATH_DIRECT;
	c->initial = LB_HEALTH_DOWN;
	c->interval_ms = 2000;
	c->timeout_ms = 1000;
	c->rise = 2;
	c->fall = 3;
	strcpy(c->dns.name, ".");
	c->dns.type = 6; /* SOA */
	c->dns.rcode = LB_DNS_RCODE_ANSWER;
}

/* "200ms" or "2s" -> milliseconds in [min, max]. */
static int parse_duration(const char *opt, const char *s, __u32 min, __u32 max, __u32 *ms,
			  struct lb_err *err)
{
	size_t n = strlen(s), digits;
	__u32 mult;
	__u64 v;
	char num[24];

	if (n > 2 && !strcmp(s + n - 2, "ms")) {
		digits = n - 2;
		mult = 1;
	} else if (n > 1 && s[n - 1] == 's') {
		digits = n - 1;
		mult = 1000;
	} else {
		return lb_fail(err, -EINVAL, "%s '%s': not a duration (expected e.g. 200ms or 2s)",
			       opt, s);
	}
	if (digits >= sizeof(num) || s[0] < '0' || s[0] > '9')
		return lb_fail(err, -EINVAL, "%s '%s': not a duration (expected e.g. 200ms or 2s)",
			       opt, s);
	memcpy(num, s, digits);
	num[digits] = '\0';
	if (lb_parse_u64(num, 0, UINT32_MAX, &v))
		return lb_fail(err, -EINVAL, "%s '%s': not a duration (expected e.g. 200ms or 2s)",
			       opt, s);
	v *= mult;
	if (v < min || v > max)
		return lb_fail(err, -EINVAL, "%s '%s': out of range (%ums to %us)", opt, s, min,
			       max / 1000);
	*ms = (__u32)v;
	return 0;
}

static int parse_count(const char *opt, const char *s, __u32 min, __u32 max, __u32 *out,
		       struct lb_err *err)
{
	if (lb_parse_u32(s, min, max, out))
		return lb_fail(err, -EINVAL, "%s '%s': expected a number from %u to %u", opt, s,
			       min, max);
	return 0;
}

static int hex_nibble(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Hex digits (and X wildcards when @mask) into bytes; the mask says which nibbles count. */
static int parse_hex(const char *opt, const char *s, __u8 *out, __u8 *mask, __u16 *len,
		     struct lb_err *err)
{
	size_t n = strlen(s), i;

	if (n == 0 || n % 2)
		return lb_fail(err, -EINVAL, "%s '%s': expected an even number of hex digits%s",
			       opt, s, mask ? " (X = any nibble)" : "");
	if (n / 2 > LB_CHECK_PAYLOAD_MAX)
		return lb_fail(err, -EINVAL, "%s: %zu bytes, at most %d", opt, n / 2,
			       LB_CHECK_PAYLOAD_MAX);
	for (i = 0; i < n; i++) {
		int v = hex_nibble(s[i]);
		int shift = i % 2 ? 0 : 4;

		if (i % 2 == 0) {
			out[i / 2] = 0;
			if (mask)
				mask[i / 2] = 0;
		}
		if (v < 0 && mask && (s[i] == 'X' || s[i] == 'x'))
			continue;
		if (v < 0)
			return lb_fail(err, -EINVAL, "%s '%s': '%c' is not a hex digit%s", opt, s,
				       s[i], mask ? " or X" : "");
		out[i / 2] |= (__u8)(v << shift);
		if (mask)
			mask[i / 2] |= (__u8)(0xf << shift);
	}
	*len = (__u16)(n / 2);
	return 0;
}

/* A DNS name in text: "." or labels of 1-63 letters, digits, '-' or '_', optional final dot. */
static int parse_dns_name(const char *s, char *out, struct lb_err *err)
{
	size_t n = strlen(s), label = 0, i;

	if (!strcmp(s, ".")) {
		strcpy(out, s);
		return 0;
	}
	if (n == 0)
		return lb_fail(err, -EINVAL, "name: empty");
	if (n > LB_CHECK_DNS_NAME_MAX - (s[n - 1] != '.'))
		return lb_fail(err, -EINVAL, "name: %zu characters, longer than 253", n);
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (label == 0)
				return lb_fail(err, -EINVAL, "name '%s': empty label", s);
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return lb_fail(err, -EINVAL, "name '%s': '%c' is not allowed in a name", s,
				       ch);
		if (++label > 63)
			return lb_fail(err, -EINVAL, "name '%s': a label is longer than 63", s);
	}
	strcpy(out, s);
	return 0;
}

static int parse_named(const char *opt, const struct lb_names *t, const char *s, __u32 *v,
		       struct lb_err *err)
{
	char list[160];

	if (lb_name_value(t, s, v))
		return lb_fail(err, -EINVAL, "%s '%s': expected %s", opt, s,
			       lb_names_list(t, ", ", list, sizeof(list)));
	return 0;
}

static int parse_udp_option(struct lb_check *c, const char *opt, const char *val,
			    struct lb_err *err)
{
	if (!strcmp(opt, "send"))
		return parse_hex(opt, val, c->udp.send, NULL, &c->udp.send_len, err);
	if (!strcmp(opt, "expect")) {
		if (!strcmp(val, "none")) {
			c->udp.expect_none = true;
			return 0;
		}
		return parse_hex(opt, val, c->udp.expect, c->udp.expect_mask, &c->udp.expect_len,
				 err);
	}
	if (!strcmp(opt, "min-reply"))
		return parse_count(opt, val, 0, LB_CHECK_REPLY_MAX, &c->udp.min_reply, err);
	if (!strcmp(opt, "max-reply"))
		return parse_count(opt, val, 0, LB_CHECK_REPLY_MAX, &c->udp.max_reply, err);
	return 1;
}

static int parse_dns_option(struct lb_check *c, const char *opt, const char *val,
			    struct lb_err *err)
{
	__u32 v;
	int ret;

	if (!strcmp(opt, "name"))
		return parse_dns_name(val, c->dns.name, err);
	if (!strcmp(opt, "type")) {
		ret = parse_named(opt, &lb_dns_type_names, val, &v, err);
		c->dns.type = (__u16)v;
		return ret;
	}
	if (!strcmp(opt, "rcode")) {
		if (!strcmp(val, "answer")) {
			c->dns.rcode = LB_DNS_RCODE_ANSWER;
			return 0;
		}
		ret = parse_named(opt, &lb_dns_rcode_names, val, &v, err);
		c->dns.rcode = (__s16)v;
		return ret;
	}
	return 1;
}

/* Options every kind has. 1: not one of them. */
static int parse_common_option(struct lb_check *c, const char *opt, const char *val,
			       struct lb_err *err)
{
	__u32 v;
	int ret;

	if (!strcmp(opt, "port")) {
		ret = parse_count(opt, val, 1, 65535, &v, err);
		c->port = htons((__u16)v);
		return ret;
	}
	if (!strcmp(opt, "path")) {
		ret = parse_named(opt, &lb_check_path_names, val, &v, err);
		c->path = (__u8)v;
		return ret;
	}
	if (!strcmp(opt, "initial")) {
		ret = parse_named(opt, &lb_health_state_names, val, &v, err);
		c->initial = (__u8)v;
		return ret;
	}
	if (!strcmp(opt, "interval"))
		return parse_duration(opt, val, 1, LB_CHECK_TIME_MAX_MS, &c->interval_ms, err);
	if (!strcmp(opt, "timeout"))
		return parse_duration(opt, val, 1, LB_CHECK_TIME_MAX_MS, &c->timeout_ms, err);
	if (!strcmp(opt, "jitter"))
		return parse_duration(opt, val, 0, LB_CHECK_TIME_MAX_MS, &c->jitter_ms, err);
	if (!strcmp(opt, "rise"))
		return parse_count(opt, val, 1, LB_CHECK_COUNT_MAX, &c->rise, err);
	if (!strcmp(opt, "fall"))
		return parse_count(opt, val, 1, LB_CHECK_COUNT_MAX, &c->fall, err);
	return 1;
}

static const char *const common_opts[] = { "port",    "path",	"initial", "interval",
					   "timeout", "jitter", "rise",	   "fall" };
static const char *const udp_opts[] = { "send", "expect", "min-reply", "max-reply" };
static const char *const dns_opts[] = { "name", "type", "rcode" };

static int option_index(const char *opt, __u32 kind)
{
	size_t i;

	for (i = 0; i < sizeof(common_opts) / sizeof(common_opts[0]); i++)
		if (!strcmp(opt, common_opts[i]))
			return (int)i;
	if (kind == LB_CHECK_UDP)
		for (i = 0; i < sizeof(udp_opts) / sizeof(udp_opts[0]); i++)
			if (!strcmp(opt, udp_opts[i]))
				return 8 + (int)i;
	if (kind == LB_CHECK_DNS)
		for (i = 0; i < sizeof(dns_opts) / sizeof(dns_opts[0]); i++)
			if (!strcmp(opt, dns_opts[i]))
				return 8 + (int)i;
	return -1;
}

static int parse_option(struct lb_check *c, const char *opt, const char *val, struct lb_err *err)
{
	int ret = parse_common_option(c, opt, val, err);

	if (ret == 1 && c->kind == LB_CHECK_UDP)
		ret = parse_udp_option(c, opt, val, err);
	if (ret == 1 && c->kind == LB_CHECK_DNS)
		ret = parse_dns_option(c, opt, val, err);
	return ret;
}

/* Checks between options, once all are known. */
static int check_consistent(const struct lb_check *c, struct lb_err *err)
{
	if (c->kind != LB_CHECK_UDP)
		return 0;
	if (c->udp.max_reply && c->udp.min_reply > c->udp.max_reply)
		return lb_fail(err, -EINVAL, "min-reply %u is larger than max-reply %u",
			       c->udp.min_reply, c->udp.max_reply);
	if (c->udp.max_reply && c->udp.expect_len > c->udp.max_reply)
		return lb_fail(err, -EINVAL, "expect: a %u-byte pattern never fits in max-reply %u",
			       c->udp.expect_len, c->udp.max_reply);
	if (c->udp.expect_none && (c->udp.min_reply || c->udp.max_reply))
		return lb_fail(err, -EINVAL, "expect none: min-reply and max-reply need a reply");
	return 0;
}

static int parse_kind(char *const *words, int n, struct lb_check *c, int *i, struct lb_err *err)
{
	char list[64];
	__u32 kind;

	if (n < 1)
		return lb_fail(err, -EINVAL, "check: missing kind (expected %s)",
			       lb_names_list(&lb_check_kind_names, ", ", list, sizeof(list)));
	if (lb_name_value(&lb_check_kind_names, words[0], &kind))
		return lb_fail(err, -EINVAL, "check '%s': unknown kind (expected %s)", words[0],
			       lb_names_list(&lb_check_kind_names, ", ", list, sizeof(list)));
	c->kind = (__u8)kind;
	*i = 1;
	if (kind == LB_CHECK_NONE && n > 1)
		return lb_fail(err, -EINVAL, "check none: '%s': none takes no options", words[1]);
	if (kind != LB_CHECK_EXEC)
		return 0;
	if (n < 2)
		return lb_fail(err, -EINVAL, "check exec: missing the command's path");
	if (words[1][0] != '/')
		return lb_fail(err, -EINVAL, "check exec '%s': the command needs an absolute path",
			       words[1]);
	if (strlen(words[1]) >= sizeof(c->exec.cmd))
		return lb_fail(err, -EINVAL, "check exec: the path is longer than %d",
			       LB_CHECK_CMD_MAX - 1);
	strcpy(c->exec.cmd, words[1]);
	*i = 2;
	return 0;
}

int lb_check_parse(char *const *words, int n, struct lb_check *c, struct lb_err *err)
{
	__u32 seen = 0;
	int i, idx, ret;

	lb_check_defaults(c);
	ret = parse_kind(words, n, c, &i, err);
	if (ret)
		return ret;
	for (; i < n; i += 2) {
		const char *opt = words[i];

		idx = option_index(opt, c->kind);
		if (idx < 0)
			return lb_fail(err, -EINVAL, "'%s': not an option of a %s check", opt,
				       lb_name(&lb_check_kind_names, c->kind));
		if (seen & (1U << idx))
			return lb_fail(err, -EINVAL, "'%s' given twice", opt);
		seen |= 1U << idx;
		if (i + 1 >= n)
			return lb_fail(err, -EINVAL, "'%s': missing its value", opt);
		ret = parse_option(c, opt, words[i + 1], err);
		if (ret)
			return ret;
	}
	return check_consistent(c, err);
}

struct out {
	char *buf;
	size_t len, used;
	bool overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used) {
		o->overflow = true;
		return;
	}
	o->used += (size_t)n;
}

static void put_hex(struct out *o, const char *opt, const __u8 *v, const __u8 *mask, __u16 len)
{
	static const char digits[] = "0123456789abcdef";
	__u16 i;

	put(o, " %s ", opt);
	for (i = 0; i < len; i++) {
		char hi = mask && !(mask[i] & 0xf0) ? 'X' : digits[v[i] >> 4];
		char lo = mask && !(mask[i] & 0x0f) ? 'X' : digits[v[i] & 0xf];

		put(o, "%c%c", hi, lo);
	}
}

static void format_kind(struct out *o, const struct lb_check *c)
{
	const char *name = lb_name(&lb_check_kind_names, c->kind);

	put(o, "%s", name ? name : "none");
	if (c->kind == LB_CHECK_EXEC)
		put(o, " %s", c->exec.cmd);
	if (c->kind == LB_CHECK_UDP) {
		if (c->udp.send_len)
			put_hex(o, "send", c->udp.send, NULL, c->udp.send_len);
		if (c->udp.expect_none)
			put(o, " expect none");
		else if (c->udp.expect_len)
			put_hex(o, "expect", c->udp.expect, c->udp.expect_mask, c->udp.expect_len);
		if (c->udp.min_reply)
			put(o, " min-reply %u", c->udp.min_reply);
		if (c->udp.max_reply)
			put(o, " max-reply %u", c->udp.max_reply);
	}
	if (c->kind == LB_CHECK_DNS) {
		char buf[LB_NAME_STRLEN];

		if (strcmp(c->dns.name, "."))
			put(o, " name %s", c->dns.name);
		if (c->dns.type != 6)
			put(o, " type %s",
			    lb_name_fmt(&lb_dns_type_names, c->dns.type, buf, sizeof(buf)));
		if (c->dns.rcode != LB_DNS_RCODE_ANSWER)
			put(o, " rcode %s",
			    lb_name_fmt(&lb_dns_rcode_names, (__u32)c->dns.rcode, buf,
					sizeof(buf)));
	}
}

static void put_duration(struct out *o, const char *opt, __u32 ms)
{
	if (ms % 1000 == 0 && ms)
		put(o, " %s %us", opt, ms / 1000);
	else
		put(o, " %s %ums", opt, ms);
}

int lb_check_format(const struct lb_check *c, char *buf, size_t len)
{
	struct lb_check def;
	struct out o = { .buf = buf, .len = len };

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	lb_check_defaults(&def);
	format_kind(&o, c);
	if (c->kind != LB_CHECK_NONE) {
		if (c->port)
			put(&o, " port %u", ntohs(c->port));
		if (c->path != def.path)
			put(&o, " path %s", lb_name(&lb_check_path_names, c->path));
		if (c->interval_ms != def.interval_ms)
			put_duration(&o, "interval", c->interval_ms);
		if (c->timeout_ms != def.timeout_ms)
			put_duration(&o, "timeout", c->timeout_ms);
		if (c->jitter_ms != def.jitter_ms)
			put_duration(&o, "jitter", c->jitter_ms);
		if (c->rise != def.rise)
			put(&o, " rise %u", c->rise);
		if (c->fall != def.fall)
			put(&o, " fall %u", c->fall);
		if (c->initial != def.initial)
			put(&o, " initial %s", lb_name(&lb_health_state_names, c->initial));
	}
	if (o.overflow) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)o.used;
}
