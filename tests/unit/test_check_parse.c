// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lib/udplb/health/check.c: the check syntax, every error, defaults and the way back. */
#include "unit_helpers.h"

#include <arpa/inet.h>

#include "health/check.h"

#define MAX_WORDS 32

/* Split @line at blanks into @words (pointers into @copy). */
static int split(const char *line, char *copy, size_t len, char **words)
{
	char *save = NULL, *w;
	int n = 0;

	snprintf(copy, len, "%s", line);
	for (w = strtok_r(copy, " ", &save); w && n < MAX_WORDS; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	return n;
}

static int parse_line(const char *line, struct lb_check *c, struct lb_err *err)
{
	char copy[2048], *words[MAX_WORDS];
	int n = split(line, copy, sizeof(copy), words);

	return lb_check_parse(words, n, c, err);
}

static void test_defaults(void **state)
{
	struct lb_check c;

	(void)state;
	lb_check_defaults(&c);
	assert_int_equal(c.kind, LB_CHECK_NONE);
	assert_int_equal(c.interval_ms, 2000);
	assert_int_equal(c.timeout_ms, 1000);
	assert_int_equal(c.rise, 2);
	assert_int_equal(c.fall, 3);
	assert_int_equal(c.initial, LB_HEALTH_DOWN);
	assert_int_equal(c.jitter_ms, 0);
	assert_int_equal(c.path, LB_CHECK_PATH_DIRECT);
	assert_string_equal(c.dns.name, ".");
	assert_int_equal(c.dns.type, 6);
	assert_int_equal(c.dns.rcode, LB_DNS_RCODE_ANSWER);
}

static void test_fields(void **state)
{
	struct lb_err err = { "" };
	struct lb_check c;

	(void)state;
	ut_ok(parse_line("dns name health.example. type A interval 2s timeout 1s rise 2 fall 3", &c,
			 &err));
	assert_int_equal(c.kind, LB_CHECK_DNS);
	assert_string_equal(c.dns.name, "health.example.");
	assert_int_equal(c.dns.type, 1);

	ut_ok(parse_line("udp send 68656c6c6f expect 6f6bXX min-reply 2", &c, &err));
	assert_int_equal(c.udp.send_len, 5);
	assert_memory_equal(c.udp.send, "hello", 5);
	assert_int_equal(c.udp.expect_len, 3);
	assert_memory_equal(c.udp.expect, "ok\0", 3);
	assert_memory_equal(c.udp.expect_mask, "\xff\xff\x00", 3);
	assert_int_equal(c.udp.min_reply, 2);

	ut_ok(parse_line("udp expect 6X interval 200ms port 5353 jitter 0ms path via-lb initial up",
			 &c, &err));
	assert_int_equal(c.udp.expect[0], 0x60);
	assert_int_equal(c.udp.expect_mask[0], 0xf0);
	assert_int_equal(c.interval_ms, 200);
	assert_int_equal(ntohs(c.port), 5353);
	assert_int_equal(c.path, LB_CHECK_PATH_VIA_LB);
	assert_int_equal(c.initial, LB_HEALTH_UP);

	ut_ok(parse_line("exec /usr/local/bin/probe.sh timeout 3s", &c, &err));
	assert_string_equal(c.exec.cmd, "/usr/local/bin/probe.sh");
	assert_int_equal(c.timeout_ms, 3000);

	ut_ok(parse_line("dns rcode NXDOMAIN", &c, &err));
	assert_int_equal(c.dns.rcode, 3);
	ut_ok(parse_line("none", &c, &err));
	assert_int_equal(c.kind, LB_CHECK_NONE);
}

/* Every accepted line formats back to itself (the canonical form) and parses to the same spec. */
static void test_round_trip(void **state)
{
	static const char *const lines[] = {
		"none",
		"udp",
		"udp send 68656c6c6f expect 6f6bXX min-reply 2",
		"udp expect Xf0X max-reply 100",
		"udp expect none port 9",
		"dns",
		"dns name health.example. type A",
		"dns name example type AAAA rcode NXDOMAIN",
		"dns rcode NOERROR interval 200ms timeout 1500ms",
		"exec /usr/local/bin/probe.sh timeout 3s",
		"exec /bin/true path via-lb interval 1s timeout 50ms jitter 2s rise 6 fall 6 "
		"initial up",
	};
	char buf[LB_CHECK_FMT_LEN];
	struct lb_check a, b;
	struct lb_err err;
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(lines); i++) {
		ut_ok(parse_line(lines[i], &a, &err));
		assert_int_equal(lb_check_format(&a, buf, sizeof(buf)), strlen(lines[i]));
		assert_string_equal(buf, lines[i]);
		ut_ok(parse_line(buf, &b, &err));
		assert_memory_equal(&a, &b, sizeof(a));
	}
	/* Defaults written out explicitly parse to the same spec and format without them. */
	ut_ok(parse_line("dns name . type SOA rcode answer interval 2s timeout 1s rise 2 fall 3 "
			 "initial down path direct jitter 0s",
			 &a, &err));
	assert_int_equal(lb_check_format(&a, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "dns");
	assert_int_equal(lb_check_format(&a, buf, 3), -ENOSPC);
	assert_string_equal(buf, "");
}

struct bad {
	const char *line;
	const char *msg; /* a substring the error must contain */
};

static const struct bad bad_lines[] = {
	{ "", "missing kind" },
	{ "tcp", "check 'tcp': unknown kind (expected none, udp, dns, exec)" },
	{ "UDP", "'UDP': unknown kind" },
	{ "none interval 2s", "'interval': none takes no options" },
	{ "exec", "missing the command's path" },
	{ "exec probe.sh", "'probe.sh': the command needs an absolute path" },
	{ "udp interval", "'interval': missing its value" },
	{ "udp interval 2", "interval '2': not a duration" },
	{ "udp interval 2m", "interval '2m': not a duration" },
	{ "udp interval ms", "interval 'ms': not a duration" },
	{ "udp interval -2s", "interval '-2s': not a duration" },
	{ "udp interval 02s", "interval '02s': not a duration" },
	{ "udp interval 0ms", "interval '0ms': out of range" },
	{ "udp timeout 3601s", "timeout '3601s': out of range" },
	{ "udp timeout 99999999999s", "timeout '99999999999s': not a duration" },
	{ "udp jitter 1h", "jitter '1h': not a duration" },
	{ "udp rise 0", "rise '0': expected a number from 1 to 1000" },
	{ "udp fall 1001", "fall '1001': expected a number from 1 to 1000" },
	{ "udp fall three", "fall 'three'" },
	{ "udp port 0", "port '0': expected a number from 1 to 65535" },
	{ "udp port 65536", "port '65536'" },
	{ "udp path lb", "path 'lb': expected direct, via-lb" },
	{ "udp initial maybe", "initial 'maybe': expected down, up" },
	{ "udp send 123", "send '123': expected an even number of hex digits" },
	{ "udp send 6g", "send '6g': 'g' is not a hex digit" },
	{ "udp send 6X", "send '6X': 'X' is not a hex digit" },
	{ "udp expect 6Y", "expect '6Y': 'Y' is not a hex digit or X" },
	{ "udp expect 6", "expect '6': expected an even number of hex digits (X = any nibble)" },
	{ "udp min-reply 65508", "min-reply '65508': expected a number from 0 to 65507" },
	{ "udp max-reply x", "max-reply 'x'" },
	{ "udp min-reply 10 max-reply 5", "min-reply 10 is larger than max-reply 5" },
	{ "udp expect 6f6b6f max-reply 2", "a 3-byte pattern never fits in max-reply 2" },
	{ "udp expect none min-reply 1", "expect none: min-reply and max-reply need a reply" },
	{ "udp name x.", "'name': not an option of a udp check" },
	{ "dns send 00", "'send': not an option of a dns check" },
	{ "exec /bin/true expect 00", "'expect': not an option of a exec check" },
	{ "udp rise 2 rise 3", "'rise' given twice" },
	{ "udp expect 00 expect none", "'expect' given twice" },
	{ "dns type MX type A", "'type' given twice" },
	{ "dns type a", "type 'a': expected A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, ANY" },
	{ "dns rcode nxdomain", "rcode 'nxdomain': expected NOERROR" },
	{ "dns name a..b", "name 'a..b': empty label" },
	{ "dns name .a", "name '.a': empty label" },
	{ "dns name a/b", "name 'a/b': '/' is not allowed in a name" },
	{ "dns name "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.",
	  "a label is longer than 63" },
};

static void test_errors(void **state)
{
	struct lb_err err;
	struct lb_check c;
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(bad_lines); i++) {
		memset(&err, 0, sizeof(err));
		ut_assert_ret(parse_line(bad_lines[i].line, &c, &err), -EINVAL);
		if (!strstr(err.msg, bad_lines[i].msg))
			fail_msg("'%s': error '%s' lacks '%s'", bad_lines[i].line, err.msg,
				 bad_lines[i].msg);
	}
	/* Errors without an err buffer still fail. */
	ut_assert_ret(parse_line("udp rise 0", &c, NULL), -EINVAL);
}

/* Names longer than 253 characters and payloads beyond the maximum are refused. */
static void test_limits(void **state)
{
	char line[4 * LB_CHECK_PAYLOAD_MAX];
	struct lb_err err = { "" };
	struct lb_check c;
	size_t i;

	(void)state;
	strcpy(line, "dns name ");
	for (i = 0; i < 5; i++)
		strcat(line, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	ut_assert_ret(parse_line(line, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "longer than 253"));

	strcpy(line, "udp send ");
	for (i = 0; i < LB_CHECK_PAYLOAD_MAX; i++)
		strcat(line, "ab");
	ut_ok(parse_line(line, &c, &err));
	assert_int_equal(c.udp.send_len, LB_CHECK_PAYLOAD_MAX);
	strcat(line, "ab");
	ut_assert_ret(parse_line(line, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "send: 513 bytes, at most 512"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),   cmocka_unit_test(test_fields),
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
