// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/daemon/policy.c: health states -> the desired state. on-down remove vs drain,
 * min-healthy with and without a fallback (keepalived's quorum and sorry server), the file's
 * administrative drain, UNKNOWN counting as up, and per-VIP availability.
 */
#include "unit_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "daemon/policy.h"

#define U LB_POLICY_UP
#define D LB_POLICY_DOWN
#define N LB_POLICY_UNKNOWN

static void load(const char *text, struct lb_dconf *d)
{
	struct lb_err err = {};

	lb_dconf_init(d);
	if (lb_dconf_parse_mem(text, strlen(text), "p.conf", d, &err))
		fail_msg("%s", err.msg);
}

/*
 * The state of every backend of the first VIP in @s, in (addr) order, as one letter each:
 * 'A' active, 'D' draining, '-' absent; addresses 10.0.1.1 .. 10.0.1.@n, then 'F' + the
 * fallback's state when 10.0.9.1 is in it.
 */
static void states(const struct lb_state *s, int n, char *out)
{
	const struct lb_vip *v = &s->vips[0];
	const struct lb_backend *b;
	char addr[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "10.0.1.%d", i + 1);
		b = lb_backend_find(v, inet_addr(addr), v->key.port);
		*out++ = !b ? '-' : b->state == UDPLB_BACKEND_ACTIVE ? 'A' : 'D';
	}
	b = lb_backend_find(v, inet_addr("10.0.9.1"), v->key.port);
	if (b) {
		*out++ = 'F';
		*out++ = b->state == UDPLB_BACKEND_ACTIVE ? 'A' : 'D';
	}
	*out = '\0';
}

struct policy_case {
	const char *vip_lines; /* after the vip line, before the three backends */
	const char *backend3;  /* options of the third backend */
	__u8 health[3];	       /* of 10.0.1.1 .. 10.0.1.3 */
	const char *want;      /* states() */
	__u32 healthy;
	bool available, fallback;
};

static const struct policy_case cases[] = {
	/* all well: as the file says */
	{ "", "", { U, U, U }, "AAA", 3, true, false },
	{ "", "", { N, N, N }, "AAA", 3, true, false },
	/* on-down */
	{ "", "", { U, D, U }, "A-A", 2, true, false },
	{ "on-down remove\n", "", { D, U, D }, "-A-", 1, true, false },
	{ "on-down drain\n", "", { U, D, U }, "ADA", 2, true, false },
	/* none healthy, no fallback: unavailable */
	{ "", "", { D, D, D }, "---", 0, false, false },
	{ "on-down drain\n", "", { D, D, D }, "DDD", 0, false, false },
	/* below min-healthy without a fallback: the healthy ones keep serving, unavailable */
	{ "min-healthy 2\n", "", { U, D, D }, "A--", 1, false, false },
	{ "min-healthy 2\n", "", { U, U, D }, "AA-", 2, true, false },
	/* the fallback: the only ACTIVE one below min-healthy, healthy ones keep their flows */
	{ "min-healthy 2 fallback 10.0.9.1\n", "", { U, U, D }, "AA-", 2, true, false },
	{ "min-healthy 2 fallback 10.0.9.1\n", "", { U, D, D }, "D--FA", 1, true, true },
	{ "on-down drain\nmin-healthy 2 fallback 10.0.9.1\n",
	  "",
	  { U, D, D },
	  "DDDFA",
	  1,
	  true,
	  true },
	{ "min-healthy 1 fallback 10.0.9.1\n", "", { D, D, D }, "---FA", 0, true, true },
	{ "min-healthy 1 fallback 10.0.9.1\n", "", { D, D, N }, "--A", 1, true, false },
	/* drained in the file: never healthy, stays drained */
	{ "", "drain", { D, D, U }, "--D", 0, false, false },
	{ "min-healthy 1 fallback 10.0.9.1\n", "drain", { D, D, U }, "--DFA", 0, true, true },
	{ "", "drain", { U, D, D }, "A--", 1, true, false },
};

static void run_case(const struct policy_case *c)
{
	struct lb_vip_avail avail;
	struct lb_state desired;
	struct lb_err err = {};
	struct lb_dconf d;
	char text[512], got[16];
	__u8 health[3];
	int i;

	snprintf(text, sizeof(text),
		 "device eth0\nvip 10.0.0.1:53\n%sbackend 10.0.1.1\nbackend 10.0.1.2\n"
		 "backend 10.0.1.3 %s\n",
		 c->vip_lines, c->backend3);
	load(text, &d);
	/* health[] follows d.backends, which is in address order here */
	for (i = 0; i < 3; i++)
		health[i] = c->health[i];
	ut_ok(lb_policy(&d, health, &desired, &avail, &err));
	ut_ok(lb_state_validate(&desired, &err));
	states(&desired, 3, got);
	if (strcmp(got, c->want))
		fail_msg("%s%s / health %d%d%d: got %s, want %s", c->vip_lines, c->backend3,
			 c->health[0], c->health[1], c->health[2], got, c->want);
	assert_int_equal(avail.key.addr, inet_addr("10.0.0.1"));
	assert_int_equal(avail.backends, 3);
	assert_int_equal(avail.healthy, c->healthy);
	assert_int_equal(avail.available, c->available);
	assert_int_equal(avail.fallback, c->fallback);
	lb_state_free(&desired);
	lb_dconf_free(&d);
}

static void test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
}

/* No health at all (NULL): exactly the file's state, every VIP available. */
static void test_no_health(void **state)
{
	struct lb_vip_avail avail[2];
	struct lb_state desired;
	struct lb_err err = {};
	struct lb_dconf d;

	(void)state;
	load("device eth0\nvip 10.0.0.2:53\nbackend 10.0.1.1 weight 3\n"
	     "vip 10.0.0.1:53\nmin-healthy 1 fallback 10.0.9.1\nbackend 10.0.1.1 drain\n"
	     "backend 10.0.1.2\n",
	     &d);
	ut_ok(lb_policy(&d, NULL, &desired, avail, &err));
	assert_int_equal(lb_diff(&d.conf.state, &desired, NULL, NULL), 0);
	assert_int_equal(avail[0].key.addr, inet_addr("10.0.0.1"));
	assert_int_equal(avail[0].healthy, 1);
	assert_true(avail[0].available);
	assert_int_equal(avail[1].key.addr, inet_addr("10.0.0.2"));
	assert_true(avail[1].available);
	lb_state_free(&desired);
	lb_dconf_free(&d);
}

/* Two VIPs with the same backend address: health is per (VIP, backend), not per address. */
static void test_per_vip(void **state)
{
	struct udplb_vip_key k1 = { .addr = inet_addr("10.0.0.1"),
				    .port = htons(53),
				    .proto = IPPROTO_UDP };
	struct udplb_vip_key k2 = { .addr = inet_addr("10.0.0.2"),
				    .port = htons(53),
				    .proto = IPPROTO_UDP };
	const struct lb_dconf_backend *b;
	struct lb_vip_avail avail[2];
	struct lb_state desired;
	struct lb_err err = {};
	struct lb_dconf d;
	__u8 health[2] = { U, U };

	(void)state;
	load("device eth0\nvip 10.0.0.2:53\nbackend 10.0.1.1\nvip 10.0.0.1:53\nbackend 10.0.1.1\n",
	     &d);
	b = lb_dconf_backend_find(&d, &k2, inet_addr("10.0.1.1"), 0);
	assert_non_null(b);
	health[b - d.backends] = D;
	ut_ok(lb_policy(&d, health, &desired, avail, &err));
	assert_int_equal(lb_vip_find(&desired, &k1)->nr_backends, 1);
	assert_int_equal(lb_vip_find(&desired, &k2)->nr_backends, 0);
	assert_true(avail[0].available);
	assert_false(avail[1].available);
	lb_state_free(&desired);
	lb_dconf_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_no_health),
		cmocka_unit_test(test_per_vip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
