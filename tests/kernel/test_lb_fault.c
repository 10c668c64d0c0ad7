// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fault injection into the udplb control plane: an lb_commit() on the udplb skeleton's maps is
 * made to fail at every syscall it makes (lib/abmap/fault_inject.h), in turn. After each
 * failure lb_read() returns the previous configuration, the live maps are byte-identical, the
 * generation is unchanged, no lock or fd leaks, and the next lb_commit() succeeds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>

#include <bpf/libbpf.h>

#include "abmap/testing.h"
#include "ktest.h"
#include "lb.h"
#include "udplb_fixture.h"
#include "udplb.skel.h"

#include "abmap/fault_inject.h"

#define IP(a, b, c, d) htonl(((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (d))
#define PORT 53

static void add_vip(struct lb_state *s, __be32 addr, __u32 ring)
{
	struct lb_vip v = tl_vip(addr, htons(PORT), UDPLB_FWD_DSR, ring);
	struct lb_err err;

	if (lb_vip_add(s, &v, &err))
		fail_msg("lb_vip_add: %s", err.msg);
}

static void add_be(struct lb_state *s, __be32 vip, __be32 addr, __u16 weight, __u8 state)
{
	struct udplb_vip_key k = { .addr = vip, .port = htons(PORT) };
	struct lb_backend b = tl_backend(addr, htons(PORT), weight, state, (__u8)ntohl(addr));
	struct lb_err err;

	if (lb_backend_add(s, &k, &b, &err))
		fail_msg("lb_backend_add: %s", err.msg);
}

/* A: two VIPs. B: the first VIP's backends and weights change, the second goes, a third comes. */
static void config(struct lb_state *s, bool b)
{
	__u32 i;

	lb_state_init(s);
	add_vip(s, IP(10, 0, 0, 10), b ? 101 : 251);
	for (i = b ? 3 : 1; i <= (b ? 9u : 6u); i++)
		add_be(s, IP(10, 0, 0, 10), IP(10, 1, 0, i), b ? i : 1,
		       b && i == 4 ? UDPLB_BACKEND_DRAINING : UDPLB_BACKEND_ACTIVE);
	if (!b) {
		add_vip(s, IP(10, 0, 0, 11), 13);
		for (i = 1; i <= 3; i++)
			add_be(s, IP(10, 0, 0, 11), IP(10, 2, 0, i), 1, UDPLB_BACKEND_ACTIVE);
	} else {
		add_vip(s, IP(10, 0, 0, 12), 53);
		for (i = 1; i <= 4; i++)
			add_be(s, IP(10, 0, 0, 12), IP(10, 3, 0, i), 2, UDPLB_BACKEND_ACTIVE);
	}
}

struct fixture {
	struct udplb *skel;
	struct lb_map_fds fds;
	struct lb_maps maps;
	struct lb_state a, b;
};

/* Raw bytes of the live side of the four structures. */
struct raw {
	size_t len;
	unsigned char *buf;
};

static void raw_add(struct raw *r, const void *p, size_t n)
{
	r->buf = realloc(r->buf, r->len + n);
	assert_non_null(r->buf);
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

static void raw_array(struct raw *r, int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), count, out;
	void *keys, *vals;
	int err;

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	if (info.map_flags & BPF_F_MMAPABLE) {
		/* Read in place: a batch lookup of the 1.1M-slot ring costs ~100 ms. */
		size_t size = (size_t)info.max_entries * ((info.value_size + 7) & ~7u);
		void *mem = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

		assert_true(mem != MAP_FAILED);
		raw_add(r, mem, size);
		munmap(mem, size);
		return;
	}
	count = info.max_entries;
	keys = malloc((size_t)count * 4);
	vals = malloc((size_t)count * info.value_size);
	assert_non_null(keys);
	assert_non_null(vals);
	err = bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, NULL);
	if (err && err != -ENOENT)
		fail_msg("lookup_batch: %s", strerror(-err));
	assert_int_equal(count, info.max_entries);
	raw_add(r, vals, (size_t)count * info.value_size);
	free(keys);
	free(vals);
}

static void raw_hash(struct raw *r, int fd)
{
	struct udplb_vip_key key, *prev = NULL;
	struct udplb_vip val;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		assert_int_equal(bpf_map_lookup_elem(fd, &key, &val), 0);
		raw_add(r, &key, sizeof(key));
		raw_add(r, &val, sizeof(val));
		prev = &key;
	}
}

static __u64 generation(struct fixture *f)
{
	__u64 gen = 0;

	assert_int_equal(abmap_group_generation(f->maps.group, &gen), 0);
	return gen;
}

static void raw_live(struct fixture *f, struct raw *r)
{
	int live = generation(f) & 1;

	r->len = 0;
	raw_hash(r, f->fds.vips[live]);
	raw_array(r, f->fds.vip_filter[live]);
	raw_array(r, f->fds.backends[live]);
	raw_array(r, f->fds.ring[live]);
}

static void assert_live_config(struct fixture *f, const struct lb_state *want, const char *what)
{
	struct lb_state got;
	struct lb_err err;

	if (lb_read(&f->maps, &got, &err))
		fail_msg("%s: lb_read: %s", what, err.msg);
	if (lb_diff(&got, want, NULL, NULL) != 0)
		fail_msg("%s: lb_read differs from the expected configuration", what);
	lb_state_free(&got);
}

static void commit(struct fixture *f, const struct lb_state *s, const char *what)
{
	struct lb_commit_opts o;
	int ret;

	memset(&o, 0, sizeof(o));
	ret = lb_commit(&f->maps, s, &o);
	if (ret)
		fail_msg("%s: lb_commit returned %d: %s", what, ret, o.err.msg);
}

static void assert_unlocked(struct fixture *f, const char *what)
{
	struct abmap_group_opts go;
	struct lb_maps m;
	struct abmap_txn *txn;

	ktest_group_opts(&go, 0);
	assert_int_equal(lb_maps_open(&m, &f->fds, &go), 0);
	abmap_testing_set_no_grace(m.group, true);
	txn = abmap_txn_begin(m.group);
	if (!txn)
		fail_msg("%s: the writer lock is still held (%s)", what, strerror(errno));
	abmap_txn_abort(txn);
	lb_maps_close(&m);
}

static void skel_destroy(void *arg)
{
	udplb__destroy(arg);
}

static void maps_close(void *arg)
{
	lb_maps_close(arg);
}

static int quiet_print(enum abmap_print_level level, const char *fmt, va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

static void restore_print(void *prev)
{
	abmap_set_print(prev);
}

static void fixture_init(struct fixture *f)
{
	struct abmap_group_opts go;

	memset(f, 0, sizeof(*f));
	f->skel = udplb__open_and_load();
	if (!f->skel)
		fail_msg("loading the udplb skeleton: %s", strerror(errno));
	ktest_defer(skel_destroy, f->skel);
	f->fds = (struct lb_map_fds){
		.ptr = bpf_map__fd(f->skel->maps.udplb_ptr),
		.vips = { bpf_map__fd(f->skel->maps.vips_a), bpf_map__fd(f->skel->maps.vips_b) },
		.vip_filter = { bpf_map__fd(f->skel->maps.vip_filter_a),
				bpf_map__fd(f->skel->maps.vip_filter_b) },
		.backends = { bpf_map__fd(f->skel->maps.backends_a),
			      bpf_map__fd(f->skel->maps.backends_b) },
		.ring = { bpf_map__fd(f->skel->maps.ring_a), bpf_map__fd(f->skel->maps.ring_b) },
	};
	ktest_group_opts(&go, 0);
	assert_int_equal(lb_maps_open(&f->maps, &f->fds, &go), 0);
	abmap_testing_set_no_grace(f->maps.group, true);
	ktest_defer(maps_close, &f->maps);
	config(&f->a, false);
	config(&f->b, true);
}

/* Live A over passive B: the state every faulty commit of B starts from. */
static void to_a(struct fixture *f)
{
	commit(f, &f->a, "setup A");
}

/*
 * The commit under test: through the fixture's long-lived maps, or (@fresh) through maps opened
 * for it, as the CLI does for each command (then lb_maps_open() is under test too).
 */
static int commit_b(struct fixture *f, bool fresh)
{
	struct abmap_group_opts go;
	struct lb_commit_opts o;
	struct lb_maps m;
	int ret;

	memset(&o, 0, sizeof(o));
	if (!fresh)
		return lb_commit(&f->maps, &f->b, &o);
	ktest_group_opts(&go, 0);
	abmap_testing_set_default_no_grace(true);
	ret = lb_maps_open(&m, &f->fds, &go);
	abmap_testing_set_default_no_grace(false);
	if (ret)
		return ret;
	ret = lb_commit(&m, &f->b, &o);
	lb_maps_close(&m);
	return ret;
}

/* Fail call @n of @site in commit_b(); check what is live; recover. */
static void fail_one(struct fixture *f, bool fresh, int site, unsigned long n)
{
	struct raw before = { 0 }, after = { 0 };
	unsigned long at;
	char what[128];
	int ret, fds;
	__u64 gen;

	snprintf(what, sizeof(what), "lb_commit%s, %s call %lu failing",
		 fresh ? " (maps opened for it)" : "", fault_inject_site_name(site), n);
	to_a(f);
	raw_live(f, &before);
	gen = generation(f);
	fds = ktest_count_fds();
	at = fault_inject_count(site);
	fault_inject_arm(site, n, -EIO);
	ret = commit_b(f, fresh);
	fault_inject_disarm();
	if (fault_inject_count(site) - at < n)
		fail_msg("%s: the commit made fewer calls", what);
	if (ret >= 0)
		fail_msg("%s: lb_commit returned %d", what, ret);
	assert_live_config(f, &f->a, what);
	raw_live(f, &after);
	if (after.len != before.len || memcmp(after.buf, before.buf, after.len))
		fail_msg("%s: the live maps changed", what);
	assert_int_equal(generation(f), gen);
	assert_unlocked(f, what);
	if (ktest_count_fds() != fds)
		fail_msg("%s: %d fds before, %d after", what, fds, ktest_count_fds());
	commit(f, &f->b, what);
	assert_live_config(f, &f->b, what);
	assert_int_equal(generation(f), gen + 1);
	free(before.buf);
	free(after.buf);
}

static void fail_every_call(bool fresh)
{
	unsigned long c0[NR_FAULT_SITES], c1[NR_FAULT_SITES], n;
	unsigned int points = 0, sites = 0;
	struct fixture f;
	int site;

	ktest_begin();
	fixture_init(&f);
	ktest_defer(restore_print, abmap_set_print(quiet_print));
	to_a(&f);
	commit(&f, &f.b, "warm-up B");
	to_a(&f);
	for (site = 0; site < NR_FAULT_SITES; site++)
		c0[site] = fault_inject_count(site);
	assert_int_equal(commit_b(&f, fresh), 0);
	for (site = 0; site < NR_FAULT_SITES; site++)
		c1[site] = fault_inject_count(site);
	printf("# lb_commit%s:", fresh ? " (maps opened for it)" : "");
	for (site = 0; site < NR_FAULT_SITES; site++)
		if (c1[site] > c0[site])
			printf(" %s %lu", fault_inject_site_name(site), c1[site] - c0[site]);
	printf("\n");

	for (site = 0; site < NR_FAULT_SITES; site++) {
		sites += c1[site] > c0[site];
		for (n = 1; n <= c1[site] - c0[site]; n++, points++)
			fail_one(&f, fresh, site, n);
	}
	printf("# lb_commit fault injection: %u call points at %u sites\n", points, sites);
	assert_true(sites >= 7);
	lb_state_free(&f.a);
	lb_state_free(&f.b);
}

static void test_lb_commit_fails_at_every_step(void **state)
{
	(void)state;
	fail_every_call(false);
}

static void test_lb_open_commit_fails_at_every_step(void **state)
{
	(void)state;
	fail_every_call(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_lb_commit_fails_at_every_step),
		KTEST(test_lb_open_commit_fails_at_every_step),
	};

	return cmocka_run_group_tests_name("lb_fault", tests, NULL, NULL);
}
