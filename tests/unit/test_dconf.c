// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/daemon/dconf.c, udplbd's configuration file: every error names FILE:LINE and the
 * word at fault, defaults, per-backend check overrides, and the writer's round trip.
 */
#include "unit_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "daemon/dconf.h"

#define HEAD "device eth0 mode xdp\n"

/* The example of the daemon's issue (hex words, comments, indentation). */
static const char example[] =
	"device eth0 mode xdp                  # the daemon loads the program\n"
	"hash-seed 12345\n"
	"metrics 127.0.0.1:9477\n"
	"vip 10.0.0.1:53 fwd dsr\n"
	"  check dns name health.example. type A interval 2s timeout 1s rise 2 fall 3\n"
	"  on-down remove                      # or: drain\n"
	"  min-healthy 1 fallback 10.0.9.1\n"
	"  backend 10.0.1.1\n"
	"  backend 10.0.1.2 weight 2\n"
	"  backend 10.0.1.3 check udp send 68656c6c6f expect 6f6bXX min-reply 2   # hex\n";

static int parse(const char *text, struct lb_dconf *d, struct lb_err *err)
{
	lb_dconf_init(d);
	return lb_dconf_parse_mem(text, strlen(text), "t.conf", d, err);
}

static void expect_ok(const char *text, struct lb_dconf *d)
{
	struct lb_err err = {};

	if (parse(text, d, &err))
		fail_msg("'%s': %s", text, err.msg);
}

static struct udplb_vip_key vkey(const char *addr, unsigned int port)
{
	struct udplb_vip_key k = { .addr = inet_addr(addr), .port = htons(port) };

	k.proto = IPPROTO_UDP;
	return k;
}

static const struct lb_dconf_backend *backend(const struct lb_dconf *d, const char *vip,
					      const char *addr)
{
	struct udplb_vip_key k = vkey(vip, 53);
	const struct lb_dconf_backend *b = lb_dconf_backend_find(d, &k, inet_addr(addr), 0);

	assert_non_null(b);
	return b;
}

static void test_example(void **state)
{
	struct udplb_vip_key k = vkey("10.0.0.1", 53);
	const struct lb_dconf_vip *v;
	struct lb_dconf d;

	(void)state;
	expect_ok(example, &d);
	assert_string_equal(d.device, "eth0");
	assert_int_equal(d.mode, UDPLB_MODE_XDP);
	assert_true(d.conf.has_seed);
	assert_int_equal(d.conf.hash_seed, 12345);
	assert_true(d.has_metrics);
	assert_int_equal(d.metrics_addr, inet_addr("127.0.0.1"));
	assert_int_equal(d.metrics_port, htons(9477));
	assert_int_equal(d.nr_vips, 1);
	assert_int_equal(d.nr_backends, 3);
	v = lb_dconf_vip_find(&d, &k);
	assert_non_null(v);
	/* parsed by the health library, written back without its defaults */
	assert_non_null(v->check.spec);
	assert_int_equal(v->check.spec->kind, LB_CHECK_DNS);
	assert_int_equal(v->check.spec->interval_ms, 2000);
	assert_string_equal(v->check.text, "dns name health.example. type A");
	assert_int_equal(v->check.line, 5);
	assert_int_equal(v->on_down, LB_ON_DOWN_REMOVE);
	assert_int_equal(v->min_healthy, 1);
	assert_true(v->has_fallback);
	assert_true(v->fallback_resolve);
	assert_int_equal(v->fallback.addr, inet_addr("10.0.9.1"));
	assert_int_equal(v->fallback.port, htons(53));
	/* Overrides: the third backend's own check; the others inherit the VIP's. */
	assert_null(backend(&d, "10.0.0.1", "10.0.1.1")->check.spec);
	assert_ptr_equal(lb_dconf_backend_check(&d, backend(&d, "10.0.0.1", "10.0.1.1")),
			 &v->check);
	assert_string_equal(lb_dconf_backend_check(&d, backend(&d, "10.0.0.1", "10.0.1.3"))->text,
			    "udp send 68656c6c6f expect 6f6bXX min-reply 2");
	assert_int_equal(backend(&d, "10.0.0.1", "10.0.1.3")->check.spec->udp.min_reply, 2);
	assert_int_equal(backend(&d, "10.0.0.1", "10.0.1.3")->line, 10);
	assert_true(backend(&d, "10.0.0.1", "10.0.1.2")->resolve);
	assert_int_equal(lb_vip_find(&d.conf.state, &k)->backends[1].weight, 2);
	lb_dconf_free(&d);
}

/* What a file that says only the required things gets. */
static void test_defaults(void **state)
{
	struct udplb_vip_key k = vkey("10.0.0.1", 53);
	const struct lb_dconf_vip *v;
	const struct lb_dconf_backend *b;
	struct lb_dconf d;

	(void)state;
	expect_ok("device eth1\nvip 10.0.0.1:53\nbackend 10.0.1.1 mac none drain\n", &d);
	assert_int_equal(d.mode, UDPLB_MODE_XDP);
	assert_false(d.has_metrics);
	assert_false(d.conf.has_seed);
	v = lb_dconf_vip_find(&d, &k);
	assert_non_null(v);
	assert_null(v->check.spec);
	assert_int_equal(v->on_down, LB_ON_DOWN_REMOVE);
	assert_int_equal(v->min_healthy, 1);
	assert_false(v->has_fallback);
	b = backend(&d, "10.0.0.1", "10.0.1.1");
	assert_false(b->resolve);
	assert_null(lb_dconf_backend_check(&d, b));
	assert_int_equal(lb_vip_find(&d.conf.state, &k)->backends[0].state, UDPLB_BACKEND_DRAINING);
	lb_dconf_free(&d);

	expect_ok("device eth1 mode tc\nvip 10.0.0.1:53\n on-down drain\n"
		  " min-healthy 2 fallback 10.0.9.1:53 mac 02:00:00:00:00:09\n"
		  " check none\n backend 10.0.1.1 check udp send 00\n",
		  &d);
	assert_int_equal(d.mode, UDPLB_MODE_TC);
	v = lb_dconf_vip_find(&d, &k);
	assert_int_equal(v->on_down, LB_ON_DOWN_DRAIN);
	assert_int_equal(v->min_healthy, 2);
	assert_false(v->fallback_resolve);
	assert_true(v->fallback.has_mac);
	assert_int_equal(v->fallback.mac[5], 9);
	assert_string_equal(v->check.text, "none");
	assert_int_equal(v->check.spec->kind, LB_CHECK_NONE);
	assert_string_equal(lb_dconf_backend_check(&d, backend(&d, "10.0.0.1", "10.0.1.1"))->text,
			    "udp send 00");
	lb_dconf_free(&d);
}

static const struct {
	const char *text;
	const char *msg;
} errors[] = {
	/* instance lines */
	{ "", "t.conf:1: end of file: no 'device DEV mode xdp|xdp-generic|tc' line" },
	{ "vip 10.0.0.1:53\n", "t.conf:1: end of file: no 'device" },
	{ "device\n", "t.conf:1: device needs an interface name" },
	{ "device eth0/1\n", "t.conf:1: device: 'eth0/1' is not an interface name" },
	{ "device abcdefghijklmnop\n", "t.conf:1: device: 'abcdefghijklmnop' is not" },
	{ "device eth0 speed 10\n", "t.conf:1: unknown device option 'speed' (mode)" },
	{ "device eth0 mode\n", "t.conf:1: device eth0 mode: missing value (xdp|xdp-generic|tc)" },
	{ "device eth0 mode none\n", "t.conf:1: mode: 'none' is not xdp|xdp-generic|tc" },
	{ "device eth0 mode xdp x\n", "t.conf:1: device: unexpected 'x' after the mode" },
	{ HEAD "device eth1\n", "t.conf:2: device given twice (first at line 1)" },
	{ HEAD "metrics\n", "t.conf:2: metrics needs ADDR:PORT" },
	{ HEAD "metrics 1.2.3.4:5 6\n", "t.conf:2: metrics takes one value" },
	{ HEAD "metrics 1.2.3.4\n", "t.conf:2: metrics: '1.2.3.4' is not ADDR:PORT" },
	{ HEAD "metrics 1.2.3.4:0\n", "t.conf:2: metrics: '1.2.3.4:0' is not ADDR:PORT" },
	{ HEAD "metrics :80\n", "t.conf:2: metrics: ':80' is not ADDR:PORT" },
	{ HEAD "metrics 0.0.0.0:1\nmetrics 0.0.0.0:2\n", "t.conf:3: metrics given twice" },
	{ HEAD "hash-seed x\n", "t.conf:2: hash-seed: 'x' is not a decimal number" },
	{ HEAD "frobnicate\n", "t.conf:2: unknown item 'frobnicate' (vip, backend, hash-seed, "
			       "device, metrics, check, on-down, min-healthy)" },
	/* VIP-scoped lines */
	{ HEAD "check udp\n", "t.conf:2: check before any vip line" },
	{ HEAD "on-down drain\n", "t.conf:2: on-down before any vip line" },
	{ HEAD "min-healthy 1\n", "t.conf:2: min-healthy before any vip line" },
	{ HEAD "vip 10.0.0.1:53\ncheck\n", "t.conf:3: check: missing kind" },
	{ HEAD "vip 10.0.0.1:53\ncheck tcp\n", "t.conf:3: check 'tcp': unknown kind" },
	{ HEAD "vip 10.0.0.1:53\ncheck udp rise 0\n", "t.conf:3: check: rise '0'" },
	{ HEAD "vip 10.0.0.1:53\ncheck none\ncheck none\n",
	  "t.conf:4: check given twice for vip 10.0.0.1:53 (first at line 3)" },
	{ HEAD "vip 10.0.0.1:53\non-down\n", "t.conf:3: on-down: missing value (remove|drain)" },
	{ HEAD "vip 10.0.0.1:53\non-down stop\n", "t.conf:3: on-down: 'stop' is not remove|drain" },
	{ HEAD "vip 10.0.0.1:53\non-down drain now\n",
	  "t.conf:3: on-down takes one value, not 'now'" },
	{ HEAD "vip 10.0.0.1:53\non-down drain\non-down drain\n",
	  "t.conf:4: on-down given twice for vip 10.0.0.1:53 (first at line 3)" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy\n", "t.conf:3: min-healthy: missing value (1-4096)" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 0\n",
	  "t.conf:3: min-healthy: '0' is not a decimal number from 1 to 4096" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 4097\n", "t.conf:3: min-healthy: '4097' is not" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1\nmin-healthy 2\n",
	  "t.conf:4: min-healthy given twice for vip 10.0.0.1:53 (first at line 3)" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 sorry 10.0.9.1\n",
	  "t.conf:3: unknown min-healthy option 'sorry' (fallback)" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback\n",
	  "t.conf:3: fallback: missing ADDR[:PORT]" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback 10.0.9\n",
	  "t.conf:3: fallback: '10.0.9' is not ADDR[:PORT]" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback 127.0.0.1\n",
	  "t.conf:3: fallback '127.0.0.1': not on 0/8, 127/8" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback 10.0.9.1:54\n",
	  "t.conf:3: fallback 10.0.9.1:54: the port must be the vip's (53)" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback 10.0.9.1 weight 2\n",
	  "t.conf:3: unknown fallback option 'weight' (mac)" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback 10.0.9.1 mac\n",
	  "t.conf:3: fallback mac: missing value" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback 10.0.9.1 mac ff:ff:ff:ff:ff:ff\n",
	  "t.conf:3: fallback mac: 'ff:ff:ff:ff:ff:ff' is not a unicast MAC address" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback 10.0.9.1 mac none x\n",
	  "t.conf:3: min-healthy: unexpected 'x'" },
	{ HEAD "vip 10.0.0.1:53\nbackend 10.0.9.1\nmin-healthy 1 fallback 10.0.9.1\n",
	  "t.conf:4: fallback 10.0.9.1 is also a backend of this vip" },
	{ HEAD "vip 10.0.0.1:53\nmin-healthy 1 fallback 10.0.9.1\nbackend 10.0.9.1\n",
	  "t.conf:4: backend 10.0.9.1 is this vip's fallback (line 3)" },
	/* A fallback that does not fit: reported at its min-healthy line. */
	{ HEAD "vip 10.0.0.1:53 ring-size 2\nmin-healthy 1 fallback 10.0.9.1\n"
	       "backend 10.0.1.1\nbackend 10.0.1.2\n",
	  "t.conf:3: fallback: backend 10.0.9.1:53 of VIP 10.0.0.1:53" },
	/* Backend lines: the apply format's options end at "check". */
	{ HEAD "vip 10.0.0.1:53\nbackend 10.0.1.1 check\n", "t.conf:3: check: missing kind" },
	{ HEAD "vip 10.0.0.1:53\nbackend 10.0.1.1 check udp send 0\n", "t.conf:3: check: " },
	{ HEAD "vip 10.0.0.1:53\nbackend 10.0.1.1 check none rise 2\n",
	  "t.conf:3: check none: 'rise': none takes no options" },
	{ HEAD "vip 10.0.0.1:53\nbackend 10.0.1.1 weight check udp\n",
	  "t.conf:3: backend 10.0.1.1: missing value for weight" },
	{ HEAD "vip 10.0.0.1:53\nbackend 10.0.1.1 loud check udp\n",
	  "t.conf:3: unknown backend option 'loud'" },
	{ HEAD "vip 10.0.0.1:53\nbackend 10.0.1.1\nbackend 10.0.1.1 check udp\n", "t.conf:4:" },
	{ HEAD "backend 10.0.1.1\n", "t.conf:2: backend before any vip line" },
};

static void test_errors(void **state)
{
	struct lb_err err;
	struct lb_dconf d;
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(errors); i++) {
		memset(&err, 0, sizeof(err));
		if (parse(errors[i].text, &d, &err) != -EINVAL)
			fail_msg("accepted: %s", errors[i].text);
		if (strncmp(err.msg, errors[i].msg, strlen(errors[i].msg)))
			fail_msg("'%s': message '%s' does not start with '%s'", errors[i].text,
				 err.msg, errors[i].msg);
		lb_dconf_free(&d);
	}
}

/* Write, parse again, write again: the same text, the same configuration. */
static char *written(const struct lb_dconf *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	ut_ok(lb_dconf_write(f, d));
	fclose(f);
	return buf;
}

static void round_trip(const char *text)
{
	struct lb_dconf a, b;
	struct lb_err err = {};
	char *ta, *tb;

	expect_ok(text, &a);
	ta = written(&a);
	lb_dconf_init(&b);
	if (lb_dconf_parse_mem(ta, strlen(ta), "w.conf", &b, &err))
		fail_msg("written text refused: %s\n%s", err.msg, ta);
	tb = written(&b);
	assert_string_equal(ta, tb);
	assert_int_equal(lb_diff(&a.conf.state, &b.conf.state, NULL, NULL), 0);
	assert_int_equal(a.nr_backends, b.nr_backends);
	assert_int_equal(a.conf.nr_resolve, b.conf.nr_resolve);
	free(ta);
	free(tb);
	lb_dconf_free(&a);
	lb_dconf_free(&b);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(example);
	round_trip("device eth1 mode xdp-generic\nvip 10.0.0.1:53\nvip 10.0.0.2:53 fwd ipip\n"
		   "on-down drain\nmin-healthy 2 fallback 10.0.9.1 mac none\n"
		   "backend 10.0.1.1 mac 02:00:00:00:00:01 drain check exec /bin/true\n"
		   "backend 10.0.1.2 mac none\nbackend 10.0.1.3\n"
		   "vip 10.0.0.3:53\nmin-healthy 1 fallback 10.0.9.2 mac 02:00:00:00:00:02\n");
}

/* The text the writer gives for a file (what udplb.conf(5) shows as normalised). */
static void test_write_text(void **state)
{
	struct lb_dconf d;
	char *t;

	(void)state;
	expect_ok("device eth0 mode tc\nmetrics 0.0.0.0:9477\nvip 10.0.0.1:53\n"
		  "backend 10.0.1.1 weight 3 check udp send 00\n",
		  &d);
	t = written(&d);
	assert_string_equal(t, "# udplbd configuration\n"
			       "device eth0 mode tc\n"
			       "metrics 0.0.0.0:9477\n"
			       "vip 10.0.0.1:53 fwd dsr hash 5tuple ring-size 65537 flags none\n"
			       "  on-down remove\n"
			       "  min-healthy 1\n"
			       "  backend 10.0.1.1:53 weight 3 check udp send 00\n");
	free(t);
	lb_dconf_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),	   cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),	   cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_write_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
