// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/daemon/ctl.c on the fake store: health changes of one tick coalesce into ONE flip
 * (counted with ABMAP_FAKE_FLIP; committing after each change is the negative control), a quiet
 * tick or an identical reload flips nothing, a reload keeps the health of the backends that stay
 * and reports the probes to add, remove and change, a failed commit is retried, and VIP
 * availability changes reach their hook.
 */
#include "unit_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "daemon/ctl.h"

static const char base[] = "device eth0\n"
			   "vip 10.0.0.1:53\n"
			   "  check udp send 00 initial up\n"
			   "  backend 10.0.1.1 mac none\n"
			   "  backend 10.0.1.2 mac none\n"
			   "  backend 10.0.1.3 mac none\n"
			   "  backend 10.0.1.4 mac none\n";

struct fixture {
	struct lb_maps maps;
	struct lb_ctl ctl;
	struct lb_commit_opts opts;
	struct udplb_vip_key vip;
	/* probe changes and availability changes seen */
	char log[512];
};

static void logf_(struct fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct fixture *f, const char *fmt, ...)
{
	size_t len = strlen(f->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->log + len, sizeof(f->log) - len, fmt, ap);
	va_end(ap);
}

static int on_probe(void *ctx, const struct lb_probe_change *c)
{
	const struct lb_dconf_backend *b = c->new_backend ?: c->old_backend;
	static const char *const ops[] = { "+", "-", "~" };
	struct in_addr a = { b->addr };

	logf_(ctx, "%s%s ", ops[c->op], inet_ntoa(a));
	return 0;
}

static void on_avail(void *ctx, const struct lb_vip_avail *now)
{
	struct in_addr a = { now->key.addr };

	logf_(ctx, "%s:%s ", inet_ntoa(a), now->available ? "up" : "down");
}

static void load(struct fixture *f, const char *text, int want_changes)
{
	struct lb_err err = {};
	struct lb_dconf d;

	lb_dconf_init(&d);
	if (lb_dconf_parse_mem(text, strlen(text), "c.conf", &d, &err))
		fail_msg("%s", err.msg);
	f->log[0] = '\0';
	assert_int_equal(lb_ctl_load(&f->ctl, &d, on_probe, f), want_changes);
	lb_dconf_free(&d);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ut_ok(lb_maps_fake(&f->maps));
	lb_ctl_init(&f->ctl);
	f->ctl.avail_changed = on_avail;
	f->ctl.ctx = f;
	f->vip.addr = inet_addr("10.0.0.1");
	f->vip.port = htons(53);
	f->vip.proto = IPPROTO_UDP;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	lb_ctl_free(&f->ctl);
	lb_maps_close(&f->maps);
	free(f);
	return 0;
}

static unsigned long flips(struct fixture *f)
{
	return abmap_fake_count(f->maps.group, ABMAP_FAKE_FLIP);
}

static int commit(struct fixture *f)
{
	memset(&f->opts, 0, sizeof(f->opts));
	return lb_ctl_commit(&f->ctl, &f->maps, &f->opts);
}

static int set(struct fixture *f, const char *addr, enum lb_policy_health h)
{
	return lb_ctl_set_health(&f->ctl, &f->vip, inet_addr(addr), 0, h);
}

/* Live backends of the VIP, as "1A 2D" (last octet, A active, D draining). */
static void live(struct fixture *f, char *out, size_t len)
{
	struct lb_err err = {};
	struct lb_state s;
	const struct lb_vip *v;
	__u32 i;

	ut_ok(lb_read(&f->maps, &s, &err));
	v = lb_vip_find(&s, &f->vip);
	assert_non_null(v);
	out[0] = '\0';
	for (i = 0; i < v->nr_backends; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%u%c", i ? " " : "",
			 ntohl(v->backends[i].addr) & 0xff,
			 v->backends[i].state == UDPLB_BACKEND_ACTIVE ? 'A' : 'D');
	lb_state_free(&s);
}

static void assert_live(struct fixture *f, const char *want)
{
	char got[128];

	live(f, got, sizeof(got));
	assert_string_equal(got, want);
}

/* Three backends fail in one tick: one flip. Committing after each: three (negative control). */
static void test_coalesce(void **state)
{
	struct fixture *f = *state;
	unsigned long n;

	load(f, base, 4);
	assert_string_equal(f->log, "+10.0.1.1 +10.0.1.2 +10.0.1.3 +10.0.1.4 ");
	f->log[0] = '\0';
	ut_ok(commit(f));
	assert_string_equal(f->log, "10.0.0.1:up ");
	assert_live(f, "1A 2A 3A 4A");
	n = flips(f);

	assert_int_equal(set(f, "10.0.1.1", LB_POLICY_DOWN), 1);
	assert_int_equal(set(f, "10.0.1.2", LB_POLICY_DOWN), 1);
	assert_int_equal(set(f, "10.0.1.3", LB_POLICY_DOWN), 1);
	assert_int_equal(set(f, "10.0.1.3", LB_POLICY_DOWN), 0);
	ut_ok(commit(f));
	assert_int_equal(flips(f), n + 1);
	assert_live(f, "4A");

	/* A quiet tick touches nothing. */
	assert_int_equal(commit(f), LB_COMMIT_UNCHANGED);
	assert_int_equal(flips(f), n + 1);

	/* Negative control: one commit per change is one flip per change. */
	set(f, "10.0.1.1", LB_POLICY_UP);
	ut_ok(commit(f));
	set(f, "10.0.1.2", LB_POLICY_UP);
	ut_ok(commit(f));
	set(f, "10.0.1.3", LB_POLICY_UP);
	ut_ok(commit(f));
	assert_int_equal(flips(f), n + 4);
	assert_live(f, "1A 2A 3A 4A");

	/* A change undone within the tick: no flip. */
	set(f, "10.0.1.2", LB_POLICY_DOWN);
	set(f, "10.0.1.2", LB_POLICY_UP);
	assert_int_equal(commit(f), LB_COMMIT_UNCHANGED);
	assert_int_equal(flips(f), n + 4);
	assert_int_equal(lb_ctl_set_health(&f->ctl, &f->vip, inet_addr("10.0.1.9"), 0, 1), -ENOENT);
}

/* The same file again: no probe change, no flip, the health states kept. */
static void test_identical_reload(void **state)
{
	struct fixture *f = *state;
	unsigned long n;

	load(f, base, 4);
	ut_ok(commit(f));
	set(f, "10.0.1.2", LB_POLICY_DOWN);
	ut_ok(commit(f));
	n = flips(f);
	load(f, base, 0);
	assert_string_equal(f->log, "");
	assert_int_equal(commit(f), LB_COMMIT_UNCHANGED);
	assert_int_equal(flips(f), n);
	assert_live(f, "1A 3A 4A");
}

/*
 * A reload that removes a backend, adds one, changes one's check, gives one "check none" and
 * drains the VIP's down backends: staying backends keep their health, new ones start at their
 * check's initial state, one flip.
 */
static void test_reload_diff(void **state)
{
	struct fixture *f = *state;
	unsigned long n;

	load(f, base, 4);
	ut_ok(commit(f));
	set(f, "10.0.1.2", LB_POLICY_DOWN);
	set(f, "10.0.1.3", LB_POLICY_DOWN);
	ut_ok(commit(f));
	assert_live(f, "1A 4A");
	n = flips(f);
	load(f,
	     "device eth0\nvip 10.0.0.1:53\n  check udp send 00 initial up\n  on-down drain\n"
	     "  backend 10.0.1.2 mac none\n"
	     "  backend 10.0.1.3 mac none check udp send 01\n"
	     "  backend 10.0.1.4 mac none check none\n"
	     "  backend 10.0.1.5 mac none check dns\n",
	     4);
	assert_string_equal(f->log, "-10.0.1.1 ~10.0.1.3 -10.0.1.4 +10.0.1.5 ");
	ut_ok(commit(f));
	assert_int_equal(flips(f), n + 1);
	/* 2, 3 stay down (drained now), 4 has no probe (up), 5 starts down (dns: initial down) */
	assert_live(f, "2D 3D 4A 5D");
}

/* A commit that fails leaves the state dirty; the next tick retries it. */
static void test_retry(void **state)
{
	struct fixture *f = *state;
	abmap_print_fn_t print;
	unsigned long n;

	load(f, base, 4);
	ut_ok(commit(f));
	n = flips(f);
	set(f, "10.0.1.4", LB_POLICY_DOWN);
	print = abmap_set_print(NULL); /* the failure is expected */
	ut_ok(abmap_fake_fail(f->maps.group, ABMAP_FAKE_FLIP, 1, -EIO));
	assert_int_equal(commit(f), -EIO);
	abmap_set_print(print);
	assert_live(f, "1A 2A 3A 4A");
	assert_true(f->ctl.dirty);
	ut_ok(commit(f));
	assert_live(f, "1A 2A 3A");
	assert_int_equal(flips(f), n + 2); /* the failed flip counts as performed */
}

/* min-healthy with a fallback: availability stays, the hook hears of each change once. */
static void test_availability(void **state)
{
	struct fixture *f = *state;

	load(f,
	     "device eth0\nvip 10.0.0.1:53\n check udp initial up\n"
	     " min-healthy 2 fallback 10.0.9.9 mac none\n backend 10.0.1.1 mac none\n"
	     " backend 10.0.1.2 mac none\n"
	     "vip 10.0.0.2:53\n check udp initial up\n backend 10.0.2.1 mac none\n",
	     3);
	f->log[0] = '\0';
	ut_ok(commit(f));
	assert_string_equal(f->log, "10.0.0.1:up 10.0.0.2:up ");
	f->log[0] = '\0';
	set(f, "10.0.1.1", LB_POLICY_DOWN);
	ut_ok(commit(f));
	assert_string_equal(f->log, ""); /* the fallback serves: still available */
	assert_live(f, "2D 9A");
	f->vip.addr = inet_addr("10.0.0.2");
	set(f, "10.0.2.1", LB_POLICY_DOWN);
	ut_ok(commit(f));
	assert_string_equal(f->log, "10.0.0.2:down ");
	f->log[0] = '\0';
	set(f, "10.0.2.1", LB_POLICY_UP);
	ut_ok(commit(f));
	assert_string_equal(f->log, "10.0.0.2:up ");
	/* A reload that drops a VIP withdraws it. */
	load(f, "device eth0\nvip 10.0.0.2:53\n check udp initial up\n backend 10.0.2.1 mac none\n",
	     2);
	f->log[0] = '\0';
	ut_ok(commit(f));
	assert_string_equal(f->log, "10.0.0.1:down ");
}

/* The prepare hook fills the MACs the file leaves to the daemon; its error stops the commit. */
static int fill_macs(void *ctx, const struct lb_dconf *conf, struct lb_state *desired,
		     struct lb_err *err)
{
	const struct lb_dconf_backend *db;
	struct lb_vip *v = &desired->vips[0];
	__u32 i;

	if (((struct fixture *)ctx)->log[0] == '!')
		return snprintf(err->msg, sizeof(err->msg), "no neighbour"), -EHOSTUNREACH;
	for (i = 0; i < v->nr_backends; i++) {
		db = lb_dconf_backend_find(conf, &v->key, v->backends[i].addr, 0);
		if (db && db->resolve) {
			v->backends[i].has_mac = true;
			memcpy(v->backends[i].mac, "\x02\0\0\0\0\x07", 6);
		}
	}
	return 0;
}

static void test_prepare(void **state)
{
	struct fixture *f = *state;
	struct lb_err err = {};
	struct lb_state s;

	load(f, "device eth0\nvip 10.0.0.1:53\nbackend 10.0.1.1\nbackend 10.0.1.2 mac none\n", 0);
	f->ctl.prepare = fill_macs;
	strcpy(f->log, "!");
	assert_int_equal(commit(f), -EHOSTUNREACH);
	assert_string_equal(f->opts.err.msg, "no neighbour");
	assert_true(f->ctl.dirty);
	f->log[0] = '\0';
	ut_ok(commit(f));
	ut_ok(lb_read(&f->maps, &s, &err));
	assert_true(s.vips[0].backends[0].has_mac);
	assert_int_equal(s.vips[0].backends[0].mac[5], 7);
	assert_false(s.vips[0].backends[1].has_mac);
	lb_state_free(&s);
}

/* A change callback that fails leaves the controller as it was. */
static int refuse(void *ctx, const struct lb_probe_change *c)
{
	(void)ctx;
	(void)c;
	return -ECANCELED;
}

static void test_load_refused(void **state)
{
	struct fixture *f = *state;
	struct lb_err err = {};
	struct lb_dconf d;

	load(f, base, 4);
	ut_ok(commit(f));
	set(f, "10.0.1.1", LB_POLICY_DOWN);
	lb_dconf_init(&d);
	/* the same file without its last backend line */
	ut_ok(lb_dconf_parse_mem(base, strlen(base) - strlen("  backend 10.0.1.4 mac none\n"),
				 "c.conf", &d, &err));
	assert_int_equal(lb_ctl_load(&f->ctl, &d, refuse, NULL), -ECANCELED);
	assert_int_equal(d.nr_backends, 3);
	assert_int_equal(f->ctl.conf.nr_backends, 4);
	ut_ok(commit(f));
	assert_live(f, "2A 3A 4A");
	lb_dconf_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identical_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_availability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
