// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The canonical orders: VIPs by (addr, port, proto), backends by (addr, port), numerically (host
 * order). Ids, ring offsets and diffs all follow them, so every node given one configuration
 * builds the same tables whatever order it was written in.
 */
#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>

#include "internal.h"

int lb_vip_key_cmp(const struct udplb_vip_key *a, const struct udplb_vip_key *b)
{
	int c = lb_cmp_u32(ntohl(a->addr), ntohl(b->addr));

	if (!c)
		c = lb_cmp_u32(ntohs(a->port), ntohs(b->port));
	if (!c)
		c = lb_cmp_u32(a->proto, b->proto);
	return c;
}

int lb_backend_ident_cmp(__be32 a_addr, __be16 a_port, __be32 b_addr, __be16 b_port)
{
	int c = lb_cmp_u32(ntohl(a_addr), ntohl(b_addr));

	return c ? c : lb_cmp_u32(ntohs(a_port), ntohs(b_port));
}

static int vip_ptr_cmp(const void *pa, const void *pb)
{
	const struct lb_vip *a = *(const struct lb_vip *const *)pa;
	const struct lb_vip *b = *(const struct lb_vip *const *)pb;

	return lb_vip_key_cmp(&a->key, &b->key);
}

int lb_backend_ptr_cmp(const void *pa, const void *pb)
{
	const struct lb_backend *a = *(const struct lb_backend *const *)pa;
	const struct lb_backend *b = *(const struct lb_backend *const *)pb;

	return lb_backend_ident_cmp(a->addr, a->port, b->addr, b->port);
}

int lb_vip_cmp(const void *pa, const void *pb)
{
	return lb_vip_key_cmp(&((const struct lb_vip *)pa)->key, &((const struct lb_vip *)pb)->key);
}

int lb_backend_cmp(const void *pa, const void *pb)
{
	const struct lb_backend *a = pa, *b = pb;

	return lb_backend_ident_cmp(a->addr, a->port, b->addr, b->port);
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
const struct lb_vip **lb_sorted_vips(const struct lb_state *s)
{
	return (const struct lb_vip **)sorted_ptrs(s->vips, s->nr_vips, sizeof(*s->vips),
						   vip_ptr_cmp);
}

const struct lb_backend **lb_sorted_backends(const struct lb_vip *vip)
{
	return (const struct lb_backend **)sorted_ptrs(vip->backends, vip->nr_backends,
						       sizeof(*vip->backends), lb_backend_ptr_cmp);
}

/*
 * Binary search in a sorted array: where @key is (*found) or would be inserted. @cmp compares
 * an element with the key.
 */
__u32 lb_sorted_pos(const void *base, __u32 n, size_t size, const void *key,
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

int lb_grow(void **arr, __u32 *cap, __u32 need, size_t elem)
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
