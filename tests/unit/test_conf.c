// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/conf.c, the apply format: lines of any length, FILE:LINE errors that name the option
 * and what is wrong, strict values, VIP flags, and the round trip writer -> parser -> commit on
 * the fake store -> read back.
 */
#include "unit_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "conf.h"

/* Parse @text; return the result, the message in @err. */
static int parse(const char *text, struct lb_conf *c, struct lb_err *err)
{
	lb_conf_init(c);
	return lb_conf_parse_mem(text, strlen(text), "t.conf", c, err);
}

static void expect_error_len(const char *text, size_t len, const char *msg)
{
	struct lb_err err = {};
	struct lb_conf c;

	lb_conf_init(&c);
	if (lb_conf_parse_mem(text, len, "t.conf", &c, &err) != -EINVAL)
		fail_msg("accepted: %s", text);
	if (!strstr(err.msg, msg))
		fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, msg);
	lb_conf_free(&c);
}

static void expect_error(const char *text, const char *msg)
{
	expect_error_len(text, strlen(text), msg);
}

static void expect_ok(const char *text, struct lb_conf *c)
{
	struct lb_err err = {};

	if (parse(text, c, &err))
		fail_msg("'%s': %s", text, err.msg);
}

/*
 * A comment longer than fgets' 1,024 bytes is one comment, line numbers stay right, and a line
 * over LB_CONF_MAX_LINE is refused whole.
 */
static void test_long_lines(void **state)
{
	size_t n = 5000, len;
	struct lb_conf c;
	char *text;

	(void)state;
	text = malloc(n + 200);
	assert_non_null(text);
	strcpy(text, "# ");
	memset(text + 2, 'x', 1500);
	strcpy(text + 1502, " vip 10.0.0.9:53\nvip 10.0.0.1:53\n");
	expect_ok(text, &c);
	assert_int_equal(c.state.nr_vips, 1);
	assert_int_equal(c.state.vips[0].key.addr, inet_addr("10.0.0.1"));
	lb_conf_free(&c);
	strcat(text, "bogus\n");
	expect_error(text, "t.conf:3: unknown item 'bogus'");

	/* Absurd: rejected with its line number, not split. */
	strcpy(text, "vip 10.0.0.1:53\n# ");
	len = strlen(text);
	memset(text + len, 'y', LB_CONF_MAX_LINE + 10);
	strcpy(text + len + LB_CONF_MAX_LINE + 10, "\n");
	expect_error(text, "t.conf:2: line longer than 4096 bytes");
	free(text);
	expect_error_len("vip 10.0.0.1:53\nbackend 10.0.1.1\0 weight 2\n", 41,
			 "t.conf:2: NUL byte");
}

/* Each error names the option and what is wrong with it. */
static void test_errors(void **state)
{
	(void)state;
	expect_error("vip 10.0.0.1:53 fwd\n", "missing value for fwd");
	expect_error("vip 10.0.0.1:53 fwd nat\n", "fwd: 'nat' is not dsr|ipip");
	expect_error("vip 10.0.0.1:53 hash\n", "missing value for hash");
	expect_error("vip 10.0.0.1:53 ring-size 0\n", "ring-size: '0'");
	expect_error("vip 10.0.0.1:53 ring-size 0x10\n", "ring-size: '0x10'");
	expect_error("vip 10.0.0.1:53 ring-size 10\n", "not a prime");
	expect_error("vip 10.0.0.1:53 fwd dsr fwd ipip\n", "fwd given twice");
	expect_error("vip 10.0.0.1:53 flags drop-all\n", "flags: 'drop-all'");
	expect_error("vip 10.0.0.1:53 colour red\n", "unknown vip option 'colour'");
	expect_error("vip 10.0.0.1:053\n", "'10.0.0.1:053' is not 'vip ADDR:PORT'");
	expect_error("vip 127.0.0.1:53\n", "not on 0/8, 127/8");
	expect_error("vip\n", "vip needs ADDR:PORT");
	expect_error("hash-seed abc\n", "hash-seed: 'abc' is not a decimal number");
	expect_error("hash-seed 0x10\n", "hash-seed: '0x10'");
	expect_error("hash-seed -1\n", "hash-seed: '-1'");
	expect_error("hash-seed\n", "hash-seed: missing value");
	expect_error("hash-seed 1 2\n", "takes one value");
	expect_error("hash-seed 1\nhash-seed 1\n", "t.conf:2: hash-seed given twice");
	expect_error("backend 10.0.1.1\n", "backend before any vip line");
	expect_error("vip 10.0.0.1:53\nbackend 10.0.1.1 weight 0\n", "weight: '0'");
	expect_error("vip 10.0.0.1:53\nbackend 10.0.1.1 weight\n", "missing value for weight");
	expect_error("vip 10.0.0.1:53\nbackend 10.0.1.1 mac -1:-1:-1:-1:-1:-1\n",
		     "is not a MAC address");
	expect_error("vip 10.0.0.1:53\nbackend 10.0.1.1 mac ff:ff:ff:ff:ff:ff\n",
		     "unicast, non-zero");
	expect_error("vip 10.0.0.1:53\nbackend 10.0.1.1 mac 00:00:00:00:00:00\n",
		     "unicast, non-zero");
	expect_error("vip 10.0.0.1:53\nbackend 10.0.1.1:54\n", "differs from the VIP's port");
	expect_error("vip 10.0.0.1:53\nbackend 10.0.1.1 drain drain\n", "drain given twice");
	expect_error(
		"vip 10.0.0.1:53 a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5\n",
		"more than 32 words");
}

static const char example[] = "hash-seed 7 # the seed\n"
			      "vip 10.0.0.1:53 fwd ipip hash src-ip ring-size 251 "
			      "flags drop-invalid,drop-frags\n"
			      "backend 10.0.1.2 weight 3 mac 02:00:00:00:00:02\n"
			      "backend 10.0.1.1:53 mac none drain\n"
			      "backend 10.0.1.3\n"
			      "\n"
			      "vip 10.0.0.2:80\n";

static void test_fields(void **state)
{
	const struct lb_vip *v;
	struct lb_conf c;

	(void)state;
	expect_ok(example, &c);
	assert_true(c.has_seed);
	assert_int_equal(c.hash_seed, 7);
	assert_int_equal(c.state.nr_vips, 2);
	v = &c.state.vips[0];
	assert_int_equal(v->fwd, UDPLB_FWD_IPIP);
	assert_int_equal(v->hash_mode, UDPLB_HASH_SRC_IP);
	assert_int_equal(v->ring_size, 251);
	assert_int_equal(v->flags, UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID);
	assert_int_equal(v->nr_backends, 3);
	assert_int_equal(v->backends[0].state, UDPLB_BACKEND_DRAINING);
	assert_false(v->backends[0].has_mac);
	assert_int_equal(v->backends[1].weight, 3);
	assert_true(v->backends[1].has_mac);
	/* Only the backend without a mac word is left to the neighbour table. */
	assert_int_equal(c.nr_resolve, 1);
	assert_int_equal(c.resolve[0].addr, inet_addr("10.0.1.3"));
	v = &c.state.vips[1];
	assert_int_equal(v->fwd, UDPLB_FWD_DSR);
	assert_int_equal(v->ring_size, UDPLB_RING_DEFAULT);
	assert_int_equal(v->flags, 0);
	lb_conf_free(&c);
}

static int count_diff(void *ctx, const struct lb_diff_item *item)
{
	(void)item;
	++*(int *)ctx;
	return 0;
}

/* @text -> write -> parse: the same configuration, and writing it again gives the same text. */
static void test_round_trip(void **state)
{
	char *out1 = NULL, *out2 = NULL;
	size_t len1 = 0, len2 = 0;
	struct lb_conf a, b;
	int diffs = 0;
	FILE *f;

	(void)state;
	expect_ok(example, &a);
	f = open_memstream(&out1, &len1);
	ut_ok(lb_conf_write(f, &a));
	fclose(f);
	expect_ok(out1, &b);
	assert_int_equal(lb_diff(&a.state, &b.state, count_diff, &diffs), 0);
	assert_int_equal(diffs, 0);
	assert_int_equal(b.hash_seed, 7);
	/* Every backend written has an explicit mac: nothing is left to resolve. */
	assert_int_equal(b.nr_resolve, 0);
	f = open_memstream(&out2, &len2);
	ut_ok(lb_conf_write(f, &b));
	fclose(f);
	assert_string_equal(out1, out2);
	free(out1);
	free(out2);
	lb_conf_free(&a);
	lb_conf_free(&b);
}

/* Parsed, committed on the fake store, read back equal; a second commit changes nothing. */
static void test_commit(void **state)
{
	struct lb_commit_opts o = {};
	struct lb_err err = {};
	struct lb_state live;
	struct lb_maps m;
	struct lb_conf c;
	int diffs = 0;

	(void)state;
	expect_ok(example, &c);
	ut_ok(lb_maps_fake(&m));
	assert_int_equal(lb_commit(&m, &c.state, &o), 0);
	ut_ok(lb_read(&m, &live, &err));
	assert_int_equal(lb_diff(&live, &c.state, count_diff, &diffs), 0);
	assert_int_equal(live.vips[0].flags, UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID);
	memset(&o, 0, sizeof(o));
	assert_int_equal(lb_commit(&m, &c.state, &o), LB_COMMIT_UNCHANGED);
	lb_state_free(&live);
	lb_maps_close(&m);
	lb_conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_lines), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_fields),	   cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
