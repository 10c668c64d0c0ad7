// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udplbd's configuration file: the apply-format parser (../conf.c) with hooks for the items of
 * the daemon (dconf.h). This file reads the instance lines and the VIP-scoped lines; the vip and
 * backend lines are the apply format's, so both formats accept and refuse the same values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dconf.h"
#include "parse.h"
#include "udplb_shared.h"

static const struct lb_name on_down_entries[] = {
	{ LB_ON_DOWN_REMOVE, "remove" },
	{ LB_ON_DOWN_DRAIN, "drain" },
};
const struct lb_names lb_on_down_names = { "on-down", on_down_entries, 2 };

/* The modes a daemon can attach in (lb_mode_names has "none" too). */
static const struct lb_name dev_mode_entries[] = {
	{ UDPLB_MODE_XDP, "xdp" },
	{ UDPLB_MODE_XDP_GENERIC, "xdp-generic" },
	{ UDPLB_MODE_TC, "tc" },
};
static const struct lb_names dev_mode_names = { "mode", dev_mode_entries, 3 };

struct dparser {
	struct lb_dconf *d;
	unsigned long device_line;
	unsigned long metrics_line;
};

static void check_free(struct lb_dconf_check *c)
{
	free(c->spec);
	free(c->text);
	memset(c, 0, sizeof(*c));
}

void lb_dconf_init(struct lb_dconf *d)
{
	memset(d, 0, sizeof(*d));
	lb_conf_init(&d->conf);
}

void lb_dconf_free(struct lb_dconf *d)
{
	__u32 i;

	for (i = 0; i < d->nr_vips; i++)
		check_free(&d->vips[i].check);
	for (i = 0; i < d->nr_backends; i++)
		check_free(&d->backends[i].check);
	free(d->vips);
	free(d->backends);
	lb_conf_free(&d->conf);
	memset(d, 0, sizeof(*d));
}

int lb_dconf_vip_cmp(const struct udplb_vip_key *a, const struct udplb_vip_key *b)
{
	__u32 aa = ntohl(a->addr), ba = ntohl(b->addr);
	__u16 ap = ntohs(a->port), bp = ntohs(b->port);
	__u8 apr = a->proto ?: IPPROTO_UDP, bpr = b->proto ?: IPPROTO_UDP;

	if (aa != ba)
		return aa < ba ? -1 : 1;
	if (ap != bp)
		return ap < bp ? -1 : 1;
	return (apr > bpr) - (apr < bpr);
}

int lb_dconf_backend_cmp(const struct lb_dconf_backend *a, const struct lb_dconf_backend *b)
{
	__u32 aa = ntohl(a->addr), ba = ntohl(b->addr);
	__u16 ap = ntohs(a->port), bp = ntohs(b->port);
	int ret = lb_dconf_vip_cmp(&a->vip, &b->vip);

	if (ret)
		return ret;
	if (aa != ba)
		return aa < ba ? -1 : 1;
	return (ap > bp) - (ap < bp);
}

static int vip_cmp_qsort(const void *a, const void *b)
{
	return lb_dconf_vip_cmp(&((const struct lb_dconf_vip *)a)->key,
				&((const struct lb_dconf_vip *)b)->key);
}

static int backend_cmp_qsort(const void *a, const void *b)
{
	return lb_dconf_backend_cmp(a, b);
}

const struct lb_dconf_vip *lb_dconf_vip_find(const struct lb_dconf *d,
					     const struct udplb_vip_key *key)
{
	struct lb_dconf_vip k = { .key = *key };

	if (!d->nr_vips)
		return NULL;
	return bsearch(&k, d->vips, d->nr_vips, sizeof(k), vip_cmp_qsort);
}

const struct lb_dconf_backend *lb_dconf_backend_find(const struct lb_dconf *d,
						     const struct udplb_vip_key *vip, __be32 addr,
						     __be16 port)
{
	struct lb_dconf_backend k = { .vip = *vip, .addr = addr, .port = port ?: vip->port };

	if (!d->nr_backends)
		return NULL;
	return bsearch(&k, d->backends, d->nr_backends, sizeof(k), backend_cmp_qsort);
}

const struct lb_dconf_check *lb_dconf_backend_check(const struct lb_dconf *d,
						    const struct lb_dconf_backend *b)
{
	const struct lb_dconf_vip *v;

	if (b->check.spec)
		return &b->check;
	v = lb_dconf_vip_find(d, &b->vip);
	return v && v->check.spec ? &v->check : NULL;
}

/* Room for one more element of an array of @size-byte elements. */
static int grow(void **arr, __u32 nr, __u32 *cap, size_t size)
{
	__u32 ncap = *cap ? *cap * 2 : 16;
	void *p;

	if (nr < *cap)
		return 0;
	p = realloc(*arr, (size_t)ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int oom(const struct lb_conf_line *l)
{
	lb_conf_line_err(l, "out of memory");
	return -ENOMEM;
}

/* The words from @from on: a check specification (health/check.h) into @c. */
static int parse_check(const struct lb_conf_line *l, int from, struct lb_dconf_check *c)
{
	struct lb_err lerr = {};
	int len;

	c->spec = malloc(sizeof(*c->spec));
	c->text = malloc(LB_CHECK_FMT_LEN);
	if (!c->spec || !c->text)
		return oom(l);
	if (lb_check_parse(l->w + from, l->n - from, c->spec, &lerr))
		/* the health library's messages name the word; "check" says where it was */
		return lb_conf_line_err(l, "%s%s", strncmp(lerr.msg, "check", 5) ? "check: " : "",
					lerr.msg);
	len = lb_check_format(c->spec, c->text, LB_CHECK_FMT_LEN);
	if (len < 0)
		return lb_conf_line_err(l, "check: cannot write it back (%s)", strerror(-len));
	c->line = l->line;
	return 0;
}

/* Linux's rule for interface names (dev_valid_name()). */
static bool dev_name_valid(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= LB_DCONF_DEV_LEN || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return !strpbrk(s, "/:");
}

static int parse_device(struct dparser *p, const struct lb_conf_line *l)
{
	char list[48];
	__u32 mode = UDPLB_MODE_XDP;

	lb_names_list(&dev_mode_names, "|", list, sizeof(list));
	if (p->device_line)
		return lb_conf_line_err(l, "device given twice (first at line %lu)",
					p->device_line);
	if (l->n < 2)
		return lb_conf_line_err(l, "device needs an interface name");
	if (!dev_name_valid(l->w[1]))
		return lb_conf_line_err(l, "device: '%s' is not an interface name", l->w[1]);
	if (l->n > 2 && strcmp(l->w[2], "mode"))
		return lb_conf_line_err(l, "unknown device option '%s' (mode)", l->w[2]);
	if (l->n == 3)
		return lb_conf_line_err(l, "device %s mode: missing value (%s)", l->w[1], list);
	if (l->n > 3 && lb_name_value(&dev_mode_names, l->w[3], &mode))
		return lb_conf_line_err(l, "mode: '%s' is not %s", l->w[3], list);
	if (l->n > 4)
		return lb_conf_line_err(l, "device: unexpected '%s' after the mode", l->w[4]);
	strcpy(p->d->device, l->w[1]);
	p->d->mode = mode;
	p->device_line = l->line;
	return 0;
}

/* "ADDR:PORT" of a listening socket: any IPv4 address (127.0.0.1 and 0.0.0.0 included). */
static int parse_listen(const char *s, __be32 *addr, __be16 *port)
{
	const char *colon = strrchr(s, ':');
	char buf[16];
	__u32 p;

	if (!colon || colon - s >= (long)sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, colon - s);
	buf[colon - s] = '\0';
	if (lb_parse_ipv4(buf, addr) || lb_parse_u32(colon + 1, 1, 65535, &p))
		return -EINVAL;
	*port = htons(p);
	return 0;
}

static int parse_metrics(struct dparser *p, const struct lb_conf_line *l)
{
	if (p->metrics_line)
		return lb_conf_line_err(l, "metrics given twice (first at line %lu)",
					p->metrics_line);
	if (l->n != 2)
		return lb_conf_line_err(l, l->n < 2 ? "metrics needs ADDR:PORT" :
						      "metrics takes one value (ADDR:PORT)");
	if (parse_listen(l->w[1], &p->d->metrics_addr, &p->d->metrics_port))
		return lb_conf_line_err(l, "metrics: '%s' is not ADDR:PORT", l->w[1]);
	p->d->has_metrics = true;
	p->metrics_line = l->line;
	return 0;
}

/* The VIP of the last vip line (the last one added: vips are sorted at the end). */
static struct lb_dconf_vip *cur_vip(struct dparser *p, const struct lb_conf_line *l)
{
	if (!l->vip) {
		lb_conf_line_err(l, "%s before any vip line", l->w[0]);
		return NULL;
	}
	return &p->d->vips[p->d->nr_vips - 1];
}

static int given_twice(const struct lb_conf_line *l, const struct lb_dconf_vip *v,
		       unsigned long first)
{
	char name[LB_ADDR_STRLEN];

	return lb_conf_line_err(l, "%s given twice for vip %s (first at line %lu)", l->w[0],
				lb_fmt_addr_port(v->key.addr, v->key.port, name, sizeof(name)),
				first);
}

static int parse_vip_check(struct dparser *p, const struct lb_conf_line *l)
{
	struct lb_dconf_vip *v = cur_vip(p, l);

	if (!v)
		return -EINVAL;
	if (v->check.line)
		return given_twice(l, v, v->check.line);
	return parse_check(l, 1, &v->check);
}

static int parse_on_down(struct dparser *p, const struct lb_conf_line *l)
{
	struct lb_dconf_vip *v = cur_vip(p, l);
	__u32 val;

	if (!v)
		return -EINVAL;
	if (v->on_down_line)
		return given_twice(l, v, v->on_down_line);
	if (l->n < 2)
		return lb_conf_line_err(l, "on-down: missing value (remove|drain)");
	if (l->n > 2)
		return lb_conf_line_err(l, "on-down takes one value, not '%s'", l->w[2]);
	if (lb_name_value(&lb_on_down_names, l->w[1], &val))
		return lb_conf_line_err(l, "on-down: '%s' is not remove|drain", l->w[1]);
	v->on_down = val;
	v->on_down_line = l->line;
	return 0;
}

/* "fallback ADDR[:PORT] [mac MAC|none]" from word @i of a min-healthy line. */
static int parse_fallback(const struct lb_conf_line *l, int i, struct lb_dconf_vip *v)
{
	struct lb_backend *fb = &v->fallback;
	int ret;

	if (strcmp(l->w[i], "fallback"))
		return lb_conf_line_err(l, "unknown min-healthy option '%s' (fallback)", l->w[i]);
	if (++i >= l->n)
		return lb_conf_line_err(l, "fallback: missing ADDR[:PORT]");
	ret = lb_parse_addr_port(l->w[i], &fb->addr, &fb->port, false);
	if (ret)
		return lb_conf_line_err(l,
					ret == -EDOM ? "fallback '%s': not on 0/8, 127/8, "
						       "multicast or broadcast" :
						       "fallback: '%s' is not ADDR[:PORT]",
					l->w[i]);
	if (fb->port && fb->port != v->key.port)
		return lb_conf_line_err(l, "fallback %s: the port must be the vip's (%u)", l->w[i],
					ntohs(v->key.port));
	fb->port = v->key.port;
	fb->weight = 1;
	fb->state = UDPLB_BACKEND_ACTIVE;
	v->fallback_resolve = true;
	if (++i < l->n) {
		if (strcmp(l->w[i], "mac"))
			return lb_conf_line_err(l, "unknown fallback option '%s' (mac)", l->w[i]);
		if (++i >= l->n)
			return lb_conf_line_err(l, "fallback mac: missing value (MAC or none)");
		v->fallback_resolve = false;
		if (strcmp(l->w[i], "none") && lb_parse_mac(l->w[i], fb->mac))
			return lb_conf_line_err(
				l, "fallback mac: '%s' is not a unicast MAC address", l->w[i]);
		fb->has_mac = strcmp(l->w[i], "none") != 0;
		if (++i < l->n)
			return lb_conf_line_err(l, "min-healthy: unexpected '%s'", l->w[i]);
	}
	v->has_fallback = true;
	return 0;
}

static int parse_min_healthy(struct dparser *p, const struct lb_conf_line *l)
{
	struct lb_dconf_vip *v = cur_vip(p, l);
	const struct lb_vip *sv;

	if (!v)
		return -EINVAL;
	if (v->min_healthy_line)
		return given_twice(l, v, v->min_healthy_line);
	if (l->n < 2)
		return lb_conf_line_err(l, "min-healthy: missing value (1-%u)",
					LB_DCONF_MAX_MIN_HEALTHY);
	if (lb_parse_u32(l->w[1], 1, LB_DCONF_MAX_MIN_HEALTHY, &v->min_healthy))
		return lb_conf_line_err(l, "min-healthy: '%s' is not a decimal number from 1 to %u",
					l->w[1], LB_DCONF_MAX_MIN_HEALTHY);
	v->min_healthy_line = l->line;
	if (l->n == 2)
		return 0;
	if (parse_fallback(l, 2, v))
		return -EINVAL;
	sv = lb_vip_find(&p->d->conf.state, &v->key);
	if (sv && lb_backend_find(sv, v->fallback.addr, v->fallback.port))
		return lb_conf_line_err(l, "fallback %s is also a backend of this vip", l->w[3]);
	return 0;
}

static int item_hook(void *ctx, const struct lb_conf_line *l)
{
	struct dparser *p = ctx;

	if (!strcmp(l->w[0], "device"))
		return parse_device(p, l);
	if (!strcmp(l->w[0], "metrics"))
		return parse_metrics(p, l);
	if (!strcmp(l->w[0], "check"))
		return parse_vip_check(p, l);
	if (!strcmp(l->w[0], "on-down"))
		return parse_on_down(p, l);
	if (!strcmp(l->w[0], "min-healthy"))
		return parse_min_healthy(p, l);
	return -ENOENT;
}

static int vip_hook(void *ctx, const struct lb_conf_line *l, const struct lb_vip *vip)
{
	struct lb_dconf *d = ((struct dparser *)ctx)->d;
	struct lb_dconf_vip *v;

	if (grow((void **)&d->vips, d->nr_vips, &d->cap_vips, sizeof(*v)))
		return oom(l);
	v = &d->vips[d->nr_vips++];
	memset(v, 0, sizeof(*v));
	v->key = vip->key;
	v->line = l->line;
	v->on_down = LB_ON_DOWN_REMOVE;
	v->min_healthy = 1;
	return 0;
}

static int backend_hook(void *ctx, const struct lb_conf_line *l, const struct lb_backend *b,
			bool resolve, int tail)
{
	struct dparser *p = ctx;
	struct lb_dconf *d = p->d;
	struct lb_dconf_vip *v = &d->vips[d->nr_vips - 1];
	struct lb_dconf_backend *db;

	if (v->has_fallback && v->fallback.addr == b->addr && v->fallback.port == b->port)
		return lb_conf_line_err(l, "backend %s is this vip's fallback (line %lu)", l->w[1],
					v->min_healthy_line);
	if (grow((void **)&d->backends, d->nr_backends, &d->cap_backends, sizeof(*db)))
		return oom(l);
	db = &d->backends[d->nr_backends++];
	memset(db, 0, sizeof(*db));
	db->vip = v->key;
	db->addr = b->addr;
	db->port = b->port;
	db->resolve = resolve;
	db->line = l->line;
	if (tail < l->n)
		return parse_check(l, tail + 1, &db->check);
	return 0;
}

/*
 * Every VIP with its fallback added to all its backends (the most the policy ever puts in a
 * VIP: drained backends stay) must be a valid state: else the file is refused at its
 * min-healthy line rather than the daemon failing when the fallback is first needed.
 */
static int check_fallbacks(struct lb_dconf *d, const struct lb_conf_line *l)
{
	struct lb_conf_line at = *l;
	struct lb_state worst;
	struct lb_err lerr = {};
	int ret = 0;
	__u32 i;

	if (lb_state_copy(&worst, &d->conf.state))
		return oom(l);
	for (i = 0; i < d->nr_vips && !ret; i++) {
		if (!d->vips[i].has_fallback)
			continue;
		ret = lb_backend_add(&worst, &d->vips[i].key, &d->vips[i].fallback, &lerr);
		if (ret) {
			at.line = d->vips[i].min_healthy_line;
			ret = ret == -ENOMEM ? oom(l) :
					       lb_conf_line_err(&at, "fallback: %s", lerr.msg);
		}
	}
	lb_state_free(&worst);
	return ret;
}

static int end_hook(void *ctx, const struct lb_conf_line *l)
{
	struct dparser *p = ctx;
	struct lb_dconf *d = p->d;
	struct lb_conf_line last = *l;

	if (!last.line) /* an empty file: its first line */
		last.line = 1;
	if (!p->device_line)
		return lb_conf_line_err(
			&last, "end of file: no 'device DEV mode xdp|xdp-generic|tc' line");
	if (d->nr_vips)
		qsort(d->vips, d->nr_vips, sizeof(*d->vips), vip_cmp_qsort);
	if (d->nr_backends)
		qsort(d->backends, d->nr_backends, sizeof(*d->backends), backend_cmp_qsort);
	return check_fallbacks(d, l);
}

static const struct lb_conf_ext dconf_ext = {
	.items = "device, metrics, check, on-down, min-healthy",
	.item = item_hook,
	.vip = vip_hook,
	.backend_tail = "check",
	.backend = backend_hook,
	.end = end_hook,
};

int lb_dconf_parse(FILE *f, const char *name, struct lb_dconf *d, struct lb_err *err)
{
	struct dparser p = { .d = d };
	struct lb_conf_ext ext = dconf_ext;

	ext.ctx = &p;
	return lb_conf_parse_ext(f, name, &d->conf, &ext, err);
}

int lb_dconf_parse_mem(const char *buf, size_t len, const char *name, struct lb_dconf *d,
		       struct lb_err *err)
{
	struct dparser p = { .d = d };
	struct lb_conf_ext ext = dconf_ext;

	ext.ctx = &p;
	return lb_conf_parse_mem_ext(buf, len, name, &d->conf, &ext, err);
}

static void write_vip_settings(FILE *f, const struct lb_dconf_vip *v)
{
	char addr[LB_ADDR_STRLEN];
	const __u8 *m = v->fallback.mac;

	if (v->check.text)
		fprintf(f, "  check %s\n", v->check.text);
	fprintf(f, "  on-down %s\n", lb_name(&lb_on_down_names, v->on_down));
	fprintf(f, "  min-healthy %u", v->min_healthy);
	if (v->has_fallback) {
		fprintf(f, " fallback %s",
			lb_fmt_addr_port(v->fallback.addr, v->fallback.port, addr, sizeof(addr)));
		if (v->fallback.has_mac)
			fprintf(f, " mac %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
				m[4], m[5]);
		else if (!v->fallback_resolve)
			fprintf(f, " mac none");
	}
	fprintf(f, "\n");
}

static int write_backends(FILE *f, const struct lb_dconf *d, const struct lb_vip *sv)
{
	const struct lb_dconf_backend *db;
	char *tail;
	__u32 j;

	for (j = 0; j < sv->nr_backends; j++) {
		db = lb_dconf_backend_find(d, &sv->key, sv->backends[j].addr, sv->backends[j].port);
		tail = NULL;
		if (db && db->check.text && asprintf(&tail, "check %s", db->check.text) < 0)
			return -ENOMEM;
		fprintf(f, "  ");
		lb_conf_write_backend(f, &sv->backends[j], db && db->resolve, tail);
		free(tail);
	}
	return 0;
}

int lb_dconf_write(FILE *f, const struct lb_dconf *d)
{
	char addr[LB_ADDR_STRLEN], mode[LB_NAME_STRLEN];
	const struct lb_dconf_vip *v;
	__u32 i;
	int ret;

	fprintf(f, "# udplbd configuration\n");
	fprintf(f, "device %s mode %s\n", d->device,
		lb_name_fmt(&dev_mode_names, d->mode, mode, sizeof(mode)));
	if (d->conf.has_seed)
		fprintf(f, "hash-seed %u\n", d->conf.hash_seed);
	if (d->has_metrics)
		fprintf(f, "metrics %s\n",
			lb_fmt_addr_port(d->metrics_addr, d->metrics_port, addr, sizeof(addr)));
	for (i = 0; i < d->conf.state.nr_vips; i++) {
		const struct lb_vip *sv = &d->conf.state.vips[i];

		lb_conf_write_vip(f, sv);
		v = lb_dconf_vip_find(d, &sv->key);
		if (v)
			write_vip_settings(f, v);
		ret = write_backends(f, d, sv);
		if (ret)
			return ret;
	}
	return fflush(f) || ferror(f) ? -EIO : 0;
}
