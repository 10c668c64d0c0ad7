// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udplb control plane (see lb.h): the configuration model, reading it back from the live maps,
 * and turning it into one libabmap transaction.
 *
 * lb_commit() in short: validate, take the group's writer lock (abmap_txn_begin()), read the live
 * VIP ids and backend slots, give every desired VIP and backend its id (kept if live, else the
 * lowest free one, in canonical order), build the four tables in full, compare them with the live
 * ones (equal: abort, nothing written), stage them and commit: one flip.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <abmap_fake.h>

#include "lb.h"
#include "maglev.h"

_Static_assert(UDPLB_NO_BACKEND == MAGLEV_NO_BACKEND, "ring filler must be the same value");
_Static_assert(sizeof(struct udplb_vip_key) == 8, "struct udplb_vip_key has padding");
_Static_assert(sizeof(struct udplb_vip) == 16, "struct udplb_vip has padding");
_Static_assert(sizeof(struct udplb_backend) == 20, "struct udplb_backend has padding");

/* lb_read(): attempts before giving up on a configuration that keeps flipping. */
#define LB_READ_TRIES 8

__attribute__((format(printf, 3, 4))) static int lb_fail(struct lb_err *err, int code,
							 const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	errno = -code;
	return code;
}

static void lb_err_clear(struct lb_err *err)
{
	if (err)
		err->msg[0] = '\0';
}

/* ---------------------------------------------------------------------------------------------
 * Formatting
 */

const char *lb_fmt_addr_port(__be32 addr, __be16 port, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = addr };

	if (!inet_ntop(AF_INET, &a, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, "%s:%u", ip, ntohs(port));
	return buf;
}

static const char *proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_TCP:
		return "tcp";
	default:
		return NULL;
	}
}

const char *lb_fmt_vip(const struct udplb_vip_key *key, char *buf, size_t len)
{
	char ap[LB_ADDR_STRLEN];
	const char *p = proto_name(key->proto);

	lb_fmt_addr_port(key->addr, key->port, ap, sizeof(ap));
	if (p)
		snprintf(buf, len, "%s/%s", ap, p);
	else
		snprintf(buf, len, "%s/%u", ap, key->proto);
	return buf;
}

static const char *fwd_name(__u8 fwd)
{
	return fwd == UDPLB_FWD_DSR ? "dsr" : fwd == UDPLB_FWD_IPIP ? "ipip" : "?";
}

static const char *hash_name(__u8 mode)
{
	return mode == UDPLB_HASH_5TUPLE ? "5tuple" : mode == UDPLB_HASH_SRC_IP ? "src-ip" : "?";
}

static const char *state_name(__u8 state)
{
	switch (state) {
	case UDPLB_BACKEND_ACTIVE:
		return "active";
	case UDPLB_BACKEND_DRAINING:
		return "draining";
	case UDPLB_BACKEND_FREE:
		return "free";
	default:
		return "?";
	}
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

/* ---------------------------------------------------------------------------------------------
 * Orders: VIPs by (addr, port, proto), backends by (addr, port), numerically (host order).
 */

static int cmp_u32(__u32 a, __u32 b)
{
	return a < b ? -1 : a > b;
}

static int vip_key_cmp(const struct udplb_vip_key *a, const struct udplb_vip_key *b)
{
	int c = cmp_u32(ntohl(a->addr), ntohl(b->addr));

	if (!c)
		c = cmp_u32(ntohs(a->port), ntohs(b->port));
	if (!c)
		c = cmp_u32(a->proto, b->proto);
	return c;
}

static int backend_ident_cmp(__be32 a_addr, __be16 a_port, __be32 b_addr, __be16 b_port)
{
	int c = cmp_u32(ntohl(a_addr), ntohl(b_addr));

	return c ? c : cmp_u32(ntohs(a_port), ntohs(b_port));
}

static int vip_ptr_cmp(const void *pa, const void *pb)
{
	const struct lb_vip *a = *(const struct lb_vip *const *)pa;
	const struct lb_vip *b = *(const struct lb_vip *const *)pb;

	return vip_key_cmp(&a->key, &b->key);
}

static int backend_ptr_cmp(const void *pa, const void *pb)
{
	const struct lb_backend *a = *(const struct lb_backend *const *)pa;
	const struct lb_backend *b = *(const struct lb_backend *const *)pb;

	return backend_ident_cmp(a->addr, a->port, b->addr, b->port);
}

static int vip_cmp(const void *pa, const void *pb)
{
	return vip_key_cmp(&((const struct lb_vip *)pa)->key, &((const struct lb_vip *)pb)->key);
}

static int backend_cmp(const void *pa, const void *pb)
{
	const struct lb_backend *a = pa, *b = pb;

	return backend_ident_cmp(a->addr, a->port, b->addr, b->port);
}

/* Pointers to the @n elements of @base, sorted by @cmp (one spare slot, so n may be 0). */
static const void **sorted_ptrs(const void *base, __u32 n, size_t size,
				int (*cmp)(const void *, const void *))
{
	const void **p = malloc((n + 1) * sizeof(*p));
	__u32 i;

	if (!p)
		return NULL;
	for (i = 0; i < n; i++)
		p[i] = (const __u8 *)base + (size_t)i * size;
	qsort(p, n, sizeof(*p), cmp);
	return p;
}

/* VIPs of @s sorted, whatever order the state is in (states may be built by hand). */
static const struct lb_vip **sorted_vips(const struct lb_state *s)
{
	return (const struct lb_vip **)sorted_ptrs(s->vips, s->nr_vips, sizeof(*s->vips),
						   vip_ptr_cmp);
}

static const struct lb_backend **sorted_backends(const struct lb_vip *vip)
{
	return (const struct lb_backend **)sorted_ptrs(vip->backends, vip->nr_backends,
						       sizeof(*vip->backends), backend_ptr_cmp);
}

/* ---------------------------------------------------------------------------------------------
 * Validation
 */

static bool addr_ok(__be32 addr)
{
	__u32 h = ntohl(addr);

	/* 0.0.0.0, 255.255.255.255 and multicast cannot be load-balanced unicast UDP. */
	return h && h != 0xffffffffU && (h >> 28) != 0xe;
}

static struct udplb_vip_key norm_key(const struct udplb_vip_key *key)
{
	struct udplb_vip_key k = *key;

	if (!k.proto)
		k.proto = IPPROTO_UDP;
	k.pad = 0;
	return k;
}

static int check_vip(const struct lb_vip *v, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN];

	lb_fmt_vip(&v->key, name, sizeof(name));
	if (!addr_ok(v->key.addr))
		return lb_fail(err, -EINVAL, "VIP %s: not a unicast address", name);
	if (!v->key.port)
		return lb_fail(err, -EINVAL, "VIP %s: port 0", name);
	if (v->key.proto != IPPROTO_UDP)
		return lb_fail(err, -EINVAL, "VIP %s: protocol %u is not UDP", name, v->key.proto);
	if (v->key.pad)
		return lb_fail(err, -EINVAL, "VIP %s: key padding is not zero", name);
	if (v->fwd != UDPLB_FWD_DSR && v->fwd != UDPLB_FWD_IPIP)
		return lb_fail(err, -EINVAL, "VIP %s: unknown forwarding mode %u (dsr or ipip)",
			       name, v->fwd);
	if (v->hash_mode != UDPLB_HASH_5TUPLE && v->hash_mode != UDPLB_HASH_SRC_IP)
		return lb_fail(err, -EINVAL, "VIP %s: unknown hash mode %u (5tuple or src-ip)",
			       name, v->hash_mode);
	if (v->flags & ~(UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID))
		return lb_fail(err, -EINVAL, "VIP %s: unknown flags %#x", name, v->flags);
	if (!maglev_is_prime(v->ring_size))
		return lb_fail(err, -EINVAL, "VIP %s: ring size %u is not a prime (e.g. %u)", name,
			       v->ring_size, UDPLB_RING_DEFAULT);
	if (v->ring_size > UDPLB_RING_SLOTS)
		return lb_fail(err, -EINVAL,
			       "VIP %s: ring size %u is larger than the ring map (%u)", name,
			       v->ring_size, UDPLB_RING_SLOTS);
	return 0;
}

static int check_backend(const struct lb_vip *v, const struct lb_backend *b, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN], vname[LB_ADDR_STRLEN];

	lb_fmt_addr_port(b->addr, b->port, name, sizeof(name));
	lb_fmt_vip(&v->key, vname, sizeof(vname));
	if (!addr_ok(b->addr))
		return lb_fail(err, -EINVAL, "backend %s of VIP %s: not a unicast address", name,
			       vname);
	if (b->port != v->key.port)
		return lb_fail(err, -EINVAL,
			       "backend %s of VIP %s: port %u differs from the VIP's port %u (dsr "
			       "and ipip do not rewrite ports)",
			       name, vname, ntohs(b->port), ntohs(v->key.port));
	if (!b->weight)
		return lb_fail(err, -EINVAL,
			       "backend %s of VIP %s: weight 0 (1..65535; drain a backend to stop "
			       "new flows)",
			       name, vname);
	if (b->state != UDPLB_BACKEND_ACTIVE && b->state != UDPLB_BACKEND_DRAINING)
		return lb_fail(err, -EINVAL, "backend %s of VIP %s: bad state %u", name, vname,
			       b->state);
	return 0;
}

static __u64 ring_total(const struct lb_state *s)
{
	__u64 total = 0;
	__u32 i;

	for (i = 0; i < s->nr_vips; i++)
		total += s->vips[i].ring_size;
	return total;
}

int lb_state_validate(const struct lb_state *s, struct lb_err *err)
{
	const struct lb_backend **bs = NULL;
	const struct lb_vip **vs;
	char name[LB_ADDR_STRLEN], bname[LB_ADDR_STRLEN];
	__u64 total;
	__u32 i, j;
	int ret = 0;

	lb_err_clear(err);
	if (!s || (s->nr_vips && !s->vips))
		return lb_fail(err, -EINVAL, "no configuration");
	if (s->nr_vips > UDPLB_MAX_VIPS)
		return lb_fail(err, -ENOSPC, "%u VIPs, more than the %u the VIP table holds",
			       s->nr_vips, UDPLB_MAX_VIPS);
	total = lb_state_nr_backends(s);
	if (total > UDPLB_MAX_BACKENDS)
		return lb_fail(err, -ENOSPC,
			       "%llu backends, more than the %u the backend table holds",
			       (unsigned long long)total, UDPLB_MAX_BACKENDS);
	total = ring_total(s);
	if (total > UDPLB_RING_SLOTS)
		return lb_fail(err, -ENOSPC,
			       "the VIPs' rings need %llu slots, more than the %u of the ring map",
			       (unsigned long long)total, UDPLB_RING_SLOTS);
	vs = sorted_vips(s);
	if (!vs)
		return lb_fail(err, -ENOMEM, "out of memory");
	for (i = 0; !ret && i < s->nr_vips; i++) {
		const struct lb_vip *v = vs[i];

		lb_fmt_vip(&v->key, name, sizeof(name));
		ret = check_vip(v, err);
		if (!ret && i && !vip_key_cmp(&vs[i - 1]->key, &v->key))
			ret = lb_fail(err, -EEXIST, "VIP %s is configured twice", name);
		if (!ret && v->nr_backends && !v->backends)
			ret = lb_fail(err, -EINVAL, "VIP %s: backend list missing", name);
		if (!ret && v->nr_backends > v->ring_size)
			ret = lb_fail(err, -ENOSPC,
				      "VIP %s: %u backends do not fit its ring of %u slots", name,
				      v->nr_backends, v->ring_size);
		if (ret)
			break;
		bs = sorted_backends(v);
		if (!bs) {
			ret = lb_fail(err, -ENOMEM, "out of memory");
			break;
		}
		for (j = 0; !ret && j < v->nr_backends; j++) {
			ret = check_backend(v, bs[j], err);
			if (!ret && j && !backend_ptr_cmp(&bs[j - 1], &bs[j]))
				ret = lb_fail(err, -EEXIST, "backend %s appears twice in VIP %s",
					      lb_fmt_addr_port(bs[j]->addr, bs[j]->port, bname,
							       sizeof(bname)),
					      name);
		}
		free(bs);
	}
	free(vs);
	return ret;
}

/* ---------------------------------------------------------------------------------------------
 * The model
 */

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

/* Index of @key in the sorted VIPs, or where it would be inserted (*found false). */
/*
 * Binary search in a sorted array: where @key is (*found) or would be inserted. @cmp compares
 * an element with the key.
 */
static __u32 sorted_pos(const void *base, __u32 n, size_t size, const void *key,
			int (*cmp)(const void *elem, const void *key), bool *found)
{
	__u32 lo = 0, hi = n;

	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;
		int c = cmp((const __u8 *)base + (size_t)mid * size, key);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int vip_elem_cmp(const void *elem, const void *key)
{
	return vip_key_cmp(&((const struct lb_vip *)elem)->key, key);
}

static __u32 vip_pos(const struct lb_state *s, const struct udplb_vip_key *key, bool *found)
{
	return sorted_pos(s->vips, s->nr_vips, sizeof(*s->vips), key, vip_elem_cmp, found);
}

static int backend_elem_cmp(const void *elem, const void *key)
{
	const struct lb_backend *b = elem, *k = key;

	return backend_ident_cmp(b->addr, b->port, k->addr, k->port);
}

static __u32 backend_pos(const struct lb_vip *v, __be32 addr, __be16 port, bool *found)
{
	struct lb_backend key = { .addr = addr, .port = port };

	return sorted_pos(v->backends, v->nr_backends, sizeof(*v->backends), &key, backend_elem_cmp,
			  found);
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

static int grow(void **arr, __u32 *cap, __u32 need, size_t elem)
{
	__u32 ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap < need)
		ncap = need;
	p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
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

static int check_ring_space(const struct lb_state *s, const struct lb_vip *old,
			    const struct lb_vip *v, struct lb_err *err)
{
	__u64 total = ring_total(s) - (old ? old->ring_size : 0) + v->ring_size;
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
	ret = check_vip(&v, err);
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
	if (grow((void **)&s->vips, &s->cap_vips, s->nr_vips + 1, sizeof(*s->vips)))
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

	lb_err_clear(err);
	if (!s || !vip)
		return lb_fail(err, -EINVAL, "no VIP given");
	cur = find_vip_or_fail(s, &vip->key, err);
	if (!cur)
		return -ENOENT;
	v = *cur;
	v.fwd = vip->fwd;
	v.hash_mode = vip->hash_mode;
	v.flags = vip->flags;
	if (vip->ring_size)
		v.ring_size = vip->ring_size;
	ret = check_vip(&v, err);
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

	lb_err_clear(err);
	if (!s || !key)
		return lb_fail(err, -EINVAL, "no VIP given");
	v = find_vip_or_fail(s, key, err);
	if (!v)
		return -ENOENT;
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

	lb_err_clear(err);
	if (!s || !vip || !b)
		return lb_fail(err, -EINVAL, "no backend given");
	v = find_vip_or_fail(s, vip, err);
	if (!v)
		return -ENOENT;
	nb = norm_backend(v, b);
	ret = check_backend(v, &nb, err);
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
	if (grow((void **)&v->backends, &v->cap_backends, v->nr_backends + 1, sizeof(*v->backends)))
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

	lb_err_clear(err);
	if (!s || !vip || !b)
		return lb_fail(err, -EINVAL, "no backend given");
	v = find_vip_or_fail(s, vip, err);
	if (!v)
		return -ENOENT;
	nb = norm_backend(v, b);
	cur = find_backend_or_fail(v, nb.addr, nb.port, err);
	if (!cur)
		return -ENOENT;
	ret = check_backend(v, &nb, err);
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

	lb_err_clear(err);
	if (!s || !vip)
		return lb_fail(err, -EINVAL, "no backend given");
	v = find_vip_or_fail(s, vip, err);
	if (!v)
		return -ENOENT;
	b = find_backend_or_fail(v, addr, port, err);
	if (!b)
		return -ENOENT;
	pos = b - v->backends;
	memmove(&v->backends[pos], &v->backends[pos + 1],
		(v->nr_backends - pos - 1) * sizeof(*v->backends));
	v->nr_backends--;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Maps
 */

static int check_maps(const struct lb_maps *m, struct lb_err *err)
{
	if (!m || !m->group || !m->vips || !m->vip_filter || !m->backends || !m->ring)
		return lb_fail(err, -EINVAL, "the udplb maps are not attached");
	if (abmap_key_size(m->vips) != sizeof(struct udplb_vip_key) ||
	    abmap_value_size(m->vips) != sizeof(struct udplb_vip))
		return lb_fail(err, -EINVAL,
			       "the vips map has key/value sizes %u/%u, expected %zu/%zu",
			       abmap_key_size(m->vips), abmap_value_size(m->vips),
			       sizeof(struct udplb_vip_key), sizeof(struct udplb_vip));
	if (abmap_value_size(m->vip_filter) != sizeof(__u64) ||
	    abmap_max_entries(m->vip_filter) < UDPLB_FILTER_WORDS)
		return lb_fail(
			err, -EINVAL,
			"the vip_filter map has %u entries of %u bytes, expected >= %u of %zu",
			abmap_max_entries(m->vip_filter), abmap_value_size(m->vip_filter),
			UDPLB_FILTER_WORDS, sizeof(__u64));
	if (abmap_value_size(m->backends) != sizeof(struct udplb_backend))
		return lb_fail(err, -EINVAL,
			       "the backends map has values of %u bytes, expected %zu",
			       abmap_value_size(m->backends), sizeof(struct udplb_backend));
	if (abmap_value_size(m->ring) != sizeof(__u32))
		return lb_fail(err, -EINVAL, "the ring map has values of %u bytes, expected %zu",
			       abmap_value_size(m->ring), sizeof(__u32));
	return 0;
}

int lb_maps_open(struct lb_maps *maps, const struct lb_map_fds *fds,
		 const struct abmap_group_opts *opts)
{
	struct lb_maps m;
	int err;

	if (!maps || !fds)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.group = abmap_group_new(fds->ptr, opts);
	if (!m.group)
		return -errno;
	m.vips = abmap_new(m.group, ABMAP_KIND_HASH, fds->vips[0], fds->vips[1], NULL);
	if (m.vips)
		m.vip_filter = abmap_new(m.group, ABMAP_KIND_ARRAY, fds->vip_filter[0],
					 fds->vip_filter[1], NULL);
	if (m.vip_filter)
		m.backends = abmap_new(m.group, ABMAP_KIND_ARRAY, fds->backends[0],
				       fds->backends[1], NULL);
	if (m.backends)
		m.ring = abmap_new(m.group, ABMAP_KIND_ARRAY, fds->ring[0], fds->ring[1], NULL);
	err = m.ring ? check_maps(&m, NULL) : -errno;
	if (err) {
		abmap_group_free(m.group);
		return err;
	}
	*maps = m;
	return 0;
}

int lb_maps_fake(struct lb_maps *maps)
{
	struct lb_maps m;

	if (!maps)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.group = abmap_fake_group_new(NULL);
	if (!m.group)
		return -errno;
	m.vips = abmap_fake_hash_new(m.group, sizeof(struct udplb_vip_key),
				     sizeof(struct udplb_vip), UDPLB_MAX_VIPS);
	m.vip_filter = abmap_fake_array_new(m.group, sizeof(__u64), UDPLB_FILTER_WORDS, 0);
	m.backends =
		abmap_fake_array_new(m.group, sizeof(struct udplb_backend), UDPLB_MAX_BACKENDS, 0);
	m.ring = abmap_fake_array_new(m.group, sizeof(__u32), UDPLB_RING_SLOTS, 0);
	if (!m.vips || !m.vip_filter || !m.backends || !m.ring) {
		int err = -errno;

		abmap_group_free(m.group);
		return err ? err : -ENOMEM;
	}
	*maps = m;
	return 0;
}

void lb_maps_close(struct lb_maps *maps)
{
	if (!maps)
		return;
	abmap_group_free(maps->group);
	memset(maps, 0, sizeof(*maps));
}

/* ---------------------------------------------------------------------------------------------
 * The live tables
 */

struct live {
	__u32 nr_vips;
	struct udplb_vip_key *keys;
	struct udplb_vip *vals;
	__u32 nr_slots; /* backend slots read: the array's length, at most max_entries */
	struct udplb_backend *slots;
};

static void live_free(struct live *l)
{
	free(l->keys);
	free(l->vals);
	free(l->slots);
	memset(l, 0, sizeof(*l));
}

/* Every live VIP. -EAGAIN if the key walk does not end (a flip restarted it). */
static int live_read_vips(struct lb_maps *m, struct live *l, struct lb_err *err)
{
	__u32 max = abmap_max_entries(m->vips), n = 0;
	struct udplb_vip_key *prev = NULL;
	int ret;

	l->keys = calloc(max + 1, sizeof(*l->keys));
	l->vals = calloc(max + 1, sizeof(*l->vals));
	if (!l->keys || !l->vals)
		return lb_fail(err, -ENOMEM, "out of memory");
	for (;;) {
		if (n > max)
			return -EAGAIN;
		ret = abmap_next_key(m->vips, prev, &l->keys[n]);
		if (ret == -ENOENT)
			break;
		if (ret)
			return lb_fail(err, ret, "reading the VIP keys: %s", strerror(-ret));
		ret = abmap_get(m->vips, &l->keys[n], &l->vals[n]);
		if (ret == -ENOENT)
			return -EAGAIN; /* the side flipped under us */
		if (ret)
			return lb_fail(err, ret, "reading a VIP: %s", strerror(-ret));
		prev = &l->keys[n];
		n++;
	}
	l->nr_vips = n;
	return 0;
}

static int live_read_slots(struct lb_maps *m, struct live *l, struct lb_err *err)
{
	__u32 max = abmap_max_entries(m->backends), len, i;
	int ret;

	ret = abmap_array_len(m->backends, &len);
	if (ret)
		return lb_fail(err, ret, "reading the backend table's length: %s", strerror(-ret));
	if (len > max)
		len = max;
	l->slots = calloc(len + 1, sizeof(*l->slots));
	if (!l->slots)
		return lb_fail(err, -ENOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		ret = abmap_array_get(m->backends, i, &l->slots[i]);
		if (ret == -ENOENT)
			return -EAGAIN; /* shortened by a flip */
		if (ret)
			return lb_fail(err, ret, "reading backend slot %u: %s", i, strerror(-ret));
	}
	l->nr_slots = len;
	return 0;
}

static int live_read(struct lb_maps *m, struct live *l, struct lb_err *err)
{
	int ret;

	memset(l, 0, sizeof(*l));
	ret = live_read_vips(m, l, err);
	if (!ret)
		ret = live_read_slots(m, l, err);
	if (ret)
		live_free(l);
	return ret;
}

/* Index of the live VIP with id @id, or -1. */
static long live_vip_by_id(const struct live *l, __u32 id)
{
	__u32 i;

	for (i = 0; i < l->nr_vips; i++) {
		if (l->vals[i].id == id)
			return i;
	}
	return -1;
}

static long live_vip_by_key(const struct live *l, const struct udplb_vip_key *key)
{
	__u32 i;

	for (i = 0; i < l->nr_vips; i++) {
		if (!memcmp(&l->keys[i], key, sizeof(*key)))
			return i;
	}
	return -1;
}

/* The live tables as a model (lb_read()). */
static int live_to_state(const struct live *l, struct lb_state *out, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN], bname[LB_ADDR_STRLEN];
	struct lb_state s;
	__u32 i;

	lb_state_init(&s);
	if (l->nr_vips) {
		s.vips = calloc(l->nr_vips, sizeof(*s.vips));
		if (!s.vips)
			return lb_fail(err, -ENOMEM, "out of memory");
		s.cap_vips = l->nr_vips;
	}
	for (i = 0; i < l->nr_vips; i++) {
		struct lb_vip *v = &s.vips[i];

		v->key = l->keys[i];
		v->id = l->vals[i].id;
		v->fwd = l->vals[i].fwd;
		v->hash_mode = l->vals[i].hash_mode;
		v->flags = l->vals[i].flags;
		v->ring_off = l->vals[i].ring_off;
		v->ring_size = l->vals[i].ring_size;
		if (live_vip_by_id(l, v->id) != i) {
			__u32 id = v->id;

			lb_fmt_vip(&v->key, name, sizeof(name));
			s.nr_vips = i;
			lb_state_free(&s);
			return lb_fail(err, -EUCLEAN, "VIP %s: id %u is used twice", name, id);
		}
		s.nr_vips = i + 1;
	}
	if (s.nr_vips)
		qsort(s.vips, s.nr_vips, sizeof(*s.vips), vip_cmp);
	for (i = 0; i < l->nr_slots; i++) {
		const struct udplb_backend *e = &l->slots[i];
		struct lb_backend *b;
		struct lb_vip *v = NULL;
		__u32 j;

		if (e->state == UDPLB_BACKEND_FREE)
			continue;
		lb_fmt_addr_port(e->addr, e->port, bname, sizeof(bname));
		for (j = 0; j < s.nr_vips && !v; j++) {
			if (s.vips[j].id == e->vip_id)
				v = &s.vips[j];
		}
		if (!v) {
			lb_state_free(&s);
			return lb_fail(err, -EUCLEAN,
				       "backend slot %u (%s) belongs to VIP id %u, "
				       "which is not configured",
				       i, bname, e->vip_id);
		}
		if (e->state != UDPLB_BACKEND_ACTIVE && e->state != UDPLB_BACKEND_DRAINING) {
			lb_fmt_vip(&v->key, name, sizeof(name));
			lb_state_free(&s);
			return lb_fail(err, -EUCLEAN,
				       "backend slot %u (%s of VIP %s): bad state %u", i, bname,
				       name, e->state);
		}
		if (grow((void **)&v->backends, &v->cap_backends, v->nr_backends + 1,
			 sizeof(*v->backends))) {
			lb_state_free(&s);
			return lb_fail(err, -ENOMEM, "out of memory");
		}
		b = &v->backends[v->nr_backends++];
		memset(b, 0, sizeof(*b));
		b->addr = e->addr;
		b->port = e->port;
		b->weight = e->weight;
		b->state = e->state;
		b->has_mac = e->flags & UDPLB_BACKEND_F_MAC;
		if (b->has_mac)
			memcpy(b->mac, e->mac, sizeof(b->mac));
		b->id = i;
	}
	for (i = 0; i < s.nr_vips; i++) {
		struct lb_vip *v = &s.vips[i];
		__u32 j;

		if (v->nr_backends)
			qsort(v->backends, v->nr_backends, sizeof(*v->backends), backend_cmp);
		for (j = 1; j < v->nr_backends; j++) {
			if (backend_cmp(&v->backends[j - 1], &v->backends[j]))
				continue;
			lb_fmt_addr_port(v->backends[j].addr, v->backends[j].port, bname,
					 sizeof(bname));
			lb_fmt_vip(&v->key, name, sizeof(name));
			lb_state_free(&s);
			return lb_fail(err, -EUCLEAN, "backend %s of VIP %s has two slots", bname,
				       name);
		}
	}
	*out = s;
	return 0;
}

int lb_read(struct lb_maps *maps, struct lb_state *out, struct lb_err *err)
{
	__u64 gen0, gen1;
	struct live l;
	int ret, tries;

	lb_err_clear(err);
	if (!out)
		return lb_fail(err, -EINVAL, "no output state");
	lb_state_init(out);
	ret = check_maps(maps, err);
	if (ret)
		return ret;
	for (tries = 0; tries < LB_READ_TRIES; tries++) {
		ret = abmap_group_generation(maps->group, &gen0);
		if (ret)
			return lb_fail(err, ret, "reading the generation: %s", strerror(-ret));
		ret = live_read(maps, &l, err);
		if (ret && ret != -EAGAIN)
			return ret;
		if (!ret) {
			ret = abmap_group_generation(maps->group, &gen1);
			if (ret) {
				live_free(&l);
				return lb_fail(err, ret, "reading the generation: %s",
					       strerror(-ret));
			}
			/* The live side is rewritten only after a flip away from it. */
			if (gen0 == gen1) {
				ret = live_to_state(&l, out, err);
				live_free(&l);
				return ret;
			}
			live_free(&l);
		}
	}
	return lb_fail(err, -EAGAIN, "the configuration kept changing while being read");
}

/* ---------------------------------------------------------------------------------------------
 * Commit
 */

/* The four tables of a configuration. */
struct plan {
	__u32 nr_vips;
	struct udplb_vip_key *keys; /* sorted */
	struct udplb_vip *vals;
	__u32 nr_words;
	__u64 *filter;
	__u32 nr_slots;
	struct udplb_backend *slots;
	__u32 ring_len;
	__u32 *ring;
};

static void plan_free(struct plan *p)
{
	free(p->keys);
	free(p->vals);
	free(p->filter);
	free(p->slots);
	free(p->ring);
	memset(p, 0, sizeof(*p));
}

/* A live backend slot, sorted by identity to find kept backends. */
struct live_slot {
	__u32 vip_id;
	__be32 addr;
	__be16 port;
	__u32 slot;
};

static int live_slot_cmp(const void *pa, const void *pb)
{
	const struct live_slot *a = pa, *b = pb;
	int c = cmp_u32(a->vip_id, b->vip_id);

	if (!c)
		c = backend_ident_cmp(a->addr, a->port, b->addr, b->port);
	return c ? c : cmp_u32(a->slot, b->slot);
}

static long live_slot_find(const struct live_slot *ls, __u32 n, __u32 vip_id, __be32 addr,
			   __be16 port)
{
	__u32 lo = 0, hi = n;

	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;
		int c = cmp_u32(ls[mid].vip_id, vip_id);

		if (!c)
			c = backend_ident_cmp(ls[mid].addr, ls[mid].port, addr, port);
		if (!c) {
			/* The first of equal identities (a duplicate is left to be freed). */
			while (mid > lo && !cmp_u32(ls[mid - 1].vip_id, vip_id) &&
			       !backend_ident_cmp(ls[mid - 1].addr, ls[mid - 1].port, addr, port))
				mid--;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Lowest i >= *from with !used[i], or n; ids are handed out in increasing order. */
static __u32 lowest_free(const bool *used, __u32 n, __u32 *from)
{
	__u32 i;

	for (i = *from; i < n && used[i]; i++)
		;
	*from = i;
	return i;
}

struct build {
	const struct lb_vip **vips;	/* desired VIPs, sorted */
	const struct lb_backend ***bes; /* their backends, sorted */
	__u32 *vip_ids;			/* per sorted VIP */
	__u32 **be_ids;			/* per sorted backend */
	struct maglev_backend *mb;	/* scratch for maglev_build() */
};

static void build_free(struct build *b, __u32 nr_vips)
{
	__u32 i;

	for (i = 0; i < nr_vips; i++) {
		if (b->bes)
			free(b->bes[i]);
		if (b->be_ids)
			free(b->be_ids[i]);
	}
	free(b->vips);
	free(b->bes);
	free(b->vip_ids);
	free(b->be_ids);
	free(b->mb);
	memset(b, 0, sizeof(*b));
}

/* Ids: kept when live, else the lowest free, in canonical order. */
static int assign_ids(struct build *b, __u32 nr_vips, const struct live *l, __u32 max_slots,
		      struct lb_err *err)
{
	struct live_slot *ls = NULL;
	bool vip_used[UDPLB_MAX_VIPS] = { false };
	long *live_idx = NULL;
	bool *slot_used = NULL;
	__u32 nls = 0, i, j, vip_from = 0, slot_from = 0;
	int ret = 0;

	live_idx = calloc(nr_vips + 1, sizeof(*live_idx));
	slot_used = calloc(max_slots + 1, sizeof(*slot_used));
	ls = calloc(l->nr_slots + 1, sizeof(*ls));
	if (!live_idx || !slot_used || !ls) {
		ret = lb_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* VIPs that are live keep their id. */
	for (i = 0; i < nr_vips; i++) {
		long k = live_vip_by_key(l, &b->vips[i]->key);
		__u32 id = k >= 0 ? l->vals[k].id : UDPLB_MAX_VIPS;

		live_idx[i] = -1;
		if (k >= 0 && id < UDPLB_MAX_VIPS && !vip_used[id]) {
			vip_used[id] = true;
			b->vip_ids[i] = id;
			live_idx[i] = k;
		}
	}
	for (i = 0; i < nr_vips; i++) {
		if (live_idx[i] >= 0)
			continue;
		b->vip_ids[i] = lowest_free(vip_used, UDPLB_MAX_VIPS, &vip_from);
		vip_used[b->vip_ids[i]] = true; /* nr_vips <= UDPLB_MAX_VIPS: always found */
	}
	/* Live backend slots of live VIPs, by identity. */
	for (i = 0; i < l->nr_slots && i < max_slots; i++) {
		const struct udplb_backend *e = &l->slots[i];

		if (e->state == UDPLB_BACKEND_FREE)
			continue;
		ls[nls].vip_id = e->vip_id;
		ls[nls].addr = e->addr;
		ls[nls].port = e->port;
		ls[nls].slot = i;
		nls++;
	}
	qsort(ls, nls, sizeof(*ls), live_slot_cmp);
	for (i = 0; i < nr_vips; i++) {
		for (j = 0; j < b->vips[i]->nr_backends; j++) {
			const struct lb_backend *be = b->bes[i][j];
			long k;

			b->be_ids[i][j] = UDPLB_NO_BACKEND;
			if (live_idx[i] < 0)
				continue;
			k = live_slot_find(ls, nls, b->vip_ids[i], be->addr, be->port);
			if (k >= 0 && !slot_used[ls[k].slot]) {
				slot_used[ls[k].slot] = true;
				b->be_ids[i][j] = ls[k].slot;
			}
		}
	}
	for (i = 0; i < nr_vips; i++) {
		for (j = 0; j < b->vips[i]->nr_backends; j++) {
			__u32 id;

			if (b->be_ids[i][j] != UDPLB_NO_BACKEND)
				continue;
			id = lowest_free(slot_used, max_slots, &slot_from);
			if (id >= max_slots) {
				char name[LB_ADDR_STRLEN];

				ret = lb_fail(
					err, -ENOSPC,
					"VIP %s: no free backend slot (the backend map has %u)",
					lb_fmt_vip(&b->vips[i]->key, name, sizeof(name)),
					max_slots);
				goto out;
			}
			slot_used[id] = true;
			b->be_ids[i][j] = id;
		}
	}
out:
	free(live_idx);
	free(slot_used);
	free(ls);
	return ret;
}

static int make_plan(struct lb_maps *m, const struct lb_state *desired, const struct live *l,
		     __u32 seed, struct plan *p, struct lb_err *err)
{
	__u32 max_slots = abmap_max_entries(m->backends), max_ring = abmap_max_entries(m->ring);
	__u32 nr = desired->nr_vips, i, j, off = 0, nmb;
	struct build b;
	__u64 total;
	int ret;

	memset(p, 0, sizeof(*p));
	memset(&b, 0, sizeof(b));
	if (max_slots > UDPLB_MAX_BACKENDS)
		max_slots = UDPLB_MAX_BACKENDS;
	if (max_ring > UDPLB_RING_SLOTS)
		max_ring = UDPLB_RING_SLOTS;
	if (nr > abmap_max_entries(m->vips))
		return lb_fail(err, -ENOSPC, "%u VIPs do not fit the VIP map (%u entries)", nr,
			       abmap_max_entries(m->vips));
	if (lb_state_nr_backends(desired) > max_slots)
		return lb_fail(err, -ENOSPC, "%u backends do not fit the backend map (%u entries)",
			       lb_state_nr_backends(desired), max_slots);
	total = ring_total(desired);
	if (total > max_ring)
		return lb_fail(err, -ENOSPC, "the rings need %llu slots, the ring map has %u",
			       (unsigned long long)total, max_ring);

	b.vips = sorted_vips(desired);
	b.bes = calloc(nr + 1, sizeof(*b.bes));
	b.vip_ids = calloc(nr + 1, sizeof(*b.vip_ids));
	b.be_ids = calloc(nr + 1, sizeof(*b.be_ids));
	b.mb = calloc(lb_state_nr_backends(desired) + 1, sizeof(*b.mb));
	p->nr_vips = nr;
	p->keys = calloc(nr + 1, sizeof(*p->keys));
	p->vals = calloc(nr + 1, sizeof(*p->vals));
	p->nr_words = abmap_max_entries(m->vip_filter);
	p->filter = calloc(p->nr_words, sizeof(*p->filter));
	p->nr_slots = abmap_max_entries(m->backends);
	p->slots = calloc(p->nr_slots, sizeof(*p->slots));
	p->ring_len = (__u32)total;
	p->ring = malloc(((size_t)total + 1) * sizeof(*p->ring));
	ret = b.vips && b.bes && b.vip_ids && b.be_ids && b.mb && p->keys && p->vals && p->filter &&
			      p->slots && p->ring ?
		      0 :
		      -ENOMEM;
	for (i = 0; !ret && i < nr; i++) {
		b.bes[i] = sorted_backends(b.vips[i]);
		b.be_ids[i] = calloc(b.vips[i]->nr_backends + 1, sizeof(**b.be_ids));
		if (!b.bes[i] || !b.be_ids[i])
			ret = -ENOMEM;
	}
	if (ret) {
		ret = lb_fail(err, ret, "out of memory");
		goto out;
	}
	ret = assign_ids(&b, nr, l, max_slots, err);
	if (ret)
		goto out;

	for (i = 0; i < nr; i++) {
		const struct lb_vip *v = b.vips[i];
		__u32 bit = udplb_filter_bit(v->key.addr, v->key.port);

		p->keys[i] = v->key;
		p->vals[i].id = b.vip_ids[i];
		p->vals[i].fwd = v->fwd;
		p->vals[i].hash_mode = v->hash_mode;
		p->vals[i].flags = v->flags;
		p->vals[i].ring_off = off;
		p->vals[i].ring_size = v->ring_size;
		p->filter[bit / 64] |= 1ULL << (bit % 64);

		for (j = 0, nmb = 0; j < v->nr_backends; j++) {
			const struct lb_backend *be = b.bes[i][j];
			struct udplb_backend *e = &p->slots[b.be_ids[i][j]];

			e->addr = be->addr;
			e->port = be->port;
			e->weight = be->weight;
			if (be->has_mac) {
				memcpy(e->mac, be->mac, sizeof(e->mac));
				e->flags |= UDPLB_BACKEND_F_MAC;
			}
			e->state = be->state;
			e->vip_id = b.vip_ids[i];
			if (be->state != UDPLB_BACKEND_ACTIVE)
				continue;
			b.mb[nmb].addr = be->addr;
			b.mb[nmb].port = be->port;
			b.mb[nmb].weight = be->weight;
			b.mb[nmb].id = b.be_ids[i][j];
			nmb++;
		}
		/* No active backend: every slot UDPLB_NO_BACKEND, the ring keeps its place. */
		ret = maglev_build(b.mb, nmb, v->ring_size, seed, p->ring + off);
		if (ret) {
			char name[LB_ADDR_STRLEN];

			ret = lb_fail(err, ret, "VIP %s: building its Maglev ring: %s",
				      lb_fmt_vip(&v->key, name, sizeof(name)), strerror(-ret));
			goto out;
		}
		off += v->ring_size;
	}
out:
	build_free(&b, nr);
	if (ret)
		plan_free(p);
	return ret;
}

/* Element @i of a live array, zero past its length. */
static int live_elem(struct abmap *arr, __u32 i, void *value, size_t size)
{
	int ret = abmap_array_get(arr, i, value);

	if (ret == -ENOENT) {
		memset(value, 0, size);
		ret = 0;
	}
	return ret;
}

/* 1 if the first @n live elements of @arr equal @want (n elements of @size bytes), else 0. */
static int live_array_is(struct abmap *arr, const void *want, __u32 n, size_t size)
{
	__u64 elem;
	__u32 i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = live_elem(arr, i, &elem, size);
		if (ret)
			return ret;
		if (memcmp(&elem, (const __u8 *)want + (size_t)i * size, size))
			return 0;
	}
	return 1;
}

/* 1 if the live maps hold exactly the plan's tables, 0 if not, or a negative errno. */
static int plan_is_live(struct lb_maps *m, const struct plan *p, const struct live *l)
{
	struct udplb_backend zero_slot;
	__u32 i;
	int ret;

	if (l->nr_vips != p->nr_vips)
		return 0;
	for (i = 0; i < p->nr_vips; i++) {
		long k = live_vip_by_key(l, &p->keys[i]);

		if (k < 0 || memcmp(&l->vals[k], &p->vals[i], sizeof(p->vals[i])))
			return 0;
	}
	memset(&zero_slot, 0, sizeof(zero_slot));
	for (i = 0; i < p->nr_slots; i++) {
		const struct udplb_backend *e = i < l->nr_slots ? &l->slots[i] : &zero_slot;

		if (memcmp(e, &p->slots[i], sizeof(*e)))
			return 0;
	}
	ret = live_array_is(m->vip_filter, p->filter, p->nr_words, sizeof(*p->filter));
	if (ret != 1)
		return ret;
	/* Same VIPs, so the same ring ranges: compare them (the rest is never read). */
	return live_array_is(m->ring, p->ring, p->ring_len, sizeof(*p->ring));
}

int lb_commit(struct lb_maps *maps, const struct lb_state *desired, struct lb_commit_opts *opts)
{
	struct lb_commit_opts dummy;
	struct abmap_txn *txn;
	struct plan p;
	struct live l;
	__u32 seed;
	int ret;

	if (!opts) {
		memset(&dummy, 0, sizeof(dummy));
		opts = &dummy;
	}
	lb_err_clear(&opts->err);
	seed = opts->maglev_seed ? opts->maglev_seed : LB_MAGLEV_SEED;
	ret = check_maps(maps, &opts->err);
	if (!ret)
		ret = lb_state_validate(desired, &opts->err);
	if (ret)
		return ret;

	txn = abmap_txn_begin(maps->group);
	if (!txn) {
		ret = -errno;
		return lb_fail(&opts->err, ret, "cannot start a transaction: %s%s", strerror(-ret),
			       ret == -EBUSY ? " (another writer holds the lock)" : "");
	}
	/* Under the writer lock: nobody flips between this read and our commit. */
	if (opts->check_generation) {
		ret = abmap_group_generation(maps->group, &opts->generation);
		if (!ret && opts->generation != opts->expect_generation)
			ret = lb_fail(&opts->err, -EAGAIN,
				      "the configuration changed (generation %llu, expected %llu)",
				      (unsigned long long)opts->generation,
				      (unsigned long long)opts->expect_generation);
		if (ret) {
			abmap_txn_abort(txn);
			return ret;
		}
	}
	ret = live_read(maps, &l, &opts->err);
	if (ret == -EAGAIN)
		ret = lb_fail(&opts->err, -EIO, "the VIP map's key walk did not end");
	if (ret) {
		abmap_txn_abort(txn);
		return ret;
	}
	ret = make_plan(maps, desired, &l, seed, &p, &opts->err);
	if (!ret) {
		ret = plan_is_live(maps, &p, &l);
		if (ret < 0)
			lb_fail(&opts->err, ret, "reading the live tables: %s", strerror(-ret));
	}
	live_free(&l);
	if (ret) {
		/* Error, or nothing to do. */
		abmap_txn_abort(txn);
		if (ret > 0) {
			ret = LB_COMMIT_UNCHANGED;
			abmap_group_generation(maps->group, &opts->generation);
		}
		plan_free(&p);
		return ret;
	}
	ret = abmap_txn_hash_set(txn, maps->vips, p.keys, p.vals, p.nr_vips);
	if (!ret)
		ret = abmap_txn_array_set(txn, maps->vip_filter, p.filter, p.nr_words);
	if (!ret)
		ret = abmap_txn_array_set(txn, maps->backends, p.slots, p.nr_slots);
	if (!ret)
		ret = abmap_txn_array_set(txn, maps->ring, p.ring, p.ring_len);
	plan_free(&p);
	if (ret) {
		abmap_txn_abort(txn);
		return lb_fail(&opts->err, ret, "staging the new tables: %s", strerror(-ret));
	}
	ret = abmap_txn_commit(txn);
	if (ret)
		return lb_fail(&opts->err, ret,
			       "commit failed, the live configuration is unchanged: %s",
			       strerror(-ret));
	abmap_group_generation(maps->group, &opts->generation);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Differences
 */

static bool vip_conf_equal(const struct lb_vip *a, const struct lb_vip *b)
{
	return a->fwd == b->fwd && a->hash_mode == b->hash_mode && a->flags == b->flags &&
	       a->ring_size == b->ring_size;
}

static bool backend_conf_equal(const struct lb_backend *a, const struct lb_backend *b)
{
	return a->weight == b->weight && a->state == b->state && a->has_mac == b->has_mac &&
	       (!a->has_mac || !memcmp(a->mac, b->mac, sizeof(a->mac)));
}

static int emit(lb_diff_fn fn, void *ctx, int *count, enum lb_diff_op op, const struct lb_vip *vo,
		const struct lb_vip *vn, const struct lb_backend *bo, const struct lb_backend *bn)
{
	struct lb_diff_item item = {
		.op = op,
		.vip_old = vo,
		.vip_new = vn,
		.backend_old = bo,
		.backend_new = bn,
	};

	(*count)++;
	return fn ? fn(ctx, &item) : 0;
}

static int diff_backends(const struct lb_vip *vo, const struct lb_vip *vn, lb_diff_fn fn, void *ctx,
			 int *count)
{
	const struct lb_backend **bo = NULL, **bn = NULL;
	__u32 no = vo ? vo->nr_backends : 0, nn = vn ? vn->nr_backends : 0, i = 0, j = 0;
	int ret = 0;

	bo = vo ? sorted_backends(vo) : calloc(1, sizeof(*bo));
	bn = vn ? sorted_backends(vn) : calloc(1, sizeof(*bn));
	if (!bo || !bn) {
		ret = -ENOMEM;
		goto out;
	}
	while (!ret && (i < no || j < nn)) {
		int c = i >= no ? 1 :
			j >= nn ? -1 :
				  backend_ident_cmp(bo[i]->addr, bo[i]->port, bn[j]->addr,
						    bn[j]->port);

		if (c < 0) {
			ret = emit(fn, ctx, count, LB_DIFF_DEL, vo, vn, bo[i++], NULL);
		} else if (c > 0) {
			ret = emit(fn, ctx, count, LB_DIFF_ADD, vo, vn, NULL, bn[j++]);
		} else {
			if (!backend_conf_equal(bo[i], bn[j]))
				ret = emit(fn, ctx, count, LB_DIFF_CHANGE, vo, vn, bo[i], bn[j]);
			i++;
			j++;
		}
	}
out:
	free(bo);
	free(bn);
	return ret;
}

int lb_diff(const struct lb_state *live, const struct lb_state *desired, lb_diff_fn fn, void *ctx)
{
	const struct lb_vip **vo = NULL, **vn = NULL;
	__u32 i = 0, j = 0;
	int ret = 0, count = 0;

	if (!live || !desired || (live->nr_vips && !live->vips) ||
	    (desired->nr_vips && !desired->vips))
		return -EINVAL;
	vo = sorted_vips(live);
	vn = sorted_vips(desired);
	if (!vo || !vn) {
		ret = -ENOMEM;
		goto out;
	}
	while (!ret && (i < live->nr_vips || j < desired->nr_vips)) {
		int c = i >= live->nr_vips    ? 1 :
			j >= desired->nr_vips ? -1 :
						vip_key_cmp(&vo[i]->key, &vn[j]->key);

		if (c < 0) {
			ret = emit(fn, ctx, &count, LB_DIFF_DEL, vo[i], NULL, NULL, NULL);
			if (!ret)
				ret = diff_backends(vo[i], NULL, fn, ctx, &count);
			i++;
		} else if (c > 0) {
			ret = emit(fn, ctx, &count, LB_DIFF_ADD, NULL, vn[j], NULL, NULL);
			if (!ret)
				ret = diff_backends(NULL, vn[j], fn, ctx, &count);
			j++;
		} else {
			if (!vip_conf_equal(vo[i], vn[j]))
				ret = emit(fn, ctx, &count, LB_DIFF_CHANGE, vo[i], vn[j], NULL,
					   NULL);
			if (!ret)
				ret = diff_backends(vo[i], vn[j], fn, ctx, &count);
			i++;
			j++;
		}
	}
out:
	free(vo);
	free(vn);
	return ret ? ret : count;
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

static const char *vip_flags_str(__u16 flags, char *buf, size_t len)
{
	if (!flags)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s%s%s", flags & UDPLB_VIP_F_DROP_FRAGS ? "drop-frags" : "",
			 (flags & UDPLB_VIP_F_DROP_FRAGS) && (flags & UDPLB_VIP_F_DROP_INVALID) ?
				 "," :
				 "",
			 flags & UDPLB_VIP_F_DROP_INVALID ? "drop-invalid" : "");
	return buf;
}

static void fmt_vip_change(struct out *o, const struct lb_vip *a, const struct lb_vip *b)
{
	char fa[32], fb[32];
	const char *sep = ": ";

	if (a->fwd != b->fwd) {
		out_add(o, "%sfwd %s -> %s", sep, fwd_name(a->fwd), fwd_name(b->fwd));
		sep = ", ";
	}
	if (a->hash_mode != b->hash_mode) {
		out_add(o, "%shash %s -> %s", sep, hash_name(a->hash_mode),
			hash_name(b->hash_mode));
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
	char ma[24], mb[24];
	const char *sep = ": ";

	if (a->weight != b->weight) {
		out_add(o, "%sweight %u -> %u", sep, a->weight, b->weight);
		sep = ", ";
	}
	if (a->state != b->state) {
		out_add(o, "%sstate %s -> %s", sep, state_name(a->state), state_name(b->state));
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
	char vname[LB_ADDR_STRLEN], bname[LB_ADDR_STRLEN], mac[24], flags[32];
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
			out_add(&o, " (fwd %s, hash %s, ring %u, flags %s)", fwd_name(v->fwd),
				hash_name(v->hash_mode), v->ring_size,
				vip_flags_str(v->flags, flags, sizeof(flags)));
		else if (item->op == LB_DIFF_CHANGE && item->vip_old && item->vip_new)
			fmt_vip_change(&o, item->vip_old, item->vip_new);
		return o.trunc ? -ENOSPC : 0;
	}
	b = item->backend_new ? item->backend_new : item->backend_old;
	lb_fmt_addr_port(b->addr, b->port, bname, sizeof(bname));
	out_add(&o, "%c backend %s of vip %s", sign, bname, vname);
	if (item->op == LB_DIFF_ADD)
		out_add(&o, " (weight %u, %s, mac %s)", b->weight, state_name(b->state),
			fmt_mac(b, mac, sizeof(mac)));
	else if (item->op == LB_DIFF_CHANGE && item->backend_old && item->backend_new)
		fmt_backend_change(&o, item->backend_old, item->backend_new);
	return o.trunc ? -ENOSPC : 0;
}
