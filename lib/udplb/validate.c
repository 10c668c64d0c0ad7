// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Validation: every rule a configuration must follow before lb_commit() writes it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "internal.h"
#include "maglev.h"

/*
 * Addresses a unicast UDP service can have: not "this network" (0/8), loopback (127/8, never
 * seen on a wire), multicast (224/4) or the limited broadcast.
 */
bool lb_addr_ok(__be32 addr)
{
	__u32 h = ntohl(addr);

	return (h >> 24) != 0 && (h >> 24) != 127 && (h >> 28) != 0xe && h != 0xffffffffU;
}

/* A next hop is one station: not multicast or broadcast (group bit), not all zeros. */
static bool mac_ok(const __u8 mac[6])
{
	static const __u8 zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, sizeof(zero));
}

/* The first rule @v breaks, described into @what (formatted only then): -EINVAL, or 0. */
static int vip_problem(const struct lb_vip *v, char *what, size_t len)
{
	if (!lb_addr_ok(v->key.addr))
		snprintf(what, len,
			 "not a unicast address (0/8, 127/8, multicast and broadcast are refused)");
	else if (!v->key.port)
		snprintf(what, len, "port 0");
	else if (v->key.proto != IPPROTO_UDP)
		snprintf(what, len, "protocol %u is not UDP", v->key.proto);
	else if (v->key.pad)
		snprintf(what, len, "key padding is not zero");
	else if (v->fwd != UDPLB_FWD_DSR && v->fwd != UDPLB_FWD_IPIP)
		snprintf(what, len, "unknown forwarding mode %u (dsr or ipip)", v->fwd);
	else if (v->hash_mode != UDPLB_HASH_5TUPLE && v->hash_mode != UDPLB_HASH_SRC_IP)
		snprintf(what, len, "unknown hash mode %u (5tuple or src-ip)", v->hash_mode);
	else if (v->flags & ~(UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID))
		snprintf(what, len, "unknown flags %#x", v->flags);
	else if (!maglev_is_prime(v->ring_size))
		snprintf(what, len, "ring size %u is not a prime (e.g. %u)", v->ring_size,
			 UDPLB_RING_DEFAULT);
	else if (v->ring_size > UDPLB_RING_SLOTS)
		snprintf(what, len, "ring size %u is larger than the ring map (%u)", v->ring_size,
			 UDPLB_RING_SLOTS);
	else
		return 0;
	return -EINVAL;
}

int lb_check_vip(const struct lb_vip *v, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN], what[160];
	int ret = vip_problem(v, what, sizeof(what));

	if (!ret)
		return 0;
	return lb_fail(err, ret, "VIP %s: %s", lb_fmt_vip(&v->key, name, sizeof(name)), what);
}

static int backend_problem(const struct lb_vip *v, const struct lb_backend *b, char *what,
			   size_t len)
{
	if (!lb_addr_ok(b->addr))
		snprintf(what, len, "not a unicast address");
	else if (b->port != v->key.port)
		snprintf(what, len,
			 "port %u differs from the VIP's port %u (dsr and ipip do not rewrite "
			 "ports)",
			 ntohs(b->port), ntohs(v->key.port));
	else if (!b->weight)
		snprintf(what, len, "weight 0 (1..65535; drain a backend to stop new flows)");
	else if (b->has_mac && !mac_ok(b->mac))
		snprintf(what, len,
			 "next-hop MAC %02x:%02x:%02x:%02x:%02x:%02x is not a unicast station "
			 "address",
			 b->mac[0], b->mac[1], b->mac[2], b->mac[3], b->mac[4], b->mac[5]);
	else if (b->state != UDPLB_BACKEND_ACTIVE && b->state != UDPLB_BACKEND_DRAINING)
		snprintf(what, len, "bad state %u", b->state);
	else
		return 0;
	return -EINVAL;
}

int lb_check_backend(const struct lb_vip *v, const struct lb_backend *b, struct lb_err *err)
{
	char name[LB_ADDR_STRLEN], vname[LB_ADDR_STRLEN], what[160];
	int ret = backend_problem(v, b, what, sizeof(what));

	if (!ret)
		return 0;
	return lb_fail(err, ret, "backend %s of VIP %s: %s",
		       lb_fmt_addr_port(b->addr, b->port, name, sizeof(name)),
		       lb_fmt_vip(&v->key, vname, sizeof(vname)), what);
}

__u64 lb_ring_total(const struct lb_state *s)
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
	total = lb_ring_total(s);
	if (total > UDPLB_RING_SLOTS)
		return lb_fail(err, -ENOSPC,
			       "the VIPs' rings need %llu slots, more than the %u of the ring map",
			       (unsigned long long)total, UDPLB_RING_SLOTS);
	vs = lb_sorted_vips(s);
	if (!vs)
		return lb_fail(err, -ENOMEM, "out of memory");
	for (i = 0; !ret && i < s->nr_vips; i++) {
		const struct lb_vip *v = vs[i];

		lb_fmt_vip(&v->key, name, sizeof(name));
		ret = lb_check_vip(v, err);
		if (!ret && i && !lb_vip_key_cmp(&vs[i - 1]->key, &v->key))
			ret = lb_fail(err, -EEXIST, "VIP %s is configured twice", name);
		if (!ret && v->nr_backends && !v->backends)
			ret = lb_fail(err, -EINVAL, "VIP %s: backend list missing", name);
		if (!ret && v->nr_backends > v->ring_size)
			ret = lb_fail(err, -ENOSPC,
				      "VIP %s: %u backends do not fit its ring of %u slots", name,
				      v->nr_backends, v->ring_size);
		if (ret)
			break;
		bs = lb_sorted_backends(v);
		if (!bs) {
			ret = lb_fail(err, -ENOMEM, "out of memory");
			break;
		}
		for (j = 0; !ret && j < v->nr_backends; j++) {
			ret = lb_check_backend(v, bs[j], err);
			if (!ret && j && !lb_backend_ptr_cmp(&bs[j - 1], &bs[j]))
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
