// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udplb control plane (cmd/lb.c) on libabmap's in-memory fake: the configuration model and its
 * errors, the tables lb_commit() writes, stable ids, determinism across command orders, no flip
 * for an unchanged configuration, draining, fault injection at every write, lb_read(), lb_diff(),
 * and the spread and disruption of the resulting rings.
 */
#include "unit_helpers.h"

#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "lb.h"

#define LB_TRAILER_WORDS 6 /* lib/udplb/internal.h: after the rings */
#include "maglev.h"

#define IP(a, b, c, d) htonl(((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (d))
#define MAX_FAULT_ROUNDS 20000

static struct udplb_vip_key vkey(__be32 addr, __u16 port)
{
	struct udplb_vip_key k = { .addr = addr, .port = htons(port), .proto = IPPROTO_UDP };

	return k;
}

static struct lb_vip vip_conf(__be32 addr, __u16 port, __u32 ring_size)
{
	struct lb_vip v;

	memset(&v, 0, sizeof(v));
	v.key = vkey(addr, port);
	v.ring_size = ring_size;
	return v;
}

static void add_vip(struct lb_state *s, __be32 addr, __u16 port, __u32 ring_size)
{
	struct lb_vip v = vip_conf(addr, port, ring_size);
	struct lb_err err;
	int ret = lb_vip_add(s, &v, &err);

	if (ret)
		fail_msg("lb_vip_add: %d: %s", ret, err.msg);
}

static struct lb_backend be_conf(__be32 addr, __u16 port, __u16 weight, __u8 state, int mac)
{
	struct lb_backend b;

	memset(&b, 0, sizeof(b));
	b.addr = addr;
	b.port = htons(port);
	b.weight = weight;
	b.state = state;
	if (mac >= 0) {
		static const __u8 base[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x00 };

		memcpy(b.mac, base, sizeof(b.mac));
		b.mac[5] = (__u8)mac;
		b.has_mac = true;
	}
	return b;
}

static void add_be(struct lb_state *s, __be32 vaddr, __u16 port, __be32 addr, __u16 weight,
		   __u8 state, int mac)
{
	struct udplb_vip_key k = vkey(vaddr, port);
	struct lb_backend b = be_conf(addr, port, weight, state, mac);
	struct lb_err err;
	int ret = lb_backend_add(s, &k, &b, &err);

	if (ret)
		fail_msg("lb_backend_add: %d: %s", ret, err.msg);
}

static void del_be(struct lb_state *s, __be32 vaddr, __u16 port, __be32 addr)
{
	struct udplb_vip_key k = vkey(vaddr, port);
	struct lb_err err;
	int ret = lb_backend_del(s, &k, addr, htons(port), &err);

	if (ret)
		fail_msg("lb_backend_del: %d: %s", ret, err.msg);
}

static int commit(struct lb_maps *m, const struct lb_state *s)
{
	struct lb_commit_opts o;
	int ret;

	memset(&o, 0, sizeof(o));
	ret = lb_commit(m, s, &o);
	if (ret < 0)
		fail_msg("lb_commit: %d (%s): %s", ret, strerror(-ret), o.err.msg);
	return ret;
}

static void maps_fake(struct lb_maps *m)
{
	ut_ok(lb_maps_fake(m));
}

/* Small fake maps, for tests that repeat commits many times. */
static void maps_small(struct lb_maps *m, __u32 nr_vips, __u32 nr_slots, __u32 ring)
{
	memset(m, 0, sizeof(*m));
	m->group = ut_group_new();
	m->vips = ut_hash_new(m->group, sizeof(struct udplb_vip_key), sizeof(struct udplb_vip),
			      nr_vips);
	m->vip_filter = ut_array_new(m->group, sizeof(__u64), UDPLB_FILTER_WORDS, 0);
	m->backends = ut_array_new(m->group, sizeof(struct udplb_backend), nr_slots, 0);
	m->ring = ut_array_new(m->group, sizeof(__u32), ring, 0);
}

/* Error text: one non-empty line. */
static void assert_one_line(const struct lb_err *err, const char *needle)
{
	if (!err->msg[0])
		fail_msg("no error message");
	if (strchr(err->msg, '\n'))
		fail_msg("error message spans lines: %s", err->msg);
	if (needle && !strstr(err->msg, needle))
		fail_msg("error message \"%s\" does not mention \"%s\"", err->msg, needle);
}

#define assert_lb_err(expr, code, err, needle)                                                     \
	do {                                                                                       \
		int __r;                                                                           \
		memset(&(err), 0, sizeof(err));                                                    \
		__r = (expr);                                                                      \
		if (__r != (code))                                                                 \
			fail_msg("%s returned %d, expected %d (msg: %s)", #expr, __r, (code),      \
				 (err).msg);                                                       \
		assert_one_line(&(err), (needle));                                                 \
	} while (0)

/* ---------------------------------------------------------------------------------------------
 * Live content of the four structures, read from the fake's live side.
 */

struct vip_ent {
	struct udplb_vip_key k;
	struct udplb_vip v;
};

struct dump {
	__u64 gen;
	__u32 nr_vips;
	struct vip_ent *vips;
	__u32 len[3], max[3];
	void *arr[3]; /* filter, backends, ring */
};

static int vip_ent_cmp(const void *pa, const void *pb)
{
	return memcmp(pa, pb, sizeof(struct udplb_vip_key));
}

static void dump_take(struct lb_maps *m, struct dump *d)
{
	struct abmap *arrs[3] = { m->vip_filter, m->backends, m->ring };
	struct udplb_vip_key key, next, *prev = NULL;
	int live, i, ret;
	__u32 j;

	memset(d, 0, sizeof(*d));
	d->gen = ut_gen(m->group);
	live = (int)(d->gen & 1);
	d->vips = calloc(abmap_max_entries(m->vips) + 1, sizeof(*d->vips));
	assert_non_null(d->vips);
	while ((ret = abmap_next_key(m->vips, prev, &next)) == 0) {
		assert_true(d->nr_vips < abmap_max_entries(m->vips));
		d->vips[d->nr_vips].k = next;
		ut_ok(abmap_fake_peek(m->vips, live, &next, &d->vips[d->nr_vips].v));
		d->nr_vips++;
		key = next;
		prev = &key;
	}
	assert_int_equal(ret, -ENOENT);
	qsort(d->vips, d->nr_vips, sizeof(*d->vips), vip_ent_cmp);
	for (i = 0; i < 3; i++) {
		__u32 vs = abmap_value_size(arrs[i]);

		d->max[i] = abmap_max_entries(arrs[i]);
		ut_ok(abmap_fake_peek_len(arrs[i], live, &d->len[i]));
		d->arr[i] = calloc(d->max[i], vs);
		assert_non_null(d->arr[i]);
		for (j = 0; j < d->max[i]; j++)
			ut_ok(abmap_fake_peek(arrs[i], live, &j,
					      (__u8 *)d->arr[i] + (size_t)j * vs));
	}
}

static void dump_free(struct dump *d)
{
	int i;

	free(d->vips);
	for (i = 0; i < 3; i++)
		free(d->arr[i]);
	memset(d, 0, sizeof(*d));
}

static void dump_assert_equal(const struct dump *a, const struct dump *b, bool gen)
{
	static const char *names[3] = { "vip_filter", "backends", "ring" };
	static const size_t vs[3] = { sizeof(__u64), sizeof(struct udplb_backend), sizeof(__u32) };
	int i;

	if (gen && a->gen != b->gen)
		fail_msg("generation %llu != %llu", (unsigned long long)a->gen,
			 (unsigned long long)b->gen);
	if (a->nr_vips != b->nr_vips)
		fail_msg("%u VIPs != %u VIPs", a->nr_vips, b->nr_vips);
	if (a->nr_vips && memcmp(a->vips, b->vips, a->nr_vips * sizeof(*a->vips)))
		fail_msg("the vips hashes differ");
	for (i = 0; i < 3; i++) {
		size_t k;

		if (a->len[i] != b->len[i] || a->max[i] != b->max[i])
			fail_msg("%s: length %u/%u != %u/%u", names[i], a->len[i], a->max[i],
				 b->len[i], b->max[i]);
		for (k = 0; k < a->max[i] * vs[i]; k++) {
			if (((__u8 *)a->arr[i])[k] != ((__u8 *)b->arr[i])[k])
				fail_msg("%s: byte %zu (element %zu) differs", names[i], k,
					 k / vs[i]);
		}
	}
}

static const struct udplb_vip *dump_vip(const struct dump *d, const struct udplb_vip_key *k)
{
	__u32 i;

	for (i = 0; i < d->nr_vips; i++) {
		if (!memcmp(&d->vips[i].k, k, sizeof(*k)))
			return &d->vips[i].v;
	}
	fail_msg("VIP not in the live vips map");
	return NULL;
}

static const struct udplb_backend *dump_slot(const struct dump *d, __u32 id)
{
	assert_true(id < d->max[1]);
	return (const struct udplb_backend *)d->arr[1] + id;
}

static const __u32 *dump_ring(const struct dump *d)
{
	return d->arr[2];
}

/* Live slot id of backend @addr of VIP @vaddr:@port, through lb_read(). */
static __u32 live_id(struct lb_maps *m, __be32 vaddr, __u16 port, __be32 addr)
{
	struct udplb_vip_key k = vkey(vaddr, port);
	struct lb_state s;
	struct lb_backend *b;
	struct lb_err err;
	__u32 id;
	int ret;

	ret = lb_read(m, &s, &err);
	if (ret)
		fail_msg("lb_read: %d: %s", ret, err.msg);
	b = lb_backend_find(lb_vip_find(&s, &k), addr, 0);
	if (!b)
		fail_msg("backend not live");
	id = b->id;
	lb_state_free(&s);
	return id;
}

static __u32 live_vip_id(struct lb_maps *m, __be32 vaddr, __u16 port)
{
	struct udplb_vip_key k = vkey(vaddr, port);
	struct lb_state s;
	struct lb_vip *v;
	struct lb_err err;
	__u32 id;

	ut_ok(lb_read(m, &s, &err));
	v = lb_vip_find(&s, &k);
	assert_non_null(v);
	id = v->id;
	lb_state_free(&s);
	return id;
}

/* ---------------------------------------------------------------------------------------------
 * Model
 */

static void test_model(void **state)
{
	struct lb_state s;
	struct udplb_vip_key k1 = vkey(IP(10, 0, 0, 2), 53), k0 = vkey(IP(10, 0, 0, 1), 53);
	struct lb_vip *v;
	struct lb_backend b, *pb;
	struct lb_err err;

	(void)state;
	lb_state_init(&s);
	add_vip(&s, IP(10, 0, 0, 2), 53, 0);
	add_vip(&s, IP(10, 0, 0, 10), 53, 251);
	add_vip(&s, IP(10, 0, 0, 1), 53, 7);
	add_vip(&s, IP(10, 0, 0, 1), 54, 7);
	assert_int_equal(s.nr_vips, 4);
	/* Kept sorted numerically: .1:53 .1:54 .2 .10 */
	assert_int_equal(s.vips[0].key.addr, IP(10, 0, 0, 1));
	assert_int_equal(ntohs(s.vips[1].key.port), 54);
	assert_int_equal(s.vips[2].key.addr, IP(10, 0, 0, 2));
	assert_int_equal(s.vips[3].key.addr, IP(10, 0, 0, 10));

	v = lb_vip_find(&s, &k1);
	assert_non_null(v);
	assert_int_equal(v->ring_size, UDPLB_RING_DEFAULT);
	assert_int_equal(v->key.proto, IPPROTO_UDP);
	k1.proto = 0; /* proto 0 means UDP */
	assert_ptr_equal(lb_vip_find(&s, &k1), v);

	/* Port 0 means the VIP's port, state 0 means active. */
	b = be_conf(IP(10, 1, 0, 9), 0, 3, 0, 7);
	ut_ok(lb_backend_add(&s, &k1, &b, &err));
	add_be(&s, IP(10, 0, 0, 2), 53, IP(10, 1, 0, 10), 1, UDPLB_BACKEND_DRAINING, -1);
	add_be(&s, IP(10, 0, 0, 2), 53, IP(10, 1, 0, 2), 1, UDPLB_BACKEND_ACTIVE, -1);
	v = lb_vip_find(&s, &k1);
	assert_int_equal(v->nr_backends, 3);
	assert_int_equal(v->backends[0].addr, IP(10, 1, 0, 2));
	assert_int_equal(v->backends[1].addr, IP(10, 1, 0, 9));
	assert_int_equal(v->backends[2].addr, IP(10, 1, 0, 10));
	pb = lb_backend_find(v, IP(10, 1, 0, 9), htons(53));
	assert_non_null(pb);
	assert_int_equal(pb->port, htons(53));
	assert_int_equal(pb->state, UDPLB_BACKEND_ACTIVE);
	assert_int_equal(pb->weight, 3);
	assert_true(pb->has_mac);
	assert_int_equal(pb->mac[5], 7);
	assert_int_equal(lb_state_nr_backends(&s), 3);

	/* Set: drain, reweigh, drop the MAC. */
	b = be_conf(IP(10, 1, 0, 9), 53, 5, UDPLB_BACKEND_DRAINING, -1);
	ut_ok(lb_backend_set(&s, &k1, &b, &err));
	pb = lb_backend_find(lb_vip_find(&s, &k1), IP(10, 1, 0, 9), 0);
	assert_int_equal(pb->weight, 5);
	assert_int_equal(pb->state, UDPLB_BACKEND_DRAINING);
	assert_false(pb->has_mac);

	/* VIP settings. */
	{
		struct lb_vip c = vip_conf(IP(10, 0, 0, 2), 53, 0);

		c.fwd = UDPLB_FWD_IPIP;
		c.hash_mode = UDPLB_HASH_SRC_IP;
		c.flags = UDPLB_VIP_F_DROP_FRAGS;
		ut_ok(lb_vip_set(&s, &c, &err));
		v = lb_vip_find(&s, &k1);
		assert_int_equal(v->fwd, UDPLB_FWD_IPIP);
		assert_int_equal(v->hash_mode, UDPLB_HASH_SRC_IP);
		assert_int_equal(v->flags, UDPLB_VIP_F_DROP_FRAGS);
		assert_int_equal(v->ring_size, UDPLB_RING_DEFAULT); /* 0 keeps it */
		assert_int_equal(v->nr_backends, 3);
	}

	/* Copy is deep. */
	{
		struct lb_state c;

		ut_ok(lb_state_copy(&c, &s));
		assert_int_equal(lb_diff(&s, &c, NULL, NULL), 0);
		del_be(&c, IP(10, 0, 0, 2), 53, IP(10, 1, 0, 2));
		assert_int_equal(lb_state_nr_backends(&s), 3);
		assert_int_equal(lb_state_nr_backends(&c), 2);
		lb_state_free(&c);
	}

	del_be(&s, IP(10, 0, 0, 2), 53, IP(10, 1, 0, 9));
	assert_null(lb_backend_find(lb_vip_find(&s, &k1), IP(10, 1, 0, 9), 0));
	assert_int_equal(lb_state_nr_backends(&s), 2);
	ut_ok(lb_vip_del(&s, &k1, &err));
	assert_null(lb_vip_find(&s, &k1));
	assert_int_equal(s.nr_vips, 3);
	assert_int_equal(lb_state_nr_backends(&s), 0);
	assert_non_null(lb_vip_find(&s, &k0));
	ut_ok(lb_state_validate(&s, &err));
	lb_state_free(&s);
	assert_int_equal(s.nr_vips, 0);
	lb_state_free(&s); /* twice is fine */
}

/* VIPs lb_vip_add() refuses (-EINVAL), each with a word its error line must contain. */
struct bad_vip {
	__u32 addr; /* host order */
	__u16 port;
	__u32 ring;
	__u8 proto, fwd, hash;
	__u16 flags;
	const char *msg;
};

#define HOST_IP(a, b, c, d) ((__u32)(a) << 24 | (__u32)(b) << 16 | (__u32)(c) << 8 | (__u32)(d))
#define VIP2 HOST_IP(10, 0, 0, 2)

static const struct bad_vip bad_vips[] = {
	{ VIP2, 53, 65536, 0, 0, 0, 0, "prime" },
	{ VIP2, 53, 1, 0, 0, 0, 0, "prime" },
	{ VIP2, 53, 1114141, 0, 0, 0, 0, "ring" }, /* a prime larger than the ring map */
	{ VIP2, 0, 7, 0, 0, 0, 0, "port 0" },
	{ 0, 53, 7, 0, 0, 0, 0, "address" },
	{ HOST_IP(127, 0, 0, 53), 53, 7, 0, 0, 0, 0, "address" },
	{ HOST_IP(0, 0, 0, 1), 53, 7, 0, 0, 0, 0, "address" },
	{ HOST_IP(239, 1, 1, 1), 53, 7, 0, 0, 0, 0, "address" },
	{ HOST_IP(255, 255, 255, 255), 53, 7, 0, 0, 0, 0, "address" },
	{ VIP2, 53, 7, IPPROTO_TCP, 0, 0, 0, "UDP" },
	{ VIP2, 53, 7, 0, 9, 0, 0, "forwarding" },
	{ VIP2, 53, 7, 0, 0, 9, 0, "hash" },
	{ VIP2, 53, 7, 0, 0, 0, 0x80, "flags" },
};

/* Backends lb_backend_add() refuses (-EINVAL). */
struct bad_backend {
	__u32 addr; /* host order */
	__u16 weight;
	__u8 state;
	const char *msg;
};

static const struct bad_backend bad_backends[] = {
	{ HOST_IP(10, 1, 0, 2), 0, UDPLB_BACKEND_ACTIVE, "weight" },
	{ HOST_IP(10, 1, 0, 2), 1, 7, "state" },
	{ 0, 1, UDPLB_BACKEND_ACTIVE, "address" },
	{ HOST_IP(224, 0, 0, 1), 1, UDPLB_BACKEND_ACTIVE, "address" },
	{ HOST_IP(127, 0, 0, 1), 1, UDPLB_BACKEND_ACTIVE, "address" },
	{ HOST_IP(0, 1, 2, 3), 1, UDPLB_BACKEND_ACTIVE, "address" },
	{ HOST_IP(255, 255, 255, 255), 1, UDPLB_BACKEND_ACTIVE, "address" },
};

static void test_model_errors(void **state)
{
	struct udplb_vip_key k = vkey(IP(10, 0, 0, 1), 53), unknown = vkey(IP(10, 0, 0, 99), 53);
	struct lb_state s;
	struct lb_vip v;
	struct lb_backend b;
	struct lb_err err;
	__u32 i;

	(void)state;
	lb_state_init(&s);
	add_vip(&s, IP(10, 0, 0, 1), 53, 7);
	add_be(&s, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);

	/* Duplicates. */
	v = vip_conf(IP(10, 0, 0, 1), 53, 11);
	assert_lb_err(lb_vip_add(&s, &v, &err), -EEXIST, err, "10.0.0.1:53/udp");
	b = be_conf(IP(10, 1, 0, 1), 53, 2, UDPLB_BACKEND_ACTIVE, -1);
	assert_lb_err(lb_backend_add(&s, &k, &b, &err), -EEXIST, err, "10.1.0.1:53");

	/* Unknown VIP or backend. */
	assert_lb_err(lb_backend_add(&s, &unknown, &b, &err), -ENOENT, err, "10.0.0.99:53");
	assert_lb_err(lb_vip_del(&s, &unknown, &err), -ENOENT, err, "10.0.0.99:53");
	v = vip_conf(IP(10, 0, 0, 99), 53, 0);
	assert_lb_err(lb_vip_set(&s, &v, &err), -ENOENT, err, "10.0.0.99:53");
	assert_lb_err(lb_backend_del(&s, &unknown, IP(10, 1, 0, 1), 0, &err), -ENOENT, err,
		      "10.0.0.99");
	assert_lb_err(lb_backend_del(&s, &k, IP(10, 1, 0, 2), 0, &err), -ENOENT, err,
		      "10.1.0.2:53");
	b = be_conf(IP(10, 1, 0, 2), 53, 2, UDPLB_BACKEND_ACTIVE, -1);
	assert_lb_err(lb_backend_set(&s, &k, &b, &err), -ENOENT, err, "10.1.0.2:53");

	/* Port mismatch: dsr and ipip do not rewrite ports. */
	b = be_conf(IP(10, 1, 0, 2), 54, 1, UDPLB_BACKEND_ACTIVE, -1);
	assert_lb_err(lb_backend_add(&s, &k, &b, &err), -EINVAL, err, "port 54");
	assert_one_line(&err, "53");

	/* Bad backend values (bad_backends[]). */
	for (i = 0; i < UT_ARRAY_SIZE(bad_backends); i++) {
		const struct bad_backend *c = &bad_backends[i];

		b = be_conf(htonl(c->addr), 53, c->weight, c->state, -1);
		assert_lb_err(lb_backend_add(&s, &k, &b, &err), -EINVAL, err, c->msg);
	}

	/* Next-hop MACs: one station, never a group or all zeros (dsr would flood the segment). */
	b = be_conf(IP(10, 1, 0, 2), 53, 1, UDPLB_BACKEND_ACTIVE, 1);
	memset(b.mac, 0xff, sizeof(b.mac));
	assert_lb_err(lb_backend_add(&s, &k, &b, &err), -EINVAL, err, "MAC");
	b.mac[0] = 0x01; /* multicast */
	assert_lb_err(lb_backend_add(&s, &k, &b, &err), -EINVAL, err, "MAC");
	memset(b.mac, 0, sizeof(b.mac));
	assert_lb_err(lb_backend_add(&s, &k, &b, &err), -EINVAL, err, "MAC");
	b.has_mac = false; /* no MAC: the data plane looks the next hop up */
	ut_ok(lb_backend_add(&s, &k, &b, &err));
	ut_ok(lb_backend_del(&s, &k, b.addr, 0, &err));

	/* Bad VIP values (bad_vips[]). */
	for (i = 0; i < UT_ARRAY_SIZE(bad_vips); i++) {
		const struct bad_vip *c = &bad_vips[i];

		v = vip_conf(htonl(c->addr), c->port, c->ring);
		if (c->proto)
			v.key.proto = c->proto;
		v.fwd = c->fwd;
		v.hash_mode = c->hash;
		v.flags = c->flags;
		assert_lb_err(lb_vip_add(&s, &v, &err), -EINVAL, err, c->msg);
	}
	v = vip_conf(IP(10, 0, 0, 1), 53, 8);
	assert_lb_err(lb_vip_set(&s, &v, &err), -EINVAL, err, "prime");

	/* Ring too small for its backends. */
	for (i = 2; i <= 7; i++)
		add_be(&s, IP(10, 0, 0, 1), 53, IP(10, 1, 0, i), 1, UDPLB_BACKEND_ACTIVE, -1);
	b = be_conf(IP(10, 1, 0, 8), 53, 1, UDPLB_BACKEND_ACTIVE, -1);
	assert_lb_err(lb_backend_add(&s, &k, &b, &err), -ENOSPC, err, "ring of 7");
	v = vip_conf(IP(10, 0, 0, 1), 53, 5);
	assert_lb_err(lb_vip_set(&s, &v, &err), -ENOSPC, err, "5 slots");
	/* Nothing of the above changed the state. */
	assert_int_equal(s.nr_vips, 1);
	assert_int_equal(lb_state_nr_backends(&s), 7);
	assert_int_equal(s.vips[0].ring_size, 7);
	ut_ok(lb_state_validate(&s, &err));
	lb_state_free(&s);

	/* VIP table full. */
	lb_state_init(&s);
	for (i = 0; i < UDPLB_MAX_VIPS; i++)
		add_vip(&s, IP(10, 0, i >> 8, i & 0xff), 53, 3);
	v = vip_conf(IP(10, 2, 0, 0), 53, 3);
	assert_lb_err(lb_vip_add(&s, &v, &err), -ENOSPC, err, "VIP table is full");
	lb_state_free(&s);

	/* Ring space full: 17 rings of the default size fit, an 18th does not. */
	lb_state_init(&s);
	for (i = 0; i < 17; i++)
		add_vip(&s, IP(10, 0, 0, i + 1), 53, 0);
	v = vip_conf(IP(10, 0, 0, 100), 53, 0);
	assert_lb_err(lb_vip_add(&s, &v, &err), -ENOSPC, err, "does not fit");
	v = vip_conf(IP(10, 0, 0, 100), 53, 7);
	assert_lb_err(lb_vip_add(&s, &v, &err), -ENOSPC, err, "ring");
	v = vip_conf(IP(10, 0, 0, 1), 53, 65539); /* growing one ring does not fit either */
	assert_lb_err(lb_vip_set(&s, &v, &err), -ENOSPC, err, "ring");
	lb_state_free(&s);

	/* Backend table full. */
	lb_state_init(&s);
	for (i = 0; i < UDPLB_MAX_BACKENDS / 1024; i++) {
		__u32 j;

		add_vip(&s, IP(10, 0, 0, i + 1), 53, 1031);
		for (j = 0; j < 1024; j++)
			add_be(&s, IP(10, 0, 0, i + 1), 53, IP(10, 2, j >> 8, j & 0xff), 1,
			       UDPLB_BACKEND_ACTIVE, -1);
	}
	add_vip(&s, IP(10, 0, 0, 100), 53, 7);
	k = vkey(IP(10, 0, 0, 100), 53);
	b = be_conf(IP(10, 3, 0, 1), 53, 1, UDPLB_BACKEND_ACTIVE, -1);
	assert_lb_err(lb_backend_add(&s, &k, &b, &err), -ENOSPC, err, "backend table is full");
	ut_ok(lb_state_validate(&s, &err));
	lb_state_free(&s);
}

/* States built by hand are validated by lb_commit() too; nothing is written. */
static void test_commit_invalid(void **state)
{
	struct lb_maps m;
	struct lb_state s;
	struct lb_vip vips[2];
	struct lb_backend be;
	struct lb_commit_opts o;
	unsigned long writes;

	(void)state;
	maps_fake(&m);
	memset(vips, 0, sizeof(vips));
	vips[0] = vip_conf(IP(10, 0, 0, 1), 53, 7);
	vips[1] = vip_conf(IP(10, 0, 0, 1), 53, 7);
	s.vips = vips;
	s.nr_vips = 2;
	s.cap_vips = 2;
	writes = abmap_fake_count(m.group, ABMAP_FAKE_WRITE);
	memset(&o, 0, sizeof(o));
	assert_int_equal(lb_commit(&m, &s, &o), -EEXIST);
	assert_one_line(&o.err, "twice");

	s.nr_vips = 1;
	be = be_conf(IP(10, 1, 0, 1), 80, 1, UDPLB_BACKEND_ACTIVE, -1);
	vips[0].backends = &be;
	vips[0].nr_backends = 1;
	assert_int_equal(lb_commit(&m, &s, &o), -EINVAL);
	assert_one_line(&o.err, "port 80");
	be.port = htons(53);
	vips[0].ring_size = 9;
	assert_int_equal(lb_commit(&m, &s, &o), -EINVAL);
	assert_one_line(&o.err, "prime");
	assert_int_equal(abmap_fake_count(m.group, ABMAP_FAKE_WRITE), writes);
	assert_int_equal(ut_gen(m.group), 0);
	lb_maps_close(&m);

	/* Maps smaller than the configuration. */
	maps_small(&m, 4, 2, 10);
	vips[0].ring_size = 7;
	vips[1] = vip_conf(IP(10, 0, 0, 2), 53, 7);
	s.nr_vips = 2;
	assert_int_equal(lb_commit(&m, &s, &o), -ENOSPC);
	assert_one_line(&o.err, "ring map has 10");
	vips[1].ring_size = 3;
	ut_ok(lb_commit(&m, &s, &o));
	assert_int_equal(o.generation, 1);
	lb_maps_close(&m);
}

/* ---------------------------------------------------------------------------------------------
 * Commit
 */

static void test_commit_tables(void **state)
{
	const __be32 va = IP(10, 0, 0, 1), vb = IP(192, 168, 1, 1);
	struct udplb_vip_key ka = vkey(va, 53), kb = vkey(vb, 4789);
	struct maglev_backend mb[3];
	__u64 filter[UDPLB_FILTER_WORDS];
	const struct udplb_vip *lv;
	const struct udplb_backend *e;
	struct lb_commit_opts o;
	struct lb_state s, r;
	struct lb_vip c;
	struct lb_maps m;
	struct lb_err err;
	struct dump d;
	__u32 table[251], i, bit;

	(void)state;
	maps_fake(&m);
	lb_state_init(&s);
	/* Added in "wrong" order: vb first. */
	c = vip_conf(vb, 4789, 251);
	c.fwd = UDPLB_FWD_IPIP;
	c.hash_mode = UDPLB_HASH_SRC_IP;
	c.flags = UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID;
	ut_ok(lb_vip_add(&s, &c, &err));
	add_vip(&s, va, 53, 13);
	add_be(&s, vb, 4789, IP(10, 2, 0, 3), 3, UDPLB_BACKEND_ACTIVE, 3);
	add_be(&s, vb, 4789, IP(10, 2, 0, 1), 1, UDPLB_BACKEND_ACTIVE, 1);
	add_be(&s, vb, 4789, IP(10, 2, 0, 2), 2, UDPLB_BACKEND_DRAINING, -1);
	add_be(&s, va, 53, IP(10, 1, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);

	memset(&o, 0, sizeof(o));
	ut_ok(lb_commit(&m, &s, &o));
	assert_int_equal(o.generation, 1);
	assert_int_equal(o.err.msg[0], '\0');
	dump_take(&m, &d);
	assert_int_equal(d.gen, 1);

	/* vips: sorted (va < vb) -> ids 0, 1, rings packed in that order. */
	assert_int_equal(d.nr_vips, 2);
	lv = dump_vip(&d, &ka);
	assert_int_equal(lv->id, 0);
	assert_int_equal(lv->fwd, UDPLB_FWD_DSR);
	assert_int_equal(lv->hash_mode, UDPLB_HASH_5TUPLE);
	assert_int_equal(lv->flags, 0);
	assert_int_equal(lv->ring_off, 0);
	assert_int_equal(lv->ring_size, 13);
	lv = dump_vip(&d, &kb);
	assert_int_equal(lv->id, 1);
	assert_int_equal(lv->fwd, UDPLB_FWD_IPIP);
	assert_int_equal(lv->hash_mode, UDPLB_HASH_SRC_IP);
	assert_int_equal(lv->flags, UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID);
	assert_int_equal(lv->ring_off, 13);
	assert_int_equal(lv->ring_size, 251);

	/* vip_filter: exactly the two bits. */
	memset(filter, 0, sizeof(filter));
	bit = udplb_filter_bit(va, htons(53));
	filter[bit / 64] |= 1ULL << (bit % 64);
	bit = udplb_filter_bit(vb, htons(4789));
	filter[bit / 64] |= 1ULL << (bit % 64);
	assert_memory_equal(d.arr[0], filter, sizeof(filter));
	assert_int_equal(d.len[0], UDPLB_FILTER_WORDS);

	/* backends: slot 0 = va's, then vb's by address. */
	e = dump_slot(&d, 0);
	assert_int_equal(e->addr, IP(10, 1, 0, 1));
	assert_int_equal(e->port, htons(53));
	assert_int_equal(e->weight, 1);
	assert_int_equal(e->state, UDPLB_BACKEND_ACTIVE);
	assert_int_equal(e->flags, 0);
	assert_int_equal(e->vip_id, 0);
	e = dump_slot(&d, 1);
	assert_int_equal(e->addr, IP(10, 2, 0, 1));
	assert_int_equal(e->flags, UDPLB_BACKEND_F_MAC);
	assert_int_equal(e->mac[5], 1);
	assert_int_equal(e->mac[0], 0x02);
	assert_int_equal(e->vip_id, 1);
	e = dump_slot(&d, 2);
	assert_int_equal(e->addr, IP(10, 2, 0, 2));
	assert_int_equal(e->state, UDPLB_BACKEND_DRAINING);
	assert_int_equal(e->weight, 2);
	assert_int_equal(e->vip_id, 1);
	e = dump_slot(&d, 3);
	assert_int_equal(e->addr, IP(10, 2, 0, 3));
	assert_int_equal(e->port, htons(4789));
	assert_int_equal(e->weight, 3);
	assert_int_equal(e->mac[5], 3);
	for (i = 4; i < UDPLB_MAX_BACKENDS; i++)
		assert_int_equal(dump_slot(&d, i)->state, UDPLB_BACKEND_FREE);

	/* ring: each VIP's Maglev table over its active backends, at its offset. */
	memset(mb, 0, sizeof(mb));
	mb[0] = (struct maglev_backend){ .addr = IP(10, 1, 0, 1), .port = htons(53), .weight = 1 };
	ut_ok(maglev_build(mb, 1, 13, LB_MAGLEV_SEED, table));
	assert_memory_equal(dump_ring(&d), table, 13 * sizeof(__u32));
	mb[0] = (struct maglev_backend){
		.addr = IP(10, 2, 0, 3), .port = htons(4789), .weight = 3, .id = 3
	};
	mb[1] = (struct maglev_backend){
		.addr = IP(10, 2, 0, 1), .port = htons(4789), .weight = 1, .id = 1
	};
	ut_ok(maglev_build(mb, 2, 251, LB_MAGLEV_SEED, table));
	assert_memory_equal(dump_ring(&d) + 13, table, 251 * sizeof(__u32));
	for (i = 0; i < 251; i++)
		assert_true(table[i] == 1 || table[i] == 3); /* never the draining slot 2 */
	/* then the trailer (magic first), then nothing */
	assert_int_equal(dump_ring(&d)[13 + 251], 0x726c6275);
	for (i = 13 + 251 + LB_TRAILER_WORDS; i < UDPLB_RING_SLOTS; i++)
		assert_int_equal(dump_ring(&d)[i], 0);
	assert_int_equal(d.len[2], 13 + 251 + LB_TRAILER_WORDS);
	dump_free(&d);

	/* lb_read() gives the model back, with the live ids. */
	ut_ok(lb_read(&m, &r, &err));
	assert_int_equal(lb_diff(&r, &s, NULL, NULL), 0);
	assert_int_equal(r.nr_vips, 2);
	assert_int_equal(r.vips[0].id, 0);
	assert_int_equal(r.vips[1].id, 1);
	assert_int_equal(r.vips[1].ring_off, 13);
	assert_int_equal(r.vips[1].backends[0].id, 1);
	assert_int_equal(r.vips[1].backends[1].id, 2);
	assert_int_equal(r.vips[1].backends[2].id, 3);
	assert_true(r.vips[1].backends[0].has_mac);
	assert_false(r.vips[1].backends[1].has_mac);
	ut_ok(lb_state_validate(&r, &err));
	lb_state_free(&r);

	/* Another Maglev seed gives another ring. */
	o.maglev_seed = 42;
	ut_ok(lb_commit(&m, &s, &o));
	assert_int_equal(o.generation, 2);
	dump_take(&m, &d);
	assert_memory_not_equal(dump_ring(&d) + 13, table, 251 * sizeof(__u32));
	dump_free(&d);

	/* Empty configuration: everything cleared. */
	lb_state_free(&s);
	ut_ok(lb_commit(&m, &s, NULL));
	dump_take(&m, &d);
	assert_int_equal(d.nr_vips, 0);
	for (i = 0; i < UDPLB_FILTER_WORDS; i++)
		assert_int_equal(((__u64 *)d.arr[0])[i], 0);
	for (i = 0; i < UDPLB_MAX_BACKENDS; i++)
		assert_int_equal(dump_slot(&d, i)->state, UDPLB_BACKEND_FREE);
	dump_free(&d);
	ut_ok(lb_read(&m, &r, &err));
	assert_int_equal(r.nr_vips, 0);
	lb_state_free(&r);
	lb_maps_close(&m);
}

static void test_ids_stable(void **state)
{
	const __be32 v0 = IP(10, 0, 0, 1), v1 = IP(10, 0, 0, 5), v2 = IP(10, 0, 0, 9);
	struct lb_maps m;
	struct lb_state s;
	struct dump d;
	__u32 off_before;

	(void)state;
	maps_fake(&m);
	lb_state_init(&s);
	add_vip(&s, v1, 53, 13);
	add_vip(&s, v2, 53, 11);
	add_be(&s, v1, 53, IP(10, 1, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1); /* b1 */
	add_be(&s, v1, 53, IP(10, 1, 0, 2), 1, UDPLB_BACKEND_ACTIVE, -1); /* b2 */
	add_be(&s, v1, 53, IP(10, 1, 0, 3), 1, UDPLB_BACKEND_ACTIVE, -1); /* b3 */
	add_be(&s, v2, 53, IP(10, 2, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1); /* c1 */
	add_be(&s, v2, 53, IP(10, 2, 0, 2), 1, UDPLB_BACKEND_ACTIVE, -1); /* c2 */
	assert_int_equal(commit(&m, &s), 0);
	assert_int_equal(live_vip_id(&m, v1, 53), 0);
	assert_int_equal(live_vip_id(&m, v2, 53), 1);
	assert_int_equal(live_id(&m, v1, 53, IP(10, 1, 0, 1)), 0);
	assert_int_equal(live_id(&m, v1, 53, IP(10, 1, 0, 2)), 1);
	assert_int_equal(live_id(&m, v1, 53, IP(10, 1, 0, 3)), 2);
	assert_int_equal(live_id(&m, v2, 53, IP(10, 2, 0, 1)), 3);
	assert_int_equal(live_id(&m, v2, 53, IP(10, 2, 0, 2)), 4);
	dump_take(&m, &d);
	off_before =
		dump_vip(&d, &(struct udplb_vip_key){ v2, htons(53), IPPROTO_UDP, 0 })->ring_off;
	assert_int_equal(off_before, 13);
	dump_free(&d);

	/*
	 * Remove b2 and c1, add b4, and a VIP v0 sorting before the others (so the ring offsets
	 * move) with one backend a1. Kept: VIP ids, b1 = 0, b3 = 2, c2 = 4. New, in canonical
	 * order: a1 (v0 first) takes the lowest free slot 1, b4 takes 3; v0 takes VIP id 2.
	 */
	del_be(&s, v1, 53, IP(10, 1, 0, 2));
	del_be(&s, v2, 53, IP(10, 2, 0, 1));
	add_be(&s, v1, 53, IP(10, 1, 0, 4), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_vip(&s, v0, 53, 7);
	add_be(&s, v0, 53, IP(10, 0, 1, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	assert_int_equal(commit(&m, &s), 0);
	assert_int_equal(live_vip_id(&m, v1, 53), 0);
	assert_int_equal(live_vip_id(&m, v2, 53), 1);
	assert_int_equal(live_vip_id(&m, v0, 53), 2);
	assert_int_equal(live_id(&m, v1, 53, IP(10, 1, 0, 1)), 0);
	assert_int_equal(live_id(&m, v1, 53, IP(10, 1, 0, 3)), 2);
	assert_int_equal(live_id(&m, v2, 53, IP(10, 2, 0, 2)), 4);
	assert_int_equal(live_id(&m, v0, 53, IP(10, 0, 1, 1)), 1);
	assert_int_equal(live_id(&m, v1, 53, IP(10, 1, 0, 4)), 3);
	dump_take(&m, &d);
	assert_int_equal(dump_slot(&d, 5)->state, UDPLB_BACKEND_FREE);
	assert_int_equal(
		dump_vip(&d, &(struct udplb_vip_key){ v0, htons(53), IPPROTO_UDP, 0 })->ring_off,
		0);
	assert_int_equal(
		dump_vip(&d, &(struct udplb_vip_key){ v1, htons(53), IPPROTO_UDP, 0 })->ring_off,
		7);
	assert_int_equal(
		dump_vip(&d, &(struct udplb_vip_key){ v2, htons(53), IPPROTO_UDP, 0 })->ring_off,
		7 + 13);
	dump_free(&d);

	/* Changing a backend's weight, state or MAC keeps its slot. */
	{
		struct udplb_vip_key k = vkey(v1, 53);
		struct lb_backend b = be_conf(IP(10, 1, 0, 3), 53, 9, UDPLB_BACKEND_DRAINING, 4);
		struct lb_err err;

		ut_ok(lb_backend_set(&s, &k, &b, &err));
		assert_int_equal(commit(&m, &s), 0);
		assert_int_equal(live_id(&m, v1, 53, IP(10, 1, 0, 3)), 2);
	}

	/* Removing a VIP frees its id and slots; the lowest are reused. */
	{
		struct udplb_vip_key k = vkey(v1, 53);
		struct lb_err err;

		ut_ok(lb_vip_del(&s, &k, &err));
		assert_int_equal(commit(&m, &s), 0);
		add_vip(&s, IP(10, 0, 0, 200), 53, 3);
		add_be(&s, IP(10, 0, 0, 200), 53, IP(10, 9, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
		assert_int_equal(commit(&m, &s), 0);
		assert_int_equal(live_vip_id(&m, IP(10, 0, 0, 200), 53), 0);
		assert_int_equal(live_id(&m, IP(10, 0, 0, 200), 53, IP(10, 9, 0, 1)), 0);
		assert_int_equal(live_id(&m, v0, 53, IP(10, 0, 1, 1)), 1);
		assert_int_equal(live_id(&m, v2, 53, IP(10, 2, 0, 2)), 4);
	}
	lb_state_free(&s);
	lb_maps_close(&m);
}

/* The configuration of test_determinism, reached three ways. */
#define DV1 IP(10, 0, 0, 1)
#define DV2 IP(10, 0, 0, 2)
#define DV3 IP(172, 16, 0, 3)

static void det_order1(struct lb_state *s)
{
	struct lb_vip c = vip_conf(DV3, 5353, 4099);
	struct lb_err err;
	__u32 i;

	add_vip(s, DV1, 53, 0);
	add_vip(s, DV2, 53, 251);
	c.fwd = UDPLB_FWD_IPIP;
	c.hash_mode = UDPLB_HASH_SRC_IP;
	c.flags = UDPLB_VIP_F_DROP_FRAGS;
	ut_ok(lb_vip_add(s, &c, &err));
	for (i = 1; i <= 20; i++)
		add_be(s, DV1, 53, IP(10, 1, 0, i), 1 + i % 3,
		       i % 7 ? UDPLB_BACKEND_ACTIVE : UDPLB_BACKEND_DRAINING, (int)i);
	for (i = 1; i <= 5; i++)
		add_be(s, DV2, 53, IP(10, 2, 0, i), 1, UDPLB_BACKEND_ACTIVE, -1);
	for (i = 1; i <= 9; i++)
		add_be(s, DV3, 5353, IP(10, 3, 0, i), (__u16)(10 * i), UDPLB_BACKEND_ACTIVE,
		       100 + (int)i);
}

static void det_order2(struct lb_state *s)
{
	struct lb_vip c = vip_conf(DV3, 5353, 4099);
	struct lb_err err;
	int i;

	/* Everything reversed, VIPs interleaved with their backends. */
	c.fwd = UDPLB_FWD_IPIP;
	c.hash_mode = UDPLB_HASH_SRC_IP;
	c.flags = UDPLB_VIP_F_DROP_FRAGS;
	ut_ok(lb_vip_add(s, &c, &err));
	for (i = 9; i >= 1; i--)
		add_be(s, DV3, 5353, IP(10, 3, 0, i), (__u16)(10 * i), UDPLB_BACKEND_ACTIVE,
		       100 + i);
	add_vip(s, DV2, 53, 251);
	for (i = 5; i >= 1; i--)
		add_be(s, DV2, 53, IP(10, 2, 0, i), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_vip(s, DV1, 53, 0);
	for (i = 20; i >= 1; i--)
		add_be(s, DV1, 53, IP(10, 1, 0, i), 1 + i % 3,
		       i % 7 ? UDPLB_BACKEND_ACTIVE : UDPLB_BACKEND_DRAINING, i);
}

static void det_order3(struct lb_state *s)
{
	struct udplb_vip_key k1 = vkey(DV1, 53), k4 = vkey(IP(10, 0, 0, 4), 53);
	struct lb_vip c;
	struct lb_backend b;
	struct lb_err err;
	__u32 i, perm[20];

	/* Shuffled, with detours: a VIP added and removed, settings changed afterwards. */
	add_vip(s, IP(10, 0, 0, 4), 53, 7);
	add_be(s, IP(10, 0, 0, 4), 53, IP(10, 4, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_vip(s, DV2, 53, 13);
	add_vip(s, DV3, 5353, 0);
	add_vip(s, DV1, 53, 7);
	for (i = 0; i < 20; i++)
		perm[i] = 1 + (i * 7) % 20; /* 7 is coprime with 20: a permutation of 1..20 */
	c = vip_conf(DV1, 53, UDPLB_RING_DEFAULT);
	ut_ok(lb_vip_set(s, &c, &err));
	for (i = 0; i < 20; i++)
		add_be(s, DV1, 53, IP(10, 1, 0, perm[i]), 1, UDPLB_BACKEND_ACTIVE, (int)perm[i]);
	ut_ok(lb_vip_del(s, &k4, &err));
	for (i = 3; i <= 5; i++)
		add_be(s, DV2, 53, IP(10, 2, 0, i), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_be(s, DV2, 53, IP(10, 2, 0, 77), 1, UDPLB_BACKEND_ACTIVE, -1);
	for (i = 9; i >= 5; i--)
		add_be(s, DV3, 5353, IP(10, 3, 0, i), (__u16)(10 * i), UDPLB_BACKEND_ACTIVE,
		       100 + (int)i);
	add_be(s, DV2, 53, IP(10, 2, 0, 2), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_be(s, DV2, 53, IP(10, 2, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	del_be(s, DV2, 53, IP(10, 2, 0, 77));
	for (i = 1; i <= 4; i++)
		add_be(s, DV3, 5353, IP(10, 3, 0, i), (__u16)(10 * i), UDPLB_BACKEND_ACTIVE,
		       100 + (int)i);
	c = vip_conf(DV3, 5353, 4099);
	c.fwd = UDPLB_FWD_IPIP;
	c.hash_mode = UDPLB_HASH_SRC_IP;
	c.flags = UDPLB_VIP_F_DROP_FRAGS;
	ut_ok(lb_vip_set(s, &c, &err));
	c = vip_conf(DV2, 53, 251);
	ut_ok(lb_vip_set(s, &c, &err));
	for (i = 1; i <= 20; i++) {
		b = be_conf(IP(10, 1, 0, i), 53, 1 + i % 3,
			    i % 7 ? UDPLB_BACKEND_ACTIVE : UDPLB_BACKEND_DRAINING, (int)i);
		ut_ok(lb_backend_set(s, &k1, &b, &err));
	}
}

static void test_determinism(void **state)
{
	void (*orders[3])(struct lb_state *) = { det_order1, det_order2, det_order3 };
	struct lb_maps m[3];
	struct lb_state s[3];
	struct dump d[3];
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		maps_fake(&m[i]);
		lb_state_init(&s[i]);
		orders[i](&s[i]);
		assert_int_equal(commit(&m[i], &s[i]), 0);
		dump_take(&m[i], &d[i]);
	}
	assert_int_equal(lb_diff(&s[0], &s[1], NULL, NULL), 0);
	assert_int_equal(lb_diff(&s[0], &s[2], NULL, NULL), 0);
	assert_int_equal(d[0].nr_vips, 3);
	assert_int_equal(d[0].len[2], UDPLB_RING_DEFAULT + 251 + 4099 + LB_TRAILER_WORDS);
	dump_assert_equal(&d[0], &d[1], true);
	dump_assert_equal(&d[0], &d[2], true);
	/* And each is "unchanged" for the others' maps. */
	assert_int_equal(commit(&m[1], &s[2]), LB_COMMIT_UNCHANGED);
	assert_int_equal(commit(&m[2], &s[0]), LB_COMMIT_UNCHANGED);
	for (i = 0; i < 3; i++) {
		dump_free(&d[i]);
		lb_state_free(&s[i]);
		lb_maps_close(&m[i]);
	}
}

/* Write ring slot @i through libabmap, as another writer would (one flip). */
static void poke_ring(struct lb_maps *m, __u32 i, __u32 value)
{
	struct abmap_txn *txn = abmap_txn_begin(m->group);

	assert_non_null(txn);
	ut_ok(abmap_txn_update(txn, m->ring, &i, &value));
	ut_ok(abmap_txn_commit(txn));
}

static void test_unchanged(void **state)
{
	unsigned long writes, flips;
	struct lb_commit_opts o;
	struct lb_state s, r;
	struct lb_maps m;
	struct lb_err err;

	(void)state;
	maps_fake(&m);
	lb_state_init(&s);

	/* Empty configuration on empty maps: nothing to do. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(lb_commit(&m, &s, &o), LB_COMMIT_UNCHANGED);
	assert_int_equal(o.generation, 0);
	assert_int_equal(abmap_fake_count(m.group, ABMAP_FAKE_FLIP), 0);

	add_vip(&s, IP(10, 0, 0, 1), 53, 0);
	add_be(&s, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 1), 1, UDPLB_BACKEND_ACTIVE, 1);
	add_be(&s, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 2), 2, UDPLB_BACKEND_DRAINING, -1);
	assert_int_equal(lb_commit(&m, &s, &o), 0);
	assert_int_equal(o.generation, 1);

	writes = abmap_fake_count(m.group, ABMAP_FAKE_WRITE);
	flips = abmap_fake_count(m.group, ABMAP_FAKE_FLIP);
	assert_int_equal(lb_commit(&m, &s, &o), LB_COMMIT_UNCHANGED);
	assert_int_equal(o.generation, 1);
	assert_int_equal(o.err.msg[0], '\0');
	assert_int_equal(ut_gen(m.group), 1);
	assert_int_equal(abmap_fake_count(m.group, ABMAP_FAKE_WRITE), writes);
	assert_int_equal(abmap_fake_count(m.group, ABMAP_FAKE_FLIP), flips);

	/* What lb_read() returns commits as unchanged too (the CLI's read-modify-commit). */
	ut_ok(lb_read(&m, &r, &err));
	assert_int_equal(lb_commit(&m, &r, NULL), LB_COMMIT_UNCHANGED);
	lb_state_free(&r);

	/* Any difference flips: a weight, a MAC, a flag, the seed. */
	s.vips[0].backends[0].weight = 3;
	assert_int_equal(lb_commit(&m, &s, &o), 0);
	assert_int_equal(o.generation, 2);
	s.vips[0].backends[1].has_mac = true;
	s.vips[0].backends[1].mac[0] = 0x02;
	assert_int_equal(commit(&m, &s), 0);
	s.vips[0].flags = UDPLB_VIP_F_DROP_INVALID;
	assert_int_equal(commit(&m, &s), 0);
	assert_int_equal(commit(&m, &s), LB_COMMIT_UNCHANGED);
	/* With one active backend every seed gives the same ring; with two it does not. */
	o.maglev_seed = 7;
	assert_int_equal(lb_commit(&m, &s, &o), LB_COMMIT_UNCHANGED);
	s.vips[0].backends[1].state = UDPLB_BACKEND_ACTIVE;
	assert_int_equal(commit(&m, &s), 0);
	assert_int_equal(lb_commit(&m, &s, &o), 0);
	assert_int_equal(lb_commit(&m, &s, &o), LB_COMMIT_UNCHANGED);
	assert_int_equal(o.generation, 6);

	/*
	 * The fast check trusts the trailer after the rings only as far as the rings' content hash:
	 * a ring slot changed behind lb_commit()'s back is caught and rewritten; a damaged trailer
	 * over intact rings is not a change (the full comparison says so).
	 */
	poke_ring(&m, 5, 12345);
	assert_int_equal(commit(&m, &s), 0);
	assert_int_equal(commit(&m, &s), LB_COMMIT_UNCHANGED);
	poke_ring(&m, UDPLB_RING_DEFAULT, 0);
	assert_int_equal(commit(&m, &s), LB_COMMIT_UNCHANGED);
	lb_state_free(&s);
	lb_maps_close(&m);
}

static void test_draining(void **state)
{
	const __be32 v = IP(10, 0, 0, 1);
	struct maglev_backend mb[4];
	__u32 *table = malloc(UDPLB_RING_DEFAULT * sizeof(*table)), i, id2, moved = 0;
	__u32 *before = malloc(UDPLB_RING_DEFAULT * sizeof(*before));
	struct udplb_vip_key k = vkey(v, 53);
	struct lb_backend b;
	struct lb_state s;
	struct lb_maps m;
	struct lb_err err;
	struct dump d;

	(void)state;
	assert_non_null(table);
	assert_non_null(before);
	maps_fake(&m);
	lb_state_init(&s);
	add_vip(&s, v, 53, 0);
	for (i = 1; i <= 4; i++)
		add_be(&s, v, 53, IP(10, 1, 0, i), 1, UDPLB_BACKEND_ACTIVE, (int)i);
	assert_int_equal(commit(&m, &s), 0);
	id2 = live_id(&m, v, 53, IP(10, 1, 0, 2));
	dump_take(&m, &d);
	memcpy(before, dump_ring(&d), UDPLB_RING_DEFAULT * sizeof(*before));
	dump_free(&d);

	b = be_conf(IP(10, 1, 0, 2), 53, 1, UDPLB_BACKEND_DRAINING, 2);
	ut_ok(lb_backend_set(&s, &k, &b, &err));
	assert_int_equal(commit(&m, &s), 0);
	/* Same slot, state draining, still the same identity and MAC. */
	assert_int_equal(live_id(&m, v, 53, IP(10, 1, 0, 2)), id2);
	dump_take(&m, &d);
	assert_int_equal(dump_slot(&d, id2)->state, UDPLB_BACKEND_DRAINING);
	assert_int_equal(dump_slot(&d, id2)->addr, IP(10, 1, 0, 2));
	assert_int_equal(dump_slot(&d, id2)->mac[5], 2);
	/* Out of the ring: the ring is Maglev over the three others. */
	for (i = 0; i < UDPLB_RING_DEFAULT; i++) {
		assert_int_not_equal(dump_ring(&d)[i], id2);
		if (dump_ring(&d)[i] != before[i] && before[i] != id2)
			moved++;
	}
	print_message("draining 1 of 4 backends moved %u of the others' slots (of %u)\n", moved,
		      UDPLB_RING_DEFAULT);
	assert_true(moved <= UDPLB_RING_DEFAULT * (1.0 / 4 + 0.02));
	memset(mb, 0, sizeof(mb));
	for (i = 0; i < 3; i++) {
		__u32 n = i == 0 ? 1 : i + 2;

		mb[i].addr = IP(10, 1, 0, n);
		mb[i].port = htons(53);
		mb[i].weight = 1;
		mb[i].id = live_id(&m, v, 53, IP(10, 1, 0, n));
	}
	ut_ok(maglev_build(mb, 3, UDPLB_RING_DEFAULT, LB_MAGLEV_SEED, table));
	assert_memory_equal(dump_ring(&d), table, UDPLB_RING_DEFAULT * sizeof(*table));
	dump_free(&d);

	/* All drained: the ring keeps its place and size, filled with UDPLB_NO_BACKEND. */
	for (i = 1; i <= 4; i++) {
		b = be_conf(IP(10, 1, 0, i), 53, 1, UDPLB_BACKEND_DRAINING, (int)i);
		ut_ok(lb_backend_set(&s, &k, &b, &err));
	}
	assert_int_equal(commit(&m, &s), 0);
	dump_take(&m, &d);
	assert_int_equal(dump_vip(&d, &k)->ring_size, UDPLB_RING_DEFAULT);
	for (i = 0; i < UDPLB_RING_DEFAULT; i++)
		assert_int_equal(dump_ring(&d)[i], UDPLB_NO_BACKEND);
	for (i = 0; i < 4; i++)
		assert_int_equal(dump_slot(&d, i)->state, UDPLB_BACKEND_DRAINING);
	dump_free(&d);
	/* And lb_read() still knows the ring size. */
	{
		struct lb_state r;

		ut_ok(lb_read(&m, &r, &err));
		assert_int_equal(lb_diff(&r, &s, NULL, NULL), 0);
		assert_int_equal(r.vips[0].ring_size, UDPLB_RING_DEFAULT);
		lb_state_free(&r);
	}
	lb_state_free(&s);
	lb_maps_close(&m);
	free(table);
	free(before);
}

/* ---------------------------------------------------------------------------------------------
 * Faults: every write (and the flip) of a commit failed once.
 */

static void fault_config_a(struct lb_state *s)
{
	lb_state_init(s);
	add_vip(s, IP(10, 0, 0, 1), 53, 7);
	add_vip(s, IP(10, 0, 0, 2), 53, 5);
	add_vip(s, IP(10, 0, 0, 3), 53, 3);
	add_be(s, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 1), 1, UDPLB_BACKEND_ACTIVE, 1);
	add_be(s, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 2), 2, UDPLB_BACKEND_ACTIVE, 2);
	add_be(s, IP(10, 0, 0, 2), 53, IP(10, 2, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_be(s, IP(10, 0, 0, 3), 53, IP(10, 3, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
}

/* B: a VIP removed, one added before the others, backends added, removed, drained, reweighed. */
static void fault_config_b(struct lb_state *s)
{
	struct udplb_vip_key k = vkey(IP(10, 0, 0, 3), 53), k1 = vkey(IP(10, 0, 0, 1), 53);
	struct lb_backend b = be_conf(IP(10, 1, 0, 1), 53, 4, UDPLB_BACKEND_DRAINING, 9);
	struct lb_err err;

	fault_config_a(s);
	ut_ok(lb_vip_del(s, &k, &err));
	add_vip(s, IP(9, 0, 0, 1), 53, 11);
	add_be(s, IP(9, 0, 0, 1), 53, IP(10, 9, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_be(s, IP(9, 0, 0, 1), 53, IP(10, 9, 0, 2), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_be(s, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 3), 1, UDPLB_BACKEND_ACTIVE, 3);
	ut_ok(lb_backend_set(s, &k1, &b, &err));
	del_be(s, IP(10, 0, 0, 2), 53, IP(10, 2, 0, 1));
}

static void fault_maps(struct lb_maps *m, const struct lb_state *a)
{
	maps_small(m, 8, 16, 64);
	assert_int_equal(commit(m, a), 0);
}

static void run_faults(enum abmap_fake_op op, int *rounds_out)
{
	struct lb_state a, b, r;
	struct lb_maps m;
	struct dump ref, before, after;
	struct lb_commit_opts o;
	struct lb_err err;
	unsigned int nth;
	int ret, rounds = 0;

	fault_config_a(&a);
	fault_config_b(&b);
	/* Reference: A then B, no fault. */
	fault_maps(&m, &a);
	assert_int_equal(commit(&m, &b), 0);
	dump_take(&m, &ref);
	lb_maps_close(&m);

	for (nth = 1; nth < MAX_FAULT_ROUNDS; nth++) {
		fault_maps(&m, &a);
		dump_take(&m, &before);
		ut_ok(abmap_fake_fail(m.group, op, nth, -EIO));
		memset(&o, 0, sizeof(o));
		ret = lb_commit(&m, &b, &o);
		if (ret == 0) {
			/* The commit needed fewer than nth operations: every position was hit. */
			dump_take(&m, &after);
			dump_assert_equal(&ref, &after, true);
			dump_free(&after);
			dump_free(&before);
			lb_maps_close(&m);
			break;
		}
		rounds++;
		if (ret != -EIO)
			fail_msg("fault %u: lb_commit returned %d (%s): %s", nth, ret,
				 strerror(-ret), o.err.msg);
		assert_one_line(&o.err, NULL);
		/* Live side intact: same tables, same generation, same model. */
		dump_take(&m, &after);
		dump_assert_equal(&before, &after, true);
		dump_free(&after);
		ut_ok(lb_read(&m, &r, &err));
		assert_int_equal(lb_diff(&r, &a, NULL, NULL), 0);
		lb_state_free(&r);
		/* A retry succeeds and gives exactly the reference. */
		assert_int_equal(commit(&m, &b), 0);
		dump_take(&m, &after);
		dump_assert_equal(&ref, &after, true);
		dump_free(&after);
		/* And the next commit after the repaired one is consistent too. */
		assert_int_equal(commit(&m, &a), 0);
		ut_ok(lb_read(&m, &r, &err));
		assert_int_equal(lb_diff(&r, &a, NULL, NULL), 0);
		lb_state_free(&r);
		dump_free(&before);
		lb_maps_close(&m);
	}
	assert_true(nth < MAX_FAULT_ROUNDS);
	dump_free(&ref);
	lb_state_free(&a);
	lb_state_free(&b);
	*rounds_out = rounds;
}

static void test_faults(void **state)
{
	int writes = 0, flips = 0, graces = 0;

	(void)state;
	run_faults(ABMAP_FAKE_WRITE, &writes);
	run_faults(ABMAP_FAKE_FLIP, &flips);
	run_faults(ABMAP_FAKE_GRACE, &graces);
	print_message("faults: %d write positions, %d flip and %d grace-period waits failed once "
		      "each; live side intact, retry succeeded every time\n",
		      writes, flips, graces);
	assert_true(writes > 20);
	assert_int_equal(flips, 1);
}

/* A writer that cannot get the group: a clear error, nothing written. */
static void test_busy(void **state)
{
	struct abmap_txn *txn;
	struct lb_commit_opts o;
	struct lb_state s;
	struct lb_maps m;

	(void)state;
	maps_fake(&m);
	lb_state_init(&s);
	add_vip(&s, IP(10, 0, 0, 1), 53, 7);
	txn = abmap_txn_begin(m.group);
	assert_non_null(txn);
	memset(&o, 0, sizeof(o));
	assert_int_equal(lb_commit(&m, &s, &o), -EBUSY);
	assert_one_line(&o.err, "transaction");
	abmap_txn_abort(txn);
	assert_int_equal(ut_gen(m.group), 0);
	assert_int_equal(lb_commit(&m, &s, &o), 0);
	lb_state_free(&s);
	lb_maps_close(&m);
}

/* lb_read() on content lb_commit() never writes. */
static void test_read_unclean(void **state)
{
	struct udplb_backend slots[4];
	struct lb_state s, r;
	struct lb_maps m;
	struct lb_err err;

	(void)state;
	maps_small(&m, 8, 4, 64);
	lb_state_init(&s);
	add_vip(&s, IP(10, 0, 0, 1), 53, 7);
	add_be(&s, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	assert_int_equal(commit(&m, &s), 0);

	/* A backend of VIP id 5, which does not exist. */
	memset(slots, 0, sizeof(slots));
	ut_ok(abmap_array_get(m.backends, 0, &slots[0]));
	slots[2] = slots[0];
	slots[2].vip_id = 5;
	ut_ok(abmap_array_set(m.backends, slots, 4));
	assert_lb_err(lb_read(&m, &r, &err), -EUCLEAN, err, "VIP id 5");
	assert_int_equal(r.nr_vips, 0);
	/* A commit repairs it: the stray slot is freed. */
	assert_int_equal(commit(&m, &s), 0);
	ut_ok(lb_read(&m, &r, &err));
	assert_int_equal(lb_diff(&r, &s, NULL, NULL), 0);
	lb_state_free(&r);

	/* The same backend twice. */
	slots[2].vip_id = 0;
	ut_ok(abmap_array_set(m.backends, slots, 4));
	assert_lb_err(lb_read(&m, &r, &err), -EUCLEAN, err, "two slots");
	assert_int_equal(commit(&m, &s), 0);
	assert_int_equal(live_id(&m, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 1)), 0);
	lb_state_free(&s);
	lb_maps_close(&m);
}

/* ---------------------------------------------------------------------------------------------
 * Dry-run differences
 */

struct diff_log {
	int n;
	char lines[16][160];
	enum lb_diff_op ops[16];
};

static int diff_collect(void *ctx, const struct lb_diff_item *item)
{
	struct diff_log *log = ctx;

	assert_true(log->n < 16);
	log->ops[log->n] = item->op;
	ut_ok(lb_diff_format(item, log->lines[log->n], sizeof(log->lines[0])));
	log->n++;
	return 0;
}

static int diff_stop(void *ctx, const struct lb_diff_item *item)
{
	(void)ctx;
	(void)item;
	return -ECANCELED;
}

static void test_diff(void **state)
{
	struct udplb_vip_key k1 = vkey(IP(10, 0, 0, 1), 53);
	struct lb_state live, want;
	struct diff_log log;
	struct lb_backend b;
	struct lb_vip c;
	struct lb_err err;
	int i;

	(void)state;
	lb_state_init(&live);
	add_vip(&live, IP(10, 0, 0, 1), 53, 7);
	add_vip(&live, IP(10, 0, 0, 2), 53, 7);
	add_vip(&live, IP(10, 0, 0, 3), 53, 7);
	add_be(&live, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_be(&live, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 2), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_be(&live, IP(10, 0, 0, 2), 53, IP(10, 2, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	add_be(&live, IP(10, 0, 0, 3), 53, IP(10, 3, 0, 1), 1, UDPLB_BACKEND_ACTIVE, -1);
	ut_ok(lb_state_copy(&want, &live));
	assert_int_equal(lb_diff(&live, &want, diff_collect, &log), 0);

	/* VIP 3 removed, VIP 4 added, VIP 2 changed, backends of VIP 1 changed. */
	c = vip_conf(IP(10, 0, 0, 3), 53, 0);
	ut_ok(lb_vip_del(&want, &c.key, &err));
	add_vip(&want, IP(10, 0, 0, 4), 53, 11);
	add_be(&want, IP(10, 0, 0, 4), 53, IP(10, 4, 0, 1), 2, UDPLB_BACKEND_ACTIVE, 0xab);
	c = vip_conf(IP(10, 0, 0, 2), 53, 13);
	c.fwd = UDPLB_FWD_IPIP;
	ut_ok(lb_vip_set(&want, &c, &err));
	b = be_conf(IP(10, 1, 0, 1), 53, 5, UDPLB_BACKEND_DRAINING, 1);
	ut_ok(lb_backend_set(&want, &k1, &b, &err));
	del_be(&want, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 2));
	add_be(&want, IP(10, 0, 0, 1), 53, IP(10, 1, 0, 3), 1, UDPLB_BACKEND_ACTIVE, -1);

	memset(&log, 0, sizeof(log));
	assert_int_equal(lb_diff(&live, &want, diff_collect, &log), 8);
	for (i = 0; i < log.n; i++)
		print_message("  %s\n", log.lines[i]);
	assert_string_equal(log.lines[0], "~ backend 10.1.0.1:53 of vip 10.0.0.1:53/udp: weight 1 "
					  "-> 5, state active -> draining, mac none -> "
					  "02:00:5e:10:00:01");
	assert_string_equal(log.lines[1], "- backend 10.1.0.2:53 of vip 10.0.0.1:53/udp");
	assert_string_equal(log.lines[2], "+ backend 10.1.0.3:53 of vip 10.0.0.1:53/udp (weight "
					  "1, active, mac none)");
	assert_string_equal(log.lines[3], "~ vip 10.0.0.2:53/udp: fwd dsr -> ipip, ring 7 -> 13");
	assert_string_equal(log.lines[4], "- vip 10.0.0.3:53/udp");
	assert_string_equal(log.lines[5], "- backend 10.3.0.1:53 of vip 10.0.0.3:53/udp");
	assert_string_equal(log.lines[6],
			    "+ vip 10.0.0.4:53/udp (fwd dsr, hash 5tuple, ring 11, flags none)");
	assert_string_equal(log.lines[7], "+ backend 10.4.0.1:53 of vip 10.0.0.4:53/udp (weight "
					  "2, active, mac 02:00:5e:10:00:ab)");
	assert_int_equal(log.ops[0], LB_DIFF_CHANGE);
	assert_int_equal(log.ops[1], LB_DIFF_DEL);
	assert_int_equal(log.ops[2], LB_DIFF_ADD);

	/* Reverse direction has as many items; a callback can stop the walk. */
	assert_int_equal(lb_diff(&want, &live, NULL, NULL), 8);
	assert_int_equal(lb_diff(&live, &want, diff_stop, NULL), -ECANCELED);

	/* Truncated output is reported. */
	{
		struct lb_diff_item it = { .op = LB_DIFF_DEL, .vip_old = &live.vips[0] };
		char small[8];

		assert_int_equal(lb_diff_format(&it, small, sizeof(small)), -ENOSPC);
		assert_string_equal(small, "- vip 1");
	}
	/* Names come from names.h: an unknown value is "unknown(N)", not "?" or a known name. */
	{
		struct lb_vip odd = live.vips[0];
		struct lb_diff_item it = { .op = LB_DIFF_ADD, .vip_new = &odd };
		char line[256];

		odd.fwd = 7;
		odd.hash_mode = 9;
		odd.flags = UDPLB_VIP_F_DROP_FRAGS | 0x80;
		ut_ok(lb_diff_format(&it, line, sizeof(line)));
		assert_string_equal(line, "+ vip 10.0.0.1:53/udp (fwd unknown(7), hash unknown(9), "
					  "ring 7, flags drop-frags,0x80)");
	}
	lb_state_free(&live);
	lb_state_free(&want);
}

/* ---------------------------------------------------------------------------------------------
 * Distribution of flows over the ring lb_commit() writes.
 */

#define NR_FLOWS 100000

/* xorshift32: deterministic synthetic flows. */
static __u32 rnd(__u32 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

struct flows {
	struct udplb_flow f[NR_FLOWS];
	__u32 be[NR_FLOWS]; /* backend id per flow */
};

/* Pick each flow's backend as the data plane does: ring[ring_off + hash % ring_size]. */
static void pick_all(struct lb_maps *m, const struct udplb_vip_key *k, struct flows *fl, __u32 seed)
{
	struct udplb_vip v;
	__u32 *ring, i;

	ut_ok(abmap_get(m->vips, k, &v));
	ring = malloc(v.ring_size * sizeof(*ring));
	assert_non_null(ring);
	for (i = 0; i < v.ring_size; i++)
		ut_ok(abmap_array_get(m->ring, v.ring_off + i, &ring[i]));
	for (i = 0; i < NR_FLOWS; i++)
		fl->be[i] = ring[udplb_flow_hash(&fl->f[i], seed, v.hash_mode) % v.ring_size];
	free(ring);
}

static void make_flows(struct flows *fl, const struct udplb_vip_key *k)
{
	__u32 x = 0x12345678, i;

	for (i = 0; i < NR_FLOWS; i++) {
		memset(&fl->f[i], 0, sizeof(fl->f[i]));
		fl->f[i].saddr = rnd(&x);
		fl->f[i].sport = (__be16)(rnd(&x) & 0xffff);
		fl->f[i].daddr = k->addr;
		fl->f[i].dport = k->port;
		fl->f[i].proto = IPPROTO_UDP;
	}
}

static void check_spread(struct lb_maps *m, const struct lb_vip *v, const struct flows *fl,
			 const char *label)
{
	__u32 *slots = calloc(UDPLB_MAX_BACKENDS, sizeof(*slots));
	__u32 *flows = calloc(UDPLB_MAX_BACKENDS, sizeof(*flows));
	double total_w = 0, worst_slot = 0, worst_flow = 0;
	struct udplb_vip lv;
	__u32 i, id;

	assert_non_null(slots);
	assert_non_null(flows);
	ut_ok(abmap_get(m->vips, &v->key, &lv));
	for (i = 0; i < lv.ring_size; i++) {
		ut_ok(abmap_array_get(m->ring, lv.ring_off + i, &id));
		assert_true(id < UDPLB_MAX_BACKENDS);
		slots[id]++;
	}
	for (i = 0; i < NR_FLOWS; i++)
		flows[fl->be[i]]++;
	for (i = 0; i < v->nr_backends; i++)
		total_w += v->backends[i].weight;
	for (i = 0; i < v->nr_backends; i++) {
		__u32 bid = live_id(m, v->key.addr, ntohs(v->key.port), v->backends[i].addr);
		double share = v->backends[i].weight / total_w;
		double es = lv.ring_size * share, ef = NR_FLOWS * share;
		double ds = slots[bid] - es, df = flows[bid] - ef;

		if (ds < 0)
			ds = -ds;
		if (df < 0)
			df = -df;
		if (ds > es * 0.01 && ds > 1.0)
			fail_msg("%s: backend %u (weight %u): %u slots, expected %.1f +- 1%%",
				 label, i, v->backends[i].weight, slots[bid], es);
		if (df > ef * 0.05)
			fail_msg("%s: backend %u (weight %u): %u flows, expected %.0f +- 5%%",
				 label, i, v->backends[i].weight, flows[bid], ef);
		if (ds / es > worst_slot)
			worst_slot = ds / es;
		if (df / ef > worst_flow)
			worst_flow = df / ef;
	}
	print_message("%s: %u backends, ring %u: worst slot deviation %.3f%%, worst flow "
		      "deviation (%d flows) %.2f%%\n",
		      label, v->nr_backends, lv.ring_size, worst_slot * 100, NR_FLOWS,
		      worst_flow * 100);
	free(slots);
	free(flows);
}

static void test_distribution(void **state)
{
	const __be32 vaddr = IP(10, 0, 0, 1);
	struct udplb_vip_key k = vkey(vaddr, 53);
	struct flows *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	static const __u32 sizes[] = { 4, 10 };
	struct lb_state s;
	struct lb_maps m;
	__u32 si, i;

	(void)state;
	assert_non_null(before);
	assert_non_null(after);
	for (si = 0; si < UT_ARRAY_SIZE(sizes); si++) {
		__u32 n = sizes[si], removed_id, own = 0, moved = 0, moved_other = 0;
		__be32 gone = IP(10, 1, 0, 1 + n / 2), extra = IP(10, 1, 1, 1);
		char label[64];

		maps_fake(&m);
		lb_state_init(&s);
		add_vip(&s, vaddr, 53, 0);
		add_vip(&s, IP(10, 0, 0, 2), 53, 0);
		for (i = 0; i < n; i++)
			add_be(&s, vaddr, 53, IP(10, 1, 0, 1 + i), 1, UDPLB_BACKEND_ACTIVE, -1);
		/* Another VIP: 8 backends of weights 1..4. */
		for (i = 0; i < 8; i++)
			add_be(&s, IP(10, 0, 0, 2), 53, IP(10, 2, 0, 1 + i), (__u16)(1 + i % 4),
			       UDPLB_BACKEND_ACTIVE, -1);
		assert_int_equal(commit(&m, &s), 0);
		make_flows(before, &k);
		pick_all(&m, &k, before, 0);
		snprintf(label, sizeof(label), "equal weights, N=%u", n);
		check_spread(&m, lb_vip_find(&s, &k), before, label);
		{
			struct udplb_vip_key k2 = vkey(IP(10, 0, 0, 2), 53);
			struct flows *w = malloc(sizeof(*w));

			assert_non_null(w);
			make_flows(w, &k2);
			pick_all(&m, &k2, w, 0);
			snprintf(label, sizeof(label), "weights 1..4, N=8");
			check_spread(&m, lb_vip_find(&s, &k2), w, label);
			free(w);
		}

		/* Remove one backend. */
		removed_id = live_id(&m, vaddr, 53, gone);
		del_be(&s, vaddr, 53, gone);
		assert_int_equal(commit(&m, &s), 0);
		memcpy(after->f, before->f, sizeof(before->f));
		pick_all(&m, &k, after, 0);
		for (i = 0; i < NR_FLOWS; i++) {
			if (before->be[i] == removed_id)
				own++;
			if (before->be[i] != after->be[i]) {
				moved++;
				if (before->be[i] != removed_id)
					moved_other++;
			}
			assert_int_not_equal(after->be[i], removed_id);
		}
		print_message("remove 1 of %u: %.2f%% of flows moved (%.2f%% were on the removed "
			      "backend, %.2f%% others, limit for others %.2f%%)\n",
			      n, 100.0 * moved / NR_FLOWS, 100.0 * own / NR_FLOWS,
			      100.0 * moved_other / NR_FLOWS, 100.0 / n + 2);
		/* Every flow of the removed backend moves; of the others, at most 1/N + 2%. */
		assert_int_equal(moved - moved_other, own);
		assert_true((double)moved_other / NR_FLOWS <= 1.0 / n + 0.02);
		snprintf(label, sizeof(label), "after removal, N=%u", n - 1);
		check_spread(&m, lb_vip_find(&s, &k), after, label);

		/* Put it back (same slot is free again), then add one more: N + 1. */
		add_be(&s, vaddr, 53, gone, 1, UDPLB_BACKEND_ACTIVE, -1);
		assert_int_equal(commit(&m, &s), 0);
		assert_int_equal(live_id(&m, vaddr, 53, gone), removed_id);
		pick_all(&m, &k, before, 0);
		add_be(&s, vaddr, 53, extra, 1, UDPLB_BACKEND_ACTIVE, -1);
		assert_int_equal(commit(&m, &s), 0);
		memcpy(after->f, before->f, sizeof(before->f));
		pick_all(&m, &k, after, 0);
		{
			__u32 new_id = live_id(&m, vaddr, 53, extra), to_new = 0;

			moved = 0;
			for (i = 0; i < NR_FLOWS; i++) {
				if (before->be[i] == after->be[i])
					continue;
				moved++;
				to_new += after->be[i] == new_id;
			}
			print_message("add 1 to %u: %.2f%% of flows moved (%.2f%% to the new "
				      "backend), limit %.2f%%\n",
				      n, 100.0 * moved / NR_FLOWS, 100.0 * to_new / NR_FLOWS,
				      100.0 / (n + 1) + 2);
			assert_true((double)moved / NR_FLOWS <= 1.0 / (n + 1) + 0.02);
		}
		snprintf(label, sizeof(label), "after adding, N=%u", n + 1);
		check_spread(&m, lb_vip_find(&s, &k), after, label);
		lb_state_free(&s);
		lb_maps_close(&m);
	}
	free(before);
	free(after);
}

/* Everything full: 16 VIPs with default rings, 4096 backends; then one backend more is refused. */
static void test_full_scale(void **state)
{
	struct lb_state s, r;
	struct lb_maps m;
	struct lb_err err;
	struct lb_backend b;
	struct udplb_vip_key k = vkey(IP(10, 0, 0, 1), 53);
	__u32 v, i;

	(void)state;
	maps_fake(&m);
	lb_state_init(&s);
	for (v = 0; v < 16; v++) {
		add_vip(&s, IP(10, 0, 0, 1 + v), 53, 0);
		for (i = 0; i < UDPLB_MAX_BACKENDS / 16; i++)
			add_be(&s, IP(10, 0, 0, 1 + v), 53, IP(10, 1 + v, i >> 8, 1 + (i & 0xff)),
			       (__u16)(1 + i % 5), UDPLB_BACKEND_ACTIVE, (int)(i & 0xff));
	}
	b = be_conf(IP(10, 99, 0, 1), 53, 1, UDPLB_BACKEND_ACTIVE, -1);
	assert_lb_err(lb_backend_add(&s, &k, &b, &err), -ENOSPC, err, "full");
	/* Timing lives in make bench (table 7); this checks the results. */
	assert_int_equal(commit(&m, &s), 0);
	ut_ok(lb_read(&m, &r, &err));
	assert_int_equal(lb_diff(&r, &s, NULL, NULL), 0);
	assert_int_equal(lb_state_nr_backends(&r), UDPLB_MAX_BACKENDS);
	assert_int_equal(commit(&m, &r), LB_COMMIT_UNCHANGED);
	lb_state_free(&r);
	lb_state_free(&s);
	lb_maps_close(&m);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_model_errors),
		cmocka_unit_test(test_commit_invalid),
		cmocka_unit_test(test_commit_tables),
		cmocka_unit_test(test_ids_stable),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_draining),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_read_unclean),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_distribution),
		cmocka_unit_test(test_full_scale),
	};
	/* clang-format on */

	ut_main_init();
	return cmocka_run_group_tests_name("lb", tests, NULL, NULL);
}
