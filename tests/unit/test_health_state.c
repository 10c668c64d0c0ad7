// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lib/udplb/health/state.c: rise/fall counting, initial state, damping of a flapping backend. */
#include "unit_helpers.h"

#include "health/state.h"

static const struct lb_probe_result pass = { .cause = LB_PROBE_PASS, .rtt_us = 120 };
static const struct lb_probe_result timeout = { .cause = LB_PROBE_TIMEOUT, .rtt_us = 1000000 };
static const struct lb_probe_result refused = { .cause = LB_PROBE_REFUSED, .rtt_us = 80 };

static void check_with(struct lb_check *c, __u32 rise, __u32 fall, __u8 initial)
{
	lb_check_defaults(c);
	c->kind = LB_CHECK_UDP;
	c->rise = rise;
	c->fall = fall;
	c->initial = initial;
}

static void test_rise_from_down(void **state)
{
	struct lb_check c;
	struct lb_health h;

	(void)state;
	check_with(&c, 2, 3, LB_HEALTH_DOWN);
	lb_health_init(&h, &c);
	assert_int_equal(h.state, LB_HEALTH_DOWN);
	assert_false(lb_health_update(&h, &c, &pass));
	assert_int_equal(h.passes, 1);
	/* A failure restarts the count. */
	assert_false(lb_health_update(&h, &c, &timeout));
	assert_int_equal(h.passes, 0);
	assert_int_equal(h.fails, 1);
	assert_false(lb_health_update(&h, &c, &pass));
	assert_true(lb_health_update(&h, &c, &pass));
	assert_int_equal(h.state, LB_HEALTH_UP);
	assert_int_equal(h.transitions, 1);
	assert_int_equal(h.probes, 4);
	/* Further passes change nothing. */
	assert_false(lb_health_update(&h, &c, &pass));
	assert_int_equal(h.passes, 3);
	assert_int_equal(h.last.rtt_us, 120);
	assert_int_equal(h.last_error.cause, LB_PROBE_TIMEOUT);
}

static void test_fall_from_up(void **state)
{
	struct lb_check c;
	struct lb_health h;

	(void)state;
	check_with(&c, 2, 3, LB_HEALTH_UP);
	lb_health_init(&h, &c);
	assert_int_equal(h.state, LB_HEALTH_UP);
	assert_false(lb_health_update(&h, &c, &refused));
	assert_false(lb_health_update(&h, &c, &timeout));
	assert_false(lb_health_update(&h, &c, &pass));
	assert_false(lb_health_update(&h, &c, &refused));
	assert_false(lb_health_update(&h, &c, &refused));
	assert_true(lb_health_update(&h, &c, &timeout));
	assert_int_equal(h.state, LB_HEALTH_DOWN);
	assert_int_equal(h.fails, 3);
	assert_int_equal(h.last.cause, LB_PROBE_TIMEOUT);
	assert_int_equal(h.last_error.cause, LB_PROBE_TIMEOUT);
	/* Down stays down on failures. */
	assert_false(lb_health_update(&h, &c, &refused));
	assert_int_equal(h.transitions, 1);
}

static void test_rise_fall_one(void **state)
{
	struct lb_check c;
	struct lb_health h;

	(void)state;
	check_with(&c, 1, 1, LB_HEALTH_DOWN);
	lb_health_init(&h, &c);
	assert_true(lb_health_update(&h, &c, &pass));
	assert_true(lb_health_update(&h, &c, &timeout));
	assert_true(lb_health_update(&h, &c, &pass));
	assert_int_equal(h.transitions, 3);
}

/* The counters saturate instead of wrapping to 0. */
static void test_saturation(void **state)
{
	struct lb_check c;
	struct lb_health h;

	(void)state;
	check_with(&c, 2, 3, LB_HEALTH_UP);
	lb_health_init(&h, &c);
	h.passes = UINT32_MAX - 1;
	lb_health_update(&h, &c, &pass);
	lb_health_update(&h, &c, &pass);
	assert_int_equal(h.passes, UINT32_MAX);
}

/*
 * Issue 10's damping rule: probes every 200 ms of a backend alternating 1 s up / 1 s down (five
 * probes per phase). Returns the number of state changes over @cycles, and the most in one cycle.
 */
static __u32 flap(__u32 rise, __u32 fall, __u8 initial, int cycles, __u32 *max_per_cycle)
{
	const int probes_per_phase = 1000 / 200;
	struct lb_check c;
	struct lb_health h;
	__u32 total = 0;
	int cyc, i;

	check_with(&c, rise, fall, initial);
	lb_health_init(&h, &c);
	*max_per_cycle = 0;
	for (cyc = 0; cyc < cycles; cyc++) {
		__u32 changes = 0;

		for (i = 0; i < 2 * probes_per_phase; i++)
			changes +=
				lb_health_update(&h, &c, i < probes_per_phase ? &pass : &timeout);
		total += changes;
		if (changes > *max_per_cycle)
			*max_per_cycle = changes;
	}
	return total;
}

static void test_damping(void **state)
{
	__u32 max;

	(void)state;
	/* rise 2 / fall 3: follows the backend, at most twice per cycle. */
	assert_int_equal(flap(2, 3, LB_HEALTH_DOWN, 10, &max), 20);
	assert_int_equal(max, 2);
	assert_int_equal(flap(2, 3, LB_HEALTH_UP, 10, &max), 19); /* up at first: no rise */
	assert_true(max <= 2);
	/* rise 6 / fall 6 is longer than either phase: never a change, from either state. */
	assert_int_equal(flap(6, 6, LB_HEALTH_DOWN, 10, &max), 0);
	assert_int_equal(flap(6, 6, LB_HEALTH_UP, 10, &max), 0);
	/* Negative control: rise 5 / fall 5 fits in a phase, so the same backend does flap. */
	assert_int_equal(flap(5, 5, LB_HEALTH_DOWN, 10, &max), 20);
}

static void test_cause_names(void **state)
{
	(void)state;
	assert_int_equal(lb_probe_cause_names.nr, __LB_PROBE_CAUSE_MAX);
	assert_string_equal(lb_name(&lb_probe_cause_names, LB_PROBE_REFUSED), "refused");
	assert_string_equal(lb_name(&lb_probe_cause_names, LB_PROBE_NOANSWER), "no-answer");
}

static void test_result_fmt(void **state)
{
	static const struct {
		struct lb_probe_result r;
		const char *text;
	} cases[] = {
		{ { .cause = LB_PROBE_PASS }, "pass" },
		{ { .cause = LB_PROBE_TIMEOUT }, "timeout" },
		{ { .cause = LB_PROBE_TIMEOUT, .detail = 9 }, "timeout, killed" },
		{ { .cause = LB_PROBE_REFUSED, .detail = ECONNREFUSED }, "refused" },
		{ { .cause = LB_PROBE_MISMATCH }, "mismatch" },
		{ { .cause = LB_PROBE_LENGTH }, "length" },
		{ { .cause = LB_PROBE_RCODE, .detail = 3 }, "rcode NXDOMAIN" },
		{ { .cause = LB_PROBE_RCODE, .detail = 9 }, "rcode unknown(9)" },
		{ { .cause = LB_PROBE_NOANSWER }, "no-answer" },
		{ { .cause = LB_PROBE_EXIT, .detail = 7 }, "exit 7" },
		{ { .cause = LB_PROBE_KILLED, .detail = 15 }, "killed SIGTERM" },
		{ { .cause = LB_PROBE_ERROR, .detail = EOPNOTSUPP },
		  "error: Operation not supported" },
		{ { .cause = 77 }, "unknown(77)" },
	};
	char buf[LB_PROBE_RESULT_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(cases); i++)
		assert_string_equal(lb_probe_result_fmt(&cases[i].r, buf, sizeof(buf)),
				    cases[i].text);
	assert_string_equal(lb_probe_result_fmt(&cases[6].r, buf, 4), "rco");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rise_from_down), cmocka_unit_test(test_fall_from_up),
		cmocka_unit_test(test_rise_fall_one),  cmocka_unit_test(test_saturation),
		cmocka_unit_test(test_damping),	       cmocka_unit_test(test_cause_names),
		cmocka_unit_test(test_result_fmt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
