// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The apply format: parser and writer (conf.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "names.h"
#include "parse.h"

struct parser {
	struct lb_conf_line l; /* first: the extension hooks see it */
	struct lb_conf *conf;
	const struct lb_conf_ext *ext; /* NULL: the plain apply format */
	struct udplb_vip_key vip;      /* of the last vip line */
	char **w;		       /* words of the current line (l.w) */
	int n;
};

int lb_conf_line_err(const struct lb_conf_line *l, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (!l->err)
		return -EINVAL;
	snprintf(l->err->msg, sizeof(l->err->msg), "%s:%lu: ", l->name, l->line);
	len = strlen(l->err->msg);
	va_start(ap, fmt);
	vsnprintf(l->err->msg + len, sizeof(l->err->msg) - len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define perr(p, ...) lb_conf_line_err(&(p)->l, __VA_ARGS__)

/* An lb_* error (already a sentence) at this line. */
static int lb_perr(struct parser *p, int ret, const struct lb_err *lerr)
{
	perr(p, "%s", lerr->msg[0] ? lerr->msg : strerror(-ret));
	return ret == -ENOMEM ? ret : -EINVAL;
}

void lb_conf_init(struct lb_conf *c)
{
	memset(c, 0, sizeof(*c));
	lb_state_init(&c->state);
}

void lb_conf_free(struct lb_conf *c)
{
	lb_state_free(&c->state);
	free(c->resolve);
	memset(c, 0, sizeof(*c));
}

/* The value after option word @i: NULL (with the error set) when the line ends there. */
static const char *opt_value(struct parser *p, int *i, const char *what, const char *expect)
{
	if (*i + 1 >= p->n) {
		perr(p, "%s %s: missing value for %s (%s)", p->w[0], p->w[1], what, expect);
		return NULL;
	}
	return p->w[++*i];
}

static int parse_enum_opt(struct parser *p, int *i, const struct lb_names *t, __u8 *out)
{
	char list[64];
	const char *v;
	__u32 val;

	lb_names_list(t, "|", list, sizeof(list));
	v = opt_value(p, i, p->w[*i], list);
	if (!v)
		return -EINVAL;
	if (lb_name_value(t, v, &val))
		return perr(p, "%s: '%s' is not %s", p->w[*i - 1], v, list);
	*out = val;
	return 0;
}

/* Each option once per line: @seen holds the bits of those already given. */
static int once(struct parser *p, int i, unsigned int *seen, unsigned int bit)
{
	if (*seen & bit)
		return perr(p, "%s given twice", p->w[i]);
	*seen |= bit;
	return 0;
}

static int vip_option(struct parser *p, int *i, struct lb_vip *vip, unsigned int *seen)
{
	const char *o = p->w[*i], *v;
	__u32 val;

	if (!strcmp(o, "fwd"))
		return once(p, *i, seen, 1) ?: parse_enum_opt(p, i, &lb_fwd_names, &vip->fwd);
	if (!strcmp(o, "hash"))
		return once(p, *i, seen, 2) ?:
					      parse_enum_opt(p, i, &lb_hash_names, &vip->hash_mode);
	if (!strcmp(o, "ring-size")) {
		if (once(p, *i, seen, 4) || !(v = opt_value(p, i, o, "a prime, e.g. 65537")))
			return -EINVAL;
		if (lb_parse_u32(v, 1, UDPLB_RING_SLOTS, &vip->ring_size))
			return perr(p, "ring-size: '%s' is not a decimal number from 1 to %u", v,
				    UDPLB_RING_SLOTS);
		return 0;
	}
	if (!strcmp(o, "flags")) {
		if (once(p, *i, seen, 8) ||
		    !(v = opt_value(p, i, o, "drop-frags,drop-invalid or none")))
			return -EINVAL;
		if (lb_flags_parse(&lb_vip_flag_names, v, &val))
			return perr(
				p, "flags: '%s' is not a list of drop-frags, drop-invalid, or none",
				v);
		vip->flags = val;
		return 0;
	}
	return perr(p, "unknown vip option '%s' (fwd, hash, ring-size, flags)", o);
}

static int addr_err(struct parser *p, int ret, const char *what, const char *syntax)
{
	if (ret == -EDOM)
		return perr(p, "%s '%s': not on 0/8, 127/8, multicast or broadcast", what, p->w[1]);
	return perr(p, "'%s' is not '%s %s'", p->n < 2 ? "" : p->w[1], what, syntax);
}

static int parse_vip_line(struct parser *p)
{
	struct lb_vip vip = { .ring_size = UDPLB_RING_DEFAULT };
	unsigned int seen = 0;
	struct lb_err lerr = {};
	int i, ret;

	vip.key.proto = IPPROTO_UDP;
	if (p->n < 2)
		return perr(p, "vip needs ADDR:PORT");
	ret = lb_parse_addr_port(p->w[1], &vip.key.addr, &vip.key.port, true);
	if (ret)
		return addr_err(p, ret, "vip", "ADDR:PORT");
	for (i = 2; i < p->n; i++) {
		ret = vip_option(p, &i, &vip, &seen);
		if (ret)
			return ret;
	}
	ret = lb_vip_add(&p->conf->state, &vip, &lerr);
	if (ret)
		return lb_perr(p, ret, &lerr);
	p->vip = vip.key;
	p->l.vip = &p->vip;
	if (p->ext && p->ext->vip)
		return p->ext->vip(p->ext->ctx, &p->l, &vip);
	return 0;
}

static int backend_option(struct parser *p, int *i, struct lb_backend *b, unsigned int *seen)
{
	const char *o = p->w[*i], *v;
	__u32 weight;
	int ret;

	if (!strcmp(o, "drain"))
		return once(p, *i, seen, 1) ?: (b->state = UDPLB_BACKEND_DRAINING, 0);
	if (!strcmp(o, "weight")) {
		if (once(p, *i, seen, 2) || !(v = opt_value(p, i, o, "1-65535")))
			return -EINVAL;
		if (lb_parse_u32(v, 1, 65535, &weight))
			return perr(p, "weight: '%s' is not a decimal number from 1 to 65535", v);
		b->weight = weight;
		return 0;
	}
	if (!strcmp(o, "mac")) {
		if (once(p, *i, seen, 4) || !(v = opt_value(p, i, o, "xx:xx:xx:xx:xx:xx or none")))
			return -EINVAL;
		if (!strcmp(v, "none"))
			return 0;
		ret = lb_parse_mac(v, b->mac);
		if (ret)
			return perr(p, "mac: '%s' is not %s", v,
				    ret == -EDOM ? "a unicast, non-zero MAC address" :
						   "a MAC address (xx:xx:xx:xx:xx:xx)");
		b->has_mac = true;
		return 0;
	}
	return perr(p, "unknown backend option '%s' (weight, mac, drain)", o);
}

static int add_resolve(struct lb_conf *c, const struct udplb_vip_key *vip,
		       const struct lb_backend *b)
{
	struct lb_conf_backend_ref *r;

	if (c->nr_resolve == c->cap_resolve) {
		__u32 cap = c->cap_resolve ? c->cap_resolve * 2 : 16;

		r = realloc(c->resolve, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		c->resolve = r;
		c->cap_resolve = cap;
	}
	r = &c->resolve[c->nr_resolve++];
	memset(r, 0, sizeof(*r));
	r->vip = *vip;
	r->addr = b->addr;
	r->port = b->port;
	return 0;
}

/* Index of the first word an extension takes from a backend line (p->n when none). */
static int backend_tail(const struct parser *p)
{
	int i;

	if (!p->ext || !p->ext->backend_tail)
		return p->n;
	for (i = 2; i < p->n; i++)
		if (!strcmp(p->w[i], p->ext->backend_tail))
			return i;
	return p->n;
}

static int parse_backend_line(struct parser *p)
{
	struct lb_backend b = { .weight = 1, .state = UDPLB_BACKEND_ACTIVE };
	int i, ret, tail = backend_tail(p);
	unsigned int seen = 0;
	struct lb_err lerr = {};

	if (!p->l.vip)
		return perr(p, "backend before any vip line");
	if (p->n < 2)
		return perr(p, "backend needs ADDR[:PORT]");
	ret = lb_parse_addr_port(p->w[1], &b.addr, &b.port, false);
	if (ret)
		return addr_err(p, ret, "backend", "ADDR[:PORT]");
	if (!b.port)
		b.port = p->vip.port;
	p->n = tail; /* the options end where the extension's words start */
	for (i = 2; i < p->n; i++) {
		ret = backend_option(p, &i, &b, &seen);
		if (ret)
			return ret;
	}
	p->n = p->l.n;
	ret = lb_backend_add(&p->conf->state, &p->vip, &b, &lerr);
	if (ret)
		return lb_perr(p, ret, &lerr);
	if (!(seen & 4) && add_resolve(p->conf, &p->vip, &b))
		return perr(p, "out of memory"), -ENOMEM;
	if (p->ext && p->ext->backend)
		return p->ext->backend(p->ext->ctx, &p->l, &b, !(seen & 4), tail);
	return 0;
}

static int parse_seed_line(struct parser *p)
{
	if (p->conf->has_seed)
		return perr(p, "hash-seed given twice");
	if (p->n < 2)
		return perr(p, "hash-seed: missing value (0-4294967295)");
	if (p->n > 2)
		return perr(p, "hash-seed takes one value, not '%s'", p->w[2]);
	if (lb_parse_u32(p->w[1], 0, UINT32_MAX, &p->conf->hash_seed))
		return perr(p, "hash-seed: '%s' is not a decimal number from 0 to 4294967295",
			    p->w[1]);
	p->conf->has_seed = true;
	return 0;
}

/* Words of one line (comment cut off) into p->w; -EINVAL when too many. */
static int split(struct parser *p, char *line)
{
	char *save = NULL, *tok, *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	p->n = 0;
	for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (p->n == LB_CONF_MAX_WORDS)
			return perr(p, "more than %d words", LB_CONF_MAX_WORDS);
		p->w[p->n++] = tok;
	}
	p->l.n = p->n;
	return 0;
}

static int parse_line(struct parser *p, char *line, size_t len)
{
	int ret;

	if (strlen(line) != len)
		return perr(p, "NUL byte in the line");
	ret = split(p, line);
	if (ret || !p->n)
		return ret;
	if (!strcmp(p->w[0], "vip"))
		return parse_vip_line(p);
	if (!strcmp(p->w[0], "backend"))
		return parse_backend_line(p);
	if (!strcmp(p->w[0], "hash-seed"))
		return parse_seed_line(p);
	if (p->ext && p->ext->item) {
		ret = p->ext->item(p->ext->ctx, &p->l);
		if (ret != -ENOENT)
			return ret;
	}
	return perr(p, "unknown item '%s' (vip, backend, hash-seed%s%s)", p->w[0],
		    p->ext && p->ext->items ? ", " : "",
		    p->ext && p->ext->items ? p->ext->items : "");
}

/*
 * One line, its newline included, into @buf (LB_CONF_MAX_LINE + 2 bytes). Returns its length,
 * 0 at the end of the file, or -E2BIG for a longer line, of which no more than that is read: a
 * line without end (-f /dev/zero) is refused at once, never split into several lines.
 */
static ssize_t read_line(FILE *f, char *buf)
{
	size_t n = 0;
	int c;

	while ((c = getc(f)) != EOF) {
		if (n == LB_CONF_MAX_LINE + 1)
			return -E2BIG;
		buf[n++] = c;
		if (c == '\n')
			break;
	}
	buf[n] = '\0';
	return n;
}

int lb_conf_parse_ext(FILE *f, const char *name, struct lb_conf *c, const struct lb_conf_ext *ext,
		      struct lb_err *err)
{
	struct parser p = { .l = { .name = name, .err = err }, .conf = c, .ext = ext };
	char *w[LB_CONF_MAX_WORDS], *line;
	ssize_t len;
	int ret = 0;

	if (err)
		err->msg[0] = '\0';
	line = malloc(LB_CONF_MAX_LINE + 2);
	if (!line)
		return -ENOMEM;
	p.w = w;
	p.l.w = w;
	errno = 0;
	while (!ret && (len = read_line(f, line)) != 0) {
		p.l.line++;
		if (len < 0)
			ret = perr(&p, "line longer than %d bytes", LB_CONF_MAX_LINE);
		else
			ret = parse_line(&p, line, len);
	}
	if (!ret && ferror(f)) {
		ret = errno ? -errno : -EIO;
		perr(&p, "read error: %s", strerror(-ret));
	}
	if (!ret && ext && ext->end) {
		p.l.n = 0;
		ret = ext->end(ext->ctx, &p.l);
	}
	free(line);
	return ret;
}

int lb_conf_parse(FILE *f, const char *name, struct lb_conf *c, struct lb_err *err)
{
	return lb_conf_parse_ext(f, name, c, NULL, err);
}

int lb_conf_parse_mem_ext(const char *buf, size_t len, const char *name, struct lb_conf *c,
			  const struct lb_conf_ext *ext, struct lb_err *err)
{
	FILE *f;
	int ret;

	if (!len) /* fmemopen() refuses an empty buffer */
		buf = "\n", len = 1;
	f = fmemopen((void *)buf, len, "r");
	if (!f)
		return -errno;
	ret = lb_conf_parse_ext(f, name, c, ext, err);
	fclose(f);
	return ret;
}

int lb_conf_parse_mem(const char *buf, size_t len, const char *name, struct lb_conf *c,
		      struct lb_err *err)
{
	return lb_conf_parse_mem_ext(buf, len, name, c, NULL, err);
}

void lb_conf_write_vip(FILE *f, const struct lb_vip *v)
{
	char addr[LB_ADDR_STRLEN], name[LB_NAME_STRLEN], name2[LB_NAME_STRLEN];
	char flags[LB_FLAGS_STRLEN];

	lb_flags_fmt(&lb_vip_flag_names, v->flags, flags, sizeof(flags));
	fprintf(f, "vip %s fwd %s hash %s ring-size %u flags %s\n",
		lb_fmt_addr_port(v->key.addr, v->key.port, addr, sizeof(addr)),
		lb_name_fmt(&lb_fwd_names, v->fwd, name, sizeof(name)),
		lb_name_fmt(&lb_hash_names, v->hash_mode, name2, sizeof(name2)), v->ring_size,
		flags);
}

void lb_conf_write_backend(FILE *f, const struct lb_backend *b, bool resolve, const char *tail)
{
	char addr[LB_ADDR_STRLEN], mac[32] = " mac none";

	if (b->has_mac)
		snprintf(mac, sizeof(mac), " mac %02x:%02x:%02x:%02x:%02x:%02x", b->mac[0],
			 b->mac[1], b->mac[2], b->mac[3], b->mac[4], b->mac[5]);
	else if (resolve)
		mac[0] = '\0';
	fprintf(f, "backend %s weight %u%s%s%s%s\n",
		lb_fmt_addr_port(b->addr, b->port, addr, sizeof(addr)), b->weight, mac,
		b->state == UDPLB_BACKEND_DRAINING ? " drain" : "", tail ? " " : "", tail ?: "");
}

int lb_conf_write(FILE *f, const struct lb_conf *c)
{
	__u32 i, j;

	fprintf(f, "# udplb configuration: udplb apply DEV -f FILE makes it live\n");
	if (c->has_seed)
		fprintf(f, "hash-seed %u\n", c->hash_seed);
	for (i = 0; i < c->state.nr_vips; i++) {
		const struct lb_vip *v = &c->state.vips[i];

		lb_conf_write_vip(f, v);
		for (j = 0; j < v->nr_backends; j++)
			lb_conf_write_backend(f, &v->backends[j], false, NULL);
	}
	return fflush(f) || ferror(f) ? -EIO : 0;
}
