// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The model: a desired or live configuration (struct lb_state), kept sorted, and its add / set /
 * del / find operations, each checked against the rules of validate.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "internal.h"

static struct udplb_vip_key norm_key(const struct udplb_vip_key *key)
{
	struct udplb_vip_key k = *key;

	if (!k.proto)
		k.proto = IPPROTO_UDP;
	k.pad = 0;
	return k;
}

void lb_state_init(struct lb_state *s)
{
	memset(s, 0, sizeof(*s));
}

void lb_state_free(struct lb_state *s)
{
	__u32 i;

	if (!s)
		return;
	for (i = 0; i < s->nr_vips; i++)
		free(s->vips[i].backends);
	free(s->vips);
	memset(s, 0, sizeof(*s));
}

int lb_state_copy(struct lb_state *dst, const struct lb_state *src)
{
	struct lb_state d;
	__u32 i, n;

	lb_state_init(&d);
	if (!src->nr_vips) {
		*dst = d;
		return 0;
	}
	d.vips = calloc(src->nr_vips, sizeof(*d.vips));
	if (!d.vips)
		return -ENOMEM;
	d.cap_vips = src->nr_vips;
	for (i = 0; i < src->nr_vips; i++) {
		d.vips[i] = src->vips[i];
		d.vips[i].backends = NULL;
		d.vips[i].cap_backends = 0;
		d.vips[i].nr_backends = 0;
		d.nr_vips++;
		n = src->vips[i].nr_backends;
		if (!n)
			continue;
		d.vips[i].backends = malloc(n * sizeof(struct lb_backend));
		if (!d.vips[i].backends) {
			lb_state_free(&d);
			return -ENOMEM;
		}
		memcpy(d.vips[i].backends, src->vips[i].backends, n * sizeof(struct lb_backend));
		d.vips[i].nr_backends = n;
		d.vips[i].cap_backends = n;
	}
	*dst = d;
	return 0;
}

__u32 lb_state_nr_backends(const struct lb_state *s)
{
	__u32 i, n = 0;

	for (i = 0; i < s->nr_vips; i++)
		n += s->vips[i].nr_backends;
	return n;
}

/*
 * Binary search in a sorted array: where @key is (*found) or would be inserted. @cmp compares
 * an element with the key.
 */
static int vip_elem_cmp(const void *elem, const void *key)
{
	return lb_vip_key_cmp(&((const struct lb_vip *)elem)->key, key);
}

static __u32 vip_pos(const struct lb_state *s, const struct udplb_vip_key *key, bool *found)
{
	return lb_sorted_pos(s->vips, s->nr_vips, sizeof(*s->vips), key, vip_elem_cmp, found);
}

static int backend_elem_cmp(const void *elem, const void *key)
{
	const struct lb_backend *b = elem, *k = key;

	return lb_backend_ident_cmp(b->addr, b->port, k->addr, k->port);
}

static __u32 backend_pos(const struct lb_vip *v, __be32 addr, __be16 port, bool *found)
{
	struct lb_backend key = { .addr = addr, .port = port };

	return lb_sorted_pos(v->backends, v->nr_backends, sizeof(*v->backends), &key,
			     backend_elem_cmp, found);
}

struct lb_vip *lb_vip_find(const struct lb_state *s, const struct udplb_vip_key *key)
{
	struct udplb_vip_key k;
	bool found;
	__u32 pos;

	if (!s || !key)
		return NULL;
	k = norm_key(key);
	pos = vip_pos(s, &k, &found);
	return found ? &s->vips[pos] : NULL;
}

struct lb_backend *lb_backend_find(const struct lb_vip *v, __be32 addr, __be16 port)
{
	bool found;
	__u32 pos;

	if (!v)
		return NULL;
	pos = backend_pos(v, addr, port ? port : v->key.port, &found);
	return found ? &v->backends[pos] : NULL;
}

static struct lb_vip *find_vip_or_fail(const struct lb_state *s, const struct udplb_vip_key *key,
				       struct lb_err *err)
{
	struct udplb_vip_key k = norm_key(key);
	char name[LB_ADDR_STRLEN];
	struct lb_vip *v = lb_vip_find(s, &k);

	if (!v)
		lb_fail(err, -ENOENT, "no VIP %s", lb_fmt_vip(&k, name, sizeof(name)));
	return v;
}

/* The start of every change to a VIP or its backends: arguments given, the VIP known. */
static int vip_to_change(struct lb_state *s, const struct udplb_vip_key *key, bool given,
			 const char *what, struct lb_vip **v, struct lb_err *err)
{
	lb_err_clear(err);
	if (!s || !key || !given)
		return lb_fail(err, -EINVAL, "no %s given", what);
	*v = find_vip_or_fail(s, key, err);
	return *v ? 0 : -ENOENT;
}

static int check_ring_space(const struct lb_state *s, const struct lb_vip *old,
			    const struct lb_vip *v, struct lb_err *err)
{
	__u64 total = lb_ring_total(s) - (old ? old->ring_size : 0) + v->ring_size;
	char name[LB_ADDR_STRLEN];

	if (total <= UDPLB_RING_SLOTS)
		return 0;
	return lb_fail(err, -ENOSPC,
		       "VIP %s: a ring of %u slots does not fit: the rings would need %llu slots, "
		       "the ring map has %u",
		       lb_fmt_vip(&v->key, name, sizeof(name)), v->ring_size,
		       (unsigned long long)total, UDPLB_RING_SLOTS);
}

int lb_vip_add(struct lb_state *s, const struct lb_vip *vip, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN];
	struct lb_vip v;
	bool found;
	__u32 pos;
	int ret;

	lb_err_clear(err);
	if (!s || !vip)
		return lb_fail(err, -EINVAL, "no VIP given");
	memset(&v, 0, sizeof(v));
	v.key = norm_key(&vip->key);
	v.fwd = vip->fwd;
	v.hash_mode = vip->hash_mode;
	v.flags = vip->flags;
	v.ring_size = vip->ring_size ? vip->ring_size : UDPLB_RING_DEFAULT;
	ret = lb_check_vip(&v, err);
	if (ret)
		return ret;
	pos = vip_pos(s, &v.key, &found);
	if (found)
		return lb_fail(err, -EEXIST, "VIP %s already exists",
			       lb_fmt_vip(&v.key, name, sizeof(name)));
	if (s->nr_vips >= UDPLB_MAX_VIPS)
		return lb_fail(err, -ENOSPC, "VIP %s: the VIP table is full (%u VIPs)",
			       lb_fmt_vip(&v.key, name, sizeof(name)), UDPLB_MAX_VIPS);
	ret = check_ring_space(s, NULL, &v, err);
	if (ret)
		return ret;
	if (lb_grow((void **)&s->vips, &s->cap_vips, s->nr_vips + 1, sizeof(*s->vips)))
		return lb_fail(err, -ENOMEM, "out of memory");
	memmove(&s->vips[pos + 1], &s->vips[pos], (s->nr_vips - pos) * sizeof(*s->vips));
	s->vips[pos] = v;
	s->nr_vips++;
	return 0;
}

int lb_vip_set(struct lb_state *s, const struct lb_vip *vip, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN];
	struct lb_vip *cur, v;
	int ret;

	ret = vip_to_change(s, vip ? &vip->key : NULL, true, "VIP", &cur, err);
	if (ret)
		return ret;
	v = *cur;
	v.fwd = vip->fwd;
	v.hash_mode = vip->hash_mode;
	v.flags = vip->flags;
	if (vip->ring_size)
		v.ring_size = vip->ring_size;
	ret = lb_check_vip(&v, err);
	if (!ret)
		ret = check_ring_space(s, cur, &v, err);
	if (ret)
		return ret;
	if (v.nr_backends > v.ring_size)
		return lb_fail(err, -ENOSPC,
			       "VIP %s: its %u backends do not fit a ring of %u slots",
			       lb_fmt_vip(&v.key, name, sizeof(name)), v.nr_backends, v.ring_size);
	*cur = v;
	return 0;
}

int lb_vip_del(struct lb_state *s, const struct udplb_vip_key *key, struct lb_err *err)
{
	struct lb_vip *v;
	__u32 pos;
	int ret;

	ret = vip_to_change(s, key, true, "VIP", &v, err);
	if (ret)
		return ret;
	pos = v - s->vips;
	free(v->backends);
	memmove(&s->vips[pos], &s->vips[pos + 1], (s->nr_vips - pos - 1) * sizeof(*s->vips));
	s->nr_vips--;
	return 0;
}

/* The backend as lb_backend_add() and lb_backend_set() take it: defaults applied, id cleared. */
static struct lb_backend norm_backend(const struct lb_vip *v, const struct lb_backend *b)
{
	struct lb_backend nb = *b;

	if (!nb.port)
		nb.port = v->key.port;
	if (nb.state == UDPLB_BACKEND_FREE)
		nb.state = UDPLB_BACKEND_ACTIVE;
	if (!nb.has_mac)
		memset(nb.mac, 0, sizeof(nb.mac));
	nb.id = 0;
	return nb;
}

int lb_backend_add(struct lb_state *s, const struct udplb_vip_key *vip, const struct lb_backend *b,
		   struct lb_err *err)
{
	char name[LB_ADDR_STRLEN], vname[LB_ADDR_STRLEN];
	struct lb_backend nb;
	struct lb_vip *v;
	bool found;
	__u32 pos;
	int ret;

	ret = vip_to_change(s, vip, b != NULL, "backend", &v, err);
	if (ret)
		return ret;
	nb = norm_backend(v, b);
	ret = lb_check_backend(v, &nb, err);
	if (ret)
		return ret;
	lb_fmt_addr_port(nb.addr, nb.port, name, sizeof(name));
	lb_fmt_vip(&v->key, vname, sizeof(vname));
	pos = backend_pos(v, nb.addr, nb.port, &found);
	if (found)
		return lb_fail(err, -EEXIST, "backend %s is already in VIP %s", name, vname);
	if (lb_state_nr_backends(s) >= UDPLB_MAX_BACKENDS)
		return lb_fail(err, -ENOSPC, "backend %s of VIP %s: the backend table is full (%u)",
			       name, vname, UDPLB_MAX_BACKENDS);
	if (v->nr_backends + 1 > v->ring_size)
		return lb_fail(err, -ENOSPC,
			       "backend %s of VIP %s: %u backends would not fit its ring of %u "
			       "slots",
			       name, vname, v->nr_backends + 1, v->ring_size);
	if (lb_grow((void **)&v->backends, &v->cap_backends, v->nr_backends + 1,
		    sizeof(*v->backends)))
		return lb_fail(err, -ENOMEM, "out of memory");
	memmove(&v->backends[pos + 1], &v->backends[pos],
		(v->nr_backends - pos) * sizeof(*v->backends));
	v->backends[pos] = nb;
	v->nr_backends++;
	return 0;
}

static struct lb_backend *find_backend_or_fail(const struct lb_vip *v, __be32 addr, __be16 port,
					       struct lb_err *err)
{
	char name[LB_ADDR_STRLEN], vname[LB_ADDR_STRLEN];
	struct lb_backend *b = lb_backend_find(v, addr, port);

	if (!b)
		lb_fail(err, -ENOENT, "VIP %s has no backend %s",
			lb_fmt_vip(&v->key, vname, sizeof(vname)),
			lb_fmt_addr_port(addr, port ? port : v->key.port, name, sizeof(name)));
	return b;
}

int lb_backend_set(struct lb_state *s, const struct udplb_vip_key *vip, const struct lb_backend *b,
		   struct lb_err *err)
{
	struct lb_backend nb, *cur;
	struct lb_vip *v;
	int ret;

	ret = vip_to_change(s, vip, b != NULL, "backend", &v, err);
	if (ret)
		return ret;
	nb = norm_backend(v, b);
	cur = find_backend_or_fail(v, nb.addr, nb.port, err);
	if (!cur)
		return -ENOENT;
	ret = lb_check_backend(v, &nb, err);
	if (ret)
		return ret;
	*cur = nb;
	return 0;
}

int lb_backend_del(struct lb_state *s, const struct udplb_vip_key *vip, __be32 addr, __be16 port,
		   struct lb_err *err)
{
	struct lb_backend *b;
	struct lb_vip *v;
	__u32 pos;
	int ret;

	ret = vip_to_change(s, vip, true, "backend", &v, err);
	if (ret)
		return ret;
	b = find_backend_or_fail(v, addr, port, err);
	if (!b)
		return -ENOENT;
	pos = b - v->backends;
	memmove(&v->backends[pos], &v->backends[pos + 1],
		(v->nr_backends - pos - 1) * sizeof(*v->backends));
	v->nr_backends--;
	return 0;
}
